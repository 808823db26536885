//! The conformance suite every driver passes against the real kernel, in
//! network namespaces (Linux, root; otherwise each test prints why it skips).
//!
//! A driver's test file implements [`DriverHarness`] (blocking calls: the
//! harness runs the driver's runtime on its own threads) and expands
//! [`conformance_tests!`](crate::conformance_tests), which writes one
//! `#[test]` per property; the leak test is expanded by
//! [`leak_tests!`](crate::leak_tests) in a test file of its own, since
//! descriptor and thread counts are per process:
//!
//! * the initial state is the kernel's;
//! * address add/remove, link down/up, interface add/remove and a
//!   default-route change each reach subscribers with the right delta;
//! * a burst of 20,000 address changes while the driver is paused (the
//!   socket overflows) ends on exactly the kernel's state;
//! * a route socket that stops delivering without an error is healed by the
//!   reconcile interval;
//! * no change is published twice (checked on every change received);
//! * a forced check answers with the change it published, or "unchanged";
//! * a socket that fails on every read is rebound with backoff, never in a
//!   loop;
//! * datagrams queued before one wake-up are all read at that wake-up, on
//!   the netlink socket and on a socketpair read as a `PF_ROUTE` socket;
//! * datagrams beyond one wake-up's read cap are read at once, with no other
//!   event or deadline to wake the loop (no root: an in-memory source);
//! * an enumeration that finds the table changing (interrupted) is followed
//!   by another one at once, through the driver's loop, not at the next
//!   event or timeout;
//! * an enumeration that is never answered times out (the configured
//!   enumeration timeout) without holding the loop, and the monitor
//!   recovers;
//! * 1,000 start/stop cycles leave descriptor and thread counts unchanged;
//! * faults (injected by wrapping the backend, `crate::faults`): the route
//!   socket closed under the monitor is rebound; failing
//!   enumerations keep the last state and recover; a namespace deleted while
//!   monitored keeps the monitor running (its sockets keep the namespace
//!   alive) without spinning; a subscriber that never reads stays bounded
//!   and still ends on the latest state.
//!
//! Waiting is always for an event with a generous deadline (a change, or a
//! counter moving), never a sleep standing in for synchronisation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use netstate_core::{AddrFlags, Cause, Change, Config, Snapshot};
use netstate_sys::fanout::{Subscriber, TryRecvError};
use netstate_sys::{
    Backend, Check, CheckOutcome, Enumerator, Handle, MonitorStats, NetlinkBackend, Netns,
    MAX_DATAGRAMS_PER_WAKE,
};

use crate::faults::FaultyBackend;
use crate::queued::QueuedBackend;

use crate::netns::NetnsFixture;

/// How long any single expected event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// What a driver exposes to the suite, as blocking calls. Faults are
/// injected by wrapping the backend ([`crate::faults::FaultyBackend`]),
/// never through the driver.
pub trait DriverHarness {
    /// A running monitor of this driver.
    type Monitor;
    /// Starts a monitor over `backend`; returns once its first state is
    /// known. Panics if it cannot start.
    fn start(config: Config, backend: Box<dyn Backend>) -> Self::Monitor;
    /// Its handle (state, subscribe, check, counters): the same type for
    /// every driver.
    fn handle(m: &Self::Monitor) -> &Handle;
    /// Stops it and waits until its sockets are closed and its task or
    /// thread has ended.
    fn stop(m: Self::Monitor);

    /// Its current state.
    fn state(m: &Self::Monitor) -> Arc<Snapshot> {
        Self::handle(m).state()
    }
    /// A new subscriber.
    fn subscribe(m: &Self::Monitor) -> Subscriber {
        Self::handle(m).subscribe().1
    }
    /// Asks for a check now; the answer may be dropped.
    fn check_now(m: &Self::Monitor) -> Check {
        Self::handle(m).check_now()
    }
    /// Its counters.
    fn stats(m: &Self::Monitor) -> MonitorStats {
        Self::handle(m).stats()
    }
}

/// A namespace with two veth pairs, addresses of both families and default
/// routes of both families.
fn populated(test: &str) -> (NetnsFixture, Arc<Netns>) {
    let ns = NetnsFixture::with_uplink(test, "cfa", 81);
    let setup = || -> Result<(), crate::netns::FixtureError> {
        ns.add_veth("cfb0", "cfb1")?;
        ns.ip(&["addr", "add", "10.82.0.2/24", "dev", "cfb0"])?;
        ns.ip(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:81::1",
            "dev",
            "cfa0",
        ])?;
        Ok(())
    };
    if let Err(e) = setup() {
        panic!("{test}: namespace setup failed: {e}");
    }
    let handle = Arc::new(Netns::named(ns.name()).expect("open namespace"));
    (ns, handle)
}

