//! heartbeat (join / keep alive, with optional keyed state) and leave.

use std::collections::HashMap;

use serde_json::Value;

use super::{Call, resolve};
use crate::config::Need;
use crate::request::{BadRequest, Names, channel_list};
use crate::response::{HEARTBEAT_ACK, LEAVE_ACK, Reply};

/// State JSON longer than this (decoded, in bytes) is refused (the URL limit alone would
/// allow about 32 KiB).
pub(super) const MAX_STATE_BYTES: usize = 16 * 1024;

pub(super) fn heartbeat(call: &Call<'_>, raw_channels: &str) -> Result<Reply, Reply> {
    let channels = channel_list(raw_channels)?;
    let groups = call.query.groups()?;
    call.query.caller()?;
    if channels.is_empty() && groups.is_empty() {
        return Err(BadRequest::new("No channels or channel groups specified").into());
    }
    let keyed = call.query.get("state").map(parse_state).transpose()?;
    call.authorize(&channels, &groups, Need::Read)?;
    apply_heartbeat(call, channels, &groups, keyed.as_ref())?;
    Ok(Reply::ok_text(HEARTBEAT_ACK))
}

/// Joins or keeps the caller present on `channels` and the channels of `groups` (after
/// validation and authorization), with the keyed `state`: a heartbeat, or a subscribe.
pub(super) fn apply_heartbeat(
    call: &Call<'_>,
    channels: Names<'_>,
    groups: &[&str],
    keyed: Option<&serde_json::Map<String, Value>>,
) -> Result<(), Reply> {
    let uuid = call.query.caller()?;
    let timeout = call
        .shared
        .config
        .effective_timeout(call.query.get("heartbeat"));
    let expires = call.shared.config.deadline(call.now, timeout);

    // Not `call.store()`: the heartbeat sweeps the key itself, in the same lookup.
    let mut store = call.shared.store();
    let all = resolve(&store, &call.sub_key, channels, groups)?;
    let mut states: HashMap<String, Option<Value>> = HashMap::new();
    if let Some(keyed) = keyed {
        // Group-keyed state first, so a channel's own key wins.
        for g in groups {
            if let Some(v) = keyed.get(*g) {
                let v = state_value(v, g)?;
                for ch in store.group_channels(&call.sub_key, g) {
                    states.insert(ch, v.clone());
                }
            }
        }
        for ch in &all {
            if let Some(v) = keyed.get(ch.as_ref()) {
                states.insert(ch.to_string(), state_value(v, ch)?);
            }
        }
    }
    if !call.dry_run {
        store.heartbeat(&call.sub_key, call.now, uuid, &all, expires, &states);
    }
    Ok(())
}

pub(super) fn leave(call: &Call<'_>, raw_channels: &str) -> Result<Reply, Reply> {
    let channels = channel_list(raw_channels)?;
    let groups = call.query.groups()?;
    let uuid = call.query.caller()?;
    if channels.is_empty() && groups.is_empty() {
        return Err(BadRequest::new("No channels or channel groups specified").into());
    }
    call.authorize(&channels, &groups, Need::Read)?;
    let mut store = call.store();
    let all = resolve(&store, &call.sub_key, channels, &groups)?;
    if !call.dry_run {
        store.leave(&call.sub_key, uuid, &all);
    }
    Ok(Reply::ok_text(LEAVE_ACK))
}

/// Parses a `state` parameter: a JSON object of at most [`MAX_STATE_BYTES`].
pub(crate) fn parse_state(raw: &str) -> Result<serde_json::Map<String, Value>, BadRequest> {
    if raw.len() > MAX_STATE_BYTES {
        return Err(BadRequest::new(format!(
            "State is larger than {MAX_STATE_BYTES} bytes"
        )));
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BadRequest::new("State must be a JSON object")),
        Err(_) => Err(BadRequest::new("Invalid JSON in state")),
    }
}

/// One channel's (or group's) state from keyed heartbeat state: an object; `{}` clears it.
fn state_value(v: &Value, name: &str) -> Result<Option<Value>, BadRequest> {
    match v {
        Value::Object(m) if m.is_empty() => Ok(None),
        Value::Object(_) => Ok(Some(v.clone())),
        _ => Err(BadRequest::new(format!(
            "State for `{name}` must be a JSON object"
        ))),
    }
}
