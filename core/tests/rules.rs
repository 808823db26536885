//! The documented rules of the model and the Reconciler, each condition
//! tested on its own: what makes a delta empty or major, what a hardware
//! address is, where the sleep-detection threshold lies, and which family an
//! address hint carries. Expected values come from the doc comments, never
//! from running the code under test.

use std::time::{Duration, Instant};

use netstate_core::ipnet::IpNet;
use netstate_core::wire::netlink::events::parse_events;
use netstate_core::wire::netlink::fixtures::addr_msg;
use netstate_core::wire::netlink::{AF_INET, RTM_NEWADDR};
use netstate_core::{
    Action, AddrFlags, AddrFlagsChange, Address, Cause, Config, DefaultRouteDelta, Delta, Family,
    HardwareAddr, Input, Interface, InterfaceDelta, InterfaceFlags, InterfaceId, Reconciler,
    RouteEventKind, Snapshot,
};
use smallvec::smallvec;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn addr(s: &str) -> Address {
    Address::new(net(s))
}

fn id(index: u32, name: &str) -> InterfaceId {
    InterfaceId {
        index,
        name: name.to_string(),
    }
}

/// An interface change with nothing changed: each test sets one field.
fn unchanged(flags: InterfaceFlags) -> InterfaceDelta {
    InterfaceDelta {
        index: 2,
        name: "eth0".to_string(),
        renamed_from: None,
        addrs_added: smallvec![],
        addrs_removed: smallvec![],
        addrs_flags_changed: smallvec![],
        old_flags: flags,
        new_flags: flags,
        mtu_changed: false,
        mac_changed: false,
    }
}

fn up_running() -> InterfaceFlags {
    InterfaceFlags::UP | InterfaceFlags::RUNNING
}

fn delta_with(change: InterfaceDelta) -> Delta {
    Delta {
        changed: vec![change],
        ..Delta::default()
    }
}

// ---- Delta::is_empty: "Whether nothing changed." ----

#[test]
fn a_default_delta_is_empty() {
    assert!(Delta::default().is_empty());
}

#[test]
fn any_single_component_makes_a_delta_non_empty() {
    let added = Delta {
        added: vec![id(3, "wlan0")],
        ..Delta::default()
    };
    assert!(!added.is_empty(), "an interface added");

    let removed = Delta {
        removed: vec![id(3, "wlan0")],
        ..Delta::default()
    };
    assert!(!removed.is_empty(), "an interface removed");

    let changed = delta_with(InterfaceDelta {
        mtu_changed: true,
        ..unchanged(up_running())
    });
    assert!(!changed.is_empty(), "an interface changed");

    let v4 = Delta {
        default_route_changed: DefaultRouteDelta {
            v4: true,
            v6: false,
        },
        ..Delta::default()
    };
    assert!(!v4.is_empty(), "the IPv4 default route changed");

    let v6 = Delta {
        default_route_changed: DefaultRouteDelta {
            v4: false,
            v6: true,
        },
        ..Delta::default()
    };
    assert!(!v6.is_empty(), "the IPv6 default route changed");
}

// ---- Delta::is_major: added, removed, default route, or a major interface change ----

#[test]
fn an_empty_delta_is_not_major() {
    assert!(!Delta::default().is_major());
}

#[test]
fn an_interface_added_or_removed_is_major() {
    let added = Delta {
        added: vec![id(3, "wlan0")],
        ..Delta::default()
    };
    assert!(added.is_major());
    let removed = Delta {
        removed: vec![id(3, "wlan0")],
        ..Delta::default()
    };
    assert!(removed.is_major());
}

#[test]
fn either_default_route_changing_is_major() {
    let v4 = Delta {
        default_route_changed: DefaultRouteDelta {
            v4: true,
            v6: false,
        },
        ..Delta::default()
    };
    assert!(v4.is_major());
    let v6 = Delta {
        default_route_changed: DefaultRouteDelta {
            v4: false,
            v6: true,
        },
        ..Delta::default()
    };
    assert!(v6.is_major());
}

