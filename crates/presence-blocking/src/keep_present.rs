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

use std::sync::Arc;

use presence_proto::{Config, Error, PresenceSession};

pub use many::{DEFAULT_MAX_IN_FLIGHT, KeepPresentMany, KeepPresentManyBuilder, Member};
pub use presence_proto::{SessionEvent, SessionId, SessionOptions};
pub use single::{KeepPresent, KeepPresentBuilder};

/// A command for the session, applied on the driving thread.
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

/// What a new session starts with: names, state, and the first input error.
#[derive(Debug, Default)]
struct Start {
    channels: Vec<String>,
    groups: Vec<String>,
    state: Vec<(String, serde_json::Value)>,
    /// The first state that did not serialise, reported by `start`.
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
