//! [`Client`], [`ClientBuilder`] and the one generic send path, [`Client::execute`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use presence_proto::{Config, Error, Operation, RetryPolicy, Stamp};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::transport::{self, ConnTag, Failure, PoolOptions, Transport};

/// Default limit for a whole exchange (connect, send, read the full body): 10 s.
///
/// ```
/// assert_eq!(presence_tokio::DEFAULT_REQUEST_TIMEOUT, std::time::Duration::from_secs(10));
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Default limit for establishing a connection (TCP, plus TLS for `https`): 5 s.
///
/// ```
/// assert_eq!(presence_tokio::DEFAULT_CONNECT_TIMEOUT, std::time::Duration::from_secs(5));
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default cap on a reply body: 8 MiB.
///
/// ```
/// assert_eq!(presence_tokio::DEFAULT_MAX_BODY_SIZE, 8 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_BODY_SIZE: usize = 8 * 1024 * 1024;

/// Default time an idle pooled connection is kept: 90 s.
///
/// ```
/// assert_eq!(presence_tokio::DEFAULT_POOL_IDLE_TIMEOUT, std::time::Duration::from_secs(90));
/// ```
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// An async PubNub Presence client: a keyset [`Config`] plus a pooled HTTP/1.1 connection pool.
///
/// Cheap to clone (two reference counts); clones share the pool. Every call goes through
/// [`Client::execute`], usually via the fluent builders ([`Client::here_now`],
/// [`Client::set_state`], …) which are awaited directly.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), presence_tokio::Error> {
/// # let emulator = presence_emulator::EmulatorBuilder::new().start().await.unwrap();
/// # let origin = emulator.origin();
/// use presence_tokio::{Client, Config};
///
/// let config = Config::builder("demo", "alice").origin(origin).build()?;
/// let client = Client::new(config)?;
/// client.heartbeat().channels(["lobby"]).await?;
/// let here = client.here_now().channels(["lobby"]).await?;
/// assert_eq!(here.total_occupancy, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    config: Arc<Config>,
}

