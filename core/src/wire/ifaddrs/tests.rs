//! Byte fixtures for the `getifaddrs` reader, laid out field by field from
//! the C structures with this file's own numbers (not the module's), so a
//! wrong constant shows up as a failing test rather than as two matching
//! mistakes:
//!
//! ```text
//! Linux (linux/in.h, linux/in6.h, linux/if_packet.h): no sa_len, a
//! native-endian u16 family first.
//! struct sockaddr_in  { u16 sin_family @0; u16 sin_port @2;
//!                       u8 sin_addr[4] @4; u8 sin_zero[8] @8 }       = 16
//! struct sockaddr_in6 { u16 sin6_family @0; u16 sin6_port @2;
//!                       u32 sin6_flowinfo @4; u8 sin6_addr[16] @8;
//!                       u32 sin6_scope_id @24 }                     = 28
//! struct sockaddr_ll  { u16 sll_family @0; u16 sll_protocol @2;
//!                       i32 sll_ifindex @4; u16 sll_hatype @8;
//!                       u8 sll_pkttype @10; u8 sll_halen @11;
//!                       u8 sll_addr[8] @12 }                        = 20
//!
//! BSD and macOS (netinet/in.h, netinet6/in6.h, net/if_dl.h): u8 sa_len,
//! then u8 family; the same offsets after them. A netmask may be trimmed:
//! sa_len counts only the bytes up to its last non-zero one.
//! struct sockaddr_in  { u8 sin_len @0; u8 sin_family @1; ... }        = 16
//! struct sockaddr_in6 { u8 sin6_len @0; u8 sin6_family @1; ... }      = 28
//! struct sockaddr_dl  { u8 sdl_len @0; u8 sdl_family @1;
//!                       u16 sdl_index @2; u8 sdl_type @4;
//!                       u8 sdl_nlen @5; u8 sdl_alen @6; u8 sdl_slen @7;
//!                       char sdl_data[12 | 46] @8 }  = 20 (Darwin) | 54 (FreeBSD)
//!
//! AF_INET 2 everywhere; AF_INET6 10 (Linux), 30 (Darwin), 28 (FreeBSD);
//! AF_PACKET 17 (Linux); AF_LINK 18 (BSD, macOS).
//! IFF_UP 0x1, IFF_BROADCAST 0x2, IFF_LOOPBACK 0x8, IFF_POINTOPOINT 0x10,
//! IFF_RUNNING 0x40, IFF_NOARP 0x80, IFF_PROMISC 0x100 everywhere;
//! IFF_MULTICAST 0x1000 (Linux), 0x8000 (Darwin, FreeBSD).
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::net::Ipv6Addr;

use super::*;

const LINUX_AF_INET6: u16 = 10;
const DARWIN_AF_INET6: u8 = 30;
const FREEBSD_AF_INET6: u8 = 28;
const LINUX_AF_PACKET: u16 = 17;
const BSD_AF_LINK: u8 = 18;

const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_POINTOPOINT: u32 = 0x10;
const IFF_RUNNING: u32 = 0x40;
const IFF_NOARP: u32 = 0x80;
const IFF_PROMISC: u32 = 0x100;
const LINUX_IFF_MULTICAST: u32 = 0x1000;
const BSD_IFF_MULTICAST: u32 = 0x8000;

/// An Ethernet interface that is up: UP | BROADCAST | RUNNING | MULTICAST.
const ETHER_UP: u32 = IFF_UP | IFF_BROADCAST | IFF_RUNNING | LINUX_IFF_MULTICAST;

// ---------------------------------------------------------------------------
// Socket addresses.

/// Linux `sockaddr_in`.
fn linux_in(addr: [u8; 4]) -> Vec<u8> {
    let mut sa = vec![0u8; 16];
    sa[0..2].copy_from_slice(&2u16.to_ne_bytes());
    sa[2..4].copy_from_slice(&80u16.to_be_bytes()); // a port: not read
    sa[4..8].copy_from_slice(&addr);
    sa
}

/// Linux `sockaddr_in6`.
fn linux_in6(addr: Ipv6Addr) -> Vec<u8> {
    let mut sa = vec![0u8; 28];
    sa[0..2].copy_from_slice(&LINUX_AF_INET6.to_ne_bytes());
    sa[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes()); // flow: not read
    sa[8..24].copy_from_slice(&addr.octets());
    sa[24..28].copy_from_slice(&3u32.to_ne_bytes()); // scope id: not read
    sa
}

/// Linux `sockaddr_ll` with `sll_halen` = `hw.len()` (at most 8 stored).
fn linux_ll(index: i32, hw: &[u8]) -> Vec<u8> {
    let mut sa = vec![0u8; 20];
    sa[0..2].copy_from_slice(&LINUX_AF_PACKET.to_ne_bytes());
    sa[2..4].copy_from_slice(&0x0003u16.to_be_bytes()); // ETH_P_ALL: not read
    sa[4..8].copy_from_slice(&index.to_ne_bytes());
    sa[8..10].copy_from_slice(&1u16.to_ne_bytes()); // ARPHRD_ETHER: not read
    sa[11] = hw.len() as u8;
    let n = hw.len().min(8);
    sa[12..12 + n].copy_from_slice(&hw[..n]);
    sa
}

