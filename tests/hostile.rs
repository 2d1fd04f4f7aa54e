//! The keep-present machines (`PresenceSession`) against a hostile server on raw TCP
//! (`tests/support/hostile.rs`), driven here by a minimal blocking HTTP/1.1 driver that honours
//! `SessionRequest::timeout` exactly as the adapters must. Short real time: the session's time
//! unit is 25 ms, so the 20-"second" presence timeout lasts 500 ms and heartbeats follow every
//! 225 ms. Assertions are about the protocol (event order, attempts per window, the
//! Retry-After ceiling), with generous bounds wherever real time shows through.

#[path = "support/hostile.rs"]
mod hostile;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hostile::{ESCAPE_MESSAGE, Hostile, Mode};
use presence_proto::{
    Config, Error, ErrorKind, MAX_ATTEMPTS_PER_WINDOW, MAX_INFLATED_BYTES, Operation as _,
    PresenceSession, SessionEvent, SessionOptions, SessionRequest, Stamp,
};

const UNIT: Duration = Duration::from_millis(25);
/// The presence timeout: 20 units.
const WINDOW: Duration = Duration::from_millis(500);
/// The driver's own request timeout (300 ms, as 12 units): longer than the time left when the
/// heartbeat after the join is sent (275 ms), so only the session's cap
/// (`SessionRequest::timeout`, 250 ms then) ends a stuck one before the deadline.
const OWN_TIMEOUT: Duration = Duration::from_millis(300);

fn options(seed: u64) -> SessionOptions {
    SessionOptions::new()
        .presence_timeout(20)
        .time_unit(UNIT)
        .jitter_seed(seed)
}

/// One exchange over a fresh connection, bounded by `min(own timeout, request.timeout())`.
fn exchange(config: &Config, request: &SessionRequest) -> Result<(), Error> {
    let limit = request.timeout_within(OWN_TIMEOUT);
    let deadline = Instant::now() + limit;
    let http = request.to_request(config, &Stamp::new(1_700_000_000, "hostile"))?;
    let authority = http
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let target = http
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let addr = authority
        .parse()
        .map_err(|e| Error::network("address", e))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, limit).map_err(|e| Error::network("connect", e))?;
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| Error::network("send", e))?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let (status, headers, body_start, length) = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let status: u16 = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::network("status line", std::io::Error::other("bad")))?;
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let length = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse::<usize>().ok());
            break (status, headers, end + 4, length);
        }
        read_some(&mut stream, &mut raw, &mut chunk, deadline, limit)?;
    };
    let cap = MAX_INFLATED_BYTES;
    loop {
        let have = raw.len() - body_start;
        if have > cap {
            return Err(Error::BodyTooLarge { limit: cap });
        }
        if length.is_some_and(|n| have >= n) {
            break;
        }
        if read_some(&mut stream, &mut raw, &mut chunk, deadline, limit)? == 0 {
            break;
        }
    }
    let mut reply = presence_proto::http::Response::builder().status(status);
    for (name, value) in &headers {
        reply = reply.header(name.as_str(), value.as_str());
    }
    let reply = reply
        .body(&raw[body_start..])
        .map_err(|e| Error::network("reply", e))?;
    request.parse(reply)
}

fn read_some(
    stream: &mut TcpStream,
    raw: &mut Vec<u8>,
    chunk: &mut [u8],
    deadline: Instant,
    limit: Duration,
) -> Result<usize, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::timeout(limit));
    }
    stream
        .set_read_timeout(Some(left))
        .map_err(|e| Error::network("socket", e))?;
    match stream.read(chunk) {
        Ok(n) => {
            raw.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(Error::timeout(limit))
        }
        Err(e) => Err(Error::network("read", e)),
    }
}

/// What a run saw.
struct Run {
    /// Events with the time they were read.
    events: Vec<(Instant, SessionEvent)>,
    /// When each heartbeat was sent.
    sent: Vec<Instant>,
}

impl Run {
    fn names(&self) -> Vec<&'static str> {
        self.events.iter().map(|(_, e)| name(e)).collect()
    }

    fn most_sent_in(&self, window: Duration) -> usize {
        (0..self.sent.len())
            .map(|i| {
                self.sent[i..]
                    .iter()
                    .take_while(|t| **t < self.sent[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn failures(&self) -> Vec<&Error> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                SessionEvent::HeartbeatFailed { error, .. } => Some(error),
                _ => None,
            })
            .collect()
    }
}

fn name(event: &SessionEvent) -> &'static str {
    match event {
        SessionEvent::Joined { .. } => "joined",
        SessionEvent::HeartbeatFailed { .. } => "heartbeat_failed",
        SessionEvent::Recovered { .. } => "recovered",
        SessionEvent::PresenceAtRisk { .. } => "presence_at_risk",
        SessionEvent::PresenceLost { .. } => "presence_lost",
        SessionEvent::Left { .. } => "left",
        SessionEvent::Stopped { .. } => "stopped",
        _ => "other",
    }
}

