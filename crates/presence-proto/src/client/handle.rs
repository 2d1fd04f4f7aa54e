//! [`Client`] and [`ClientBuilder`]: one definition of the client for every driver.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::driver::Flavour;
use super::network::{Proxy, ProxyUrl};
use super::options::ClientOptions;
use crate::config::Config;
use crate::error::Error;
use crate::retry::RetryPolicy;

/// A PubNub Presence client: a keyset [`Config`], the [`ClientOptions`] and a driver.
///
/// Defined once here and used through an adapter's alias: `presence_tokio::Client` is
/// `Client<Async<presence_tokio::Hyper>>` (calls are awaited), `presence_blocking::Client` is
/// `Client<Blocking<presence_blocking::Ureq>>` (calls end in `.call()`). Cheap to clone (two
/// reference counts); clones share the driver's connection pool.
///
/// ```
/// # fn demo<D: presence_proto::BlockingDriver>() -> Result<(), presence_proto::Error> {
/// use presence_proto::{Blocking, Client, Config};
/// let client = Client::<Blocking<D>>::new(Config::builder("demo", "alice").build()?)?;
/// client.heartbeat().channels(["lobby"]).call()?;
/// let here = client.here_now().channels(["lobby"]).call()?;
/// println!("{} present", here.total_occupancy);
/// # Ok(()) }
/// ```
pub struct Client<F> {
    pub(crate) shared: Arc<Shared<F>>,
    pub(crate) config: Arc<Config>,
}

/// Everything clones of a client share.
pub(crate) struct Shared<F> {
    pub(crate) flavour: F,
    pub(crate) options: ClientOptions,
}

impl<F> Clone for Client<F> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            config: Arc::clone(&self.config),
        }
    }
}

impl<F> fmt::Debug for Client<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl<F: Flavour> Client<F> {
    /// A client with the default options (10 s request timeout, 8 MiB body cap, no retries).
    ///
    /// ```
    /// # fn demo<D: presence_proto::AsyncDriver>() -> Result<(), presence_proto::Error> {
    /// use presence_proto::{Async, Client, Config};
    /// let client = Client::<Async<D>>::new(Config::builder("sub-c-123", "alice").build()?)?;
    /// assert_eq!(client.config().user_id(), "alice");
    /// # Ok(()) }
    /// ```
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder for a client with non-default options.
    ///
    /// ```
    /// # fn demo<D: presence_proto::AsyncDriver>() -> Result<(), presence_proto::Error> {
    /// use std::time::Duration;
    /// use presence_proto::{Async, Client, Config, RetryPolicy};
    /// let client = Client::<Async<D>>::builder(Config::builder("sub-c-123", "alice").build()?)
    ///     .request_timeout(Duration::from_secs(5))
    ///     .retry_policy(RetryPolicy::exponential(Duration::from_secs(1), Duration::from_secs(30), 3))
    ///     .build()?;
    /// # drop(client);
    /// # Ok(()) }
    /// ```
    pub fn builder(config: Config) -> ClientBuilder<F> {
        ClientBuilder::new(config)
    }
}

impl<F> Client<F> {
    /// A client over an already-built driver (a custom pool, a test double).
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(driver: D) -> Result<(), presence_proto::Error> {
    /// use presence_proto::{Blocking, Client, ClientOptions, Config};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let client = Client::from_parts(config, ClientOptions::default(), Blocking(driver))?;
    /// # drop(client);
    /// # Ok(()) }
    /// ```
    pub fn from_parts(config: Config, options: ClientOptions, flavour: F) -> Result<Self, Error> {
        options.validate()?;
        Ok(Self {
            shared: Arc::new(Shared { flavour, options }),
            config: Arc::new(config),
        })
    }

    /// The configuration (keyset and user id) calls are made with.
    ///
    /// ```
    /// # fn demo<F>(client: presence_proto::Client<F>) {
    /// println!("calls are made as {}", client.config().user_id());
    /// # }
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The options (timeouts, body cap, retries, pool) every call uses.
    ///
    /// ```
    /// # fn demo<F>(client: presence_proto::Client<F>) {
    /// println!("request timeout {:?}", client.options().get_request_timeout());
    /// # }
    /// ```
    pub fn options(&self) -> &ClientOptions {
        &self.shared.options
    }

    /// The driver (wrapped in its flavour).
    ///
    /// ```
    /// # fn demo<D>(client: presence_proto::Client<presence_proto::Blocking<D>>) {
    /// let presence_proto::Blocking(driver) = client.driver();
    /// # let _ = driver;
    /// # }
    /// ```
    pub fn driver(&self) -> &F {
        &self.shared.flavour
    }

    /// A client for another keyset or user id that shares this client's driver and options.
    ///
    /// ```
    /// # fn demo<F>(alice: presence_proto::Client<F>) -> Result<(), presence_proto::Error> {
    /// let bob = alice.with_config(alice.config().to_builder().user_id("bob").build()?);
    /// assert_eq!(bob.config().user_id(), "bob");
    /// # Ok(()) }
    /// ```
    pub fn with_config(&self, config: Config) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            config: Arc::new(config),
        }
    }
}

