//! Which reads the Reconciler asks for, and what it makes of a targeted
//! answer: the rules documented under "What is read" on `Reconciler`. The
//! expected states are written out by hand from those rules.

use std::time::{Duration, Instant};

use netstate_core::{
    Action, Address, Config, DefaultRoute, DefaultRoutes, EnumerationId, Filter, Input, Interface,
    OsError, Reconciler, Refresh, RouteEvent, RouteEventKind, RouteHop, RouteHops, Scope, Snapshot,
    MAX_TARGETS,
};

const MS: Duration = Duration::from_millis(1);

fn iface(index: u32, name: &str, addrs: &[&str]) -> Interface {
    let mut i = Interface::new(index, name);
    for a in addrs {
        i.addrs.push(Address::new(a.parse().unwrap()));
    }
    i
}

fn route(index: u32, name: &str, gw: &str) -> Option<DefaultRoute> {
    Some(DefaultRoute::new(index, name, Some(gw.parse().unwrap())))
}

fn hop(index: u32, gw: &str) -> Option<RouteHop> {
    Some(RouteHop {
        index,
        gateway: Some(gw.parse().unwrap()),
    })
}

/// lo (1), eth0 (2, the v4 default route's), eth1 (3), tun0 (9, ignored by
/// the filter of [`Harness::filtered`]).
fn table() -> Snapshot {
    Snapshot::new(
        vec![
            iface(1, "lo", &["127.0.0.1/8"]),
            iface(2, "eth0", &["10.0.0.2/24"]),
            iface(3, "eth1", &["10.1.0.2/24"]),
            iface(9, "tun0", &["10.8.0.2/24"]),
        ],
        DefaultRoutes {
            v4: route(2, "eth0", "10.0.0.1"),
            v6: None,
        },
    )
    .unwrap()
}

struct Harness {
    r: Reconciler,
    start: Instant,
    now: Instant,
}

impl Harness {
    /// A Reconciler with debounce 0 that has published [`table`].
    fn new(config: Config) -> Self {
        let start = Instant::now();
        let mut h = Harness {
            r: Reconciler::new(config, start),
            start,
            now: start,
        };
        let (id, scope) = h.expect_enumerate();
        assert_eq!(scope, Scope::All, "the first read reads everything");
        h.r.handle_input(
            h.now,
            Input::Enumerated {
                id,
                result: Ok(table()),
            },
        );
        assert!(matches!(h.r.poll_action(), Some(Action::Publish(_))));
        assert!(h.r.poll_action().is_none());
        h
    }

    fn plain() -> Self {
        Harness::new(Config::builder().debounce(Duration::ZERO).build().unwrap())
    }

    fn filtered() -> Self {
        Harness::new(
            Config::builder()
                .debounce(Duration::ZERO)
                .filter(Filter::new().ignore_prefix("tun"))
                .build()
                .unwrap(),
        )
    }

    fn hint(&mut self, event: RouteEvent) {
        self.r.handle_input(self.now, Input::Route(event));
    }

    fn expect_enumerate(&mut self) -> (EnumerationId, Scope) {
        match self.r.poll_action() {
            Some(Action::Enumerate { id, scope }) => (id, scope),
            other => panic!("expected an enumeration, got {other:?}"),
        }
    }

    fn targets(&mut self) -> (EnumerationId, Vec<u32>) {
        match self.expect_enumerate() {
            (id, Scope::Targeted(t)) => (id, t.as_slice().to_vec()),
            (_, Scope::All) => panic!("expected a targeted read, got a full one"),
        }
    }

    fn refreshed(&mut self, id: EnumerationId, refresh: Refresh) {
        self.r.handle_input(
            self.now,
            Input::Refreshed {
                id,
                result: Ok(refresh),
            },
        );
    }

    /// An address hint on eth1 (index 3), answered by a targeted read of it
    /// that finds `found` and the default routes `hops`.
    fn eth1_read_as(&mut self, found: Interface, hops: RouteHops) {
        self.hint(addr_hint(3));
        let (id, targets) = self.targets();
        assert_eq!(targets, [3]);
        self.refreshed(id, refresh(&[3], vec![found], hops));
    }

