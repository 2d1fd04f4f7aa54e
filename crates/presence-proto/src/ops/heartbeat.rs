//! heartbeat: announce presence on channels/groups and keep it alive.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Config;
use crate::error::Error;
use crate::names::{self, Names};
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{AckBody, decode};
use crate::stamp::Stamp;

/// Default presence timeout in seconds.
///
/// ```
/// assert_eq!(presence_proto::DEFAULT_PRESENCE_TIMEOUT, 300);
/// ```
pub const DEFAULT_PRESENCE_TIMEOUT: u32 = 300;

/// Announces the caller on channels and groups for `presence_timeout` seconds, optionally
/// carrying state per channel or group.
///
/// ```
/// use presence_proto::{Config, Heartbeat, Operation, Stamp};
/// let config = Config::builder("demo", "alice").build()?;
/// let op = Heartbeat::new()
///     .channels(["room 1"])
///     .presence_timeout(120)
///     .state("room 1", &serde_json::json!({"mood": "happy"}))?;
/// let req = op.to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v2/presence/sub-key/demo/channel/room%201/heartbeat");
/// assert!(req.uri().query().unwrap().starts_with("heartbeat=120&pnsdk="));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Heartbeat {
    channels: Names,
    groups: Names,
    presence_timeout: u32,
    state: BTreeMap<String, serde_json::Value>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            channels: Names::new(),
            groups: Names::new(),
            presence_timeout: DEFAULT_PRESENCE_TIMEOUT,
            state: BTreeMap::new(),
        }
    }
}

impl Heartbeat {
    /// A heartbeat with the default 300 s timeout; add channels or groups.
    ///
    /// ```
    /// use presence_proto::{Config, Heartbeat, Operation, Stamp};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let req = Heartbeat::new().channels(["lobby"]).to_request(&config, &Stamp::new(0, ""))?;
    /// assert!(req.uri().path().ends_with("/channel/lobby/heartbeat"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds channels.
    ///
    /// ```
    /// let op = presence_proto::Heartbeat::new().channels(["lobby", "kitchen"]);
    /// # let _ = op;
    /// ```
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        names::extend(&mut self.channels, channels);
        self
    }

    /// Adds channel groups.
    ///
    /// ```
    /// let op = presence_proto::Heartbeat::new().groups(["friends"]);
    /// # let _ = op;
    /// ```
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        names::extend(&mut self.groups, groups);
        self
    }

    /// Seconds without a heartbeat after which the service times the caller out (default 300).
    ///
    /// ```
    /// use presence_proto::{Config, Heartbeat, Operation, Stamp};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let req = Heartbeat::new().channels(["lobby"]).presence_timeout(60).to_request(&config, &Stamp::new(0, ""))?;
    /// assert!(req.uri().query().unwrap().contains("heartbeat=60"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.presence_timeout = seconds;
        self
    }

    /// Sets the state carried for one channel or group (keyed by its name on the wire).
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Mood { mood: &'static str }
    /// let op = presence_proto::Heartbeat::new().channels(["lobby"]).state("lobby", &Mood { mood: "happy" })?;
    /// # let _ = op;
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn state<T: Serialize + ?Sized>(
        mut self,
        name: impl Into<String>,
        state: &T,
    ) -> Result<Self, Error> {
        let value = serde_json::to_value(state).map_err(|e| Error::StateSerialize(Some(e)))?;
        self.state.insert(name.into(), value);
        Ok(self)
    }

    /// Sets the already-built state of one channel or group.
    ///
    /// ```
    /// let op = presence_proto::Heartbeat::new()
    ///     .channels(["lobby"])
    ///     .state_value("lobby", serde_json::json!({"mood": "happy"}));
    /// # let _ = op;
    /// ```
    pub fn state_value(mut self, name: impl Into<String>, state: serde_json::Value) -> Self {
        self.state.insert(name.into(), state);
        self
    }
}

impl Operation for Heartbeat {
    type Output = ();
    const NAME: &'static str = "heartbeat";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        names::require_any(&self.channels, &self.groups)?;
        if self.presence_timeout == 0 {
            return Err(Error::argument(
                "presence_timeout",
                "must be at least 1 second",
            ));
        }
        let mut parts = Parts::presence(config);
        parts.literal("/channel/");
        names::channel_segment(&mut parts.path, &self.channels);
        parts.literal("/heartbeat");
        parts.param("heartbeat", self.presence_timeout.to_string());
        if let Some(groups) = names::group_value(&self.groups) {
            parts.param("channel-group", groups);
        }
        if !self.state.is_empty() {
            let json =
                serde_json::to_string(&self.state).map_err(|e| Error::StateSerialize(Some(e)))?;
            parts.param("state", json);
        }
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<(), Error> {
        decode::<AckBody>(&response).map(|_| ())
    }
}
