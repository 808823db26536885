//! The Reconciler under arbitrary configurations and input sequences
//! (clocks that step backwards, sleep-clock samples that jump or go back,
//! results whose id does not match, failures, arbitrary snapshots), checked
//! by [`netstate_testkit::reconciler_model`], the `reconciler` fuzz target's
//! own harness, so a rule the fuzzer enforces is enforced on every test run
//! too; and the crashes the fuzzer found, written out as decoded cases.

use std::time::Instant;

use netstate_testkit::reconciler_model::{
    self, AddrSpec, ConfigSpec, Dur, HintSpec, IdChoice, IfaceSpec, Op, Outcome, RouteSpec,
    SleepStep, SnapshotSpec,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 256;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// The Reconciler: arbitrary configurations and input sequences.

fn dur() -> impl Strategy<Value = Dur> {
    prop_oneof![
        8 => (0u16..5_000).prop_map(Dur::Millis),
        3 => (0u16..120).prop_map(Dur::Secs),
        1 => any::<u64>().prop_map(Dur::Huge),
    ]
}

fn config_spec() -> impl Strategy<Value = ConfigSpec> {
    let arbitrary = (
        dur(),
        dur(),
        prop::option::weighted(0.8, dur()),
        prop::option::of(dur()),
        (dur(), dur()),
        (dur(), dur()),
        dur(),
        any::<u8>(),
        0u8..4,
    )
        .prop_map(
            |(debounce, max_wait, reconcile, jump, rebind, retry, timeout, filter, limit)| {
                ConfigSpec {
                    debounce,
                    max_wait,
                    reconcile,
                    jump_threshold: jump,
                    rebind,
                    retry,
                    enumeration_timeout: timeout,
                    filter,
                    route_prefix_limit: limit,
                }
            },
        );
    prop_oneof![1 => Just(ConfigSpec::default()), 2 => arbitrary]
}

fn snapshot_spec() -> impl Strategy<Value = SnapshotSpec> {
    let addr = (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(addr, prefix, flags)| AddrSpec {
        addr,
        prefix,
        flags,
    });
    let iface = (
        0u8..6,
        any::<u8>(),
        any::<u8>(),
        any::<bool>(),
        prop::option::of(any::<u8>()),
        vec(addr, 0..4),
    )
        .prop_map(|(index, name, flags, mtu, mac, addrs)| IfaceSpec {
            index,
            name,
            flags,
            mtu,
            mac,
            addrs,
        });
    let route = (0u8..6, prop::option::of(any::<u8>()))
        .prop_map(|(index, gateway)| RouteSpec { index, gateway });
    (
        vec(iface, 0..5),
        prop::option::of(route.clone()),
        prop::option::of(route),
    )
        .prop_map(|(ifaces, v4, v6)| SnapshotSpec { ifaces, v4, v6 })
}

fn hint_spec() -> impl Strategy<Value = HintSpec> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::option::of(any::<u8>()),
        prop::option::of(any::<u8>()),
        prop::option::of(any::<u8>()),
        prop::option::of(prop_oneof![0u8..3, any::<u8>()]),
    )
        .prop_map(|(kind, family, index, name, table, prefix)| HintSpec {
            kind,
            family,
            index,
            name,
            table,
            prefix,
        })
}

