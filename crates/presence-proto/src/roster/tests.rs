//! Unit tests of the roster machine: no I/O, events and here_now results built by hand.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::events::{PresenceAction, PresenceEvent};
use crate::ops::Operation;
use crate::ops::here_now::{HereNowChannel, HereNowResult, HereNowUser};
use crate::stamp::Stamp;

const T0: u64 = 17_000_000_000_000_000;

fn event(channel: &str, tt: u64, occupancy: Option<u64>, action: PresenceAction) -> PresenceEvent {
    PresenceEvent {
        channel: channel.to_owned(),
        subscription: None,
        timetoken: T0 + tt,
        occupancy,
        timestamp: Some(1_700_000_000),
        action,
        payload_hash: 0,
    }
}

fn join(channel: &str, tt: u64, occ: u64, uuid: &str) -> PresenceEvent {
    event(
        channel,
        tt,
        Some(occ),
        PresenceAction::Join {
            uuid: uuid.into(),
            state: None,
        },
    )
}

fn join_with(channel: &str, tt: u64, occ: u64, uuid: &str, state: Value) -> PresenceEvent {
    event(
        channel,
        tt,
        Some(occ),
        PresenceAction::Join {
            uuid: uuid.into(),
            state: Some(state),
        },
    )
}

fn leave(channel: &str, tt: u64, occ: u64, uuid: &str) -> PresenceEvent {
    event(
        channel,
        tt,
        Some(occ),
        PresenceAction::Leave { uuid: uuid.into() },
    )
}

fn timeout(channel: &str, tt: u64, occ: u64, uuid: &str) -> PresenceEvent {
    event(
        channel,
        tt,
        Some(occ),
        PresenceAction::Timeout { uuid: uuid.into() },
    )
}

fn state_change(channel: &str, tt: u64, occ: u64, uuid: &str, state: Value) -> PresenceEvent {
    event(
        channel,
        tt,
        Some(occ),
        PresenceAction::StateChange {
            uuid: uuid.into(),
            state,
        },
    )
}

fn interval(
    channel: &str,
    tt: u64,
    occ: u64,
    joins: &[&str],
    leaves: &[&str],
    timeouts: &[&str],
    here_now_refresh: bool,
) -> PresenceEvent {
    let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
    event(
        channel,
        tt,
        Some(occ),
        PresenceAction::Interval {
            join: owned(joins),
            leave: owned(leaves),
            timeout: owned(timeouts),
            here_now_refresh,
        },
    )
}

fn listing(name: &str, occupancy: u64, users: &[(&str, Option<Value>)]) -> HereNowChannel {
    HereNowChannel {
        name: name.into(),
        occupancy,
        occupants: users
            .iter()
            .map(|(uuid, state)| HereNowUser {
                user_id: (*uuid).into(),
                state: state.clone(),
            })
            .collect(),
        occupants_listed: true,
    }
}

fn here(channels: Vec<HereNowChannel>) -> HereNowResult {
    HereNowResult {
        total_channels: channels.len() as u64,
        total_occupancy: channels.iter().map(|c| c.occupancy).sum(),
        channels,
    }
}

fn lobby(users: &[&str]) -> Roster {
    let users: Vec<(&str, Option<Value>)> = users.iter().map(|u| (*u, None)).collect();
    Roster::from_here_now(&here(vec![listing("lobby", users.len() as u64, &users)]))
}

fn drain(roster: &mut Roster) -> Vec<RosterChange> {
    std::iter::from_fn(|| roster.poll_change()).collect()
}

fn names(roster: &Roster, channel: &str) -> Vec<String> {
    roster.users(channel).map(|(u, _)| u.to_owned()).collect()
}

fn joined(channel: &str, uuid: &str) -> RosterChange {
    RosterChange::Joined {
        channel: channel.into(),
        uuid: uuid.into(),
    }
}

