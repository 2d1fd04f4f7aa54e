//! Serving one subscribe request: fault rules, the handshake or the held long-poll, the
//! reply.
//!
//! A held poll is a small boxed future on its connection: the shared `Arc`s of its key log
//! and subscription shape, its cursor, one hold timer and one registered waiter on the
//! shape's [`Notify`](tokio::sync::Notify). The request itself is released before the poll
//! is parked (its URI points into hyper's read buffer, which would otherwise stay pinned
//! for the whole hold). When the client closes the connection, hyper drops the future and
//! the poll is gone at once (`Sizes::held_polls` counts them).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, Uri};

use crate::body::EmuBody;
use crate::faults::{self, FaultAction, FaultRule, Shaped};
use crate::handlers::{self, subscribe};
use crate::pubsub::{Encoded, Quirk};
use crate::request;
use crate::response::{self, CT_PRESENCE, Reply, Wire};
use crate::serving::{Dropped, Outcome, Serving};
use crate::shared::Shared;

/// Counts a held poll while it lives.
struct Held<'a>(&'a Shared);

impl<'a> Held<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared.hub.held.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.hub.held.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Answers a subscribe request that no fault rule caught: a handshake or an error at once
/// (a ready future), a long-poll as a small held future that no longer refers to the
/// request.
pub(crate) fn start(
    shared: &Arc<Shared>,
    method: &Method,
    uri: &Uri,
    gzip: bool,
    started: Option<Instant>,
) -> Serving {
    let poll = match open_poll(shared, method, uri, false) {
        Ok(poll) => poll,
        Err(reply) => {
            let wire = Wire::encode(reply, gzip, shared.config.gzip_threshold);
            return Serving::Ready(std::future::ready(Ok(send(
                shared,
                wire,
                method.as_str(),
                uri.path(),
                started,
            ))));
        }
    };
    // Only kept when requests are logged (`started` is set then).
    let path: Option<Box<str>> = started.map(|_| Box::from(uri.path()));
    Serving::Later(Box::pin(hold(
        Arc::clone(shared),
        poll,
        gzip,
        started,
        path,
    )))
}

/// Holds `poll` until events for it arrive or the hold time passes, then sends the reply
/// its shape shares with every poll at the same cursor.
async fn hold(
    shared: Arc<Shared>,
    poll: subscribe::Poll,
    gzip: bool,
    started: Option<Instant>,
    path: Option<Box<str>>,
) -> Outcome {
    let encoded = {
        let _held = Held::new(&shared);
        let hold = shared
            .config
            .timeout_duration(shared.config.events.hold_secs);
        let sleep = tokio::time::sleep(hold);
        tokio::pin!(sleep);
        loop {
            // Registered before the look, so an event published in between still wakes us.
            let notified = poll.shape.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(encoded) = poll.shared_answer(shared.now(), false) {
                break Some(encoded);
            }
            tokio::select! {
                biased;
                () = &mut notified => {}
                () = &mut sleep => break poll.shared_answer(shared.now(), true),
            }
            // Woken: usually the reply is there, so look before registering again.
            if let Some(encoded) = poll.shared_answer(shared.now(), false) {
                break Some(encoded);
            }
        }
    };
    let wire = match encoded {
        Some(encoded) => shared_wire(&shared, &encoded, gzip),
        None => Wire::encode(fallback(), gzip, shared.config.gzip_threshold),
    };
    Ok(send(
        &shared,
        wire,
        "GET",
        path.as_deref().unwrap_or(""),
        started,
    ))
}

/// The wire form of a shared reply (its gzipped body is also made once and shared).
fn shared_wire(shared: &Shared, encoded: &Encoded, accepts_gzip: bool) -> Wire {
    let plain = || (false, encoded.body.clone());
    let (gzip, body) = if accepts_gzip && encoded.body.len() > shared.config.gzip_threshold {
        encoded
            .gzipped(|raw| response::gzip_bytes(raw).map(Bytes::from))
            .map_or_else(plain, |z| (true, z))
    } else {
        plain()
    };
    Wire {
        status: StatusCode::OK,
        content_type: HeaderValue::from_static(CT_PRESENCE),
        gzip,
        retry_after: None,
        body,
    }
}

/// Sends a reply no fault rule shapes, and logs the request.
fn send(
    shared: &Shared,
    mut wire: Wire,
    method: &str,
    path: &str,
    started: Option<Instant>,
) -> Response<EmuBody> {
    let body = EmuBody::full(std::mem::take(&mut wire.body));
    if wire.status.as_u16() >= 400 {
        shared.counters.error_reply();
    }
    tracing::info!(
        method,
        path,
        op = "subscribe",
        status = wire.status.as_u16(),
        bytes = body.declared_len(),
        gzip = wire.gzip,
        micros = started.map(|s| s.elapsed().as_micros() as u64),
        "request"
    );
    wire.into_response(body)
}

