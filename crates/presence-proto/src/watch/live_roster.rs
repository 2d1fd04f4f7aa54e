//! [`LiveRoster`]: a [`Watch`] and a [`Roster`] in one Sans-IO machine — the watch's events
//! keep the roster current, and the roster's refreshes (here_now) go out through the same
//! drive contract. Snapshot first (a refresh as soon as the watch is connected), then events;
//! `here_now_refresh` and gaps reconcile with a fresh here_now.

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use super::item::WatchItem;
use super::machine::{Watch, WatchToken};
use super::request::WatchRequest;
use crate::config::Config;
use crate::error::Error;
use crate::events::SubscribeReply;
use crate::ops::Operation;
use crate::ops::here_now::{HereNow, HereNowResult};
use crate::roster::{Roster, RosterChange, RosterSnapshot};
use crate::stamp::Stamp;

/// Refresh tokens live in the upper half of the token space, watch tokens in the lower.
const REFRESH_TOKENS: u64 = 1 << 63;

/// What a [`LiveRoster`] reports.
///
/// ```
/// # fn demo(item: presence_proto::RosterItem) {
/// use presence_proto::RosterItem;
/// match item {
///     RosterItem::Snapshot(snapshot) => println!("{}: {:?}", snapshot.channel, snapshot.uuids),
///     RosterItem::Change(change) => println!("{change:?}"),
///     RosterItem::Watch(status) => eprintln!("{status:?}"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RosterItem {
    /// One change, in order.
    Change(RosterChange),
    /// A channel's whole roster after the changes of one reply (or refresh).
    Snapshot(RosterSnapshot),
    /// The watch's own news (connected, gap, retrying, recovered, stopped…): every
    /// [`WatchItem`] but events, which become changes.
    Watch(WatchItem),
    /// A refresh (here_now) failed; it is asked for again after the next event or gap.
    RefreshFailed(Error),
}

/// A request of a [`LiveRoster`]: the watch's, or a roster refresh.
///
/// ```
/// # fn demo(request: presence_proto::RosterRequest) {
/// use presence_proto::RosterRequest;
/// if let RosterRequest::Refresh(here_now) = &request {
///     println!("refreshing {here_now:?}");
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RosterRequest {
    /// A long-poll, heartbeat or leave of the watch.
    Watch(WatchRequest),
    /// A here_now that refreshes the roster.
    Refresh(HereNow),
}

/// What a [`RosterRequest`] brought back.
#[derive(Debug)]
#[non_exhaustive]
pub enum RosterReply {
    /// The watch request's reply.
    Watch(Option<SubscribeReply>),
    /// The refresh's here_now.
    Refresh(HereNowResult),
}

impl Operation for RosterRequest {
    type Output = RosterReply;
    const NAME: &'static str = "roster";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        match self {
            Self::Watch(op) => op.to_request(config, stamp),
            Self::Refresh(op) => op.to_request(config, stamp),
        }
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<RosterReply, Error> {
        match self {
            Self::Watch(op) => op.parse(response).map(RosterReply::Watch),
            Self::Refresh(op) => op.parse(response).map(RosterReply::Refresh),
        }
    }

    fn timeout(&self, client_timeout: std::time::Duration) -> std::time::Duration {
        match self {
            Self::Watch(op) => op.timeout(client_timeout),
            Self::Refresh(op) => op.timeout(client_timeout),
        }
    }
}