fn backend(netns: &Arc<Netns>) -> Box<dyn Backend> {
    Box::new(NetlinkBackend::open_in(netns.clone()).expect("open netlink backend"))
}

fn truth(netns: &Netns) -> Snapshot {
    Enumerator::open_in(netns)
        .expect("enumerator")
        .enumerate()
        .expect("enumerate")
}

fn fast_config() -> Config {
    Config::builder()
        .debounce(Duration::from_millis(20))
        .max_wait(Duration::from_millis(200))
        .build()
        .expect("valid config")
}

/// Receives changes until `done` accepts one; checks on each that it is not
/// a repeat of the one before. Returns every change received.
fn wait_for(
    sub: &mut Subscriber,
    what: &str,
    mut done: impl FnMut(&Change) -> bool,
) -> Vec<Change> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen: Vec<Change> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match sub.recv_timeout(left) {
            Ok(c) => {
                assert_no_repeat(seen.last(), &c);
                let stop = done(&c);
                seen.push(c);
                if stop {
                    return seen;
                }
            }
            Err(TryRecvError::Empty) => panic!("timed out waiting for {what}; got {seen:#?}"),
            Err(e) => panic!("monitor stopped while waiting for {what}: {e}"),
        }
    }
}

fn assert_no_repeat(previous: Option<&Change>, c: &Change) {
    if c.cause != Cause::TimeJump {
        assert_ne!(c.old, c.new, "change #{} publishes nothing new", c.seq);
        assert!(!c.delta.is_empty(), "change #{} has an empty delta", c.seq);
    }
    if let Some(p) = previous {
        assert!(c.seq > p.seq, "seq went from {} to {}", p.seq, c.seq);
        assert_eq!(
            c.old, p.new,
            "change #{} does not start where #{} ended",
            c.seq, p.seq
        );
    }
}

/// Waits until the monitor's state equals the kernel's.
fn wait_converged<H: DriverHarness>(
    m: &H::Monitor,
    sub: &mut Subscriber,
    netns: &Netns,
) -> Snapshot {
    let deadline = Instant::now() + PATIENCE;
    let mut last: Option<Change> = None;
    loop {
        let t = truth(netns);
        if *H::state(m) == t {
            return t;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match sub.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(c) => {
                assert_no_repeat(last.as_ref(), &c);
                last = Some(c);
            }
            Err(TryRecvError::Empty) if !left.is_zero() => {}
            Err(e) => panic!(
                "never converged ({e:?}): monitor {:#?}\nkernel {t:#?}",
                H::state(m)
            ),
        }
    }
}

/// The initial state is the kernel's.
pub fn initial_state_is_the_kernels<H: DriverHarness>() {
    let (ns, netns) = populated("initial_state_is_the_kernels");
    let m = H::start(fast_config(), backend(&netns));
    assert_eq!(*H::state(&m), truth(&netns));
    assert!(H::state(&m).by_name("cfa0").is_some());
    H::stop(m);
    drop(ns);
}

/// Every kind of change reaches subscribers with the right delta.
pub fn each_change_reaches_subscribers_with_its_delta<H: DriverHarness>() {
    let (ns, netns) = populated("each_change_reaches_subscribers_with_its_delta");
    let m = H::start(fast_config(), backend(&netns));
    let mut sub = H::subscribe(&m);
    let ip = |args: &[&str]| ns.ip(args).expect("ip");

    ip(&["addr", "add", "10.81.0.9/24", "dev", "cfa0"]);
    wait_for(&mut sub, "address added", |c| {
        c.delta.changed.iter().any(|d| {
            d.name == "cfa0"
                && d.addrs_added
                    .iter()
                    .any(|a| a.net.to_string() == "10.81.0.9/24")
        })
    });
    ip(&["addr", "del", "10.81.0.9/24", "dev", "cfa0"]);
    wait_for(&mut sub, "address removed", |c| {
        c.delta.changed.iter().any(|d| {
            d.addrs_removed
                .iter()
                .any(|a| a.net.to_string() == "10.81.0.9/24")
        })
    });
    ip(&["link", "set", "cfb0", "down"]);
    wait_for(&mut sub, "link down", |c| {
        c.delta
            .changed
            .iter()
            .any(|d| d.name == "cfb0" && d.flags_changed())
            && !c.new.by_name("cfb0").is_some_and(|i| i.is_up())
    });
    ip(&["link", "set", "cfb0", "up"]);
    wait_for(&mut sub, "link up", |c| {
        c.new.by_name("cfb0").is_some_and(|i| i.is_up())
    });
    ip(&[
        "link", "add", "cfc0", "type", "veth", "peer", "name", "cfc1",
    ]);
    wait_for(&mut sub, "interface added", |c| {
        c.delta.added.iter().any(|i| i.name == "cfc0")
    });
    ip(&["link", "del", "cfc0"]);
    wait_for(&mut sub, "interface removed", |c| {
        c.delta.removed.iter().any(|i| i.name == "cfc0")
    });
    ip(&[
        "route",
        "replace",
        "default",
        "via",
        "10.82.0.1",
        "dev",
        "cfb0",
    ]);
    let seen = wait_for(&mut sub, "default route moved", |c| {
        c.delta.default_route_changed.v4
            && c.new
                .default_routes()
                .v4
                .as_ref()
                .is_some_and(|r| r.interface == "cfb0")
    });
    assert!(seen.last().is_some_and(Change::is_major));
    assert_eq!(*H::state(&m), truth(&netns));
    H::stop(m);
}

