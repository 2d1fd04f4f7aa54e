#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod driver;
#[cfg(any(feature = "rustls", feature = "native-roots"))]
mod tls;
mod transport;

pub use driver::Ureq;
pub use presence_proto as proto;
pub use presence_proto::{
    ApiError, Blocking, Call, CertificateProblem, ChannelState, ClientOptions, Config,
    ConfigBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Error, ErrorKind, GetStateResult,
    GroupChannels, HereNowChannel, HereNowResult, HereNowUser, Member, Operation, Proxy, ProxyUrl,
    RetryPolicy, SessionEvent, SessionId, SessionOptions, SetStateResult, WhereNowResult,
};

/// The blocking client: every call builder ends in `.call()`. See [`presence_proto::Client`].
///
/// ```
/// # fn demo() -> Result<(), presence_blocking::Error> {
/// let config = presence_blocking::Config::builder("sub-c-demo", "alice").build()?;
/// let client = presence_blocking::Client::new(config)?;
/// let here = client.here_now().channels(["lobby"]).call()?;
/// println!("{} present", here.total_occupancy);
/// # Ok(()) }
/// ```
pub type Client = presence_proto::Client<Blocking<Ureq>>;
/// Builder of a [`Client`]'s options. See [`presence_proto::ClientBuilder`].
///
/// ```
/// # fn demo() -> Result<(), presence_blocking::Error> {
/// let config = presence_blocking::Config::builder("sub-c-demo", "alice").build()?;
/// let client = presence_blocking::Client::builder(config)
///     .request_timeout(std::time::Duration::from_secs(5))
///     .build()?;
/// # let _ = client;
/// # Ok(()) }
/// ```
pub type ClientBuilder = presence_proto::ClientBuilder<Blocking<Ureq>>;
/// One user kept present by a thread. See [`presence_proto::KeepPresent`].
///
/// ```
/// # fn demo() -> Result<(), presence_blocking::Error> {
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("demo", "alice").build()?)?;
/// let alice: presence_blocking::KeepPresent = client.keep_present().channels(["lobby"]).start()?;
/// alice.shutdown()?;
/// # Ok(()) }
/// ```
pub type KeepPresent = presence_proto::KeepPresent<Blocking<Ureq>>;
/// Builder of a [`KeepPresent`]. See [`presence_proto::KeepPresentBuilder`].
///
/// ```
/// # fn demo() -> Result<(), presence_blocking::Error> {
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("demo", "alice").build()?)?;
/// let builder: presence_blocking::KeepPresentBuilder = client.keep_present().channels(["lobby"]).presence_timeout(120);
/// let alice = builder.start()?;
/// # let _ = alice;
/// # Ok(()) }
/// ```
pub type KeepPresentBuilder = presence_proto::KeepPresentBuilder<Blocking<Ureq>>;
/// Many users kept present by one thread and its request workers. See
/// [`presence_proto::KeepPresentMany`].
///
/// ```
/// # fn demo() -> Result<(), presence_blocking::Error> {
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("demo", "alice").build()?)?;
/// let many: presence_blocking::KeepPresentMany = client.keep_present_many().start();
/// let id = many.add(presence_blocking::Member::new("bob").channels(["lobby"]))?;
/// many.join_channels(id, ["kitchen"]);
/// many.shutdown();
/// # Ok(()) }
/// ```
pub type KeepPresentMany = presence_proto::KeepPresentMany<Blocking<Ureq>>;
/// Builder of a [`KeepPresentMany`]. See [`presence_proto::KeepPresentManyBuilder`].
///
/// ```
/// # fn demo() -> Result<(), presence_blocking::Error> {
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("demo", "alice").build()?)?;
/// let builder: presence_blocking::KeepPresentManyBuilder = client.keep_present_many().presence_timeout(120);
/// let many = builder.start();
/// # let _ = many;
/// # Ok(()) }
/// ```
pub type KeepPresentManyBuilder = presence_proto::KeepPresentManyBuilder<Blocking<Ureq>>;
