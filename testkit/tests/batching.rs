//! Enumerations are decided when actions are polled, not while inputs are
//! fed: however many inputs a driver feeds before it drains
//! [`Reconciler::poll_action`] (the engine feeds every hint of a socket drain
//! first), the drain asks for at most one enumeration, and never for a second
//! one while the first is in flight.
//!
//! Random configurations and random bursts of inputs (hints of every kind,
//! overflows, socket failures and rebinds, forced checks, sleep-clock
//! samples, timeouts at arbitrary instants), each fed entirely before a
//! drain; each enumeration asked for is answered with a random snapshot, a
//! failure or an interruption, at a random place in a later burst, or left
//! unanswered until it times out. `PROPTEST_CASES` sets the number of cases.

use std::time::{Duration, Instant};

use netstate_core::{
    Action, Address, Backoff, Config, DefaultRoutes, EnumerationId, Family, Filter, Input,
    Interface, InterfaceFlags, MonitorFailure, OsError, Reconciler, RouteEvent, RouteEventKind,
    Snapshot,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Cases when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 256;

fn proptest_config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        // Failures are saved in `batching.proptest-regressions`, beside
        // this file; commit it.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// The configuration of one case; always a valid one.
#[derive(Clone, Debug)]
struct ConfigSpec {
    debounce_ms: u64,
    /// Added to the debounce: the maximum wait is never shorter.
    max_wait_extra_ms: u64,
    reconcile_ms: Option<u64>,
    jump_threshold_ms: u64,
    rebind_ms: (u64, u64),
    retry_ms: (u64, u64),
    enumeration_timeout_ms: u64,
    ignore_veth: bool,
}

impl ConfigSpec {
    fn build(&self) -> Config {
        let ms = Duration::from_millis;
        let mut filter = Filter::new();
        if self.ignore_veth {
            filter = filter.ignore_prefix("veth");
        }
        Config::builder()
            .debounce(ms(self.debounce_ms))
            .max_wait(ms(self.debounce_ms + self.max_wait_extra_ms))
            .reconcile_interval(self.reconcile_ms.map(ms))
            .jump_threshold(ms(self.jump_threshold_ms))
            .rebind_backoff(Backoff::new(
                ms(self.rebind_ms.0),
                ms(self.rebind_ms.0 + self.rebind_ms.1),
            ))
            .retry_backoff(Backoff::new(
                ms(self.retry_ms.0),
                ms(self.retry_ms.0 + self.retry_ms.1),
            ))
            .enumeration_timeout(ms(self.enumeration_timeout_ms))
            .filter(filter)
            .build()
            .expect("the generated configuration is valid")
    }
}

fn config_spec() -> impl Strategy<Value = ConfigSpec> {
    (
        prop_oneof![3 => Just(0u64), 3 => 1u64..300, 1 => 300u64..3_000],
        prop_oneof![Just(0u64), 0u64..5_000],
        prop::option::weighted(0.6, 1u64..30_000),
        1u64..60_000,
        (1u64..500, 0u64..5_000),
        (1u64..500, 0u64..5_000),
        prop_oneof![1u64..100, 100u64..20_000],
        any::<bool>(),
    )
        .prop_map(
            |(debounce_ms, max_wait_extra_ms, reconcile_ms, jump, rebind, retry, timeout, veth)| {
                ConfigSpec {
                    debounce_ms,
                    max_wait_extra_ms,
                    reconcile_ms,
                    jump_threshold_ms: jump,
                    rebind_ms: rebind,
                    retry_ms: retry,
                    enumeration_timeout_ms: timeout,
                    ignore_veth: veth,
                }
            },
        )
}

/// Interfaces a generated snapshot or hint picks from (index = position + 1).
const NAMES: [&str; 4] = ["eth0", "wlan0", "veth1", "tun0"];
const ADDRS: [&str; 4] = [
    "10.0.0.2/24",
    "192.168.1.20/24",
    "2001:db8::2/64",
    "fe80::1/64",
];

/// A snapshot: which interfaces exist, whether each is up, and which
/// address each carries.
#[derive(Clone, Debug)]
struct SnapshotSpec {
    present: u8,
    up: u8,
    addrs: [Option<u8>; 4],
}

impl SnapshotSpec {
    fn build(&self) -> Snapshot {
        let interfaces = (0..NAMES.len())
            .filter(|i| self.present & (1 << i) != 0)
            .map(|i| {
                let mut iface = Interface::new(i as u32 + 1, NAMES[i]);
                if self.up & (1 << i) != 0 {
                    iface.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING;
                }
                if let Some(a) = self.addrs[i] {
                    let net = ADDRS[usize::from(a) % ADDRS.len()].parse().unwrap();
                    iface.addrs.push(Address::new(net));
                }
                iface
            })
            .collect();
        Snapshot::new(interfaces, DefaultRoutes::default()).expect("indexes and names are unique")
    }
}

fn snapshot_spec() -> impl Strategy<Value = SnapshotSpec> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::array::uniform4(prop::option::of(0u8..4)),
    )
        .prop_map(|(present, up, addrs)| SnapshotSpec { present, up, addrs })
}

