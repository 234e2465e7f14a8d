//! What lets several processes share one database: a job's processing is held by one process at a time (a
//! session-level advisory lock on a connection of its own, released when the holder's session ends — a
//! `kill -9` included — so another process takes over), and a process learns that some process staged work
//! for a job ([`CHANNEL`]), changed its run state, schema or progress ([`CHANGED`]), or changed what the control
//! API shares or reset everything ([`CONTROL`]) through `LISTEN/NOTIFY` (the worker also polls for work, in case
//! a notice is lost while the listening connection reconnects).

use std::time::Duration;

use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use super::super::{ControlKey, StoreError, StoreNotice};

/// The channel staging transactions notify, with the job id as payload.
pub(super) const CHANNEL: &str = "entra_inbound_staged";

/// The channel a change of a job's run state, schema or progress (pause, start, restart, schema PUT) notifies.
pub(super) const CHANGED: &str = "entra_inbound_job_changed";

/// The channel a change of shared control state (`control`) or a reset notifies, with the [`ControlKey`] or
/// [`RESET`] as payload.
pub(super) const CONTROL: &str = "entra_inbound_control";

/// [`CONTROL`]'s payload for a reset. A reset notifies it before the jobs' [`CHANGED`] notices, in the same
/// transaction, so a process resets what it keeps in memory before it takes on the jobs as the reset left them.
pub(super) const RESET: &str = "reset";

/// A notice's payload: the notifying process's instance id, a space, the job id. A process skips its own
/// notices: what it changed is already in its memory (and reading the store back could race a change it is
/// still making).
pub(super) fn payload(instance: &str, job_id: &str) -> String {
    format!("{instance} {job_id}")
}

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
pub(super) async fn listen(url: String, instance: String, notices: broadcast::Sender<StoreNotice>) {
    loop {
        match listen_once(&url, &instance, &notices).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "listening for staged work failed; reconnecting"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `Ok` when nobody listens any more; an error when the connection failed.
async fn listen_once(url: &str, instance: &str, notices: &broadcast::Sender<StoreNotice>) -> Result<(), StoreError> {
    let own = format!("{instance} ");
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if n.payload().starts_with(&own) {
                        continue;
                    }
                    let subject = n.payload().split_once(' ').map_or(n.payload(), |(_, subject)| subject).to_owned();
                    let notice = match n.channel() {
                        CHANGED => Some(StoreNotice::Changed(subject)),
                        CONTROL if subject == RESET => Some(StoreNotice::Reset),
                        CONTROL => ControlKey::parse(&subject).map(StoreNotice::Control),
                        _ => Some(StoreNotice::Staged(subject)),
                    };
                    if let Some(notice) = notice
                        && tx.send(notice).is_err()
                    {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {CHANGED}; LISTEN {CONTROL}")).await?;
    while let Some(notice) = rx.recv().await {
        if notices.send(notice).is_err() {
            pump.abort();
            return Ok(());
        }
    }
    Err(StoreError::Task("the listening connection closed".into()))
}
