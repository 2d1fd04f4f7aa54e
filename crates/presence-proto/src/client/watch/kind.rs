//! [`WatchKind`]: what a watch handle yields — plain watch items, or a live roster's — and
//! the machine behind each, so one builder, one handle and one runner per flavour serve both.

use std::any::Any;
use std::time::Instant;

use crate::error::Error;
use crate::ops::Operation;
use crate::watch::{
    LiveRoster, RosterItem, RosterReply, RosterRequest, Watch, WatchItem, WatchOptions,
    WatchRequest, WatchToken,
};

/// A command for a running watch, as its handle queues it to the driver.
///
/// ```
/// let command = presence_proto::WatchCommand::Add(vec!["lobby".into()], vec![]);
/// # drop(command);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchCommand {
    /// Watch more channels and groups.
    Add(Vec<String>, Vec<String>),
    /// Stop watching channels and groups.
    Remove(Vec<String>, Vec<String>),
    /// Set the state the polls carry for one channel or group.
    SetState(String, serde_json::Value),
    /// Stop the watch.
    Stop,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::watch::WatchItem {}
    impl Sealed for crate::watch::RosterItem {}
}

/// The items a [`WatchHandle`](super::WatchHandle) yields: [`WatchItem`] (a plain watch, from
/// [`Client::watch`](crate::Client::watch)) or [`RosterItem`] (a live roster, from
/// [`Client::roster`](crate::Client::roster)). Sealed: implemented for those two only.
///
/// ```
/// fn yields<I: presence_proto::WatchKind>() {}
/// yields::<presence_proto::WatchItem>();
/// yields::<presence_proto::RosterItem>();
/// ```
pub trait WatchKind: sealed::Sealed + Sized + Send + 'static {
    #[doc(hidden)]
    type Machine: Send + 'static;
    #[doc(hidden)]
    type Request: Operation<Output = Self::Reply> + Send + Sync + 'static;
    #[doc(hidden)]
    type Reply: Send + 'static;

    #[doc(hidden)]
    fn machine(options: WatchOptions) -> Self::Machine;
    #[doc(hidden)]
    fn command(machine: &mut Self::Machine, command: WatchCommand);
    #[doc(hidden)]
    fn poll_transmit(
        machine: &mut Self::Machine,
        now: Instant,
    ) -> Option<(WatchToken, Self::Request)>;
    /// Whether `request` is a long-poll that supersedes the one in flight.
    #[doc(hidden)]
    fn is_poll(request: &Self::Request) -> bool;
    #[doc(hidden)]
    fn handle_response(
        machine: &mut Self::Machine,
        token: WatchToken,
        result: Result<Box<dyn Any + Send>, Error>,
        now: Instant,
    );
    #[doc(hidden)]
    fn poll_item(machine: &mut Self::Machine) -> Option<Self>;
    #[doc(hidden)]
    fn poll_timeout(machine: &Self::Machine) -> Option<Instant>;
    #[doc(hidden)]
    fn is_stopped(machine: &Self::Machine) -> bool;
    /// The error an item reports about the watch's end (a failed leave, a fatal error).
    #[doc(hidden)]
    fn failure(self) -> Option<Error>;
}

/// The typed reply out of the runner's type-erased one.
fn typed<R: 'static>(result: Result<Box<dyn Any + Send>, Error>) -> Result<R, Error> {
    result.and_then(|reply| {
        reply
            .downcast::<R>()
            .map(|reply| *reply)
            .map_err(|_| Error::Closed)
    })
}

impl WatchKind for WatchItem {
    type Machine = Watch;
    type Request = WatchRequest;
    type Reply = <WatchRequest as Operation>::Output;

    fn machine(options: WatchOptions) -> Watch {
        Watch::new(options)
    }

    fn command(machine: &mut Watch, command: WatchCommand) {
        match command {
            WatchCommand::Add(channels, groups) => machine.add(channels, groups),
            WatchCommand::Remove(channels, groups) => machine.remove(channels, groups),
            WatchCommand::SetState(name, value) => machine.set_state_value(name, value),
            WatchCommand::Stop => machine.stop(),
        }
    }

    fn poll_transmit(machine: &mut Watch, now: Instant) -> Option<(WatchToken, WatchRequest)> {
        machine.poll_transmit(now)
    }

    fn is_poll(request: &WatchRequest) -> bool {
        matches!(request, WatchRequest::Subscribe(_))
    }

    fn handle_response(
        machine: &mut Watch,
        token: WatchToken,
        result: Result<Box<dyn Any + Send>, Error>,
        now: Instant,
    ) {
        machine.handle_response(token, typed(result), now);
    }

    fn poll_item(machine: &mut Watch) -> Option<WatchItem> {
        machine.poll_item()
    }

    fn poll_timeout(machine: &Watch) -> Option<Instant> {
        machine.poll_timeout()
    }

    fn is_stopped(machine: &Watch) -> bool {
        machine.is_stopped()
    }

    fn failure(self) -> Option<Error> {
        match self {
            WatchItem::LeaveFailed { error } | WatchItem::Stopped { error: Some(error) } => {
                Some(error)
            }
            _ => None,
        }
    }
}

impl WatchKind for RosterItem {
    type Machine = LiveRoster;
    type Request = RosterRequest;
    type Reply = RosterReply;

    fn machine(options: WatchOptions) -> LiveRoster {
        LiveRoster::new(options)
    }

    fn command(machine: &mut LiveRoster, command: WatchCommand) {
        match command {
            WatchCommand::Add(channels, groups) => machine.add(channels, groups),
            WatchCommand::Remove(channels, groups) => machine.remove(channels, groups),
            WatchCommand::SetState(name, value) => machine.set_state_value(name, value),
            WatchCommand::Stop => machine.stop(),
        }
    }

    fn poll_transmit(
        machine: &mut LiveRoster,
        now: Instant,
    ) -> Option<(WatchToken, RosterRequest)> {
        machine.poll_transmit(now)
    }

    fn is_poll(request: &RosterRequest) -> bool {
        matches!(request, RosterRequest::Watch(WatchRequest::Subscribe(_)))
    }

    fn handle_response(
        machine: &mut LiveRoster,
        token: WatchToken,
        result: Result<Box<dyn Any + Send>, Error>,
        now: Instant,
    ) {
        machine.handle_response(token, typed(result), now);
    }

    fn poll_item(machine: &mut LiveRoster) -> Option<RosterItem> {
        machine.poll_item()
    }

    fn poll_timeout(machine: &LiveRoster) -> Option<Instant> {
        machine.poll_timeout()
    }

    fn is_stopped(machine: &LiveRoster) -> bool {
        machine.is_stopped()
    }

    fn failure(self) -> Option<Error> {
        match self {
            RosterItem::Watch(item) => item.failure(),
            _ => None,
        }
    }
}
