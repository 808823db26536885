//! A driver-shaped harness that feeds the [`Reconciler`] one operation at a
//! time and checks its invariants after every step.
//!
//! Shared by the `reconciler` fuzz target (`fuzz/`, through the feature
//! `arbitrary`, which derives `arbitrary::Arbitrary` for the operations) and
//! by the proptests in `testkit/tests/reconciler_model.rs`, so both check
//! exactly the same rules. It checks what the Reconciler does against rules
//! about its outputs; it does not compute the Reconciler's decisions a second
//! way.
//!
//! The operations are plain data with small fields: a name, an address or an
//! interface index is an index into a short pool, so generated snapshots
//! collide, repeat and differ often enough to reach every branch.
//!
//! # The invariants, checked after every step
//!
//! * Time: after any call into the Reconciler at `now`, nothing expired
//!   remains: `poll_timeout()` is `None` or later than `now`, and no later
//!   than `now` plus the longest configured delay. With a reconcile interval
//!   it is never `None` (unless a configured delay is too long to be an
//!   `Instant`, which means "never"): the monitor cannot go quiet forever.
//! * A call that can change nothing (a stale or unknown enumeration id, a
//!   second `handle_timeout` at the same instant, a sleep-clock sample that
//!   steps backwards or is no jump, a hint the filter rules out) while no
//!   timer is due
//!   yields no action and leaves `poll_timeout()` unchanged.
//! * Enumerations: ids are new and increasing; at most one `Enumerate` per
//!   step (they are decided when actions are polled, so one drain starts at
//!   most one); a second `Enumerate` while one is unanswered only after the
//!   first's enumeration timeout, counted from the `now` of the call before
//!   the drain; an urgent reason (forced check, overflow, detected sleep,
//!   rebound socket) with nothing in flight enumerates at once.
//! * Publications: only in answer to the enumeration in flight; `seq` goes
//!   1, 2, 3, …; cause `Initial` exactly for the first; `old` is the
//!   previous `new`; `delta` is `Snapshot::diff(old, new)`; `new` differs
//!   from `old` unless the cause is `Initial` or `TimeJump`; after every
//!   successful enumeration `state()` equals the (filtered) result; after a
//!   detected sleep the next successful enumeration publishes, with cause
//!   `TimeJump`.
//! * Rebinds: `RebindMonitor` only after a socket error or close, and never
//!   a second one before the first is answered.
//! * Counters: `Stats` agree with what was fed and what came out.
//! * Bounded work: at most [`MAX_ACTIONS_PER_STEP`] actions per step.

use std::sync::Arc;
use std::time::{Duration, Instant};

use netstate_core::ipnet::IpNet;
use netstate_core::{
    Action, AddrFlags, Address, Backoff, Cause, Config, DefaultRoute, DefaultRoutes, EnumerationId,
    Family, Filter, HardwareAddr, Input, Interface, InterfaceFlags, MonitorFailure, OsError,
    Reconciler, RouteEvent, RouteEventKind, Snapshot,
};

/// Interface names: some of them are ignored by the filters below.
pub const NAMES: [&str; 8] = [
    "lo", "eth0", "wlan0", "veth1", "docker0", "utun3", "awdl0", "en0",
];

/// Addresses: loopback, link-local, private, global, of both families.
pub const ADDRS: [&str; 8] = [
    "127.0.0.1",
    "10.0.0.2",
    "192.168.1.20",
    "169.254.3.4",
    "::1",
    "fe80::1",
    "2001:db8::2",
    "2a00:1450::5",
];

/// The most actions one step may yield: each of the six timers fires at
/// most once per call, plus the input's own.
pub const MAX_ACTIONS_PER_STEP: usize = 8;

/// The furthest the harness clock goes, in ms since the start (about 139
/// years): far enough for every deadline a sane configuration sets.
const MAX_MS: u64 = 1 << 42;

/// A duration in a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Dur {
    /// Milliseconds.
    Millis(u16),
    /// Seconds.
    Secs(u16),
    /// Seconds, without a bound: a deadline that far away cannot be an
    /// `Instant` ("never").
    Huge(u64),
}

