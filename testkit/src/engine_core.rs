//! [`EngineCore`]: the real `netstate_sys::Engine` as the [`Core`] of a
//! [`Sim`](crate::Sim), so that every scenario and property the simulation
//! checks on the bare `Reconciler` also runs through the engine's loop:
//! its batching of one wake-up's inputs, its carrying out of enumerations,
//! publications and rebinds, its handle.
//!
//! The simulation stays the host: it decides what the kernel sends, what
//! an enumeration reads and when it answers, and whether a rebind works.
//! This module translates between the two:
//!
//! * a route hint the simulation delivers is written, in the encoding of
//!   [`encode_hint`], into the route socket the engine opened (one end of a
//!   `UnixDatagram` pair, as in [`crate::engine_sim`]); an overflow, an
//!   error or a close is written as the matching mark;
//! * an enumeration the engine starts reaches the simulation as
//!   [`Action::Enumerate`], with an id of this module's own numbering; the
//!   simulation's answer to the enumeration the engine still waits for is
//!   what the engine's next poll of its backend returns, and an answer to
//!   one the engine gave up is dropped, as a late reply on a replaced
//!   socket is;
//! * a forced check goes through the engine's [`Handle::check_now`];
//! * every change the engine publishes is read from a subscriber taken
//!   before the first wake-up and handed on as [`Action::Publish`];
//! * the engine opens a new route socket at once when the Reconciler asks
//!   for a rebind (a socket opens or fails in the call): the simulation
//!   is told with [`Action::RebindMonitor`] and answers at the same instant
//!   ([`Core::rebinds_at_once`]). A rebind the simulation fails becomes a
//!   failure of the socket just opened, which the Reconciler meets with
//!   the same backoff as a failed rebind (its attempt counter is not reset
//!   by a rebind that lasted no time).
//!
//! Inputs are only written or stored when fed; the engine wakes when the
//! simulation polls for actions or a timeout, which it does once all the
//! inputs of an instant are in ([`Core::batches_inputs`]): a wake-up then
//! reads every hint of that instant at once, as a real driver's does.
//!
//! [`Handle::check_now`]: netstate_sys::Handle::check_now

use std::collections::VecDeque;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netstate_core::{
    Action, Config, EnumerationId, Input, MonitorFailure, OsError, Scope, Targets,
};
use netstate_sys::fanout::Subscriber;
use netstate_sys::{Backend, Engine, EnumerateFailure, EnumerationPoll, EventSource};

use crate::engine_sim::{encode_hint, SimSource, CLOSED_MARK, FAILURE_MARK, OVERFLOW_MARK};
use crate::sim::Core;

/// The most wake-ups in a row that may each leave work queued before the
/// engine counts as spinning (a test failure, not a hang).
const MAX_WAKES_IN_A_ROW: u32 = 10_000;

/// What the engine asked of its backend, in order.
#[derive(Debug)]
enum Request {
    Enumerate(Scope),
    Rebind,
}

#[derive(Debug, Default)]
struct Relay {
    /// The simulation's end of the route socket the engine reads.
    peer: Option<UnixDatagram>,
    /// Route sockets opened, the engine's first included.
    opened: u64,
    requests: Vec<Request>,
    /// Whether the engine waits for an enumeration's answer.
    waiting: bool,
    /// The answer its next poll returns.
    answer: Option<EnumerationPoll>,
}

fn lock(relay: &Mutex<Relay>) -> MutexGuard<'_, Relay> {
    relay.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The engine's backend: it records what the engine asks and answers what
/// the simulation says.
#[derive(Debug)]
struct RelayBackend {
    relay: Arc<Mutex<Relay>>,
}

impl Backend for RelayBackend {
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>> {
        let (source, peer) = SimSource::pair()?;
        let mut r = lock(&self.relay);
        r.peer = Some(peer);
        r.opened += 1;
        if r.opened > 1 {
            r.requests.push(Request::Rebind);
        }
        Ok(Box::new(source))
    }

    fn start_enumeration(&mut self) -> EnumerationPoll {
        self.start(Scope::All)
    }

    fn start_refresh(&mut self, targets: &Targets) -> EnumerationPoll {
        self.start(Scope::Targeted(targets.clone()))
    }

    fn poll_enumeration(&mut self) -> EnumerationPoll {
        let mut r = lock(&self.relay);
        match r.answer.take() {
            Some(answer) => {
                r.waiting = false;
                answer
            }
            None => EnumerationPoll::Waiting,
        }
    }

    fn cancel_enumeration(&mut self) {
        let mut r = lock(&self.relay);
        r.waiting = false;
        r.answer = None;
    }
}

impl RelayBackend {
    fn start(&mut self, scope: Scope) -> EnumerationPoll {
        let mut r = lock(&self.relay);
        r.requests.push(Request::Enumerate(scope));
        r.waiting = true;
        r.answer = None;
        EnumerationPoll::Waiting
    }
}

/// The real engine, driven by a [`Sim`](crate::Sim): see the module docs.
#[derive(Debug)]
pub struct EngineCore {
    engine: Engine,
    relay: Arc<Mutex<Relay>>,
    subscriber: Subscriber,
    /// The sleep clock's last reading, given to every wake-up.
    sleep_clock: Duration,
    /// Inputs have been fed since the last wake-up.
    dirty: bool,
    now: Instant,
    actions: VecDeque<Action>,
    /// The id given to the enumeration the engine waits for.
    current: Option<EnumerationId>,
    next_id: u64,
}

