//! The names an adapter gives the client's types for its driver, defined once: an adapter's
//! `lib.rs` says `presence_proto::driver_aliases!(Async<Hyper>, "presence_tokio");` and gets
//! `Client`, `ClientBuilder`, `KeepPresent`, … with their docs.

/// Declares an adapter's type aliases for one flavour (`Async<D>` or `Blocking<D>`), with docs
/// naming the adapter crate. Used by `presence-tokio` and `presence-blocking`; a custom driver
/// crate can use it too.
///
/// ```
/// mod my_adapter {
///     # use std::time::{Duration, Instant};
///     # use presence_proto::{BlockingDriver, ClientOptions, Environment, Error, Limits, SendError};
///     # pub struct Tcp;
///     # impl Environment for Tcp {
///     #     fn now(&self) -> Instant { Instant::now() }
///     #     fn unix_time(&self) -> u64 { 0 }
///     #     fn random(&self) -> u64 { 0 }
///     # }
///     # impl BlockingDriver for Tcp {
///     #     type Body = Vec<u8>;
///     #     fn connect(_: &ClientOptions) -> Result<Self, Error> { Ok(Tcp) }
///     #     fn send(&self, _: http::Request<Vec<u8>>, _: Limits) -> Result<http::Response<Vec<u8>>, SendError> { unimplemented!() }
///     #     fn sleep(&self, d: Duration) { std::thread::sleep(d) }
///     #     fn spawn(&self, job: Box<dyn FnOnce() + Send>) { std::thread::spawn(job); }
///     # }
///     use presence_proto::Blocking;
///     presence_proto::driver_aliases!(Blocking<Tcp>, "my_adapter");
/// }
/// let config = presence_proto::Config::builder("demo", "alice").build()?;
/// let client: my_adapter::Client = my_adapter::Client::new(config)?;
/// # drop(client);
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[macro_export]
macro_rules! driver_aliases {
    ($flavour:ty, $krate:literal) => {
        #[doc = concat!("The client of `", $krate, "`: every call builder, options, retries, keep-present and watch. See [`presence_proto::Client`].")]
        ///
        #[doc = concat!("```\n", "# fn demo() -> Result<(), ", $krate, "::Error> {\n", "let client = ", $krate, "::Client::new(", $krate, "::Config::builder(\"sub-c-demo\", \"alice\").build()?)?;\n", "let pending = client.here_now().channels([\"lobby\"]);\n", "# drop(pending);\n", "# Ok(()) }\n", "```\n")]
        pub type Client = $crate::Client<$flavour>;
        #[doc = concat!("Builder of a [`Client`] of `", $krate, "` (timeouts, retries, pool, TLS roots, proxy). See [`presence_proto::ClientBuilder`].")]
        ///
        #[doc = concat!("```\n", "# fn demo() -> Result<(), ", $krate, "::Error> {\n", "let client = ", $krate, "::Client::new(", $krate, "::Config::builder(\"sub-c-demo\", \"alice\").build()?)?;\n", "let builder: ", $krate, "::ClientBuilder = ", $krate, "::Client::builder(client.config().clone());\n", "let other = builder.request_timeout(std::time::Duration::from_secs(5)).build()?;\n", "# drop(other);\n", "# Ok(()) }\n", "```\n")]
        pub type ClientBuilder = $crate::ClientBuilder<$flavour>;
        #[doc = concat!("One user kept present in the background by `", $krate, "`. See [`presence_proto::KeepPresent`].")]
        ///
        #[doc = concat!("```\n", "# fn demo() -> Result<(), ", $krate, "::Error> {\n", "let client = ", $krate, "::Client::new(", $krate, "::Config::builder(\"sub-c-demo\", \"alice\").build()?)?;\n", "let builder: ", $krate, "::KeepPresentBuilder = client.keep_present().channels([\"lobby\"]);\n", "// `builder.start()` gives a `KeepPresent`.\n", "# drop(builder);\n", "# Ok(()) }\n", "```\n")]
        pub type KeepPresent = $crate::KeepPresent<$flavour>;
        #[doc = concat!("Builder of a [`KeepPresent`] of `", $krate, "`. See [`presence_proto::KeepPresentBuilder`].")]
        ///
        #[doc = concat!("```\n", "# fn demo() -> Result<(), ", $krate, "::Error> {\n", "let client = ", $krate, "::Client::new(", $krate, "::Config::builder(\"sub-c-demo\", \"alice\").build()?)?;\n", "let builder: ", $krate, "::KeepPresentBuilder = client.keep_present().presence_timeout(120);\n", "# drop(builder);\n", "# Ok(()) }\n", "```\n")]
        pub type KeepPresentBuilder = $crate::KeepPresentBuilder<$flavour>;
        #[doc = concat!("Many users kept present by one background driver of `", $krate, "`. See [`presence_proto::KeepPresentMany`].")]
        ///
        #[doc = concat!("```\n", "# fn demo() -> Result<(), ", $krate, "::Error> {\n", "let client = ", $krate, "::Client::new(", $krate, "::Config::builder(\"sub-c-demo\", \"alice\").build()?)?;\n", "let builder: ", $krate, "::KeepPresentManyBuilder = client.keep_present_many();\n", "// `builder.start()` gives a `KeepPresentMany`.\n", "# drop(builder);\n", "# Ok(()) }\n", "```\n")]
        pub type KeepPresentMany = $crate::KeepPresentMany<$flavour>;
        #[doc = concat!("Builder of a [`KeepPresentMany`] of `", $krate, "`. See [`presence_proto::KeepPresentManyBuilder`].")]
        ///
        #[doc = concat!("```\n", "# fn demo() -> Result<(), ", $krate, "::Error> {\n", "let client = ", $krate, "::Client::new(", $krate, "::Config::builder(\"sub-c-demo\", \"alice\").build()?)?;\n", "let builder: ", $krate, "::KeepPresentManyBuilder = client.keep_present_many().max_in_flight(64);\n", "# drop(builder);\n", "# Ok(()) }\n", "```\n")]
        pub type KeepPresentManyBuilder = $crate::KeepPresentManyBuilder<$flavour>;
        #[doc = concat!("A running presence-event watch of `", $krate, "` (or, with `RosterItem`, a live roster). See [`presence_proto::WatchHandle`].")]
        ///
        #[doc = concat!("```\n", "# fn demo() -> Result<(), ", $krate, "::Error> {\n", "let client = ", $krate, "::Client::new(", $krate, "::Config::builder(\"sub-c-demo\", \"alice\").build()?)?;\n", "let builder = client.watch().channels([\"lobby\"]).observe(true);\n", "// `builder.start()` gives a `WatchHandle`.\n", "# drop(builder);\n", "# Ok(()) }\n", "```\n")]
        pub type WatchHandle<I = $crate::WatchItem> = $crate::WatchHandle<$flavour, I>;
    };
}
