//! One test per rule of the Reconciler, named after the rule.

use std::time::{Duration, Instant};

use super::*;
use crate::config::Backoff;
use crate::event::{Family, RouteEventKind};
use crate::filter::Filter;
use crate::flags::InterfaceFlags;
use crate::snapshot::{Address, DefaultRoutes, Interface};

const MS: Duration = Duration::from_millis(1);

/// A Reconciler under a virtual clock.
struct Harness {
    r: Reconciler,
    start: Instant,
    now: Instant,
}

impl Harness {
    fn new(config: Config) -> Self {
        let start = Instant::now();
        Harness {
            r: Reconciler::new(config, start),
            start,
            now: start,
        }
    }

    fn default() -> Self {
        Harness::new(Config::default())
    }

    fn at(&self) -> Duration {
        self.now - self.start
    }

    /// Advances the clock by `d`, running every timer on the way.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.r.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.r.handle_timeout(self.now);
        }
        self.now = end;
        self.r.handle_timeout(end);
    }

    fn input(&mut self, input: Input) {
        self.r.handle_input(self.now, input);
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.r.poll_action()).collect()
    }

    /// The id of the single enumeration asked for; fails if the actions are
    /// anything else.
    fn expect_enumerate(&mut self) -> EnumerationId {
        match self.actions().as_slice() {
            [Action::Enumerate { id, .. }] => *id,
            other => panic!("expected one Enumerate at {:?}, got {other:?}", self.at()),
        }
    }

    fn expect_nothing(&mut self) {
        let a = self.actions();
        assert!(
            a.is_empty(),
            "expected no action at {:?}, got {a:?}",
            self.at()
        );
    }

    fn answer(&mut self, id: EnumerationId, snapshot: &Snapshot) -> Vec<Action> {
        self.input(Input::Enumerated {
            id,
            result: Ok(snapshot.clone()),
        });
        self.actions()
    }

    fn expect_publish(&mut self, id: EnumerationId, snapshot: &Snapshot) -> Change {
        match self.answer(id, snapshot).as_slice() {
            [Action::Publish(c)] => c.clone(),
            other => panic!("expected one Publish, got {other:?}"),
        }
    }

    /// Starts up with `snapshot` as the first state.
    fn started(config: Config, snapshot: &Snapshot) -> Self {
        let mut h = Harness::new(config);
        let id = h.expect_enumerate();
        h.expect_publish(id, snapshot);
        h
    }

    fn hint(&mut self) {
        self.input(Input::Route(addr_event(2)));
    }
}

fn addr_event(index: u32) -> RouteEvent {
    RouteEvent::new(RouteEventKind::AddrNew)
        .with_family(Family::V4)
        .with_index(index)
}

fn snapshot(addrs: &[&str]) -> Snapshot {
    let mut eth = Interface::new(2, "eth0");
    eth.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING;
    for a in addrs {
        eth.addrs.push(Address::new(a.parse().unwrap()));
    }
    let mut tun = Interface::new(7, "tun0");
    tun.flags = InterfaceFlags::UP;
    Snapshot::new(vec![eth, tun], DefaultRoutes::default()).unwrap()
}

fn no_reconcile() -> Config {
    Config::builder().reconcile_interval(None).build().unwrap()
}

#[test]
fn first_action_is_an_enumeration_and_its_success_publishes_initial() {
    let mut h = Harness::default();
    let id = h.expect_enumerate();
    let s = snapshot(&["10.0.0.2/24"]);
    let c = h.expect_publish(id, &s);
    assert_eq!(c.seq, 1);
    assert_eq!(c.cause, Cause::Initial);
    assert_eq!(*c.new, s);
    assert!(c.old.interfaces().is_empty());
    assert_eq!(c.delta.added.len(), 2);
    assert!(c.is_major());
    assert_eq!(h.r.state().map(|s| &**s), Some(&s));
}

#[test]
fn hint_starts_the_debounce_and_further_hints_restart_it() {
    let s = snapshot(&[]);
    let mut h = Harness::started(no_reconcile(), &s);
    h.hint();
    assert_eq!(h.r.poll_timeout(), Some(h.now + 250 * MS));
    h.advance(200 * MS);
    h.hint(); // restarts: now due at 450 ms
    h.advance(249 * MS);
    h.expect_nothing();
    h.advance(MS);
    let id = h.expect_enumerate();
    assert_eq!(h.at(), 450 * MS);
    let s2 = snapshot(&["10.0.0.9/24"]);
    assert_eq!(h.expect_publish(id, &s2).cause, Cause::Event);
}

