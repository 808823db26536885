//! The deterministic simulation: [`Sim`] runs a [`Core`] (the
//! [`Reconciler`]) against a simulated host on a virtual clock.
//!
//! # What is simulated
//!
//! * **Time.** A virtual monotonic clock (an [`Instant`] taken once, plus an
//!   offset) that jumps straight to the next event, and a separate clock
//!   that counts suspended time (Linux `CLOCK_BOOTTIME`, else the wall
//!   clock), fed to the core as [`Input::SleepClock`] at every wake-up of
//!   the driver. [`Sim::suspend`] moves the second clock forward without the
//!   first (suspend and resume; the driver wakes at resume),
//!   [`Sim::step_clock_back`] steps it back (an NTP correction).
//! * **The truth.** A [`NetTable`] changed by a script, by random
//!   [`NetOp`]s or by hand.
//! * **The route socket** between the truth and the core, with
//!   [`SocketFaults`] and scripted [`SocketFault`]s.
//! * **The driver.** It carries out the core's actions like a real driver:
//!   an enumeration takes simulated time, reads the truth at one instant
//!   during it (so it races with changes), and can fail or hang
//!   ([`EnumerationModel`]); a rebind takes time and can fail.
//!
//! Events at the same instant run in a fixed order (script, enumeration
//! reads, socket deliveries, enumeration answers, rebind answers, then the
//! core's timer), ties broken by scheduling order, and every random draw
//! comes from the seed: the same seed and script give the same run.
//!
//! # What is recorded
//!
//! [`Observations`] (the truth's history, every publication, enumeration and
//! input, for the property checkers in [`crate::props`]), a human-readable
//! [`Sim::log`], and the exact trace of the core's inputs in the format of
//! [`netstate_core::trace`] ([`Sim::trace`]; written as JSON lines by
//! [`Trace::from_sim`](crate::replay::Trace::from_sim)), which replays to
//! the same publications. (For the Reconciler: a core that batches an
//! instant's inputs, as [`EngineCore`](crate::EngineCore) does, is given
//! them in the same order but polled once per instant, and the engine adds
//! inputs of its own; its trace is the simulation's view, not the
//! engine's. The engine records its own with `Engine::set_recorder`.)

use core::fmt;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netstate_core::trace::{TraceEvent, TraceRecord};
use netstate_core::{
    Action, Cause, Change, Config, EnumerationId, Input, MonitorFailure, OsError, Reconciler,
    Refresh, RouteEvent, RouteEventKind, RouteHop, RouteHops, Scope, Snapshot, Targets,
};
use serde::{Deserialize, Serialize};

use crate::net::{describe, slot_name, NetError, NetOp, NetTable};
use crate::rng::SimRng;
use crate::socket::{Delivery, Fate, SimSocket, SocketFault, SocketFaults, SocketState};

/// The state machine a [`Sim`] drives: the [`Reconciler`]'s inputs and
/// outputs. Implemented by the `Reconciler`; tests implement it for
/// deliberately broken variants to prove the properties can fail.
pub trait Core {
    /// [`Reconciler::handle_input`].
    fn handle_input(&mut self, now: Instant, input: Input);
    /// [`Reconciler::handle_timeout`].
    fn handle_timeout(&mut self, now: Instant);
    /// [`Reconciler::poll_action`].
    fn poll_action(&mut self) -> Option<Action>;
    /// [`Reconciler::poll_timeout`].
    fn poll_timeout(&self) -> Option<Instant>;
    /// Whether the driver feeds every input of one instant before it polls
    /// the actions, as an engine's wake-up reads a whole burst (the
    /// Reconciler's contract allows both). By default actions are polled
    /// after every input.
    fn batches_inputs(&self) -> bool {
        false
    }
    /// Whether the core carries out a rebind itself when it asks for one,
    /// in no time (the engine opens the socket in its wake-up): the
    /// simulated rebind then answers at the same instant instead of after
    /// [`SimParams::rebind_ms`].
    fn rebinds_at_once(&self) -> bool {
        false
    }
}

impl Core for Reconciler {
    fn handle_input(&mut self, now: Instant, input: Input) {
        Reconciler::handle_input(self, now, input);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Reconciler::handle_timeout(self, now);
    }
    fn poll_action(&mut self) -> Option<Action> {
        Reconciler::poll_action(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Reconciler::poll_timeout(self)
    }
}

/// How the simulated driver's enumerations behave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnumerationModel {
    /// An enumeration takes a duration drawn in this range (ms); it reads the
    /// truth at an instant drawn within it. Must stay below the
    /// configuration's enumeration timeout.
    pub duration_ms: [u64; 2],
    /// Each enumeration fails with this probability (per thousand).
    pub fail_per_mille: u16,
    /// Each enumeration hangs with this probability (per thousand): it does
    /// not answer before the core's enumeration timeout (half of them answer
    /// late, the others never).
    pub hang_per_mille: u16,
    /// After this many failures or hangs in a row the next enumeration
    /// succeeds, so that failures cannot last forever.
    pub max_consecutive_failures: u32,
}

