//! The presence event log and its fan-out to held subscribe long-polls.
//!
//! Each subscribe key that has seen a subscribe request gets a [`KeyLog`]: a bounded buffer
//! of events in timetoken order, and the [`Shape`]s of the polls held on it.
//!
//! A shape is one subscription (its `-pnpres` channels, and its groups with their members),
//! interned per key: every poll with the same subscription shares one `Arc<Shape>`, which
//! holds the filter, a [`Notify`] and the last reply built for it. Publishing appends to the
//! buffer and then wakes only the shapes that match the changed channels (an index from
//! channel to shapes), once each. A woken poll asks its shape for the reply to its cursor:
//! the first one scans the buffer and encodes the reply, every other poll with the same
//! cursor gets the same bytes (`Bytes`, no copy) without scanning. A held poll registers on
//! its shape's `Notify` before it looks, so no wake-up is lost. An idle poll costs no CPU:
//! it is one registered waiter and its hold timer, nothing ticks per poll.
//!
//! Timetokens come from one counter per key (`stamp`), which only grows: an event gets
//! `max(now, stamp) + 1`, a cursor `max(now, stamp)`, so an event is always newer than
//! every cursor handed out before it, whatever the clock does.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak,
};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::clock::unix_secs;
use crate::config::Config;
use crate::events::{self, Change, ChangeKind, Envelope};
use crate::interval::{self, Interval};

/// At most this many envelopes in one reply (later ones come with the next poll).
pub(crate) const MAX_PER_REPLY: usize = 100;

/// Every key's event log.
#[derive(Default)]
pub(crate) struct Hub {
    keys: Mutex<HashMap<Arc<str>, Arc<KeyLog>>>,
    /// Long-polls being held right now.
    pub(crate) held: AtomicUsize,
}

/// Keys nobody subscribed to yet keep at most this many events (so that a first
/// subscriber still finds its own recent join, without buffering for keys never watched).
const UNWATCHED_EVENTS: usize = 1024;

/// One buffered event.
struct Event {
    tt: u64,
    at: SystemTime,
    channel: Arc<str>,
    payload: Arc<str>,
    /// The uuid, when this is a join.
    joined: Option<Arc<str>>,
}

/// The event log of one subscribe key.
pub(crate) struct KeyLog {
    sub_key: Arc<str>,
    inner: RwLock<LogInner>,
    stamp: AtomicU64,
    /// Unix seconds (emulator clock) of the last subscribe request on this key.
    last_seen: AtomicU64,
    /// Whether a subscribe request ever came for this key.
    watched: AtomicBool,
    /// The shapes of the polls on this key.
    shapes: Mutex<ShapeIndex>,
    /// `LogInner::generation`, readable without the lock (stored under the write lock).
    generation: AtomicU64,
}

#[derive(Default)]
struct LogInner {
    events: VecDeque<Event>,
    intervals: HashMap<Arc<str>, Interval>,
    /// Changes whenever `events` does (an event pushed or dropped): a reply built at one
    /// generation is the reply for that cursor as long as the generation stays.
    generation: u64,
}

/// What a subscriber receives: `-pnpres` channels and groups, without the suffix.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    channels: HashSet<Arc<str>>,
    /// Each group and its member channels when the poll began.
    groups: Vec<(Arc<str>, HashSet<Arc<str>>)>,
}

/// A filter's identity: channels sorted; groups in request order (the first group that
/// holds a channel is the one named in `b`), each with its members sorted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ShapeKey {
    channels: Vec<Arc<str>>,
    groups: Vec<(Arc<str>, Vec<Arc<str>>)>,
}

impl Filter {
    pub(crate) fn channel(&mut self, name: &str) {
        self.channels.insert(Arc::from(name));
    }

    pub(crate) fn group(&mut self, name: &str, members: Vec<String>) {
        let members = members.into_iter().map(Arc::from).collect();
        self.groups.push((Arc::from(name), members));
    }

