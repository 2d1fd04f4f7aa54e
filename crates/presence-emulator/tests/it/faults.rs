//! Fault injection through the library API and the admin endpoint.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use presence_emulator::{FaultAction, FaultRule, Operation};

use crate::common::{ACK, Emu, READ_TIMEOUT, p, parse};

fn hb_path(uuid: &str) -> String {
    p(&format!("/channel/room/heartbeat?uuid={uuid}"))
}

#[test]
fn respond_replaces_the_reply_without_changing_state() {
    let emu = Emu::new();
    emu.server.faults().push(
        FaultRule::respond(
            503,
            r#"{"error":true,"message":"Service Unavailable","status":503}"#,
        )
        .operation(Operation::Heartbeat)
        .retry_after(7),
    );
    let r = emu.get(&hb_path("a"));
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(
        r.body,
        r#"{"error":true,"message":"Service Unavailable","status":503}"#
    );
    assert!(emu.where_now("a").is_empty());
    // Only the next matching request was faulted.
    assert_eq!(emu.get(&hb_path("a")).body, ACK);
    assert_eq!(emu.where_now("a"), ["room"]);
    let stats = emu.server.stats();
    assert_eq!((stats.faults_applied, stats.error_replies), (1, 1));
}

#[test]
fn http_200_with_an_error_body_and_custom_content_type() {
    let emu = Emu::new();
    emu.server.faults().push(FaultRule::respond(
        200,
        r#"{"status": 503, "message": "Service Unavailable", "error": 1, "service": "Presence"}"#,
    ));
    let r = emu.get(&p("/channel/c?uuid=x"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], 503);
    emu.server
        .faults()
        .push(FaultRule::new(FaultAction::Respond {
            status: 502,
            body: "<html><body>Bad Gateway</body></html>".into(),
            content_type: Some("text/html".into()),
        }));
    let r = emu.get(&p("/channel/c?uuid=x"));
    assert_eq!(
        (r.status, r.header("content-type")),
        (502, Some("text/html"))
    );
}

#[test]
fn pass_through_applies_the_request_then_corrupts_the_reply() {
    let emu = Emu::new();
    emu.server
        .faults()
        .push(FaultRule::respond(500, "oops").pass_through(true));
    assert_eq!(emu.get(&hb_path("a")).status, 500);
    assert_eq!(emu.where_now("a"), ["room"]);
}

#[test]
fn drop_closes_the_connection_without_a_response() {
    let emu = Emu::new();
    emu.server
        .faults()
        .push(FaultRule::drop_connection().path("/heartbeat").times(2));
    let req = format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", hb_path("a"));
    assert!(emu.raw(&req).is_empty());
    assert!(emu.raw(&req).is_empty());
    assert!(emu.where_now("a").is_empty());
    emu.server
        .faults()
        .push(FaultRule::drop_connection().pass_through(true));
    assert!(emu.raw(&req).is_empty());
    assert_eq!(emu.where_now("a"), ["room"]);
}

#[test]
fn truncate_announces_the_whole_body_then_closes() {
    let emu = Emu::new();
    emu.server.faults().push(FaultRule::truncate(10));
    let raw = emu.raw(&format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", hb_path("a")));
    let r = parse(&raw);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some(ACK.len().to_string().as_str())
    );
    assert_eq!(r.wire_body, &ACK.as_bytes()[..10]);
    // Not passed through: no state change.
    assert!(emu.where_now("a").is_empty());
}

#[test]
fn invalid_json_keeps_http_valid_and_breaks_the_body() {
    let emu = Emu::new();
    emu.server
        .faults()
        .push(FaultRule::invalid_json().operation(Operation::Leave));
    emu.hb("room", "a", "");
    let r = emu.get(&p("/channel/room/leave?uuid=a"));
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&r.body).is_err());
    assert!(
        r#"{"action":"leave","message":"OK","service":"Presence","status":200}"#
            .starts_with(&r.body)
    );
    assert_eq!(
        emu.where_now("a"),
        ["room"],
        "the faulted leave must not apply"
    );
}

#[test]
fn pad_grows_the_body_and_keeps_it_valid_json() {
    let emu = Emu::new();
    emu.server.faults().push(FaultRule::pad_to(100_000));
    let r = emu.get(&p("/channel/c?uuid=x"));
    assert_eq!(r.body.len(), 100_000);
    assert_eq!(r.json()["occupancy"], 0);
    emu.server.faults().push(FaultRule::pad_to(100_000));
    let z = emu.get_h(&p("/channel/c?uuid=x"), &[("Accept-Encoding", "gzip")]);
    assert_eq!(z.header("content-encoding"), Some("gzip"));
    assert_eq!(z.body.len(), 100_000);
}

