//! The presence deadline under hostile services, on a virtual clock: `PresenceLost` on time,
//! `PresenceAtRisk` only ahead of the deadline, bounded attempts per presence window, the
//! Retry-After ceiling and request timeouts capped by the deadline.
#![allow(clippy::unchecked_time_subtraction)]

use std::time::{Duration, Instant};

use super::*;
use crate::config::Config;
use crate::error::{ApiError, Error, ErrorKind};

/// The driver's own request timeout (as in both adapters by default).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an answered request takes.
const RTT: Duration = Duration::from_millis(20);

fn config() -> Config {
    Config::builder("sub-c-test", "alice").build().unwrap()
}

fn status(code: u16, retry_after: Option<Duration>) -> Error {
    Error::Api(Box::new(ApiError {
        status: code,
        http_status: code,
        message: Some("Internal Server Error".to_owned()),
        service: Some("Presence".to_owned()),
        channels: vec![],
        groups: vec![],
        retry_after,
        excerpt: String::new(),
    }))
}

/// What the simulated server does with one request.
enum Reply {
    Ok,
    Fail(Error),
    /// Never answers: the driver's timeout (capped by the session's) ends the request.
    Hang,
}

#[derive(Default)]
struct Run {
    /// Every event with the (virtual) time it was read.
    events: Vec<(Instant, SessionEvent)>,
    /// When each heartbeat was sent, with the timeout the session asked for.
    attempts: Vec<(Instant, Option<Duration>)>,
}

impl Run {
    fn names(&self) -> Vec<&'static str> {
        self.events.iter().map(|(_, e)| name(e)).collect()
    }

    fn lost(&self) -> Vec<(Instant, Instant)> {
        self.events
            .iter()
            .filter_map(|(at, e)| match e {
                SessionEvent::PresenceLost { since } => Some((*at, *since)),
                _ => None,
            })
            .collect()
    }

    /// The most heartbeats sent within any span of `window`.
    fn most_attempts_in(&self, window: Duration) -> usize {
        let times: Vec<Instant> = self.attempts.iter().map(|(at, _)| *at).collect();
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
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
    }
}

/// Drives `session` by its contract on a virtual clock from `t0` to `end`.
fn drive(
    session: &mut PresenceSession,
    t0: Instant,
    end: Instant,
    mut server: impl FnMut(Instant, &SessionRequest) -> Reply,
) -> Run {
    let mut run = Run::default();
    let mut now = t0;
    let mut steps = 0;
    while now <= end {
        steps += 1;
        assert!(steps < 100_000, "runaway loop");
        while let Some(request) = session.poll_request(now) {
            // Events noticed by `poll_request` itself (the loss) happened now.
            run.events
                .extend(std::iter::from_fn(|| session.poll_event()).map(|e| (now, e)));
            if !request.is_leave() {
                run.attempts.push((now, request.timeout()));
            }
            let result = match server(now, &request) {
                Reply::Ok => {
                    now += RTT;
                    Ok(())
                }
                Reply::Fail(error) => {
                    now += RTT;
                    Err(error)
                }
                Reply::Hang => {
                    let after = request.timeout_within(REQUEST_TIMEOUT);
                    now += after;
                    Err(Error::timeout(after))
                }
            };
            session.handle_response(result, now);
            run.events
                .extend(std::iter::from_fn(|| session.poll_event()).map(|e| (now, e)));
        }
        run.events
            .extend(std::iter::from_fn(|| session.poll_event()).map(|e| (now, e)));
        match session.poll_timeout() {
            Some(at) => now = at.max(now),
            None => break,
        }
    }
    run
}

fn joined_session(options: SessionOptions) -> PresenceSession {
    let mut session = PresenceSession::new(config(), options);
    session.join_channels(["lobby"]);
    session
}

/// Every at-risk report comes while its deadline is still ahead.
fn assert_at_risk_ahead(run: &Run) {
    for (at, event) in &run.events {
        if let SessionEvent::PresenceAtRisk { deadline } = event {
            assert!(
                at < deadline,
                "at risk reported {:?} after the deadline",
                *at - *deadline
            );
        }
    }
}

