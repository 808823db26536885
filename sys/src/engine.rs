//! [`Engine`]: the runtime-independent half of every driver.
//!
//! A driver owns an `Engine` and does only what its runtime does: wait
//! until the route socket is readable, the deadline [`Engine::poll_timeout`]
//! passes, or [`Shared::check_now`] wakes it, then call [`Engine::wake`].
//! The engine samples the sleep clock, drains the socket (until it would
//! block, so an edge-triggered readiness is never lost), feeds the
//! [`Reconciler`], carries out its actions (enumerate, publish, rebind) and
//! publishes to subscribers through [`Shared`].
//!
//! Enumeration runs synchronously inside `wake` (a netlink dump is answered
//! while it is read: about 0.2 ms with a handful of interfaces, a few
//! milliseconds with hundreds); a driver that cannot afford that on its
//! executor runs the engine on its own thread.
//!
//! The route socket is handed to the driver for readiness as a duplicate
//! descriptor ([`Engine::readiness_fd`]); when the engine replaces the
//! socket (a rebind) its [`Engine::socket_generation`] changes and the
//! driver takes a new duplicate. A duplicate keeps the old socket open until
//! the driver drops it, so a registration never outlives its descriptor.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use netstate_core::fanout::{Fanout, Subscriber};
use netstate_core::{
    Action, Config, EnumerationId, Input, MonitorFailure, OsError, Reconciler, RouteEvent,
    RouteEventKind, Snapshot, Stats,
};

use crate::clock::sleep_clock;

/// What one non-blocking read of a route socket gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRead {
    /// A datagram was read and its hints delivered; read again.
    Read,
    /// A datagram from another sender was dropped; read again.
    Foreign,
    /// Nothing more is queued.
    WouldBlock,
    /// Messages were lost (buffer overflow or a truncated datagram).
    Overflow,
    /// The socket reached its end: it must be replaced.
    Closed,
}

/// A route-monitor socket as the engine reads it.
pub trait EventSource: AsFd + Send {
    /// Reads one datagram without blocking and passes its hints to `out`.
    /// Returns how many of its messages could not be parsed in `malformed`.
    /// An error means the socket is broken and must be replaced.
    fn read(
        &mut self,
        buf: &mut [u8],
        out: &mut dyn FnMut(RouteEvent),
        malformed: &mut u32,
    ) -> io::Result<SourceRead>;

    /// Test hook: stop delivering without any error (a route socket that
    /// "goes quiet forever"). Sources that cannot do it return an error.
    fn go_silent(&self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this source cannot go silent",
        ))
    }
}

/// Why a [`Backend`] gave no snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnumerateFailure {
    /// The table changed under every attempt to read it (interrupted dumps):
    /// not a failure, read again soon without backing off.
    Interrupted,
    /// Reading failed.
    Failed(OsError),
}

impl From<OsError> for EnumerateFailure {
    fn from(e: OsError) -> Self {
        EnumerateFailure::Failed(e)
    }
}

impl std::fmt::Display for EnumerateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnumerateFailure::Interrupted => {
                f.write_str("the interface table kept changing while it was read")
            }
            EnumerateFailure::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// What a [`Backend`] has counted since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnumerationCounters {
    /// Read attempts the kernel marked interrupted or refused as busy, or
    /// whose replies mixed two states; each was read again at once.
    pub interrupted_dumps: u64,
    /// Records skipped because they could not be used (one odd interface
    /// never fails an enumeration).
    pub skipped_records: u64,
}

/// Where an engine gets its route socket and its enumerations from: the
/// operating system (`NetlinkBackend` on Linux, `GetifaddrsBackend` on
/// BSD and macOS), or a test's
/// stand-in.
pub trait Backend: Send {
    /// Opens a route-monitor socket (non-blocking).
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>>;
    /// Reads the whole interface table.
    fn enumerate(&mut self) -> Result<Snapshot, EnumerateFailure>;
    /// What it has counted since it was opened (nothing, unless it says).
    fn counters(&self) -> EnumerationCounters {
        EnumerationCounters::default()
    }
}

