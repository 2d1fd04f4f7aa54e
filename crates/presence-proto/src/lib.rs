//! # presence-proto
//!
//! The Sans-IO core of a PubNub Presence REST client: it builds every request as an
//! [`http::Request`], signs it, and parses every reply from an [`http::Response`] into typed
//! results or a precise [`Error`]. It never opens a socket, reads a clock or draws a random
//! number: time and request ids come in through a [`Stamp`], jitter through an argument.
//!
//! **In scope:** here now, where now, heartbeat, leave, set/get state, channel-group
//! registration; percent-encoding, signing (v2), gzip inflation, error classification, retry
//! policy. **Out of scope:** sockets, TLS, timeouts, connection pools — see `presence-tokio`
//! and `presence-blocking`, or drive it yourself.
//!
//! ## Driving it
//!
//! ```
//! use presence_proto::{Config, HereNow, Operation, Stamp};
//!
//! let config = Config::builder("demo", "alice").origin("http://127.0.0.1:8090").build()?;
//! let op = HereNow::new().channels(["lobby"]).include_state(true);
//! let request = op.to_request(&config, &Stamp::new(1_700_000_000, "req-1"))?;
//! // … send `request` with any HTTP stack, read status, headers and body …
//! let body = br#"{"message":"OK","occupancy":0,"service":"Presence","status":200,"uuids":[]}"#;
//! let reply = http::Response::builder().status(200).body(&body[..])?;
//! let result = op.parse(reply)?;
//! assert_eq!(result.total_occupancy, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Security
//!
//! The secret key and auth token are [`Secret`]s: `Debug` and `Display` print `[redacted]`.
//! They travel in the query string, so never log an `http::Request` or its URI directly; use
//! [`redacted_uri`]. PubNub never redirects a presence call: drivers should not follow
//! redirects.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub use http;

mod client;
mod config;
mod encode;
mod error;
mod events;
mod names;
mod ops;
mod request;
mod response;
mod retry;
mod roster;
pub mod session;
mod sign;
mod stamp;
mod watch;

pub use client::HereNowPageStream;
pub use client::{
    Async, AsyncDriver, Blocking, BlockingDriver, Call, Client, ClientBuilder, ClientOptions,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Environment, Flavour, KeepPresent,
    KeepPresentBuilder, KeepPresentMany, KeepPresentManyBuilder, Limits, Member, Proxy, ProxyUrl,
    RootCertificates, SendError, WatchBuilder, WatchCommand, WatchHandle, WatchItems, WatchKind,
    WatchStopper,
};
pub use config::{Config, ConfigBuilder, DEFAULT_ORIGIN, MAX_USER_ID_BYTES, SDK_NAME, Secret};
pub use encode::encode;
pub use error::{ApiError, CertificateProblem, EXCERPT_LIMIT, Error, ErrorKind, find_in_chain};
pub use error::{Printable, escape_control};
pub use events::{
    Cursor, Message, PRESENCE_SUFFIX, PresenceAction, PresenceEvent, SubscribeItem, SubscribeReply,
};
pub use ops::Operation;
pub use ops::channel_group::{
    AddChannelsToGroup, DeleteGroup, GroupChannels, ListGroupChannels, RemoveChannelsFromGroup,
};
pub use ops::get_state::{ChannelState, GetState, GetStateResult};
pub use ops::heartbeat::{DEFAULT_PRESENCE_TIMEOUT, Heartbeat};
pub use ops::here_now::{HereNow, HereNowChannel, HereNowResult, HereNowUser, MAX_HERE_NOW_LIMIT};
pub use ops::here_now_pages::{HereNowAllPages, HereNowPages};
pub use ops::leave::{Leave, LeaveResult};
pub use ops::set_state::{SetState, SetStateResult};
pub use ops::subscribe::{SUBSCRIBE_TIMEOUT, Subscribe};
pub use ops::where_now::{WhereNow, WhereNowResult};
pub use request::{MAX_URL_BYTES, redacted_uri};
pub use response::MAX_INFLATED_BYTES;
pub use retry::RetryPolicy;
pub use roster::{LeftReason, MAX_REFRESH_CHANNELS, Roster, RosterChange, RosterSnapshot};
pub use session::MAX_ATTEMPTS_PER_WINDOW;
pub use session::{
    MIN_PRESENCE_TIMEOUT, PresenceSession, PresenceSessions, SessionCommand, SessionEvent,
    SessionId, SessionOptions, SessionRequest, SessionStart,
};
pub use sign::sign_v2;
pub use stamp::Stamp;
pub use watch::{
    GapReason, LiveRoster, RosterItem, RosterReply, RosterRequest, Watch, WatchItem, WatchOptions,
    WatchRequest, WatchToken,
};

/// What every adapter re-exports beside its driver and its type aliases
/// ([`driver_aliases!`]): configuration, options, results, events, errors. `use
/// presence_tokio::*` or `use presence_blocking::*` brings these in.
///
/// ```
/// use presence_proto::prelude::*;
/// let config: Config = Config::builder("demo", "alice").build()?;
/// # drop(config);
/// # Ok::<(), Error>(())
/// ```
pub mod prelude {
    pub use crate::{
        ApiError, Call, CertificateProblem, ChannelState, ClientOptions, Config, ConfigBuilder,
        Cursor, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_IN_FLIGHT,
        DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Error, ErrorKind, GapReason,
        GetStateResult, GroupChannels, HereNowAllPages, HereNowChannel, HereNowResult, HereNowUser,
        LeaveResult, LeftReason, Member, Operation, PresenceAction, PresenceEvent, Proxy, ProxyUrl,
        RetryPolicy, RosterChange, RosterItem, RosterSnapshot, SessionEvent, SessionId,
        SessionOptions, SetStateResult, WatchItem, WatchOptions, WhereNowResult,
    };
}
