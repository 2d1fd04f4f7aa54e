//! Both adapters behind one trait, so that an end-to-end test is written once, as plain
//! synchronous code, and run through each: [`Tokio`] (`presence_tokio`: every wait is
//! `block_on` on a multi-thread runtime the adapter owns) and [`Blocking`]
//! (`presence_blocking`: every wait is the handle's own).
//!
//! Clients, call builders and keep-present handles are the same generic core types
//! (`presence_proto::Client<F>`, `Call<F, O>`, `KeepPresent<F>`, `KeepPresentMany<F>`) for
//! both; only starting a handle and waiting (for a call, an event or a shutdown) differs, and
//! that is all this trait covers.
//!
//! Shared by `tests/client.rs`, `tests/keep_present.rs` and `tests/watch.rs` (through
//! `#[path]`); not every user calls every item.
#![allow(dead_code)]

use std::future::IntoFuture as _;
use std::time::Duration;

use presence_proto::{
    Call, Client, Config, Error, Flavour, KeepPresent, KeepPresentBuilder, KeepPresentMany,
    KeepPresentManyBuilder, Operation, SessionEvent, SessionId, WatchBuilder, WatchHandle,
    WatchKind,
};

/// A value that may differ per adapter (e.g. what dropping a keep-present handle does).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PerAdapter<T> {
    /// For `presence_tokio`.
    pub(crate) tokio: T,
    /// For `presence_blocking`.
    pub(crate) blocking: T,
}

impl<T: Clone> PerAdapter<T> {
    /// The same value for both adapters.
    pub(crate) fn same(value: T) -> Self {
        Self {
            tokio: value.clone(),
            blocking: value,
        }
    }
}

/// One adapter: how to start keep-present handles and how to wait, everything else being the
/// shared core API.
pub(crate) trait Adapter: Sync + Sized + 'static {
    /// The client's flavour: `Async<Hyper>` or `Blocking<Ureq>`.
    type Flavour: Flavour;
    /// For messages: `"tokio"` or `"blocking"`.
    const NAME: &'static str;

    /// Runs `body` with a fresh adapter (tokio: a fresh runtime, entered on this thread so
    /// that keep-present handles can spawn their task).
    fn run<R>(body: impl FnOnce(&Self) -> R) -> R;

    /// This adapter's value of `per`.
    fn pick<T>(per: &PerAdapter<T>) -> &T;

    /// Sends a call built with the fluent builders (tokio: awaits it; blocking: `.call()`).
    fn call<'a, O>(&self, call: Call<'a, Self::Flavour, O>) -> Result<O::Output, Error>
    where
        O: Operation + Send + Sync + 'a,
        O::Output: Send;

    /// `Client::execute`.
    fn execute<O: Operation>(
        &self,
        client: &Client<Self::Flavour>,
        op: &O,
    ) -> Result<O::Output, Error>;

    /// `Client::execute_with`.
    fn execute_with<O: Operation>(
        &self,
        client: &Client<Self::Flavour>,
        config: &Config,
        op: &O,
    ) -> Result<O::Output, Error>;

    /// `KeepPresentBuilder::start`.
    fn start(
        &self,
        builder: KeepPresentBuilder<Self::Flavour>,
    ) -> Result<KeepPresent<Self::Flavour>, Error>;

    /// `KeepPresentManyBuilder::start`.
    fn start_many(
        &self,
        builder: KeepPresentManyBuilder<Self::Flavour>,
    ) -> KeepPresentMany<Self::Flavour>;

    /// The next event; `None` once the session ended and every event was read.
    fn next_event(&self, session: &mut KeepPresent<Self::Flavour>) -> Option<SessionEvent>;

    /// The next event within `within`; `None` on time out or at the end (tell them apart with
    /// `is_finished`).
    fn next_event_timeout(
        &self,
        session: &mut KeepPresent<Self::Flavour>,
        within: Duration,
    ) -> Option<SessionEvent>;

    /// `KeepPresent::shutdown`.
    fn shutdown(&self, session: KeepPresent<Self::Flavour>) -> Result<(), Error>;

    /// The next event of any user within `within`; `None` on time out or at the end.
    fn many_next_event_timeout(
        &self,
        many: &mut KeepPresentMany<Self::Flavour>,
        within: Duration,
    ) -> Option<(SessionId, SessionEvent)>;

    /// `KeepPresentMany::shutdown`.
    fn many_shutdown(&self, many: KeepPresentMany<Self::Flavour>);

    /// Tasks alive on the adapter's runtime (tokio); `None` for the blocking adapter, which
    /// has no runtime to ask.
    fn alive_tasks(&self) -> Option<usize>;

    /// `WatchBuilder::start` (a watch, or with `RosterItem` a live roster).
    fn start_watch<I: WatchKind>(
        &self,
        builder: WatchBuilder<Self::Flavour, I>,
    ) -> Result<WatchHandle<Self::Flavour, I>, Error>;

    /// The next item within `within`; `None` on time out or at the end.
    fn next_item<I: WatchKind>(
        &self,
        watch: &mut WatchHandle<Self::Flavour, I>,
        within: Duration,
    ) -> Option<I>;

    /// `WatchHandle::shutdown`.
    fn watch_shutdown<I: WatchKind>(
        &self,
        watch: WatchHandle<Self::Flavour, I>,
    ) -> Result<(), Error>;
}