    fn published(&mut self) -> Snapshot {
        match self.r.poll_action() {
            Some(Action::Publish(change)) => (*change.new).clone(),
            other => panic!("expected a publication, got {other:?}"),
        }
    }
}

fn addr_hint(index: u32) -> RouteEvent {
    RouteEvent::new(RouteEventKind::AddrNew).with_index(index)
}

fn refresh(targets: &[u32], found: Vec<Interface>, routes: RouteHops) -> Refresh {
    Refresh::new(targets.iter().copied().collect(), found, routes).unwrap()
}

/// A routes-only refresh whose IPv4 default route goes through interface
/// 12, which no state has: only a full read can name it.
fn default_via_unknown_interface() -> Refresh {
    refresh(
        &[],
        vec![],
        RouteHops {
            v4: hop(12, "10.12.0.1"),
            v6: None,
        },
    )
}

fn eth0_route() -> RouteHops {
    RouteHops {
        v4: hop(2, "10.0.0.1"),
        v6: None,
    }
}

#[test]
fn an_address_hint_on_a_published_interface_reads_that_interface_alone() {
    let mut h = Harness::plain();
    h.hint(addr_hint(3));
    let (id, targets) = h.targets();
    assert_eq!(targets, [3]);
    h.refreshed(
        id,
        refresh(
            &[3],
            vec![iface(3, "eth1", &["10.1.0.2/24", "10.1.0.3/24"])],
            eth0_route(),
        ),
    );
    let expected = Snapshot::new(
        vec![
            iface(1, "lo", &["127.0.0.1/8"]),
            iface(2, "eth0", &["10.0.0.2/24"]),
            iface(3, "eth1", &["10.1.0.2/24", "10.1.0.3/24"]),
            iface(9, "tun0", &["10.8.0.2/24"]),
        ],
        table().default_routes().clone(),
    )
    .unwrap();
    assert_eq!(h.published(), expected);
    let s = h.r.stats();
    assert_eq!((s.enumerations, s.targeted_reads), (2, 1));
}

#[test]
fn a_targeted_read_that_finds_nothing_new_publishes_nothing() {
    let mut h = Harness::plain();
    h.hint(addr_hint(2));
    let (id, _) = h.targets();
    h.refreshed(
        id,
        refresh(&[2], vec![iface(2, "eth0", &["10.0.0.2/24"])], eth0_route()),
    );
    assert_eq!(h.r.poll_action(), None);
}

#[test]
fn hints_that_cannot_be_attributed_read_everything() {
    let cases = [
        ("an address on an unknown index", addr_hint(7)),
        (
            "an address hint without an index",
            RouteEvent::new(RouteEventKind::AddrDel),
        ),
        (
            "a link under another name (a rename)",
            RouteEvent::new(RouteEventKind::LinkNew)
                .with_index(3)
                .with_name("wan0"),
        ),
        (
            "a new link",
            RouteEvent::new(RouteEventKind::LinkNew).with_index(12),
        ),
        (
            "a deleted link",
            RouteEvent::new(RouteEventKind::LinkDel).with_index(3),
        ),
        ("a rule", RouteEvent::new(RouteEventKind::Rule)),
        (
            "a message that could not be parsed",
            RouteEvent::new(RouteEventKind::Unknown),
        ),
        (
            "a route hint without a prefix",
            RouteEvent::new(RouteEventKind::RouteDel),
        ),
    ];
    for (what, event) in cases {
        let mut h = Harness::plain();
        h.hint(addr_hint(2));
        h.hint(event);
        let (_, scope) = h.expect_enumerate();
        assert_eq!(scope, Scope::All, "{what}");
    }
}

