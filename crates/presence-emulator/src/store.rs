//! In-memory presence state: who is on which channel until when, their state, and the
//! channel groups, all namespaced by subscribe key.
//!
//! Every (channel, uuid) pair is one [`Entry`]. An entry is *present* once a heartbeat
//! joined it; an entry created by set_state alone carries state but is not present (it
//! does not show in here now or where now) and lives for the default presence timeout.
//! Expiry is indexed by time, so sweeping costs only the entries that expired.
//!
//! The index is updated lazily: a keep-alive heartbeat, which pushes an entry's deadline
//! further out, only records the new deadline in the entry, and leaves the entry's index
//! key where it was (always at or before the real deadline). When a sweep reaches that key
//! it either expires the entry or moves the key to the real deadline, so each entry costs
//! the index about one update per timeout period instead of one per heartbeat. A deadline
//! that moves *earlier* (a shorter timeout, a clock set back) updates the index at once.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use crate::events::{Change, ChangeKind};
use crate::sizes::Sizes;

/// At most this many channels in one channel group (the service's documented limit).
pub(crate) const MAX_CHANNELS_PER_GROUP: usize = 2000;
/// At most this many channel groups per subscribe key.
pub(crate) const MAX_GROUPS_PER_KEYSET: usize = 10_000;

/// Running totals kept beside the state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Books {
    seq: u64,
    /// (uuid, channel) pairs currently present.
    pub(crate) present: u64,
    /// (uuid, channel) pairs that ever expired.
    pub(crate) timed_out: u64,
    /// (uuid, channel) pairs that ever left explicitly.
    pub(crate) left: u64,
}

impl Books {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// The namespace of `sub_key`, created when missing; looked up by `&str` first, so the
/// common case hashes once and allocates nothing. (A macro: a function returning the
/// reference could not fall back to inserting under today's borrow checker.)
macro_rules! namespace_mut {
    ($namespaces:expr, $sub_key:expr) => {
        match $namespaces.get_mut($sub_key) {
            Some(ns) => ns,
            None => $namespaces
                .entry($sub_key.to_owned())
                .or_insert_with(|| Namespace::new($sub_key)),
        }
    };
}

/// The whole emulator state.
#[derive(Default)]
pub(crate) struct Store {
    namespaces: HashMap<String, Namespace>,
    books: Books,
    /// Presence changes (join, leave, timeout, state change) not yet published as events.
    changes: Vec<Change>,
}

/// (deadline, seq) → (channel, uuid).
type ExpiryIndex = BTreeMap<(SystemTime, u64), (Arc<str>, Arc<str>)>;

struct Namespace {
    /// The subscribe key (for the presence changes this namespace records).
    key: Arc<str>,
    channels: HashMap<Arc<str>, Channel>,
    /// uuid → sorted channels where it is present.
    users: HashMap<Arc<str>, Vec<Arc<str>>>,
    /// (expiry, seq) → (channel, uuid), for every entry (see the module docs).
    expiry: ExpiryIndex,
    groups: BTreeMap<String, BTreeSet<String>>,
}

/// One channel: its entries, and the present ones in join order.
pub(crate) struct Channel {
    /// The channel's name (shared with the namespace's map key and indexes).
    name: Arc<str>,
    entries: HashMap<Arc<str>, Entry>,
    order: BTreeMap<u64, Arc<str>>,
    /// The JSON array of all present uuids, built on first use after each join or removal
    /// (here now's most common body part).
    uuids_json: OnceCell<String>,
}

struct Entry {
    joined: Option<u64>,
    /// The real deadline (and a sequence number that makes the key unique).
    expires: (SystemTime, u64),
    /// This entry's key in the expiry index: at or before `expires`.
    indexed: (SystemTime, u64),
    state: Option<Value>,
}

impl Entry {
    fn new(key: (SystemTime, u64), state: Option<Value>) -> Self {
        Self {
            joined: None,
            expires: key,
            indexed: key,
            state,
        }
    }
}

/// Why an entry goes away.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Removal {
    Expired,
    Left,
}

/// Why a channel-group change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupError {
    TooManyChannels,
    TooManyGroups,
}

impl Channel {
    fn new(name: Arc<str>) -> Self {
        Self {
            name,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            uuids_json: OnceCell::new(),
        }
    }

    /// Number of present users.
    pub(crate) fn occupancy(&self) -> usize {
        self.order.len()
    }

