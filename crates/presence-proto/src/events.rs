//! Presence events as they arrive on the subscribe long-poll: [`PresenceEvent`] with its
//! [`PresenceAction`], published [`Message`]s passed through, and the [`Cursor`].

use std::hash::{Hash as _, Hasher as _};

use crate::error::Error;

/// The suffix of the companion channel (and group) that carries presence events.
///
/// ```
/// assert_eq!(presence_proto::PRESENCE_SUFFIX, "-pnpres");
/// ```
pub const PRESENCE_SUFFIX: &str = "-pnpres";

/// A subscribe cursor: the timetoken and region of the latest reply.
///
/// Timetokens are 17-digit counts of 100 ns since the Unix epoch; the service sends them as
/// strings, parsed here into a `u64`. They usually grow, but a region change may move the
/// cursor back (spec §12.1).
///
/// ```
/// let cursor = presence_proto::Cursor::new(14_818_963_579_052_943, 12);
/// assert_eq!(cursor.timetoken, 14_818_963_579_052_943);
/// assert!(cursor.is_handshake() == false);
/// ```
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    Eq,
    Hash,
    Ord,
    PartialEq,
    PartialOrd,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Cursor {
    /// The timetoken (`t.t`, `tt` in requests).
    pub timetoken: u64,
    /// The region (`t.r`, `tr` in requests).
    pub region: u32,
}

impl Cursor {
    /// A cursor from its parts.
    ///
    /// ```
    /// let cursor = presence_proto::Cursor::new(17_000_000_000_000_000, 4);
    /// assert_eq!((cursor.timetoken, cursor.region), (17_000_000_000_000_000, 4));
    /// assert_eq!(serde_json::to_string(&cursor).unwrap(), r#"{"timetoken":17000000000000000,"region":4}"#);
    /// ```
    pub fn new(timetoken: u64, region: u32) -> Self {
        Self { timetoken, region }
    }

    /// The handshake cursor (`tt=0`): the service answers at once with a fresh cursor.
    ///
    /// ```
    /// assert!(presence_proto::Cursor::default().is_handshake());
    /// ```
    pub fn is_handshake(&self) -> bool {
        self.timetoken == 0
    }
}

/// What happened, as told by a presence event's `action`.
///
/// Serialises with the wire name in `action` and the variant's fields beside it
/// (`{"action":"join","uuid":"alice","state":null}`, `{"action":"state-change",…}`); an
/// unknown action as `{"action":"unknown","name":…,"raw":…}`. It deserialises from that form.
///
/// ```
/// use presence_proto::PresenceAction;
/// let left = PresenceAction::Leave { uuid: "bob".into() };
/// let json = serde_json::to_string(&left)?;
/// assert_eq!(json, r#"{"action":"leave","uuid":"bob"}"#);
/// assert_eq!(serde_json::from_str::<PresenceAction>(&json)?, left);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PresenceAction {
    /// A user became present (first heartbeat or subscribe).
    Join {
        /// The user id.
        uuid: String,
        /// The user's state, when the service attached it.
        state: Option<serde_json::Value>,
    },
    /// A user left explicitly.
    Leave {
        /// The user id.
        uuid: String,
    },
    /// A user stopped heartbeating and the service timed it out.
    Timeout {
        /// The user id.
        uuid: String,
    },
    /// A user's state changed (`data` on the wire).
    StateChange {
        /// The user id.
        uuid: String,
        /// The new state.
        state: serde_json::Value,
    },
    /// Interval mode: the channel is busy, and changes come summed up every few seconds.
    Interval {
        /// Users who joined since the last interval (with presence deltas on).
        join: Vec<String>,
        /// Users who left since the last interval.
        leave: Vec<String>,
        /// Users who timed out since the last interval.
        timeout: Vec<String>,
        /// The deltas were too large to send: call here_now to learn the roster.
        here_now_refresh: bool,
    },
    /// An action this crate does not know, with the whole payload.
    Unknown {
        /// The `action` value (empty when missing); `name` in the serialised form.
        #[serde(rename = "name")]
        action: String,
        /// The payload (`d`) as sent.
        raw: serde_json::Value,
    },
}

/// One presence event: who did what on which channel, the channel's occupancy after it, and
/// when.
///
/// ```
/// use presence_proto::{PresenceAction, Subscribe, Operation};
/// let body = br#"{"t":{"t":"14818963588185526","r":12},"m":[{"a":"2","f":0,"p":{"t":"14818963587725382","r":2},"k":"demo","c":"lobby-pnpres","d":{"action":"join","timestamp":1481896358,"uuid":"alice","occupancy":1},"b":"lobby-pnpres"}]}"#;
/// let reply = Subscribe::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
/// let event = reply.events().next().unwrap();
/// assert_eq!(event.channel, "lobby");
/// assert_eq!(event.occupancy, Some(1));
/// assert!(matches!(&event.action, PresenceAction::Join { uuid, .. } if uuid == "alice"));
/// assert_eq!(
///     serde_json::to_string(&event).unwrap(),
///     r#"{"channel":"lobby","subscription":null,"timetoken":14818963587725382,"occupancy":1,"timestamp":1481896358,"action":"join","uuid":"alice","state":null}"#
/// );
/// # Ok::<(), presence_proto::Error>(())
/// ```
///
/// Serialises as its fields with the [`PresenceAction`] flattened in (`action` plus the
/// action's own fields). It does not deserialise: the de-duplication key is kept private.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct PresenceEvent {
    /// The channel the event is about (without `-pnpres`).
    pub channel: String,
    /// The channel group whose subscription delivered it (without `-pnpres`), when it came
    /// through a group.
    pub subscription: Option<String>,
    /// The event's own timetoken (`p.t`).
    pub timetoken: u64,
    /// The channel's occupancy after the change.
    pub occupancy: Option<u64>,
    /// Unix time in seconds, as the service stamped it.
    pub timestamp: Option<u64>,
    /// What happened.
    #[serde(flatten)]
    pub action: PresenceAction,
    /// A hash of the raw payload, for de-duplicating redelivered events.
    #[serde(skip)]
    pub(crate) payload_hash: u64,
}

