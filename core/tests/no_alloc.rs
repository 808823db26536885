//! Handling a route hint allocates nothing: the event path of a monitor
//! under a route storm must not touch the allocator.

use std::time::{Duration, Instant};

use netstate_core::{
    Action, Config, Family, Filter, Input, Interface, Reconciler, RouteEvent, RouteEventKind,
    Snapshot,
};

#[test]
fn handling_route_hints_allocates_nothing() {
    let config = Config::builder()
        .filter(Filter::new().ignore_prefix("veth").ignore_name("tun0"))
        .build()
        .unwrap();
    let start = Instant::now();
    let mut r = Reconciler::new(config, start);
    let Some(Action::Enumerate { id, .. }) = r.poll_action() else {
        panic!("no first enumeration");
    };
    let mut eth = Interface::new(2, "eth0");
    eth.addrs
        .push(netstate_core::Address::new("10.0.0.2/24".parse().unwrap()));
    let snapshot =
        Snapshot::new(vec![eth, Interface::new(9, "veth1")], Default::default()).unwrap();
    r.handle_input(
        start,
        Input::Enumerated {
            id,
            result: Ok(snapshot),
        },
    );
    while r.poll_action().is_some() {}

    let events = [
        RouteEvent::new(RouteEventKind::AddrNew)
            .with_family(Family::V6)
            .with_index(2),
        RouteEvent::new(RouteEventKind::AddrDel).with_index(9),
        RouteEvent::new(RouteEventKind::LinkNew)
            .with_index(3)
            .with_name("veth77"),
        RouteEvent::new(RouteEventKind::RouteNew)
            .with_family(Family::V4)
            .with_route(254, 32),
        RouteEvent::new(RouteEventKind::RouteDel)
            .with_family(Family::V4)
            .with_route(254, 0),
        RouteEvent::new(RouteEventKind::Rule),
    ];
    let mut now = start;
    let counted = allocation_counter::measure(|| {
        for i in 0..100_000u32 {
            now += Duration::from_micros(10);
            let e = events[(i % 6) as usize];
            r.handle_input(now, Input::Route(e));
            std::hint::black_box(r.poll_timeout());
        }
    });
    assert_eq!(
        counted.count_total, 0,
        "{} allocations while handling 100,000 hints",
        counted.count_total
    );
    assert_eq!(r.stats().route_events, 100_000);
    assert!(r.stats().ignored_events >= 50_000);
}