    /// All present uuids as a JSON array of strings, e.g. `["a","b"]`.
    pub(crate) fn uuids_json(&self) -> &str {
        self.uuids_json.get_or_init(|| {
            let mut out = String::with_capacity(2 + self.order.len() * 16);
            out.push('[');
            for (i, uuid) in self.uuids().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::json::write_str(&mut out, uuid);
            }
            out.push(']');
            out
        })
    }

    /// Present users in join order.
    pub(crate) fn uuids(&self) -> impl Iterator<Item = &str> {
        self.order.values().map(|uuid| &**uuid)
    }

    /// Present users in join order, each with its state on this channel.
    pub(crate) fn occupants(&self) -> impl Iterator<Item = (&str, Option<&Value>)> {
        self.order.values().map(|uuid| {
            let state = self.entries.get(uuid).and_then(|e| e.state.as_ref());
            (&**uuid, state)
        })
    }
}

impl Store {
    /// Drops every entry (of every key) whose expiry is at or before `now`.
    pub(crate) fn sweep_all(&mut self, now: SystemTime) {
        let (books, changes) = (&mut self.books, &mut self.changes);
        self.namespaces.retain(|_, ns| {
            ns.sweep(now, books, changes);
            !ns.is_empty()
        });
    }

    /// Drops the expired entries of one key.
    pub(crate) fn sweep(&mut self, sub_key: &str, now: SystemTime) {
        if let Some(ns) = self.namespaces.get_mut(sub_key) {
            ns.sweep(now, &mut self.books, &mut self.changes);
        }
    }

    /// Takes the presence changes recorded since the last call.
    pub(crate) fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// Whether presence changes are waiting to be published.
    pub(crate) fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Forgets everything, including the totals.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// Running totals.
    pub(crate) fn books(&self) -> Books {
        self.books
    }

    /// How much is stored (walks every channel and group: for tests, not for requests).
    pub(crate) fn sizes(&self) -> Sizes {
        let mut sizes = Sizes::default();
        for ns in self.namespaces.values() {
            sizes.subscribe_keys += 1;
            sizes.channels += ns.channels.len();
            sizes.entries += ns.channels.values().map(|c| c.entries.len()).sum::<usize>();
            sizes.expiry_index += ns.expiry.len();
            sizes.users += ns.users.len();
            sizes.channel_groups += ns.groups.len();
            sizes.group_channels += ns.groups.values().map(BTreeSet::len).sum::<usize>();
        }
        sizes
    }

    /// Joins (or keeps alive) `uuid` on `channels` until `expires`; `states` replaces the
    /// state on the channels it names (`None` clears it). Sweeps the key at `now` first
    /// (so callers need not).
    pub(crate) fn heartbeat<S: AsRef<str>>(
        &mut self,
        sub_key: &str,
        now: SystemTime,
        uuid: &str,
        channels: &[S],
        expires: SystemTime,
        states: &HashMap<String, Option<Value>>,
    ) {
        let ns = namespace_mut!(self.namespaces, sub_key);
        ns.sweep(now, &mut self.books, &mut self.changes);
        let Namespace {
            key,
            channels: chans,
            users,
            expiry,
            ..
        } = ns;
        let mut beat = Beat {
            key,
            uuid,
            uuid_arc: None,
            users,
            expiry,
            books: &mut self.books,
            changes: &mut self.changes,
        };
        for name in channels {
            let name = name.as_ref();
            let state = states.get(name);
            // Looked up by `&str` first: a heartbeat on a known channel allocates nothing.
            if let Some(chan) = chans.get_mut(name) {
                beat.on(chan, expires, state);
            } else {
                let name: Arc<str> = Arc::from(name);
                let chan = chans
                    .entry(Arc::clone(&name))
                    .or_insert_with(|| Channel::new(name));
                beat.on(chan, expires, state);
            }
        }
    }

    /// Removes `uuid` from `channels` at once (state included).
    pub(crate) fn leave<S: AsRef<str>>(&mut self, sub_key: &str, uuid: &str, channels: &[S]) {
        let Some(ns) = self.namespaces.get_mut(sub_key) else {
            return;
        };
        for ch in channels {
            ns.remove_entry(
                ch.as_ref(),
                uuid,
                Removal::Left,
                true,
                &mut self.books,
                &mut self.changes,
            );
        }
        if ns.is_empty() {
            self.namespaces.remove(sub_key);
        }
    }