/// Builder for a [`Client`]: the [`ClientOptions`] setters, then [`build`](Self::build).
///
/// ```
/// # fn demo<D: presence_proto::BlockingDriver>() -> Result<(), presence_proto::Error> {
/// use std::time::Duration;
/// use presence_proto::{Blocking, Client, Config, RetryPolicy};
/// let client = Client::<Blocking<D>>::builder(Config::builder("sub-c-123", "alice").build()?)
///     .connect_timeout(Duration::from_secs(2))
///     .request_timeout(Duration::from_secs(5))
///     .max_body_size(1024 * 1024)
///     .retry_policy(RetryPolicy::linear(Duration::from_secs(2), 3))
///     .pool_idle_timeout(Some(Duration::from_secs(30)))
///     .pool_max_idle_per_host(8)
///     .build()?;
/// # drop(client);
/// # Ok(()) }
/// ```
#[must_use]
pub struct ClientBuilder<F> {
    config: Config,
    options: ClientOptions,
    flavour: Option<F>,
    /// Whether a connect or pool option was set (they do not apply to a supplied driver).
    pool_options_set: bool,
    /// A setter's invalid argument, reported by `build`.
    deferred_error: Option<Error>,
}

impl<F> fmt::Debug for ClientBuilder<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("options", &self.options)
            .field("custom_driver", &self.flavour.is_some())
            .finish_non_exhaustive()
    }
}

impl<F: Flavour> ClientBuilder<F> {
    /// A builder with the defaults, for `config`.
    ///
    /// ```
    /// # fn demo<D: presence_proto::AsyncDriver>() -> Result<(), presence_proto::Error> {
    /// use presence_proto::{Async, ClientBuilder, Config};
    /// let client = ClientBuilder::<Async<D>>::new(Config::builder("k", "u").build()?).build()?;
    /// # drop(client);
    /// # Ok(()) }
    /// ```
    pub fn new(config: Config) -> Self {
        Self {
            config,
            options: ClientOptions::default(),
            flavour: None,
            pool_options_set: false,
            deferred_error: None,
        }
    }

