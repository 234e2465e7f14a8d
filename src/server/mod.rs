//! Listeners and lifecycle: bind, build state, serve until the shutdown signal, finish in-flight requests.
//! Tests and `main` go through the same [`Server`] (CONTRIBUTING.md code rule 1).
//!
//! With `server.tls_listen` a second, HTTPS listener (axum-server + rustls) serves the same router. Each listener
//! tags its requests with its [`ListenerBase`], so every link in a response starts with the origin the request
//! came in on (`api::BaseUrl`). One shutdown signal stops both.
//! Both listeners are served by axum-server through the same connection limits (`connection.rs`: header
//! and idle timeouts, a cap on open connections).

mod connection;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum_server::accept::DefaultAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::net::TcpListener;

use connection::{Guard, Limits};

use crate::api::ListenerBase;
use crate::auth::tls::{self, TlsError};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::state::{AppState, StateError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("TLS: {0}")]
    TlsConfig(String),
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
}

/// A bound, not yet serving, emulator.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsListener>,
    state: AppState,
}

/// The bound HTTPS listener and its certificate.
#[derive(Debug)]
struct TlsListener {
    listener: std::net::TcpListener,
    rustls: RustlsConfig,
}

impl Server {
    /// Bind the listener (port 0 picks a free port) and build the state; the public base URL follows the
    /// real bound address unless configured.
    pub async fn bind(mut config: Config, clock: SharedClock) -> Result<Self, ServerError> {
        let addr = config.server.listen;
        let listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
        config.server.listen = listener.local_addr()?;
        let tls = match config.tls_listen().map_err(|e| ServerError::TlsConfig(e.to_string()))? {
            Some(addr) => {
                let bound = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
                config.server.tls_listen = bound.local_addr()?.to_string();
                let material = tls::prepare(&config)?;
                let rustls = RustlsConfig::from_pem(material.cert_pem, material.key_pem)
                    .await
                    .map_err(|e| ServerError::TlsConfig(e.to_string()))?;
                Some(TlsListener { listener: bound.into_std()?, rustls })
            }
            None => None,
        };
        let state = AppState::new(config, clock).await?;
        Ok(Self { listener, tls, state })
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
        self.state.metrics.spawn_upkeep();
        self.state.set_ready();
        if let Some(addr) = unguarded_control_api(&self.state.config) {
            tracing::warn!(
                %addr,
                "the control API (/_emulator/*: reset, drain, export, import, clock, faults, journal, report) answers anyone who can reach {addr}; set admin.token (ENTRA_INBOUND__ADMIN__TOKEN) to require a bearer token"
            );
        }
        let config = &self.state.config;
        tracing::info!(base_url = %config.public_base_url(), tls_base_url = ?config.public_tls_base_url(), "entra-inbound ready");
        let limits = Limits::new(&self.state.config.server);
        let handle = axum_server::Handle::new();
        let https = match self.tls {
            Some(t) => {
                let tls_app = app.clone().layer(Extension(ListenerBase::https(config)));
                let tls = RustlsAcceptor::new(t.rustls).handshake_timeout(limits.handshake());
                let mut server = axum_server::from_tcp(t.listener)?.acceptor(Guard::new(tls, Arc::clone(&limits)));
                raise_head_ceilings(&mut server);
                Some(tokio::spawn(server.handle(handle.clone()).serve(tls_app.into_make_service())))
            }
            None => None,
        };
        // In-flight requests get as long as a request may take.
        let grace = Duration::from_secs(self.state.config.server.request_timeout_secs.max(1));
        let stop = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            stop.graceful_shutdown(Some(grace));
        });
        let app = app.layer(Extension(ListenerBase::http(config)));
        let mut plain =
            axum_server::from_tcp(self.listener.into_std()?)?.acceptor(Guard::new(DefaultAcceptor::new(), limits));
        raise_head_ceilings(&mut plain);
        let plain = plain.handle(handle.clone()).serve(app.into_make_service()).await;
        handle.graceful_shutdown(Some(grace));
        if let Some(task) = https {
            task.await.map_err(|e| ServerError::Serve(std::io::Error::other(e)))??;
        }
        plain?;
        Ok(())
    }
}

/// Lets request heads over the emulator's own limit reach the router, which answers them with the Graph error
/// envelope instead of hyper's bare 431 (`api::headers`).
fn raise_head_ceilings<A: axum_server::Address, Acc>(server: &mut axum_server::Server<A, Acc>) {
    server.http_builder().http1().max_headers(crate::api::headers::HYPER_MAX_HEADER_FIELDS);
    server.http_builder().http2().max_header_list_size(crate::api::headers::HYPER_MAX_HEADER_LIST_BYTES);
}

/// A listener that exposes the control API beyond this machine while `admin.token` is empty (the container
/// image does so by design; the start-up log says so once).
fn unguarded_control_api(config: &Config) -> Option<SocketAddr> {
    if !config.admin.token.is_empty() {
        return None;
    }
    std::iter::once(config.server.listen).chain(config.tls_listen().ok().flatten()).find(|a| !a.ip().is_loopback())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_loopback_listener_without_admin_token_is_reported() {
        let mut config = Config::defaults().unwrap();
        assert_eq!(unguarded_control_api(&config), None);
        config.server.tls_listen = "0.0.0.0:8443".into();
        assert_eq!(unguarded_control_api(&config), Some("0.0.0.0:8443".parse().unwrap()));
        config.server.listen = "[::]:8080".parse().unwrap();
        assert_eq!(unguarded_control_api(&config), Some("[::]:8080".parse().unwrap()));
        config.admin.token = "sesame".into();
        assert_eq!(unguarded_control_api(&config), None);
    }
}
