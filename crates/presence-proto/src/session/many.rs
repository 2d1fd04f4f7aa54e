//! Many users' presence behind one timer: 10,000 users cost one task, not 10,000.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use super::event::SessionEvent;
use super::request::SessionRequest;
use super::single::PresenceSession;
use crate::error::Error;

/// Identifies a session inside [`PresenceSessions`].
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct SessionId(u64);

impl SessionId {
    /// The raw number (unique within one [`PresenceSessions`]).
    pub fn get(self) -> u64 {
        self.0
    }

    /// An id chosen by a driver that numbers its sessions itself (see
    /// [`PresenceSessions::insert_as`]).
    pub(crate) fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

#[derive(Debug)]
struct Entry {
    session: PresenceSession,
    /// The timer currently in the heap for this session (older heap entries are stale).
    scheduled: Option<Instant>,
    /// Whether the session is in the ready queue.
    queued: bool,
}

/// Many [`PresenceSession`]s with one shared timer: the earliest deadline across all of them.
///
/// The drive contract is the session's (see [`crate::session`]), keyed by [`SessionId`]: any
/// number of sessions may have a request in flight at once, one each. Stopped sessions are
/// removed once their [`SessionEvent::Stopped`] is queued.
///
/// ```
/// use std::time::Instant;
/// use presence_proto::{Config, PresenceSession, PresenceSessions, SessionOptions};
///
/// let base = Config::builder("demo", "user-0").build()?;
/// let mut sessions = PresenceSessions::new();
/// for i in 0..3 {
///     let config = base.to_builder().user_id(format!("user-{i}")).build()?;
///     let mut session = PresenceSession::new(config, SessionOptions::new());
///     session.join_channels(["lobby"]);
///     sessions.insert(session);
/// }
/// let now = Instant::now();
/// let mut sent = Vec::new();
/// while let Some((id, request)) = sessions.poll_request(now) {
///     sent.push(id); // send `request` with `sessions.get(id).unwrap().config()`
/// }
/// assert_eq!(sent.len(), 3);
/// for id in sent {
///     sessions.handle_response(id, Ok(()), now);
/// }
/// assert!(sessions.poll_timeout().is_some()); // one timer for all three
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct PresenceSessions {
    entries: HashMap<SessionId, Entry>,
    next_id: u64,
    timers: BinaryHeap<Reverse<(Instant, SessionId)>>,
    ready: VecDeque<SessionId>,
    events: VecDeque<(SessionId, SessionEvent)>,
}

impl PresenceSessions {
    /// No sessions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a session; its due work is returned by the next [`Self::poll_request`].
    pub fn insert(&mut self, session: PresenceSession) -> SessionId {
        let id = SessionId(self.next_id);
        self.next_id += 1;
        self.entries.insert(
            id,
            Entry {
                session,
                scheduled: None,
                queued: false,
            },
        );
        self.refresh(id);
        id
    }

    /// Adds a session under an id the caller allocated (handles hand ids out before the driver
    /// sees the session). Replaces nothing: an id already in use is ignored.
    pub(crate) fn insert_as(&mut self, id: SessionId, session: PresenceSession) {
        if self.entries.contains_key(&id) {
            return;
        }
        self.next_id = self.next_id.max(id.0 + 1);
        self.entries.insert(
            id,
            Entry {
                session,
                scheduled: None,
                queued: false,
            },
        );
        self.refresh(id);
    }

    /// The session, if it is still running.
    pub fn get(&self, id: SessionId) -> Option<&PresenceSession> {
        self.entries.get(&id).map(|e| &e.session)
    }

    /// Applies a command to a session (join, leave, set state, shutdown…), then reschedules it.
    /// Returns `false` if there is no such session. Call [`Self::poll_request`] afterwards.
    pub fn update(&mut self, id: SessionId, command: impl FnOnce(&mut PresenceSession)) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else {
            return false;
        };
        command(&mut entry.session);
        self.refresh(id);
        true
    }

    /// Shuts every session down (each sends one leave).
    pub fn shutdown_all(&mut self) {
        let ids: Vec<SessionId> = self.entries.keys().copied().collect();
        for id in ids {
            self.update(id, PresenceSession::shutdown);
        }
    }

    /// Number of running sessions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no session is running.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The next request due at `now`, across all sessions.
    pub fn poll_request(&mut self, now: Instant) -> Option<(SessionId, SessionRequest)> {
        while let Some(id) = self.ready.pop_front() {
            if let Some(found) = self.poll_one(id, now) {
                return Some(found);
            }
        }
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let current = self.entries.get(&id).and_then(|e| e.scheduled);
            if current != Some(at) {
                continue; // stale timer
            }
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.scheduled = None;
            }
            if let Some(found) = self.poll_one(id, now) {
                return Some(found);
            }
        }
        None
    }

    /// Feeds back the outcome of a request returned for session `id`.
    pub fn handle_response(&mut self, id: SessionId, result: Result<(), Error>, now: Instant) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.session.handle_response(result, now);
            self.refresh(id);
        }
    }

    /// The earliest instant at which some session has work, if any.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if self.entries.get(&id).and_then(|e| e.scheduled) == Some(at) {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    /// The next event of any session.
    pub fn poll_event(&mut self) -> Option<(SessionId, SessionEvent)> {
        self.events.pop_front()
    }

    fn poll_one(&mut self, id: SessionId, now: Instant) -> Option<(SessionId, SessionRequest)> {
        let entry = self.entries.get_mut(&id)?;
        entry.queued = false;
        let request = entry.session.poll_request(now);
        self.refresh(id);
        request.map(|r| (id, r))
    }

    /// Moves events out, drops stopped sessions, and re-arms the timer / ready queue.
    fn refresh(&mut self, id: SessionId) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        while let Some(event) = entry.session.poll_event() {
            self.events.push_back((id, event));
        }
        if entry.session.is_stopped() {
            self.entries.remove(&id);
            return;
        }
        if entry.session.has_immediate_work() && !entry.queued {
            entry.queued = true;
            self.ready.push_back(id);
        }
        let timeout = entry.session.poll_timeout();
        if timeout != entry.scheduled {
            entry.scheduled = timeout;
            if let Some(at) = timeout {
                self.timers.push(Reverse((at, id)));
            }
        }
    }
}