/// A forced check answers with the change it published, or "unchanged":
/// the state it read is the kernel's after the call, without waiting for
/// the debounce.
pub fn a_check_answers_with_its_change_or_unchanged<H: DriverHarness>() {
    let (ns, netns) = populated("a_check_answers_with_its_change_or_unchanged");
    // A debounce far longer than the test: only the check can publish.
    let slow = Config::builder()
        .debounce(Duration::from_secs(600))
        .max_wait(Duration::from_secs(600))
        .build()
        .expect("valid config");
    let m = H::start(slow, backend(&netns));
    let mut sub = H::subscribe(&m);
    let answer = |check: Check| {
        let mut check = check;
        check
            .wait_timeout(PATIENCE)
            .expect("the check is answered in time")
            .expect("the check's enumeration succeeds")
    };
    // Checks until one finds nothing new and no address still in
    // duplicate address detection (its end is a change of its own).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let settled = !H::state(&m)
            .interfaces()
            .iter()
            .flat_map(|i| i.addrs.iter())
            .any(|a| a.flags.contains(AddrFlags::TENTATIVE));
        if answer(H::check_now(&m)) == CheckOutcome::Unchanged && settled {
            break;
        }
        assert!(Instant::now() < deadline, "the namespace never settled");
        std::thread::yield_now();
    }
    ns.ip(&["addr", "add", "10.81.0.7/24", "dev", "cfa0"])
        .expect("ip");
    let CheckOutcome::Changed(change) = answer(H::check_now(&m)) else {
        panic!("the added address is a change");
    };
    assert_eq!(change.cause, Cause::Forced);
    assert!(change
        .new
        .by_name("cfa0")
        .is_some_and(|i| i.addrs.iter().any(|a| a.net.to_string() == "10.81.0.7/24")));
    assert_eq!(*change.new, truth(&netns));
    // Subscribers got the same change.
    let got = wait_for(&mut sub, "the check's change", |c| c.seq == change.seq);
    assert_eq!(got.last(), Some(&change));
    assert_eq!(answer(H::check_now(&m)), CheckOutcome::Unchanged);
    H::stop(m);
}

/// A burst of 20,000 address changes while the driver is paused overflows
/// the socket; the monitor still ends on exactly the kernel's state.
pub fn a_burst_while_paused_overflows_and_ends_on_the_kernels_state<H: DriverHarness>() {
    let (ns, netns) = populated("a_burst_while_paused_overflows_and_ends_on_the_kernels_state");
    let (faulty, faults) = FaultyBackend::new(backend(&netns));
    let m = H::start(fast_config(), Box::new(faulty));
    let mut sub = H::subscribe(&m);
    faults.pause();
    H::check_now(&m);
    let mut batch = String::new();
    for i in 0..10_000u32 {
        batch += &format!(
            "addr add 10.{}.{}.{}/32 dev cfb0\n",
            100 + i / 65536,
            (i / 256) % 256,
            i % 256
        );
    }
    for i in (0..10_000u32).step_by(2) {
        batch += &format!(
            "addr del 10.{}.{}.{}/32 dev cfb0\n",
            100 + i / 65536,
            (i / 256) % 256,
            i % 256
        );
    }
    // 15,000 changes in the batch, plus 5,000 more below.
    for i in 0..5_000u32 {
        batch += &format!("addr add 10.120.{}.{}/32 dev cfa0\n", i / 256, i % 256);
    }
    ns.ip_batch(&batch).expect("burst");
    faults.resume();
    let t = wait_converged::<H>(&m, &mut sub, &netns);
    let host_routes = |name: &str| {
        t.by_name(name).map_or(0, |i| {
            i.addrs.iter().filter(|a| a.net.prefix_len() == 32).count()
        })
    };
    assert_eq!((host_routes("cfb0"), host_routes("cfa0")), (5_000, 5_000));
    wait_stats::<H>(&m, "the overflow to be counted", |s| s.core.overflows >= 1);
    H::stop(m);
}

