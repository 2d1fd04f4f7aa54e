//! here_now: who is present on channels, channel groups, or the whole keyset.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::config::Config;
use crate::error::Error;
use crate::names::{self, Names};
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{Flag, Status, decode, envelope, lenient_status, shape_error};
use crate::stamp::Stamp;

/// Largest `limit` the service accepts.
///
/// ```
/// assert_eq!(presence_proto::MAX_HERE_NOW_LIMIT, 1000);
/// ```
pub const MAX_HERE_NOW_LIMIT: u32 = 1000;

/// Who is present: on some channels and/or channel groups, or (with neither) on the whole keyset.
///
/// ```
/// use presence_proto::{Config, HereNow, Operation, Stamp};
/// let config = Config::builder("demo", "alice").build()?;
/// let op = HereNow::new().channels(["a", "b"]).groups(["g"]).include_state(true).limit(50);
/// let req = op.to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v2/presence/sub-key/demo/channel/a,b");
/// assert!(req.uri().query().unwrap().contains("channel-group=g&limit=50"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct HereNow {
    channels: Names,
    groups: Names,
    include_user_ids: bool,
    include_state: bool,
    limit: u32,
    offset: u32,
}

impl Default for HereNow {
    fn default() -> Self {
        Self {
            channels: Names::new(),
            groups: Names::new(),
            include_user_ids: true,
            include_state: false,
            limit: MAX_HERE_NOW_LIMIT,
            offset: 0,
        }
    }
}

impl HereNow {
    /// A global here now (no channel, no group) until channels or groups are added.
    ///
    /// ```
    /// assert!(presence_proto::HereNow::new().is_global());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds channels (duplicates are dropped; order does not matter).
    ///
    /// ```
    /// let op = presence_proto::HereNow::new().channels(["lobby", "kitchen"]);
    /// assert!(!op.is_global());
    /// ```
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        names::extend(&mut self.channels, channels);
        self
    }

    /// Adds channel groups.
    ///
    /// ```
    /// let op = presence_proto::HereNow::new().groups(["friends"]);
    /// assert!(!op.is_global());
    /// ```
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        names::extend(&mut self.groups, groups);
        self
    }

    /// Whether to list occupants' user ids (default `true`; `false` sends `disable_uuids=1`).
    ///
    /// ```
    /// let counts_only = presence_proto::HereNow::new().channels(["lobby"]).include_user_ids(false);
    /// # let _ = counts_only;
    /// ```
    pub fn include_user_ids(mut self, include: bool) -> Self {
        self.include_user_ids = include;
        self
    }

    /// Whether to include each occupant's state (default `false`; `true` sends `state=1`).
    ///
    /// ```
    /// let with_state = presence_proto::HereNow::new().channels(["lobby"]).include_state(true);
    /// # let _ = with_state;
    /// ```
    pub fn include_state(mut self, include: bool) -> Self {
        self.include_state = include;
        self
    }

    /// Occupants per channel, `0..=1000` (default 1000). `0` returns occupancy only.
    ///
    /// ```
    /// assert_eq!(presence_proto::HereNow::new().limit(100).get_limit(), 100);
    /// ```
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Zero-based index of the first occupant returned per channel (default 0).
    ///
    /// ```
    /// assert_eq!(presence_proto::HereNow::new().limit(100).offset(200).get_offset(), 200);
    /// ```
    pub fn offset(mut self, offset: u32) -> Self {
        self.offset = offset;
        self
    }

    /// The `limit` set (default 1000).
    ///
    /// ```
    /// assert_eq!(presence_proto::HereNow::new().limit(50).get_limit(), 50);
    /// ```
    pub fn get_limit(&self) -> u32 {
        self.limit
    }

    /// The `offset` set (default 0).
    ///
    /// ```
    /// assert_eq!(presence_proto::HereNow::new().offset(50).get_offset(), 50);
    /// ```
    pub fn get_offset(&self) -> u32 {
        self.offset
    }

    /// Whether this is a global here now (no channel and no group).
    ///
    /// ```
    /// assert!(presence_proto::HereNow::new().is_global());
    /// assert!(!presence_proto::HereNow::new().channels(["a"]).is_global());
    /// ```
    pub fn is_global(&self) -> bool {
        self.channels.is_empty() && self.groups.is_empty()
    }
}