#[test]
fn a_delta_is_major_exactly_when_one_of_its_interface_changes_is() {
    // Only the MTU and the hardware address changed: minor.
    let minor = InterfaceDelta {
        mtu_changed: true,
        mac_changed: true,
        ..unchanged(up_running())
    };
    assert!(!delta_with(minor.clone()).is_major());

    let major = InterfaceDelta {
        renamed_from: Some("eth9".to_string()),
        ..unchanged(up_running())
    };
    let mut d = delta_with(minor);
    d.changed.push(major);
    assert!(d.is_major(), "one major change among minor ones");
}

// ---- InterfaceDelta::is_major ----

#[test]
fn an_interface_change_with_nothing_major_is_minor() {
    assert!(!unchanged(up_running()).is_major());
    let d = InterfaceDelta {
        mtu_changed: true,
        mac_changed: true,
        ..unchanged(up_running())
    };
    assert!(!d.is_major(), "MTU and hardware address are minor");
}

#[test]
fn a_rename_is_major() {
    let d = InterfaceDelta {
        renamed_from: Some("eth9".to_string()),
        ..unchanged(up_running())
    };
    assert!(d.is_major());
}

#[test]
fn a_reachability_flag_changing_is_major_and_another_flag_is_not() {
    for flag in [
        InterfaceFlags::UP,
        InterfaceFlags::RUNNING,
        InterfaceFlags::LOOPBACK,
        InterfaceFlags::POINT_TO_POINT,
    ] {
        let d = InterfaceDelta {
            new_flags: up_running().symmetric_difference(flag),
            ..unchanged(up_running())
        };
        assert!(d.is_major(), "{flag:?} toggled");
    }
    let d = InterfaceDelta {
        new_flags: up_running() | InterfaceFlags::MULTICAST,
        ..unchanged(up_running())
    };
    assert!(d.flags_changed());
    assert!(!d.is_major(), "multicast is not about reachability");
}

#[test]
fn a_non_link_local_address_gained_or_lost_is_major() {
    for a in ["192.0.2.7/24", "2001:db8::7/64"] {
        let gained = InterfaceDelta {
            addrs_added: smallvec![addr(a)],
            ..unchanged(up_running())
        };
        assert!(gained.is_major(), "{a} gained");
        let lost = InterfaceDelta {
            addrs_removed: smallvec![addr(a)],
            ..unchanged(up_running())
        };
        assert!(lost.is_major(), "{a} lost");
    }
}

#[test]
fn a_link_local_address_gained_or_lost_is_minor() {
    for a in ["169.254.3.4/16", "fe80::1/64"] {
        let gained = InterfaceDelta {
            addrs_added: smallvec![addr(a)],
            ..unchanged(up_running())
        };
        assert!(!gained.is_major(), "{a} gained");
        let lost = InterfaceDelta {
            addrs_removed: smallvec![addr(a)],
            ..unchanged(up_running())
        };
        assert!(!lost.is_major(), "{a} lost");
    }
}

fn flags_change(a: &str, old: AddrFlags, new: AddrFlags) -> InterfaceDelta {
    let mut old_addr = addr(a);
    old_addr.flags = old;
    InterfaceDelta {
        addrs_flags_changed: smallvec![AddrFlagsChange {
            old: old_addr,
            new_flags: new,
        }],
        ..unchanged(up_running())
    }
}

#[test]
fn a_non_link_local_address_becoming_usable_or_unusable_is_major() {
    let usable = flags_change("2001:db8::7/64", AddrFlags::TENTATIVE, AddrFlags::empty());
    assert!(usable.is_major(), "tentative to usable");
    let unusable = flags_change("192.0.2.7/24", AddrFlags::empty(), AddrFlags::DAD_FAILED);
    assert!(unusable.is_major(), "usable to DAD failed");
}

