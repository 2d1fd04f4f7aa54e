//! What a successful call printed: one JSON document (`--json`) or a readable table.
//!
//! The JSON documents are the library's own `serde` forms of the results (`HereNowResult`,
//! `WhereNowResult`, …), so a script reading `presence … --json` and a program serialising a
//! result see the same fields. Where the CLI knows more than the result says (whose state,
//! which operation), it adds those fields beside the result's own (`user_id`, `ok`,
//! `operation`); the README lists every document.

use presence_blocking::proto::{HereNowAllPages, LeaveResult};
use presence_blocking::{
    GetStateResult, GroupChannels, HereNowResult, SetStateResult, WhereNowResult,
};
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::escape::escaped_width;
use crate::table::{Table, write_row};

/// The result of one subcommand.
#[derive(Debug)]
pub(crate) enum Report {
    /// `here-now`.
    HereNow {
        result: HereNowResult,
        with_state: bool,
    },
    /// `here-now --all`.
    HereNowAll {
        all: HereNowAllPages,
        with_state: bool,
    },
    /// `where-now`.
    WhereNow {
        user_id: String,
        result: WhereNowResult,
    },
    /// `heartbeat`, `groups add|remove|delete`: acknowledged.
    Done { operation: &'static str },
    /// `leave`: acknowledged, with the reply's `action`.
    Left { result: LeaveResult },
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
    /// `profiles`.
    Profiles(crate::profiles::Listing),
    /// `keep-present`, `completions`: everything was printed while it ran.
    Streamed,
}

/// A result with the user it is about beside its own fields.
#[derive(Serialize)]
struct AboutUser<'a, T> {
    user_id: &'a str,
    #[serde(flatten)]
    result: &'a T,
}

/// An acknowledgement: `{"ok": true, "operation": …}` and the result's own fields.
#[derive(Serialize)]
struct Acknowledged<'a, T> {
    ok: bool,
    operation: &'a str,
    #[serde(flatten)]
    result: &'a T,
}

impl Report {
    /// The `--json` document.
    pub(crate) fn json(&self) -> Value {
        let value = match self {
            Self::HereNow { result, .. } => serde_json::to_value(result),
            Self::HereNowAll { all, .. } => serde_json::to_value(all),
            Self::WhereNow { user_id, result } => {
                serde_json::to_value(AboutUser { user_id, result })
            }
            Self::Done { operation } => serde_json::to_value(Acknowledged {
                ok: true,
                operation,
                result: &serde_json::Map::new(),
            }),
            Self::Left { result } => serde_json::to_value(Acknowledged {
                ok: true,
                operation: "leave",
                result,
            }),
            Self::SetState { user_id, result } => {
                serde_json::to_value(AboutUser { user_id, result })
            }
            Self::GetState { user_id, result } => {
                let mut result = result.clone();
                result.user_id.get_or_insert_with(|| user_id.clone());
                serde_json::to_value(result)
            }
            Self::GroupChannels(result) => serde_json::to_value(result),
            Self::Profiles(listing) => serde_json::to_value(listing),
            Self::Streamed => Ok(Value::Null),
        };
        // Serialising plain data into a `Value` cannot fail.
        value.unwrap_or(Value::Null)
    }

    /// Writes the report to `out`, streamed: a here now of a million occupants is written
    /// row by row (or element by element in JSON), never built as a whole document in memory.
    pub(crate) fn write(&self, json: bool, out: &mut dyn Write) -> io::Result<()> {
        match (self, json) {
            (Self::HereNow { result, .. }, true) => {
                serde_json::to_writer(&mut *out, result)?;
                out.write_all(b"\n")
            }
            (Self::HereNowAll { all, .. }, true) => {
                serde_json::to_writer(&mut *out, all)?;
                out.write_all(b"\n")
            }
            (Self::HereNow { result, with_state }, false) => {
                write_here_now_table(result, *with_state, out)
            }
            (Self::HereNowAll { all, with_state }, false) => {
                write_here_now_table(&all.result, *with_state, out)?;
                writeln!(out, "pages: {}", all.pages)?;
                if all.occupancy_changed {
                    writeln!(
                        out,
                        "note: total occupancy changed from {} to {} while paging",
                        all.first_total_occupancy, all.result.total_occupancy
                    )?;
                }
                Ok(())
            }
            (_, true) => writeln!(out, "{}", self.json()),
            (_, false) => out.write_all(self.table().as_bytes()),
        }
    }