/// A route socket that goes quiet without an error is healed by the
/// reconcile interval.
pub fn a_silent_socket_is_healed_by_reconcile<H: DriverHarness>() {
    let (ns, netns) = populated("a_silent_socket_is_healed_by_reconcile");
    let config = Config::builder()
        .debounce(Duration::from_millis(20))
        .max_wait(Duration::from_millis(200))
        .reconcile_interval(Some(Duration::from_secs(1)))
        .build()
        .expect("valid config");
    let (faulty, faults) = FaultyBackend::new(backend(&netns));
    let m = H::start(config, Box::new(faulty));
    let mut sub = H::subscribe(&m);
    faults.go_silent();
    H::check_now(&m);
    // Wait until the hook took effect: the next wake-up runs it.
    let before = H::stats(&m).wakeups;
    H::check_now(&m);
    wait_stats::<H>(&m, "a wake-up", |s| s.wakeups > before);
    let events_before = H::stats(&m).core.route_events;
    ns.ip(&["addr", "add", "10.81.0.44/24", "dev", "cfa0"])
        .expect("ip");
    let seen = wait_for(&mut sub, "the reconcile to find the address", |c| {
        c.new
            .by_name("cfa0")
            .is_some_and(|i| i.address(&"10.81.0.44/24".parse().expect("net")).is_some())
    });
    assert_eq!(seen.last().map(|c| c.cause), Some(Cause::Reconcile));
    assert_eq!(
        H::stats(&m).core.route_events,
        events_before,
        "the socket stayed silent"
    );
    H::stop(m);
}

/// A socket that fails on every read is rebound with backoff (100 ms
/// doubling), never in a busy loop.
pub fn a_socket_failing_every_read_is_rebound_with_backoff<H: DriverHarness>() {
    let (ns, netns) = populated("a_socket_failing_every_read_is_rebound_with_backoff");
    let (faulty, faults) = FaultyBackend::new(backend(&netns));
    // The injected failure comes on a read, and the engine reads the route
    // socket when it wakes; a real failing socket is readable (an error is
    // pending) and wakes it, the injected one does not. A short reconcile
    // interval wakes it instead, so that each rebound socket is read soon,
    // whatever else happens in the namespace.
    let config = Config::builder()
        .debounce(Duration::from_millis(20))
        .max_wait(Duration::from_millis(200))
        .reconcile_interval(Some(Duration::from_millis(300)))
        .build()
        .expect("valid config");
    let m = H::start(config, Box::new(faulty));
    let start = Instant::now();
    faults.fail_reads(true);
    H::check_now(&m);
    wait_stats::<H>(&m, "four rebinds", |s| s.core.rebinds >= 4);
    let elapsed = start.elapsed();
    // 100 + 200 + 400 ms of backoff must have passed before the fourth
    // rebind (at 1.5 s); a busy loop would get there in microseconds.
    assert!(
        elapsed >= Duration::from_millis(700),
        "4 rebinds in {elapsed:?}"
    );
    let s = H::stats(&m);
    assert!(
        s.wakeups < 200,
        "{} wake-ups for 4 rebinds: a busy loop",
        s.wakeups
    );
    // Once reads work again, the monitor recovers.
    faults.fail_reads(false);
    let mut sub = H::subscribe(&m);
    ns.ip(&["addr", "add", "10.81.0.55/24", "dev", "cfa0"])
        .expect("ip");
    wait_for(&mut sub, "recovery", |c| {
        c.new
            .by_name("cfa0")
            .is_some_and(|i| i.address(&"10.81.0.55/24".parse().expect("net")).is_some())
    });
    H::stop(m);
}

/// Datagrams queued before one wake-up are all read at that wake-up.
pub fn datagrams_queued_before_a_wake_up_are_all_read_at_it<H: DriverHarness>() {
    let (ns, netns) = populated("datagrams_queued_before_a_wake_up_are_all_read_at_it");
    let (faulty, faults) = FaultyBackend::new(backend(&netns));
    let m = H::start(fast_config(), Box::new(faulty));
    faults.pause();
    H::check_now(&m);
    // Netlink notifications are queued while `ip` runs: five changes, five
    // datagrams waiting.
    for i in 0..5 {
        ns.ip(&[
            "addr",
            "add",
            &format!("10.81.0.{}/24", 60 + i),
            "dev",
            "cfa0",
        ])
        .expect("ip");
    }
    let before = H::stats(&m);
    assert!(
        before.max_wake_datagrams < 5,
        "nothing was queued before: {before:?}"
    );
    faults.resume();
    let s = wait_stats::<H>(&m, "the paused wake-up to finish", |s| {
        s.wakeups > before.wakeups
    });
    assert!(
        s.max_wake_datagrams >= 5,
        "one wake-up read only {} datagrams: {s:?}",
        s.max_wake_datagrams
    );
    H::stop(m);
}