#[test]
fn a_link_hint_under_its_published_name_and_a_route_hint_are_targeted() {
    let mut h = Harness::plain();
    h.hint(
        RouteEvent::new(RouteEventKind::LinkNew)
            .with_index(3)
            .with_name("eth1"),
    );
    h.hint(RouteEvent::new(RouteEventKind::RouteNew).with_route(254, 0));
    h.hint(addr_hint(1));
    let (_, targets) = h.targets();
    assert_eq!(targets, [1, 3], "the route hint adds no interface");
    let mut h = Harness::plain();
    h.hint(RouteEvent::new(RouteEventKind::RouteDel).with_route(254, 0));
    let (_, targets) = h.targets();
    assert!(targets.is_empty(), "a route hint reads the routes only");
}

#[test]
fn more_interfaces_than_a_targeted_read_covers_read_everything() {
    let mut table_big = Vec::new();
    for i in 1..=(MAX_TARGETS as u32 + 1) {
        table_big.push(iface(i, &format!("eth{i}"), &[]));
    }
    let config = Config::builder().debounce(Duration::ZERO).build().unwrap();
    let start = Instant::now();
    let mut r = Reconciler::new(config, start);
    let Some(Action::Enumerate { id, .. }) = r.poll_action() else {
        panic!()
    };
    let big = Snapshot::new(table_big, DefaultRoutes::default()).unwrap();
    r.handle_input(
        start,
        Input::Enumerated {
            id,
            result: Ok(big),
        },
    );
    while r.poll_action().is_some() {}
    for i in 1..=MAX_TARGETS as u32 {
        r.handle_input(start, Input::Route(addr_hint(i)));
    }
    let Some(Action::Enumerate { id, scope }) = r.poll_action() else {
        panic!()
    };
    assert!(matches!(&scope, Scope::Targeted(t) if t.len() == MAX_TARGETS));
    r.handle_input(start, Input::EnumerationInterrupted { id });
    r.handle_input(start, Input::Route(addr_hint(MAX_TARGETS as u32 + 1)));
    let Some(Action::Enumerate { scope, .. }) = r.poll_action() else {
        panic!()
    };
    assert_eq!(scope, Scope::All, "one interface more than fits");
}

#[test]
fn a_full_answer_to_a_targeted_read_is_taken_whole() {
    let mut h = Harness::plain();
    h.hint(addr_hint(3));
    let (id, _) = h.targets();
    let mut whole: Vec<Interface> = table().interfaces().iter().cloned().collect();
    whole.push(iface(4, "eth2", &[]));
    let whole = Snapshot::new(whole, table().default_routes().clone()).unwrap();
    h.r.handle_input(
        h.now,
        Input::Enumerated {
            id,
            result: Ok(whole.clone()),
        },
    );
    assert_eq!(h.published(), whole);
}

#[test]
fn a_targeted_answer_to_a_full_read_is_a_failure_and_a_failed_targeted_read_retries_whole() {
    let mut h = Harness::plain();
    h.r.handle_input(h.now, Input::ForceCheck);
    let (id, scope) = h.expect_enumerate();
    assert_eq!(scope, Scope::All);
    h.refreshed(id, refresh(&[], vec![], eth0_route()));
    assert_eq!(h.r.stats().enumeration_failures, 1);
    assert_eq!(
        h.r.poll_action(),
        None,
        "nothing is published from part of a table"
    );
    // The retry reads everything.
    let retry = h.r.poll_timeout().unwrap();
    h.now = retry;
    h.r.handle_timeout(retry);
    assert_eq!(h.expect_enumerate().1, Scope::All);

    let mut h = Harness::plain();
    h.hint(addr_hint(3));
    let (id, _) = h.targets();
    h.r.handle_input(
        h.now,
        Input::Refreshed {
            id,
            result: Err(OsError::new("x")),
        },
    );
    let retry = h.r.poll_timeout().unwrap();
    h.now = retry;
    h.r.handle_timeout(retry);
    assert_eq!(h.expect_enumerate().1, Scope::All);
}