impl Dur {
    /// The duration.
    pub fn get(self) -> Duration {
        match self {
            Dur::Millis(ms) => Duration::from_millis(u64::from(ms)),
            Dur::Secs(s) => Duration::from_secs(u64::from(s)),
            Dur::Huge(s) => Duration::from_secs(s),
        }
    }
}

/// A configuration, passed to the builder as is; one the builder refuses is
/// replaced by the default.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ConfigSpec {
    /// `Config::debounce`.
    pub debounce: Dur,
    /// `Config::max_wait`.
    pub max_wait: Dur,
    /// `Config::reconcile_interval` (`None`: off).
    pub reconcile: Option<Dur>,
    /// `Config::jump_threshold` (`None`: the default).
    pub jump_threshold: Option<Dur>,
    /// The rebind backoff: initial, maximum.
    pub rebind: (Dur, Dur),
    /// The retry backoff: initial, maximum.
    pub retry: (Dur, Dur),
    /// `Config::enumeration_timeout`.
    pub enumeration_timeout: Dur,
    /// Bit 0: ignore `veth*`; bit 1: ignore `docker*`; bit 2: ignore
    /// `utun3`; bit 3: ignore `awdl*`.
    pub filter: u8,
    /// `Filter::max_route_prefix_len`.
    pub route_prefix_limit: u8,
}

impl Default for ConfigSpec {
    /// The documented defaults (and a filter ignoring `veth*`).
    fn default() -> Self {
        ConfigSpec {
            debounce: Dur::Millis(250),
            max_wait: Dur::Secs(2),
            reconcile: Some(Dur::Secs(15)),
            jump_threshold: None,
            rebind: (Dur::Millis(100), Dur::Secs(30)),
            retry: (Dur::Millis(100), Dur::Secs(30)),
            enumeration_timeout: Dur::Secs(10),
            filter: 1,
            route_prefix_limit: 1,
        }
    }
}

impl ConfigSpec {
    /// The configuration it describes, or the default one.
    pub fn build(&self) -> Config {
        let mut filter = Filter::new().max_route_prefix_len(self.route_prefix_limit);
        if self.filter & 1 != 0 {
            filter = filter.ignore_prefix("veth");
        }
        if self.filter & 2 != 0 {
            filter = filter.ignore_prefix("docker");
        }
        if self.filter & 4 != 0 {
            filter = filter.ignore_name("utun3");
        }
        if self.filter & 8 != 0 {
            filter = filter.ignore_prefix("awdl");
        }
        let mut b = Config::builder()
            .debounce(self.debounce.get())
            .max_wait(self.max_wait.get())
            .reconcile_interval(self.reconcile.map(Dur::get))
            .rebind_backoff(Backoff::new(self.rebind.0.get(), self.rebind.1.get()))
            .retry_backoff(Backoff::new(self.retry.0.get(), self.retry.1.get()))
            .enumeration_timeout(self.enumeration_timeout.get())
            .filter(filter);
        if let Some(j) = self.jump_threshold {
            b = b.jump_threshold(j.get());
        }
        b.build().unwrap_or_default()
    }
}

/// One address of a generated interface.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AddrSpec {
    /// Index into [`ADDRS`].
    pub addr: u8,
    /// Cut to the family's maximum.
    pub prefix: u8,
    /// `AddrFlags` bits.
    pub flags: u8,
}

/// One generated interface.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct IfaceSpec {
    /// 1 to 6: collisions make `Snapshot::new` refuse some.
    pub index: u8,
    /// Index into [`NAMES`].
    pub name: u8,
    /// `InterfaceFlags` bits.
    pub flags: u8,
    /// An MTU of 1500 (else 0, unknown).
    pub mtu: bool,
    /// A hardware address ending in this byte.
    pub mac: Option<u8>,
    /// At most four are used.
    pub addrs: Vec<AddrSpec>,
}