    fn key(&self) -> ShapeKey {
        let sorted = |set: &HashSet<Arc<str>>| {
            let mut v: Vec<Arc<str>> = set.iter().cloned().collect();
            v.sort_unstable();
            v
        };
        ShapeKey {
            channels: sorted(&self.channels),
            groups: self
                .groups
                .iter()
                .map(|(g, members)| (Arc::clone(g), sorted(members)))
                .collect(),
        }
    }

    /// Every channel whose events this filter receives.
    fn watched_channels(&self) -> impl Iterator<Item = &Arc<str>> {
        self.channels
            .iter()
            .chain(self.groups.iter().flat_map(|(_, members)| members.iter()))
    }

    /// The subscription that matches events of `channel`, if any.
    fn matches(&self, channel: &Arc<str>) -> Option<&Arc<str>> {
        if let Some(c) = self.channels.get(channel) {
            return Some(c);
        }
        self.groups
            .iter()
            .find(|(_, members)| members.contains(channel))
            .map(|(g, _)| g)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.groups.is_empty()
    }
}

/// One event for one subscriber: (timetoken, channel, matched subscription, payload).
type Hit = (u64, Arc<str>, Arc<str>, Arc<str>);

/// Events found for a subscriber.
pub(crate) struct Found {
    hits: Vec<Hit>,
    /// The cursor to hand back.
    pub(crate) cursor: u64,
    /// The log's generation when the events were collected.
    generation: u64,
}

/// One subscription shape, shared by every poll with the same filter on a key.
pub(crate) struct Shape {
    filter: Filter,
    notify: Notify,
    /// The last reply built for this shape.
    cached: Mutex<Option<Cached>>,
}

/// A reply built for one (cursor, region) at one log generation.
struct Cached {
    after: u64,
    region: u32,
    generation: u64,
    encoded: Arc<Encoded>,
}

/// A subscribe reply body, shared by every poll it answers.
pub(crate) struct Encoded {
    /// The JSON body.
    pub(crate) body: Bytes,
    /// Whether it carries events (`m` not empty).
    pub(crate) has_events: bool,
    /// The gzipped body, made once for the first poll that wants it.
    gzipped: OnceLock<Option<Bytes>>,
}

impl Encoded {
    /// The gzipped body (`gzip` is called once per reply, not per poll).
    pub(crate) fn gzipped(&self, gzip: impl FnOnce(&[u8]) -> Option<Bytes>) -> Option<Bytes> {
        self.gzipped.get_or_init(|| gzip(&self.body)).clone()
    }
}

impl Shape {
    /// The subscription's filter.
    pub(crate) fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Waits for a change to one of the shape's channels.
    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }

    /// The reply to a poll with cursor `after` on `log`: `None` when there are no events
    /// for it and `or_empty` is false. Built once per (cursor, region, log generation) and
    /// shared by every poll that asks for the same.
    pub(crate) fn answer(
        &self,
        log: &KeyLog,
        after: u64,
        region: u32,
        now: SystemTime,
        or_empty: bool,
    ) -> Option<Arc<Encoded>> {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = cached.as_ref() {
            if c.after == after
                && c.region == region
                && c.generation == log.generation.load(Ordering::Acquire)
                && (c.encoded.has_events || or_empty)
            {
                return Some(Arc::clone(&c.encoded));
            }
        }
        let found = log.collect(&self.filter, after, now);
        if found.is_empty() && !or_empty {
            return None;
        }
        let encoded = Arc::new(Encoded {
            body: Bytes::from(found.body(&log.sub_key, region, Quirk::default())),
            has_events: !found.is_empty(),
            gzipped: OnceLock::new(),
        });
        *cached = Some(Cached {
            after,
            region,
            generation: found.generation,
            encoded: Arc::clone(&encoded),
        });
        Some(encoded)
    }
}

