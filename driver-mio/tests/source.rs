//! `MonitorSource` in the test's own `mio::Poll` loop, against the real
//! kernel in a network namespace (and, without root, over an in-memory
//! route socket); and `ThreadMonitor`'s callback.
#![cfg(target_os = "linux")]

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use netstate_core::{Cause, Change, Config};
use netstate_mio::{MonitorSource, ThreadMonitor};
use netstate_sys::{NetlinkBackend, Netns};
use netstate_testkit::conformance::PATIENCE;
use netstate_testkit::faults::FaultyBackend;
use netstate_testkit::netns::NetnsFixture;

const NET: Token = Token(7);

fn namespace(test: &str) -> (NetnsFixture, Arc<Netns>) {
    let ns = NetnsFixture::with_uplink(test, "msa", 91);
    let netns = Arc::new(Netns::named(ns.name()).expect("open namespace"));
    (ns, netns)
}

/// Events only: without a reconcile interval, a change can reach the source
/// only through the route socket's readiness.
fn events_only() -> Config {
    Config::builder()
        .debounce(Duration::from_millis(20))
        .max_wait(Duration::from_millis(200))
        .reconcile_interval(None)
        .build()
        .expect("valid config")
}

fn source_in(netns: &Arc<Netns>, config: Config) -> MonitorSource {
    let backend = NetlinkBackend::open_in(netns.clone()).expect("backend");
    MonitorSource::build(MonitorSource::builder(config).backend(Box::new(backend))).expect("source")
}

/// The application's loop: polls, runs the source, and returns the first
/// change that `done` accepts (or panics at the deadline).
fn run_until(
    poll: &mut Poll,
    source: &mut MonitorSource,
    what: &str,
    mut done: impl FnMut(&Change) -> bool,
) -> Change {
    let mut found = None;
    run_while(poll, source, what, |source| {
        while let Some(change) = source.next_change() {
            if done(&change) {
                found = Some(change);
                return true;
            }
        }
        false
    });
    found.expect("run_while returns once a change was accepted")
}

/// The application's loop: polls and runs the source until `done` says so
/// (asked before every poll), or panics at the deadline.
fn run_while(
    poll: &mut Poll,
    source: &mut MonitorSource,
    what: &str,
    mut done: impl FnMut(&mut MonitorSource) -> bool,
) {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Events::with_capacity(8);
    loop {
        if done(source) {
            return;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "timed out waiting for {what}: {:?}",
            source.stats()
        );
        let left = deadline - now;
        let timeout = source.timeout_from(now).map_or(left, |t| t.min(left));
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
            continue;
        }
        for event in events.iter() {
            assert_eq!(event.token(), NET);
            source.handle_ready();
        }
        source.handle_timeout();
    }
}

