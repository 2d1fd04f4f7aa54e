//! What drivers need around a session: the commands users send to it, and what it starts with.
//! Shared here so every adapter queues and applies them the same way.

use std::sync::Arc;

use serde::Serialize;

use super::options::SessionOptions;
use super::single::PresenceSession;
use crate::config::Config;
use crate::error::Error;

/// A command for a [`PresenceSession`], as an owned value a driver can queue across threads or
/// tasks and apply on the one that owns the session.
///
/// ```
/// use presence_proto::{Config, PresenceSession, SessionCommand, SessionOptions};
/// let mut session = PresenceSession::new(Config::builder("demo", "alice").build()?, SessionOptions::new());
/// SessionCommand::join(["lobby"], ["friends"]).apply(&mut session);
/// assert_eq!(session.channels().collect::<Vec<_>>(), ["lobby"]);
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SessionCommand {
    /// [`PresenceSession::join`] these channels and groups.
    Join(Vec<String>, Vec<String>),
    /// [`PresenceSession::leave`] these channels and groups.
    Leave(Vec<String>, Vec<String>),
    /// [`PresenceSession::set_state_value`] for one channel or group.
    SetState(String, serde_json::Value),
    /// [`PresenceSession::set_presence_timeout`], in seconds.
    SetPresenceTimeout(u32),
    /// [`PresenceSession::shutdown`].
    Shutdown,
}

impl SessionCommand {
    /// A join of channels and groups.
    pub fn join<C, G, S, T>(channels: C, groups: G) -> Self
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

    /// A leave of channels and groups.
    pub fn leave<C, G, S, T>(channels: C, groups: G) -> Self
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

    /// A state change, serialised now so the caller sees a serialisation error at once.
    pub fn set_state<T: Serialize + ?Sized>(
        name: impl Into<String>,
        state: &T,
    ) -> Result<Self, Error> {
        let value = serde_json::to_value(state).map_err(|e| Error::StateSerialize(Some(e)))?;
        Ok(Self::SetState(name.into(), value))
    }

    /// Applies the command to `session`.
    pub fn apply(self, session: &mut PresenceSession) {
        match self {
            Self::Join(channels, groups) => session.join(channels, groups),
            Self::Leave(channels, groups) => session.leave(channels, groups),
            Self::SetState(name, value) => session.set_state_value(name, value),
            Self::SetPresenceTimeout(secs) => session.set_presence_timeout(secs),
            Self::Shutdown => session.shutdown(),
        }
    }
}

/// What a new session starts with: names to join and state to carry, collected by a driver's
/// builder. A state that does not serialise is kept as the error
/// [`SessionStart::into_session`] returns, so builder chains stay fluent.
///
/// ```
/// use presence_proto::{Config, SessionOptions, SessionStart};
/// let mut start = SessionStart::default();
/// start.channels.push("lobby".to_owned());
/// start.state("lobby", &serde_json::json!({"mood": "happy"}));
/// let mut session = start.into_session(Config::builder("demo", "alice").build()?, SessionOptions::new())?;
/// let heartbeat = session.poll_request(std::time::Instant::now()).expect("joining heartbeats at once");
/// # drop(heartbeat);
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SessionStart {
    /// Channels to join.
    pub channels: Vec<String>,
    /// Channel groups to join.
    pub groups: Vec<String>,
    /// State per channel or group, carried from the first heartbeat on.
    pub state: Vec<(String, serde_json::Value)>,
    /// The first state that did not serialise.
    deferred: Option<Error>,
}

impl SessionStart {
    /// Adds the state of one channel or group; a serialisation error is reported later by
    /// [`Self::into_session`].
    pub fn state<T: Serialize + ?Sized>(&mut self, name: impl Into<String>, state: &T) {
        match serde_json::to_value(state) {
            Ok(value) => self.state.push((name.into(), value)),
            Err(e) => {
                self.deferred.get_or_insert(Error::StateSerialize(Some(e)));
            }
        }
    }

    /// Builds the session: state first (so the first heartbeat carries it), then the join.
    pub fn into_session(
        self,
        config: impl Into<Arc<Config>>,
        options: SessionOptions,
    ) -> Result<PresenceSession, Error> {
        if let Some(error) = self.deferred {
            return Err(error);
        }
        let mut session = PresenceSession::new(config, options);
        for (name, value) in self.state {
            session.set_state_value(name, value);
        }
        session.join(self.channels, self.groups);
        Ok(session)
    }
}