/// A default route of a generated snapshot.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RouteSpec {
    /// 1 to 6.
    pub index: u8,
    /// Index into [`ADDRS`].
    pub gateway: Option<u8>,
}

/// A generated snapshot, built with `Snapshot::new`.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SnapshotSpec {
    /// At most five are used.
    pub ifaces: Vec<IfaceSpec>,
    /// The IPv4 default route.
    pub v4: Option<RouteSpec>,
    /// The IPv6 default route.
    pub v6: Option<RouteSpec>,
}

fn addr(i: u8) -> std::net::IpAddr {
    ADDRS[usize::from(i) % ADDRS.len()].parse().unwrap()
}

fn name(i: u8) -> &'static str {
    NAMES[usize::from(i) % NAMES.len()]
}

impl SnapshotSpec {
    /// The snapshot, or why `Snapshot::new` refused it.
    pub fn build(&self) -> Result<Snapshot, OsError> {
        let interfaces = self
            .ifaces
            .iter()
            .take(5)
            .map(|s| {
                let mut i = Interface::new(u32::from(s.index % 6 + 1), name(s.name));
                i.flags = InterfaceFlags::from_bits_truncate(u32::from(s.flags));
                i.mtu = if s.mtu { 1500 } else { 0 };
                i.mac = s.mac.map(|m| HardwareAddr::new(&[2, 0, 0, 0, 0, m]));
                for a in s.addrs.iter().take(4) {
                    let ip = addr(a.addr);
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    let net = IpNet::new(ip, a.prefix % (max + 1)).unwrap();
                    i.addrs.push(
                        Address::new(net)
                            .with_flags(AddrFlags::from_bits_truncate(u32::from(a.flags))),
                    );
                }
                i
            })
            .collect();
        let route = |r: &Option<RouteSpec>| {
            r.as_ref().map(|r| {
                DefaultRoute::new(
                    u32::from(r.index % 6 + 1),
                    name(r.index).to_owned(),
                    r.gateway.map(addr),
                )
            })
        };
        let routes = DefaultRoutes {
            v4: route(&self.v4),
            v6: route(&self.v6),
        };
        Snapshot::new(interfaces, routes).map_err(|e| OsError::new(e.to_string()))
    }
}

/// A generated route hint.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct HintSpec {
    /// Which `RouteEventKind` (modulo their number).
    pub kind: u8,
    /// Which `Family` (modulo their number).
    pub family: u8,
    /// The interface index named, if any.
    pub index: Option<u8>,
    /// Index into [`NAMES`].
    pub name: Option<u8>,
    /// The routing table, if named.
    pub table: Option<u8>,
    /// The route's prefix length, if any.
    pub prefix: Option<u8>,
}

impl HintSpec {
    /// The hint.
    pub fn build(&self) -> RouteEvent {
        const KINDS: [RouteEventKind; 8] = [
            RouteEventKind::LinkNew,
            RouteEventKind::LinkDel,
            RouteEventKind::AddrNew,
            RouteEventKind::AddrDel,
            RouteEventKind::RouteNew,
            RouteEventKind::RouteDel,
            RouteEventKind::Rule,
            RouteEventKind::Unknown,
        ];
        let mut ev = RouteEvent::new(KINDS[usize::from(self.kind) % KINDS.len()]);
        ev.family = match self.family % 3 {
            0 => None,
            1 => Some(Family::V4),
            _ => Some(Family::V6),
        };
        ev.index = self.index.map(|i| u32::from(i % 8));
        if let Some(n) = self.name {
            ev = ev.with_name(name(n));
        }
        ev.table = self.table.map(u32::from);
        ev.dst_prefix_len = self.prefix.map(|p| p % 129);
        ev
    }
}

/// Which id an enumeration result carries.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum IdChoice {
    /// The last id asked for (whether or not it is still in flight).
    Latest,
    /// An older id.
    Older(u8),
    /// An id not asked for yet.
    Future(u8),
    /// Any id.
    Raw(u64),
}

/// What an enumeration answers.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Outcome {
    /// This snapshot (or, if `Snapshot::new` refuses it, the error).
    Snapshot(SnapshotSpec),
    /// The same snapshot as the last successful answer.
    Same,
    /// An operating-system error.
    Error,
}

