//! get_state and set_state.
//!
//! A request naming exactly one channel and no group gets the single form; any other gets
//! the multi form (`payload.channels`, every resolved channel, `{}` where there is no
//! state). When the channels resolve to none (an empty or unknown group), the reply is
//! HTTP 200 with the body status 400 "No valid channels specified", as the service does.

use serde_json::{Map, Value, json};

use super::presence::parse_state;
use super::{Call, resolve};
use crate::config::Need;
use crate::request::{BadRequest, channel_list, segment};
use crate::response::Reply;

pub(super) fn get_state(
    call: &Call<'_>,
    raw_channels: &str,
    raw_uuid: &str,
) -> Result<Reply, Reply> {
    let channels = channel_list(raw_channels)?;
    let groups = call.query.groups()?;
    let uuid = segment(raw_uuid, "uuid")?;
    call.query.caller()?;
    call.authorize(&channels, &groups, Need::Read)?;
    let single = channels.len() == 1 && groups.is_empty();
    let store = call.store();
    let all = resolve(&store, &call.sub_key, channels, &groups)?;
    if all.is_empty() {
        return Ok(Reply::no_valid_channels());
    }
    let state_of = |ch: &str| {
        store
            .state(&call.sub_key, &uuid, ch)
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()))
    };
    if let ([channel], true) = (all.as_slice(), single) {
        return Ok(Reply::ok(&json!({
            "channel": channel,
            "message": "OK",
            "payload": state_of(channel),
            "service": "Presence",
            "status": 200,
            "uuid": uuid,
        })));
    }
    let map: Map<String, Value> = all
        .iter()
        .map(|ch| (ch.to_string(), state_of(ch)))
        .collect();
    Ok(Reply::ok(&json!({
        "message": "OK",
        "payload": {"channels": map},
        "service": "Presence",
        "status": 200,
        "uuid": uuid,
    })))
}

pub(super) fn set_state(
    call: &Call<'_>,
    raw_channels: &str,
    raw_uuid: &str,
) -> Result<Reply, Reply> {
    let channels = channel_list(raw_channels)?;
    let groups = call.query.groups()?;
    let uuid = segment(raw_uuid, "uuid")?;
    call.query.caller()?;
    let Some(raw_state) = call.query.get("state") else {
        return Err(BadRequest::new("Missing state").into());
    };
    let state = parse_state(raw_state)?;
    call.authorize(&channels, &groups, Need::Read)?;
    let mut store = call.store();
    let all = resolve(&store, &call.sub_key, channels, &groups)?;
    if all.is_empty() {
        return Ok(Reply::no_valid_channels());
    }
    let state = Value::Object(state);
    if !call.dry_run {
        let orphan_expires = call
            .shared
            .config
            .deadline(call.now, crate::DEFAULT_PRESENCE_TIMEOUT);
        let stored = state
            .as_object()
            .is_some_and(|m| !m.is_empty())
            .then_some(&state);
        store.set_state(&call.sub_key, &uuid, &all, stored, orphan_expires);
    }
    Ok(Reply::ok(&json!({
        "message": "OK",
        "payload": state,
        "service": "Presence",
        "status": 200,
    })))
}
