//! subscribe: the long-poll that delivers presence events (`-pnpres` channels) and messages.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;

use crate::config::Config;
use crate::error::Error;
use crate::events::{
    Cursor, Message, PRESENCE_SUFFIX, PresenceAction, PresenceEvent, SubscribeItem, SubscribeReply,
    strip_presence,
};
use crate::names::{self, Names};
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{Flag, Status, decode, envelope, lenient_status, shape_error};
use crate::stamp::Stamp;

/// How long one long-poll may take: the service holds it about 280 s (spec §12.1).
///
/// ```
/// assert_eq!(presence_proto::SUBSCRIBE_TIMEOUT.as_secs(), 310);
/// ```
pub const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(310);

/// The subscribe long-poll for presence events of channels and groups.
///
/// Present mode (the default) subscribes to `X` and `X-pnpres`: the caller is present on `X`
/// while it polls (each request counts as a heartbeat, with `heartbeat` and `state`), and it
/// receives `X`'s presence events and messages. Observer mode subscribes to `X-pnpres` only:
/// events, and presence nowhere.
///
/// ```
/// use presence_proto::{Config, Cursor, Operation, Stamp, Subscribe};
/// let config = Config::builder("demo", "alice").build()?;
/// let op = Subscribe::new().channels(["lobby"]).groups(["friends"]).cursor(Cursor::new(15, 3));
/// let req = op.to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v2/subscribe/demo/lobby,lobby-pnpres/0");
/// let query = req.uri().query().unwrap();
/// assert!(query.contains("channel-group=friends%2Cfriends-pnpres"));
/// assert!(query.contains("tt=15") && query.contains("tr=3") && query.contains("heartbeat=300"));
///
/// let observer = Subscribe::new().channels(["lobby"]).observe(true);
/// let req = observer.to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v2/subscribe/demo/lobby-pnpres/0");
/// assert!(!req.uri().query().unwrap().contains("heartbeat="));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct Subscribe {
    channels: Names,
    groups: Names,
    observe: bool,
    cursor: Cursor,
    presence_timeout: Option<u32>,
    state: BTreeMap<String, serde_json::Value>,
    filter_expr: Option<String>,
}

impl Subscribe {
    /// A handshake subscribe (`tt=0`) to nothing yet; add channels or groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds channels (their `-pnpres` companions are added when the request is built).
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        names::extend(&mut self.channels, channels);
        self
    }

    /// Adds channel groups (their `-pnpres` companions are added when the request is built).
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        names::extend(&mut self.groups, groups);
        self
    }

    /// Observer mode: subscribe to the `-pnpres` companions only, present nowhere.
    pub fn observe(mut self, observe: bool) -> Self {
        self.observe = observe;
        self
    }

    /// The cursor to poll from (default: the handshake, `tt=0`).
    pub fn cursor(mut self, cursor: Cursor) -> Self {
        self.cursor = cursor;
        self
    }

    /// The presence timeout this poll announces (present mode; default 300 s).
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.presence_timeout = Some(seconds);
        self
    }

    /// State carried for one channel or group (present mode), as with a heartbeat.
    pub fn state_value(mut self, name: impl Into<String>, state: serde_json::Value) -> Self {
        self.state.insert(name.into(), state);
        self
    }

    /// A message filter expression (passed through; it does not apply to presence events).
    pub fn filter_expr(mut self, expression: impl Into<String>) -> Self {
        self.filter_expr = Some(expression.into());
        self
    }

    /// The channels (without companions).
    pub fn channel_names(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(String::as_str)
    }

    /// The groups (without companions).
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(String::as_str)
    }

    /// Whether this is an observer (presence-companions only) subscribe.
    pub fn is_observer(&self) -> bool {
        self.observe
    }

    /// The cursor this poll sends.
    pub fn current_cursor(&self) -> Cursor {
        self.cursor
    }

    /// Checks the names as the request would, without building it.
    pub(crate) fn check(&self) -> Result<(), Error> {
        names::require_any(&self.channels, &self.groups)
    }

    /// The names on the wire: each name's companion, and the name itself in present mode.
    fn wire(&self, names: &Names) -> Names {
        let mut out = Names::new();
        for name in names {
            if strip_presence(name).is_some() {
                out.insert(name.clone()); // already a companion: observed as given
                continue;
            }
            if !self.observe {
                out.insert(name.clone());
            }
            out.insert(format!("{name}{PRESENCE_SUFFIX}"));
        }
        out
    }
}

impl Operation for Subscribe {
    type Output = SubscribeReply;
    const NAME: &'static str = "subscribe";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        names::require_any(&self.channels, &self.groups)?;
        if self.presence_timeout == Some(0) {
            return Err(Error::argument(
                "presence_timeout",
                "must be at least 1 second",
            ));
        }
        let channels = self.wire(&self.channels);
        let groups = self.wire(&self.groups);
        let mut parts = Parts::subscribe(config);
        parts.literal("/");
        names::channel_segment(&mut parts.path, &channels);
        parts.literal("/0");
        parts.param("tt", self.cursor.timetoken.to_string());
        if !self.cursor.is_handshake() {
            parts.param("tr", self.cursor.region.to_string());
        }
        if let Some(groups) = names::group_value(&groups) {
            parts.param("channel-group", groups);
        }
        if !self.observe {
            let timeout = self
                .presence_timeout
                .unwrap_or(crate::DEFAULT_PRESENCE_TIMEOUT);
            parts.param("heartbeat", timeout.to_string());
            if !self.state.is_empty() {
                let json = serde_json::to_string(&self.state)
                    .map_err(|e| Error::StateSerialize(Some(e)))?;
                parts.param("state", json);
            }
        }
        if let Some(filter) = &self.filter_expr {
            parts.param("filter-expr", filter.clone());
        }
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<SubscribeReply, Error> {
        let body = decode::<Body>(&response)?;
        let Some(cursor) = body.t else {
            return Err(shape_error(
                &response,
                "subscribe reply without a cursor (`t`)",
            ));
        };
        let items = body.m.into_iter().map(Envelope::into_item).collect();
        Ok(SubscribeReply {
            cursor: Cursor::new(cursor.t.0, cursor.r),
            items,
        })
    }