impl EngineCore {
    /// An engine with `config`, created at `now`.
    ///
    /// # Errors
    ///
    /// The engine's start errors: opening its route socket (a `UnixDatagram`
    /// pair) or its poller failed, for want of descriptors.
    pub fn try_new(config: Config, now: Instant) -> Result<Self, netstate_sys::StartError> {
        let relay = Arc::new(Mutex::new(Relay::default()));
        let backend = RelayBackend {
            relay: relay.clone(),
        };
        let engine = Engine::new(config, Box::new(backend), now)?;
        let (_, subscriber) = engine.handle().subscribe();
        Ok(EngineCore {
            engine,
            relay,
            subscriber,
            sleep_clock: Duration::ZERO,
            dirty: false,
            now,
            actions: VecDeque::new(),
            current: None,
            next_id: 0,
        })
    }

    /// [`EngineCore::try_new`], for a [`Sim`](crate::Sim)'s `make`.
    ///
    /// # Panics
    ///
    /// If the engine cannot start (no descriptors left): the simulation
    /// cannot run without it.
    #[must_use]
    pub fn new(config: Config, now: Instant) -> Self {
        match EngineCore::try_new(config, now) {
            Ok(core) => core,
            Err(e) => panic!("the engine of a simulation could not start: {e}"),
        }
    }

    /// The engine, for its handle and counters.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Writes one datagram into the engine's route socket. A full socket
    /// is read first (a wake-up), as the kernel's would be by a driver
    /// woken by it; a socket the engine closed loses it.
    fn write(&mut self, datagram: &[u8]) {
        for _ in 0..2 {
            let sent = match &lock(&self.relay).peer {
                Some(peer) => peer.send(datagram),
                None => return,
            };
            match sent {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wake(),
                _ => return,
            }
        }
    }

    /// Wakes the engine until it has nothing queued, then collects what it
    /// did.
    fn wake(&mut self) {
        self.dirty = false;
        let mut rounds = 0;
        while self.engine.wake(self.now, self.sleep_clock).more_queued {
            rounds += 1;
            assert!(
                rounds < MAX_WAKES_IN_A_ROW,
                "the engine asked to be woken again {rounds} times in a row"
            );
        }
        self.collect();
    }

    fn collect(&mut self) {
        let requests = std::mem::take(&mut lock(&self.relay).requests);
        for request in requests {
            match request {
                Request::Enumerate(scope) => {
                    let id = EnumerationId(self.next_id);
                    self.next_id += 1;
                    self.current = Some(id);
                    self.actions.push_back(Action::Enumerate { id, scope });
                }
                Request::Rebind => self.actions.push_back(Action::RebindMonitor),
            }
        }
        while let Ok(change) = self.subscriber.try_recv() {
            self.actions.push_back(Action::Publish(change));
        }
        assert_eq!(
            self.subscriber.merged(),
            0,
            "the simulation's subscriber fell behind and changes were merged"
        );
    }

    /// Gives the engine's waiting enumeration its answer, if `id` is it.
    fn answer(&mut self, id: EnumerationId, poll: EnumerationPoll) {
        if self.current != Some(id) {
            return;
        }
        self.current = None;
        let mut r = lock(&self.relay);
        if r.waiting {
            r.answer = Some(poll);
        }
    }
}

fn failed(e: OsError) -> EnumerationPoll {
    EnumerationPoll::Done(Err(EnumerateFailure::Failed(e)))
}

impl Core for EngineCore {
    fn handle_input(&mut self, now: Instant, input: Input) {
        self.now = now;
        self.dirty = true;
        match input {
            Input::SleepClock(d) => self.sleep_clock = d,
            Input::Route(e) => self.write(&encode_hint(&e)),
            Input::Enumerated { id, result } => {
                self.answer(id, EnumerationPoll::Done(result.map_err(Into::into)));
            }
            Input::Refreshed { id, result } => {
                let poll = match result {
                    Ok(refresh) => EnumerationPoll::Refreshed(refresh),
                    Err(e) => failed(e),
                };
                self.answer(id, poll);
            }
            Input::EnumerationInterrupted { id } => {
                self.answer(
                    id,
                    EnumerationPoll::Done(Err(EnumerateFailure::Interrupted)),
                );
            }
            Input::MonitorFailed(MonitorFailure::Overflow) => self.write(OVERFLOW_MARK),
            Input::MonitorFailed(MonitorFailure::Closed) => self.write(CLOSED_MARK),
            Input::MonitorFailed(_) => self.write(FAILURE_MARK),
            // The engine rebound when it asked; a rebind that failed is a
            // failure of the socket it opened.
            Input::MonitorRebound(Ok(())) => {}
            Input::MonitorRebound(Err(_)) => self.write(FAILURE_MARK),
            Input::ForceCheck => drop(self.engine.handle().check_now()),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.wake();
    }

    fn poll_action(&mut self) -> Option<Action> {
        if self.dirty {
            self.wake();
        }
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.engine.poll_timeout()
    }

    fn batches_inputs(&self) -> bool {
        true
    }

    fn rebinds_at_once(&self) -> bool {
        true
    }
}
