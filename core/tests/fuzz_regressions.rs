//! Every crash the fuzzers found, as a plain test in the normal run.
//!
//! Each test names the target and the artifact it came from
//! (`fuzz/artifacts/<target>/crash-<sha1>`, not kept in the repository),
//! feeds the same input, and says what was wrong and where it was fixed.
//! Parser crashes are fed as their raw bytes; Reconciler crashes are
//! `arbitrary`-encoded, so they are written out as the decoded case (what
//! `cargo fuzz fmt reconciler <artifact>` prints) and run through the same
//! harness as the fuzz target, in `testkit/tests/reconciler_model.rs`;
//! those through the public API stay here.

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::time::{Duration, Instant};

use netstate_core::wire::netlink::dump::{DumpError, SnapshotCollector, Stage};
use netstate_core::wire::netlink::fixtures::message;
use netstate_core::wire::netlink::{NLMSG_DONE, NLMSG_ERROR};
use netstate_core::{
    Action, Backoff, Config, Input, Interface, MonitorFailure, Reconciler, RouteEvent,
    RouteEventKind, Snapshot,
};

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