impl Default for EnumerationModel {
    fn default() -> Self {
        EnumerationModel {
            duration_ms: [1, 20],
            fail_per_mille: 0,
            hang_per_mille: 0,
            max_consecutive_failures: 0,
        }
    }
}

impl EnumerationModel {
    /// Whether any enumeration can fail or hang.
    #[must_use]
    pub fn can_fail(&self) -> bool {
        self.max_consecutive_failures > 0 && (self.fail_per_mille > 0 || self.hang_per_mille > 0)
    }
}

/// Everything about the simulated host but its interfaces.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimParams {
    /// The route socket's faults.
    pub socket: SocketFaults,
    /// The enumerations' behaviour.
    pub enumeration: EnumerationModel,
    /// A rebind takes a duration drawn in this range (ms).
    pub rebind_ms: [u64; 2],
}

/// Why a simulation stopped or could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// The parameters make no sense with this configuration; the text says
    /// which. Fix the parameters.
    InvalidParams(String),
    /// The core asked for work at the same instant over and over (a busy
    /// loop): it never lets virtual time advance. A bug in the core.
    BusyLoop {
        /// The instant it got stuck at, since the start.
        at: Duration,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::InvalidParams(why) => write!(f, "invalid simulation parameters: {why}"),
            SimError::BusyLoop { at } => {
                write!(f, "the core busy-loops at {at:?}: time cannot advance")
            }
        }
    }
}

impl std::error::Error for SimError {}

/// One step of a script, applied at its instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Change the truth.
    Net(NetOp),
    /// The kernel re-announces something about slot `slot` every `period_ms`
    /// (`count` times): hints with no change, a storm.
    Storm {
        /// The interface slot the hints name.
        slot: u8,
        /// The time between two hints (ms, at least 1).
        period_ms: u64,
        /// How many hints.
        count: u32,
    },
    /// The host sleeps for `ms` and resumes.
    Suspend {
        /// How long it sleeps (ms).
        ms: u64,
    },
    /// The clock that counts suspended time steps back by `ms` (NTP).
    ClockBack {
        /// By how much (ms).
        ms: u64,
    },
    /// The application asks for a check.
    ForceCheck,
    /// A socket failure.
    Socket(SocketFault),
}

/// Something the simulated driver fed the core, as the property checkers
/// need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fed {
    /// A route hint.
    Route,
    /// A reading of the clock that counts suspended time.
    SleepClock(Duration),
    /// An enumeration's answer, successful or not.
    Enumerated {
        /// The id it answered.
        id: EnumerationId,
        /// Whether it carried a snapshot.
        ok: bool,
    },
    /// An enumeration that reports the table changed under every read.
    Interrupted(EnumerationId),
    /// A socket failure report.
    MonitorFailed(MonitorFailure),
    /// A rebind's result.
    Rebound(bool),
    /// A forced check.
    ForceCheck,
}

/// How a simulated enumeration ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It answers with the snapshot it read.
    Ok,
    /// It answers with an error.
    Failed,
    /// It does not answer before the enumeration timeout.
    Hang,
}

/// One enumeration the core asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumerationRecord {
    /// Its id.
    pub id: EnumerationId,
    /// When the core asked for it.
    pub started: Duration,
    /// How it ends.
    pub outcome: Outcome,
    /// When the driver answers it, if ever.
    pub answered: Option<Duration>,
    /// When it read the truth (for a successful one).
    pub read_at: Option<Duration>,
    /// What it read, through the configuration's filter: the whole truth at
    /// its read, also for a targeted read (which answers only the part
    /// [`EnumerationRecord::targets`] names).
    pub read: Option<Arc<Snapshot>>,
    /// For a targeted read ([`Scope::Targeted`]), the interfaces it read
    /// (with the default routes); `None` for a full read.
    pub targets: Option<Targets>,
    /// How many inputs had been fed when it was asked for: it was asked for
    /// while the core handled input number `fed_before - 1` (or a timeout
    /// after it).
    pub fed_before: usize,
}

/// A suspend of the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suspend {
    /// When the host resumed.
    pub at: Duration,
    /// How long it slept.
    pub slept: Duration,
    /// The index in [`Observations::fed`] of the sleep-clock reading taken
    /// at resume.
    pub resume_input: usize,
}

/// A step back of the sleep clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockStep {
    /// When.
    pub at: Duration,
    /// By how much.
    pub back: Duration,
    /// How many inputs had been fed before it.
    pub fed_before: usize,
}