#[test]
fn an_answer_that_cannot_be_merged_asks_for_a_full_read_at_once() {
    let mut h = Harness::plain();
    h.hint(RouteEvent::new(RouteEventKind::RouteNew).with_route(254, 0));
    let (id, _) = h.targets();
    // The default route moved to an interface nobody has told about yet.
    h.refreshed(id, default_via_unknown_interface());
    let (_, scope) = h.expect_enumerate();
    assert_eq!(scope, Scope::All);
    assert_eq!(h.r.stats().enumeration_failures, 0, "not a failure");
}

#[test]
fn a_route_through_an_ignored_interface_is_named_after_it() {
    let mut h = Harness::filtered();
    h.hint(RouteEvent::new(RouteEventKind::RouteNew).with_route(254, 0));
    let (id, _) = h.targets();
    h.refreshed(
        id,
        refresh(
            &[],
            vec![],
            RouteHops {
                v4: hop(9, "10.8.0.1"),
                v6: None,
            },
        ),
    );
    let new = h.published();
    assert_eq!(new.default_routes().v4, route(9, "tun0", "10.8.0.1"));
    assert!(new.by_index(9).is_none(), "tun0 stays out of the state");
}

#[test]
fn a_target_renamed_to_an_ignored_name_leaves_the_state() {
    let mut h = Harness::filtered();
    // Renamed between the hint and the read.
    h.eth1_read_as(iface(3, "tun1", &["10.1.0.2/24"]), eth0_route());
    let new = h.published();
    assert!(new.by_index(3).is_none());
    // From now on its hints are ignored, like those of any ignored interface.
    h.hint(addr_hint(3));
    assert_eq!(h.r.poll_action(), None);
    assert_eq!(h.r.stats().ignored_events, 1);
}

#[test]
fn a_target_renamed_to_an_ignored_name_still_names_the_route_through_it() {
    // The filter applies to what a targeted read found before the merge:
    // the route through the interface it just removed is named from that
    // read, not given up as unknown (which would cost a full read).
    let mut h = Harness::filtered();
    h.eth1_read_as(
        iface(3, "tun1", &["10.1.0.2/24"]),
        RouteHops {
            v4: hop(3, "10.1.0.1"),
            v6: None,
        },
    );
    let new = h.published();
    assert!(new.by_index(3).is_none(), "tun1 leaves the state");
    assert_eq!(new.default_routes().v4, route(3, "tun1", "10.1.0.1"));
    assert_eq!(h.r.stats().enumerations, 2, "no full read was needed");
}

#[test]
fn targeted_reads_do_not_postpone_the_reconcile() {
    let interval = Duration::from_secs(10);
    let config = Config::builder()
        .debounce(Duration::ZERO)
        .reconcile_interval(Some(interval))
        .build()
        .unwrap();
    let mut h = Harness::new(config);
    let due = h.r.poll_timeout().unwrap();
    assert_eq!(due, h.start + interval);
    h.now = h.start + 9_000 * MS;
    h.eth1_read_as(iface(3, "eth1", &["10.1.0.9/24"]), eth0_route());
    assert_eq!(h.published().by_index(3).unwrap().addrs.len(), 1);
    assert_eq!(h.r.poll_timeout(), Some(h.start + interval));
    h.now = h.start + interval;
    h.r.handle_timeout(h.now);
    let (_, scope) = h.expect_enumerate();
    assert_eq!(scope, Scope::All);
    assert_eq!(h.r.stats().enumerations, 3);
}

#[test]
fn a_targeted_read_during_which_its_target_changed_is_read_again_not_published() {
    let mut h = Harness::plain();
    h.hint(addr_hint(3));
    let (id, _) = h.targets();
    // A change on eth1 while its addresses came in several datagrams: the
    // answer may be torn.
    h.hint(addr_hint(3));
    let spanned = refresh(&[3], vec![iface(3, "eth1", &["10.1.0.9/24"])], eth0_route())
        .with_spanned([3].into_iter().collect());
    h.refreshed(id, spanned);
    let (_, targets) = h.targets();
    assert_eq!(
        targets,
        [3],
        "read again at once (debounce 0), not published"
    );
    assert_eq!(h.r.stats().interrupted_enumerations, 1);
    assert_eq!(h.r.stats().publications, 1);
    // A hint about another interface does not spoil it.
    let mut h = Harness::plain();
    h.hint(addr_hint(3));
    let (id, _) = h.targets();
    h.hint(addr_hint(2));
    h.refreshed(
        id,
        refresh(&[3], vec![iface(3, "eth1", &["10.1.0.9/24"])], eth0_route()),
    );
    assert!(h
        .published()
        .by_index(3)
        .is_some_and(|i| i.addrs.len() == 1));
}

