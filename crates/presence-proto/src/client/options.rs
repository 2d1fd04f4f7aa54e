//! [`ClientOptions`]: timeouts, body cap, retry policy and pool settings, with their defaults,
//! defined once for every driver.

use std::time::Duration;

use super::network::{Proxy, RootCertificates};
use crate::error::Error;
use crate::retry::RetryPolicy;

/// Default limit for a whole exchange (connect, send, read the full body): 10 s.
///
/// ```
/// assert_eq!(presence_proto::DEFAULT_REQUEST_TIMEOUT, std::time::Duration::from_secs(10));
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Default limit for establishing a connection (TCP, plus TLS for `https`): 5 s.
///
/// ```
/// assert_eq!(presence_proto::DEFAULT_CONNECT_TIMEOUT, std::time::Duration::from_secs(5));
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default cap on a reply body: 8 MiB.
///
/// ```
/// assert_eq!(presence_proto::DEFAULT_MAX_BODY_SIZE, 8 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_BODY_SIZE: usize = 8 * 1024 * 1024;

/// Default time an idle pooled connection is kept: 90 s.
///
/// ```
/// assert_eq!(presence_proto::DEFAULT_POOL_IDLE_TIMEOUT, std::time::Duration::from_secs(90));
/// ```
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// How a client sends: timeouts, body cap, retries and pool settings. Every driver reads the
/// same options with the same defaults; set them through [`ClientBuilder`](super::ClientBuilder).
///
/// ```
/// use std::time::Duration;
/// use presence_proto::{ClientOptions, RetryPolicy};
/// let options = ClientOptions::default()
///     .request_timeout(Duration::from_secs(5))
///     .retry_policy(RetryPolicy::linear(Duration::from_secs(1), 2));
/// assert_eq!(options.get_request_timeout(), Duration::from_secs(5));
/// assert!(options.validate().is_ok());
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
#[must_use]
pub struct ClientOptions {
    request_timeout: Duration,
    connect_timeout: Option<Duration>,
    max_body_size: usize,
    retry_policy: RetryPolicy,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    root_certificates: RootCertificates,
    proxy: Proxy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            retry_policy: RetryPolicy::None,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: usize::MAX,
            root_certificates: RootCertificates::default(),
            proxy: Proxy::FromEnv,
        }
    }
}

impl ClientOptions {
    /// Trusts one more root certificate (a PEM document, one or more `CERTIFICATE` blocks)
    /// besides the adapter's built-in roots (the bundled Mozilla roots with the `rustls`
    /// feature, the platform's store with `native-roots`): a private or corporate CA. Checked
    /// when the driver is built (an unreadable PEM is [`crate::ErrorKind::InvalidInput`]).
    ///
    /// ```
    /// # let pem = b"-----BEGIN CERTIFICATE-----\n...";
    /// let options = presence_proto::ClientOptions::default().add_root_certificate(pem);
    /// assert_eq!(options.get_root_certificates().iter().count(), 1);
    /// ```
    pub fn add_root_certificate(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certificates.push(pem.as_ref());
        self
    }