#[test]
fn a_flag_change_outside_usability_or_on_a_link_local_address_is_minor() {
    let permanent = flags_change("2001:db8::7/64", AddrFlags::empty(), AddrFlags::PERMANENT);
    assert!(!permanent.is_major(), "permanent does not change usability");
    let link_local = flags_change("fe80::1/64", AddrFlags::TENTATIVE, AddrFlags::empty());
    assert!(!link_local.is_major(), "a link-local address is minor");
}

// ---- HardwareAddr ----

#[test]
fn a_hardware_address_is_zero_only_when_every_byte_is() {
    assert!(HardwareAddr::new(&[0; 6]).is_zero());
    assert!(!HardwareAddr::new(&[0, 0, 0, 0, 0, 1]).is_zero());
    assert!(!HardwareAddr::new(&[0x80, 0, 0, 0, 0, 0]).is_zero());
}

#[test]
fn a_hardware_address_parses_from_colon_separated_hex_bytes() {
    let mac: HardwareAddr = "02:00:5e:10:ab:ff".parse().unwrap();
    assert_eq!(mac.as_bytes(), &[0x02, 0x00, 0x5e, 0x10, 0xab, 0xff]);
}

#[test]
fn a_hardware_address_with_a_missing_or_too_long_or_bad_part_is_an_error() {
    for bad in [
        "02::5e:10:ab:ff",    // an empty part
        "02:00:5e:10:ab:",    // a trailing colon
        ":02:00:5e:10:ab",    // a leading colon
        "002:00:5e:10:ab:ff", // three digits, even though their value fits a byte
        "0ab:00",             // three digits
        "02:00:5e:10:ab:zz",  // not hex
        "02-00-5e-10-ab-ff",  // wrong separator
    ] {
        assert!(bad.parse::<HardwareAddr>().is_err(), "{bad:?} parsed");
    }
}

// ---- Interface::address ----

#[test]
fn an_interface_finds_an_address_by_its_net_and_only_that_one() {
    let mut i = Interface::new(2, "eth0");
    let mut tentative = addr("2001:db8::7/64");
    tentative.flags = AddrFlags::TENTATIVE;
    i.addrs = smallvec![addr("10.0.0.2/24"), addr("192.0.2.7/24"), tentative];
    // Through a snapshot, which sorts the addresses as `address` expects.
    let s = Snapshot::new(vec![i], Default::default()).unwrap();
    let i = s.by_index(2).unwrap();

    let found = i.address(&net("2001:db8::7/64")).expect("present");
    assert_eq!(found.net, net("2001:db8::7/64"));
    assert_eq!(found.flags, AddrFlags::TENTATIVE);
    assert_eq!(
        i.address(&net("10.0.0.2/24")).map(|a| a.net),
        Some(net("10.0.0.2/24"))
    );
    assert_eq!(i.address(&net("10.0.0.3/24")), None, "another address");
    assert_eq!(
        i.address(&net("10.0.0.2/16")),
        None,
        "another prefix length"
    );
}

// ---- The sleep-detection threshold ----

const THRESHOLD: Duration = Duration::from_secs(10);

/// A Reconciler that has published its first state, with the reconcile off
/// so that only the sleep clock can ask for an enumeration.
fn started(start: Instant, state: &Snapshot) -> Reconciler {
    let config = Config::builder()
        .reconcile_interval(None)
        .jump_threshold(THRESHOLD)
        .build()
        .unwrap();
    let mut r = Reconciler::new(config, start);
    let Some(Action::Enumerate { id, .. }) = r.poll_action() else {
        panic!("the first action is an enumeration");
    };
    r.handle_input(
        start,
        Input::Enumerated {
            id,
            result: Ok(state.clone()),
        },
    );
    match r.poll_action() {
        Some(Action::Publish(c)) => assert_eq!(c.cause, Cause::Initial),
        other => panic!("expected the initial publication, got {other:?}"),
    }
    assert_eq!(r.poll_action(), None);
    r
}

