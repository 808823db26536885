//! Targeted reads against the real kernel: a change on one interface among
//! many is read alone, and the state it gives is the state a full read
//! gives, including what the kernel changes without telling (the routes it
//! flushes when a link goes down). Each test runs in a network namespace it
//! creates and deletes; without root it prints why it skips.
#![cfg(target_os = "linux")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use netstate_core::{Config, Snapshot};
use netstate_sys::{Engine, Enumerator, NetlinkBackend, Netns};
use netstate_testkit::netns::{run_engine_until, NetnsFixture};

/// veth pairs besides the one that changes: enough that a full read would
/// show, few enough to set up in a second or two.
const PAIRS: u32 = 50;

/// The kernel's state now, by a full read on a socket of its own.
fn full_read(ns: &NetnsFixture) -> Snapshot {
    let mut e = Enumerator::open_in(ns.netns()).unwrap();
    e.enumerate().unwrap()
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_change_on_one_interface_is_read_alone_and_agrees_with_a_full_read() {
    let ns = NetnsFixture::require(
        "a_change_on_one_interface_is_read_alone_and_agrees_with_a_full_read",
    );
    let mut batch = String::new();
    for i in 0..PAIRS {
        batch.push_str(&format!("link add name x{i} type veth peer name y{i}\n"));
    }
    batch.push_str("link add name a0 type veth peer name b0\nlink set a0 up\nlink set b0 up\n");
    batch.push_str("addr add 10.20.0.2/24 dev a0\nroute add default via 10.20.0.1\n");
    ns.ip_batch(&batch).unwrap();
    let config = Config::builder()
        .debounce(Duration::ZERO)
        .reconcile_interval(None)
        .build()
        .unwrap();
    let netns = Arc::new(Netns::named(ns.name()).unwrap());
    let backend = NetlinkBackend::open_in(netns).unwrap();
    let mut engine = Engine::new(config, Box::new(backend), Instant::now()).unwrap();
    let limit = Duration::from_secs(20);
    run_engine_until(&mut engine, limit, |s| {
        s.default_routes().v4.is_some() && s.interfaces().len() > 2 * PAIRS as usize
    });
    let before = engine.handle().stats().core;

    // An address: read alone, and the result is the kernel's state.
    ns.ip(&["addr", "add", "10.20.0.3/24", "dev", "a0"])
        .unwrap();
    let has = |s: &Snapshot, net: &str| {
        s.by_name("a0")
            .is_some_and(|i| i.addrs.iter().any(|a| a.net.to_string() == net))
    };
    run_engine_until(&mut engine, limit, |s| has(s, "10.20.0.3/24"));
    let after = engine.handle().stats().core;
    assert!(
        after.targeted_reads > before.targeted_reads,
        "the address change was not read alone: {after:?}"
    );
    assert_eq!(
        after.enumerations - before.enumerations,
        after.targeted_reads - before.targeted_reads,
        "no full read was needed: {after:?}"
    );
    assert_eq!(*engine.handle().state(), full_read(&ns));

    // A link going down: the kernel flushes its routes without a route
    // message; the targeted read's route lookups see it.
    ns.ip(&["link", "set", "a0", "down"]).unwrap();
    run_engine_until(&mut engine, limit, |s| s.default_routes().v4.is_none());
    let state = engine.handle().state();
    assert!(state.by_name("a0").is_some_and(|i| !i.is_up()));
    assert_eq!(*state, full_read(&ns));
    let last = engine.handle().stats().core;
    assert_eq!(
        last.enumerations - after.enumerations,
        last.targeted_reads - after.targeted_reads,
        "the link change was read alone too: {last:?}"
    );
}