#[test]
fn a_storm_cannot_postpone_enumeration_past_the_maximum_wait() {
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    let first = h.at();
    // A hint every 100 ms would restart a 250 ms debounce forever.
    let mut enumerated_at = None;
    for _ in 0..100 {
        h.hint();
        h.advance(100 * MS);
        if !h.actions().is_empty() {
            enumerated_at = Some(h.at());
            break;
        }
    }
    let at = enumerated_at.expect("the storm starved enumeration");
    assert!(
        at - first <= Duration::from_secs(2),
        "enumerated after {:?}",
        at - first
    );
    assert!(at - first >= Duration::from_millis(1900));
}

#[test]
fn hints_the_filter_rules_out_start_nothing() {
    let config = Config::builder()
        .reconcile_interval(None)
        .filter(Filter::new().ignore_name("tun0").ignore_prefix("veth"))
        .build()
        .unwrap();
    let mut h = Harness::started(config, &snapshot(&[]));
    let host_route = RouteEvent::new(RouteEventKind::RouteNew)
        .with_family(Family::V4)
        .with_route(254, 32);
    h.input(Input::Route(host_route));
    // tun0 has index 7 in the snapshot: ignored by index, and by name.
    h.input(Input::Route(addr_event(7)));
    h.input(Input::Route(
        RouteEvent::new(RouteEventKind::LinkNew).with_name("veth9a"),
    ));
    assert_eq!(h.r.poll_timeout(), None);
    h.advance(Duration::from_secs(60));
    h.expect_nothing();
    assert_eq!(h.r.stats().ignored_events, 3);
    assert_eq!(h.r.stats().route_events, 3);
    // The ignored interface is not in the published state either.
    assert!(h.r.state().unwrap().by_name("tun0").is_none());

    let default = RouteEvent::new(RouteEventKind::RouteDel).with_route(100, 0);
    h.input(Input::Route(default));
    assert!(
        h.r.poll_timeout().is_some(),
        "a default route in any table counts"
    );
}

#[test]
fn reconcile_interval_enumerates_without_any_hint() {
    let s = snapshot(&[]);
    let mut h = Harness::started(Config::default(), &s);
    h.advance(Duration::from_secs(15) - MS);
    h.expect_nothing();
    h.advance(MS);
    let id = h.expect_enumerate();
    let s2 = snapshot(&["10.0.0.3/24"]);
    assert_eq!(h.expect_publish(id, &s2).cause, Cause::Reconcile);
    // And again one interval after that enumeration.
    h.advance(Duration::from_secs(15));
    let id = h.expect_enumerate();
    assert!(h.answer(id, &s2).is_empty());
}

#[test]
fn reconcile_off_means_no_enumeration_without_a_reason() {
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    assert_eq!(h.r.poll_timeout(), None);
    h.advance(Duration::from_secs(3600));
    h.expect_nothing();
}

#[test]
fn overflow_enumerates_at_once() {
    let mut h = Harness::started(Config::default(), &snapshot(&[]));
    h.hint();
    h.input(Input::MonitorFailed(MonitorFailure::Overflow));
    let id = h.expect_enumerate();
    let c = h.expect_publish(id, &snapshot(&["10.0.0.4/24"]));
    assert_eq!(c.cause, Cause::Overflow);
    assert_eq!(h.r.stats().overflows, 1);
    // The debounce the hint started was absorbed by the overflow's enumeration.
    h.advance(Duration::from_secs(1));
    h.expect_nothing();
}

#[test]
fn monitor_error_asks_for_rebinds_with_exponential_backoff() {
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    h.input(Input::MonitorFailed(MonitorFailure::Error));
    h.expect_nothing();
    let mut delays = Vec::new();
    let mut last = h.now;
    for _ in 0..11 {
        let due = h.r.poll_timeout().expect("a rebind is scheduled");
        h.advance(due - h.now);
        assert_eq!(h.actions(), vec![Action::RebindMonitor]);
        delays.push(h.now - last);
        h.input(Input::MonitorRebound(Err(OsError::new("EPERM"))));
        last = h.now;
    }
    let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
    assert_eq!(
        ms,
        [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]
    );
    assert_eq!(h.r.stats().rebinds, 11);
}