#[test]
fn the_sleep_clock_must_outrun_the_monotonic_clock_by_more_than_the_threshold() {
    let mut i = Interface::new(2, "eth0");
    i.flags = up_running();
    i.addrs = smallvec![addr("10.0.0.2/24")];
    let state = Snapshot::new(vec![i], Default::default()).unwrap();
    let t0 = Instant::now();
    let mut r = started(t0, &state);

    let boot = Duration::from_secs(1000);
    r.handle_input(t0, Input::SleepClock(boot));
    assert_eq!(r.poll_action(), None, "the first reading is a baseline");

    // 5 s awake, the sleep clock ahead by 5 s + exactly the threshold: not a sleep.
    let t1 = t0 + Duration::from_secs(5);
    let boot1 = boot + Duration::from_secs(5) + THRESHOLD;
    r.handle_input(t1, Input::SleepClock(boot1));
    assert_eq!(r.poll_action(), None, "exactly the threshold is no jump");

    // From that baseline: 5 s awake, the sleep clock ahead by 5 s + threshold + 1 ms.
    let t2 = t1 + Duration::from_secs(5);
    let boot2 = boot1 + Duration::from_secs(5) + THRESHOLD + Duration::from_millis(1);
    r.handle_input(t2, Input::SleepClock(boot2));
    let Some(Action::Enumerate { id, .. }) = r.poll_action() else {
        panic!("a jump enumerates at once");
    };
    r.handle_input(
        t2,
        Input::Enumerated {
            id,
            result: Ok(state.clone()),
        },
    );
    match r.poll_action() {
        Some(Action::Publish(c)) => {
            assert_eq!(c.cause, Cause::TimeJump);
            assert_eq!(c.seq, 2);
            assert!(c.delta.is_empty(), "published although nothing differs");
        }
        other => panic!("expected a time-jump publication, got {other:?}"),
    }
    assert_eq!(r.poll_action(), None);
}

#[test]
fn a_sleep_whose_read_was_interrupted_is_still_published_when_nothing_differs() {
    let mut i = Interface::new(2, "eth0");
    i.flags = up_running();
    let state = Snapshot::new(vec![i], Default::default()).unwrap();
    let t0 = Instant::now();
    let mut r = started(t0, &state);
    r.handle_input(t0, Input::SleepClock(Duration::from_secs(1000)));
    let t1 = t0 + Duration::from_secs(1);
    r.handle_input(t1, Input::SleepClock(Duration::from_secs(2000)));
    let Some(Action::Enumerate { id, .. }) = r.poll_action() else {
        panic!("a jump enumerates at once");
    };
    // The table changed under the read: it is read again, and the sleep
    // must not be forgotten on the way.
    r.handle_input(t1, Input::EnumerationInterrupted { id });
    let retry = r.poll_timeout().expect("a read again after the debounce");
    r.handle_timeout(retry);
    let Some(Action::Enumerate { id, .. }) = r.poll_action() else {
        panic!("the read again");
    };
    r.handle_input(
        retry,
        Input::Enumerated {
            id,
            result: Ok(state.clone()),
        },
    );
    match r.poll_action() {
        Some(Action::Publish(c)) => assert_eq!(c.cause, Cause::TimeJump),
        other => panic!("expected the time-jump publication, got {other:?}"),
    }
}

#[test]
fn an_os_error_says_what_failed() {
    let e = netstate_core::OsError::new("netlink socket failed (errno 105)");
    assert_eq!(e.to_string(), "netlink socket failed (errno 105)");
}

// ---- The netlink event parser ----

#[test]
fn an_ipv4_address_message_gives_a_v4_hint() {
    let msg = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 7, &[10, 0, 0, 2], None);
    let mut events = Vec::new();
    let stats = parse_events(&msg, |e| events.push(e));
    assert_eq!(stats.events, 1);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, RouteEventKind::AddrNew);
    assert_eq!(events[0].index, Some(7));
    assert_eq!(events[0].family, Some(Family::V4));
}

