//! The Engine's own loop, without a driver and without root: what it
//! records replays to what it published, and waiting for the first state
//! waits (it does not spin).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netstate_core::trace::{Replayer, TraceEvent, TraceHeader, TraceRecord};
use netstate_core::{Action, Change, Config, RouteEvent, RouteEventKind};
use netstate_sys::{Engine, StartError};
use netstate_testkit::engine_sim::{sim_backend, BackendFaults, SimBackendControl};
use netstate_testkit::faults::FaultyBackend;
use netstate_testkit::net::{starting_table, NetOp};
use netstate_testkit::queued::{Datagram, QueuedBackend};

/// What an engine's recorder was given.
#[derive(Clone, Default)]
struct Tape(Arc<Mutex<Vec<TraceRecord>>>);

impl Tape {
    fn recorder(&self) -> netstate_sys::Recorder {
        let tape = self.0.clone();
        Box::new(move |record| tape.lock().unwrap().push(record))
    }

    fn records(&self) -> Vec<TraceRecord> {
        self.0.lock().unwrap().clone()
    }
}

/// A trace recorded from the engine (as `netstate record` writes it)
/// replays through the core to exactly the changes the engine published.
#[test]
fn what_the_engine_records_replays_to_what_it_published() {
    let start = Instant::now();
    let (sim, ctl) = sim_backend(11, starting_table(), BackendFaults::none(), start);
    let config = Config::builder()
        .debounce(Duration::from_millis(20))
        .max_wait(Duration::from_millis(100))
        .reconcile_interval(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    let mut engine = Engine::new(config.clone(), Box::new(sim), start).unwrap();
    let tape = Tape::default();
    engine.set_recorder(tape.recorder());
    let (_, mut sub) = engine.handle().subscribe();

    let mut now = start;
    let wake = |engine: &mut Engine, now: Instant| {
        ctl.set_now(now);
        let sleep = SimBackendControl::sleep_clock(Duration::from_secs(100), start, now);
        engine.wake(now, sleep);
    };
    wake(&mut engine, now);
    for (k, op) in [
        NetOp::AddAddr { slot: 0, addr: 1 },
        NetOp::AddAddr { slot: 1, addr: 2 },
        NetOp::RemoveAddr { slot: 0, addr: 1 },
    ]
    .iter()
    .enumerate()
    {
        let hints = ctl.apply(op);
        ctl.send(&hints).unwrap();
        now += Duration::from_millis(5);
        wake(&mut engine, now);
        // Run every deadline for a while: the debounce, then (for the
        // last change) a reconcile.
        let end = now + Duration::from_millis(if k == 2 { 1500 } else { 300 });
        while let Some(at) = engine.poll_timeout().filter(|at| *at <= end) {
            now = at.max(now);
            wake(&mut engine, now);
        }
        now = end;
    }
    let mut published: Vec<Change> = Vec::new();
    while let Ok(c) = sub.try_recv() {
        published.push(c);
    }
    assert!(
        published.len() >= 3,
        "the initial state and at least two changes: {published:?}"
    );

    let mut replayer = Replayer::new(&TraceHeader::for_engine(&config), start).unwrap();
    let mut replayed = Vec::new();
    for record in tape.records() {
        for action in replayer.apply(record).unwrap() {
            if let Action::Publish(c) = action {
                replayed.push(c);
            }
        }
    }
    let key = |c: &Change| (c.seq, c.cause, c.new.clone());
    assert_eq!(
        replayed.iter().map(key).collect::<Vec<_>>(),
        published.iter().map(key).collect::<Vec<_>>()
    );
}

/// Starting blocks the caller until the first state is known, waiting on
/// the engine's poller with the next deadline as its timeout: while an
/// enumeration that never answers runs out its timeout, the engine wakes a
/// few times, it does not spin. (The recorder, called at every wake-up,
/// stops the engine once the timeout has passed.)
#[test]
fn waiting_for_the_first_state_waits_rather_than_spins() {
    let (queued, _queue) = QueuedBackend::new().unwrap();
    let (backend, faults) = FaultyBackend::new(Box::new(queued));
    faults.hang_enumerations(true);
    let timeout = Duration::from_millis(100);
    let config = Config::builder()
        .enumeration_timeout(timeout)
        .build()
        .unwrap();
    let start = Instant::now();
    let mut engine = Engine::new(config, Box::new(backend), start).unwrap();
    let handle = engine.handle().clone();
    let wakes = Arc::new(Mutex::new(0u32));
    let counted = wakes.clone();
    engine.set_recorder(Box::new(move |record| {
        if let TraceEvent::Timeout = record.event {
            *counted.lock().unwrap() += 1;
            if Duration::from_nanos(record.at_ns) > timeout {
                handle.stop();
            }
        }
    }));
    match engine.block_until_started() {
        Err(StartError::Stopped) => {}
        other => panic!("stopped while the first enumeration hangs: {other:?}"),
    }
    let wakes = *wakes.lock().unwrap();
    assert!(
        (1..=10).contains(&wakes),
        "{wakes} wake-ups while one enumeration ran out its timeout"
    );
}

/// `Engine::wait` blocks until something is ready or the timeout passes
/// (nothing is ready here, so the timeout).
#[test]
fn an_idle_engine_waits_out_its_timeout() {
    let (queued, _queue) = QueuedBackend::new().unwrap();
    let mut engine = Engine::new(Config::default(), Box::new(queued), Instant::now()).unwrap();
    engine.block_until_started().unwrap();
    let asked = Duration::from_millis(30);
    let before = Instant::now();
    engine.wait(Some(asked)).unwrap();
    // A lower bound only (the clock is monotonic): the wait did not return
    // early; how late it returned is not asserted.
    assert!(
        before.elapsed() >= asked,
        "returned after {:?}",
        before.elapsed()
    );
}

/// An engine over a queued source, started (its first state read).
fn started(backend: QueuedBackend, config: Config) -> Engine {
    started_over(Box::new(backend), config)
}

fn started_over(backend: Box<dyn netstate_sys::Backend>, config: Config) -> Engine {
    let mut engine = Engine::new(config, backend, Instant::now()).unwrap();
    engine.block_until_started().unwrap();
    engine
}

fn wake(engine: &mut Engine) {
    engine.wake(Instant::now(), netstate_sys::sleep_clock());
}

/// Another sender's datagrams are dropped and counted apart; a datagram
/// with unreadable messages counts them and is a hint that something may
/// have changed; one wake-up reads them all and says how many it read.
#[test]
fn foreign_and_unreadable_datagrams_are_counted_and_an_unreadable_one_is_a_hint() {
    let (backend, queue) = QueuedBackend::new().unwrap();
    let config = netstate_testkit::queued::readiness_only_config();
    let mut engine = started(backend, config);
    let before = engine.handle().stats();
    queue.push_datagrams([
        Datagram::Foreign,
        Datagram::Malformed(3),
        Datagram::Foreign,
        Datagram::Hint(RouteEvent::new(RouteEventKind::LinkNew).with_index(1)),
    ]);
    wake(&mut engine);
    let s = engine.handle().stats();
    assert_eq!(s.foreign_datagrams - before.foreign_datagrams, 2);
    assert_eq!(s.datagrams - before.datagrams, 2);
    assert_eq!(s.malformed - before.malformed, 3);
    assert_eq!(s.last_wake_datagrams, 4, "{s:?}");
    assert_eq!(
        s.core.route_events - before.core.route_events,
        2,
        "the hint, and one for the unreadable datagram"
    );
    // A wake-up with nothing queued reads nothing and feeds no hint.
    wake(&mut engine);
    let again = engine.handle().stats();
    assert_eq!(again.last_wake_datagrams, 0);
    assert_eq!(again.core.route_events, s.core.route_events);
}

/// A route socket that reached its end is no longer read: what is queued
/// on it afterwards is never taken for news (the monitor rebinds instead;
/// this backend cannot, so nothing more is read at all).
#[test]
fn a_socket_that_ended_is_not_read_again() {
    let (backend, queue) = QueuedBackend::new().unwrap();
    let mut engine = started(backend, Config::default());
    queue.push_datagrams([Datagram::Closed]);
    wake(&mut engine);
    let after_close = engine.handle().stats();
    queue.push([RouteEvent::new(RouteEventKind::LinkNew).with_index(1)]);
    wake(&mut engine);
    wake(&mut engine);
    let s = engine.handle().stats();
    assert_eq!(s.datagrams, after_close.datagrams, "{s:?}");
    assert_eq!(queue.len(), 1, "the datagram after the end stays unread");
}

/// The backend's own counters (interrupted dumps, skipped records) reach
/// the monitor's statistics.
#[test]
fn the_backends_counters_reach_the_monitors_statistics() {
    let (backend, _queue) = QueuedBackend::new().unwrap();
    let backend = backend.with_counters(netstate_sys::EnumerationCounters::new(5, 7));
    let mut engine = started(backend, Config::default());
    wake(&mut engine);
    let s = engine.handle().stats();
    assert_eq!((s.interrupted_dumps, s.skipped_records), (5, 7));
}

/// An enumeration that waits on its socket is answered when that socket
/// becomes readable: the engine watches it. The answer is let through once
/// the first wake-up has started the enumeration (its counters are out);
/// the enumeration timeout is long enough that only readiness can end the
/// read before it.
#[test]
fn an_enumeration_waiting_on_its_socket_is_read_when_it_becomes_readable() {
    let (backend, _queue, gate) = QueuedBackend::gated().unwrap();
    let config = Config::builder()
        .enumeration_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut engine = Engine::new(config, Box::new(backend), Instant::now()).unwrap();
    let handle = engine.handle().clone();
    let opener = std::thread::spawn(move || {
        while handle.stats().wakeups == 0 {
            std::thread::yield_now();
        }
        gate.open();
    });
    engine
        .block_until_started()
        .expect("the first state, read when its socket became readable");
    opener.join().unwrap();
    let s = engine.handle().stats();
    assert_eq!(
        (s.core.enumerations, s.core.enumeration_failures),
        (1, 0),
        "read by the first enumeration, not after it timed out: {s:?}"
    );
}

/// A monitor starting on a busy host reads its first state again at once,
/// up to ten times in a row, before an interrupted first read is left to
/// the Reconciler (which reads again after its debounce).
#[test]
fn an_interrupted_first_read_is_read_again_at_once_ten_times_then_left_to_the_reconciler() {
    for (interruptions, seen_by_the_reconciler) in [(10, 0), (11, 1)] {
        let (queued, _queue) = QueuedBackend::new().unwrap();
        let (backend, faults) = FaultyBackend::new(Box::new(queued));
        faults.interrupt_next(interruptions);
        let mut engine = Engine::new(Config::default(), Box::new(backend), Instant::now()).unwrap();
        engine.block_until_started().unwrap();
        assert_eq!(faults.interrupted(), interruptions);
        assert_eq!(
            engine.handle().stats().core.interrupted_enumerations,
            seen_by_the_reconciler,
            "{interruptions} interruptions"
        );
    }
}

/// A route socket that ends is reopened, and the monitor counts it.
#[test]
fn a_socket_that_ended_is_reopened_and_counted() {
    let start = Instant::now();
    let (sim, ctl) = sim_backend(3, starting_table(), BackendFaults::none(), start);
    let (backend, faults) = FaultyBackend::new(Box::new(sim));
    let mut engine = Engine::new(Config::default(), Box::new(backend), start).unwrap();
    let mut now = start;
    let wake_at = |engine: &mut Engine, now: Instant| {
        ctl.set_now(now);
        let sleep = SimBackendControl::sleep_clock(Duration::from_secs(100), start, now);
        engine.wake(now, sleep);
    };
    wake_at(&mut engine, now);
    faults.close_socket();
    ctl.send(&ctl.apply(&NetOp::AddAddr { slot: 0, addr: 1 }))
        .unwrap();
    let end = now + Duration::from_secs(5);
    wake_at(&mut engine, now);
    while let Some(at) = engine.poll_timeout().filter(|at| *at <= end) {
        now = at.max(now);
        wake_at(&mut engine, now);
    }
    assert_eq!(engine.handle().stats().rebinds_done, 1);
    assert_eq!(ctl.sources_opened(), 2);
}

/// At most one enumeration ends per wake-up: one asked for after another
/// ended waits for the next wake-up (the driver is told more is queued),
/// so a table that keeps changing never holds the driver's loop.
#[test]
fn one_enumeration_ends_per_wake_up() {
    let (queued, queue) = QueuedBackend::new().unwrap();
    let (backend, faults) = FaultyBackend::new(Box::new(queued));
    let config = Config::builder().debounce(Duration::ZERO).build().unwrap();
    let mut engine = started_over(Box::new(backend), config);
    faults.interrupt_next(3);
    queue.push([RouteEvent::new(RouteEventKind::LinkNew).with_index(1)]);
    let woken = engine.wake(Instant::now(), netstate_sys::sleep_clock());
    assert_eq!(faults.interrupted(), 1, "one read ended in this wake-up");
    assert!(woken.more_queued, "the next one waits for the next wake-up");
    for expected in [2, 3] {
        engine.wake(Instant::now(), netstate_sys::sleep_clock());
        assert_eq!(faults.interrupted(), expected);
    }
}

/// Dropping the engine ends every subscriber, even while handles to it
/// live on: each reads what was published, then learns the monitor is gone.
#[test]
fn dropping_the_engine_ends_its_subscribers() {
    let (backend, _queue) = QueuedBackend::new().unwrap();
    let engine = started(backend, Config::default());
    let handle = engine.handle().clone();
    let (_, mut sub) = handle.subscribe();
    drop(engine);
    assert_eq!(
        sub.try_recv().unwrap_err(),
        netstate_sys::fanout::TryRecvError::Closed
    );
}

/// A check asked of a monitor that was stopped, or whose engine is gone,
/// answers "stopped" at once: nothing would ever read the state for it.
#[test]
fn a_check_asked_of_a_stopped_or_gone_monitor_answers_stopped_at_once() {
    use netstate_sys::CheckError;
    let (backend, _queue) = QueuedBackend::new().unwrap();
    let engine = started(backend, Config::default());
    let handle = engine.handle().clone();
    handle.stop();
    assert_eq!(
        handle.check_now().try_result(),
        Some(Err(CheckError::Stopped))
    );

    let (backend, _queue) = QueuedBackend::new().unwrap();
    let engine = started(backend, Config::default());
    let handle = engine.handle().clone();
    drop(engine);
    assert_eq!(
        handle.check_now().try_result(),
        Some(Err(CheckError::Stopped))
    );
}

/// Closing through a handle (what a driver does when its loop stops) ends
/// every subscriber and answers a check asked afterwards with "stopped",
/// while the engine itself is still there.
#[test]
fn closing_through_a_handle_ends_subscribers_and_checks() {
    use netstate_sys::CheckError;
    let (backend, _queue) = QueuedBackend::new().unwrap();
    let engine = started(backend, Config::default());
    let handle = engine.handle().clone();
    let (_, mut sub) = handle.subscribe();
    handle.close();
    assert_eq!(
        sub.try_recv().unwrap_err(),
        netstate_sys::fanout::TryRecvError::Closed
    );
    assert_eq!(
        handle.check_now().try_result(),
        Some(Err(CheckError::Stopped))
    );
    drop(engine);
}
