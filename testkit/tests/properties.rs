//! The Reconciler's promises, checked with proptest over generated
//! scenarios of the deterministic simulation.
//!
//! Every test runs twice: `…::reconciler` drives the bare Reconciler,
//! `…::engine` the real `netstate_sys::Engine` around it
//! ([`netstate_testkit::EngineCore`]), the loop every driver runs, with its
//! batching of an instant's inputs into one wake-up.
//!
//! Each test runs `PROPTEST_CASES` scenarios (default below, chosen so the
//! whole suite stays well under a few minutes on two cores). A failure
//! prints the violated property, the seed, the shrunk scenario as JSON (feed
//! it to `Scenario::from_json` to reproduce the run) and the run's log.

use std::cell::RefCell;

use netstate_testkit::props::Checked;
use netstate_testkit::scenario::{check_engine, check_reconciler, Property, Summary};
use netstate_testkit::{Profile, Scenario};
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

/// The default number of cases per test; `PROPTEST_CASES` overrides it.
const DEFAULT_CASES: u32 = 1024;

fn runner(default: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    TestRunner::new(Config {
        cases,
        max_shrink_iters: 2_048,
        // Failing cases are saved beside this file, in
        // `properties.proptest-regressions`, and tried first on the next
        // run; commit that file.
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    })
}

/// What all the cases of one test looked at together.
#[derive(Debug, Default)]
struct Totals {
    runs: usize,
    truth_changes: usize,
    enumerations: usize,
    publications: usize,
    checked: Vec<(Property, Checked)>,
}

impl Totals {
    fn add(&mut self, s: &Summary) {
        self.runs += 1;
        self.truth_changes += s.truth_changes;
        self.enumerations += s.enumerations;
        self.publications += s.publications;
        for (p, c) in &s.checked {
            match self.checked.iter_mut().find(|(q, _)| q == p) {
                Some((_, t)) => {
                    t.cases += c.cases;
                    t.worst = t.worst.max(c.worst);
                    t.worst_count = t.worst_count.max(c.worst_count);
                }
                None => self.checked.push((*p, *c)),
            }
        }
    }

    fn of(&self, p: Property) -> Checked {
        self.checked
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }
}

/// What runs the scenarios.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// The bare Reconciler, its actions polled after every input.
    Reconciler,
    /// The real engine around it.
    Engine,
}

/// Checks `properties` over `cases` scenarios of each profile, through
/// `via`; panics with the shrunk failure.
fn check(via: Via, profiles: &[Profile], properties: &[Property], cases: u32) -> Totals {
    let totals = RefCell::new(Totals::default());
    for profile in profiles {
        let mut runner = runner(cases);
        let result = runner.run(&Scenario::strategy(*profile), |scenario| {
            let summary = match via {
                Via::Reconciler => check_reconciler(&scenario, properties),
                Via::Engine => check_engine(&scenario, properties),
            }
            .map_err(|f| TestCaseError::fail(f.to_string()))?;
            totals.borrow_mut().add(&summary);
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, scenario)) => {
                panic!("{via:?}, {profile:?}: {why}\nshrunk scenario: {scenario:?}")
            }
            Err(e) => panic!("{via:?}, {profile:?}: {e}"),
        }
    }
    let t = totals.into_inner();
    eprintln!("{via:?}: {properties:?} over {profiles:?}: {t:?}");
    // None of this may pass vacuously.
    assert!(t.runs > 0);
    assert!(
        t.truth_changes > t.runs,
        "scenarios barely changed the truth: {t:?}"
    );
    assert!(
        t.enumerations > 2 * t.runs,
        "scenarios barely enumerated: {t:?}"
    );
    t
}

/// Each property runs through both: `name::reconciler` and `name::engine`.
macro_rules! through_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn reconciler() {
                super::$name(super::Via::Reconciler);
            }

            #[test]
            fn engine() {
                super::$name(super::Via::Engine);
            }
        }
    )*};
}

through_both!(
    convergence_when_events_flow,
    convergence_when_the_socket_is_silent_or_lossy,
    no_spurious_publication,
    bounded_work_whatever_the_event_rate,
    no_starvation_under_a_continuous_storm,
    recovery_after_overflow_and_error,
    sleep_is_detected_and_a_clock_stepping_back_is_not_a_sleep,
);

fn convergence_when_events_flow(via: Via) {
    let t = check(
        via,
        &[Profile::Flowing],
        &[Property::Convergence],
        2 * DEFAULT_CASES,
    );
    let c = t.of(Property::Convergence);
    assert!(c.cases > t.runs, "{c:?}");
}

fn convergence_when_the_socket_is_silent_or_lossy(via: Via) {
    let t = check(
        via,
        &[Profile::Silent, Profile::Lossy],
        &[Property::Convergence],
        DEFAULT_CASES,
    );
    let c = t.of(Property::Convergence);
    assert!(c.cases > t.runs, "{c:?}");
}

fn no_spurious_publication(via: Via) {
    let t = check(
        via,
        &[Profile::Flowing, Profile::Lossy, Profile::Silent],
        &[Property::NoSpurious],
        DEFAULT_CASES,
    );
    assert!(t.of(Property::NoSpurious).cases > t.runs);
}

fn bounded_work_whatever_the_event_rate(via: Via) {
    let t = check(
        via,
        &[Profile::Storm, Profile::Flowing, Profile::Lossy],
        &[Property::BoundedWork],
        DEFAULT_CASES,
    );
    let c = t.of(Property::BoundedWork);
    assert!(c.cases > t.runs, "{c:?}");
    assert!(c.worst_count > 1, "{c:?}");
}

fn no_starvation_under_a_continuous_storm(via: Via) {
    let t = check(
        via,
        &[Profile::Storm],
        &[Property::NoStarvation, Property::Convergence],
        2 * DEFAULT_CASES,
    );
    assert!(t.of(Property::NoStarvation).cases > 10 * t.runs);
    assert!(t.of(Property::Convergence).cases >= t.runs);
}

fn recovery_after_overflow_and_error(via: Via) {
    let t = check(
        via,
        &[Profile::Flowing, Profile::Lossy],
        &[Property::OverflowRecovery, Property::RebindRecovery],
        DEFAULT_CASES,
    );
    assert!(t.of(Property::OverflowRecovery).cases > 10, "{t:?}");
    assert!(t.of(Property::RebindRecovery).cases > 10, "{t:?}");
}

fn sleep_is_detected_and_a_clock_stepping_back_is_not_a_sleep(via: Via) {
    let t = check(
        via,
        &[Profile::Flowing, Profile::Lossy],
        &[Property::TimeJumps],
        DEFAULT_CASES,
    );
    assert!(t.of(Property::TimeJumps).cases > 10, "{t:?}");
}
