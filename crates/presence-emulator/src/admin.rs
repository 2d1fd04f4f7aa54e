//! The emulator's own admin API under `/_emulator` (see the crate README for formats).

use std::time::{Duration, SystemTime};

use http::{Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::EmuBody;
use crate::faults::FaultRule;
use crate::response::{Reply, Wire};
use crate::shared::Shared;

/// Admin request bodies larger than this are refused.
const MAX_ADMIN_BODY: usize = 1024 * 1024;

/// Serves one `/_emulator/...` request.
pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<EmuBody> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let reply = match (&method, path.as_str()) {
        (&Method::GET, "/_emulator/stats") => stats(shared),
        (&Method::GET, "/_emulator/sizes") => sizes(shared),
        (&Method::GET, "/_emulator/faults") => pending(shared),
        (&Method::POST, "/_emulator/faults") => match read_body(req).await {
            Ok(text) => add_faults(shared, &text),
            Err(reply) => reply,
        },
        (&Method::DELETE, "/_emulator/faults") => {
            shared.faults.clear();
            pending(shared)
        }
        (&Method::GET, "/_emulator/clock") => clock_now(shared),
        (&Method::POST, "/_emulator/clock") => match read_body(req).await {
            Ok(text) => move_clock(shared, &text),
            Err(reply) => reply,
        },
        (&Method::POST, "/_emulator/reset") => {
            shared.reset();
            Reply::admin(200, &json!({"ok": true}))
        }
        (
            _,
            "/_emulator/stats" | "/_emulator/sizes" | "/_emulator/faults" | "/_emulator/clock"
            | "/_emulator/reset",
        ) => Reply::admin_error(405, "Method Not Allowed"),
        _ => Reply::admin_error(404, "Not Found"),
    };
    tracing::info!(method = %method, path, status = reply.status, "admin request");
    let wire = Wire::encode(reply, false, usize::MAX);
    let body = EmuBody::full(wire.body.clone());
    wire.into_response(body)
}

async fn read_body(req: Request<Incoming>) -> Result<String, Reply> {
    let collected = Limited::new(req.into_body(), MAX_ADMIN_BODY)
        .collect()
        .await
        .map_err(|_| Reply::admin_error(400, "Body unreadable or larger than 1 MiB"))?;
    String::from_utf8(collected.to_bytes().to_vec())
        .map_err(|_| Reply::admin_error(400, "Body is not UTF-8"))
}

fn stats(shared: &Shared) -> Reply {
    match serde_json::to_value(shared.stats()) {
        Ok(v) => Reply::admin(200, &v),
        Err(e) => Reply::admin_error(500, &e.to_string()),
    }
}

fn sizes(shared: &Shared) -> Reply {
    match serde_json::to_value(shared.sizes()) {
        Ok(v) => Reply::admin(200, &v),
        Err(e) => Reply::admin_error(500, &e.to_string()),
    }
}

fn pending(shared: &Shared) -> Reply {
    Reply::admin(
        200,
        &json!({"ok": true, "pending": shared.faults.pending()}),
    )
}

/// One rule object, or an array of them (all parsed before any is armed).
fn add_faults(shared: &Shared, text: &str) -> Reply {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Reply::admin_error(400, &format!("invalid JSON: {e}")),
    };
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut rules = Vec::with_capacity(items.len());
    for item in items {
        match FaultRule::from_json(&item.to_string()) {
            Ok(rule) => rules.push(rule),
            Err(e) => return Reply::admin_error(400, &e.to_string()),
        }
    }
    for rule in rules {
        shared.faults.push(rule);
    }
    pending(shared)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn clock_now(shared: &Shared) -> Reply {
    Reply::admin(
        200,
        &json!({"ok": true, "now_unix_ms": unix_ms(shared.now())}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockJson {
    advance_ms: Option<u64>,
    set_unix_ms: Option<u64>,
}

fn move_clock(shared: &Shared, text: &str) -> Reply {
    let body: ClockJson = match serde_json::from_str(text) {
        Ok(b) => b,
        Err(e) => return Reply::admin_error(400, &format!("invalid clock request: {e}")),
    };
    let clock = &shared.config.clock;
    let moved = match (body.advance_ms, body.set_unix_ms) {
        (Some(ms), None) => clock.try_advance(Duration::from_millis(ms)),
        (None, Some(ms)) => SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .is_some_and(|t| clock.try_set(t)),
        _ => {
            return Reply::admin_error(400, "give exactly one of advance_ms and set_unix_ms");
        }
    };
    if !moved {
        return Reply::admin_error(409, "the emulator clock is not a manual clock");
    }
    let now = shared.now();
    shared.store().sweep_all(now);
    clock_now(shared)
}
