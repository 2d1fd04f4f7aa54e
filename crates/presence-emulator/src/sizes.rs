//! [`Sizes`]: what the emulator holds right now, for tests that check memory stays bounded.
//! Its own file so that the store (which fills it) and the stats (which count requests)
//! do not import each other.

use serde::Serialize;

/// What the emulator holds right now, from
/// [`EmulatorHandle::sizes`](crate::EmulatorHandle::sizes) or `GET /_emulator/sizes`: for
/// tests that check memory stays bounded (every number returns to 0 once everything has
/// expired or left and the connections are closed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Sizes {
    /// Subscribe keys with anything stored.
    pub subscribe_keys: usize,
    /// Channels with at least one entry.
    pub channels: usize,
    /// (channel, uuid) entries: present users and state kept for users who are not present.
    pub entries: usize,
    /// Entries in the expiry index (one per entry).
    pub expiry_index: usize,
    /// Uuids present on at least one channel (the where-now index).
    pub users: usize,
    /// Channel groups.
    pub channel_groups: usize,
    /// Channel names held in channel groups, summed over the groups.
    pub group_channels: usize,
    /// TCP connections open right now.
    pub open_connections: usize,
    /// Subscribe long-polls being held right now.
    pub held_polls: usize,
    /// Subscribe keys with a presence event log (kept while subscribers come back).
    pub event_logs: usize,
    /// Presence events buffered for subscribers, over all keys.
    pub buffered_events: usize,
}