/// How the enumeration in flight is answered.
#[derive(Clone, Debug)]
enum Answer {
    Snapshot(SnapshotSpec),
    Failure,
    Interrupted,
    /// Not in this round: left for a later one, or to time out.
    Hold,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        6 => snapshot_spec().prop_map(Answer::Snapshot),
        2 => Just(Answer::Failure),
        2 => Just(Answer::Interrupted),
        2 => Just(Answer::Hold),
    ]
}

/// One thing fed within a burst.
#[derive(Clone, Debug)]
enum Item {
    Hint {
        kind: u8,
        family: u8,
        index: Option<u8>,
        name: Option<u8>,
        route: Option<(u32, u8)>,
    },
    Overflow,
    /// The socket failed (`true`: closed, `false`: errored).
    MonitorFailed(bool),
    Rebound(bool),
    ForceCheck,
    /// A sleep-clock sample this many ms ahead of the awake time since the
    /// last one (a sleep when above the threshold), or behind it.
    SleepClock {
        ahead: bool,
        ms: u64,
    },
    /// The clock moves forward by this many ms (the next inputs come later).
    Wait(u64),
    /// `handle_timeout` after moving the clock forward by this many ms.
    Timeout(u64),
    /// `handle_timeout` at the deadline `poll_timeout` gives (read before
    /// the drain, as a careless driver would).
    ToDeadline,
}

fn item() -> impl Strategy<Value = Item> {
    let hint = (
        0u8..8,
        0u8..3,
        prop::option::of(0u8..6),
        prop::option::of(0u8..4),
        prop::option::of((prop_oneof![Just(254u32), 0u32..300], 0u8..40)),
    )
        .prop_map(|(kind, family, index, name, route)| Item::Hint {
            kind,
            family,
            index,
            name,
            route,
        });
    prop_oneof![
        12 => hint,
        1 => Just(Item::Overflow),
        1 => any::<bool>().prop_map(Item::MonitorFailed),
        1 => any::<bool>().prop_map(Item::Rebound),
        1 => Just(Item::ForceCheck),
        2 => (any::<bool>(), prop_oneof![0u64..1_000, 0u64..120_000])
            .prop_map(|(ahead, ms)| Item::SleepClock { ahead, ms }),
        2 => prop_oneof![0u64..50, 0u64..3_000].prop_map(Item::Wait),
        2 => prop_oneof![0u64..50, 0u64..30_000].prop_map(Item::Timeout),
        1 => Just(Item::ToDeadline),
    ]
}

/// One burst: its inputs, and where in it the enumeration in flight (if
/// any) is answered.
#[derive(Clone, Debug)]
struct Round {
    answer: Answer,
    answer_at: prop::sample::Index,
    items: Vec<Item>,
}

fn round() -> impl Strategy<Value = Round> {
    (
        answer(),
        any::<prop::sample::Index>(),
        prop_oneof![1 => vec(item(), 0..3), 3 => vec(item(), 0..40)],
    )
        .prop_map(|(answer, answer_at, items)| Round {
            answer,
            answer_at,
            items,
        })
}

fn hint(
    kind: u8,
    family: u8,
    index: Option<u8>,
    name: Option<u8>,
    route: Option<(u32, u8)>,
) -> RouteEvent {
    const KINDS: [RouteEventKind; 8] = [
        RouteEventKind::LinkNew,
        RouteEventKind::LinkDel,
        RouteEventKind::AddrNew,
        RouteEventKind::AddrDel,
        RouteEventKind::RouteNew,
        RouteEventKind::RouteDel,
        RouteEventKind::Rule,
        RouteEventKind::Unknown,
    ];
    let mut e = RouteEvent::new(KINDS[usize::from(kind) % KINDS.len()]);
    match family {
        1 => e = e.with_family(Family::V4),
        2 => e = e.with_family(Family::V6),
        _ => {}
    }
    if let Some(i) = index {
        e = e.with_index(u32::from(i));
    }
    if let Some(n) = name {
        e = e.with_name(NAMES[usize::from(n) % NAMES.len()]);
    }
    if let Some((table, len)) = route {
        e = e.with_route(table, len);
    }
    e
}

