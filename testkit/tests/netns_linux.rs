//! Real-kernel tests of the Linux layer, each in a network namespace it
//! creates and deletes. Without root they print why they skip.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use netstate_core::wire::netlink::events::parse_events;
use netstate_core::{AddrFlags, Filter, InterfaceFlags, RouteEvent, RouteEventKind, Snapshot};
use netstate_sys::{Enumerator, Recv, RouteSocket, RouteSocketOptions};
use netstate_testkit::netns::NetnsFixture;
use serde_json::Value;

/// Reads every datagram the socket delivers until `stop` accepts one of the
/// hints, or `timeout` passes. Returns the hints and the datagram count.
fn read_until(
    sock: &RouteSocket,
    timeout: Duration,
    mut stop: impl FnMut(&RouteEvent) -> bool,
) -> (Vec<RouteEvent>, usize, bool) {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 64 << 10];
    let mut events = Vec::new();
    let mut datagrams = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !sock.wait_readable(left).expect("poll") {
            return (events, datagrams, false);
        }
        loop {
            match sock.recv(&mut buf).expect("recv") {
                Recv::Datagram(len) => {
                    datagrams += 1;
                    let mut found = false;
                    parse_events(&buf[..len], |e| {
                        found |= stop(&e);
                        events.push(e);
                    });
                    if found {
                        return (events, datagrams, true);
                    }
                }
                Recv::WouldBlock => break,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn admitted(e: &RouteEvent) -> bool {
    Filter::default().admits(e, |_| false)
}

/// A namespace with two veth pairs, v4/v6 addresses (global, link-local,
/// nodad, on a down link), and default routes of both families.
fn populated(ns: &NetnsFixture) {
    ns.add_two_pairs().unwrap();
}

fn flag_names(flags: InterfaceFlags) -> BTreeSet<String> {
    let map = [
        (InterfaceFlags::UP, "UP"),
        (InterfaceFlags::LOOPBACK, "LOOPBACK"),
        (InterfaceFlags::POINT_TO_POINT, "POINTOPOINT"),
        (InterfaceFlags::MULTICAST, "MULTICAST"),
        (InterfaceFlags::BROADCAST, "BROADCAST"),
        (InterfaceFlags::NO_ARP, "NOARP"),
        (InterfaceFlags::PROMISC, "PROMISC"),
    ];
    map.iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, n)| (*n).to_owned())
        .collect()
}

