//! Soak: mixed operations from both adapters plus keep-present users, against the emulator
//! injecting seeded random faults into 5% of requests. Prints figures; exits non-zero when a
//! rule is broken (a panic, an untyped outcome, a user timed out by mistake, fds or memory
//! growing).
//!
//! ```sh
//! cargo run --release --example soak              # ~60 s
//! SOAK_SECONDS=20 SOAK_USERS=200 cargo run --release --example soak
//! ```
//!
//! Keep-present users run with a 100 ms time unit (20-unit timeout = 2 s, heartbeat every
//! 900 ms) so that many heartbeats and outages happen in a minute; the mixed operations use a
//! presence timeout longer than the run, so any timeout the emulator counts is a keep-present
//! user lost by mistake.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use presence_emulator::{EmulatorBuilder, FaultRule};
use presence_tokio::proto::{ErrorKind, SessionEvent, SessionOptions};
use presence_tokio::{Config, Error, Member, RetryPolicy};

const UNIT: Duration = Duration::from_millis(100);
const FAULT_RATE: f64 = 0.05;

/// Outcome counters shared by every worker: `ok`, and errors by kind.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    fn record<T>(&self, result: &Result<T, Error>) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
                *errors.entry(format!("{:?}", e.kind())).or_default() += 1;
            }
        }
    }

    fn total(&self) -> u64 {
        let errors: u64 = self.errors.lock().map_or(0, |e| e.values().sum());
        self.ok.load(Ordering::Relaxed) + errors
    }
}

/// Resident memory (KiB) and open file descriptors of this process.
fn resources() -> (u64, usize) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    (rss, fds)
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One mixed call chosen by `n`, through the async client.
async fn tokio_call(client: &presence_tokio::Client, n: u64) -> Result<(), Error> {
    let channel = format!("soak-{}", n % 16);
    match n % 6 {
        0 => client
            .here_now()
            .channels([channel.as_str()])
            .include_state(true)
            .await
            .map(drop),
        1 => client.where_now().await.map(drop),
        2 => {
            client
                .heartbeat()
                .channels([channel.as_str()])
                .presence_timeout(10_000)
                .await
        }
        3 => client
            .set_state()
            .channels([channel.as_str()])
            .state(serde_json::json!({"n": n}))
            .await
            .map(drop),
        4 => client
            .get_state()
            .channels([channel.as_str()])
            .await
            .map(drop),
        _ => client.leave().channels([channel.as_str()]).await.map(drop),
    }
}