/// An enumeration asked for and not answered yet.
#[derive(Clone, Copy, Debug)]
struct Outstanding {
    id: EnumerationId,
    /// `None`: a deadline too far away to be an `Instant` ("never").
    deadline: Option<Instant>,
    timed_out: bool,
}

/// Drives one case: feeds every burst, drains, answers, and checks.
struct Driver {
    r: Reconciler,
    enumeration_timeout: Duration,
    /// The driver's clock.
    now: Instant,
    /// The `now` of the last call into the Reconciler.
    last_call: Instant,
    sleep_clock: Duration,
    outstanding: Option<Outstanding>,
    last_id: Option<EnumerationId>,
    enumerations: u64,
    /// Every action, with the round it came in, for the determinism check.
    log: Vec<(usize, Action)>,
}

impl Driver {
    fn new(config: Config, start: Instant) -> Self {
        let enumeration_timeout = config.enumeration_timeout();
        Driver {
            r: Reconciler::new(config, start),
            enumeration_timeout,
            now: start,
            last_call: start,
            sleep_clock: Duration::from_secs(1_000),
            outstanding: None,
            last_id: None,
            enumerations: 0,
            log: Vec::new(),
        }
    }

    /// Notes that a call at `self.now` is about to run the timers: the
    /// enumeration in flight times out in it if its deadline is reached.
    fn before_call(&mut self) {
        self.last_call = self.now;
        if let Some(o) = &mut self.outstanding {
            if o.deadline.is_some_and(|d| d <= self.now) {
                o.timed_out = true;
            }
        }
    }

    fn input(&mut self, input: Input) {
        self.before_call();
        self.r.handle_input(self.now, input);
    }

    fn timeout(&mut self) {
        self.before_call();
        self.r.handle_timeout(self.now);
    }

    fn answer(&mut self, answer: &Answer) {
        let Some(o) = self.outstanding else {
            return;
        };
        let id = o.id;
        let input = match answer {
            Answer::Hold => return,
            Answer::Snapshot(s) => Input::Enumerated {
                id,
                result: Ok(s.build()),
            },
            Answer::Failure => Input::Enumerated {
                id,
                result: Err(OsError::new("EIO")),
            },
            Answer::Interrupted => Input::EnumerationInterrupted { id },
        };
        // A late answer to an enumeration that timed out is stale: the
        // Reconciler ignores it, and the next one may be in flight already.
        self.outstanding = None;
        self.input(input);
    }

    fn feed(&mut self, item: &Item) {
        match *item {
            Item::Hint {
                kind,
                family,
                index,
                name,
                route,
            } => self.input(Input::Route(hint(kind, family, index, name, route))),
            Item::Overflow => self.input(Input::MonitorFailed(MonitorFailure::Overflow)),
            Item::MonitorFailed(closed) => self.input(Input::MonitorFailed(if closed {
                MonitorFailure::Closed
            } else {
                MonitorFailure::Error
            })),
            Item::Rebound(ok) => self.input(Input::MonitorRebound(if ok {
                Ok(())
            } else {
                Err(OsError::new("EPERM"))
            })),
            Item::ForceCheck => self.input(Input::ForceCheck),
            Item::SleepClock { ahead, ms } => {
                let d = Duration::from_millis(ms);
                self.sleep_clock = if ahead {
                    self.sleep_clock + d
                } else {
                    self.sleep_clock.saturating_sub(d)
                };
                self.input(Input::SleepClock(self.sleep_clock));
            }
            Item::Wait(ms) => self.advance(ms),
            Item::Timeout(ms) => {
                self.advance(ms);
                self.timeout();
            }
            Item::ToDeadline => {
                if let Some(at) = self.r.poll_timeout() {
                    if at > self.now {
                        let step = at - self.now;
                        self.sleep_clock += step;
                        self.now = at;
                    }
                }
                self.timeout();
            }
        }
    }