/// A sleep-clock reading, relative to the previous one or absolute.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SleepStep {
    /// As far ahead as the monotonic clock moved, plus this many ms.
    Ahead(u32),
    /// Back by this many ms (an NTP step of the wall clock).
    Back(u32),
    /// This many ms since the clock's epoch.
    Absolute(u64),
}

/// One thing a driver can do to the Reconciler.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// The driver's clock reading moves by `delta_ms`, possibly backwards;
    /// `now` follows it only forwards (it is an `Instant`). If `run_timers`,
    /// `handle_timeout(now)` is called.
    Clock {
        /// Milliseconds, either way.
        delta_ms: i32,
        /// Whether `handle_timeout` follows.
        run_timers: bool,
    },
    /// Jump to `poll_timeout()` and call `handle_timeout` there.
    ToDeadline,
    /// Call `handle_timeout(now)` again.
    Timeout,
    /// A route hint.
    Route(HintSpec),
    /// A sleep-clock sample.
    SleepClock(SleepStep),
    /// An enumeration result.
    Enumerated {
        /// Which enumeration it answers.
        id: IdChoice,
        /// What it says.
        outcome: Outcome,
    },
    /// The route socket overflowed.
    Overflow,
    /// The route socket failed (`true`: closed, `false`: errored).
    MonitorFailed(bool),
    /// A rebind's result.
    Rebound(bool),
    /// The application asks for a check.
    ForceCheck,
}

#[derive(Clone, Copy, Debug)]
struct Outstanding {
    id: u64,
    deadline: Option<Instant>,
    timed_out: bool,
}

/// The Reconciler under test and a small model of what it must do.
pub struct Harness {
    r: Reconciler,
    config: Config,
    start: Instant,
    /// Milliseconds since `start`: only moves forward.
    now_ms: u64,
    /// The driver's clock reading, in ms since `start`: may move backwards.
    reading_ms: i64,
    sleep_sample: Duration,
    last_sleep: Option<(Instant, Duration)>,
    outstanding: Option<Outstanding>,
    last_id: Option<u64>,
    seq: u64,
    published: Option<Arc<Snapshot>>,
    last_ok: Option<Snapshot>,
    ignored: Vec<u32>,
    time_jump_from: Option<u64>,
    rebind_pending: bool,
    needs_rebind: bool,
    // What the stats must say.
    enumerations: u64,
    publications: u64,
    rebinds: u64,
    overflows: u64,
    route_events: u64,
    ignored_events: u64,
    failures: u64,
    stale: u64,
    /// Steps taken, for messages.
    pub steps: usize,
    /// Every action, in order, when recording (see [`Harness::record`]).
    pub trace: Option<Vec<Action>>,
}

/// What the step just fed, for the checks that depend on it.
enum Fed {
    Nothing,
    /// A call that must change nothing when no timer is due.
    Inert,
    /// An urgent reason with nothing in flight: an `Enumerate` must follow.
    Urgent,
    /// The result of the enumeration in flight.
    Fresh {
        id: u64,
        result: Option<Snapshot>,
    },
}

impl Harness {
    /// A Reconciler started at `start`, checked from its first action.
    pub fn new(spec: &ConfigSpec, start: Instant) -> Self {
        let config = spec.build();
        let r = Reconciler::new(config.clone(), start);
        let mut h = Harness {
            r,
            config,
            start,
            now_ms: 0,
            reading_ms: 0,
            sleep_sample: Duration::from_secs(1_000),
            last_sleep: None,
            outstanding: None,
            last_id: None,
            seq: 0,
            published: None,
            last_ok: None,
            ignored: Vec::new(),
            time_jump_from: None,
            rebind_pending: false,
            needs_rebind: false,
            enumerations: 0,
            publications: 0,
            rebinds: 0,
            overflows: 0,
            route_events: 0,
            ignored_events: 0,
            failures: 0,
            stale: 0,
            steps: 0,
            trace: None,
        };
        h.after_call(None, Fed::Urgent);
        h
    }

