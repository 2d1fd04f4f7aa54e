//! Strict request parsing: reserved characters, `%2C`, group separators, malformed input.

use serde_json::json;

use crate::common::{ACK, Emu, enc, p};

#[test]
fn reserved_characters_round_trip_in_channel_and_uuid_names() {
    let emu = Emu::new();
    let channel = "odd ch/?#&%+ ü";
    let uuid = "us/er?&=#ü";
    emu.hb(&enc(channel), &enc(uuid), "&heartbeat=60");
    assert_eq!(emu.server.occupants("sk", channel), [uuid]);
    let r = emu.get(&p(&format!("/uuid/{}?uuid=x", enc(uuid))));
    assert_eq!(r.json()["payload"]["channels"], json!([channel]));
    let r = emu.get(&p(&format!("/channel/{}?uuid=x", enc(channel))));
    assert_eq!(r.json()["uuids"], json!([uuid]));
    let r = emu.get(&p(&format!(
        "/channel/{}/uuid/{}?uuid=x",
        enc(channel),
        enc(uuid)
    )));
    assert_eq!(r.json()["channel"], json!(channel));
    assert_eq!(r.json()["uuid"], json!(uuid));
}

#[test]
fn an_encoded_comma_stays_inside_the_name() {
    let emu = Emu::new();
    emu.hb("a%2Cb,c", "u", "");
    assert_eq!(emu.where_now("u"), ["a,b", "c"]);
    let r = emu.get(&p("/channel/a%2Cb?uuid=x"));
    assert_eq!(r.json()["occupancy"], json!(1));
    assert!(emu.server.occupants("sk", "a").is_empty());
}

#[test]
fn channel_group_accepts_literal_or_encoded_commas() {
    let emu = Emu::new();
    for g in ["g1", "g2"] {
        emu.get(&format!(
            "/v1/channel-registration/sub-key/sk/channel-group/{g}?add={g}-ch&uuid=x"
        ));
    }
    emu.hb(",", "lit", "&channel-group=g1,g2");
    emu.hb(",", "pct", "&channel-group=g1%2Cg2");
    assert_eq!(emu.where_now("lit"), ["g1-ch", "g2-ch"]);
    assert_eq!(emu.where_now("pct"), ["g1-ch", "g2-ch"]);
}

#[test]
fn plus_is_literal_in_paths_and_a_space_in_queries() {
    let emu = Emu::new();
    emu.hb("a+b", "u", "");
    assert_eq!(emu.where_now("u"), ["a+b"]);
    emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?add=x+y&uuid=u");
    assert_eq!(
        emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?uuid=u")
            .json()["payload"]["channels"],
        json!(["x y"])
    );
}

fn error(message: &str) -> String {
    format!(r#"{{"error":true,"message":"{message}","service":"Presence","status":400}}"#)
}

#[test]
fn malformed_requests_answer_400_with_a_json_body() {
    let emu = Emu::new();
    let long = "x".repeat(93);
    let cases = [
        (
            p("/channel/a%zz/heartbeat?uuid=u"),
            error("Invalid percent-encoding in a channel name"),
        ),
        (
            p("/channel/a%/heartbeat?uuid=u"),
            error("Invalid percent-encoding in a channel name"),
        ),
        (
            p("/channel/a%FF/heartbeat?uuid=u"),
            error("Invalid UTF-8 in a channel name"),
        ),
        (
            p("/channel/a/heartbeat?uuid=%C3"),
            error("Invalid UTF-8 in query parameter `uuid`"),
        ),
        (
            p("/channel/a/heartbeat?uuid=u&state=%7"),
            error("Invalid percent-encoding in query parameter `state`"),
        ),
        (
            p("/channel/a/heartbeat?uuid=u&uuid=v"),
            error("Duplicate query parameter `uuid`"),
        ),
        (
            p("/channel/a,,b/heartbeat?uuid=u"),
            error("Invalid channel: empty name"),
        ),
        (
            p("/channel//heartbeat?uuid=u"),
            error("Invalid channel: empty name"),
        ),
        (
            p(&format!("/channel/{long}/heartbeat?uuid=u")),
            error("Invalid channel: longer than 92 bytes"),
        ),
        (
            p(&format!("/channel/a/heartbeat?uuid={long}")),
            error("Invalid uuid: longer than 92 bytes"),
        ),
        (
            p(&format!("/channel/a/heartbeat?uuid=u&channel-group={long}")),
            error("Invalid channel group: longer than 92 bytes"),
        ),
        (p("/uuid/%E2%82?uuid=u"), error("Invalid UTF-8 in uuid")),
        (
            "/v2/presence/sub-key/%zz/uuid/u?uuid=u".to_owned(),
            error("Invalid percent-encoding in subscribe key"),
        ),
    ];
    for (path, body) in cases {
        let r = emu.get(&path);
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.body, body, "{path}");
        assert_eq!(r.header("content-type"), Some(crate::common::CT));
    }
    assert_eq!(emu.server.stats().present, 0);
    // 92 bytes is still fine (two-byte characters count twice).
    emu.hb(&enc(&"ü".repeat(46)), "u", "");
}