fn has_address(c: &Change, name: &str, net: &str) -> bool {
    c.new
        .by_name(name)
        .is_some_and(|i| i.address(&net.parse().expect("net")).is_some())
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_registered_source_delivers_the_initial_state_then_a_change() {
    let (ns, netns) = namespace("a_registered_source_delivers_the_initial_state_then_a_change");
    let mut poll = Poll::new().expect("poll");
    let mut source = source_in(&netns, events_only());
    poll.registry()
        .register(&mut source, NET, Interest::READABLE)
        .expect("register");

    let initial = source.next_change().expect("the initial change is queued");
    assert_eq!((initial.seq, initial.cause), (1, Cause::Initial));
    assert!(has_address(&initial, "msa0", "10.91.0.2/24"));

    ns.ip(&["addr", "add", "10.91.0.3/24", "dev", "msa0"])
        .expect("ip");
    let change = run_until(&mut poll, &mut source, "the added address", |c| {
        has_address(c, "msa0", "10.91.0.3/24")
    });
    assert_eq!(change.cause, Cause::Event);
    assert!(source.stats().datagrams >= 1);
    assert_eq!(*source.state(), *change.new);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn changes_keep_coming_through_the_source_after_its_socket_is_replaced() {
    let (ns, netns) =
        namespace("changes_keep_coming_through_the_source_after_its_socket_is_replaced");
    let mut poll = Poll::new().expect("poll");
    let backend = NetlinkBackend::open_in(netns.clone()).expect("backend");
    let (faulty, faults) = FaultyBackend::new(Box::new(backend));
    let mut source =
        MonitorSource::build(MonitorSource::builder(events_only()).backend(Box::new(faulty)))
            .expect("source");
    poll.registry()
        .register(&mut source, NET, Interest::READABLE)
        .expect("register");
    while source.next_change().is_some() {}

    // A read error drops the socket; the Reconciler rebinds after a backoff
    // (reads of the new socket work again by then).
    faults.fail_reads(true);
    source.check_now();
    assert_eq!(source.stats().core.rebinds, 0);
    let deadline = Instant::now() + PATIENCE;
    let mut events = Events::with_capacity(8);
    while source.stats().core.rebinds == 0 && source.stats().rebinds_done == 0 {
        assert!(
            Instant::now() < deadline,
            "no failure seen: {:?}",
            source.stats()
        );
        if let Err(e) = poll.poll(&mut events, source.timeout_from(Instant::now())) {
            assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
            continue;
        }
        for _ in events.iter() {
            source.handle_ready();
        }
        source.handle_timeout();
        if source.stats().wakeups > 0 {
            faults.fail_reads(false);
        }
    }
    let deadline = Instant::now() + PATIENCE;
    while source.stats().rebinds_done == 0 {
        assert!(Instant::now() < deadline, "no rebind: {:?}", source.stats());
        if let Err(e) = poll.poll(&mut events, source.timeout_from(Instant::now())) {
            assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
            continue;
        }
        for _ in events.iter() {
            source.handle_ready();
        }
        source.handle_timeout();
    }

    // Only the new socket, behind the same registered descriptor, can tell.
    let events_before = source.stats().core.route_events;
    ns.ip(&["addr", "add", "10.91.0.4/24", "dev", "msa0"])
        .expect("ip");
    let change = run_until(
        &mut poll,
        &mut source,
        "the address after the rebind",
        |c| has_address(c, "msa0", "10.91.0.4/24"),
    );
    assert_eq!(change.cause, Cause::Event);
    assert!(source.stats().core.route_events > events_before);
    poll.registry().deregister(&mut source).expect("deregister");
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_thread_monitor_hands_every_change_to_its_callback() {
    let (ns, netns) = namespace("a_thread_monitor_hands_every_change_to_its_callback");
    let (tx, rx) = mpsc::channel();
    let backend = NetlinkBackend::open_in(netns.clone()).expect("backend");
    let monitor = ThreadMonitor::builder(events_only())
        .backend(Box::new(backend))
        .on_change(move |c| {
            let _ = tx.send(c);
        })
        .start()
        .expect("monitor");
    let initial = rx.recv_timeout(PATIENCE).expect("the initial change");
    assert_eq!((initial.seq, initial.cause), (1, Cause::Initial));
    ns.ip(&["addr", "add", "10.91.0.5/24", "dev", "msa0"])
        .expect("ip");
    loop {
        let c = rx.recv_timeout(PATIENCE).expect("the added address");
        if has_address(&c, "msa0", "10.91.0.5/24") {
            break;
        }
    }
    monitor.shutdown();
    // The callback (and with it the sender) went with the thread.
    assert_eq!(
        rx.recv_timeout(PATIENCE),
        Err(mpsc::RecvTimeoutError::Disconnected)
    );
}

/// Datagrams beyond one wake-up's read cap reach the application's loop
/// without another event: mio reports the source's descriptor once (edge),
/// so after a wake-up that stopped at the cap the source must ask to run
/// again through its timeout (zero), not wait for readiness that never
/// comes again. The debounce and maximum wait are an hour and there is no
/// reconcile: nothing else could make the loop run it. Needs no root.
#[test]
fn datagrams_beyond_one_wake_ups_cap_are_read_without_another_event() {
    use netstate_core::{RouteEvent, RouteEventKind};
    use netstate_sys::MAX_DATAGRAMS_PER_WAKE;
    use netstate_testkit::queued::QueuedBackend;

    let (backend, queue) = QueuedBackend::new().expect("queued backend");
    let config = netstate_testkit::queued::readiness_only_config();
    let mut source =
        MonitorSource::build(MonitorSource::builder(config).backend(Box::new(backend)))
            .expect("source");
    let mut poll = Poll::new().expect("poll");
    poll.registry()
        .register(&mut source, NET, Interest::READABLE)
        .expect("register");
    let before = source.stats().datagrams;
    let total = MAX_DATAGRAMS_PER_WAKE + 5;
    let hint = RouteEvent::new(RouteEventKind::AddrNew).with_index(1);
    queue.push(std::iter::repeat_n(hint, total));
    run_while(&mut poll, &mut source, "every queued datagram", |source| {
        source.stats().datagrams >= before + total as u64
    });
    assert!(queue.is_empty(), "{} datagrams left", queue.len());
    assert_eq!(
        source.stats().max_wake_datagrams,
        MAX_DATAGRAMS_PER_WAKE as u64,
        "one wake-up reads up to the cap, no more"
    );
}
