//! The properties every simulated run must satisfy, and their bounds.
//!
//! Each checker reads the [`Observations`] of a finished run and returns a
//! [`Checked`] summary (so a test can assert it was not vacuous) or the
//! first [`Violation`]. The bounds are derived from the [`Config`] and the
//! host's [`SimParams`] in [`Bounds::new`]; the reasoning behind each is in
//! its field's documentation, in terms of the Reconciler's rules.
//!
//! Notation used below: `d` debounce, `W` maximum wait, `I` reconcile
//! interval, `E` enumeration timeout, `R(i)` the retry backoff's `i`-th delay
//! (`R(0)` its first), `D` the longest enumeration, `δ` the socket's longest
//! delivery delay, `k` the most consecutive failed enumerations.

use core::fmt;
use std::time::Duration;

use std::collections::BTreeMap;

use netstate_core::ipnet::IpNet;
use netstate_core::{
    AddrFlags, AddrFlagsChange, Address, Cause, Config, DefaultRoute, DefaultRouteDelta,
    DefaultRoutes, Delta, Interface, InterfaceDelta, InterfaceId, MonitorFailure, Snapshot,
    Targets,
};

use crate::sim::{Fed, Observations, Outcome, SimParams};

/// A property that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which property.
    pub property: &'static str,
    /// When (virtual time since the start).
    pub at: Duration,
    /// What went wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "property `{}` violated at {:.3}s: {}",
            self.property,
            self.at.as_secs_f64(),
            self.detail
        )
    }
}

impl std::error::Error for Violation {}

fn violation(property: &'static str, at: Duration, detail: String) -> Violation {
    Violation {
        property,
        at,
        detail,
    }
}

/// What a checker looked at, so that tests can refuse vacuous passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// How many situations were checked (intervals, publications, windows…).
    pub cases: usize,
    /// The largest measured value against its bound (a convergence delay,
    /// a count of enumerations in a window, a gap), for reporting tightness.
    pub worst: Duration,
    /// The largest count measured (enumerations in a window), when counting.
    pub worst_count: usize,
}

/// The bounds of a run, derived from the configuration and the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// `D`: the longest a successful enumeration takes.
    pub enumeration: Duration,
    /// The shortest any enumeration takes.
    pub enumeration_min: Duration,
    /// `F`: the longest one enumeration keeps the core busy: `D`, or `E` when
    /// enumerations may hang (the core gives up on them after `E`).
    pub occupancy: Duration,
    /// `C = Σ_{i<k} (F + R(i))`: the longest a run of consecutive failures
    /// can postpone a success. A failure keeps the reasons but waits for the
    /// retry timer (`R(attempt)`, the attempt counting failures since the
    /// last success), and the simulation lets at most `k` fail in a row; any
    /// `k` consecutive delays sum to at most `R(0) + … + R(k-1)`.
    pub failure_chain: Duration,
    /// `δ`: the longest a message waits in the socket.
    pub delivery: Duration,
    /// Convergence when every change's hints reach the core:
    /// `max(δ + W, D) + C + D` after the last change.
    ///
    /// The change's hint arrives by `t + δ`; the debounce it (re)starts runs
    /// out by `t + δ + W` at the latest (the maximum wait, counted from the
    /// first hint of the burst, caps it, whatever storm follows). An
    /// enumeration in flight then, possibly started before the change, ends
    /// by `t + D` if it succeeds, and the hint's enumeration starts right
    /// after it (one more after the one in flight). Failures from there on
    /// cost at most `C` (a failure of the enumeration in flight is part of
    /// the same run of failures), and the first enumeration to start after
    /// the change reads the new truth and publishes it `D` later. An
    /// overflow only makes it sooner (it enumerates at once).
    pub converge_flowing: Duration,
    /// Convergence when hints may be lost (drops, silence, errors):
    /// `D + I + C + D` after the last change, or `None` with reconcile off
    /// (nothing is promised then).
    ///
    /// The reconcile timer is re-armed `I` after every successful
    /// enumeration, and an enumeration in flight at the change ends by
    /// `t + D` (success; a failure starts a retry chain instead, which is
    /// shorter). So by `t + D + I` an enumeration that reads the new truth
    /// starts, or a retry chain is under way; either ends with a success
    /// within `C + D`. Hints, overflows, rebinds and sleeps only add
    /// enumerations; none postpones the reconcile or a retry.
    pub converge_silent: Option<Duration>,
    /// The shortest gap between an enumeration and the next one when the
    /// next is not urgent: `max(shortest enumeration, min(d, I, R(0)))` (`I`
    /// only with reconcile on, `R(0)` only when enumerations can fail).
    ///
    /// Starting an enumeration stops the debounce and maximum-wait timers
    /// and takes every pending reason, so the next non-urgent one needs a
    /// new hint and its debounce (`>= d`, the maximum wait being `>= d`), or
    /// the reconcile timer (`I` after a success), or the retry timer (`>=
    /// R(0)` after a failure); and only one runs at a time.
    pub spacing: Duration,
    /// Sleep detection to publication: `F + C + D`. A detected sleep is
    /// urgent: it starts at once, or when the enumeration in flight ends
    /// (`<= F`), and a failure turns it into a retry chain (`<= C`).
    pub time_jump: Duration,
}