#[test]
fn too_many_channels_in_one_request() {
    let emu = Emu::new();
    let names: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    let r = emu.get(&p(&format!(
        "/channel/{}/heartbeat?uuid=u",
        names.join(",")
    )));
    assert_eq!((r.status, r.body), (400, error("Too many channels")));
    let r = emu.get(&p(&format!(
        "/channel/{}/heartbeat?uuid=u",
        names[..1000].join(",")
    )));
    assert_eq!(r.body, ACK);
}

#[test]
fn urls_over_32_kib_answer_414() {
    let emu = Emu::new();
    let r = emu.get(&p(&format!(
        "/channel/a/heartbeat?uuid=u&pad={}",
        "x".repeat(33 * 1024)
    )));
    assert_eq!(r.status, 414);
    assert_eq!(
        r.body,
        r#"{"error":true,"message":"URI Too Long","service":"Presence","status":414}"#
    );
    assert_eq!(emu.server.stats().present, 0);
}

#[test]
fn other_methods_and_unknown_paths() {
    let emu = Emu::new();
    let r = emu.send("POST", &p("/channel/a/heartbeat?uuid=u"), "{}");
    assert_eq!(r.status, 405);
    assert_eq!(
        r.body,
        r#"{"error":true,"message":"Method Not Allowed","service":"Presence","status":405}"#
    );
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        assert_eq!(
            emu.send(method, &p("/channel/a?uuid=u"), "").status,
            405,
            "{method}"
        );
    }
    for path in [
        "/",
        "/v2/presence",
        "/v2/presence/sub-key/sk/channel/a/nope",
        "/v2/subscribe/sk/a",
        "/v2/publish/pub/sk/0/a/0/1",
    ] {
        let r = emu.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.body,
            r#"{"error":true,"message":"Not Found","service":"Presence","status":404}"#
        );
    }
    assert_eq!(emu.server.stats().present, 0);
}

#[test]
fn a_request_body_is_ignored() {
    let emu = Emu::new();
    let r = emu.send(
        "GET",
        &p("/channel/a/heartbeat?uuid=u"),
        r#"{"ignored":true}"#,
    );
    assert_eq!(r.body, ACK);
    assert_eq!(emu.where_now("u"), ["a"]);
}

#[test]
fn keep_alive_connections_serve_several_requests() {
    use std::io::{Read, Write};
    let emu = Emu::new();
    let mut s = std::net::TcpStream::connect(emu.addr()).expect("connect");
    s.set_read_timeout(Some(crate::common::READ_TIMEOUT))
        .expect("timeout");
    let path = p("/channel/a/heartbeat?uuid=u");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    for _ in 0..3 {
        s.write_all(req.as_bytes()).expect("write");
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.ends_with(ACK.as_bytes()) {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "connection closed early");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
    assert_eq!(emu.server.stats().requests["heartbeat"], 3);
}

#[test]
fn the_time_endpoint_answers_a_timetoken_from_the_emulator_clock() {
    let emu = Emu::new();
    let secs = emu
        .clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let r = emu.get("/time/0?uuid=u&pnsdk=x");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, format!("[{}]", u128::from(secs) * 10_000_000));
}
