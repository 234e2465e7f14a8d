//! Listeners and lifecycle: bind, build state, serve until the shutdown signal, finish in-flight requests.
//! Tests and `main` go through the same [`Server`] (STYLE.md rule 1).

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::state::{AppState, StateError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
}

/// A bound, not yet serving, emulator.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Bind the listener (port 0 picks a free port) and build the state; the public base URL follows the
    /// real bound address unless configured.
    pub async fn bind(mut config: Config, clock: SharedClock) -> Result<Self, ServerError> {
        let addr = config.server.listen;
        let listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
        config.server.listen = listener.local_addr()?;
        let state = AppState::new(config, clock)?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.config.server.listen
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until `shutdown` resolves; requests already in flight are finished.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
        let app = crate::app(self.state.clone());
        crate::provisioning::worker::spawn_all(&self.state);
        self.state.set_ready();
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await?;
        Ok(())
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
