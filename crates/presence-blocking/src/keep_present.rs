//! Keeping users present: heartbeats on background threads, driven by the core's Sans-IO
//! [`PresenceSession`] and [`PresenceSessions`](presence_proto::PresenceSessions) machines.
//!
//! * [`Client::keep_present`](crate::Client::keep_present) returns a [`KeepPresentBuilder`];
//!   its [`start`](KeepPresentBuilder::start) spawns one thread for the user and returns a
//!   [`KeepPresent`] handle to join, leave and set state, whose events ([`SessionEvent`])
//!   arrive on a channel ([`KeepPresent::next_event`], [`KeepPresent::next_event_timeout`],
//!   [`KeepPresent::events`]).
//! * [`Client::keep_present_many`](crate::Client::keep_present_many) starts a
//!   [`KeepPresentMany`]: any number of users ([`Member`]s) behind one driving thread and one
//!   timer, their requests sent by a small pool of
//!   [`max_in_flight`](KeepPresentManyBuilder::max_in_flight) request threads.
//!
//! The single-user thread follows the session's [drive contract](presence_proto::session): it waits for
//! commands with `recv_timeout` until the session's next deadline, sends each due request with
//! [`Client::execute_with`](crate::Client::execute_with) (so the client's request timeout,
//! retry policy and connection pool apply), and feeds the outcome back. The session retries failed heartbeats itself
//! (exponential backoff that closes in on the presence deadline) and stops on errors that
//! cannot heal, such as 403 ([`SessionEvent::Stopped`] with the error). Leave the client's
//! [`RetryPolicy`](crate::RetryPolicy) at its default (`None`): retries inside a request keep
//! the thread busy where the session would have scheduled them itself.
//!
//! While a request is in flight the thread is blocked in it, so commands sent meanwhile are
//! applied when it returns (at most the client's request timeout later), in the order sent.
//!
//! [`KeepPresent::shutdown`] sends one leave for everything joined and waits for it; dropping
//! the handle does the same, waiting at most twice the request timeout (a request that may be
//! in flight, then the leave).
//!
//! ```no_run
//! use std::time::Duration;
//! use presence_blocking::{Client, Config, SessionEvent};
//!
//! let config = Config::builder("demo", "alice").origin("http://127.0.0.1:8090").build()?;
//! let client = Client::new(config)?;
//! let alice = client
//!     .keep_present()
//!     .channels(["lobby"])
//!     .state("lobby", &serde_json::json!({"mood": "happy"}))
//!     .presence_timeout(60) // heartbeats every 29 s
//!     .start()?;
//! while let Some(event) = alice.next_event_timeout(Duration::from_secs(5)) {
//!     if let SessionEvent::Joined { channels, .. } = event {
//!         assert_eq!(channels, ["lobby"]);
//!         break;
//!     }
//! }
//! assert_eq!(client.here_now().channels(["lobby"]).call()?.total_occupancy, 1);
//! alice.shutdown()?; // one leave, acknowledged
//! assert_eq!(client.here_now().channels(["lobby"]).call()?.total_occupancy, 0);
//! # Ok::<(), presence_blocking::Error>(())
//! ```

mod many;
mod single;

use presence_proto::{SessionCommand as Command, SessionStart as Start};

pub use many::{DEFAULT_MAX_IN_FLIGHT, KeepPresentMany, KeepPresentManyBuilder, Member};
pub use presence_proto::{SessionEvent, SessionId, SessionOptions};
pub use single::{KeepPresent, KeepPresentBuilder};

/// The session's seed for retry jitter: the caller's, else one drawn from `fastrand` here
/// (the core draws no randomness).
fn seeded(options: SessionOptions, jitter_seed: Option<u64>) -> SessionOptions {
    options.jitter_seed(jitter_seed.unwrap_or_else(|| fastrand::u64(..)))
}