impl Bounds {
    /// The bounds for a core running `config` on a host with `params`.
    #[must_use]
    pub fn new(config: &Config, params: &SimParams) -> Self {
        let e = &params.enumeration;
        let d_max = Duration::from_millis(e.duration_ms[1]);
        let d_min = Duration::from_millis(e.duration_ms[0]);
        let can_fail = e.can_fail();
        let occupancy = if can_fail && e.hang_per_mille > 0 {
            d_max.max(config.enumeration_timeout())
        } else {
            d_max
        };
        let k = if can_fail {
            e.max_consecutive_failures
        } else {
            0
        };
        let retry = config.retry_backoff();
        let failure_chain = (0..k)
            .map(|i| occupancy + retry.delay(i))
            .fold(Duration::ZERO, |a, b| a.saturating_add(b));
        let delivery = Duration::from_millis(params.socket.delay_ms[1]);
        let converge_flowing = (delivery + config.max_wait()).max(d_max) + failure_chain + d_max;
        let converge_silent = config
            .reconcile_interval()
            .map(|i| d_max + i + failure_chain + d_max);
        let mut spacing = config.debounce();
        if let Some(i) = config.reconcile_interval() {
            spacing = spacing.min(i);
        }
        if can_fail {
            spacing = spacing.min(retry.initial);
        }
        let spacing = spacing.max(d_min);
        Bounds {
            enumeration: d_max,
            enumeration_min: d_min,
            occupancy,
            failure_chain,
            delivery,
            converge_flowing,
            converge_silent,
            spacing,
            time_jump: occupancy + failure_chain + d_max,
        }
    }

    /// The most non-urgent enumerations that fit in a window of `window`:
    /// `⌊window / spacing⌋ + 1`.
    #[must_use]
    pub fn max_enumerations(&self, window: Duration) -> usize {
        if self.spacing.is_zero() {
            return usize::MAX;
        }
        (window.as_nanos() / self.spacing.as_nanos()) as usize + 1
    }
}

/// Convergence: after each change of the truth that is followed by
/// `bound` of quiet, the published state equals that truth at the change
/// plus `bound`, and stays equal until the next change.
pub fn check_convergence(obs: &Observations, bound: Duration) -> Result<Checked, Violation> {
    let mut checked = Checked::default();
    for (i, (t, truth)) in obs.truth.iter().enumerate() {
        let next = obs.truth.get(i + 1).map_or(Duration::MAX, |(n, _)| *n);
        let deadline = t.saturating_add(bound);
        if deadline >= next || deadline > obs.end {
            continue;
        }
        checked.cases += 1;
        match obs.published_at(deadline) {
            Some(s) if s == truth => {}
            other => {
                return Err(violation(
                    "convergence",
                    deadline,
                    format!(
                        "the truth changed at {:.3}s to {}; {:?} later the published state is {}",
                        t.as_secs_f64(),
                        crate::net::describe(truth),
                        bound,
                        other.map_or("nothing".into(), |s| crate::net::describe(s)),
                    ),
                ))
            }
        }
        // It stays so until the next change.
        for (at, c) in &obs.publications {
            if *at > deadline && *at < next && c.new != *truth {
                return Err(violation(
                    "convergence",
                    *at,
                    format!(
                        "after converging, published {} while the truth is {}",
                        crate::net::describe(&c.new),
                        crate::net::describe(truth)
                    ),
                ));
            }
        }
        // How long it took: from the change to the publication that made
        // the state right (0 if it already was).
        let first_right = obs
            .publications
            .iter()
            .filter(|(at, _)| *at <= deadline)
            .rev()
            .take_while(|(_, c)| c.new == *truth)
            .last()
            .map(|(at, _)| *at);
        let lag = first_right.map_or(Duration::ZERO, |at| at.saturating_sub(*t));
        checked.worst = checked.worst.max(lag);
    }
    Ok(checked)
}

