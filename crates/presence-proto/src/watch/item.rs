//! What a [`Watch`](super::Watch) reports: [`WatchItem`] and [`GapReason`].

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::events::{Cursor, Message, PresenceEvent};

/// Why events may have been missed.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum GapReason {
    /// No good reply for this long: the service may have dropped events from its buffer.
    Outage {
        /// How long the watch went without a good reply.
        lasted: Duration,
    },
    /// The cursor had to start over (a fresh handshake), so events in between are unknown.
    CursorReset,
}

/// Something a watch reports, in order.
///
/// ```
/// # fn demo(item: presence_proto::WatchItem) {
/// use presence_proto::WatchItem;
/// match item {
///     WatchItem::Event(event) => println!("{} {}", event.channel, event.action_name()),
///     WatchItem::Gap { .. } => println!("events may have been missed: resync"),
///     WatchItem::Retrying { error, .. } => eprintln!("retrying: {error}"),
///     WatchItem::Stopped { error: Some(error) } => eprintln!("stopped: {error}"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchItem {
    /// A presence event (de-duplicated).
    Event(PresenceEvent),
    /// A message published to a watched channel (present mode subscribes to it too).
    Message(Message),
    /// The handshake succeeded (first connect, or after a cursor reset).
    Connected {
        /// The cursor events are received from.
        cursor: Cursor,
    },
    /// Events may have been missed: resynchronise (e.g. with here_now).
    Gap {
        /// Why.
        reason: GapReason,
    },
    /// A poll failed with an error that may heal; the next attempt is due at `next_attempt_at`.
    Retrying {
        /// What went wrong.
        error: Error,
        /// Consecutive failures.
        failures: u32,
        /// When the next poll goes out.
        next_attempt_at: Instant,
    },
    /// A poll succeeded again after failures.
    Recovered {
        /// How many consecutive polls had failed.
        failures: u32,
    },
    /// The leave sent on stop (present mode) failed; the service will time the user out.
    LeaveFailed {
        /// What went wrong.
        error: Error,
    },
    /// The watch ended: stopped (`None`) or an error that cannot heal (403, 400).
    Stopped {
        /// The error, if that is why.
        error: Option<Error>,
    },
}
