//! Handles to a running emulator: async ([`EmulatorHandle`]) and blocking
//! ([`BackgroundEmulator`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle as ThreadHandle;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::faults::Faults;
use crate::shared::Shared;
use crate::sizes::Sizes;
use crate::stats::Stats;

/// What both handles share: the address and the live state.
struct Inner {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The served certificate (PEM) when serving HTTPS.
    certificate_pem: Option<Arc<str>>,
}

impl Inner {
    fn occupants(&self, sub_key: &str, channel: &str) -> Vec<String> {
        let now = self.shared.now();
        let mut store = self.shared.store();
        store.sweep(sub_key, now);
        store
            .channel(sub_key, channel)
            .map(|c| c.occupants().map(|(u, _)| u.to_owned()).collect())
            .unwrap_or_default()
    }
}

macro_rules! accessors {
    () => {
        /// The bound address, e.g. `127.0.0.1:49152`.
        pub fn local_addr(&self) -> SocketAddr {
            self.inner.addr
        }

        /// The origin URL to point a client at, e.g. `http://127.0.0.1:49152`
        /// (`https://` when serving TLS).
        pub fn origin(&self) -> String {
            let scheme = if self.inner.certificate_pem.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", self.inner.addr)
        }

        /// The certificate served over HTTPS (PEM), when [`EmulatorBuilder::tls`](crate::EmulatorBuilder::tls)
        /// (crate::EmulatorBuilder::tls) was set: a client trusts a self-signed one by adding
        /// it as a root certificate.
        pub fn certificate_pem(&self) -> Option<&str> {
            self.inner.certificate_pem.as_deref()
        }

        pub(crate) fn with_certificate(mut self, pem: Option<Arc<str>>) -> Self {
            self.inner.certificate_pem = pem;
            self
        }

        /// `host:port` without a scheme, as SDKs that take an `origin` plus an `ssl` flag
        /// expect it (e.g. the Python SDK's `PNConfiguration.origin`).
        pub fn host_port(&self) -> String {
            self.inner.addr.to_string()
        }

        /// The live fault script.
        pub fn faults(&self) -> Faults {
            self.inner.shared.faults.clone()
        }

        /// Current statistics (expired entries are swept first).
        pub fn stats(&self) -> Stats {
            self.inner.shared.stats()
        }

        /// What the emulator holds right now (entries, indexes, groups, open connections),
        /// after sweeping what has expired: for tests that check memory stays bounded.
        pub fn sizes(&self) -> Sizes {
            self.inner.shared.sizes()
        }

        /// Forgets all presence, state, channel groups and statistics (not the faults).
        pub fn reset(&self) {
            self.inner.shared.reset();
        }

        /// The uuids present on `channel` of `sub_key`, in join order.
        pub fn occupants(&self, sub_key: &str, channel: &str) -> Vec<String> {
            self.inner.occupants(sub_key, channel)
        }
    };
}

/// A running emulator on a tokio runtime, from [`EmulatorBuilder::start`](crate::EmulatorBuilder::start).
///
/// Dropping it stops the server in the background; [`shutdown`](Self::shutdown) waits
/// until it has stopped.
pub struct EmulatorHandle {
    inner: Inner,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    pub(crate) fn new(
        addr: SocketAddr,
        shared: Arc<Shared>,
        shutdown: watch::Sender<bool>,
        task: JoinHandle<()>,
    ) -> Self {
        Self {
            inner: Inner {
                addr,
                shared,
                certificate_pem: None,
            },
            shutdown,
            task: Some(task),
        }
    }

    accessors!();

    /// Stops accepting, lets open connections finish their current response (at most
    /// 2 s), and returns when the server has stopped.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A running emulator on its own thread and runtime, from
/// [`EmulatorBuilder::start_in_background`](crate::EmulatorBuilder::start_in_background);
/// usable from code that is not async. Stops on drop or [`shutdown`](Self::shutdown).
pub struct BackgroundEmulator {
    inner: Inner,
    shutdown: watch::Sender<bool>,
    thread: Option<ThreadHandle<()>>,
}

impl BackgroundEmulator {
    pub(crate) fn new(
        addr: SocketAddr,
        shared: Arc<Shared>,
        shutdown: watch::Sender<bool>,
        thread: ThreadHandle<()>,
    ) -> Self {
        Self {
            inner: Inner {
                addr,
                shared,
                certificate_pem: None,
            },
            shutdown,
            thread: Some(thread),
        }
    }

    accessors!();

    /// Stops the server and waits for its thread to end.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}