fn left(channel: &str, uuid: &str, reason: LeftReason) -> RosterChange {
    RosterChange::Left {
        channel: channel.into(),
        uuid: uuid.into(),
        reason,
    }
}

fn restated(channel: &str, uuid: &str) -> RosterChange {
    RosterChange::StateChanged {
        channel: channel.into(),
        uuid: uuid.into(),
    }
}

fn occ(channel: &str, occupancy: u64) -> RosterChange {
    RosterChange::Occupancy {
        channel: channel.into(),
        occupancy,
    }
}

fn refreshed(channel: &str) -> RosterChange {
    RosterChange::Refreshed {
        channel: channel.into(),
    }
}

/// The query of the request a refresh operation builds.
fn query_of(op: &HereNow) -> (String, String) {
    let config = Config::builder("demo", "watcher")
        .build()
        .expect("valid config");
    let request = op
        .to_request(&config, &Stamp::new(0, ""))
        .expect("valid request");
    (
        request.uri().path().to_owned(),
        request.uri().query().unwrap_or_default().to_owned(),
    )
}

#[test]
fn snapshot_starts_the_roster_without_changes() {
    let mut roster = Roster::from_here_now(&here(vec![listing(
        "lobby",
        2,
        &[("bob", None), ("alice", Some(json!({"mood": "calm"})))],
    )]));
    assert!(drain(&mut roster).is_empty());
    assert_eq!(names(&roster, "lobby"), ["alice", "bob"]);
    assert_eq!(
        roster.state("lobby", "alice"),
        Some(&json!({"mood": "calm"}))
    );
    assert_eq!(roster.state("lobby", "bob"), None);
    assert_eq!(roster.occupancy("lobby"), Some(2));
    assert!(!roster.needs_refresh("lobby"));
    assert!(roster.poll_refresh().is_none());
}

#[test]
fn join_adds_the_user_with_state() {
    let mut roster = lobby(&["alice"]);
    assert!(roster.apply(&join_with("lobby", 1, 2, "bob", json!({"mood": "up"}))));
    assert_eq!(
        drain(&mut roster),
        [joined("lobby", "bob"), occ("lobby", 2)]
    );
    assert_eq!(roster.state("lobby", "bob"), Some(&json!({"mood": "up"})));
    assert_eq!(roster.last_timetoken("lobby"), Some(T0 + 1));
}

#[test]
fn join_of_a_present_user_only_updates_its_state() {
    let mut roster = lobby(&["alice"]);
    roster.apply(&join("lobby", 1, 1, "alice"));
    assert!(drain(&mut roster).is_empty());
    roster.apply(&join_with("lobby", 2, 1, "alice", json!(1)));
    assert_eq!(drain(&mut roster), [restated("lobby", "alice")]);
    // A join without state keeps the known state.
    roster.apply(&join("lobby", 3, 1, "alice"));
    assert_eq!(roster.state("lobby", "alice"), Some(&json!(1)));
    assert!(drain(&mut roster).is_empty());
}

#[test]
fn leave_and_timeout_remove_with_their_reason() {
    let mut roster = lobby(&["alice", "bob", "carol"]);
    roster.apply(&leave("lobby", 1, 2, "alice"));
    roster.apply(&timeout("lobby", 2, 1, "bob"));
    assert_eq!(
        drain(&mut roster),
        [
            left("lobby", "alice", LeftReason::Leave),
            occ("lobby", 2),
            left("lobby", "bob", LeftReason::Timeout),
            occ("lobby", 1),
        ]
    );
    assert_eq!(names(&roster, "lobby"), ["carol"]);
    // Leaving again (or a stranger leaving) changes nothing but a different occupancy.
    roster.apply(&leave("lobby", 3, 1, "alice"));
    roster.apply(&timeout("lobby", 4, 1, "zed"));
    assert!(drain(&mut roster).is_empty());
}