    /// Sets (`Some`) or clears (`None`) `uuid`'s state on `channels`. A user who is not
    /// present keeps the state until `orphan_expires`.
    pub(crate) fn set_state<S: AsRef<str>>(
        &mut self,
        sub_key: &str,
        uuid: &str,
        channels: &[S],
        state: Option<&Value>,
        orphan_expires: SystemTime,
    ) {
        let ns = namespace_mut!(self.namespaces, sub_key);
        let uuid_arc = ns.intern_uuid(uuid);
        for name in channels {
            let name = name.as_ref();
            let joined = ns
                .channels
                .get(name)
                .and_then(|c| c.entries.get(uuid))
                .map(|e| e.joined.is_some());
            match (joined, state) {
                (Some(false), None) => {
                    ns.remove_entry(
                        name,
                        uuid,
                        Removal::Left,
                        true,
                        &mut self.books,
                        &mut self.changes,
                    );
                }
                (Some(present), _) => {
                    let Namespace {
                        key,
                        channels: chans,
                        expiry,
                        ..
                    } = &mut *ns;
                    let Some(chan) = chans.get_mut(name) else {
                        continue;
                    };
                    let occupancy = chan.occupancy();
                    let chan_name = Arc::clone(&chan.name);
                    if let Some(entry) = chan.entries.get_mut(uuid) {
                        if present {
                            self.changes.push(Change {
                                sub_key: Arc::clone(key),
                                channel: chan_name,
                                uuid: Arc::clone(&uuid_arc),
                                kind: ChangeKind::State,
                                occupancy,
                                state: Some(state.cloned().unwrap_or_else(empty_object)),
                            });
                        }
                        entry.state = state.cloned();
                        if !present {
                            // State-only entries live for the default timeout from the last set.
                            if let Some(names) = expiry.remove(&entry.indexed) {
                                entry.expires = (orphan_expires, self.books.next());
                                entry.indexed = entry.expires;
                                expiry.insert(entry.indexed, names);
                            }
                        }
                    }
                }
                (None, Some(s)) => {
                    let ch_arc = ns.intern_channel(name);
                    let key = (orphan_expires, self.books.next());
                    ns.expiry.insert(key, (ch_arc.clone(), uuid_arc.clone()));
                    ns.channels
                        .entry(Arc::clone(&ch_arc))
                        .or_insert_with(|| Channel::new(ch_arc))
                        .entries
                        .insert(uuid_arc.clone(), Entry::new(key, Some(s.clone())));
                }
                (None, None) => {}
            }
        }
        if ns.is_empty() {
            self.namespaces.remove(sub_key);
        }
    }

    /// `uuid`'s state on `channel`, if any.
    pub(crate) fn state(&self, sub_key: &str, uuid: &str, channel: &str) -> Option<&Value> {
        self.namespaces
            .get(sub_key)?
            .channels
            .get(channel)?
            .entries
            .get(uuid)?
            .state
            .as_ref()
    }

    /// A channel, if anything is stored on it.
    pub(crate) fn channel(&self, sub_key: &str, channel: &str) -> Option<&Channel> {
        self.namespaces.get(sub_key)?.channels.get(channel)
    }

