//! What a presence session reports to its driver.

use std::time::Instant;

use crate::error::Error;

/// Something that happened to a presence session; read them with `poll_event`.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The service acknowledged a heartbeat announcing these newly joined names.
    Joined {
        /// Channels joined.
        channels: Vec<String>,
        /// Channel groups joined.
        groups: Vec<String>,
    },
    /// A heartbeat failed with a transient error; another attempt follows at `next_attempt_at`.
    HeartbeatFailed {
        /// What went wrong.
        error: Error,
        /// Consecutive failures so far.
        failures: u32,
        /// When the next attempt is due.
        next_attempt_at: Instant,
    },
    /// A heartbeat succeeded again after failures.
    Recovered {
        /// How many consecutive attempts had failed.
        failures: u32,
        /// Whether the presence timeout had passed meanwhile (the service may have timed the
        /// user out, and this heartbeat joined it again).
        presence_lost: bool,
    },
    /// The presence timeout will pass (or has just passed) before the next possible heartbeat.
    /// Reported once per outage.
    PresenceAtRisk {
        /// When the service will consider the user gone.
        deadline: Instant,
    },
    /// A leave was sent for these names (and acknowledged unless `error` is set).
    Left {
        /// Channels left.
        channels: Vec<String>,
        /// Channel groups left.
        groups: Vec<String>,
        /// Why the leave failed, if it did (the service times the user out anyway).
        error: Option<Error>,
    },
    /// The session ended: after [`super::PresenceSession::shutdown`] (`error: None`) or on an
    /// unrecoverable error such as 403 or 402. It sends nothing more.
    Stopped {
        /// The unrecoverable error, if that is why.
        error: Option<Error>,
    },
}
