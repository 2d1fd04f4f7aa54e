//! Session tests with a simulated clock and a simulated service: no test sleeps.
#![allow(clippy::unchecked_time_subtraction)]

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::config::Config;
use crate::error::{ApiError, Error, ErrorKind};
use crate::ops::Operation;
use crate::stamp::Stamp;

fn config(user: &str) -> Config {
    Config::builder("sub-c-test", user).build().unwrap()
}

fn api(status: u16, retry_after: Option<u64>) -> Error {
    Error::Api(Box::new(ApiError {
        status,
        http_status: status,
        message: None,
        service: None,
        channels: vec![],
        groups: vec![],
        retry_after: retry_after.map(Duration::from_secs),
        excerpt: String::new(),
    }))
}

/// An error reply in the service's own JSON shape.
fn service_error(status: u16, message: &str) -> Error {
    Error::Api(Box::new(ApiError {
        status,
        http_status: status,
        message: Some(message.to_owned()),
        service: Some("Presence".to_owned()),
        channels: vec![],
        groups: vec![],
        retry_after: None,
        excerpt: String::new(),
    }))
}

fn query_of(request: &SessionRequest) -> String {
    let http = request
        .to_request(&config("u"), &Stamp::new(0, ""))
        .unwrap();
    format!("{}?{}", http.uri().path(), http.uri().query().unwrap_or(""))
}

#[test]
fn default_interval_is_half_timeout_minus_one() {
    assert_eq!(SessionOptions::new().interval(), Duration::from_secs(149));
    assert_eq!(SessionOptions::new().timeout(), Duration::from_secs(300));
    assert_eq!(
        SessionOptions::new().presence_timeout(20).interval(),
        Duration::from_secs(9)
    );
    assert_eq!(SessionOptions::new().presence_timeout(1).timeout_secs(), 20);
}

#[test]
fn join_heartbeats_at_once_then_every_interval_with_state() {
    let t0 = Instant::now();
    let mut s = PresenceSession::new(config("alice"), SessionOptions::new().presence_timeout(60));
    assert!(s.poll_request(t0).is_none(), "nothing joined");
    s.join(["b", "a"], ["g"]);
    s.set_state("a", &serde_json::json!({"mood": "happy"}))
        .unwrap();
    let hb = s.poll_request(t0).unwrap();
    let q = query_of(&hb);
    assert!(
        q.starts_with("/v2/presence/sub-key/sub-c-test/channel/a,b/heartbeat?"),
        "{q}"
    );
    assert!(q.contains("channel-group=g&heartbeat=60&"), "{q}");
    assert!(
        q.contains("state=%7B%22a%22%3A%7B%22mood%22%3A%22happy%22%7D%7D"),
        "{q}"
    );
    assert!(
        s.poll_request(t0).is_none(),
        "one request in flight at a time"
    );
    assert_eq!(s.poll_timeout(), None);
    s.handle_response(Ok(()), t0 + Duration::from_millis(30));
    match s.poll_event() {
        Some(SessionEvent::Joined { channels, groups }) => {
            assert_eq!(channels, ["a", "b"]);
            assert_eq!(groups, ["g"]);
        }
        other => panic!("{other:?}"),
    }
    // Next heartbeat counts from when the last one was sent.
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(29)));
    assert!(s.poll_request(t0 + Duration::from_secs(28)).is_none());
    assert!(s.poll_request(t0 + Duration::from_secs(29)).is_some());
}

#[test]
fn leave_some_then_shutdown_sends_one_leave_for_the_rest() {
    let t0 = Instant::now();
    let mut s = PresenceSession::new(config("alice"), SessionOptions::new());
    s.join_channels(["a", "b", "c"]);
    s.poll_request(t0).unwrap();
    s.handle_response(Ok(()), t0);
    s.poll_event();
    s.leave_channels(["b"]);
    let leave = s.poll_request(t0).unwrap();
    assert!(leave.is_leave());
    assert!(query_of(&leave).starts_with("/v2/presence/sub-key/sub-c-test/channel/b/leave?"));
    s.handle_response(Ok(()), t0);
    assert!(
        matches!(s.poll_event(), Some(SessionEvent::Left { channels, error: None, .. }) if channels == ["b"])
    );
    s.shutdown();
    let leave = s.poll_request(t0).unwrap();
    assert!(query_of(&leave).starts_with("/v2/presence/sub-key/sub-c-test/channel/a,c/leave?"));
    assert!(s.poll_request(t0).is_none());
    s.handle_response(Ok(()), t0);
    assert!(matches!(s.poll_event(), Some(SessionEvent::Left { .. })));
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::Stopped { error: None })
    ));
    assert!(s.is_stopped());
    assert!(s.poll_request(t0 + Duration::from_secs(1000)).is_none());
}

