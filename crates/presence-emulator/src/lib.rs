//! A local, in-memory PubNub Presence REST server.
//!
//! `presence-emulator` answers the Presence API (here now, where now, heartbeat, leave,
//! get/set state) and channel registration (channel groups) over plain HTTP/1.1, in the
//! live service's exact body shapes, so official PubNub SDKs pointed at it work unchanged
//! and clients can be tested without network or keys. Any subscribe key works; each is its
//! own namespace. Time comes from an injectable [`Clock`] (a [`ManualClock`] makes presence
//! timeouts pass instantly), and a [fault script](FaultRule) makes chosen requests fail in
//! the ways networks and services fail.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use presence_emulator::{EmulatorBuilder, ManualClock};
//!
//! let clock = ManualClock::new();
//! let emulator = EmulatorBuilder::new().clock(clock.clone()).start_in_background()?;
//!
//! let get = |path: &str| -> std::io::Result<String> {
//!     let mut s = std::net::TcpStream::connect(emulator.local_addr())?;
//!     write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//!     let mut out = String::new();
//!     s.read_to_string(&mut out)?;
//!     Ok(out)
//! };
//! get("/v2/presence/sub-key/demo/channel/lobby/heartbeat?uuid=alice&heartbeat=60")?;
//! assert_eq!(emulator.occupants("demo", "lobby"), ["alice"]);
//! let reply = get("/v2/presence/sub-key/demo/channel/lobby?uuid=bob")?;
//! assert!(reply.ends_with(r#"{"message":"OK","occupancy":1,"service":"Presence","status":200,"uuids":["alice"]}"#));
//!
//! clock.advance(Duration::from_secs(60)); // alice's presence timeout passes
//! assert!(emulator.occupants("demo", "lobby").is_empty());
//! assert_eq!(emulator.stats().timed_out, 1);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! See the crate README for the command-line server, the admin API (`/_emulator/...`),
//! the fault rule JSON format and how to point the official SDKs at it.

#![forbid(unsafe_code)]

mod admin;
mod body;
mod builder;
mod clock;
mod config;
mod events;
mod faults;
mod handle;
mod handlers;
mod in_process;
mod interval;
mod json;
mod longpoll;
mod operation;
mod pubsub;
mod request;
mod response;
mod server;
mod service;
mod serving;
mod shared;
mod signature;
mod sizes;
mod stats;
mod store;
mod tls;
mod url;

pub use builder::EmulatorBuilder;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AccessManager, KeysetOptions, Permissions};
pub use faults::{FaultAction, FaultRule, FaultRuleError, Faults, MAX_PAD_BYTES};
pub use handle::{BackgroundEmulator, EmulatorHandle};
pub use in_process::InProcess;
pub use operation::{Operation, UnknownOperation};
pub use signature::signature_v2;
pub use sizes::Sizes;
pub use stats::Stats;
pub use tls::TlsIdentity;

/// Compiles the README's Rust examples as doctests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The presence timeout (seconds) used when `heartbeat` is absent, empty, 0 or invalid,
/// and the lifetime of state set on a user who is not present.
pub const DEFAULT_PRESENCE_TIMEOUT: u32 = 300;
