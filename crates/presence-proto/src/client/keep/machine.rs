//! The keep-present driver as a pure machine: every decision a driving task or thread makes
//! (applying commands, the in-flight cap, closing, counting), so each runner is a short loop
//! that only sends, waits and forwards.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::error::Error;
use crate::session::SessionRequest;
use crate::session::{PresenceSession, PresenceSessions, SessionCommand, SessionEvent, SessionId};

/// Most inputs applied in one go before in-flight responses get a turn.
pub(crate) const INPUT_BATCH: usize = 1024;

/// What reaches the driver: commands from handles, and the outcomes of its own requests.
#[derive(Debug)]
pub(crate) enum Input {
    /// A new user, under the id its handle allocated.
    Add(SessionId, Box<PresenceSession>),
    /// A command for one user.
    Update(SessionId, SessionCommand),
    /// Every user leaves; the driver keeps running for new ones.
    ShutdownAll,
    /// Every user leaves, then the driver ends (handle shut down or dropped).
    Close,
    /// The outcome of a request the driver sent.
    Response(SessionId, Result<(), Error>),
}

/// A request to send for one user, with the configuration to send it with.
#[derive(Debug)]
pub(crate) struct Transmit {
    pub(crate) id: SessionId,
    pub(crate) config: Arc<Config>,
    pub(crate) request: SessionRequest,
}

/// The driver's state: the sessions, the requests in flight and whether it is closing.
#[derive(Debug)]
pub(crate) struct Machine {
    sessions: PresenceSessions,
    max_in_flight: usize,
    in_flight: usize,
    closing: bool,
    /// One user's driver: it ends when that user's session stops.
    solo: bool,
}

impl Machine {
    pub(crate) fn new(max_in_flight: usize) -> Self {
        Self {
            sessions: PresenceSessions::new(),
            max_in_flight: max_in_flight.max(1),
            in_flight: 0,
            closing: false,
            solo: false,
        }
    }

    /// The driver of one user ([`crate::KeepPresent`]): it ends when that session stops.
    pub(crate) fn solo() -> Self {
        Self {
            solo: true,
            ..Self::new(1)
        }
    }

    pub(crate) fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::Add(id, session) => {
                self.sessions.insert_as(id, *session);
                if self.closing {
                    self.sessions.update(id, PresenceSession::shutdown);
                }
            }
            Input::Update(id, command) => {
                self.sessions.update(id, |session| command.apply(session));
            }
            Input::ShutdownAll => self.sessions.shutdown_all(),
            Input::Close => {
                self.closing = true;
                self.sessions.shutdown_all();
            }
            Input::Response(id, result) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                self.sessions.handle_response(id, result, now);
            }
        }
    }

    /// The next request due at `now`, while under the in-flight cap.
    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        while self.in_flight < self.max_in_flight {
            let (id, request) = self.sessions.poll_request(now)?;
            if let Some(session) = self.sessions.get(id) {
                self.in_flight += 1;
                return Some(Transmit {
                    id,
                    config: Arc::clone(session.config()),
                    request,
                });
            }
        }
        None
    }

    pub(crate) fn poll_event(&mut self) -> Option<(SessionId, SessionEvent)> {
        self.sessions.poll_event()
    }

    /// When to wake if nothing arrives. At the cap, due work waits for a free slot (a
    /// response) rather than for the timer.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        if self.in_flight < self.max_in_flight {
            self.sessions.poll_timeout()
        } else {
            None
        }
    }

    /// Closing, everyone gone and nothing in flight: the driver may end.
    pub(crate) fn is_done(&self) -> bool {
        (self.closing || self.solo) && self.sessions.is_empty() && self.in_flight == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionOptions;

    fn session(user: &str) -> Box<PresenceSession> {
        let config = Config::builder("demo", user).build().unwrap();
        let mut session = PresenceSession::new(config, SessionOptions::new());
        session.join_channels(["lobby"]);
        Box::new(session)
    }

    #[test]
    fn the_in_flight_cap_holds_and_frees_on_responses() {
        let mut machine = Machine::new(2);
        let now = Instant::now();
        for i in 0..3 {
            machine.handle(
                Input::Add(SessionId::from_raw(i), session(&format!("u{i}"))),
                now,
            );
        }
        let first = machine.poll_transmit(now).unwrap();
        let _second = machine.poll_transmit(now).unwrap();
        assert!(machine.poll_transmit(now).is_none(), "capped at 2");
        assert_eq!(
            machine.poll_timeout(),
            None,
            "at the cap only a response wakes"
        );
        machine.handle(Input::Response(first.id, Ok(())), now);
        assert!(machine.poll_transmit(now).is_some(), "a slot was freed");
    }

    #[test]
    fn close_makes_everyone_leave_then_ends() {
        let mut machine = Machine::new(8);
        let now = Instant::now();
        machine.handle(Input::Add(SessionId::from_raw(0), session("alice")), now);
        let join = machine.poll_transmit(now).unwrap();
        machine.handle(Input::Response(join.id, Ok(())), now);
        machine.handle(Input::Close, now);
        assert!(!machine.is_done());
        let leave = machine.poll_transmit(now).unwrap();
        assert!(leave.request.is_leave());
        machine.handle(Input::Response(leave.id, Ok(())), now);
        assert!(machine.is_done());
    }

    #[test]
    fn users_added_while_closing_leave_at_once() {
        let mut machine = Machine::new(8);
        let now = Instant::now();
        machine.handle(Input::Close, now);
        machine.handle(Input::Add(SessionId::from_raw(5), session("late")), now);
        assert!(
            machine
                .poll_transmit(now)
                .is_none_or(|t| t.request.is_leave())
        );
    }
}
