//! Keyset options: presence / global here now disabled (402), Access Manager (403),
//! request signatures.

use presence_emulator::{AccessManager, KeysetOptions, Permissions, signature_v2};

use crate::common::{ACK, Emu, enc, p};

const E402: &str = r#"{"error":1,"message":"This feature is not turned on for this account. Contact support@pubnub.com to activate this feature.","service":"Presence","status":402}"#;

#[test]
fn presence_not_enabled_answers_402_per_keyset() {
    let emu = Emu::with(|b| b.keyset("off", KeysetOptions::new().presence_enabled(false)));
    for path in [
        "/v2/presence/sub-key/off/channel/a/heartbeat?uuid=u",
        "/v2/presence/sub-key/off/channel/a?uuid=u",
        "/v2/presence/sub-key/off/uuid/u?uuid=u",
    ] {
        let r = emu.get(path);
        assert_eq!((r.status, r.body.as_str()), (402, E402), "{path}");
    }
    // Other keys keep the default options.
    assert_eq!(
        emu.get("/v2/presence/sub-key/on/channel/a/heartbeat?uuid=u")
            .body,
        ACK
    );
}

#[test]
fn global_here_now_can_be_turned_off() {
    let emu = Emu::with(|b| b.default_keyset(KeysetOptions::new().global_here_now(false)));
    let r = emu.get("/v2/presence/sub-key/sk?uuid=u");
    assert_eq!((r.status, r.body.as_str()), (402, E402));
    assert_eq!(emu.get(&p("/channel/a?uuid=u")).status, 200);
}

fn am_emulator() -> Emu {
    let am = AccessManager::new()
        .grant_channel("reader", "open", Permissions::READ)
        .grant_channel("reader", "also-open", Permissions::READ)
        .grant_group("reader", "cg", Permissions::READ)
        .grant_group("admin", "*", Permissions::MANAGE);
    Emu::with(|b| b.keyset("sk", KeysetOptions::new().access_manager(am)))
}

#[test]
fn access_manager_refuses_with_the_affected_channels() {
    let emu = am_emulator();
    let r = emu.get(&p("/channel/open,closed,demo/heartbeat?uuid=u&auth=reader"));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        "{\"error\":true,\"message\":\"Forbidden\",\"payload\":{\"channels\":[\"closed\",\"demo\"]},\"service\":\"Access Manager\",\"status\":403}\n"
    );
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let r = emu.get(&p(
        "/channel/,/leave?uuid=u&channel-group=test-channel-group1&auth=reader",
    ));
    assert_eq!(
        r.body,
        "{\"error\":true,\"message\":\"Forbidden\",\"payload\":{\"channel-groups\":[\":test-channel-group1\"]},\"service\":\"Access Manager\",\"status\":403}\n"
    );
    // No auth at all: every channel is named.
    let r = emu.get(&p("/channel/open?uuid=u"));
    assert_eq!(r.json()["payload"]["channels"], serde_json::json!(["open"]));
    assert_eq!(emu.server.stats().present, 0);
}

#[test]
fn access_manager_lets_granted_tokens_through() {
    let emu = am_emulator();
    let r = emu.get(&p("/channel/open,also-open/heartbeat?uuid=u&auth=reader"));
    assert_eq!(r.body, ACK);
    assert_eq!(
        emu.get(&p("/channel/open?uuid=u&auth=reader")).json()["occupancy"],
        1
    );
    // where_now and global here now are not channel-protected.
    assert_eq!(emu.get(&p("/uuid/u?uuid=u")).status, 200);
    assert_eq!(emu.get("/v2/presence/sub-key/sk?uuid=u").status, 200);
    // Channel groups need manage.
    let add = "/v1/channel-registration/sub-key/sk/channel-group/cg?add=open&uuid=u";
    assert_eq!(emu.get(&format!("{add}&auth=reader")).status, 403);
    assert_eq!(emu.get(&format!("{add}&auth=admin")).status, 200);
    let r = emu.get(&p("/channel/,?uuid=u&auth=reader&channel-group=cg"));
    assert_eq!(r.json()["payload"]["total_occupancy"], 1);
}