#[test]
fn a_successful_rebind_enumerates_and_does_not_reset_the_backoff_at_once() {
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    h.input(Input::MonitorFailed(MonitorFailure::Closed));
    h.advance(100 * MS);
    assert_eq!(h.actions(), vec![Action::RebindMonitor]);
    h.input(Input::MonitorRebound(Ok(())));
    let id = h.expect_enumerate();
    assert!(h.answer(id, &snapshot(&[])).is_empty());
    // A socket that fails again right away is not rebound in a loop: the
    // next attempt waits longer.
    h.input(Input::MonitorFailed(MonitorFailure::Error));
    assert_eq!(h.r.poll_timeout(), Some(h.now + 200 * MS));
    // Failures while a rebind is pending do not pile up.
    h.input(Input::MonitorFailed(MonitorFailure::Error));
    assert_eq!(h.r.poll_timeout(), Some(h.now + 200 * MS));
    h.advance(200 * MS);
    assert_eq!(h.actions(), vec![Action::RebindMonitor]);
    h.input(Input::MonitorRebound(Ok(())));
    h.expect_enumerate();
    // After staying healthy for the backoff's ceiling, it starts over.
    h.advance(Duration::from_secs(30));
    h.input(Input::MonitorFailed(MonitorFailure::Error));
    assert_eq!(h.r.poll_timeout(), Some(h.now + 100 * MS));
}

#[test]
fn a_sleep_clock_jump_publishes_time_jump_even_when_nothing_differs() {
    let s = snapshot(&["10.0.0.2/24"]);
    let mut h = Harness::started(no_reconcile(), &s);
    h.input(Input::SleepClock(Duration::from_secs(1000)));
    h.advance(Duration::from_secs(5));
    // 5 s of monotonic time, 600 s of boot time: the host slept 595 s.
    h.input(Input::SleepClock(Duration::from_secs(1600)));
    let id = h.expect_enumerate();
    let c = h.expect_publish(id, &s);
    assert_eq!(c.cause, Cause::TimeJump);
    assert!(c.delta.is_empty());
    assert!(c.is_major());
}

#[test]
fn a_sleep_clock_below_the_threshold_or_stepping_backwards_is_not_a_sleep() {
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    h.input(Input::SleepClock(Duration::from_secs(10_000)));
    h.advance(Duration::from_secs(5));
    // Ran 20 s ahead: below the 22.5 s threshold.
    h.input(Input::SleepClock(Duration::from_secs(10_025)));
    h.expect_nothing();
    // An NTP step back by an hour.
    h.input(Input::SleepClock(Duration::from_secs(10_025 - 3600)));
    h.expect_nothing();
    // Counting resumes from the new baseline.
    h.advance(Duration::from_secs(1));
    h.input(Input::SleepClock(Duration::from_secs(10_025 - 3600 + 1)));
    h.expect_nothing();
    assert_eq!(h.r.poll_timeout(), None);
}

#[test]
fn a_hint_during_an_enumeration_causes_one_more_after_it() {
    let config = Config::builder()
        .reconcile_interval(None)
        .debounce(Duration::ZERO)
        .build()
        .unwrap();
    let mut h = Harness::started(config, &snapshot(&[]));
    h.hint();
    let first = h.expect_enumerate();
    h.hint(); // the result may predate this change
    h.hint();
    h.expect_nothing();
    let s = snapshot(&["10.0.0.5/24"]);
    let actions = h.answer(first, &snapshot(&[]));
    match actions.as_slice() {
        [Action::Enumerate { id, .. }] => {
            assert_ne!(*id, first);
            assert_eq!(h.expect_publish(*id, &s).cause, Cause::Event);
        }
        other => panic!("expected exactly one more enumeration, got {other:?}"),
    }
    h.expect_nothing();
}

#[test]
fn a_failure_during_an_enumeration_causes_one_more_after_it() {
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    h.input(Input::ForceCheck);
    let first = h.expect_enumerate();
    h.input(Input::MonitorFailed(MonitorFailure::Overflow));
    h.expect_nothing();
    let actions = h.answer(first, &snapshot(&[]));
    assert!(matches!(actions.as_slice(), [Action::Enumerate { .. }]));
}