/// BSD `sockaddr_in`, cut to `len` bytes (its `sin_len`).
fn bsd_in(addr: [u8; 4], len: u8) -> Vec<u8> {
    let mut sa = vec![0u8; 16];
    sa[0] = len;
    sa[1] = 2;
    sa[4..8].copy_from_slice(&addr);
    sa.truncate(usize::from(len));
    sa
}

/// BSD `sockaddr_in6` of family `af`, cut to `len` bytes (its `sin6_len`).
fn bsd_in6(af: u8, addr: Ipv6Addr, len: u8) -> Vec<u8> {
    let mut sa = vec![0u8; 28];
    sa[0] = len;
    sa[1] = af;
    sa[8..24].copy_from_slice(&addr.octets());
    sa.truncate(usize::from(len));
    sa
}

/// BSD `sockaddr_dl` of `size` bytes (20 on Darwin, 54 on FreeBSD, more
/// when name and address do not fit): `name`, then `hw`.
fn bsd_dl(size: usize, index: u16, name: &[u8], hw: &[u8]) -> Vec<u8> {
    let len = size.max(8 + name.len() + hw.len());
    let mut sa = vec![0u8; len];
    sa[0] = len as u8;
    sa[1] = BSD_AF_LINK;
    sa[2..4].copy_from_slice(&index.to_ne_bytes());
    sa[4] = 6; // IFT_ETHER: not read
    sa[5] = name.len() as u8;
    sa[6] = hw.len() as u8;
    sa[8..8 + name.len()].copy_from_slice(name);
    sa[8 + name.len()..8 + name.len() + hw.len()].copy_from_slice(hw);
    sa
}

