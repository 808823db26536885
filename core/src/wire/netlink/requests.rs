//! The requests of one enumeration, built with `netlink-packet-route`.
//!
//! * a link dump (`RTM_GETLINK`, `NLM_F_DUMP`) asking the kernel to skip
//!   statistics (`IFLA_EXT_MASK` = `RTEXT_FILTER_SKIP_STATS`), which are most
//!   of a link message and of no use here;
//! * an address dump (`RTM_GETADDR`, `NLM_F_DUMP`) of both families;
//! * for a targeted read, per interface, a link request for its index
//!   ([`link_get`]) and an address dump filtered by its index
//!   ([`addr_dump_of`]), which the kernel walks without visiting the other
//!   interfaces;
//! * per family, route lookups (`RTM_GETROUTE` without `NLM_F_DUMP`, with
//!   `RTA_DST` = a probe address on the internet): the kernel answers with
//!   the route it would use, after policy rules (a VPN's own table, a
//!   `not fwmark` rule), and an override such as OpenVPN's `0.0.0.0/1`, as
//!   `ip route get` does. [`route_get_fib_match`] asks for the matched FIB
//!   entry itself (`RTM_F_FIB_MATCH`, as `ip route get fibmatch`), whose
//!   prefix length tells a default route from a more specific route that
//!   covers the probe; [`route_get`] asks for the resolved route (the path
//!   of a multipath route). Which answer counts, and when the next of the
//!   probes ([`PROBES_V4`], [`PROBES_V6`]) is tried, is
//!   [`super::lookup`]'s rule. Each is one FIB lookup, so the cost does not
//!   grow with the routing table: no route dump, no `/proc/net/route` scan
//!   (a million-route BGP table drove another monitor to 150-300% CPU that
//!   way, Tailscale issue 7621). No packet is sent to any probe address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteFlags, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::lookup::RTM_F_FIB_MATCH;
use super::{AF_INET, AF_INET6};

/// The IPv4 addresses whose route stands for "the internet", in the order
/// they are tried: public resolvers, one in each `/2` block (`8.8.8.8`,
/// `77.88.8.8`, `149.112.112.112`, `208.67.222.222`), so that a route with
/// a prefix of 2 or more covers at most one of them. Nothing is sent to them.
pub const PROBES_V4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(8, 8, 8, 8),
    Ipv4Addr::new(77, 88, 8, 8),
    Ipv4Addr::new(149, 112, 112, 112),
    Ipv4Addr::new(208, 67, 222, 222),
];
/// The IPv6 addresses whose route stands for "the internet", in the order
/// they are tried: `2001:4860:4860::8888` in `2000::/4` and `3000::1` in
/// `3000::/4`, the two halves of the global unicast space `2000::/3` (a
/// route for `2000::/4` covers every `2xxx::` address). Nothing is sent to
/// them.
pub const PROBES_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888),
    Ipv6Addr::new(0x3000, 0, 0, 0, 0, 0, 0, 1),
];
/// The first IPv4 probe.
pub const PROBE_V4: Ipv4Addr = PROBES_V4[0];
/// The first IPv6 probe.
pub const PROBE_V6: Ipv6Addr = PROBES_V6[0];

fn encode(inner: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(inner));
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// A dump of every link, without statistics, with sequence number `seq`.
#[must_use]
pub fn link_dump(seq: u32) -> Vec<u8> {
    let mut m = LinkMessage::default();
    m.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    encode(
        RouteNetlinkMessage::GetLink(m),
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
    )
}

/// A dump of every address of both families, with sequence number `seq`.
#[must_use]
pub fn addr_dump(seq: u32) -> Vec<u8> {
    encode(
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
    )
}

/// A request for the one link with index `index` (`RTM_GETLINK` without
/// `NLM_F_DUMP`), without statistics, with sequence number `seq`: the
/// kernel answers with that link alone, or `ENODEV` when there is none.
#[must_use]
pub fn link_get(seq: u32, index: u32) -> Vec<u8> {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    encode(RouteNetlinkMessage::GetLink(m), NLM_F_REQUEST, seq)
}

/// A dump of the addresses of both families on interface `index`, with
/// sequence number `seq`. The kernel filters by index only on a socket with
/// `NETLINK_GET_STRICT_CHK` (Linux 4.20 and later); elsewhere it answers
/// every address, which the reader then drops.
#[must_use]
pub fn addr_dump_of(seq: u32, index: u32) -> Vec<u8> {
    let mut m = AddressMessage::default();
    m.header.index = index;
    encode(
        RouteNetlinkMessage::GetAddress(m),
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
    )
}

/// A lookup of the route the kernel would use towards `probe`, with
/// sequence number `seq`.
#[must_use]
pub fn route_get(seq: u32, probe: IpAddr) -> Vec<u8> {
    encode(
        RouteNetlinkMessage::GetRoute(lookup(probe, RouteFlags::empty())),
        NLM_F_REQUEST,
        seq,
    )
}

/// A lookup of the FIB entry the kernel matches for `probe`
/// (`RTM_F_FIB_MATCH`, as `ip route get fibmatch`), with sequence number
/// `seq`: the answer carries the entry's own prefix length.
#[must_use]
pub fn route_get_fib_match(seq: u32, probe: IpAddr) -> Vec<u8> {
    encode(
        RouteNetlinkMessage::GetRoute(lookup(probe, RouteFlags::from_bits_retain(RTM_F_FIB_MATCH))),
        NLM_F_REQUEST,
        seq,
    )
}

