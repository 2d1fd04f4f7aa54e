//! [`Watch`]: the Sans-IO presence-event watcher, in the quinn style of the keep-present
//! machine. It asks for requests (`poll_transmit`), takes their outcomes (`handle_response`),
//! yields items (`poll_item`) and says when to wake (`poll_timeout`); it never does I/O.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use super::item::{GapReason, WatchItem};
use super::options::WatchOptions;
use super::request::WatchRequest;
use crate::error::{Error, ErrorKind};
use crate::events::{Cursor, SubscribeItem, SubscribeReply};
use crate::names::{self, Names};
use crate::ops::heartbeat::Heartbeat;
use crate::ops::leave::Leave;
use crate::ops::subscribe::Subscribe;

/// Names a request a [`Watch`] handed out, so its outcome comes back to the right place.
///
/// ```
/// # fn demo(token: presence_proto::WatchToken) {
/// println!("request #{}", token.get());
/// # }
/// ```
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct WatchToken(u64);

impl WatchToken {
    /// The raw number (unique within one watch).
    pub fn get(self) -> u64 {
        self.0
    }

    pub(crate) fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

/// Watches presence events of channels and groups over the subscribe long-poll.
///
/// # Drive contract
///
/// 1. Call [`poll_transmit`](Self::poll_transmit) with the current time until it returns
///    `None`, sending each request (a poll may be in flight while a leave is).
/// 2. Hand each outcome to [`handle_response`](Self::handle_response) with its token. A poll
///    superseded by a channel change is answered too, and ignored: drivers may cancel it.
/// 3. Drain [`poll_item`](Self::poll_item).
/// 4. Sleep until [`poll_timeout`](Self::poll_timeout) (or a command, or a reply).
///
/// It handles the handshake and the cursor, exponential backoff with jitter on failures
/// (`Retry-After` honoured up to the longest backoff) resuming from the last cursor, de-dup of
/// redelivered events, a cursor that goes back (region change: it is followed, and what is
/// delivered again is dropped), channels added or removed without a spurious leave or a lost
/// cursor, a [`WatchItem::Gap`] when events may have been missed, and an end with the error on
/// 403/400.
///
/// ```
/// use std::time::Instant;
/// use presence_proto::{Operation, Watch, WatchItem, WatchOptions, WatchRequest};
///
/// let mut watch = Watch::new(WatchOptions::new().observe(true));
/// watch.add_channels(["lobby"]);
/// let now = Instant::now();
/// let (token, request) = watch.poll_transmit(now).expect("the handshake");
/// let handshake = br#"{"t":{"t":"17000000000000000","r":1},"m":[]}"#;
/// let reply = request.parse(http::Response::new(&handshake[..]));
/// watch.handle_response(token, reply, now);
/// assert!(matches!(watch.poll_item(), Some(WatchItem::Connected { .. })));
/// let (_token, poll) = watch.poll_transmit(now).expect("the first long-poll");
/// assert!(matches!(poll, WatchRequest::Subscribe(s) if s.current_cursor().timetoken == 17_000_000_000_000_000));
/// ```
#[derive(Debug)]
pub struct Watch {
    options: WatchOptions,
    channels: Names,
    groups: Names,
    state: BTreeMap<String, serde_json::Value>,
    cursor: Cursor,
    connected: bool,
    /// A gap to report once the next handshake succeeds.
    reset_pending: bool,
    next_token: u64,
    poll_in_flight: Option<WatchToken>,
    leaves_in_flight: HashSet<WatchToken>,
    heartbeats_in_flight: HashSet<WatchToken>,
    /// Names to leave once more after the stop's leave: a poll was on its way when the watch
    /// stopped, and it may reach the service after the first leave.
    leave_again: (Names, Names),
    /// When a present-mode watcher next needs a heartbeat (a poll sent resets it).
    heartbeat_due_at: Option<Instant>,
    pending_leave: (Names, Names),
    poll_due_at: Option<Instant>,
    failures: u32,
    outage_since: Option<Instant>,
    stopping: bool,
    stopped: bool,
    items: VecDeque<WatchItem>,
    seen: VecDeque<u64>,
    seen_set: HashSet<u64>,
    rng: u64,
}

impl Watch {
    /// Watches channels only (no groups): [`Self::add`] without an empty list for the other kind.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.add_channels(["kitchen"]);
    /// ```
    pub fn add_channels<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, channels: I) {
        self.add(channels, std::iter::empty::<String>());
    }

