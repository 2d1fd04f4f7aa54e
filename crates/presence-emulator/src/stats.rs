//! Request and presence statistics, for tests and benchmarks.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

/// Counters updated on every request, spread over cache-line-sized shards (one per worker
/// thread, round robin) so that threads counting at the same time do not fight over one
/// cache line.
#[derive(Default)]
pub(crate) struct Counters {
    shards: [Shard; SHARDS],
}

const SHARDS: usize = 8;

#[derive(Default)]
#[repr(align(128))]
struct Shard {
    by_op: [AtomicU64; Operation::ALL.len()],
    other: AtomicU64,
    errors: AtomicU64,
    faults: AtomicU64,
}

impl Shard {
    fn all(&self) -> impl Iterator<Item = &AtomicU64> {
        self.by_op
            .iter()
            .chain([&self.other, &self.errors, &self.faults])
    }
}

/// The shard of the calling thread.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|i| {
        if i.get() == usize::MAX {
            i.set(NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS);
        }
        i.get()
    })
}

fn sum<'a>(counters: impl Iterator<Item = &'a AtomicU64>) -> u64 {
    counters.map(|c| c.load(Ordering::Relaxed)).sum()
}

impl Counters {
    fn mine(&self) -> &Shard {
        let i = shard_index();
        self.shards.get(i).unwrap_or(&self.shards[0])
    }

    pub(crate) fn request(&self, op: Option<Operation>) {
        let shard = self.mine();
        let slot = op
            .and_then(|op| shard.by_op.get(op.index()))
            .unwrap_or(&shard.other);
        slot.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error_reply(&self) {
        self.mine().errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fault(&self) {
        self.mine().faults.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reset(&self) {
        for c in self.shards.iter().flat_map(Shard::all) {
            c.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self, books: Books) -> Stats {
        let mut requests = BTreeMap::new();
        for (i, op) in Operation::ALL.iter().enumerate() {
            let count = sum(self.shards.iter().filter_map(|s| s.by_op.get(i)));
            requests.insert(op.as_str().to_owned(), count);
        }
        requests.insert(
            "other".to_owned(),
            sum(self.shards.iter().map(|s| &s.other)),
        );
        Stats {
            requests_total: requests.values().sum(),
            requests,
            error_replies: sum(self.shards.iter().map(|s| &s.errors)),
            faults_applied: sum(self.shards.iter().map(|s| &s.faults)),
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
    fn counts_from_several_threads_add_up() {
        let c = Counters::default();
        std::thread::scope(|scope| {
            for _ in 0..12 {
                scope.spawn(|| {
                    for _ in 0..100 {
                        c.request(Some(Operation::Heartbeat));
                    }
                });
            }
        });
        assert_eq!(c.snapshot(Books::default()).requests["heartbeat"], 1200);
    }

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
