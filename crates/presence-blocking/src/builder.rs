//! [`ClientBuilder`]: timeouts, body cap, retry policy and pool settings, with their defaults.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use presence_proto::{Config, Error, RetryPolicy};

use crate::client::{Client, Shared};
use crate::transport::{self, AgentOptions, Limits};

/// Default limit for a whole exchange (connect, send, read the full body): 10 s.
///
/// ```
/// assert_eq!(presence_blocking::DEFAULT_REQUEST_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Default limit for establishing a connection (TCP, plus TLS for `https`): 5 s.
///
/// ```
/// assert_eq!(presence_blocking::DEFAULT_CONNECT_TIMEOUT.as_secs(), 5);
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default cap on a reply body: 8 MiB.
///
/// ```
/// assert_eq!(presence_blocking::DEFAULT_MAX_BODY_SIZE, 8 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_BODY_SIZE: usize = 8 * 1024 * 1024;

/// Default time an idle pooled connection is kept: 90 s.
///
/// ```
/// assert_eq!(presence_blocking::DEFAULT_POOL_IDLE_TIMEOUT.as_secs(), 90);
/// ```
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Builder for a [`Client`]: timeouts, body cap, retry policy and pool settings.
///
/// The option names and defaults are those of `presence-tokio`'s builder.
///
/// ```
/// use std::time::Duration;
/// use presence_blocking::{Client, Config, RetryPolicy};
/// let client = Client::builder(Config::builder("sub-c-123", "alice").build()?)
///     .connect_timeout(Duration::from_secs(2))
///     .request_timeout(Duration::from_secs(5))
///     .max_body_size(1024 * 1024)
///     .retry_policy(RetryPolicy::linear(Duration::from_secs(2), 3))
///     .pool_idle_timeout(Some(Duration::from_secs(30)))
///     .pool_max_idle_per_host(8)
///     .build()?;
/// # drop(client);
/// # Ok::<(), presence_blocking::Error>(())
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
            .finish()
    }
}

impl ClientBuilder {
    /// A builder with the defaults, for `config`.
    ///
    /// ```
    /// let builder = presence_blocking::ClientBuilder::new(presence_blocking::Config::builder("k", "u").build()?);
    /// let client = builder.build()?;
    /// # drop(client);
    /// # Ok::<(), presence_blocking::Error>(())
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
        }
    }

    /// Limit for one whole attempt: connecting, sending, and reading the complete body
    /// (default 10 s). Passing it fails the attempt with [`crate::ErrorKind::Timeout`]; each
    /// retry gets the full limit again.
    ///
    /// Enforced as ureq per-phase budgets (connect, send, response head, body) of at most this
    /// long, plus this crate's own check of the attempt's deadline before every body read.
    /// (ureq's global timeout is not used: it costs a resolver thread per request.) Name
    /// resolution itself is not bounded.
    ///
    /// ```
    /// # let config = presence_blocking::Config::builder("k", "u").build()?;
    /// let client = presence_blocking::Client::builder(config)
    ///     .request_timeout(std::time::Duration::from_secs(3))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Limit for establishing a connection, TLS included (default 5 s; `None`: only the
    /// request timeout applies). Reported as [`crate::ErrorKind::Timeout`].
    ///
    /// ```
    /// # let config = presence_blocking::Config::builder("k", "u").build()?;
    /// let client = presence_blocking::Client::builder(config)
    ///     .connect_timeout(std::time::Duration::from_secs(1))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Largest reply body accepted, in bytes (default 8 MiB). Checked against `Content-Length`
    /// and while reading; a larger body fails with [`Error::BodyTooLarge`].
    ///
    /// ```
    /// # let config = presence_blocking::Config::builder("k", "u").build()?;
    /// let client = presence_blocking::Client::builder(config).max_body_size(64 * 1024).build()?;
    /// # drop(client);
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// When to retry failed calls (default [`RetryPolicy::None`], like every official SDK for
    /// presence). Only 429, 5xx, timeouts and network errors are retried; jitter of up to
    /// `min(1 s, delay / 2)` is added to each delay, and the calling thread sleeps meanwhile.
    ///
    /// ```
    /// use std::time::Duration;
    /// # let config = presence_blocking::Config::builder("k", "u").build()?;
    /// let client = presence_blocking::Client::builder(config)
    ///     .retry_policy(presence_blocking::RetryPolicy::linear(Duration::from_secs(2), 3))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How long an idle keep-alive connection stays in the pool (default 90 s; `None`: until
    /// the server closes it). Pooled connections are probed before reuse.
    ///
    /// ```
    /// # let config = presence_blocking::Config::builder("k", "u").build()?;
    /// let client = presence_blocking::Client::builder(config)
    ///     .pool_idle_timeout(Some(std::time::Duration::from_secs(20)))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Most idle connections kept per host (default unlimited; it also caps the pool as a
    /// whole). `0` disables keep-alive: every request asks the server to close its connection
    /// (`Connection: close`) and nothing is pooled.
    ///
    /// ```
    /// # let config = presence_blocking::Config::builder("k", "u").build()?;
    /// let client = presence_blocking::Client::builder(config).pool_max_idle_per_host(4).build()?;
    /// # drop(client);
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// Validates the options and builds the client.
    ///
    /// ```
    /// use presence_blocking::{Client, Config, ErrorKind};
    /// let err = Client::builder(Config::builder("k", "u").build()?)
    ///     .request_timeout(std::time::Duration::ZERO)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), presence_blocking::Error>(())
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
        let agent = transport::agent(&AgentOptions {
            request_timeout: self.request_timeout,
            connect_timeout: self.connect_timeout,
            idle_timeout: self.pool_idle_timeout,
            max_idle_per_host: self.pool_max_idle_per_host,
        });
        Ok(Client {
            shared: Arc::new(Shared {
                agent,
                limits: Limits {
                    request_timeout: self.request_timeout,
                    connect_timeout: self.connect_timeout,
                    max_body_size: self.max_body_size,
                },
                retry_policy: self.retry_policy,
                close_connections: self.pool_max_idle_per_host == 0,
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
