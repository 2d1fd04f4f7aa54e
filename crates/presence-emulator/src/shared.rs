//! The state shared by every connection of one running emulator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::config::Config;
use crate::faults::Faults;
use crate::stats::{Counters, Sizes, Stats};
use crate::store::Store;

/// Configuration, presence store, fault script and counters of one emulator.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    /// TCP connections open right now.
    pub(crate) connections: AtomicUsize,
    store: Mutex<Store>,
}

impl Shared {
    pub(crate) fn new(config: Config, faults: Faults) -> Self {
        Self {
            config,
            faults,
            counters: Counters::default(),
            connections: AtomicUsize::new(0),
            store: Mutex::new(Store::default()),
        }
    }

    /// Locks the store (a panic elsewhere never wedges the server).
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
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
        sizes
    }

    /// Forgets all presence, state, groups and statistics.
    pub(crate) fn reset(&self) {
        self.store().reset();
        self.counters.reset();
    }
}
