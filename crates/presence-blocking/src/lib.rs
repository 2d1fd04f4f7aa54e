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

pub use driver::Ureq;
pub use presence_proto as proto;
pub use presence_proto::Blocking;
pub use presence_proto::prelude::*;

presence_proto::driver_aliases!(Blocking<Ureq>, "presence_blocking");