    /// Watches channel groups only (no channels): [`Self::add`] without an empty list for the other kind.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.add_groups(["friends"]);
    /// ```
    pub fn add_groups<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, groups: I) {
        self.add(std::iter::empty::<String>(), groups);
    }

    /// Stops watching channels only (no groups): [`Self::remove`] without an empty list for the other kind.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.remove_channels(["kitchen"]);
    /// ```
    pub fn remove_channels<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, channels: I) {
        self.remove(channels, std::iter::empty::<String>());
    }

    /// Stops watching channel groups only (no channels): [`Self::remove`] without an empty list for the other kind.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.remove_groups(["friends"]);
    /// ```
    pub fn remove_groups<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, groups: I) {
        self.remove(std::iter::empty::<String>(), groups);
    }

    /// A watch of nothing yet; [`add`](Self::add) channels or groups.
    ///
    /// ```
    /// let watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// assert!(!watch.is_stopped());
    /// ```
    pub fn new(options: WatchOptions) -> Self {
        let rng = options.jitter_seed | 1;
        Self {
            channels: Names::new(),
            groups: Names::new(),
            state: BTreeMap::new(),
            cursor: Cursor::default(),
            connected: false,
            reset_pending: false,
            next_token: 0,
            poll_in_flight: None,
            leaves_in_flight: HashSet::new(),
            heartbeats_in_flight: HashSet::new(),
            leave_again: (Names::new(), Names::new()),
            heartbeat_due_at: None,
            pending_leave: (Names::new(), Names::new()),
            poll_due_at: None,
            failures: 0,
            outage_since: None,
            stopping: false,
            stopped: false,
            items: VecDeque::new(),
            seen: VecDeque::with_capacity(options.dedupe_capacity),
            seen_set: HashSet::with_capacity(options.dedupe_capacity),
            rng,
            options,
        }
    }

    /// The options.
    ///
    /// ```
    /// let watch = presence_proto::Watch::new(presence_proto::WatchOptions::new().observe(true));
    /// assert!(watch.options().is_observer());
    /// ```
    pub fn options(&self) -> &WatchOptions {
        &self.options
    }

    /// The latest cursor (the handshake's until it succeeded).
    ///
    /// ```
    /// let watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// assert!(watch.cursor().is_handshake());
    /// ```
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// The channels watched.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.add_channels(["b", "a"]);
    /// assert_eq!(watch.channels().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(String::as_str)
    }

    /// The channel groups watched.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.add_groups(["friends"]);
    /// assert_eq!(watch.groups().collect::<Vec<_>>(), ["friends"]);
    /// ```
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(String::as_str)
    }

    /// Whether the watch has ended (after [`WatchItem::Stopped`]).
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new().observe(true));
    /// watch.stop();
    /// assert!(watch.is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Watches more channels and groups. The cursor is kept and nothing is left: the next
    /// poll (sent at once, superseding the one in flight) simply lists them too.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.add(["lobby"], ["friends"]);
    /// ```
    pub fn add<C, G, S, T>(&mut self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        if self.stopping {
            return;
        }
        let before = (self.channels.len(), self.groups.len());
        names::extend(&mut self.channels, channels);
        names::extend(&mut self.groups, groups);
        if before != (self.channels.len(), self.groups.len()) {
            self.supersede();
        }
    }

    /// Stops watching channels and groups; in present mode one leave is sent for them (only
    /// them: the rest stays present).
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.add_channels(["lobby", "kitchen"]);
    /// watch.remove_channels(["kitchen"]);
    /// assert_eq!(watch.channels().collect::<Vec<_>>(), ["lobby"]);
    /// ```
    pub fn remove<C, G, S, T>(&mut self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        let mut changed = false;
        for channel in channels.into_iter().map(Into::into) {
            if self.channels.remove(&channel) {
                changed = true;
                if !self.options.observe {
                    self.pending_leave.0.insert(channel);
                }
            }
        }
        for group in groups.into_iter().map(Into::into) {
            if self.groups.remove(&group) {
                changed = true;
                if !self.options.observe {
                    self.pending_leave.1.insert(group);
                }
            }
        }
        if changed {
            self.supersede();
        }
    }

    /// Sets the state the polls carry for one channel or group (present mode), as a
    /// heartbeat would; the next poll carries it at once.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.add_channels(["lobby"]);
    /// watch.set_state_value("lobby", serde_json::json!({"mood": "happy"}));
    /// ```
    pub fn set_state_value(&mut self, name: impl Into<String>, state: serde_json::Value) {
        self.state.insert(name.into(), state);
        if !self.options.observe {
            self.supersede();
        }
    }

    /// Starts over from a fresh handshake; a [`GapReason::CursorReset`] gap is reported once
    /// it succeeds.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// watch.restart();
    /// assert!(watch.cursor().is_handshake());
    /// ```
    pub fn restart(&mut self) {
        self.cursor = Cursor::default();
        self.reset_pending = self.connected;
        self.connected = false;
        self.supersede();
    }

    /// Stops: in present mode (unless leaves are suppressed) one leave for everything
    /// watched, then [`WatchItem::Stopped`].
    ///
    /// ```
    /// use presence_proto::{Watch, WatchOptions, WatchRequest};
    /// let mut watch = Watch::new(WatchOptions::new());
    /// watch.add_channels(["lobby"]);
    /// watch.stop();
    /// let (_token, request) = watch.poll_transmit(std::time::Instant::now()).unwrap();
    /// assert!(matches!(request, WatchRequest::Leave(_)));
    /// ```
    pub fn stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        let poll_out = self.poll_in_flight.take().is_some();
        let channels = std::mem::take(&mut self.channels);
        let groups = std::mem::take(&mut self.groups);
        if !self.options.observe && !self.options.suppress_leave {
            if poll_out {
                self.leave_again = (channels.clone(), groups.clone());
            }
            self.pending_leave.0.extend(channels);
            self.pending_leave.1.extend(groups);
        } else if self.options.suppress_leave {
            self.pending_leave = (Names::new(), Names::new());
        }
        self.finish_if_done(None);
    }

    /// The next request to send at `now`, with its token.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// assert!(watch.poll_transmit(std::time::Instant::now()).is_none()); // nothing to watch
    /// ```
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(WatchToken, WatchRequest)> {
        if self.stopped {
            return None;
        }
        // A heartbeat still on its way could reach the service after the leave and make the
        // user present again: the leave waits for it.
        let leave_ready = !self.stopping || self.heartbeats_in_flight.is_empty();
        if leave_ready && (!self.pending_leave.0.is_empty() || !self.pending_leave.1.is_empty()) {
            let (channels, groups) = std::mem::take(&mut self.pending_leave);
            let token = self.token();
            self.leaves_in_flight.insert(token);
            let leave = Leave::new().channels(channels).groups(groups);
            return Some((token, WatchRequest::Leave(leave)));
        }
        if self.stopping || (self.channels.is_empty() && self.groups.is_empty()) {
            return None;
        }
        if !self.options.observe
            && self.poll_in_flight.is_some()
            && self.heartbeat_due_at.is_some_and(|due| due <= now)
        {
            // The poll is held by the service and does not refresh presence meanwhile.
            let mut heartbeat = Heartbeat::new()
                .channels(self.channels.iter().cloned())
                .groups(self.groups.iter().cloned())
                .presence_timeout(self.options.presence_timeout);
            for (name, state) in &self.state {
                heartbeat = heartbeat.state_value(name.clone(), state.clone());
            }
            let token = self.token();
            self.heartbeats_in_flight.insert(token);
            self.heartbeat_due_at = Some(now + self.options.heartbeat_interval());
            return Some((token, WatchRequest::Heartbeat(heartbeat)));
        }
        if self.poll_in_flight.is_some() {
            return None;
        }
        if self.poll_due_at.is_some_and(|due| due > now) {
            return None;
        }
        self.poll_due_at = None;
        let mut subscribe = Subscribe::new()
            .channels(self.channels.iter().cloned())
            .groups(self.groups.iter().cloned())
            .observe(self.options.observe)
            .cursor(self.cursor);
        if !self.options.observe {
            subscribe = subscribe.presence_timeout(self.options.presence_timeout);
            for (name, state) in &self.state {
                subscribe = subscribe.state_value(name.clone(), state.clone());
            }
        }
        let token = self.token();
        self.poll_in_flight = Some(token);
        if !self.options.observe {
            self.heartbeat_due_at = Some(now + self.options.heartbeat_interval());
        }
        Some((token, WatchRequest::Subscribe(subscribe)))
    }

    /// Feeds back the outcome of the request `token` named, received at `now`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use presence_proto::{Error, Watch, WatchItem, WatchOptions};
    /// let mut watch = Watch::new(WatchOptions::new().observe(true).jitter_seed(1));
    /// watch.add_channels(["lobby"]);
    /// let now = Instant::now();
    /// let (token, _) = watch.poll_transmit(now).unwrap();
    /// watch.handle_response(token, Err(Error::timeout(Duration::from_secs(310))), now);
    /// assert!(matches!(watch.poll_item(), Some(WatchItem::Retrying { failures: 1, .. })));
    /// assert!(watch.poll_timeout().unwrap() > now);
    /// ```
    pub fn handle_response(
        &mut self,
        token: WatchToken,
        result: Result<Option<SubscribeReply>, Error>,
        now: Instant,
    ) {
        if self.leaves_in_flight.remove(&token) {
            if let Err(error) = result {
                self.items.push_back(WatchItem::LeaveFailed { error });
            } else if self.leaves_in_flight.is_empty() {
                // Once more, for a poll that may have reached the service after the leave (a
                // leave of a user not present changes nothing).
                self.pending_leave = std::mem::take(&mut self.leave_again);
            }
            self.finish_if_done(None);
            return;
        }
        if self.heartbeats_in_flight.remove(&token) {
            // A failed heartbeat is retried by the next poll or heartbeat; polls report the
            // service's health. When stopping, the leave it held back may go now.
            self.finish_if_done(None);
            return;
        }
        if self.poll_in_flight != Some(token) {
            return; // superseded by a newer poll, or the watch stopped: stale
        }
        self.poll_in_flight = None;
        match result {
            Ok(Some(reply)) => self.on_reply(reply, now),
            Ok(None) => {}
            Err(error) => self.on_failure(error, now),
        }
    }

    /// When to wake if nothing arrives (a poll waiting out its backoff).
    ///
    /// ```
    /// let watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// assert_eq!(watch.poll_timeout(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopping || self.stopped {
            return None;
        }
        let poll = if self.poll_in_flight.is_some() {
            None
        } else {
            self.poll_due_at
        };
        let heartbeat = if self.poll_in_flight.is_some() && !self.options.observe {
            self.heartbeat_due_at
        } else {
            None
        };
        match (poll, heartbeat) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next item, if any.
    ///
    /// ```
    /// let mut watch = presence_proto::Watch::new(presence_proto::WatchOptions::new());
    /// assert!(watch.poll_item().is_none());
    /// ```
    pub fn poll_item(&mut self) -> Option<WatchItem> {
        self.items.pop_front()
    }

    fn on_reply(&mut self, reply: SubscribeReply, now: Instant) {
        if self.failures > 0 {
            self.items.push_back(WatchItem::Recovered {
                failures: self.failures,
            });
            self.failures = 0;
        }
        if let Some(since) = self.outage_since.take() {
            let lasted = now.saturating_duration_since(since);
            if lasted >= self.options.gap_after && self.connected {
                self.items.push_back(WatchItem::Gap {
                    reason: GapReason::Outage { lasted },
                });
            }
        }
        self.cursor = reply.cursor;
        if !self.connected {
            self.connected = true;
            self.items.push_back(WatchItem::Connected {
                cursor: reply.cursor,
            });
            if std::mem::take(&mut self.reset_pending) {
                self.items.push_back(WatchItem::Gap {
                    reason: GapReason::CursorReset,
                });
            }
        }
        for item in reply.items {
            match item {
                SubscribeItem::Presence(event) => {
                    if self.remember(event.dedupe_key()) {
                        self.items.push_back(WatchItem::Event(event));
                    }
                }
                SubscribeItem::Message(message) => {
                    self.items.push_back(WatchItem::Message(message));
                }
            }
        }
    }

    fn on_failure(&mut self, error: Error, now: Instant) {
        if matches!(
            error.kind(),
            ErrorKind::AccessDenied
                | ErrorKind::BadRequest
                | ErrorKind::NotEnabled
                | ErrorKind::InvalidInput
        ) {
            // Polling again cannot fix these: end with the error, without a leave.
            self.stopped = true;
            self.stopping = true;
            self.items
                .push_back(WatchItem::Stopped { error: Some(error) });
            return;
        }
        self.failures += 1;
        self.outage_since.get_or_insert(now);
        let delay = self.backoff(&error);
        let next_attempt_at = now + delay;
        self.poll_due_at = Some(next_attempt_at);
        self.items.push_back(WatchItem::Retrying {
            error,
            failures: self.failures,
            next_attempt_at,
        });
    }

    /// `min · 2^(failures−1)` capped at the maximum, with equal jitter (half fixed, half
    /// random: never zero, so a failing service is never hammered), and at least the
    /// service's `Retry-After` up to the maximum.
    fn backoff(&mut self, error: &Error) -> Duration {
        let shift = self.failures.saturating_sub(1).min(20);
        let base = self
            .options
            .min_backoff
            .saturating_mul(1 << shift)
            .min(self.options.max_backoff);
        let fraction = self.next_random();
        let delay = base / 2 + base.mul_f64(fraction / 2.0);
        match error.retry_after() {
            Some(after) => delay.max(after.min(self.options.max_backoff)),
            None => delay,
        }
    }

    /// A uniform fraction in `0..1` from the seeded generator (xorshift64*).
    fn next_random(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let value = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (value >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Records an event key; `false` if it was seen among the last `dedupe_capacity`.
    fn remember(&mut self, key: u64) -> bool {
        if !self.seen_set.insert(key) {
            return false;
        }
        self.seen.push_back(key);
        if self.seen.len() > self.options.dedupe_capacity.max(1) {
            if let Some(old) = self.seen.pop_front() {
                self.seen_set.remove(&old);
            }
        }
        true
    }

    /// Forgets the poll in flight so the next one (with the current names) goes out at once;
    /// the old one's reply, when it comes, is ignored.
    fn supersede(&mut self) {
        if self.poll_in_flight.take().is_some() {
            self.poll_due_at = None;
        }
    }

    fn finish_if_done(&mut self, error: Option<Error>) {
        if self.stopping
            && !self.stopped
            && self.leaves_in_flight.is_empty()
            && self.heartbeats_in_flight.is_empty()
            && self.pending_leave.0.is_empty()
            && self.pending_leave.1.is_empty()
        {
            self.stopped = true;
            self.items.push_back(WatchItem::Stopped { error });
        }
    }

    /// Event keys remembered for de-duplication (bounded by the options' capacity).
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> usize {
        self.seen.len().max(self.seen_set.len())
    }

    fn token(&mut self) -> WatchToken {
        self.next_token += 1;
        WatchToken(self.next_token)
    }
}