/// No spurious publication: publications are numbered from 1 without gaps,
/// each starts where the previous ended, carries the exact delta, differs
/// from the previous state unless its cause is `time_jump`, the first is
/// `initial` and no other is, and each publishes exactly what an
/// enumeration answered at that instant read (no state that never existed).
pub fn check_no_spurious(obs: &Observations) -> Result<Checked, Violation> {
    const P: &str = "no spurious publication";
    let mut previous = std::sync::Arc::new(Snapshot::empty());
    for (n, (at, c)) in obs.publications.iter().enumerate() {
        let fail = |d: String| Err(violation(P, *at, format!("seq {}: {d}", c.seq)));
        if c.seq != n as u64 + 1 {
            return fail(format!("expected seq {}", n + 1));
        }
        if (c.cause == Cause::Initial) != (n == 0) {
            return fail(format!(
                "cause {:?} for publication number {}",
                c.cause,
                n + 1
            ));
        }
        if c.old != previous {
            return fail("its old state is not the previous publication's new state".into());
        }
        if c.new == c.old && c.cause != Cause::TimeJump {
            return fail(format!("nothing changed (cause {})", c.cause.as_str()));
        }
        if c.delta != model_delta(&c.old, &c.new) {
            return fail(format!(
                "its delta is not the difference of its states: {:?}, want {:?}",
                c.delta,
                model_delta(&c.old, &c.new)
            ));
        }
        let real = obs.enumerations.iter().any(|e| {
            if e.answered != Some(*at) || e.outcome != Outcome::Ok {
                return false;
            }
            match (&e.read, &e.targets) {
                (Some(read), None) => read == &c.new,
                (Some(read), Some(targets)) => *c.new == targeted_model(&previous, read, targets),
                (None, _) => false,
            }
        });
        if !real {
            return fail(format!(
                "published {}, which no enumeration answered at this instant read",
                crate::net::describe(&c.new)
            ));
        }
        previous = c.new.clone();
    }
    Ok(Checked {
        cases: obs.publications.len(),
        ..Checked::default()
    })
}

