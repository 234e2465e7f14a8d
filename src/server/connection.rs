//! Connection limits of both listeners (issue 15): a request's headers must arrive in time, an idle
//! connection is closed, and only so many connections are open at once. Before them, connections that
//! never finished their headers stayed open for ever (7,850 of them held 609 MB).
//!
//! How: a [`Guard`] wraps axum-server's acceptor (plain TCP, or the TLS one). It takes a connection slot
//! (waiting up to `header_read_timeout_secs` for one, then closing the connection), then watches the stream
//! ([`Watched`]) and the connection's service ([`Tracked`]), which share the connection's [`Activity`]:
//! * **idle** — no request in progress and nothing received since the last one ended (or since the
//!   connection opened): closed after `keep_alive_timeout_secs` without traffic;
//! * **headers** — the first byte of a request arrived but its headers are not complete yet (the service
//!   has not been called): closed `header_read_timeout_secs` after that first byte, however slowly bytes
//!   keep trickling in;
//! * **busy** — a request is being handled: no connection timer (`request_timeout_secs` bounds it).
//!
//! When the server closes a connection it **lingers**: it shuts down its sending side, then reads and
//! discards what the client still sends — until the client closes too, at most `Limits::linger_bytes`
//! and [`LINGER_TIME`] — before letting go of the socket. A response sent before the request body was
//! read (a 413 for a declared 5 MiB upload, a 401) otherwise meets unread bytes at close, the kernel answers
//! them with a reset, and a client that writes its whole body before reading (Python's `urllib`) gets
//! "broken pipe" instead of the answer.
//!
//! The state is kept here, protocol-neutrally, rather than with hyper's own `header_read_timeout`: hyper
//! starts that clock as soon as it waits for a request, so it cannot tell a slow request from an idle
//! keep-alive connection, and it has no equivalent for HTTP/2. For HTTP/2, any frame received while idle
//! starts the headers clock. A timed-out connection is closed without an answer, as hyper does.
//!
//! Design constraints: the bookkeeping is a mutex that only this connection's tasks take, and the timer is
//! reset only when its deadline moves; nothing here reads the injected clock (socket deadlines are real time).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::Service;

use crate::config::ServerConfig;

/// The longest a closing connection lingers for the client's unread bytes.
const LINGER_TIME: Duration = Duration::from_secs(5);

/// The least a closing connection reads and discards before it gives up on the client (4 MiB).
const LINGER_BYTES_MIN: u64 = 4 * 1024 * 1024;

/// The timeouts and the connection slots both listeners share.
#[derive(Debug)]
pub(crate) struct Limits {
    header_read: Duration,
    keep_alive: Duration,
    /// Most bytes a closing connection reads and discards: twice the body limit, at least 4 MiB.
    linger_bytes: u64,
    slots: Arc<Semaphore>,
}

impl Limits {
    pub(crate) fn new(config: &ServerConfig) -> Arc<Self> {
        let body_limit = u64::try_from(config.body_limit_bytes).unwrap_or(u64::MAX);
        Arc::new(Self {
            header_read: Duration::from_secs(config.header_read_timeout_secs),
            keep_alive: Duration::from_secs(config.keep_alive_timeout_secs),
            linger_bytes: body_limit.saturating_mul(2).max(LINGER_BYTES_MIN),
            slots: Arc::new(Semaphore::new(config.max_connections)),
        })
    }

    /// How long a TLS handshake may take: as long as a request's headers.
    pub(crate) fn handshake(&self) -> Duration {
        self.header_read
    }
}

/// An axum-server acceptor that applies [`Limits`] around `inner` (the default or the TLS acceptor).
#[derive(Debug, Clone)]
pub(crate) struct Guard<A> {
    inner: A,
    limits: Arc<Limits>,
}

impl<A> Guard<A> {
    pub(crate) fn new(inner: A, limits: Arc<Limits>) -> Self {
        Self { inner, limits }
    }
}

type Accepted<T, S> = Pin<Box<dyn Future<Output = io::Result<(Watched<T>, Tracked<S>)>> + Send>>;

impl<A, I, S> Accept<I, S> for Guard<A>
where
    A: Accept<I, S> + Clone + Send + 'static,
    A::Future: Send,
    A::Stream: Send,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = Watched<A::Stream>;
    type Service = Tracked<A::Service>;
    type Future = Accepted<A::Stream, A::Service>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let (inner, limits) = (self.inner.clone(), Arc::clone(&self.limits));
        Box::pin(async move {
            let slot = tokio::time::timeout(limits.header_read, Arc::clone(&limits.slots).acquire_owned())
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no free connection slot"))?
                .map_err(io::Error::other)?;
            let (stream, service) = inner.accept(stream, service).await?;
            let activity = Arc::new(Mutex::new(Activity::new(Instant::now())));
            let watched = Watched {
                io: stream,
                activity: Arc::clone(&activity),
                timer: Box::pin(tokio::time::sleep(limits.keep_alive)),
                limits,
                lingering: None,
                _slot: slot,
            };
            Ok((watched, Tracked { inner: service, activity }))
        })
    }
}

/// What a connection is doing, shared by its stream and its service.
#[derive(Debug)]
struct Activity {
    in_flight: usize,
    phase: Phase,
    /// The task that last waited on the stream: woken when the last request ends, so that it waits again
    /// with the idle timer (hyper does not read a connection again after a response until the stream
    /// wakes it, and the timer it waited with was for the headers, or none while the request was handled).
    parked: Option<Waker>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing received since this instant (the connection opened, the last request ended, or a response
    /// made progress).
    Idle(Instant),
    /// The first byte of a request arrived at this instant.
    Headers(Instant),
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self { in_flight: 0, phase: Phase::Idle(now), parked: None }
    }

