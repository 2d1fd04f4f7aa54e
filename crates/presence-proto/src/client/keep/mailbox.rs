//! A small unbounded queue between handles and their background driver, usable from async
//! code (a waker) and from blocking code (a condition variable) alike, so one handle type
//! serves every driver. Only std synchronisation: no runtime, no I/O.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

struct State<T> {
    queue: VecDeque<T>,
    /// No more items will be pushed (the producer ended) or wanted (the consumer ended).
    closed: bool,
    waker: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

/// Both ends of one queue (cheap to clone).
pub(crate) struct Mailbox<T>(Arc<Shared<T>>);

impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

/// What a blocking receive got.
pub(crate) enum Received<T> {
    Item(T),
    Closed,
    TimedOut,
}

impl<T> Mailbox<T> {
    pub(crate) fn new() -> Self {
        Self(Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                closed: false,
                waker: None,
            }),
            ready: Condvar::new(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.0
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `item`; `false` (dropping it) once the queue is closed.
    pub(crate) fn push(&self, item: T) -> bool {
        let waker = {
            let mut state = self.lock();
            if state.closed {
                return false;
            }
            state.queue.push_back(item);
            state.waker.take()
        };
        self.0.ready.notify_one();
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Closes the queue: nothing more is accepted; items already queued can still be read.
    pub(crate) fn close(&self) {
        let waker = {
            let mut state = self.lock();
            state.closed = true;
            state.waker.take()
        };
        self.0.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Closes the queue and drops what it holds (the consumer has gone).
    pub(crate) fn close_and_clear(&self) {
        let dropped = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.queue)
        };
        drop(dropped);
    }

    /// The next item, without waiting; `None` when empty (open or closed).
    pub(crate) fn try_recv(&self) -> Option<T> {
        self.lock().queue.pop_front()
    }

    /// The next item, `Ready(None)` once closed and drained. One consumer at a time.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.lock();
        if let Some(item) = state.queue.pop_front() {
            return Poll::Ready(Some(item));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next item, waiting on this thread until `deadline` (on the driver's clock, `now`)
    /// if given.
    pub(crate) fn recv_blocking(
        &self,
        deadline: Option<Instant>,
        now: &dyn Fn() -> Instant,
    ) -> Received<T> {
        let mut state = self.lock();
        loop {
            if let Some(item) = state.queue.pop_front() {
                return Received::Item(item);
            }
            if state.closed {
                return Received::Closed;
            }
            state = match deadline {
                None => self
                    .0
                    .ready
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(now());
                    if left.is_zero() {
                        return Received::TimedOut;
                    }
                    self.0
                        .ready
                        .wait_timeout(state, left)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}