/// Keeps `alice` present on `lobby` against `server` for `run_for`, healing the server (mode
/// [`Mode::Ok`]) after `heal_after` if given, then shuts the session down.
fn run(server: &Hostile, seed: u64, run_for: Duration, heal_after: Option<Duration>) -> Run {
    let config = Config::builder("sub-c-hostile", "alice")
        .origin(server.origin())
        .build()
        .expect("config");
    let mut session = PresenceSession::new(config.clone(), options(seed));
    session.join_channels(["lobby"]);
    let start = Instant::now();
    let mut out = Run {
        events: Vec::new(),
        sent: Vec::new(),
    };
    let mut healed = false;
    let mut shut = false;
    loop {
        let now = Instant::now();
        if !healed && heal_after.is_some_and(|h| now >= start + h) {
            server.set(Mode::Ok);
            healed = true;
        }
        if !shut && now >= start + run_for {
            session.shutdown();
            shut = true;
        }
        while let Some(request) = session.poll_request(Instant::now()) {
            let at = Instant::now();
            out.events
                .extend(std::iter::from_fn(|| session.poll_event()).map(|e| (at, e)));
            if !request.is_leave() {
                out.sent.push(at);
            }
            let result = exchange(&config, &request);
            session.handle_response(result, Instant::now());
        }
        let at = Instant::now();
        out.events
            .extend(std::iter::from_fn(|| session.poll_event()).map(|e| (at, e)));
        if session.is_stopped() {
            return out;
        }
        assert!(
            start.elapsed() < run_for + Duration::from_secs(30),
            "runaway run"
        );
        let wake = session
            .poll_timeout()
            .unwrap_or(at + Duration::from_millis(5));
        let wake = wake
            .min(start + run_for)
            .min(at + Duration::from_millis(20));
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
}

fn lost(run: &Run) -> Vec<(Instant, Instant)> {
    run.events
        .iter()
        .filter_map(|(at, e)| match e {
            SessionEvent::PresenceLost { since } => Some((*at, *since)),
            _ => None,
        })
        .collect()
}

/// The at-risk reports all came while their deadline was still ahead.
fn assert_at_risk_ahead(run: &Run) {
    for (at, event) in &run.events {
        if let SessionEvent::PresenceAtRisk { deadline } = event {
            assert!(at < deadline, "presence_at_risk after its deadline");
        }
    }
}

#[test]
fn a_hang_after_the_join_is_reported_lost_at_the_deadline_then_recovered() {
    let server = Hostile::join_then(Mode::Hang);
    let run = run(
        &server,
        1,
        Duration::from_secs(2),
        Some(Duration::from_millis(1200)),
    );
    let names = run.names();
    assert_eq!(names.first(), Some(&"joined"), "{names:?}");
    // Until the recovery: failures, at most one at-risk report, and the loss (reported when
    // the deadline passes, or with the failure of a reply cut just after it).
    let recovered = names
        .iter()
        .position(|n| *n == "recovered")
        .expect("recovered");
    assert!(
        names[1..recovered].iter().all(|n| matches!(
            *n,
            "heartbeat_failed" | "presence_at_risk" | "presence_lost"
        )),
        "{names:?}"
    );
    assert!(
        names[1..recovered].contains(&"heartbeat_failed"),
        "{names:?}"
    );
    assert!(names[1..recovered].contains(&"presence_lost"), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| **n == "presence_lost").count(),
        1,
        "{names:?}"
    );
    // The stuck heartbeat was cut by the session's cap (not the driver's timeout), so the loss
    // is reported on time: within 1 s of the deadline (here, far less).
    let (reported, since) = lost(&run)[0];
    assert!(reported.saturating_duration_since(since) < Duration::from_secs(1));
    assert!(
        run.failures()
            .iter()
            .all(|e| e.kind() == ErrorKind::Timeout)
    );
    assert!(
        matches!(
            run.events
                .iter()
                .find(|(_, e)| matches!(e, SessionEvent::Recovered { .. })),
            Some((
                _,
                SessionEvent::Recovered {
                    presence_lost: true,
                    ..
                }
            ))
        ),
        "{names:?}"
    );
    assert_eq!(names.last(), Some(&"stopped"), "{names:?}");
    assert_at_risk_ahead(&run);
}

