//! The [`Reconciler`]: the state machine that decides when to enumerate and
//! what to publish.

use core::fmt;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::change::{Cause, Change};
use crate::config::Config;
use crate::event::{RouteEvent, RouteEventKind};
use crate::ifname;
use crate::refresh::{changes_nothing, merge, Refresh, Scope, Targets};
use crate::snapshot::Snapshot;
use crate::timer::{Timer, TimerTable};

/// Names one enumeration the Reconciler asked for; its result must carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct EnumerationId(pub u64);

/// An operating-system failure reported to the Reconciler, as text: the core
/// only needs to know that it failed, and the text keeps traces replayable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct OsError(pub String);

impl OsError {
    /// A failure with this description.
    pub fn new(message: impl Into<String>) -> Self {
        OsError(message.into())
    }
}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OsError {}

/// How the route-monitor socket failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum MonitorFailure {
    /// The socket's buffer overflowed (`ENOBUFS`): events were lost but the
    /// socket still works. Resync at once.
    Overflow,
    /// Reading failed with an error: the socket must be replaced.
    Error,
    /// The socket was closed (end of stream): it must be replaced.
    Closed,
}

/// Something the driver tells the Reconciler.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Input {
    /// The route socket delivered a message: a hint that something changed.
    Route(RouteEvent),
    /// A reading of a clock that keeps counting while the host is suspended
    /// (Linux `CLOCK_BOOTTIME`, else the wall clock), as time since that
    /// clock's epoch. Feed one at every wake-up.
    SleepClock(Duration),
    /// The result of the enumeration [`Action::Enumerate`] asked for, when
    /// it read the whole table (whatever its [`Scope`]: a full read always
    /// answers a targeted one).
    Enumerated {
        /// The id the action carried.
        id: EnumerationId,
        /// The state read, or why it could not be read.
        result: Result<Snapshot, OsError>,
    },
    /// The result of an [`Action::Enumerate`] of [`Scope::Targeted`] that
    /// read only its targets and the default routes. The answer to a
    /// [`Scope::All`] enumeration must be [`Input::Enumerated`]: a targeted
    /// answer to it counts as a failed enumeration.
    Refreshed {
        /// The id the action carried.
        id: EnumerationId,
        /// What was read, or why it could not be read.
        result: Result<Refresh, OsError>,
    },
    /// The enumeration [`Action::Enumerate`] asked for could not read one
    /// consistent table: it changed under every attempt (the kernel marked
    /// the dumps interrupted). Not a failure: the table is changing right
    /// now, so this is a hint like a route event. The last good state is
    /// kept and another enumeration follows after the debounce, with no
    /// backoff, so a table that changes faster than it can be read is
    /// read as soon as the changes pause.
    EnumerationInterrupted {
        /// The id the action carried.
        id: EnumerationId,
    },
    /// The route socket failed.
    MonitorFailed(MonitorFailure),
    /// The result of the rebind [`Action::RebindMonitor`] asked for.
    MonitorRebound(Result<(), OsError>),
    /// The application asks for a check now.
    ForceCheck,
}

/// Something the Reconciler asks the driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read the network state and answer with [`Input::Enumerated`] (the
    /// whole table) or, for a [`Scope::Targeted`] read, [`Input::Refreshed`]
    /// (the targets and the default routes), carrying this id.
    Enumerate {
        /// The id to answer with.
        id: EnumerationId,
        /// What to read.
        scope: Scope,
    },
    /// Hand this change to subscribers.
    Publish(Change),
    /// Close the route socket, open a new one, and answer with
    /// [`Input::MonitorRebound`].
    RebindMonitor,
}

/// Counters of what the Reconciler has seen and done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Stats {
    /// Route hints received (including ignored ones).
    pub route_events: u64,
    /// Route hints the filter ruled out.
    pub ignored_events: u64,
    /// Enumerations asked for, full and targeted.
    pub enumerations: u64,
    /// Of [`Stats::enumerations`], those of [`Scope::Targeted`]: only the
    /// interfaces the hints named, and the default routes.
    pub targeted_reads: u64,
    /// Changes published.
    pub publications: u64,
    /// Route-socket overflows reported.
    pub overflows: u64,
    /// Rebinds asked for.
    pub rebinds: u64,
    /// Enumerations that failed or timed out.
    pub enumeration_failures: u64,
    /// Enumeration results ignored because their id was not the one in flight.
    pub stale_results: u64,
    /// Enumerations that ended [`Input::EnumerationInterrupted`]: the table
    /// kept changing while it was read.
    pub interrupted_enumerations: u64,
}