/// Answers a subscribe request caught by the fault rule `rule`.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    gzip: bool,
    started: Option<Instant>,
    rule: Option<FaultRule>,
) -> Outcome {
    let delay = rule
        .as_ref()
        .map_or(Duration::ZERO, FaultRule::delay_before_headers);
    let action = rule.as_ref().map(FaultRule::action);
    let dropping = matches!(action, Some(FaultAction::Drop));
    let quirk = Quirk {
        duplicate: matches!(action, Some(FaultAction::DuplicateEvent)),
        region_change: match action {
            Some(FaultAction::RegionChange { region }) => Some(*region),
            _ => None,
        },
    };
    // A drop rule holds the poll (for its delay, or until the reply is due) and then closes
    // the connection; other rules wait their delay first.
    if !dropping && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let reply = match &rule {
        Some(r) if !r.runs_handler() && !dropping => None,
        _ => {
            let dry_run = rule.as_ref().is_some_and(|r| !dropping && !r.mutates());
            Some(
                answer(
                    &shared,
                    &method,
                    &uri,
                    dry_run,
                    quirk,
                    dropping.then_some(delay),
                )
                .await,
            )
        }
    };
    if dropping {
        tracing::info!(method = %method, path = uri.path(), op = "subscribe", fault = "drop", "request");
        return Err(Dropped);
    }
    let threshold = shared.config.gzip_threshold;
    let (wire, body) = match &rule {
        None => {
            let mut wire = Wire::encode(reply.unwrap_or_else(fallback), gzip, threshold);
            let body = EmuBody::full(std::mem::take(&mut wire.body));
            (wire, body)
        }
        Some(rule) => match faults::shape(rule, reply, gzip, threshold) {
            Shaped::Drop => return Err(Dropped),
            Shaped::Send(wire, body) => (wire, body),
        },
    };
    if wire.status.as_u16() >= 400 {
        shared.counters.error_reply();
    }
    tracing::info!(
        method = %method,
        path = uri.path(),
        op = "subscribe",
        status = wire.status.as_u16(),
        bytes = body.declared_len(),
        gzip = wire.gzip,
        fault = rule.as_ref().map(|f| format!("{:?}", f.action())),
        micros = started.map(|s| s.elapsed().as_micros() as u64),
        "request"
    );
    Ok(wire.into_response(body))
}

fn fallback() -> Reply {
    Reply::presence_error(500, "emulator fault")
}

/// The reply: at once for the handshake and errors, after the hold otherwise.
/// `hold_for` replaces the configured hold time (a drop rule's delay, zero = configured).
async fn answer(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    dry_run: bool,
    quirk: Quirk,
    hold_for: Option<Duration>,
) -> Reply {
    let poll = match open_poll(shared, method, uri, dry_run) {
        Ok(poll) => poll,
        Err(reply) => return reply,
    };
    let _held = Held::new(shared);
    let hold = match hold_for {
        Some(d) if !d.is_zero() => d,
        _ => shared
            .config
            .timeout_duration(shared.config.events.hold_secs),
    };
    let sleep = tokio::time::sleep(hold);
    tokio::pin!(sleep);
    loop {
        // Registered before the scan, so an event published in between still wakes us.
        let notified = poll.shape.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(reply) = poll.ready(shared.now(), quirk) {
            return reply;
        }
        tokio::select! {
            () = &mut notified => {}
            () = &mut sleep => return poll.answer_now(shared, quirk),
        }
    }
}

/// Validates a subscribe request and applies its presence: the poll to hold, or the reply
/// to send at once (the handshake, an error).
fn open_poll(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    dry_run: bool,
) -> Result<subscribe::Poll, Reply> {
    let path = uri.path();
    let raw_query = uri.query().unwrap_or("");
    let target = request::route(path);
    let is_get = method == Method::GET;
    let prepared = match handlers::open(shared, is_get, path, target, raw_query, dry_run) {
        Ok((call, request::Route::Subscribe { channels })) => subscribe::prepare(&call, channels),
        Ok(_) => Err(Reply::presence_error(404, "Not Found")),
        Err(reply) => Err(reply),
    };
    match prepared {
        Err(reply) | Ok(subscribe::Prepared::Now(reply)) => Err(reply),
        Ok(subscribe::Prepared::Poll(poll)) => Ok(poll),
    }
}
