//! The requests an async keep-present driver has in flight, polled inside its own task (no
//! task per request): each slot has a waker of its own that queues the slot, so a wake polls
//! only the futures that can make progress. Only std: no runtime, no futures crate.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// Slots woken since the last poll, and the driving task's waker.
#[derive(Default)]
struct Woken {
    slots: Mutex<(Vec<usize>, Option<Waker>)>,
}

impl Woken {
    fn push(&self, slot: usize) {
        let waker = {
            let mut state = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            state.0.push(slot);
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Wakes one slot.
struct SlotWaker {
    slot: usize,
    woken: Arc<Woken>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.woken.push(self.slot);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.push(self.slot);
    }
}

/// A set of futures polled by the task that owns it.
pub(crate) struct InFlight<F> {
    slots: Vec<Option<Pin<Box<F>>>>,
    wakers: Vec<Waker>,
    free: Vec<usize>,
    woken: Arc<Woken>,
    len: usize,
}

impl<F: Future> InFlight<F> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            wakers: Vec::new(),
            free: Vec::new(),
            woken: Arc::new(Woken::default()),
            len: 0,
        }
    }

    /// Adds a future; it is first polled by the next [`Self::poll_next`].
    pub(crate) fn push(&mut self, future: F) {
        let slot = self.free.pop().unwrap_or_else(|| {
            let slot = self.slots.len();
            self.slots.push(None);
            self.wakers.push(Waker::from(Arc::new(SlotWaker {
                slot,
                woken: Arc::clone(&self.woken),
            })));
            slot
        });
        if let Some(place) = self.slots.get_mut(slot) {
            *place = Some(Box::pin(future));
        }
        self.len += 1;
        self.woken.push(slot);
    }

    /// The output of a future that completed, if any; `Pending` (with the task's waker
    /// registered) otherwise, and also when the set is empty.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<F::Output> {
        loop {
            let batch = {
                let mut state = self
                    .woken
                    .slots
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if state.0.is_empty() {
                    state.1 = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                std::mem::take(&mut state.0)
            };
            let mut done = None;
            for (i, slot) in batch.iter().copied().enumerate() {
                let (Some(place), Some(waker)) = (self.slots.get_mut(slot), self.wakers.get(slot))
                else {
                    continue;
                };
                let Some(future) = place.as_mut() else {
                    continue; // woken after it completed
                };
                let mut slot_cx = Context::from_waker(waker);
                if let Poll::Ready(output) = future.as_mut().poll(&mut slot_cx) {
                    *place = None;
                    self.free.push(slot);
                    self.len -= 1;
                    // The rest of the batch is looked at on the next call.
                    let rest: Vec<usize> = batch.get(i + 1..).unwrap_or_default().to_vec();
                    if !rest.is_empty() {
                        let mut state = self
                            .woken
                            .slots
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner);
                        state.0.extend(rest);
                    }
                    done = Some(output);
                    break;
                }
            }
            if let Some(output) = done {
                return Poll::Ready(output);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use std::future::ready;
    use std::task::{Context, Poll, Waker};

    use super::InFlight;

    #[test]
    fn completed_futures_come_out_and_slots_are_reused() {
        let mut set = InFlight::new();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(set.poll_next(&mut cx).is_pending(), "empty");
        for i in 0..3 {
            set.push(ready(i));
        }
        let mut out = Vec::new();
        while let Poll::Ready(v) = set.poll_next(&mut cx) {
            out.push(v);
        }
        out.sort_unstable();
        assert_eq!(out, [0, 1, 2]);
        assert_eq!(set.len(), 0);
        set.push(ready(7));
        assert_eq!(set.poll_next(&mut cx), Poll::Ready(7));
        assert_eq!(set.slots.len(), 3, "slots reused, not grown");
    }
}
