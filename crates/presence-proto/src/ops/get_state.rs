//! get_state: read a user's state on channels/groups.

use serde::Deserialize;

use crate::config::Config;
use crate::error::Error;
use crate::names::{self, Names};
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{Flag, Status, decode, envelope, lenient_status, shape_error};
use crate::stamp::Stamp;

/// Reads a user's state on channels and groups (default user: the caller).
///
/// ```
/// use presence_proto::{Config, GetState, Operation, Stamp};
/// let config = Config::builder("demo", "alice").build()?;
/// let op = GetState::new().channels(["ch1"]);
/// let req = op.to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v2/presence/sub-key/demo/channel/ch1/uuid/alice");
///
/// let body = br#"{"channel":"ch1","message":"OK","payload":{"mood":"ok"},"service":"Presence","status":200,"uuid":"alice"}"#;
/// let result = op.parse(http::Response::builder().status(200).body(&body[..])?)?;
/// assert_eq!(result.state("ch1"), Some(&serde_json::json!({"mood": "ok"})));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct GetState {
    channels: Names,
    groups: Names,
    user_id: Option<String>,
}

impl GetState {
    /// An empty get_state; add channels or groups.
    ///
    /// ```
    /// use presence_proto::{Config, GetState, Operation, Stamp};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let req = GetState::new().channels(["lobby"]).to_request(&config, &Stamp::new(0, ""))?;
    /// assert!(req.uri().path().ends_with("/uuid/alice"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds channels.
    ///
    /// ```
    /// let op = presence_proto::GetState::new().channels(["lobby"]);
    /// # let _ = op;
    /// ```
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        names::extend(&mut self.channels, channels);
        self
    }

    /// Adds channel groups.
    ///
    /// ```
    /// let op = presence_proto::GetState::new().groups(["friends"]);
    /// # let _ = op;
    /// ```
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        names::extend(&mut self.groups, groups);
        self
    }

    /// Reads another user's state (default: the caller's).
    ///
    /// ```
    /// use presence_proto::{Config, GetState, Operation, Stamp};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let req = GetState::new().channels(["lobby"]).user_id("bob").to_request(&config, &Stamp::new(0, ""))?;
    /// assert!(req.uri().path().ends_with("/uuid/bob"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }
}

/// The result of [`GetState`]: state per channel.
///
/// ```
/// use presence_proto::{GetState, Operation};
/// let body = br#"{"status":200,"uuid":"bob","payload":{"mood":"busy"}}"#;
/// let got = GetState::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
/// assert_eq!(got.state("lobby"), Some(&serde_json::json!({"mood": "busy"})));
/// assert_eq!(serde_json::to_string(&got)?, r#"{"user_id":"bob","channels":[{"channel":"lobby","state":{"mood":"busy"}}]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct GetStateResult {
    /// The user id the service answered for, when it said.
    pub user_id: Option<String>,
    /// State per channel, sorted by channel name (`{}` where the user has none).
    pub channels: Vec<ChannelState>,
}

/// One channel's state in a [`GetStateResult`].
///
/// ```
/// # fn demo(got: presence_proto::GetStateResult) {
/// for entry in &got.channels {
///     println!("{}: {}", entry.channel, entry.state);
/// }
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ChannelState {
    /// Channel name.
    pub channel: String,
    /// The user's state on it.
    pub state: serde_json::Value,
}

impl GetStateResult {
    /// The raw state on `channel`, if the reply has it.
    ///
    /// ```
    /// # fn demo(got: presence_proto::GetStateResult) {
    /// if let Some(state) = got.state("lobby") {
    ///     println!("lobby: {state}");
    /// }
    /// # }
    /// ```
    pub fn state(&self, channel: &str) -> Option<&serde_json::Value> {
        self.channels
            .iter()
            .find(|c| c.channel == channel)
            .map(|c| &c.state)
    }

    /// The state on `channel` decoded as `T`; `Ok(None)` when the channel is not in the reply.
    ///
    /// ```
    /// # use presence_proto::GetStateResult;
    /// #[derive(serde::Deserialize)]
    /// struct Mood { mood: String }
    /// # let result = GetStateResult::default();
    /// let mood: Option<Mood> = result.state_as("lobby")?;
    /// # assert!(mood.is_none());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn state_as<T: serde::de::DeserializeOwned>(
        &self,
        channel: &str,
    ) -> Result<Option<T>, Error> {
        self.state(channel).map(crate::ops::state_as).transpose()
    }
}

impl Operation for GetState {
    type Output = GetStateResult;
    const NAME: &'static str = "get_state";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        names::require_any(&self.channels, &self.groups)?;
        let user_id = self.user_id.as_deref().unwrap_or(config.user_id());
        names::validate_user_id("user_id", user_id)?;
        let mut parts = Parts::presence(config);
        parts.literal("/channel/");
        names::channel_segment(&mut parts.path, &self.channels);
        parts.literal("/uuid");
        parts.segment(user_id);
        if let Some(groups) = names::group_value(&self.groups) {
            parts.param("channel-group", groups);
        }
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<GetStateResult, Error> {
        let body: Body = decode(&response)?;
        let bad = |reason: &str| shape_error(&response, reason);
        let Some(payload) = body.payload else {
            return Err(bad("get_state reply has no `payload`"));
        };
        // Shape detection (spec §1.6), by body not request: a top-level `channel` string is the
        // single form (GS1); a `payload.channels` object is the multi form (GS2); otherwise the
        // legacy single form (GS0) for one requested channel, or a flat channel map.
        let channels = if let Some(channel) = body.channel {
            vec![ChannelState {
                channel,
                state: payload,
            }]
        } else {
            let serde_json::Value::Object(mut map) = payload else {
                return Err(bad("get_state `payload` is not an object"));
            };
            let nested = match map.get("channels") {
                Some(serde_json::Value::Object(_)) => map.remove("channels"),
                _ => None,
            };
            if let Some(serde_json::Value::Object(channels)) = nested {
                to_states(channels)
            } else if let (1, 0, Some(only)) = (
                self.channels.len(),
                self.groups.len(),
                self.channels.first(),
            ) {
                vec![ChannelState {
                    channel: only.clone(),
                    state: serde_json::Value::Object(map),
                }]
            } else {
                to_states(map)
            }
        };
        Ok(GetStateResult {
            user_id: body.uuid,
            channels,
        })
    }
}

fn to_states(map: serde_json::Map<String, serde_json::Value>) -> Vec<ChannelState> {
    let mut states: Vec<ChannelState> = map
        .into_iter()
        .map(|(channel, state)| ChannelState { channel, state })
        .collect();
    states.sort_by(|a, b| a.channel.cmp(&b.channel));
    states
}

#[derive(Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "lenient_status")]
    status: Option<Status>,
    #[serde(default)]
    error: Flag,
    uuid: Option<String>,
    channel: Option<String>,
    payload: Option<serde_json::Value>,
}
envelope!(Body);
