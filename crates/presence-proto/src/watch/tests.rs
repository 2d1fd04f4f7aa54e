//! The watch machine on a virtual clock, fed hand-written replies.

use std::time::{Duration, Instant};

use super::*;
use crate::error::{Error, ErrorKind};
use crate::events::{PresenceAction, SubscribeReply};
use crate::ops::Operation;

fn reply(request: &WatchRequest, body: &str) -> Result<Option<SubscribeReply>, Error> {
    request.parse(http::Response::new(body.as_bytes()))
}

fn event(channel: &str, tt: u64, payload: &str) -> String {
    format!(
        r#"{{"a":"2","f":0,"p":{{"t":"{tt}","r":1}},"k":"demo","c":"{channel}-pnpres","d":{payload},"b":"{channel}-pnpres"}}"#
    )
}

fn body(cursor: u64, region: u32, events: &[String]) -> String {
    format!(
        r#"{{"t":{{"t":"{cursor}","r":{region}}},"m":[{}]}}"#,
        events.join(",")
    )
}

/// A connected observer of `lobby`, with its first long-poll in flight.
fn connected(options: WatchOptions, now: Instant) -> (Watch, WatchToken, WatchRequest) {
    let mut watch = Watch::new(options);
    watch.add_channels(["lobby"]);
    let (token, request) = watch.poll_transmit(now).unwrap();
    let handshake = reply(&request, &body(100, 1, &[]));
    watch.handle_response(token, handshake, now);
    assert!(
        matches!(watch.poll_item(), Some(WatchItem::Connected { cursor }) if cursor.timetoken == 100)
    );
    let (token, request) = watch.poll_transmit(now).unwrap();
    (watch, token, request)
}

fn events(watch: &mut Watch) -> Vec<PresenceAction> {
    std::iter::from_fn(|| watch.poll_item())
        .filter_map(|item| match item {
            WatchItem::Event(event) => Some(event.action),
            _ => None,
        })
        .collect()
}

