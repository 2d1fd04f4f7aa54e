//! One request, end to end: admin or API, fault rules, the handler, the wire reply.

use std::sync::Arc;
use std::time::Instant;

use http::{Method, Request, Response, header};
use hyper::body::Incoming;

use crate::admin;
use crate::body::EmuBody;
use crate::faults::{self, Shaped};
use crate::handlers;
use crate::request;
use crate::response::{Wire, accepts_gzip};
use crate::shared::Shared;

/// The service error that makes hyper close the connection without a response.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a fault rule")]
pub(crate) struct Dropped;

/// Serves one request.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<EmuBody>, Dropped> {
    let started = Instant::now();
    let path = req.uri().path();
    if shared.config.admin_enabled && (path == "/_emulator" || path.starts_with("/_emulator/")) {
        return Ok(admin::handle(&shared, req).await);
    }
    let raw_query = req.uri().query().unwrap_or("");
    let path_and_query = req.uri().path_and_query().map_or(path, |pq| pq.as_str());
    let gzip = accepts_gzip(req.headers().get(header::ACCEPT_ENCODING));
    let is_get = req.method() == Method::GET;
    let op = request::route(path).map(|t| t.route.operation());
    shared.counters.request(op);
    let threshold = shared.config.gzip_threshold;

    let (wire, body, fault) = match shared.faults.take(path_and_query, op) {
        None => {
            let reply = handlers::answer(&shared, is_get, path, raw_query, false);
            let wire = Wire::encode(reply, gzip, threshold);
            let body = EmuBody::full(wire.body.clone());
            (wire, body, None)
        }
        Some(rule) => {
            shared.counters.fault();
            let delay = rule.delay_before_headers();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let reply = rule
                .runs_handler()
                .then(|| handlers::answer(&shared, is_get, path, raw_query, !rule.mutates()));
            match faults::shape(&rule, reply, gzip, threshold) {
                Shaped::Drop => {
                    tracing::info!(method = %req.method(), path, op = op.map(|o| o.as_str()), fault = "drop", "request");
                    return Err(Dropped);
                }
                Shaped::Send(wire, body) => (wire, body, Some(rule)),
            }
        }
    };
    if wire.status.as_u16() >= 400 {
        shared.counters.error_reply();
    }
    tracing::info!(
        method = %req.method(),
        path,
        op = op.map(|o| o.as_str()),
        status = wire.status.as_u16(),
        bytes = wire.body.len(),
        gzip = wire.gzip,
        fault = fault.as_ref().map(|f| format!("{:?}", f.action())),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    Ok(wire.into_response(body))
}