#[test]
fn state_change_replaces_a_present_users_state() {
    let mut roster = lobby(&["alice"]);
    roster.apply(&state_change("lobby", 1, 1, "alice", json!({"mood": "up"})));
    assert_eq!(drain(&mut roster), [restated("lobby", "alice")]);
    assert_eq!(roster.state("lobby", "alice"), Some(&json!({"mood": "up"})));
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Mood {
        mood: String,
    }
    assert_eq!(
        roster.state_as::<Mood>("lobby", "alice").expect("decodes"),
        Some(Mood { mood: "up".into() })
    );
    // The same state again: nothing to report.
    roster.apply(&state_change("lobby", 2, 1, "alice", json!({"mood": "up"})));
    assert!(drain(&mut roster).is_empty());
    // An absent user's state change does not make it present.
    roster.apply(&state_change("lobby", 3, 1, "ghost", json!(1)));
    assert!(drain(&mut roster).is_empty());
    assert!(!roster.contains("lobby", "ghost"));
}

#[test]
fn unknown_actions_only_move_the_occupancy() {
    let mut roster = lobby(&["alice"]);
    roster.apply(&event(
        "lobby",
        1,
        Some(7),
        PresenceAction::Unknown {
            action: "teleport".into(),
            raw: json!({"uuid": "alice"}),
        },
    ));
    assert_eq!(drain(&mut roster), [occ("lobby", 7)]);
    assert_eq!(names(&roster, "lobby"), ["alice"]);
}

#[test]
fn interval_deltas_are_applied() {
    let mut roster = lobby(&["alice", "bob", "carol"]);
    roster.apply(&interval(
        "lobby",
        1,
        3,
        &["dave", "erin"],
        &["alice"],
        &["bob"],
        false,
    ));
    assert_eq!(
        drain(&mut roster),
        [
            joined("lobby", "dave"),
            joined("lobby", "erin"),
            left("lobby", "alice", LeftReason::Leave),
            left("lobby", "bob", LeftReason::Timeout),
        ]
    );
    assert_eq!(names(&roster, "lobby"), ["carol", "dave", "erin"]);
    assert!(!roster.needs_refresh("lobby"));
}

#[test]
fn interval_naming_a_user_as_joined_and_left_asks_for_a_refresh() {
    let mut roster = lobby(&["alice"]);
    roster.apply(&interval("lobby", 1, 1, &["bob"], &["bob"], &[], false));
    assert!(roster.needs_refresh("lobby"));
}

#[test]
fn interval_whose_occupancy_disagrees_asks_for_a_refresh() {
    // Presence deltas off: an interval carries only the occupancy.
    let mut roster = lobby(&["alice"]);
    roster.apply(&interval("lobby", 1, 1, &[], &[], &[], false));
    assert!(!roster.needs_refresh("lobby"));
    roster.apply(&interval("lobby", 2, 4, &[], &[], &[], false));
    assert!(roster.needs_refresh("lobby"));
}

#[test]
fn here_now_refresh_is_reconciled_into_net_changes() {
    let mut roster = Roster::from_here_now(&here(vec![listing(
        "lobby",
        3,
        &[
            ("alice", None),
            ("bob", Some(json!({"v": 1}))),
            ("carol", None),
        ],
    )]));
    roster.apply(&join("lobby", 1, 4, "dave"));
    drain(&mut roster);
    roster.apply(&interval("lobby", 2, 3, &[], &[], &[], true));
    assert!(roster.needs_refresh("lobby"));
    assert_eq!(drain(&mut roster), [occ("lobby", 3)]);

    let op = roster.poll_refresh().expect("a refresh is due");
    let (path, query) = query_of(&op);
    assert_eq!(path, "/v2/presence/sub-key/demo/channel/lobby");
    assert!(query.contains("state=1"), "{query}");
    assert!(!query.contains("disable_uuids"), "{query}");
    assert!(roster.poll_refresh().is_none(), "one refresh at a time");
    assert!(roster.is_refreshing());

    // alice and dave left, erin joined, bob changed state, carol stayed: only that is reported.
    roster.apply_refresh(here(vec![listing(
        "lobby",
        3,
        &[
            ("bob", Some(json!({"v": 2}))),
            ("carol", None),
            ("erin", Some(json!("hi"))),
        ],
    )]));
    assert_eq!(
        drain(&mut roster),
        [
            left("lobby", "alice", LeftReason::Refresh),
            left("lobby", "dave", LeftReason::Refresh),
            joined("lobby", "erin"),
            restated("lobby", "bob"),
            refreshed("lobby"),
        ]
    );
    assert_eq!(names(&roster, "lobby"), ["bob", "carol", "erin"]);
    assert_eq!(roster.state("lobby", "erin"), Some(&json!("hi")));
    assert!(!roster.needs_refresh("lobby"));
    assert!(!roster.is_refreshing());
    assert!(roster.poll_refresh().is_none());
}

