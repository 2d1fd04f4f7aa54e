//! [`Client`] and the one generic send path, [`Client::execute`].

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use presence_proto::{Config, Error, Operation, RetryPolicy};
use tracing::field::Empty;

use crate::builder::ClientBuilder;
use crate::stamp;
use crate::transport::{self, Limits};

/// A blocking PubNub Presence client: a keyset [`Config`] plus a pooled ureq agent.
///
/// Cheap to clone (two reference counts); clones share the connection pool and can be used
/// from many threads at once. Every call goes through [`Client::execute`], usually via the
/// fluent builders ([`Client::here_now`], [`Client::set_state`], …) which end in `.call()`.
///
/// ```no_run
/// use presence_blocking::{Client, Config};
///
/// let config = Config::builder("demo", "alice").origin("http://127.0.0.1:8090").build()?;
/// let client = Client::new(config)?;
/// client.heartbeat().channels(["lobby"]).call()?;
/// let here = client.here_now().channels(["lobby"]).call()?;
/// assert_eq!(here.total_occupancy, 1);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    pub(crate) config: Arc<Config>,
}

/// Everything clones of a client share: the agent and the options.
pub(crate) struct Shared {
    pub(crate) agent: ureq::Agent,
    pub(crate) limits: Limits,
    pub(crate) retry_policy: RetryPolicy,
    /// `pool_max_idle_per_host(0)`: ask the server to close after each reply.
    pub(crate) close_connections: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("request_timeout", &self.shared.limits.request_timeout)
            .field("connect_timeout", &self.shared.limits.connect_timeout)
            .field("max_body_size", &self.shared.limits.max_body_size)
            .field("retry_policy", &self.shared.retry_policy)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the default options (10 s request timeout, 8 MiB body cap, no retries).
    ///
    /// ```
    /// use presence_blocking::{Client, Config};
    /// let client = Client::new(Config::builder("sub-c-123", "alice").build()?)?;
    /// assert_eq!(client.config().user_id(), "alice");
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder for a client with non-default options.
    ///
    /// ```
    /// use std::time::Duration;
    /// use presence_blocking::{Client, Config, RetryPolicy};
    /// let client = Client::builder(Config::builder("sub-c-123", "alice").build()?)
    ///     .request_timeout(Duration::from_secs(5))
    ///     .retry_policy(RetryPolicy::exponential(Duration::from_secs(1), Duration::from_secs(30), 3))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder::new(config)
    }

    /// The configuration (keyset and user id) calls are made with.
    ///
    /// ```
    /// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "alice").build()?)?;
    /// assert_eq!(client.config().subscribe_key(), "k");
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A client for another keyset or user id that shares this client's connection pool and
    /// options.
    ///
    /// ```
    /// use presence_blocking::{Client, Config};
    /// let alice = Client::new(Config::builder("sub-c-123", "alice").build()?)?;
    /// let bob = alice.with_config(alice.config().to_builder().user_id("bob").build()?);
    /// assert_eq!(bob.config().user_id(), "bob");
    /// assert_eq!(alice.config().user_id(), "alice");
    /// # Ok::<(), presence_blocking::Error>(())
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
    /// request id and timestamp and the full request timeout; failed attempts are retried as
    /// the [`RetryPolicy`] says, sleeping the policy's delay plus jitter on this thread.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// use presence_blocking::proto::HereNow;
    /// let op = HereNow::new().channels(["lobby"]).include_state(true);
    /// let here = client.execute(&op)?;
    /// println!("{} present", here.total_occupancy);
    /// # Ok(()) }
    /// ```
    pub fn execute<O: Operation>(&self, op: &O) -> Result<O::Output, Error> {
        self.execute_with(&self.config, op)
    }

    /// Sends an [`Operation`] with another configuration (keyset, user id, auth token) for this
    /// call only, over the same pool.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// use presence_blocking::proto::WhereNow;
    /// let as_bob = client.config().to_builder().user_id("bob").build()?;
    /// let where_bob = client.execute_with(&as_bob, &WhereNow::new())?;
    /// println!("bob is on {:?}", where_bob.channels);
    /// # Ok(()) }
    /// ```
    pub fn execute_with<O: Operation>(&self, config: &Config, op: &O) -> Result<O::Output, Error> {
        let shared = &*self.shared;
        let mut retries_done = 0u32;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let error = match shared.attempt(config, op, attempt) {
                Ok(output) => return Ok(output),
                Err(error) => error,
            };
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
            std::thread::sleep(delay);
            retries_done += 1;
        }
    }
}

impl Shared {
    /// One attempt: stamp, build, send, read the body (all under the request timeout), parse.
    fn attempt<O: Operation>(
        &self,
        config: &Config,
        op: &O,
        attempt: u32,
    ) -> Result<O::Output, Error> {
        let mut request = op.to_request(config, &stamp::fresh())?;
        // Only the path is logged: the query may hold the auth token and the signature.
        let span = tracing::debug_span!(
            "presence_request",
            op = O::NAME,
            path = request.uri().path(),
            attempt,
            status = Empty,
            elapsed_ms = Empty,
        );
        let _entered = span.enter();
        if self.close_connections {
            request.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        let started = Instant::now();
        let deadline = started + self.limits.request_timeout;
        let result = transport::exchange(&self.agent, request, deadline, self.limits);
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        let reply = match result {
            Ok(reply) => reply,
            Err(error) => {
                tracing::debug!(error = %error, "presence request failed");
                return Err(error);
            }
        };
        span.record("status", reply.parts.status.as_u16());
        let parsed = op.parse(http::Response::from_parts(reply.parts, &reply.body[..]));
        match &parsed {
            Ok(_) => tracing::debug!("presence request succeeded"),
            Err(error) => tracing::debug!(error = %error, "presence request rejected"),
        }
        parsed
    }
}
