//! The accept loop: one hyper HTTP/1.1 connection task per client, a periodic sweeper, and
//! graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::service;
use crate::shared::Shared;

/// How long shutdown waits for open connections to finish their current response.
const GRACE: Duration = Duration::from_secs(2);

/// Serves `listener` until `shutdown` changes (or its sender is dropped).
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    sweep_interval: Duration,
) {
    let sweeper = tokio::spawn(sweep_forever(Arc::clone(&shared), sweep_interval));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "connection accepted");
                    conns.spawn(connection(stream, Arc::clone(&shared), shutdown.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(GRACE, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::debug!("closing connections still busy after the grace period");
    }
    conns.abort_all();
    sweeper.abort();
}

async fn connection(stream: TcpStream, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let svc = service_fn(move |req| service::serve(Arc::clone(&shared), req));
    // No header-read timer: arming one per request cost about 10% of throughput, and the
    // emulator serves local test clients, not the open internet.
    let mut builder = http1::Builder::new();
    builder.keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Drops expired entries now and then, so memory stays bounded without traffic.
async fn sweep_forever(shared: Arc<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = shared.now();
        shared.store().sweep_all(now);
    }
}