/// Everything clones of a client share: the transport and the options.
struct Shared {
    transport: Box<dyn Transport>,
    request_timeout: Duration,
    connect_timeout: Option<Duration>,
    max_body_size: usize,
    retry_policy: RetryPolicy,
    /// `pool_max_idle_per_host(0)`: ask the server to close after each reply.
    close_connections: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("request_timeout", &self.shared.request_timeout)
            .field("connect_timeout", &self.shared.connect_timeout)
            .field("max_body_size", &self.shared.max_body_size)
            .field("retry_policy", &self.shared.retry_policy)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the default options (10 s request timeout, 8 MiB body cap, no retries).
    ///
    /// Needs no runtime to build, but must be used inside a tokio runtime with the time driver
    /// enabled (the default for `#[tokio::main]`).
    ///
    /// ```
    /// use presence_tokio::{Client, Config};
    /// let client = Client::new(Config::builder("sub-c-123", "alice").build()?)?;
    /// assert_eq!(client.config().user_id(), "alice");
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder for a client with non-default options.
    ///
    /// ```
    /// use std::time::Duration;
    /// use presence_tokio::{Client, Config, RetryPolicy};
    /// let client = Client::builder(Config::builder("sub-c-123", "alice").build()?)
    ///     .request_timeout(Duration::from_secs(5))
    ///     .retry_policy(RetryPolicy::exponential(Duration::from_secs(1), Duration::from_secs(30), 3))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder::new(config)
    }

    /// The configuration (keyset and user id) calls are made with.
    ///
    /// ```
    /// # let client = presence_tokio::Client::new(presence_tokio::Config::builder("k", "alice").build()?)?;
    /// assert_eq!(client.config().subscribe_key(), "k");
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A client for another keyset or user id that shares this client's connection pool and
    /// options.
    ///
    /// ```
    /// use presence_tokio::{Client, Config};
    /// let alice = Client::new(Config::builder("sub-c-123", "alice").build()?)?;
    /// let bob = alice.with_config(alice.config().to_builder().user_id("bob").build()?);
    /// assert_eq!(bob.config().user_id(), "bob");
    /// assert_eq!(alice.config().user_id(), "alice");
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn with_config(&self, config: Config) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            config: Arc::new(config),
        }
    }

    /// Sends any [`Operation`] with this client's configuration and returns its typed output.
    ///
    /// This is the only place bytes move: every builder ends here. Each attempt gets a fresh
    /// request id and timestamp; failed attempts are retried as the [`RetryPolicy`] says (plus
    /// one immediate re-send when a pooled keep-alive connection turns out to have been closed
    /// by the server). Dropping the future cancels the request.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// use presence_tokio::proto::HereNow;
    /// let op = HereNow::new().channels(["lobby"]).include_state(true);
    /// let here = client.execute(&op).await?;
    /// println!("{} present", here.total_occupancy);
    /// # Ok(()) }
    /// ```
    pub async fn execute<O: Operation>(&self, op: &O) -> Result<O::Output, Error> {
        self.execute_with(&self.config, op).await
    }

    /// Sends an [`Operation`] with another configuration (keyset, user id, auth token) for this
    /// call only, over the same pool.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// use presence_tokio::proto::WhereNow;
    /// let as_bob = client.config().to_builder().user_id("bob").build()?;
    /// let where_bob = client.execute_with(&as_bob, &WhereNow::new()).await?;
    /// println!("bob is on {:?}", where_bob.channels);
    /// # Ok(()) }
    /// ```
    pub async fn execute_with<O: Operation>(
        &self,
        config: &Config,
        op: &O,
    ) -> Result<O::Output, Error> {
        let shared = &*self.shared;
        let mut retries_done = 0u32;
        let mut attempt = 0u32;
        let mut stale_resent = false;
        loop {
            attempt += 1;
            let failure = match shared.attempt(config, op, attempt).await {
                Ok(output) => return Ok(output),
                Err(failure) => failure,
            };
            if failure.stale && !stale_resent {
                // The server closed an idle keep-alive connection as we reused it: the request
                // never got an answer. Presence calls are idempotent GETs: send again, at once.
                stale_resent = true;
                tracing::debug!(
                    op = O::NAME,
                    attempt,
                    "pooled connection was closed by the server; sending again"
                );
                continue;
            }
            let error = failure.error;
            let policy = shared.retry_policy;
            let Some(delay) = policy.delay_with_jitter(retries_done, &error, fastrand::f64())
            else {
                return Err(error);
            };
            tracing::info!(
                op = O::NAME,
                attempt,
                error = %error,
                delay_ms = delay.as_millis() as u64,
                "presence request failed; retrying"
            );
            tokio::time::sleep(delay).await;
            retries_done += 1;
        }
    }
}

