//! Every recorded `/v2/subscribe` reply of the shared corpus (`../shared/fixtures`, read in
//! place) against the emulator's own replies: the same key sets, string timetokens, and
//! compact JSON from the emulator.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::subscribe::{assert_compact, fast, handshake, poll, tt_of};

type Keys = BTreeSet<String>;

fn keys(v: &Value) -> Keys {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn is_timetoken(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 17 && s.bytes().all(|b| b.is_ascii_digit()))
}

/// The corpus: `../shared/fixtures` from the workspace root.
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// What the recorded replies look like.
#[derive(Default)]
struct Recorded {
    replies: usize,
    /// Key sets of presence envelopes (`c` ending in `-pnpres`).
    envelopes: BTreeSet<Keys>,
    /// `d` key sets by `action`.
    payloads: BTreeMap<String, BTreeSet<Keys>>,
}

fn read_corpus(root: &Path) -> Recorded {
    let files = presence_recorded::read_provenance(root).expect("PROVENANCE.tsv");
    let mut seen = Recorded::default();
    let (mut files_with, mut unreadable) = (0, Vec::new());
    for rel in files {
        if presence_recorded::EXCLUDED.iter().any(|(f, _)| *f == rel) {
            continue;
        }
        let Ok(Some(rec)) = presence_recorded::read_recording(root, &rel) else {
            continue;
        };
        let mut any = false;
        for ex in rec.exchanges {
            let Some(resp) = ex.response else { continue };
            if !ex.url.contains("/v2/subscribe/") || resp.status != 200 {
                continue;
            }
            any = true;
            let mut body = resp.body.clone();
            if body.starts_with(&[0x1f, 0x8b]) {
                let mut out = Vec::new();
                if flate2::read::MultiGzDecoder::new(resp.body.as_slice())
                    .read_to_end(&mut out)
                    .is_ok()
                {
                    body = out;
                }
            }
            let Ok(reply) = serde_json::from_slice::<Value>(&body) else {
                unreadable.push(format!("{rel} #{}", ex.ordinal));
                continue;
            };
            check_recorded(&reply, &rel);
            seen.replies += 1;
            for m in reply["m"].as_array().into_iter().flatten() {
                if !m["c"].as_str().is_some_and(|c| c.ends_with("-pnpres")) {
                    continue;
                }
                seen.envelopes.insert(keys(m));
                if let Some(action) = m["d"]["action"].as_str() {
                    seen.payloads
                        .entry(action.to_owned())
                        .or_default()
                        .insert(keys(&m["d"]));
                }
            }
        }
        files_with += usize::from(any);
    }
    println!(
        "fixtures: {} subscribe replies in {files_with} files, {} presence envelope shapes, actions {:?}; not JSON: {unreadable:?}",
        seen.replies,
        seen.envelopes.len(),
        seen.payloads.keys().collect::<Vec<_>>()
    );
    seen
}

/// The recorded envelope (`t` + `m`), checked as the spec describes it.
fn check_recorded(reply: &Value, rel: &str) {
    let top = keys(reply);
    assert!(top.contains("t") && top.contains("m"), "{rel}: {reply}");
    assert!(is_timetoken(&reply["t"]["t"]), "{rel}: {reply}");
    assert!(reply["t"]["r"].is_u64(), "{rel}: {reply}");
    for m in reply["m"].as_array().into_iter().flatten() {
        assert!(is_timetoken(&m["p"]["t"]), "{rel}: {m}");
    }
}