/// The shapes of one key: interned by filter, and indexed by the channels they watch.
#[derive(Default)]
struct ShapeIndex {
    by_key: HashMap<ShapeKey, Weak<Shape>>,
    by_channel: HashMap<Arc<str>, Vec<Weak<Shape>>>,
    /// Forget dead shapes when `by_key` reaches this size.
    prune_at: usize,
}

impl ShapeIndex {
    fn prune(&mut self) {
        self.by_key.retain(|_, w| w.strong_count() > 0);
        self.by_channel.retain(|_, list| {
            list.retain(|w| w.strong_count() > 0);
            !list.is_empty()
        });
        self.prune_at = (self.by_key.len() * 2).max(64);
    }
}

/// How a reply departs from the normal (fault rules).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Quirk {
    /// Send the last event twice (same `p.t`).
    pub(crate) duplicate: bool,
    /// Send this region, with the cursor moved back before the last event.
    pub(crate) region_change: Option<u32>,
}

impl Found {
    pub(crate) fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    /// The reply body, with the fault quirks applied.
    pub(crate) fn body(&self, sub_key: &str, region: u32, quirk: Quirk) -> String {
        let mut envelopes: Vec<Envelope<'_>> = self
            .hits
            .iter()
            .map(|(tt, channel, matched, payload)| Envelope {
                tt: *tt,
                sub_key,
                channel,
                matched,
                payload,
            })
            .collect();
        if quirk.duplicate {
            if let Some((tt, channel, matched, payload)) = self.hits.last() {
                envelopes.push(Envelope {
                    tt: *tt,
                    sub_key,
                    channel,
                    matched,
                    payload,
                });
            }
        }
        let (cursor, region) = match quirk.region_change {
            Some(r) => {
                let back = self.hits.last().map_or(self.cursor, |h| h.0);
                (back.saturating_sub(1), r)
            }
            None => (self.cursor, region),
        };
        events::reply_body(cursor, region, &envelopes)
    }
}

