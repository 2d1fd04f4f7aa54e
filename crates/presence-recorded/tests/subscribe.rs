//! Every recorded `/v2/subscribe` reply in `../shared/fixtures` through the core's
//! [`Subscribe`] parser: each genuine reply parses, its cursor and its presence events match
//! the body read independently with `serde_json::Value`, and nothing panics.
//!
//! Run `cargo test -p presence-recorded --test subscribe -- --nocapture` for the counts.

use std::io::Read as _;

use presence_proto::{Operation, PresenceAction, Subscribe, SubscribeItem};
use presence_recorded::{EXCLUDED, fixtures_dir, read_provenance, read_recording, split_url};
use serde_json::Value;

#[derive(Debug, Default)]
struct Counts {
    replies: usize,
    parsed: usize,
    presence_events: usize,
    messages: usize,
    typed_errors: usize,
    not_json: usize,
}

/// The body as the service sent it: gzip inflated when the recorder kept it compressed.
fn body_of(raw: &[u8]) -> Vec<u8> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(raw)
            .read_to_end(&mut out)
            .is_ok()
        {
            return out;
        }
    }
    raw.to_vec()
}

#[test]
fn every_recorded_subscribe_reply_parses() {
    let root = fixtures_dir();
    if !root.join("PROVENANCE.tsv").is_file() {
        println!("recorded corpus not found at {}: skipped", root.display());
        return;
    }
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for rel in read_provenance(&root).expect("PROVENANCE.tsv") {
        if EXCLUDED.iter().any(|(f, _)| *f == rel) {
            continue;
        }
        let Ok(Some(recording)) = read_recording(&root, &rel) else {
            continue;
        };
        for exchange in recording.exchanges {
            let (path, _) = split_url(&exchange.url);
            if !path.contains("/v2/subscribe/") {
                continue;
            }
            let Some(response) = exchange.response else {
                continue;
            };
            counts.replies += 1;
            let body = body_of(&response.body);
            let Ok(value) = serde_json::from_slice::<Value>(&body) else {
                counts.not_json += 1;
                continue;
            };
            let reply = http::Response::builder()
                .status(response.status)
                .body(&body[..])
                .expect("response");
            let parsed = Subscribe::new().channels(["x"]).parse(reply);
            let genuine = response.status == 200 && value.get("t").is_some();
            match parsed {
                Ok(parsed) if genuine => {
                    counts.parsed += 1;
                    let expect_tt: u64 = match &value["t"]["t"] {
                        Value::String(s) => s.parse().unwrap_or_default(),
                        other => other.as_u64().unwrap_or_default(),
                    };
                    let envelopes = value["m"].as_array().map_or(0, Vec::len);
                    if parsed.cursor.timetoken != expect_tt || parsed.items.len() != envelopes {
                        failures.push(format!(
                            "{rel}#{}: cursor or count differs",
                            exchange.ordinal
                        ));
                    }
                    for (item, envelope) in parsed
                        .items
                        .iter()
                        .zip(value["m"].as_array().into_iter().flatten())
                    {
                        match item {
                            SubscribeItem::Presence(event) => {
                                counts.presence_events += 1;
                                let d = &envelope["d"];
                                let action = d["action"].as_str().unwrap_or_default();
                                let known = matches!(
                                    (&event.action, action),
                                    (PresenceAction::Join { .. }, "join")
                                        | (PresenceAction::Leave { .. }, "leave")
                                        | (PresenceAction::Timeout { .. }, "timeout")
                                        | (PresenceAction::StateChange { .. }, "state-change")
                                        | (PresenceAction::Interval { .. }, "interval")
                                        | (PresenceAction::Unknown { .. }, _)
                                );
                                if !known
                                    || event.uuid()
                                        != d["uuid"].as_str().filter(|_| action != "interval")
                                {
                                    failures.push(format!(
                                        "{rel}#{}: {event:?} vs {d}",
                                        exchange.ordinal
                                    ));
                                }
                                if event.occupancy != d["occupancy"].as_u64() {
                                    failures.push(format!(
                                        "{rel}#{}: occupancy {:?} vs {d}",
                                        exchange.ordinal, event.occupancy
                                    ));
                                }
                            }
                            SubscribeItem::Message(_) => counts.messages += 1,
                            _ => {}
                        }
                    }
                }
                Ok(parsed) => failures.push(format!(
                    "{rel}#{}: an error reply (HTTP {}) parsed as {parsed:?}",
                    exchange.ordinal, response.status
                )),
                Err(_) if !genuine => counts.typed_errors += 1,
                Err(e) => failures.push(format!("{rel}#{}: {e}", exchange.ordinal)),
            }
        }
    }
    println!("{counts:#?}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        counts.replies >= 400,
        "the corpus holds ~456 subscribe replies: {counts:?}"
    );
    assert!(counts.presence_events > 0);
}
