//! The tracked channels, with the latest one looked up remembered: a burst of events for one
//! channel (the usual case) skips hashing its name.

use std::collections::HashMap;
use std::sync::Arc;

use super::Channel;

#[derive(Clone, Debug, Default)]
pub(super) struct Channels {
    slots: Vec<Channel>,
    index: HashMap<Arc<str>, usize>,
    /// The slot of the latest `get_mut`.
    last: usize,
}

impl Channels {
    pub(super) fn get(&self, name: &str) -> Option<&Channel> {
        self.slots.get(*self.index.get(name)?)
    }

    pub(super) fn get_mut(&mut self, name: &str) -> Option<&mut Channel> {
        let hit = self.slots.get(self.last).is_some_and(|c| *c.name == *name);
        if !hit {
            self.last = *self.index.get(name)?;
        }
        self.slots.get_mut(self.last)
    }

    pub(super) fn contains_key(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Adds `channel` (its name must not be tracked yet).
    pub(super) fn insert(&mut self, channel: Channel) {
        self.last = self.slots.len();
        self.index.insert(Arc::clone(&channel.name), self.last);
        self.slots.push(channel);
    }

    pub(super) fn remove(&mut self, name: &str) -> Option<Channel> {
        let slot = self.index.remove(name)?;
        let removed = self.slots.swap_remove(slot);
        if let Some(moved) = self.slots.get(slot) {
            self.index.insert(Arc::clone(&moved.name), slot);
        }
        Some(removed)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Channel> {
        self.slots.iter()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Channel> {
        self.slots.iter_mut()
    }
}