/// What a simulation observed, for the property checkers.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    /// The truth as the core should see it (through the filter): at 0, then
    /// at each instant it changed.
    pub truth: Vec<(Duration, Arc<Snapshot>)>,
    /// Every publication, with its instant.
    pub publications: Vec<(Duration, Change)>,
    /// Every enumeration, in the order asked for.
    pub enumerations: Vec<EnumerationRecord>,
    /// Every input the driver fed, with its instant.
    pub fed: Vec<(Duration, Fed)>,
    /// Every rebind the core asked for.
    pub rebind_requests: Vec<Duration>,
    /// Every suspend.
    pub suspends: Vec<Suspend>,
    /// Every step back of the sleep clock.
    pub clock_steps_back: Vec<ClockStep>,
    /// Every scripted socket failure and when.
    pub socket_faults: Vec<(Duration, SocketFault)>,
    /// Whether actions were polled once per instant rather than after
    /// every input ([`Core::batches_inputs`]): an enumeration's
    /// [`EnumerationRecord::fed_before`] then counts every input of the
    /// instant it was asked at.
    pub batched: bool,
    /// Route hints sent by the kernel (before the socket's faults).
    pub hints_sent: u64,
    /// Until when the simulation ran.
    pub end: Duration,
}

impl Observations {
    /// The number of enumerations asked for.
    #[must_use]
    pub fn enumeration_count(&self) -> usize {
        self.enumerations.len()
    }

    /// The number of times the truth changed (after the start).
    #[must_use]
    pub fn truth_changes(&self) -> usize {
        self.truth.len().saturating_sub(1)
    }

    /// The last published state at or before `t`, if any.
    #[must_use]
    pub fn published_at(&self, t: Duration) -> Option<&Arc<Snapshot>> {
        let n = self.publications.partition_point(|(at, _)| *at <= t);
        n.checked_sub(1).map(|i| &self.publications[i].1.new)
    }
}

/// One line of a simulation's log.
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// When, since the start.
    pub at: Duration,
    /// What happened.
    pub what: LogEvent,
}

/// What a log line says.
#[derive(Clone, Debug)]
pub enum LogEvent {
    /// The truth changed (or a change did not apply).
    Truth {
        /// What was done.
        op: String,
        /// The truth after it.
        now: Arc<Snapshot>,
    },
    /// The kernel sent a hint; what the socket did with it.
    Sent(RouteEvent, Fate),
    /// A scripted socket fault.
    SocketFault(SocketFault),
    /// The host slept this long and resumed.
    Suspend(Duration),
    /// The sleep clock stepped back by this much.
    ClockBack(Duration),
    /// An input fed to the core.
    Input(String),
    /// The core's timer ran out.
    Timeout,
    /// The core asked for an enumeration, which will end so.
    Enumerate(EnumerationId, Outcome),
    /// An enumeration read the truth.
    Read(EnumerationId, Arc<Snapshot>),
    /// The core asked for a rebind.
    Rebind,
    /// The core published.
    Publish {
        /// Its sequence number.
        seq: u64,
        /// Its cause.
        cause: Cause,
        /// The new state.
        state: Arc<Snapshot>,
    },
}

impl fmt::Display for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:>10.3}s] ", self.at.as_secs_f64())?;
        match &self.what {
            LogEvent::Truth { op, now } => write!(f, "truth   {op} => {}", describe(now)),
            LogEvent::Sent(e, fate) => write!(f, "kernel  sends {} -> {fate:?}", hint_text(e)),
            LogEvent::SocketFault(x) => write!(f, "socket  {x:?}"),
            LogEvent::Suspend(d) => write!(f, "host    slept {d:?} and resumed"),
            LogEvent::ClockBack(d) => write!(f, "clock   stepped back {d:?}"),
            LogEvent::Input(s) => write!(f, "input   {s}"),
            LogEvent::Timeout => f.write_str("timeout"),
            LogEvent::Enumerate(id, o) => write!(f, "action  enumerate #{} ({o:?})", id.0),
            LogEvent::Read(id, s) => write!(f, "read    #{} {}", id.0, describe(s)),
            LogEvent::Rebind => f.write_str("action  rebind"),
            LogEvent::Publish { seq, cause, state } => write!(
                f,
                "PUBLISH seq={seq} cause={} {}",
                cause.as_str(),
                describe(state)
            ),
        }
    }
}

fn hint_text(e: &RouteEvent) -> String {
    let mut s = format!("{:?}", e.kind);
    if let Some(f) = e.family {
        s.push_str(&format!(" {f:?}"));
    }
    if let Some(i) = e.index {
        s.push_str(&format!(" #{i}"));
    }
    if let Some(n) = e.name.as_ref().and_then(|n| n.as_str()) {
        s.push_str(&format!(" {n}"));
    }
    s
}

