//! The admin API: stats, clock, reset, and turning it off.

use presence_emulator::EmulatorBuilder;
use serde_json::json;

use crate::common::{Emu, get_at, p, send_at};

#[test]
fn stats_count_requests_presence_and_timeouts() {
    let emu = Emu::new();
    emu.hb("a,b", "u1", "&heartbeat=10");
    emu.hb("a", "u2", "&heartbeat=100");
    emu.get(&p("/channel/a?uuid=x"));
    emu.get(&p("/channel/b/leave?uuid=u1"));
    emu.get("/nope");
    emu.advance(10);
    let r = emu.get("/_emulator/stats");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({
            "requests": {"channel_group": 0, "get_state": 0, "heartbeat": 2, "here_now": 1,
                         "leave": 1, "other": 1, "set_state": 0, "subscribe": 0, "where_now": 0},
            "requests_total": 5, "error_replies": 1, "faults_applied": 0,
            "present": 1, "timed_out": 1, "left": 1
        })
    );
    let s = emu.server.stats();
    assert_eq!(
        (s.present, s.timed_out, s.left, s.requests_total),
        (1, 1, 1, 5)
    );
}

#[test]
fn clock_endpoint_moves_a_manual_clock() {
    let emu = Emu::new();
    emu.hb("a", "u", "&heartbeat=30");
    let before = emu.get("/_emulator/clock").json()["now_unix_ms"]
        .as_u64()
        .expect("ms");
    let r = emu.send("POST", "/_emulator/clock", r#"{"advance_ms":30000}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["now_unix_ms"].as_u64(), Some(before + 30_000));
    assert!(emu.where_now("u").is_empty());
    let r = emu.send("POST", "/_emulator/clock", r#"{"set_unix_ms":1000}"#);
    assert_eq!(r.json()["now_unix_ms"], 1000);
    for bad in [
        "{}",
        r#"{"advance_ms":1,"set_unix_ms":1}"#,
        r#"{"advance_ms":-1}"#,
        "nope",
    ] {
        assert_eq!(
            emu.send("POST", "/_emulator/clock", bad).status,
            400,
            "{bad}"
        );
    }
}

#[test]
fn clock_endpoint_refuses_a_system_clock() {
    let server = EmulatorBuilder::new().start_in_background().expect("start");
    let r = send_at(
        server.local_addr(),
        "POST",
        "/_emulator/clock",
        r#"{"advance_ms":1}"#,
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body,
        r#"{"error":true,"message":"the emulator clock is not a manual clock","service":"emulator","status":409}"#
    );
}

#[test]
fn reset_forgets_everything_but_the_faults() {
    let emu = Emu::new();
    emu.hb("a", "u", "");
    emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?add=a&uuid=u");
    emu.server
        .faults()
        .push(presence_emulator::FaultRule::respond(500, "").path("never-matches"));
    assert_eq!(
        emu.send("POST", "/_emulator/reset", "").body,
        r#"{"ok":true}"#
    );
    assert!(emu.where_now("u").is_empty());
    assert_eq!(
        emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?uuid=u")
            .json()["payload"]["channels"],
        json!([])
    );
    assert_eq!(emu.server.faults().pending(), 1);
    let s = emu.server.stats();
    assert_eq!((s.present, s.requests_total), (0, 2));
    emu.server.reset();
    assert_eq!(emu.server.stats().requests_total, 0);
}

#[test]
fn unknown_admin_paths_and_methods() {
    let emu = Emu::new();
    assert_eq!(emu.get("/_emulator/nope").status, 404);
    assert_eq!(emu.send("PUT", "/_emulator/stats", "").status, 405);
    assert_eq!(emu.get("/_emulator/reset").status, 405);
    assert_eq!(
        emu.get("/_emulator/faults").body,
        r#"{"ok":true,"pending":0}"#
    );
    let r = emu.send("POST", "/_emulator/faults", "{not json");
    assert_eq!(r.status, 400);
}

#[test]
fn admin_api_can_be_turned_off() {
    let server = EmulatorBuilder::new()
        .admin(false)
        .start_in_background()
        .expect("start");
    let r = get_at(server.local_addr(), "/_emulator/stats", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["service"], "Presence");
    let r = send_at(server.local_addr(), "POST", "/_emulator/reset", "");
    assert_eq!(r.status, 405);
}
