//! Proof that the properties can fail: deliberately broken variants of the
//! Reconciler, and tests asserting that the property checks catch them.
//!
//! Compiled only for tests.

use std::time::{Duration, Instant};

use netstate_core::{Action, Config, Input, Reconciler, Refresh, RouteHop, RouteHops};
use proptest::test_runner::{
    Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};

use crate::net::{starting_table, NetOp};
use crate::props::{self, Bounds};
use crate::scenario::{check_reconciler, check_scenario, Profile, Property, Scenario};
use crate::sim::{Core, Sim, SimParams};
use crate::socket::SocketFault;

/// Like the monitors netstate replaces: it trusts the route socket and never
/// re-enumerates on its own (the Reconciler with its reconcile interval
/// removed, whatever the configuration says).
struct NoReconcile(Reconciler);

impl NoReconcile {
    fn new(config: Config, now: Instant) -> Self {
        let config = Config::builder()
            .debounce(config.debounce())
            .max_wait(config.max_wait())
            .reconcile_interval(None)
            .jump_threshold(config.jump_threshold())
            .rebind_backoff(config.rebind_backoff())
            .retry_backoff(config.retry_backoff())
            .enumeration_timeout(config.enumeration_timeout())
            .filter(config.filter().clone())
            .build()
            .expect("the same configuration without reconcile is valid");
        NoReconcile(Reconciler::new(config, now))
    }
}