/// Counters of the engine, with the Reconciler's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonitorStats {
    /// The Reconciler's counters.
    pub core: Stats,
    /// Datagrams read from the route socket.
    pub datagrams: u64,
    /// Datagrams dropped because the kernel did not send them.
    pub foreign_datagrams: u64,
    /// Messages that could not be parsed (each also counts as a hint).
    pub malformed: u64,
    /// Times the route socket was opened again.
    pub rebinds_done: u64,
    /// Wake-ups of the engine.
    pub wakeups: u64,
    /// Datagrams read during the last wake-up.
    pub last_wake_datagrams: u64,
    /// The most datagrams read during one wake-up.
    pub max_wake_datagrams: u64,
    /// Enumeration attempts the kernel interrupted (the table changed while
    /// it was read), each read again at once; see [`EnumerationCounters`].
    pub interrupted_dumps: u64,
    /// Records an enumeration skipped because they could not be used.
    pub skipped_records: u64,
}

/// Test hooks reachable through [`Shared::hooks`]: they let the conformance
/// suite reproduce the failures netstate must survive. Not for production.
#[derive(Debug, Default)]
pub struct Hooks {
    silence: AtomicBool,
    fail_reads: AtomicBool,
    close_socket: AtomicBool,
    fail_enumerations: AtomicBool,
    paused: Mutex<bool>,
    resumed: Condvar,
}

impl Hooks {
    /// Makes the route socket stop delivering without an error, at the next
    /// wake-up.
    pub fn go_silent(&self) {
        self.silence.store(true, Ordering::SeqCst);
    }

    /// Makes every read of the route socket (this one and every rebound one)
    /// fail with an error, or stop failing.
    pub fn fail_reads(&self, on: bool) {
        self.fail_reads.store(on, Ordering::SeqCst);
    }

    /// Makes the route socket end (as if the kernel closed it) at the next
    /// wake-up; the engine must rebind.
    pub fn close_socket(&self) {
        self.close_socket.store(true, Ordering::SeqCst);
    }

    /// Makes every enumeration fail with an error, or stop failing.
    pub fn fail_enumerations(&self, on: bool) {
        self.fail_enumerations.store(on, Ordering::SeqCst);
    }

    /// Stops the engine at its next wake-up until [`Hooks::resume`]: nothing
    /// is read meanwhile, so the socket's buffer can overflow.
    pub fn pause(&self) {
        *lock(&self.paused) = true;
    }

    /// Lets a paused engine go on.
    pub fn resume(&self) {
        *lock(&self.paused) = false;
        self.resumed.notify_all();
    }