fn read(lock: &RwLock<LogInner>) -> RwLockReadGuard<'_, LogInner> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(lock: &RwLock<LogInner>) -> RwLockWriteGuard<'_, LogInner> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl KeyLog {
    fn new(sub_key: Arc<str>) -> Self {
        Self {
            sub_key,
            inner: RwLock::new(LogInner::default()),
            stamp: AtomicU64::new(0),
            last_seen: AtomicU64::new(0),
            watched: AtomicBool::new(false),
            shapes: Mutex::new(ShapeIndex::default()),
            generation: AtomicU64::new(0),
        }
    }

    fn shapes(&self) -> MutexGuard<'_, ShapeIndex> {
        self.shapes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks a change of the buffer (called under the write lock).
    fn bump(&self, inner: &mut LogInner) {
        inner.generation = inner.generation.wrapping_add(1);
        self.generation.store(inner.generation, Ordering::Release);
    }

    /// The shared shape of `filter` on this key.
    pub(crate) fn shape(&self, filter: Filter) -> Arc<Shape> {
        let key = filter.key();
        let mut index = self.shapes();
        if let Some(shape) = index.by_key.get(&key).and_then(Weak::upgrade) {
            return shape;
        }
        if index.by_key.len() >= index.prune_at {
            index.prune();
        }
        let shape = Arc::new(Shape {
            filter,
            notify: Notify::new(),
            cached: Mutex::new(None),
        });
        let weak = Arc::downgrade(&shape);
        let mut seen: HashSet<&Arc<str>> = HashSet::new();
        for channel in shape.filter.watched_channels() {
            if seen.insert(channel) {
                index
                    .by_channel
                    .entry(Arc::clone(channel))
                    .or_default()
                    .push(Weak::clone(&weak));
            }
        }
        index.by_key.insert(key, weak);
        shape
    }

    /// Wakes the polls whose shape watches one of `channels`.
    fn wake(&self, channels: &[Arc<str>]) {
        let mut woken: Vec<Arc<Shape>> = Vec::new();
        {
            let index = self.shapes();
            for channel in channels {
                if let Some(list) = index.by_channel.get(channel) {
                    woken.extend(list.iter().filter_map(Weak::upgrade));
                }
            }
        }
        woken.sort_unstable_by_key(Arc::as_ptr);
        woken.dedup_by(|a, b| Arc::ptr_eq(a, b));
        for shape in woken {
            shape.notify.notify_waiters();
        }
    }

    pub(crate) fn sub_key(&self) -> &str {
        &self.sub_key
    }

    /// A fresh cursor: newer than every event so far, never newer than the next one.
    pub(crate) fn cursor(&self, now: SystemTime) -> u64 {
        let now_tt = events::timetoken(now);
        let prev = self.stamp.fetch_max(now_tt, Ordering::AcqRel);
        prev.max(now_tt)
    }

    /// Events newer than `after` that `filter` matches (at most [`MAX_PER_REPLY`]).
    pub(crate) fn collect(&self, filter: &Filter, after: u64, now: SystemTime) -> Found {
        let inner = read(&self.inner);
        let start = inner.events.partition_point(|e| e.tt <= after);
        let mut hits = Vec::new();
        let mut full = false;
        if !filter.is_empty() {
            for e in inner.events.range(start..) {
                if let Some(matched) = filter.matches(&e.channel) {
                    hits.push((
                        e.tt,
                        Arc::clone(&e.channel),
                        Arc::clone(matched),
                        Arc::clone(&e.payload),
                    ));
                    if hits.len() == MAX_PER_REPLY {
                        full = true;
                        break;
                    }
                }
            }
        }
        let cursor = match hits.last() {
            Some(last) if full => last.0,
            _ => self.cursor(now),
        };
        let generation = inner.generation;
        drop(inner);
        Found {
            hits,
            cursor,
            generation,
        }
    }

    /// The handshake cursor of `uuid` subscribing to `channels`: fresh, or just before its
    /// own join on one of them if that came less than `grace` ago (a heartbeat sent just
    /// before the handshake), so that the subscriber still receives its own join.
    pub(crate) fn handshake_cursor<S: AsRef<str>>(
        &self,
        now: SystemTime,
        uuid: &str,
        channels: &[S],
        grace: Duration,
    ) -> u64 {
        let fresh = self.cursor(now);
        if channels.is_empty() {
            return fresh;
        }
        let since = now.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
        let inner = read(&self.inner);
        inner
            .events
            .iter()
            .rev()
            .take_while(|e| e.at >= since)
            .filter(|e| {
                e.joined.as_deref() == Some(uuid)
                    && channels.iter().any(|c| c.as_ref() == &*e.channel)
            })
            .map(|e| e.tt.saturating_sub(1))
            .fold(fresh, u64::min)
    }

    fn push(&self, inner: &mut LogInner, now: SystemTime, channel: &Arc<str>, payload: String) {
        self.push_event(inner, now, channel, payload, None);
    }

    fn push_event(
        &self,
        inner: &mut LogInner,
        now: SystemTime,
        channel: &Arc<str>,
        payload: String,
        joined: Option<Arc<str>>,
    ) {
        let now_tt = events::timetoken(now);
        let mut tt = 0;
        let _ = self
            .stamp
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                tt = s.max(now_tt).saturating_add(1);
                Some(tt)
            });
        self.bump(inner);
        inner.events.push_back(Event {
            tt,
            at: now,
            channel: Arc::clone(channel),
            payload: Arc::from(payload),
            joined,
        });
    }
}