/// The difference between two states by a model as simple as the rule,
/// independent of `Snapshot::diff` (the property must not use the code it
/// checks as its oracle): interfaces and addresses as maps, the added,
/// removed and changed ones by set difference, in increasing order.
fn model_delta(old: &Snapshot, new: &Snapshot) -> Delta {
    let by_index = |s: &Snapshot| -> BTreeMap<u32, Interface> {
        s.interfaces()
            .iter()
            .map(|i| (i.index, Interface::clone(i)))
            .collect()
    };
    let (a, b) = (by_index(old), by_index(new));
    let id = |i: &Interface| InterfaceId {
        index: i.index,
        name: i.name.clone(),
    };
    let mut delta = Delta {
        added: b
            .values()
            .filter(|i| !a.contains_key(&i.index))
            .map(id)
            .collect(),
        removed: a
            .values()
            .filter(|i| !b.contains_key(&i.index))
            .map(id)
            .collect(),
        ..Delta::default()
    };
    for (index, o) in &a {
        let Some(n) = b.get(index) else { continue };
        if o == n {
            continue;
        }
        let addrs = |i: &Interface| -> BTreeMap<IpNet, AddrFlags> {
            i.addrs.iter().map(|a| (a.net, a.flags)).collect()
        };
        let (oa, na) = (addrs(o), addrs(n));
        let mut d = InterfaceDelta {
            index: *index,
            name: n.name.clone(),
            renamed_from: (o.name != n.name).then(|| o.name.clone()),
            addrs_added: Default::default(),
            addrs_removed: Default::default(),
            addrs_flags_changed: Default::default(),
            old_flags: o.flags,
            new_flags: n.flags,
            mtu_changed: o.mtu != n.mtu,
            mac_changed: o.mac != n.mac,
        };
        for (net, flags) in &na {
            match oa.get(net) {
                None => d.addrs_added.push(Address::new(*net).with_flags(*flags)),
                Some(old_flags) if old_flags != flags => {
                    d.addrs_flags_changed.push(AddrFlagsChange {
                        old: Address::new(*net).with_flags(*old_flags),
                        new_flags: *flags,
                    })
                }
                Some(_) => {}
            }
        }
        for (net, flags) in &oa {
            if !na.contains_key(net) {
                d.addrs_removed.push(Address::new(*net).with_flags(*flags));
            }
        }
        delta.changed.push(d);
    }
    let (ro, rn) = (old.default_routes(), new.default_routes());
    delta.default_route_changed = DefaultRouteDelta {
        v4: ro.v4 != rn.v4,
        v6: ro.v6 != rn.v6,
    };
    delta
}

/// What a targeted read of `targets` publishes, by a model as simple as
/// the rule: the previous state with each targeted interface taken from
/// the truth the read saw (`read`, through the filter) and the rest kept,
/// and the truth's default routes, each named after its interface in that
/// state, or else after the previous route through the same untargeted
/// interface (an interface the filter hides), or else as the truth names it.
fn targeted_model(previous: &Snapshot, read: &Snapshot, targets: &Targets) -> Snapshot {
    let mut interfaces: Vec<Interface> = previous
        .interfaces()
        .iter()
        .filter(|i| !targets.contains(i.index))
        .cloned()
        .collect();
    interfaces.extend(
        read.interfaces()
            .iter()
            .filter(|i| targets.contains(i.index))
            .cloned(),
    );
    let name = |r: &DefaultRoute| -> String {
        if let Some(i) = interfaces.iter().find(|i| i.index == r.index) {
            return i.name.clone();
        }
        let old = previous.default_routes();
        [&old.v4, &old.v6]
            .into_iter()
            .flatten()
            .find(|o| o.index == r.index && !targets.contains(r.index))
            .map_or_else(|| r.interface.clone(), |o| o.interface.clone())
    };
    let route = |r: &Option<DefaultRoute>| {
        r.as_ref()
            .map(|r| DefaultRoute::new(r.index, name(r), r.gateway))
    };
    let routes = DefaultRoutes {
        v4: route(&read.default_routes().v4),
        v6: route(&read.default_routes().v6),
    };
    Snapshot::new(interfaces, routes).unwrap_or_default()
}

/// The instants of the inputs that make an enumeration urgent (start at
/// once, or right after the one in flight): the start itself, overflows,
/// forced checks, successful rebinds and detected sleeps.
#[must_use]
pub fn urgent_inputs(obs: &Observations, config: &Config) -> Vec<Duration> {
    let jumps = sleep_triggers(obs, config);
    let mut out = vec![Duration::ZERO];
    for (at, f) in &obs.fed {
        match f {
            Fed::MonitorFailed(MonitorFailure::Overflow) | Fed::ForceCheck | Fed::Rebound(true) => {
                out.push(*at)
            }
            _ => {}
        }
    }
    out.extend(jumps.into_iter().map(|(_, at)| at));
    out.sort();
    out
}

