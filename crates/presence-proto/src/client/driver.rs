//! The driver traits: the few things an adapter does that the core must not (move bytes, sleep,
//! spawn, read the clock, draw random numbers), and the two flavour wrappers that select the
//! blocking or the async call surface of [`Client`](super::Client).

use std::future::Future;
use std::time::{Duration, Instant};

use super::options::ClientOptions;
use crate::error::Error;

/// A failed exchange as a driver reports it.
///
/// ```
/// use presence_proto::{Error, SendError};
/// let failure = SendError::from(Error::timeout(std::time::Duration::from_secs(10)));
/// assert!(!failure.stale);
/// let stale = SendError::stale(Error::network("send", std::io::Error::other("reset")));
/// assert!(stale.stale);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct SendError {
    /// What went wrong.
    pub error: Error,
    /// The request failed on a pooled keep-alive connection that the server had closed before
    /// answering: the request never got an answer, and the core sends it once more at once.
    pub stale: bool,
}

impl SendError {
    /// A failure on a reused connection the server closed before answering.
    pub fn stale(error: Error) -> Self {
        Self { error, stale: true }
    }
}

impl From<Error> for SendError {
    fn from(error: Error) -> Self {
        Self {
            error,
            stale: false,
        }
    }
}

/// The limits of one exchange, as the core hands them to [`AsyncDriver::send`] and
/// [`BlockingDriver::send`].
///
/// ```
/// let limits = presence_proto::Limits::new(std::time::Duration::from_secs(10), 1 << 20);
/// assert_eq!(limits.max_body_size, 1 << 20);
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// The whole exchange (connect, send, read the full body) must end within this.
    pub timeout: Duration,
    /// The largest reply body to accept; a larger one fails with [`Error::BodyTooLarge`].
    pub max_body_size: usize,
}

impl Limits {
    /// Limits from a timeout and a body cap.
    pub fn new(timeout: Duration, max_body_size: usize) -> Self {
        Self {
            timeout,
            max_body_size,
        }
    }

    /// The reply's declared `Content-Length` (a size hint for reading), or
    /// [`Error::BodyTooLarge`] at once when it already exceeds the cap, before any body byte
    /// is read. Every driver checks it the same way.
    ///
    /// ```
    /// use presence_proto::{ErrorKind, Limits};
    /// let limits = Limits::new(std::time::Duration::from_secs(10), 1024);
    /// let mut headers = http::HeaderMap::new();
    /// assert_eq!(limits.declared_length(&headers)?, None);
    /// headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("512"));
    /// assert_eq!(limits.declared_length(&headers)?, Some(512));
    /// headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("4096"));
    /// assert_eq!(limits.declared_length(&headers).unwrap_err().kind(), ErrorKind::TooLarge);
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn declared_length(&self, headers: &http::HeaderMap) -> Result<Option<u64>, Error> {
        let length = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if length.is_some_and(|n| n > self.max_body_size as u64) {
            return Err(Error::BodyTooLarge {
                limit: self.max_body_size,
            });
        }
        Ok(length)
    }
}

