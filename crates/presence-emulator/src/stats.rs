//! Request and presence statistics, for tests and benchmarks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::operation::Operation;
use crate::store::Books;

/// A snapshot of the emulator's statistics, from
/// [`EmulatorHandle::stats`](crate::EmulatorHandle::stats) or `GET /_emulator/stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Requests per operation name (`here_now`, `heartbeat`, …) plus `other` for paths that
    /// are no PubNub endpoint. Admin requests are not counted.
    pub requests: BTreeMap<String, u64>,
    /// All counted requests.
    pub requests_total: u64,
    /// Replies sent with an HTTP status of 400 or more (faults included).
    pub error_replies: u64,
    /// Requests a fault rule applied to.
    pub faults_applied: u64,
    /// (uuid, channel) pairs present right now.
    pub present: u64,
    /// (uuid, channel) pairs that ever timed out (expired without a heartbeat).
    pub timed_out: u64,
    /// (uuid, channel) pairs that ever left explicitly.
    pub left: u64,
}

/// Lock-free counters updated on every request.
#[derive(Default)]
pub(crate) struct Counters {
    by_op: [AtomicU64; Operation::ALL.len()],
    other: AtomicU64,
    errors: AtomicU64,
    faults: AtomicU64,
}

impl Counters {
    pub(crate) fn request(&self, op: Option<Operation>) {
        let slot = op
            .and_then(|op| self.by_op.get(op.index()))
            .unwrap_or(&self.other);
        slot.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error_reply(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reset(&self) {
        for c in self
            .by_op
            .iter()
            .chain([&self.other, &self.errors, &self.faults])
        {
            c.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self, books: Books) -> Stats {
        let mut requests = BTreeMap::new();
        for (op, count) in Operation::ALL.iter().zip(&self.by_op) {
            requests.insert(op.as_str().to_owned(), count.load(Ordering::Relaxed));
        }
        requests.insert("other".to_owned(), self.other.load(Ordering::Relaxed));
        Stats {
            requests_total: requests.values().sum(),
            requests,
            error_replies: self.errors.load(Ordering::Relaxed),
            faults_applied: self.faults.load(Ordering::Relaxed),
            present: books.present,
            timed_out: books.timed_out,
            left: books.left,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_resets() {
        let c = Counters::default();
        c.request(Some(Operation::Leave));
        c.request(None);
        c.error_reply();
        let s = c.snapshot(Books::default());
        assert_eq!(s.requests.get("leave"), Some(&1));
        assert_eq!(s.requests.get("other"), Some(&1));
        assert_eq!(s.requests_total, 2);
        assert_eq!(s.error_replies, 1);
        c.reset();
        assert_eq!(c.snapshot(Books::default()).requests_total, 0);
    }
}