/// Bounded work: any window of length `window` (or up to the end of the
/// run) that starts at an enumeration holds at most
/// [`Bounds::max_enumerations`] of them plus one
/// per urgent input in the window or up to [`Bounds::occupancy`] before it
/// (an urgent input waits at most that for the enumeration in flight).
pub fn check_bounded_work(
    obs: &Observations,
    config: &Config,
    bounds: &Bounds,
    window: Duration,
) -> Result<Checked, Violation> {
    let starts: Vec<Duration> = obs.enumerations.iter().map(|e| e.started).collect();
    let urgent = urgent_inputs(obs, config);
    let mut checked = Checked::default();
    if bounds.spacing.is_zero() {
        // No debounce and instantaneous enumerations: the work follows the
        // event rate, and there is nothing to check.
        return Ok(checked);
    }
    for (i, s) in starts.iter().enumerate() {
        // Windows near the end of the run are cut short, with their bound.
        let end = s.saturating_add(window).min(obs.end);
        let base = bounds.max_enumerations(end.saturating_sub(*s));
        let n = starts[i..]
            .iter()
            .take_while(|t| **t < end || **t == *s)
            .count();
        let from = s.saturating_sub(bounds.occupancy);
        let u = urgent.iter().filter(|t| **t >= from && **t < end).count();
        checked.cases += 1;
        checked.worst_count = checked.worst_count.max(n);
        if n > base.saturating_add(u) {
            return Err(violation(
                "bounded work",
                *s,
                format!(
                    "{n} enumerations in {:?} from here; at most {base} (one per {:?}) \
                     plus {u} urgent inputs allowed",
                    end.saturating_sub(*s),
                    bounds.spacing
                ),
            ));
        }
    }
    Ok(checked)
}

/// No starvation under a storm: from each enumeration's start `s`, if a
/// route hint is fed at `r >= s` (before `until`), the next enumeration
/// starts by `max(r + W, end of the enumeration at s)`, however many hints
/// follow. Assumes enumerations do not fail and every hint is admitted by
/// the filter.
pub fn check_no_starvation(
    obs: &Observations,
    config: &Config,
    until: Duration,
) -> Result<Checked, Violation> {
    let hints: Vec<(usize, Duration)> = obs
        .fed
        .iter()
        .enumerate()
        .filter(|(_, (_, f))| *f == Fed::Route)
        .map(|(i, (at, _))| (i, *at))
        .collect();
    // The first hint fed after the enumeration was asked for.
    let after = |e: &crate::sim::EnumerationRecord| {
        hints
            .iter()
            .find(|(i, _)| *i >= e.fed_before)
            .map(|(_, at)| *at)
    };
    let mut checked = Checked::default();
    for pair in obs.enumerations.windows(2) {
        let (e, next) = (&pair[0], &pair[1]);
        let Some(r) = after(e) else {
            break;
        };
        if r > until {
            break;
        }
        let Some(done) = e.answered else {
            continue;
        };
        let due = (r + config.max_wait()).max(done);
        checked.cases += 1;
        checked.worst = checked.worst.max(next.started.saturating_sub(e.started));
        if next.started > due {
            return Err(violation(
                "no starvation",
                next.started,
                format!(
                    "a hint at {:.3}s was followed by the next enumeration only at {:.3}s \
                     (due by {:.3}s)",
                    r.as_secs_f64(),
                    next.started.as_secs_f64(),
                    due.as_secs_f64()
                ),
            ));
        }
    }
    // And after the last enumeration, a hint cannot be left waiting.
    if let Some(last) = obs.enumerations.last() {
        if let (Some(r), Some(done)) = (after(last), last.answered) {
            let due = (r + config.max_wait()).max(done);
            if r <= until && due < obs.end {
                return Err(violation(
                    "no starvation",
                    due,
                    format!(
                        "a hint at {:.3}s never led to an enumeration",
                        r.as_secs_f64()
                    ),
                ));
            }
        }
    }
    Ok(checked)
}

