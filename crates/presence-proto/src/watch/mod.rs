//! Watching presence events: the Sans-IO [`Watch`] machine over the subscribe long-poll, what
//! it reports ([`WatchItem`]) and the requests it asks for ([`WatchRequest`]).

mod item;
mod live_roster;
mod machine;
mod options;
mod request;
#[cfg(test)]
mod tests;

pub use item::{GapReason, WatchItem};
pub use live_roster::{LiveRoster, RosterItem, RosterReply, RosterRequest};
pub use machine::{Watch, WatchToken};
pub use options::WatchOptions;
pub use request::WatchRequest;