    /// Moves the clock forward; the sleep clock follows (awake time).
    fn advance(&mut self, ms: u64) {
        let d = Duration::from_millis(ms);
        self.now += d;
        self.sleep_clock += d;
    }

    /// Drains every action and checks the drain.
    fn drain(&mut self, round: usize) -> Result<(), TestCaseError> {
        let actions: Vec<Action> = std::iter::from_fn(|| self.r.poll_action()).collect();
        let enumerates: Vec<EnumerationId> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Enumerate { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        prop_assert!(
            enumerates.len() <= 1,
            "round {}: one drain asked for {} enumerations: {:?}",
            round,
            enumerates.len(),
            actions
        );
        if let Some(&id) = enumerates.first() {
            if let Some(o) = self.outstanding {
                prop_assert!(
                    o.timed_out,
                    "round {}: enumeration {:?} asked for while {:?} is in flight",
                    round,
                    id,
                    o.id
                );
            }
            if let Some(last) = self.last_id {
                prop_assert!(id > last, "round {}: id {:?} after {:?}", round, id, last);
            }
            self.last_id = Some(id);
            self.enumerations += 1;
            // Its timeout runs from the last call before the drain.
            self.outstanding = Some(Outstanding {
                id,
                deadline: self.last_call.checked_add(self.enumeration_timeout),
                timed_out: false,
            });
        }
        prop_assert_eq!(self.r.stats().enumerations, self.enumerations);
        // Polled again, it has nothing more: the decision was made.
        prop_assert!(self.r.poll_action().is_none());
        // Read after the drain, the deadline is after the last call: nothing
        // that expired is left waiting, and no enumeration waits to be polled.
        if let Some(at) = self.r.poll_timeout() {
            prop_assert!(
                at > self.last_call,
                "round {}: poll_timeout {:?} after the last call is not in the future after a drain",
                round,
                at.checked_duration_since(self.last_call)
            );
        }
        self.log.extend(actions.into_iter().map(|a| (round, a)));
        Ok(())
    }

    fn run(&mut self, rounds: &[Round]) -> Result<(), TestCaseError> {
        self.drain(0)?;
        for (n, round) in rounds.iter().enumerate() {
            let at = round.answer_at.index(round.items.len() + 1);
            for (i, item) in round.items.iter().enumerate() {
                if i == at {
                    self.answer(&round.answer);
                }
                self.feed(item);
            }
            if at == round.items.len() {
                self.answer(&round.answer);
            }
            self.drain(n + 1)?;
        }
        Ok(())
    }
}

fn run(spec: &ConfigSpec, rounds: &[Round], start: Instant) -> Result<Driver, TestCaseError> {
    let mut d = Driver::new(spec.build(), start);
    d.run(rounds)?;
    Ok(d)
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Each drain asks for at most one enumeration, and never for one while
    /// another is in flight (unanswered and not timed out), whatever was fed
    /// before it.
    #[test]
    fn a_burst_fed_before_a_drain_costs_at_most_one_enumeration(
        spec in config_spec(),
        rounds in vec(round(), 1..30),
    ) {
        let start = Instant::now();
        let a = run(&spec, &rounds, start)?;
        // The same bursts at the same instants give the same actions.
        let b = run(&spec, &rounds, start)?;
        prop_assert_eq!(a.log, b.log);
    }
}

/// The measured case behind this file: with no debounce, ten hints read at
/// one wake-up, then the drain, cost one enumeration, not two.
#[test]
fn ten_hints_read_at_one_wake_up_cost_one_enumeration() {
    let config = Config::builder()
        .debounce(Duration::ZERO)
        .reconcile_interval(None)
        .build()
        .unwrap();
    let start = Instant::now();
    let mut d = Driver::new(config, start);
    d.drain(0).unwrap();
    d.answer(&Answer::Snapshot(SnapshotSpec {
        present: 1,
        up: 1,
        addrs: [None; 4],
    }));
    d.drain(1).unwrap();
    d.advance(5);
    for _ in 0..10 {
        d.feed(&Item::Hint {
            kind: 2,
            family: 1,
            index: Some(1),
            name: None,
            route: None,
        });
    }
    d.drain(2).unwrap();
    d.answer(&Answer::Snapshot(SnapshotSpec {
        present: 1,
        up: 1,
        addrs: [Some(0), None, None, None],
    }));
    d.drain(3).unwrap();
    assert_eq!(d.r.stats().enumerations, 2);
    assert_eq!(d.r.stats().publications, 2);
}