impl PresenceEvent {
    /// The user the event is about (none for interval and unknown events).
    ///
    /// ```
    /// # fn demo(event: presence_proto::PresenceEvent) {
    /// if let Some(uuid) = event.uuid() {
    ///     println!("{uuid} on {}", event.channel);
    /// }
    /// # }
    /// ```
    pub fn uuid(&self) -> Option<&str> {
        match &self.action {
            PresenceAction::Join { uuid, .. }
            | PresenceAction::Leave { uuid }
            | PresenceAction::Timeout { uuid }
            | PresenceAction::StateChange { uuid, .. } => Some(uuid),
            PresenceAction::Interval { .. } | PresenceAction::Unknown { .. } => None,
        }
    }

    /// The action's name as on the wire (`join`, `leave`, `timeout`, `state-change`,
    /// `interval`, or the unknown action's own).
    ///
    /// ```
    /// # fn demo(event: presence_proto::PresenceEvent) {
    /// println!("{} {}", event.channel, event.action_name());
    /// # }
    /// ```
    pub fn action_name(&self) -> &str {
        match &self.action {
            PresenceAction::Join { .. } => "join",
            PresenceAction::Leave { .. } => "leave",
            PresenceAction::Timeout { .. } => "timeout",
            PresenceAction::StateChange { .. } => "state-change",
            PresenceAction::Interval { .. } => "interval",
            PresenceAction::Unknown { action, .. } => action,
        }
    }

    /// The state the event carries (state-change, or a join with state), as your own type.
    ///
    /// ```
    /// # fn demo(event: presence_proto::PresenceEvent) -> Result<(), presence_proto::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Mood { mood: String }
    /// if let Some(mood) = event.state::<Mood>()? {
    ///     println!("now {}", mood.mood);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn state<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        match self.state_value() {
            Some(value) => crate::ops::state_as(value).map(Some),
            None => Ok(None),
        }
    }

    /// The state the event carries, as JSON.
    ///
    /// ```
    /// # fn demo(event: presence_proto::PresenceEvent) {
    /// println!("{:?}", event.state_value());
    /// # }
    /// ```
    pub fn state_value(&self) -> Option<&serde_json::Value> {
        match &self.action {
            PresenceAction::StateChange { state, .. } => Some(state),
            PresenceAction::Join { state, .. } => state.as_ref(),
            _ => None,
        }
    }

    /// The key redelivered copies share: channel, timetoken and payload.
    pub(crate) fn dedupe_key(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.channel.hash(&mut hasher);
        self.timetoken.hash(&mut hasher);
        self.payload_hash.hash(&mut hasher);
        hasher.finish()
    }
}

/// A message published to a subscribed channel (not a presence event), passed through as is.
///
/// ```
/// # fn demo(message: presence_proto::Message) {
/// println!("{} on {}: {}", message.timetoken, message.channel, message.payload);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// The channel it was published to.
    pub channel: String,
    /// The subscription (group or wildcard) that delivered it, when not the channel itself.
    pub subscription: Option<String>,
    /// Its timetoken.
    pub timetoken: u64,
    /// The payload.
    pub payload: serde_json::Value,
}

/// One item of a subscribe reply.
///
/// ```
/// # fn demo(item: presence_proto::SubscribeItem) {
/// match item {
///     presence_proto::SubscribeItem::Presence(event) => println!("{:?}", event.action),
///     presence_proto::SubscribeItem::Message(message) => println!("{}", message.payload),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SubscribeItem {
    /// A presence event (from a `-pnpres` channel).
    Presence(PresenceEvent),
    /// A published message.
    Message(Message),
}

/// A parsed subscribe reply: the next cursor and the items, in order.
///
/// ```
/// use presence_proto::{Operation, Subscribe};
/// let body = br#"{"t":{"t":"14818963579052943","r":12},"m":[]}"#;
/// let reply = Subscribe::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
/// assert_eq!(reply.cursor.timetoken, 14_818_963_579_052_943);
/// assert!(reply.items.is_empty());
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SubscribeReply {
    /// The cursor to poll with next.
    pub cursor: Cursor,
    /// Presence events and messages, in the order sent.
    pub items: Vec<SubscribeItem>,
}

impl SubscribeReply {
    /// The presence events only.
    ///
    /// ```
    /// # fn demo(reply: presence_proto::SubscribeReply) {
    /// for event in reply.events() {
    ///     println!("{} {}", event.channel, event.action_name());
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> impl Iterator<Item = &PresenceEvent> {
        self.items.iter().filter_map(|item| match item {
            SubscribeItem::Presence(event) => Some(event),
            SubscribeItem::Message(_) => None,
        })
    }
}

/// Strips the presence suffix; `None` if the name does not carry it.
pub(crate) fn strip_presence(name: &str) -> Option<&str> {
    name.strip_suffix(PRESENCE_SUFFIX)
}