    fn wait_if_paused(&self) {
        let mut paused = lock(&self.paused);
        while *paused {
            paused = self
                .resumed
                .wait(paused)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a monitor shares between its loop and its handles: the current
/// state, the counters, the subscribers, the forced-check flag.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<Arc<Snapshot>>,
    stats: Mutex<MonitorStats>,
    stats_changed: Condvar,
    fanout: Fanout,
    force: AtomicBool,
    generation: AtomicU64,
    hooks: Hooks,
}

impl Shared {
    fn new() -> Self {
        Shared {
            state: Mutex::new(Arc::new(Snapshot::empty())),
            stats: Mutex::new(MonitorStats::default()),
            stats_changed: Condvar::new(),
            fanout: Fanout::default(),
            force: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            hooks: Hooks::default(),
        }
    }

    /// The last published state (empty before the first publication).
    #[must_use]
    pub fn state(&self) -> Arc<Snapshot> {
        lock(&self.state).clone()
    }

    /// The counters as of the last wake-up.
    #[must_use]
    pub fn stats(&self) -> MonitorStats {
        *lock(&self.stats)
    }

    /// Blocks until the counters satisfy `done` (checked after every
    /// wake-up) or `timeout` passes; returns the counters that satisfied it.
    pub fn wait_stats(
        &self,
        timeout: std::time::Duration,
        mut done: impl FnMut(&MonitorStats) -> bool,
    ) -> Option<MonitorStats> {
        let guard = lock(&self.stats);
        let (guard, _) = self
            .stats_changed
            .wait_timeout_while(guard, timeout, |s| !done(s))
            .unwrap_or_else(PoisonError::into_inner);
        let s = *guard;
        drop(guard);
        done(&s).then_some(s)
    }

    /// A subscriber to every change published from now on.
    #[must_use]
    pub fn subscribe(&self) -> Subscriber {
        self.fanout.subscribe()
    }

    /// Asks for a check; the driver must then wake its engine.
    pub fn check_now(&self) {
        self.force.store(true, Ordering::SeqCst);
    }

    /// How many changes have been published (the last `seq`).
    #[must_use]
    pub fn published(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The test hooks.
    #[must_use]
    pub fn hooks(&self) -> &Hooks {
        &self.hooks
    }

    /// Closes every subscriber (the monitor stopped).
    pub fn close(&self) {
        self.fanout.close();
    }
}

/// How many times in a row an interrupted first enumeration is read again
/// at once before the monitor reports that it cannot start (each time is
/// itself a few attempts): a table that never stops changing for that long
/// is not one a start-up can wait for.
const FIRST_ENUMERATION_ROUNDS: u32 = 10;

/// Reads at most this many datagrams per wake-up before letting the driver
/// run other work; [`Woken::more_queued`] then asks to be woken again at once.
const MAX_DATAGRAMS_PER_WAKE: usize = 1024;

/// What [`Engine::wake`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Woken {
    /// Datagrams are still queued: call `wake` again without waiting.
    pub more_queued: bool,
}

/// One input or timeout of the engine's Reconciler, for trace recording.
#[derive(Clone, Copy, Debug)]
pub enum Recorded<'a> {
    /// The Reconciler was created at this call's instant: record times are
    /// offsets from it. Always the first call a recorder gets.
    Start,
    /// `handle_input` was called with this input.
    Input(&'a Input),
    /// `handle_timeout` was called.
    Timeout,
}

/// A callback that receives every input the Reconciler gets, with its time.
pub type Recorder = Box<dyn FnMut(Instant, Recorded<'_>) + Send>;

/// The runtime-independent monitor loop body. See the module docs.
pub struct Engine {
    reconciler: Reconciler,
    backend: Box<dyn Backend>,
    source: Option<Box<dyn EventSource>>,
    generation: u64,
    shared: Arc<Shared>,
    buf: Vec<u8>,
    stats: MonitorStats,
    recorder: Option<Recorder>,
    silenced: bool,
    created: Instant,
    /// An enumeration was carried out during this wake-up: another one asked
    /// for waits for the next (so a table that keeps changing never holds
    /// the driver's loop).
    enumerated_this_wake: bool,
    /// The enumeration asked for while one already ran this wake-up.
    deferred: Option<EnumerationId>,
    last_error: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("reconciler", &self.reconciler)
            .field("generation", &self.generation)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `backend`: opens the route socket (an error here is
    /// returned: the monitor cannot start) and asks for the first
    /// enumeration. Call [`wake`](Self::wake) to run it.
    pub fn new(config: Config, mut backend: Box<dyn Backend>, now: Instant) -> io::Result<Self> {
        let source = backend.open_source()?;
        Ok(Engine {
            reconciler: Reconciler::new(config, now),
            backend,
            source: Some(source),
            generation: 1,
            shared: Arc::new(Shared::new()),
            buf: vec![0; 64 << 10],
            stats: MonitorStats::default(),
            recorder: None,
            silenced: false,
            created: now,
            enumerated_this_wake: false,
            deferred: None,
            last_error: None,
        })
    }

    /// Records every input and timeout from now on (`netstate record`);
    /// the recorder first gets [`Recorded::Start`] with the instant the
    /// Reconciler was created. Set it before the first [`wake`](Self::wake)
    /// for a trace that replays from the start.
    pub fn set_recorder(&mut self, mut recorder: Recorder) {
        recorder(self.created, Recorded::Start);
        self.recorder = Some(recorder);
    }

    /// The handle shared with the monitor's users.
    #[must_use]
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Changes each time the route socket is replaced (or dropped after a
    /// failure): the driver must then take a new [`readiness_fd`](Self::readiness_fd).
    #[must_use]
    pub fn socket_generation(&self) -> u64 {
        self.generation
    }

    /// A duplicate of the route socket's descriptor to wait for readiness
    /// on, or `None` while there is no working socket (it failed and a
    /// rebind is pending: only the timer matters then).
    pub fn readiness_fd(&self) -> Option<io::Result<OwnedFd>> {
        self.source.as_ref().map(|s| s.as_fd().try_clone_to_owned())
    }

    /// When the driver must wake the engine at the latest.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.reconciler.poll_timeout()
    }

    /// Whether the first state has been published.
    #[must_use]
    pub fn started(&self) -> bool {
        self.reconciler.state().is_some()
    }

    /// Why the last enumeration that gave no snapshot gave none (for the
    /// error of a monitor that could not start).
    #[must_use]
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Runs one wake-up at `now`: samples the sleep clock, takes a forced
    /// check, drains the route socket, runs expired timers and carries out
    /// every action.
    pub fn wake(&mut self, now: Instant) -> Woken {
        self.shared.hooks.wait_if_paused();
        self.enumerated_this_wake = false;
        if let Some(id) = self.deferred.take() {
            self.enumerate(now, id);
            self.run_actions(now);
        }
        self.feed(now, Input::SleepClock(sleep_clock()));
        if self.shared.force.swap(false, Ordering::SeqCst) {
            self.feed(now, Input::ForceCheck);
        }
        if self.shared.hooks.silence.load(Ordering::SeqCst) && !self.silenced {
            if let Some(s) = &self.source {
                self.silenced = s.go_silent().is_ok();
            }
        }
        self.stats.wakeups += 1;
        let before = self.stats.datagrams + self.stats.foreign_datagrams;
        let more_queued = self.drain(now);
        self.run_actions(now);
        self.stats.last_wake_datagrams =
            self.stats.datagrams + self.stats.foreign_datagrams - before;
        self.stats.max_wake_datagrams = self
            .stats
            .max_wake_datagrams
            .max(self.stats.last_wake_datagrams);
        if let Some(r) = &mut self.recorder {
            r(now, Recorded::Timeout);
        }
        self.reconciler.handle_timeout(now);
        self.run_actions(now);
        self.store_stats();
        Woken {
            more_queued: more_queued || self.deferred.is_some(),
        }
    }

    /// Carries out the enumeration `id`. Before the first state, an
    /// interrupted read is tried again at once (a few rounds): a monitor's
    /// start must not fail because the table was busy, nor wait a debounce.
    fn enumerate(&mut self, now: Instant, id: EnumerationId) {
        self.enumerated_this_wake = true;
        let mut rounds = 1;
        let result = loop {
            let result = if self.shared.hooks.fail_enumerations.load(Ordering::SeqCst) {
                Err(EnumerateFailure::Failed(OsError::new(
                    "injected enumeration failure",
                )))
            } else {
                self.backend.enumerate()
            };
            let first_state_interrupted =
                !self.started() && result == Err(EnumerateFailure::Interrupted);
            if !first_state_interrupted || rounds >= FIRST_ENUMERATION_ROUNDS {
                break result;
            }
            rounds += 1;
        };
        let counters = self.backend.counters();
        self.stats.interrupted_dumps = counters.interrupted_dumps;
        self.stats.skipped_records = counters.skipped_records;
        let input = match result {
            Ok(snapshot) => Input::Enumerated {
                id,
                result: Ok(snapshot),
            },
            Err(EnumerateFailure::Interrupted) => {
                self.last_error = Some(EnumerateFailure::Interrupted.to_string());
                Input::EnumerationInterrupted { id }
            }
            Err(EnumerateFailure::Failed(e)) => {
                self.last_error = Some(e.to_string());
                Input::Enumerated { id, result: Err(e) }
            }
        };
        if let Some(r) = &mut self.recorder {
            r(now, Recorded::Input(&input));
        }
        self.reconciler.handle_input(now, input);
    }

    /// Publishes the counters to [`Shared`] and wakes [`Shared::wait_stats`].
    fn store_stats(&self) {
        *lock(&self.shared.stats) = MonitorStats {
            core: self.reconciler.stats(),
            ..self.stats
        };
        self.shared.stats_changed.notify_all();
    }

    fn feed(&mut self, now: Instant, input: Input) {
        self.feed_only(now, input);
        self.run_actions(now);
    }

    /// Feeds an input without carrying out the actions yet: the hints of
    /// one drain are all fed before the first enumeration runs, so a burst
    /// read at one wake-up costs one enumeration, not one per message.
    fn feed_only(&mut self, now: Instant, input: Input) {
        if let Some(r) = &mut self.recorder {
            r(now, Recorded::Input(&input));
        }
        self.reconciler.handle_input(now, input);
    }

    /// Reads until the socket would block (or the per-wake cap).
    fn drain(&mut self, now: Instant) -> bool {
        for _ in 0..MAX_DATAGRAMS_PER_WAKE {
            let Some(source) = self.source.as_mut() else {
                return false;
            };
            let mut malformed = 0;
            let result = if self.shared.hooks.fail_reads.load(Ordering::SeqCst) {
                Err(io::Error::other("injected read failure"))
            } else if self.shared.hooks.close_socket.swap(false, Ordering::SeqCst) {
                Ok(SourceRead::Closed)
            } else {
                // Each hint goes straight into the core as it is parsed (no
                // buffer); actions wait until the whole drain is fed.
                let (reconciler, recorder) = (&mut self.reconciler, &mut self.recorder);
                let mut hint = |e| {
                    let input = Input::Route(e);
                    if let Some(r) = recorder {
                        r(now, Recorded::Input(&input));
                    }
                    reconciler.handle_input(now, input);
                };
                source.read(&mut self.buf, &mut hint, &mut malformed)
            };
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
                self.feed_only(now, Input::Route(RouteEvent::new(RouteEventKind::Unknown)));
            }
            match failure {
                None => {}
                Some(MonitorFailure::Overflow) => {
                    self.feed_only(now, Input::MonitorFailed(MonitorFailure::Overflow))
                }
                Some(kind) => {
                    // The socket is broken: stop reading it until a rebind.
                    self.source = None;
                    self.generation += 1;
                    self.feed_only(now, Input::MonitorFailed(kind));
                    return false;
                }
            }
        }
        true
    }

    fn run_actions(&mut self, now: Instant) {
        while let Some(action) = self.reconciler.poll_action() {
            match action {
                Action::Enumerate { id } if self.enumerated_this_wake => {
                    // One enumeration per wake-up: the driver wakes again at
                    // once (`more_queued`) and may run other work first.
                    self.deferred = Some(id);
                }
                Action::Enumerate { id } => self.enumerate(now, id),
                Action::Publish(change) => {
                    // The counters that led to a change are visible no later
                    // than the change itself.
                    self.store_stats();
                    *lock(&self.shared.state) = change.new.clone();
                    self.shared.generation.store(change.seq, Ordering::SeqCst);
                    self.shared.fanout.publish(&change);
                }
                Action::RebindMonitor => {
                    let result = match self.backend.open_source() {
                        Ok(s) => {
                            self.source = Some(s);
                            self.silenced = false;
                            self.generation += 1;
                            self.stats.rebinds_done += 1;
                            Ok(())
                        }
                        Err(e) => Err(OsError::new(e.to_string())),
                    };
                    let input = Input::MonitorRebound(result);
                    if let Some(r) = &mut self.recorder {
                        r(now, Recorded::Input(&input));
                    }
                    self.reconciler.handle_input(now, input);
                }
            }
        }
    }
}