impl Shared {
    /// One attempt: stamp, build, send, read the body (all under the request timeout), parse.
    async fn attempt<O: Operation>(
        &self,
        config: &Config,
        op: &O,
        attempt: u32,
    ) -> Result<O::Output, Failure> {
        let stamp = Stamp::new(unix_now(), request_id());
        let request = op.to_request(config, &stamp)?;
        // Only the path is logged: the query may hold the auth token and the signature.
        let span = tracing::debug_span!(
            "presence_request",
            op = O::NAME,
            path = request.uri().path(),
            attempt,
            status = Empty,
            elapsed_ms = Empty,
        );
        let started = Instant::now();
        let mut request = request.map(Bytes::from);
        if self.close_connections {
            request.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        let exchange = async {
            let response = self
                .transport
                .send(request)
                .await
                .map_err(|e| transport::send_error(e, self.connect_timeout))?;
            if let Some(tag) = response.extensions().get::<ConnTag>() {
                tag.mark_answered();
            }
            let (parts, body) = response.into_parts();
            let content_length = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body = transport::read_body(body, self.max_body_size, content_length)
                .await
                .map_err(Failure::from)?;
            Ok::<_, Failure>((parts, body))
        };
        let result = match tokio::time::timeout(self.request_timeout, exchange)
            .instrument(span.clone())
            .await
        {
            Ok(result) => result,
            Err(_) => Err(Failure::from(Error::timeout(self.request_timeout))),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        span.record("elapsed_ms", elapsed_ms);
        let _entered = span.enter();
        let (parts, body) = match result {
            Ok(ok) => ok,
            Err(failure) => {
                tracing::debug!(error = %failure.error, "presence request failed");
                return Err(failure);
            }
        };
        span.record("status", parts.status.as_u16());
        let parsed = op.parse(http::Response::from_parts(parts, &body[..]));
        match &parsed {
            Ok(_) => tracing::debug!("presence request succeeded"),
            Err(error) => tracing::debug!(error = %error, "presence request rejected"),
        }
        parsed.map_err(Failure::from)
    }
}

/// Unix time in seconds (0 if the clock is before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A random (version 4) request id. Request ids need uniqueness, not unpredictability, so the
/// fast thread-local generator is used rather than the OS's.
fn request_id() -> String {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
        .into_uuid()
        .to_string()
}

/// Builder for a [`Client`]: timeouts, body cap, retry policy, pool settings or your own
/// hyper-util client.
///
/// ```
/// use std::time::Duration;
/// use presence_tokio::{Client, Config, RetryPolicy};
/// let client = Client::builder(Config::builder("sub-c-123", "alice").build()?)
///     .connect_timeout(Duration::from_secs(2))
///     .request_timeout(Duration::from_secs(5))
///     .max_body_size(1024 * 1024)
///     .retry_policy(RetryPolicy::linear(Duration::from_secs(2), 3))
///     .pool_idle_timeout(Some(Duration::from_secs(30)))
///     .pool_max_idle_per_host(8)
///     .build()?;
/// # drop(client);
/// # Ok::<(), presence_tokio::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    config: Config,
    request_timeout: Duration,
    connect_timeout: Option<Duration>,
    max_body_size: usize,
    retry_policy: RetryPolicy,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    /// Whether a connect/pool option was set (they do not apply to a user-supplied client).
    pool_options_set: bool,
    custom: Option<Box<dyn Transport>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_body_size", &self.max_body_size)
            .field("retry_policy", &self.retry_policy)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("custom_client", &self.custom.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with the defaults, for `config`.
    ///
    /// ```
    /// let builder = presence_tokio::ClientBuilder::new(presence_tokio::Config::builder("k", "u").build()?);
    /// let client = builder.build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn new(config: Config) -> Self {
        Self {
            config,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            retry_policy: RetryPolicy::None,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: usize::MAX,
            pool_options_set: false,
            custom: None,
        }
    }

    /// Limit for one whole attempt: connecting, sending, and reading the complete body
    /// (default 10 s). Passing it fails the attempt with [`crate::ErrorKind::Timeout`]; each
    /// retry gets the full limit again.
    ///
    /// ```
    /// # let config = presence_tokio::Config::builder("k", "u").build()?;
    /// let client = presence_tokio::Client::builder(config)
    ///     .request_timeout(std::time::Duration::from_secs(3))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Limit for establishing a TCP connection (default 5 s; `None`: only the request timeout
    /// applies). Reported as [`crate::ErrorKind::Timeout`].
    ///
    /// ```
    /// # let config = presence_tokio::Config::builder("k", "u").build()?;
    /// let client = presence_tokio::Client::builder(config)
    ///     .connect_timeout(std::time::Duration::from_secs(1))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self.pool_options_set = true;
        self
    }

