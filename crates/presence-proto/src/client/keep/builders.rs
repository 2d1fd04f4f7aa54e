//! What to keep present, defined once for every driver: [`KeepPresentBuilder`],
//! [`KeepPresentManyBuilder`] and [`Member`]. Starting them is flavour-specific (see
//! `run_async` / `run_blocking`): a task or a thread.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::client::driver::Flavour;
use crate::client::handle::Client;
use crate::config::Config;
use crate::error::Error;
use crate::session::{PresenceSession, SessionOptions, SessionStart};

/// Default cap on the requests a keep-present driver has in flight at once: 256.
///
/// ```
/// assert_eq!(presence_proto::DEFAULT_MAX_IN_FLIGHT, 256);
/// ```
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// The setters of what a session starts with (channels, groups, state), shared by
/// [`KeepPresentBuilder`] and [`Member`] (both keep a [`SessionStart`] in `self.start`); the
/// arguments make each one's doc examples: the example's opening lines, the expression that
/// makes the builder, its closing lines, and when a bad state is reported.
macro_rules! start_setters {
    ($open:literal, $make:literal, $close:literal, $fails:literal) => {
        #[doc = "Channels to join (added to any given before)."]
        #[doc = ""]
        #[doc = concat!("```\n", $open, "let builder = ", $make, ".channels([\"a\", \"b\"]).channels([\"c\"]);\n# drop(builder);\n", $close, "```")]
        pub fn channels<I, S>(mut self, channels: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.start
                .channels
                .extend(channels.into_iter().map(Into::into));
            self
        }

        #[doc = "Channel groups to join (added to any given before)."]
        #[doc = ""]
        #[doc = concat!("```\n", $open, "let builder = ", $make, ".groups([\"friends\"]);\n# drop(builder);\n", $close, "```")]
        pub fn groups<I, S>(mut self, groups: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.start.groups.extend(groups.into_iter().map(Into::into));
            self
        }

        #[doc = concat!("State carried by every heartbeat for one channel or group. ", $fails)]
        #[doc = ""]
        #[doc = concat!("```\n", $open, "#[derive(serde::Serialize)]\nstruct Mood<'a> { mood: &'a str }\nlet builder = ", $make, ".channels([\"lobby\"]).state(\"lobby\", &Mood { mood: \"happy\" });\n# drop(builder);\n", $close, "```")]
        pub fn state<T: Serialize + ?Sized>(mut self, name: impl Into<String>, state: &T) -> Self {
            self.start.state(name, state);
            self
        }

        #[doc = "An already-built JSON state for one channel or group."]
        #[doc = ""]
        #[doc = concat!("```\n", $open, "let builder = ", $make, ".channels([\"lobby\"]).state_value(\"lobby\", serde_json::json!({\"mood\": \"happy\"}));\n# drop(builder);\n", $close, "```")]
        pub fn state_value(mut self, name: impl Into<String>, state: serde_json::Value) -> Self {
            self.start.state.push((name.into(), state));
            self
        }
    };
}

