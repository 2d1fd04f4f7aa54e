//! Keeping users present: pure heartbeat state machines for one user ([`PresenceSession`]) and
//! for many users behind one timer ([`PresenceSessions`]).
//!
//! # Drive contract
//!
//! Like quinn-proto and str0m, a session never does I/O and never reads a clock:
//!
//! 1. After creating it, after every command (`join`, `leave`, `set_state`, …), after every
//!    [`PresenceSession::handle_response`] and whenever the instant from
//!    [`PresenceSession::poll_timeout`] has passed, call [`PresenceSession::poll_request`]
//!    with the current time until it returns `None`, sending each request.
//! 2. Hand each request's outcome to [`PresenceSession::handle_response`] with the time it
//!    arrived. At most one request per session is in flight.
//! 3. Drain [`PresenceSession::poll_event`] until `None`.
//! 4. Sleep until [`PresenceSession::poll_timeout`] (or until a new command arrives).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use presence_proto::{Config, PresenceSession, SessionEvent, SessionOptions};
//!
//! let config = Config::builder("demo", "alice").build()?;
//! let mut session = PresenceSession::new(config, SessionOptions::new().presence_timeout(60));
//! session.join_channels(["lobby"]);
//!
//! let start = Instant::now();
//! let heartbeat = session.poll_request(start).expect("joining sends a heartbeat at once");
//! // … send `heartbeat` (it implements `Operation`) and pass back the result …
//! session.handle_response(Ok(()), start);
//! assert!(matches!(session.poll_event(), Some(SessionEvent::Joined { .. })));
//! // The next heartbeat is due after the interval: 60 / 2 − 1 = 29 s.
//! assert_eq!(session.poll_timeout(), Some(start + Duration::from_secs(29)));
//! # Ok::<(), presence_proto::Error>(())
//! ```
//!
//! # Failure handling
//!
//! Official SDKs stop heartbeating after one failure. A session retries transient failures
//! (429, 5xx, timeouts, network errors, undecodable replies, 404) with exponential backoff from
//! [`SessionOptions::min_backoff`], never waiting more than half the time left before the
//! service would time the user out, so any outage shorter than `timeout − interval` is
//! bridged. Failures that repeating cannot fix (403, 402, 400, 414, invalid input) stop the
//! session with [`SessionEvent::Stopped`].

mod command;
mod event;
mod jitter;
mod many;
mod options;
mod request;
mod single;

pub use command::{SessionCommand, SessionStart};
pub use event::SessionEvent;
pub use many::{PresenceSessions, SessionId};
pub use options::{MAX_ATTEMPTS_PER_WINDOW, MIN_PRESENCE_TIMEOUT, SessionOptions};
pub use request::SessionRequest;
pub use single::PresenceSession;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_deadline;