    /// Which HTTP proxy to use (default [`Proxy::FromEnv`]: `HTTP_PROXY`, `HTTPS_PROXY`,
    /// `ALL_PROXY`, `NO_PROXY` and lower-case).
    ///
    /// ```
    /// use presence_proto::{ClientOptions, Proxy};
    /// let options = ClientOptions::default().proxy(Proxy::None);
    /// assert_eq!(options.get_proxy(), &Proxy::None);
    /// ```
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Limit for one whole attempt: connecting, sending and reading the complete body
    /// (default 10 s). Passing it fails the attempt with [`crate::ErrorKind::Timeout`]; each
    /// retry gets the full limit again.
    ///
    /// ```
    /// let options = presence_proto::ClientOptions::default().request_timeout(std::time::Duration::from_secs(3));
    /// assert_eq!(options.get_request_timeout().as_secs(), 3);
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Limit for establishing a connection, TLS included (default 5 s; `None`: only the
    /// request timeout applies). Reported as [`crate::ErrorKind::Timeout`].
    ///
    /// ```
    /// let options = presence_proto::ClientOptions::default().connect_timeout(None);
    /// assert_eq!(options.get_connect_timeout(), None);
    /// ```
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Largest reply body accepted, in bytes (default 8 MiB). Checked against `Content-Length`
    /// and while reading; a larger body fails with [`Error::BodyTooLarge`].
    ///
    /// ```
    /// let options = presence_proto::ClientOptions::default().max_body_size(64 * 1024);
    /// assert_eq!(options.get_max_body_size(), 65_536);
    /// ```
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// When to retry failed calls (default [`RetryPolicy::None`], like every official SDK for
    /// presence). Only 408, 429, 5xx, timeouts and network errors are retried; jitter of up to
    /// `min(1 s, delay / 2)` is added to each delay.
    ///
    /// ```
    /// use std::time::Duration;
    /// use presence_proto::{ClientOptions, RetryPolicy};
    /// let options = ClientOptions::default().retry_policy(RetryPolicy::linear(Duration::from_secs(2), 3));
    /// assert_eq!(options.get_retry_policy().max_retries(), 3);
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How long an idle keep-alive connection stays in the pool (default 90 s; `None`: until
    /// the server closes it).
    ///
    /// ```
    /// let options = presence_proto::ClientOptions::default().pool_idle_timeout(None);
    /// assert_eq!(options.get_pool_idle_timeout(), None);
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Most idle connections kept per host (default unlimited). `0` disables keep-alive: every
    /// request asks the server to close its connection (`Connection: close`).
    ///
    /// ```
    /// let options = presence_proto::ClientOptions::default().pool_max_idle_per_host(0);
    /// assert!(options.closes_connections());
    /// ```
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// The request timeout.
    ///
    /// ```
    /// assert_eq!(presence_proto::ClientOptions::default().get_request_timeout().as_secs(), 10);
    /// ```
    pub fn get_request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The connect timeout.
    ///
    /// ```
    /// assert_eq!(presence_proto::ClientOptions::default().get_connect_timeout().map(|t| t.as_secs()), Some(5));
    /// ```
    pub fn get_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The body cap in bytes.
    ///
    /// ```
    /// assert_eq!(presence_proto::ClientOptions::default().get_max_body_size(), 8 << 20);
    /// ```
    pub fn get_max_body_size(&self) -> usize {
        self.max_body_size
    }

    /// The retry policy.
    ///
    /// ```
    /// assert_eq!(presence_proto::ClientOptions::default().get_retry_policy(), presence_proto::RetryPolicy::None);
    /// ```
    pub fn get_retry_policy(&self) -> RetryPolicy {
        self.retry_policy
    }

    /// The pool's idle timeout.
    ///
    /// ```
    /// assert!(presence_proto::ClientOptions::default().get_pool_idle_timeout().is_some());
    /// ```
    pub fn get_pool_idle_timeout(&self) -> Option<Duration> {
        self.pool_idle_timeout
    }

    /// The most idle connections kept per host.
    ///
    /// ```
    /// assert_eq!(presence_proto::ClientOptions::default().get_pool_max_idle_per_host(), usize::MAX);
    /// ```
    pub fn get_pool_max_idle_per_host(&self) -> usize {
        self.pool_max_idle_per_host
    }

    /// The extra trusted root certificates (PEM), for the driver.
    ///
    /// ```
    /// assert!(presence_proto::ClientOptions::default().get_root_certificates().is_empty());
    /// ```
    pub fn get_root_certificates(&self) -> &RootCertificates {
        &self.root_certificates
    }

    /// The proxy setting, for the driver.
    ///
    /// ```
    /// use presence_proto::{ClientOptions, Proxy};
    /// assert_eq!(ClientOptions::default().get_proxy(), &Proxy::FromEnv);
    /// ```
    pub fn get_proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// Whether every request asks the server to close its connection (no pooling).
    ///
    /// ```
    /// assert!(!presence_proto::ClientOptions::default().closes_connections());
    /// ```
    pub fn closes_connections(&self) -> bool {
        self.pool_max_idle_per_host == 0
    }

    /// Checks the options: timeouts and the body cap must be non-zero.
    ///
    /// ```
    /// use presence_proto::{ClientOptions, ErrorKind};
    /// let err = ClientOptions::default().request_timeout(std::time::Duration::ZERO).validate().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
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
        Ok(())
    }
}

fn invalid(field: &'static str, reason: &str) -> Error {
    Error::InvalidConfig {
        field,
        reason: reason.to_owned(),
    }
}