fn op() -> impl Strategy<Value = Op> {
    let id = prop_oneof![
        6 => Just(IdChoice::Latest),
        1 => any::<u8>().prop_map(IdChoice::Older),
        1 => any::<u8>().prop_map(IdChoice::Future),
        1 => any::<u64>().prop_map(IdChoice::Raw),
    ];
    let outcome = prop_oneof![
        3 => snapshot_spec().prop_map(Outcome::Snapshot),
        2 => Just(Outcome::Same),
        1 => Just(Outcome::Error),
    ];
    let sleep = prop_oneof![
        (0u32..120_000).prop_map(SleepStep::Ahead),
        any::<u32>().prop_map(SleepStep::Back),
        any::<u64>().prop_map(SleepStep::Absolute),
    ];
    let delta = prop_oneof![
        4 => -2_000i32..20_000,
        1 => any::<i32>(),
    ];
    prop_oneof![
        4 => (delta, any::<bool>()).prop_map(|(delta_ms, run_timers)| Op::Clock { delta_ms, run_timers }),
        5 => Just(Op::ToDeadline),
        1 => Just(Op::Timeout),
        4 => hint_spec().prop_map(Op::Route),
        2 => sleep.prop_map(Op::SleepClock),
        6 => (id, outcome).prop_map(|(id, outcome)| Op::Enumerated { id, outcome }),
        1 => Just(Op::Overflow),
        1 => any::<bool>().prop_map(Op::MonitorFailed),
        1 => any::<bool>().prop_map(Op::Rebound),
        1 => Just(Op::ForceCheck),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Every invariant of `reconciler_model` holds after every step.
    #[test]
    fn reconciler_keeps_its_invariants(spec in config_spec(), ops in vec(op(), 0..120)) {
        reconciler_model::run(&spec, &ops);
    }

    /// The same inputs at the same instants give the same actions.
    #[test]
    fn reconciler_is_deterministic(spec in config_spec(), ops in vec(op(), 0..60)) {
        let start = Instant::now();
        let a = reconciler_model::run_recorded(&spec, &ops, start);
        let b = reconciler_model::run_recorded(&spec, &ops, start);
        prop_assert_eq!(a, b);
    }
}

// ---------------------------------------------------------------------------
// Crashes the `reconciler` fuzz target found (artifacts in
// `fuzz/artifacts/reconciler/`, not kept), as decoded cases.

/// `reconciler`, `crash-c97a40b670b5cc9921a0c9449ad2099e3d85ca7f`: a
/// configured delay too long to add to an `Instant` (here an enumeration
/// timeout of `u64::MAX` seconds) made `Reconciler::new` panic with
/// "overflow when adding duration to instant", and so would a reconcile
/// interval, debounce, maximum wait or backoff of that size later on.
///
/// Fixed in `core/src/reconciler.rs`: every deadline is set through
/// `set_after`, which uses `Instant::checked_add`; a deadline that cannot be
/// represented means "never" and leaves its timer stopped.
#[test]
fn reconciler_crash_c97a40b6_huge_delays_do_not_overflow_instant() {
    let config = ConfigSpec {
        debounce: Dur::Millis(49550),
        max_wait: Dur::Huge(15_855_696_321_652_816_340),
        reconcile: Some(Dur::Millis(46556)),
        jump_threshold: None,
        rebind: (Dur::Secs(37661), Dur::Huge(13_312_418_290_836_949_558)),
        retry: (Dur::Huge(11_713_611_314_342_828_763), Dur::Huge(u64::MAX)),
        enumeration_timeout: Dur::Huge(u64::MAX),
        filter: 255,
        route_prefix_limit: 255,
    };
    let ops = [
        Op::ForceCheck,
        Op::ForceCheck,
        Op::Timeout,
        Op::ToDeadline,
        Op::Overflow,
    ];
    reconciler_model::run(&config, &ops);
}

/// `reconciler`, `crash-209034b336f5247cc7f9c092d8ff08d84926b7cf`: a
/// harness finding, kept because the path is worth running. With a retry
/// backoff too long to be an `Instant` ("never") the enumeration timeout
/// and the reconcile interval ran out in one `handle_timeout`: the timeout
/// failed enumeration 1, and the reconcile timer, finding no retry pending,
/// started enumeration 2 in the same call. The harness checked "no second
/// `Enumerate` before the first timed out" before noting the timeout; it
/// now notes it first. The Reconciler was right.
#[test]
fn reconciler_crash_209034b3_timeout_and_reconcile_in_one_call() {
    use reconciler_model::{AddrSpec, IdChoice, IfaceSpec, Outcome, RouteSpec, SleepStep};
    let config = ConfigSpec {
        debounce: Dur::Millis(49098),
        max_wait: Dur::Secs(29555),
        reconcile: Some(Dur::Secs(43298)),
        jump_threshold: Some(Dur::Secs(29555)),
        rebind: (Dur::Secs(29544), Dur::Secs(29555)),
        retry: (Dur::Huge(u64::MAX), Dur::Huge(u64::MAX)),
        enumeration_timeout: Dur::Secs(29555),
        filter: 34,
        route_prefix_limit: 169,
    };
    let addr = |a: u8, p: u8, f: u8| AddrSpec {
        addr: a,
        prefix: p,
        flags: f,
    };
    let snapshot = reconciler_model::SnapshotSpec {
        ifaces: vec![IfaceSpec {
            index: 25,
            name: 25,
            flags: 25,
            mtu: true,
            mac: Some(25),
            addrs: vec![
                addr(25, 25, 25),
                addr(115, 115, 115),
                addr(115, 115, 115),
                addr(115, 115, 115),
                addr(115, 115, 115),
                addr(231, 224, 183),
            ],
        }],
        v4: Some(RouteSpec {
            index: 208,
            gateway: Some(15),
        }),
        v6: Some(RouteSpec {
            index: 212,
            gateway: Some(25),
        }),
    };
    let ops = [
        Op::SleepClock(SleepStep::Back(1_936_946_035)),
        Op::SleepClock(SleepStep::Back(1_936_946_035)),
        Op::Enumerated {
            id: IdChoice::Latest,
            outcome: Outcome::Snapshot(snapshot),
        },
        Op::ForceCheck,
        Op::ForceCheck,
        Op::ForceCheck,
        Op::ForceCheck,
        Op::Clock {
            delta_ms: 421_075_225,
            run_timers: true,
        },
        Op::Rebound(true),
        Op::Clock {
            delta_ms: 0,
            run_timers: false,
        },
    ];
    reconciler_model::run(&config, &ops);
}

/// `reconciler`, `crash-ecde858d3c922f40a54b477723898c39b11966a3`: a
/// harness finding (its jump to a deadline added 1 ms to `u64::MAX`), kept
/// for the path: every delay "never" but the enumeration timeout, and a
/// storm of forced checks, a rebind answer nobody asked for, a failure.
#[test]
fn reconciler_crash_ecde858d_forced_checks_with_never_delays() {
    use reconciler_model::{IdChoice, Outcome};
    let config = ConfigSpec {
        debounce: Dur::Millis(49550),
        max_wait: Dur::Huge(u64::MAX),
        reconcile: Some(Dur::Huge(u64::MAX)),
        jump_threshold: Some(Dur::Huge(u64::MAX)),
        rebind: (Dur::Secs(65535), Dur::Huge(u64::MAX)),
        retry: (Dur::Huge(u64::MAX), Dur::Huge(u64::MAX)),
        enumeration_timeout: Dur::Huge(6_773_413_839_565_225_983),
        filter: 255,
        route_prefix_limit: 255,
    };
    let mut ops = vec![Op::ForceCheck; 29];
    ops.push(Op::Rebound(true));
    ops.push(Op::Enumerated {
        id: IdChoice::Latest,
        outcome: Outcome::Error,
    });
    ops.extend(vec![Op::ForceCheck; 8]);
    ops.extend([Op::Overflow, Op::ToDeadline, Op::MonitorFailed(true)]);
    reconciler_model::run(&config, &ops);
}