/// The reasons gathered for the next enumeration.
#[derive(Clone, Debug)]
struct Wanted {
    cause: Cause,
    /// What the reasons need read: [`Scope::All`] unless every reason is a
    /// hint about a published interface or a default route.
    scope: Scope,
    /// A timer ran out or the request was urgent: start at the next
    /// [`Reconciler::poll_action`] that is allowed to.
    ready: bool,
    /// Overflow, force, time jump or resync: start even during a retry backoff.
    urgent: bool,
    /// Whether to publish even if nothing differs (time jump).
    publish: Publish,
}

/// When a reason to read lets the read start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// When its timer is due (the debounce and maximum wait for a hint, at
    /// once for a reconcile that ran out), and not during a retry backoff.
    WhenDue,
    /// At the next [`Reconciler::poll_action`], even during a retry backoff
    /// (overflow, forced check, time jump, resync after a rebind).
    Now,
}

/// Whether the read a reason asks for publishes when nothing differs; of
/// two reasons merged, [`Publish::Always`] wins (`max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Publish {
    /// Only a difference is published.
    IfChanged,
    /// Published even unchanged (after a time jump: the application must
    /// re-check what it holds).
    Always,
}

#[derive(Clone, Debug)]
struct InFlight {
    id: EnumerationId,
    cause: Cause,
    publish: Publish,
    scope: Scope,
    /// A targeted read: the targets a hint named while it ran. Where such a
    /// target's addresses came in several datagrams ([`Refresh::spanned`]),
    /// the answer may mix the states before and after that change (the
    /// kernel does not mark a dump filtered by index as interrupted), so it
    /// is handled like an interrupted read.
    touched: Targets,
}

/// What a hint needs read.
#[derive(Clone, Copy, Debug)]
enum HintScope {
    /// One interface of the published state (and the default routes).
    Interface(u32),
    /// The default routes only.
    Routes,
    /// Everything: the hint cannot be attributed.
    All,
}

