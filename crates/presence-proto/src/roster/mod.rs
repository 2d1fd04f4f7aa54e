//! A live roster: who is present on each watched channel, with their state and the service's
//! occupancy, built from a here_now snapshot and kept current by presence events (spec §12).
//!
//! The rules — what is kept, when a refresh is needed, how a refresh is reconciled, the
//! ordering rule — are documented on [`Roster`].

mod change;
mod channels;
mod intern;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use serde_json::Value;

pub use change::{LeftReason, RosterChange, RosterSnapshot};

use crate::error::Error;
use crate::events::{PresenceAction, PresenceEvent};
use crate::ops::here_now::{HereNow, HereNowChannel, HereNowResult, MAX_HERE_NOW_LIMIT};
use channels::Channels;
use intern::Interner;

/// The most channels one refresh ([`Roster::poll_refresh`]) asks for; more wait for the next.
///
/// ```
/// assert_eq!(presence_proto::MAX_REFRESH_CHANNELS, 50);
/// ```
pub const MAX_REFRESH_CHANNELS: usize = 50;

/// A live roster of one or more channels: who is present, with their state and the service's
/// occupancy, built from a here_now snapshot and kept current by presence events (spec §12).
///
/// [`Roster`] is a pure machine, like the rest of the crate: it never sends anything. Feed it
/// [`PresenceEvent`]s with [`Roster::apply`] (or [`Roster::apply_owned`]) and a
/// [`Roster::gap`] whenever the watch reports that events may have been lost; read what changed
/// with [`Roster::poll_change`]; and when it needs a fresh here_now, [`Roster::poll_refresh`]
/// hands out the [`HereNow`] operation to send, whose result goes back in with
/// [`Roster::apply_refresh`] (or [`Roster::refresh_failed`]).
///
/// ## What is kept, and how
///
/// * **Per channel** (events carry a `subscription` when they came through a channel group;
///   the roster ignores it and keys everything by the event's channel): the present users (user
///   id → optional state JSON), the occupancy, the timetoken of the latest applied event, and
///   the refresh status.
/// * **Occupancy is always the service's latest word**: every event that carries one overrides
///   it, and so does every here_now reply, even when the count disagrees with the users listed
///   (interval mode, more than 1,000 users).
/// * **Events**: `join` adds the user (a join of a present user only updates its state when the
///   join carries one), `leave` and `timeout` remove it, `state-change` replaces a present
///   user's state (a state change of an absent user changes nothing), `interval` applies its
///   `join`, then `leave`, then `timeout` lists. Unknown actions only update the occupancy.
///   An event for a channel the roster does not know yet starts tracking that channel and asks
///   for a refresh (the roster cannot know who else is there).
/// * **A refresh is needed** after `here_now_refresh: true` (the deltas were dropped), a
///   [`gap`](Roster::gap), a new channel, an interval that names one user both as joined and as
///   left (the order within the interval is unknown), and an interval whose occupancy disagrees
///   with the users known when the last refresh listed them all (presence deltas off, or a missed
///   event). One refresh is in flight at a time, for at most [`MAX_REFRESH_CHANNELS`] channels;
///   a refresh asked for while one is in flight for the same channel runs again after it.
/// * **Reconciling** a refresh diffs it against the roster and emits only the net changes:
///   users the roster has but the refresh lacks → [`RosterChange::Left`] with
///   [`LeftReason::Refresh`]; users the refresh lists but the roster lacks →
///   [`RosterChange::Joined`]; different state → [`RosterChange::StateChanged`]; then the
///   occupancy and [`RosterChange::Refreshed`]. A channel asked for but absent from the reply is
///   empty (the service omits empty channels). When the reply's list is cut at the 1,000-user
///   limit (occupancy above the users listed), users it lacks are kept rather than reported as
///   left.
///
/// ## Ordering rule
///
/// here_now carries no timetoken, so a refresh is stamped with the timetoken of the latest event
/// applied to the channel **when the refresh was handed out** by [`Roster::poll_refresh`] (a
/// snapshot given to [`Roster::from_here_now`] or [`Roster::apply_here_now`]: when it is
/// applied). The reply reflects at least everything up to that stamp, so:
///
/// 1. after the refresh is applied, an event whose timetoken is **at or below the stamp** is
///    ignored ([`Roster::apply`] returns `false`): it is a redelivery — a region change or a
///    cursor that went back (§12.1) — of something the refresh already reflects, and must not
///    undo newer knowledge;
/// 2. events **newer than the stamp** that arrive while the refresh is in flight are applied at
///    once, and the users they touched are left as the events said when the reply comes in (the
///    reply may predate them: here_now is cached for ~3 s by the service). Any later change of
///    those users arrives as an event too.
///
/// Events of one channel otherwise apply in the order given (the watch delivers them in
/// timetoken order and removes exact duplicates).
///
/// ## Cost
///
/// Applying an event is a few hash look-ups and allocates nothing beyond the event itself: user
/// ids and channel names are shared `Arc<str>`s, kept in a bounded table so that a user who
/// leaves and comes back reuses its name, and changes hold those shared names.
/// [`Roster::apply_owned`] also moves the event's state instead of cloning it. The change queue
/// grows until [`Roster::poll_change`] drains it: drain it after every batch of events.
///
/// ```
/// use presence_proto::{HereNow, Operation, Roster, RosterChange, Subscribe};
///
/// // A snapshot with state...
/// let here = br#"{"occupancy":1,"uuids":[{"uuid":"alice","state":{"mood":"calm"}}],"status":200}"#;
/// let here = HereNow::new().channels(["lobby"]).include_state(true)
///     .parse(http::Response::new(&here[..]))?;
/// let mut roster = Roster::from_here_now(&here);
///
/// // ...then events from the watch.
/// let body = br#"{"t":{"t":"17000000000000002","r":1},"m":[{"a":"2","f":0,"p":{"t":"17000000000000001","r":1},"k":"demo","c":"lobby-pnpres","d":{"action":"join","timestamp":1700000000,"uuid":"bob","occupancy":2},"b":"lobby-pnpres"}]}"#;
/// let reply = Subscribe::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
/// for event in reply.events() {
///     roster.apply(event);
/// }
/// assert_eq!(
///     roster.poll_change(),
///     Some(RosterChange::Joined { channel: "lobby".into(), uuid: "bob".into() })
/// );
/// assert_eq!(roster.occupancy("lobby"), Some(2));
/// let users: Vec<_> = roster.users("lobby").map(|(uuid, _)| uuid).collect();
/// assert_eq!(users, ["alice", "bob"]);
///
/// // After a gap, the roster asks for a here_now and reconciles it.
/// roster.gap();
/// let op = roster.poll_refresh().expect("a refresh is due");
/// let fresh = br#"{"occupancy":1,"uuids":[{"uuid":"bob"}],"status":200}"#;
/// roster.apply_refresh(op.parse(http::Response::new(&fresh[..]))?);
/// let users: Vec<_> = roster.users("lobby").map(|(uuid, _)| uuid).collect();
/// assert_eq!(users, ["bob"]); // alice's leave was lost; the refresh revealed it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
///
/// Tracking a channel from scratch:
///
/// ```
/// use presence_proto::Roster;
/// let mut roster = Roster::new();
/// roster.track("lobby");
/// let op = roster.poll_refresh().expect("a new channel needs a here_now");
/// // … send `op` with the client or any driver, then:
/// # let body = br#"{"occupancy":0,"uuids":[],"status":200}"#;
/// # use presence_proto::Operation;
/// let result = op.parse(http::Response::new(&body[..]))?;
/// roster.apply_refresh(result);
/// assert_eq!(roster.occupancy("lobby"), Some(0));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Roster {
    channels: Channels,
    names: Interner,
    changes: VecDeque<RosterChange>,
    /// The channels of the refresh handed out and not yet answered.
    in_flight: Option<Vec<Arc<str>>>,
}