// ---- Change::is_major: the first state, a wake from sleep, or a major delta ----

#[test]
fn a_change_is_major_for_its_cause_or_its_delta_and_minor_otherwise() {
    use netstate_core::Change;
    use std::sync::Arc;

    let s = Arc::new(Snapshot::empty());
    let change = |cause, delta| {
        let mut c = Change::new(2, cause, s.clone(), s.clone());
        c.delta = delta;
        c
    };
    let minor = delta_with(InterfaceDelta {
        mtu_changed: true,
        ..unchanged(up_running())
    });
    let major = Delta {
        added: vec![id(3, "wlan0")],
        ..Delta::default()
    };
    for cause in [
        Cause::Event,
        Cause::Reconcile,
        Cause::Forced,
        Cause::Overflow,
    ] {
        assert!(!change(cause, minor.clone()).is_major(), "{cause:?}, minor");
        assert!(change(cause, major.clone()).is_major(), "{cause:?}, major");
    }
    assert!(change(Cause::Initial, Delta::default()).is_major());
    assert!(change(Cause::TimeJump, Delta::default()).is_major());
}

/// A configuration error names the setting at fault, so a user reading it
/// knows what to change (the command prints it as is).
#[test]
fn a_config_error_names_the_setting_at_fault() {
    use netstate_core::{Backoff, Filter};
    let ms = Duration::from_millis;
    let cases: [(netstate_core::ConfigBuilder, &[&str]); 6] = [
        (
            Config::builder().debounce(ms(500)).max_wait(ms(100)),
            &["maximum wait", "debounce", "100ms", "500ms"],
        ),
        (
            Config::builder().reconcile_interval(Some(Duration::ZERO)),
            &["reconcile interval", "None"],
        ),
        (
            Config::builder().jump_threshold(Duration::ZERO),
            &["jump threshold"],
        ),
        (
            Config::builder().retry_backoff(Backoff::new(Duration::ZERO, ms(10))),
            &["retry backoff"],
        ),
        (
            Config::builder().enumeration_timeout(Duration::ZERO),
            &["enumeration timeout"],
        ),
        (
            Config::builder().filter(Filter::new().ignore_prefix("")),
            &["filter"],
        ),
    ];
    for (builder, words) in cases {
        let e = builder.build().expect_err("an invalid configuration");
        let text = e.to_string();
        for word in words {
            assert!(text.contains(word), "{e:?} says {text:?}: no {word:?}");
        }
    }
}

// ---- Snapshot::diff: every interface and address gone is in the delta,
// wherever it stood in the sorted lists ----

fn snapshot(interfaces: Vec<Interface>) -> Snapshot {
    Snapshot::new(interfaces, netstate_core::DefaultRoutes::default()).expect("a valid snapshot")
}

fn with_addrs(index: u32, name: &str, nets: &[&str]) -> Interface {
    let mut i = Interface::new(index, name);
    i.addrs = nets.iter().map(|n| addr(n)).collect();
    i
}

#[test]
fn interfaces_removed_after_the_last_one_kept_are_each_removed() {
    // The new table runs out first: what is left of the old one is gone.
    let old = snapshot(vec![
        Interface::new(1, "lo"),
        Interface::new(5, "eth0"),
        Interface::new(9, "wlan0"),
    ]);
    let new = snapshot(vec![Interface::new(1, "lo")]);
    let d = Snapshot::diff(&old, &new);
    assert_eq!(d.removed, vec![id(5, "eth0"), id(9, "wlan0")]);
    assert!(d.added.is_empty() && d.changed.is_empty());
    // And the other way round: the old table runs out first.
    let d = Snapshot::diff(&new, &old);
    assert_eq!(d.added, vec![id(5, "eth0"), id(9, "wlan0")]);
    assert!(d.removed.is_empty() && d.changed.is_empty());
}

