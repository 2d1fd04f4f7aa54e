//! A bounded table of shared names, so that a user who leaves and comes back (the usual
//! churn) costs no allocation: the roster, its changes and this table share one `Arc<str>`.

use std::collections::HashSet;
use std::sync::Arc;

/// Below this many names the table is never purged.
const MIN_PURGE_AT: usize = 1024;

/// Interned names. Bounded: when it reaches `purge_at` entries, names nobody else holds any
/// more (strong count 1) are dropped and the bound becomes twice what is left, so the table
/// stays within about twice the live names (or [`MIN_PURGE_AT`]) at amortised O(1) cost.
#[derive(Clone, Debug, Default)]
pub(super) struct Interner {
    names: HashSet<Arc<str>>,
    purge_at: usize,
}

impl Interner {
    /// The shared copy of `name`, made on first sight.
    pub(super) fn intern(&mut self, name: &str) -> Arc<str> {
        match self.names.get(name) {
            Some(shared) => Arc::clone(shared),
            None => self.insert(Arc::from(name)),
        }
    }

    /// As [`intern`](Self::intern), reusing `name`'s buffer when the name is new.
    pub(super) fn intern_owned(&mut self, name: String) -> Arc<str> {
        match self.names.get(name.as_str()) {
            Some(shared) => Arc::clone(shared),
            None => self.insert(Arc::from(name)),
        }
    }

    fn insert(&mut self, name: Arc<str>) -> Arc<str> {
        if self.names.len() >= self.purge_at.max(MIN_PURGE_AT) {
            self.names.retain(|held| Arc::strong_count(held) > 1);
            self.purge_at = (self.names.len() * 2).max(MIN_PURGE_AT);
        }
        self.names.insert(Arc::clone(&name));
        name
    }

    /// How many names are held (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }
}
