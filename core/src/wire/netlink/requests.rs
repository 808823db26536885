//! The requests of one enumeration, written field by field from the
//! kernel's structures (`nlmsghdr`, `ifinfomsg`, `ifaddrmsg`, `rtmsg`,
//! `rtattr`) by this crate's own codec (see [`super`] for why; the
//! `netlink-packet-route` encoding of the same requests is checked equal,
//! byte for byte, in the tests).
//!
//! * a link dump (`RTM_GETLINK`, `NLM_F_DUMP`) with `IFLA_EXT_MASK` =
//!   `RTEXT_FILTER_SKIP_STATS`. The kernel reads that flag for the
//!   statistics of SR-IOV virtual functions only, which it then leaves out
//!   (on a NIC with many VFs they are most of its message); a link's own
//!   `IFLA_STATS` and `IFLA_STATS64` come whatever the flag (checked on
//!   Linux 6.18: a veth's record of 1,100 bytes carries both, 304 bytes,
//!   and `veth_get_stats64` is 3.7 % of a full read's CPU with 4,001
//!   interfaces). No request leaves them out of a link dump;
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

use super::lookup::RTM_F_FIB_MATCH;
use super::{align, AF_INET, AF_INET6, HEADER_LEN};

/// `NLM_F_REQUEST`: a request.
pub const NLM_F_REQUEST: u16 = 0x01;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`): every matching entry.
pub const NLM_F_DUMP: u16 = 0x300;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = 22;
/// `RTM_GETROUTE`.
pub const RTM_GETROUTE: u16 = 26;
/// `IFLA_EXT_MASK`: which extended link information to send.
const IFLA_EXT_MASK: u16 = 29;
/// `RTEXT_FILTER_SKIP_STATS`: leave out the statistics of SR-IOV virtual
/// functions (not the link's own: see the module docs).
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
/// `RTA_DST`: a route's destination.
const RTA_DST: u16 = 1;
/// `sizeof(struct ifinfomsg)`.
const IFINFOMSG_LEN: usize = 16;
/// `sizeof(struct ifaddrmsg)`.
const IFADDRMSG_LEN: usize = 8;
/// `sizeof(struct rtmsg)`.
const RTMSG_LEN: usize = 12;

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

/// One request: the header, the fixed part `fixed` and the attributes
/// `(type, value)`, each padded to the netlink alignment, in native byte
/// order; the port is 0 (the kernel fills in the sender's).
fn request(kind: u16, flags: u16, seq: u32, fixed: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let len = HEADER_LEN
        + align(fixed.len())
        + attrs.iter().map(|(_, v)| align(4 + v.len())).sum::<usize>();
    let mut m = Vec::with_capacity(len);
    // Every request here is under 100 bytes: the lengths fit their fields.
    m.extend((len as u32).to_ne_bytes());
    m.extend(kind.to_ne_bytes());
    m.extend(flags.to_ne_bytes());
    m.extend(seq.to_ne_bytes());
    m.extend(0u32.to_ne_bytes());
    m.extend(fixed);
    m.resize(HEADER_LEN + align(fixed.len()), 0);
    for (t, v) in attrs {
        m.extend(((4 + v.len()) as u16).to_ne_bytes());
        m.extend(t.to_ne_bytes());
        m.extend(*v);
        m.resize(align(m.len()), 0);
    }
    m
}

/// An `ifinfomsg` for interface `index` (0: any), family `AF_UNSPEC`.
fn ifinfomsg(index: u32) -> [u8; IFINFOMSG_LEN] {
    let mut b = [0; IFINFOMSG_LEN];
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b
}

/// An `ifaddrmsg` for interface `index` (0: any), family `AF_UNSPEC`.
fn ifaddrmsg(index: u32) -> [u8; IFADDRMSG_LEN] {
    let mut b = [0; IFADDRMSG_LEN];
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b
}

const SKIP_STATS: [u8; 4] = RTEXT_FILTER_SKIP_STATS.to_ne_bytes();

/// A dump of every link, without virtual functions' statistics, with
/// sequence number `seq`.
#[must_use]
pub fn link_dump(seq: u32) -> Vec<u8> {
    request(
        RTM_GETLINK,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        &ifinfomsg(0),
        &[(IFLA_EXT_MASK, &SKIP_STATS)],
    )
}

/// A dump of every address of both families, with sequence number `seq`.
#[must_use]
pub fn addr_dump(seq: u32) -> Vec<u8> {
    addr_dump_of(seq, 0)
}

/// A request for the one link with index `index` (`RTM_GETLINK` without
/// `NLM_F_DUMP`), without virtual functions' statistics, with sequence
/// number `seq`: the kernel answers with that link alone, or `ENODEV` when
/// there is none.
#[must_use]
pub fn link_get(seq: u32, index: u32) -> Vec<u8> {
    request(
        RTM_GETLINK,
        NLM_F_REQUEST,
        seq,
        &ifinfomsg(index),
        &[(IFLA_EXT_MASK, &SKIP_STATS)],
    )
}

/// A dump of the addresses of both families on interface `index`, with
/// sequence number `seq`. The kernel filters by index only on a socket with
/// `NETLINK_GET_STRICT_CHK` (Linux 4.20 and later); elsewhere it answers
/// every address, which the reader then drops.
#[must_use]
pub fn addr_dump_of(seq: u32, index: u32) -> Vec<u8> {
    request(
        RTM_GETADDR,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        &ifaddrmsg(index),
        &[],
    )
}

/// A lookup of the route the kernel would use towards `probe`, with
/// sequence number `seq`.
#[must_use]
pub fn route_get(seq: u32, probe: IpAddr) -> Vec<u8> {
    lookup(seq, probe, 0)
}

/// A lookup of the FIB entry the kernel matches for `probe`
/// (`RTM_F_FIB_MATCH`, as `ip route get fibmatch`), with sequence number
/// `seq`: the answer carries the entry's own prefix length.
#[must_use]
pub fn route_get_fib_match(seq: u32, probe: IpAddr) -> Vec<u8> {
    lookup(seq, probe, RTM_F_FIB_MATCH)
}

/// `RTM_GETROUTE` for `probe` with `rtm_flags`: an `rtmsg` of the probe's
/// family and full width (table, protocol, scope and type unspecified), and
/// `RTA_DST` = the probe.
fn lookup(seq: u32, probe: IpAddr, rtm_flags: u32) -> Vec<u8> {
    let mut rtmsg = [0; RTMSG_LEN];
    let (v4, v6);
    let dst: &[u8] = match probe {
        IpAddr::V4(a) => {
            (rtmsg[0], rtmsg[1]) = (AF_INET, 32);
            v4 = a.octets();
            &v4
        }
        IpAddr::V6(a) => {
            (rtmsg[0], rtmsg[1]) = (AF_INET6, 128);
            v6 = a.octets();
            &v6
        }
    };
    rtmsg[8..12].copy_from_slice(&rtm_flags.to_ne_bytes());
    request(RTM_GETROUTE, NLM_F_REQUEST, seq, &rtmsg, &[(RTA_DST, dst)])
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

    /// The same requests encoded by `netlink-packet-route` (the crate this
    /// codec replaced): equal byte for byte, for every probe, index and
    /// sequence number tried.
    #[test]
    fn every_request_is_what_netlink_packet_route_encodes() {
        use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
        use netlink_packet_route::address::AddressMessage;
        use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
        use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteFlags, RouteMessage};
        use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

        fn crate_encoded(inner: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
            let mut header = NetlinkHeader::default();
            header.flags = flags;
            header.sequence_number = seq;
            let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(inner));
            msg.finalize();
            let mut buf = vec![0; msg.buffer_len()];
            msg.serialize(&mut buf);
            buf
        }
        let link = |index: u32| {
            let mut m = LinkMessage::default();
            m.header.index = index;
            m.attributes
                .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
            RouteNetlinkMessage::GetLink(m)
        };
        let addrs = |index: u32| {
            let mut m = AddressMessage::default();
            m.header.index = index;
            RouteNetlinkMessage::GetAddress(m)
        };
        let lookup = |probe: IpAddr, flags: u32| {
            let mut m = RouteMessage::default();
            m.header.address_family = AddressFamily::from(match probe {
                IpAddr::V4(_) => AF_INET,
                IpAddr::V6(_) => AF_INET6,
            });
            m.header.destination_prefix_length = if probe.is_ipv4() { 32 } else { 128 };
            m.header.flags = RouteFlags::from_bits_retain(flags);
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(probe)));
            RouteNetlinkMessage::GetRoute(m)
        };
        let dump = NLM_F_REQUEST | NLM_F_DUMP;
        for seq in [0, 1, 77, u32::MAX] {
            assert_eq!(link_dump(seq), crate_encoded(link(0), dump, seq));
            assert_eq!(addr_dump(seq), crate_encoded(addrs(0), dump, seq));
            for index in [1, 4_000_001, u32::MAX] {
                assert_eq!(
                    link_get(seq, index),
                    crate_encoded(link(index), NLM_F_REQUEST, seq)
                );
                assert_eq!(
                    addr_dump_of(seq, index),
                    crate_encoded(addrs(index), dump, seq)
                );
            }
            for probe in PROBES_V4
                .map(IpAddr::V4)
                .into_iter()
                .chain(PROBES_V6.map(IpAddr::V6))
            {
                assert_eq!(
                    route_get(seq, probe),
                    crate_encoded(lookup(probe, 0), NLM_F_REQUEST, seq)
                );
                assert_eq!(
                    route_get_fib_match(seq, probe),
                    crate_encoded(lookup(probe, RTM_F_FIB_MATCH), NLM_F_REQUEST, seq)
                );
            }
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