impl Hub {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<KeyLog>>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The log of `sub_key`, created when missing: events on the key are recorded from
    /// now on.
    pub(crate) fn watch(&self, sub_key: &str, now: SystemTime) -> Arc<KeyLog> {
        let log = {
            let mut keys = self.keys();
            if let Some(log) = keys.get(sub_key) {
                Arc::clone(log)
            } else {
                let key: Arc<str> = Arc::from(sub_key);
                let log = Arc::new(KeyLog::new(Arc::clone(&key)));
                keys.insert(key, Arc::clone(&log));
                log
            }
        };
        log.last_seen.store(unix_secs(now), Ordering::Relaxed);
        log.watched.store(true, Ordering::Relaxed);
        log
    }

    fn log_for(&self, sub_key: &Arc<str>) -> Arc<KeyLog> {
        let mut keys = self.keys();
        if let Some(log) = keys.get(sub_key) {
            Arc::clone(log)
        } else {
            let log = Arc::new(KeyLog::new(Arc::clone(sub_key)));
            keys.insert(Arc::clone(sub_key), Arc::clone(&log));
            log
        }
    }

    /// Turns store changes into events.
    pub(crate) fn publish(&self, config: &Config, changes: Vec<Change>, now: SystemTime) {
        let opts = config.events;
        let every = config.timeout_duration(opts.interval_secs);
        let timestamp = unix_secs(now);
        let mut touched: Vec<(Arc<KeyLog>, Vec<Arc<str>>)> = Vec::new();
        // `changes` come grouped by key in practice; look the log up when the key changes.
        let mut held: Option<Arc<KeyLog>> = None;
        for change in changes {
            let same = held.as_ref().is_some_and(|l| l.sub_key == change.sub_key);
            if !same {
                held = None;
                if !config.keyset(&change.sub_key).is_presence_enabled() {
                    continue;
                }
                let log = self.log_for(&change.sub_key);
                touched.push((Arc::clone(&log), Vec::new()));
                held = Some(log);
            }
            let Some(log) = held.as_ref() else { continue };
            let mut inner = write(&log.inner);
            let before = inner.generation;
            apply(log, &mut inner, &change, now, timestamp, every, opts);
            trim(log, &mut inner, opts.max_events);
            let pushed = inner.generation != before;
            drop(inner);
            if pushed {
                if let Some((_, channels)) = touched.last_mut() {
                    if !channels.contains(&change.channel) {
                        channels.push(Arc::clone(&change.channel));
                    }
                }
            }
        }
        for (log, channels) in touched {
            log.wake(&channels);
        }
    }

    /// Emits the interval events that are due, drops old events and forgets keys nobody
    /// subscribed to for a while.
    pub(crate) fn tick(&self, config: &Config, now: SystemTime) {
        let opts = config.events;
        let every = config.timeout_duration(opts.interval_secs);
        let max_age = config.timeout_duration(opts.max_age_secs);
        let timestamp = unix_secs(now);
        let logs: Vec<Arc<KeyLog>> = self.keys().values().cloned().collect();
        for log in &logs {
            let mut inner = write(&log.inner);
            let mut due: Vec<(Arc<str>, String)> = Vec::new();
            for (channel, iv) in &mut inner.intervals {
                if iv.due(now, every) {
                    let deltas = opts.deltas.then_some(&iv.deltas);
                    let payload = events::interval_payload(
                        timestamp,
                        iv.occupancy,
                        deltas,
                        opts.refresh_bytes,
                    );
                    iv.deltas = events::Deltas::default();
                    due.push((Arc::clone(channel), payload));
                }
            }
            let mut channels: Vec<Arc<str>> = Vec::with_capacity(due.len());
            for (channel, payload) in due {
                log.push(&mut inner, now, &channel, payload);
                channels.push(channel);
            }
            while inner
                .events
                .front()
                .is_some_and(|e| e.at.checked_add(max_age).is_some_and(|end| end <= now))
            {
                inner.events.pop_front();
                log.bump(&mut inner);
            }
            trim(log, &mut inner, opts.max_events);
            drop(inner);
            if !channels.is_empty() {
                log.wake(&channels);
            }
            log.shapes().prune();
        }
        drop(logs);
        let idle_secs = max_age.as_secs().max(1);
        let now_secs = unix_secs(now);
        self.keys().retain(|_, log| {
            let idle = now_secs.saturating_sub(log.last_seen.load(Ordering::Relaxed)) >= idle_secs;
            let unused = Arc::strong_count(log) == 1;
            let empty = read(&log.inner).events.is_empty();
            !(idle && unused && empty)
        });
    }

