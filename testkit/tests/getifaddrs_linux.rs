//! The `getifaddrs` enumerator against the netlink one, on the real Linux
//! kernel (glibc's `getifaddrs`), in network namespaces created and deleted
//! by each test. Without root they print why they skip.
//!
//! What the comparisons found, and assert exactly: `getifaddrs` gives the
//! same interfaces (index, name, flags, MTU, hardware address) and the same
//! addresses as netlink, including tentative IPv6 addresses, IPv6 addresses
//! on a down interface, an IPv4 alias listed under its label (`nsa0:1`), a
//! point-to-point address (the local side, `/32`) and a tun device without
//! hardware address. It differs only where documented:
//!
//! * every address has empty flags (netlink's tentative, permanent, … are
//!   not in `getifaddrs`), so a tentative global IPv6 address makes
//!   `have_v6()` true through `getifaddrs` and false through netlink;
//! * there are no default routes.
//!
//! A hardware address longer than 8 bytes (given as none) could not be
//! tried: this kernel has no InfiniBand or IPv6-tunnel devices; the unit
//! tests of `netstate_core::wire::ifaddrs` cover its parsing.
//!
//! These tests live in the testkit, not in `netstate-sys`, because they use
//! its namespace fixtures and the testkit depends on `netstate-sys`: here
//! they need no dependency cycle.
#![cfg(target_os = "linux")]

use std::io;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use netstate_core::wire::route_socket::{Parser, Platform};
use netstate_core::{AddrFlags, Cause, Config, DefaultRoutes, Snapshot};
use netstate_sys::{
    Engine, Enumerator, EventSource, GetifaddrsBackend, GetifaddrsEnumerator, RouteSocketReader,
};
use netstate_testkit::netns::NetnsFixture;
use rustix::net::{socketpair, AddressFamily, SendFlags, SocketFlags, SocketType};

fn netlink(ns: &NetnsFixture) -> Snapshot {
    Enumerator::open_in(ns.netns())
        .unwrap()
        .enumerate()
        .unwrap()
}

fn getifaddrs(ns: &NetnsFixture) -> Snapshot {
    ns.netns()
        .run(|| {
            GetifaddrsEnumerator::new()
                .enumerate()
                .map_err(io::Error::other)
        })
        .unwrap()
}

/// The snapshot as `getifaddrs` can know it: no address flags, no default
/// routes.
fn as_getifaddrs_sees_it(s: &Snapshot) -> Snapshot {
    let interfaces = s
        .interfaces()
        .iter()
        .cloned()
        .map(|mut i| {
            for a in &mut i.addrs {
                a.flags = AddrFlags::empty();
            }
            i
        })
        .collect();
    Snapshot::new(interfaces, DefaultRoutes::default()).unwrap()
}

/// Enumerates through netlink, `getifaddrs`, and netlink again; checks
/// nothing but flags changed meanwhile and that `getifaddrs` saw exactly
/// what netlink shows without flags and routes. Returns both.
fn compare(ns: &NetnsFixture) -> (Snapshot, Snapshot) {
    let before = netlink(ns);
    let gi = getifaddrs(ns);
    let after = netlink(ns);
    let expected = as_getifaddrs_sees_it(&before);
    assert_eq!(
        expected,
        as_getifaddrs_sees_it(&after),
        "the namespace changed during the comparison"
    );
    assert_eq!(
        gi, expected,
        "getifaddrs differs from netlink beyond flags and routes"
    );
    (before, gi)
}

