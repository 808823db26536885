//! The Reconciler's promises, checked with proptest over generated
//! scenarios of the deterministic simulation.
//!
//! Each test runs `PROPTEST_CASES` scenarios (default below, chosen so the
//! whole suite stays well under a few minutes on two cores). A failure
//! prints the violated property, the seed, the shrunk scenario as JSON (feed
//! it to `Scenario::from_json` to reproduce the run) and the run's log.

use std::cell::RefCell;

use netstate_testkit::props::Checked;
use netstate_testkit::scenario::{check_reconciler, Property, Summary};
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

/// Checks `properties` over `cases` scenarios of each profile; panics with
/// the shrunk failure.
fn check(profiles: &[Profile], properties: &[Property], cases: u32) -> Totals {
    let totals = RefCell::new(Totals::default());
    for profile in profiles {
        let mut runner = runner(cases);
        let result = runner.run(&Scenario::strategy(*profile), |scenario| {
            let summary = check_reconciler(&scenario, properties)
                .map_err(|f| TestCaseError::fail(f.to_string()))?;
            totals.borrow_mut().add(&summary);
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, scenario)) => {
                panic!("{profile:?}: {why}\nshrunk scenario: {scenario:?}")
            }
            Err(e) => panic!("{profile:?}: {e}"),
        }
    }
    let t = totals.into_inner();
    eprintln!("{properties:?} over {profiles:?}: {t:?}");
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

#[test]
fn convergence_when_events_flow() {
    let t = check(
        &[Profile::Flowing],
        &[Property::Convergence],
        2 * DEFAULT_CASES,
    );
    let c = t.of(Property::Convergence);
    assert!(c.cases > t.runs, "{c:?}");
}

#[test]
fn convergence_when_the_socket_is_silent_or_lossy() {
    let t = check(
        &[Profile::Silent, Profile::Lossy],
        &[Property::Convergence],
        DEFAULT_CASES,
    );
    let c = t.of(Property::Convergence);
    assert!(c.cases > t.runs, "{c:?}");
}

#[test]
fn no_spurious_publication() {
    let t = check(
        &[Profile::Flowing, Profile::Lossy, Profile::Silent],
        &[Property::NoSpurious],
        DEFAULT_CASES,
    );
    assert!(t.of(Property::NoSpurious).cases > t.runs);
}

#[test]
fn bounded_work_whatever_the_event_rate() {
    let t = check(
        &[Profile::Storm, Profile::Flowing, Profile::Lossy],
        &[Property::BoundedWork],
        DEFAULT_CASES,
    );
    let c = t.of(Property::BoundedWork);
    assert!(c.cases > t.runs, "{c:?}");
    assert!(c.worst_count > 1, "{c:?}");
}

#[test]
fn no_starvation_under_a_continuous_storm() {
    let t = check(
        &[Profile::Storm],
        &[Property::NoStarvation, Property::Convergence],
        2 * DEFAULT_CASES,
    );
    assert!(t.of(Property::NoStarvation).cases > 10 * t.runs);
    assert!(t.of(Property::Convergence).cases >= t.runs);
}

#[test]
fn recovery_after_overflow_and_error() {
    let t = check(
        &[Profile::Flowing, Profile::Lossy],
        &[Property::OverflowRecovery, Property::RebindRecovery],
        DEFAULT_CASES,
    );
    assert!(t.of(Property::OverflowRecovery).cases > 10, "{t:?}");
    assert!(t.of(Property::RebindRecovery).cases > 10, "{t:?}");
}

#[test]
fn sleep_is_detected_and_a_clock_stepping_back_is_not_a_sleep() {
    let t = check(
        &[Profile::Flowing, Profile::Lossy],
        &[Property::TimeJumps],
        DEFAULT_CASES,
    );
    assert!(t.of(Property::TimeJumps).cases > 10, "{t:?}");
}