/// What every driver supplies besides moving bytes: a clock, wall time and randomness.
///
/// The core never reads a clock or draws a random number itself; it asks the driver, so a
/// test driver can run on a virtual clock with fixed seeds.
///
/// ```
/// use std::time::Instant;
/// use presence_proto::Environment;
///
/// struct Fixed;
/// impl Environment for Fixed {
///     fn now(&self) -> Instant { Instant::now() }
///     fn unix_time(&self) -> u64 { 1_700_000_000 }
///     fn random(&self) -> u64 { 4 } // chosen by fair dice roll
/// }
/// assert_eq!(Fixed.unix_time(), 1_700_000_000);
/// ```
pub trait Environment: Send + Sync + 'static {
    /// The monotonic clock timers are measured on.
    fn now(&self) -> Instant;
    /// Wall-clock Unix time in seconds (signing timestamps).
    fn unix_time(&self) -> u64;
    /// A uniformly random number (request ids, retry jitter, session jitter seeds).
    fn random(&self) -> u64;

    /// A uniform random fraction in `0.0..1.0`, from [`Self::random`].
    fn random_fraction(&self) -> f64 {
        (self.random() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A blocking driver: sends one request on the calling thread, sleeps it, starts threads.
///
/// `presence-blocking` implements it over ureq; implement it yourself to run the whole client
/// ([`Client`](super::Client) with every call builder and keep-present) on another stack.
///
/// ```
/// use std::time::{Duration, Instant};
/// use presence_proto::{BlockingDriver, Blocking, Client, ClientOptions, Config, Environment, Error, SendError};
///
/// /// Answers every call with an empty here_now.
/// struct Canned;
/// impl Environment for Canned {
///     fn now(&self) -> Instant { Instant::now() }
///     fn unix_time(&self) -> u64 { 0 }
///     fn random(&self) -> u64 { 0 }
/// }
/// impl BlockingDriver for Canned {
///     type Body = &'static [u8];
///     fn connect(_: &ClientOptions) -> Result<Self, Error> { Ok(Canned) }
///     fn send(&self, _: http::Request<Vec<u8>>, _: presence_proto::Limits) -> Result<http::Response<Self::Body>, SendError> {
///         Ok(http::Response::new(&br#"{"status":200,"occupancy":0,"uuids":[]}"#[..]))
///     }
///     fn sleep(&self, duration: Duration) { std::thread::sleep(duration) }
///     fn spawn(&self, job: Box<dyn FnOnce() + Send>) { std::thread::spawn(job); }
/// }
///
/// let client: Client<Blocking<Canned>> = Client::new(Config::builder("demo", "alice").build()?)?;
/// assert_eq!(client.here_now().channels(["lobby"]).call()?.total_occupancy, 0);
/// # Ok::<(), Error>(())
/// ```
pub trait BlockingDriver: Environment + Sized {
    /// The reply body type (owned bytes).
    type Body: AsRef<[u8]>;

    /// Builds the driver (pool, TLS, timeouts) from the client options.
    fn connect(options: &ClientOptions) -> Result<Self, Error>;

    /// Sends `request` and reads the whole reply within `limits.timeout` (connect, send,
    /// body), with the body capped at `limits.max_body_size`. Redirects are not followed.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> Result<http::Response<Self::Body>, SendError>;

    /// Blocks the calling thread for `duration`.
    fn sleep(&self, duration: Duration);

    /// Runs `job` on another thread (keep-present's driving thread and request workers).
    fn spawn(&self, job: Box<dyn FnOnce() + Send>);
}

/// An async driver: sends one request, sleeps and spawns on some runtime.
///
/// `presence-tokio` implements it over hyper on tokio. The futures must be `Send`, so calls
/// can be awaited from spawned tasks.
///
/// ```
/// use std::future::Future;
/// use std::time::{Duration, Instant};
/// use presence_proto::{AsyncDriver, Async, Client, ClientOptions, Config, Environment, Error, SendError};
///
/// /// Answers every call at once with an empty here_now (no runtime needed).
/// struct Canned;
/// impl Environment for Canned {
///     fn now(&self) -> Instant { Instant::now() }
///     fn unix_time(&self) -> u64 { 0 }
///     fn random(&self) -> u64 { 0 }
/// }
/// impl AsyncDriver for Canned {
///     type Body = &'static [u8];
///     fn connect(_: &ClientOptions) -> Result<Self, Error> { Ok(Canned) }
///     fn send(&self, _: http::Request<Vec<u8>>, _: presence_proto::Limits)
///         -> impl Future<Output = Result<http::Response<Self::Body>, SendError>> + Send {
///         std::future::ready(Ok(http::Response::new(&br#"{"status":200,"occupancy":0,"uuids":[]}"#[..])))
///     }
///     fn sleep_until(&self, _: Instant) -> impl Future<Output = ()> + Send { std::future::ready(()) }
///     fn spawn(&self, _task: impl Future<Output = ()> + Send + 'static) {}
/// }
///
/// let client: Client<Async<Canned>> = Client::new(Config::builder("demo", "alice").build()?)?;
/// let pending = client.here_now().channels(["lobby"]); // awaited with `.await`
/// # drop(pending);
/// # Ok::<(), Error>(())
/// ```
pub trait AsyncDriver: Environment + Sized {
    /// The reply body type (owned bytes).
    type Body: AsRef<[u8]> + Send;

    /// Builds the driver (pool, TLS, timeouts) from the client options.
    fn connect(options: &ClientOptions) -> Result<Self, Error>;

    /// Sends `request` and reads the whole reply within `limits.timeout` (connect, send,
    /// body), with the body capped at `limits.max_body_size`. Redirects are not followed.
    /// Dropping the future cancels the exchange.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> impl Future<Output = Result<http::Response<Self::Body>, SendError>> + Send;

    /// Completes at `deadline` (on the same clock as [`Environment::now`]).
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send;

    /// Runs `task` in the background (keep-present's driving task and its requests).
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static);
}

/// Selects the async call surface: `Client<Async<D>>` calls are awaited.
///
/// ```
/// # fn demo<D: presence_proto::AsyncDriver>(driver: D) {
/// let flavour = presence_proto::Async(driver);
/// # drop(flavour);
/// # }
/// ```
#[derive(Debug)]
pub struct Async<D>(pub D);

/// Selects the blocking call surface: `Client<Blocking<D>>` calls end in `.call()`.
///
/// ```
/// # fn demo<D: presence_proto::BlockingDriver>(driver: D) {
/// let flavour = presence_proto::Blocking(driver);
/// # drop(flavour);
/// # }
/// ```
#[derive(Debug)]
pub struct Blocking<D>(pub D);

/// A driver wrapped in its flavour: what [`Client`](super::Client) is generic over.
///
/// Implemented for [`Async`] and [`Blocking`]; not meant to be implemented elsewhere.
///
/// ```
/// fn builds<F: presence_proto::Flavour>() {}
/// # fn demo<D: presence_proto::BlockingDriver>() { builds::<presence_proto::Blocking<D>>(); }
/// ```
pub trait Flavour: Send + Sync + Sized + 'static {
    /// Builds the driver from the client options.
    fn connect(options: &ClientOptions) -> Result<Self, Error>;
    /// The clock, wall time and randomness of the driver.
    fn environment(&self) -> &dyn Environment;
}

impl<D: AsyncDriver> Flavour for Async<D> {
    fn connect(options: &ClientOptions) -> Result<Self, Error> {
        D::connect(options).map(Async)
    }
    fn environment(&self) -> &dyn Environment {
        &self.0
    }
}

impl<D: BlockingDriver> Flavour for Blocking<D> {
    fn connect(options: &ClientOptions) -> Result<Self, Error> {
        D::connect(options).map(Blocking)
    }
    fn environment(&self) -> &dyn Environment {
        &self.0
    }
}
