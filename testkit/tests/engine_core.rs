//! `EngineCore`, the real engine as a simulation's core: what it translates
//! between the simulation and the engine, checked one step at a time (the
//! property suite in `properties.rs` then runs every scenario through it).

use std::time::{Duration, Instant};

use netstate_core::{Action, Config, EnumerationId, Input, MonitorFailure, OsError, RouteEvent};
use netstate_core::{RouteEventKind, Snapshot};
use netstate_testkit::net::starting_table;
use netstate_testkit::{Core, EngineCore, NetOp, Sim, SimParams};

/// The sleep clock at the start (any constant).
const BASE: Duration = Duration::from_secs(5_000);

/// A core at `t0` whose first enumeration was asked for, and its id.
fn started(config: Config, t0: Instant) -> (EngineCore, EnumerationId) {
    let mut core = EngineCore::new(config, t0);
    core.handle_input(t0, Input::SleepClock(BASE));
    let actions = drain(&mut core);
    let [Action::Enumerate { id, .. }] = actions.as_slice() else {
        panic!("the first wake-up should ask for one enumeration: {actions:?}");
    };
    (core, *id)
}

/// A core at `t0` that has published its first state, [`truth`].
fn published(config: Config, t0: Instant) -> EngineCore {
    let (mut core, first) = started(config, t0);
    core.handle_input(
        t0,
        Input::Enumerated {
            id: first,
            result: Ok(truth()),
        },
    );
    let actions = drain(&mut core);
    assert!(
        matches!(actions.as_slice(), [Action::Publish(_)]),
        "{actions:?}"
    );
    core
}

fn drain(core: &mut EngineCore) -> Vec<Action> {
    std::iter::from_fn(|| core.poll_action()).collect()
}

fn truth() -> Snapshot {
    starting_table().snapshot().clone()
}

/// Wakes the core at each of its deadlines from `now` until `until`
/// (the sleep clock following the monotonic one), returning the actions
/// and the instants they came at.
fn run_timers(core: &mut EngineCore, t0: Instant, until: Instant) -> Vec<(Instant, Action)> {
    let mut out = Vec::new();
    while let Some(at) = core.poll_timeout().filter(|at| *at <= until) {
        core.handle_input(at, Input::SleepClock(BASE + (at - t0)));
        core.handle_timeout(at);
        out.extend(drain(core).into_iter().map(|a| (at, a)));
    }
    out
}

#[test]
fn a_change_in_the_simulated_host_is_published_by_the_engine_and_its_handle_agrees() {
    let mut sim = Sim::with_core(
        EngineCore::new,
        Config::default(),
        SimParams::default(),
        starting_table(),
        7,
    )
    .expect("valid parameters");
    sim.advance(Duration::from_secs(1)).expect("no busy loop");
    assert_eq!(sim.observations().publications.len(), 1);
    sim.apply(NetOp::AddAddr { slot: 0, addr: 9 });
    sim.advance(Duration::from_secs(1)).expect("no busy loop");
    let expected = sim.expected_state();
    let publications = &sim.observations().publications;
    assert_eq!(publications.len(), 2, "{publications:?}");
    assert_eq!(*publications[1].1.new, expected);
    let handle = sim.core().engine().handle();
    assert_eq!(*handle.state(), expected);
    // The hint went through the engine's route socket.
    assert!(handle.stats().datagrams >= 1, "{:?}", handle.stats());
}

