//! The state shared by every connection of one running emulator.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::config::Config;
use crate::faults::Faults;
use crate::pubsub::Hub;
use crate::sizes::Sizes;
use crate::stats::{Counters, Stats};
use crate::store::Store;

/// Configuration, presence store, fault script and counters of one emulator.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    /// TCP connections open right now.
    pub(crate) connections: AtomicUsize,
    /// Presence events and the long-polls waiting for them.
    pub(crate) hub: Hub,
    store: Mutex<Store>,
}

/// The locked store; on release, the presence changes made meanwhile are published as
/// events (still under the store lock, so events keep the order of the changes).
pub(crate) struct StoreGuard<'a> {
    shared: &'a Shared,
    guard: MutexGuard<'a, Store>,
}

impl Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.guard
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.guard
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        if self.guard.has_changes() {
            let changes = self.guard.take_changes();
            let now = self.shared.now();
            self.shared.hub.publish(&self.shared.config, changes, now);
        }
    }
}

impl Shared {
    pub(crate) fn new(config: Config, faults: Faults) -> Self {
        Self {
            config,
            faults,
            counters: Counters::default(),
            connections: AtomicUsize::new(0),
            hub: Hub::default(),
            store: Mutex::new(Store::default()),
        }
    }

    /// Locks the store (a panic elsewhere never wedges the server).
    pub(crate) fn store(&self) -> StoreGuard<'_> {
        StoreGuard {
            shared: self,
            guard: self.store.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Sweeps expired entries (publishing their timeouts) and emits due interval events:
    /// the server's own timer, so events flow without traffic.
    pub(crate) fn tick(&self) {
        let now = self.now();
        self.store().sweep_all(now);
        self.hub.tick(&self.config, now);
    }

    /// The emulator clock's current time.
    pub(crate) fn now(&self) -> SystemTime {
        self.config.clock.now()
    }

    /// Statistics, after sweeping what has expired.
    pub(crate) fn stats(&self) -> Stats {
        let books = {
            let mut store = self.store();
            store.sweep_all(self.now());
            store.books()
        };
        self.counters.snapshot(books)
    }

    /// Store sizes and open connections, after sweeping what has expired.
    pub(crate) fn sizes(&self) -> Sizes {
        let mut sizes = {
            let mut store = self.store();
            store.sweep_all(self.now());
            store.sizes()
        };
        sizes.open_connections = self.connections.load(Ordering::Relaxed);
        sizes.held_polls = self.hub.held.load(Ordering::Relaxed);
        (sizes.event_logs, sizes.buffered_events) = self.hub.sizes();
        sizes
    }

    /// Forgets all presence, state, groups and statistics.
    pub(crate) fn reset(&self) {
        self.store().reset();
        self.hub.reset();
        self.counters.reset();
    }
}