fn input_text(input: &Input) -> String {
    match input {
        Input::Route(e) => format!("route {}", hint_text(e)),
        Input::SleepClock(d) => format!("sleep_clock {:.3}s", d.as_secs_f64()),
        Input::Enumerated { id, result } => match result {
            Ok(s) => format!("enumerated #{} ok {}", id.0, describe(s)),
            Err(e) => format!("enumerated #{} error {e}", id.0),
        },
        Input::Refreshed { id, result } => match result {
            Ok(r) => format!(
                "refreshed #{} ok {:?} {}",
                id.0,
                r.targets().as_slice(),
                describe(
                    &Snapshot::new(r.found().iter().cloned().collect(), Default::default())
                        .unwrap_or_default()
                )
            ),
            Err(e) => format!("refreshed #{} error {e}", id.0),
        },
        Input::EnumerationInterrupted { id } => format!("enumerated #{} interrupted", id.0),
        Input::MonitorFailed(k) => format!("monitor_failed {k:?}"),
        Input::MonitorRebound(Ok(())) => "monitor_rebound ok".into(),
        Input::MonitorRebound(Err(e)) => format!("monitor_rebound error {e}"),
        Input::ForceCheck => "force_check".into(),
    }
}

#[derive(Clone, Debug)]
enum Event {
    Step(Step),
    Storm {
        slot: u8,
        period: Duration,
        left: u32,
    },
    Read(EnumerationId),
    Deliver(Delivery),
    Answer(EnumerationId),
    Rebound(bool),
}

impl Event {
    /// The order of events at the same instant.
    fn class(&self) -> u8 {
        match self {
            Event::Step(_) | Event::Storm { .. } => 0,
            Event::Read(_) => 1,
            Event::Deliver(_) => 2,
            Event::Answer(_) => 3,
            Event::Rebound(_) => 4,
        }
    }
}

#[derive(Debug)]
struct Queued {
    at: Duration,
    class: u8,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}
impl Queued {
    fn key(&self) -> (Duration, u8, u64) {
        (self.at, self.class, self.seq)
    }
}

#[derive(Clone, Debug)]
struct Pending {
    outcome: Outcome,
    read: Option<Snapshot>,
    scope: Scope,
}

/// The most events that may run at one instant before the run counts as a
/// busy loop.
const MAX_EVENTS_PER_INSTANT: u32 = 100_000;

/// Where the sleep clock starts (a wall clock in late 2023).
const SLEEP_CLOCK_BASE: Duration = Duration::from_secs(1_700_000_000);

const STREAM_SOCKET: usize = 0;
const STREAM_ENUMERATION: usize = 1;
const STREAM_REBIND: usize = 2;

/// A deterministic simulation of a host, its route socket and a driver
/// around a [`Core`].
///
/// Build one with [`Sim::new`] (the real [`Reconciler`]) or
/// [`Sim::with_core`], change the truth with [`Sim::change`] or
/// [`Sim::apply`], schedule a script with [`Sim::schedule`], and run it with
/// [`Sim::run_until`] / [`Sim::advance`], which jump from event to event.
pub struct Sim<C: Core = Reconciler> {
    core: C,
    config: Config,
    params: SimParams,
    seed: u64,
    start: Instant,
    now: Duration,
    sleep_adjust_ns: i128,
    truth: NetTable,
    socket: SimSocket,
    /// The instant of the last draw and the draws made at it, per stream.
    draws: (Duration, [u64; 3]),
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    pending: BTreeMap<EnumerationId, Pending>,
    consecutive_failures: u32,
    obs: Observations,
    log: Option<Vec<LogEntry>>,
    trace: Vec<TraceRecord>,
    tracing: bool,
    same_instant: (Duration, u32),
    deliveries: Vec<(Duration, Delivery)>,
    /// Inputs were fed (batching) and the actions not yet polled.
    undrained: bool,
}

impl<C: Core> fmt::Debug for Sim<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("truth", &describe(self.truth.snapshot()))
            .field("socket", &self.socket.state)
            .finish_non_exhaustive()
    }
}

impl Sim<Reconciler> {
    /// A simulation of the real [`Reconciler`] with `config`, on a host whose
    /// interfaces start as `truth`, every random draw derived from `seed`.
    pub fn new(
        config: Config,
        params: SimParams,
        truth: NetTable,
        seed: u64,
    ) -> Result<Self, SimError> {
        Sim::with_core(Reconciler::new, config, params, truth, seed)
    }
}

impl<C: Core> Sim<C> {
    /// A simulation of the core `make(config, start)` builds.
    pub fn with_core(
        make: impl FnOnce(Config, Instant) -> C,
        config: Config,
        params: SimParams,
        truth: NetTable,
        seed: u64,
    ) -> Result<Self, SimError> {
        let e = &params.enumeration;
        if e.duration_ms[0] > e.duration_ms[1] || params.rebind_ms[0] > params.rebind_ms[1] {
            return Err(SimError::InvalidParams(
                "a duration range's minimum exceeds its maximum".into(),
            ));
        }
        if Duration::from_millis(e.duration_ms[1]) >= config.enumeration_timeout() {
            return Err(SimError::InvalidParams(format!(
                "enumerations of up to {} ms would time out (timeout {:?})",
                e.duration_ms[1],
                config.enumeration_timeout()
            )));
        }
        let s = &params.socket;
        if s.delay_ms[0] > s.delay_ms[1] {
            return Err(SimError::InvalidParams(
                "socket delay range is reversed".into(),
            ));
        }
        let start = Instant::now();
        let core = make(config.clone(), start);
        let mut sim = Sim {
            core,
            socket: SimSocket::new(params.socket.clone()),
            draws: (Duration::ZERO, [0; 3]),
            config,
            params,
            seed,
            start,
            now: Duration::ZERO,
            sleep_adjust_ns: 0,
            truth,
            queue: BinaryHeap::new(),
            seq: 0,
            pending: BTreeMap::new(),
            consecutive_failures: 0,
            obs: Observations::default(),
            log: Some(Vec::new()),
            trace: Vec::new(),
            tracing: true,
            same_instant: (Duration::ZERO, 0),
            deliveries: Vec::new(),
            undrained: false,
        };
        sim.obs.batched = sim.core.batches_inputs();
        let first = Arc::new(sim.filtered(sim.truth.snapshot()));
        sim.obs.truth.push((Duration::ZERO, first));
        // The driver starts: its first wake-up reads the sleep clock, then
        // carries out the core's first actions.
        sim.feed(Input::SleepClock(sim.sleep_clock()));
        Ok(sim)
    }