/// Recovery after an overflow: the next enumeration starts at the same
/// instant when none is in flight, right when the one in flight succeeds,
/// or within the retry delay `R(k)` after it fails.
pub fn check_overflow_recovery(
    obs: &Observations,
    config: &Config,
    params: &SimParams,
) -> Result<Checked, Violation> {
    const P: &str = "recovery after overflow";
    let max_retry = config
        .retry_backoff()
        .delay(params.enumeration.max_consecutive_failures);
    let mut checked = Checked::default();
    for (j, (u, f)) in obs.fed.iter().enumerate() {
        if *f != Fed::MonitorFailed(MonitorFailure::Overflow) {
            continue;
        }
        // The enumeration in flight: the last one started before this input
        // whose answer was not fed before it and which had not timed out.
        let in_flight = obs
            .enumerations
            .iter()
            .rev()
            .find(|e| e.fed_before <= j)
            .filter(|e| {
                let answered_before = obs.fed[..j]
                    .iter()
                    .any(|(_, f)| matches!(f, Fed::Enumerated { id, .. } if *id == e.id));
                !answered_before && e.started + config.enumeration_timeout() > *u
            });
        let next = obs.enumerations.iter().find(|e| e.fed_before > j);
        let Some(next) = next else {
            if *u + config.enumeration_timeout() + max_retry < obs.end {
                return Err(violation(P, *u, "no enumeration followed".into()));
            }
            continue;
        };
        checked.cases += 1;
        let ok = match in_flight {
            // Asked for right after the overflow was fed (with batching: in
            // the same instant, once all its inputs were in).
            None => next.started == *u && (obs.batched || next.fed_before == j + 1),
            Some(e) => match (e.outcome, e.answered) {
                (Outcome::Ok, Some(a)) if a < e.started + config.enumeration_timeout() => {
                    // Started right when the answer was fed.
                    next.started == a
                }
                _ => {
                    let gave_up = e
                        .answered
                        .unwrap_or(e.started + config.enumeration_timeout())
                        .min(e.started + config.enumeration_timeout());
                    next.started <= gave_up + max_retry
                }
            },
        };
        checked.worst = checked.worst.max(next.started.saturating_sub(*u));
        if !ok {
            return Err(violation(
                P,
                *u,
                format!(
                    "overflow at {:.3}s (in flight: {:?}); next enumeration only at {:.3}s",
                    u.as_secs_f64(),
                    in_flight.map(|e| e.id),
                    next.started.as_secs_f64()
                ),
            ));
        }
    }
    Ok(checked)
}

/// Recovery after a socket error or close: the rebinds asked for are exactly
/// those of the rebind rule, replayed by a small reference model: after a
/// failure of a healthy socket, a rebind after `backoff.delay(attempt)`,
/// the attempt restarting at 0 only if the last successful rebind is at
/// least the backoff's ceiling ago; after a failed rebind, the next after
/// the following delay; failures while broken or rebinding are ignored.
pub fn check_rebind_recovery(obs: &Observations, config: &Config) -> Result<Checked, Violation> {
    #[derive(PartialEq)]
    enum M {
        Healthy,
        Broken(Duration),
        Rebinding,
    }
    let backoff = config.rebind_backoff();
    let mut m = M::Healthy;
    let mut attempt = 0u32;
    let mut last_ok: Option<Duration> = None;
    let mut expected = Vec::new();
    let fire = |m: &mut M, now: Duration, expected: &mut Vec<Duration>| {
        if let M::Broken(due) = *m {
            if due <= now {
                expected.push(due);
                *m = M::Rebinding;
            }
        }
    };
    for (at, f) in &obs.fed {
        fire(&mut m, *at, &mut expected);
        match f {
            Fed::MonitorFailed(MonitorFailure::Error | MonitorFailure::Closed)
                if m == M::Healthy =>
            {
                if last_ok.is_none_or(|t| at.saturating_sub(t) >= backoff.max) {
                    attempt = 0;
                }
                m = M::Broken(*at + backoff.delay(attempt));
                attempt = attempt.saturating_add(1);
            }
            Fed::Rebound(ok) if m == M::Rebinding => {
                if *ok {
                    m = M::Healthy;
                    last_ok = Some(*at);
                } else {
                    m = M::Broken(*at + backoff.delay(attempt));
                    attempt = attempt.saturating_add(1);
                }
            }
            _ => {}
        }
        fire(&mut m, *at, &mut expected);
    }
    fire(&mut m, obs.end, &mut expected);
    if obs.rebind_requests != expected {
        let at = obs
            .rebind_requests
            .iter()
            .zip(&expected)
            .find(|(a, b)| a != b)
            .map_or(Duration::ZERO, |(a, _)| *a);
        return Err(violation(
            "recovery after error",
            at,
            format!(
                "rebinds asked at {:?}, the rule gives {:?}",
                obs.rebind_requests, expected
            ),
        ));
    }
    Ok(Checked {
        cases: expected.len(),
        ..Checked::default()
    })
}