/// How many start/stop cycles the leak test runs.
pub const CYCLES: usize = 1000;

/// 1,000 start/stop cycles leave the process's descriptor and thread counts
/// where they were.
pub fn start_stop_cycles_leak_nothing<H: DriverHarness>() {
    let (_ns, netns) = populated("start_stop_cycles_leak_nothing");
    // One cycle first, so lazily created runtime threads exist.
    H::stop(H::start(fast_config(), backend(&netns)));
    let fds = count_entries("/proc/self/fd");
    let threads = count_entries("/proc/self/task");
    for _ in 0..CYCLES {
        let m = H::start(fast_config(), backend(&netns));
        let _sub = H::subscribe(&m);
        H::stop(m);
    }
    assert_eq!(count_entries("/proc/self/fd"), fds, "descriptors leaked");
    assert_eq!(count_entries("/proc/self/task"), threads, "threads leaked");
}

/// The route socket ends under the monitor: it is rebound and changes keep
/// arriving.
pub fn a_route_socket_closed_under_the_monitor_is_rebound<H: DriverHarness>() {
    let (ns, netns) = populated("a_route_socket_closed_under_the_monitor_is_rebound");
    let (faulty, faults) = FaultyBackend::new(backend(&netns));
    let m = H::start(fast_config(), Box::new(faulty));
    let mut sub = H::subscribe(&m);
    faults.close_socket();
    H::check_now(&m);
    wait_stats::<H>(&m, "a rebind", |s| s.rebinds_done >= 1);
    ns.ip(&["addr", "add", "10.81.0.66/24", "dev", "cfa0"])
        .expect("ip");
    wait_for(&mut sub, "a change after the rebind", |c| {
        c.new
            .by_name("cfa0")
            .is_some_and(|i| i.address(&"10.81.0.66/24".parse().expect("net")).is_some())
    });
    H::stop(m);
}

/// Enumerations that fail keep the last good state (nothing is published)
/// and the monitor recovers when they work again.
pub fn failing_enumerations_keep_the_last_state_and_recover<H: DriverHarness>() {
    let (ns, netns) = populated("failing_enumerations_keep_the_last_state_and_recover");
    let (faulty, faults) = FaultyBackend::new(backend(&netns));
    let m = H::start(fast_config(), Box::new(faulty));
    let mut sub = H::subscribe(&m);
    let before = H::state(&m);
    faults.fail_enumerations(true);
    ns.ip(&["addr", "add", "10.81.0.77/24", "dev", "cfa0"])
        .expect("ip");
    H::check_now(&m);
    wait_stats::<H>(&m, "two failed enumerations", |s| {
        s.core.enumeration_failures >= 2
    });
    assert_eq!(H::state(&m), before, "the last good state is kept");
    assert_eq!(
        sub.try_recv().unwrap_err(),
        TryRecvError::Empty,
        "nothing published"
    );
    faults.fail_enumerations(false);
    let seen = wait_for(&mut sub, "recovery", |c| {
        c.new
            .by_name("cfa0")
            .is_some_and(|i| i.address(&"10.81.0.77/24".parse().expect("net")).is_some())
    });
    assert_eq!(seen.len(), 1);
    H::stop(m);
}

/// `ip netns del` while monitored: the monitor's sockets keep the namespace
/// alive, so it keeps running on it, and it does not spin.
pub fn a_deleted_namespace_keeps_the_monitor_running_without_spinning<H: DriverHarness>() {
    let (ns, netns) = populated("a_deleted_namespace_keeps_the_monitor_running_without_spinning");
    let config = Config::builder()
        .debounce(Duration::from_millis(20))
        .max_wait(Duration::from_millis(200))
        .reconcile_interval(Some(Duration::from_millis(300)))
        .build()
        .expect("valid config");
    let m = H::start(config, backend(&netns));
    let state = H::state(&m);
    drop(ns); // ip netns del
    let start = H::stats(&m);
    let s = wait_stats::<H>(&m, "three reconciles", |s| {
        s.core.enumerations >= start.core.enumerations + 3
    });
    // Its interfaces and the addresses set up live on. (Not the whole
    // state: IPv6 link-local addresses come and finish duplicate address
    // detection on their own in the first seconds after the links come
    // up, and a loaded machine reads them at any point of that.)
    let setup = |s: &Snapshot| -> Vec<(u32, String, Vec<String>)> {
        s.interfaces()
            .iter()
            .map(|i| {
                let nets = i
                    .addrs
                    .iter()
                    .filter(|a| !a.is_link_local())
                    .map(|a| a.net.to_string())
                    .collect();
                (i.index, i.name.clone(), nets)
            })
            .collect()
    };
    assert_eq!(
        setup(&H::state(&m)),
        setup(&state),
        "the namespace lives on unchanged"
    );
    assert_eq!(s.core.enumeration_failures, 0);
    assert!(
        s.wakeups - start.wakeups < 50,
        "{} wake-ups for 3 reconciles: spinning",
        s.wakeups - start.wakeups
    );
    H::stop(m);
}