#[test]
fn delay_holds_the_headers_and_still_applies_the_request() {
    let emu = Emu::new();
    emu.server
        .faults()
        .push(FaultRule::delay(Duration::from_millis(300)));
    let start = Instant::now();
    let r = emu.get(&hb_path("a"));
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.body, ACK);
    assert_eq!(emu.where_now("a"), ["room"]);
}

#[test]
fn stall_sends_headers_and_part_of_the_body_then_waits() {
    let emu = Emu::new();
    emu.server
        .faults()
        .push(FaultRule::stall(5, Duration::from_millis(400)));
    let mut s = TcpStream::connect(emu.addr()).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    let start = Instant::now();
    s.write_all(
        format!(
            "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            hb_path("a")
        )
        .as_bytes(),
    )
    .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut first_part_at = None;
    loop {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if first_part_at.is_none() && got.windows(4).any(|w| w == b"\r\n\r\n") {
            first_part_at = Some(start.elapsed());
        }
    }
    let first = first_part_at.expect("headers arrived");
    assert!(
        first < Duration::from_millis(300),
        "headers came late: {first:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(400));
    let r = parse(&got);
    assert_eq!(r.body, ACK);
    // A stalled request that is not passed through does not join.
    assert!(emu.where_now("a").is_empty());
}

#[test]
fn rules_match_paths_by_substring_or_glob_and_by_operation() {
    let emu = Emu::new();
    let f = emu.server.faults();
    f.push(
        FaultRule::respond(418, "glob")
            .path("/v2/presence/*/uuid/*")
            .forever(),
    );
    f.push(
        FaultRule::respond(419, "substring")
            .path("channel/special")
            .forever(),
    );
    f.push(
        FaultRule::respond(420, "op")
            .operation(Operation::ChannelGroup)
            .forever(),
    );
    assert_eq!(emu.get(&p("/uuid/x?uuid=x")).status, 418);
    assert_eq!(emu.get(&p("/channel/special/heartbeat?uuid=x")).status, 419);
    assert_eq!(
        emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?uuid=x")
            .status,
        420
    );
    assert_eq!(emu.get(&p("/channel/normal?uuid=x")).status, 200);
    assert_eq!(f.pending(), 3);
    f.clear();
    assert_eq!(emu.get(&p("/uuid/x?uuid=x")).status, 200);
}

#[test]
fn random_fraction_is_repeatable_with_a_seed() {
    let run = || {
        let emu = Emu::new();
        emu.server
            .faults()
            .push(FaultRule::respond(503, "").probability(0.3, 42));
        (0..40)
            .map(|_| emu.get(&p("/uuid/x?uuid=x")).status)
            .collect::<Vec<_>>()
    };
    let a = run();
    assert_eq!(a, run());
    let hits = a.iter().filter(|s| **s == 503).count();
    assert!((3..=25).contains(&hits), "{hits} of 40");
}

#[test]
fn admin_endpoint_takes_json_rules() {
    let emu = Emu::new();
    let r = emu.send(
        "POST",
        "/_emulator/faults",
        r#"{"operation":"heartbeat","times":2,"retry_after":1,"action":{"type":"respond","status":429,"body":{"error":true,"status":429}}}"#,
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, r#"{"ok":true,"pending":1}"#)
    );
    for _ in 0..2 {
        let r = emu.get(&hb_path("a"));
        assert_eq!((r.status, r.header("retry-after")), (429, Some("1")));
        assert_eq!(r.body, r#"{"error":true,"status":429}"#);
    }
    assert_eq!(emu.get(&hb_path("a")).status, 200);
    let r = emu.send(
        "POST",
        "/_emulator/faults",
        r#"[{"action":{"type":"drop"}},{"path":"*leave*","action":{"type":"truncate","send_bytes":3}},{"action":{"type":"stall","after_bytes":1,"stall_ms":1}},{"action":{"type":"pad","to_bytes":64}},{"action":{"type":"invalid_json"}},{"delay_ms":1}]"#,
    );
    assert_eq!(r.body, r#"{"ok":true,"pending":6}"#);
    let r = emu.send(
        "POST",
        "/_emulator/faults",
        r#"{"action":{"type":"explode"}}"#,
    );
    assert_eq!(r.status, 400);
    let r = emu.send("POST", "/_emulator/faults", r#"{"probability":1.5}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "invalid fault rule: probability must be within 0.0..=1.0"
    );
    let r = emu.send("DELETE", "/_emulator/faults", "");
    assert_eq!(r.body, r#"{"ok":true,"pending":0}"#);
}
