//! Keeping users present through a [`Client`](crate::Client): builders, handles, the driver
//! machine and the two short runners (a task for async drivers, a thread for blocking ones).

mod builders;
mod handles;
mod in_flight;
mod machine;
pub(crate) mod mailbox;
mod run_async;
mod run_blocking;

pub use builders::{DEFAULT_MAX_IN_FLIGHT, KeepPresentBuilder, KeepPresentManyBuilder, Member};
pub use handles::{KeepPresent, KeepPresentMany};
