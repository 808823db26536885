//! [`Engine`]: the runtime-independent body of every driver's loop.
//!
//! A driver owns an `Engine` and does only what its runtime does: wait
//! until [`Engine::readiness_fd`] is readable or [`Engine::poll_timeout`]
//! passes, then call [`Engine::wake`] with the time and the sleep clock
//! (both passed in, so a simulation can drive the same engine on virtual
//! time). At each wake-up the engine:
//!
//! 1. feeds the sleep-clock sample and any forced check to the Reconciler;
//! 2. drains the route socket until it would block (at most
//!    [`MAX_DATAGRAMS_PER_WAKE`] datagrams; then [`Woken::more_queued`]),
//!    feeding every hint;
//! 3. goes on with the enumeration in flight, if its socket has replies (at
//!    most a few datagrams of it: a dump of thousands of interfaces is read
//!    over several wake-ups, so the driver's runtime is never held for a
//!    whole dump);
//! 4. runs the Reconciler's expired timers, then carries out its actions:
//!    start an enumeration (non-blocking: the backend sends its first
//!    request and the replies come through the readiness descriptor),
//!    publish a change, rebind the route socket.
//!
//! Nothing blocks. The readiness descriptor never changes for the engine's
//! life (see [`crate::readiness`]): sockets replaced behind it (a rebind, a
//! fresh enumeration socket) are registered again by the engine.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netstate_core::{
    Action, Config, EnumerationId, Input, MonitorFailure, OsError, Reconciler, RouteEvent,
    RouteEventKind, Scope,
};

use netstate_core::trace::{TraceEvent, TraceRecord};

use crate::backend::{Backend, EnumerateFailure, EnumerationPoll, EventSource, SourceRead};
use crate::check::{ended, Checks};
use crate::error::StartError;
use crate::handle::{Handle, MonitorStats, Shared};
use crate::readiness::Readiness;

/// Reads at most this many datagrams of the route socket per wake-up
/// before letting the driver run other work; [`Woken::more_queued`] then
/// asks to be woken again at once.
pub const MAX_DATAGRAMS_PER_WAKE: usize = 1024;

/// How many times in a row an interrupted first enumeration is started
/// again at once before it is left to the Reconciler's debounce: a monitor
/// should start on a busy host without waiting, but not spin for ever.
const FIRST_ENUMERATION_ROUNDS: u32 = 10;

/// What [`Engine::wake`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Woken {
    /// Work is left that needs no readiness (datagrams past the per-wake
    /// cap, an enumeration with replies still to read): call `wake` again
    /// without waiting, after letting other work run.
    pub more_queued: bool,
}

/// A callback that receives, in order, a [`TraceRecord`] for every input
/// the Reconciler gets and every timeout it handles, timed from the
/// Reconciler's creation: the records of a trace that
/// [`netstate_core::trace::Replayer`] replays to what the engine published
/// (with a header from [`TraceHeader::for_engine`](netstate_core::trace::TraceHeader::for_engine)).
pub type Recorder = Box<dyn FnMut(TraceRecord) + Send>;

/// What a monitor is built from, the same for every driver: the
/// configuration, and optionally another backend (a network namespace, a
/// test's stand-in) and a recorder (`netstate record`). Each driver's
/// `Monitor::builder(config)` returns one and its start functions take it.
pub struct MonitorBuilder {
    config: Config,
    backend: Option<Box<dyn Backend>>,
    recorder: Option<Recorder>,
}

impl std::fmt::Debug for MonitorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MonitorBuilder {
    /// A monitor of this host's network (the caller's namespace) with
    /// `config`.
    #[must_use]
    pub fn new(config: Config) -> Self {
        MonitorBuilder {
            config,
            backend: None,
            recorder: None,
        }
    }

