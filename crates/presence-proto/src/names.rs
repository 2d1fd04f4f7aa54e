//! Validation and normalisation of channel lists, group lists and user ids.

use std::collections::BTreeSet;

use crate::encode::encode_into;
use crate::error::Error;

/// A de-duplicated, sorted list of names (channels or groups).
pub(crate) type Names = BTreeSet<String>;

/// Adds names to a set (the builders' shared `channels([...])` / `groups([...])` logic).
pub(crate) fn extend<I, S>(set: &mut Names, names: I)
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    set.extend(names.into_iter().map(Into::into));
}

/// Rejects empty/whitespace names, and (for groups) names containing `,`.
pub(crate) fn validate(channels: &Names, groups: &Names) -> Result<(), Error> {
    if let Some(bad) = channels.iter().chain(groups).find(|n| is_dot_segment(n)) {
        return Err(Error::argument(
            if channels.contains(bad) {
                "channels"
            } else {
                "groups"
            },
            format!("{bad:?} would be a dot path segment, which proxies may collapse"),
        ));
    }
    if let Some(bad) = channels.iter().find(|c| c.trim().is_empty()) {
        return Err(Error::argument(
            "channels",
            format!("empty or whitespace channel name {bad:?}"),
        ));
    }
    for group in groups {
        if group.trim().is_empty() {
            return Err(Error::argument(
                "groups",
                format!("empty or whitespace group name {group:?}"),
            ));
        }
        if group.contains(',') {
            return Err(Error::argument(
                "groups",
                format!("group name {group:?} contains ','"),
            ));
        }
    }
    Ok(())
}

/// Requires at least one channel or group (for the operations that need one).
pub(crate) fn require_any(channels: &Names, groups: &Names) -> Result<(), Error> {
    if channels.is_empty() && groups.is_empty() {
        return Err(Error::argument(
            "channels",
            "at least one channel or channel group is required",
        ));
    }
    validate(channels, groups)
}

/// The channel path segment: each name encoded, joined by a literal `,`; `,` when empty.
pub(crate) fn channel_segment(out: &mut String, channels: &Names) {
    if channels.is_empty() {
        out.push(',');
        return;
    }
    for (i, channel) in channels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_into(out, channel);
    }
}

/// The raw (unencoded) `channel-group` query value: names joined by `,`.
pub(crate) fn group_value(groups: &Names) -> Option<String> {
    if groups.is_empty() {
        return None;
    }
    let mut joined = String::new();
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            joined.push(',');
        }
        joined.push_str(group);
    }
    Some(joined)
}

/// Checks a user id argument (target of where_now / get_state / set_state).
pub(crate) fn validate_user_id(field: &'static str, user_id: &str) -> Result<(), Error> {
    check_user_id(user_id).map_err(|reason| Error::argument(field, reason))
}

/// `.` and `..` stay unescaped by the encoder, and HTTP stacks normalise them as path
/// segments (`/uuid/..` would become a different endpoint), so such names are refused.
pub(crate) fn is_dot_segment(name: &str) -> bool {
    matches!(name, "." | "..")
}

/// Longest accepted user id, in UTF-8 bytes.
///
/// ```
/// assert_eq!(presence_proto::MAX_USER_ID_BYTES, 92);
/// ```
pub const MAX_USER_ID_BYTES: usize = 92;

/// Checks a user id: not empty or whitespace, at most [`MAX_USER_ID_BYTES`] bytes.
pub(crate) fn check_user_id(user_id: &str) -> Result<(), String> {
    if user_id.trim().is_empty() {
        return Err("must not be empty or whitespace".to_owned());
    }
    if is_dot_segment(user_id) {
        return Err(format!(
            "{user_id:?} would be a dot path segment, which proxies may collapse"
        ));
    }
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err(format!(
            "is {} UTF-8 bytes, the limit is {}",
            user_id.len(),
            MAX_USER_ID_BYTES
        ));
    }
    Ok(())
}
