//! Properties of the real `netstate_sys::Engine` on virtual time, over the
//! simulated backend of `netstate_testkit::engine_sim`.
//!
//! Random configurations (debounce, maximum wait, reconcile on or off,
//! enumeration timeout), random enumeration faults (interrupted, failed,
//! answering later) and random scripts: bursts of table changes whose hints
//! are all written to the route socket before one wake-up, garbage
//! datagrams, forced checks, and waits (to the engine's `poll_timeout`, or
//! by a random amount). Checked through the engine's surface only:
//!
//! * (a) batching: a burst written before one wake-up, with nothing in
//!   flight, costs at most one enumeration started at that wake-up;
//! * (b) convergence: once the script ends and enumerations stop failing,
//!   waking at `poll_timeout` makes the handle's state the table's truth
//!   within a bounded number of wake-ups;
//! * (c) no spurious publication: every change received has `old != new`
//!   unless its cause is `TimeJump`;
//! * (d) `stats().core.enumerations` equals the enumerations the backend
//!   saw started, whenever the engine has no work queued, less the
//!   engine's immediate retries of an interrupted first enumeration (the
//!   Reconciler never asked for those, so it does not count them), and
//!   `targeted_reads` the targeted reads it saw started (the simulated
//!   backend answers those with a refresh of its table);
//! * (e) overflow: changes whose hints are lost, then an overflow on the
//!   route socket: every overflow read is counted, and (b) holds without
//!   the lost hints, reconcile on or off;
//! * (f) rebind: the route socket fails; the engine opens exactly one new
//!   socket per failure (hints written while it has none are lost, as to a
//!   closed socket) and (b) holds;
//! * (g) sleep: the sleep clock jumps past the configured threshold (a
//!   suspend) once the first state was published: a change with cause
//!   `TimeJump` reaches the subscriber before convergence ends.
//!
//! `PROPTEST_CASES` sets the number of cases.

use std::time::{Duration, Instant};

use netstate_core::{Cause, Config};
use netstate_sys::fanout::Subscriber;
use netstate_sys::Engine;
use netstate_testkit::engine_sim::{sim_backend, BackendFaults, SimBackendControl};
use netstate_testkit::net::starting_table;
use netstate_testkit::NetOp;
use proptest::collection::vec;
use proptest::prelude::*;

/// Cases when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 128;

/// Wake-ups allowed for convergence once the script ended.
const CONVERGENCE_STEPS: usize = 200;

/// The sleep clock's reading at the start (any constant).
const SLEEP_BASE: Duration = Duration::from_secs(1_000);

fn proptest_config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// Apply these changes, write all their hints, then wake once.
    Burst(Vec<NetOp>),
    /// Write one datagram of garbage (no wake-up).
    Garbage(Vec<u8>),
    /// Ask for a check through the handle (no wake-up).
    CheckNow,
    /// Advance to the engine's `poll_timeout` (or a waiting enumeration's
    /// answer, if sooner), then wake.
    WaitTimeout,
    /// Advance by this many milliseconds, then wake.
    Wait(u64),
    /// Apply these changes without writing their hints, write an overflow,
    /// then wake.
    Lost(Vec<NetOp>),
    /// Write a failure into the route socket (no wake-up).
    FailSocket,
    /// The host sleeps this many seconds (the sleep clock jumps, `now`
    /// does not), then wake.
    Sleep(u64),
}

#[derive(Clone, Debug)]
struct Case {
    seed: u64,
    debounce_ms: u64,
    extra_wait_ms: u64,
    reconcile_s: Option<u64>,
    timeout_ms: u64,
    faults: BackendFaults,
    steps: Vec<Step>,
}

