//! One request, end to end: admin or API, fault rules, the handler, the wire reply.
//!
//! Most requests are answered synchronously inside [`Service::call`]: the handler never
//! waits, so the reply is computed right away and handed to hyper as a ready future. Only
//! admin requests (which read a body) and fault rules with a delay get a boxed future.

use std::future::ready;
use std::sync::Arc;
use std::time::Instant;

use http::{Method, Request, Response, Uri, header};
use hyper::body::Incoming;

use crate::admin;
use crate::body::EmuBody;
use crate::faults::{self, FaultRule, Shaped};
use crate::handlers;
use crate::longpoll;
use crate::operation::Operation;
use crate::request::{self, Target};
use crate::response::{Wire, accepts_gzip};
use crate::serving::{Dropped, Outcome, Serving};
use crate::shared::Shared;

/// The emulator as a hyper service (one per connection; they share [`Shared`]).
pub(crate) struct Service {
    shared: Arc<Shared>,
}

impl Service {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<EmuBody>;
    type Error = Dropped;
    type Future = Serving;

    fn call(&self, req: Request<Incoming>) -> Serving {
        serve(&self.shared, req)
    }
}

/// What the reply depends on, borrowed from the request.
struct Call<'a> {
    method: &'a Method,
    uri: &'a Uri,
    target: Option<Target<'a>>,
    op: Option<Operation>,
    gzip: bool,
    /// When the request arrived, measured only while request logging is on.
    started: Option<Instant>,
}

fn serve(shared: &Arc<Shared>, req: Request<Incoming>) -> Serving {
    let path = req.uri().path();
    if shared.config.admin_enabled && (path == "/_emulator" || path.starts_with("/_emulator/")) {
        let shared = Arc::clone(shared);
        return Serving::Later(Box::pin(
            async move { Ok(admin::handle(&shared, req).await) },
        ));
    }
    let target = request::route(path);
    let call = Call {
        method: req.method(),
        uri: req.uri(),
        target,
        op: target.map(|t| t.route.operation()),
        gzip: accepts_gzip(req.headers().get(header::ACCEPT_ENCODING)),
        started: tracing::enabled!(tracing::Level::INFO).then(Instant::now),
    };
    shared.counters.request(call.op);
    let path_and_query = call.uri.path_and_query().map_or(path, |pq| pq.as_str());
    if call.op == Some(Operation::Subscribe) {
        // Handshakes answer at once; long-polls are held in a small future of their own.
        let rule = shared.faults.take(path_and_query, call.op);
        if rule.is_none() {
            return longpoll::start(shared, call.method, call.uri, call.gzip, call.started);
        }
        shared.counters.fault();
        let shared = Arc::clone(shared);
        let (method, uri, gzip, started) = (
            call.method.clone(),
            call.uri.clone(),
            call.gzip,
            call.started,
        );
        return Serving::Later(Box::pin(longpoll::serve(
            shared, method, uri, gzip, started, rule,
        )));
    }
    let Some(rule) = shared.faults.take(path_and_query, call.op) else {
        return Serving::Ready(ready(respond(shared, &call, None)));
    };
    shared.counters.fault();
    let delay = rule.delay_before_headers();
    if delay.is_zero() {
        return Serving::Ready(ready(respond(shared, &call, Some(rule))));
    }
    // The handler runs after the delay, so state changes happen when the reply goes out.
    let shared = Arc::clone(shared);
    let (method, uri, gzip, started) = (
        call.method.clone(),
        call.uri.clone(),
        call.gzip,
        call.started,
    );
    Serving::Later(Box::pin(async move {
        tokio::time::sleep(delay).await;
        let target = request::route(uri.path());
        let call = Call {
            method: &method,
            uri: &uri,
            target,
            op: target.map(|t| t.route.operation()),
            gzip,
            started,
        };
        respond(&shared, &call, Some(rule))
    }))
}

/// Computes the reply (through the fault rule, if one fired) and logs the request.
fn respond(shared: &Shared, call: &Call<'_>, fault: Option<FaultRule>) -> Outcome {
    let path = call.uri.path();
    let raw_query = call.uri.query().unwrap_or("");
    let is_get = call.method == Method::GET;
    let threshold = shared.config.gzip_threshold;
    let (wire, body) = match &fault {
        None => {
            let reply =
                handlers::answer_routed(shared, is_get, path, call.target, raw_query, false);
            let mut wire = Wire::encode(reply, call.gzip, threshold);
            let body = EmuBody::full(std::mem::take(&mut wire.body));
            (wire, body)
        }
        Some(rule) => {
            let reply = rule.runs_handler().then(|| {
                handlers::answer_routed(
                    shared,
                    is_get,
                    path,
                    call.target,
                    raw_query,
                    !rule.mutates(),
                )
            });
            match faults::shape(rule, reply, call.gzip, threshold) {
                Shaped::Drop => {
                    tracing::info!(method = %call.method, path, op = call.op.map(|o| o.as_str()), fault = "drop", "request");
                    return Err(Dropped);
                }
                Shaped::Send(wire, body) => (wire, body),
            }
        }
    };
    if wire.status.as_u16() >= 400 {
        shared.counters.error_reply();
    }
    tracing::info!(
        method = %call.method,
        path,
        op = call.op.map(|o| o.as_str()),
        status = wire.status.as_u16(),
        bytes = body.declared_len(),
        gzip = wire.gzip,
        fault = fault.as_ref().map(|f| format!("{:?}", f.action())),
        micros = call.started.map(|s| s.elapsed().as_micros() as u64),
        "request"
    );
    Ok(wire.into_response(body))
}
