//! The accept loop: one hyper HTTP/1.1 connection task per client, a periodic sweeper, and
//! graceful shutdown.
//!
//! # Slow and abusive clients
//!
//! Each connection is watched, at no cost per request:
//!
//! * hyper tells the connection when it starts and stops waiting for a request head,
//!   through the [`Timer`] it uses for its header read timeout ([`HeadTimer`]: arming and
//!   disarming are two stores, no timer is registered);
//! * the socket reader counts the bytes received ([`Counted`]);
//! * one watchdog for all connections (in the accept loop, ticking a few times per timeout:
//!   no timer per connection or per request) closes a connection when a started head does
//!   not complete within `header_read_timeout`, when a new connection sends no complete head
//!   within that time, or when a keep-alive connection stays silent for `idle_timeout`.
//!
//! A request head larger than `max_head_bytes` gets hyper's 431; more than 100 headers too.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::ConnLimits;
use crate::service::Service;
use crate::shared::Shared;

/// How long shutdown waits for open connections to finish their current response.
const GRACE: Duration = Duration::from_secs(2);

/// Serves `listener` until `shutdown` changes (or its sender is dropped).
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    sweep_interval: Duration,
    tls: Option<TlsAcceptor>,
) {
    let sweeper = tokio::spawn(sweep_forever(Arc::clone(&shared), sweep_interval));
    let mut conns = JoinSet::new();
    let limits = shared.config.limits;
    // Every open connection: its watchdog and its stop signal (one `oneshot` each; a shared
    // `watch` would make every connection lock the same mutex each time it is polled).
    let mut watched: Vec<Watched> = Vec::new();
    let period = Watchdog::period_for(&limits);
    let mut tick = tokio::time::interval_at((Instant::now() + period).into(), period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "connection accepted");
                    let state = Arc::new(ConnState::default());
                    let (stop_tx, stop_rx) = oneshot::channel();
                    watched.push(Watched {
                        dog: Watchdog::new(Arc::clone(&state), limits, Instant::now()),
                        stop: Some(stop_tx),
                    });
                    let tls = tls.clone();
                    conns.spawn(connection(stream, Arc::clone(&shared), state, stop_rx, tls));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            now = tick.tick() => {
                let now = now.into_std();
                watched.retain_mut(|w| w.check(now));
            }
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    for w in &mut watched {
        if let Some(stop) = w.stop.take() {
            let _ = stop.send(Stop::Graceful);
        }
    }
    let drained =
        tokio::time::timeout(GRACE, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::debug!("closing connections still busy after the grace period");
    }
    conns.abort_all();
    sweeper.abort();
}

/// Why a connection is asked to stop.
enum Stop {
    /// The server shuts down: finish the current response, then close.
    Graceful,
    /// The watchdog closes it now (nothing is sent).
    Close(&'static str),
}

/// One open connection, as the accept loop sees it.
struct Watched {
    dog: Watchdog,
    /// Taken when a stop is sent.
    stop: Option<oneshot::Sender<Stop>>,
}

impl Watched {
    /// Checks the connection; false once it is gone or told to close.
    fn check(&mut self, now: Instant) -> bool {
        let Some(stop) = self.stop.take() else {
            return false;
        };
        if stop.is_closed() {
            return false;
        }
        if let Some(reason) = self.dog.check(now) {
            let _ = stop.send(Stop::Close(reason));
            return false;
        }
        self.stop = Some(stop);
        true
    }
}

async fn connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    state: Arc<ConnState>,
    stop: oneshot::Receiver<Stop>,
    tls: Option<TlsAcceptor>,
) {
    let _open = OpenConnection::new(Arc::clone(&shared));
    let _ = stream.set_nodelay(true);
    let counted = Counted {
        inner: stream,
        state: Arc::clone(&state),
    };
    match tls {
        None => serve(TokioIo::new(counted), shared, state, stop).await,
        // Boxed: the handshake's state (a whole rustls session) must not enlarge every plain
        // connection's task, and held long-polls are counted in thousands.
        Some(tls) => Box::pin(secure(counted, tls, shared, state, stop)).await,
    }
}