/// `NetnsFixture::add_two_pairs` (as `testkit/tests/netns_linux.rs`), plus
/// what could read differently through `getifaddrs`: an IPv4 alias with a label, a
/// point-to-point address, an IPv6 address on a down link, addresses
/// waiting for DAD on a link without carrier, a tun device (no hardware
/// address), promiscuous and no-ARP flags.
fn populated(ns: &NetnsFixture) {
    // Its 2001:db8:78::2 on nsb0 stays tentative: nsb0 is up without
    // carrier (its peer is down), so DAD waits.
    ns.add_two_pairs().unwrap();
    ns.ip(&[
        "addr",
        "add",
        "10.77.0.4/24",
        "dev",
        "nsa0",
        "label",
        "nsa0:1",
    ])
    .unwrap();
    ns.ip(&[
        "addr",
        "add",
        "10.80.0.1",
        "peer",
        "10.80.0.2",
        "dev",
        "nsb0",
    ])
    .unwrap();
    ns.ip(&["addr", "add", "2001:db8:79::9/64", "dev", "nsb1"])
        .unwrap();
    ns.ip(&["tuntap", "add", "tun7", "mode", "tun"]).unwrap();
    ns.ip(&["addr", "add", "10.81.0.1/24", "dev", "tun7"])
        .unwrap();
    ns.ip(&["link", "set", "nsb0", "promisc", "on", "arp", "off"])
        .unwrap();
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_fresh_namespace_reads_the_same_through_both() {
    let ns = NetnsFixture::require("a_fresh_namespace_reads_the_same_through_both");
    let (nl, gi) = compare(&ns);
    assert_eq!(gi.interfaces().len(), 1);
    let lo = &gi.interfaces().first().unwrap();
    assert!(lo.is_loopback() && lo.is_up());
    assert_eq!(lo.mtu, nl.interfaces().first().unwrap().mtu);
    assert_eq!(
        lo.mac.as_ref().map(ToString::to_string).as_deref(),
        Some("00:00:00:00:00:00")
    );
    assert_eq!(lo.addrs.len(), 2, "127.0.0.1/8 and ::1/128");
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn getifaddrs_equals_netlink_but_for_address_flags_and_default_routes() {
    let ns =
        NetnsFixture::require("getifaddrs_equals_netlink_but_for_address_flags_and_default_routes");
    populated(&ns);
    let (nl, gi) = compare(&ns);
    assert_eq!(gi.interfaces().len(), 6);

    // The differences, one by one.
    let all_flags: Vec<AddrFlags> = nl
        .interfaces()
        .iter()
        .flat_map(|i| i.addrs.iter().map(|a| a.flags))
        .collect();
    assert!(all_flags.iter().any(|f| f.contains(AddrFlags::TENTATIVE)));
    assert!(all_flags.iter().any(|f| f.contains(AddrFlags::PERMANENT)));
    assert!(gi
        .interfaces()
        .iter()
        .all(|i| i.addrs.iter().all(|a| a.flags.is_empty())));
    assert!(nl.default_routes().v4.is_some() && nl.default_routes().v6.is_some());
    assert_eq!(gi.default_routes(), &DefaultRoutes::default());

    // What could have differed and does not.
    let nsa0 = gi.by_name("nsa0").unwrap();
    assert_eq!(nsa0.mtu, 1400);
    assert!(
        nsa0.address(&"10.77.0.4/24".parse().unwrap()).is_some(),
        "the alias labelled nsa0:1 belongs to nsa0"
    );
    assert!(gi.by_name("nsa0:1").is_none());
    let nsb0 = gi.by_name("nsb0").unwrap();
    assert!(
        nsb0.address(&"10.80.0.1/32".parse().unwrap()).is_some(),
        "the local side"
    );
    assert!(
        nsb0.address(&"2001:db8:78::2/64".parse().unwrap())
            .is_some(),
        "tentative"
    );
    let nsb1 = gi.by_name("nsb1").unwrap();
    assert!(!nsb1.is_up());
    assert!(
        nsb1.address(&"2001:db8:79::9/64".parse().unwrap())
            .is_some(),
        "on a down link"
    );
    let tun7 = gi.by_name("tun7").unwrap();
    assert_eq!(tun7.mac, None);
    assert_eq!(tun7.index, nl.by_name("tun7").unwrap().index);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_tentative_global_address_counts_as_usable_only_through_getifaddrs() {
    let ns = NetnsFixture::require(
        "a_tentative_global_address_counts_as_usable_only_through_getifaddrs",
    );
    ns.add_veth("nsb0", "nsb1").unwrap();
    ns.ip(&["link", "set", "nsb1", "down"]).unwrap();
    ns.ip(&["addr", "add", "2001:db8:78::2/64", "dev", "nsb0"])
        .unwrap();
    let (nl, gi) = compare(&ns);
    let net = "2001:db8:78::2/64".parse().unwrap();
    let flags = nl.by_name("nsb0").unwrap().address(&net).unwrap().flags;
    assert!(flags.contains(AddrFlags::TENTATIVE));
    assert!(!nl.have_v6(), "netlink: not usable while tentative");
    assert!(gi.have_v6(), "getifaddrs cannot tell it is tentative");
    assert_eq!(nl.have_v4(), gi.have_v4());
}

/// A Darwin `RTM_IFINFO` (a bare 112-byte `if_msghdr`) for `index`.
fn darwin_ifinfo(index: u16) -> Vec<u8> {
    let mut m = vec![0u8; 112];
    m[0..2].copy_from_slice(&112u16.to_le_bytes());
    m[2] = 5; // RTM_VERSION
    m[3] = 0xe; // RTM_IFINFO
    m[12..14].copy_from_slice(&index.to_le_bytes());
    m
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn an_engine_over_the_getifaddrs_backend_publishes_a_new_address() {
    let ns = NetnsFixture::require("an_engine_over_the_getifaddrs_backend_publishes_a_new_address");
    populated(&ns);
    let expected_first = as_getifaddrs_sees_it(&netlink(&ns));
    // The engine enumerates on the thread that wakes it: the whole run
    // happens on one thread inside the namespace.
    let (first, second, cause) = ns
        .netns()
        .run(|| {
            let (tx, rx) = std::sync::mpsc::channel::<OwnedFd>();
            let backend = GetifaddrsBackend::with_source(move || {
                let (ours, theirs) = socketpair(
                    AddressFamily::UNIX,
                    SocketType::SEQPACKET,
                    SocketFlags::CLOEXEC,
                    None,
                )?;
                tx.send(theirs).map_err(io::Error::other)?;
                let reader = RouteSocketReader::new(ours, Parser::new(Platform::Darwin))?;
                Ok(Box::new(reader) as Box<dyn EventSource>)
            });
            let t0 = Instant::now();
            let mut engine =
                Engine::new(Config::default(), Box::new(backend), t0).map_err(io::Error::other)?;
            let sleep = |t: Instant| Duration::from_secs(1_000) + t.saturating_duration_since(t0);
            let peer = rx.recv().map_err(io::Error::other)?;
            let (_, mut sub) = engine.handle().subscribe();
            engine.wake(t0, sleep(t0));
            let first = sub
                .try_recv()
                .map_err(|e| io::Error::other(format!("{e:?}")))?;

            ns.ip(&["addr", "add", "10.77.0.50/24", "dev", "nsa0"])
                .map_err(io::Error::other)?;
            let index = first.new.by_name("nsa0").map_or(0, |i| i.index);
            let hint = darwin_ifinfo(u16::try_from(index).map_err(io::Error::other)?);
            rustix::net::send(&peer, &hint, SendFlags::empty())?;
            let t1 = t0 + Duration::from_millis(10);
            engine.wake(t1, sleep(t1));
            let deadline = engine
                .poll_timeout()
                .ok_or_else(|| io::Error::other("no deadline"))?;
            engine.wake(deadline, sleep(deadline));
            let second = sub
                .try_recv()
                .map_err(|e| io::Error::other(format!("{e:?}")))?;
            Ok((first.new, second.new, second.cause))
        })
        .unwrap();
    assert_eq!(*first, expected_first);
    assert_eq!(cause, Cause::Event);
    assert_eq!(*second, as_getifaddrs_sees_it(&netlink(&ns)));
    let added = "10.77.0.50/24".parse().unwrap();
    assert!(first.by_name("nsa0").unwrap().address(&added).is_none());
    assert!(second.by_name("nsa0").unwrap().address(&added).is_some());
}