#[derive(Clone, Debug)]
struct Channel {
    name: Arc<str>,
    users: HashMap<Arc<str>, Option<Value>>,
    occupancy: Option<u64>,
    /// The timetoken of the latest applied event.
    last_timetoken: u64,
    /// The stamp of the latest applied refresh: events at or below it are ignored.
    floor: u64,
    refresh: Refresh,
    /// Whether the latest refresh listed every occupant (no cut at the limit).
    complete: bool,
}

#[derive(Clone, Debug)]
enum Refresh {
    Idle,
    Needed,
    InFlight {
        /// `last_timetoken` when the refresh was handed out.
        stamp: u64,
        /// Asked for again while in flight: needed again once applied.
        again: bool,
        /// Users changed by events applied while in flight.
        touched: HashSet<Arc<str>>,
    },
}

/// An event's action, borrowed, with its state borrowed or moved.
enum Act<'a> {
    Join(&'a str, Option<Cow<'a, Value>>),
    Gone(&'a str, LeftReason),
    State(&'a str, Cow<'a, Value>),
    Interval {
        join: &'a [String],
        leave: &'a [String],
        timeout: &'a [String],
        here_now_refresh: bool,
    },
    Other,
}

impl<'a> Act<'a> {
    fn borrowed(action: &'a PresenceAction) -> Self {
        match action {
            PresenceAction::Join { uuid, state } => {
                Act::Join(uuid, state.as_ref().map(Cow::Borrowed))
            }
            PresenceAction::Leave { uuid } => Act::Gone(uuid, LeftReason::Leave),
            PresenceAction::Timeout { uuid } => Act::Gone(uuid, LeftReason::Timeout),
            PresenceAction::StateChange { uuid, state } => Act::State(uuid, Cow::Borrowed(state)),
            PresenceAction::Interval {
                join,
                leave,
                timeout,
                here_now_refresh,
            } => Act::Interval {
                join,
                leave,
                timeout,
                here_now_refresh: *here_now_refresh,
            },
            PresenceAction::Unknown { .. } => Act::Other,
        }
    }
}