#[test]
fn forbidden_stops_the_session() {
    let t0 = Instant::now();
    let mut s = PresenceSession::new(config("alice"), SessionOptions::new());
    s.join_channels(["a"]);
    s.poll_request(t0).unwrap();
    s.handle_response(Err(service_error(403, "Forbidden")), t0);
    match s.poll_event() {
        Some(SessionEvent::Stopped { error: Some(e) }) => {
            assert_eq!(e.kind(), ErrorKind::AccessDenied);
        }
        other => panic!("{other:?}"),
    }
    assert!(s.is_stopped());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn retry_after_past_the_deadline_reports_risk_then_loss_and_retries_at_the_ceiling() {
    let t0 = Instant::now();
    let mut s = PresenceSession::new(config("alice"), SessionOptions::new().presence_timeout(20));
    s.join_channels(["a"]);
    s.poll_request(t0).unwrap();
    s.handle_response(Ok(()), t0);
    s.poll_event();
    let t1 = t0 + Duration::from_secs(9);
    s.poll_request(t1).unwrap();
    s.handle_response(Err(api(429, Some(60))), t1);
    match s.poll_event() {
        Some(SessionEvent::HeartbeatFailed {
            failures: 1,
            next_attempt_at,
            ..
        }) => {
            // Retry-After 60 s is over the ceiling (the 20 s presence timeout).
            assert_eq!(next_attempt_at, t1 + Duration::from_secs(20));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(s.poll_event(), Some(SessionEvent::PresenceAtRisk { deadline }) if deadline == t0 + Duration::from_secs(20))
    );
    // Woken at the deadline to report the loss, before the retry.
    let deadline = t0 + Duration::from_secs(20);
    assert_eq!(s.poll_timeout(), Some(deadline));
    assert!(s.poll_request(deadline).is_none());
    assert!(
        matches!(s.poll_event(), Some(SessionEvent::PresenceLost { since }) if since == deadline)
    );
    assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(20)));
    assert!(s.poll_request(t1 + Duration::from_secs(20)).is_some());
}

#[test]
fn join_during_flight_is_sent_after_and_reported_once() {
    let t0 = Instant::now();
    let mut s = PresenceSession::new(config("alice"), SessionOptions::new());
    s.join_channels(["a"]);
    s.poll_request(t0).unwrap();
    s.join_channels(["b"]);
    assert!(s.poll_request(t0).is_none());
    s.handle_response(Ok(()), t0);
    assert!(
        matches!(s.poll_event(), Some(SessionEvent::Joined { channels, .. }) if channels == ["a"])
    );
    let hb = s.poll_request(t0).expect("b's join goes out at once");
    assert!(query_of(&hb).contains("/channel/a,b/heartbeat"));
    s.handle_response(Ok(()), t0);
    assert!(
        matches!(s.poll_event(), Some(SessionEvent::Joined { channels, .. }) if channels == ["b"])
    );
    assert!(s.poll_event().is_none());
}

#[test]
fn many_sessions_share_one_timer_in_deadline_order() {
    let t0 = Instant::now();
    let mut all = PresenceSessions::new();
    let mut ids = Vec::new();
    for i in 0..1000u32 {
        let timeout = 20 + (i % 7) * 10;
        let mut s = PresenceSession::new(
            config(&format!("u{i}")),
            SessionOptions::new().presence_timeout(timeout),
        );
        s.join_channels([format!("ch{}", i % 10)]);
        ids.push(all.insert(s));
    }
    let mut first = 0;
    while let Some((id, _)) = all.poll_request(t0) {
        all.handle_response(id, Ok(()), t0);
        first += 1;
    }
    assert_eq!(first, 1000);
    let mut joined = 0;
    while let Some((_, e)) = all.poll_event() {
        assert!(matches!(e, SessionEvent::Joined { .. }));
        joined += 1;
    }
    assert_eq!(joined, 1000);
    // The earliest interval is 20/2 − 1 = 9 s.
    assert_eq!(all.poll_timeout(), Some(t0 + Duration::from_secs(9)));
    let mut now = t0;
    let mut last_seen = t0;
    let mut sent = 0;
    while let Some(at) = all.poll_timeout() {
        if at > t0 + Duration::from_secs(200) {
            break;
        }
        assert!(at >= last_seen, "timers fire in order");
        last_seen = at;
        now = now.max(at);
        while let Some((id, _)) = all.poll_request(now) {
            all.handle_response(id, Ok(()), now);
            sent += 1;
        }
    }
    assert!(sent > 1000, "heartbeats keep flowing: {sent}");
    all.shutdown_all();
    let mut leaves = 0;
    while let Some((id, req)) = all.poll_request(now) {
        assert!(req.is_leave());
        all.handle_response(id, Ok(()), now);
        leaves += 1;
    }
    assert_eq!(leaves, 1000);
    assert!(all.is_empty());
    assert!(ids.iter().all(|id| all.get(*id).is_none()));
}

