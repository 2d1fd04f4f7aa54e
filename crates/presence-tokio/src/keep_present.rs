//! Keeping users present: heartbeats on a background task, driven by the core's Sans-IO
//! [`PresenceSession`] and [`PresenceSessions`](presence_proto::PresenceSessions) machines.
//!
//! * [`Client::keep_present`] starts one user: a [`KeepPresent`] handle to join, leave and set
//!   state, whose events ([`SessionEvent`]) arrive through [`KeepPresent::next_event`] or the
//!   [`Stream`](futures_util::Stream) it implements. One tokio task per handle.
//! * [`Client::keep_present_many`] starts a [`KeepPresentMany`]: any number of users
//!   ([`Member`]s) behind one task and one timer, with at most
//!   [`max_in_flight`](KeepPresentManyBuilder::max_in_flight) requests at once.
//!
//! Every request goes through [`Client::execute_with`], so the client's request timeout,
//! retry policy and connection pool apply. The sessions retry failed heartbeats themselves
//! (exponential backoff that closes in on the presence deadline; see [`presence_proto::session`]),
//! and stop on errors that cannot heal, such as 403 ([`SessionEvent::Stopped`] with the error).
//!
//! Shutting down (`shutdown().await`) sends one leave and waits for it; dropping a handle does
//! the same in the background: the task sends the leave, then ends.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = presence_emulator::EmulatorBuilder::new().start().await?;
//! use presence_tokio::{Client, Config, SessionEvent};
//!
//! # let origin = emulator.origin();
//! let client = Client::new(Config::builder("demo", "alice").origin(origin).build()?)?;
//! let mut alice = client
//!     .keep_present()
//!     .channels(["lobby"])
//!     .state("lobby", &serde_json::json!({"mood": "happy"}))
//!     .presence_timeout(60) // heartbeats every 29 s
//!     .start()?;
//! while let Some(event) = alice.next_event().await {
//!     if let SessionEvent::Joined { channels, .. } = event {
//!         assert_eq!(channels, ["lobby"]);
//!         break;
//!     }
//! }
//! assert_eq!(client.here_now().channels(["lobby"]).await?.total_occupancy, 1);
//! alice.shutdown().await?; // one leave, acknowledged
//! assert_eq!(client.here_now().channels(["lobby"]).await?.total_occupancy, 0);
//! # Ok(()) }
//! ```

mod many;
mod single;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use presence_proto::{Config, Error, SessionRequest};
use presence_proto::{SessionCommand as Command, SessionStart as Start};

use crate::Client;

pub use many::{DEFAULT_MAX_IN_FLIGHT, KeepPresentMany, KeepPresentManyBuilder, Member};
pub use presence_proto::{SessionEvent, SessionId, SessionOptions};
pub use single::{KeepPresent, KeepPresentBuilder};

/// The session's seed for retry jitter: the caller's, else one drawn from `fastrand` here
/// (the core draws no randomness).
fn seeded(options: SessionOptions, jitter_seed: Option<u64>) -> SessionOptions {
    options.jitter_seed(jitter_seed.unwrap_or_else(|| fastrand::u64(..)))
}

/// The one timer of a driving task: armed at the session's `poll_timeout`.
struct Timer {
    sleep: Pin<Box<tokio::time::Sleep>>,
    armed: Option<Instant>,
    /// The deadline that fired last; the next `now` is at least that (the timer wheel may
    /// wake a little early on some platforms, and due work must then be found due).
    fired: Option<Instant>,
}

impl Timer {
    fn new() -> Self {
        Self {
            sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            armed: None,
            fired: None,
        }
    }

    /// Points the timer at `at` (or disarms it), touching the timer wheel only on a change.
    fn arm(&mut self, at: Option<Instant>) {
        if at != self.armed {
            if let Some(at) = at {
                self.sleep
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(at));
            }
            self.armed = at;
        }
    }

    fn is_armed(&self) -> bool {
        self.armed.is_some()
    }

    /// Completes when the armed deadline passes; never while disarmed.
    async fn wait(&mut self) {
        if self.armed.is_none() {
            std::future::pending::<()>().await;
        }
        self.sleep.as_mut().await;
        self.fired = self.armed.take();
    }

    /// The time to poll with: now, but not before the deadline that just fired.
    fn now(&mut self) -> Instant {
        let now = now();
        self.fired.take().map_or(now, |fired| now.max(fired))
    }
}

/// The current time on tokio's clock (so a paused test clock applies), as a std `Instant`.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Sends one session request through the client's normal send path.
async fn send(client: Client, config: Arc<Config>, request: SessionRequest) -> Result<(), Error> {
    client.execute_with(&config, &request).await
}

/// Awaits `future` if there is one, else never completes.
async fn maybe<F: Future + Unpin>(future: Option<&mut F>) -> F::Output {
    match future {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// The error for a handle whose driving task is gone (the runtime shut down).
fn task_gone() -> Error {
    Error::InvalidArgument {
        field: "keep_present",
        reason: "the keep-present task has ended (was its runtime shut down?)".to_owned(),
    }
}