    /// Reads the network through `backend` instead of the system's default.
    #[must_use]
    pub fn backend(mut self, backend: Box<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Hands every input of the Reconciler to `recorder` (on the monitor's
    /// loop).
    #[must_use]
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Opens the sockets: the engine a driver then runs.
    pub fn build_engine(self) -> Result<Engine, StartError> {
        let backend = match self.backend {
            Some(b) => b,
            None => crate::default_backend().map_err(StartError::Open)?,
        };
        let mut engine = Engine::new(self.config, backend, Instant::now())?;
        if let Some(r) = self.recorder {
            engine.set_recorder(r);
        }
        Ok(engine)
    }
}

/// The enumeration the backend is running for the Reconciler.
#[derive(Clone, Debug)]
struct InFlight {
    id: EnumerationId,
    /// What it reads.
    scope: Scope,
    /// Interrupted first enumerations started again at once so far.
    rounds: u32,
}

/// The runtime-independent monitor loop body. See the module docs.
pub struct Engine {
    reconciler: Reconciler,
    backend: Box<dyn Backend>,
    source: Option<Box<dyn EventSource>>,
    readiness: Readiness,
    shared: Arc<Shared>,
    handle: Handle,
    buf: Vec<u8>,
    stats: MonitorStats,
    recorder: Option<Recorder>,
    created: Instant,
    in_flight: Option<InFlight>,
    /// The backend stopped an enumeration to let the loop breathe.
    enumeration_busy: bool,
    /// How the first enumeration failed, if it did before any state.
    first_failure: Option<EnumerateFailure>,
    /// An enumeration ended during this wake-up: another one asked for
    /// waits for the next (so a backend that answers at once and keeps
    /// answering "interrupted" never holds the driver's loop).
    ended_this_wake: bool,
    /// The enumeration asked for after one ended during a wake-up.
    deferred: Option<(EnumerationId, Scope)>,
    /// `wake` has run at least once (the first one starts the first
    /// enumeration, so a fresh engine is due at once).
    woken: bool,
    /// Forced checks and the enumerations that answer them.
    checks: Checks,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("reconciler", &self.reconciler)
            .field("in_flight", &self.in_flight)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `backend`: opens the route socket and the poller (an
    /// error here means the monitor cannot start) and asks for the first
    /// enumeration, which the first [`wake`](Self::wake) starts.
    pub fn new(
        config: Config,
        mut backend: Box<dyn Backend>,
        now: Instant,
    ) -> Result<Self, StartError> {
        let source = backend.open_source().map_err(StartError::Open)?;
        let mut readiness = Readiness::new().map_err(StartError::Open)?;
        readiness
            .watch_source(source.as_fd())
            .map_err(StartError::Open)?;
        let shared = Arc::new(Shared::new());
        let handle = Handle::new(shared.clone(), readiness.notifier().clone());
        Ok(Engine {
            reconciler: Reconciler::new(config, now),
            backend,
            source: Some(source),
            readiness,
            shared,
            handle,
            buf: vec![0; 64 << 10],
            stats: MonitorStats::default(),
            recorder: None,
            created: now,
            in_flight: None,
            enumeration_busy: false,
            first_failure: None,
            ended_this_wake: false,
            deferred: None,
            woken: false,
            checks: Checks::default(),
        })
    }

    /// Records every input and timeout from now on (`netstate record`),
    /// timed from the Reconciler's creation. Set it before the first
    /// [`wake`](Self::wake) for a trace that replays from the start.
    pub fn set_recorder(&mut self, recorder: Recorder) {
        self.recorder = Some(recorder);
    }

    /// A handle for the monitor's users (state, subscribe, check, stats).
    #[must_use]
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The one descriptor to wait on for readability: the route socket, the
    /// enumeration socket and handle wake-ups are all behind it. It stays
    /// the same for the engine's whole life.
    #[must_use]
    pub fn readiness_fd(&self) -> BorrowedFd<'_> {
        self.readiness.fd()
    }

    /// Blocks until the readiness descriptor is readable or `timeout`
    /// passes, for a loop on a thread of its own (no runtime needed).
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.readiness.wait(timeout)
    }

    /// Runs the engine on the calling thread, blocking, until the first
    /// state is known or the first enumeration failed: the start of a
    /// monitor that has no runtime (mio's source, a thread runner).
    pub fn block_until_started(&mut self) -> Result<Woken, StartError> {
        loop {
            let woken = self.wake(Instant::now(), crate::sleep_clock());
            if let Some(result) = self.start_result() {
                return result.map(|()| woken);
            }
            if self.stopping() {
                return Err(StartError::Stopped);
            }
            if !woken.more_queued {
                let timeout = self
                    .poll_timeout()
                    .map(|at| at.saturating_duration_since(Instant::now()));
                self.wait(timeout).map_err(StartError::Open)?;
            }
        }
    }

    /// When the driver must wake the engine at the latest: at once for a
    /// fresh engine (its first wake-up starts the first enumeration), then
    /// the Reconciler's next deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.woken {
            self.reconciler.poll_timeout()
        } else {
            Some(self.created)
        }
    }

    /// Whether a handle asked the loop to stop.
    #[must_use]
    pub fn stopping(&self) -> bool {
        self.shared.stopping()
    }

    /// Whether the monitor has started: `None` while the first state is
    /// being read, `Some(Ok(()))` once it is published, `Some(Err(_))` if
    /// the first enumeration failed (the error carries the real reason as
    /// its source).
    #[must_use]
    pub fn start_result(&self) -> Option<Result<(), StartError>> {
        if self.reconciler.state().is_some() {
            return Some(Ok(()));
        }
        self.first_failure
            .as_ref()
            .map(|e| Err(StartError::FirstEnumeration(e.clone())))
    }

    /// Runs one wake-up at `now`, with `sleep_clock` the reading of the
    /// clock that counts suspended time (`crate::sleep_clock()`). See the
    /// module docs.
    pub fn wake(&mut self, now: Instant, sleep_clock: Duration) -> Woken {
        self.readiness.consume();
        self.woken = true;
        self.stats.wakeups += 1;
        self.ended_this_wake = false;
        if let Some((id, scope)) = self.deferred.take() {
            self.start_enumeration(now, id, scope);
        }
        self.feed(now, Input::SleepClock(sleep_clock));
        if let Some(checks) = self.shared.take_force() {
            self.feed(now, Input::ForceCheck);
            let first = self.reconciler.next_enumeration_id();
            self.checks.forced(checks, first);
        }
        let before = self.stats.datagrams + self.stats.foreign_datagrams;
        let more_datagrams = self.drain(now);
        self.stats.last_wake_datagrams =
            self.stats.datagrams + self.stats.foreign_datagrams - before;
        self.stats.max_wake_datagrams = self
            .stats
            .max_wake_datagrams
            .max(self.stats.last_wake_datagrams);
        if self.in_flight.is_some() {
            let poll = self.backend.poll_enumeration();
            self.enumeration_progress(now, poll);
        }
        if let Some(r) = &mut self.recorder {
            r(TraceRecord::new(self.created, now, TraceEvent::Timeout));
        }
        self.reconciler.handle_timeout(now);
        self.run_actions(now);
        self.store_stats();
        Woken {
            more_queued: more_datagrams || self.enumeration_busy || self.deferred.is_some(),
        }
    }

    /// Publishes the counters to the handles.
    fn store_stats(&self) {
        let counters = self.backend.counters();
        self.shared.store_stats(MonitorStats {
            core: self.reconciler.stats(),
            interrupted_dumps: counters.interrupted_dumps,
            skipped_records: counters.skipped_records,
            ..self.stats
        });
    }

    fn record(&mut self, now: Instant, input: &Input) {
        record_input(&mut self.recorder, self.created, now, input);
    }

    /// Feeds one input. Actions are carried out once the wake-up's inputs
    /// are all in (the Reconciler decides enumerations when they are
    /// polled, so a burst costs one).
    fn feed(&mut self, now: Instant, input: Input) {
        self.record(now, &input);
        self.reconciler.handle_input(now, input);
    }

    /// Reads until the socket would block (or the per-wake cap); returns
    /// whether datagrams are left.
    fn drain(&mut self, now: Instant) -> bool {
        for _ in 0..MAX_DATAGRAMS_PER_WAKE {
            let Some(source) = self.source.as_mut() else {
                return false;
            };
            let mut malformed = 0;
            // Each hint goes straight into the core as it is parsed.
            let (reconciler, recorder, created) =
                (&mut self.reconciler, &mut self.recorder, self.created);
            let mut hint = |e| {
                let input = Input::Route(e);
                record_input(recorder, created, now, &input);
                reconciler.handle_input(now, input);
            };
            let result = source.read(&mut self.buf, &mut hint, &mut malformed);
            let failure = match result {
                Ok(SourceRead::Read) => {
                    self.stats.datagrams += 1;
                    None
                }
                Ok(SourceRead::Foreign) => {
                    self.stats.foreign_datagrams += 1;
                    None
                }
                Ok(SourceRead::WouldBlock) => return false,
                Ok(SourceRead::Overflow) => Some(MonitorFailure::Overflow),
                Ok(SourceRead::Closed) => Some(MonitorFailure::Closed),
                Err(_) => Some(MonitorFailure::Error),
            };
            if malformed > 0 {
                self.stats.malformed += u64::from(malformed);
                // Something may have changed that we could not read.
                self.feed(now, Input::Route(RouteEvent::new(RouteEventKind::Unknown)));
            }
            match failure {
                None => {}
                Some(MonitorFailure::Overflow) => {
                    crate::log::overflow();
                    self.feed(now, Input::MonitorFailed(MonitorFailure::Overflow));
                }
                Some(kind) => {
                    crate::log::socket_failed(kind);
                    // The socket is broken: stop reading it until a rebind.
                    self.drop_source();
                    self.feed(now, Input::MonitorFailed(kind));
                    return false;
                }
            }
        }
        true
    }

    fn drop_source(&mut self) {
        if let Some(old) = self.source.take() {
            self.readiness.unwatch_source(old.as_fd());
        }
    }

    /// Keeps the poller in step with the backend's enumeration socket.
    fn follow_enumeration_fd(&mut self) {
        while let Some(old) = self.backend.take_retired_fd() {
            self.readiness.unwatch_dump(old.as_fd());
        }
        if let Some(fd) = self.backend.enumeration_fd() {
            // Failing to watch it leaves only the enumeration timeout to
            // end this enumeration; the next one tries again.
            let _ = self.readiness.watch_dump(fd);
        }
    }

    fn enumeration_progress(&mut self, now: Instant, poll: EnumerationPoll) {
        self.follow_enumeration_fd();
        self.enumeration_busy = matches!(poll, EnumerationPoll::Busy);
        let result = match poll {
            EnumerationPoll::Done(result) => result,
            EnumerationPoll::Refreshed(refresh) => {
                // A change during the read has queued its hint by now: read
                // it first, so the Reconciler knows the answer may be torn.
                self.drain(now);
                if let Some(flight) = self.in_flight.take() {
                    self.ended_this_wake = true;
                    let id = flight.id;
                    self.feed(
                        now,
                        Input::Refreshed {
                            id,
                            result: Ok(refresh),
                        },
                    );
                }
                return;
            }
            EnumerationPoll::Waiting | EnumerationPoll::Busy => return,
        };
        let Some(mut flight) = self.in_flight.take() else {
            return;
        };
        self.ended_this_wake = true;
        let first_interrupted =
            self.reconciler.state().is_none() && result == Err(EnumerateFailure::Interrupted);
        if first_interrupted && flight.rounds < FIRST_ENUMERATION_ROUNDS {
            // A monitor starting on a busy host reads again at once.
            flight.rounds += 1;
            let poll = self.start_backend(&flight.scope);
            self.in_flight = Some(flight);
            self.enumeration_progress(now, poll);
            return;
        }
        let input = match result {
            Ok(snapshot) => Input::Enumerated {
                id: flight.id,
                result: Ok(snapshot),
            },
            Err(EnumerateFailure::Interrupted) => Input::EnumerationInterrupted { id: flight.id },
            Err(EnumerateFailure::Failed(e)) => {
                if self.reconciler.state().is_none() {
                    // The first failure is the one a start reports.
                    self.first_failure
                        .get_or_insert_with(|| EnumerateFailure::Failed(e.clone()));
                }
                Input::Enumerated {
                    id: flight.id,
                    result: Err(e),
                }
            }
        };
        let before = self.reconciler.stats();
        let ended = ended(&input);
        self.feed(now, input);
        self.checks
            .ended(flight.id, ended.judge(before, self.reconciler.stats()));
    }

    fn start_enumeration(&mut self, now: Instant, id: EnumerationId, scope: Scope) {
        if self.in_flight.take().is_some() {
            // The one before timed out in the Reconciler.
            self.backend.cancel_enumeration();
            crate::log::enumeration_failed(&OsError::new("the enumeration timed out"));
        }
        let poll = self.start_backend(&scope);
        self.in_flight = Some(InFlight {
            id,
            scope,
            rounds: 0,
        });
        self.enumeration_progress(now, poll);
    }

    fn start_backend(&mut self, scope: &Scope) -> EnumerationPoll {
        match scope {
            Scope::All => self.backend.start_enumeration(),
            Scope::Targeted(targets) => self.backend.start_refresh(targets),
        }
    }

    fn run_actions(&mut self, now: Instant) {
        while let Some(action) = self.reconciler.poll_action() {
            match action {
                Action::Enumerate { id, scope } if self.ended_this_wake => {
                    self.deferred = Some((id, scope));
                }
                Action::Enumerate { id, scope } => self.start_enumeration(now, id, scope),
                Action::Publish(change) => {
                    // The counters that led to a change are visible no later
                    // than the change itself.
                    self.store_stats();
                    self.shared.publish(&change);
                    self.checks.published(&change);
                }
                Action::RebindMonitor => {
                    self.drop_source();
                    let result = match self.backend.open_source() {
                        Ok(s) => match self.readiness.watch_source(s.as_fd()) {
                            Ok(()) => {
                                self.source = Some(s);
                                self.stats.rebinds_done += 1;
                                Ok(())
                            }
                            Err(e) => Err(OsError::new(e.to_string())),
                        },
                        Err(e) => Err(OsError::new(e.to_string())),
                    };
                    crate::log::rebound(&result);
                    self.feed(now, Input::MonitorRebound(result));
                }
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Every descriptor leaves the poller before it closes.
        self.drop_source();
        if let Some(fd) = self.backend.enumeration_fd() {
            self.readiness.unwatch_dump(fd);
        }
        while let Some(old) = self.backend.take_retired_fd() {
            self.readiness.unwatch_dump(old.as_fd());
        }
        self.shared.close();
    }
}

/// Hands `input` to the recorder, if there is one, as a record timed from
/// `created`. A free function so that the socket drain can record while it
/// holds the Reconciler.
fn record_input(recorder: &mut Option<Recorder>, created: Instant, now: Instant, input: &Input) {
    if let Some(r) = recorder {
        r(TraceRecord::new(
            created,
            now,
            TraceEvent::Input(input.clone()),
        ));
    }
}