// ---------------------------------------------------------------------------------------------
// presence_tokio.

/// `presence_tokio`, on a two-worker multi-thread runtime of its own.
pub(crate) struct Tokio {
    runtime: tokio::runtime::Runtime,
}

impl Tokio {
    /// The runtime, for the tokio-only tests.
    pub(crate) fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

impl Adapter for Tokio {
    type Flavour = presence_tokio::Async<presence_tokio::Hyper>;
    const NAME: &'static str = "tokio";

    fn run<R>(body: impl FnOnce(&Self) -> R) -> R {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let adapter = Self { runtime };
        let _entered = adapter.runtime.enter();
        body(&adapter)
    }

    fn pick<T>(per: &PerAdapter<T>) -> &T {
        &per.tokio
    }

    fn call<'a, O>(&self, call: Call<'a, Self::Flavour, O>) -> Result<O::Output, Error>
    where
        O: Operation + Send + Sync + 'a,
        O::Output: Send,
    {
        self.block_on(call.into_future())
    }

    fn execute<O: Operation>(
        &self,
        client: &Client<Self::Flavour>,
        op: &O,
    ) -> Result<O::Output, Error> {
        self.block_on(client.execute(op))
    }

    fn execute_with<O: Operation>(
        &self,
        client: &Client<Self::Flavour>,
        config: &Config,
        op: &O,
    ) -> Result<O::Output, Error> {
        self.block_on(client.execute_with(config, op))
    }

    fn start(
        &self,
        builder: KeepPresentBuilder<Self::Flavour>,
    ) -> Result<KeepPresent<Self::Flavour>, Error> {
        let _entered = self.runtime.enter();
        builder.start()
    }

    fn start_many(
        &self,
        builder: KeepPresentManyBuilder<Self::Flavour>,
    ) -> KeepPresentMany<Self::Flavour> {
        let _entered = self.runtime.enter();
        builder.start()
    }

    fn next_event(&self, session: &mut KeepPresent<Self::Flavour>) -> Option<SessionEvent> {
        self.block_on(session.next_event())
    }

    fn next_event_timeout(
        &self,
        session: &mut KeepPresent<Self::Flavour>,
        within: Duration,
    ) -> Option<SessionEvent> {
        // The timer is made inside the runtime: callers may be on any thread.
        self.block_on(async { tokio::time::timeout(within, session.next_event()).await })
            .ok()
            .flatten()
    }

    fn shutdown(&self, session: KeepPresent<Self::Flavour>) -> Result<(), Error> {
        self.block_on(session.shutdown())
    }

    fn many_next_event_timeout(
        &self,
        many: &mut KeepPresentMany<Self::Flavour>,
        within: Duration,
    ) -> Option<(SessionId, SessionEvent)> {
        self.block_on(async { tokio::time::timeout(within, many.next_event()).await })
            .ok()
            .flatten()
    }

