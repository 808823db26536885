//! With the feature `tracing`, the engine tells an operator what happened
//! with one event per occurrence, at the level the occurrence deserves,
//! and never one per datagram: driven here on virtual time over the
//! simulated backend (no kernel, no root).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netstate_core::Config;
use netstate_sys::{CheckError, Engine};
use netstate_testkit::engine_sim::{sim_backend, BackendFaults, SimBackendControl};
use netstate_testkit::faults::FaultyBackend;
use netstate_testkit::net::{starting_table, NetOp};
use tracing::field::{Field, Visit};
use tracing::{span, Event, Level, Metadata, Subscriber};

/// Every event: its level and message.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(Level, String)>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(String::new());
        event.record(&mut m);
        let level = *event.metadata().level();
        self.0.lock().unwrap().push((level, m.0));
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

impl Recorder {
    /// The events since the last call.
    fn take(&self) -> Vec<(Level, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Run {
    engine: Engine,
    ctl: SimBackendControl,
    start: Instant,
    now: Instant,
}

impl Run {
    fn wake(&mut self) {
        self.ctl.set_now(self.now);
        let sleep = SimBackendControl::sleep_clock(Duration::from_secs(100), self.start, self.now);
        self.engine.wake(self.now, sleep);
    }

    /// Wakes at each deadline until nothing is due within `span`.
    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        while let Some(at) = self.engine.poll_timeout().filter(|at| *at <= end) {
            self.now = at.max(self.now);
            self.wake();
        }
        self.now = end;
    }
}

#[test]
fn each_occurrence_is_one_event_at_its_level_and_datagrams_are_none() {
    let events = Recorder::default();
    tracing::subscriber::with_default(events.clone(), || {
        let start = Instant::now();
        let (sim, ctl) = sim_backend(7, starting_table(), BackendFaults::none(), start);
        let (backend, faults) = FaultyBackend::new(Box::new(sim));
        let config = Config::builder()
            .debounce(Duration::from_millis(50))
            .max_wait(Duration::from_millis(200))
            .reconcile_interval(None)
            .build()
            .unwrap();
        let engine = Engine::new(config, Box::new(backend), start).unwrap();
        let mut r = Run {
            engine,
            ctl,
            start,
            now: start,
        };
        r.wake();
        assert_eq!(
            events.take(),
            [(Level::DEBUG, "network state changed".to_owned())],
            "the initial state is one publication"
        );

        // One change and a hundred datagrams about it, read over several
        // wake-ups (a datagram socket queues few).
        let hints = r.ctl.apply(&NetOp::AddAddr { slot: 0, addr: 1 });
        for _ in 0..100 {
            r.ctl.send(&hints[..1]).unwrap();
            r.wake();
        }
        r.run_for(Duration::from_secs(1));
        assert!(r.engine.handle().stats().datagrams >= 100);
        assert_eq!(
            events.take(),
            [(Level::DEBUG, "network state changed".to_owned())],
            "one publication, no event per datagram"
        );

        // The route socket ends: it fails once and is reopened once.
        faults.close_socket();
        r.ctl.send(&hints[..1]).unwrap();
        r.wake();
        r.run_for(Duration::from_secs(5));
        let seen = events.take();
        let warns: Vec<&str> = seen
            .iter()
            .filter(|(l, _)| *l == Level::WARN)
            .map(|(_, m)| m.as_str())
            .collect();
        assert_eq!(
            warns,
            [
                "route socket failed: reopening it with backoff",
                "route socket reopened: reading the whole state again"
            ],
            "{seen:?}"
        );

        // A failing enumeration is one warning, and the check it answered
        // says so.
        faults.fail_enumerations(true);
        let mut check = r.engine.handle().check_now();
        r.wake();
        assert!(matches!(
            check.try_result(),
            Some(Err(CheckError::Failed(_)))
        ));
        let seen = events.take();
        assert_eq!(
            seen.iter().filter(|(l, _)| *l == Level::WARN).count(),
            1,
            "{seen:?}"
        );
    });
}

#[test]
fn an_overflow_and_an_interrupted_read_are_one_event_each() {
    use netstate_core::{RouteEvent, RouteEventKind};
    use netstate_testkit::queued::{Datagram, QueuedBackend};
    let events = Recorder::default();
    tracing::subscriber::with_default(events.clone(), || {
        let (queued, queue) = QueuedBackend::new().unwrap();
        let (backend, faults) = FaultyBackend::new(Box::new(queued));
        let config = Config::builder().debounce(Duration::ZERO).build().unwrap();
        let mut engine = Engine::new(config, Box::new(backend), Instant::now()).unwrap();
        engine.block_until_started().unwrap();
        events.take();

        queue.push_datagrams([Datagram::Overflow]);
        engine.wake(Instant::now(), netstate_sys::sleep_clock());
        let overflowed = (
            Level::WARN,
            "route socket overflowed: events were lost, reading the whole state again".to_owned(),
        );
        let seen = events.take();
        assert_eq!(
            seen.iter().filter(|e| **e == overflowed).count(),
            1,
            "{seen:?}"
        );

        faults.interrupt_next(1);
        queue.push([RouteEvent::new(RouteEventKind::LinkNew).with_index(1)]);
        engine.wake(Instant::now(), netstate_sys::sleep_clock());
        let interrupted = (
            Level::DEBUG,
            "the interface table changed while it was read: reading it again".to_owned(),
        );
        let seen = events.take();
        assert_eq!(
            seen.iter().filter(|e| **e == interrupted).count(),
            1,
            "{seen:?}"
        );
    });
}