#[test]
fn a_result_with_another_id_is_ignored() {
    let mut h = Harness::new(no_reconcile());
    let id = h.expect_enumerate();
    let stale = EnumerationId(id.0 + 41);
    assert!(h.answer(stale, &snapshot(&[])).is_empty());
    assert!(h.r.state().is_none());
    assert_eq!(h.r.stats().stale_results, 1);
    h.expect_publish(id, &snapshot(&[]));
    // Answering the same id twice is also stale.
    assert!(h.answer(id, &snapshot(&["10.0.0.1/24"])).is_empty());
}

#[test]
fn a_failed_enumeration_keeps_the_last_good_state_and_retries_with_backoff() {
    let s = snapshot(&["10.0.0.2/24"]);
    let mut h = Harness::started(no_reconcile(), &s);
    h.input(Input::ForceCheck);
    let mut id = h.expect_enumerate();
    let mut delays = Vec::new();
    for _ in 0..4 {
        h.input(Input::Enumerated {
            id,
            result: Err(OsError::new("EBUSY")),
        });
        h.expect_nothing();
        assert_eq!(h.r.state().map(|s| &**s), Some(&s));
        let due = h.r.poll_timeout().unwrap();
        delays.push((due - h.now).as_millis());
        // Hints during the backoff do not cut it short.
        h.hint();
        assert_eq!(h.r.poll_timeout(), Some(due));
        h.advance(due - h.now);
        id = h.expect_enumerate();
    }
    assert_eq!(delays, [100, 200, 400, 800]);
    let s2 = snapshot(&["10.0.0.3/24"]);
    // The retry carries the reason of the attempt that failed.
    assert_eq!(h.expect_publish(id, &s2).cause, Cause::Forced);
    assert_eq!(h.r.stats().enumeration_failures, 4);
}

#[test]
fn an_unanswered_enumeration_times_out_and_is_retried() {
    let mut h = Harness::new(no_reconcile());
    let id = h.expect_enumerate();
    h.advance(Duration::from_secs(10));
    h.expect_nothing();
    assert_eq!(h.r.stats().enumeration_failures, 1);
    h.advance(100 * MS);
    let retry = h.expect_enumerate();
    assert_ne!(retry, id);
    assert!(
        h.answer(id, &snapshot(&[])).is_empty(),
        "the late answer is stale"
    );
    h.expect_publish(retry, &snapshot(&[]));
}

#[test]
fn a_result_equal_to_the_state_publishes_nothing() {
    let s = snapshot(&["10.0.0.2/24", "2001:db8::2/64"]);
    let mut h = Harness::started(no_reconcile(), &s);
    // The kernel re-announcing an address (new lifetimes) is a hint, and the
    // enumeration that follows finds the same state: nothing is published.
    for _ in 0..3 {
        h.hint();
        h.advance(Duration::from_secs(1));
        let id = h.expect_enumerate();
        assert!(h.answer(id, &s).is_empty());
    }
    assert_eq!(h.r.stats().publications, 1);
}

#[test]
fn force_check_enumerates_without_debounce() {
    let s = snapshot(&[]);
    let mut h = Harness::started(no_reconcile(), &s);
    h.input(Input::ForceCheck);
    let id = h.expect_enumerate();
    assert!(
        h.answer(id, &s).is_empty(),
        "nothing differs: nothing to publish"
    );
    h.input(Input::ForceCheck);
    let id = h.expect_enumerate();
    assert_eq!(
        h.expect_publish(id, &snapshot(&["10.1.1.1/24"])).cause,
        Cause::Forced
    );
}

#[test]
fn stats_count_what_happened() {
    let mut h = Harness::started(Config::default(), &snapshot(&[]));
    h.hint();
    h.input(Input::Route(
        RouteEvent::new(RouteEventKind::RouteNew).with_route(254, 24),
    ));
    h.input(Input::MonitorFailed(MonitorFailure::Overflow));
    let id = h.expect_enumerate();
    h.input(Input::Enumerated {
        id,
        result: Err(OsError::new("x")),
    });
    h.advance(100 * MS);
    let id = h.expect_enumerate();
    h.expect_publish(id, &snapshot(&["10.0.0.1/24"]));
    h.input(Input::MonitorFailed(MonitorFailure::Error));
    h.advance(100 * MS);
    let s = h.r.stats();
    assert_eq!(
        s,
        Stats {
            route_events: 2,
            ignored_events: 1,
            enumerations: 3,
            publications: 2,
            overflows: 1,
            rebinds: 1,
            enumeration_failures: 1,
            stale_results: 0,
            interrupted_enumerations: 0,
            targeted_reads: 0,
        }
    );
}