#[test]
fn addresses_removed_after_the_last_one_kept_are_each_removed() {
    let old = snapshot(vec![with_addrs(
        2,
        "eth0",
        &["10.0.0.1/24", "10.0.0.2/24", "10.0.0.3/24"],
    )]);
    let new = snapshot(vec![with_addrs(2, "eth0", &["10.0.0.1/24"])]);
    let d = Snapshot::diff(&old, &new);
    assert_eq!(d.changed.len(), 1);
    let c = &d.changed[0];
    assert_eq!(
        c.addrs_removed.iter().map(|a| a.net).collect::<Vec<_>>(),
        vec![net("10.0.0.2/24"), net("10.0.0.3/24")]
    );
    assert!(c.addrs_added.is_empty());
    let d = Snapshot::diff(&new, &old);
    assert_eq!(
        d.changed[0]
            .addrs_added
            .iter()
            .map(|a| a.net)
            .collect::<Vec<_>>(),
        vec![net("10.0.0.2/24"), net("10.0.0.3/24")]
    );
    assert!(d.changed[0].addrs_removed.is_empty());
}

// ---- RouteEvent::is_route: "Whether the message is about a route." ----

#[test]
fn only_route_messages_are_about_a_route() {
    use RouteEventKind::*;
    for kind in [
        LinkNew, LinkDel, AddrNew, AddrDel, RouteNew, RouteDel, Rule, Unknown,
    ] {
        let e = netstate_core::RouteEvent::new(kind);
        assert_eq!(
            e.is_route(),
            matches!(kind, RouteNew | RouteDel),
            "{kind:?}"
        );
    }
}

// ---- Filter: what it was given, and which hints it lets through ----

#[test]
fn a_filter_reports_what_it_was_given() {
    use netstate_core::Filter;
    let none = Filter::new();
    assert!(none.ignores_nothing());
    assert!(none.ignored_names().is_empty() && none.ignored_prefixes().is_empty());
    assert_eq!(none.route_prefix_limit(), 1, "the documented default");

    let names = Filter::new().ignore_name("docker0").ignore_name("lo");
    assert_eq!(names.ignored_names(), ["docker0", "lo"]);
    assert!(!names.ignores_nothing());
    let prefixes = Filter::new().ignore_prefix("veth");
    assert_eq!(prefixes.ignored_prefixes(), ["veth"]);
    assert!(!prefixes.ignores_nothing());
    assert_eq!(
        Filter::new().max_route_prefix_len(2).route_prefix_limit(),
        2
    );
}

#[test]
fn a_rule_or_unparsable_hint_is_never_filtered_out_even_naming_an_ignored_interface() {
    use netstate_core::{Filter, RouteEvent};
    let filter = Filter::new().ignore_name("veth0");
    for kind in [RouteEventKind::Rule, RouteEventKind::Unknown] {
        let e = RouteEvent::new(kind).with_name("veth0").with_index(7);
        assert!(filter.admits(&e, |_| true), "{kind:?}");
    }
    // While an address hint on that interface is.
    let addr = RouteEvent::new(RouteEventKind::AddrNew)
        .with_name("veth0")
        .with_index(7);
    assert!(!filter.admits(&addr, |_| true));
}

// ---- Errors say what is wrong ----

#[test]
fn snapshot_and_hardware_address_errors_say_what_is_wrong() {
    use netstate_core::SnapshotError;
    let e = "02:00:zz".parse::<HardwareAddr>().expect_err("not hex");
    assert!(e.to_string().contains("hardware address"), "{e}");
    let twice = Snapshot::new(
        vec![Interface::new(3, "eth0"), Interface::new(3, "eth1")],
        netstate_core::DefaultRoutes::default(),
    )
    .expect_err("one index twice");
    assert_eq!(twice, SnapshotError::DuplicateIndex(3));
    assert!(twice.to_string().contains("index 3"), "{twice}");
    let named = SnapshotError::DuplicateName("eth0".into()).to_string();
    assert!(named.contains("\"eth0\""), "{named}");
}