/// The result of [`HereNow`].
///
/// ```
/// use presence_proto::{HereNow, HereNowResult, Operation};
/// let body = br#"{"status":200,"occupancy":1,"uuids":["bob"]}"#;
/// let here = HereNow::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
/// assert_eq!(here.total_occupancy, 1);
/// // The serde form, the same as `presence here-now --json`:
/// let json = serde_json::to_string(&here)?;
/// assert_eq!(json, r#"{"total_channels":1,"total_occupancy":1,"channels":[{"name":"lobby","occupancy":1,"occupants":[{"user_id":"bob","state":null}],"occupants_listed":true}]}"#);
/// assert_eq!(serde_json::from_str::<HereNowResult>(&json)?, here);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct HereNowResult {
    /// Channels in the reply (as counted by the service).
    pub total_channels: u64,
    /// Occupants over all channels in the reply (as counted by the service).
    pub total_occupancy: u64,
    /// Per-channel details, sorted by channel name.
    pub channels: Vec<HereNowChannel>,
}

impl HereNowResult {
    /// The entry for `name`, if the reply has one.
    ///
    /// ```
    /// use presence_proto::{HereNow, Operation};
    /// let body = br#"{"status":200,"occupancy":1,"uuids":["bob"]}"#;
    /// let here = HereNow::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
    /// assert_eq!(here.channel("lobby").map(|c| c.occupancy), Some(1));
    /// assert!(here.channel("kitchen").is_none());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn channel(&self, name: &str) -> Option<&HereNowChannel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// One channel of a [`HereNowResult`].
///
/// ```
/// # fn demo(here: presence_proto::HereNowResult) {
/// for channel in &here.channels {
///     println!("{}: {} present, {} listed", channel.name, channel.occupancy, channel.occupants.len());
/// }
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct HereNowChannel {
    /// Channel name.
    pub name: String,
    /// Number of occupants (the full count, whatever `limit`/`offset` returned).
    pub occupancy: u64,
    /// Occupants returned (empty when user ids were not requested or `limit` was 0).
    pub occupants: Vec<HereNowUser>,
    /// Whether the reply listed occupants at all (`false` with `disable_uuids` or `limit=0`),
    /// so an omitted list is not mistaken for an empty channel.
    pub occupants_listed: bool,
}

/// One occupant of a [`HereNowChannel`].
///
/// ```
/// # fn demo(channel: presence_proto::HereNowChannel) {
/// for user in &channel.occupants {
///     println!("{} {:?}", user.user_id, user.state);
/// }
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct HereNowUser {
    /// The occupant's user id.
    pub user_id: String,
    /// The occupant's state on this channel, when requested and set.
    pub state: Option<serde_json::Value>,
}

impl HereNowUser {
    /// The state decoded as `T`; `Ok(None)` when the occupant has none.
    ///
    /// ```
    /// # use presence_proto::HereNowUser;
    /// #[derive(serde::Deserialize)]
    /// struct Mood { mood: String }
    /// # let user: HereNowUser = Default::default();
    /// let mood: Option<Mood> = user.state_as()?;
    /// # assert!(mood.is_none());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn state_as<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        self.state.as_ref().map(crate::ops::state_as).transpose()
    }
}