#[test]
fn a_server_that_hangs_after_the_join_is_reported_lost_at_the_deadline() {
    let t0 = Instant::now();
    let mut s = joined_session(SessionOptions::new().presence_timeout(20).jitter_seed(1));
    let deadline = t0 + RTT.min(Duration::ZERO) + Duration::from_secs(20);
    let heal = t0 + Duration::from_secs(60);
    let run = drive(&mut s, t0, t0 + Duration::from_secs(90), |at, _| {
        if at == t0 || at >= heal {
            Reply::Ok
        } else {
            Reply::Hang
        }
    });
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
    assert_eq!(
        names.iter().filter(|n| **n == "presence_lost").count(),
        1,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| **n == "recovered").count(),
        1,
        "{names:?}"
    );
    assert_at_risk_ahead(&run);
    let lost = run.lost();
    let (reported, since) = lost[0];
    assert_eq!(since, deadline);
    assert!(
        reported >= deadline && reported - deadline <= Duration::from_secs(1),
        "{:?} {:?}",
        reported - t0,
        run.attempts
            .iter()
            .map(|(a, t)| (*a - t0, *t))
            .collect::<Vec<_>>()
    );
    // The heartbeat sent at 9 s may take 10 s (11 s left, 1 s margin); it fails at 19 s, in
    // time to report at risk before the deadline.
    assert_eq!(
        run.attempts[1],
        (t0 + Duration::from_secs(9), Some(Duration::from_secs(10)))
    );
    // After the loss the attempts take the driver's own timeout.
    assert!(
        run.attempts
            .iter()
            .filter(|(at, _)| *at >= deadline && *at < heal)
            .all(|(_, t)| t.is_none())
    );
    match run
        .events
        .iter()
        .find(|(_, e)| matches!(e, SessionEvent::Recovered { .. }))
    {
        Some((
            at,
            SessionEvent::Recovered {
                presence_lost: true,
                failures,
            },
        )) => {
            assert!(*at >= heal);
            assert!(*failures >= 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stuck_retry_ends_before_the_deadline() {
    // The driver's own timeout is long (10 s); every request that starts with the deadline
    // ahead must still end within the margin after it, so the loss is reported on time.
    let t0 = Instant::now();
    for seed in 0..100 {
        let mut s = joined_session(SessionOptions::new().presence_timeout(20).jitter_seed(seed));
        let deadline = t0 + Duration::from_secs(20);
        let mut first = true;
        let run = drive(&mut s, t0, t0 + Duration::from_secs(40), |at, _| {
            if std::mem::take(&mut first) {
                Reply::Ok
            } else if at < t0 + Duration::from_secs(15) {
                Reply::Fail(status(500, None))
            } else {
                Reply::Hang
            }
        });
        for (at, timeout) in &run.attempts[1..] {
            if *at < deadline {
                let timeout = timeout.expect("capped while the deadline is ahead");
                assert!(*at + timeout <= deadline.max(*at + Duration::from_millis(500)));
            }
        }
        let lost = run.lost();
        assert_eq!(lost.len(), 1, "seed {seed}: {:?}", run.names());
        assert!(
            lost[0].0 - deadline <= Duration::from_secs(1),
            "seed {seed}"
        );
        assert_at_risk_ahead(&run);
    }
}

#[test]
fn constant_500s_stay_within_the_attempt_budget_and_the_floor() {
    let t0 = Instant::now();
    for seed in 0..200 {
        let options = SessionOptions::new().presence_timeout(20).jitter_seed(seed);
        let floor = options.retry_floor();
        assert_eq!(floor, Duration::from_secs(1));
        let mut s = joined_session(options);
        let heal = t0 + Duration::from_secs(120);
        let mut first = true;
        let run = drive(&mut s, t0, t0 + Duration::from_secs(150), |at, _| {
            if std::mem::take(&mut first) || at >= heal {
                Reply::Ok
            } else {
                Reply::Fail(status(500, None))
            }
        });
        let most = run.most_attempts_in(Duration::from_secs(20));
        assert!(
            most <= MAX_ATTEMPTS_PER_WINDOW,
            "seed {seed}: {most} attempts in 20 s"
        );
        for pair in run.attempts.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            if pair[0].0 >= t0 + Duration::from_secs(9) && pair[1].0 < heal {
                assert!(gap >= floor, "seed {seed}: {gap:?} between attempts");
            }
        }
        let names = run.names();
        assert_eq!(names[0], "joined");
        let lost_at = names.iter().position(|n| *n == "presence_lost").unwrap();
        assert!(
            names[1..lost_at]
                .iter()
                .all(|n| matches!(*n, "heartbeat_failed" | "presence_at_risk"))
        );
        assert_eq!(names.iter().filter(|n| **n == "presence_lost").count(), 1);
        assert!(names.iter().filter(|n| **n == "presence_at_risk").count() <= 1);
        assert_at_risk_ahead(&run);
        let (reported, since) = run.lost()[0];
        assert_eq!(since, t0 + Duration::from_secs(20));
        assert!(reported - since <= Duration::from_secs(1), "seed {seed}");
        assert!(matches!(
            run.events
                .iter()
                .rev()
                .find(|(_, e)| matches!(e, SessionEvent::Recovered { .. })),
            Some((
                _,
                SessionEvent::Recovered {
                    presence_lost: true,
                    ..
                }
            ))
        ));
    }
}

#[test]
fn the_schedule_scales_with_the_time_unit() {
    let t0 = Instant::now();
    let unit = Duration::from_millis(10);
    let options = SessionOptions::new()
        .presence_timeout(20)
        .time_unit(unit)
        .jitter_seed(9);
    let floor = options.retry_floor();
    assert_eq!(floor, unit);
    let mut s = joined_session(options);
    let mut first = true;
    let run = drive(&mut s, t0, t0 + unit * 200, |_, _| {
        if std::mem::take(&mut first) {
            Reply::Ok
        } else {
            Reply::Fail(status(503, None))
        }
    });
    assert!(run.most_attempts_in(unit * 20) <= MAX_ATTEMPTS_PER_WINDOW);
    let (reported, since) = run.lost()[0];
    assert_eq!(since, t0 + unit * 20);
    assert!(reported - since <= unit);
}

#[test]
fn a_huge_retry_after_is_capped_at_the_presence_timeout() {
    let t0 = Instant::now();
    let mut s = joined_session(SessionOptions::new().presence_timeout(20).jitter_seed(4));
    let mut first = true;
    let run = drive(&mut s, t0, t0 + Duration::from_secs(100), |_, _| {
        if std::mem::take(&mut first) {
            Reply::Ok
        } else {
            Reply::Fail(status(429, Some(Duration::from_secs(999_999))))
        }
    });
    let times: Vec<Instant> = run.attempts.iter().map(|(at, _)| *at).collect();
    assert_eq!(times[1], t0 + Duration::from_secs(9));
    // Every later attempt waits the ceiling (20 s), never 11.5 days.
    for pair in times[1..].windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::from_secs(20) + RTT);
    }
    assert!(times.len() >= 5);
    let names = run.names();
    assert_eq!(
        names[..4],
        [
            "joined",
            "heartbeat_failed",
            "presence_at_risk",
            "presence_lost"
        ]
    );
    assert_eq!(
        run.lost()[0],
        (t0 + Duration::from_secs(20), t0 + Duration::from_secs(20))
    );
}

