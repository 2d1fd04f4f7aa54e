#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod driver;
#[cfg(any(feature = "rustls", feature = "native-roots"))]
mod tls;
mod transport;

pub use driver::Hyper;
pub use presence_proto as proto;
pub use presence_proto::Async;
pub use presence_proto::prelude::*;

presence_proto::driver_aliases!(Async<Hyper>, "presence_tokio");
