#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod builder;
mod builders;
mod client;
pub mod keep_present;
mod stamp;
mod transport;

pub use presence_proto as proto;
pub use presence_proto::{
    ApiError, ChannelState, Config, ConfigBuilder, Error, ErrorKind, GetStateResult, GroupChannels,
    HereNowChannel, HereNowResult, HereNowUser, Operation, RetryPolicy, SetStateResult,
    WhereNowResult,
};

pub use builder::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_POOL_IDLE_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
};
pub use builders::{
    AddChannelsToGroupBuilder, DeleteGroupBuilder, GetStateBuilder, HeartbeatBuilder,
    HereNowBuilder, LeaveBuilder, ListGroupChannelsBuilder, RemoveChannelsFromGroupBuilder,
    RequestBuilder, SetStateBuilder, WhereNowBuilder,
};
pub use client::Client;
pub use keep_present::{
    DEFAULT_MAX_IN_FLIGHT, KeepPresent, KeepPresentBuilder, KeepPresentMany,
    KeepPresentManyBuilder, Member, SessionEvent, SessionId, SessionOptions,
};
