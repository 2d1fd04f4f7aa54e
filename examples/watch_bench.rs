//! Presence-event figures, printed in one run:
//!
//! 1. subscribe replies parsed per second for a 100-event reply: the typed parse
//!    (`Subscribe::parse`) next to parsing the same bytes into `serde_json::Value` (the floor);
//! 2. end-to-end events per second delivered to one tokio watcher from the emulator, while
//!    writer tasks make users join and leave (every event checked to arrive, none twice).
//!
//! ```sh
//! cargo run --release --example watch_bench
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use presence_emulator::EmulatorBuilder;
use presence_proto::{Operation, Subscribe, http};
use presence_tokio::{Client, Config, proto::WatchItem};

fn reply_with(events: usize) -> String {
    let envelopes: Vec<String> = (0..events)
        .map(|i| {
            let action = ["join", "leave", "timeout", "state-change"][i % 4];
            let data = if action == "state-change" {
                r#","data":{"mood":"busy","typing":true}"#
            } else {
                ""
            };
            format!(
                r#"{{"a":"2","f":0,"p":{{"t":"{}","r":1}},"k":"sub-c-bench","c":"lobby-pnpres","d":{{"action":"{action}","uuid":"user-{i:05}","timestamp":1700000000,"occupancy":{i}{data}}},"b":"lobby-pnpres"}}"#,
                17_000_000_000_000_000u64 + i as u64
            )
        })
        .collect();
    format!(
        r#"{{"t":{{"t":"17000000000000999","r":1}},"m":[{}]}}"#,
        envelopes.join(",")
    )
}

/// Runs `f` repeatedly for about `for_how_long`; calls per second.
fn rate(for_how_long: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < for_how_long {
        for _ in 0..64 {
            f();
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn parse_figures() {
    let body = reply_with(100);
    let op = Subscribe::new().channels(["lobby"]);
    let typed = rate(Duration::from_secs(2), || {
        let reply = http::Response::new(black_box(body.as_bytes()));
        black_box(op.parse(reply).expect("parses"));
    });
    let value = rate(Duration::from_secs(2), || {
        black_box(
            serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes())).expect("JSON"),
        );
    });
    println!("1. subscribe reply of 100 events ({} bytes)", body.len());
    println!(
        "   typed parse {:>9.0} replies/s | serde_json::Value {:>9.0} replies/s | ratio {:.2}",
        typed,
        value,
        typed / value
    );
}

async fn end_to_end(users: usize, rounds: usize) {
    let emulator = EmulatorBuilder::new()
        .announce_max(1_000_000)
        .start()
        .await
        .expect("emulator");
    let origin = emulator.origin();
    let watcher = Client::new(
        Config::builder("demo", "watcher")
            .origin(origin.clone())
            .build()
            .expect("config"),
    )
    .expect("client");
    let mut watch = watcher
        .watch()
        .channels(["arena"])
        .observe(true)
        .start()
        .expect("watch");
    while let Some(item) = watch.next_item().await {
        if matches!(item, WatchItem::Connected { .. }) {
            break;
        }
    }
    let expected = users * rounds * 2;
    let started = Instant::now();
    let writers = 8;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let origin = origin.clone();
        tasks.push(tokio::spawn(async move {
            let base = Client::new(
                Config::builder("demo", "w")
                    .origin(origin)
                    .build()
                    .expect("config"),
            )
            .expect("client");
            for round in 0..rounds {
                for u in (w..users).step_by(writers) {
                    let client = base.with_config(
                        base.config()
                            .to_builder()
                            .user_id(format!("u{u}-{round}"))
                            .build()
                            .expect("config"),
                    );
                    client.heartbeat().channels(["arena"]).await.expect("join");
                    client.leave().channels(["arena"]).await.expect("leave");
                }
            }
        }));
    }
    let mut received = 0usize;
    let mut seen = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while received < expected {
        match tokio::time::timeout_at(deadline, watch.next_item()).await {
            Ok(Some(WatchItem::Event(event))) => {
                assert!(
                    seen.insert((
                        event.timetoken,
                        event.action_name().to_owned(),
                        event.uuid().map(str::to_owned)
                    )),
                    "an event twice"
                );
                received += 1;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let elapsed = started.elapsed();
    for task in tasks {
        task.await.expect("writer");
    }
    println!(
        "2. end to end: {received} of {expected} events (joins and leaves of {} users) to one tokio watcher",
        users * rounds
    );
    println!(
        "   {:.0} events/s delivered ({:.2} s; the writers' own 2 × {} calls included), {} missed",
        received as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        users * rounds,
        expected - received
    );
    watch.shutdown().await.expect("shutdown");
}

fn main() {
    parse_figures();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(end_to_end(500, 4));
}
