//! Every crash the fuzzers found, as a plain test in the normal run.
//!
//! Each test names the target and the artifact it came from
//! (`fuzz/artifacts/<target>/crash-<sha1>`, not kept in the repository),
//! feeds the same input, and says what was wrong and where it was fixed.
//! Parser crashes are fed as their raw bytes; Reconciler crashes are
//! `arbitrary`-encoded, so they are written out as the decoded case (what
//! `cargo fuzz fmt reconciler <artifact>` prints) and run through the same
//! harness as the fuzz target, `fuzz/src/reconciler_model.rs`.

#[path = "../../fuzz/src/checks.rs"]
mod checks;
#[path = "../../fuzz/src/reconciler_model.rs"]
mod reconciler_model;

use std::time::{Duration, Instant};

use netstate_core::wire::netlink::dump::{DumpError, SnapshotCollector, Stage};
use netstate_core::wire::netlink::fixtures::message;
use netstate_core::wire::netlink::{NLMSG_DONE, NLMSG_ERROR};
use netstate_core::{
    Action, Backoff, Config, Input, Interface, MonitorFailure, Reconciler, RouteEvent,
    RouteEventKind, Snapshot,
};
use reconciler_model::{ConfigSpec, Dur, Op};

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

/// The same bug through the public API: `Duration::MAX` for every delay.
/// Nothing panics, and a deadline that cannot be represented is no
/// deadline: only inputs move this Reconciler.
#[test]
fn reconciler_with_duration_max_delays_never_panics() {
    let huge = Backoff::new(Duration::MAX, Duration::MAX);
    let config = Config::builder()
        .debounce(Duration::MAX)
        .max_wait(Duration::MAX)
        .reconcile_interval(Some(Duration::MAX))
        .jump_threshold(Duration::MAX)
        .rebind_backoff(huge)
        .retry_backoff(huge)
        .enumeration_timeout(Duration::MAX)
        .build()
        .unwrap();
    let now = Instant::now();
    let mut r = Reconciler::new(config, now);
    let Some(Action::Enumerate { id, .. }) = r.poll_action() else {
        panic!("no first enumeration");
    };
    assert_eq!(r.poll_timeout(), None);
    let snapshot = Snapshot::new(vec![Interface::new(1, "lo")], Default::default()).unwrap();
    r.handle_input(
        now,
        Input::Enumerated {
            id,
            result: Ok(snapshot),
        },
    );
    assert!(matches!(r.poll_action(), Some(Action::Publish(_))));
    r.handle_input(now, Input::Route(RouteEvent::new(RouteEventKind::Unknown)));
    r.handle_input(now, Input::MonitorFailed(MonitorFailure::Error));
    r.handle_input(now, Input::ForceCheck);
    let Some(Action::Enumerate { id, .. }) = r.poll_action() else {
        panic!("a forced check enumerates");
    };
    r.handle_input(
        now,
        Input::Enumerated {
            id,
            result: Err(netstate_core::OsError::new("failed")),
        },
    );
    r.handle_timeout(now);
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.poll_action(), None);
}

/// `reconciler`, `crash-0c1013ac7bd5316328f91ff14cbdccbe851a2082`:
/// `ConfigBuilder::build` derives the default sleep-clock threshold as
/// `reconcile.mul_f64(1.5)`, which panics ("cannot convert float seconds to
/// Duration") for a reconcile interval above `Duration::MAX / 1.5`, such as
/// `u64::MAX / 1.3` seconds here. Invalid configuration must be an error or
/// saturate, never a panic.
///
/// Fixed: the threshold is 1.5 x the interval, saturating at
/// `Duration::MAX`.
#[test]
fn config_crash_0c1013ac_huge_reconcile_interval_builds() {
    let reconcile = Duration::from_secs(13_763_000_462_327_356_269);
    let result = std::panic::catch_unwind(|| {
        Config::builder()
            .reconcile_interval(Some(reconcile))
            .build()
            .is_ok()
    });
    assert!(result.is_ok(), "ConfigBuilder::build panicked");
}

/// `netlink_dump`, `crash-5d7c3145cdac0ded0ca94178fd10f9d6381b5ac9`: an
/// `NLMSG_ERROR` or `NLMSG_DONE` reply whose error code is `i32::MIN`
/// made `SnapshotCollector::feed` panic with "attempt to negate with
/// overflow" (debug builds; a release build wrapped it into a negative
/// errno). The kernel never sends that code, but the collector must not
/// trust it.
///
/// Fixed in `core/src/wire/netlink/dump.rs`: both codes are negated with
/// `saturating_neg`, so `i32::MIN` becomes `DumpError::Kernel(i32::MAX)`.
#[test]
fn netlink_dump_crash_5d7c3145_error_code_i32_min() {
    // The artifact: `netlink_dump` chunks (see `checks::DumpInput`) in
    // this machine's byte order, as the fuzzer found them.
    #[cfg(target_endian = "little")]
    checks::check_netlink_dump(&CRASH_5D7C3145);
    // The same, laid out explicitly and in either byte order.
    let mut body = i32::MIN.to_ne_bytes().to_vec();
    body.extend([0u8; 16]); // the request's header, echoed
    for stage in [Stage::Links, Stage::RouteV4] {
        let mut c = SnapshotCollector::new();
        assert_eq!(
            c.feed(stage, 7, &message(NLMSG_ERROR, 0, 7, &body)),
            Err(DumpError::Kernel(i32::MAX))
        );
    }
    let mut c = SnapshotCollector::new();
    assert_eq!(
        c.feed(
            Stage::Links,
            7,
            &message(NLMSG_DONE, 2, 7, &i32::MIN.to_ne_bytes())
        ),
        Err(DumpError::Kernel(i32::MAX))
    );
}

#[cfg(target_endian = "little")]
const CRASH_5D7C3145: [u8; 279] = [
    0x04, 0x90, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x01, 0x00, 0x2d, 0xff, 0xff,
    0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x49, 0x00, 0x00, 0x00, 0x00,
    0xfa, 0xff, 0xff, 0x06, 0x00, 0x03, 0x00, 0x6c, 0x6f, 0x00, 0x00, 0x09, 0x00, 0x04, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40,
    0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x43, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,
    0x00, 0x03, 0x00, 0x76, 0x65, 0x74, 0x68, 0x30, 0x00, 0x00, 0x00, 0x08, 0x00, 0x04, 0x00, 0xdc,
    0x05, 0x00, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x14,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x80, 0x09, 0xd4, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x14, 0x00, 0x02, 0x00, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x80, 0x00, 0x02, 0x00, 0x00, 0x00, 0x18, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00,
    0x01, 0x00, 0x0a, 0x09, 0x00, 0x02, 0x08, 0x00, 0x02, 0x00, 0xfe, 0xff, 0xff, 0x9b, 0x14, 0x00,
    0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x10, 0x00, 0x08, 0x00, 0x04, 0x00, 0xdc, 0x05, 0x00, 0x00,
    0x0a, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x90,
    0x00, 0x3c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x00, 0x00, 0x00,
];

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
