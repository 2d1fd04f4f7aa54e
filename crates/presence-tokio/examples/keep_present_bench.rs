//! Ten thousand users kept present by one process, one task: `Client::keep_present_many`
//! against the emulator, with a short presence timeout.
//!
//! ```sh
//! cargo run --release -p presence-tokio --example keep_present_bench
//! cargo run --release -p presence-tokio --example keep_present_bench -- \
//!     --users 10000 --unit-ms 50 --timeout 20 --seconds 30 --max-in-flight 256
//! ```
//!
//! The emulator runs in a child process (this same binary, `--emulator-child`), so that the
//! memory and CPU measured here are the client's alone; its `timeout_unit` equals the
//! sessions' `time_unit`, so `--timeout 20` with `--unit-ms 50` is a 1 s presence timeout and a
//! heartbeat every 9 units = 450 ms. The client runs on a single-threaded tokio runtime.
//!
//! Printed:
//! * heartbeats per second sustained over the steady window (counted by the emulator) versus
//!   the rate the interval needs (users / interval);
//! * resident memory per user: the client's `VmRSS` after every user joined, minus before any
//!   was added, divided by the users (pool connections included);
//! * CPU per heartbeat: the client's user + system time over the window, divided by the
//!   heartbeats;
//! * users the emulator ever saw time out (target 0), and leaves on shutdown.
//!
//! Bounded to about a minute with the defaults.

use std::error::Error;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use presence_tokio::{Client, Config, Member, SessionEvent, SessionOptions};

const SUB_KEY: &str = "bench";
const CHANNEL: &str = "bench-room";

struct Args {
    users: usize,
    unit_ms: u64,
    timeout: u32,
    seconds: u64,
    max_in_flight: usize,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        users: 10_000,
        unit_ms: 50,
        timeout: 20,
        seconds: 30,
        max_in_flight: presence_tokio::DEFAULT_MAX_IN_FLIGHT,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--users" => args.users = value()?.parse()?,
            "--unit-ms" => args.unit_ms = value()?.parse()?,
            "--timeout" => args.timeout = value()?.parse()?,
            "--seconds" => args.seconds = value()?.parse()?,
            "--max-in-flight" => args.max_in_flight = value()?.parse()?,
            "--bench" => {} // passed by `cargo bench`-style runners
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some("--emulator-child") {
        let unit_ms: u64 = argv.next().ok_or("unit")?.parse()?;
        return emulator_child(Duration::from_millis(unit_ms));
    }
    let args = parse_args()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(&args))
}

// ---------------------------------------------------------------------------------------------
// The emulator, in a child process: prints its origin, then answers `stats` lines on stdin
// with one JSON line (the emulator's statistics plus its own CPU time); exits on EOF.

fn emulator_child(unit: Duration) -> Result<(), Box<dyn Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let emulator = presence_emulator::EmulatorBuilder::new()
            .timeout_unit(unit)
            .start()
            .await?;
        println!("{}", emulator.origin());
        let mut lines = BufReader::new(std::io::stdin()).lines();
        // Blocking stdin reads on a runtime worker: fine, the other worker serves.
        while let Some(Ok(line)) = tokio::task::block_in_place(|| lines.next()) {
            if line.trim() == "stats" {
                let reply = serde_json::json!({
                    "stats": emulator.stats(),
                    "cpu_secs": cpu_secs().unwrap_or(0.0),
                });
                println!("{reply}");
            }
        }
        emulator.shutdown().await;
        Ok::<_, Box<dyn Error>>(())
    })
}

struct EmulatorProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    origin: String,
}

impl EmulatorProcess {
    fn spawn(unit_ms: u64) -> Result<Self, Box<dyn Error>> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--emulator-child", &unit_ms.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("child stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("child stdout")?);
        let mut origin = String::new();
        stdout.read_line(&mut origin)?;
        Ok(Self {
            child,
            stdin,
            stdout,
            origin: origin.trim().to_owned(),
        })
    }

    /// The emulator's statistics and CPU seconds so far.
    fn stats(&mut self) -> Result<serde_json::Value, Box<dyn Error>> {
        writeln!(self.stdin, "stats")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(serde_json::from_str(&line)?)
    }

    fn finish(mut self) -> Result<(), Box<dyn Error>> {
        drop(self.stdin);
        self.child.wait()?;
        Ok(())
    }
}

fn heartbeats(stats: &serde_json::Value) -> u64 {
    stats["stats"]["requests"]["heartbeat"]
        .as_u64()
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// /proc readings (Linux).

/// Resident memory in KiB (`VmRSS`).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// User + system CPU time of this process, in seconds (`/proc` reports in USER_HZ = 100).
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime), counted from 1 with the pid; field 3 is fields[0].
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

// ---------------------------------------------------------------------------------------------
// The client side.

async fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let mut emulator = EmulatorProcess::spawn(args.unit_ms)?;
    let unit = Duration::from_millis(args.unit_ms);
    let options = SessionOptions::new()
        .presence_timeout(args.timeout)
        .time_unit(unit);
    let interval = options.interval();
    let needed = args.users as f64 / interval.as_secs_f64();
    println!(
        "{} users, presence timeout {} units × {} ms = {:?}, heartbeat interval {:?}: \
         {needed:.0} heartbeats/s needed; at most {} in flight",
        args.users,
        options.timeout_secs(),
        args.unit_ms,
        options.timeout(),
        interval,
        args.max_in_flight
    );

    let config = Config::builder(SUB_KEY, "bench-admin")
        .origin(emulator.origin.as_str())
        .build()?;
    let client = Client::new(config)?;
    // Warm the allocator and the pool a little, so the baseline is not a cold process.
    client.here_now().channels([CHANNEL]).await?;
    let rss_before = rss_kib().unwrap_or(0);

    let mut many = client
        .keep_present_many()
        .options(options)
        .max_in_flight(args.max_in_flight)
        .start();
    let add_started = Instant::now();
    let pending: Vec<_> = (0..args.users)
        .map(|i| many.add(Member::new(format!("bench-user-{i:05}")).channels([CHANNEL])))
        .collect();
    for id in pending {
        id?;
    }
    let mut joined = 0;
    let mut failures = 0u64;
    while joined < args.users {
        match many.next_event().await {
            Some((_, SessionEvent::Joined { .. })) => joined += 1,
            Some((_, SessionEvent::HeartbeatFailed { .. })) => failures += 1,
            Some((_, SessionEvent::Stopped { error })) => {
                return Err(format!("a user stopped: {error:?}").into());
            }
            Some(_) => {}
            None => return Err("the task ended".into()),
        }
    }
    let rss_joined = rss_kib().unwrap_or(0);
    println!(
        "all {} joined in {:.2?}; client VmRSS {} KiB before, {} KiB after: {:.2} KiB per user",
        args.users,
        add_started.elapsed(),
        rss_before,
        rss_joined,
        rss_joined.saturating_sub(rss_before) as f64 / args.users as f64
    );

    // Steady state.
    let first = emulator.stats()?;
    let cpu_start = cpu_secs().unwrap_or(0.0);
    let window_start = Instant::now();
    let window = Duration::from_secs(args.seconds);
    let (mut at_risk, mut lost) = (0u64, 0u64);
    let mut next_report = window_start + Duration::from_secs(10);
    let mut last = (heartbeats(&first), window_start);
    while window_start.elapsed() < window {
        let left = window.saturating_sub(window_start.elapsed());
        let until = left.min(next_report.saturating_duration_since(Instant::now()));
        match tokio::time::timeout(until, many.next_event()).await {
            Ok(Some((_, event))) => match event {
                SessionEvent::HeartbeatFailed { .. } => failures += 1,
                SessionEvent::PresenceAtRisk { .. } => at_risk += 1,
                SessionEvent::PresenceLost { .. } => lost += 1,
                SessionEvent::Stopped { error } => {
                    return Err(format!("a user stopped: {error:?}").into());
                }
                _ => {}
            },
            Ok(None) => return Err("the task ended".into()),
            Err(_) => {}
        }
        if Instant::now() >= next_report {
            let now = emulator.stats()?;
            let count = heartbeats(&now);
            println!(
                "  {:>4.0} s: {:.0} heartbeats/s, VmRSS {} KiB",
                window_start.elapsed().as_secs_f64(),
                (count - last.0) as f64 / last.1.elapsed().as_secs_f64(),
                rss_kib().unwrap_or(0)
            );
            last = (count, Instant::now());
            next_report += Duration::from_secs(10);
        }
    }
    let elapsed = window_start.elapsed().as_secs_f64();
    let cpu = cpu_secs().unwrap_or(0.0) - cpu_start;
    let end = emulator.stats()?;
    let beats = heartbeats(&end) - heartbeats(&first);
    let rate = beats as f64 / elapsed;
    let emulator_cpu =
        end["cpu_secs"].as_f64().unwrap_or(0.0) - first["cpu_secs"].as_f64().unwrap_or(0.0);
    let rss_end = rss_kib().unwrap_or(0);

    let shutdown_started = Instant::now();
    many.shutdown().await;
    let shutdown_took = shutdown_started.elapsed();
    let last_stats = emulator.stats()?;
    emulator.finish()?;

    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| users | {} (one task, ≤ {} requests in flight) |",
        args.users, args.max_in_flight
    );
    println!(
        "| heartbeats/s sustained ({elapsed:.0} s window) | {rate:.0} ({:.0} % of the {needed:.0}/s the {interval:?} interval needs) |",
        100.0 * rate / needed
    );
    println!(
        "| client VmRSS per user | {:.2} KiB ({} → {} KiB after joining; {} KiB at the end) |",
        rss_joined.saturating_sub(rss_before) as f64 / args.users as f64,
        rss_before,
        rss_joined,
        rss_end
    );
    println!(
        "| client CPU per heartbeat | {:.1} µs ({cpu:.2} s over the window = {:.0} % of a core) |",
        cpu * 1e6 / beats.max(1) as f64,
        100.0 * cpu / elapsed
    );
    println!(
        "| emulator CPU per heartbeat (other process) | {:.1} µs |",
        emulator_cpu * 1e6 / beats.max(1) as f64
    );
    println!(
        "| failed heartbeats / presence at risk / presence lost | {failures} / {at_risk} / {lost} |"
    );
    println!(
        "| users the emulator ever timed out | {} |",
        last_stats["stats"]["timed_out"]
    );
    println!(
        "| leaves on shutdown | {} in {shutdown_took:.2?} |",
        last_stats["stats"]["left"]
    );
    Ok(())
}