    /// Largest reply body accepted, in bytes (default 8 MiB). Checked against `Content-Length`
    /// and while reading; a larger body fails with [`Error::BodyTooLarge`].
    ///
    /// ```
    /// # let config = presence_tokio::Config::builder("k", "u").build()?;
    /// let client = presence_tokio::Client::builder(config).max_body_size(64 * 1024).build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// When to retry failed calls (default [`RetryPolicy::None`], like every official SDK for
    /// presence). Only 429, 5xx, timeouts and network errors are retried; jitter of up to
    /// `min(1 s, delay / 2)` is added to each delay.
    ///
    /// ```
    /// use std::time::Duration;
    /// # let config = presence_tokio::Config::builder("k", "u").build()?;
    /// let client = presence_tokio::Client::builder(config)
    ///     .retry_policy(presence_tokio::RetryPolicy::linear(Duration::from_secs(2), 3))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How long an idle keep-alive connection stays in the pool (default 90 s; `None`: until
    /// the server closes it).
    ///
    /// ```
    /// # let config = presence_tokio::Config::builder("k", "u").build()?;
    /// let client = presence_tokio::Client::builder(config)
    ///     .pool_idle_timeout(Some(std::time::Duration::from_secs(20)))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self.pool_options_set = true;
        self
    }

    /// Most idle connections kept per host (default unlimited). `0` disables keep-alive: every
    /// request asks the server to close its connection (`Connection: close`) rather than
    /// handing hyper-util a zero-sized pool, which fails requests on some versions.
    ///
    /// ```
    /// # let config = presence_tokio::Config::builder("k", "u").build()?;
    /// let client = presence_tokio::Client::builder(config).pool_max_idle_per_host(4).build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self.pool_options_set = true;
        self
    }

    /// Uses your own hyper-util client (any connector; a body type buildable from
    /// [`Bytes`], such as `http_body_util::Full<Bytes>`). Connect timeout and pool options then
    /// belong to that client: setting them here too is rejected by [`ClientBuilder::build`].
    ///
    /// Without this crate's connection tagging, a failed request on such a client cannot be
    /// known to be on a reused connection, so "closed before the reply" failures are always
    /// re-sent once.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::Full;
    /// use hyper_util::client::legacy::Client as HyperClient;
    /// use hyper_util::rt::TokioExecutor;
    ///
    /// let hyper: HyperClient<_, Full<Bytes>> =
    ///     HyperClient::builder(TokioExecutor::new()).build_http();
    /// # let config = presence_tokio::Config::builder("k", "u").build()?;
    /// let client = presence_tokio::Client::builder(config).hyper_client(hyper).build()?;
    /// # drop(client);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn hyper_client<C, B>(mut self, client: hyper_util::client::legacy::Client<C, B>) -> Self
    where
        C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
        B: hyper::body::Body + From<Bytes> + Send + Unpin + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        self.custom = Some(Box::new(client));
        self
    }

    /// Validates the options and builds the client.
    ///
    /// ```
    /// use presence_tokio::{Client, Config, ErrorKind};
    /// let err = Client::builder(Config::builder("k", "u").build()?)
    ///     .request_timeout(std::time::Duration::ZERO)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        if self.request_timeout.is_zero() {
            return Err(invalid("request_timeout", "must be greater than zero"));
        }
        if self.connect_timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid(
                "connect_timeout",
                "must be greater than zero (or None)",
            ));
        }
        if self.max_body_size == 0 {
            return Err(invalid("max_body_size", "must be at least 1 byte"));
        }
        let close_connections = self.pool_max_idle_per_host == 0;
        let transport: Box<dyn Transport> = match self.custom {
            Some(custom) => {
                if self.pool_options_set {
                    return Err(invalid(
                        "hyper_client",
                        "connect_timeout, pool_idle_timeout and pool_max_idle_per_host \
                         cannot be combined with a user-supplied hyper client: set them on it",
                    ));
                }
                custom
            }
            None => Box::new(transport::default_client(&PoolOptions {
                connect_timeout: self.connect_timeout,
                idle_timeout: self.pool_idle_timeout,
                max_idle_per_host: self.pool_max_idle_per_host.max(1),
            })?),
        };
        Ok(Client {
            shared: Arc::new(Shared {
                transport,
                request_timeout: self.request_timeout,
                connect_timeout: self.connect_timeout,
                max_body_size: self.max_body_size,
                retry_policy: self.retry_policy,
                close_connections,
            }),
            config: Arc::new(self.config),
        })
    }
}

fn invalid(field: &'static str, reason: &str) -> Error {
    Error::InvalidConfig {
        field,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_v4() {
        let id = request_id();
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_ne!(id, request_id());
    }
}
