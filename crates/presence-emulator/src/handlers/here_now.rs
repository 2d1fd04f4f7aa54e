//! here_now: who is on a channel, on several channels / groups, or on the whole keyset.
//!
//! Occupants are listed in join order (a user who leaves or expires and comes back goes to
//! the end). `limit`/`offset` page each channel's list; `occupancy` and the totals are
//! always the full counts, and a channel whose list is exhausted by `offset` drops out of
//! the `channels` map.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::{Call, resolve};
use crate::config::Need;
use crate::json;
use crate::request::{BadRequest, channel_list};
use crate::response::Reply;
use crate::store::Channel;

/// The most occupants one here_now may list per channel.
const MAX_LIMIT: i64 = 1000;

/// What to put in each channel's entry.
struct View {
    uuids: bool,
    state: bool,
    offset: usize,
    limit: usize,
}

/// `raw_channels` is `None` for global here now.
pub(super) fn here_now(call: &Call<'_>, raw_channels: Option<&str>) -> Result<Reply, Reply> {
    let channels = raw_channels
        .map(channel_list)
        .transpose()?
        .unwrap_or_default();
    let groups = if raw_channels.is_some() {
        call.query.groups()?
    } else {
        Vec::new()
    };
    call.query.caller()?;
    let limit = parse_limit(call.query.get("limit"))?;
    let offset = parse_offset(call.query.get("offset"))?;
    let view = View {
        uuids: !call.query.flag("disable_uuids") && limit != 0,
        state: call.query.flag("state"),
        offset,
        limit,
    };
    if raw_channels.is_some() {
        if channels.is_empty() && groups.is_empty() {
            return Err(BadRequest::new("No channels or channel groups specified").into());
        }
        call.authorize(&channels, &groups, Need::Read)?;
    }

    let store = call.store();
    if let ([channel], true) = (channels.as_slice(), groups.is_empty()) {
        let chan = store.channel(&call.sub_key, channel);
        // Sized for the common reply (the cached uuid list), so it is written without
        // reallocating.
        let list_len = match chan {
            Some(c) if view.uuids => c.uuids_json().len(),
            _ => 2,
        };
        let mut out = String::with_capacity(96 + list_len);
        out.push_str(r#"{"message":"OK","occupancy":"#);
        json::push_uint(&mut out, chan.map_or(0, Channel::occupancy));
        out.push_str(r#","service":"Presence","status":200"#);
        if view.uuids {
            out.push_str(r#","uuids":"#);
            write_occupants(&mut out, chan, &view);
        }
        out.push('}');
        return Ok(Reply::ok_text(out));
    }

    let names: Vec<Cow<'_, str>> = if raw_channels.is_none() {
        store
            .occupied_channels(&call.sub_key)
            .into_iter()
            .map(Cow::Owned)
            .collect()
    } else {
        resolve(&store, &call.sub_key, channels, &groups)?
    };
    // Occupied channels, sorted by name like the keys of the live service's JSON.
    let mut occupied: Vec<(&str, &Channel)> = names
        .iter()
        .filter_map(|name| {
            let chan = store.channel(&call.sub_key, name)?;
            (chan.occupancy() > 0).then_some((name.as_ref(), chan))
        })
        .collect();
    occupied.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let total_occupancy: usize = occupied.iter().map(|(_, c)| c.occupancy()).sum();
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"message":"OK","payload":{"channels":{"#);
    let mut first = true;
    for (name, chan) in &occupied {
        if view.offset >= chan.occupancy() {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        json::write_str(&mut out, name);
        out.push_str(r#":{"occupancy":"#);
        json::push_uint(&mut out, chan.occupancy());
        if view.uuids {
            out.push_str(r#","uuids":"#);
            write_occupants(&mut out, Some(chan), &view);
        }
        out.push('}');
    }
    let _ = write!(
        out,
        r#"}},"total_channels":{},"total_occupancy":{total_occupancy}}},"service":"Presence","status":200}}"#,
        occupied.len()
    );
    Ok(Reply::ok_text(out))
}

/// Writes one page of a channel's occupants: strings, or `{"state"?,"uuid"}` objects.
fn write_occupants(out: &mut String, chan: Option<&Channel>, view: &View) {
    if let Some(chan) =
        chan.filter(|c| !view.state && view.offset == 0 && view.limit >= c.occupancy())
    {
        out.push_str(chan.uuids_json());
        return;
    }
    out.push('[');
    if let Some(chan) = chan {
        if view.state {
            for (i, (uuid, state)) in chan
                .occupants()
                .skip(view.offset)
                .take(view.limit)
                .enumerate()
            {
                if i > 0 {
                    out.push(',');
                }
                out.push('{');
                if let Some(state) = state {
                    out.push_str(r#""state":"#);
                    json::write_value(out, state);
                    out.push(',');
                }
                out.push_str(r#""uuid":"#);
                json::write_str(out, uuid);
                out.push('}');
            }
        } else {
            for (i, uuid) in chan.uuids().skip(view.offset).take(view.limit).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::write_str(out, uuid);
            }
        }
    }
    out.push(']');
}

fn parse_limit(raw: Option<&str>) -> Result<usize, BadRequest> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(1000);
    };
    let n: i64 = raw
        .trim()
        .parse()
        .map_err(|_| BadRequest::new("Limit must be an integer"))?;
    if n < 0 {
        return Err(BadRequest::new("Limit must be greater than or equal to 0"));
    }
    if n > MAX_LIMIT {
        return Err(BadRequest::new(
            "Cannot return more than 1000 uuids at a time",
        ));
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

fn parse_offset(raw: Option<&str>) -> Result<usize, BadRequest> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(0);
    };
    let n: i64 = raw
        .trim()
        .parse()
        .map_err(|_| BadRequest::new("Offset must be an integer"))?;
    usize::try_from(n).map_err(|_| BadRequest::new("Offset must be greater than or equal to 0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None), Ok(1000));
        assert_eq!(parse_limit(Some("")), Ok(1000));
        assert_eq!(parse_limit(Some("0")), Ok(0));
        assert_eq!(parse_limit(Some("1000")), Ok(1000));
        assert!(parse_limit(Some("1001")).is_err());
        assert!(parse_limit(Some("-1")).is_err());
        assert!(parse_limit(Some("x")).is_err());
        assert_eq!(parse_offset(Some("3")), Ok(3));
        assert!(parse_offset(Some("-3")).is_err());
    }
}