    /// (keys with a log, buffered events).
    pub(crate) fn sizes(&self) -> (usize, usize) {
        let keys = self.keys();
        let events = keys.values().map(|l| read(&l.inner).events.len()).sum();
        (keys.len(), events)
    }

    /// Forgets every log.
    pub(crate) fn reset(&self) {
        self.keys().clear();
    }
}

/// Drops the oldest events beyond the bound.
fn trim(log: &KeyLog, inner: &mut LogInner, max_events: usize) {
    let mut max = max_events.max(1);
    if !log.watched.load(Ordering::Relaxed) {
        max = max.min(UNWATCHED_EVENTS);
    }
    while inner.events.len() > max {
        inner.events.pop_front();
        log.bump(inner);
    }
}

/// One change → an event now, or a delta for the channel's next interval event.
fn apply(
    log: &KeyLog,
    inner: &mut LogInner,
    change: &Change,
    now: SystemTime,
    timestamp: u64,
    every: Duration,
    opts: interval::EventOptions,
) {
    if change.kind != ChangeKind::State {
        if change.occupancy > opts.announce_max {
            inner
                .intervals
                .entry(Arc::clone(&change.channel))
                .or_insert_with(|| Interval::new(now, every, change.occupancy))
                .record(change.kind, &change.uuid, change.occupancy);
            return;
        }
        // Back at or below announce max: flush what the interval had not sent yet.
        if let Some(iv) = inner.intervals.remove(&change.channel) {
            if !iv.deltas.is_empty() {
                let before = interval::occupancy_before(change.kind, change.occupancy);
                let payload = events::interval_payload(
                    timestamp,
                    before,
                    opts.deltas.then_some(&iv.deltas),
                    opts.refresh_bytes,
                );
                log.push(inner, now, &change.channel, payload);
            }
        }
    } else if let Some(iv) = inner.intervals.get_mut(&change.channel) {
        iv.occupancy = change.occupancy;
    }
    let joined = (change.kind == ChangeKind::Join).then(|| Arc::clone(&change.uuid));
    log.push_event(
        inner,
        now,
        &change.channel,
        events::single_payload(change, timestamp),
        joined,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(channels: &[&str]) -> Filter {
        let mut f = Filter::default();
        for c in channels {
            f.channel(c);
        }
        f
    }

    #[test]
    fn shapes_are_shared_and_replies_reused() {
        let log = KeyLog::new(Arc::from("k"));
        let a = log.shape(filter(&["x", "y"]));
        let b = log.shape(filter(&["y", "x"]));
        let c = log.shape(filter(&["z"]));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));

        let now = SystemTime::now();
        let cursor = log.cursor(now);
        assert!(a.answer(&log, cursor, 12, now, false).is_none());
        {
            let mut inner = write(&log.inner);
            log.push(&mut inner, now, &Arc::from("x"), "{}".into());
        }
        let first = a.answer(&log, cursor, 12, now, false).expect("an event");
        let again = b.answer(&log, cursor, 12, now, false).expect("an event");
        assert!(first.has_events);
        assert!(Arc::ptr_eq(&first, &again), "one reply per cursor");
        assert!(c.answer(&log, cursor, 12, now, false).is_none());
        // A new event makes a new reply.
        {
            let mut inner = write(&log.inner);
            log.push(&mut inner, now, &Arc::from("y"), "{}".into());
        }
        let newer = a.answer(&log, cursor, 12, now, false).expect("events");
        assert!(!Arc::ptr_eq(&first, &newer));
    }
}