    /// Keeps every action from now on in [`Harness::trace`].
    pub fn record(&mut self) {
        self.trace.get_or_insert_with(Vec::new);
    }

    /// The instant the harness is at.
    pub fn now(&self) -> Instant {
        self.start + Duration::from_millis(self.now_ms)
    }

    /// The Reconciler, for extra checks.
    pub fn reconciler(&self) -> &Reconciler {
        &self.r
    }

    /// Whether the model thinks an enumeration is in flight.
    fn in_flight(&self) -> Option<u64> {
        self.outstanding.filter(|o| !o.timed_out).map(|o| o.id)
    }

    /// Applies one operation and checks every invariant.
    pub fn step(&mut self, op: &Op) {
        self.steps += 1;
        let now = self.now();
        let before = self.r.poll_timeout();
        let due = before.is_some_and(|t| t <= now);
        match op {
            Op::Clock {
                delta_ms,
                run_timers,
            } => {
                self.reading_ms = self.reading_ms.saturating_add(i64::from(*delta_ms));
                // A reading before the last one leaves `now` where it was.
                let reading = u64::try_from(self.reading_ms).unwrap_or(0).min(MAX_MS);
                self.now_ms = self.now_ms.max(reading);
                if *run_timers {
                    let now = self.now();
                    self.r.handle_timeout(now);
                    self.after_call(before, Fed::Nothing);
                }
            }
            Op::ToDeadline => {
                if let Some(t) = before {
                    let since = t.saturating_duration_since(self.start);
                    let mut ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
                    // Deadlines fall on whole milliseconds, except those
                    // computed from sub-millisecond delays: round up.
                    if Duration::from_millis(ms) < since {
                        ms = ms.saturating_add(1);
                    }
                    // Deadlines past `MAX_MS` ("never") are not jumped to.
                    if ms > self.now_ms && ms <= MAX_MS {
                        self.now_ms = ms;
                        self.reading_ms = self.reading_ms.max(ms as i64);
                    }
                }
                let now = self.now();
                self.r.handle_timeout(now);
                self.after_call(before, Fed::Nothing);
            }
            Op::Timeout => {
                self.r.handle_timeout(now);
                self.after_call(before, if due { Fed::Nothing } else { Fed::Inert });
            }
            Op::Route(spec) => {
                let ev = spec.build();
                self.route_events += 1;
                // A link hint naming an ignored index under a name the
                // filter keeps (a rename, or a reused index) un-ignores it.
                if let (RouteEventKind::LinkNew, Some(index), Some(name)) =
                    (ev.kind, ev.index, &ev.name)
                {
                    if !self.config.filter().ignores(name.as_bytes()) {
                        self.ignored.retain(|i| *i != index);
                    }
                }
                // A link or address hint about an interface the published
                // state holds is never filtered (a rename to an ignored
                // name must remove it at once).
                let known = matches!(
                    ev.kind,
                    RouteEventKind::LinkNew
                        | RouteEventKind::LinkDel
                        | RouteEventKind::AddrNew
                        | RouteEventKind::AddrDel
                ) && ev.index.is_some_and(|i| {
                    self.published
                        .as_ref()
                        .is_some_and(|p| p.by_index(i).is_some())
                });
                let ignored = &self.ignored;
                let admitted = known || self.config.filter().admits(&ev, |i| ignored.contains(&i));
                if !admitted {
                    self.ignored_events += 1;
                }
                self.r.handle_input(now, Input::Route(ev));
                let fed = if admitted || due {
                    Fed::Nothing
                } else {
                    Fed::Inert
                };
                self.after_call(before, fed);
            }
            Op::SleepClock(step) => {
                let sample = match *step {
                    SleepStep::Ahead(ms) => {
                        let awake = self.last_sleep.map_or(Duration::ZERO, |(then, _)| {
                            now.saturating_duration_since(then)
                        });
                        self.sleep_sample
                            .saturating_add(awake)
                            .saturating_add(Duration::from_millis(u64::from(ms)))
                    }
                    SleepStep::Back(ms) => self
                        .sleep_sample
                        .saturating_sub(Duration::from_millis(u64::from(ms))),
                    SleepStep::Absolute(ms) => Duration::from_millis(ms),
                };
                let previous = self.last_sleep.replace((now, sample));
                self.sleep_sample = sample;
                let jumped = previous.is_some_and(|(then, before)| {
                    sample.checked_sub(before).is_some_and(|slept| {
                        slept.saturating_sub(now.saturating_duration_since(then))
                            > self.config.jump_threshold()
                    })
                });
                // A sample that is not a jump (backwards, the first one, or a
                // small step) only becomes the new baseline.
                let fed = if jumped {
                    self.time_jump_from
                        .get_or_insert(self.last_id.map_or(0, |i| i + 1));
                    if self.in_flight().is_none() {
                        Fed::Urgent
                    } else {
                        Fed::Nothing
                    }
                } else if !due {
                    Fed::Inert
                } else {
                    Fed::Nothing
                };
                self.r.handle_input(now, Input::SleepClock(sample));
                self.after_call(before, fed);
            }
            Op::Enumerated { id, outcome } => {
                let latest = self.last_id.unwrap_or(0);
                let id = match *id {
                    IdChoice::Latest => latest,
                    IdChoice::Older(k) => latest.saturating_sub(u64::from(k) + 1),
                    IdChoice::Future(k) => latest.saturating_add(u64::from(k) + 1),
                    IdChoice::Raw(id) => id,
                };
                let result = match outcome {
                    Outcome::Snapshot(spec) => spec.build(),
                    Outcome::Same => self
                        .last_ok
                        .clone()
                        .ok_or_else(|| OsError::new("nothing read yet")),
                    Outcome::Error => Err(OsError::new("enumeration failed")),
                };
                let fed = if self.in_flight() == Some(id) {
                    self.outstanding = None;
                    match &result {
                        Ok(s) => {
                            self.last_ok = Some(s.clone());
                            Fed::Fresh {
                                id,
                                result: Some(s.clone()),
                            }
                        }
                        Err(_) => {
                            self.failures += 1;
                            Fed::Fresh { id, result: None }
                        }
                    }
                } else {
                    self.stale += 1;
                    if due {
                        Fed::Nothing
                    } else {
                        Fed::Inert
                    }
                };
                self.r.handle_input(
                    now,
                    Input::Enumerated {
                        id: EnumerationId(id),
                        result,
                    },
                );
                self.after_call(before, fed);
            }
            Op::Overflow => {
                self.overflows += 1;
                let fed = self.urgent();
                self.r
                    .handle_input(now, Input::MonitorFailed(MonitorFailure::Overflow));
                self.after_call(before, fed);
            }
            Op::MonitorFailed(closed) => {
                let kind = if *closed {
                    MonitorFailure::Closed
                } else {
                    MonitorFailure::Error
                };
                self.needs_rebind = true;
                self.r.handle_input(now, Input::MonitorFailed(kind));
                self.after_call(before, Fed::Nothing);
            }
            Op::Rebound(ok) => {
                let mut fed = if due { Fed::Nothing } else { Fed::Inert };
                if self.rebind_pending {
                    self.rebind_pending = false;
                    fed = Fed::Nothing;
                    if *ok {
                        self.needs_rebind = false;
                        fed = self.urgent();
                    }
                }
                let result = if *ok {
                    Ok(())
                } else {
                    Err(OsError::new("rebind failed"))
                };
                self.r.handle_input(now, Input::MonitorRebound(result));
                self.after_call(before, fed);
            }
            Op::ForceCheck => {
                let fed = self.urgent();
                self.r.handle_input(now, Input::ForceCheck);
                self.after_call(before, fed);
            }
        }
    }