fn v6(text: &str) -> Ipv6Addr {
    text.parse().unwrap()
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

fn read(addr: Vec<u8>, mask: Option<Vec<u8>>, layout: &Layout) -> EntryAddr {
    let entry = Entry {
        name: b"x".to_vec(),
        flags: 0,
        addr: Some(addr),
        netmask: mask,
    };
    entry_addr(&entry, layout)
}

fn link(index: u32, mac: Option<&[u8]>) -> EntryAddr {
    EntryAddr::Link {
        index,
        mac: mac.map(HardwareAddr::new),
    }
}

// ---------------------------------------------------------------------------
// Linux.

#[test]
fn linux_ip_entries_are_read_from_sockaddr_in_and_in6() {
    let l = &Layout::LINUX;
    let mask24 = linux_in([255, 255, 255, 0]);
    assert_eq!(
        read(linux_in([10, 0, 0, 2]), Some(mask24), l),
        EntryAddr::Ip(net("10.0.0.2/24"))
    );
    // No netmask: a host address.
    assert_eq!(
        read(linux_in([10, 0, 0, 2]), None, l),
        EntryAddr::Ip(net("10.0.0.2/32"))
    );
    let mask64 = linux_in6(v6("ffff:ffff:ffff:ffff::"));
    assert_eq!(
        read(linux_in6(v6("2001:db8::5")), Some(mask64), l),
        EntryAddr::Ip(net("2001:db8::5/64"))
    );
    assert_eq!(
        read(linux_in6(v6("2001:db8::5")), None, l),
        EntryAddr::Ip(net("2001:db8::5/128"))
    );
    // Linux leaves no scope in the address: fe80:4:: stays as it is.
    assert_eq!(
        read(linux_in6(v6("fe80:4::1")), None, l),
        EntryAddr::Ip(net("fe80:4::1/128"))
    );
}

#[test]
fn linux_link_entries_give_index_and_hardware_address() {
    let l = &Layout::LINUX;
    let mac = [2, 0, 0, 0, 0, 9];
    assert_eq!(read(linux_ll(7, &mac), None, l), link(7, Some(&mac)));
    // Loopback: six zero bytes are an address.
    assert_eq!(read(linux_ll(1, &[0; 6]), None, l), link(1, Some(&[0; 6])));
    // sll_halen 0: none.
    assert_eq!(read(linux_ll(7, &[]), None, l), link(7, None));
    // The whole of sll_addr.
    let eight = [1, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(read(linux_ll(7, &eight), None, l), link(7, Some(&eight)));
    // Longer than sll_addr (InfiniBand's 20): none, not cut short.
    assert_eq!(read(linux_ll(7, &[0xab; 9]), None, l), link(7, None));
    assert_eq!(read(linux_ll(7, &[0xab; 20]), None, l), link(7, None));
    // A negative index is none (looked up by name later).
    assert_eq!(read(linux_ll(-3, &mac), None, l), link(0, Some(&mac)));
    // A structure cut before sll_halen is not a link entry; one cut inside
    // sll_addr has no readable address.
    assert_eq!(
        read(linux_ll(7, &mac)[..11].to_vec(), None, l),
        EntryAddr::Other
    );
    assert_eq!(
        read(linux_ll(7, &mac)[..16].to_vec(), None, l),
        link(7, None)
    );
    // An entry without any address is a link without a hardware address.
    let bare = Entry {
        name: b"tun0".to_vec(),
        flags: 0,
        addr: None,
        netmask: None,
    };
    assert_eq!(entry_addr(&bare, l), link(0, None));
}

#[test]
fn entries_too_short_for_their_structure_are_ignored() {
    let l = &Layout::LINUX;
    assert_eq!(
        read(linux_in([10, 0, 0, 2])[..7].to_vec(), None, l),
        EntryAddr::Other
    );
    assert_eq!(
        read(linux_in6(v6("2001:db8::5"))[..23].to_vec(), None, l),
        EntryAddr::Other
    );
    assert_eq!(read(vec![2], None, l), EntryAddr::Other);
    assert_eq!(read(Vec::new(), None, l), EntryAddr::Other);
    // Just long enough.
    assert_eq!(
        read(linux_in([10, 0, 0, 2])[..8].to_vec(), None, l),
        EntryAddr::Ip(net("10.0.0.2/32"))
    );
    assert_eq!(
        read(linux_in6(v6("2001:db8::5"))[..24].to_vec(), None, l),
        EntryAddr::Ip(net("2001:db8::5/128"))
    );
    let d = &Layout::DARWIN;
    assert_eq!(read(bsd_dl(20, 4, b"en0", &[]), None, d), link(4, None));
    assert_eq!(
        read(bsd_dl(20, 4, b"en0", &[])[..6].to_vec(), None, d),
        EntryAddr::Other
    );
    assert_eq!(read(vec![1], None, d), EntryAddr::Other);
}

// ---------------------------------------------------------------------------
// BSD and macOS.

#[test]
fn bsd_ip_entries_carry_sa_len_and_trimmed_netmasks() {
    for (layout, af6) in [
        (&Layout::DARWIN, DARWIN_AF_INET6),
        (&Layout::FREEBSD, FREEBSD_AF_INET6),
    ] {
        let addr = || bsd_in([192, 168, 1, 20], 16);
        assert_eq!(
            read(addr(), Some(bsd_in([255, 255, 255, 0], 16)), layout),
            EntryAddr::Ip(net("192.168.1.20/24"))
        );
        // Trimmed: sa_len 6 keeps two bytes of mask, the rest is zero.
        assert_eq!(
            read(addr(), Some(bsd_in([255, 255, 0, 0], 6)), layout),
            EntryAddr::Ip(net("192.168.1.20/16"))
        );
        // Trimmed to nothing: /0.
        assert_eq!(
            read(addr(), Some(bsd_in([0; 4], 0)), layout),
            EntryAddr::Ip(net("192.168.1.20/0"))
        );
        assert_eq!(
            read(addr(), None, layout),
            EntryAddr::Ip(net("192.168.1.20/32"))
        );
        let a6 = || bsd_in6(af6, v6("2001:db8::7"), 28);
        assert_eq!(
            read(
                a6(),
                Some(bsd_in6(0, v6("ffff:ffff:ffff:ffff::"), 16)),
                layout
            ),
            EntryAddr::Ip(net("2001:db8::7/64"))
        );
        assert_eq!(
            read(a6(), None, layout),
            EntryAddr::Ip(net("2001:db8::7/128"))
        );
    }
}

#[test]
fn each_layout_reads_its_own_inet6_family_only() {
    // A FreeBSD sockaddr_in6 (28) means nothing to Darwin (30) and back.
    let freebsd = bsd_in6(FREEBSD_AF_INET6, v6("2001:db8::7"), 28);
    let darwin = bsd_in6(DARWIN_AF_INET6, v6("2001:db8::7"), 28);
    assert_eq!(
        read(freebsd.clone(), None, &Layout::DARWIN),
        EntryAddr::Other
    );
    assert_eq!(
        read(darwin.clone(), None, &Layout::FREEBSD),
        EntryAddr::Other
    );
    assert_eq!(
        read(freebsd, None, &Layout::FREEBSD),
        EntryAddr::Ip(net("2001:db8::7/128"))
    );
    // The family is sa_family's one byte after sa_len on BSD, the first two
    // bytes on Linux: each layout misreads the other's.
    assert_eq!(read(darwin, None, &Layout::LINUX), EntryAddr::Other);
    assert_eq!(
        read(linux_in6(v6("2001:db8::7")), None, &Layout::DARWIN),
        EntryAddr::Other
    );
}

#[test]
fn bsd_link_entries_give_index_and_hardware_address() {
    let mac = [0xa, 0xb, 0xc, 0xd, 0xe, 0xf];
    for (layout, size) in [(&Layout::DARWIN, 20), (&Layout::FREEBSD, 54)] {
        assert_eq!(
            read(bsd_dl(size, 4, b"en0", &mac), None, layout),
            link(4, Some(&mac))
        );
        // lo0: no link-layer address.
        assert_eq!(
            read(bsd_dl(size, 1, b"lo0", &[]), None, layout),
            link(1, None)
        );
        // A longer name moves the address along.
        assert_eq!(
            read(bsd_dl(size, 300, b"bridge100", &mac), None, layout),
            link(300, Some(&mac))
        );
        // No name at all: the address starts the data.
        assert_eq!(
            read(bsd_dl(size, 9, b"", &mac), None, layout),
            link(9, Some(&mac))
        );
    }
    // An address running past sdl_len (the bytes given) is not read.
    let cut = bsd_dl(20, 4, b"en0", &mac)[..14].to_vec();
    assert_eq!(read(cut, None, &Layout::DARWIN), link(4, None));
    // Exactly to the end is.
    let exact = bsd_dl(17, 4, b"en0", &mac);
    assert_eq!(exact.len(), 17);
    assert_eq!(read(exact, None, &Layout::DARWIN), link(4, Some(&mac)));
}

#[test]
fn link_entries_count_only_under_their_own_layout() {
    // A sockaddr_dl is no link entry on Linux, a sockaddr_ll none on BSD.
    let dl = bsd_dl(20, 4, b"en0", &[1, 2, 3, 4, 5, 6]);
    assert_eq!(read(dl, None, &Layout::LINUX), EntryAddr::Other);
    let mut ll_on_bsd = linux_ll(7, &[2, 0, 0, 0, 0, 9]);
    ll_on_bsd[0] = 20;
    ll_on_bsd[1] = LINUX_AF_PACKET as u8;
    assert_eq!(read(ll_on_bsd, None, &Layout::DARWIN), EntryAddr::Other);
    // The right family under the wrong link layer is none either.
    let packet_on_dl = Layout {
        link: Some(LinkLayer::Dl),
        ..Layout::LINUX
    };
    assert_eq!(
        read(linux_ll(7, &[2, 0, 0, 0, 0, 9]), None, &packet_on_dl),
        EntryAddr::Other
    );
    let dl_as_packet = Layout {
        link: Some(LinkLayer::Packet),
        ..Layout::DARWIN
    };
    assert_eq!(
        read(bsd_dl(20, 4, b"en0", &[]), None, &dl_as_packet),
        EntryAddr::Other
    );
    // A layout without link entries reads none, and an entry without an
    // address is nothing there or on BSD.
    let none = Layout {
        link: None,
        ..Layout::LINUX
    };
    assert_eq!(read(linux_ll(7, &[]), None, &none), EntryAddr::Other);
    for layout in [&none, &Layout::DARWIN] {
        assert_eq!(entry_addr(&Entry::default(), layout), EntryAddr::Other);
    }
}

#[test]
fn an_embedded_scope_is_cleared_from_link_local_addresses_only() {
    let d = &Layout::DARWIN;
    let af = DARWIN_AF_INET6;
    for (kernel, address) in [
        ("fe80:4::1", "fe80::1/128"),
        ("fe80:4:0:1::1", "fe80:0:0:1::1/128"),
        // fe80::/10 ends at febf.
        ("febf:1234::1", "febf::1/128"),
        // Not link-local: left alone.
        ("fec0:4::1", "fec0:4::1/128"),
        ("fe40:4::1", "fe40:4::1/128"),
        ("ff02:4::1", "ff02:4::1/128"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("7e80:4::1", "7e80:4::1/128"),
    ] {
        assert_eq!(
            read(bsd_in6(af, v6(kernel), 28), None, d),
            EntryAddr::Ip(net(address)),
            "{kernel}"
        );
    }
    // Only where the layout says so.
    let no_scope = Layout {
        embedded_scope: false,
        ..Layout::DARWIN
    };
    assert_eq!(
        read(bsd_in6(af, v6("fe80:4::1"), 28), None, &no_scope),
        EntryAddr::Ip(net("fe80:4::1/128"))
    );
}

// ---------------------------------------------------------------------------
// Flags.

#[test]
fn flags_map_from_each_platform_s_bits() {
    let linux = &Layout::LINUX.iff;
    assert_eq!(
        interface_flags(IFF_UP | IFF_LOOPBACK | IFF_RUNNING, linux),
        InterfaceFlags::UP | InterfaceFlags::LOOPBACK | InterfaceFlags::RUNNING
    );
    assert_eq!(
        interface_flags(
            IFF_POINTOPOINT | IFF_NOARP | IFF_PROMISC | LINUX_IFF_MULTICAST | IFF_BROADCAST,
            linux
        ),
        InterfaceFlags::POINT_TO_POINT
            | InterfaceFlags::NO_ARP
            | InterfaceFlags::PROMISC
            | InterfaceFlags::MULTICAST
            | InterfaceFlags::BROADCAST
    );
    assert_eq!(interface_flags(0, linux), InterfaceFlags::empty());
    // Bits a snapshot does not hold (IFF_DEBUG, IFF_ALLMULTI, …) are dropped.
    assert_eq!(
        interface_flags(0x4 | 0x200 | 0x2000, linux),
        InterfaceFlags::empty()
    );
    // IFF_MULTICAST differs: BSD's 0x8000 is nothing on Linux, and back.
    assert_eq!(
        interface_flags(BSD_IFF_MULTICAST, linux),
        InterfaceFlags::empty()
    );
    for bsd in [&Layout::DARWIN.iff, &Layout::FREEBSD.iff] {
        assert_eq!(
            interface_flags(BSD_IFF_MULTICAST | IFF_UP, bsd),
            InterfaceFlags::MULTICAST | InterfaceFlags::UP
        );
        assert_eq!(
            interface_flags(LINUX_IFF_MULTICAST, bsd),
            InterfaceFlags::empty()
        );
    }
    // Every flag alone, on both.
    for (bit, flag) in [
        (IFF_UP, InterfaceFlags::UP),
        (IFF_RUNNING, InterfaceFlags::RUNNING),
        (IFF_LOOPBACK, InterfaceFlags::LOOPBACK),
        (IFF_POINTOPOINT, InterfaceFlags::POINT_TO_POINT),
        (IFF_BROADCAST, InterfaceFlags::BROADCAST),
        (IFF_NOARP, InterfaceFlags::NO_ARP),
        (IFF_PROMISC, InterfaceFlags::PROMISC),
    ] {
        assert_eq!(interface_flags(bit, linux), flag);
        assert_eq!(interface_flags(bit, &Layout::DARWIN.iff), flag);
    }
}

// ---------------------------------------------------------------------------
// From entries to a snapshot.

/// Fixed answers for the lookups, and the names asked about.
#[derive(Default)]
struct Fake {
    indexes: BTreeMap<Vec<u8>, u32>,
    mtus: BTreeMap<Vec<u8>, u32>,
    failing_mtu: Option<Vec<u8>>,
    index_asked: Vec<Vec<u8>>,
}

impl Fake {
    fn with(mut self, name: &str, index: u32, mtu: u32) -> Self {
        self.indexes.insert(name.as_bytes().to_vec(), index);
        self.mtus.insert(name.as_bytes().to_vec(), mtu);
        self
    }
}

/// An MTU lookup's failure.
#[derive(Debug, PartialEq, Eq)]
struct Denied;

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("permission denied")
    }
}

impl std::error::Error for Denied {}

impl Lookups for Fake {
    type Error = Denied;
    fn index(&mut self, name: &[u8]) -> Option<u32> {
        self.index_asked.push(name.to_vec());
        self.indexes.get(name).copied()
    }
    fn mtu(&mut self, name: &[u8]) -> Result<Option<u32>, Denied> {
        if self.failing_mtu.as_deref() == Some(name) {
            return Err(Denied);
        }
        Ok(self.mtus.get(name).copied())
    }
}

fn entry(name: &str, flags: u32, addr: Option<Vec<u8>>, mask: Option<Vec<u8>>) -> Entry {
    Entry {
        name: name.as_bytes().to_vec(),
        flags,
        addr,
        netmask: mask,
    }
}

fn ll(name: &str, flags: u32, index: i32, hw: &[u8]) -> Entry {
    entry(name, flags, Some(linux_ll(index, hw)), None)
}

fn in4(name: &str, addr: [u8; 4], mask: [u8; 4]) -> Entry {
    entry(name, ETHER_UP, Some(linux_in(addr)), Some(linux_in(mask)))
}

#[test]
fn linux_entries_become_interfaces_with_their_addresses() {
    let mac = [2, 0, 0, 0, 0, 1];
    let entries = [
        ll("lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING, 1, &[0; 6]),
        ll("eth0", ETHER_UP, 2, &mac),
        entry(
            "lo",
            IFF_UP | IFF_LOOPBACK | IFF_RUNNING,
            Some(linux_in([127, 0, 0, 1])),
            Some(linux_in([255, 0, 0, 0])),
        ),
        in4("eth0", [10, 0, 0, 2], [255, 255, 255, 0]),
        entry(
            "eth0",
            ETHER_UP,
            Some(linux_in6(v6("fe80::1"))),
            Some(linux_in6(v6("ffff:ffff:ffff:ffff::"))),
        ),
    ];
    let mut fake = Fake::default().with("lo", 1, 65536).with("eth0", 2, 1500);
    let s = assemble(&entries, &Layout::LINUX, &mut fake).unwrap();
    assert_eq!(s.interfaces().len(), 2);
    let lo = s.by_index(1).unwrap();
    assert_eq!((lo.name.as_str(), lo.mtu), ("lo", 65536));
    assert!(lo.is_loopback() && lo.is_up());
    let eth0 = s.by_index(2).unwrap();
    assert_eq!((eth0.name.as_str(), eth0.mtu), ("eth0", 1500));
    assert_eq!(eth0.mac, Some(HardwareAddr::new(&mac)));
    assert_eq!(
        eth0.flags,
        InterfaceFlags::UP
            | InterfaceFlags::BROADCAST
            | InterfaceFlags::RUNNING
            | InterfaceFlags::MULTICAST
    );
    let nets: Vec<IpNet> = eth0.addrs.iter().map(|a| a.net).collect();
    assert_eq!(nets, [net("10.0.0.2/24"), net("fe80::1/64")]);
    assert!(eth0.addrs.iter().all(|a| a.flags.is_empty()));
    assert_eq!(s.default_routes(), &DefaultRoutes::default());
    // Both indexes came from the list: nothing was looked up.
    assert!(fake.index_asked.is_empty());
}

#[test]
fn bsd_entries_become_interfaces_with_their_addresses() {
    let mac = [0xa, 0xb, 0xc, 0xd, 0xe, 0xf];
    for (layout, af6, dl_size) in [
        (&Layout::DARWIN, DARWIN_AF_INET6, 20),
        (&Layout::FREEBSD, FREEBSD_AF_INET6, 54),
    ] {
        let up = IFF_UP | IFF_BROADCAST | IFF_RUNNING | BSD_IFF_MULTICAST;
        let entries = [
            entry("en0", up, Some(bsd_dl(dl_size, 4, b"en0", &mac)), None),
            entry(
                "en0",
                up,
                Some(bsd_in6(af6, v6("fe80:4::aede:48ff:fe00:1122"), 28)),
                Some(bsd_in6(0, v6("ffff:ffff:ffff:ffff::"), 16)),
            ),
            entry(
                "en0",
                up,
                Some(bsd_in([192, 168, 1, 20], 16)),
                Some(bsd_in([255, 255, 255, 0], 7)),
            ),
            // utun0: a tunnel with no link-layer address.
            entry(
                "utun0",
                IFF_UP | IFF_POINTOPOINT | IFF_RUNNING,
                Some(bsd_dl(dl_size, 9, b"utun0", &[])),
                None,
            ),
        ];
        let mut fake = Fake::default().with("en0", 4, 1500).with("utun0", 9, 1380);
        let s = assemble(&entries, layout, &mut fake).unwrap();
        let en0 = s.by_name("en0").unwrap();
        assert_eq!((en0.index, en0.mtu), (4, 1500));
        assert_eq!(en0.mac, Some(HardwareAddr::new(&mac)));
        assert!(en0
            .flags
            .contains(InterfaceFlags::MULTICAST | InterfaceFlags::UP));
        let nets: Vec<IpNet> = en0.addrs.iter().map(|a| a.net).collect();
        assert_eq!(
            nets,
            [net("192.168.1.20/24"), net("fe80::aede:48ff:fe00:1122/64")]
        );
        let utun0 = s.by_name("utun0").unwrap();
        assert_eq!((utun0.index, utun0.mtu, utun0.mac.clone()), (9, 1380, None));
        assert!(utun0.flags.contains(InterfaceFlags::POINT_TO_POINT));
    }
}

#[test]
fn linux_labels_and_links_without_an_address_are_placed() {
    let entries = [
        ll("eth0", ETHER_UP, 2, &[2, 0, 0, 0, 0, 1]),
        entry("tun0", IFF_UP | IFF_POINTOPOINT, None, None),
        in4("eth0", [10, 0, 0, 2], [255, 255, 255, 0]),
        in4("eth0:1", [10, 0, 0, 3], [255, 255, 255, 0]),
        in4("tun0", [10, 8, 0, 2], [255, 255, 255, 0]),
        in4("bogus", [10, 9, 0, 2], [255, 255, 255, 0]),
        // A label of a name that is no interface either.
        in4("bogus:1", [10, 9, 0, 3], [255, 255, 255, 0]),
    ];
    let mut fake = Fake::default().with("eth0", 2, 1500).with("tun0", 5, 1420);
    let s = assemble(&entries, &Layout::LINUX, &mut fake).unwrap();
    let eth0 = s.by_name("eth0").unwrap();
    let nets: Vec<IpNet> = eth0.addrs.iter().map(|a| a.net).collect();
    assert_eq!(
        nets,
        [net("10.0.0.2/24"), net("10.0.0.3/24")],
        "the eth0:1 alias belongs to eth0"
    );
    let tun0 = s.by_name("tun0").unwrap();
    assert_eq!((tun0.index, tun0.mtu, tun0.mac.clone()), (5, 1420, None));
    assert_eq!(tun0.addrs.len(), 1);
    assert_eq!(s.interfaces().len(), 2, "bogus and bogus:1 dropped");
}

#[test]
fn without_labels_a_colon_name_is_its_own() {
    // On BSD, `en0:1` is not en0's: it is placed only if it is an
    // interface of its own.
    let up = IFF_UP | IFF_RUNNING;
    let entries = [
        entry("en0", up, Some(bsd_dl(20, 4, b"en0", &[])), None),
        entry("en0:1", up, Some(bsd_in([10, 0, 0, 3], 16)), None),
    ];
    let mut fake = Fake::default().with("en0", 4, 1500);
    let s = assemble(&entries, &Layout::DARWIN, &mut fake).unwrap();
    assert_eq!(s.interfaces().len(), 1);
    assert!(s.by_name("en0").unwrap().addrs.is_empty());
    let mut fake = Fake::default().with("en0", 4, 1500).with("en0:1", 6, 1500);
    let s = assemble(&entries, &Layout::DARWIN, &mut fake).unwrap();
    assert_eq!(s.by_name("en0:1").unwrap().index, 6);
    // A label only goes to an interface that has a link-layer entry.
    let entries = [
        in4("eth0", [10, 0, 0, 2], [255, 255, 255, 0]),
        in4("eth0:1", [10, 0, 0, 3], [255, 255, 255, 0]),
    ];
    let mut fake = Fake::default().with("eth0", 2, 1500);
    let s = assemble(&entries, &Layout::LINUX, &mut fake).unwrap();
    assert_eq!(s.by_name("eth0").unwrap().addrs.len(), 1);
}

#[test]
fn an_interface_known_only_by_its_addresses_is_looked_up() {
    // No link-layer entries at all (a platform without them): the index
    // comes from the lookup, the flags from the address entry.
    let layout = Layout {
        link: None,
        ..Layout::LINUX
    };
    let entries = [entry(
        "net0",
        IFF_UP | IFF_RUNNING,
        Some(linux_in([10, 0, 0, 2])),
        Some(linux_in([255, 255, 0, 0])),
    )];
    let mut fake = Fake::default().with("net0", 3, 9000);
    let s = assemble(&entries, &layout, &mut fake).unwrap();
    let net0 = s.by_index(3).unwrap();
    assert_eq!((net0.name.as_str(), net0.mtu), ("net0", 9000));
    assert_eq!(net0.flags, InterfaceFlags::UP | InterfaceFlags::RUNNING);
    assert_eq!(net0.addrs[0].net, net("10.0.0.2/16"));
    assert_eq!(fake.index_asked, [b"net0".to_vec()]);
}

#[test]
fn the_list_s_index_wins_and_a_missing_one_is_looked_up() {
    let entries = [
        // The list says 7; the lookup would say 9: 7.
        ll("eth0", ETHER_UP, 7, &[]),
        // No index in the list (0, or none at all): looked up.
        ll("eth1", ETHER_UP, 0, &[]),
        entry("tun0", ETHER_UP, None, None),
    ];
    let mut fake = Fake::default()
        .with("eth0", 9, 1500)
        .with("eth1", 8, 1500)
        .with("tun0", 5, 1500);
    let s = assemble(&entries, &Layout::LINUX, &mut fake).unwrap();
    let indexes: Vec<(u32, &str)> = s
        .interfaces()
        .iter()
        .map(|i| (i.index, i.name.as_str()))
        .collect();
    assert_eq!(indexes, [(5, "tun0"), (7, "eth0"), (8, "eth1")]);
    assert_eq!(fake.index_asked, [b"eth1".to_vec(), b"tun0".to_vec()]);
    // A lookup answering 0 is no answer.
    let mut fake = Fake::default().with("tun0", 0, 1500);
    let e = assemble(&entries[2..], &Layout::LINUX, &mut fake).unwrap_err();
    assert!(matches!(e, AssembleError::Vanished { interface } if interface == "tun0"));
}

#[test]
fn a_link_listed_twice_keeps_what_either_entry_knew() {
    // The later entry's flags; the index and address from whichever has
    // them (a second entry without them takes nothing away).
    let mac = [2, 0, 0, 0, 0, 1];
    let entries = [
        ll("eth0", IFF_UP, 2, &mac),
        entry("eth0", IFF_UP | IFF_RUNNING, None, None),
    ];
    let mut fake = Fake::default().with("eth0", 9, 1500);
    let s = assemble(&entries, &Layout::LINUX, &mut fake).unwrap();
    let eth0 = s.by_name("eth0").unwrap();
    assert_eq!(eth0.index, 2);
    assert_eq!(eth0.mac, Some(HardwareAddr::new(&mac)));
    assert_eq!(eth0.flags, InterfaceFlags::UP | InterfaceFlags::RUNNING);
    // The other way round: the later entry brings index and address.
    let entries = [entries[1].clone(), entries[0].clone()];
    let s = assemble(&entries, &Layout::LINUX, &mut fake).unwrap();
    let eth0 = s.by_name("eth0").unwrap();
    assert_eq!(
        (eth0.index, eth0.mac.clone()),
        (2, Some(HardwareAddr::new(&mac)))
    );
    assert_eq!(eth0.flags, InterfaceFlags::UP);
}

#[test]
fn a_link_s_flags_beat_its_address_entries() {
    // An address entry listed before its link: the link's flags count.
    let entries = [
        entry("eth0", IFF_UP, Some(linux_in([10, 0, 0, 2])), None),
        ll("eth0", IFF_UP | IFF_RUNNING | IFF_PROMISC, 2, &[]),
    ];
    let mut fake = Fake::default().with("eth0", 2, 1500);
    let s = assemble(&entries, &Layout::LINUX, &mut fake).unwrap();
    assert_eq!(
        s.by_name("eth0").unwrap().flags,
        InterfaceFlags::UP | InterfaceFlags::RUNNING | InterfaceFlags::PROMISC
    );
}

#[test]
fn names_that_are_not_utf8_are_kept_escaped() {
    let entries = [Entry {
        name: b"eth\xff".to_vec(),
        flags: IFF_UP,
        addr: Some(linux_ll(3, &[])),
        netmask: None,
    }];
    let mut fake = Fake::default();
    fake.mtus.insert(b"eth\xff".to_vec(), 1500);
    let s = assemble(&entries, &Layout::LINUX, &mut fake).unwrap();
    assert_eq!(s.by_index(3).unwrap().name, "eth\\xff");
}

#[test]
fn a_table_that_changes_while_read_says_so() {
    // Listed, but gone before its MTU was read.
    let entries = [ll("eth0", ETHER_UP, 2, &[])];
    let e = assemble(&entries, &Layout::LINUX, &mut Fake::default()).unwrap_err();
    assert!(matches!(&e, AssembleError::Vanished { interface } if interface == "eth0"));
    // Listed without an index, and gone before it was looked up.
    let entries = [entry("tun0", 0, None, None)];
    let e = assemble(&entries, &Layout::LINUX, &mut Fake::default()).unwrap_err();
    assert!(matches!(&e, AssembleError::Vanished { interface } if interface == "tun0"));
    // Known only by an address, found, then gone before its MTU.
    let entries = [in4("eth9", [10, 0, 0, 2], [255; 4])];
    let mut fake = Fake::default();
    fake.indexes.insert(b"eth9".to_vec(), 9);
    let e = assemble(&entries, &Layout::LINUX, &mut fake).unwrap_err();
    assert!(matches!(&e, AssembleError::Vanished { interface } if interface == "eth9"));
    // Renamed between two calls: two names, one index.
    let entries = [ll("a", 0, 3, &[]), ll("b", 0, 3, &[])];
    let mut fake = Fake::default().with("a", 3, 1500).with("b", 3, 1500);
    let e = assemble(&entries, &Layout::LINUX, &mut fake).unwrap_err();
    assert!(matches!(
        e,
        AssembleError::Inconsistent(SnapshotError::DuplicateIndex(3))
    ));
}

#[test]
fn a_failed_mtu_lookup_is_an_error_naming_the_interface() {
    let entries = [ll("lo", IFF_UP, 1, &[]), ll("eth0", ETHER_UP, 2, &[])];
    let mut fake = Fake::default().with("lo", 1, 65536).with("eth0", 2, 1500);
    fake.failing_mtu = Some(b"eth0".to_vec());
    let e = assemble(&entries, &Layout::LINUX, &mut fake).unwrap_err();
    assert!(matches!(&e, AssembleError::Mtu { interface, error: Denied } if interface == "eth0"));
}

#[test]
fn errors_say_what_happened_and_keep_their_cause() {
    use std::error::Error as _;
    let vanished: AssembleError<Denied> = AssembleError::Vanished {
        interface: "eth0".into(),
    };
    assert_eq!(
        vanished.to_string(),
        "interface eth0 vanished while the table was read"
    );
    assert!(vanished.source().is_none());
    let mtu = AssembleError::Mtu {
        interface: "eth0".into(),
        error: Denied,
    };
    assert_eq!(
        mtu.to_string(),
        "cannot read the MTU of eth0: permission denied"
    );
    assert_eq!(mtu.source().unwrap().to_string(), "permission denied");
    let inconsistent: AssembleError<Denied> =
        AssembleError::Inconsistent(SnapshotError::DuplicateIndex(3));
    assert_eq!(
        inconsistent.to_string(),
        "the interface table changed while it was read: two interfaces have index 3"
    );
    assert_eq!(
        inconsistent.source().unwrap().to_string(),
        "two interfaces have index 3"
    );
}

#[test]
fn an_empty_list_is_an_empty_table() {
    let mut lookups = Infallibly;
    let s = assemble(&[], &Layout::LINUX, &mut lookups).unwrap();
    assert_eq!(s, Snapshot::empty());
}

/// Lookups that find nothing and cannot fail.
struct Infallibly;

impl Lookups for Infallibly {
    type Error = Infallible;
    fn index(&mut self, _: &[u8]) -> Option<u32> {
        None
    }
    fn mtu(&mut self, _: &[u8]) -> Result<Option<u32>, Infallible> {
        Ok(None)
    }
}

#[test]
fn the_named_layouts_are_their_headers() {
    assert_eq!(
        Layout::LINUX,
        Layout {
            sa_len: false,
            af_inet6: LINUX_AF_INET6,
            link: Some(LinkLayer::Packet),
            ipv4_labels: true,
            embedded_scope: false,
            iff: IffBits {
                up: IFF_UP,
                running: IFF_RUNNING,
                loopback: IFF_LOOPBACK,
                point_to_point: IFF_POINTOPOINT,
                multicast: LINUX_IFF_MULTICAST,
                broadcast: IFF_BROADCAST,
                no_arp: IFF_NOARP,
                promisc: IFF_PROMISC,
            },
        }
    );
    let bsd = |af_inet6: u8| Layout {
        sa_len: true,
        af_inet6: u16::from(af_inet6),
        link: Some(LinkLayer::Dl),
        ipv4_labels: false,
        embedded_scope: true,
        iff: IffBits {
            multicast: BSD_IFF_MULTICAST,
            ..Layout::LINUX.iff
        },
    };
    assert_eq!(Layout::DARWIN, bsd(DARWIN_AF_INET6));
    assert_eq!(Layout::FREEBSD, bsd(FREEBSD_AF_INET6));
}