#[test]
fn gap_after_an_outage_is_reconciled() {
    let mut roster = lobby(&["alice", "bob"]);
    roster.apply(&join("lobby", 1, 3, "carol"));
    drain(&mut roster);
    // The watch was down: bob left and dave joined, unseen. Then the watch reports a gap.
    roster.gap();
    assert!(roster.needs_refresh("lobby"));
    let op = roster.poll_refresh().expect("refresh after a gap");
    roster.apply_refresh(here(vec![listing(
        "lobby",
        3,
        &[("alice", None), ("carol", None), ("dave", None)],
    )]));
    assert_eq!(
        drain(&mut roster),
        [
            left("lobby", "bob", LeftReason::Refresh),
            joined("lobby", "dave"),
            refreshed("lobby"),
        ]
    );
    drop(op);
    // Back to events: they apply on top of the refresh.
    roster.apply(&leave("lobby", 5, 2, "alice"));
    assert_eq!(names(&roster, "lobby"), ["carol", "dave"]);
}

#[test]
fn occupancy_is_always_the_services_latest() {
    let mut roster = lobby(&["alice"]);
    // Events override, up or down, whatever the users known.
    roster.apply(&join("lobby", 1, 10, "bob"));
    assert_eq!(roster.occupancy("lobby"), Some(10));
    roster.apply(&leave("lobby", 2, 3, "nobody"));
    assert_eq!(roster.occupancy("lobby"), Some(3));
    // An event without occupancy keeps it.
    roster.apply(&event(
        "lobby",
        3,
        None,
        PresenceAction::Leave { uuid: "bob".into() },
    ));
    assert_eq!(roster.occupancy("lobby"), Some(3));
    // A refresh overrides too.
    roster.gap();
    let _op = roster.poll_refresh();
    roster.apply_refresh(here(vec![listing("lobby", 1, &[("alice", None)])]));
    assert_eq!(roster.occupancy("lobby"), Some(1));
    let changes = drain(&mut roster);
    assert_eq!(
        changes
            .iter()
            .filter(|c| matches!(c, RosterChange::Occupancy { .. }))
            .count(),
        3
    );
    // And so does an unsolicited snapshot.
    roster.apply_here_now(&here(vec![listing("lobby", 2, &[("alice", None)])]));
    assert_eq!(roster.occupancy("lobby"), Some(2));
}

#[test]
fn events_already_reflected_by_a_refresh_are_ignored() {
    let mut roster = lobby(&["alice"]);
    roster.apply(&join("lobby", 10, 2, "bob"));
    roster.gap();
    let _op = roster.poll_refresh(); // stamped T0 + 10
    roster.apply_refresh(here(vec![listing("lobby", 1, &[("bob", None)])]));
    drain(&mut roster);
    // The cursor went back: the service redelivers older events. The refresh knows better.
    assert!(!roster.apply(&leave("lobby", 10, 1, "bob")));
    assert!(!roster.apply(&join("lobby", 5, 2, "alice")));
    assert!(drain(&mut roster).is_empty());
    assert_eq!(names(&roster, "lobby"), ["bob"]);
    assert_eq!(roster.occupancy("lobby"), Some(1));
    // Newer events apply.
    assert!(roster.apply(&join("lobby", 11, 2, "carol")));
    assert_eq!(names(&roster, "lobby"), ["bob", "carol"]);
}

