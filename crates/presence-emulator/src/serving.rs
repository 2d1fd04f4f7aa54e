//! What serving one request yields — a reply at once or later, or a dropped connection — in a
//! file of its own, so that the service and the long-poll both use it without importing
//! each other.

use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

use crate::body::EmuBody;

/// The service error that makes hyper close the connection without a response.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a fault rule")]
pub(crate) struct Dropped;

pub(crate) type Outcome = Result<Response<EmuBody>, Dropped>;

/// The future of one request: usually already answered.
pub(crate) enum Serving {
    Ready(Ready<Outcome>),
    Later(Pin<Box<dyn Future<Output = Outcome> + Send>>),
}

impl Future for Serving {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        match self.get_mut() {
            Serving::Ready(r) => Pin::new(r).poll(cx),
            Serving::Later(f) => f.as_mut().poll(cx),
        }
    }
}