impl<F> Client<F> {
    /// Starts keeping this client's user present: set channels, groups, state and timing on the
    /// returned builder, then `start` it (a background task for async drivers, a thread for
    /// blocking ones).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let alice = client.keep_present().channels(["lobby"]).presence_timeout(120).start()?;
    /// // … alice stays in `lobby`, a heartbeat every 59 s …
    /// alice.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub fn keep_present(&self) -> KeepPresentBuilder<F> {
        KeepPresentBuilder {
            client: self.clone(),
            config: None,
            start: SessionStart::default(),
            options: SessionOptions::new(),
            jitter_seed: None,
        }
    }

    /// Starts keeping many users present from one driver and one timer: add [`Member`]s to the
    /// handle once it is started. Members' requests share this client's driver, options and
    /// (unless a member brings its own [`Config`]) keyset.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::Member;
    /// let many = client.keep_present_many().presence_timeout(120).start();
    /// for i in 0..1000 {
    ///     many.add(Member::new(format!("user-{i}")).channels(["lobby"]))?;
    /// }
    /// many.shutdown().await; // a thousand leaves
    /// # Ok(()) }
    /// ```
    pub fn keep_present_many(&self) -> KeepPresentManyBuilder<F> {
        KeepPresentManyBuilder {
            client: self.clone(),
            options: SessionOptions::new(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// Builder returned by [`Client::keep_present`]: what to join and how often to heartbeat.
///
/// ```
/// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
/// use presence_proto::SessionOptions;
/// let session = client
///     .keep_present()
///     .channels(["lobby", "kitchen"])
///     .groups(["friends"])
///     .state("lobby", &serde_json::json!({"mood": "happy"}))
///     .options(SessionOptions::new().presence_timeout(60))
///     .start()?;
/// # drop(session);
/// # Ok(()) }
/// ```
#[must_use = "nothing is sent until `start` is called"]
pub struct KeepPresentBuilder<F> {
    pub(crate) client: Client<F>,
    config: Option<Config>,
    start: SessionStart,
    options: SessionOptions,
    jitter_seed: Option<u64>,
}

impl<F> fmt::Debug for KeepPresentBuilder<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepPresentBuilder")
            .field("config", &self.config)
            .field("channels", &self.start.channels)
            .field("groups", &self.start.groups)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<F: Flavour> KeepPresentBuilder<F> {
    start_setters!(
        "# fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {\n",
        "client.keep_present()",
        "# }\n",
        "A value that does not serialise makes `start` fail."
    );

    /// The presence timeout in seconds (default 300, minimum 20); heartbeats follow every
    /// `timeout / 2 − 1` seconds.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.keep_present().channels(["lobby"]).presence_timeout(60);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.options = self.options.presence_timeout(seconds);
        self
    }

    /// All timing options at once (replacing any [`presence_timeout`](Self::presence_timeout)
    /// set before). Their jitter seed is replaced by a random one from the driver unless
    /// [`jitter_seed`](Self::jitter_seed) is set.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// use std::time::Duration;
    /// use presence_proto::SessionOptions;
    /// let options = SessionOptions::new()
    ///     .presence_timeout(60)
    ///     .heartbeat_interval(Duration::from_secs(20))
    ///     .min_backoff(Duration::from_secs(2));
    /// let builder = client.keep_present().channels(["lobby"]).options(options);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// A fixed seed for the retry jitter (default: drawn from the driver), for reproducible
    /// runs.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.keep_present().channels(["lobby"]).jitter_seed(42);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Keeps another user (or keyset, or auth token) present, over this client's driver.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) -> Result<(), presence_proto::Error> {
    /// let bob = client.config().to_builder().user_id("bob").build()?;
    /// let builder = client.keep_present().config(bob).channels(["lobby"]);
    /// # drop(builder);
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The session to run: state first (so the first heartbeat carries it), then the join.
    pub(crate) fn into_session(self) -> Result<(Client<F>, PresenceSession), Error> {
        let config = Arc::new(self.config.unwrap_or_else(|| self.client.config().clone()));
        let options = seeded(&self.client, self.options, self.jitter_seed);
        let session = self.start.into_session(config, options)?;
        Ok((self.client, session))
    }
}

/// The session's seed for retry jitter: the caller's, else one from the driver (the core
/// draws no randomness of its own).
pub(crate) fn seeded<F: Flavour>(
    client: &Client<F>,
    options: SessionOptions,
    jitter_seed: Option<u64>,
) -> SessionOptions {
    let seed = jitter_seed.unwrap_or_else(|| client.driver().environment().random());
    options.jitter_seed(seed)
}

/// Builder returned by [`Client::keep_present_many`]: default timing of the members, and the
/// cap on requests in flight.
///
/// ```
/// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) {
/// let many = client.keep_present_many().presence_timeout(60).max_in_flight(64).start();
/// # drop(many);
/// # }
/// ```
#[derive(Debug)]
#[must_use = "nothing runs until `start` is called"]
pub struct KeepPresentManyBuilder<F> {
    pub(crate) client: Client<F>,
    pub(crate) options: SessionOptions,
    pub(crate) max_in_flight: usize,
}

impl<F> KeepPresentManyBuilder<F> {
    /// Presence timeout in seconds for members without options of their own (default 300).
    ///
    /// ```
    /// # fn demo<F>(client: presence_proto::Client<F>) {
    /// let builder = client.keep_present_many().presence_timeout(60);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.options = self.options.presence_timeout(seconds);
        self
    }

    /// Timing options for members without options of their own (replacing any
    /// [`presence_timeout`](Self::presence_timeout) set before). Each member's jitter seed is
    /// drawn from the driver unless the member sets one.
    ///
    /// ```
    /// # fn demo<F>(client: presence_proto::Client<F>) {
    /// use std::time::Duration;
    /// use presence_proto::SessionOptions;
    /// let options = SessionOptions::new().presence_timeout(20).time_unit(Duration::from_millis(50));
    /// let builder = client.keep_present_many().options(options);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// At most this many requests in flight at once (default [`DEFAULT_MAX_IN_FLIGHT`],
    /// minimum 1). Work that falls due beyond it waits, earliest first, for a free slot.
    ///
    /// ```
    /// # fn demo<F>(client: presence_proto::Client<F>) {
    /// let builder = client.keep_present_many().max_in_flight(32);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests.max(1);
        self
    }
}

