//! What a [`Roster`](super::Roster) reports: [`RosterChange`], [`LeftReason`], and the
//! printable [`RosterSnapshot`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Why a user left a channel's roster.
///
/// ```
/// use presence_proto::LeftReason;
/// assert_eq!(LeftReason::Timeout.as_str(), "timeout");
/// assert_eq!(serde_json::to_string(&LeftReason::Refresh).unwrap(), r#""refresh""#);
/// ```
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LeftReason {
    /// A `leave` event (or an interval's `leave` list).
    Leave,
    /// A `timeout` event (or an interval's `timeout` list).
    Timeout,
    /// A refresh (here_now) no longer listed the user: the leave itself was never seen (it was
    /// summed up in a `here_now_refresh` interval, or lost in a gap).
    Refresh,
}

impl LeftReason {
    /// The reason as a lowercase word (`leave`, `timeout`, `refresh`), e.g. for JSON output.
    ///
    /// ```
    /// assert_eq!(presence_proto::LeftReason::Refresh.as_str(), "refresh");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leave => "leave",
            Self::Timeout => "timeout",
            Self::Refresh => "refresh",
        }
    }
}

/// One change of a [`Roster`](super::Roster), in the order it happened.
///
/// Names are shared `Arc<str>`s (the roster's own copies), so queuing a change never
/// allocates. A change says *what* changed; read the current value (a user's state, say) from
/// the roster.
///
/// ```
/// use presence_proto::{LeftReason, Roster, RosterChange};
/// # fn demo(roster: &mut Roster) {
/// while let Some(change) = roster.poll_change() {
///     match change {
///         RosterChange::Joined { channel, uuid } => println!("{channel}: +{uuid}"),
///         RosterChange::Left { channel, uuid, reason } => {
///             println!("{channel}: -{uuid} ({})", reason.as_str());
///         }
///         RosterChange::StateChanged { channel, uuid } => {
///             println!("{channel}: {uuid} is now {:?}", roster.state(&channel, &uuid));
///         }
///         RosterChange::Occupancy { channel, occupancy } => println!("{channel}: {occupancy}"),
///         RosterChange::Refreshed { channel } => println!("{channel}: in sync"),
///         _ => {}
///     }
/// }
/// # }
/// ```
///
/// Serialises (and deserialises) with the change's name in `change`:
///
/// ```
/// use presence_proto::{LeftReason, RosterChange};
/// let change = RosterChange::Left { channel: "lobby".into(), uuid: "bob".into(), reason: LeftReason::Timeout };
/// let json = serde_json::to_string(&change)?;
/// assert_eq!(json, r#"{"change":"left","channel":"lobby","uuid":"bob","reason":"timeout"}"#);
/// assert_eq!(serde_json::from_str::<RosterChange>(&json)?, change);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Eq, Hash, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RosterChange {
    /// A user became present on the channel (from an event, or revealed by a refresh).
    Joined {
        /// The channel.
        channel: Arc<str>,
        /// The user id.
        uuid: Arc<str>,
    },
    /// A user is no longer present on the channel.
    Left {
        /// The channel.
        channel: Arc<str>,
        /// The user id.
        uuid: Arc<str>,
        /// Why.
        reason: LeftReason,
    },
    /// A present user's state changed (read it with [`Roster::state`](super::Roster::state)).
    StateChanged {
        /// The channel.
        channel: Arc<str>,
        /// The user id.
        uuid: Arc<str>,
    },
    /// The service reported a different occupancy for the channel.
    Occupancy {
        /// The channel.
        channel: Arc<str>,
        /// The service's latest count.
        occupancy: u64,
    },
    /// A here_now refresh (or snapshot) of the channel was reconciled: the changes it
    /// revealed precede this one.
    Refreshed {
        /// The channel.
        channel: Arc<str>,
    },
}

impl RosterChange {
    /// The channel the change is about.
    ///
    /// ```
    /// use presence_proto::RosterChange;
    /// let change = RosterChange::Refreshed { channel: "lobby".into() };
    /// assert_eq!(change.channel(), "lobby");
    /// ```
    pub fn channel(&self) -> &str {
        match self {
            Self::Joined { channel, .. }
            | Self::Left { channel, .. }
            | Self::StateChanged { channel, .. }
            | Self::Occupancy { channel, .. }
            | Self::Refreshed { channel } => channel,
        }
    }

    /// The user the change is about (none for occupancy and refresh changes).
    ///
    /// ```
    /// use presence_proto::RosterChange;
    /// let change = RosterChange::Joined { channel: "lobby".into(), uuid: "alice".into() };
    /// assert_eq!(change.uuid(), Some("alice"));
    /// ```
    pub fn uuid(&self) -> Option<&str> {
        match self {
            Self::Joined { uuid, .. }
            | Self::Left { uuid, .. }
            | Self::StateChanged { uuid, .. } => Some(uuid),
            Self::Occupancy { .. } | Self::Refreshed { .. } => None,
        }
    }
}

/// One channel's roster as plain data, e.g. for a JSON line
/// `{"channel":…,"occupancy":…,"uuids":[…]}` (user ids sorted).
///
/// ```
/// # use presence_proto::{HereNow, Operation, Roster};
/// # let body = br#"{"occupancy":2,"uuids":[{"uuid":"bob"},{"uuid":"alice"}],"status":200}"#;
/// # let here = HereNow::new().channels(["lobby"]).include_state(true)
/// #     .parse(http::Response::new(&body[..]))?;
/// let roster = Roster::from_here_now(&here);
/// let snapshot = roster.snapshot("lobby").unwrap();
/// assert_eq!(
///     serde_json::to_string(&snapshot)?,
///     r#"{"channel":"lobby","occupancy":2,"uuids":["alice","bob"]}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RosterSnapshot {
    /// The channel.
    pub channel: String,
    /// The service's latest occupancy (`None` until an event or refresh told it).
    pub occupancy: Option<u64>,
    /// The present users, sorted.
    pub uuids: Vec<String>,
}