#[test]
fn a_hint_during_a_read_in_one_datagram_holds_nothing_back() {
    // A storm of re-announcements of eth1 while it is read: its addresses
    // came in one datagram, one state, so the answer is published.
    let mut h = Harness::plain();
    h.hint(addr_hint(3));
    let (id, _) = h.targets();
    h.hint(addr_hint(3));
    h.refreshed(
        id,
        refresh(&[3], vec![iface(3, "eth1", &["10.1.0.9/24"])], eth0_route())
            .with_spanned([2].into_iter().collect()),
    );
    assert!(h
        .published()
        .by_index(3)
        .is_some_and(|i| i.addrs.len() == 1));
    assert_eq!(h.r.stats().interrupted_enumerations, 0);
}

#[test]
fn a_reconcile_due_during_a_targeted_read_reads_everything_after_it() {
    let interval = Duration::from_secs(10);
    let config = Config::builder()
        .debounce(Duration::ZERO)
        .reconcile_interval(Some(interval))
        .build()
        .unwrap();
    let mut h = Harness::new(config);
    h.now = h.start + interval - MS;
    h.hint(addr_hint(3));
    let (id, _) = h.targets();
    // The reconcile runs out while the targeted read is in flight: a
    // targeted read is not as fresh as a full one, so one follows it.
    h.now = h.start + interval;
    h.r.handle_timeout(h.now);
    h.refreshed(
        id,
        refresh(&[3], vec![iface(3, "eth1", &["10.1.0.2/24"])], eth0_route()),
    );
    let (_, scope) = h.expect_enumerate();
    assert_eq!(scope, Scope::All);

    // A full read in flight at the reconcile is as fresh: none follows it.
    let config = Config::builder()
        .debounce(Duration::ZERO)
        .reconcile_interval(Some(interval))
        .build()
        .unwrap();
    let mut h = Harness::new(config);
    h.now = h.start + interval - MS;
    h.r.handle_input(h.now, Input::ForceCheck);
    let (id, scope) = h.expect_enumerate();
    assert_eq!(scope, Scope::All);
    h.now = h.start + interval;
    h.r.handle_timeout(h.now);
    h.r.handle_input(
        h.now,
        Input::Enumerated {
            id,
            result: Ok(table()),
        },
    );
    assert_eq!(h.r.poll_action(), None);
}

#[test]
fn with_a_filter_a_targeted_read_keeps_what_it_keeps_and_what_it_hides() {
    let mut h = Harness::filtered();
    h.eth1_read_as(
        iface(3, "eth1", &["10.1.0.2/24", "10.1.0.3/24"]),
        eth0_route(),
    );
    let new = h.published();
    assert_eq!(
        new.by_index(3).map(|i| i.addrs.len()),
        Some(2),
        "eth1 stays"
    );
    assert!(new.by_index(9).is_none());
    // tun0 is still hidden: a hint naming it by index alone is ignored.
    h.hint(addr_hint(9));
    assert_eq!(h.r.poll_action(), None);
    assert_eq!(h.r.stats().ignored_events, 1);
    // And a default route through an interface nobody knows is not named
    // after a hidden one: only a full read can say.
    h.hint(RouteEvent::new(RouteEventKind::RouteNew).with_route(254, 0));
    let (id, _) = h.targets();
    h.refreshed(id, default_via_unknown_interface());
    assert_eq!(h.expect_enumerate().1, Scope::All);
}