/// A subscriber that never reads while thousands of changes are published
/// holds at most its queue's capacity, and what it finally reads ends on the
/// latest state.
pub fn a_subscriber_that_never_reads_stays_bounded<H: DriverHarness>() {
    let (ns, netns) = populated("a_subscriber_that_never_reads_stays_bounded");
    let config = Config::builder()
        .debounce(Duration::ZERO)
        .build()
        .expect("valid config");
    let m = H::start(config, backend(&netns));
    let mut idle = H::subscribe(&m);
    let mut watcher = H::subscribe(&m);
    // One change at a time, each waited for: one publication each.
    let count = netstate_sys::fanout::DEFAULT_QUEUE as u32 + 36;
    for i in 0..count {
        let net = format!("10.140.{}.{}/32", i / 250, i % 250 + 1);
        ns.ip(&["addr", "add", &net, "dev", "cfb0"]).expect("ip");
        let want = net.parse().expect("net");
        wait_for(&mut watcher, "the address", |c| {
            c.new
                .by_name("cfb0")
                .is_some_and(|i| i.address(&want).is_some())
        });
    }
    let published = H::stats(&m).core.publications;
    assert!(
        published > netstate_sys::fanout::DEFAULT_QUEUE as u64,
        "only {published} publications: {:?} {}",
        H::stats(&m),
        H::state(&m).by_name("cfb0").map_or(0, |i| i.addrs.len())
    );
    assert!(idle.len() <= netstate_sys::fanout::DEFAULT_QUEUE);
    assert!(idle.merged() > 0);
    let mut last = None;
    while let Ok(c) = idle.try_recv() {
        assert_no_repeat(last.as_ref(), &c);
        last = Some(c);
    }
    assert_eq!(last.map(|c| c.new), Some(H::state(&m)));
    H::stop(m);
}

/// A backend whose route socket is one end of a socketpair (read by
/// `RouteSocketReader`, as a `PF_ROUTE` socket would be) and whose
/// enumeration answers a fixed state.
struct PairBackend {
    source: Option<Box<dyn netstate_sys::EventSource>>,
}

impl Backend for PairBackend {
    fn open_source(&mut self) -> std::io::Result<Box<dyn netstate_sys::EventSource>> {
        self.source
            .take()
            .ok_or_else(|| std::io::Error::other("the socketpair was already used"))
    }

    fn start_enumeration(&mut self) -> netstate_sys::EnumerationPoll {
        let lo = netstate_core::Interface::new(1, "lo");
        netstate_sys::EnumerationPoll::Done(
            Snapshot::new(vec![lo], netstate_core::DefaultRoutes::default())
                .map_err(|e| netstate_core::OsError::new(e.to_string()).into()),
        )
    }
}

/// Datagrams queued on a socketpair before one wake-up are all read at that
/// wake-up (the reader must drain to `WouldBlock`: reading once per
/// edge-triggered wake-up is how another monitor's route socket went silent
/// for good). Needs no root and no namespace.
pub fn datagrams_queued_on_a_socketpair_are_all_read_at_one_wake_up<H: DriverHarness>() {
    use netstate_core::wire::route_socket::{Parser, Platform};
    let (ours, theirs) = std::os::unix::net::UnixDatagram::pair().expect("socketpair");
    let reader = netstate_sys::RouteSocketReader::new(ours.into(), Parser::new(Platform::Darwin))
        .expect("reader over the socketpair");
    let backend = PairBackend {
        source: Some(Box::new(reader)),
    };
    let (faulty, faults) = FaultyBackend::new(Box::new(backend));
    let m = H::start(fast_config(), Box::new(faulty));
    faults.pause();
    H::check_now(&m);
    let before = H::stats(&m);
    assert!(
        before.max_wake_datagrams < 5,
        "nothing was queued before: {before:?}"
    );
    // Five datagrams (their content does not matter here: unreadable ones
    // still count as read, and as a reason to enumerate).
    for i in 0..5u8 {
        theirs.send(&[4, 0, 5, i]).expect("send");
    }
    faults.resume();
    let s = wait_stats::<H>(&m, "the paused wake-up to finish", |s| {
        s.wakeups > before.wakeups
    });
    assert!(
        s.max_wake_datagrams >= 5,
        "one wake-up read only {} datagrams: {s:?}",
        s.max_wake_datagrams
    );
    H::stop(m);
}