impl Roster {
    /// An empty roster tracking no channel: [`track`](Self::track) channels, or let events and
    /// here_now results bring them in.
    ///
    /// ```
    /// let roster = presence_proto::Roster::new();
    /// assert_eq!(roster.channels().count(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A roster starting from a here_now snapshot (ask it with `include_state(true)` to know
    /// states): it tracks every channel of the result, and queues no change (the snapshot is
    /// the starting point).
    ///
    /// The service leaves empty channels out of a multi-channel reply: [`track`](Self::track)
    /// those, or let their first event bring them in.
    ///
    /// ```
    /// use presence_proto::{HereNow, Operation, Roster};
    /// let body = br#"{"occupancy":2,"uuids":[{"uuid":"bob"},{"uuid":"alice","state":{"mood":"calm"}}],"status":200}"#;
    /// let here = HereNow::new().channels(["lobby"]).include_state(true)
    ///     .parse(http::Response::new(&body[..]))?;
    /// let mut roster = Roster::from_here_now(&here);
    /// assert_eq!(roster.occupancy("lobby"), Some(2));
    /// assert_eq!(roster.state("lobby", "alice"), Some(&serde_json::json!({"mood": "calm"})));
    /// assert!(roster.poll_change().is_none());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn from_here_now(result: &HereNowResult) -> Self {
        let mut roster = Self::new();
        roster.apply_here_now(result);
        roster.changes.clear();
        roster
    }

    /// Applies a here_now result the roster did not ask for (a snapshot): every channel in it
    /// is tracked and reconciled, emitting the net changes (see the
    /// [type documentation](Roster)). Channels absent from the result are left alone. An
    /// answer to [`poll_refresh`](Self::poll_refresh) goes to
    /// [`apply_refresh`](Self::apply_refresh) instead.
    ///
    /// ```
    /// use presence_proto::{HereNow, Operation, Roster, RosterChange};
    /// let body = br#"{"occupancy":1,"uuids":[{"uuid":"alice"}],"status":200}"#;
    /// let here = HereNow::new().channels(["lobby"]).include_state(true)
    ///     .parse(http::Response::new(&body[..]))?;
    /// let mut roster = Roster::new();
    /// roster.apply_here_now(&here);
    /// assert_eq!(
    ///     roster.poll_change(),
    ///     Some(RosterChange::Joined { channel: "lobby".into(), uuid: "alice".into() })
    /// );
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn apply_here_now(&mut self, result: &HereNowResult) {
        for listing in &result.channels {
            if !self.channels.contains_key(&listing.name) {
                let name = self.names.intern(&listing.name);
                self.channels.insert(Channel::new(name, Refresh::Needed));
            }
            let Some(channel) = self.channels.get_mut(&listing.name) else {
                continue;
            };
            channel.reconcile(&mut self.names, &mut self.changes, listing.clone(), false);
        }
    }

    /// Starts tracking `channel` (if it was not): its roster is unknown, so a refresh is asked
    /// for. Returns whether the channel is new.
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// assert!(roster.track("lobby"));
    /// assert!(!roster.track("lobby"));
    /// assert!(roster.needs_refresh("lobby"));
    /// ```
    pub fn track(&mut self, channel: &str) -> bool {
        if self.channels.contains_key(channel) {
            return false;
        }
        let name = self.names.intern(channel);
        self.channels.insert(Channel::new(name, Refresh::Needed));
        true
    }

    /// Stops tracking `channel`, forgetting its users without reporting them as left (a reply
    /// to a refresh in flight then skips it). Returns whether it was tracked.
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// roster.track("lobby");
    /// assert!(roster.untrack("lobby"));
    /// assert_eq!(roster.channels().count(), 0);
    /// ```
    pub fn untrack(&mut self, channel: &str) -> bool {
        self.channels.remove(channel).is_some()
    }

    /// Applies one presence event. Returns `false` when the event was ignored because a
    /// refresh applied earlier already reflects it (its timetoken is at or below the refresh's
    /// stamp; see the [type documentation](Roster)).
    ///
    /// ```
    /// use presence_proto::{Operation, Roster, Subscribe};
    /// let body = br#"{"t":{"t":"17000000000000002","r":1},"m":[{"a":"2","f":0,"p":{"t":"17000000000000001","r":1},"k":"demo","c":"lobby-pnpres","d":{"action":"join","timestamp":1700000000,"uuid":"bob","occupancy":1},"b":"lobby-pnpres"}]}"#;
    /// let reply = Subscribe::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
    /// let mut roster = Roster::new();
    /// for event in reply.events() {
    ///     assert!(roster.apply(event));
    /// }
    /// assert!(roster.contains("lobby", "bob"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn apply(&mut self, event: &PresenceEvent) -> bool {
        self.apply_act(
            &event.channel,
            event.timetoken,
            event.occupancy,
            Act::borrowed(&event.action),
        )
    }

    /// As [`apply`](Self::apply), taking the event: its state is moved into the roster
    /// rather than cloned.
    ///
    /// ```
    /// use presence_proto::{Operation, Roster, Subscribe, SubscribeItem};
    /// let body = br#"{"t":{"t":"17000000000000002","r":1},"m":[{"a":"2","f":0,"p":{"t":"17000000000000001","r":1},"k":"demo","c":"lobby-pnpres","d":{"action":"state-change","timestamp":1700000000,"uuid":"bob","occupancy":1,"data":{"mood":"calm"}},"b":"lobby-pnpres"}]}"#;
    /// let reply = Subscribe::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
    /// let mut roster = Roster::new();
    /// for item in reply.items {
    ///     if let SubscribeItem::Presence(event) = item {
    ///         roster.apply_owned(event);
    ///     }
    /// }
    /// assert_eq!(roster.occupancy("lobby"), Some(1));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn apply_owned(&mut self, event: PresenceEvent) -> bool {
        let PresenceEvent {
            channel,
            timetoken,
            occupancy,
            action,
            ..
        } = event;
        match action {
            PresenceAction::Join { uuid, state } => self.apply_act(
                &channel,
                timetoken,
                occupancy,
                Act::Join(&uuid, state.map(Cow::Owned)),
            ),
            PresenceAction::StateChange { uuid, state } => self.apply_act(
                &channel,
                timetoken,
                occupancy,
                Act::State(&uuid, Cow::Owned(state)),
            ),
            other => self.apply_act(&channel, timetoken, occupancy, Act::borrowed(&other)),
        }
    }

    fn apply_act(
        &mut self,
        channel: &str,
        timetoken: u64,
        occupancy: Option<u64>,
        act: Act<'_>,
    ) -> bool {
        let Self {
            channels,
            names,
            changes,
            ..
        } = self;
        // Both look-ups hit the remembered channel: no hashing in a burst on one channel.
        if channels.get_mut(channel).is_none() {
            channels.insert(Channel::new(names.intern(channel), Refresh::Needed));
        }
        let Some(channel) = channels.get_mut(channel) else {
            return false;
        };
        if channel.floor > 0 && timetoken <= channel.floor {
            return false;
        }
        channel.last_timetoken = channel.last_timetoken.max(timetoken);
        let mut check_drift = false;
        match act {
            Act::Join(uuid, state) => channel.join(names, changes, uuid, state),
            Act::Gone(uuid, reason) => channel.remove(changes, uuid, reason),
            Act::State(uuid, state) => channel.set_state(changes, uuid, state),
            Act::Interval {
                join,
                leave,
                timeout,
                here_now_refresh,
            } => {
                for uuid in join {
                    channel.join(names, changes, uuid, None);
                }
                for uuid in leave {
                    channel.remove(changes, uuid, LeftReason::Leave);
                }
                for uuid in timeout {
                    channel.remove(changes, uuid, LeftReason::Timeout);
                }
                if here_now_refresh || overlap(join, leave) || overlap(join, timeout) {
                    channel.request_refresh();
                } else {
                    check_drift = true;
                }
            }
            Act::Other => {}
        }
        if let Some(occupancy) = occupancy {
            channel.set_occupancy(changes, occupancy);
            if check_drift
                && channel.complete
                && matches!(channel.refresh, Refresh::Idle)
                && occupancy != channel.users.len() as u64
            {
                channel.request_refresh();
            }
        }
        true
    }

    /// Events may have been lost (the watch reported a gap): every channel needs a refresh.
    ///
    /// ```
    /// # use presence_proto::{HereNow, Operation, Roster};
    /// # let body = br#"{"occupancy":0,"uuids":[],"status":200}"#;
    /// # let here = HereNow::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
    /// let mut roster = Roster::from_here_now(&here);
    /// assert!(roster.poll_refresh().is_none());
    /// roster.gap();
    /// assert!(roster.poll_refresh().is_some());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn gap(&mut self) {
        for channel in self.channels.iter_mut() {
            channel.request_refresh();
        }
    }

    /// Events of one channel may have been lost: it needs a refresh. Returns whether the
    /// channel is tracked.
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// assert!(!roster.gap_channel("lobby"));
    /// ```
    pub fn gap_channel(&mut self, channel: &str) -> bool {
        match self.channels.get_mut(channel) {
            Some(channel) => {
                channel.request_refresh();
                true
            }
            None => false,
        }
    }

    /// The here_now the driver must send now, if a refresh is due and none is in flight: the
    /// channels needing one (sorted, at most [`MAX_REFRESH_CHANNELS`]), with state and user
    /// ids. Hand its result to [`apply_refresh`](Self::apply_refresh), or call
    /// [`refresh_failed`](Self::refresh_failed) if it could not be had.
    ///
    /// ```
    /// use presence_proto::{Config, Operation, Roster, Stamp};
    /// let mut roster = Roster::new();
    /// roster.track("lobby");
    /// let op = roster.poll_refresh().unwrap();
    /// assert!(roster.poll_refresh().is_none()); // one at a time
    /// let config = Config::builder("demo", "watcher").build()?;
    /// let request = op.to_request(&config, &Stamp::new(0, ""))?;
    /// assert_eq!(request.uri().path(), "/v2/presence/sub-key/demo/channel/lobby");
    /// assert!(request.uri().query().unwrap().contains("state=1"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn poll_refresh(&mut self) -> Option<HereNow> {
        if self.in_flight.is_some() {
            return None;
        }
        let mut due: Vec<Arc<str>> = self
            .channels
            .iter()
            .filter(|channel| matches!(channel.refresh, Refresh::Needed))
            .map(|channel| Arc::clone(&channel.name))
            .collect();
        if due.is_empty() {
            return None;
        }
        due.sort_unstable();
        due.truncate(MAX_REFRESH_CHANNELS);
        for name in &due {
            if let Some(channel) = self.channels.get_mut(name) {
                channel.refresh = Refresh::InFlight {
                    stamp: channel.last_timetoken,
                    again: false,
                    touched: HashSet::new(),
                };
            }
        }
        let op = HereNow::new()
            .channels(due.iter().map(|name| name.to_string()))
            .include_user_ids(true)
            .include_state(true);
        self.in_flight = Some(due);
        Some(op)
    }

    /// Reconciles the reply to the refresh handed out by [`poll_refresh`](Self::poll_refresh),
    /// emitting the net changes it reveals (see the [type documentation](Roster)). A channel
    /// asked for but absent from the reply is empty. With no refresh in flight this is
    /// [`apply_here_now`](Self::apply_here_now).
    ///
    /// ```
    /// use presence_proto::{LeftReason, Operation, Roster, RosterChange};
    /// let mut roster = Roster::new();
    /// roster.track("lobby");
    /// let op = roster.poll_refresh().unwrap();
    /// let body = br#"{"occupancy":1,"uuids":[{"uuid":"alice"}],"status":200}"#;
    /// roster.apply_refresh(op.parse(http::Response::new(&body[..]))?);
    /// let changes: Vec<_> = std::iter::from_fn(|| roster.poll_change()).collect();
    /// assert_eq!(changes, [
    ///     RosterChange::Joined { channel: "lobby".into(), uuid: "alice".into() },
    ///     RosterChange::Occupancy { channel: "lobby".into(), occupancy: 1 },
    ///     RosterChange::Refreshed { channel: "lobby".into() },
    /// ]);
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn apply_refresh(&mut self, result: HereNowResult) {
        let Some(asked) = self.in_flight.take() else {
            self.apply_here_now(&result);
            return;
        };
        let mut listings = result.channels;
        for name in asked {
            let listing = match listings.iter().position(|c| *c.name == *name) {
                Some(index) => listings.swap_remove(index),
                None => HereNowChannel {
                    name: name.to_string(),
                    occupancy: 0,
                    occupants: Vec::new(),
                    occupants_listed: true,
                },
            };
            if let Some(channel) = self.channels.get_mut(&name) {
                channel.reconcile(&mut self.names, &mut self.changes, listing, true);
            }
        }
        // Channels the reply has but the refresh did not ask for: snapshots of tracked ones.
        for listing in listings {
            if let Some(channel) = self.channels.get_mut(listing.name.as_str()) {
                channel.reconcile(&mut self.names, &mut self.changes, listing, false);
            }
        }
    }

    /// The refresh handed out by [`poll_refresh`](Self::poll_refresh) failed: its channels
    /// need one again (the next `poll_refresh` hands it out; pace it as you would any retry).
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// roster.track("lobby");
    /// let _op = roster.poll_refresh().unwrap();
    /// roster.refresh_failed();
    /// assert!(roster.poll_refresh().is_some());
    /// ```
    pub fn refresh_failed(&mut self) {
        for name in self.in_flight.take().unwrap_or_default() {
            if let Some(channel) = self.channels.get_mut(&name) {
                if matches!(channel.refresh, Refresh::InFlight { .. }) {
                    channel.refresh = Refresh::Needed;
                }
            }
        }
    }

    /// Whether a refresh handed out by [`poll_refresh`](Self::poll_refresh) awaits its reply.
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// roster.track("lobby");
    /// assert!(!roster.is_refreshing());
    /// let _op = roster.poll_refresh();
    /// assert!(roster.is_refreshing());
    /// ```
    pub fn is_refreshing(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Whether `channel` waits for a refresh (due, or in flight).
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// roster.track("lobby");
    /// assert!(roster.needs_refresh("lobby"));
    /// assert!(!roster.needs_refresh("elsewhere"));
    /// ```
    pub fn needs_refresh(&self, channel: &str) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|c| !matches!(c.refresh, Refresh::Idle))
    }

    /// The next change, oldest first.
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// while let Some(change) = roster.poll_change() {
    ///     println!("{change:?}");
    /// }
    /// ```
    pub fn poll_change(&mut self) -> Option<RosterChange> {
        self.changes.pop_front()
    }

    /// The tracked channels, sorted.
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// roster.track("b");
    /// roster.track("a");
    /// assert_eq!(roster.channels().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        let mut names: Vec<&str> = self.channels.iter().map(|c| &*c.name).collect();
        names.sort_unstable();
        names.into_iter()
    }

    /// The users present on `channel` with their state, sorted by user id (none if the
    /// channel is not tracked).
    ///
    /// ```
    /// # use presence_proto::{HereNow, Operation, Roster};
    /// # let body = br#"{"occupancy":2,"uuids":[{"uuid":"bob"},{"uuid":"alice","state":{"mood":"calm"}}],"status":200}"#;
    /// # let here = HereNow::new().channels(["lobby"]).include_state(true)
    /// #     .parse(http::Response::new(&body[..]))?;
    /// let roster = Roster::from_here_now(&here);
    /// for (uuid, state) in roster.users("lobby") {
    ///     println!("{uuid}: {state:?}");
    /// }
    /// assert_eq!(roster.users("lobby").next().map(|(uuid, _)| uuid), Some("alice"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn users(&self, channel: &str) -> impl Iterator<Item = (&str, Option<&Value>)> {
        let mut users: Vec<(&str, Option<&Value>)> = self
            .channels
            .get(channel)
            .map(|c| {
                c.users
                    .iter()
                    .map(|(uuid, state)| (&**uuid, state.as_ref()))
                    .collect()
            })
            .unwrap_or_default();
        users.sort_unstable_by(|a, b| a.0.cmp(b.0));
        users.into_iter()
    }

    /// How many users the roster lists on `channel` (the service's count is
    /// [`occupancy`](Self::occupancy)).
    ///
    /// ```
    /// assert_eq!(presence_proto::Roster::new().user_count("lobby"), 0);
    /// ```
    pub fn user_count(&self, channel: &str) -> usize {
        self.channels.get(channel).map_or(0, |c| c.users.len())
    }

    /// Whether `uuid` is present on `channel`.
    ///
    /// ```
    /// assert!(!presence_proto::Roster::new().contains("lobby", "alice"));
    /// ```
    pub fn contains(&self, channel: &str, uuid: &str) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|c| c.users.contains_key(uuid))
    }

    /// The state of `uuid` on `channel`, if present with a state.
    ///
    /// ```
    /// assert_eq!(presence_proto::Roster::new().state("lobby", "alice"), None);
    /// ```
    pub fn state(&self, channel: &str, uuid: &str) -> Option<&Value> {
        self.channels.get(channel)?.users.get(uuid)?.as_ref()
    }

    /// The state of `uuid` on `channel` as your own type; `Ok(None)` when it has none.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Mood { mood: String }
    /// let roster = presence_proto::Roster::new();
    /// let mood: Option<Mood> = roster.state_as("lobby", "alice")?;
    /// assert!(mood.is_none());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn state_as<T: serde::de::DeserializeOwned>(
        &self,
        channel: &str,
        uuid: &str,
    ) -> Result<Option<T>, Error> {
        self.state(channel, uuid)
            .map(crate::ops::state_as)
            .transpose()
    }

    /// The service's latest occupancy of `channel` (`None` if untracked, or not told yet).
    ///
    /// ```
    /// assert_eq!(presence_proto::Roster::new().occupancy("lobby"), None);
    /// ```
    pub fn occupancy(&self, channel: &str) -> Option<u64> {
        self.channels.get(channel)?.occupancy
    }

    /// The timetoken of the latest event applied to `channel` (0 before any).
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// roster.track("lobby");
    /// assert_eq!(roster.last_timetoken("lobby"), Some(0));
    /// ```
    pub fn last_timetoken(&self, channel: &str) -> Option<u64> {
        Some(self.channels.get(channel)?.last_timetoken)
    }

    /// `channel`'s roster as plain, serialisable data (`None` if untracked).
    ///
    /// ```
    /// let mut roster = presence_proto::Roster::new();
    /// roster.track("lobby");
    /// let snapshot = roster.snapshot("lobby").unwrap();
    /// assert_eq!(serde_json::to_string(&snapshot)?, r#"{"channel":"lobby","occupancy":null,"uuids":[]}"#);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn snapshot(&self, channel: &str) -> Option<RosterSnapshot> {
        let tracked = self.channels.get(channel)?;
        let mut uuids: Vec<String> = tracked.users.keys().map(|u| u.to_string()).collect();
        uuids.sort_unstable();
        Some(RosterSnapshot {
            channel: tracked.name.to_string(),
            occupancy: tracked.occupancy,
            uuids,
        })
    }
}