#[test]
fn handle_timeout_early_or_twice_does_nothing() {
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    h.hint();
    let due = h.r.poll_timeout().unwrap();
    h.r.handle_timeout(h.now);
    h.r.handle_timeout(h.now + 10 * MS);
    h.expect_nothing();
    assert_eq!(h.r.poll_timeout(), Some(due));
    h.r.handle_timeout(due);
    h.expect_enumerate();
    h.r.handle_timeout(due);
    h.expect_nothing();
    assert_eq!(h.r.last_timeout_reason(), Some(Timer::Debounce));
}

#[test]
fn same_inputs_give_the_same_actions() {
    fn run() -> Vec<String> {
        let mut h = Harness::new(Config::default());
        let mut log = Vec::new();
        for step in 0..200u32 {
            match step % 7 {
                0 | 3 => h.hint(),
                5 => h.input(Input::SleepClock(Duration::from_secs(u64::from(step)))),
                _ => {}
            }
            h.advance(Duration::from_millis(u64::from(step % 5) * 90));
            for a in h.actions() {
                if let Action::Enumerate { id, .. } = a {
                    let s = snapshot(if step % 3 == 0 { &["10.0.0.1/24"] } else { &[] });
                    h.input(Input::Enumerated { id, result: Ok(s) });
                }
                log.push(format!("{:?} {a:?}", h.at()));
            }
            for a in h.actions() {
                log.push(format!("{:?} {a:?}", h.at()));
            }
        }
        log
    }
    let a = run();
    assert!(a.len() > 10);
    assert_eq!(a, run());
}

#[test]
fn custom_backoff_is_honoured() {
    let config = Config::builder()
        .reconcile_interval(None)
        .rebind_backoff(Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(2),
        })
        .build()
        .unwrap();
    let mut h = Harness::started(config, &snapshot(&[]));
    h.input(Input::MonitorFailed(MonitorFailure::Error));
    assert_eq!(h.r.poll_timeout(), Some(h.now + Duration::from_secs(1)));
}

#[test]
fn a_link_renamed_out_of_the_filter_is_no_longer_ignored() {
    let config = Config::builder()
        .reconcile_interval(None)
        .filter(Filter::new().ignore_prefix("tun"))
        .build()
        .unwrap();
    let mut h = Harness::started(config, &snapshot(&[]));
    // tun0 (index 7) is ignored: its address hints start nothing.
    h.input(Input::Route(addr_event(7)));
    assert_eq!(h.r.poll_timeout(), None);
    assert_eq!(h.r.stats().ignored_events, 1);
    // Renamed to a name the filter keeps: hints about index 7 count now,
    // even before an enumeration has seen the new name.
    h.input(Input::Route(
        RouteEvent::new(RouteEventKind::LinkNew)
            .with_index(7)
            .with_name("wan0"),
    ));
    h.input(Input::Route(addr_event(7)));
    assert_eq!(h.r.stats().ignored_events, 1, "neither hint was dropped");
    assert!(h.r.poll_timeout().is_some());
}

