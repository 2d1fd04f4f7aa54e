//! Throughput of `Client::here_now` against a hand-written hyper-util client, same run, same
//! local server.
//!
//! ```sh
//! cargo run --release -p presence-tokio --example tokio_bench
//! ```
//!
//! A local hyper server (its own runtime and thread) answers every request with one fixed
//! here_now reply: 2 channels × 20 users with state (~3 KB, not compressed). The clients run on
//! a single-threaded runtime on another thread. Each mode (sequential; 16 concurrent) is
//! measured in interleaved rounds for both clients, about 25 s in all, and the requests per
//! second and the ratio presence-tokio / hand-written are printed.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use presence_tokio::{Client, Config};

const ROUNDS: u32 = 20;
const SLICE: Duration = Duration::from_millis(300);
const CONCURRENCY: usize = 16;

fn reply_body() -> Bytes {
    let mut channels = serde_json::Map::new();
    for ch in ["bench-a", "bench-b"] {
        let users: Vec<_> = (0..20)
            .map(|i| {
                serde_json::json!({
                    "uuid": format!("user-{i:02}"),
                    "state": {"mood": "busy", "level": i, "tags": ["x", "y"]},
                })
            })
            .collect();
        channels.insert(
            ch.to_owned(),
            serde_json::json!({"occupancy": 20, "uuids": users}),
        );
    }
    let body = serde_json::json!({
        "message": "OK",
        "payload": {"channels": channels, "total_channels": 2, "total_occupancy": 40},
        "service": "Presence",
        "status": 200,
    });
    Bytes::from(serde_json::to_vec(&body).expect("json"))
}

/// Starts the fixed-reply server on its own thread and runtime.
fn start_server(body: Bytes) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let body = body.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        let body = body.clone();
                        async move {
                            Ok::<_, Infallible>(
                                http::Response::builder()
                                    .header("content-type", "text/javascript; charset=\"UTF-8\"")
                                    .body(Full::new(body))
                                    .expect("response"),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().expect("server address")
}

/// The hand-written client: hyper-util + `serde_json::Value`, the same request line.
#[derive(Clone)]
struct Hand {
    client: HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    origin: Arc<str>,
}

impl Hand {
    async fn here_now(&self) -> u64 {
        let url = format!(
            "{}/v2/presence/sub-key/bench/channel/bench-a,bench-b?limit=1000&pnsdk=bench&requestid={}&state=1&uuid=bench-user",
            self.origin,
            fastrand::u64(..)
        );
        let request = http::Request::get(url)
            .header("accept-encoding", "gzip")
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = self.client.request(request).await.expect("send");
        assert!(response.status().is_success());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
        value["payload"]["total_occupancy"].as_u64().expect("total")
    }
}

async fn ours(client: &Client) -> u64 {
    client
        .here_now()
        .channels(["bench-a", "bench-b"])
        .include_state(true)
        .await
        .expect("here_now")
        .total_occupancy
}

/// Runs `call` in `tasks` concurrent loops for `slice`; returns the completed calls.
async fn measure<F, Fut>(tasks: usize, slice: Duration, call: F) -> u64
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = u64> + 'static,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + slice;
    let local = tokio::task::LocalSet::new();
    for _ in 0..tasks {
        let call = call.clone();
        let done = Arc::clone(&done);
        local.spawn_local(async move {
            while Instant::now() < deadline {
                assert_eq!(call().await, 40);
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    local.await;
    done.load(Ordering::Relaxed)
}

fn main() {
    let addr = start_server(reply_body());
    let origin = format!("http://{addr}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    rt.block_on(async move {
        let config = Config::builder("bench", "bench-user")
            .origin(origin.clone())
            .build()
            .expect("config");
        let client = Client::new(config).expect("client");
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.set_nodelay(true);
        let hand = Hand {
            client: HyperClient::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .build(http),
            origin: origin.into(),
        };

        // Warm-up: fill both pools, fault in the code paths.
        let c = client.clone();
        measure(CONCURRENCY, Duration::from_millis(500), move || {
            let c = c.clone();
            async move { ours(&c).await }
        })
        .await;
        let h = hand.clone();
        measure(CONCURRENCY, Duration::from_millis(500), move || {
            let h = h.clone();
            async move { h.here_now().await }
        })
        .await;

        // Short slices, interleaved (and alternating which client goes first), so background
        // load on the machine hits both clients alike; the ratio is the median over rounds.
        let mut totals = [[0u64; 2]; 2]; // [mode][hand, ours]
        let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..ROUNDS {
            for (mode, tasks) in [1, CONCURRENCY].into_iter().enumerate() {
                let mut counts = [0u64; 2];
                for which in [round % 2, 1 - round % 2] {
                    counts[which as usize] = if which == 0 {
                        let h = hand.clone();
                        measure(tasks, SLICE, move || {
                            let h = h.clone();
                            async move { h.here_now().await }
                        })
                        .await
                    } else {
                        let c = client.clone();
                        measure(tasks, SLICE, move || {
                            let c = c.clone();
                            async move { ours(&c).await }
                        })
                        .await
                    };
                }
                totals[mode][0] += counts[0];
                totals[mode][1] += counts[1];
                ratios[mode].push(counts[1] as f64 / counts[0].max(1) as f64);
            }
        }

        let seconds = (SLICE * ROUNDS).as_secs_f64();
        println!("here_now, 2 channels x 20 users with state, local hyper server");
        println!(
            "{:<14} {:>16} {:>17} {:>13}",
            "mode", "hand-written/s", "presence-tokio/s", "median ratio"
        );
        for (mode, name) in ["sequential", "16 concurrent"].iter().enumerate() {
            let hand = totals[mode][0] as f64 / seconds;
            let ours = totals[mode][1] as f64 / seconds;
            let r = &mut ratios[mode];
            r.sort_by(f64::total_cmp);
            let median = r[r.len() / 2];
            println!("{name:<14} {hand:>16.0} {ours:>17.0} {median:>13.2}");
        }
    });
}