    fn urgent(&self) -> Fed {
        if self.in_flight().is_none() {
            Fed::Urgent
        } else {
            Fed::Nothing
        }
    }

    /// Drains the actions of the call just made and checks everything.
    fn after_call(&mut self, before: Option<Instant>, fed: Fed) {
        let now = self.now();
        let step = self.steps;
        let actions: Vec<Action> = std::iter::from_fn(|| self.r.poll_action()).collect();
        assert!(
            actions.len() <= MAX_ACTIONS_PER_STEP,
            "step {step}: {} actions in one step: {actions:?}",
            actions.len()
        );
        // The enumeration in flight timed out in this call if `now` reached
        // its deadline (a fresh answer fed by this call was cleared before
        // it, and came first). The next enumeration is only decided by the
        // drain below, after every timer of the call has run.
        if let Some(o) = &mut self.outstanding {
            if !o.timed_out && o.deadline.is_some_and(|d| d <= now) {
                o.timed_out = true;
                self.failures += 1;
            }
        }
        if let Some(trace) = &mut self.trace {
            trace.extend(actions.iter().cloned());
        }
        let mut enumerated = false;
        let mut published = false;
        let mut cause = None;
        for action in &actions {
            match action {
                Action::Enumerate { id, .. } => {
                    assert!(
                        !enumerated,
                        "step {step}: two enumerations in one drain: {actions:?}"
                    );
                    enumerated = true;
                    self.enumerations += 1;
                    let id = id.0;
                    if let Some(last) = self.last_id {
                        assert!(id > last, "step {step}: enumeration id {id} after {last}");
                    }
                    if let Some(o) = self.outstanding {
                        assert!(
                            o.timed_out,
                            "step {step}: Enumerate {id} while {} is unanswered and not timed out",
                            o.id
                        );
                    }
                    self.last_id = Some(id);
                    self.outstanding = Some(Outstanding {
                        id,
                        deadline: now.checked_add(self.config.enumeration_timeout()),
                        timed_out: false,
                    });
                }
                Action::Publish(change) => {
                    assert!(!published, "step {step}: two publications in one step");
                    published = true;
                    cause = Some(change.cause);
                    self.check_publication(change);
                }
                Action::RebindMonitor => {
                    self.rebinds += 1;
                    assert!(
                        self.needs_rebind,
                        "step {step}: RebindMonitor without a socket failure"
                    );
                    assert!(
                        !self.rebind_pending,
                        "step {step}: RebindMonitor while one is unanswered"
                    );
                    self.rebind_pending = true;
                }
            }
        }
        let fresh_ok = matches!(
            fed,
            Fed::Fresh {
                result: Some(_),
                ..
            }
        );
        match fed {
            Fed::Nothing => {}
            Fed::Inert => {
                assert!(
                    actions.is_empty(),
                    "step {step}: a call that changes nothing gave {actions:?}"
                );
                assert_eq!(
                    self.r.poll_timeout(),
                    before,
                    "step {step}: a call that changes nothing moved the deadline"
                );
            }
            Fed::Urgent => assert!(
                enumerated,
                "step {step}: an urgent reason with nothing in flight did not enumerate: {actions:?}"
            ),
            Fed::Fresh { id, result } => {
                if let Some(raw) = result {
                    let filter = self.config.filter();
                    self.ignored = raw
                        .interfaces()
                        .iter()
                        .filter(|i| !filter.keeps(i))
                        .map(|i| i.index)
                        .collect();
                    let expected = raw.retain(|i| filter.keeps(i));
                    let state = self.r.state().expect("a successful enumeration sets a state");
                    assert_eq!(
                        **state, expected,
                        "step {step}: the state is not the last enumeration's"
                    );
                    if self.time_jump_from.is_some_and(|from| id >= from) {
                        self.time_jump_from = None;
                        assert!(
                            matches!(cause, Some(Cause::TimeJump | Cause::Initial)),
                            "step {step}: the first enumeration after a sleep published {cause:?}"
                        );
                    }
                }
            }
        }
        assert!(
            !published || fresh_ok,
            "step {step}: a publication without a fresh successful enumeration"
        );
        self.check_timeout(now);
        self.check_stats();
    }