/// The emulator's replies carrying one event of each kind.
fn emulator_replies() -> Vec<(String, Value)> {
    let emu = fast(|b| b.announce_max(2).presence_interval(2).presence_deltas(true));
    let mut out = Vec::new();
    let mut grab = |emu: &crate::common::Emu, cursor: &mut String, channels: &str, q: &str| {
        let r = emu.get(&format!(
            "/v2/subscribe/sk/{channels}/0?uuid=w&tt={cursor}&tr=12&{q}"
        ));
        assert_compact(&r.body);
        let v = r.json();
        *cursor = tt_of(&v);
        out.push((r.body.clone(), v));
    };
    let mut c = handshake(&emu, "a-pnpres", "w", "");
    emu.hb("a", "u1", "&heartbeat=10");
    emu.get("/v2/presence/sub-key/sk/channel/a/uuid/u1/data?uuid=u1&state=%7B%22k%22%3A1%7D");
    emu.hb("a", "u2", "&heartbeat=60");
    emu.get("/v2/presence/sub-key/sk/channel/a/leave?uuid=u2");
    grab(&emu, &mut c, "a-pnpres", "");
    emu.advance(1);
    grab(&emu, &mut c, "a-pnpres", "");
    for u in ["x1", "x2", "x3"] {
        emu.hb("a", u, "&heartbeat=60");
    }
    grab(&emu, &mut c, "a-pnpres", "");
    emu.advance_ms(20);
    grab(&emu, &mut c, "a-pnpres", "");
    // A group subscriber.
    emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?add=b&uuid=w");
    let mut g = handshake(&emu, ",", "w", "channel-group=g-pnpres");
    emu.hb("b", "u9", "");
    grab(&emu, &mut g, ",", "channel-group=g-pnpres");
    // An empty reply at hold expiry.
    let v = poll(&emu, "zzz-pnpres", "w", &g, "");
    out.push((String::new(), v));
    out
}

#[test]
fn emulator_replies_match_the_recorded_shapes() {
    let root = corpus();
    if !root.join("PROVENANCE.tsv").is_file() {
        println!("skipped: {} is absent", root.display());
        return;
    }
    let seen = read_corpus(&root);
    assert!(
        seen.replies > 100,
        "too few recorded replies: {}",
        seen.replies
    );
    assert!(!seen.envelopes.is_empty());
    let union: Keys = seen.envelopes.iter().flatten().cloned().collect();
    let common: Keys = seen.envelopes.iter().skip(1).fold(
        seen.envelopes.first().cloned().unwrap_or_default(),
        |acc, k| acc.intersection(k).cloned().collect(),
    );

    let mut actions = BTreeSet::new();
    for (_, reply) in emulator_replies() {
        assert_eq!(keys(&reply), ["m", "t"].map(String::from).into(), "{reply}");
        assert_eq!(keys(&reply["t"]), ["r", "t"].map(String::from).into());
        check_recorded(&reply, "emulator");
        for m in reply["m"].as_array().into_iter().flatten() {
            let k = keys(m);
            assert!(
                k.is_subset(&union),
                "envelope keys {k:?} beyond recorded {union:?}"
            );
            assert!(
                k.is_superset(&common),
                "envelope keys {k:?} miss {common:?}"
            );
            assert!(
                seen.envelopes.contains(&k),
                "no recorded envelope has keys {k:?}"
            );
            let action = m["d"]["action"].as_str().unwrap_or_default().to_owned();
            let d = keys(&m["d"]);
            // A kind that was recorded: one of the recorded key sets, or the recorded keys
            // plus `data` (the state, which recordings carry sometimes).
            if let Some(shapes) = seen.payloads.get(&action) {
                let mut plain = d.clone();
                plain.remove("data");
                assert!(
                    shapes.contains(&d) || shapes.contains(&plain),
                    "{action}: keys {d:?}, recorded {shapes:?}"
                );
            } else {
                // Not in the corpus: the keys of the spec (§12.3).
                {
                    let allowed: Keys = [
                        "action",
                        "timestamp",
                        "uuid",
                        "occupancy",
                        "data",
                        "join",
                        "leave",
                        "timeout",
                        "here_now_refresh",
                    ]
                    .map(String::from)
                    .into();
                    assert!(d.is_subset(&allowed), "{action}: {d:?}");
                }
            }
            actions.insert(action);
        }
    }
    for want in ["join", "leave", "timeout", "state-change", "interval"] {
        assert!(
            actions.contains(want),
            "no {want} event produced: {actions:?}"
        );
    }
}