impl Core for NoReconcile {
    fn handle_input(&mut self, now: Instant, input: Input) {
        self.0.handle_input(now, input);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }
    fn poll_action(&mut self) -> Option<Action> {
        self.0.poll_action()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
}

/// Forgets the rule "a reason arriving during an enumeration runs one more
/// after it": hints that arrive while an enumeration is in flight are
/// dropped, as if the enumeration in flight had seen their change.
struct ForgetsHintsDuringEnumeration {
    inner: Reconciler,
    in_flight: bool,
}

impl Core for ForgetsHintsDuringEnumeration {
    fn handle_input(&mut self, now: Instant, input: Input) {
        match &input {
            Input::Route(_) if self.in_flight => return,
            Input::Enumerated { .. } | Input::Refreshed { .. } => self.in_flight = false,
            _ => {}
        }
        self.inner.handle_input(now, input);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }
    fn poll_action(&mut self) -> Option<Action> {
        let a = self.inner.poll_action();
        if let Some(Action::Enumerate { .. }) = a {
            self.in_flight = true;
        }
        a
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
}

/// The Reconciler with its inputs rewritten by `f` before it sees them: a
/// compact way to break one rule at a time.
struct MapInputs<F: FnMut(Input) -> Vec<Input>> {
    inner: Reconciler,
    f: F,
}

impl<F: FnMut(Input) -> Vec<Input>> Core for MapInputs<F> {
    fn handle_input(&mut self, now: Instant, input: Input) {
        for i in (self.f)(input) {
            self.inner.handle_input(now, i);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }
    fn poll_action(&mut self) -> Option<Action> {
        self.inner.poll_action()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
}

fn map_inputs<F>(f: F) -> impl Fn(Config, Instant) -> MapInputs<F>
where
    F: FnMut(Input) -> Vec<Input> + Clone,
{
    move |config, now| MapInputs {
        inner: Reconciler::new(config, now),
        f: f.clone(),
    }
}

/// The seed of every search below. A test that asserts "proptest finds the
/// bug" must not depend on the luck of a random seed: with a fixed seed the
/// same scenarios are generated on every run, so each of these tests either
/// always passes or always fails. The case counts still leave a wide margin
/// (see the flowing-bound test), so that a change to the strategies, which
/// changes the scenarios this seed gives, does not make a search miss.
const SEARCH_SEED: [u8; 32] = *b"netstate broken-variant search!!";

/// Runs proptest over `profile` with `make`'s core, from [`SEARCH_SEED`];
/// returns the shrunk failure's text, or `None` if every case passed.
fn find_failure<C: Core>(
    profile: Profile,
    make: impl Fn(Config, Instant) -> C,
    properties: &[Property],
    cases: u32,
) -> Option<String> {
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &SEARCH_SEED),
    );
    let result = runner.run(&Scenario::strategy(profile), |s| {
        check_scenario(&s, &make, properties)
            .map(|_| ())
            .map_err(|f| TestCaseError::fail(f.to_string()))
    });
    match result {
        Ok(()) => None,
        Err(TestError::Fail(why, _)) => Some(why.to_string()),
        Err(e) => Some(e.to_string()),
    }
}

/// A scripted silent-socket scenario: the socket goes quiet, then the Wi-Fi
/// address changes.
fn silent_then_change() -> Scenario {
    Scenario {
        seed: 7,
        config: Default::default(),
        params: SimParams::default(),
        steps: vec![
            crate::scenario::Timed {
                at_ms: 1_000,
                step: crate::sim::Step::Socket(SocketFault::Silent),
            },
            crate::scenario::Timed {
                at_ms: 2_000,
                step: crate::sim::Step::Net(NetOp::AddAddr { slot: 0, addr: 1 }),
            },
        ],
    }
}

#[test]
fn convergence_catches_a_monitor_without_reconcile_on_a_silent_socket() {
    let scenario = silent_then_change();
    // The real Reconciler converges within one reconcile interval…
    let ok = check_reconciler(&scenario, &[Property::Convergence]);
    let summary = ok.unwrap_or_else(|f| panic!("{f}"));
    assert!(summary
        .of(Property::Convergence)
        .is_some_and(|c| c.cases >= 1));
    // …the variant without it never does, and the property says so.
    let failure = check_scenario(&scenario, NoReconcile::new, &[Property::Convergence])
        .expect_err("the convergence property must catch a monitor without reconcile");
    assert_eq!(failure.violation.property, "convergence");
    let text = failure.to_string();
    assert!(text.contains("seed: 7"), "{text}");
    assert!(
        text.contains("Silent"),
        "the log shows the silent socket: {text}"
    );
    assert!(text.contains("PUBLISH seq=1 cause=initial"), "{text}");

    // And proptest finds it by itself over generated silent-socket
    // scenarios, shrinking it to a small reproduction.
    let found = find_failure(
        Profile::Silent,
        NoReconcile::new,
        &[Property::Convergence],
        256,
    )
    .expect("proptest must find a silent-socket scenario the broken variant fails");
    assert!(found.contains("property `convergence` violated"), "{found}");
    assert!(found.contains("seed: "), "{found}");
    eprintln!("shrunk failure of the variant without reconcile:\n{found}");
    // The real Reconciler passes the same generated scenarios.
    assert_eq!(
        find_failure(
            Profile::Silent,
            Reconciler::new,
            &[Property::Convergence],
            256
        ),
        None
    );
}

#[test]
fn the_flowing_bound_catches_a_reconciler_that_forgets_hints_during_an_enumeration() {
    // With reconcile on it still heals eventually, but not within the
    // flowing bound: the race between an enumeration and a change matters.
    let make = |config: Config, now: Instant| ForgetsHintsDuringEnumeration {
        inner: Reconciler::new(config, now),
        in_flight: false,
    };
    // The race is rare: over 200 random seeds, the first failing case was
    // the 170th on average and the 835th at worst (about 0.6 % of the
    // generated scenarios lose it), so 512 random cases missed it about once
    // in 25 runs. The search is now seeded (`SEARCH_SEED`) and goes up to
    // 4096 cases: the same scenarios every run (this seed lost the race at
    // the 337th case when this was written), and even a seed as unlucky as
    // a random one would miss with a probability of about
    // (1 - 0.006)^4096, below 1e-10. It stops at the first failure, so the
    // extra cases cost nothing while the variant is broken.
    let found = find_failure(Profile::Flowing, make, &[Property::Convergence], 4096)
        .expect("proptest must find the lost race");
    assert!(found.contains("property `convergence` violated"), "{found}");
    eprintln!("shrunk failure of the variant that forgets hints:\n{found}");
}

#[test]
fn the_silent_bound_is_tight() {
    // The worst case of the reconcile bound is reached: the change lands
    // just after an enumeration read the truth, nothing else enumerates,
    // so it is seen one reconcile interval after that enumeration ends.
    let config = Config::default();
    let mut params = SimParams::default();
    params.enumeration.duration_ms = [100, 100];
    let bounds = Bounds::new(&config, &params);
    let mut sim = Sim::new(config, params, starting_table(), 3).expect("valid");
    sim.socket_fault(SocketFault::Silent);
    // The first reconcile starts at 15.1 s (the initial enumeration ended
    // at 0.1 s); its read is at a random instant in [15.1, 15.2] s.
    sim.run_until(Duration::from_millis(15_100)).expect("runs");
    let e = sim.observations().enumerations.len();
    assert_eq!(e, 2);
    sim.run_until(Duration::from_millis(15_200)).expect("runs");
    let read_at = sim.observations().enumerations[1]
        .read_at
        .expect("it read the truth");
    let _ = read_at;
    sim.apply(NetOp::AddAddr { slot: 0, addr: 2 });
    let changed = sim.now();
    let bound = bounds.converge_silent.expect("reconcile on");
    sim.run_until(changed + bound + Duration::from_secs(1))
        .expect("runs");
    let c = props::check_convergence(sim.observations(), bound).expect("converges");
    // Changed at 15.2 s, seen by the reconcile at 15.2 + 15 s, published
    // 0.1 s later: 15.1 s after the change, against a bound of 15.2 s.
    assert_eq!(c.worst, Duration::from_millis(15_100));
    assert_eq!(bound, Duration::from_millis(15_200));
}

#[test]
fn bounded_work_catches_a_reconciler_without_debounce() {
    // Every hint enumerates at once (as if it were a forced check).
    let make = map_inputs(|i: Input| match i {
        Input::Route(_) => vec![i, Input::ForceCheck],
        other => vec![other],
    });
    let found = find_failure(Profile::Storm, make, &[Property::BoundedWork], 256)
        .expect("proptest must find a storm that makes it work too hard");
    assert!(
        found.contains("property `bounded work` violated"),
        "{found}"
    );
}

#[test]
fn overflow_recovery_catches_a_reconciler_that_treats_an_overflow_as_a_hint() {
    let make = map_inputs(|i: Input| match i {
        Input::MonitorFailed(netstate_core::MonitorFailure::Overflow) => vec![Input::Route(
            netstate_core::RouteEvent::new(netstate_core::RouteEventKind::Unknown),
        )],
        other => vec![other],
    });
    let found = find_failure(Profile::Flowing, make, &[Property::OverflowRecovery], 256)
        .expect("proptest must find an overflow that is not resynced at once");
    assert!(found.contains("recovery after overflow"), "{found}");
}

#[test]
fn sleep_detection_catches_a_reconciler_that_ignores_the_sleep_clock() {
    let make = map_inputs(|i: Input| match i {
        Input::SleepClock(_) => vec![],
        other => vec![other],
    });
    let found = find_failure(Profile::Flowing, make, &[Property::TimeJumps], 256)
        .expect("proptest must find a sleep that is not published");
    assert!(found.contains("sleep detection"), "{found}");
}

#[test]
fn rebind_recovery_catches_a_reconciler_that_ignores_socket_errors() {
    // Like a monitor that logs a read error and carries on with a dead
    // socket.
    let make = map_inputs(|i: Input| match i {
        Input::MonitorFailed(
            netstate_core::MonitorFailure::Error | netstate_core::MonitorFailure::Closed,
        ) => vec![],
        other => vec![other],
    });
    let found = find_failure(Profile::Lossy, make, &[Property::RebindRecovery], 256)
        .expect("proptest must find a socket error that is not answered by a rebind");
    assert!(found.contains("recovery after error"), "{found}");
}

#[test]
fn no_spurious_publication_catches_a_reconciler_that_publishes_twice() {
    let make = |config: Config, now: Instant| PublishesTwice {
        inner: Reconciler::new(config, now),
        last: None,
    };
    let found = find_failure(Profile::Flowing, make, &[Property::NoSpurious], 256)
        .expect("proptest must find a repeated publication");
    assert!(found.contains("no spurious publication"), "{found}");
}

/// Publishes every change twice.
struct PublishesTwice {
    inner: Reconciler,
    last: Option<netstate_core::Change>,
}

impl Core for PublishesTwice {
    fn handle_input(&mut self, now: Instant, input: Input) {
        self.inner.handle_input(now, input);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }
    fn poll_action(&mut self) -> Option<Action> {
        if let Some(c) = self.last.take() {
            return Some(Action::Publish(c));
        }
        let a = self.inner.poll_action();
        if let Some(Action::Publish(c)) = &a {
            let mut again = c.clone();
            again.seq += 1;
            again.old = c.new.clone();
            again.delta = netstate_core::Delta::default();
            self.last = Some(again);
        }
        a
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
}

#[test]
fn the_properties_catch_a_reconciler_that_merges_targeted_reads_wrongly() {
    // A merge that keeps the old default routes: the bug a targeted read
    // invites (the hint was about an address, so why would the route have
    // changed?), and exactly what the kernel does behind a monitor's back
    // when a link goes down (it flushes the routes without a route message).
    let make = |config: Config, now: Instant| KeepsOldRoutes {
        inner: Reconciler::new(config, now),
        routes: RouteHops::default(),
    };
    let found = find_failure(
        Profile::Flowing,
        make,
        &[Property::Convergence, Property::NoSpurious],
        1024,
    )
    .expect("proptest must find a targeted read merged wrongly");
    assert!(
        found.contains("refreshed #"),
        "a targeted read is in the log: {found}"
    );
    eprintln!("shrunk failure of the variant that merges wrongly:\n{found}");
}

/// Merges a targeted read's interfaces but keeps the default routes it
/// published last, whatever the read found.
struct KeepsOldRoutes {
    inner: Reconciler,
    routes: RouteHops,
}

impl Core for KeepsOldRoutes {
    fn handle_input(&mut self, now: Instant, input: Input) {
        let input = match input {
            Input::Refreshed { id, result: Ok(r) } => {
                let kept = Refresh::new(
                    r.targets().clone(),
                    r.found().iter().cloned().collect(),
                    self.routes,
                )
                .expect("the same interfaces form a refresh");
                Input::Refreshed {
                    id,
                    result: Ok(kept),
                }
            }
            other => other,
        };
        self.inner.handle_input(now, input);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }
    fn poll_action(&mut self) -> Option<Action> {
        let a = self.inner.poll_action();
        if let Some(Action::Publish(c)) = &a {
            let hop = |r: &Option<netstate_core::DefaultRoute>| {
                r.as_ref().map(|r| RouteHop {
                    index: r.index,
                    gateway: r.gateway,
                })
            };
            let routes = c.new.default_routes();
            self.routes = RouteHops {
                v4: hop(&routes.v4),
                v6: hop(&routes.v6),
            };
        }
        a
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
}
