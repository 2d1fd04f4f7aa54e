//! `GET /v2/subscribe/{sk}/{channels}/0`: the cursor handshake, presence through subscribe,
//! and the long-poll's filter (§12.1 of the protocol spec).
//!
//! Names ending in `-pnpres` (channels or groups) select presence events; plain names make
//! the caller present, exactly like a heartbeat with the request's `heartbeat` and `state`.
//! A caller with only `-pnpres` names (an observer) is present nowhere.

use std::sync::Arc;
use std::time::SystemTime;

use super::Call;
use super::presence::{apply_heartbeat, parse_state};
use crate::config::Need;
use crate::events;
use crate::pubsub::{Encoded, Filter, KeyLog, Shape};
use crate::request::{BadRequest, Names, channel_list};
use crate::response::Reply;
use crate::shared::Shared;

pub(crate) use crate::pubsub::Quirk;

/// The suffix of presence channels and groups.
pub(crate) const PNPRES: &str = "-pnpres";
/// A join at most this many seconds (of `timeout_unit`) older than the handshake is still
/// delivered to the subscriber it belongs to.
const JOIN_GRACE_SECS: u32 = 2;
/// The region (`r`) of cursors and events.
pub(crate) const REGION: u32 = 12;

/// What to do with a subscribe request.
pub(crate) enum Prepared {
    /// Answer at once (the handshake).
    Now(Reply),
    /// Hold until an event is due or the hold time passes.
    Poll(Poll),
}

/// A long-poll ready to wait: a few words; the filter is shared by every poll with the
/// same subscription (see [`Shape`]).
pub(crate) struct Poll {
    pub(crate) log: Arc<KeyLog>,
    pub(crate) shape: Arc<Shape>,
    pub(crate) cursor: u64,
    pub(crate) region: u32,
}

impl Poll {
    /// The shared reply: `None` when no events are waiting and `or_empty` is false
    /// (otherwise whatever is waiting, possibly nothing, with a fresh cursor).
    pub(crate) fn shared_answer(&self, now: SystemTime, or_empty: bool) -> Option<Arc<Encoded>> {
        self.shape
            .answer(&self.log, self.cursor, self.region, now, or_empty)
    }

    /// The reply if events are waiting now (built for this poll alone, with `quirk`).
    pub(crate) fn ready(&self, now: SystemTime, quirk: Quirk) -> Option<Reply> {
        let found = self.log.collect(self.shape.filter(), self.cursor, now);
        (!found.is_empty()).then(|| self.reply(&found, quirk))
    }

    /// The reply with whatever is waiting now, possibly nothing (and a fresh cursor).
    pub(crate) fn answer_now(&self, shared: &Shared, quirk: Quirk) -> Reply {
        let found = self
            .log
            .collect(self.shape.filter(), self.cursor, shared.now());
        self.reply(&found, quirk)
    }

    fn reply(&self, found: &crate::pubsub::Found, quirk: Quirk) -> Reply {
        Reply::ok_text(found.body(self.log.sub_key(), self.region, quirk))
    }
}

/// Validates the request, makes the caller present on its plain channels and groups, and
/// returns the handshake reply or the poll to hold.
pub(crate) fn prepare(call: &Call<'_>, raw_channels: &str) -> Result<Prepared, Reply> {
    let channels = channel_list(raw_channels)?;
    let groups = call.query.groups()?;
    call.query.caller()?;
    if channels.is_empty() && groups.is_empty() {
        return Err(BadRequest::new("No channels or channel groups specified").into());
    }
    let cursor = match call.query.get("tt").map(str::trim) {
        None | Some("" | "0") => None,
        Some(raw) => Some(
            raw.parse::<u64>()
                .map_err(|_| BadRequest::new("Invalid timetoken"))?,
        ),
    };
    let region = call
        .query
        .get("tr")
        .and_then(|r| r.trim().parse::<u32>().ok())
        .unwrap_or(REGION);
    let keyed = call.query.get("state").map(parse_state).transpose()?;
    // Subscribing to `X` needs read on `X`; its events need read on `X-pnpres`.
    call.authorize(&channels, &groups, Need::Read)?;

    let (watched, plain): (Names<'_>, Names<'_>) =
        channels.into_iter().partition(|c| c.ends_with(PNPRES));
    let (watched_groups, plain_groups): (Vec<&str>, Vec<&str>) =
        groups.into_iter().partition(|g| g.ends_with(PNPRES));
    let presence = call.keyset.is_presence_enabled();
    let log = call.shared.hub.watch(&call.sub_key, call.now);
    // The handshake's cursor comes before its own join, so the join is delivered (also
    // when a heartbeat sent just before made the caller present: see `handshake_cursor`).
    let handshake = cursor.is_none().then(|| {
        let grace = call.shared.config.timeout_duration(JOIN_GRACE_SECS);
        let uuid = call.query.get("uuid").unwrap_or_default();
        let mut mine: Vec<String> = plain.iter().map(|c| c.to_string()).collect();
        if !plain_groups.is_empty() {
            let store = call.store();
            for g in &plain_groups {
                mine.extend(store.group_channels(&call.sub_key, g));
            }
        }
        log.handshake_cursor(call.now, uuid, &mine, grace)
    });
    if presence && !(plain.is_empty() && plain_groups.is_empty()) {
        apply_heartbeat(call, plain, &plain_groups, keyed.as_ref())?;
    }
    if let Some(tt) = handshake {
        return Ok(Prepared::Now(Reply::ok_text(events::reply_body(
            tt,
            region,
            &[],
        ))));
    }
    let mut filter = Filter::default();
    if presence {
        for c in &watched {
            filter.channel(c.strip_suffix(PNPRES).unwrap_or(c));
        }
        if !watched_groups.is_empty() {
            let store = call.store();
            for g in &watched_groups {
                let base = g.strip_suffix(PNPRES).unwrap_or(g);
                filter.group(base, store.group_channels(&call.sub_key, base));
            }
        }
    }
    let shape = log.shape(filter);
    Ok(Prepared::Poll(Poll {
        log,
        shape,
        cursor: cursor.unwrap_or(0),
        region,
    }))
}