#[test]
fn a_link_renamed_into_the_filter_leaves_the_state_at_once() {
    // The rename's hint carries the new, ignored name; it names an index the
    // published state holds, so it must not be filtered away.
    let config = Config::builder()
        .reconcile_interval(None)
        .filter(Filter::new().ignore_prefix("ign"))
        .build()
        .unwrap();
    let mut h = Harness::started(config, &snapshot(&[]));
    assert!(h.r.state().unwrap().by_index(2).is_some());
    h.input(Input::Route(
        RouteEvent::new(RouteEventKind::LinkNew)
            .with_index(2)
            .with_name("ign0"),
    ));
    assert_eq!(h.r.stats().ignored_events, 0, "the hint was dropped");
    h.advance(Duration::from_secs(3));
    let id = h.expect_enumerate();
    let mut renamed = snapshot(&[]);
    let eth = renamed.by_index(2).unwrap().clone();
    let mut ign = Interface::new(2, "ign0");
    ign.flags = eth.flags;
    let renamed_table = Snapshot::new(
        renamed
            .interfaces()
            .iter()
            .filter(|i| i.index != 2)
            .cloned()
            .chain([ign])
            .collect(),
        renamed.default_routes().clone(),
    )
    .unwrap();
    renamed = renamed_table;
    let c = h.expect_publish(id, &renamed);
    assert!(c.new.by_index(2).is_none(), "still published: {:?}", c.new);
    assert!(c.new.by_name("eth0").is_none());

    // A route hint with a long prefix through a known interface is still
    // filtered: knowing the interface does not make a host route matter.
    let host_route = RouteEvent::new(RouteEventKind::RouteNew)
        .with_family(Family::V4)
        .with_index(7)
        .with_route(254, 32);
    h.input(Input::Route(host_route));
    assert_eq!(h.r.stats().ignored_events, 1);
}

#[test]
fn an_interrupted_enumeration_is_retried_after_the_debounce_never_backed_off() {
    let config = Config::builder()
        .reconcile_interval(None)
        .debounce(Duration::from_millis(50))
        .build()
        .unwrap();
    let debounce = config.debounce;
    let mut h = Harness::started(config, &snapshot(&["10.0.0.1/24"]));
    h.hint();
    h.advance(debounce);
    // Twenty interruptions in a row: each is followed by another
    // enumeration one debounce later, however many came before.
    for n in 1..=20u64 {
        let id = h.expect_enumerate();
        h.input(Input::EnumerationInterrupted { id });
        h.expect_nothing();
        assert_eq!(h.r.poll_timeout(), Some(h.now + debounce), "after {n}");
        assert_eq!(h.r.stats().interrupted_enumerations, n);
        h.advance(debounce);
    }
    assert_eq!(h.r.stats().enumeration_failures, 0);
    // The last good state was kept; the first complete read publishes,
    // with the cause of the hint that started it.
    assert_eq!(h.r.state().unwrap().by_index(2).unwrap().addrs.len(), 1);
    let id = h.expect_enumerate();
    let c = h.expect_publish(id, &snapshot(&["10.0.0.1/24", "10.0.0.2/24"]));
    assert_eq!(c.cause, Cause::Event);
}

#[test]
fn an_interruption_ends_a_retry_backoff() {
    let config = Config::builder()
        .reconcile_interval(None)
        .debounce(Duration::ZERO)
        .build()
        .unwrap();
    let mut h = Harness::started(config, &snapshot(&[]));
    // Three real failures: the retry backoff grows.
    h.hint();
    for _ in 0..3 {
        let id = h.expect_enumerate();
        h.input(Input::Enumerated {
            id,
            result: Err(OsError::new("EIO")),
        });
        let at = h.r.poll_timeout().unwrap();
        h.advance(at - h.now);
    }
    // The kernel answers again but the table is changing: retried at once
    // (debounce 0), not after the grown backoff.
    let id = h.expect_enumerate();
    h.input(Input::EnumerationInterrupted { id });
    let again = h.expect_enumerate();
    assert_ne!(again, id);
    assert_eq!(h.r.stats().interrupted_enumerations, 1);
    // A late answer for the interrupted id is stale, not a result.
    h.input(Input::EnumerationInterrupted { id });
    assert_eq!(h.r.stats().stale_results, 1);
    assert_eq!(h.r.stats().interrupted_enumerations, 1);
}

#[test]
fn an_interrupted_first_enumeration_still_publishes_as_initial() {
    let mut h = Harness::new(Config::default());
    let id = h.expect_enumerate();
    h.input(Input::EnumerationInterrupted { id });
    assert!(h.r.state().is_none());
    h.advance(Config::default().debounce);
    let id = h.expect_enumerate();
    let c = h.expect_publish(id, &snapshot(&[]));
    assert_eq!(c.cause, Cause::Initial);
}

#[test]
fn any_number_of_hints_fed_before_draining_cost_one_enumeration() {
    // What the engine does at a wake-up: every hint of a socket drain is
    // fed, then the actions are drained. With no debounce, each hint alone
    // is reason enough to enumerate; together they are one reason.
    let config = Config::builder()
        .reconcile_interval(None)
        .debounce(Duration::ZERO)
        .build()
        .unwrap();
    let mut h = Harness::started(config, &snapshot(&[]));
    for _ in 0..10 {
        h.hint();
    }
    let id = h.expect_enumerate();
    let c = h.expect_publish(id, &snapshot(&["10.0.0.6/24"]));
    assert_eq!(c.cause, Cause::Event);
    h.expect_nothing();
    assert_eq!(h.r.stats().enumerations, 2);
}

