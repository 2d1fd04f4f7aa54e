//! where_now: the channels a uuid is present on (sorted by name).

use serde_json::json;

use super::Call;
use crate::request::segment;
use crate::response::Reply;

pub(super) fn where_now(call: &Call<'_>, raw_uuid: &str) -> Result<Reply, Reply> {
    let uuid = segment(raw_uuid, "uuid")?;
    call.query.caller()?;
    let channels = call.store().where_now(&call.sub_key, &uuid);
    Ok(Reply::ok(&json!({
        "message": "OK",
        "payload": {"channels": channels},
        "service": "Presence",
        "status": 200,
    })))
}