#[test]
fn events_during_a_refresh_are_not_undone_by_it() {
    let mut roster = lobby(&["alice", "bob"]);
    roster.gap();
    let _op = roster.poll_refresh();
    // While the here_now is in flight: carol joins, alice leaves, bob changes state.
    roster.apply(&join("lobby", 1, 3, "carol"));
    roster.apply(&leave("lobby", 2, 2, "alice"));
    roster.apply(&state_change("lobby", 3, 2, "bob", json!(2)));
    drain(&mut roster);
    // The reply was computed (or cached) before those events.
    roster.apply_refresh(here(vec![listing(
        "lobby",
        2,
        &[("alice", None), ("bob", Some(json!(1)))],
    )]));
    assert_eq!(drain(&mut roster), [refreshed("lobby")]);
    assert_eq!(names(&roster, "lobby"), ["bob", "carol"]);
    assert_eq!(roster.state("lobby", "bob"), Some(&json!(2)));
}

#[test]
fn a_refresh_asked_for_during_a_refresh_runs_again_after_it() {
    let mut roster = lobby(&["alice"]);
    roster.gap();
    let _first = roster.poll_refresh().expect("first");
    roster.apply(&interval("lobby", 1, 1, &[], &[], &[], true));
    assert!(roster.poll_refresh().is_none());
    roster.apply_refresh(here(vec![listing("lobby", 1, &[("alice", None)])]));
    assert!(roster.needs_refresh("lobby"));
    assert!(roster.poll_refresh().is_some());
}

#[test]
fn a_failed_refresh_is_asked_for_again() {
    let mut roster = Roster::new();
    roster.track("lobby");
    roster.track("hall");
    let op = roster.poll_refresh().expect("due");
    assert_eq!(
        query_of(&op).0,
        "/v2/presence/sub-key/demo/channel/hall,lobby"
    );
    roster.refresh_failed();
    assert!(!roster.is_refreshing());
    assert!(roster.needs_refresh("lobby") && roster.needs_refresh("hall"));
    let again = roster.poll_refresh().expect("again");
    assert_eq!(query_of(&again), query_of(&op));
}

#[test]
fn a_channel_missing_from_the_reply_is_empty() {
    let mut roster = lobby(&["alice"]);
    roster.track("hall");
    roster.gap();
    let _op = roster.poll_refresh();
    // The service leaves empty channels out of a multi-channel reply.
    roster.apply_refresh(here(vec![listing("hall", 1, &[("zed", None)])]));
    assert_eq!(names(&roster, "lobby"), Vec::<String>::new());
    assert_eq!(roster.occupancy("lobby"), Some(0));
    assert_eq!(names(&roster, "hall"), ["zed"]);
    let changes = drain(&mut roster);
    assert!(changes.contains(&left("lobby", "alice", LeftReason::Refresh)));
    assert!(changes.contains(&joined("hall", "zed")));
}

#[test]
fn a_listing_cut_at_the_limit_reports_no_false_leaves() {
    let users: Vec<String> = (0..1500).map(|i| format!("u{i:04}")).collect();
    let mut roster = Roster::new();
    for (i, uuid) in users.iter().enumerate() {
        roster.apply(&join("big", i as u64 + 1, i as u64 + 1, uuid));
    }
    let _op = roster.poll_refresh().expect("new channel");
    // The reply lists the first 1,000 of 1,500.
    let listed: Vec<(&str, Option<Value>)> =
        users[..1000].iter().map(|u| (u.as_str(), None)).collect();
    roster.apply_refresh(here(vec![listing("big", 1500, &listed)]));
    assert_eq!(roster.user_count("big"), 1500);
    assert!(
        !drain(&mut roster)
            .iter()
            .any(|c| matches!(c, RosterChange::Left { .. }))
    );
    // With an incomplete listing, a disagreeing interval does not loop on refreshes.
    roster.apply(&interval("big", 5000, 1499, &[], &[], &[], false));
    assert!(!roster.needs_refresh("big"));
}

