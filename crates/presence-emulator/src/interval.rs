//! Interval mode (§12.4): while a channel's occupancy is above `announce_max`, joins,
//! leaves and timeouts are not announced one by one; the channel gets one `interval` event
//! per `presence_interval` instead, carrying the occupancy and (with deltas on) who joined,
//! left and timed out since the previous one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::events::{ChangeKind, Deltas};

/// Presence event settings (fixed at start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EventOptions {
    /// Above this occupancy a channel is in interval mode.
    pub(crate) announce_max: usize,
    /// Seconds (of `timeout_unit`) between interval events.
    pub(crate) interval_secs: u32,
    /// Whether interval events carry `join`/`leave`/`timeout` arrays.
    pub(crate) deltas: bool,
    /// Interval payloads longer than this get `here_now_refresh` instead of the arrays.
    pub(crate) refresh_bytes: usize,
    /// Seconds (of `timeout_unit`) a long-poll is held when nothing arrives.
    pub(crate) hold_secs: u32,
    /// At most this many events are buffered per keyset.
    pub(crate) max_events: usize,
    /// Events older than this many seconds (of `timeout_unit`) are dropped.
    pub(crate) max_age_secs: u32,
}

impl Default for EventOptions {
    fn default() -> Self {
        Self {
            announce_max: 20,
            interval_secs: 10,
            deltas: false,
            refresh_bytes: 30_000,
            hold_secs: 280,
            max_events: 100_000,
            max_age_secs: 300,
        }
    }
}

/// One channel in interval mode.
#[derive(Debug)]
pub(crate) struct Interval {
    /// When the next interval event is due (emulator clock).
    pub(crate) next_at: SystemTime,
    /// The channel's occupancy after the last change seen.
    pub(crate) occupancy: usize,
    /// Changes since the last interval event.
    pub(crate) deltas: Deltas,
}

impl Interval {
    pub(crate) fn new(now: SystemTime, every: Duration, occupancy: usize) -> Self {
        Self {
            next_at: now.checked_add(every).unwrap_or(now),
            occupancy,
            deltas: Deltas::default(),
        }
    }

    /// Records a suppressed change.
    pub(crate) fn record(&mut self, kind: ChangeKind, uuid: &Arc<str>, occupancy: usize) {
        self.occupancy = occupancy;
        self.deltas.record(kind, uuid);
    }

    /// Whether an interval event is due at `now`; if so, schedules the next one.
    pub(crate) fn due(&mut self, now: SystemTime, every: Duration) -> bool {
        if now < self.next_at {
            return false;
        }
        let next = self.next_at.checked_add(every).unwrap_or(now);
        self.next_at = if next <= now {
            now.checked_add(every).unwrap_or(now)
        } else {
            next
        };
        true
    }
}

/// The occupancy just before `kind` changed it to `after`.
pub(crate) fn occupancy_before(kind: ChangeKind, after: usize) -> usize {
    match kind {
        ChangeKind::Join => after.saturating_sub(1),
        ChangeKind::Leave | ChangeKind::Timeout => after + 1,
        ChangeKind::State => after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_schedules_the_next() {
        let t0 = SystemTime::UNIX_EPOCH;
        let s = Duration::from_secs(1);
        let mut iv = Interval::new(t0, 10 * s, 21);
        assert!(!iv.due(t0 + 9 * s, 10 * s));
        assert!(iv.due(t0 + 10 * s, 10 * s));
        assert!(!iv.due(t0 + 19 * s, 10 * s));
        // Far behind: the next one is one period from now, not a burst.
        assert!(iv.due(t0 + 100 * s, 10 * s));
        assert!(!iv.due(t0 + 105 * s, 10 * s));
        assert_eq!(occupancy_before(ChangeKind::Join, 3), 2);
        assert_eq!(occupancy_before(ChangeKind::Timeout, 3), 4);
    }
}
