//! The PubNub endpoints: from a routed, decoded request to a [`Reply`].

mod groups;
mod here_now;
mod presence;
mod state;
pub(crate) mod subscribe;
mod where_now;

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::SystemTime;

use crate::clock::unix_secs;
use crate::config::{KeysetOptions, Need};
use crate::request::{self, BadRequest, MAX_URL_BYTES, Names, Query, Route, Target};
use crate::response::Reply;
use crate::shared::Shared;
use crate::signature;
use crate::store::Store;

/// At most this many channels after channel groups are expanded.
const MAX_RESOLVED_CHANNELS: usize = 20_000;

/// One API call in progress.
pub(crate) struct Call<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) keyset: &'a KeysetOptions,
    pub(crate) sub_key: Cow<'a, str>,
    pub(crate) query: Query<'a>,
    pub(crate) now: SystemTime,
    /// Compute the reply without changing any state (a faulted request).
    pub(crate) dry_run: bool,
}

/// Answers a PubNub API request (everything outside `/_emulator`).
pub(crate) fn answer(
    shared: &Shared,
    is_get: bool,
    raw_path: &str,
    raw_query: &str,
    dry_run: bool,
) -> Reply {
    answer_routed(
        shared,
        is_get,
        raw_path,
        request::route(raw_path),
        raw_query,
        dry_run,
    )
}

/// [`answer`] with the path already routed (`target` is `request::route(raw_path)`).
pub(crate) fn answer_routed(
    shared: &Shared,
    is_get: bool,
    raw_path: &str,
    target: Option<Target<'_>>,
    raw_query: &str,
    dry_run: bool,
) -> Reply {
    let (call, route) = match open(shared, is_get, raw_path, target, raw_query, dry_run) {
        Ok(opened) => opened,
        Err(reply) => return reply,
    };
    let result = match route {
        Route::GlobalHereNow => here_now::here_now(&call, None),
        Route::HereNow { channels } => here_now::here_now(&call, Some(channels)),
        Route::WhereNow { uuid } => where_now::where_now(&call, uuid),
        Route::Heartbeat { channels } => presence::heartbeat(&call, channels),
        Route::Leave { channels } => presence::leave(&call, channels),
        Route::GetState { channels, uuid } => state::get_state(&call, channels, uuid),
        Route::SetState { channels, uuid } => state::set_state(&call, channels, uuid),
        Route::Group { group } => groups::group(&call, group),
        Route::GroupDelete { group } => groups::delete(&call, group),
        Route::GroupList => groups::list_all(&call),
        // Without a server to hold it: whatever is there now (for `InProcess`).
        Route::Subscribe { channels } => subscribe::prepare(&call, channels).map(|p| match p {
            subscribe::Prepared::Now(reply) => reply,
            subscribe::Prepared::Poll(poll) => poll.answer_now(shared, subscribe::Quirk::default()),
        }),
    };
    result.unwrap_or_else(|reply| reply)
}

/// What every API call checks first: URL length, method, the time endpoint, the route,
/// query, subscribe key, keyset switches and the signature.
pub(crate) fn open<'a>(
    shared: &'a Shared,
    is_get: bool,
    raw_path: &str,
    target: Option<Target<'a>>,
    raw_query: &'a str,
    dry_run: bool,
) -> Result<(Call<'a>, Route<'a>), Reply> {
    if raw_path.len() + raw_query.len() > MAX_URL_BYTES {
        return Err(Reply::presence_error(414, "URI Too Long"));
    }
    if !is_get {
        return Err(Reply::presence_error(405, "Method Not Allowed"));
    }
    if raw_path == "/time/0" {
        // The time endpoint, which SDKs poll to probe connectivity: a 17-digit timetoken.
        return Err(Reply::ok(&serde_json::json!([timetoken(shared.now())])));
    }
    let Some(target) = target else {
        return Err(Reply::presence_error(404, "Not Found"));
    };
    let route = target.route;
    let to_reply = |e: BadRequest| {
        if route.is_presence() {
            Reply::from(e)
        } else {
            e.registry()
        }
    };
    let query = Query::parse(raw_query).map_err(to_reply)?;
    let sub_key = request::segment(target.sub_key, "subscribe key").map_err(to_reply)?;
    let keyset = shared.config.keyset(&sub_key);
    // Subscribe is answered on presence-disabled keysets too (with no presence events).
    let subscribe = matches!(route, Route::Subscribe { .. });
    if route.is_presence() && !subscribe && !keyset.is_presence_enabled() {
        return Err(Reply::not_enabled());
    }
    if route == Route::GlobalHereNow && !keyset.is_global_here_now_enabled() {
        return Err(Reply::not_enabled());
    }
    let now = shared.now();
    if let Some(secret) = keyset.secret() {
        let ok = signature::verify(
            secret,
            keyset.publish(),
            raw_path,
            &query.pairs(),
            unix_secs(now),
        );
        if !ok {
            return Err(Reply::signature_mismatch());
        }
    }
    let call = Call {
        shared,
        keyset,
        sub_key,
        query,
        now,
        dry_run,
    };
    Ok((call, route))
}

use crate::events::timetoken;

impl Call<'_> {
    /// Refuses (403) when Access Manager is on and `auth` lacks `need` on any of the
    /// channels or groups.
    pub(crate) fn authorize<C: AsRef<str>, G: AsRef<str>>(
        &self,
        channels: &[C],
        groups: &[G],
        need: Need,
    ) -> Result<(), Reply> {
        let Some(am) = self.keyset.grants() else {
            return Ok(());
        };
        let auth = self.query.get("auth").filter(|a| !a.is_empty());
        let bad_channels: Vec<String> = channels
            .iter()
            .map(AsRef::as_ref)
            .filter(|c| !am.channel_allowed(auth, c, need))
            .map(str::to_owned)
            .collect();
        let bad_groups: Vec<String> = groups
            .iter()
            .map(AsRef::as_ref)
            .filter(|g| !am.group_allowed(auth, g, need))
            .map(str::to_owned)
            .collect();
        if bad_channels.is_empty() && bad_groups.is_empty() {
            Ok(())
        } else {
            Err(Reply::forbidden(&bad_channels, &bad_groups))
        }
    }

    /// The store, locked, with this key's expired entries already swept.
    pub(crate) fn store(&self) -> crate::shared::StoreGuard<'_> {
        let mut store = self.shared.store();
        store.sweep(&self.sub_key, self.now);
        store
    }
}

/// `channels` followed by the channels of `groups` not already named, without duplicates.
pub(crate) fn resolve<'a>(
    store: &Store,
    sub_key: &str,
    channels: Names<'a>,
    groups: &[&str],
) -> Result<Names<'a>, BadRequest> {
    let mut out = channels;
    if groups.is_empty() {
        return Ok(out);
    }
    let mut seen: HashSet<String> = out.iter().map(|c| c.to_string()).collect();
    for g in groups {
        for ch in store.group_channels(sub_key, g) {
            if seen.insert(ch.clone()) {
                out.push(Cow::Owned(ch));
            }
        }
        if out.len() > MAX_RESOLVED_CHANNELS {
            return Err(BadRequest::new("Too many channels"));
        }
    }
    Ok(out)
}
