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
    steps: VecDeque<Step>,
    sleep: Option<Pin<Box<Sleep>>>,
    declared_len: u64,
}

impl EmuBody {
    /// A plain body sending `bytes` at once.
    pub(crate) fn full(bytes: Bytes) -> Self {
        let declared_len = bytes.len() as u64;
        let mut steps = VecDeque::with_capacity(1);
        if !bytes.is_empty() {
            steps.push_back(Step::Data(bytes));
        }
        Self {
            steps,
            sleep: None,
            declared_len,
        }
    }

    /// A scripted body announcing `declared_len` bytes.
    pub(crate) fn scripted(steps: Vec<Step>, declared_len: u64) -> Self {
        Self {
            steps: steps.into(),
            sleep: None,
            declared_len,
        }
    }
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
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
        self.steps.is_empty() && self.sleep.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.declared_len)
    }
}