fn net_op() -> impl Strategy<Value = NetOp> {
    let slot = 0u8..4;
    let addr = 0u8..8;
    prop_oneof![
        3 => (slot.clone(), addr.clone()).prop_map(|(slot, addr)| NetOp::AddAddr { slot, addr }),
        2 => (slot.clone(), addr.clone()).prop_map(|(slot, addr)| NetOp::RemoveAddr { slot, addr }),
        1 => (slot.clone(), addr, any::<bool>())
            .prop_map(|(slot, addr, on)| NetOp::Tentative { slot, addr, on }),
        2 => (slot.clone(), any::<bool>()).prop_map(|(slot, up)| NetOp::Link { slot, up }),
        1 => slot.clone().prop_map(|slot| NetOp::AddInterface { slot }),
        1 => slot.clone().prop_map(|slot| NetOp::RemoveInterface { slot }),
        1 => (any::<bool>(), proptest::option::of(slot))
            .prop_map(|(v6, slot)| NetOp::DefaultRoute { v6, slot }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => vec(net_op(), 1..6).prop_map(Step::Burst),
        1 => vec(any::<u8>(), 0..24).prop_map(Step::Garbage),
        1 => Just(Step::CheckNow),
        3 => Just(Step::WaitTimeout),
        3 => (0u64..2_000).prop_map(Step::Wait),
        1 => vec(net_op(), 1..4).prop_map(Step::Lost),
        1 => Just(Step::FailSocket),
        1 => (1u64..200).prop_map(Step::Sleep),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        0u64..300,
        0u64..2_000,
        proptest::option::of(1u64..60),
        200u64..5_000,
        (0u16..250, 0u16..250, 0u16..300, 0u64..3_000),
        vec(step(), 1..40),
    )
        .prop_map(
            |(seed, debounce_ms, extra_wait_ms, reconcile_s, timeout_ms, f, steps)| Case {
                seed,
                debounce_ms,
                extra_wait_ms,
                reconcile_s,
                timeout_ms,
                faults: BackendFaults {
                    interrupted_per_mille: f.0,
                    failed_per_mille: f.1,
                    waiting_per_mille: f.2,
                    waiting_ms: [0, f.3],
                },
                steps,
            },
        )
}

/// The engine, its backend's control and virtual time.
struct Run {
    engine: Engine,
    ctl: SimBackendControl,
    sub: Subscriber,
    start: Instant,
    now: Instant,
    /// The last wake-up asked to be woken again at once.
    more_queued: bool,
    /// Time the host slept (the sleep clock is ahead of `now` by it).
    slept: Duration,
    jump_threshold: Duration,
    /// (e): overflows written where the engine will read them.
    overflows: u64,
    /// (f): failures written where the engine will read them; a failure
    /// was written to the socket now open.
    failures: u64,
    failure_pending: bool,
    /// (g): a sleep past the threshold was seen after the first
    /// publication, and no `TimeJump` change received since.
    owe_time_jump: bool,
    log: Vec<String>,
}

impl Run {
    fn wake(&mut self) -> Result<(), TestCaseError> {
        self.ctl.set_now(self.now);
        let before = self.ctl.started();
        let sleep = SimBackendControl::sleep_clock(SLEEP_BASE, self.start, self.now) + self.slept;
        let woken = self.engine.wake(self.now, sleep);
        self.more_queued = woken.more_queued;
        let started = self.ctl.started() - before;
        self.log.push(format!(
            "wake at +{:?}: {started} started, more_queued {}, pending {}",
            self.now - self.start,
            woken.more_queued,
            self.ctl.pending()
        ));
        self.check_publications()?;
        self.check_counters()
    }

    /// (c): nothing is published that changes nothing.
    fn check_publications(&mut self) -> Result<(), TestCaseError> {
        while let Ok(change) = self.sub.try_recv() {
            self.log
                .push(format!("published #{} ({:?})", change.seq, change.cause));
            prop_assert!(
                change.cause == Cause::TimeJump || change.old != change.new,
                "spurious publication #{} ({:?}): old == new",
                change.seq,
                change.cause
            );
            if change.cause == Cause::TimeJump {
                self.owe_time_jump = false;
            }
        }
        Ok(())
    }

    /// The socket the test writes to is the engine's (a failure written to
    /// it was followed by a rebind).
    fn socket_current(&mut self) -> bool {
        if self.failure_pending && self.ctl.sources_opened() == 1 + self.failures {
            self.failure_pending = false;
        }
        !self.failure_pending
    }

    /// Writes hints; those written to a socket the engine has failed on
    /// are lost, as to a closed socket.
    fn send(&mut self, hints: &[netstate_core::RouteEvent]) -> Result<(), TestCaseError> {
        if !self.socket_current() {
            self.log
                .push(format!("{} hints lost: no socket", hints.len()));
            return Ok(());
        }
        self.ctl
            .send(hints)
            .map_err(|e| TestCaseError::fail(format!("send: {e}")))
    }

    /// Everything owed has happened: (e) every overflow read, (f) one new
    /// socket per failure, (g) the time jump published.
    fn settled(&mut self) -> bool {
        let stats = self.engine.handle().stats();
        self.socket_current() && stats.core.overflows == self.overflows && !self.owe_time_jump
    }

    /// (d): the engine's count of enumerations is the backend's.
    fn check_counters(&self) -> Result<(), TestCaseError> {
        if self.more_queued {
            return Ok(());
        }
        let stats = self.engine.handle().stats();
        let (started, again) = (self.ctl.started(), self.ctl.restarted_at_once());
        prop_assert_eq!(
            stats.core.enumerations,
            started - again,
            "stats count {} enumerations, the backend saw {} started ({} of them \
             the engine's immediate retries of a first enumeration)",
            stats.core.enumerations,
            started,
            again
        );
        prop_assert_eq!(
            stats.core.targeted_reads,
            self.ctl.targeted(),
            "the targeted reads the Reconciler asked for are the ones the backend ran"
        );
        Ok(())
    }

    /// Whether the engine's readiness descriptor is readable now (a
    /// driver would wake it).
    fn readable(&self) -> bool {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let fd = self.engine.readiness_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
    }

    /// The instant to wake at next: the engine's timeout, or the waiting
    /// enumeration's answer if sooner; never before `now`.
    fn next_wake(&self) -> Option<Instant> {
        let at = match (self.engine.poll_timeout(), self.ctl.ready_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        at.map(|at| at.max(self.now))
    }
}

fn run(case: &Case) -> Result<(), TestCaseError> {
    let mut builder = Config::builder()
        .debounce(Duration::from_millis(case.debounce_ms))
        .max_wait(Duration::from_millis(case.debounce_ms + case.extra_wait_ms))
        .enumeration_timeout(Duration::from_millis(case.timeout_ms));
    builder = builder.reconcile_interval(case.reconcile_s.map(Duration::from_secs));
    let config = builder
        .build()
        .map_err(|e| TestCaseError::fail(format!("config: {e}")))?;
    let start = Instant::now();
    let (backend, ctl) = sim_backend(case.seed, starting_table(), case.faults, start);
    let jump_threshold = config.jump_threshold();
    let engine = Engine::new(config, Box::new(backend), start)
        .map_err(|e| TestCaseError::fail(format!("engine: {e}")))?;
    let (_, sub) = engine.handle().subscribe();
    let mut r = Run {
        engine,
        ctl,
        sub,
        start,
        now: start,
        more_queued: false,
        slept: Duration::ZERO,
        jump_threshold,
        overflows: 0,
        failures: 0,
        failure_pending: false,
        owe_time_jump: false,
        log: Vec::new(),
    };
    let result = script(&mut r, case);
    if result.is_err() {
        eprintln!("{}", r.log.join("\n"));
    }
    result
}

fn script(r: &mut Run, case: &Case) -> Result<(), TestCaseError> {
    r.wake()?;
    for step in &case.steps {
        match step {
            Step::Burst(ops) => {
                for op in ops {
                    let hints = r.ctl.apply(op);
                    r.log.push(format!("{op:?}: {} hints", hints.len()));
                    r.send(&hints)?;
                }
                // (a): nothing in flight, nothing queued, the monitor
                // started: this wake-up starts at most one enumeration.
                let quiet = !r.ctl.pending()
                    && !r.more_queued
                    && matches!(r.engine.start_result(), Some(Ok(())));
                let before = r.ctl.started();
                r.wake()?;
                let started = r.ctl.started() - before;
                if quiet {
                    prop_assert!(
                        started <= 1,
                        "a burst of {} changes started {started} enumerations in one wake-up",
                        ops.len()
                    );
                }
            }
            Step::Garbage(bytes) => {
                if r.socket_current() {
                    r.ctl
                        .send_raw(bytes)
                        .map_err(|e| TestCaseError::fail(format!("send: {e}")))?;
                }
            }
            Step::Lost(ops) => {
                for op in ops {
                    let hints = r.ctl.apply(op);
                    r.log.push(format!("{op:?}: {} hints lost", hints.len()));
                }
                if r.socket_current() {
                    r.ctl
                        .overflow()
                        .map_err(|e| TestCaseError::fail(format!("overflow: {e}")))?;
                    r.overflows += 1;
                    r.log.push("overflow written".to_owned());
                }
                r.wake()?;
            }
            Step::FailSocket => {
                if r.socket_current() {
                    r.ctl
                        .fail_socket()
                        .map_err(|e| TestCaseError::fail(format!("fail: {e}")))?;
                    r.failures += 1;
                    r.failure_pending = true;
                    r.log.push("failure written".to_owned());
                }
            }
            Step::Sleep(secs) => {
                let slept = Duration::from_secs(*secs);
                let published = r.engine.handle().stats().core.publications > 0;
                r.slept += slept;
                r.log.push(format!("slept {secs} s"));
                if published && slept > r.jump_threshold {
                    r.owe_time_jump = true;
                }
                r.wake()?;
            }
            Step::CheckNow => drop(r.engine.handle().check_now()),
            Step::WaitTimeout => {
                if let Some(at) = r.next_wake() {
                    r.now = at;
                }
                r.wake()?;
            }
            Step::Wait(ms) => {
                r.now += Duration::from_millis(*ms);
                r.wake()?;
            }
        }
    }
    // (b): enumerations stop failing; the engine converges on the truth.
    r.ctl.set_faults(BackendFaults::none());
    r.log.push("faults off".to_owned());
    let truth = r.ctl.truth();
    for _ in 0..CONVERGENCE_STEPS {
        if !r.more_queued && !r.readable() {
            match r.next_wake() {
                Some(at) => r.now = at,
                None => break,
            }
        }
        r.wake()?;
        if *r.engine.handle().state() == truth && !r.more_queued && !r.ctl.pending() && r.settled()
        {
            return Ok(());
        }
    }
    prop_assert_eq!(
        &*r.engine.handle().state(),
        &truth,
        "no convergence within {} wake-ups",
        CONVERGENCE_STEPS
    );
    let stats = r.engine.handle().stats();
    prop_assert_eq!(stats.core.overflows, r.overflows, "(e) overflows read");
    prop_assert_eq!(
        r.ctl.sources_opened(),
        1 + r.failures,
        "(f) one new route socket per failure"
    );
    prop_assert!(!r.owe_time_jump, "(g) no TimeJump change after a sleep");
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn engine_batches_converges_and_publishes_only_changes(case in case()) {
        run(&case)?;
    }
}