#[test]
fn hints_an_overflow_and_a_forced_check_fed_together_enumerate_once_with_the_strongest_cause() {
    let mut h = Harness::started(Config::default(), &snapshot(&[]));
    h.hint();
    h.input(Input::MonitorFailed(MonitorFailure::Overflow));
    h.hint();
    h.input(Input::ForceCheck);
    h.hint();
    let id = h.expect_enumerate();
    // One publication, and no second enumeration for the reasons fed after
    // the overflow: they were all fed before the drain.
    let c = h.expect_publish(id, &snapshot(&["10.0.0.7/24"]));
    assert_eq!(c.cause, Cause::Overflow);
    h.expect_nothing();
    // The debounce the hints started was absorbed by that enumeration.
    h.advance(Duration::from_secs(3));
    h.expect_nothing();
    assert_eq!(h.r.stats().enumerations, 2);
}

#[test]
fn the_enumeration_timeout_is_armed_when_polled_from_the_last_call() {
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    h.input(Input::ForceCheck);
    // Inputs only record reasons: nothing is started, no deadline yet.
    assert_eq!(h.r.poll_timeout(), None);
    h.now += Duration::from_secs(3);
    h.hint();
    assert_eq!(h.r.poll_timeout(), Some(h.now + 250 * MS));
    let id = h.expect_enumerate();
    // Started at the drain: the hint's debounce was absorbed, and the
    // timeout counts from the last call before the drain.
    assert_eq!(h.r.poll_timeout(), Some(h.now + Duration::from_secs(10)));
    h.advance(Duration::from_secs(10) - MS);
    h.expect_nothing();
    h.advance(MS);
    assert_eq!(h.r.stats().enumeration_failures, 1);
    h.advance(100 * MS);
    let retry = h.expect_enumerate();
    assert_ne!(retry, id);
    // The retry carries the merged reasons: forced beats event.
    let c = h.expect_publish(retry, &snapshot(&["10.0.0.8/24"]));
    assert_eq!(c.cause, Cause::Forced);
}

#[test]
fn a_publication_comes_out_before_the_enumeration_decided_in_the_same_drain() {
    let config = Config::builder()
        .reconcile_interval(None)
        .debounce(Duration::ZERO)
        .build()
        .unwrap();
    let mut h = Harness::started(config, &snapshot(&[]));
    h.input(Input::ForceCheck);
    let first = h.expect_enumerate();
    h.hint();
    let actions = h.answer(first, &snapshot(&["10.0.0.9/24"]));
    match actions.as_slice() {
        [Action::Publish(c), Action::Enumerate { id, .. }] => {
            assert_eq!(c.cause, Cause::Forced);
            assert_ne!(*id, first);
        }
        other => panic!("expected a publication, then one enumeration: {other:?}"),
    }
}

#[test]
fn an_enumeration_is_decided_before_a_rebind_queued_in_the_same_drain() {
    // The rebind's answer is an input: deciding first makes a drain give the
    // same enumerations whether or not the driver feeds that answer during
    // it (as the engine does) or after it (as a replay does).
    let mut h = Harness::started(no_reconcile(), &snapshot(&[]));
    h.input(Input::MonitorFailed(MonitorFailure::Error));
    h.hint();
    h.expect_nothing();
    // Rebind due at 100 ms, debounce at 250 ms: both run in one call.
    h.now += 300 * MS;
    h.r.handle_timeout(h.now);
    let actions = h.actions();
    let id = match actions.as_slice() {
        [Action::Enumerate { id, .. }, Action::RebindMonitor] => *id,
        other => panic!("expected the enumeration, then the rebind: {other:?}"),
    };
    h.input(Input::MonitorRebound(Ok(())));
    h.expect_nothing();
    // The resync after the rebind follows the enumeration in flight.
    let actions = h.answer(id, &snapshot(&[]));
    assert!(matches!(actions.as_slice(), [Action::Enumerate { .. }]));
}