/// Checks the snapshot against `ip -j addr`, `ip -j link` and `ip -j route
/// get`, field by field.
fn assert_matches_ip(ns: &NetnsFixture, s: &Snapshot) {
    let links = ns.ip_json(&["addr", "show"]).unwrap();
    let links = links.as_array().unwrap();
    assert_eq!(links.len(), s.interfaces().len(), "interface count");
    for l in links {
        let index = l["ifindex"].as_u64().unwrap() as u32;
        let i = s
            .by_index(index)
            .unwrap_or_else(|| panic!("index {index} missing"));
        assert_eq!(l["ifname"].as_str(), Some(i.name.as_str()));
        assert_eq!(l["mtu"].as_u64(), Some(u64::from(i.mtu)), "{} mtu", i.name);
        assert_eq!(
            l["address"].as_str(),
            i.mac.as_ref().map(ToString::to_string).as_deref(),
            "{} mac",
            i.name
        );
        let ip_flags: BTreeSet<String> = l["flags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| {
                !matches!(
                    *f,
                    "LOWER_UP" | "M-DOWN" | "NO-CARRIER" | "DORMANT" | "ECHO"
                )
            })
            .map(str::to_owned)
            .collect();
        assert_eq!(ip_flags, flag_names(i.flags), "{} flags", i.name);
        // IFF_RUNNING: the carrier is present (ip shows LOWER_UP).
        let lower_up = l["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "LOWER_UP");
        assert_eq!(
            lower_up,
            i.flags.contains(InterfaceFlags::RUNNING),
            "{} running",
            i.name
        );

        let mut want: Vec<(String, AddrFlags)> = Vec::new();
        for a in l["addr_info"].as_array().unwrap() {
            let mut f = AddrFlags::empty();
            f.set(AddrFlags::TENTATIVE, a["tentative"] == true);
            f.set(AddrFlags::DEPRECATED, a["deprecated"] == true);
            f.set(AddrFlags::DAD_FAILED, a["dadfailed"] == true);
            f.set(AddrFlags::TEMPORARY, a["temporary"] == true);
            f.set(AddrFlags::PERMANENT, a["dynamic"] != true);
            let net = format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]);
            want.push((net, f));
        }
        want.sort();
        let mut got: Vec<(String, AddrFlags)> = i
            .addrs
            .iter()
            .map(|a| (a.net.to_string(), a.flags))
            .collect();
        got.sort();
        assert_eq!(got, want, "{} addresses", i.name);
    }
    for (family, probe, ours) in [
        ("-4", "8.8.8.8", &s.default_routes().v4),
        ("-6", "2001:4860:4860::8888", &s.default_routes().v6),
    ] {
        let r = ns.ip_json(&[family, "route", "get", probe]);
        match (r, ours) {
            (Ok(r), Some(route)) => {
                assert_eq!(r[0]["dev"].as_str(), Some(route.interface.as_str()));
                assert_eq!(
                    r[0]["gateway"].as_str().map(str::to_owned),
                    route.gateway.map(|g| g.to_string())
                );
            }
            (Err(_), None) => {}
            (r, ours) => panic!("{family}: ip says {r:?}, netstate says {ours:?}"),
        }
    }
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_fresh_namespace_has_only_loopback_and_no_default_route() {
    let ns = NetnsFixture::require("a_fresh_namespace_has_only_loopback_and_no_default_route");
    let s = Enumerator::open_in(ns.netns())
        .unwrap()
        .enumerate()
        .unwrap();
    assert_eq!(s.interfaces().len(), 1);
    assert!(s.interfaces().first().unwrap().is_loopback());
    assert!(s.default_routes().v4.is_none() && s.default_routes().v6.is_none());
    assert!(!s.have_v4() && !s.have_v6());
    assert_matches_ip(&ns, &s);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn the_enumeration_equals_what_ip_reports_field_by_field() {
    let ns = NetnsFixture::require("the_enumeration_equals_what_ip_reports_field_by_field");
    populated(&ns);
    let s = Enumerator::open_in(ns.netns())
        .unwrap()
        .enumerate()
        .unwrap();
    assert_eq!(s.interfaces().len(), 5);
    assert_matches_ip(&ns, &s);
    let r = s.default_routes().v4.as_ref().unwrap();
    assert_eq!(
        (r.interface.as_str(), r.gateway),
        ("nsa0", Some("10.77.0.1".parse().unwrap()))
    );
    assert!(s.have_v4() && s.have_v6());
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_default_route_in_a_vpn_table_with_a_rule_is_the_one_reported() {
    let ns =
        NetnsFixture::require("a_default_route_in_a_vpn_table_with_a_rule_is_the_one_reported");
    populated(&ns);
    ns.add_veth("tun9", "tun9p").unwrap();
    ns.ip(&["addr", "add", "10.200.0.2/24", "dev", "tun9"])
        .unwrap();
    let sock = RouteSocket::open_in(ns.netns(), &RouteSocketOptions::default()).unwrap();
    ns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "10.200.0.1",
        "dev",
        "tun9",
        "table",
        "51820",
    ])
    .unwrap();
    let (_, _, seen) = read_until(&sock, Duration::from_secs(5), |e| {
        e.is_route() && e.table == Some(51820) && admitted(e)
    });
    assert!(
        seen,
        "a default route in another table reaches the monitor and is admitted"
    );
    ns.ip(&[
        "rule", "add", "not", "fwmark", "51820", "table", "51820", "pref", "100",
    ])
    .unwrap();
    let (_, _, seen) = read_until(&sock, Duration::from_secs(5), |e| {
        e.kind == RouteEventKind::Rule && admitted(e)
    });
    assert!(
        seen,
        "a policy rule change reaches the monitor and is admitted"
    );
    let s = Enumerator::open_in(ns.netns())
        .unwrap()
        .enumerate()
        .unwrap();
    let r = s.default_routes().v4.as_ref().unwrap();
    assert_eq!(r.interface, "tun9", "the tunnel, as ip route get says");
    assert_eq!(r.gateway, Some("10.200.0.1".parse().unwrap()));
    assert_matches_ip(&ns, &s);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn openvpn_style_half_routes_are_not_filtered_and_win() {
    let ns = NetnsFixture::require("openvpn_style_half_routes_are_not_filtered_and_win");
    populated(&ns);
    ns.add_veth("tun1", "tun1p").unwrap();
    ns.ip(&["addr", "add", "10.8.0.2/24", "dev", "tun1"])
        .unwrap();
    let sock = RouteSocket::open_in(ns.netns(), &RouteSocketOptions::default()).unwrap();
    for half in ["0.0.0.0/1", "128.0.0.0/1"] {
        ns.ip(&["route", "add", half, "via", "10.8.0.1", "dev", "tun1"])
            .unwrap();
        let (_, _, seen) = read_until(&sock, Duration::from_secs(5), |e| {
            e.is_route() && e.dst_prefix_len == Some(1) && admitted(e)
        });
        assert!(seen, "{half} reaches the monitor and is admitted");
    }
    let s = Enumerator::open_in(ns.netns())
        .unwrap()
        .enumerate()
        .unwrap();
    assert_eq!(
        s.default_routes().v4.as_ref().map(|r| r.interface.as_str()),
        Some("tun1")
    );
    assert_matches_ip(&ns, &s);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn every_kind_of_change_produces_an_admitted_hint() {
    let ns = NetnsFixture::require("every_kind_of_change_produces_an_admitted_hint");
    populated(&ns);
    let sock = RouteSocket::open_in(ns.netns(), &RouteSocketOptions::default()).unwrap();
    type Pred = fn(&RouteEvent) -> bool;
    let steps: [(&[&str], Pred); 8] = [
        (&["addr", "add", "10.77.0.50/24", "dev", "nsa0"], |e| {
            e.kind == RouteEventKind::AddrNew
        }),
        (&["addr", "del", "10.77.0.50/24", "dev", "nsa0"], |e| {
            e.kind == RouteEventKind::AddrDel
        }),
        (&["link", "set", "nsb0", "down"], |e| {
            e.kind == RouteEventKind::LinkNew
        }),
        (&["link", "set", "nsb0", "up"], |e| {
            e.kind == RouteEventKind::LinkNew
        }),
        (
            &[
                "link", "add", "nsc0", "type", "veth", "peer", "name", "nsc1",
            ],
            |e| e.kind == RouteEventKind::LinkNew,
        ),
        (&["link", "del", "nsc0"], |e| {
            e.kind == RouteEventKind::LinkDel
        }),
        (
            &[
                "route",
                "replace",
                "default",
                "via",
                "10.78.0.1",
                "dev",
                "nsb0",
            ],
            |e| e.is_route() && e.dst_prefix_len == Some(0),
        ),
        (&["-6", "route", "del", "default"], |e| {
            e.kind == RouteEventKind::RouteDel && e.dst_prefix_len == Some(0)
        }),
    ];
    for (args, pred) in steps {
        ns.ip(args).unwrap();
        let (events, _, seen) =
            read_until(&sock, Duration::from_secs(5), |e| pred(e) && admitted(e));
        assert!(
            seen,
            "ip {}: no admitted hint among {events:?}",
            args.join(" ")
        );
    }
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn host_routes_never_reach_the_process_and_would_be_filtered_anyway() {
    let ns =
        NetnsFixture::require("host_routes_never_reach_the_process_and_would_be_filtered_anyway");
    populated(&ns);
    let filtered = RouteSocket::open_in(ns.netns(), &RouteSocketOptions::default()).unwrap();
    let unfiltered = RouteSocket::open_in(
        ns.netns(),
        &RouteSocketOptions {
            kernel_route_filter: None,
            ..RouteSocketOptions::default()
        },
    )
    .unwrap();
    let batch: String = (0..10_000u32)
        .map(|i| {
            format!(
                "route add 10.{}.{}.{}/32 dev nsa0\n",
                100 + i / 65536,
                (i / 256) % 256,
                i % 256
            )
        })
        .collect();
    ns.ip_batch(&batch).unwrap();
    // A marker after the storm: once it arrives, everything before it has.
    ns.ip(&["addr", "add", "10.77.0.99/24", "dev", "nsa0"])
        .unwrap();
    let marker = |e: &RouteEvent| e.kind == RouteEventKind::AddrNew;

    let (events, datagrams, seen) = read_until(&filtered, Duration::from_secs(10), marker);
    assert!(seen, "the marker arrived");
    let routes = events.iter().filter(|e| e.is_route()).count();
    assert_eq!(routes, 0, "the kernel filter dropped every host route");
    eprintln!("kernel filter on: {datagrams} datagrams for 10,000 host routes + marker");

    let mut buf = vec![0u8; 64 << 10];
    let mut raw_routes = 0usize;
    let mut raw_datagrams = 0usize;
    let mut overflowed = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    'outer: while Instant::now() < deadline {
        if !unfiltered.wait_readable(Duration::from_secs(5)).unwrap() {
            break;
        }
        loop {
            match unfiltered.recv(&mut buf).unwrap() {
                Recv::Datagram(len) => {
                    raw_datagrams += 1;
                    let mut done = false;
                    parse_events(&buf[..len], |e| {
                        if e.is_route() {
                            raw_routes += 1;
                            assert!(!admitted(&e), "a /32 route is admitted: {e:?}");
                        }
                        done |= marker(&e);
                    });
                    if done {
                        break 'outer;
                    }
                }
                Recv::Overflow => overflowed = true,
                Recv::WouldBlock => break,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    eprintln!(
        "kernel filter off: {raw_datagrams} datagrams, {raw_routes} route hints (all filtered by the core){}",
        if overflowed { ", and the buffer overflowed" } else { "" }
    );
    assert!(
        raw_routes > 0 || overflowed,
        "without the kernel filter the routes do arrive"
    );
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn re_announcing_an_address_with_new_lifetimes_changes_nothing() {
    let ns = NetnsFixture::require("re_announcing_an_address_with_new_lifetimes_changes_nothing");
    populated(&ns);
    ns.ip(&[
        "addr",
        "add",
        "2001:db8:99::5/64",
        "dev",
        "nsa0",
        "nodad",
        "valid_lft",
        "3000",
        "preferred_lft",
        "2000",
    ])
    .unwrap();
    let mut en = Enumerator::open_in(ns.netns()).unwrap();
    let before = en.enumerate().unwrap();
    let sock = RouteSocket::open_in(ns.netns(), &RouteSocketOptions::default()).unwrap();
    ns.ip(&[
        "addr",
        "change",
        "2001:db8:99::5/64",
        "dev",
        "nsa0",
        "valid_lft",
        "4000",
        "preferred_lft",
        "3500",
    ])
    .unwrap();
    let (_, _, seen) = read_until(&sock, Duration::from_secs(5), |e| {
        e.kind == RouteEventKind::AddrNew
    });
    assert!(seen, "the kernel announces the renewal");
    let after = en.enumerate().unwrap();
    assert_eq!(before, after, "new lifetimes are not a change");
    let a = after
        .by_name("nsa0")
        .unwrap()
        .address(&"2001:db8:99::5/64".parse().unwrap())
        .copied();
    assert!(a.is_some_and(|a| !a.flags.contains(AddrFlags::PERMANENT)));
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn an_overflow_is_reported_apart_from_errors_and_the_socket_lives_on() {
    let ns =
        NetnsFixture::require("an_overflow_is_reported_apart_from_errors_and_the_socket_lives_on");
    populated(&ns);
    let sock = RouteSocket::open_in(
        ns.netns(),
        &RouteSocketOptions {
            recv_buffer: 4096,
            ..RouteSocketOptions::default()
        },
    )
    .unwrap();
    // Nobody reads while 2,000 addresses come and go.
    let batch: String = (0..1000u32)
        .map(|i| {
            format!(
                "addr add 10.90.{}.{}/32 dev nsb0\naddr del 10.90.{}.{}/32 dev nsb0\n",
                i / 250,
                i % 250 + 1,
                i / 250,
                i % 250 + 1
            )
        })
        .collect();
    ns.ip_batch(&batch).unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let mut overflows = 0;
    loop {
        match sock.recv(&mut buf).unwrap() {
            Recv::Overflow => overflows += 1,
            Recv::Datagram(_) => {}
            Recv::WouldBlock => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(overflows >= 1, "ENOBUFS is reported as Overflow");
    // The socket still works after the overflow.
    ns.ip(&["addr", "add", "10.77.0.88/24", "dev", "nsa0"])
        .unwrap();
    let (_, _, seen) = read_until(&sock, Duration::from_secs(5), |e| {
        e.kind == RouteEventKind::AddrNew
    });
    assert!(seen);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn enumerating_while_interfaces_come_and_go_gives_consistent_snapshots() {
    let ns = NetnsFixture::require(
        "enumerating_while_interfaces_come_and_go_gives_consistent_snapshots",
    );
    populated(&ns);
    let batch: String = (0..300u32)
        .map(|i| format!("link add chx{i} type veth peer name chy{i}\naddr add 10.66.{}.{}/32 dev chx{i}\nlink del chx{i}\n", i / 250, i % 250 + 1))
        .collect();
    let mut en = Enumerator::open_in(ns.netns()).unwrap();
    let (mut ok, mut transient) = (0, 0);
    std::thread::scope(|s| {
        let churn = s.spawn(|| ns.ip_batch(&batch));
        while !churn.is_finished() {
            match en.enumerate() {
                // Snapshot::new already refused repeated indexes and names;
                // every address belongs to a listed interface.
                Ok(snap) => {
                    assert!(snap.by_name("nsa0").is_some());
                    ok += 1;
                }
                Err(netstate_sys::EnumerateError::Dump(e)) if e.is_transient() => transient += 1,
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        churn.join().unwrap().unwrap();
    });
    eprintln!(
        "{ok} consistent snapshots, {transient} enumerations gave up after retries during churn"
    );
    assert!(ok > 0);
    let s = en.enumerate().unwrap();
    assert_matches_ip(&ns, &s);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_datagram_from_another_socket_in_the_namespace_is_dropped_and_counted() {
    let ns = NetnsFixture::require(
        "a_datagram_from_another_socket_in_the_namespace_is_dropped_and_counted",
    );
    populated(&ns);
    let netns = std::sync::Arc::new(netstate_sys::Netns::named(ns.name()).unwrap());
    let backend = netstate_sys::NetlinkBackend::open_in(netns.clone()).unwrap();
    // The monitor's port id, learnt by wrapping its backend.
    let port = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let backend = PortOf {
        inner: Box::new(backend),
        port: port.clone(),
    };
    let mut engine = netstate_sys::Engine::new(
        netstate_core::Config::default(),
        Box::new(backend),
        Instant::now(),
    )
    .unwrap();
    engine.block_until_started().unwrap();
    let port = port.load(std::sync::atomic::Ordering::SeqCst);
    assert_ne!(port, 0);
    // A second socket, in the same namespace, forges an RTM_NEWADDR.
    let forged =
        netstate_core::wire::netlink::fixtures::addr_msg(20, 2, 24, 0, 1, &[10, 0, 0, 1], None);
    netns
        .run(|| {
            use rustix::net::{
                bind, sendto, socket_with, AddressFamily, SendFlags, SocketFlags, SocketType,
            };
            let s = socket_with(
                AddressFamily::NETLINK,
                SocketType::RAW,
                SocketFlags::CLOEXEC,
                None,
            )?;
            bind(&s, &rustix::net::netlink::SocketAddrNetlink::new(0, 0))?;
            sendto(
                &s,
                &forged,
                SendFlags::empty(),
                &rustix::net::netlink::SocketAddrNetlink::new(port, 0),
            )?;
            Ok(())
        })
        .unwrap();
    let before = engine.handle().stats();
    engine.wait(Some(Duration::from_secs(5))).unwrap();
    engine.wake(Instant::now(), netstate_sys::sleep_clock());
    let after = engine.handle().stats();
    assert_eq!(
        after.foreign_datagrams,
        before.foreign_datagrams + 1,
        "dropped and counted"
    );
    assert_eq!(
        after.core.route_events, before.core.route_events,
        "no hint from it"
    );
}

// ---------------------------------------------------------------------------
// The default route is where internet traffic in general goes: a more
// specific route that happens to cover a probe address is not it.
// ---------------------------------------------------------------------------

/// One link of [`two_links`]: its name, and per family its address and the
/// gateway routes through it use.
struct Link {
    dev: &'static str,
    v4: (&'static str, &'static str),
    v6: (&'static str, &'static str),
}

/// Where the tests put the default route.
const X0: Link = Link {
    dev: "x0",
    v4: ("10.1.0.2/24", "10.1.0.254"),
    v6: ("2001:db8:1::2/64", "2001:db8:1::1"),
};
/// Where the tests put the more specific routes.
const X1: Link = Link {
    dev: "x1",
    v4: ("10.2.0.2/24", "10.2.0.254"),
    v6: ("2001:db8:2::2/64", "2001:db8:2::1"),
};
/// A second path for a multipath default.
const X2: Link = Link {
    dev: "x2",
    v4: ("10.3.0.2/24", "10.3.0.254"),
    v6: ("2001:db8:3::2/64", "2001:db8:3::1"),
};

/// Brings up `links` (veth pairs) with their addresses of both families.
fn with_links(ns: &NetnsFixture, links: &[&Link]) {
    for l in links {
        let peer = format!("{}p", l.dev);
        ns.add_veth(l.dev, &peer).unwrap();
        ns.ip(&["addr", "add", l.v4.0, "dev", l.dev]).unwrap();
        ns.ip(&["addr", "add", l.v6.0, "dev", l.dev, "nodad"])
            .unwrap();
    }
}

/// `ip [-6] route add DST via GATEWAY dev DEV` through `link`.
fn route_via(ns: &NetnsFixture, v6: bool, dst: &str, link: &Link) {
    let (family, gw) = if v6 {
        ("-6", link.v6.1)
    } else {
        ("-4", link.v4.1)
    };
    ns.ip(&[family, "route", "add", dst, "via", gw, "dev", link.dev])
        .unwrap();
}

fn enumerate(ns: &NetnsFixture) -> Snapshot {
    Enumerator::open_in(ns.netns())
        .unwrap()
        .enumerate()
        .unwrap()
}

/// The snapshot's default route of the family is through `link`, with its
/// gateway, and the system agrees that `link` holds the default route.
fn assert_default_through(ns: &NetnsFixture, s: &Snapshot, v6: bool, link: &Link) {
    let (family, gw, ours) = if v6 {
        ("-6", link.v6.1, &s.default_routes().v6)
    } else {
        ("-4", link.v4.1, &s.default_routes().v4)
    };
    let system = ns.ip_json(&[family, "route", "show", "default"]).unwrap();
    assert_eq!(
        system[0]["dev"].as_str(),
        Some(link.dev),
        "{family}: the setup put the default route on {}",
        link.dev
    );
    let r = ours
        .as_ref()
        .unwrap_or_else(|| panic!("{family}: no default route reported"));
    assert_eq!(
        (r.interface.as_str(), r.gateway),
        (link.dev, Some(gw.parse().unwrap())),
        "{family}: the default route, not the more specific one"
    );
}

/// A default route through x0 and `specific` through x1.
fn specific_beside_the_default(test: &str, v6: bool, specific: &str) {
    let ns = NetnsFixture::require(test);
    with_links(&ns, &[&X0, &X1]);
    route_via(&ns, v6, "default", &X0);
    route_via(&ns, v6, specific, &X1);
    let s = enumerate(&ns);
    assert_default_through(&ns, &s, v6, &X0);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_specific_route_8_0_0_0_slash_7_beside_the_default_is_not_reported() {
    specific_beside_the_default(
        "a_specific_route_8_0_0_0_slash_7_beside_the_default_is_not_reported",
        false,
        "8.0.0.0/7",
    );
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_specific_route_8_8_0_0_slash_16_beside_the_default_is_not_reported() {
    specific_beside_the_default(
        "a_specific_route_8_8_0_0_slash_16_beside_the_default_is_not_reported",
        false,
        "8.8.0.0/16",
    );
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_host_route_to_the_first_probe_beside_the_default_is_not_reported() {
    specific_beside_the_default(
        "a_host_route_to_the_first_probe_beside_the_default_is_not_reported",
        false,
        "8.8.8.8/32",
    );
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_specific_route_2000_slash_4_beside_the_v6_default_is_not_reported() {
    specific_beside_the_default(
        "a_specific_route_2000_slash_4_beside_the_v6_default_is_not_reported",
        true,
        "2000::/4",
    );
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_specific_route_2001_4860_slash_32_beside_the_v6_default_is_not_reported() {
    specific_beside_the_default(
        "a_specific_route_2001_4860_slash_32_beside_the_v6_default_is_not_reported",
        true,
        "2001:4860::/32",
    );
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn only_specific_routes_and_no_default_give_no_default_route() {
    let ns = NetnsFixture::require("only_specific_routes_and_no_default_give_no_default_route");
    with_links(&ns, &[&X0, &X1]);
    for dst in ["8.0.0.0/7", "8.8.0.0/16", "100.64.0.0/10", "172.16.0.0/12"] {
        route_via(&ns, false, dst, &X1);
    }
    for dst in ["2000::/4", "2001:4860::/32", "2600::/12"] {
        route_via(&ns, true, dst, &X1);
    }
    for family in ["-4", "-6"] {
        let system = ns.ip_json(&[family, "route", "show", "default"]).unwrap();
        assert_eq!(system, Value::Array(vec![]), "{family}: no default set up");
    }
    let s = enumerate(&ns);
    assert_eq!(s.default_routes().v4, None, "v4");
    assert_eq!(s.default_routes().v6, None, "v6");
}

/// A multipath default: its FIB entry names no single interface, so the
/// interface and gateway come from the plain lookup of the same probe.
#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_multipath_default_beside_a_specific_route_is_reported_with_one_of_its_paths() {
    let ns = NetnsFixture::require(
        "a_multipath_default_beside_a_specific_route_is_reported_with_one_of_its_paths",
    );
    with_links(&ns, &[&X0, &X1, &X2]);
    for v6 in [false, true] {
        let (family, specific) = if v6 {
            ("-6", "2000::/4")
        } else {
            ("-4", "8.0.0.0/7")
        };
        let gw = |l: &Link| if v6 { l.v6.1 } else { l.v4.1 };
        ns.ip(&[
            family,
            "route",
            "add",
            "default",
            "nexthop",
            "via",
            gw(&X0),
            "dev",
            X0.dev,
            "nexthop",
            "via",
            gw(&X2),
            "dev",
            X2.dev,
        ])
        .unwrap();
        route_via(&ns, v6, specific, &X1);
    }
    let s = enumerate(&ns);
    for (v6, r) in [
        (false, &s.default_routes().v4),
        (true, &s.default_routes().v6),
    ] {
        let r = r
            .as_ref()
            .unwrap_or_else(|| panic!("v6={v6}: no default route"));
        let expected: Vec<(&str, std::net::IpAddr)> = [&X0, &X2]
            .iter()
            .map(|l| (l.dev, (if v6 { l.v6.1 } else { l.v4.1 }).parse().unwrap()))
            .collect();
        assert!(
            r.gateway
                .is_some_and(|g| expected.contains(&(r.interface.as_str(), g))),
            "v6={v6}: {r:?} is not one of the default's paths {expected:?}"
        );
    }
}

/// A default through a nexthop object, with the kernel told not to repeat
/// the nexthop in route answers (`nexthop_compat_mode` 0): again no
/// interface in the FIB entry.
#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_nexthop_object_default_beside_a_specific_route_is_reported() {
    let ns = NetnsFixture::require("a_nexthop_object_default_beside_a_specific_route_is_reported");
    with_links(&ns, &[&X0, &X1]);
    ns.ip(&["nexthop", "add", "id", "40", "via", X0.v4.1, "dev", X0.dev])
        .unwrap();
    ns.ip(&["route", "add", "default", "nhid", "40"]).unwrap();
    route_via(&ns, false, "8.0.0.0/7", &X1);
    let compat = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name(), "sysctl", "-qw"])
        .arg("net.ipv4.nexthop_compat_mode=0")
        .status();
    eprintln!("nexthop_compat_mode=0: {compat:?}");
    let s = enumerate(&ns);
    let r = s.default_routes().v4.as_ref().expect("a default route");
    assert_eq!(
        (r.interface.as_str(), r.gateway),
        (X0.dev, Some(X0.v4.1.parse().unwrap()))
    );
}

/// The VPN-table rule still wins over a more specific route in the main
/// table (the rule is consulted first), and the answer is the VPN's default.
#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_vpn_table_default_with_a_rule_wins_over_a_specific_route_in_main() {
    let ns =
        NetnsFixture::require("a_vpn_table_default_with_a_rule_wins_over_a_specific_route_in_main");
    with_links(&ns, &[&X0, &X1, &X2]);
    route_via(&ns, false, "default", &X0);
    route_via(&ns, false, "8.0.0.0/7", &X1);
    ns.ip(&[
        "route", "add", "default", "via", X2.v4.1, "dev", X2.dev, "table", "51820",
    ])
    .unwrap();
    ns.ip(&[
        "rule", "add", "not", "fwmark", "51820", "table", "51820", "pref", "100",
    ])
    .unwrap();
    let s = enumerate(&ns);
    let r = s.default_routes().v4.as_ref().expect("a default route");
    assert_eq!(
        (r.interface.as_str(), r.gateway),
        (X2.dev, Some(X2.v4.1.parse().unwrap()))
    );
}

/// A backend that records the netlink port of the route socket it opens.
struct PortOf {
    inner: Box<dyn netstate_sys::Backend>,
    port: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl netstate_sys::Backend for PortOf {
    fn open_source(&mut self) -> std::io::Result<Box<dyn netstate_sys::EventSource>> {
        use std::os::fd::AsFd;
        let source = self.inner.open_source()?;
        let name = rustix::net::getsockname(source.as_fd())?;
        let pid = rustix::net::netlink::SocketAddrNetlink::try_from(name)
            .map_err(std::io::Error::other)?
            .pid();
        self.port.store(pid, std::sync::atomic::Ordering::SeqCst);
        Ok(source)
    }
    fn start_enumeration(&mut self) -> netstate_sys::EnumerationPoll {
        self.inner.start_enumeration()
    }
    fn poll_enumeration(&mut self) -> netstate_sys::EnumerationPoll {
        self.inner.poll_enumeration()
    }
    fn cancel_enumeration(&mut self) {
        self.inner.cancel_enumeration();
    }
    fn enumeration_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.inner.enumeration_fd()
    }
    fn take_retired_fd(&mut self) -> Option<std::os::fd::OwnedFd> {
        self.inner.take_retired_fd()
    }
}

/// The route socket's receive buffer is what it promises: 4 MiB by default,
/// and — as root, with `SO_RCVBUFFORCE` — even more than
/// `net.core.rmem_max` lets a plain `SO_RCVBUF` have, so a burst the
/// system's limit would drop still fits. (Linux reports twice what was
/// asked: it counts its own bookkeeping.)
#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn as_root_the_route_socket_gets_its_receive_buffer_past_the_system_limit() {
    let ns = NetnsFixture::require(
        "as_root_the_route_socket_gets_its_receive_buffer_past_the_system_limit",
    );
    let default = RouteSocketOptions::default();
    assert_eq!(default.recv_buffer, 4 << 20, "the documented default");
    let sock = RouteSocket::open_in(ns.netns(), &default).expect("route socket");
    let got = sock.recv_buffer().expect("SO_RCVBUF");
    assert!(
        got >= default.recv_buffer,
        "asked for 4 MiB, got {got} bytes"
    );

    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .expect("net.core.rmem_max")
        .trim()
        .parse()
        .expect("a number");
    // Past what SO_RCVBUF may have (the kernel caps it at rmem_max, then
    // doubles it).
    let options = RouteSocketOptions {
        recv_buffer: 2 * rmem_max + (1 << 20),
        ..RouteSocketOptions::default()
    };
    let sock = RouteSocket::open_in(ns.netns(), &options).expect("route socket");
    let got = sock.recv_buffer().expect("SO_RCVBUF");
    assert!(
        got >= options.recv_buffer,
        "asked for {} bytes past rmem_max = {rmem_max}, got {got}",
        options.recv_buffer
    );
}