/// A simulated service: remembers each heartbeat's arrival, counts timeouts.
struct SimService {
    timeout: Duration,
    last: Option<Instant>,
    timed_out: u32,
    outages: Vec<(Instant, Instant)>,
}

impl SimService {
    fn handle(&mut self, request: &SessionRequest, at: Instant, kind: u8) -> Result<(), Error> {
        if self
            .outages
            .iter()
            .any(|(from, to)| at >= *from && at < *to)
        {
            return Err(match kind % 4 {
                0 => api(503, None),
                1 => api(429, None),
                2 => Error::timeout(Duration::from_secs(10)),
                _ => Error::network("connect", std::io::Error::other("refused")),
            });
        }
        if request.is_leave() {
            self.last = None;
        } else {
            if let Some(last) = self.last {
                if at > last + self.timeout {
                    self.timed_out += 1;
                }
            }
            self.last = Some(at);
        }
        Ok(())
    }
}

/// Runs a session against the simulated service until `end`; returns (service, events).
fn simulate(
    options: SessionOptions,
    outages: Vec<(Duration, Duration)>,
    end: Duration,
    kind: u8,
) -> (SimService, Vec<SessionEvent>) {
    let t0 = Instant::now();
    let mut service = SimService {
        timeout: options.timeout(),
        last: None,
        timed_out: 0,
        outages: outages
            .into_iter()
            .map(|(a, len)| (t0 + a, t0 + a + len))
            .collect(),
    };
    let mut session = PresenceSession::new(config("sim"), options);
    session.join_channels(["room"]);
    let mut events = Vec::new();
    let mut now = t0;
    let end = t0 + end;
    let mut steps = 0;
    while now <= end {
        steps += 1;
        assert!(steps < 100_000, "runaway loop");
        while let Some(request) = session.poll_request(now) {
            let result = service.handle(&request, now, kind.wrapping_add(steps as u8));
            session.handle_response(result, now);
        }
        events.extend(std::iter::from_fn(|| session.poll_event()));
        match session.poll_timeout() {
            Some(at) => now = at.max(now),
            None => break,
        }
    }
    // Presence at the end must still be live.
    if let Some(last) = service.last {
        if end > last + service.timeout {
            service.timed_out += 1;
        }
    }
    (service, events)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any outage that ends at least a fifth of the timeout before the deadline (one interval
    /// after the last success, plus `timeout − interval − timeout / 5`) never times the user
    /// out: the spread-out retries reach past it within the attempt budget.
    #[test]
    fn short_outages_never_time_the_user_out(
        timeout in 20u32..600,
        starts in proptest::collection::vec(0.0f64..1.0, 1..4),
        lengths in proptest::collection::vec(0.0f64..1.0, 1..4),
        backoff_ms in 10u64..5000,
        seed in any::<u64>(),
        kind in any::<u8>(),
    ) {
        let options = SessionOptions::new()
            .presence_timeout(timeout)
            .min_backoff(Duration::from_millis(backoff_ms))
            .jitter_seed(seed);
        let window = options.timeout() - options.interval() - options.timeout() / 5;
        // Outages spaced a full timeout apart, each shorter than the window.
        let mut outages = Vec::new();
        let mut at = Duration::from_secs(1);
        for (s, l) in starts.iter().zip(lengths.iter()) {
            at += options.timeout().mul_f64(*s);
            let len = window.mul_f64(*l);
            outages.push((at, len));
            at += len + options.timeout();
        }
        let end = at + options.timeout() * 2;
        let (service, events) = simulate(options, outages, end, kind);
        prop_assert_eq!(service.timed_out, 0);
        let failed = events.iter().filter(|e| matches!(e, SessionEvent::HeartbeatFailed { .. })).count();
        let recovered = events.iter().filter(|e| matches!(e, SessionEvent::Recovered { presence_lost: false, .. })).count();
        prop_assert!(failed == 0 || recovered > 0, "failures without recovery");
        let bad = events.iter().any(|e| {
            matches!(e, SessionEvent::Stopped { .. } | SessionEvent::PresenceLost { .. } | SessionEvent::Recovered { presence_lost: true, .. })
        });
        prop_assert!(!bad, "stopped or lost presence");
    }
}

#[test]
fn long_outage_loses_presence_and_recovers() {
    let options = SessionOptions::new().presence_timeout(20).jitter_seed(7);
    let timeout = options.timeout();
    let (service, events) = simulate(
        options,
        vec![(Duration::from_secs(5), timeout * 2)],
        Duration::from_secs(200),
        0,
    );
    assert_eq!(
        service.timed_out, 1,
        "the service saw the user time out once"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::PresenceAtRisk { .. }))
    );
    assert!(events.iter().any(|e| matches!(
        e,
        SessionEvent::Recovered {
            presence_lost: true,
            ..
        }
    )));
}