    fn many_shutdown(&self, many: KeepPresentMany<Self::Flavour>) {
        self.block_on(many.shutdown());
    }

    fn alive_tasks(&self) -> Option<usize> {
        Some(self.runtime.metrics().num_alive_tasks())
    }

    fn start_watch<I: WatchKind>(
        &self,
        builder: WatchBuilder<Self::Flavour, I>,
    ) -> Result<WatchHandle<Self::Flavour, I>, Error> {
        let _entered = self.runtime.enter();
        builder.start()
    }

    fn next_item<I: WatchKind>(
        &self,
        watch: &mut WatchHandle<Self::Flavour, I>,
        within: Duration,
    ) -> Option<I> {
        self.block_on(async { tokio::time::timeout(within, watch.next_item()).await })
            .ok()
            .flatten()
    }

    fn watch_shutdown<I: WatchKind>(
        &self,
        watch: WatchHandle<Self::Flavour, I>,
    ) -> Result<(), Error> {
        self.block_on(watch.shutdown())
    }
}

// ---------------------------------------------------------------------------------------------
// presence_blocking.

/// `presence_blocking`: nothing to own.
pub(crate) struct Blocking;

impl Adapter for Blocking {
    type Flavour = presence_blocking::Blocking<presence_blocking::Ureq>;
    const NAME: &'static str = "blocking";

    fn run<R>(body: impl FnOnce(&Self) -> R) -> R {
        body(&Self)
    }

    fn pick<T>(per: &PerAdapter<T>) -> &T {
        &per.blocking
    }

    fn call<'a, O>(&self, call: Call<'a, Self::Flavour, O>) -> Result<O::Output, Error>
    where
        O: Operation + Send + Sync + 'a,
        O::Output: Send,
    {
        call.call()
    }

    fn execute<O: Operation>(
        &self,
        client: &Client<Self::Flavour>,
        op: &O,
    ) -> Result<O::Output, Error> {
        client.execute(op)
    }

    fn execute_with<O: Operation>(
        &self,
        client: &Client<Self::Flavour>,
        config: &Config,
        op: &O,
    ) -> Result<O::Output, Error> {
        client.execute_with(config, op)
    }

    fn start(
        &self,
        builder: KeepPresentBuilder<Self::Flavour>,
    ) -> Result<KeepPresent<Self::Flavour>, Error> {
        builder.start()
    }

    fn start_many(
        &self,
        builder: KeepPresentManyBuilder<Self::Flavour>,
    ) -> KeepPresentMany<Self::Flavour> {
        builder.start()
    }

    fn next_event(&self, session: &mut KeepPresent<Self::Flavour>) -> Option<SessionEvent> {
        session.next_event()
    }

    fn next_event_timeout(
        &self,
        session: &mut KeepPresent<Self::Flavour>,
        within: Duration,
    ) -> Option<SessionEvent> {
        session.next_event_timeout(within)
    }

    fn shutdown(&self, session: KeepPresent<Self::Flavour>) -> Result<(), Error> {
        session.shutdown()
    }

    fn many_next_event_timeout(
        &self,
        many: &mut KeepPresentMany<Self::Flavour>,
        within: Duration,
    ) -> Option<(SessionId, SessionEvent)> {
        many.next_event_timeout(within)
    }

    fn many_shutdown(&self, many: KeepPresentMany<Self::Flavour>) {
        many.shutdown();
    }

    fn alive_tasks(&self) -> Option<usize> {
        None
    }

    fn start_watch<I: WatchKind>(
        &self,
        builder: WatchBuilder<Self::Flavour, I>,
    ) -> Result<WatchHandle<Self::Flavour, I>, Error> {
        builder.start()
    }

    fn next_item<I: WatchKind>(
        &self,
        watch: &mut WatchHandle<Self::Flavour, I>,
        within: Duration,
    ) -> Option<I> {
        watch.next_item_timeout(within)
    }

    fn watch_shutdown<I: WatchKind>(
        &self,
        watch: WatchHandle<Self::Flavour, I>,
    ) -> Result<(), Error> {
        watch.shutdown()
    }
}
