//! One definition of the client for every driver: [`Client`], its options, one fluent
//! [`Call`] per operation, the retry loop, and keep-present — generic over a small driver
//! trait ([`AsyncDriver`] or [`BlockingDriver`]) that moves bytes, sleeps and spawns.
//!
//! An adapter implements one driver trait and names the client type:
//! `presence_tokio::Client` is `Client<Async<Hyper>>`, `presence_blocking::Client` is
//! `Client<Blocking<Ureq>>`. Everything else — builders, option defaults, retries, sessions —
//! lives here once. The core still does no I/O: it calls the driver.

mod aliases;
mod attempt;
mod call;
mod driver;
mod handle;
pub(crate) mod keep;
mod network;
mod options;
mod pages;
mod run_async;
mod run_blocking;
#[cfg(test)]
mod tests;
mod watch;

pub use call::Call;
pub use driver::{
    Async, AsyncDriver, Blocking, BlockingDriver, Environment, Flavour, Limits, SendError,
};
pub use handle::{Client, ClientBuilder};
pub use keep::{
    DEFAULT_MAX_IN_FLIGHT, KeepPresent, KeepPresentBuilder, KeepPresentMany,
    KeepPresentManyBuilder, Member,
};
pub use network::{Proxy, ProxyUrl, RootCertificates};
pub use options::{
    ClientOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_POOL_IDLE_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
};
pub use pages::HereNowPageStream;
pub use watch::{WatchBuilder, WatchCommand, WatchHandle, WatchItems, WatchKind, WatchStopper};