/// HTTPS: the handshake first (the watchdog bounds it like a request head), then HTTP/1.1.
async fn secure(
    counted: Counted,
    tls: TlsAcceptor,
    shared: Arc<Shared>,
    state: Arc<ConnState>,
    mut stop: oneshot::Receiver<Stop>,
) {
    let accepted = tokio::select! {
        biased;
        _ = &mut stop => return,
        accepted = tls.accept(counted) => accepted,
    };
    match accepted {
        Ok(stream) => serve(TokioIo::new(stream), shared, state, stop).await,
        Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
    }
}

/// Serves HTTP/1.1 on one connection until it ends or is stopped.
async fn serve<I>(
    io: I,
    shared: Arc<Shared>,
    state: Arc<ConnState>,
    mut stop: oneshot::Receiver<Stop>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let limits = shared.config.limits;
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(true)
        .timer(HeadTimer(state, Instant::now()))
        // Only arms `HeadTimer`; the watchdog in the accept loop enforces the limits.
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_head_bytes);
    let conn = builder.serve_connection(io, Service::new(shared));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        biased;
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        stopped = &mut stop => {
            if let Ok(Stop::Close(reason)) = stopped {
                // Dropping the connection closes the socket; nothing is sent.
                tracing::debug!(reason, "closing connection");
                return;
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

/// Counts an open connection in [`Shared::connections`] while it lives.
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn new(shared: Arc<Shared>) -> Self {
        shared.connections.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What one connection's watchdog sees. Only that connection's task touches it, so
/// relaxed loads and stores suffice.
#[derive(Default)]
struct ConnState {
    /// Request-head waits begun so far (hyper arms its header timer once per head).
    waits: AtomicU64,
    /// Whether hyper is waiting for a request head right now.
    waiting: AtomicBool,
    /// Bytes read from the socket so far.
    bytes_in: AtomicU64,
    /// `bytes_in` when the current wait began.
    bytes_at_wait: AtomicU64,
}

/// The [`Timer`] hyper arms when it starts reading a request head and drops once the
/// head is parsed. It registers no timer: it only records the wait in [`ConnState`].
struct HeadTimer(Arc<ConnState>, Instant);

impl HeadTimer {
    fn arm(&self) -> Pin<Box<dyn Sleep>> {
        let s = &*self.0;
        let wait = s.waits.load(Ordering::Relaxed) + 1;
        s.waits.store(wait, Ordering::Relaxed);
        s.bytes_at_wait
            .store(s.bytes_in.load(Ordering::Relaxed), Ordering::Relaxed);
        s.waiting.store(true, Ordering::Relaxed);
        Box::pin(HeadWait {
            state: Arc::clone(&self.0),
            wait,
        })
    }
}

impl Timer for HeadTimer {
    fn sleep(&self, _duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.arm()
    }

    fn sleep_until(&self, _deadline: Instant) -> Pin<Box<dyn Sleep>> {
        self.arm()
    }

    /// Hyper reads the time only to compute the deadline it hands to `sleep_until`, which
    /// is ignored here; not reading the clock saves a system call per request on hosts
    /// whose clock source is not served by the vDSO.
    fn now(&self) -> Instant {
        self.1
    }
}

/// One head wait; never completes (the watchdog closes the connection instead).
struct HeadWait {
    state: Arc<ConnState>,
    wait: u64,
}

impl Future for HeadWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Sleep for HeadWait {}

impl Drop for HeadWait {
    fn drop(&mut self) {
        // A wait replaced by a newer one must not end the newer one.
        if self.state.waits.load(Ordering::Relaxed) == self.wait {
            self.state.waiting.store(false, Ordering::Relaxed);
        }
    }
}

/// The socket, counting the bytes read.
struct Counted {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        let got = buf.filled().len() - before;
        if got > 0 {
            let total = this.state.bytes_in.load(Ordering::Relaxed) + got as u64;
            this.state.bytes_in.store(total, Ordering::Relaxed);
        }
        res
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Decides, a few times per timeout, whether a connection has overstayed.
struct Watchdog {
    state: Arc<ConnState>,
    limits: ConnLimits,
    accepted: Instant,
    /// The wait seen at the last check, and when it was first seen.
    wait: u64,
    wait_seen: Instant,
    /// When bytes of the awaited head were first seen.
    bytes_seen: Option<Instant>,
}

impl Watchdog {
    fn new(state: Arc<ConnState>, limits: ConnLimits, accepted: Instant) -> Self {
        Self {
            state,
            limits,
            accepted,
            wait: 0,
            wait_seen: accepted,
            bytes_seen: None,
        }
    }

    /// How often to check: a quarter of the shorter timeout, within 10 ms..=1 s.
    fn period_for(limits: &ConnLimits) -> Duration {
        (limits.header_read_timeout.min(limits.idle_timeout) / 4)
            .clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    #[cfg(test)]
    fn period(&self) -> Duration {
        Self::period_for(&self.limits)
    }

    /// Why the connection should be closed now, if it should.
    fn check(&mut self, now: Instant) -> Option<&'static str> {
        let s = &*self.state;
        if !s.waiting.load(Ordering::Relaxed) {
            // A request is being served (or its body read): not the watchdog's business.
            self.bytes_seen = None;
            return None;
        }
        let wait = s.waits.load(Ordering::Relaxed);
        if wait != self.wait {
            self.wait = wait;
            self.wait_seen = now;
            self.bytes_seen = None;
        }
        let header = self.limits.header_read_timeout;
        if wait <= 1 {
            // A new connection must send its first head in time, whether it sends
            // nothing or trickles bytes.
            return (now.duration_since(self.accepted) >= header)
                .then_some("no complete request head in time");
        }
        let got_bytes =
            s.bytes_in.load(Ordering::Relaxed) != s.bytes_at_wait.load(Ordering::Relaxed);
        if got_bytes {
            let since = *self.bytes_seen.get_or_insert(now);
            (now.duration_since(since) >= header).then_some("request head too slow")
        } else {
            (now.duration_since(self.wait_seen) >= self.limits.idle_timeout)
                .then_some("idle keep-alive connection")
        }
    }
}

/// Drops expired entries now and then (publishing their timeouts) and emits due interval
/// events, so memory stays bounded and events flow without traffic.
async fn sweep_forever(shared: Arc<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        shared.tick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(header_ms: u64, idle_ms: u64) -> ConnLimits {
        ConnLimits {
            header_read_timeout: Duration::from_millis(header_ms),
            idle_timeout: Duration::from_millis(idle_ms),
            ..ConnLimits::default()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn watchdog_rules() {
        let t0 = Instant::now();
        let state = Arc::new(ConnState::default());
        let timer = HeadTimer(Arc::clone(&state), t0);
        let mut dog = Watchdog::new(Arc::clone(&state), limits(1000, 5000), t0);
        assert_eq!(dog.period(), ms(250));

        // First head: counted from the accept, bytes or not.
        let first = timer.arm();
        assert_eq!(dog.check(t0 + ms(900)), None);
        assert!(dog.check(t0 + ms(1000)).is_some());
        drop(first);
        // Serving a request: never closed.
        assert_eq!(dog.check(t0 + ms(60_000)), None);

        // An idle keep-alive wait gets the idle timeout ...
        let t1 = t0 + ms(2000);
        let idle = timer.arm();
        assert_eq!(dog.check(t1), None);
        assert_eq!(dog.check(t1 + ms(4900)), None);
        assert!(dog.check(t1 + ms(5000)).is_some());
        drop(idle);

        // ... until bytes arrive: then the head must complete within the header timeout.
        let t2 = t0 + ms(10_000);
        let _slow = timer.arm();
        assert_eq!(dog.check(t2), None);
        state.bytes_in.store(1, Ordering::Relaxed);
        assert_eq!(dog.check(t2 + ms(3000)), None);
        assert_eq!(dog.check(t2 + ms(3900)), None);
        assert!(dog.check(t2 + ms(4000)).is_some());
    }

    #[test]
    fn a_replaced_wait_does_not_disarm_its_successor() {
        let state = Arc::new(ConnState::default());
        let timer = HeadTimer(Arc::clone(&state), Instant::now());
        let old = timer.arm();
        let new = timer.arm();
        drop(old);
        assert!(state.waiting.load(Ordering::Relaxed));
        drop(new);
        assert!(!state.waiting.load(Ordering::Relaxed));
    }
}