    fn check_publication(&mut self, change: &netstate_core::Change) {
        let step = self.steps;
        assert_eq!(
            change.seq,
            self.seq + 1,
            "step {step}: seq skipped or repeated"
        );
        self.seq = change.seq;
        self.publications += 1;
        assert_eq!(
            change.cause == Cause::Initial,
            change.seq == 1,
            "step {step}: cause Initial must be exactly the first publication ({:?}, seq {})",
            change.cause,
            change.seq
        );
        let empty = Snapshot::empty();
        let previous = self.published.as_deref().unwrap_or(&empty);
        assert_eq!(
            *change.old, *previous,
            "step {step}: old is not the previous publication's new"
        );
        if !matches!(change.cause, Cause::Initial | Cause::TimeJump) {
            assert_ne!(
                change.old, change.new,
                "step {step}: a {:?} publication without a change",
                change.cause
            );
        }
        assert_eq!(
            change.delta,
            Snapshot::diff(&change.old, &change.new),
            "step {step}: delta"
        );
        assert!(
            self.r
                .state()
                .is_some_and(|s| Arc::ptr_eq(s, &change.new) || **s == *change.new),
            "step {step}: state() is not the published new"
        );
        self.published = Some(change.new.clone());
    }

    fn check_timeout(&self, now: Instant) {
        let step = self.steps;
        let deadline = self.r.poll_timeout();
        if let Some(t) = deadline {
            assert!(
                t > now,
                "step {step}: poll_timeout {:?} is not after now {:?}",
                t - self.start,
                now - self.start
            );
            let longest = self.longest_delay();
            if let Some(bound) = now.checked_add(longest) {
                assert!(
                    t <= bound,
                    "step {step}: poll_timeout {:?} is further than the longest delay {longest:?}",
                    t - now
                );
            }
        } else if self.config.reconcile_interval().is_some() {
            // With reconcile on, something is always scheduled, unless a
            // deadline was too far away to be an `Instant` ("never").
            assert!(
                now.checked_add(self.longest_delay()).is_none(),
                "step {step}: reconcile is on but nothing is scheduled"
            );
        }
        // Polling does not change it.
        assert_eq!(self.r.poll_timeout(), deadline);
    }

