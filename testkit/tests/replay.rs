//! Determinism and trace replay: the same seed gives the same run, a
//! simulated run's trace replays to the same publications, and the traces
//! shipped under `testkit/traces/` replay to their known outcome.

use netstate_core::Cause;
use netstate_testkit::replay::Trace;
use netstate_testkit::{Profile, Scenario};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn any_profile() -> impl Strategy<Value = Scenario> {
    prop_oneof![
        Scenario::strategy(Profile::Flowing),
        Scenario::strategy(Profile::Lossy),
        Scenario::strategy(Profile::Silent),
        Scenario::strategy(Profile::Storm),
    ]
}

proptest! {
    #![proptest_config(Config {
        cases: cases(128),
        source_file: Some(file!()),
        ..Config::default()
    })]

    /// The same scenario (seed included) gives the same log and the same
    /// trace, byte for byte.
    #[test]
    fn same_seed_same_trace(scenario in any_profile()) {
        let a = scenario.run().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let b = scenario.run().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!a.trace().is_empty());
        prop_assert_eq!(a.log_text(), b.log_text());
        prop_assert_eq!(Trace::from_sim(&a).to_jsonl().ok(), Trace::from_sim(&b).to_jsonl().ok());
    }

    /// A simulated run's trace, written as JSON lines and read back,
    /// replays through a fresh Reconciler to exactly the same publications
    /// and counters.
    #[test]
    fn a_simulated_trace_replays_to_the_same_run(scenario in any_profile()) {
        let sim = scenario.run().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = Trace::from_sim(&sim).to_jsonl().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let replay = Trace::parse(&text)
            .and_then(|t| t.replay())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let published: Vec<_> = sim.observations().publications.iter().map(|(_, c)| c.clone()).collect();
        prop_assert!(!published.is_empty());
        prop_assert_eq!(replay.publications, published);
        prop_assert_eq!(replay.stats, sim.core().stats());
    }
}

#[test]
fn a_seed_alone_reproduces_a_scenario() {
    for profile in [
        Profile::Flowing,
        Profile::Lossy,
        Profile::Silent,
        Profile::Storm,
    ] {
        let a = Scenario::generate(42, profile).expect("generates");
        assert_eq!(a, Scenario::generate(42, profile).expect("generates"));
        assert_eq!(a.seed, 42);
        assert_ne!(a, Scenario::generate(43, profile).expect("generates"));
        let json = a.to_json().expect("serialises");
        assert_eq!(Scenario::from_json(&json).expect("parses"), a);
    }
}

const SHIPPED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/traces/silent-socket-overflow-rebind-sleep.jsonl"
);

#[test]
fn the_shipped_trace_replays_to_its_known_outcome() {
    let trace = Trace::load(SHIPPED).unwrap_or_else(|e| panic!("{SHIPPED}: {e}"));
    let replay = trace.replay().unwrap_or_else(|e| panic!("{SHIPPED}: {e}"));
    let causes: Vec<Cause> = replay.publications.iter().map(|c| c.cause).collect();
    assert_eq!(causes, EXPECTED_CAUSES, "{:#?}", replay.publications);
    let stats = replay.stats;
    assert_eq!(stats.overflows, 1);
    assert_eq!(stats.rebinds, 3);
    assert_eq!(stats.enumeration_failures, 2, "{stats:?}");
    // It ends on the truth: eth0 down, its IPv4 addresses 0 and 1, the
    // IPv6 default route through it.
    let state = replay.state.expect("a state");
    let eth0 = state.by_name("eth0").expect("eth0");
    assert!(!eth0.is_up());
    let addrs: Vec<String> = eth0.addrs.iter().map(|a| a.net.to_string()).collect();
    assert_eq!(addrs, ["10.0.0.2/24", "10.0.1.2/24", "2001:db8:0:4::2/64"]);
    assert_eq!(
        state
            .default_routes()
            .v6
            .as_ref()
            .map(|r| r.interface.as_str()),
        Some("eth0")
    );
    // The trace holds every kind of input the driver feeds.
    let text = std::fs::read_to_string(SHIPPED).expect("readable");
    for needle in [
        "\"route\"",
        "\"sleep_clock\"",
        "\"enumerated\"",
        "\"monitor_failed\"",
        "\"monitor_rebound\"",
        "\"timeout\"",
    ] {
        assert!(text.contains(needle), "no {needle} in the shipped trace");
    }
}

/// The causes of the shipped trace's publications, in order: the start;
/// the new address; the address added inside the storm (published within
/// the maximum wait although the storm goes on); the change whose hint the
/// overflow lost (resynced at once, after one failed enumeration retried);
/// the default route changed while the socket was down (resync after the
/// third rebind attempt); the wake from a 10-minute sleep (nothing changed;
/// the NTP step back after it publishes nothing); the link that went down
/// while the socket was silent (the reconcile, 15 s after the previous
/// enumeration).
const EXPECTED_CAUSES: [Cause; 7] = [
    Cause::Initial,
    Cause::Event,
    Cause::Event,
    Cause::Overflow,
    Cause::Reconcile,
    Cause::TimeJump,
    Cause::Reconcile,
];

#[test]
fn the_shipped_trace_is_what_its_script_records() {
    // The trace is data: it does not change when the simulation does. This
    // only checks that the script still produces the same outcome.
    let sim = netstate_testkit::scenario::shipped_trace_script()
        .run()
        .expect("runs");
    let causes: Vec<Cause> = sim
        .observations()
        .publications
        .iter()
        .map(|(_, c)| c.cause)
        .collect();
    assert_eq!(causes, EXPECTED_CAUSES);
}