/// Datagrams beyond one wake-up's read cap ([`MAX_DATAGRAMS_PER_WAKE`]) are
/// read at once, without another event or deadline: the engine stops at
/// the cap so that other tasks can run, says more is queued
/// ([`netstate_sys::Woken::more_queued`]), and the driver must wake it again
/// itself. A driver that waits for readiness instead may never wake: the
/// engine's poller was already reported readable, and nothing new arrives.
/// The debounce and maximum wait are an hour and there is no reconcile, so
/// nothing else could wake the loop. Needs no root (an in-memory source,
/// [`crate::queued`]).
pub fn datagrams_beyond_one_wake_ups_cap_are_read_without_another_event<H: DriverHarness>() {
    use netstate_core::{RouteEvent, RouteEventKind};
    let (backend, queue) = QueuedBackend::new().expect("queued backend");
    let config = crate::queued::readiness_only_config();
    let m = H::start(config, Box::new(backend));
    let before = H::stats(&m);
    let total = MAX_DATAGRAMS_PER_WAKE + 5;
    let hint = RouteEvent::new(RouteEventKind::AddrNew).with_index(1);
    queue.push(std::iter::repeat_n(hint, total));
    let s = wait_stats::<H>(&m, "every queued datagram to be read", |s| {
        s.datagrams >= before.datagrams + total as u64
    });
    assert!(queue.is_empty(), "{} datagrams left", queue.len());
    assert_eq!(
        s.max_wake_datagrams, MAX_DATAGRAMS_PER_WAKE as u64,
        "one wake-up reads up to the cap, no more: {s:?}"
    );
    H::stop(m);
}

/// An enumeration interrupted by a changing table is read again after the
/// debounce (0 here), with no backoff: the engine carries out one
/// enumeration per wake-up, so the driver must wake it again at once when it
/// says more work is queued, not wait for the next event or deadline. With
/// no reconcile and an enumeration timeout of an hour, nothing else could
/// bring the change in.
pub fn an_interrupted_enumeration_is_followed_at_once<H: DriverHarness>() {
    let (ns, netns) = populated("an_interrupted_enumeration_is_followed_at_once");
    let (backend, switch) = FaultyBackend::new(backend(&netns));
    let config = Config::builder()
        .debounce(Duration::ZERO)
        .reconcile_interval(None)
        .enumeration_timeout(Duration::from_secs(3600))
        .build()
        .expect("valid config");
    let m = H::start(config, Box::new(backend));
    let mut sub = H::subscribe(&m);
    switch.interrupt_next(5);
    ns.ip(&["addr", "add", "10.81.0.77/24", "dev", "cfa0"])
        .expect("ip addr add");
    wait_for(&mut sub, "the address after five interrupted reads", |c| {
        c.new
            .by_name("cfa0")
            .is_some_and(|i| i.addrs.iter().any(|a| a.net.to_string() == "10.81.0.77/24"))
    });
    let s = H::stats(&m);
    assert_eq!(switch.interrupted(), 5);
    assert!(s.core.interrupted_enumerations >= 5, "{s:?}");
    assert_eq!(
        s.core.enumeration_failures, 0,
        "an interruption is no failure"
    );
    // The same when the loop was woken by a forced check rather than by the
    // socket: nothing is readable then, only the driver's own re-wake can
    // carry the next enumeration out.
    let before = H::stats(&m);
    switch.interrupt_next(3);
    H::check_now(&m);
    wait_stats::<H>(&m, "a whole read after three interrupted ones", |s| {
        s.core.interrupted_enumerations >= before.core.interrupted_enumerations + 3
            && s.core.enumerations >= before.core.enumerations + 4
    });
    H::stop(m);
}