    /// Limit for one whole attempt (default 10 s); see [`ClientOptions::request_timeout`].
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// let builder = builder.request_timeout(std::time::Duration::from_secs(3));
    /// # drop(builder);
    /// # }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.map(|o| o.request_timeout(timeout))
    }

    /// Limit for connecting (default 5 s); see [`ClientOptions::connect_timeout`].
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// let builder = builder.connect_timeout(std::time::Duration::from_secs(1));
    /// # drop(builder);
    /// # }
    /// ```
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        let timeout = timeout.into();
        self.pool_options_set = true;
        self.map(|o| o.connect_timeout(timeout))
    }

    /// Largest reply body accepted (default 8 MiB); see [`ClientOptions::max_body_size`].
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// let builder = builder.max_body_size(64 * 1024);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn max_body_size(self, bytes: usize) -> Self {
        self.map(|o| o.max_body_size(bytes))
    }

    /// When to retry failed calls (default none); see [`ClientOptions::retry_policy`].
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// use std::time::Duration;
    /// let builder = builder.retry_policy(presence_proto::RetryPolicy::linear(Duration::from_secs(2), 3));
    /// # drop(builder);
    /// # }
    /// ```
    pub fn retry_policy(self, policy: RetryPolicy) -> Self {
        self.map(|o| o.retry_policy(policy))
    }

    /// Idle time of pooled connections (default 90 s); see
    /// [`ClientOptions::pool_idle_timeout`].
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// let builder = builder.pool_idle_timeout(Some(std::time::Duration::from_secs(20)));
    /// # drop(builder);
    /// # }
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_options_set = true;
        self.map(|o| o.pool_idle_timeout(timeout))
    }

    /// Most idle connections per host (default unlimited, `0`: no keep-alive); see
    /// [`ClientOptions::pool_max_idle_per_host`].
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// let builder = builder.pool_max_idle_per_host(4);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_options_set = true;
        self.map(|o| o.pool_max_idle_per_host(max))
    }

    /// Trusts one more root certificate (PEM) besides the built-in roots: a private or
    /// corporate CA (as reqwest's `add_root_certificate`); see
    /// [`ClientOptions::add_root_certificate`].
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) -> std::io::Result<()> {
    /// let pem = std::fs::read("corporate-ca.pem")?;
    /// let builder = builder.add_root_certificate(pem);
    /// # drop(builder);
    /// # Ok(()) }
    /// ```
    pub fn add_root_certificate(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.pool_options_set = true;
        self.map(|o| o.add_root_certificate(pem))
    }

    /// Sends every request through this HTTP proxy, `http://[user:password@]host[:port]`,
    /// instead of the one the environment names (`https://` origins through `CONNECT`,
    /// credentials as `Proxy-Authorization: Basic`, never logged or shown). An invalid URL
    /// fails [`build`](Self::build) with [`crate::ErrorKind::InvalidInput`].
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// let builder = builder.proxy("http://user:pass@proxy.corp:3128");
    /// # drop(builder);
    /// # }
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.pool_options_set = true;
        match ProxyUrl::new(url) {
            Ok(url) => self.map(|o| o.proxy(Proxy::Url(url))),
            Err(error) => {
                self.deferred_error = Some(error);
                self
            }
        }
    }

    /// Uses no proxy at all, whatever `HTTP_PROXY`, `HTTPS_PROXY` or `ALL_PROXY` say.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// let builder = builder.no_proxy();
    /// # drop(builder);
    /// # }
    /// ```
    pub fn no_proxy(mut self) -> Self {
        self.pool_options_set = true;
        self.map(|o| o.proxy(Proxy::None))
    }

    /// All options at once (replacing any set before).
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(builder: presence_proto::ClientBuilder<F>) {
    /// let builder = builder.options(presence_proto::ClientOptions::default());
    /// # drop(builder);
    /// # }
    /// ```
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// Uses an already-built driver instead of building one from the options (its own pool
    /// and connect settings then apply; the request timeout, body cap and retries still do).
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(builder: presence_proto::ClientBuilder<presence_proto::Blocking<D>>, driver: D) {
    /// let builder = builder.driver(presence_proto::Blocking(driver));
    /// # drop(builder);
    /// # }
    /// ```
    pub fn driver(mut self, flavour: F) -> Self {
        self.flavour = Some(flavour);
        self
    }

    /// Validates the options, builds the driver and the client.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>() -> Result<(), presence_proto::Error> {
    /// use presence_proto::{Blocking, Client, Config, ErrorKind};
    /// let err = Client::<Blocking<D>>::builder(Config::builder("k", "u").build()?)
    ///     .request_timeout(std::time::Duration::ZERO)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> Result<Client<F>, Error> {
        if let Some(error) = self.deferred_error {
            return Err(error);
        }
        self.options.validate()?;
        let flavour = match self.flavour {
            Some(_) if self.pool_options_set => {
                return Err(Error::InvalidConfig {
                    field: "driver",
                    reason: "connect and pool options do not apply to a driver supplied with \
                             `driver(..)`; configure that driver itself"
                        .to_owned(),
                });
            }
            Some(flavour) => flavour,
            None => F::connect(&self.options)?,
        };
        Client::from_parts(self.config, self.options, flavour)
    }

    fn map(mut self, f: impl FnOnce(ClientOptions) -> ClientOptions) -> Self {
        self.options = f(self.options);
        self
    }
}
