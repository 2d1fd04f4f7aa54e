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

pub use driver::Hyper;
pub use presence_proto as proto;
pub use presence_proto::{
    ApiError, Async, Call, CertificateProblem, ChannelState, ClientOptions, Config, ConfigBuilder,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Error, ErrorKind, GetStateResult,
    GroupChannels, HereNowChannel, HereNowResult, HereNowUser, Member, Operation, Proxy, ProxyUrl,
    RetryPolicy, SessionEvent, SessionId, SessionOptions, SetStateResult, WhereNowResult,
};

/// The async client: every call builder is awaited. See [`presence_proto::Client`].
///
/// ```
/// # async fn demo() -> Result<(), presence_tokio::Error> {
/// let config = presence_tokio::Config::builder("sub-c-demo", "alice").build()?;
/// let client = presence_tokio::Client::new(config)?;
/// let here = client.here_now().channels(["lobby"]).await?;
/// println!("{} present", here.total_occupancy);
/// # Ok(()) }
/// ```
pub type Client = presence_proto::Client<Async<Hyper>>;
/// Builder of a [`Client`]'s options. See [`presence_proto::ClientBuilder`].
///
/// ```
/// # async fn demo() -> Result<(), presence_tokio::Error> {
/// let config = presence_tokio::Config::builder("sub-c-demo", "alice").build()?;
/// let client = presence_tokio::Client::builder(config)
///     .request_timeout(std::time::Duration::from_secs(5))
///     .build()?;
/// # let _ = client;
/// # Ok(()) }
/// ```
pub type ClientBuilder = presence_proto::ClientBuilder<Async<Hyper>>;
/// One user kept present by a tokio task. See [`presence_proto::KeepPresent`].
///
/// ```
/// # async fn demo() -> Result<(), presence_tokio::Error> {
/// # let client = presence_tokio::Client::new(presence_tokio::Config::builder("demo", "alice").build()?)?;
/// let alice: presence_tokio::KeepPresent = client.keep_present().channels(["lobby"]).start()?;
/// alice.shutdown().await?;
/// # Ok(()) }
/// ```
pub type KeepPresent = presence_proto::KeepPresent<Async<Hyper>>;
/// Builder of a [`KeepPresent`]. See [`presence_proto::KeepPresentBuilder`].
///
/// ```
/// # async fn demo() -> Result<(), presence_tokio::Error> {
/// # let client = presence_tokio::Client::new(presence_tokio::Config::builder("demo", "alice").build()?)?;
/// let builder: presence_tokio::KeepPresentBuilder = client.keep_present().channels(["lobby"]).presence_timeout(120);
/// let alice = builder.start()?;
/// # let _ = alice;
/// # Ok(()) }
/// ```
pub type KeepPresentBuilder = presence_proto::KeepPresentBuilder<Async<Hyper>>;
/// Many users kept present by one tokio task. See [`presence_proto::KeepPresentMany`].
///
/// ```
/// # async fn demo() -> Result<(), presence_tokio::Error> {
/// # let client = presence_tokio::Client::new(presence_tokio::Config::builder("demo", "alice").build()?)?;
/// let many: presence_tokio::KeepPresentMany = client.keep_present_many().start();
/// let id = many.add(presence_tokio::Member::new("bob").channels(["lobby"]))?;
/// many.join_channels(id, ["kitchen"]);
/// many.shutdown().await;
/// # Ok(()) }
/// ```
pub type KeepPresentMany = presence_proto::KeepPresentMany<Async<Hyper>>;
/// Builder of a [`KeepPresentMany`]. See [`presence_proto::KeepPresentManyBuilder`].
///
/// ```
/// # async fn demo() -> Result<(), presence_tokio::Error> {
/// # let client = presence_tokio::Client::new(presence_tokio::Config::builder("demo", "alice").build()?)?;
/// let builder: presence_tokio::KeepPresentManyBuilder = client.keep_present_many().presence_timeout(120);
/// let many = builder.start();
/// # let _ = many;
/// # Ok(()) }
/// ```
pub type KeepPresentManyBuilder = presence_proto::KeepPresentManyBuilder<Async<Hyper>>;