/// Who a [`Member`] is.
#[derive(Debug)]
pub(crate) enum Identity {
    UserId(String),
    Config(Config),
}

/// A user to add to a keep-present-many handle: who, where, with what state and timing.
///
/// ```
/// use presence_proto::{Member, SessionOptions};
/// let member = Member::new("user-1")
///     .channels(["lobby"])
///     .groups(["friends"])
///     .state("lobby", &serde_json::json!({"mood": "happy"}))
///     .options(SessionOptions::new().presence_timeout(60));
/// # drop(member);
/// ```
#[derive(Debug)]
#[must_use = "a member does nothing until added"]
pub struct Member {
    pub(crate) identity: Identity,
    pub(crate) start: SessionStart,
    pub(crate) options: Option<SessionOptions>,
    pub(crate) jitter_seed: Option<u64>,
}

impl Member {
    /// A user of the handle's client keyset, with this user id.
    ///
    /// ```
    /// let member = presence_proto::Member::new("user-1").channels(["lobby"]);
    /// # drop(member);
    /// ```
    pub fn new(user_id: impl Into<String>) -> Self {
        Self::with_identity(Identity::UserId(user_id.into()))
    }

    /// A user with a configuration of its own (keyset, user id, auth token).
    ///
    /// ```
    /// use presence_proto::{Config, Member};
    /// let config = Config::builder("sub-c-other", "user-1").auth_token("token-1").build()?;
    /// let member = Member::with_config(config).channels(["lobby"]);
    /// # drop(member);
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn with_config(config: Config) -> Self {
        Self::with_identity(Identity::Config(config))
    }

    fn with_identity(identity: Identity) -> Self {
        Self {
            identity,
            start: SessionStart::default(),
            options: None,
            jitter_seed: None,
        }
    }

    start_setters!(
        "",
        "presence_proto::Member::new(\"user-1\")",
        "",
        "A value that does not serialise makes `add` fail."
    );

    /// Timing of this member (default: the handle's).
    ///
    /// ```
    /// use presence_proto::{Member, SessionOptions};
    /// let member = Member::new("user-1").options(SessionOptions::new().presence_timeout(30));
    /// # drop(member);
    /// ```
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = Some(options);
        self
    }

    /// A fixed retry-jitter seed (default: drawn from the driver).
    ///
    /// ```
    /// let member = presence_proto::Member::new("user-1").jitter_seed(7);
    /// # drop(member);
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }
}