    /// The seed every random draw derives from.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The configuration the core runs with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The host's parameters.
    #[must_use]
    pub fn params(&self) -> &SimParams {
        &self.params
    }

    /// The virtual time since the start.
    #[must_use]
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The virtual monotonic clock's reading (the `now` the core is given).
    #[must_use]
    pub fn instant(&self) -> Instant {
        self.start + self.now
    }

    /// The reading of the clock that counts suspended time.
    #[must_use]
    pub fn sleep_clock(&self) -> Duration {
        let ns = SLEEP_CLOCK_BASE.as_nanos() as i128
            + self.now.as_nanos() as i128
            + self.sleep_adjust_ns;
        Duration::from_nanos(u64::try_from(ns.max(0)).unwrap_or(u64::MAX))
    }

    /// The core.
    #[must_use]
    pub fn core(&self) -> &C {
        &self.core
    }

    /// The truth.
    #[must_use]
    pub fn truth(&self) -> &NetTable {
        &self.truth
    }

    /// The state the core should converge to: the truth through the
    /// configuration's filter.
    #[must_use]
    pub fn expected_state(&self) -> Snapshot {
        self.filtered(self.truth.snapshot())
    }

    /// The route socket's state.
    #[must_use]
    pub fn socket_state(&self) -> SocketState {
        self.socket.state
    }

    /// Replaces the socket's faults from now on.
    pub fn set_socket_faults(&mut self, faults: SocketFaults) {
        self.socket.faults = faults.clone();
        self.params.socket = faults;
    }

    /// What was observed so far.
    #[must_use]
    pub fn observations(&self) -> &Observations {
        &self.obs
    }

    /// Takes the observations out (the simulation keeps recording afresh).
    pub fn take_observations(&mut self) -> Observations {
        let fresh = Observations {
            truth: self.obs.truth.last().cloned().into_iter().collect(),
            end: self.now,
            ..Observations::default()
        };
        std::mem::replace(&mut self.obs, fresh)
    }

    /// Stops (or restarts) keeping the human-readable log; the observations
    /// and the trace are always kept.
    pub fn set_logging(&mut self, on: bool) {
        match (on, self.log.is_some()) {
            (true, false) => self.log = Some(Vec::new()),
            (false, true) => self.log = None,
            _ => {}
        }
    }

    /// Stops (or restarts) recording the trace of the core's inputs.
    pub fn set_tracing(&mut self, on: bool) {
        self.tracing = on;
    }

    /// The log so far (empty when logging is off).
    #[must_use]
    pub fn log(&self) -> &[LogEntry] {
        self.log.as_deref().unwrap_or(&[])
    }

    /// The log as text, one line per entry.
    #[must_use]
    pub fn log_text(&self) -> String {
        let mut s = String::new();
        for e in self.log() {
            s.push_str(&e.to_string());
            s.push('\n');
        }
        s
    }

    /// Every input and timeout given to the core, as trace records.
    #[must_use]
    pub fn trace(&self) -> &[TraceRecord] {
        &self.trace
    }

    fn filtered(&self, s: &Snapshot) -> Snapshot {
        let filter = self.config.filter();
        if filter.ignores_nothing() {
            s.clone()
        } else {
            s.clone().retain(|i| filter.keeps(i))
        }
    }

    fn note(&mut self, what: LogEvent) {
        if let Some(log) = &mut self.log {
            log.push(LogEntry { at: self.now, what });
        }
    }