const SECRET: &str = "sec-c-test";
const PUB: &str = "pub-c-test";

/// A signed URL: `params` are decoded values; the query is sent strictly encoded.
fn signed(path: &str, params: &[(&str, &str)], timestamp: u64) -> String {
    let ts = timestamp.to_string();
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.push(("timestamp", &ts));
    let sig = signature_v2(SECRET, PUB, path, &all);
    let query: Vec<String> = all.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    format!("{path}?{}&signature={sig}", query.join("&"))
}

fn signing_emulator() -> Emu {
    Emu::with(|b| {
        b.keyset(
            "sk",
            KeysetOptions::new().secret_key(SECRET).publish_key(PUB),
        )
    })
}

fn now_secs(emu: &Emu) -> u64 {
    emu.clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[test]
fn signed_requests_are_verified() {
    let emu = signing_emulator();
    let now = now_secs(&emu);
    let path = format!(
        "/v2/presence/sub-key/sk/channel/{}/heartbeat",
        enc("room 1")
    );
    let url = signed(
        &path,
        &[
            ("uuid", "u"),
            ("heartbeat", "60"),
            ("state", r#"{"room 1":{"mood":"happy"}}"#),
        ],
        now,
    );
    assert_eq!(emu.get(&url).body, ACK);
    assert_eq!(emu.where_now_signed(now), ["room 1"]);
    // ±60 s is accepted, 61 s is not.
    assert_eq!(
        emu.get(&signed(&p("/uuid/u"), &[("uuid", "u")], now - 60))
            .status,
        200
    );
    assert_eq!(
        emu.get(&signed(&p("/uuid/u"), &[("uuid", "u")], now + 60))
            .status,
        200
    );
    let mismatch = "{\"error\":true,\"message\":\"Signature does not match\",\"service\":\"Access Manager\",\"status\":403}\n";
    for url in [
        signed(&p("/uuid/u"), &[("uuid", "u")], now - 61),
        signed(&p("/uuid/u"), &[("uuid", "u")], now + 61),
        p("/uuid/u?uuid=u"),
        signed(&p("/uuid/u"), &[("uuid", "u")], now).replace("uuid=u", "uuid=v"),
        signed(&p("/uuid/u"), &[("uuid", "u")], now).replace("signature=v2.", "signature=v2.A"),
    ] {
        let r = emu.get(&url);
        assert_eq!((r.status, r.body.as_str()), (403, mismatch), "{url}");
    }
}

#[test]
fn the_signature_covers_decoded_values_so_raw_commas_verify() {
    let emu = signing_emulator();
    emu.get(&signed(
        "/v1/channel-registration/sub-key/sk/channel-group/g1",
        &[("add", "a"), ("uuid", "u")],
        now_secs(&emu),
    ));
    emu.get(&signed(
        "/v1/channel-registration/sub-key/sk/channel-group/g2",
        &[("add", "b"), ("uuid", "u")],
        now_secs(&emu),
    ));
    let now = now_secs(&emu);
    let path = p("/channel/,/heartbeat");
    let url = signed(&path, &[("uuid", "u"), ("channel-group", "g1,g2")], now);
    // Like the Python SDK: send the comma raw while the signature used `%2C`.
    let raw = url.replace("g1%2Cg2", "g1,g2");
    assert_ne!(raw, url);
    assert_eq!(emu.get(&raw).body, ACK);
    assert_eq!(emu.where_now_signed(now), ["a", "b"]);
}

impl Emu {
    fn where_now_signed(&self, now: u64) -> Vec<String> {
        let r = self.get(&signed(&p("/uuid/u"), &[("uuid", "u")], now));
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_value(r.json()["payload"]["channels"].clone()).expect("list")
    }
}