fn lookup(probe: IpAddr, flags: RouteFlags) -> RouteMessage {
    let mut m = RouteMessage::default();
    let (family, len) = match probe {
        IpAddr::V4(_) => (AF_INET, 32),
        IpAddr::V6(_) => (AF_INET6, 128),
    };
    m.header.address_family = AddressFamily::from(family);
    m.header.destination_prefix_length = len;
    m.header.flags = flags;
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(probe)));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::HEADER_LEN;

    fn header(b: &[u8]) -> (u32, u16, u16, u32) {
        (
            u32::from_ne_bytes(b[0..4].try_into().unwrap()),
            u16::from_ne_bytes(b[4..6].try_into().unwrap()),
            u16::from_ne_bytes(b[6..8].try_into().unwrap()),
            u32::from_ne_bytes(b[8..12].try_into().unwrap()),
        )
    }

    #[test]
    fn dumps_are_well_formed_requests() {
        let l = link_dump(7);
        assert_eq!(
            header(&l),
            (l.len() as u32, 18, NLM_F_REQUEST | NLM_F_DUMP, 7)
        );
        // ifinfomsg, then IFLA_EXT_MASK (29) holding RTEXT_FILTER_SKIP_STATS (8).
        let attr = &l[HEADER_LEN + 16..];
        assert_eq!(u16::from_ne_bytes([attr[2], attr[3]]), 29);
        assert_eq!(u32::from_ne_bytes(attr[4..8].try_into().unwrap()), 8);
        let a = addr_dump(8);
        assert_eq!(
            header(&a),
            (a.len() as u32, 22, NLM_F_REQUEST | NLM_F_DUMP, 8)
        );
    }

    #[test]
    fn targeted_requests_name_their_interface() {
        let l = link_get(3, 4_000_001);
        // A single link: no NLM_F_DUMP.
        assert_eq!(header(&l), (l.len() as u32, 18, NLM_F_REQUEST, 3));
        // ifinfomsg: family, pad, type, then the index.
        let index = u32::from_ne_bytes(l[HEADER_LEN + 4..HEADER_LEN + 8].try_into().unwrap());
        assert_eq!(index, 4_000_001);
        let attr = &l[HEADER_LEN + 16..];
        assert_eq!(u16::from_ne_bytes([attr[2], attr[3]]), 29, "IFLA_EXT_MASK");
        let a = addr_dump_of(4, 77);
        assert_eq!(
            header(&a),
            (a.len() as u32, 22, NLM_F_REQUEST | NLM_F_DUMP, 4)
        );
        // ifaddrmsg: family, prefix length, flags, scope, then the index;
        // the rest zero, as a strictly checking kernel requires.
        assert_eq!(&a[HEADER_LEN..HEADER_LEN + 4], &[0; 4]);
        let index = u32::from_ne_bytes(a[HEADER_LEN + 4..HEADER_LEN + 8].try_into().unwrap());
        assert_eq!(index, 77);
    }

    #[test]
    fn route_lookups_carry_the_probe_as_destination() {
        let r = route_get(9, IpAddr::V6(PROBE_V6));
        assert_eq!(header(&r), (r.len() as u32, 26, NLM_F_REQUEST, 9));
        let body = &r[HEADER_LEN..];
        assert_eq!(body[0], AF_INET6);
        assert_eq!(body[1], 128);
        // RTA_DST (1) with the 16 address bytes.
        let attr = &body[12..];
        assert_eq!(u16::from_ne_bytes([attr[0], attr[1]]), 20);
        assert_eq!(u16::from_ne_bytes([attr[2], attr[3]]), 1);
        assert_eq!(&attr[4..20], &PROBE_V6.octets());
        let r4 = route_get(10, IpAddr::V4(PROBE_V4));
        assert_eq!(r4[HEADER_LEN], AF_INET);
        assert_eq!(r4[HEADER_LEN + 1], 32);
        // rtm_flags: none for a plain lookup.
        assert_eq!(&r4[HEADER_LEN + 8..HEADER_LEN + 12], &[0; 4]);
    }

    #[test]
    fn a_fib_match_lookup_differs_only_by_its_flag() {
        for probe in PROBES_V4
            .map(IpAddr::V4)
            .into_iter()
            .chain(PROBES_V6.map(IpAddr::V6))
        {
            let plain = route_get(11, probe);
            let fib = route_get_fib_match(11, probe);
            assert_eq!(plain.len(), fib.len());
            // rtm_flags is the last field of the 12-byte rtmsg.
            let flags = |b: &[u8]| {
                u32::from_ne_bytes(b[HEADER_LEN + 8..HEADER_LEN + 12].try_into().unwrap())
            };
            assert_eq!(flags(&plain), 0);
            assert_eq!(flags(&fib), 0x2000, "RTM_F_FIB_MATCH");
            assert_eq!(plain[..HEADER_LEN + 8], fib[..HEADER_LEN + 8]);
            assert_eq!(plain[HEADER_LEN + 12..], fib[HEADER_LEN + 12..]);
        }
    }

    #[test]
    fn the_probes_are_spread_over_the_internet() {
        // v4: one in each /2 block, none special-purpose.
        let blocks: Vec<u8> = PROBES_V4.iter().map(|p| p.octets()[0] >> 6).collect();
        assert_eq!(blocks, [0, 1, 2, 3]);
        assert!(PROBES_V4.iter().all(|p| !p.is_private()
            && !p.is_loopback()
            && !p.is_multicast()
            && !p.is_documentation()
            && !p.is_broadcast()
            && !p.is_link_local()
            && !p.is_unspecified()));
        // v6: one in 2000::/4, one in 3000::/4.
        let nibbles: Vec<u16> = PROBES_V6.iter().map(|p| p.segments()[0] >> 12).collect();
        assert_eq!(nibbles, [2, 3]);
        assert_eq!((PROBE_V4, PROBE_V6), (PROBES_V4[0], PROBES_V6[0]));
    }
}