    fn push(&mut self, at: Duration, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            class: event.class(),
            seq: self.seq,
            event,
        }));
    }

    /// Schedules a script step `after` from now.
    pub fn schedule(&mut self, after: Duration, step: Step) {
        self.push(self.now + after, Event::Step(step));
    }

    // ----- changes at the current instant -----

    /// Changes the truth now with `f`, which returns the hints the kernel
    /// sends (as [`NetTable`]'s methods do); they go through the socket.
    pub fn change(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut NetTable) -> Result<Vec<RouteEvent>, NetError>,
    ) -> Result<(), NetError> {
        let hints = f(&mut self.truth)?;
        self.truth_changed(what.to_owned(), hints);
        Ok(())
    }

    /// Applies a random-scenario operation now.
    pub fn apply(&mut self, op: NetOp) {
        let hints = op.apply(&mut self.truth);
        self.truth_changed(format!("{op:?}"), hints);
    }

    fn truth_changed(&mut self, op: String, hints: Vec<RouteEvent>) {
        let now_state = Arc::new(self.filtered(self.truth.snapshot()));
        if self.log.is_some() {
            let full = Arc::new(self.truth.snapshot().clone());
            self.note(LogEvent::Truth { op, now: full });
        }
        if self.obs.truth.last().map(|(_, s)| s) != Some(&now_state) {
            self.obs.truth.push((self.now, now_state));
        }
        for h in hints {
            self.send(h);
        }
    }

    /// The kernel sends `hint` now without any change (a re-announcement).
    pub fn send(&mut self, hint: RouteEvent) {
        self.obs.hints_sent += 1;
        let mut out = std::mem::take(&mut self.deliveries);
        let mut rng = self.draw(STREAM_SOCKET);
        let fate = self.socket.send(self.now, hint, &mut rng, &mut out);
        self.note(LogEvent::Sent(hint, fate));
        for (at, d) in out.drain(..) {
            self.push(at, Event::Deliver(d));
        }
        self.deliveries = out;
    }

    /// Injects a socket failure now.
    pub fn socket_fault(&mut self, fault: SocketFault) {
        self.obs.socket_faults.push((self.now, fault));
        self.note(LogEvent::SocketFault(fault));
        if self.socket.state != SocketState::Open {
            return;
        }
        let mut out = std::mem::take(&mut self.deliveries);
        match fault {
            SocketFault::Overflow => {
                self.socket.overflow(self.now, &mut out);
            }
            SocketFault::Error => {
                self.socket.fail(self.now, MonitorFailure::Error, &mut out);
            }
            SocketFault::Close => {
                self.socket.fail(self.now, MonitorFailure::Closed, &mut out);
            }
            SocketFault::Silent => self.socket.go_silent(),
        }
        for (at, d) in out.drain(..) {
            self.push(at, Event::Deliver(d));
        }
        self.deliveries = out;
    }

    /// The host sleeps for `d` and resumes now: the sleep clock jumps ahead,
    /// the monotonic clock does not, and the driver wakes.
    pub fn suspend(&mut self, d: Duration) {
        self.sleep_adjust_ns += d.as_nanos() as i128;
        self.obs.suspends.push(Suspend {
            at: self.now,
            slept: d,
            resume_input: self.obs.fed.len(),
        });
        self.note(LogEvent::Suspend(d));
        self.feed(Input::SleepClock(self.sleep_clock()));
    }

    /// The sleep clock steps back by `d` (an NTP correction of a wall clock);
    /// the driver reads it at its next wake-up.
    pub fn step_clock_back(&mut self, d: Duration) {
        self.sleep_adjust_ns -= d.as_nanos() as i128;
        self.obs.clock_steps_back.push(ClockStep {
            at: self.now,
            back: d,
            fed_before: self.obs.fed.len(),
        });
        self.note(LogEvent::ClockBack(d));
    }

    /// The application asks for a check now.
    pub fn force_check(&mut self) {
        self.wake();
        self.feed(Input::ForceCheck);
    }

    // ----- running -----

    /// Runs every event up to and including `end` (since the start), then
    /// sets the clock to `end`.
    pub fn run_until(&mut self, end: Duration) -> Result<(), SimError> {
        while let Some(at) = self.settle_and_next_event() {
            if at > end {
                break;
            }
            self.step_to(at)?;
        }
        self.now = self.now.max(end);
        self.obs.end = self.now;
        Ok(())
    }

    /// Runs event by event until `done` holds (checked before each event)
    /// or the clock would pass `limit`; returns whether `done` held.
    pub fn run_until_condition(
        &mut self,
        limit: Duration,
        done: impl Fn(&Observations) -> bool,
    ) -> Result<bool, SimError> {
        loop {
            if done(&self.obs) {
                return Ok(true);
            }
            match self.settle_and_next_event() {
                Some(at) if at <= limit => self.step_to(at)?,
                _ => {
                    self.now = self.now.max(limit);
                    self.obs.end = self.now;
                    return Ok(done(&self.obs));
                }
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub fn advance(&mut self, d: Duration) -> Result<(), SimError> {
        self.run_until(self.now + d)
    }

    /// Polls the actions of a batching core once no event is left at this
    /// instant (its deadline is only known then), and gives the instant of
    /// the next event.
    fn settle_and_next_event(&mut self) -> Option<Duration> {
        let now = self.now;
        if self.undrained && self.queue.peek().is_none_or(|Reverse(q)| q.at > now) {
            self.drain();
        }
        self.next_event()
    }

    fn next_event(&self) -> Option<Duration> {
        let q = self.queue.peek().map(|Reverse(q)| q.at);
        let t = self
            .core
            .poll_timeout()
            .map(|i| i.saturating_duration_since(self.start).max(self.now));
        match (q, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn step_to(&mut self, at: Duration) -> Result<(), SimError> {
        if at == self.same_instant.0 {
            self.same_instant.1 += 1;
            if self.same_instant.1 > MAX_EVENTS_PER_INSTANT {
                return Err(SimError::BusyLoop { at });
            }
        } else {
            self.same_instant = (at, 0);
        }
        self.now = at;
        let queued = self.queue.peek().is_some_and(|Reverse(q)| q.at <= at);
        if queued {
            if let Some(Reverse(q)) = self.queue.pop() {
                self.handle(q.event);
            }
        } else {
            // The driver wakes for the core's deadline: it reads the sleep
            // clock (feeding it runs the expired timers), then calls
            // `handle_timeout` as its loop always does.
            self.note(LogEvent::Timeout);
            self.wake();
            self.record(TraceEvent::Timeout);
            self.core.handle_timeout(self.instant());
            self.drain_unless_batching();
        }
        Ok(())
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Step(step) => self.run_step(step),
            Event::Storm { slot, period, left } => {
                let hint = self
                    .truth
                    .reannounce(slot_name(slot))
                    .unwrap_or(RouteEvent::new(RouteEventKind::Unknown));
                self.send(hint);
                if left > 1 {
                    self.push(
                        self.now + period,
                        Event::Storm {
                            slot,
                            period,
                            left: left - 1,
                        },
                    );
                }
            }
            Event::Read(id) => {
                let read = self.truth.snapshot().clone();
                if let Some(p) = self.pending.get_mut(&id) {
                    p.read = Some(read.clone());
                }
                let filtered = Arc::new(self.filtered(&read));
                if let Some(r) = self.obs.enumerations.iter_mut().rev().find(|r| r.id == id) {
                    r.read_at = Some(self.now);
                    r.read = Some(filtered.clone());
                }
                self.note(LogEvent::Read(id, filtered));
            }
            Event::Deliver(Delivery::Hint { event, epoch }) => {
                if self.socket.take(epoch) {
                    self.wake();
                    self.feed(Input::Route(event));
                }
            }
            Event::Deliver(Delivery::Failure(kind)) => {
                self.wake();
                self.feed(Input::MonitorFailed(kind));
            }
            Event::Answer(id) => {
                let Some(p) = self.pending.remove(&id) else {
                    return;
                };
                let result = match (p.outcome, p.read) {
                    (Outcome::Failed, _) => Err(OsError::new("simulated enumeration failure")),
                    (_, Some(s)) => Ok(s),
                    (_, None) => Ok(self.truth.snapshot().clone()),
                };
                if let Some(r) = self.obs.enumerations.iter_mut().rev().find(|r| r.id == id) {
                    r.answered = Some(self.now);
                }
                self.wake();
                match p.scope {
                    Scope::All => self.feed(Input::Enumerated { id, result }),
                    Scope::Targeted(targets) => {
                        let result = result.and_then(|s| {
                            refresh_of(&s, targets).map_err(|e| OsError::new(e.to_string()))
                        });
                        self.feed(Input::Refreshed { id, result });
                    }
                }
            }
            Event::Rebound(ok) => {
                let result = if ok {
                    self.socket.reopen();
                    Ok(())
                } else {
                    Err(OsError::new("simulated rebind failure"))
                };
                self.wake();
                self.feed(Input::MonitorRebound(result));
            }
        }
    }

    fn run_step(&mut self, step: Step) {
        match step {
            Step::Net(op) => self.apply(op),
            Step::Storm {
                slot,
                period_ms,
                count,
            } => {
                if count > 0 {
                    let period = Duration::from_millis(period_ms.max(1));
                    self.push(
                        self.now,
                        Event::Storm {
                            slot,
                            period,
                            left: count,
                        },
                    );
                }
            }
            Step::Suspend { ms } => self.suspend(Duration::from_millis(ms)),
            Step::ClockBack { ms } => self.step_clock_back(Duration::from_millis(ms)),
            Step::ForceCheck => self.force_check(),
            Step::Socket(fault) => self.socket_fault(fault),
        }
    }

    /// The driver wakes up: it reads the sleep clock and tells the core.
    fn wake(&mut self) {
        self.feed(Input::SleepClock(self.sleep_clock()));
    }

    fn record(&mut self, event: TraceEvent) {
        if !self.tracing {
            return;
        }
        self.trace
            .push(TraceRecord::new(self.start, self.instant(), event));
    }

    fn feed(&mut self, input: Input) {
        let fed = match &input {
            Input::Route(_) => Fed::Route,
            Input::SleepClock(d) => Fed::SleepClock(*d),
            Input::Enumerated { id, result } => Fed::Enumerated {
                id: *id,
                ok: result.is_ok(),
            },
            Input::Refreshed { id, result } => Fed::Enumerated {
                id: *id,
                ok: result.is_ok(),
            },
            Input::EnumerationInterrupted { id } => Fed::Interrupted(*id),
            Input::MonitorFailed(k) => Fed::MonitorFailed(*k),
            Input::MonitorRebound(r) => Fed::Rebound(r.is_ok()),
            Input::ForceCheck => Fed::ForceCheck,
        };
        self.obs.fed.push((self.now, fed));
        if self.log.is_some() {
            self.note(LogEvent::Input(input_text(&input)));
        }
        if self.tracing {
            self.record(TraceEvent::Input(input.clone()));
        }
        self.core.handle_input(self.instant(), input);
        self.drain_unless_batching();
    }

    /// Polls the actions now, or (for a core that batches) once every input
    /// of this instant is in.
    fn drain_unless_batching(&mut self) {
        if self.core.batches_inputs() {
            self.undrained = true;
        } else {
            self.drain();
        }
    }

    fn drain(&mut self) {
        self.undrained = false;
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Enumerate { id, scope } => self.enumerate(id, scope),
                Action::Publish(change) => {
                    self.note(LogEvent::Publish {
                        seq: change.seq,
                        cause: change.cause,
                        state: change.new.clone(),
                    });
                    self.obs.publications.push((self.now, change));
                }
                Action::RebindMonitor => {
                    self.obs.rebind_requests.push(self.now);
                    self.note(LogEvent::Rebind);
                    let fail = self.params.socket.rebind_fail_per_mille;
                    let mut rng = self.draw(STREAM_REBIND);
                    let ok = !rng.chance(fail);
                    let after = if self.core.rebinds_at_once() {
                        Duration::ZERO
                    } else {
                        rng.millis(self.params.rebind_ms)
                    };
                    self.push(self.now + after, Event::Rebound(ok));
                }
            }
        }
    }

    /// The generator for one decision of `stream` at this instant.
    fn draw(&mut self, stream: usize) -> SimRng {
        if self.draws.0 != self.now {
            self.draws = (self.now, [0; 3]);
        }
        let n = self.draws.1[stream];
        self.draws.1[stream] += 1;
        let now = u64::try_from(self.now.as_nanos()).unwrap_or(u64::MAX);
        SimRng::keyed(self.seed, &[stream as u64, now, n])
    }

    fn enumerate(&mut self, id: EnumerationId, scope: Scope) {
        let mut rng = self.draw(STREAM_ENUMERATION);
        let m = &self.params.enumeration;
        let may_fail = m.can_fail() && self.consecutive_failures < m.max_consecutive_failures;
        let (hang, fail) = (m.hang_per_mille, m.fail_per_mille);
        let outcome = if may_fail && rng.chance(hang) {
            Outcome::Hang
        } else if may_fail && rng.chance(fail) {
            Outcome::Failed
        } else {
            Outcome::Ok
        };
        if outcome == Outcome::Ok {
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures += 1;
        }
        let duration = rng.millis(self.params.enumeration.duration_ms);
        let mut answered = Some(self.now + duration);
        match outcome {
            Outcome::Ok => {
                let read_at = rng.between(0, duration.as_millis() as u64);
                self.push(self.now + Duration::from_millis(read_at), Event::Read(id));
            }
            Outcome::Failed => {}
            Outcome::Hang => {
                // Half answer (stale) after the timeout, half never.
                answered = if rng.chance(500) {
                    let late = rng.between(1, 1000);
                    Some(self.now + self.config.enumeration_timeout() + Duration::from_millis(late))
                } else {
                    None
                };
            }
        }
        if let Some(at) = answered {
            self.push(at, Event::Answer(id));
        }
        let targets = match &scope {
            Scope::All => None,
            Scope::Targeted(t) => Some(t.clone()),
        };
        self.pending.insert(
            id,
            Pending {
                outcome,
                read: None,
                scope,
            },
        );
        self.obs.enumerations.push(EnumerationRecord {
            id,
            started: self.now,
            outcome,
            answered: None,
            read_at: None,
            read: None,
            targets,
            fed_before: self.obs.fed.len(),
        });
        self.note(LogEvent::Enumerate(id, outcome));
    }
}

/// What a targeted read of `targets` finds in the table `read`: those
/// interfaces and the default routes, as a backend answers them.
pub fn refresh_of(
    read: &Snapshot,
    targets: Targets,
) -> Result<Refresh, netstate_core::SnapshotError> {
    let found = read
        .interfaces()
        .iter()
        .filter(|i| targets.contains(i.index))
        .cloned()
        .collect();
    let hop = |r: &Option<netstate_core::DefaultRoute>| {
        r.as_ref().map(|r| RouteHop {
            index: r.index,
            gateway: r.gateway,
        })
    };
    let routes = read.default_routes();
    Refresh::new(
        targets,
        found,
        RouteHops {
            v4: hop(&routes.v4),
            v6: hop(&routes.v6),
        },
    )
}