#[test]
fn long_outage_with_slow_replies_reports_the_loss_once() {
    // Replies take 200 ms, so the last attempt before the deadline is answered after it (as on
    // a real network): the deadline passing must still be reported, once.
    let rtt = Duration::from_millis(200);
    let t0 = Instant::now();
    let options = SessionOptions::new().presence_timeout(20).jitter_seed(5);
    let mut s = PresenceSession::new(config("slow"), options);
    s.join_channels(["room"]);
    s.poll_request(t0).unwrap();
    s.handle_response(Ok(()), t0);
    let deadline = t0 + s.options().timeout();
    let mut now = t0;
    let mut at_risk = Vec::new();
    let mut lost = Vec::new();
    while now < deadline + Duration::from_secs(30) {
        now = s.poll_timeout().unwrap().max(now);
        if s.poll_request(now).is_some() {
            now += rtt;
            s.handle_response(Err(api(503, None)), now);
        }
        for event in std::iter::from_fn(|| s.poll_event()) {
            match event {
                SessionEvent::PresenceAtRisk { deadline } => at_risk.push((now, deadline)),
                SessionEvent::PresenceLost { since } => lost.push((now, since)),
                _ => {}
            }
        }
    }
    assert!(at_risk.len() <= 1, "{at_risk:?}");
    assert!(at_risk.iter().all(|(at, d)| at < d && *d == deadline));
    assert_eq!(lost.len(), 1, "{lost:?}");
    let (reported_at, since) = lost[0];
    assert_eq!(since, deadline);
    assert!(
        reported_at - deadline <= rtt,
        "reported {:?} late",
        reported_at - deadline
    );
}

#[test]
fn retries_close_in_on_the_deadline() {
    // Outage right before the second heartbeat, ending a fifth of the timeout before the
    // deadline: the spread-out retries reach past its end.
    for seed in 0..200 {
        let options = SessionOptions::new()
            .presence_timeout(20)
            .min_backoff(Duration::from_secs(1))
            .jitter_seed(seed);
        let interval = options.interval();
        let len = options.timeout() - interval - options.timeout() / 5;
        let (service, events) = simulate(
            options,
            vec![(interval - Duration::from_millis(1), len)],
            Duration::from_secs(120),
            2,
        );
        assert_eq!(service.timed_out, 0, "seed {seed}: {events:#?}");
        let failures = events
            .iter()
            .filter(|e| matches!(e, SessionEvent::HeartbeatFailed { .. }))
            .count();
        assert!((1..8).contains(&failures), "bounded retries: {failures}");
    }
}

#[test]
fn garbled_or_missing_replies_are_transient_refusals_stop() {
    let transient = [
        Error::decode(200, "body is not JSON", b"<html>", None),
        Error::decode(200, "truncated JSON body", b"{\"status\": 2", None),
        Error::BodyTooLarge { limit: 16 << 20 },
        api(400, None), // a bare 400 (not the service's JSON): a proxy, say
        api(502, None),
        api(404, None),
        api(500, None),
        api(429, None),
        Error::timeout(Duration::from_secs(1)),
    ];
    for error in transient {
        let t0 = Instant::now();
        let mut s = PresenceSession::new(config("alice"), SessionOptions::new());
        s.join_channels(["a"]);
        s.poll_request(t0).unwrap();
        let kind = error.kind();
        s.handle_response(Err(error), t0);
        assert!(!s.is_stopped(), "{kind:?} must not stop the session");
        assert!(
            matches!(s.poll_event(), Some(SessionEvent::HeartbeatFailed { .. })),
            "{kind:?}"
        );
    }
    for status in [400, 401, 402, 403, 414] {
        let t0 = Instant::now();
        let mut s = PresenceSession::new(config("alice"), SessionOptions::new());
        s.join_channels(["a"]);
        s.poll_request(t0).unwrap();
        s.handle_response(Err(service_error(status, "Invalid Subscribe Key")), t0);
        assert!(s.is_stopped(), "{status} must stop the session");
    }
}