    /// Every channel of `sub_key` with at least one present user, sorted by name.
    pub(crate) fn occupied_channels(&self, sub_key: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .namespaces
            .get(sub_key)
            .map(|ns| {
                ns.channels
                    .iter()
                    .filter(|(_, c)| c.occupancy() > 0)
                    .map(|(name, _)| name.to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    /// Channels where `uuid` is present, sorted by name.
    pub(crate) fn where_now(&self, sub_key: &str, uuid: &str) -> Vec<String> {
        self.namespaces
            .get(sub_key)
            .and_then(|ns| ns.users.get(uuid))
            .map(|list| list.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default()
    }

    /// The channels of `group` (empty when the group does not exist), sorted.
    pub(crate) fn group_channels(&self, sub_key: &str, group: &str) -> Vec<String> {
        self.namespaces
            .get(sub_key)
            .and_then(|ns| ns.groups.get(group))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every group name of `sub_key`, sorted.
    pub(crate) fn group_names(&self, sub_key: &str) -> Vec<String> {
        self.namespaces
            .get(sub_key)
            .map(|ns| ns.groups.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds `channels` to `group`, creating it.
    pub(crate) fn group_add(
        &mut self,
        sub_key: &str,
        group: &str,
        channels: &[String],
    ) -> Result<(), GroupError> {
        let ns = namespace_mut!(self.namespaces, sub_key);
        if !ns.groups.contains_key(group) && ns.groups.len() >= MAX_GROUPS_PER_KEYSET {
            return Err(GroupError::TooManyGroups);
        }
        let set = ns.groups.entry(group.to_owned()).or_default();
        let new = channels.iter().filter(|c| !set.contains(*c)).count();
        if set.len() + new > MAX_CHANNELS_PER_GROUP {
            if set.is_empty() {
                ns.groups.remove(group);
            }
            return Err(GroupError::TooManyChannels);
        }
        set.extend(channels.iter().cloned());
        Ok(())
    }

    /// Removes `channels` from `group`; an emptied group disappears.
    pub(crate) fn group_remove(&mut self, sub_key: &str, group: &str, channels: &[String]) {
        let Some(ns) = self.namespaces.get_mut(sub_key) else {
            return;
        };
        if let Some(set) = ns.groups.get_mut(group) {
            for c in channels {
                set.remove(c);
            }
            if set.is_empty() {
                ns.groups.remove(group);
            }
        }
        if ns.is_empty() {
            self.namespaces.remove(sub_key);
        }
    }

    /// Deletes `group`.
    pub(crate) fn group_delete(&mut self, sub_key: &str, group: &str) {
        if let Some(ns) = self.namespaces.get_mut(sub_key) {
            ns.groups.remove(group);
            if ns.is_empty() {
                self.namespaces.remove(sub_key);
            }
        }
    }
}

/// One heartbeat's walk over its channels.
struct Beat<'s> {
    key: &'s Arc<str>,
    uuid: &'s str,
    /// The interned uuid, looked up once the first time an entry needs it.
    uuid_arc: Option<Arc<str>>,
    users: &'s mut HashMap<Arc<str>, Vec<Arc<str>>>,
    expiry: &'s mut ExpiryIndex,
    books: &'s mut Books,
    changes: &'s mut Vec<Change>,
}

impl Beat<'_> {
    fn uuid_arc(&mut self) -> Arc<str> {
        let (users, uuid) = (&*self.users, self.uuid);
        Arc::clone(self.uuid_arc.get_or_insert_with(|| {
            users
                .get_key_value(uuid)
                .map_or_else(|| Arc::from(uuid), |(k, _)| Arc::clone(k))
        }))
    }

    /// Joins or keeps alive the uuid on `chan` until `expires`; `state` (when the heartbeat
    /// names this channel's state) replaces the stored state.
    fn on(&mut self, chan: &mut Channel, expires: SystemTime, state: Option<&Option<Value>>) {
        let key = (expires, self.books.next());
        let entry = if let Some(entry) = chan.entries.get_mut(self.uuid) {
            if key < entry.indexed {
                // The deadline moves earlier: the index must follow now.
                let names = self.expiry.remove(&entry.indexed);
                let names = match names {
                    Some(names) => names,
                    None => (Arc::clone(&chan.name), self.uuid_arc()),
                };
                self.expiry.insert(key, names);
                entry.indexed = key;
            }
            // Otherwise the index key stays behind; the sweep catches up (module docs).
            entry.expires = key;
            entry
        } else {
            let uuid = self.uuid_arc();
            self.expiry
                .insert(key, (Arc::clone(&chan.name), Arc::clone(&uuid)));
            chan.entries
                .entry(uuid)
                .or_insert_with(|| Entry::new(key, None))
        };
        let joined = entry.joined.is_none();
        let state_changed = state.is_some_and(|s| *s != entry.state);
        if let Some(state) = state {
            entry.state.clone_from(state);
        }
        let new_state = entry.state.clone();
        if joined {
            let seq = self.books.next();
            entry.joined = Some(seq);
            let uuid = self.uuid_arc();
            chan.order.insert(seq, Arc::clone(&uuid));
            chan.uuids_json.take();
            let list = self.users.entry(uuid).or_default();
            if let Err(pos) = list.binary_search(&chan.name) {
                list.insert(pos, Arc::clone(&chan.name));
            }
            self.books.present += 1;
        }
        if joined || state_changed {
            let (kind, state) = if joined {
                (ChangeKind::Join, new_state)
            } else {
                (
                    ChangeKind::State,
                    Some(new_state.unwrap_or_else(empty_object)),
                )
            };
            let uuid = self.uuid_arc();
            self.changes.push(Change {
                sub_key: Arc::clone(self.key),
                channel: Arc::clone(&chan.name),
                uuid,
                kind,
                occupancy: chan.order.len(),
                state,
            });
        }
    }
}

/// `{}`: the state a state change to "no state" carries.
fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl Namespace {
    fn new(key: &str) -> Self {
        Self {
            key: Arc::from(key),
            channels: HashMap::new(),
            users: HashMap::new(),
            expiry: BTreeMap::new(),
            groups: BTreeMap::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.groups.is_empty() && self.users.is_empty()
    }

    fn intern_uuid(&self, uuid: &str) -> Arc<str> {
        self.users
            .get_key_value(uuid)
            .map_or_else(|| Arc::from(uuid), |(k, _)| k.clone())
    }

    fn intern_channel(&self, name: &str) -> Arc<str> {
        self.channels
            .get_key_value(name)
            .map_or_else(|| Arc::from(name), |(k, _)| k.clone())
    }

    fn sweep(&mut self, now: SystemTime, books: &mut Books, changes: &mut Vec<Change>) {
        while let Some(first) = self.expiry.first_entry() {
            if first.key().0 > now {
                break;
            }
            let (ch, uuid) = first.remove();
            let entry = self
                .channels
                .get_mut(&ch)
                .and_then(|c| c.entries.get_mut(&uuid));
            match entry {
                // Kept alive since it was indexed: move the key to the real deadline.
                Some(entry) if entry.expires.0 > now => {
                    entry.indexed = entry.expires;
                    self.expiry.insert(entry.indexed, (ch, uuid));
                }
                Some(_) => self.remove_entry(&ch, &uuid, Removal::Expired, false, books, changes),
                None => {}
            }
        }
    }

    /// Removes the (channel, uuid) entry; `unindex` also drops its expiry index key (false
    /// when the caller already popped it).
    fn remove_entry(
        &mut self,
        ch: &str,
        uuid: &str,
        why: Removal,
        unindex: bool,
        books: &mut Books,
        changes: &mut Vec<Change>,
    ) {
        let Some(chan) = self.channels.get_mut(ch) else {
            return;
        };
        let Some((uuid_arc, entry)) = chan.entries.remove_entry(uuid) else {
            return;
        };
        if unindex {
            self.expiry.remove(&entry.indexed);
        }
        if let Some(seq) = entry.joined {
            chan.order.remove(&seq);
            chan.uuids_json.take();
            if let Some(list) = self.users.get_mut(uuid) {
                list.retain(|c| &**c != ch);
                if list.is_empty() {
                    self.users.remove(uuid);
                }
            }
            books.present = books.present.saturating_sub(1);
            let kind = match why {
                Removal::Expired => {
                    books.timed_out += 1;
                    ChangeKind::Timeout
                }
                Removal::Left => {
                    books.left += 1;
                    ChangeKind::Leave
                }
            };
            changes.push(Change {
                sub_key: Arc::clone(&self.key),
                channel: Arc::clone(&chan.name),
                uuid: uuid_arc,
                kind,
                occupancy: chan.order.len(),
                state: None,
            });
        }
        if chan.entries.is_empty() {
            self.channels.remove(ch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, UNIX_EPOCH};

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn join_expire_exactly_at_deadline() {
        let mut s = Store::default();
        s.heartbeat("k", t(0), "u", &names(&["a", "b"]), t(10), &HashMap::new());
        assert_eq!(s.books().present, 2);
        assert_eq!(s.where_now("k", "u"), names(&["a", "b"]));
        s.sweep("k", t(9));
        assert_eq!(s.books().present, 2);
        s.sweep_all(t(10));
        assert_eq!(s.books().present, 0);
        assert_eq!(s.books().timed_out, 2);
        assert!(s.where_now("k", "u").is_empty());
        assert!(s.namespaces.is_empty());
    }

    #[test]
    fn heartbeat_extends_and_keeps_join_order() {
        let mut s = Store::default();
        s.heartbeat("k", t(0), "b", &names(&["c"]), t(10), &HashMap::new());
        s.heartbeat("k", t(0), "a", &names(&["c"]), t(10), &HashMap::new());
        s.heartbeat("k", t(0), "b", &names(&["c"]), t(20), &HashMap::new());
        s.sweep("k", t(15));
        let chan = s.channel("k", "c");
        let order: Vec<&str> = chan
            .map(|c| c.occupants().map(|o| o.0).collect())
            .unwrap_or_default();
        assert_eq!(order, vec!["b"]);
        assert_eq!(s.expiry_len("k"), 1);
    }

    #[test]
    fn keep_alive_index_catches_up_and_earlier_deadlines_apply_at_once() {
        let mut s = Store::default();
        let none = HashMap::new();
        s.heartbeat("k", t(0), "u", &names(&["c"]), t(10), &none);
        // Kept alive twice: the index key stays at 10, the entry lives until 30.
        s.heartbeat("k", t(5), "u", &names(&["c"]), t(20), &none);
        s.heartbeat("k", t(9), "u", &names(&["c"]), t(30), &none);
        assert_eq!(s.expiry_len("k"), 1);
        s.sweep("k", t(10));
        assert_eq!(
            s.books().present,
            1,
            "swept at the stale index key, not expired"
        );
        assert_eq!(s.expiry_len("k"), 1);
        s.sweep("k", t(29));
        assert_eq!(s.books().present, 1);
        s.sweep("k", t(30));
        assert_eq!((s.books().present, s.books().timed_out), (0, 1));
        assert_eq!(s.expiry_len("k"), 0);

        // A shorter timeout moves the deadline earlier: it applies at once.
        s.heartbeat("k", t(40), "v", &names(&["c"]), t(340), &none);
        s.heartbeat("k", t(41), "v", &names(&["c"]), t(51), &none);
        s.sweep("k", t(50));
        assert_eq!(s.books().present, 1);
        s.sweep("k", t(51));
        assert_eq!(s.books().present, 0);

        // Leave removes the entry and its (stale) index key.
        s.heartbeat("k", t(60), "w", &names(&["c"]), t(70), &none);
        s.heartbeat("k", t(61), "w", &names(&["c"]), t(90), &none);
        s.leave("k", "w", &names(&["c"]));
        assert_eq!(s.expiry_len("k"), 0);
        assert!(s.namespaces.is_empty());
    }

    #[test]
    fn state_lives_with_presence() {
        let mut s = Store::default();
        let mut st = HashMap::new();
        st.insert("c".to_owned(), Some(json!({"mood": "ok"})));
        s.heartbeat("k", t(0), "u", &names(&["c"]), t(10), &st);
        assert_eq!(s.state("k", "u", "c"), Some(&json!({"mood": "ok"})));
        s.leave("k", "u", &names(&["c"]));
        assert_eq!(s.state("k", "u", "c"), None);
        assert_eq!(s.books().left, 1);
        assert_eq!(s.expiry_len("k"), 0);
    }

    #[test]
    fn orphan_state_expires_silently() {
        let mut s = Store::default();
        s.set_state("k", "u", &names(&["c"]), Some(&json!({"a": 0})), t(3));
        s.set_state("k", "u", &names(&["c"]), Some(&json!({"a": 1})), t(5));
        s.sweep_all(t(4));
        assert_eq!(s.state("k", "u", "c"), Some(&json!({"a": 1})));
        assert_eq!(s.expiry_len("k"), 1);
        assert_eq!(s.channel("k", "c").map(Channel::occupancy), Some(0));
        s.sweep_all(t(5));
        assert_eq!(s.state("k", "u", "c"), None);
        assert_eq!(
            s.books(),
            Books {
                seq: s.books.seq,
                ..Books::default()
            }
        );
        s.set_state("k", "u", &names(&["c"]), Some(&json!({"a": 1})), t(50));
        s.set_state("k", "u", &names(&["c"]), None, t(50));
        assert!(s.namespaces.is_empty());
    }

    #[test]
    fn groups() {
        let mut s = Store::default();
        assert_eq!(s.group_add("k", "g", &names(&["b", "a"])), Ok(()));
        assert_eq!(s.group_channels("k", "g"), names(&["a", "b"]));
        s.group_remove("k", "g", &names(&["a"]));
        assert_eq!(s.group_channels("k", "g"), names(&["b"]));
        s.group_delete("k", "g");
        assert!(s.group_channels("k", "g").is_empty());
        let many: Vec<String> = (0..=MAX_CHANNELS_PER_GROUP)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(
            s.group_add("k", "g", &many),
            Err(GroupError::TooManyChannels)
        );
        assert!(s.group_names("k").is_empty());
    }

    impl Store {
        fn expiry_len(&self, k: &str) -> usize {
            self.namespaces.get(k).map_or(0, |ns| ns.expiry.len())
        }
    }
}
