//! Watching presence events through a [`Client`](crate::Client): the builder, the handle and
//! the two short runners around the core's [`Watch`](crate::Watch) machine.

mod builder;
mod handle;
mod kind;
mod run_async;
mod run_blocking;

pub use builder::WatchBuilder;
pub use handle::{WatchHandle, WatchStopper};
pub use kind::{WatchCommand, WatchKind};
pub use run_blocking::WatchItems;
