//! Malformed, oversized, slow and abusive clients: each gets a 4xx or is disconnected, memory
//! stays bounded, and other clients keep being served meanwhile.
//!
//! Every test talks raw bytes over `std::net::TcpStream` to an emulator on `127.0.0.1:0`
//! and finishes within a few seconds (the connection timeouts are shortened through the
//! builder).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use presence_emulator::Sizes;
use serde_json::json;

use crate::common::{ACK, CT, Emu, enc, eventually, p};

/// How long any single read in these tests may block.
const READ_LIMIT: Duration = Duration::from_secs(6);

/// What came back on a connection: the bytes, whether the server closed it, and when.
struct Outcome {
    bytes: Vec<u8>,
    closed: bool,
    after: Duration,
}

impl Outcome {
    /// The status code of the first response, if a response head arrived.
    fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.bytes);
        let line = text.lines().next()?;
        line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    fn body(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        text.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(READ_LIMIT)).expect("read timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// Reads until the server closes the connection (EOF or reset) or `READ_LIMIT` passes.
fn read_until_closed(s: &mut TcpStream, started: Instant) -> Outcome {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                break true;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false;
            }
            Err(e) => panic!("read failed: {e}"),
        }
    };
    Outcome {
        bytes,
        closed,
        after: started.elapsed(),
    }
}

/// Sends `request` (ignoring write errors: the server may close before reading it all)
/// and reads until the server closes the connection.
fn send_raw(addr: SocketAddr, request: &[u8]) -> Outcome {
    let mut s = connect(addr);
    let started = Instant::now();
    let writer = {
        let mut w = s.try_clone().expect("clone");
        let request = request.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&request);
        })
    };
    let out = read_until_closed(&mut s, started);
    let _ = writer.join();
    out
}

fn get_line(path: &[u8]) -> Vec<u8> {
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(path);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    req
}

