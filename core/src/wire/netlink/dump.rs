//! Collecting the replies of one enumeration into a [`Snapshot`].
//!
//! Link and address messages, the bulk of a dump, are read in place (only
//! the attributes a `Snapshot` uses); the route lookups' answers, done and
//! error messages go through `netlink-packet-route`'s types. Reading links
//! in place halved enumeration time with 400 interfaces (see `link_in_place`).
//!
//! The caller sends the requests of [`super::requests`] one at a time and
//! feeds every datagram it receives to [`SnapshotCollector::feed`] with the
//! stage and the request's sequence number, until it answers
//! [`Progress::Done`]; then [`SnapshotCollector::finish`] gives the snapshot.
//!
//! Replies with another sequence number (left over from an earlier attempt)
//! are skipped. A dump the kernel marks interrupted (`NLM_F_DUMP_INTR`: the
//! table changed while it was being read) is an error,
//! [`DumpError::Interrupted`], and so is a result that mixes two states (an
//! address or the default route on an interface the link dump did not have):
//! the caller starts the whole enumeration again.

use core::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteType, RouteVia,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::attrs::{for_each_attr, u32_at};
use super::{align, AF_INET, AF_INET6, HEADER_LEN, NLM_F_DUMP_INTR, RTM_NEWADDR, RTM_NEWLINK};
use crate::flags::{AddrFlags, InterfaceFlags};
use crate::snapshot::{
    Address, DefaultRoute, DefaultRoutes, HardwareAddr, Interface, Snapshot, SnapshotError,
};

/// Which request the datagrams answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The link dump.
    Links,
    /// The address dump.
    Addrs,
    /// The IPv4 route lookup.
    RouteV4,
    /// The IPv6 route lookup.
    RouteV6,
}

/// Whether a stage is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Keep receiving.
    More,
    /// The stage's answer is complete.
    Done,
}