/// The sleep-clock readings that show a sleep, as (index in
/// [`Observations::fed`], instant): the clock's advance since the previous
/// reading exceeds the monotonic advance by more than the jump threshold (a
/// reading below the previous one is an NTP step back and only becomes the
/// new baseline). This is the rule, replayed by a reference model.
#[must_use]
pub fn sleep_triggers(obs: &Observations, config: &Config) -> Vec<(usize, Duration)> {
    let mut out = Vec::new();
    let mut prev: Option<(Duration, Duration)> = None;
    for (i, (at, f)) in obs.fed.iter().enumerate() {
        let Fed::SleepClock(v) = f else { continue };
        if let Some((t0, v0)) = prev {
            if let Some(adv) = v.checked_sub(v0) {
                if adv.saturating_sub(at.saturating_sub(t0)) > config.jump_threshold() {
                    out.push((i, *at));
                }
            }
        }
        prev = Some((*at, *v));
    }
    out
}

/// Sleep detection: every detected sleep is backed by more than the
/// threshold of real suspended time since the previous reading (a step back
/// of the clock never counts as a sleep), every suspend longer than the
/// threshold with no step back since the previous reading is detected, each
/// detection is followed by a `time_jump` publication within
/// [`Bounds::time_jump`], and there are no more `time_jump` publications
/// than detections.
pub fn check_time_jumps(
    obs: &Observations,
    config: &Config,
    bounds: &Bounds,
) -> Result<Checked, Violation> {
    const P: &str = "sleep detection";
    let threshold = config.jump_threshold();
    let triggers = sleep_triggers(obs, config);
    let samples: Vec<usize> = obs
        .fed
        .iter()
        .enumerate()
        .filter(|(_, (_, f))| matches!(f, Fed::SleepClock(_)))
        .map(|(i, _)| i)
        .collect();
    let previous_sample = |i: usize| samples.iter().rev().find(|s| **s < i).copied();
    for (i, at) in &triggers {
        let p = previous_sample(*i).unwrap_or(0);
        let slept: Duration = obs
            .suspends
            .iter()
            .filter(|s| s.resume_input > p && s.resume_input <= *i)
            .map(|s| s.slept)
            .sum();
        if slept <= threshold {
            return Err(violation(
                P,
                *at,
                format!("a sleep was detected after only {slept:?} of suspend"),
            ));
        }
    }
    for s in &obs.suspends {
        if s.slept <= threshold {
            continue;
        }
        let Some(p) = previous_sample(s.resume_input) else {
            continue;
        };
        let stepped = obs
            .clock_steps_back
            .iter()
            .any(|c| c.fed_before > p && c.fed_before <= s.resume_input);
        if !stepped && !triggers.iter().any(|(i, _)| *i == s.resume_input) {
            return Err(violation(
                P,
                s.at,
                format!("a suspend of {:?} was not detected", s.slept),
            ));
        }
    }
    let jumps: Vec<Duration> = obs
        .publications
        .iter()
        .filter(|(_, c)| c.cause == Cause::TimeJump)
        .map(|(at, _)| *at)
        .collect();
    // A sleep before the first publication is absorbed by it: the first
    // publication is always `initial`.
    let initial = obs.publications.first().map(|(at, _)| *at);
    for (_, t) in &triggers {
        let due = *t + bounds.time_jump;
        if due > obs.end || initial.is_some_and(|i| *t <= i) {
            continue;
        }
        if !jumps.iter().any(|p| *p >= *t && *p <= due) {
            return Err(violation(
                P,
                *t,
                format!("no time_jump publication within {:?}", bounds.time_jump),
            ));
        }
    }
    if jumps.len() > triggers.len() {
        return Err(violation(
            P,
            jumps.last().copied().unwrap_or_default(),
            format!(
                "{} time_jump publications for {} sleeps",
                jumps.len(),
                triggers.len()
            ),
        ));
    }
    Ok(Checked {
        cases: triggers.len(),
        ..Checked::default()
    })
}
