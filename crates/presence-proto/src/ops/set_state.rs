//! set_state: store a user's state on channels/groups.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Error;
use crate::names::{self, Names};
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{Flag, Status, decode, envelope, lenient_status, shape_error};
use crate::stamp::Stamp;

/// Stores `state` (any serialisable value that becomes a JSON object) for a user on channels
/// and groups (default user: the caller).
///
/// ```
/// use presence_proto::{Config, Operation, SetState, Stamp};
/// #[derive(serde::Serialize)]
/// struct Status { status: &'static str, age: u32 }
/// let config = Config::builder("demo", "alice").build()?;
/// let op = SetState::new().channels(["ch1"]).state(Status { status: "online", age: 20 });
/// let req = op.to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v2/presence/sub-key/demo/channel/ch1/uuid/alice/data");
/// assert!(req.uri().query().unwrap().contains("state=%7B%22status%22%3A%22online%22%2C%22age%22%3A20%7D"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct SetState<T = serde_json::Value> {
    channels: Names,
    groups: Names,
    user_id: Option<String>,
    state: Option<T>,
}

impl SetState<serde_json::Value> {
    /// A set_state with no state yet; [`SetState::state`] is required before sending.
    ///
    /// ```
    /// let op = presence_proto::SetState::new().channels(["lobby"]).state(serde_json::json!({"mood": "busy"}));
    /// # let _ = op;
    /// ```
    pub fn new() -> Self {
        Self {
            channels: Names::new(),
            groups: Names::new(),
            user_id: None,
            state: None,
        }
    }
}

impl Default for SetState<serde_json::Value> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> SetState<T> {
    /// Adds channels.
    ///
    /// ```
    /// let op = presence_proto::SetState::new().channels(["lobby", "kitchen"]);
    /// # let _ = op;
    /// ```
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        names::extend(&mut self.channels, channels);
        self
    }

    /// Adds channel groups.
    ///
    /// ```
    /// let op = presence_proto::SetState::new().groups(["friends"]);
    /// # let _ = op;
    /// ```
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        names::extend(&mut self.groups, groups);
        self
    }

    /// Sets the state of another user id (default: the caller's).
    ///
    /// ```
    /// let op = presence_proto::SetState::new().channels(["lobby"]).user_id("bob");
    /// # let _ = op;
    /// ```
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the state to store (must serialise to a JSON object).
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Mood<'a> { mood: &'a str }
    /// let op = presence_proto::SetState::new().channels(["lobby"]).state(Mood { mood: "busy" });
    /// # let _ = op;
    /// ```
    pub fn state<U: Serialize>(self, state: U) -> SetState<U> {
        SetState {
            channels: self.channels,
            groups: self.groups,
            user_id: self.user_id,
            state: Some(state),
        }
    }
}

/// The result of [`SetState`]: the state the service stored.
///
/// ```
/// use presence_proto::{Operation, SetState};
/// let body = br#"{"status":200,"message":"OK","payload":{"mood":"busy"}}"#;
/// let op = SetState::new().channels(["lobby"]).state(serde_json::json!({"mood": "busy"}));
/// let stored = op.parse(http::Response::new(&body[..]))?;
/// assert_eq!(serde_json::to_string(&stored)?, r#"{"state":{"mood":"busy"}}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SetStateResult {
    /// The stored state, as the service echoed it.
    pub state: serde_json::Value,
}

impl SetStateResult {
    /// The stored state decoded as `T`.
    ///
    /// ```
    /// # fn demo(stored: presence_proto::SetStateResult) -> Result<(), presence_proto::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Mood { mood: String }
    /// let mood: Mood = stored.state_as()?;
    /// println!("{}", mood.mood);
    /// # Ok(()) }
    /// ```
    pub fn state_as<U: serde::de::DeserializeOwned>(&self) -> Result<U, Error> {
        crate::ops::state_as(&self.state)
    }
}

impl<T: Serialize> Operation for SetState<T> {
    type Output = SetStateResult;
    const NAME: &'static str = "set_state";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        names::require_any(&self.channels, &self.groups)?;
        let user_id = self.user_id.as_deref().unwrap_or(config.user_id());
        names::validate_user_id("user_id", user_id)?;
        let Some(state) = &self.state else {
            return Err(Error::argument("state", "state is required"));
        };
        // Serialised directly (not through `Value`) so a struct's field order is kept.
        let json = serde_json::to_string(state).map_err(|e| Error::StateSerialize(Some(e)))?;
        if !json.starts_with('{') {
            return Err(Error::StateSerialize(None));
        }
        let mut parts = Parts::presence(config);
        parts.literal("/channel/");
        names::channel_segment(&mut parts.path, &self.channels);
        parts.literal("/uuid");
        parts.segment(user_id);
        parts.literal("/data");
        parts.param("state", json);
        if let Some(groups) = names::group_value(&self.groups) {
            parts.param("channel-group", groups);
        }
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<SetStateResult, Error> {
        let body: Body = decode(&response)?;
        match body.payload {
            Some(state) => Ok(SetStateResult { state }),
            None => Err(shape_error(&response, "set_state reply has no `payload`")),
        }
    }
}

#[derive(Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "lenient_status")]
    status: Option<Status>,
    #[serde(default)]
    error: Flag,
    payload: Option<serde_json::Value>,
}
envelope!(Body);