    /// The human-readable rendering.
    pub(crate) fn table(&self) -> String {
        match self {
            Self::HereNow { .. } | Self::HereNowAll { .. } => {
                let mut out = Vec::new();
                // Writing to a Vec cannot fail.
                let _ = self.write(false, &mut out);
                String::from_utf8_lossy(&out).into_owned()
            }
            Self::WhereNow { user_id, result } => list_or_none(
                "CHANNEL",
                &result.channels,
                &format!("{user_id} is on no channel"),
            ),
            Self::Done { operation } => format!("ok: {operation}\n"),
            Self::Left { .. } => "ok: leave\n".to_owned(),
            Self::Profiles(listing) => listing.table(),
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

/// The here now table, written row by row after one pass to size the columns (the last
/// column, user or state, needs no width).
fn write_here_now_table(
    result: &HereNowResult,
    with_state: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let listed = result.channels.iter().any(|c| c.occupants_listed);
    let mut headers = vec!["CHANNEL", "OCCUPANCY"];
    if listed {
        headers.push("USER");
        if with_state {
            headers.push("STATE");
        }
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for channel in &result.channels {
        widths[0] = widths[0].max(escaped_width(&channel.name));
        widths[1] = widths[1].max(channel.occupancy.to_string().len());
        if listed && with_state {
            for user in &channel.occupants {
                widths[2] = widths[2].max(escaped_width(&user.user_id));
            }
        }
    }
    write_row(out, &widths, &headers)?;
    let mut state = String::new();
    for channel in &result.channels {
        let occupancy = channel.occupancy.to_string();
        if !listed || channel.occupants.is_empty() {
            write_row(out, &widths, &[&channel.name, &occupancy])?;
            continue;
        }
        for user in &channel.occupants {
            if with_state {
                state.clear();
                if let Some(value) = &user.state {
                    // Compact JSON; its strings are escaped again by `write_row`.
                    state = value.to_string();
                }
                write_row(
                    out,
                    &widths,
                    &[&channel.name, &occupancy, &user.user_id, &state],
                )?;
            } else {
                write_row(out, &widths, &[&channel.name, &occupancy, &user.user_id])?;
            }
        }
    }
    writeln!(
        out,
        "total: {} channel(s), {} occupant(s)",
        result.total_channels, result.total_occupancy
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
    use serde_json::json;

    use super::*;

    #[test]
    fn leave_reports_the_action_as_the_library_serialises_it() {
        let result: LeaveResult = serde_json::from_value(json!({"action": "leave"})).unwrap();
        let r = Report::Left { result };
        assert_eq!(
            r.json(),
            json!({"ok": true, "operation": "leave", "action": "leave"})
        );
        assert_eq!(r.table(), "ok: leave\n");
    }

    #[test]
    fn results_print_their_library_serde_form() {
        let result = here();
        let r = Report::HereNow {
            result: result.clone(),
            with_state: false,
        };
        assert_eq!(r.json(), serde_json::to_value(&result).unwrap());
    }

    #[test]
    fn done_reports() {
        let r = Report::Done { operation: "leave" };
        assert_eq!(r.json(), json!({"ok": true, "operation": "leave"}));
        assert_eq!(r.table(), "ok: leave\n");
    }

    fn here() -> HereNowResult {
        let body = br#"{"status":200,"message":"OK","service":"Presence","payload":{"total_channels":2,"total_occupancy":2,
            "channels":{"lobby":{"occupancy":2,"uuids":[{"uuid":"alice","state":{"m":"\u001b[2J"}},{"uuid":"b\u001b]0;x\u0007\r\nob"}]},
            "quiet\u009b":{"occupancy":0,"uuids":[]}}}}"#;
        let reply = presence_proto::http::Response::builder()
            .status(200)
            .body(&body[..])
            .unwrap();
        presence_proto::Operation::parse(
            &presence_proto::HereNow::new().channels(["lobby", "quiet"]),
            reply,
        )
        .unwrap()
    }

    #[test]
    fn here_now_streams_the_same_json_and_an_escaped_table() {
        let report = Report::HereNow {
            result: here(),
            with_state: true,
        };
        let mut streamed = Vec::new();
        report.write(true, &mut streamed).unwrap();
        let streamed: Value = serde_json::from_slice(&streamed).unwrap();
        assert_eq!(streamed, report.json());
        let table = report.table();
        assert!(
            !table.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f),
            "{table:?}"
        );
        assert!(!table.contains('\u{9b}'), "{table:?}");
        assert_eq!(
            table,
            "CHANNEL      OCCUPANCY  USER                    STATE\n\
             lobby        2          alice                   {\"m\":\"\\u001b[2J\"}\n\
             lobby        2          b\\u{1b}]0;x\\u{7}\\r\\nob\n\
             quiet\\u{9b}  0\n\
             total: 2 channel(s), 2 occupant(s)\n"
        );
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
