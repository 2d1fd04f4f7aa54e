//! What a presence session reports to its driver.

use std::time::Instant;

use crate::error::Error;

/// Something that happened to a presence session; read them with `poll_event`.
///
/// Serialises as one JSON object named by `event` (`joined`, `heartbeat_failed`, `recovered`,
/// `presence_at_risk`, `presence_lost`, `left`, `stopped`) — the lines `presence keep-present
/// --json` prints. An [`Instant`] has no meaning outside this process, so instants become
/// millisecond offsets from the moment of serialising: `retry_in_ms` (when the next attempt
/// is due), `deadline_in_ms` (signed: negative once passed) and `lost_for_ms`. Errors are
/// `{"kind", "message", "status"}` (see [`Error`]'s `Serialize`). Events do not deserialise.
///
/// ```
/// use presence_proto::SessionEvent;
/// # fn demo(event: SessionEvent) -> Result<(), serde_json::Error> {
/// // e.g. {"event":"joined","channels":["lobby"],"groups":[]}
/// println!("{}", serde_json::to_string(&event)?);
/// # Ok(()) }
/// ```
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
    /// The presence timeout will pass before the next possible heartbeat (the deadline is still
    /// ahead when this is reported). Reported at most once per outage; followed by
    /// [`SessionEvent::PresenceLost`] at the deadline unless a heartbeat succeeds first.
    PresenceAtRisk {
        /// When the service will consider the user gone.
        deadline: Instant,
    },
    /// The presence timeout passed without an acknowledged heartbeat: the service considers the
    /// user gone (a `timeout` presence event) since `since`. Reported once per outage, at the
    /// deadline (the session asks to be woken then through `poll_timeout`), or when the reply
    /// of a heartbeat that was in flight at the deadline fails. Attempts continue; the next
    /// success is reported as [`SessionEvent::Recovered`] with `presence_lost: true`.
    PresenceLost {
        /// The deadline that passed: when the service timed the user out.
        since: Instant,
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

impl serde::Serialize for SessionEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let now = Instant::now();
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let mut map = serializer.serialize_map(None)?;
        match self {
            Self::Joined { channels, groups } => {
                map.serialize_entry("event", "joined")?;
                map.serialize_entry("channels", channels)?;
                map.serialize_entry("groups", groups)?;
            }
            Self::HeartbeatFailed {
                error,
                failures,
                next_attempt_at,
            } => {
                map.serialize_entry("event", "heartbeat_failed")?;
                map.serialize_entry("failures", failures)?;
                map.serialize_entry(
                    "retry_in_ms",
                    &millis(next_attempt_at.saturating_duration_since(now)),
                )?;
                map.serialize_entry("error", error)?;
            }
            Self::Recovered {
                failures,
                presence_lost,
            } => {
                map.serialize_entry("event", "recovered")?;
                map.serialize_entry("failures", failures)?;
                map.serialize_entry("presence_lost", presence_lost)?;
            }
            Self::PresenceAtRisk { deadline } => {
                map.serialize_entry("event", "presence_at_risk")?;
                let ms = if *deadline >= now {
                    i64::try_from(millis(deadline.duration_since(now))).unwrap_or(i64::MAX)
                } else {
                    -i64::try_from(millis(now.duration_since(*deadline))).unwrap_or(i64::MAX)
                };
                map.serialize_entry("deadline_in_ms", &ms)?;
            }
            Self::PresenceLost { since } => {
                map.serialize_entry("event", "presence_lost")?;
                map.serialize_entry(
                    "lost_for_ms",
                    &millis(now.saturating_duration_since(*since)),
                )?;
            }
            Self::Left {
                channels,
                groups,
                error,
            } => {
                map.serialize_entry("event", "left")?;
                map.serialize_entry("channels", channels)?;
                map.serialize_entry("groups", groups)?;
                map.serialize_entry("error", error)?;
            }
            Self::Stopped { error } => {
                map.serialize_entry("event", "stopped")?;
                map.serialize_entry("error", error)?;
            }
        }
        map.end()
    }
}
