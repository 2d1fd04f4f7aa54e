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

use presence_proto::{Config, Error, PresenceSession, SessionRequest};

use crate::Client;

pub use many::{DEFAULT_MAX_IN_FLIGHT, KeepPresentMany, KeepPresentManyBuilder, Member};
pub use presence_proto::{SessionEvent, SessionId, SessionOptions};
pub use single::{KeepPresent, KeepPresentBuilder};

/// A command for one session, applied on the driving task.
#[derive(Debug)]
enum Command {
    Join(Vec<String>, Vec<String>),
    Leave(Vec<String>, Vec<String>),
    SetState(String, serde_json::Value),
    SetPresenceTimeout(u32),
    Shutdown,
}

impl Command {
    fn join<C, G, S, T>(channels: C, groups: G) -> Self
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        Self::Join(
            channels.into_iter().map(Into::into).collect(),
            groups.into_iter().map(Into::into).collect(),
        )
    }

    fn leave<C, G, S, T>(channels: C, groups: G) -> Self
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        Self::Leave(
            channels.into_iter().map(Into::into).collect(),
            groups.into_iter().map(Into::into).collect(),
        )
    }

    fn set_state<T: serde::Serialize + ?Sized>(
        name: impl Into<String>,
        state: &T,
    ) -> Result<Self, Error> {
        let value = serde_json::to_value(state).map_err(|e| Error::StateSerialize(Some(e)))?;
        Ok(Self::SetState(name.into(), value))
    }

    fn apply(self, session: &mut PresenceSession) {
        match self {
            Self::Join(channels, groups) => session.join(channels, groups),
            Self::Leave(channels, groups) => session.leave(channels, groups),
            Self::SetState(name, value) => session.set_state_value(name, value),
            Self::SetPresenceTimeout(secs) => session.set_presence_timeout(secs),
            Self::Shutdown => session.shutdown(),
        }
    }
}

/// What a new session starts with: names, state and options (shared by both builders).
#[derive(Debug, Default)]
struct Start {
    channels: Vec<String>,
    groups: Vec<String>,
    state: Vec<(String, serde_json::Value)>,
    /// The first input error (state that does not serialise), reported by `start`/`add`.
    deferred: Option<Error>,
}

impl Start {
    fn state<T: serde::Serialize + ?Sized>(&mut self, name: impl Into<String>, state: &T) {
        match serde_json::to_value(state) {
            Ok(value) => self.state.push((name.into(), value)),
            Err(e) => {
                self.deferred.get_or_insert(Error::StateSerialize(Some(e)));
            }
        }
    }

    /// Builds the session: state first (so the first heartbeat carries it), then the join.
    /// The jitter seed comes from `fastrand` unless one was set.
    fn into_session(
        self,
        config: Arc<Config>,
        options: SessionOptions,
        jitter_seed: Option<u64>,
    ) -> Result<PresenceSession, Error> {
        if let Some(error) = self.deferred {
            return Err(error);
        }
        let seed = jitter_seed.unwrap_or_else(|| fastrand::u64(..));
        let mut session = PresenceSession::new(config, options.jitter_seed(seed));
        for (name, value) in self.state {
            session.set_state_value(name, value);
        }
        session.join(self.channels, self.groups);
        Ok(session)
    }
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
