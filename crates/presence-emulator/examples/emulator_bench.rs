//! Throughput and memory benchmark of the presence emulator.
//!
//! Run with `cargo run --release -p presence-emulator --example emulator_bench` (about 25 s).
//! Other load on the machine skews absolute numbers; the alternating runs keep the ratio
//! fair.
//!
//! 1. Memory: resident set size (VmRSS) before and after 100,000 users join by heartbeat.
//! 2. Throughput with 64 concurrent keep-alive connections, each for a few seconds:
//!    heartbeat and here_now (100 users on the channel) on the emulator, beside a plain
//!    hyper server on the same runtime returning a fixed body of the same size; prints the
//!    emulator/plain ratio.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use presence_emulator::EmulatorBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 64;
const WARMUP: Duration = Duration::from_millis(200);
const MEASURE: Duration = Duration::from_secs(1);
/// Emulator and plain runs alternate this many times, so that load from other processes
/// on the machine hits both sides alike.
const ROUNDS: u32 = 4;
const FILL_USERS: u64 = 100_000;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A keep-alive client connection that reads one response per request.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: vec![0u8; 64 * 1024],
            filled: 0,
        })
    }

    /// Sends `GET path` and reads the response (headers, then Content-Length bytes).
    async fn request(&mut self, path: &str) -> std::io::Result<()> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        self.stream.write_all(req.as_bytes()).await?;
        loop {
            let filled = self.filled;
            if let Some(end) = self.buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).unwrap_or("");
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                let total = end + 4 + len;
                if filled >= total {
                    self.buf.copy_within(total..filled, 0);
                    self.filled -= total;
                    return Ok(());
                }
            }
            if self.filled == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let got = self.stream.read(&mut self.buf[filled..]).await?;
            if got == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.filled += got;
        }
    }
}

type PathFn = Arc<dyn Fn(usize) -> String + Send + Sync>;

/// One keep-alive loop: request after request until `stop`.
async fn client_loop(
    addr: SocketAddr,
    make_path: PathFn,
    id: usize,
    stop: Arc<AtomicBool>,
    counter: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let mut conn = Conn::open(addr).await?;
    while !stop.load(Ordering::Relaxed) {
        conn.request(&make_path(id)).await?;
        counter.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Requests per second over `MEASURE` with `CONNECTIONS` keep-alive loops.
async fn measure(addr: SocketAddr, make_path: PathFn) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for id in 0..CONNECTIONS {
        tasks.push(tokio::spawn(client_loop(
            addr,
            Arc::clone(&make_path),
            id,
            Arc::clone(&stop),
            Arc::clone(&counter),
        )));
    }
    tokio::time::sleep(WARMUP).await;
    let start_count = counter.load(Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let done = counter.load(Ordering::Relaxed) - start_count;
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        if let Ok(Err(e)) = t.await {
            eprintln!("client connection failed: {e}");
        }
    }
    done as f64 / elapsed
}

/// Alternating runs against the emulator and the plain server: (emulator, plain) req/s.
async fn compare(emulator: SocketAddr, path: PathFn, plain: SocketAddr) -> (f64, f64) {
    let (mut emu_total, mut plain_total) = (0.0, 0.0);
    for _ in 0..ROUNDS {
        plain_total += measure(plain, Arc::new(|_| "/x".to_owned())).await;
        emu_total += measure(emulator, Arc::clone(&path)).await;
    }
    (
        emu_total / f64::from(ROUNDS),
        plain_total / f64::from(ROUNDS),
    )
}

/// A plain hyper HTTP/1.1 server answering every request with `body`.
async fn plain_server(body: Bytes) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        let mut res = Response::new(Full::new(body));
                        res.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static(
                                "text/javascript; charset=\"UTF-8\"",
                            ),
                        );
                        Ok::<_, Infallible>(res)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}

async fn get_body(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out.split("\r\n\r\n").nth(1).unwrap_or("").to_owned())
}

/// Joins `users` users (1000 channels, 100 users each) with 64 connections; seconds taken.
async fn fill(addr: SocketAddr, users: u64) -> std::io::Result<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    return Ok::<_, std::io::Error>(());
                }
                let path = format!(
                    "/v2/presence/sub-key/fill/channel/room-{}/heartbeat?uuid=user-{i:06}&heartbeat=3600",
                    i % 1000
                );
                conn.request(&path).await?;
            }
        }));
    }
    for t in tasks {
        t.await.map_err(std::io::Error::other)??;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn main() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        println!(
            "presence-emulator bench: {CONNECTIONS} keep-alive connections, {ROUNDS} alternating {} ms runs per side, {} CPUs",
            MEASURE.as_millis(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );

        // 1. Memory.
        let emulator = EmulatorBuilder::new().start().await?;
        let addr = emulator.local_addr();
        let before = rss_kib().unwrap_or(0);
        let secs = fill(addr, FILL_USERS).await?;
        let stats = emulator.stats();
        let after = rss_kib().unwrap_or(0);
        println!(
            "memory: {} present users (joined in {secs:.1} s): VmRSS {:.1} MiB -> {:.1} MiB (+{:.1} MiB)",
            stats.present,
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            (after.saturating_sub(before)) as f64 / 1024.0
        );
        emulator.reset();

        // 2. Throughput: heartbeat.
        let ack = get_body(addr, "/v2/presence/sub-key/bench/channel/warm/heartbeat?uuid=w").await?;
        let plain_small = plain_server(Bytes::from(ack.clone())).await?;
        let (hb_rps, plain_rps) = compare(
            addr,
            Arc::new(|id| {
                format!("/v2/presence/sub-key/bench/channel/hb-{}/heartbeat?uuid=conn-{id}&heartbeat=300", id % 8)
            }),
            plain_small,
        )
        .await;

        // here_now on a channel with 100 users.
        for i in 0..100 {
            get_body(addr, &format!("/v2/presence/sub-key/bench/channel/crowd/heartbeat?uuid=user-{i:03}")).await?;
        }
        let here_now_path = "/v2/presence/sub-key/bench/channel/crowd?uuid=probe";
        let reply = get_body(addr, here_now_path).await?;
        let plain_large = plain_server(Bytes::from(reply.clone())).await?;
        let (hn_rps, plain_large_rps) =
            compare(addr, Arc::new(move |_| here_now_path.to_owned()), plain_large).await;

        println!(
            "heartbeat: emulator {hb_rps:>9.0} req/s | plain hyper ({} B body) {plain_rps:>9.0} req/s | ratio {:.2}",
            ack.len(),
            hb_rps / plain_rps
        );
        println!(
            "here_now:  emulator {hn_rps:>9.0} req/s | plain hyper ({} B body) {plain_large_rps:>9.0} req/s | ratio {:.2}",
            reply.len(),
            hn_rps / plain_large_rps
        );
        let s = emulator.stats();
        println!(
            "emulator stats: {} requests, {} error replies",
            s.requests_total, s.error_replies
        );
        emulator.shutdown().await;
        Ok(())
    })
}