    /// The long-poll's own limit, or the client's if that is longer.
    fn timeout(&self, client_timeout: Duration) -> Duration {
        SUBSCRIBE_TIMEOUT.max(client_timeout)
    }
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    t: Option<RawCursor>,
    #[serde(default)]
    m: Vec<Envelope>,
    #[serde(default, deserialize_with = "lenient_status")]
    status: Option<Status>,
    #[serde(default)]
    error: Flag,
}
envelope!(Body);

#[derive(Deserialize)]
struct RawCursor {
    t: Timetoken,
    #[serde(default)]
    r: u32,
}

#[derive(Deserialize)]
struct Envelope {
    c: String,
    #[serde(default)]
    b: Option<String>,
    #[serde(default)]
    p: Option<RawCursor>,
    d: Box<RawValue>,
}

/// The known payload fields of a presence event; anything else is ignored.
#[derive(Deserialize)]
struct RawPresence {
    #[serde(default)]
    action: String,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    timestamp: Option<Number>,
    #[serde(default)]
    occupancy: Option<Number>,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    join: Vec<String>,
    #[serde(default)]
    leave: Vec<String>,
    #[serde(default)]
    timeout: Vec<String>,
    #[serde(default)]
    here_now_refresh: bool,
}

impl Envelope {
    fn into_item(self) -> SubscribeItem {
        let timetoken = self.p.as_ref().map_or(0, |p| p.t.0);
        let raw = self.d.get();
        let subscription = self.b.filter(|b| *b != self.c);
        let Some(channel) = strip_presence(&self.c) else {
            return SubscribeItem::Message(Message {
                payload: serde_json::from_str(raw).unwrap_or(serde_json::Value::Null),
                channel: self.c,
                subscription,
                timetoken,
            });
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(raw, &mut hasher);
        let payload_hash = std::hash::Hasher::finish(&hasher);
        let subscription =
            subscription.map(|b| strip_presence(&b).map_or_else(|| b.clone(), str::to_owned));
        let (action, occupancy, timestamp) = match serde_json::from_str::<RawPresence>(raw) {
            Ok(p) => {
                let occupancy = p.occupancy.as_ref().map(|n| n.0);
                let timestamp = p.timestamp.as_ref().map(|n| n.0);
                (action(p, raw), occupancy, timestamp)
            }
            // A payload of another shape is still an event: unknown, never an error.
            Err(_) => (unknown(raw), None, None),
        };
        SubscribeItem::Presence(PresenceEvent {
            channel: channel.to_owned(),
            subscription,
            timetoken,
            occupancy,
            timestamp,
            action,
            payload_hash,
        })
    }
}

/// The typed action, or [`PresenceAction::Unknown`] when the action is unknown or lacks what
/// it needs (a user id).
fn action(p: RawPresence, raw: &str) -> PresenceAction {
    match (p.action.as_str(), p.uuid) {
        ("join", Some(uuid)) => PresenceAction::Join {
            uuid,
            state: p.data,
        },
        ("leave", Some(uuid)) => PresenceAction::Leave { uuid },
        ("timeout", Some(uuid)) => PresenceAction::Timeout { uuid },
        ("state-change", Some(uuid)) => PresenceAction::StateChange {
            uuid,
            state: p.data.unwrap_or(serde_json::Value::Null),
        },
        ("interval", _) => PresenceAction::Interval {
            join: p.join,
            leave: p.leave,
            timeout: p.timeout,
            here_now_refresh: p.here_now_refresh,
        },
        _ => unknown(raw),
    }
}

fn unknown(raw: &str) -> PresenceAction {
    let raw: serde_json::Value = serde_json::from_str(raw).unwrap_or(serde_json::Value::Null);
    let action = raw
        .get("action")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    PresenceAction::Unknown { action, raw }
}

/// A timetoken: a decimal string (as sent) or a number.
struct Timetoken(u64);

impl<'de> Deserialize<'de> for Timetoken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timetoken;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a timetoken")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timetoken, E> {
                Ok(Timetoken(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timetoken, E> {
                v.trim()
                    .parse()
                    .map(Timetoken)
                    .map_err(|_| E::custom("timetoken is not a decimal number"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A lenient count or time: an integer, a float, or a numeric string.
struct Number(u64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                u64::try_from(v)
                    .map(Number)
                    .map_err(|_| E::custom("negative"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                if v.is_finite() && v >= 0.0 {
                    Ok(Number(v as u64))
                } else {
                    Err(E::custom("not a count"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                v.trim()
                    .parse()
                    .map(Number)
                    .map_err(|_| E::custom("not a number"))
            }
        }
        d.deserialize_any(V)
    }
}