#[test]
fn constant_500s_stay_within_the_attempt_budget() {
    let server = Hostile::join_then(Mode::ServerError);
    let run = run(&server, 2, Duration::from_millis(2500), None);
    let most = run.most_sent_in(WINDOW);
    assert!(
        most <= MAX_ATTEMPTS_PER_WINDOW,
        "{most} heartbeats in one presence window"
    );
    assert!(
        server.heartbeats().len() >= 6,
        "it kept trying: {:?}",
        run.names()
    );
    assert_eq!(lost(&run).len(), 1, "{:?}", run.names());
    assert!(run.failures().iter().all(|e| e.kind() == ErrorKind::Server));
    assert!(!run.names().contains(&"recovered"));
    assert_at_risk_ahead(&run);
}

#[test]
fn a_huge_retry_after_waits_the_presence_timeout_not_eleven_days() {
    let server = Hostile::join_then(Mode::TooMany {
        retry_after: "999999".to_owned(),
    });
    let run = run(&server, 3, Duration::from_millis(1700), None);
    // join, the first 429 at one interval, then one attempt per presence timeout.
    let sent = &run.sent;
    assert!((3..=5).contains(&sent.len()), "{} heartbeats", sent.len());
    for pair in sent[1..].windows(2) {
        assert!(
            pair[1] - pair[0] >= WINDOW,
            "{:?} between attempts",
            pair[1] - pair[0]
        );
    }
    let names = run.names();
    assert_eq!(
        names[..4],
        [
            "joined",
            "heartbeat_failed",
            "presence_at_risk",
            "presence_lost"
        ],
        "{names:?}"
    );
    let error = run.failures()[0];
    assert_eq!(error.kind(), ErrorKind::TooManyRequests);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(999_999)));
}

#[test]
fn a_gzip_bomb_is_a_transient_failure() {
    let server = Hostile::join_then(Mode::GzipBomb {
        inflated: MAX_INFLATED_BYTES + (1 << 20),
    });
    let run = run(
        &server,
        4,
        Duration::from_secs(1),
        Some(Duration::from_millis(400)),
    );
    let names = run.names();
    assert!(!names[..names.len() - 1].contains(&"stopped"), "{names:?}");
    let failures = run.failures();
    assert!(!failures.is_empty(), "{names:?}");
    assert!(
        failures.iter().all(|e| e.kind() == ErrorKind::TooLarge),
        "{failures:?}"
    );
    assert!(names.contains(&"recovered"), "{names:?}");
}

#[test]
fn a_dripping_reply_is_cut_before_the_deadline() {
    let server = Hostile::join_then(Mode::Drip {
        every: Duration::from_millis(30),
    });
    let run = run(&server, 5, Duration::from_millis(1200), None);
    let names = run.names();
    let failures = run.failures();
    assert!(!failures.is_empty(), "{names:?}");
    assert!(
        failures.iter().all(|e| e.kind() == ErrorKind::Timeout),
        "{failures:?}"
    );
    let (reported, since) = lost(&run)[0];
    assert!(reported.saturating_duration_since(since) < Duration::from_secs(1));
}

#[test]
fn an_escape_laden_message_is_escaped_by_display() {
    let server = Hostile::join_then(Mode::EscapeMessage);
    let run = run(&server, 6, Duration::from_millis(600), None);
    let failures = run.failures();
    let error = failures.first().expect("a failure");
    assert_eq!(
        error.api().and_then(|a| a.message.as_deref()),
        Some(ESCAPE_MESSAGE)
    );
    let shown = error.to_string();
    assert!(
        !shown.chars().any(|c| c.is_control()),
        "Display must escape control characters: {shown:?}"
    );
    assert!(shown.contains("presence: ok, all fine"));
}

#[test]
fn a_refusal_that_cannot_heal_stops_the_session() {
    let server = Hostile::join_then(Mode::Forbidden);
    let run = run(&server, 7, Duration::from_secs(2), None);
    assert_eq!(run.names(), ["joined", "stopped"]);
    assert!(matches!(
        &run.events[1].1,
        SessionEvent::Stopped { error: Some(e) } if e.kind() == ErrorKind::AccessDenied
    ));
    assert_eq!(server.heartbeats().len(), 2, "no retry after a 403");
}
