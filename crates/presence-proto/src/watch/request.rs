//! [`WatchRequest`]: what a watch asks its driver to send.

use crate::config::Config;
use crate::error::Error;
use crate::events::SubscribeReply;
use crate::ops::Operation;
use crate::ops::heartbeat::Heartbeat;
use crate::ops::leave::Leave;
use crate::ops::subscribe::Subscribe;
use crate::stamp::Stamp;

/// A request from a [`Watch`](super::Watch): send it like any [`Operation`] and hand the
/// result back with the [`WatchToken`](super::WatchToken) it came with.
///
/// ```
/// # fn demo(request: presence_proto::WatchRequest) {
/// use presence_proto::WatchRequest;
/// match &request {
///     WatchRequest::Subscribe(poll) => println!("poll from {:?}", poll.current_cursor()),
///     WatchRequest::Leave(_) => println!("leaving"),
///     WatchRequest::Heartbeat(_) => println!("staying present"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum WatchRequest {
    /// The long-poll (or its handshake).
    Subscribe(Subscribe),
    /// The leave sent when a present-mode watch stops or drops names.
    Leave(Leave),
    /// A heartbeat keeping a present-mode watcher present between long-polls.
    Heartbeat(Heartbeat),
}

impl Operation for WatchRequest {
    /// The reply of a subscribe; `None` for a leave.
    type Output = Option<SubscribeReply>;
    const NAME: &'static str = "watch";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        match self {
            Self::Subscribe(op) => op.to_request(config, stamp),
            Self::Leave(op) => op.to_request(config, stamp),
            Self::Heartbeat(op) => op.to_request(config, stamp),
        }
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<Self::Output, Error> {
        match self {
            Self::Subscribe(op) => op.parse(response).map(Some),
            Self::Leave(op) => op.parse(response).map(|_| None),
            Self::Heartbeat(op) => op.parse(response).map(|()| None),
        }
    }

    fn timeout(&self, client_timeout: std::time::Duration) -> std::time::Duration {
        match self {
            Self::Subscribe(op) => op.timeout(client_timeout),
            Self::Leave(op) => op.timeout(client_timeout),
            Self::Heartbeat(op) => op.timeout(client_timeout),
        }
    }
}