fn error(message: &str) -> String {
    format!(r#"{{"error":true,"message":"{message}","service":"Presence","status":400}}"#)
}

fn registry_error(message: &str) -> String {
    format!(r#"{{"error":true,"message":"{message}","service":"channel-registry","status":400}}"#)
}

/// A normal request on a fresh connection succeeds within `limit`.
fn healthy_within(addr: SocketAddr, limit: Duration) {
    let started = Instant::now();
    let out = send_raw(
        addr,
        &get_line(p("/channel/ok/heartbeat?uuid=ok").as_bytes()),
    );
    assert_eq!(
        out.status(),
        Some(200),
        "{}",
        String::from_utf8_lossy(&out.bytes)
    );
    assert_eq!(out.body(), ACK);
    assert!(
        started.elapsed() < limit,
        "a normal request took {:?}",
        started.elapsed()
    );
}

/// The store holds nothing (open connections are not looked at).
fn assert_store_empty(sizes: Sizes) {
    assert_eq!(
        (
            sizes.subscribe_keys,
            sizes.channels,
            sizes.entries,
            sizes.expiry_index,
            sizes.users,
            sizes.channel_groups,
            sizes.group_channels,
        ),
        (0, 0, 0, 0, 0, 0, 0),
        "{sizes:?}"
    );
}

fn wait_for_connections(emu: &Emu, at_most: usize, within: Duration) -> usize {
    let started = Instant::now();
    loop {
        let open = emu.server.sizes().open_connections;
        if open <= at_most || started.elapsed() > within {
            return open;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn raw_bytes_that_are_not_utf8_in_the_request_line_get_400() {
    let emu = Emu::new();
    let pre = b"/v2/presence/sub-key/sk/channel/";
    let cases: Vec<Vec<u8>> = vec![
        // in the path
        get_line(&[pre.as_slice(), b"a\xff\xfe/heartbeat?uuid=u"].concat()),
        // in the query
        get_line(&[pre.as_slice(), b"a/heartbeat?uuid=u\x80"].concat()),
        // in the method
        [
            b"G\x80T ".as_slice(),
            pre,
            b"a/heartbeat?uuid=u HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        .concat(),
        // in the version
        [
            b"GET ".as_slice(),
            pre,
            b"a/heartbeat?uuid=u HTTP/1.\xff\r\nHost: x\r\n\r\n",
        ]
        .concat(),
    ];
    for req in cases {
        let out = send_raw(emu.addr(), &req);
        assert_eq!(
            out.status(),
            Some(400),
            "{:?} -> {:?}",
            String::from_utf8_lossy(&req),
            String::from_utf8_lossy(&out.bytes)
        );
        assert!(out.closed, "the connection is closed after the 400");
    }
    // Raw (unescaped) UTF-8 is taken literally, as hyper passes it on.
    let out = send_raw(
        emu.addr(),
        &get_line(&[pre.as_slice(), "caf\u{e9}/heartbeat?uuid=u".as_bytes()].concat()),
    );
    assert_eq!(out.status(), Some(200));
    assert_eq!(emu.server.occupants("sk", "caf\u{e9}"), ["u"]);
    // Non-UTF-8 header values are not an error (the emulator reads none it needs).
    let out = send_raw(
        emu.addr(),
        &[
            b"GET ".as_slice(),
            pre,
            b"b/heartbeat?uuid=u HTTP/1.1\r\nHost: x\r\nX-Junk: \xff\xfe\r\nAccept-Encoding: \xff\r\nConnection: close\r\n\r\n",
        ]
        .concat(),
    );
    assert_eq!(out.status(), Some(200));
    assert_eq!(out.body(), ACK);
    assert_eq!(emu.server.stats().present, 2);
}

#[test]
fn escapes_that_decode_to_invalid_utf8_get_400_with_a_json_body() {
    let emu = Emu::new();
    let cases = [
        (
            p("/channel/%FF%FE/heartbeat?uuid=u"),
            error("Invalid UTF-8 in a channel name"),
        ),
        (
            p("/channel/ok,a%FF%FEb/heartbeat?uuid=u"),
            error("Invalid UTF-8 in a channel name"),
        ),
        (
            p("/channel/a/heartbeat?uuid=%FF%FE"),
            error("Invalid UTF-8 in query parameter `uuid`"),
        ),
        (
            p("/channel/a/heartbeat?uuid=u&%FF%FE=1"),
            error("Invalid UTF-8 in a query parameter name"),
        ),
        (
            p("/channel/a/heartbeat?uuid=u&state=%7B%22a%22%3A%22%FF%FE%22%7D"),
            error("Invalid UTF-8 in query parameter `state`"),
        ),
        (
            p("/channel/,/heartbeat?uuid=u&channel-group=%FF%FE"),
            error("Invalid UTF-8 in query parameter `channel-group`"),
        ),
        (p("/uuid/%FF%FE?uuid=u"), error("Invalid UTF-8 in uuid")),
        (
            "/v2/presence/sub-key/%FF%FE/channel/a?uuid=u".to_owned(),
            error("Invalid UTF-8 in subscribe key"),
        ),
        (
            "/v1/channel-registration/sub-key/sk/channel-group/%FF%FE?uuid=u".to_owned(),
            registry_error("Invalid UTF-8 in channel group"),
        ),
        (
            "/v1/channel-registration/sub-key/sk/channel-group/g?uuid=u&add=%FF%FE".to_owned(),
            registry_error("Invalid UTF-8 in query parameter `add`"),
        ),
    ];
    for (path, body) in cases {
        let r = emu.get(&path);
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.body, body, "{path}");
        assert_eq!(r.header("content-type"), Some(CT), "{path}");
    }
    assert_store_empty(emu.server.sizes());
}

#[test]
fn broken_percent_escapes_get_400_with_a_json_body() {
    let emu = Emu::new();
    for bad in ["%", "%G1", "%2", "a%", "a%2", "%%41", "%1G"] {
        let cases = [
            (
                p(&format!("/channel/{bad}/heartbeat?uuid=u")),
                error("Invalid percent-encoding in a channel name"),
            ),
            (
                p(&format!("/channel/a/heartbeat?uuid={bad}")),
                error("Invalid percent-encoding in query parameter `uuid`"),
            ),
            (
                p(&format!("/channel/a/heartbeat?uuid=u&{bad}=1")),
                error("Invalid percent-encoding in a query parameter name"),
            ),
            (
                p(&format!("/channel/a/uuid/{bad}?uuid=u")),
                error("Invalid percent-encoding in uuid"),
            ),
            (
                format!("/v2/presence/sub-key/{bad}/channel/a/heartbeat?uuid=u"),
                error("Invalid percent-encoding in subscribe key"),
            ),
            (
                format!("/v1/channel-registration/sub-key/sk/channel-group/{bad}?uuid=u"),
                registry_error("Invalid percent-encoding in channel group"),
            ),
        ];
        for (path, body) in cases {
            let r = emu.get(&path);
            assert_eq!((r.status, r.body), (400, body), "{path}");
        }
    }
    assert_store_empty(emu.server.sizes());
}

#[test]
fn a_repeated_query_parameter_is_a_400_whatever_the_values() {
    let emu = Emu::new();
    let cases = [
        ("uuid=a&uuid=b", "uuid"),
        ("uuid=a&uuid=a", "uuid"),
        ("uuid=a&%75uid=b", "uuid"),
        ("uuid=a&state=%7B%7D&state=%7B%7D", "state"),
        ("uuid=a&channel-group=g1&channel-group=g2", "channel-group"),
        ("uuid=a&channel-group=g1&channel_group=g2", "channel-group"),
        ("uuid=a&heartbeat=60&heartbeat=", "heartbeat"),
        ("uuid=a&pnsdk=x&pnsdk=y", "pnsdk"),
        ("uuid=a&ee&ee", "ee"),
    ];
    for (query, name) in cases {
        let path = p(&format!("/channel/a/heartbeat?{query}"));
        let r = emu.get(&path);
        assert_eq!(
            (r.status, r.body),
            (400, error(&format!("Duplicate query parameter `{name}`"))),
            "{path}"
        );
    }
    // The same rule on every endpoint, the channel registry included.
    let r = emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?uuid=a&add=x&add=y");
    assert_eq!(
        (r.status, r.body),
        (400, registry_error("Duplicate query parameter `add`"))
    );
    let r = emu.get(&p("/channel/a?uuid=a&limit=1&limit=2"));
    assert_eq!(r.status, 400);
    assert_store_empty(emu.server.sizes());
}

#[test]
fn ten_thousand_channels_in_one_request() {
    let emu = Emu::new();
    let alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    let two_char = |i: usize| format!("{}{}", alphabet[i % 62], alphabet[(i / 62) % 62]);

    // 10 000 names, 3 844 distinct, 30 KB: inside the URL limit, over the channel limit.
    let names: Vec<String> = (0..10_000).map(two_char).collect();
    let list = names.join(",");
    assert!(list.len() < 32 * 1024);
    let started = Instant::now();
    let r = emu.get(&p(&format!("/channel/{list}/heartbeat?uuid=u")));
    assert_eq!((r.status, r.body), (400, error("Too many channels")));
    let r = emu.get(&p(&format!("/channel/{list}?uuid=u")));
    assert_eq!((r.status, r.body), (400, error("Too many channels")));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // 10 000 times the same name is one channel.
    let same = vec!["x"; 10_000].join(",");
    let r = emu.get(&p(&format!("/channel/{same}/heartbeat?uuid=u")));
    assert_eq!((r.status, r.body.as_str()), (200, ACK));
    assert_eq!(emu.server.sizes().entries, 1);
    emu.get(&p("/channel/x/leave?uuid=u"));

    // 10 000 distinct names: 49 KB, over the 32 KiB URL limit: the JSON 414.
    let distinct: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
    let r = emu.get(&p(&format!(
        "/channel/{}/heartbeat?uuid=u",
        distinct.join(",")
    )));
    assert_eq!(r.status, 414);
    assert_eq!(
        r.body,
        r#"{"error":true,"message":"URI Too Long","service":"Presence","status":414}"#
    );

    // Over 64 KiB (hyper's URI limit) and over the 80 KiB head limit: hyper's empty 4xx.
    for width in [6, 9] {
        let long: Vec<String> = (0..10_000).map(|i| format!("{i:0width$}")).collect();
        let req = get_line(p(&format!("/channel/{}/heartbeat?uuid=u", long.join(","))).as_bytes());
        let out = send_raw(emu.addr(), &req);
        assert!(
            matches!(out.status(), Some(414 | 431)),
            "{} bytes -> {:?}",
            req.len(),
            out.status()
        );
        assert!(out.closed);
    }

    // The same through groups and the channel registry.
    let groups = names.join(",");
    let r = emu.get(&p(&format!(
        "/channel/,/heartbeat?uuid=u&channel-group={groups}"
    )));
    assert_eq!((r.status, r.body), (400, error("Too many channel groups")));
    let r = emu.get(&format!(
        "/v1/channel-registration/sub-key/sk/channel-group/g?uuid=u&add={list}"
    ));
    assert_eq!(
        (r.status, r.body),
        (
            400,
            registry_error("Channel group would exceed the maximum of 2000 channels")
        )
    );
    assert_store_empty(emu.server.sizes());
    healthy_within(emu.addr(), Duration::from_secs(2));
}

#[test]
fn oversized_heads_get_431_or_414_and_the_connection_closes() {
    let emu = Emu::new();
    let path = p("/channel/a/heartbeat?uuid=u");

    // A megabyte of headers.
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n").into_bytes();
    for i in 0..100 {
        req.extend_from_slice(format!("X-Fill-{i}: {}\r\n", "a".repeat(10_000)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    assert!(req.len() > 1_000_000);
    let out = send_raw(emu.addr(), &req);
    assert!(out.closed, "closed, not left hanging");
    // hyper answers 431; the reply may be lost to a reset when the client is still sending.
    assert!(
        matches!(out.status(), Some(431) | None),
        "{:?}",
        String::from_utf8_lossy(&out.bytes)
    );
    assert!(out.after < Duration::from_secs(3), "{:?}", out.after);

    // A thousand small headers (hyper allows 100).
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n").into_bytes();
    for i in 0..1000 {
        req.extend_from_slice(format!("X-{i}: a\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let out = send_raw(emu.addr(), &req);
    assert_eq!(out.status(), Some(431));
    assert!(out.closed);

    // 90 headers are fine.
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n").into_bytes();
    for i in 0..88 {
        req.extend_from_slice(format!("X-{i}: a\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let out = send_raw(emu.addr(), &req);
    assert_eq!((out.status(), out.body().as_str()), (Some(200), ACK));

    // A 100 KB request line.
    let line = format!("{path}&pad={}", "y".repeat(100_000));
    let out = send_raw(emu.addr(), &get_line(line.as_bytes()));
    assert!(
        matches!(out.status(), Some(414 | 431)),
        "{:?}",
        out.status()
    );
    assert!(out.closed);

    // Between 32 KiB and 64 KiB the emulator's own JSON 414.
    let line = format!("{path}&pad={}", "y".repeat(40_000));
    let out = send_raw(emu.addr(), &get_line(line.as_bytes()));
    assert_eq!(out.status(), Some(414));
    assert!(out.body().contains(r#""message":"URI Too Long""#));

    assert_eq!(emu.server.stats().present, 1);
    healthy_within(emu.addr(), Duration::from_secs(2));
}

/// An emulator whose connection timeouts fit in a test.
fn quick_emu(header: Duration, idle: Duration) -> Emu {
    Emu::with(|b| b.header_read_timeout(header).idle_timeout(idle))
}

#[test]
fn a_head_sent_one_byte_per_100_ms_is_cut_off_at_the_header_timeout() {
    let emu = quick_emu(Duration::from_secs(1), Duration::from_secs(30));
    let mut s = connect(emu.addr());
    let started = Instant::now();
    let trickle = {
        let mut w = s.try_clone().expect("clone");
        let head = format!(
            "GET {} HTTP/1.1\r\nHost: x\r\nX-Slow: {}\r\n\r\n",
            p("/channel/slow/heartbeat?uuid=slow"),
            "z".repeat(200)
        );
        std::thread::spawn(move || {
            let mut sent = 0;
            for b in head.bytes() {
                if w.write_all(&[b]).is_err() {
                    break;
                }
                sent += 1;
                std::thread::sleep(Duration::from_millis(100));
                if started.elapsed() > Duration::from_secs(5) {
                    break;
                }
            }
            sent
        })
    };
    let out = read_until_closed(&mut s, started);
    let sent = trickle.join().expect("trickle thread");
    assert!(out.closed, "the server closed the connection");
    assert!(out.bytes.is_empty(), "no response to an unfinished head");
    assert!(
        out.after >= Duration::from_millis(900) && out.after < Duration::from_secs(3),
        "closed after {:?}",
        out.after
    );
    assert!(sent < 40, "the trickle was cut off ({sent} bytes sent)");
    assert!(emu.server.occupants("sk", "slow").is_empty());
    assert_eq!(
        wait_for_connections(&emu, 0, Duration::from_secs(2)),
        0,
        "the server side of the connection is gone"
    );
}

#[test]
fn connections_that_never_finish_a_head_are_closed() {
    // The third connection's unfinished head arrived together with a complete request, so
    // the emulator cannot tell it from an idle connection: it gets the idle timeout.
    let emu = quick_emu(Duration::from_secs(1), Duration::from_secs(2));
    let started = Instant::now();
    // Sends nothing at all.
    let mut silent = connect(emu.addr());
    // Sends half a head, then nothing.
    let mut half = connect(emu.addr());
    half.write_all(
        b"GET /v2/presence/sub-key/sk/channel/a/heartbeat?uuid=u HTTP/1.1\r\nHost: x\r\n",
    )
    .expect("write");
    // Sends a complete request, then half of the next one.
    let mut second = connect(emu.addr());
    second
        .write_all(
            format!(
                "GET {} HTTP/1.1\r\nHost: x\r\n\r\nGET {} HTTP/1.1\r\nHo",
                p("/channel/b/heartbeat?uuid=u"),
                p("/channel/c/heartbeat?uuid=u")
            )
            .as_bytes(),
        )
        .expect("write");
    for (name, s) in [
        ("silent", &mut silent),
        ("half", &mut half),
        ("second", &mut second),
    ] {
        let out = read_until_closed(s, started);
        assert!(out.closed, "{name}: closed");
        assert!(
            out.after < Duration::from_secs(4),
            "{name}: {:?}",
            out.after
        );
        if name == "second" {
            assert_eq!(out.status(), Some(200), "the complete request was answered");
        } else {
            assert!(out.bytes.is_empty(), "{name}: nothing sent back");
        }
    }
    assert_eq!(emu.where_now("u"), ["b"]);
    assert_eq!(wait_for_connections(&emu, 0, Duration::from_secs(2)), 0);
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout_only() {
    // A short header timeout must not cut idle keep-alive connections: they get the idle
    // timeout.
    let emu = quick_emu(Duration::from_millis(300), Duration::from_millis(1500));
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\n\r\n",
        p("/channel/k/heartbeat?uuid=u")
    );
    let mut s = connect(emu.addr());
    let mut buf = vec![0u8; 4096];
    let mut exchange = |s: &mut TcpStream| {
        s.write_all(req.as_bytes()).expect("write");
        let mut got = Vec::new();
        while !got.ends_with(ACK.as_bytes()) {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "closed while in use");
            got.extend_from_slice(&buf[..n]);
        }
    };
    // Used every 400 ms (longer than the header timeout) for 2 s: stays open.
    for _ in 0..5 {
        exchange(&mut s);
        std::thread::sleep(Duration::from_millis(400));
    }
    exchange(&mut s);
    // Then left idle: closed after the idle timeout.
    let idle_from = Instant::now();
    let out = read_until_closed(&mut s, idle_from);
    assert!(out.closed);
    assert!(
        out.after >= Duration::from_millis(1400) && out.after < Duration::from_secs(4),
        "closed after {:?} idle",
        out.after
    );
    assert_eq!(emu.server.stats().requests["heartbeat"], 6);
}

#[test]
fn other_clients_are_served_promptly_while_slow_and_garbage_connections_are_open() {
    const SLOW: usize = 150;
    const GARBAGE: usize = 100;
    let emu = quick_emu(Duration::from_secs(3), Duration::from_secs(30));
    let addr = emu.addr();
    // Slow-loris connections: half a head, more bytes now and then.
    let mut slow: Vec<TcpStream> = (0..SLOW)
        .map(|i| {
            let mut s = connect(addr);
            s.write_all(format!("GET /v2/presence/sub-key/sk/channel/s{i}/heartbeat?uuid=s HTTP/1.1\r\nHost: x\r\n").as_bytes())
                .expect("write");
            s
        })
        .collect();
    // Garbage: binary junk without an end of head, and junk that is no HTTP at all.
    let mut rng = fastrand::Rng::with_seed(11);
    let garbage: Vec<TcpStream> = (0..GARBAGE)
        .map(|i| {
            let mut s = connect(addr);
            let junk: Vec<u8> = if i % 2 == 0 {
                (0..rng.usize(1..2000))
                    .map(|_| rng.u8(..))
                    .filter(|b| *b != b'\n')
                    .collect()
            } else {
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec() // a TLS hello
            };
            let _ = s.write_all(&junk);
            s
        })
        .collect();
    eventually("the slow connections are accepted", || {
        emu.server.sizes().open_connections >= SLOW
    });

    // Meanwhile, normal requests on other connections are answered promptly.
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    for i in 0..60 {
        let t = Instant::now();
        let r = emu.get(&p(&format!("/channel/busy/heartbeat?uuid=user-{i}")));
        assert_eq!(r.body, ACK);
        worst = worst.max(t.elapsed());
        if i % 10 == 0 {
            for s in &mut slow {
                let _ = s.write_all(b"X");
            }
        }
    }
    let r = emu.get(&p("/channel/busy?uuid=probe"));
    assert_eq!(r.json()["occupancy"], json!(60));
    assert!(
        worst < Duration::from_millis(500),
        "worst request took {worst:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        emu.server.sizes().open_connections >= SLOW,
        "the slow connections were still open while the others were served"
    );

    // After the header timeout every one of them is gone, and nothing was stored for them.
    let left = wait_for_connections(&emu, 0, Duration::from_secs(6));
    assert_eq!(left, 0, "connections still open");
    assert_eq!(emu.where_now("s"), Vec::<String>::new());
    drop((slow, garbage));
    healthy_within(addr, Duration::from_secs(1));
}

#[test]
fn ten_thousand_junk_channels_from_many_users_expire_back_to_empty() {
    let emu = Emu::new();
    // 100 fake users, 100 junk channels each: 10 000 distinct channels, with state on
    // some, kept alive once, then left to expire.
    for user in 0..100 {
        let names: Vec<String> = (0..100)
            .map(|c| enc(&format!("junk-{user}-{c}-\u{fc}")))
            .collect();
        let list = names.join(",");
        let state = enc(&format!(r#"{{"junk-{user}-0-ü":{{"n":{user}}}}}"#));
        emu.hb(
            &list,
            &format!("fake-{user}"),
            &format!("&heartbeat=60&state={state}"),
        );
    }
    let sizes = emu.server.sizes();
    assert_eq!(
        (
            sizes.subscribe_keys,
            sizes.channels,
            sizes.entries,
            sizes.users
        ),
        (1, 10_000, 10_000, 100)
    );
    assert_eq!(sizes.expiry_index, 10_000);
    assert_eq!(emu.server.stats().present, 10_000);
    // State for users who are not present is kept too, and expires on its own timer.
    for user in 0..50 {
        let r = emu.get(&p(&format!(
            "/channel/orphan-{user}/uuid/ghost-{user}/data?uuid=ghost-{user}&state=%7B%22a%22%3A1%7D"
        )));
        assert_eq!(r.status, 200);
    }
    assert_eq!(emu.server.sizes().entries, 10_050);

    // Half-way, everyone is kept alive for 60 s more: nothing expires at the first deadline.
    emu.advance(30);
    for user in 0..100 {
        let names: Vec<String> = (0..100)
            .map(|c| enc(&format!("junk-{user}-{c}-\u{fc}")))
            .collect();
        emu.hb(&names.join(","), &format!("fake-{user}"), "&heartbeat=60");
    }
    emu.advance(30);
    assert_eq!(emu.server.stats().present, 10_000);
    assert_eq!(emu.server.sizes().expiry_index, 10_050);

    // Past the second deadline: all presence is gone; past 300 s the orphan state too.
    emu.advance(30);
    let stats = emu.server.stats();
    assert_eq!((stats.present, stats.timed_out), (0, 10_000));
    assert_eq!(emu.server.sizes().entries, 50);
    emu.advance(300);
    assert_store_empty(emu.server.sizes());
    assert_eq!(emu.server.stats().present, 0);
    // The admin endpoint reports the same.
    let r = emu.get("/_emulator/sizes");
    assert_eq!(r.json()["entries"], json!(0));
    assert_eq!(r.json()["subscribe_keys"], json!(0));
}

#[test]
fn sizes_count_groups_and_connections_and_reset_clears_them() {
    let emu = Emu::new();
    emu.get("/v1/channel-registration/sub-key/sk/channel-group/g1?add=a,b,c&uuid=x");
    emu.get("/v1/channel-registration/sub-key/other/channel-group/g2?add=a&uuid=x");
    let sizes = emu.server.sizes();
    assert_eq!(
        (
            sizes.subscribe_keys,
            sizes.channel_groups,
            sizes.group_channels
        ),
        (2, 2, 4)
    );
    let held = connect(emu.addr());
    eventually("the held connection is counted", || {
        emu.server.sizes().open_connections == 1
    });
    drop(held);
    assert_eq!(wait_for_connections(&emu, 0, Duration::from_secs(2)), 0);
    emu.server.reset();
    assert_store_empty(emu.server.sizes());
}

#[test]
fn random_urls_always_get_a_json_answer() {
    use presence_emulator::{EmulatorBuilder, InProcess};
    // The parser on junk made of the characters that matter to it, through the socketless
    // entry point: never a panic, always a JSON body with a 2xx or 4xx status.
    let service = InProcess::new(EmulatorBuilder::new());
    let pieces = [
        "/",
        "/",
        ",",
        "%",
        "%2",
        "%2C",
        "%FF",
        "%FE",
        "%C3%BC",
        "%G1",
        "+",
        "&",
        "=",
        "?",
        "v2",
        "v1",
        "presence",
        "channel-registration",
        "sub-key",
        "sub_key",
        "k",
        "channel",
        "channel-group",
        "uuid",
        "heartbeat",
        "leave",
        "data",
        "remove",
        "a",
        "ü",
        "uuid=u",
        "state=",
        "%7B%7D",
        "channel-group=",
        "channel_group=",
        "limit=",
        "offset=",
        "-1",
        "1001",
        "add=",
        "heartbeat=",
        "state=%5B%5D",
    ];
    let mut rng = fastrand::Rng::with_seed(3);
    for _ in 0..20_000 {
        let mut path = String::from(
            [
                "/v2/presence/sub-key/k/",
                "/v1/channel-registration/sub-key/k/",
                "/",
            ][rng.usize(..3)],
        );
        for _ in 0..rng.usize(0..8) {
            path.push_str(pieces[rng.usize(..pieces.len())]);
        }
        let mut query = String::new();
        for _ in 0..rng.usize(0..8) {
            query.push_str(pieces[rng.usize(..pieces.len())]);
        }
        let (status, body) = service.answer(&path, &query);
        assert!(
            (200..500).contains(&status),
            "{path}?{query} -> {status} {body}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(&body).is_ok(),
            "{path}?{query} -> {body}"
        );
    }
}
