//! Channel registration: add to, remove from, list and delete channel groups.

use serde_json::json;

use super::Call;
use crate::config::Need;
use crate::request::{BadRequest, segment, value_list};
use crate::response::{REGISTRY_ACK, Reply};
use crate::store::GroupError;

fn ack() -> Reply {
    Reply::ok_text(REGISTRY_ACK)
}

/// `/channel-group/{g}` with `add=`, `remove=`, or neither (list the group's channels).
pub(super) fn group(call: &Call<'_>, raw_group: &str) -> Result<Reply, Reply> {
    let group = segment(raw_group, "channel group").map_err(BadRequest::registry)?;
    call.query.caller().map_err(BadRequest::registry)?;
    call.authorize::<&str, _>(&[], std::slice::from_ref(&group), Need::Manage)?;
    let list = |key: &str| -> Result<Option<Vec<String>>, Reply> {
        let Some(value) = call.query.get(key) else {
            return Ok(None);
        };
        let names = value_list(value, "channel").map_err(BadRequest::registry)?;
        if names.is_empty() {
            return Err(Reply::registry_error(
                400,
                &format!("No channels given in `{key}`"),
            ));
        }
        Ok(Some(names))
    };
    let add = list("add")?;
    let remove = list("remove")?;
    if add.is_none() && remove.is_none() {
        let channels = call.store().group_channels(&call.sub_key, &group);
        return Ok(Reply::ok(&json!({
            "error": false,
            "payload": {"channels": channels, "group": group},
            "service": "channel-registry",
            "status": 200,
        })));
    }
    if call.dry_run {
        return Ok(ack());
    }
    let mut store = call.store();
    if let Some(add) = add {
        store
            .group_add(&call.sub_key, &group, &add)
            .map_err(|e| match e {
                GroupError::TooManyChannels => Reply::registry_error(
                    400,
                    "Channel group would exceed the maximum of 2000 channels",
                ),
                GroupError::TooManyGroups => {
                    Reply::registry_error(400, "Too many channel groups on this keyset")
                }
            })?;
    }
    if let Some(remove) = remove {
        store.group_remove(&call.sub_key, &group, &remove);
    }
    Ok(ack())
}

/// `/channel-group/{g}/remove`: delete the group.
pub(super) fn delete(call: &Call<'_>, raw_group: &str) -> Result<Reply, Reply> {
    let group = segment(raw_group, "channel group").map_err(BadRequest::registry)?;
    call.query.caller().map_err(BadRequest::registry)?;
    call.authorize::<&str, _>(&[], std::slice::from_ref(&group), Need::Manage)?;
    if !call.dry_run {
        call.store().group_delete(&call.sub_key, &group);
    }
    Ok(ack())
}

/// `/channel-group` alone: every group of the keyset.
pub(super) fn list_all(call: &Call<'_>) -> Result<Reply, Reply> {
    call.query.caller().map_err(BadRequest::registry)?;
    let groups = call.store().group_names(&call.sub_key);
    Ok(Reply::ok(&json!({
        "error": false,
        "payload": {"groups": groups, "sub_key": call.sub_key},
        "service": "channel-registry",
        "status": 200,
    })))
}