#[test]
fn a_reply_without_user_ids_keeps_the_users() {
    let mut roster = lobby(&["alice"]);
    roster.gap();
    let _op = roster.poll_refresh();
    roster.apply_refresh(here(vec![HereNowChannel {
        name: "lobby".into(),
        occupancy: 5,
        occupants: Vec::new(),
        occupants_listed: false,
    }]));
    assert_eq!(names(&roster, "lobby"), ["alice"]);
    assert_eq!(drain(&mut roster), [occ("lobby", 5), refreshed("lobby")]);
}

#[test]
fn channels_are_isolated() {
    let mut roster = Roster::from_here_now(&here(vec![
        listing("a", 1, &[("alice", None)]),
        listing("b", 1, &[("alice", Some(json!("b-state")))]),
    ]));
    roster.apply(&leave("a", 1, 0, "alice"));
    roster.apply(&state_change("b", 2, 1, "alice", json!("new")));
    assert_eq!(names(&roster, "a"), Vec::<String>::new());
    assert_eq!(names(&roster, "b"), ["alice"]);
    assert_eq!(roster.occupancy("a"), Some(0));
    assert_eq!(roster.occupancy("b"), Some(1));
    // A refresh of one channel leaves the other alone (and its stamp is its own).
    roster.gap_channel("a");
    assert!(!roster.needs_refresh("b"));
    let op = roster.poll_refresh().expect("a");
    assert_eq!(query_of(&op).0, "/v2/presence/sub-key/demo/channel/a");
    roster.apply_refresh(here(vec![listing("a", 1, &[("carol", None)])]));
    assert!(
        roster.apply(&join("b", 1, 2, "bob")),
        "b has no refresh stamp"
    );
    assert_eq!(names(&roster, "a"), ["carol"]);
    assert_eq!(names(&roster, "b"), ["alice", "bob"]);
    assert_eq!(roster.channels().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn group_events_are_kept_per_channel() {
    let mut roster = Roster::from_here_now(&here(vec![
        listing("room-1", 0, &[]),
        listing("room-2", 0, &[]),
    ]));
    let mut via_group = join("room-1", 1, 1, "alice");
    via_group.subscription = Some("rooms".into());
    roster.apply(&via_group);
    let mut direct = join("room-2", 2, 1, "alice");
    direct.subscription = None;
    roster.apply(&direct);
    // The same event through the group and the channel itself: applied once in effect.
    roster.apply(&via_group);
    assert_eq!(names(&roster, "room-1"), ["alice"]);
    assert_eq!(names(&roster, "room-2"), ["alice"]);
    assert!(
        roster.snapshot("rooms").is_none(),
        "no roster for the group"
    );
    assert_eq!(
        drain(&mut roster),
        [
            joined("room-1", "alice"),
            occ("room-1", 1),
            joined("room-2", "alice"),
            occ("room-2", 1),
        ]
    );
}

#[test]
fn an_event_for_a_new_channel_tracks_it_and_asks_for_a_refresh() {
    let mut roster = Roster::new();
    roster.apply(&join("hall", 7, 3, "alice"));
    assert_eq!(names(&roster, "hall"), ["alice"]);
    assert!(roster.needs_refresh("hall"));
    let op = roster.poll_refresh().expect("due");
    assert_eq!(query_of(&op).0, "/v2/presence/sub-key/demo/channel/hall");
    roster.apply_refresh(here(vec![listing(
        "hall",
        3,
        &[("alice", None), ("bob", None), ("carol", None)],
    )]));
    assert_eq!(names(&roster, "hall"), ["alice", "bob", "carol"]);
    // The refresh is stamped with the join: that join redelivered is ignored.
    assert!(!roster.apply(&join("hall", 7, 3, "alice")));
}

#[test]
fn refreshes_are_batched() {
    let mut roster = Roster::new();
    for i in 0..(MAX_REFRESH_CHANNELS + 5) {
        roster.track(&format!("c{i:03}"));
    }
    let _first = roster.poll_refresh().expect("first batch");
    roster.apply_refresh(HereNowResult::default());
    let still: Vec<&str> = roster
        .channels()
        .filter(|c| roster.needs_refresh(c))
        .collect();
    assert_eq!(still.len(), 5);
    let second = roster.poll_refresh().expect("second batch");
    assert_eq!(
        query_of(&second).0,
        "/v2/presence/sub-key/demo/channel/c050,c051,c052,c053,c054"
    );
}

#[test]
fn untracking_forgets_a_channel_even_mid_refresh() {
    let mut roster = lobby(&["alice"]);
    roster.gap();
    let _op = roster.poll_refresh();
    assert!(roster.untrack("lobby"));
    roster.apply_refresh(here(vec![listing("lobby", 1, &[("bob", None)])]));
    assert!(roster.snapshot("lobby").is_none());
    assert!(drain(&mut roster).is_empty());
}

#[test]
fn apply_owned_matches_apply() {
    let events = vec![
        join_with("lobby", 1, 2, "bob", json!({"a": 1})),
        state_change("lobby", 2, 2, "bob", json!({"a": 2})),
        interval("lobby", 3, 3, &["carol"], &["alice"], &[], false),
        timeout("lobby", 4, 2, "carol"),
        interval("lobby", 5, 2, &[], &[], &[], true),
    ];
    let mut by_ref = lobby(&["alice"]);
    let mut owned = lobby(&["alice"]);
    for e in &events {
        by_ref.apply(e);
        owned.apply_owned(e.clone());
    }
    assert_eq!(drain(&mut by_ref), drain(&mut owned));
    assert_eq!(by_ref.snapshot("lobby"), owned.snapshot("lobby"));
    assert_eq!(by_ref.state("lobby", "bob"), owned.state("lobby", "bob"));
    assert_eq!(by_ref.needs_refresh("lobby"), owned.needs_refresh("lobby"));
}

#[test]
fn snapshot_prints_as_the_cli_line() {
    let mut roster = lobby(&["bob", "alice"]);
    roster.apply(&join("lobby", 1, 3, "carol"));
    let line = serde_json::to_string(&roster.snapshot("lobby").expect("tracked")).expect("json");
    assert_eq!(
        line,
        r#"{"channel":"lobby","occupancy":3,"uuids":["alice","bob","carol"]}"#
    );
}

#[test]
fn churn_reuses_names_and_the_name_table_stays_bounded() {
    let mut roster = lobby(&[]);
    // The same 100 users flapping: one shared name each.
    for round in 0..50u64 {
        for i in 0..100u64 {
            let uuid = format!("u{i}");
            roster.apply(&join("lobby", round * 1000 + 2 * i + 1, 1, &uuid));
            roster.apply(&leave("lobby", round * 1000 + 2 * i + 2, 0, &uuid));
        }
        drain(&mut roster);
    }
    assert!(roster.names.len() <= 101, "{}", roster.names.len());
    // 20,000 distinct users passing through: the table is purged of names nobody holds.
    for i in 0..20_000u64 {
        let uuid = format!("x{i}");
        roster.apply(&join("lobby", 100_000 + 2 * i + 1, 1, &uuid));
        roster.apply(&leave("lobby", 100_000 + 2 * i + 2, 0, &uuid));
        drain(&mut roster);
    }
    assert!(roster.names.len() <= 2048, "{}", roster.names.len());
}

/// A model: events move a truth; the roster follows them, loses some of them (a gap), and after
/// the refresh that the gap calls for it equals the truth, whatever happened.
#[derive(Clone, Debug)]
enum Step {
    Join(u8, Option<u8>),
    Leave(u8),
    Timeout(u8),
    State(u8, u8),
    Lost(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..12, proptest::option::of(0u8..3)).prop_map(|(u, s)| Step::Join(u, s)),
        (0u8..12).prop_map(Step::Leave),
        (0u8..12).prop_map(Step::Timeout),
        (0u8..12, 0u8..3).prop_map(|(u, s)| Step::State(u, s)),
        any::<bool>().prop_map(Step::Lost),
    ]
}

proptest! {
    #[test]
    fn roster_follows_events_and_refresh_restores_the_truth(steps in proptest::collection::vec(step(), 0..60)) {
        let mut truth: BTreeMap<String, Option<Value>> = BTreeMap::new();
        let mut roster = lobby(&[]);
        let mut losing = false;
        let mut lost_any = false;
        for (tt, step) in steps.into_iter().enumerate() {
            let tt = tt as u64 + 1;
            let event = match step {
                Step::Lost(on) => { losing = on; continue; }
                Step::Join(u, s) => {
                    let uuid = format!("u{u}");
                    if truth.contains_key(&uuid) { continue; } // the service sends no second join
                    let state = s.map(|s| json!(s));
                    truth.insert(uuid.clone(), state.clone());
                    event("lobby", tt, Some(truth.len() as u64), PresenceAction::Join { uuid, state })
                }
                Step::Leave(u) | Step::Timeout(u) => {
                    let uuid = format!("u{u}");
                    if truth.remove(&uuid).is_none() { continue; }
                    let action = if matches!(step, Step::Leave(_)) {
                        PresenceAction::Leave { uuid }
                    } else {
                        PresenceAction::Timeout { uuid }
                    };
                    event("lobby", tt, Some(truth.len() as u64), action)
                }
                Step::State(u, s) => {
                    let uuid = format!("u{u}");
                    let Some(slot) = truth.get_mut(&uuid) else { continue };
                    *slot = Some(json!(s));
                    event("lobby", tt, Some(truth.len() as u64), PresenceAction::StateChange { uuid, state: json!(s) })
                }
            };
            if losing {
                lost_any = true;
            } else {
                roster.apply(&event);
            }
        }
        let truth_names: Vec<String> = truth.keys().cloned().collect();
        if !lost_any {
            prop_assert_eq!(names(&roster, "lobby"), truth_names.clone());
            for (uuid, state) in &truth {
                prop_assert_eq!(roster.state("lobby", uuid), state.as_ref());
            }
        }
        // A gap, then the refresh: the roster equals the truth, and the changes it emitted
        // turn the old roster into the new one.
        let before: std::collections::BTreeSet<String> = names(&roster, "lobby").into_iter().collect();
        drain(&mut roster);
        roster.gap();
        let _op = roster.poll_refresh();
        let users: Vec<(&str, Option<Value>)> = truth.iter().map(|(u, s)| (u.as_str(), s.clone())).collect();
        roster.apply_refresh(here(vec![listing("lobby", truth.len() as u64, &users)]));
        prop_assert_eq!(names(&roster, "lobby"), truth_names);
        for (uuid, state) in &truth {
            prop_assert_eq!(roster.state("lobby", uuid), state.as_ref());
        }
        let mut replay = before;
        for change in drain(&mut roster) {
            match change {
                RosterChange::Joined { uuid, .. } => prop_assert!(replay.insert(uuid.to_string())),
                RosterChange::Left { uuid, reason, .. } => {
                    prop_assert_eq!(reason, LeftReason::Refresh);
                    prop_assert!(replay.remove(&*uuid));
                }
                _ => {}
            }
        }
        prop_assert_eq!(replay.into_iter().collect::<Vec<_>>(), names(&roster, "lobby"));
        prop_assert_eq!(roster.occupancy("lobby"), Some(truth.len() as u64));
    }
}

#[test]
fn a_roster_can_move_to_and_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Roster>();
    assert_send_sync::<RosterChange>();
}