impl Channel {
    fn new(name: Arc<str>, refresh: Refresh) -> Self {
        Self {
            name,
            users: HashMap::new(),
            occupancy: None,
            last_timetoken: 0,
            floor: 0,
            refresh,
            complete: false,
        }
    }

    fn request_refresh(&mut self) {
        match &mut self.refresh {
            Refresh::Idle => self.refresh = Refresh::Needed,
            Refresh::Needed => {}
            Refresh::InFlight { again, .. } => *again = true,
        }
    }

    fn touch(&mut self, uuid: &Arc<str>) {
        if let Refresh::InFlight { touched, .. } = &mut self.refresh {
            touched.insert(Arc::clone(uuid));
        }
    }

    fn set_occupancy(&mut self, changes: &mut VecDeque<RosterChange>, occupancy: u64) {
        if self.occupancy != Some(occupancy) {
            self.occupancy = Some(occupancy);
            changes.push_back(RosterChange::Occupancy {
                channel: Arc::clone(&self.name),
                occupancy,
            });
        }
    }

    fn join(
        &mut self,
        names: &mut Interner,
        changes: &mut VecDeque<RosterChange>,
        uuid: &str,
        state: Option<Cow<'_, Value>>,
    ) {
        // Interning first makes a join two hash look-ups (the name table, then the users).
        let key = names.intern(uuid);
        match self.users.entry(Arc::clone(&key)) {
            Entry::Occupied(_) => {
                if let Some(state) = state {
                    self.set_state(changes, uuid, state);
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(state.map(Cow::into_owned));
                self.touch(&key);
                changes.push_back(RosterChange::Joined {
                    channel: Arc::clone(&self.name),
                    uuid: key,
                });
            }
        }
    }

    fn remove(&mut self, changes: &mut VecDeque<RosterChange>, uuid: &str, reason: LeftReason) {
        if let Some((key, _)) = self.users.remove_entry(uuid) {
            self.touch(&key);
            changes.push_back(RosterChange::Left {
                channel: Arc::clone(&self.name),
                uuid: key,
                reason,
            });
        }
    }

    fn set_state(
        &mut self,
        changes: &mut VecDeque<RosterChange>,
        uuid: &str,
        state: Cow<'_, Value>,
    ) {
        let Some(slot) = self.users.get_mut(uuid) else {
            return;
        };
        if slot.as_ref() == Some(&*state) {
            return;
        }
        *slot = Some(state.into_owned());
        let Some((key, _)) = self.users.get_key_value(uuid) else {
            return;
        };
        let key = Arc::clone(key);
        self.touch(&key);
        changes.push_back(RosterChange::StateChanged {
            channel: Arc::clone(&self.name),
            uuid: key,
        });
    }

    /// Diffs `listing` against the roster. `answer`: the listing answers this channel's
    /// refresh in flight (else it is an unsolicited snapshot, stamped now).
    fn reconcile(
        &mut self,
        names: &mut Interner,
        changes: &mut VecDeque<RosterChange>,
        listing: HereNowChannel,
        answer: bool,
    ) {
        let (stamp, touched) = match std::mem::replace(&mut self.refresh, Refresh::Idle) {
            Refresh::InFlight {
                stamp,
                again,
                touched,
            } if answer => {
                if again {
                    self.refresh = Refresh::Needed;
                }
                (stamp, touched)
            }
            // A snapshot leaves a refresh in flight in flight; it satisfies one merely due.
            in_flight @ Refresh::InFlight { .. } => {
                self.refresh = in_flight;
                (self.last_timetoken, HashSet::new())
            }
            Refresh::Idle | Refresh::Needed => (self.last_timetoken, HashSet::new()),
        };
        let HereNowChannel {
            occupancy,
            occupants,
            occupants_listed,
            ..
        } = listing;
        if occupants_listed {
            let cut = occupants.len() >= MAX_HERE_NOW_LIMIT as usize
                && (occupants.len() as u64) < occupancy;
            if !cut {
                let listed: HashSet<&str> = occupants.iter().map(|u| u.user_id.as_str()).collect();
                let mut gone: Vec<Arc<str>> = self
                    .users
                    .keys()
                    .filter(|uuid| !listed.contains(&***uuid) && !touched.contains(*uuid))
                    .cloned()
                    .collect();
                gone.sort_unstable();
                for uuid in gone {
                    self.users.remove(&uuid);
                    changes.push_back(RosterChange::Left {
                        channel: Arc::clone(&self.name),
                        uuid,
                        reason: LeftReason::Refresh,
                    });
                }
            }
            let mut joined = Vec::new();
            let mut restated = Vec::new();
            for user in occupants {
                if touched.contains(user.user_id.as_str()) {
                    continue;
                }
                if let Some(slot) = self.users.get_mut(user.user_id.as_str()) {
                    if *slot != user.state {
                        *slot = user.state;
                        restated.push(names.intern_owned(user.user_id));
                    }
                } else {
                    let uuid = names.intern_owned(user.user_id);
                    self.users.insert(Arc::clone(&uuid), user.state);
                    joined.push(uuid);
                }
            }
            joined.sort_unstable();
            restated.sort_unstable();
            for uuid in joined {
                changes.push_back(RosterChange::Joined {
                    channel: Arc::clone(&self.name),
                    uuid,
                });
            }
            for uuid in restated {
                changes.push_back(RosterChange::StateChanged {
                    channel: Arc::clone(&self.name),
                    uuid,
                });
            }
            self.complete = !cut;
        } else {
            self.complete = false;
        }
        self.floor = self.floor.max(stamp);
        self.set_occupancy(changes, occupancy);
        changes.push_back(RosterChange::Refreshed {
            channel: Arc::clone(&self.name),
        });
    }
}

/// Whether a user id is in both lists (an interval that cannot say which came last).
fn overlap(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a.len().saturating_mul(b.len()) <= 4096 {
        return a.iter().any(|x| b.contains(x));
    }
    let set: HashSet<&str> = a.iter().map(String::as_str).collect();
    b.iter().any(|x| set.contains(x.as_str()))
}