/// `scope` widened to cover `hint` too.
fn widen(scope: &mut Scope, hint: HintScope) {
    let Scope::Targeted(targets) = scope else {
        return;
    };
    match hint {
        HintScope::Interface(index) => {
            if !targets.insert(index) {
                *scope = Scope::All;
            }
        }
        HintScope::Routes => {}
        HintScope::All => *scope = Scope::All,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MonitorState {
    Healthy,
    /// Failed; a rebind is scheduled on the `Rebind` timer.
    Broken,
    /// `RebindMonitor` was asked for; waiting for `MonitorRebound`.
    Rebinding,
}

/// The sans-IO state machine at the heart of netstate.
///
/// It performs no I/O, reads no clock and starts no thread: time is always
/// the caller's `now`, and the same inputs at the same instants always give
/// the same actions. It decides when the network state must be read again
/// and which results are worth publishing; the driver does the reading.
///
/// # Call order
///
/// * Inputs: [`handle_input`](Self::handle_input) for anything that happens,
///   [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)
///   is reached (calling it early or twice does nothing). Inputs only record
///   reasons and timers; they never start an enumeration themselves.
/// * Outputs: after an input, or after a batch of inputs (every hint read
///   from the socket at one wake-up), drain [`poll_action`](Self::poll_action)
///   until `None`, then read [`poll_timeout`](Self::poll_timeout). Whether to
///   enumerate is decided when actions are polled, not while inputs are fed
///   (like quinn-proto's `poll_transmit`): any number of inputs fed before a
///   drain cost at most one enumeration, with their reasons merged, and a
///   drain yields at most one [`Action::Enumerate`] unless an input is fed
///   during it (the answer of a synchronous enumeration, say).
/// * Read [`poll_timeout`](Self::poll_timeout) after draining, never between
///   an input and the drain: an enumeration starts at the `poll_action` that
///   returns it, and its timeout is armed then; before the drain, the
///   deadline lacks it (and an enumeration waiting to be polled is due at
///   once). Read after draining, it is never in the past and only changes
///   when an input does.
/// * Getters: [`state`](Self::state), [`stats`](Self::stats),
///   [`last_timeout_reason`](Self::last_timeout_reason).
///
/// A driver is this loop:
///
/// ```
/// # use netstate_core::{Action, Config, Input, Reconciler, Snapshot};
/// # use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let mut r = Reconciler::new(Config::default(), start);
/// # let mut turns = 0;
/// loop {
///     while let Some(action) = r.poll_action() {
///         match action {
///             Action::Enumerate { id, .. } => {
///                 // A full read answers any scope.
///                 let result = Ok(Snapshot::empty()); // read the OS here
///                 r.handle_input(start, Input::Enumerated { id, result });
///             }
///             Action::Publish(change) => println!("{} {:?}", change.seq, change.cause),
///             Action::RebindMonitor => { /* reopen the route socket */ }
///         }
///     }
///     // Wait for the route socket or for r.poll_timeout(), then feed the
///     // core with what happened and the clock's new reading:
///     let deadline = r.poll_timeout().expect("reconcile is on");
///     r.handle_timeout(deadline);
/// #   turns += 1; if turns == 2 { break; }
/// }
/// assert_eq!(r.stats().publications, 1);
/// ```
///
/// # Rules
///
/// * The first action is an enumeration; the first success publishes with
///   [`Cause::Initial`].
/// * A route hint the filter admits starts (or restarts) the debounce, never
///   past the maximum wait from the first hint of the burst.
/// * Every reconcile interval after the last enumeration, enumerate anyway.
/// * An overflow, a forced check and a detected sleep enumerate at once.
/// * A socket error or close asks for a rebind, retried with exponential
///   backoff; a successful rebind enumerates at once. The backoff restarts
///   only once the socket has stayed healthy for the backoff's ceiling, so a
///   socket that fails on every read is rebound ever more slowly, not in a loop.
/// * At most one enumeration is in flight; a reason to enumerate that
///   arrives meanwhile runs one more afterwards. A result with another id is
///   ignored; an enumeration unanswered for the enumeration timeout (counted
///   from the `now` of the last call before the `poll_action` that asked for
///   it) counts as failed.
/// * Reasons fed together, before a drain, merge into one enumeration whose
///   publication carries the strongest cause.
/// * A failed enumeration keeps the last good state and is retried with
///   backoff. An interrupted one (the table changed under it) is not a
///   failure: it is retried after the debounce, like a hint, never backed off.
/// * A link or address hint about an interface the published state holds is
///   never filtered out, whatever name it carries (a rename to an ignored
///   name must remove the interface at once).
/// * A result equal to the current state publishes nothing, unless the host
///   slept ([`Cause::TimeJump`]).
///
/// # What is read
///
/// A read is [`Scope::Targeted`] when every reason gathered for it is a
/// hint it can attribute: an address hint, or a link hint under the
/// interface's published name, about an interface the published state
/// holds (that interface is read), or a route hint with a known prefix
/// (only the default routes are read; they are read by every targeted read,
/// since the kernel removes routes with an address or a link without a
/// route message). At most [`MAX_TARGETS`](crate::MAX_TARGETS) interfaces.
/// Everything else reads the whole table ([`Scope::All`]): the first state,
/// an overflow, a rebind, a time jump, a forced check, the periodic
/// reconcile, a failed read's retry, and any hint about an unknown index, a
/// rename, a deleted link, a rule, or a message that could not be parsed.
/// A targeted answer is merged into the state with
/// [`refresh::merge`](crate::refresh::merge); one that cannot be merged
/// (a default route through an interface the state lacks, a name taken)
/// asks for a full read at once. A targeted read during which a hint about
/// one of its targets arrived, and whose addresses for that target came in
/// several datagrams ([`Refresh::spanned`]), is handled as interrupted: the
/// kernel does not mark a dump filtered by index as interrupted, so such an
/// answer may mix the states before and after that change (an answer read
/// in one datagram is one state, so a storm of re-announcements never holds
/// a publication back). The reconcile interval runs from the last full read.
pub struct Reconciler {
    config: Config,
    timers: TimerTable,
    state: Option<Arc<Snapshot>>,
    /// Indexes of the interfaces the filter removed from the last enumeration.
    /// with their names (a default route through one is named after it).
    /// A map, so a hint costs a lookup, not a walk, on a host whose
    /// thousands of container veths are ignored.
    ignored: BTreeMap<u32, String>,
    seq: u64,
    next_id: u64,
    in_flight: Option<InFlight>,
    wanted: Option<Wanted>,
    retry_attempt: u32,
    monitor: MonitorState,
    rebind_attempt: u32,
    last_rebound: Option<Instant>,
    last_sleep_sample: Option<(Instant, Duration)>,
    /// Publications and rebinds, in order. Enumerations are not queued:
    /// [`Reconciler::poll_action`] decides them.
    actions: VecDeque<Action>,
    stats: Stats,
    last_timeout_reason: Option<Timer>,
    /// The `now` of the last call (construction, input or timeout): an
    /// enumeration started by `poll_action` has its timeout counted from it.
    last_now: Instant,
}

impl fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconciler")
            .field("seq", &self.seq)
            .field("in_flight", &self.in_flight)
            .field("wanted", &self.wanted)
            .field("monitor", &self.monitor)
            .field("timers", &self.timers)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Reconciler {
    /// A Reconciler that immediately asks for its first enumeration.
    #[must_use]
    pub fn new(config: Config, now: Instant) -> Self {
        let mut r = Reconciler {
            config,
            timers: TimerTable::default(),
            state: None,
            ignored: BTreeMap::new(),
            seq: 0,
            next_id: 0,
            in_flight: None,
            wanted: None,
            retry_attempt: 0,
            monitor: MonitorState::Healthy,
            rebind_attempt: 0,
            last_rebound: None,
            last_sleep_sample: None,
            actions: VecDeque::with_capacity(8),
            stats: Stats::default(),
            last_timeout_reason: None,
            last_now: now,
        };
        r.request(Cause::Initial, Start::Now, Publish::IfChanged);
        r
    }

    /// The configuration it runs with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The last published state, or `None` before the first publication.
    #[must_use]
    pub fn state(&self) -> Option<&Arc<Snapshot>> {
        self.state.as_ref()
    }

    /// Its counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The timer that last ran out, for debugging.
    #[must_use]
    pub fn last_timeout_reason(&self) -> Option<Timer> {
        self.last_timeout_reason
    }

    /// The id the next enumeration it asks for will carry: every
    /// enumeration with this id or a later one (ids only grow) is asked for
    /// after this call, so it reads the state after anything fed before.
    #[must_use]
    pub fn next_enumeration_id(&self) -> EnumerationId {
        EnumerationId(self.next_id)
    }

    /// The next action to carry out, in order.
    ///
    /// This is where enumerations are decided: when a reason to enumerate is
    /// ready, none is in flight and no retry backoff holds it back, the
    /// enumeration starts here (its id is allocated and its timeout armed
    /// from the `now` of the last call) and [`Action::Enumerate`] is
    /// returned. Queued publications come out before it, and it comes out
    /// before queued rebinds (whose answer is an input: the decision is the
    /// one a drain right after the last input makes).
    pub fn poll_action(&mut self) -> Option<Action> {
        if matches!(self.actions.front(), Some(Action::Publish(_))) {
            return self.actions.pop_front();
        }
        if let Some((id, scope)) = self.try_start() {
            return Some(Action::Enumerate { id, scope });
        }
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, or
    /// `None` when only an input can make anything happen.
    ///
    /// Read it after draining [`poll_action`](Self::poll_action): an
    /// enumeration's timeout is armed by the `poll_action` that starts it,
    /// and an enumeration waiting to be polled has no deadline of its own
    /// (it is due at once, at the drain). It only reads the timers, so
    /// calling [`handle_timeout`](Self::handle_timeout) up to a deadline
    /// without draining in between always ends.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(at, _)| at)
    }

    /// Runs every timer that expired at `now`. Early or repeated calls do
    /// nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        while let Some(timer) = self.timers.take_expired(now) {
            self.last_timeout_reason = Some(timer);
            match timer {
                Timer::Debounce | Timer::MaxWait => {
                    self.timers.stop(Timer::Debounce);
                    self.timers.stop(Timer::MaxWait);
                    self.make_ready();
                }
                Timer::Reconcile => {
                    // A full read in flight is as fresh as a reconcile
                    // would be; its completion re-arms the interval. A
                    // targeted one is not.
                    let full_in_flight = self
                        .in_flight
                        .as_ref()
                        .is_some_and(|f| f.scope == Scope::All);
                    if !full_in_flight {
                        self.request(Cause::Reconcile, Start::WhenDue, Publish::IfChanged);
                        self.make_ready();
                    }
                }
                Timer::Retry => self.make_ready(),
                Timer::Rebind => {
                    self.monitor = MonitorState::Rebinding;
                    self.stats.rebinds += 1;
                    self.actions.push_back(Action::RebindMonitor);
                }
                Timer::EnumerationTimeout => {
                    if let Some(flight) = self.in_flight.take() {
                        self.enumeration_failed(now, flight);
                    }
                }
            }
        }
    }

    /// Feeds one input at instant `now`, then runs any timer expired at `now`.
    /// It records reasons and timers only: what to do is decided by
    /// [`poll_action`](Self::poll_action).
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        self.last_now = now;
        match input {
            Input::Route(event) => self.handle_route(now, &event),
            Input::SleepClock(sample) => self.handle_sleep_clock(now, sample),
            Input::Enumerated { id, result } => self.handle_enumerated(now, id, result),
            Input::Refreshed { id, result } => self.handle_refreshed(now, id, result),
            Input::EnumerationInterrupted { id } => self.handle_interrupted(now, id),
            Input::MonitorFailed(MonitorFailure::Overflow) => {
                self.stats.overflows += 1;
                self.request(Cause::Overflow, Start::Now, Publish::IfChanged);
            }
            Input::MonitorFailed(MonitorFailure::Error | MonitorFailure::Closed) => {
                self.handle_monitor_failed(now);
            }
            Input::MonitorRebound(result) => self.handle_rebound(now, result),
            Input::ForceCheck => self.request(Cause::Forced, Start::Now, Publish::IfChanged),
        }
        self.handle_timeout(now);
    }

    fn handle_route(&mut self, now: Instant, event: &RouteEvent) {
        self.stats.route_events += 1;
        self.unignore_renamed(event);
        let ignored = &self.ignored;
        if !self.names_published_interface(event)
            && !self
                .config
                .filter
                .admits(event, |i| ignored.contains_key(&i))
        {
            self.stats.ignored_events += 1;
            return;
        }
        let hint = self.scope_of(event);
        if let (Some(flight), HintScope::Interface(index)) = (&mut self.in_flight, hint) {
            if let Scope::Targeted(targets) = &flight.scope {
                if targets.contains(index) {
                    flight.touched.insert(index);
                }
            }
        }
        self.add_reason(Cause::Event, Start::WhenDue, Publish::IfChanged, hint);
        self.arm_debounce(now);
    }

    /// What a hint the filter admitted needs read (see the rules on
    /// [`Reconciler`]). Never allocates.
    fn scope_of(&self, event: &RouteEvent) -> HintScope {
        let Some(state) = &self.state else {
            return HintScope::All;
        };
        let published = |index: Option<u32>| index.and_then(|i| state.by_index(i));
        match event.kind {
            RouteEventKind::AddrNew | RouteEventKind::AddrDel => match published(event.index) {
                Some(interface) => HintScope::Interface(interface.index),
                None => HintScope::All,
            },
            RouteEventKind::LinkNew => match published(event.index) {
                Some(interface)
                    if event.name.as_ref().is_none_or(|name| {
                        name.as_bytes() == &*ifname::unescape(&interface.name)
                    }) =>
                {
                    HintScope::Interface(interface.index)
                }
                _ => HintScope::All,
            },
            RouteEventKind::RouteNew | RouteEventKind::RouteDel
                if event.dst_prefix_len.is_some() =>
            {
                HintScope::Routes
            }
            _ => HintScope::All,
        }
    }

    /// Starts or restarts the debounce for a non-urgent request, never past
    /// the maximum wait from the first request of the burst.
    fn arm_debounce(&mut self, now: Instant) {
        // During a retry backoff the retry timer carries the request.
        if self.timers.is_set(Timer::Retry) {
            return;
        }
        if !self.timers.is_set(Timer::MaxWait) {
            set_after(&mut self.timers, Timer::MaxWait, now, self.config.max_wait);
        }
        let max_wait = self.timers.get(Timer::MaxWait);
        // The debounce is never longer than the maximum wait, so when it
        // cannot be an `Instant`, neither can the maximum wait.
        match (now.checked_add(self.config.debounce), max_wait) {
            (Some(at), Some(max_wait)) => self.timers.set(Timer::Debounce, at.min(max_wait)),
            (Some(at), None) => self.timers.set(Timer::Debounce, at),
            (None, _) => self.timers.stop(Timer::Debounce),
        }
    }

    /// Whether a link or address hint names an interface the published
    /// state holds. Such a hint is never filtered away, whatever name it
    /// carries: a rename to an ignored name arrives with the new name, and
    /// the interface must leave the state (under its old name) at once, not
    /// at the next reconcile.
    fn names_published_interface(&self, event: &RouteEvent) -> bool {
        let about_interface = matches!(
            event.kind,
            RouteEventKind::LinkNew
                | RouteEventKind::LinkDel
                | RouteEventKind::AddrNew
                | RouteEventKind::AddrDel
        );
        match (about_interface, event.index, &self.state) {
            (true, Some(index), Some(state)) => state.by_index(index).is_some(),
            _ => false,
        }
    }

    /// A link message naming an index that was ignored, under a name the
    /// filter keeps (a rename, or on BSD an index reused by a new
    /// interface): from now on hints about that index count. Without this,
    /// an address hint on the renamed interface would be dropped until the
    /// next enumeration that happens to run, as late as the reconcile.
    fn unignore_renamed(&mut self, event: &RouteEvent) {
        if !matches!(event.kind, RouteEventKind::LinkNew) {
            return;
        }
        let (Some(index), Some(name)) = (event.index, &event.name) else {
            return;
        };
        if !self.config.filter.ignores(name.as_bytes()) {
            self.ignored.remove(&index);
        }
    }

    fn handle_sleep_clock(&mut self, now: Instant, sample: Duration) {
        let previous = self.last_sleep_sample.replace((now, sample));
        let Some((then, before)) = previous else {
            return;
        };
        // A clock stepping backwards (an NTP correction of the wall clock) is
        // not a sleep: the new reading simply becomes the baseline.
        let Some(slept_clock) = sample.checked_sub(before) else {
            return;
        };
        let awake = now.saturating_duration_since(then);
        if slept_clock.saturating_sub(awake) > self.config.jump_threshold {
            self.request(Cause::TimeJump, Start::Now, Publish::Always);
        }
    }

    fn handle_monitor_failed(&mut self, now: Instant) {
        if self.monitor != MonitorState::Healthy {
            return;
        }
        let backoff = self.config.rebind_backoff;
        let healthy_long = self
            .last_rebound
            .is_none_or(|t| now.saturating_duration_since(t) >= backoff.max);
        if healthy_long {
            self.rebind_attempt = 0;
        }
        self.schedule_rebind(now);
    }

    fn schedule_rebind(&mut self, now: Instant) {
        let delay = self.config.rebind_backoff.delay(self.rebind_attempt);
        self.rebind_attempt = self.rebind_attempt.saturating_add(1);
        self.monitor = MonitorState::Broken;
        set_after(&mut self.timers, Timer::Rebind, now, delay);
    }

    fn handle_rebound(&mut self, now: Instant, result: Result<(), OsError>) {
        if self.monitor != MonitorState::Rebinding {
            return;
        }
        match result {
            Ok(()) => {
                self.monitor = MonitorState::Healthy;
                self.last_rebound = Some(now);
                // Events were lost while the socket was down: resync (a
                // read of cause `reconcile`, at once).
                self.request(Cause::Reconcile, Start::Now, Publish::IfChanged);
            }
            Err(_) => self.schedule_rebind(now),
        }
    }

    fn handle_enumerated(
        &mut self,
        now: Instant,
        id: EnumerationId,
        result: Result<Snapshot, OsError>,
    ) {
        let Some(flight) = self.take_flight(id) else {
            return;
        };
        match result {
            Ok(snapshot) => self.enumeration_succeeded(now, flight, snapshot),
            Err(_) => self.enumeration_failed(now, flight),
        }
    }

    fn handle_refreshed(
        &mut self,
        now: Instant,
        id: EnumerationId,
        result: Result<Refresh, OsError>,
    ) {
        let Some(flight) = self.take_flight(id) else {
            return;
        };
        let Scope::Targeted(targets) = &flight.scope else {
            // Part of the table cannot answer a read of all of it.
            return self.enumeration_failed(now, flight);
        };
        let Ok(mut refresh) = result else {
            return self.enumeration_failed(now, flight);
        };
        let torn = flight
            .touched
            .as_slice()
            .iter()
            .any(|&i| refresh.spanned().contains(i));
        if torn {
            // Maybe torn by the change its hint announced: read again.
            return self.interrupted(now, flight);
        }
        self.retry_attempt = 0;
        self.timers.stop(Timer::Retry);
        let Some(state) = self.state.clone() else {
            // Targeted reads are only asked with a state; be safe anyway.
            return self.request(flight.cause, Start::Now, flight.publish);
        };
        // A targeted read is never forced to publish: what forces it (a
        // time jump) reads everything.
        if changes_nothing(&state, &refresh) {
            return;
        }
        // The filter applies to what was read before it is merged, so it
        // costs the targets, not the table.
        let filter = &self.config.filter;
        let mut newly_ignored: Vec<(u32, String)> = Vec::new();
        if !filter.ignores_nothing() {
            refresh.retain_found(|i| {
                let keep = filter.keeps(i);
                if !keep {
                    newly_ignored.push((i.index, i.name.clone()));
                }
                keep
            });
        }
        let ignored = &self.ignored;
        let hidden = |index: u32| {
            let fresh = newly_ignored.iter().find(|(i, _)| *i == index);
            match fresh {
                Some((_, name)) => Some(name.clone()),
                None if targets.contains(index) => None,
                None => ignored.get(&index).cloned(),
            }
        };
        let merged = match merge(&state, &refresh, hidden) {
            Ok(merged) => merged,
            // Only a full read can say what the table is now.
            Err(_) => return self.request(flight.cause, Start::Now, flight.publish),
        };
        for index in targets.as_slice() {
            self.ignored.remove(index);
        }
        self.ignored.extend(newly_ignored);
        self.publish_if_changed(&flight, merged);
    }

    /// The enumeration in flight, if `id` is its id: it is no longer in
    /// flight. An answer with another id is stale (counted, ignored).
    fn take_flight(&mut self, id: EnumerationId) -> Option<InFlight> {
        match self.in_flight.take_if(|flight| flight.id == id) {
            Some(flight) => {
                self.timers.stop(Timer::EnumerationTimeout);
                Some(flight)
            }
            None => {
                self.stats.stale_results += 1;
                None
            }
        }
    }

    fn handle_interrupted(&mut self, now: Instant, id: EnumerationId) {
        if let Some(flight) = self.take_flight(id) {
            self.interrupted(now, flight);
        }
    }

    /// The read `flight` could not give one consistent table: its reasons
    /// wait for the debounce, with no backoff.
    fn interrupted(&mut self, now: Instant, flight: InFlight) {
        self.stats.interrupted_enumerations += 1;
        // The kernel answered: whatever failed before is over.
        self.retry_attempt = 0;
        self.timers.stop(Timer::Retry);
        let w = self.wanted.get_or_insert(Wanted {
            cause: flight.cause,
            scope: flight.scope.clone(),
            ready: false,
            urgent: false,
            publish: Publish::IfChanged,
        });
        w.cause = w.cause.strongest(flight.cause);
        w.publish = w.publish.max(flight.publish);
        match flight.scope {
            Scope::All => w.scope = Scope::All,
            Scope::Targeted(targets) => {
                for &index in targets.as_slice() {
                    widen(&mut w.scope, HintScope::Interface(index));
                }
            }
        }
        self.arm_debounce(now);
    }

    fn enumeration_succeeded(&mut self, now: Instant, flight: InFlight, snapshot: Snapshot) {
        self.retry_attempt = 0;
        self.timers.stop(Timer::Retry);
        if let Some(interval) = self.config.reconcile {
            set_after(&mut self.timers, Timer::Reconcile, now, interval);
        }
        let filter = &self.config.filter;
        let snapshot = if filter.ignores_nothing() {
            self.ignored.clear();
            snapshot
        } else {
            self.ignored.clear();
            let ignored = &mut self.ignored;
            snapshot.retain(|i| {
                let keep = filter.keeps(i);
                if !keep {
                    ignored.insert(i.index, i.name.clone());
                }
                keep
            })
        };
        self.publish_if_changed(&flight, snapshot);
    }

    /// Publishes `snapshot` as the new state, unless it equals the current
    /// one and the flight does not force a publication.
    fn publish_if_changed(&mut self, flight: &InFlight, snapshot: Snapshot) {
        let (cause, old) = match &self.state {
            None => (Cause::Initial, Arc::new(Snapshot::empty())),
            Some(old) if **old != snapshot || flight.publish == Publish::Always => {
                (flight.cause, old.clone())
            }
            Some(_) => return,
        };
        let delta = Snapshot::diff(&old, &snapshot);
        let new = Arc::new(snapshot);
        self.seq += 1;
        self.stats.publications += 1;
        self.state = Some(new.clone());
        self.actions.push_back(Action::Publish(Change {
            seq: self.seq,
            cause,
            old,
            new,
            delta,
        }));
    }

    fn enumeration_failed(&mut self, now: Instant, flight: InFlight) {
        self.stats.enumeration_failures += 1;
        let delay = self.config.retry_backoff.delay(self.retry_attempt);
        self.retry_attempt = self.retry_attempt.saturating_add(1);
        set_after(&mut self.timers, Timer::Retry, now, delay);
        // The failed attempt's reasons wait for the retry timer; requests
        // that arrived during it lose their urgency too, so a failing
        // enumeration is never retried in a loop.
        // The retry reads everything: whatever failed is not to be trusted
        // to fail the same way on a smaller read.
        let mut w = self.wanted.take().unwrap_or(Wanted {
            cause: flight.cause,
            scope: Scope::All,
            ready: false,
            urgent: false,
            publish: Publish::IfChanged,
        });
        w.scope = Scope::All;
        w.cause = w.cause.strongest(flight.cause);
        w.publish = w.publish.max(flight.publish);
        w.ready = false;
        w.urgent = false;
        self.wanted = Some(w);
    }

    /// Adds a reason to read the whole table. Urgent reasons are ready at
    /// once: the next `poll_action` starts them (or the first one after the
    /// enumeration in flight).
    fn request(&mut self, cause: Cause, start: Start, publish: Publish) {
        self.add_reason(cause, start, publish, HintScope::All);
    }

    /// Adds a reason to enumerate that needs `scope` read.
    fn add_reason(&mut self, cause: Cause, start: Start, publish: Publish, scope: HintScope) {
        let urgent = start == Start::Now;
        let w = self.wanted.get_or_insert(Wanted {
            cause,
            scope: Scope::Targeted(Targets::new()),
            ready: false,
            urgent: false,
            publish: Publish::IfChanged,
        });
        widen(&mut w.scope, scope);
        w.cause = w.cause.strongest(cause);
        w.urgent |= urgent;
        w.ready |= urgent;
        w.publish = w.publish.max(publish);
        if urgent {
            self.timers.stop(Timer::Debounce);
            self.timers.stop(Timer::MaxWait);
        }
    }

    fn make_ready(&mut self) {
        if let Some(w) = &mut self.wanted {
            w.ready = true;
        }
    }

    /// Whether `poll_action` would start an enumeration now: a ready reason,
    /// nothing in flight, and no retry backoff holding back a non-urgent one.
    fn can_start(&self) -> bool {
        let Some(w) = &self.wanted else {
            return false;
        };
        w.ready && self.in_flight.is_none() && (w.urgent || !self.timers.is_set(Timer::Retry))
    }

    /// Starts the enumeration the gathered reasons ask for, if one can
    /// start: allocates its id and arms its timeout from the last call's
    /// `now`.
    fn try_start(&mut self) -> Option<(EnumerationId, Scope)> {
        if !self.can_start() {
            return None;
        }
        let w = self.wanted.take()?;
        self.timers.stop(Timer::Debounce);
        self.timers.stop(Timer::MaxWait);
        self.timers.stop(Timer::Retry);
        let id = EnumerationId(self.next_id);
        self.next_id += 1;
        if matches!(w.scope, Scope::Targeted(_)) {
            self.stats.targeted_reads += 1;
        }
        self.in_flight = Some(InFlight {
            id,
            cause: w.cause,
            publish: w.publish,
            scope: w.scope.clone(),
            touched: Targets::new(),
        });
        set_after(
            &mut self.timers,
            Timer::EnumerationTimeout,
            self.last_now,
            self.config.enumeration_timeout,
        );
        self.stats.enumerations += 1;
        Some((id, w.scope))
    }
}

/// Sets `timer` to `delay` after `now`. A deadline too far away to be an
/// `Instant` (a configured delay of `Duration::MAX`, say) means "never": the
/// timer is stopped rather than the addition panicking.
fn set_after(timers: &mut TimerTable, timer: Timer, now: Instant, delay: Duration) {
    match now.checked_add(delay) {
        Some(at) => timers.set(timer, at),
        None => timers.stop(timer),
    }
}

#[cfg(test)]
mod tests;