/// A live roster of channels: a [`Watch`] feeding a [`Roster`], with the refreshes the roster
/// asks for sent through the same drive contract as the watch's (see [`Watch`]).
///
/// ```
/// use std::time::Instant;
/// use presence_proto::{LiveRoster, Operation, RosterItem, RosterRequest, WatchOptions};
///
/// let mut live = LiveRoster::new(WatchOptions::new().observe(true));
/// live.add_channels(["lobby"]);
/// let now = Instant::now();
/// let (token, handshake) = live.poll_transmit(now).unwrap();
/// let reply = handshake.parse(http::Response::new(&br#"{"t":{"t":"100","r":1},"m":[]}"#[..]));
/// live.handle_response(token, reply, now);
/// // Connected: the first snapshot is a refresh, sent beside the first long-poll.
/// let mut sent = Vec::new();
/// while let Some((_, request)) = live.poll_transmit(now) {
///     sent.push(matches!(request, RosterRequest::Refresh(_)));
/// }
/// assert!(sent.contains(&true));
/// ```
#[derive(Debug)]
pub struct LiveRoster {
    watch: Watch,
    roster: Roster,
    refresh: Option<WatchToken>,
    next_refresh: u64,
    items: VecDeque<RosterItem>,
    dirty: BTreeSet<String>,
}

