//! Configuring and starting an emulator.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConnLimits, KeysetOptions};
use crate::faults::{FaultRule, Faults};
use crate::handle::{BackgroundEmulator, EmulatorHandle};
use crate::interval::EventOptions;
use crate::server;
use crate::shared::Shared;
use crate::tls::TlsIdentity;
use tokio_rustls::TlsAcceptor;

/// Builds and starts an emulator. Every option has a default, so
/// `EmulatorBuilder::new().start().await` is a working server on a free loopback port.
///
/// ```
/// use std::time::Duration;
/// use presence_emulator::{EmulatorBuilder, KeysetOptions, ManualClock};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let clock = ManualClock::new();
/// let emulator = EmulatorBuilder::new()
///     .clock(clock.clone())
///     .keyset("sub-no-global", KeysetOptions::new().global_here_now(false))
///     .start()
///     .await?;
/// println!("PubNub origin: {}", emulator.origin()); // http://127.0.0.1:PORT
/// clock.advance(Duration::from_secs(300)); // presence timeouts pass instantly
/// emulator.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct EmulatorBuilder {
    listen: SocketAddr,
    clock: Arc<dyn Clock>,
    timeout_unit: Duration,
    min_timeout: u32,
    max_timeout: u32,
    default_keyset: KeysetOptions,
    keysets: HashMap<String, KeysetOptions>,
    faults: Vec<FaultRule>,
    admin_enabled: bool,
    gzip_threshold: usize,
    sweep_interval: Duration,
    limits: ConnLimits,
    events: EventOptions,
    tls: Option<TlsIdentity>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EmulatorBuilder {
    /// Defaults: `127.0.0.1:0`, system clock, `timeout_unit` 1 s, presence timeout bounds
    /// 1..=86 400 s, every keyset with presence and global here now enabled and no
    /// signing or Access Manager, no faults, admin API on, gzip above 1 KiB, sweep every 1 s,
    /// header read timeout 10 s, idle timeout 120 s.
    pub fn new() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            clock: Arc::new(SystemClock::new()),
            timeout_unit: Duration::from_secs(1),
            min_timeout: 1,
            max_timeout: 86_400,
            default_keyset: KeysetOptions::new(),
            keysets: HashMap::new(),
            faults: Vec::new(),
            admin_enabled: true,
            gzip_threshold: 1024,
            sweep_interval: Duration::from_secs(1),
            limits: ConnLimits::default(),
            events: EventOptions::default(),
            tls: None,
        }
    }

    /// The address to listen on (port 0 picks a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The clock presence expiry and signature timestamps are measured with.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long one second of `heartbeat=N` lasts on the clock (default 1 s). With
    /// 50 ms, a client's "20 s" presence timeout expires after 1 s.
    pub fn timeout_unit(mut self, unit: Duration) -> Self {
        self.timeout_unit = unit;
        self
    }

    /// Accepted `heartbeat` values in seconds; values outside are clamped.
    pub fn presence_timeout_bounds(mut self, min_secs: u32, max_secs: u32) -> Self {
        self.min_timeout = min_secs.max(1);
        self.max_timeout = max_secs.max(self.min_timeout);
        self
    }

    /// Options for every subscribe key without options of its own.
    pub fn default_keyset(mut self, options: KeysetOptions) -> Self {
        self.default_keyset = options;
        self
    }

    /// Options for one subscribe key.
    pub fn keyset(mut self, sub_key: impl Into<String>, options: KeysetOptions) -> Self {
        self.keysets.insert(sub_key.into(), options);
        self
    }

    /// Arms a fault rule from the start (more can be pushed through the handle).
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Serves the `/_emulator/...` admin API (default `true`).
    pub fn admin(mut self, enabled: bool) -> Self {
        self.admin_enabled = enabled;
        self
    }

    /// Bodies longer than this are gzipped for clients that accept gzip (default 1024).
    pub fn gzip_threshold(mut self, bytes: usize) -> Self {
        self.gzip_threshold = bytes;
        self
    }

    /// How often (real time) expired entries are swept without traffic (default 1 s).
    pub fn sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every;
        self
    }

    /// How long a client may take to send a request head (request line and headers) once
    /// its first byte has arrived, and a new connection to send its first head (default
    /// 10 s). Slower connections are closed without a response, so slow-loris clients
    /// cannot hold connections open.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a keep-alive connection may sit idle between requests before it is closed
    /// (default 120 s, longer than the 90 s pool idle time of this workspace's clients).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Above this occupancy a channel is in interval mode: joins, leaves and timeouts are
    /// no longer announced one by one, one `interval` event per
    /// [`presence_interval`](Self::presence_interval) carries the occupancy instead
    /// (default 20).
    pub fn announce_max(mut self, occupancy: usize) -> Self {
        self.events.announce_max = occupancy;
        self
    }

    /// Seconds (of [`timeout_unit`](Self::timeout_unit)) between interval events of a
    /// channel in interval mode (default 10).
    pub fn presence_interval(mut self, secs: u32) -> Self {
        self.events.interval_secs = secs.max(1);
        self
    }

    /// Whether interval events carry the `join`, `leave` and `timeout` arrays of the
    /// changes since the previous one (default `false`).
    pub fn presence_deltas(mut self, enabled: bool) -> Self {
        self.events.deltas = enabled;
        self
    }

    /// Interval payloads longer than this (with their arrays) carry
    /// `"here_now_refresh":true` instead of the arrays (default 30 000).
    pub fn here_now_refresh_bytes(mut self, bytes: usize) -> Self {
        self.events.refresh_bytes = bytes;
        self
    }

    /// Seconds (of [`timeout_unit`](Self::timeout_unit), real time) a subscribe long-poll
    /// is held when no event arrives, before it answers with no messages and a new cursor
    /// (default 280).
    pub fn subscribe_hold_secs(mut self, secs: u32) -> Self {
        self.events.hold_secs = secs;
        self
    }

    /// At most this many presence events are buffered per subscribe key for subscribers
    /// coming back with an older cursor (default 100 000; events also leave the buffer
    /// after 300 seconds of [`timeout_unit`](Self::timeout_unit)).
    pub fn event_buffer(mut self, max_events: usize) -> Self {
        self.events.max_events = max_events.max(1);
        self
    }

    /// Serves HTTPS with this certificate and key instead of plain HTTP (the handle's
    /// `origin()` then starts with `https://`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use presence_emulator::{EmulatorBuilder, TlsIdentity};
    /// let identity = TlsIdentity::self_signed(["localhost", "127.0.0.1"])?;
    /// let emulator = EmulatorBuilder::new().tls(identity).start().await?;
    /// assert!(emulator.origin().starts_with("https://127.0.0.1:"));
    /// assert!(emulator.certificate_pem().is_some());
    /// # emulator.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// The certificate (PEM) that will be served, when [`tls`](Self::tls) was set.
    ///
    /// ```
    /// let builder = presence_emulator::EmulatorBuilder::new();
    /// assert!(builder.tls_certificate_pem().is_none());
    /// ```
    pub fn tls_certificate_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(TlsIdentity::certificate_pem)
    }

    /// The acceptor and the served certificate, when serving HTTPS.
    fn take_tls(&mut self) -> io::Result<(Option<TlsAcceptor>, Option<Arc<str>>)> {
        match self.tls.take() {
            None => Ok((None, None)),
            Some(identity) => Ok((
                Some(identity.acceptor()?),
                Some(Arc::from(identity.certificate_pem())),
            )),
        }
    }

    fn into_parts(self) -> (SocketAddr, Arc<Shared>, Duration) {
        let faults = Faults::default();
        for rule in self.faults {
            faults.push(rule);
        }
        let config = Config {
            clock: self.clock,
            timeout_unit: self.timeout_unit,
            min_timeout: self.min_timeout,
            max_timeout: self.max_timeout,
            default_keyset: self.default_keyset,
            keysets: self.keysets,
            admin_enabled: self.admin_enabled,
            gzip_threshold: self.gzip_threshold,
            limits: self.limits,
            events: self.events,
        };
        (
            self.listen,
            Arc::new(Shared::new(config, faults)),
            self.sweep_interval,
        )
    }

    /// The shared service state, without binding (for [`crate::InProcess`]).
    pub(crate) fn into_shared(self) -> Arc<Shared> {
        self.into_parts().1
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(mut self) -> io::Result<EmulatorHandle> {
        let (tls, certificate) = self.take_tls()?;
        let (listen, shared, sweep) = self.into_parts();
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::run(listener, Arc::clone(&shared), rx, sweep, tls));
        tracing::info!(%addr, "presence emulator listening");
        Ok(EmulatorHandle::new(addr, shared, tx, task).with_certificate(certificate))
    }

    /// Binds, then serves from a thread with its own tokio runtime; for blocking code.
    /// The server stops when the returned handle is dropped or shut down.
    ///
    /// ```
    /// use presence_emulator::EmulatorBuilder;
    /// let emulator = EmulatorBuilder::new().start_in_background()?;
    /// assert!(emulator.origin().starts_with("http://127.0.0.1:"));
    /// emulator.shutdown();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start_in_background(mut self) -> io::Result<BackgroundEmulator> {
        let (tls, certificate) = self.take_tls()?;
        let (listen, shared, sweep) = self.into_parts();
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("presence-emulator".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("presence-emulator-worker")
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    server::run(listener, thread_shared, rx, sweep, tls).await;
                });
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::Error::other("emulator thread ended before starting")),
        }
        tracing::info!(%addr, "presence emulator listening (background thread)");
        Ok(BackgroundEmulator::new(addr, shared, tx, thread).with_certificate(certificate))
    }
}