#[test]
fn an_answer_to_an_enumeration_the_engine_gave_up_is_dropped() {
    let t0 = Instant::now();
    let timeout = Duration::from_millis(100);
    let config = Config::builder()
        .enumeration_timeout(timeout)
        .build()
        .expect("valid configuration");
    let retry = config.retry_backoff().delay(0);
    let (mut core, first) = started(config, t0);
    let actions = run_timers(&mut core, t0, t0 + timeout + retry);
    let [(at, Action::Enumerate { id: second, .. })] = actions.as_slice() else {
        panic!("the enumeration timeout should ask for another: {actions:?}");
    };
    assert_ne!(first, *second);
    assert!(*at >= t0 + timeout);
    let at = *at + Duration::from_millis(1);
    let late = Input::Enumerated {
        id: first,
        result: Ok(truth()),
    };
    core.handle_input(at, late);
    assert!(drain(&mut core).is_empty(), "a late answer was used");
    assert_eq!(*core.engine().handle().state(), Snapshot::default());
    core.handle_input(
        at,
        Input::Enumerated {
            id: *second,
            result: Ok(truth()),
        },
    );
    let actions = drain(&mut core);
    let [Action::Publish(change)] = actions.as_slice() else {
        panic!("the answer to the enumeration in flight should publish: {actions:?}");
    };
    assert_eq!(*change.new, truth());
    assert_eq!(*core.engine().handle().state(), truth());
}

#[test]
fn a_failed_rebind_fails_the_new_socket_and_the_engine_rebinds_after_the_next_backoff() {
    let t0 = Instant::now();
    let config = Config::default();
    let backoff = config.rebind_backoff();
    let mut core = published(config, t0);
    let failed_at = t0 + Duration::from_secs(1);
    core.handle_input(failed_at, Input::SleepClock(BASE + Duration::from_secs(1)));
    core.handle_input(failed_at, Input::MonitorFailed(MonitorFailure::Error));
    drain(&mut core);
    let horizon = failed_at + backoff.max * 4;
    let rebinds = |actions: &[(Instant, Action)]| -> Vec<Instant> {
        actions
            .iter()
            .filter(|(_, a)| matches!(a, Action::RebindMonitor))
            .map(|(at, _)| *at)
            .collect()
    };
    let first_rebind = rebinds(&run_timers(&mut core, t0, horizon));
    assert_eq!(first_rebind, [failed_at + backoff.delay(0)]);
    assert_eq!(core.engine().handle().stats().rebinds_done, 1);
    // The simulation says this rebind failed.
    let at = first_rebind[0];
    core.handle_input(
        at,
        Input::MonitorRebound(Err(OsError::new("simulated rebind failure"))),
    );
    drain(&mut core);
    let second = rebinds(&run_timers(&mut core, t0, horizon));
    assert_eq!(second, [at + backoff.delay(1)]);
    assert_eq!(core.engine().handle().stats().rebinds_done, 2);
}

#[test]
fn the_hints_of_one_instant_reach_the_engine_in_one_wake_up_and_none_is_lost() {
    let t0 = Instant::now();
    let config = Config::builder()
        .debounce(Duration::ZERO)
        .build()
        .expect("valid configuration");
    let mut core = published(config, t0);
    let hint = RouteEvent::new(RouteEventKind::AddrNew).with_index(1);
    let at = t0 + Duration::from_secs(1);
    let before = core.engine().handle().stats();
    core.handle_input(at, Input::SleepClock(BASE + Duration::from_secs(1)));
    for _ in 0..5 {
        core.handle_input(at, Input::Route(hint));
    }
    let actions = drain(&mut core);
    let after = core.engine().handle().stats();
    assert_eq!(after.wakeups, before.wakeups + 1);
    assert_eq!(after.datagrams, before.datagrams + 5);
    assert!(
        matches!(actions.as_slice(), [Action::Enumerate { .. }]),
        "one burst, one read: {actions:?}"
    );
    // More hints than the socket holds (its send buffer fills after a few
    // hundred) and than the engine reads in one wake-up: the engine reads
    // them as they come, and all arrive.
    let at = at + Duration::from_secs(1);
    core.handle_input(at, Input::SleepClock(BASE + Duration::from_secs(2)));
    for _ in 0..3_000 {
        core.handle_input(at, Input::Route(hint));
    }
    drain(&mut core);
    assert_eq!(
        core.engine().handle().stats().datagrams,
        before.datagrams + 3_005
    );
}
