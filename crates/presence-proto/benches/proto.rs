//! Criterion benchmarks of the Sans-IO core: building and signing every operation's request, and
//! parsing large here_now replies next to a plain `serde_json::Value` parse of the same bytes.
//!
//! `cargo bench -p presence-proto` (short by default: 1 s warm-up, 3 s measurement per bench).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use presence_proto::{
    AddChannelsToGroup, Config, DeleteGroup, GetState, Heartbeat, HereNow, Leave,
    ListGroupChannels, Operation, RemoveChannelsFromGroup, SetState, Stamp, WhereNow,
};
use serde_json::json;

fn signed_config() -> Config {
    Config::builder("sub-c-5f1b7c8e-bench", "bench-user-0001")
        .publish_key("pub-c-5f1b7c8e-bench")
        .secret_key("sec-c-MzQ5ZjI0ZTQtYmVuY2gtc2VjcmV0LWtleQ")
        .auth_token("p0F2AkF0Gmb3dq9DdHRsGQWgQ3Jlc6VEY2hhbqFlbG9iYnkDQ2dycKBDdXNyoEFzcGM")
        .build()
        .expect("valid configuration")
}

fn bench_build<O: Operation>(c: &mut Criterion, name: &str, op: &O, config: &Config) {
    let stamp = Stamp::new(1_700_000_000, "3f2c8a9e-0000-4000-8000-000000000001");
    c.bench_function(&format!("build_signed/{name}"), |b| {
        b.iter(|| {
            black_box(op)
                .to_request(black_box(config), black_box(&stamp))
                .expect("request")
        });
    });
}

fn build(c: &mut Criterion) {
    let config = signed_config();
    bench_build(
        c,
        "here_now",
        &HereNow::new()
            .channels(["lobby", "room-1"])
            .groups(["team"])
            .include_state(true),
        &config,
    );
    bench_build(c, "where_now", &WhereNow::new(), &config);
    bench_build(
        c,
        "heartbeat",
        &Heartbeat::new()
            .channels(["lobby", "room-1"])
            .presence_timeout(120)
            .state_value("lobby", json!({"mood": "calm", "age": 20})),
        &config,
    );
    bench_build(
        c,
        "leave",
        &Leave::new().channels(["lobby", "room-1"]),
        &config,
    );
    bench_build(
        c,
        "set_state",
        &SetState::new()
            .channels(["lobby"])
            .state(json!({"mood": "calm", "age": 20})),
        &config,
    );
    bench_build(
        c,
        "get_state",
        &GetState::new().channels(["lobby"]),
        &config,
    );
    bench_build(
        c,
        "add_channels_to_group",
        &AddChannelsToGroup::new("team", ["lobby", "room-1"]),
        &config,
    );
    bench_build(
        c,
        "remove_channels_from_group",
        &RemoveChannelsFromGroup::new("team", ["room-1"]),
        &config,
    );
    bench_build(
        c,
        "list_group_channels",
        &ListGroupChannels::new("team"),
        &config,
    );
    bench_build(c, "delete_group", &DeleteGroup::new("team"), &config);

    // The unsigned cost, for comparison.
    let unsigned = Config::builder("sub-c-5f1b7c8e-bench", "bench-user-0001")
        .build()
        .expect("valid configuration");
    bench_build(
        c,
        "here_now_unsigned",
        &HereNow::new().channels(["lobby", "room-1"]),
        &unsigned,
    );
}

/// 2 channels × 20 occupants with state, payload form, compact sorted keys.
fn body_2x20_state() -> Vec<u8> {
    let channel = |ch: usize| {
        let users: Vec<String> = (0..20)
            .map(|i| {
                format!(
                    r#"{{"state":{{"age":{},"mood":"calm","tags":["a","b"]}},"uuid":"user-{ch}-{i:04}"}}"#,
                    20 + i
                )
            })
            .collect();
        format!(
            r#""room-{ch}":{{"occupancy":20,"uuids":[{}]}}"#,
            users.join(",")
        )
    };
    format!(
        r#"{{"message":"OK","payload":{{"channels":{{{},{}}},"total_channels":2,"total_occupancy":40}},"service":"Presence","status":200}}"#,
        channel(1),
        channel(0)
    )
    .into_bytes()
}

/// 1 channel × 1000 occupants (user ids only), single-channel form, compact sorted keys.
fn body_1x1000() -> Vec<u8> {
    let users: Vec<String> = (0..1000)
        .map(|i| format!(r#""3f2c8a9e-0000-4000-8000-{i:012}""#))
        .collect();
    format!(
        r#"{{"message":"OK","occupancy":1000,"service":"Presence","status":200,"uuids":[{}]}}"#,
        users.join(",")
    )
    .into_bytes()
}

fn bench_parse(c: &mut Criterion, name: &str, op: &HereNow, body: &[u8]) {
    // Sanity: the typed parse succeeds on this body.
    let result = op
        .parse(http::Response::new(body))
        .expect("benchmark body parses");
    assert!(result.total_occupancy > 0);

    let mut group = c.benchmark_group(format!("parse/{name}"));
    group.throughput(criterion::Throughput::Bytes(body.len() as u64));
    group.bench_function("typed", |b| {
        b.iter(|| {
            black_box(op)
                .parse(http::Response::new(black_box(body)))
                .expect("parse")
        });
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)).expect("json"));
    });
    group.finish();
}

fn parse(c: &mut Criterion) {
    bench_parse(
        c,
        "here_now_2x20_state",
        &HereNow::new()
            .channels(["room-0", "room-1"])
            .include_state(true),
        &body_2x20_state(),
    );
    bench_parse(
        c,
        "here_now_1x1000",
        &HereNow::new().channels(["lobby"]),
        &body_1x1000(),
    );
}

fn short() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = short();
    targets = build, parse
}
criterion_main!(benches);