    /// The longest delay the configuration can put between now and a
    /// deadline.
    fn longest_delay(&self) -> Duration {
        let c = &self.config;
        [
            c.max_wait(),
            c.reconcile_interval().unwrap_or_default(),
            c.retry_backoff().max,
            c.rebind_backoff().max,
            c.enumeration_timeout(),
        ]
        .into_iter()
        .max()
        .unwrap_or_default()
    }

    fn check_stats(&self) {
        let step = self.steps;
        let s = self.r.stats();
        assert_eq!(
            s.enumerations, self.enumerations,
            "step {step}: enumerations"
        );
        assert_eq!(
            s.publications, self.publications,
            "step {step}: publications"
        );
        assert_eq!(s.rebinds, self.rebinds, "step {step}: rebinds");
        assert_eq!(s.overflows, self.overflows, "step {step}: overflows");
        assert_eq!(
            s.route_events, self.route_events,
            "step {step}: route events"
        );
        assert_eq!(
            s.ignored_events, self.ignored_events,
            "step {step}: ignored"
        );
        assert_eq!(s.stale_results, self.stale, "step {step}: stale results");
        assert_eq!(
            s.enumeration_failures, self.failures,
            "step {step}: enumeration failures"
        );
    }
}

/// Runs `ops` on a fresh Reconciler, checking after every step.
pub fn run(config: &ConfigSpec, ops: &[Op]) {
    let mut h = Harness::new(config, Instant::now());
    for op in ops {
        h.step(op);
    }
}

/// Runs `ops` from `start` and returns every action after the first
/// enumeration, for determinism checks.
pub fn run_recorded(config: &ConfigSpec, ops: &[Op], start: Instant) -> Vec<Action> {
    let mut h = Harness::new(config, start);
    h.record();
    for op in ops {
        h.step(op);
    }
    h.trace.unwrap_or_default()
}
