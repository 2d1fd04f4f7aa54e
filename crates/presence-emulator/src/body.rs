//! The response body type: a list of steps (send bytes, pause, abort) so that faults can
//! stall or cut a body mid-way while the `Content-Length` still announces all of it.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// One step of a scripted body.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send these bytes.
    Data(Bytes),
    /// Wait this long (real time) before the next step.
    Pause(Duration),
    /// Fail the body, which makes hyper close the connection.
    Abort,
}

/// A response body that plays its [`Step`]s in order and announces `declared_len` bytes.
pub(crate) struct EmuBody {
    /// A plain body's bytes (kept out of `steps` so that it needs no allocation).
    whole: Option<Bytes>,
    steps: VecDeque<Step>,
    sleep: Option<Pin<Box<Sleep>>>,
    declared_len: u64,
}

impl EmuBody {
    /// A plain body sending `bytes` at once.
    pub(crate) fn full(bytes: Bytes) -> Self {
        Self {
            declared_len: bytes.len() as u64,
            whole: (!bytes.is_empty()).then_some(bytes),
            steps: VecDeque::new(),
            sleep: None,
        }
    }

    /// A scripted body announcing `declared_len` bytes.
    pub(crate) fn scripted(steps: Vec<Step>, declared_len: u64) -> Self {
        Self {
            whole: None,
            steps: steps.into(),
            sleep: None,
            declared_len,
        }
    }
}

impl EmuBody {
    /// The length announced in `Content-Length`.
    pub(crate) fn declared_len(&self) -> u64 {
        self.declared_len
    }
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Some(bytes) = self.whole.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        loop {
            if let Some(sleep) = self.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleep = None;
            }
            match self.steps.pop_front() {
                None => return Poll::Ready(None),
                Some(Step::Data(bytes)) => return Poll::Ready(Some(Ok(Frame::data(bytes)))),
                Some(Step::Pause(d)) => self.sleep = Some(Box::pin(tokio::time::sleep(d))),
                Some(Step::Abort) => {
                    return Poll::Ready(Some(Err(io::Error::other(
                        "emulator fault: body cut short",
                    ))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.whole.is_none() && self.steps.is_empty() && self.sleep.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.declared_len)
    }
}