/// An enumeration whose socket never answers (a lost reply, a kernel that
/// never completes the dump) counts as failed after the configured
/// enumeration timeout, without holding the loop meanwhile; the last good
/// state is kept, and the monitor recovers when answers come again.
pub fn an_enumeration_never_answered_times_out_and_recovers<H: DriverHarness>() {
    let (ns, netns) = populated("an_enumeration_never_answered_times_out_and_recovers");
    let (faulty, faults) = FaultyBackend::new(backend(&netns));
    let config = Config::builder()
        .debounce(Duration::from_millis(20))
        .max_wait(Duration::from_millis(200))
        .reconcile_interval(None)
        .enumeration_timeout(Duration::from_millis(300))
        .build()
        .expect("valid config");
    let m = H::start(config, Box::new(faulty));
    let mut sub = H::subscribe(&m);
    let before = H::state(&m);
    faults.hang_enumerations(true);
    H::check_now(&m);
    let s = wait_stats::<H>(&m, "the enumeration to time out", |s| {
        s.core.enumeration_failures >= 1
    });
    assert_eq!(H::state(&m), before, "the last good state is kept");
    // The loop kept running meanwhile: a check is taken (and hangs too).
    H::check_now(&m);
    wait_stats::<H>(&m, "another wake-up while hanging", |t| {
        t.wakeups > s.wakeups && t.core.enumerations > s.core.enumerations
    });
    faults.hang_enumerations(false);
    ns.ip(&["addr", "add", "10.81.0.88/24", "dev", "cfa0"])
        .expect("ip");
    wait_for(&mut sub, "recovery", |c| {
        c.new
            .by_name("cfa0")
            .is_some_and(|i| i.address(&"10.81.0.88/24".parse().expect("net")).is_some())
    });
    H::stop(m);
}

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map(Iterator::count).unwrap_or(0)
}

fn wait_stats<H: DriverHarness>(
    m: &H::Monitor,
    what: &str,
    mut done: impl FnMut(&MonitorStats) -> bool,
) -> MonitorStats {
    // The counters change at the monitor's wake-ups; look again often until
    // the deadline (which only bounds a failure).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let s = H::stats(m);
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Writes one `#[test]` per conformance property for the driver harness
/// `$h`.
#[macro_export]
macro_rules! conformance_tests {
    ($h:ty) => {
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn initial_state_is_the_kernels() {
            $crate::conformance::initial_state_is_the_kernels::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn each_change_reaches_subscribers_with_its_delta() {
            $crate::conformance::each_change_reaches_subscribers_with_its_delta::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn a_check_answers_with_its_change_or_unchanged() {
            $crate::conformance::a_check_answers_with_its_change_or_unchanged::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn a_burst_while_paused_overflows_and_ends_on_the_kernels_state() {
            $crate::conformance::a_burst_while_paused_overflows_and_ends_on_the_kernels_state::<$h>(
            );
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn a_silent_socket_is_healed_by_reconcile() {
            $crate::conformance::a_silent_socket_is_healed_by_reconcile::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn a_socket_failing_every_read_is_rebound_with_backoff() {
            $crate::conformance::a_socket_failing_every_read_is_rebound_with_backoff::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn datagrams_queued_before_a_wake_up_are_all_read_at_it() {
            $crate::conformance::datagrams_queued_before_a_wake_up_are_all_read_at_it::<$h>();
        }
        #[test]
        fn datagrams_queued_on_a_socketpair_are_all_read_at_one_wake_up() {
            $crate::conformance::datagrams_queued_on_a_socketpair_are_all_read_at_one_wake_up::<$h>();
        }
        #[test]
        fn datagrams_beyond_one_wake_ups_cap_are_read_without_another_event() {
            $crate::conformance::datagrams_beyond_one_wake_ups_cap_are_read_without_another_event::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn a_route_socket_closed_under_the_monitor_is_rebound() {
            $crate::conformance::a_route_socket_closed_under_the_monitor_is_rebound::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn failing_enumerations_keep_the_last_state_and_recover() {
            $crate::conformance::failing_enumerations_keep_the_last_state_and_recover::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn a_deleted_namespace_keeps_the_monitor_running_without_spinning() {
            $crate::conformance::a_deleted_namespace_keeps_the_monitor_running_without_spinning::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn an_enumeration_never_answered_times_out_and_recovers() {
            $crate::conformance::an_enumeration_never_answered_times_out_and_recovers::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn an_interrupted_enumeration_is_followed_at_once() {
            $crate::conformance::an_interrupted_enumeration_is_followed_at_once::<$h>();
        }
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn a_subscriber_that_never_reads_stays_bounded() {
            $crate::conformance::a_subscriber_that_never_reads_stays_bounded::<$h>();
        }
    };
}

/// Writes the start/stop leak test for the driver harness `$h`. Expand it
/// in a test file of its own: descriptor and thread counts are per
/// process, so no other test may run beside it.
#[macro_export]
macro_rules! leak_tests {
    ($h:ty) => {
        #[test]
        #[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
        fn start_stop_cycles_leak_nothing() {
            $crate::conformance::start_stop_cycles_leak_nothing::<$h>();
        }
    };
}