impl LiveRoster {
    /// Watches channels only (no groups): [`Self::add`] without an empty list for the other kind.
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// live.add_channels(["kitchen"]);
    /// ```
    pub fn add_channels<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, channels: I) {
        self.add(channels, std::iter::empty::<String>());
    }

    /// Watches channel groups only (no channels): [`Self::add`] without an empty list for the other kind.
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// live.add_groups(["friends"]);
    /// ```
    pub fn add_groups<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, groups: I) {
        self.add(std::iter::empty::<String>(), groups);
    }

    /// Stops watching channels only (no groups): [`Self::remove`] without an empty list for the other kind.
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// live.remove_channels(["kitchen"]);
    /// ```
    pub fn remove_channels<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, channels: I) {
        self.remove(channels, std::iter::empty::<String>());
    }

    /// Stops watching channel groups only (no channels): [`Self::remove`] without an empty list for the other kind.
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// live.remove_groups(["friends"]);
    /// ```
    pub fn remove_groups<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, groups: I) {
        self.remove(std::iter::empty::<String>(), groups);
    }

    /// A live roster of nothing yet; [`add`](Self::add) channels (groups: their member
    /// channels join the roster as their events arrive).
    ///
    /// ```
    /// let live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// assert!(live.roster().channels().next().is_none());
    /// ```
    pub fn new(options: super::WatchOptions) -> Self {
        Self {
            watch: Watch::new(options),
            roster: Roster::new(),
            refresh: None,
            next_refresh: 0,
            items: VecDeque::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// The roster as it stands.
    ///
    /// ```
    /// # fn demo(live: &presence_proto::LiveRoster) {
    /// for channel in live.roster().channels() {
    ///     println!("{channel}: {:?}", live.roster().occupancy(channel));
    /// }
    /// # }
    /// ```
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The watch underneath.
    ///
    /// ```
    /// # fn demo(live: &presence_proto::LiveRoster) {
    /// println!("cursor {:?}", live.watch().cursor());
    /// # }
    /// ```
    pub fn watch(&self) -> &Watch {
        &self.watch
    }

    /// Watches more channels and groups; new channels get a snapshot.
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// live.add_channels(["lobby"]);
    /// ```
    pub fn add<C, G, S, T>(&mut self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        let channels: Vec<String> = channels.into_iter().map(Into::into).collect();
        for channel in &channels {
            if self.roster.track(channel) {
                self.roster.gap_channel(channel);
            }
        }
        self.watch.add(channels, groups);
    }

    /// Stops watching channels and groups; their rosters are dropped.
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// live.add_channels(["lobby", "kitchen"]);
    /// live.remove_channels(["kitchen"]);
    /// ```
    pub fn remove<C, G, S, T>(&mut self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        let channels: Vec<String> = channels.into_iter().map(Into::into).collect();
        for channel in &channels {
            self.roster.untrack(channel);
        }
        self.watch.remove(channels, groups);
    }

    /// Sets the state the watch's polls carry (present mode).
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// live.set_state_value("lobby", serde_json::json!({"mood": "happy"}));
    /// ```
    pub fn set_state_value(&mut self, name: impl Into<String>, state: serde_json::Value) {
        self.watch.set_state_value(name, state);
    }

    /// Stops the watch (see [`Watch::stop`]).
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new().observe(true));
    /// live.stop();
    /// assert!(live.is_stopped());
    /// ```
    pub fn stop(&mut self) {
        self.watch.stop();
        self.drain_watch();
    }

    /// Whether the watch has ended.
    ///
    /// ```
    /// let live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// assert!(!live.is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.watch.is_stopped()
    }

    /// The next request to send: the watch's first, then a refresh the roster needs (once
    /// the watch is connected, so events after the snapshot are not missed).
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// assert!(live.poll_transmit(std::time::Instant::now()).is_none());
    /// ```
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(WatchToken, RosterRequest)> {
        if let Some((token, request)) = self.watch.poll_transmit(now) {
            return Some((token, RosterRequest::Watch(request)));
        }
        if self.refresh.is_some() || self.watch.is_stopped() || self.watch.cursor().is_handshake() {
            return None;
        }
        let here_now = self.roster.poll_refresh()?;
        self.next_refresh += 1;
        let token = WatchToken::from_raw(REFRESH_TOKENS | self.next_refresh);
        self.refresh = Some(token);
        Some((token, RosterRequest::Refresh(here_now)))
    }

    /// Feeds back the outcome of a request.
    ///
    /// ```
    /// # fn demo(live: &mut presence_proto::LiveRoster, token: presence_proto::WatchToken, reply: Result<presence_proto::RosterReply, presence_proto::Error>) {
    /// live.handle_response(token, reply, std::time::Instant::now());
    /// # }
    /// ```
    pub fn handle_response(
        &mut self,
        token: WatchToken,
        result: Result<RosterReply, Error>,
        now: Instant,
    ) {
        if self.refresh == Some(token) {
            self.refresh = None;
            match result {
                Ok(RosterReply::Refresh(here_now)) => self.roster.apply_refresh(here_now),
                Ok(RosterReply::Watch(_)) => self.roster.refresh_failed(),
                Err(error) => {
                    self.roster.refresh_failed();
                    self.items.push_back(RosterItem::RefreshFailed(error));
                }
            }
            self.drain_roster();
            return;
        }
        let result = result.map(|reply| match reply {
            RosterReply::Watch(reply) => reply,
            RosterReply::Refresh(_) => None,
        });
        self.watch.handle_response(token, result, now);
        self.drain_watch();
    }

    /// When to wake if nothing arrives.
    ///
    /// ```
    /// let live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// assert_eq!(live.poll_timeout(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.watch.poll_timeout()
    }

    /// The next item, if any.
    ///
    /// ```
    /// let mut live = presence_proto::LiveRoster::new(presence_proto::WatchOptions::new());
    /// assert!(live.poll_item().is_none());
    /// ```
    pub fn poll_item(&mut self) -> Option<RosterItem> {
        self.items.pop_front()
    }

    /// Moves the watch's items into the roster (events) or out (the rest).
    fn drain_watch(&mut self) {
        while let Some(item) = self.watch.poll_item() {
            match item {
                WatchItem::Event(event) => {
                    self.roster.apply_owned(event);
                }
                WatchItem::Gap { .. } => {
                    self.roster.gap();
                    self.items.push_back(RosterItem::Watch(item));
                }
                other => self.items.push_back(RosterItem::Watch(other)),
            }
        }
        self.drain_roster();
    }

    /// Moves the roster's changes out, then one snapshot per channel that changed.
    fn drain_roster(&mut self) {
        while let Some(change) = self.roster.poll_change() {
            self.dirty.insert(change.channel().to_owned());
            self.items.push_back(RosterItem::Change(change));
        }
        for channel in std::mem::take(&mut self.dirty) {
            if let Some(snapshot) = self.roster.snapshot(&channel) {
                self.items.push_back(RosterItem::Snapshot(snapshot));
            }
        }
    }
}