    fn received(&mut self, now: Instant) {
        if self.in_flight == 0 && matches!(self.phase, Phase::Idle(_)) {
            self.phase = Phase::Headers(now);
        }
    }

    fn sent(&mut self, now: Instant) {
        if self.in_flight == 0 && matches!(self.phase, Phase::Idle(_)) {
            self.phase = Phase::Idle(now);
        }
    }

    fn request_started(&mut self) {
        self.in_flight += 1;
    }

    /// Returns the task to wake when this was the last request in progress.
    fn request_ended(&mut self, now: Instant) -> Option<Waker> {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight > 0 {
            return None;
        }
        self.phase = Phase::Idle(now);
        self.parked.take()
    }

    /// When the connection must be closed if nothing changes; none while a request is in progress.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight > 0 {
            return None;
        }
        match self.phase {
            Phase::Idle(since) => since.checked_add(limits.keep_alive),
            Phase::Headers(since) => since.checked_add(limits.header_read),
        }
    }
}

fn lock(activity: &Mutex<Activity>) -> std::sync::MutexGuard<'_, Activity> {
    // The state stays consistent even if a holder panicked: every update is a single assignment.
    activity.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection's stream: records traffic and fails with `TimedOut` once the connection's deadline passes
/// while it waits; lingers when it is shut down. It holds the connection's slot until it is dropped.
#[derive(Debug)]
pub(crate) struct Watched<T> {
    io: T,
    activity: Arc<Mutex<Activity>>,
    limits: Arc<Limits>,
    timer: Pin<Box<Sleep>>,
    /// Once the sending side is shut down: how many more bytes may be read and discarded.
    lingering: Option<u64>,
    _slot: OwnedSemaphorePermit,
}

impl<T> Watched<T> {
    /// Called when the stream would wait: pending until the deadline, then the error that closes it.
    fn wait<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let deadline = {
            let mut activity = lock(&self.activity);
            let deadline = activity.deadline(&self.limits);
            if !activity.parked.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                activity.parked = Some(cx.waker().clone());
            }
            deadline
        };
        let Some(deadline) = deadline else {
            return Poll::Pending;
        };
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection closed: idle, or request headers not received in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn after_write(&mut self, result: Poll<io::Result<usize>>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        match result {
            Poll::Ready(Ok(n)) if n > 0 => {
                lock(&self.activity).sent(Instant::now());
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.wait(cx),
            other => other,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    lock(&self.activity).received(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => self.wait(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Watched<T> {
    /// After the sending side is shut down: discards what the client still sends until it closes, the
    /// byte budget is spent, the client fails, or [`LINGER_TIME`] passes — whichever comes first.
    fn linger(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 16 * 1024];
        loop {
            let left = self.lingering.unwrap_or(0);
            if left == 0 {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    let read = u64::try_from(buf.filled().len()).unwrap_or(u64::MAX);
                    self.lingering = Some(left.saturating_sub(read));
                }
                // The client is gone: nothing left to protect.
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return self.timer.as_mut().poll(cx).map(Ok),
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        self.after_write(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.after_write(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.io).poll_flush(cx) {
            Poll::Pending => self.wait(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.lingering.is_none() {
            ready!(Pin::new(&mut self.io).poll_shutdown(cx))?;
            self.lingering = Some(self.limits.linger_bytes);
            let until = Instant::now() + LINGER_TIME;
            self.timer.as_mut().reset(until);
        }
        self.linger(cx)
    }
}

/// A connection's service: a request is in progress from the call until its response (or its cancellation).
#[derive(Debug, Clone)]
pub(crate) struct Tracked<S> {
    inner: S,
    activity: Arc<Mutex<Activity>>,
}

/// Marks the end of a request when dropped, however the request ends.
struct InFlight(Arc<Mutex<Activity>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let parked = lock(&self.0).request_ended(Instant::now());
        if let Some(task) = parked {
            task.wake();
        }
    }
}

impl<S, R> Service<R> for Tracked<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        lock(&self.activity).request_started();
        let in_flight = InFlight(Arc::clone(&self.activity));
        let response = self.inner.call(request);
        Box::pin(async move {
            let _in_flight = in_flight;
            response.await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            keep_alive: Duration::from_secs(60),
            linger_bytes: LINGER_BYTES_MIN,
            slots: Arc::new(Semaphore::new(1)),
        }
    }

    #[test]
    fn the_deadline_follows_what_the_connection_is_doing() {
        let l = limits();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut a = Activity::new(t0);
        assert_eq!(a.deadline(&l), Some(at(60)), "idle from the start");
        a.sent(at(5));
        assert_eq!(a.deadline(&l), Some(at(65)), "sending while idle keeps it alive");
        a.received(at(7));
        assert_eq!(a.deadline(&l), Some(at(17)), "headers: ten seconds from the first byte");
        a.received(at(9));
        a.sent(at(9));
        assert_eq!(a.deadline(&l), Some(at(17)), "trickling bytes do not extend it");
        a.request_started();
        assert_eq!(a.deadline(&l), None, "no timer while a request is handled");
        a.received(at(100));
        a.request_started();
        a.parked = Some(Waker::noop().clone());
        assert!(a.request_ended(at(120)).is_none());
        assert_eq!(a.deadline(&l), None, "another request (HTTP/2) is still in progress");
        assert!(a.request_ended(at(130)).is_some(), "the parked task is woken to start the idle timer");
        assert_eq!(a.deadline(&l), Some(at(190)), "idle again when the last request ends");
        assert!(a.parked.is_none());
    }
}