/// One mixed call chosen by `n`, through the blocking client.
fn blocking_call(client: &presence_blocking::Client, n: u64) -> Result<(), Error> {
    let channel = format!("soak-{}", n % 16);
    match n % 6 {
        0 => client
            .here_now()
            .channels([channel.as_str()])
            .call()
            .map(drop),
        1 => client.where_now().call().map(drop),
        2 => client
            .heartbeat()
            .channels([channel.as_str()])
            .presence_timeout(10_000)
            .call(),
        3 => client
            .set_state()
            .channels([channel.as_str()])
            .state(serde_json::json!({"n": n}))
            .call()
            .map(drop),
        4 => client
            .get_state()
            .channels([channel.as_str()])
            .call()
            .map(drop),
        _ => client.leave().channels([channel.as_str()]).call().map(drop),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = env_number("SOAK_SECONDS", 60);
    let users = env_number("SOAK_USERS", 200);
    let seed = env_number("SOAK_SEED", 42);

    // Four fault kinds, each on ~1.25% of requests: 5% of requests are faulted in all.
    let share = FAULT_RATE / 4.0;
    let emulator = EmulatorBuilder::new()
        .timeout_unit(UNIT)
        .presence_timeout_bounds(1, 100_000)
        .fault(FaultRule::respond(503, r#"{"error":true,"message":"Service Unavailable","service":"Presence","status":503}"#).forever().probability(share, seed))
        .fault(FaultRule::drop_connection().forever().probability(share, seed + 1))
        .fault(FaultRule::invalid_json().forever().probability(share, seed + 2))
        .fault(FaultRule::stall(10, Duration::from_millis(400)).forever().probability(share, seed + 3))
        .start_in_background()?;
    let config = Config::builder("soak", "soak-mixed")
        .origin(emulator.origin())
        .build()?;

    // Mixed calls: short timeouts so stalls surface as typed timeouts, a small retry policy.
    let policy = RetryPolicy::exponential(Duration::from_millis(20), Duration::from_millis(200), 2);
    let tokio_client = presence_tokio::Client::builder(config.clone())
        .request_timeout(Duration::from_millis(250))
        .retry_policy(policy)
        .build()?;
    let blocking_client = presence_blocking::Client::builder(config.clone())
        .request_timeout(Duration::from_millis(250))
        .retry_policy(policy)
        .build()?;

    // Keep-present users on their own client: request timeout well under timeout − interval.
    let keeper = presence_tokio::Client::builder(config.to_builder().user_id("keeper").build()?)
        .request_timeout(Duration::from_millis(150))
        .build()?;
    let options = SessionOptions::new()
        .presence_timeout(20)
        .time_unit(UNIT)
        .min_backoff(Duration::from_millis(500));
    let many = keeper.keep_present_many().options(options).start();
    for i in 0..users {
        many.add(Member::new(format!("keeper-{i}")).channels([format!("keep-{}", i % 8)]))?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut tokio_workers = Vec::new();
    for w in 0..8u64 {
        let (client, stop, tally) = (tokio_client.clone(), Arc::clone(&stop), Arc::clone(&tally));
        tokio_workers.push(tokio::spawn(async move {
            let mut n = w;
            while !stop.load(Ordering::Relaxed) {
                let user = client.with_config(
                    client
                        .config()
                        .to_builder()
                        .user_id(format!("mixed-t{w}"))
                        .build()?,
                );
                tally.record(&tokio_call(&user, n).await);
                n += 8;
            }
            Ok::<(), Error>(())
        }));
    }
    let mut threads = Vec::new();
    for w in 0..4u64 {
        let (client, stop, tally) = (
            blocking_client.clone(),
            Arc::clone(&stop),
            Arc::clone(&tally),
        );
        threads.push(std::thread::spawn(move || {
            let user = client.with_config(
                client
                    .config()
                    .to_builder()
                    .user_id(format!("mixed-b{w}"))
                    .build()?,
            );
            let mut n = w;
            while !stop.load(Ordering::Relaxed) {
                tally.record(&blocking_call(&user, n));
                n += 4;
            }
            Ok::<(), Error>(())
        }));
    }

    // Sample resources every second while draining keep-present events.
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut session_events: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut next_sample = started;
    while started.elapsed() < Duration::from_secs(seconds) {
        while let Some((_, event)) = many.try_next_event() {
            let name = match event {
                SessionEvent::Joined { .. } => "joined",
                SessionEvent::HeartbeatFailed { .. } => "heartbeat_failed",
                SessionEvent::Recovered {
                    presence_lost: false,
                    ..
                } => "recovered",
                SessionEvent::Recovered {
                    presence_lost: true,
                    ..
                } => "recovered_after_loss",
                SessionEvent::PresenceAtRisk { .. } => "presence_at_risk",
                SessionEvent::PresenceLost { .. } => "presence_lost",
                SessionEvent::Left { .. } => "left",
                SessionEvent::Stopped { .. } => "stopped",
                _ => "other",
            };
            *session_events.entry(name).or_default() += 1;
        }
        if Instant::now() >= next_sample {
            samples.push(resources());
            next_sample += Duration::from_secs(1);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);

    let mut panics = 0;
    for worker in tokio_workers {
        match worker.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => println!("worker setup error: {e}"),
            Err(_) => panics += 1,
        }
    }
    for thread in threads {
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => println!("thread setup error: {e}"),
            Err(_) => panics += 1,
        }
    }
    let stats_before_leave = emulator.stats();
    many.shutdown().await;
    let present_after = emulator.stats().present;

    // Compare the average of the first and last 10 s (after a 5 s warm-up).
    let window = (samples.len().saturating_sub(5) / 2).clamp(1, 10);
    let avg = |s: &[(u64, usize)]| {
        let n = s.len().max(1) as f64;
        (
            s.iter().map(|x| x.0 as f64).sum::<f64>() / n,
            s.iter().map(|x| x.1 as f64).sum::<f64>() / n,
        )
    };
    let first = avg(samples.get(5..5 + window).unwrap_or(&[]));
    let last = avg(samples
        .get(samples.len().saturating_sub(window)..)
        .unwrap_or(&[]));

    let errors = tally.errors.lock().map(|e| e.clone()).unwrap_or_default();
    println!(
        "soak: {seconds} s, {users} keep-present users, fault rate {:.0}%, seed {seed}",
        FAULT_RATE * 100.0
    );
    println!(
        "mixed calls: {} total, {} ok, errors by kind: {errors:?}",
        tally.total(),
        tally.ok.load(Ordering::Relaxed)
    );
    println!("keep-present events: {session_events:?}");
    println!(
        "emulator: {} requests, {} faults applied, {} users timed out",
        stats_before_leave.requests_total,
        stats_before_leave.faults_applied,
        stats_before_leave.timed_out
    );
    println!("panics: {panics}");
    println!(
        "rss KiB first/last 10 s: {:.0} / {:.0} ({:.2}x)",
        first.0,
        last.0,
        last.0 / first.0.max(1.0)
    );
    println!("fds first/last 10 s: {:.1} / {:.1}", first.1, last.1);
    println!("present after shutdown: {present_after}");

    let mut broken = Vec::new();
    if panics > 0 {
        broken.push("a worker panicked");
    }
    if stats_before_leave.timed_out > 0 {
        broken.push("the emulator timed out a keep-present user");
    }
    if errors
        .keys()
        .any(|k| k == &format!("{:?}", ErrorKind::InvalidInput))
    {
        broken.push("a mixed call was refused as invalid input");
    }
    if last.0 > first.0 * 1.25 + 4096.0 {
        broken.push("resident memory grew");
    }
    if last.1 > first.1 + 16.0 {
        broken.push("file descriptors grew");
    }
    if session_events.contains_key("stopped") || session_events.contains_key("recovered_after_loss")
    {
        broken.push("a keep-present user stopped or lost presence");
    }
    if broken.is_empty() {
        println!("soak: all rules held");
        Ok(())
    } else {
        Err(broken.join("; ").into())
    }
}