impl Operation for HereNow {
    type Output = HereNowResult;
    const NAME: &'static str = "here_now";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        names::validate(&self.channels, &self.groups)?;
        if self.limit > MAX_HERE_NOW_LIMIT {
            return Err(Error::argument(
                "limit",
                format!("{} is over the maximum of {MAX_HERE_NOW_LIMIT}", self.limit),
            ));
        }
        let mut parts = Parts::presence(config);
        if !self.is_global() {
            parts.literal("/channel/");
            names::channel_segment(&mut parts.path, &self.channels);
        }
        if let Some(groups) = names::group_value(&self.groups) {
            parts.param("channel-group", groups);
        }
        if self.include_state {
            parts.param("state", "1");
        }
        if !self.include_user_ids {
            parts.param("disable_uuids", "1");
        }
        parts.param("limit", self.limit.to_string());
        if self.offset > 0 {
            parts.param("offset", self.offset.to_string());
        }
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<HereNowResult, Error> {
        let body: Body = decode(&response)?;
        // Shape detection (spec §1.1): a `payload` object is the multi form (HM1–HM5); else a
        // top-level `occupancy` is the single form (HN0–HN4), named after the one channel asked.
        if let Some(payload) = body.payload {
            let channels = payload
                .channels
                .into_iter()
                .map(|(name, wire)| HereNowChannel {
                    name,
                    occupancy: wire.occupancy,
                    occupants_listed: wire.uuids.is_some(),
                    occupants: wire.uuids.unwrap_or_default(),
                })
                .collect::<Vec<_>>();
            let total_channels = payload.total_channels.unwrap_or(channels.len() as u64);
            let total_occupancy = payload
                .total_occupancy
                .unwrap_or_else(|| channels.iter().map(|c| c.occupancy).sum());
            return Ok(HereNowResult {
                total_channels,
                total_occupancy,
                channels,
            });
        }
        let Some(occupancy) = body.occupancy else {
            return Err(shape_error(
                &response,
                "here_now reply has neither `payload` nor `occupancy`",
            ));
        };
        let name = match (
            self.channels.len(),
            self.groups.len(),
            self.channels.first(),
        ) {
            (1, 0, Some(only)) => only.clone(),
            _ => {
                return Err(shape_error(
                    &response,
                    "single-channel here_now reply to a request for several channels or groups",
                ));
            }
        };
        Ok(HereNowResult {
            total_channels: 1,
            total_occupancy: occupancy,
            channels: vec![HereNowChannel {
                name,
                occupancy,
                occupants_listed: body.uuids.is_some(),
                occupants: body.uuids.unwrap_or_default(),
            }],
        })
    }
}

#[derive(Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "lenient_status")]
    status: Option<Status>,
    #[serde(default)]
    error: Flag,
    occupancy: Option<u64>,
    uuids: Option<Vec<HereNowUser>>,
    payload: Option<Payload>,
}
envelope!(Body);

#[derive(Deserialize)]
struct Payload {
    // BTreeMap gives the stable (sorted) channel order.
    channels: BTreeMap<String, ChannelWire>,
    total_channels: Option<u64>,
    total_occupancy: Option<u64>,
}

#[derive(Deserialize)]
struct ChannelWire {
    occupancy: u64,
    uuids: Option<Vec<HereNowUser>>,
}

/// An occupant is a bare user id string (no `state=1`) or `{"uuid": …, "state"?: …}` on the
/// wire; `{"user_id": …, "state": …}` (this crate's own serialised form) is read too.
impl<'de> Deserialize<'de> for HereNowUser {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HereNowUser;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user id string or an object with `uuid`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HereNowUser, E> {
                Ok(HereNowUser {
                    user_id: v.to_owned(),
                    state: None,
                })
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<HereNowUser, E> {
                Ok(HereNowUser {
                    user_id: v,
                    state: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HereNowUser, A::Error> {
                let mut user_id = None;
                let mut state = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Uuid | Key::UserId => user_id = Some(map.next_value::<String>()?),
                        Key::State => {
                            let value: serde_json::Value = map.next_value()?;
                            state = (!value.is_null()).then_some(value);
                        }
                        Key::Other => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                let user_id = user_id.ok_or_else(|| de::Error::missing_field("uuid"))?;
                Ok(HereNowUser { user_id, state })
            }
        }
        d.deserialize_any(V)
    }
}

/// Occupant object keys, matched without allocating.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Uuid,
    #[serde(rename = "user_id")]
    UserId,
    State,
    #[serde(other)]
    Other,
}
