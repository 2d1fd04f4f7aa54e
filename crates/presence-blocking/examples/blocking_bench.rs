//! Throughput of `presence_blocking::Client` next to hand-written ureq + `serde_json::Value`,
//! for the same here-now request, sequentially and from 16 threads (about 20 s in all).
//!
//! ```sh
//! cargo run --release -p presence-blocking --example blocking_bench
//! ```
//!
//! The server is a `std::net` HTTP/1.1 keep-alive server on 127.0.0.1 (a thread per
//! connection) answering every request with one fixed here-now reply: 2 channels × 20 users,
//! each with state. Both sides run in alternating rounds so that drift hits them alike; the
//! ratio is client throughput over baseline throughput (≥ 0.9 is the target).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use presence_blocking::{Client, Config};

const THREADS: usize = 16;
const ROUNDS: u32 = 3;
const ROUND: Duration = Duration::from_millis(1500);
const WARM_UP: Duration = Duration::from_millis(500);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let body = here_now_body();
    let origin = serve(&body)?;
    println!(
        "here-now reply: {} bytes (2 channels x 20 users with state), server {origin}",
        body.len()
    );

    let config = Config::builder("sub-c-bench", "bench-user")
        .origin(origin.as_str())
        .build()?;
    let client = Client::new(config.clone())?;
    // The exact URL the client sends (its request id aside), for the baseline to send too.
    let url = {
        use presence_blocking::Operation as _;
        let op = presence_blocking::proto::HereNow::new()
            .channels(["ch-a", "ch-b"])
            .include_state(true);
        let stamp = presence_blocking::proto::Stamp::new(0, "");
        op.to_request(&config, &stamp)?.uri().to_string()
    };
    let baseline = ureq::Agent::config_builder()
        .max_idle_connections(64)
        .max_idle_connections_per_host(64)
        .build()
        .new_agent();

    let ours = {
        let client = client.clone();
        move || {
            let here = client
                .here_now()
                .channels(["ch-a", "ch-b"])
                .include_state(true)
                .call()
                .map_err(|e| e.to_string())?;
            if here.total_occupancy == 40 && here.channels[1].occupants.len() == 20 {
                Ok(())
            } else {
                Err(format!("unexpected reply: {here:?}"))
            }
        }
    };
    let theirs = {
        let url = url.clone();
        move || {
            let mut response = baseline.get(&url).call().map_err(|e| e.to_string())?;
            let bytes = response
                .body_mut()
                .read_to_vec()
                .map_err(|e| e.to_string())?;
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            if value["payload"]["total_occupancy"] == 40 {
                Ok(())
            } else {
                Err(format!("unexpected reply: {value}"))
            }
        }
    };
    ours()?;
    theirs()?;

    let started = Instant::now();
    for threads in [1, THREADS] {
        measure(threads, WARM_UP, &ours)?;
        measure(threads, WARM_UP, &theirs)?;
        let (mut a, mut b) = (Rate::default(), Rate::default());
        for _ in 0..ROUNDS {
            a.add(measure(threads, ROUND, &ours)?);
            b.add(measure(threads, ROUND, &theirs)?);
        }
        let label = if threads == 1 {
            "sequential".to_owned()
        } else {
            format!("{threads} threads")
        };
        println!(
            "{label:>11}: presence-blocking {:>8.0} req/s | ureq + Value {:>8.0} req/s | ratio {:.2}",
            a.per_sec(),
            b.per_sec(),
            a.per_sec() / b.per_sec()
        );
    }
    println!("(measured in {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Calls and time, summed over rounds.
#[derive(Default)]
struct Rate {
    calls: u64,
    time: Duration,
}

impl Rate {
    fn add(&mut self, (calls, time): (u64, Duration)) {
        self.calls += calls;
        self.time += time;
    }

    fn per_sec(&self) -> f64 {
        self.calls as f64 / self.time.as_secs_f64()
    }
}

/// Runs `call` in a loop on `threads` threads for `duration`; returns calls made and time.
fn measure<F>(threads: usize, duration: Duration, call: &F) -> Result<(u64, Duration), String>
where
    F: Fn() -> Result<(), String> + Sync,
{
    let stop = AtomicBool::new(false);
    let calls = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        call()?;
                        n += 1;
                    }
                    calls.fetch_add(n, Ordering::Relaxed);
                    Ok::<(), String>(())
                })
            })
            .collect();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            worker.join().map_err(|_| "worker panicked".to_owned())??;
        }
        Ok::<(), String>(())
    })?;
    Ok((calls.load(Ordering::Relaxed), started.elapsed()))
}

/// The fixed reply: the multi-channel here-now shape with state.
fn here_now_body() -> String {
    let channel = |name: &str| {
        let users: Vec<_> = (0..20)
            .map(|i| {
                serde_json::json!({
                    "uuid": format!("{name}-user-{i:02}"),
                    "state": {"mood": "happy", "age": 20 + i, "tags": ["a", "b"]},
                })
            })
            .collect();
        serde_json::json!({"occupancy": 20, "uuids": users})
    };
    serde_json::json!({
        "status": 200,
        "message": "OK",
        "service": "Presence",
        "payload": {
            "total_channels": 2,
            "total_occupancy": 40,
            "channels": {"ch-a": channel("ch-a"), "ch-b": channel("ch-b")},
        },
    })
    .to_string()
}

/// Starts the keep-alive server; returns its origin.
fn serve(body: &str) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let origin = format!("http://{}", listener.local_addr()?);
    let reply: Arc<[u8]> = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/javascript; charset=\"UTF-8\"\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
    .into();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let reply = Arc::clone(&reply);
            std::thread::spawn(move || connection(stream, &reply));
        }
    });
    Ok(origin)
}

/// Answers every request head on one connection until the client closes it.
fn connection(stream: TcpStream, reply: &[u8]) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        // Read the head: lines up to the empty one (GET requests carry no body).
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        if writer.write_all(reply).is_err() {
            return;
        }
    }
}
