//! What a successful call printed: one JSON document (`--json`, stable field names documented
//! in the README) or a readable table.

use presence_blocking::{
    GetStateResult, GroupChannels, HereNowResult, SetStateResult, WhereNowResult,
};
use serde_json::{Value, json};

use crate::table::Table;

/// The result of one subcommand.
#[derive(Debug)]
pub(crate) enum Report {
    /// `here-now`.
    HereNow {
        result: HereNowResult,
        with_state: bool,
    },
    /// `where-now`.
    WhereNow {
        user_id: String,
        result: WhereNowResult,
    },
    /// `heartbeat`, `leave`, `groups add|remove|delete`: acknowledged.
    Done { operation: &'static str },
    /// `set-state`.
    SetState {
        user_id: String,
        result: SetStateResult,
    },
    /// `get-state`.
    GetState {
        user_id: String,
        result: GetStateResult,
    },
    /// `groups list`.
    GroupChannels(GroupChannels),
    /// `keep-present`: everything was printed while it ran.
    Streamed,
}

impl Report {
    /// The `--json` document.
    pub(crate) fn json(&self) -> Value {
        match self {
            Self::HereNow { result, .. } => json!({
                "total_channels": result.total_channels,
                "total_occupancy": result.total_occupancy,
                "channels": result.channels.iter().map(|c| json!({
                    "name": c.name,
                    "occupancy": c.occupancy,
                    "occupants_listed": c.occupants_listed,
                    "occupants": c.occupants.iter().map(|u| json!({
                        "user_id": u.user_id,
                        "state": u.state,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            }),
            Self::WhereNow { user_id, result } => json!({
                "user_id": user_id,
                "channels": result.channels,
            }),
            Self::Done { operation } => json!({ "ok": true, "operation": operation }),
            Self::SetState { user_id, result } => json!({
                "user_id": user_id,
                "state": result.state,
            }),
            Self::GetState { user_id, result } => json!({
                "user_id": result.user_id.as_deref().unwrap_or(user_id),
                "channels": result.channels.iter().map(|c| json!({
                    "channel": c.channel,
                    "state": c.state,
                })).collect::<Vec<_>>(),
            }),
            Self::GroupChannels(result) => json!({
                "group": result.group,
                "channels": result.channels,
            }),
            Self::Streamed => Value::Null,
        }
    }

    /// The human-readable rendering.
    pub(crate) fn table(&self) -> String {
        match self {
            Self::HereNow { result, with_state } => here_now_table(result, *with_state),
            Self::WhereNow { user_id, result } => list_or_none(
                "CHANNEL",
                &result.channels,
                &format!("{user_id} is on no channel"),
            ),
            Self::Done { operation } => format!("ok: {operation}\n"),
            Self::SetState { user_id, result } => {
                let mut t = Table::new(&["USER", "STATE"]);
                t.row(vec![user_id.clone(), result.state.to_string()]);
                t.render()
            }
            Self::GetState { user_id, result } => {
                let user = result.user_id.as_deref().unwrap_or(user_id);
                let mut t = Table::new(&["CHANNEL", "STATE"]);
                for c in &result.channels {
                    t.row(vec![c.channel.clone(), c.state.to_string()]);
                }
                if t.is_empty() {
                    format!("{user} has no state there\n")
                } else {
                    t.render()
                }
            }
            Self::GroupChannels(result) => list_or_none(
                "CHANNEL",
                &result.channels,
                &format!("group {} has no channels", result.group),
            ),
            Self::Streamed => String::new(),
        }
    }
}

fn here_now_table(result: &HereNowResult, with_state: bool) -> String {
    let listed = result.channels.iter().any(|c| c.occupants_listed);
    let mut headers = vec!["CHANNEL", "OCCUPANCY"];
    if listed {
        headers.push("USER");
        if with_state {
            headers.push("STATE");
        }
    }
    let mut t = Table::new(&headers);
    for channel in &result.channels {
        let lead = || vec![channel.name.clone(), channel.occupancy.to_string()];
        if !listed || channel.occupants.is_empty() {
            t.row(lead());
            continue;
        }
        for user in &channel.occupants {
            let mut row = lead();
            row.push(user.user_id.clone());
            if with_state {
                row.push(
                    user.state
                        .as_ref()
                        .map(Value::to_string)
                        .unwrap_or_default(),
                );
            }
            t.row(row);
        }
    }
    format!(
        "{}total: {} channel(s), {} occupant(s)\n",
        t.render(),
        result.total_channels,
        result.total_occupancy
    )
}

fn list_or_none(header: &str, items: &[String], none: &str) -> String {
    if items.is_empty() {
        return format!("{none}\n");
    }
    let mut t = Table::new(&[header]);
    for item in items {
        t.row(vec![item.clone()]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_reports() {
        let r = Report::Done { operation: "leave" };
        assert_eq!(r.json(), json!({"ok": true, "operation": "leave"}));
        assert_eq!(r.table(), "ok: leave\n");
    }

    #[test]
    fn empty_lists_say_so() {
        assert_eq!(list_or_none("CHANNEL", &[], "none here"), "none here\n");
        assert_eq!(
            list_or_none("CHANNEL", &["a".to_owned()], "x"),
            "CHANNEL\na\n"
        );
    }
}
