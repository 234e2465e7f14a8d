//! What lets several processes share one database: a job's processing is held by one process at a time (a
//! session-level advisory lock on a connection of its own, released when the holder's session ends — a
//! `kill -9` included — so another process takes over), and a process learns that another one staged work
//! for a job (`LISTEN/NOTIFY` on [`CHANNEL`]; the worker also polls, in case a notice is lost while the
//! listening connection reconnects).

use std::time::Duration;

use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use super::super::StoreError;

/// The channel staging transactions notify, with the job id as payload.
pub(super) const CHANNEL: &str = "entra_inbound_staged";

/// How often a process that does not hold a job tries to take it over.
const RETRY: Duration = Duration::from_millis(250);

/// A held job: the session holding its lock. Dropping it ends the session, which releases the lock.
#[derive(Debug)]
pub(crate) struct Hold {
    _client: Client,
}

/// Waits until this process holds `job_id`; also says whether it had to wait (another process held it).
pub(super) async fn hold(url: &str, job_id: &str) -> Result<(Hold, bool), StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    let mut waited = false;
    loop {
        let row = client.query_one("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", &[&job_key(job_id)]).await?;
        if row.get::<_, bool>(0) {
            return Ok((Hold { _client: client }, waited));
        }
        waited = true;
        tokio::time::sleep(RETRY).await;
    }
}

fn job_key(job_id: &str) -> String {
    format!("entra-inbound job {job_id}")
}

/// Forwards the job ids other processes (and this one) notify on [`CHANNEL`] to `notices`, reconnecting after
/// a failure; ends when nobody listens any more.
pub(super) async fn listen(url: String, notices: broadcast::Sender<String>) {
    loop {
        match listen_once(&url, &notices).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "listening for staged work failed; reconnecting"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `Ok` when nobody listens any more; an error when the connection failed.
async fn listen_once(url: &str, notices: &broadcast::Sender<String>) -> Result<(), StoreError> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    while let Some(job_id) = rx.recv().await {
        if notices.send(job_id).is_err() {
            pump.abort();
            return Ok(());
        }
    }
    Err(StoreError::Task("the listening connection closed".into()))
}