#[test]
fn the_handshake_then_every_event_kind_in_order() {
    let now = Instant::now();
    let (mut watch, token, request) = connected(WatchOptions::new().observe(true), now);
    let WatchRequest::Subscribe(poll) = &request else {
        panic!("{request:?}")
    };
    assert_eq!(poll.current_cursor().timetoken, 100);
    let all = [
        event(
            "lobby",
            101,
            r#"{"action":"join","uuid":"a","occupancy":1,"timestamp":1}"#,
        ),
        event(
            "lobby",
            102,
            r#"{"action":"state-change","uuid":"a","occupancy":1,"data":{"mood":"x"}}"#,
        ),
        event(
            "lobby",
            103,
            r#"{"action":"leave","uuid":"a","occupancy":0}"#,
        ),
        event(
            "lobby",
            104,
            r#"{"action":"timeout","uuid":"b","occupancy":0}"#,
        ),
        event(
            "lobby",
            105,
            r#"{"action":"interval","occupancy":25,"join":["c"],"here_now_refresh":false}"#,
        ),
        event("lobby", 106, r#"{"action":"sparkle","uuid":"d"}"#),
    ];
    watch.handle_response(token, reply(&request, &body(106, 1, &all)), now);
    let got = events(&mut watch);
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(matches!(&got[0], PresenceAction::Join { uuid, .. } if uuid == "a"));
    assert!(matches!(&got[1], PresenceAction::StateChange { state, .. } if state["mood"] == "x"));
    assert!(matches!(&got[2], PresenceAction::Leave { .. }));
    assert!(matches!(&got[3], PresenceAction::Timeout { .. }));
    assert!(matches!(&got[4], PresenceAction::Interval { join, .. } if join == &["c"]));
    assert!(matches!(&got[5], PresenceAction::Unknown { action, .. } if action == "sparkle"));
    assert_eq!(watch.cursor().timetoken, 106);
}

#[test]
fn redelivered_events_and_a_cursor_that_goes_back_deliver_each_event_once() {
    let now = Instant::now();
    let (mut watch, token, request) = connected(WatchOptions::new().observe(true), now);
    let join = event(
        "lobby",
        101,
        r#"{"action":"join","uuid":"a","occupancy":1}"#,
    );
    watch.handle_response(
        token,
        reply(&request, &body(101, 12, std::slice::from_ref(&join))),
        now,
    );
    assert_eq!(events(&mut watch).len(), 1);
    // Region change: the cursor moves back and the same event comes again, then a new one.
    let (token, request) = watch.poll_transmit(now).unwrap();
    let leave = event(
        "lobby",
        102,
        r#"{"action":"leave","uuid":"a","occupancy":0}"#,
    );
    watch.handle_response(token, reply(&request, &body(99, 3, &[join, leave])), now);
    let got = events(&mut watch);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(matches!(&got[0], PresenceAction::Leave { .. }));
    assert_eq!(watch.cursor().region, 3, "the service's cursor is followed");
}

#[test]
fn failures_back_off_exponentially_with_jitter_and_resume_from_the_cursor() {
    let now = Instant::now();
    let options = WatchOptions::new()
        .observe(true)
        .min_backoff(Duration::from_secs(1))
        .max_backoff(Duration::from_secs(8));
    let (mut watch, mut token, _) = connected(options, now);
    let mut at = now;
    let mut delays = Vec::new();
    for _ in 0..6 {
        watch.handle_response(token, Err(Error::timeout(Duration::from_secs(310))), at);
        let Some(WatchItem::Retrying {
            next_attempt_at, ..
        }) = watch.poll_item()
        else {
            panic!()
        };
        assert!(
            watch.poll_transmit(at).is_none(),
            "nothing before the backoff"
        );
        delays.push(next_attempt_at - at);
        at = next_attempt_at;
        let (next, request) = watch.poll_transmit(at).unwrap();
        let WatchRequest::Subscribe(poll) = request else {
            panic!()
        };
        assert_eq!(
            poll.current_cursor().timetoken,
            100,
            "resumes from the last cursor"
        );
        token = next;
    }
    let bases = [1, 2, 4, 8, 8, 8];
    for (delay, base) in delays.iter().zip(bases) {
        let base = Duration::from_secs(base);
        assert!(*delay >= base / 2 && *delay <= base, "{delays:?}");
    }
}

#[test]
fn retry_after_is_honoured_up_to_the_longest_backoff() {
    let now = Instant::now();
    let options = WatchOptions::new()
        .observe(true)
        .max_backoff(Duration::from_secs(30));
    let (mut watch, token, request) = connected(options, now);
    let limited = request.parse(
        http::Response::builder()
            .status(429)
            .header("retry-after", "999999")
            .body(&br#"{"status":429,"error":true}"#[..])
            .unwrap(),
    );
    watch.handle_response(token, limited, now);
    let Some(WatchItem::Retrying {
        next_attempt_at, ..
    }) = watch.poll_item()
    else {
        panic!()
    };
    assert!(next_attempt_at - now <= Duration::from_secs(30));
    assert!(next_attempt_at - now >= Duration::from_secs(15));
}

#[test]
fn access_denied_ends_the_watch_with_the_error() {
    let now = Instant::now();
    let (mut watch, token, request) = connected(WatchOptions::new(), now);
    let denied = request.parse(
        http::Response::builder()
            .status(403)
            .body(
                &br#"{"status":403,"error":true,"message":"Forbidden","service":"Access Manager"}"#
                    [..],
            )
            .unwrap(),
    );
    watch.handle_response(token, denied, now);
    assert!(
        matches!(watch.poll_item(), Some(WatchItem::Stopped { error: Some(e) }) if e.kind() == ErrorKind::AccessDenied)
    );
    assert!(watch.is_stopped());
    assert!(
        watch.poll_transmit(now).is_none(),
        "no leave, no more polls"
    );
}

#[test]
fn adding_a_channel_mid_poll_supersedes_it_without_a_leave_or_a_lost_cursor() {
    let now = Instant::now();
    let (mut watch, old, old_request) = connected(WatchOptions::new(), now);
    watch.add_channels(["kitchen"]);
    let (new, request) = watch.poll_transmit(now).unwrap();
    let WatchRequest::Subscribe(poll) = &request else {
        panic!("a leave: {request:?}")
    };
    assert_eq!(
        poll.channel_names().collect::<Vec<_>>(),
        ["kitchen", "lobby"]
    );
    assert_eq!(poll.current_cursor().timetoken, 100);
    assert!(watch.poll_transmit(now).is_none(), "no leave for adding");
    // The superseded poll's reply is ignored.
    let stale = event(
        "lobby",
        101,
        r#"{"action":"join","uuid":"z","occupancy":1}"#,
    );
    watch.handle_response(old, reply(&old_request, &body(101, 1, &[stale])), now);
    assert!(watch.poll_item().is_none());
    assert_eq!(watch.cursor().timetoken, 100);
    watch.handle_response(new, reply(&request, &body(100, 1, &[])), now);
}

#[test]
fn removing_a_channel_leaves_only_it_and_stopping_leaves_the_rest() {
    let now = Instant::now();
    let (mut watch, _old, _) = connected(WatchOptions::new(), now);
    watch.add(["kitchen"], ["friends"]);
    watch.remove_channels(["kitchen"]);
    let (leave_token, leave) = watch.poll_transmit(now).unwrap();
    let WatchRequest::Leave(op) = &leave else {
        panic!("{leave:?}")
    };
    let config = crate::Config::builder("demo", "me").build().unwrap();
    let path = op
        .to_request(&config, &crate::Stamp::new(0, ""))
        .unwrap()
        .uri()
        .path()
        .to_owned();
    assert!(path.ends_with("/channel/kitchen/leave"), "{path}");
    watch.handle_response(leave_token, Ok(None), now);
    let (_, poll) = watch.poll_transmit(now).unwrap();
    assert!(matches!(poll, WatchRequest::Subscribe(_)));
    watch.stop();
    let (token, leave) = watch.poll_transmit(now).unwrap();
    let WatchRequest::Leave(op) = &leave else {
        panic!("{leave:?}")
    };
    let request = op.to_request(&config, &crate::Stamp::new(0, "")).unwrap();
    assert!(request.uri().path().ends_with("/channel/lobby/leave"));
    assert!(
        request
            .uri()
            .query()
            .unwrap()
            .contains("channel-group=friends")
    );
    assert!(!watch.is_stopped());
    watch.handle_response(token, Ok(None), now);
    // A poll was on its way when the watch stopped: one more leave, in case it reached the
    // service after the first one.
    let (again, leave) = watch.poll_transmit(now).expect("the second leave");
    assert!(matches!(leave, WatchRequest::Leave(_)));
    assert!(!watch.is_stopped());
    watch.handle_response(again, Ok(None), now);
    assert!(watch.is_stopped());
    assert!(watch.poll_transmit(now).is_none());
}

#[test]
fn observers_and_suppressed_leaves_send_no_leave() {
    let now = Instant::now();
    for options in [
        WatchOptions::new().observe(true),
        WatchOptions::new().suppress_leave(true),
    ] {
        let (mut watch, _, _) = connected(options, now);
        watch.stop();
        assert!(watch.poll_transmit(now).is_none());
        assert!(watch.is_stopped());
    }
}

#[test]
fn a_long_outage_reports_a_gap_on_reconnecting_and_a_short_one_does_not() {
    let now = Instant::now();
    let options = WatchOptions::new()
        .observe(true)
        .gap_after(Duration::from_secs(60))
        .max_backoff(Duration::from_secs(20));
    let (mut watch, mut token, _) = connected(options, now);
    // 10 s of failures: no gap.
    watch.handle_response(token, Err(Error::timeout(Duration::from_secs(1))), now);
    let at = now + Duration::from_secs(10);
    let (next, request) = watch.poll_transmit(at).unwrap();
    watch.handle_response(next, reply(&request, &body(100, 1, &[])), at);
    let items: Vec<_> = std::iter::from_fn(|| watch.poll_item()).collect();
    assert!(
        !items.iter().any(|i| matches!(i, WatchItem::Gap { .. })),
        "{items:?}"
    );
    assert!(
        items
            .iter()
            .any(|i| matches!(i, WatchItem::Recovered { failures: 1 }))
    );
    // 90 s of failures: a gap.
    let (t, _) = watch.poll_transmit(at).unwrap();
    token = t;
    let mut clock = at;
    while clock < at + Duration::from_secs(90) {
        watch.handle_response(token, Err(Error::timeout(Duration::from_secs(1))), clock);
        clock = watch.poll_timeout().unwrap();
        token = watch.poll_transmit(clock).unwrap().0;
    }
    let (_, request) = (token, WatchRequest::Subscribe(crate::Subscribe::new()));
    watch.handle_response(token, reply(&request, &body(100, 1, &[])), clock);
    let items: Vec<_> = std::iter::from_fn(|| watch.poll_item()).collect();
    assert!(items.iter().any(|i| matches!(i, WatchItem::Gap { reason: GapReason::Outage { lasted } } if *lasted >= Duration::from_secs(60))), "{items:?}");
}

#[test]
fn restarting_reports_a_cursor_reset_gap_after_the_new_handshake() {
    let now = Instant::now();
    let (mut watch, _, _) = connected(WatchOptions::new().observe(true), now);
    watch.restart();
    let (token, request) = watch.poll_transmit(now).unwrap();
    let WatchRequest::Subscribe(poll) = &request else {
        panic!()
    };
    assert!(poll.current_cursor().is_handshake());
    watch.handle_response(token, reply(&request, &body(500, 1, &[])), now);
    assert!(matches!(
        watch.poll_item(),
        Some(WatchItem::Connected { .. })
    ));
    assert!(matches!(
        watch.poll_item(),
        Some(WatchItem::Gap {
            reason: GapReason::CursorReset
        })
    ));
}

#[test]
fn dedupe_memory_is_bounded() {
    let now = Instant::now();
    let (mut watch, mut token, mut request) = connected(WatchOptions::new().observe(true), now);
    for batch in 0..5u64 {
        let all: Vec<String> = (0..1000)
            .map(|i| {
                event(
                    "lobby",
                    1000 + batch * 1000 + i,
                    r#"{"action":"join","uuid":"a","occupancy":1}"#,
                )
            })
            .collect();
        watch.handle_response(token, reply(&request, &body(100 + batch, 1, &all)), now);
        assert_eq!(events(&mut watch).len(), 1000);
        (token, request) = watch.poll_transmit(now).unwrap();
    }
    assert!(watch.remembered() <= 1024);
}

#[test]
fn a_present_watcher_heartbeats_while_its_poll_is_held() {
    let now = Instant::now();
    let options = WatchOptions::new()
        .presence_timeout(20)
        .time_unit(Duration::from_millis(10));
    let (mut watch, _token, _) = connected(options, now);
    assert_eq!(watch.poll_timeout(), Some(now + Duration::from_millis(90)));
    let later = now + Duration::from_millis(90);
    let (_, request) = watch.poll_transmit(later).expect("a heartbeat");
    assert!(matches!(request, WatchRequest::Heartbeat(_)), "{request:?}");
    assert!(watch.poll_transmit(later).is_none());
    assert_eq!(
        watch.poll_timeout(),
        Some(later + Duration::from_millis(90))
    );
}

#[test]
fn a_live_roster_refreshes_on_here_now_refresh() {
    use crate::watch::{LiveRoster, RosterItem, RosterRequest};
    let now = Instant::now();
    let mut live = LiveRoster::new(WatchOptions::new().observe(true));
    live.add_channels(["arena"]);
    let (token, request) = live.poll_transmit(now).unwrap();
    let reply = request.parse(http::Response::new(body(100, 1, &[]).as_bytes()));
    live.handle_response(token, reply, now);
    let mut poll = None;
    let mut refresh = None;
    while let Some((token, request)) = live.poll_transmit(now) {
        match request {
            RosterRequest::Refresh(_) => refresh = Some((token, request)),
            other => poll = Some((token, other)),
        }
    }
    let (rtoken, rrequest) = refresh.expect("the first snapshot");
    let here = r#"{"status":200,"occupancy":1,"uuids":[{"uuid":"a"}]}"#;
    live.handle_response(
        rtoken,
        rrequest.parse(http::Response::new(here.as_bytes())),
        now,
    );
    let (ptoken, prequest) = poll.expect("a poll");
    let interval = event(
        "arena",
        101,
        r#"{"action":"interval","occupancy":30,"here_now_refresh":true}"#,
    );
    live.handle_response(
        ptoken,
        prequest.parse(http::Response::new(body(101, 1, &[interval]).as_bytes())),
        now,
    );
    let items: Vec<_> = std::iter::from_fn(|| live.poll_item()).collect();
    assert!(
        items.iter().any(|i| matches!(i, RosterItem::Snapshot(_))),
        "{items:?}"
    );
    let mut kinds = Vec::new();
    while let Some((_, request)) = live.poll_transmit(now) {
        kinds.push(matches!(request, RosterRequest::Refresh(_)));
    }
    assert!(
        kinds.contains(&true),
        "a refresh after here_now_refresh: {kinds:?}"
    );
}

#[test]
fn the_leave_waits_for_a_heartbeat_in_flight() {
    let now = Instant::now();
    let options = WatchOptions::new()
        .presence_timeout(20)
        .time_unit(Duration::from_millis(10));
    let (mut watch, _poll, _) = connected(options, now);
    let later = now + Duration::from_millis(90);
    let (heartbeat, request) = watch.poll_transmit(later).expect("a heartbeat");
    assert!(matches!(request, WatchRequest::Heartbeat(_)));
    watch.stop();
    assert!(
        watch.poll_transmit(later).is_none(),
        "no leave while the heartbeat is out"
    );
    watch.handle_response(heartbeat, Ok(None), later);
    let (_, leave) = watch.poll_transmit(later).expect("now the leave");
    assert!(matches!(leave, WatchRequest::Leave(_)));
}