#[test]
fn oversized_truncated_and_undecodable_replies_heal() {
    let t0 = Instant::now();
    let mut s = joined_session(SessionOptions::new().presence_timeout(20).jitter_seed(2));
    let mut n = 0;
    let run = drive(&mut s, t0, t0 + Duration::from_secs(40), |_, _| {
        n += 1;
        match n {
            2 => Reply::Fail(Error::BodyTooLarge { limit: 16 << 20 }),
            3 => Reply::Fail(Error::decode(200, "truncated JSON body", b"{\"st", None)),
            4 => Reply::Fail(Error::decode(502, "body is not JSON", b"<html>", None)),
            _ => Reply::Ok,
        }
    });
    let names = run.names();
    assert_eq!(
        names[..5],
        [
            "joined",
            "heartbeat_failed",
            "heartbeat_failed",
            "heartbeat_failed",
            "recovered"
        ],
        "{names:?}"
    );
    assert!(!s.is_stopped());
}

#[test]
fn refusals_that_cannot_heal_stop_the_session() {
    for (error, kind) in [
        (status(403, None), ErrorKind::AccessDenied),
        (status(402, None), ErrorKind::NotEnabled),
        (status(400, None), ErrorKind::BadRequest),
    ] {
        let t0 = Instant::now();
        let mut s = joined_session(SessionOptions::new());
        let mut error = Some(error);
        let run = drive(&mut s, t0, t0 + Duration::from_secs(10), |_, _| {
            error.take().map_or(Reply::Ok, Reply::Fail)
        });
        assert_eq!(run.names(), ["stopped"]);
        assert!(
            matches!(&run.events[0].1, SessionEvent::Stopped { error: Some(e) } if e.kind() == kind)
        );
    }
}