/// Why an enumeration's replies do not give a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DumpError {
    /// The kernel marked the dump interrupted, or lost part of it: the
    /// table changed while being read. Enumerate again.
    Interrupted,
    /// The kernel refused the request with this errno.
    Kernel(i32),
    /// A reply could not be parsed (the text says what).
    Malformed(&'static str),
    /// The replies mix two states (the text says how). Enumerate again.
    Inconsistent(&'static str),
    /// The interfaces do not form a snapshot (a repeated index or name).
    Snapshot(SnapshotError),
}

impl DumpError {
    /// Whether enumerating again is likely to succeed (the state changed
    /// while it was being read).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DumpError::Interrupted | DumpError::Inconsistent(_) | DumpError::Snapshot(_)
        )
    }
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpError::Interrupted => {
                f.write_str("netlink dump interrupted by a concurrent change")
            }
            DumpError::Kernel(errno) => write!(f, "kernel refused the request (errno {errno})"),
            DumpError::Malformed(what) => write!(f, "malformed netlink reply: {what}"),
            DumpError::Inconsistent(what) => write!(f, "inconsistent netlink replies: {what}"),
            DumpError::Snapshot(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DumpError {}

/// errnos a route lookup answers when there is no usable route: then the
/// family simply has no default route.
const NO_ROUTE_ERRNOS: [i32; 5] = [
    101, // ENETUNREACH
    113, // EHOSTUNREACH
    13,  // EACCES (prohibit)
    1,   // EPERM (prohibit)
    22,  // EINVAL (the family is disabled)
];

/// Gathers the replies of one enumeration.
#[derive(Debug, Default)]
pub struct SnapshotCollector {
    links: Vec<Interface>,
    addrs: Vec<(u32, Address)>,
    v4: Option<(u32, Option<IpAddr>)>,
    v6: Option<(u32, Option<IpAddr>)>,
}

impl SnapshotCollector {
    /// An empty collector.
    #[must_use]
    pub fn new() -> Self {
        SnapshotCollector::default()
    }

    /// Feeds one received datagram answering `stage`'s request `seq`.
    pub fn feed(&mut self, stage: Stage, seq: u32, datagram: &[u8]) -> Result<Progress, DumpError> {
        let mut rest = datagram;
        let mut progress = Progress::More;
        while rest.len() >= HEADER_LEN {
            let framed = NetlinkBuffer::new_checked(rest)
                .map_err(|_| DumpError::Malformed("netlink header length"))?;
            let len = framed.length() as usize;
            let (this, flags, this_seq) = (&rest[..len], framed.flags(), framed.sequence_number());
            rest = rest.get(align(len)..).unwrap_or(&[]);
            if this_seq != seq {
                continue;
            }
            if flags & NLM_F_DUMP_INTR != 0 {
                return Err(DumpError::Interrupted);
            }
            // The bulk of a dump, links and addresses, is read in place.
            let body = &this[HEADER_LEN..];
            match (stage, framed.message_type()) {
                (Stage::Links, RTM_NEWLINK) => {
                    self.links.push(link_in_place(body)?);
                    continue;
                }
                (Stage::Addrs, RTM_NEWADDR) => {
                    if let Some(found) = address_in_place(body)? {
                        self.addrs.push(found);
                    }
                    continue;
                }
                _ => {}
            }
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(this)
                .map_err(|_| DumpError::Malformed("netlink message"))?;
            match msg.payload {
                NetlinkPayload::Done(done) => {
                    if done.code != 0 {
                        // Saturating: a code of i32::MIN has no negation.
                        return Err(DumpError::Kernel(done.code.saturating_neg()));
                    }
                    progress = Progress::Done;
                }
                NetlinkPayload::Error(e) => {
                    let errno = e.code.map_or(0, |c| c.get().saturating_neg());
                    let is_lookup = matches!(stage, Stage::RouteV4 | Stage::RouteV6);
                    if errno == 0 || (is_lookup && NO_ROUTE_ERRNOS.contains(&errno)) {
                        progress = Progress::Done;
                    } else {
                        return Err(DumpError::Kernel(errno));
                    }
                }
                NetlinkPayload::Overrun(_) => return Err(DumpError::Interrupted),
                NetlinkPayload::InnerMessage(inner) => {
                    if let Some(done) = self.inner(stage, inner)? {
                        progress = done;
                    }
                }
                _ => {}
            }
        }
        if !rest.is_empty() {
            return Err(DumpError::Malformed(
                "trailing bytes after the last message",
            ));
        }
        Ok(progress)
    }

    fn inner(
        &mut self,
        stage: Stage,
        inner: RouteNetlinkMessage,
    ) -> Result<Option<Progress>, DumpError> {
        match (stage, inner) {
            (Stage::RouteV4 | Stage::RouteV6, RouteNetlinkMessage::NewRoute(m)) => {
                let route = lookup_result(&m);
                if stage == Stage::RouteV4 {
                    self.v4 = route;
                } else {
                    self.v6 = route;
                }
                // A lookup is answered by a single message.
                Ok(Some(Progress::Done))
            }
            _ => Ok(None),
        }
    }

    /// The snapshot the replies describe.
    pub fn finish(self) -> Result<Snapshot, DumpError> {
        let mut links = self.links;
        links.sort_unstable_by_key(|i| i.index);
        for (index, addr) in self.addrs {
            let Ok(pos) = links.binary_search_by_key(&index, |i| i.index) else {
                return Err(DumpError::Inconsistent(
                    "an address on an interface the link dump did not list",
                ));
            };
            links[pos].addrs.push(addr);
        }
        let route = |r: Option<(u32, Option<IpAddr>)>| -> Result<Option<DefaultRoute>, DumpError> {
            let Some((index, gateway)) = r else {
                return Ok(None);
            };
            let pos = links
                .binary_search_by_key(&index, |i| i.index)
                .map_err(|_| {
                    DumpError::Inconsistent(
                        "the default route uses an interface the link dump did not list",
                    )
                })?;
            Ok(Some(DefaultRoute {
                index,
                interface: links[pos].name.clone(),
                gateway,
            }))
        };
        let routes = DefaultRoutes {
            v4: route(self.v4)?,
            v6: route(self.v6)?,
        };
        Snapshot::new(links, routes).map_err(DumpError::Snapshot)
    }
}

/// Maps the kernel's `IFF_*` bits to [`InterfaceFlags`].
#[must_use]
pub fn interface_flags(iff: u32) -> InterfaceFlags {
    const MAP: [(u32, InterfaceFlags); 8] = [
        (0x1, InterfaceFlags::UP),
        (0x2, InterfaceFlags::BROADCAST),
        (0x8, InterfaceFlags::LOOPBACK),
        (0x10, InterfaceFlags::POINT_TO_POINT),
        (0x40, InterfaceFlags::RUNNING),
        (0x80, InterfaceFlags::NO_ARP),
        (0x100, InterfaceFlags::PROMISC),
        (0x1000, InterfaceFlags::MULTICAST),
    ];
    let mut flags = InterfaceFlags::empty();
    for (bit, flag) in MAP {
        flags.set(flag, iff & bit != 0);
    }
    flags
}

/// Maps the kernel's `IFA_F_*` bits to [`AddrFlags`]. `IFA_F_SECONDARY`
/// shares its bit with `IFA_F_TEMPORARY` and means "temporary" only for IPv6.
#[must_use]
pub fn addr_flags(ifa: u32, ipv6: bool) -> AddrFlags {
    let mut flags = AddrFlags::empty();
    flags.set(AddrFlags::TEMPORARY, ipv6 && ifa & 0x01 != 0);
    flags.set(AddrFlags::DAD_FAILED, ifa & 0x08 != 0);
    flags.set(AddrFlags::DEPRECATED, ifa & 0x20 != 0);
    flags.set(AddrFlags::TENTATIVE, ifa & 0x40 != 0);
    flags.set(AddrFlags::PERMANENT, ifa & 0x80 != 0);
    flags
}

/// An `RTM_NEWLINK` body (`ifinfomsg` + attributes) read in place: the
/// index and flags, and of the attributes only `IFLA_IFNAME`, `IFLA_MTU`
/// and `IFLA_ADDRESS`. `netlink-packet-route` decodes every attribute into
/// owned values (tens of them per link), which was about half of an
/// enumeration's time with 400 interfaces (`cargo run --release -p
/// netstate-bench --bin enumeration`); this reads three.
fn link_in_place(body: &[u8]) -> Result<Interface, DumpError> {
    const IFLA_ADDRESS: u16 = 1;
    const IFLA_IFNAME: u16 = 3;
    const IFLA_MTU: u16 = 4;
    let short = DumpError::Malformed("a link message shorter than its header");
    let (Some(index), Some(iff)) = (u32_at(body, 4), u32_at(body, 8)) else {
        return Err(short);
    };
    let mut iface = Interface::new(index, String::new());
    iface.flags = interface_flags(iff);
    let mut name: Option<Result<&str, ()>> = None;
    let well_formed = for_each_attr(body.get(16..).unwrap_or(&[]), |kind, value| match kind {
        IFLA_IFNAME => {
            let raw = value.split(|b| *b == 0).next().unwrap_or(&[]);
            name = Some(std::str::from_utf8(raw).map_err(|_| ()));
        }
        IFLA_MTU => iface.mtu = u32_at(value, 0).unwrap_or(0),
        IFLA_ADDRESS if !value.is_empty() => iface.mac = Some(HardwareAddr::new(value)),
        _ => {}
    });
    if !well_formed || body.len() < 16 {
        return Err(DumpError::Malformed("a link attribute length"));
    }
    match name {
        Some(Ok(n)) if !n.is_empty() => iface.name = n.to_owned(),
        Some(Err(())) => return Err(DumpError::Malformed("a link name that is not UTF-8")),
        _ => return Err(DumpError::Malformed("a link without a name")),
    }
    Ok(iface)
}

/// An `RTM_NEWADDR` body (`ifaddrmsg` + attributes) read in place: the
/// interface index and the address with its flags, or `None` for a family
/// other than IPv4 and IPv6.
fn address_in_place(body: &[u8]) -> Result<Option<(u32, Address)>, DumpError> {
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    const IFA_FLAGS: u16 = 8;
    let (Some(&family), Some(&prefix), Some(&legacy_flags), Some(index)) =
        (body.first(), body.get(1), body.get(2), u32_at(body, 4))
    else {
        return Err(DumpError::Malformed(
            "an address message shorter than its header",
        ));
    };
    let width = match family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => return Ok(None),
    };
    let ip_of = |v: &[u8]| -> Option<IpAddr> {
        match (width, v.len()) {
            (4, 4) => Some(IpAddr::from([v[0], v[1], v[2], v[3]])),
            (16, 16) => {
                let mut o = [0u8; 16];
                o.copy_from_slice(v);
                Some(IpAddr::from(o))
            }
            _ => None,
        }
    };
    let (mut local, mut addr, mut flags) = (None, None, u32::from(legacy_flags));
    let well_formed = for_each_attr(body.get(8..).unwrap_or(&[]), |kind, value| match kind {
        IFA_LOCAL => local = ip_of(value),
        IFA_ADDRESS => addr = ip_of(value),
        IFA_FLAGS => flags = u32_at(value, 0).unwrap_or(flags),
        _ => {}
    });
    if !well_formed {
        return Err(DumpError::Malformed("an address attribute length"));
    }
    // For IPv4, IFA_LOCAL is the interface's own address and IFA_ADDRESS
    // the peer's on a point-to-point link; IPv6 has only IFA_ADDRESS.
    let Some(ip) = local.or(addr) else {
        return Err(DumpError::Malformed(
            "an address message without an address",
        ));
    };
    let net =
        IpNet::new(ip, prefix).map_err(|_| DumpError::Malformed("a prefix length too long"))?;
    Ok(Some((
        index,
        Address::new(net).with_flags(addr_flags(flags, family == AF_INET6)),
    )))
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// The interface and gateway of a route lookup's answer, if it is a usable
/// unicast route.
fn lookup_result(m: &RouteMessage) -> Option<(u32, Option<IpAddr>)> {
    if m.header.kind != RouteType::Unicast {
        return None;
    }
    let mut oif = None;
    let mut gateway = None;
    for a in &m.attributes {
        match a {
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Gateway(g) => gateway = route_ip(g),
            RouteAttribute::Via(RouteVia::Inet(v4)) => gateway = Some(IpAddr::V4(*v4)),
            RouteAttribute::Via(RouteVia::Inet6(v6)) => gateway = Some(IpAddr::V6(*v6)),
            _ => {}
        }
    }
    Some((oif?, gateway))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::fixtures::*;
    use crate::wire::netlink::{NLMSG_DONE, NLMSG_ERROR, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE};

    const UP_RUNNING: u32 = 0x1 | 0x40 | 0x1000 | 0x2;

    fn links(seq: u32) -> Vec<u8> {
        let mut d = multi(
            RTM_NEWLINK,
            seq,
            &link_body(1, 0x1 | 0x8 | 0x40, Some("lo"), Some(65536), Some(&[0; 6])),
        );
        d.extend(multi(
            RTM_NEWLINK,
            seq,
            &link_body(
                3,
                UP_RUNNING,
                Some("veth0"),
                Some(1500),
                Some(&[2, 0, 0, 0, 0, 3]),
            ),
        ));
        d.extend(multi(NLMSG_DONE, seq, &0i32.to_ne_bytes()));
        d
    }

    fn addrs(seq: u32) -> Vec<u8> {
        let mut d = multi(
            RTM_NEWADDR,
            seq,
            &addr_body(AF_INET, 24, 0x80, 3, &[10, 9, 0, 2], None),
        );
        d.extend(multi(
            RTM_NEWADDR,
            seq,
            &addr_body(
                AF_INET6,
                64,
                0x80,
                3,
                &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                Some(0x80 | 0x40),
            ),
        ));
        d.extend(multi(
            RTM_NEWADDR,
            seq,
            &addr_body(AF_INET, 8, 0x80, 1, &[127, 0, 0, 1], None),
        ));
        d.extend(multi(NLMSG_DONE, seq, &0i32.to_ne_bytes()));
        d
    }

    fn lookup(seq: u32, family: u8, oif: u32, gw: &[u8]) -> Vec<u8> {
        let mut body = route_body(
            family,
            if family == AF_INET { 32 } else { 128 },
            254,
            Some(oif),
            Some(gw),
            Some(254),
        );
        body[6] = 0; // scope universe
        message(RTM_NEWROUTE, 0, seq, &body)
    }

    fn error(seq: u32, errno: i32) -> Vec<u8> {
        let mut body = (-errno).to_ne_bytes().to_vec();
        body.extend(&[0u8; 16]); // the request's header, echoed
        message(NLMSG_ERROR, 0, seq, &body)
    }

    #[test]
    fn replies_become_a_snapshot() {
        let mut c = SnapshotCollector::new();
        assert_eq!(c.feed(Stage::Links, 1, &links(1)), Ok(Progress::Done));
        assert_eq!(c.feed(Stage::Addrs, 2, &addrs(2)), Ok(Progress::Done));
        assert_eq!(
            c.feed(Stage::RouteV4, 3, &lookup(3, AF_INET, 3, &[10, 9, 0, 1])),
            Ok(Progress::Done)
        );
        assert_eq!(
            c.feed(Stage::RouteV6, 4, &error(4, 101)),
            Ok(Progress::Done)
        );
        let s = c.finish().unwrap();
        assert_eq!(s.interfaces().len(), 2);
        let lo = s.by_name("lo").unwrap();
        assert!(lo.is_loopback() && lo.is_up());
        assert_eq!(lo.mtu, 65536);
        let v = s.by_index(3).unwrap();
        assert_eq!(v.name, "veth0");
        assert_eq!(
            v.mac.as_ref().map(ToString::to_string).as_deref(),
            Some("02:00:00:00:00:03")
        );
        assert!(v
            .flags
            .contains(InterfaceFlags::RUNNING | InterfaceFlags::MULTICAST));
        assert_eq!(v.addrs.len(), 2);
        assert_eq!(v.addrs[0].net.to_string(), "10.9.0.2/24");
        assert_eq!(
            v.addrs[1].flags,
            AddrFlags::PERMANENT | AddrFlags::TENTATIVE,
            "IFA_FLAGS wins"
        );
        let r = s.default_routes().v4.as_ref().unwrap();
        assert_eq!((r.index, r.interface.as_str()), (3, "veth0"));
        assert_eq!(r.gateway, Some("10.9.0.1".parse().unwrap()));
        assert!(s.default_routes().v6.is_none());
        assert!(s.have_v4());
    }

    #[test]
    fn replies_to_other_requests_are_skipped() {
        let mut c = SnapshotCollector::new();
        assert_eq!(c.feed(Stage::Links, 5, &links(4)), Ok(Progress::More));
        assert_eq!(c.feed(Stage::Links, 5, &links(5)), Ok(Progress::Done));
        assert_eq!(c.finish().unwrap().interfaces().len(), 2);
    }

    #[test]
    fn an_interrupted_dump_is_an_error() {
        let mut d = links(1);
        d[6..8].copy_from_slice(&(super::super::NLM_F_MULTI | NLM_F_DUMP_INTR).to_ne_bytes());
        let mut c = SnapshotCollector::new();
        let e = c.feed(Stage::Links, 1, &d).unwrap_err();
        assert_eq!(e, DumpError::Interrupted);
        assert!(e.is_transient());
    }

    #[test]
    fn a_kernel_error_on_a_dump_is_typed() {
        let mut c = SnapshotCollector::new();
        assert_eq!(
            c.feed(Stage::Addrs, 2, &error(2, 16)),
            Err(DumpError::Kernel(16))
        );
        let mut done = multi(NLMSG_DONE, 3, &(-4i32).to_ne_bytes());
        done.truncate(20);
        assert_eq!(c.feed(Stage::Links, 3, &done), Err(DumpError::Kernel(4)));
    }

    #[test]
    fn addresses_or_routes_on_unknown_interfaces_are_inconsistent() {
        let mut c = SnapshotCollector::new();
        c.feed(Stage::Links, 1, &links(1)).unwrap();
        c.feed(
            Stage::Addrs,
            2,
            &multi(
                RTM_NEWADDR,
                2,
                &addr_body(AF_INET, 24, 0, 9, &[10, 0, 0, 1], None),
            ),
        )
        .unwrap();
        assert!(matches!(c.finish(), Err(DumpError::Inconsistent(_))));
        let mut c = SnapshotCollector::new();
        c.feed(Stage::Links, 1, &links(1)).unwrap();
        c.feed(Stage::RouteV4, 3, &lookup(3, AF_INET, 42, &[10, 0, 0, 1]))
            .unwrap();
        assert!(matches!(c.finish(), Err(DumpError::Inconsistent(_))));
    }

    #[test]
    fn duplicate_links_are_rejected() {
        let mut c = SnapshotCollector::new();
        let mut d = multi(RTM_NEWLINK, 1, &link_body(3, 1, Some("a"), None, None));
        d.extend(multi(
            RTM_NEWLINK,
            1,
            &link_body(3, 1, Some("b"), None, None),
        ));
        c.feed(Stage::Links, 1, &d).unwrap();
        assert_eq!(
            c.finish().unwrap_err(),
            DumpError::Snapshot(SnapshotError::DuplicateIndex(3))
        );
    }

    #[test]
    fn truncated_replies_are_malformed_not_panics() {
        let d = links(1);
        for cut in [1, 15, 17, 40, d.len() - 1] {
            let mut c = SnapshotCollector::new();
            let r = c.feed(Stage::Links, 1, &d[..cut]);
            assert!(
                matches!(r, Err(DumpError::Malformed(_))),
                "cut at {cut}: {r:?}"
            );
        }
    }

    #[test]
    fn a_lookup_answered_by_a_local_or_unreachable_route_is_no_default_route() {
        let mut unreachable = route_body(AF_INET, 32, 254, None, None, None);
        unreachable[7] = 7; // RTN_UNREACHABLE
        let mut c = SnapshotCollector::new();
        c.feed(Stage::Links, 1, &links(1)).unwrap();
        let d = message(RTM_NEWROUTE, 0, 2, &unreachable);
        assert_eq!(c.feed(Stage::RouteV4, 2, &d), Ok(Progress::Done));
        assert!(c.finish().unwrap().default_routes().v4.is_none());
    }
}
