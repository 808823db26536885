//! Every crash the fuzzers found, as a plain test in the normal run.
//!
//! Each test names the target and the artifact it came from
//! (`fuzz/artifacts/<target>/crash-<sha1>`, not kept in the repository),
//! feeds the same input, and says what was wrong and where it was fixed.
//! Parser crashes are fed as their raw bytes; Reconciler crashes are
//! `arbitrary`-encoded, so they are written out as the decoded case (what
//! `cargo fuzz fmt reconciler <artifact>` prints) and run through the same
//! harness as the fuzz target, `fuzz/src/reconciler_model.rs`.

#[path = "../../fuzz/src/reconciler_model.rs"]
mod reconciler_model;

use std::time::{Duration, Instant};

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
    let huge = Backoff {
        initial: Duration::MAX,
        max: Duration::MAX,
    };
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
    let Some(Action::Enumerate { id }) = r.poll_action() else {
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
    let Some(Action::Enumerate { id }) = r.poll_action() else {
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
/// NOT FIXED: the fix belongs in `core/src/config.rs` (for example
/// `Duration::checked_mul` or saturating the threshold to `Duration::MAX`),
/// outside the files the hardening work may change; ignored until then.
/// The fuzz harness names the threshold for such intervals so that fuzzing
/// goes on past it.
#[test]
#[ignore = "panics in ConfigBuilder::build (core/src/config.rs); fix pending"]
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