#[test]
fn each_outage_reports_its_own_loss() {
    let t0 = Instant::now();
    let mut s = joined_session(SessionOptions::new().presence_timeout(20).jitter_seed(8));
    let down = |at: Instant| {
        (at >= t0 + Duration::from_secs(5) && at < t0 + Duration::from_secs(50))
            || (at >= t0 + Duration::from_secs(100) && at < t0 + Duration::from_secs(150))
    };
    let run = drive(&mut s, t0, t0 + Duration::from_secs(200), |at, _| {
        if down(at) {
            Reply::Fail(status(503, None))
        } else {
            Reply::Ok
        }
    });
    assert_eq!(run.lost().len(), 2, "{:?}", run.names());
    let recovered: Vec<bool> = run
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::Recovered { presence_lost, .. } => Some(*presence_lost),
            _ => None,
        })
        .collect();
    assert_eq!(recovered, [true, true]);
    assert_at_risk_ahead(&run);
}

#[test]
fn leaving_everything_forgets_the_deadline() {
    let t0 = Instant::now();
    let mut s = joined_session(SessionOptions::new().presence_timeout(20));
    s.poll_request(t0).unwrap();
    s.handle_response(Ok(()), t0);
    s.leave_channels(["lobby"]);
    s.poll_request(t0).unwrap();
    s.handle_response(Ok(()), t0);
    assert_eq!(s.poll_timeout(), None);
    let later = t0 + Duration::from_secs(100);
    s.join_channels(["lobby"]);
    s.poll_request(later).unwrap();
    s.handle_response(Ok(()), later);
    let names: Vec<_> = std::iter::from_fn(|| s.poll_event())
        .map(|e| name(&e))
        .collect();
    assert_eq!(names, ["joined", "left", "joined"]);
}

#[test]
fn many_sessions_report_the_loss_through_the_shared_timer() {
    let t0 = Instant::now();
    let mut all = PresenceSessions::new();
    for seed in 0..3 {
        all.insert(joined_session(
            SessionOptions::new().presence_timeout(20).jitter_seed(seed),
        ));
    }
    let mut now = t0;
    let mut ok = true;
    let mut lost = Vec::new();
    while now < t0 + Duration::from_secs(40) {
        while let Some((id, _)) = all.poll_request(now) {
            let result = if ok { Ok(()) } else { Err(status(500, None)) };
            all.handle_response(id, result, now);
        }
        ok = false;
        while let Some((id, event)) = all.poll_event() {
            if let SessionEvent::PresenceLost { since } = event {
                lost.push((id, now, since));
            }
        }
        now = all.poll_timeout().unwrap().max(now);
    }
    assert_eq!(lost.len(), 3, "{lost:?}");
    for (_, at, since) in lost {
        assert_eq!(since, t0 + Duration::from_secs(20));
        assert_eq!(at, since);
    }
}

/// Prints the worked table of the crate README (`cargo test -p presence-proto --lib
/// print_schedule -- --ignored --nocapture`).
#[test]
#[ignore = "prints the README's worked table"]
fn print_schedule() {
    let t0 = Instant::now();
    let mut s = joined_session(SessionOptions::new().presence_timeout(20).jitter_seed(1));
    let mut first = true;
    let run = drive(&mut s, t0, t0 + Duration::from_secs(60), |_, _| {
        if std::mem::take(&mut first) {
            Reply::Ok
        } else {
            Reply::Fail(status(500, None))
        }
    });
    for (at, timeout) in &run.attempts {
        println!(
            "attempt at {:>7.3} s, timeout {timeout:?}",
            (*at - t0).as_secs_f64()
        );
    }
    for (at, event) in &run.events {
        println!("{:>7.3} s {}", (*at - t0).as_secs_f64(), name(event));
    }
}
