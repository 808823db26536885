//! Collecting the replies of one enumeration into a [`Snapshot`].
//!
//! Every message is read in place by this crate's own codec (see [`super`]):
//! links and addresses, the bulk of a dump, for only the attributes a
//! `Snapshot` uses; the route lookups' answers by
//! [`RouteAnswer::parse`]; done, error and overrun messages by their
//! fixed fields. Reading links in place halved enumeration time with 400
//! interfaces (see `link_in_place`).
//!
//! [`super::conversation::Conversation`] sends the requests of
//! [`super::requests`] one at a time and feeds every datagram it receives
//! to [`SnapshotCollector::feed`] with the stage and the request's sequence
//! number, until it answers [`Progress::Done`]; then
//! [`SnapshotCollector::finish`] gives the snapshot.
//! A route lookup's answer is read as the default route of its family; the
//! answer to a FIB-match lookup is then judged by
//! [`SnapshotCollector::judge_fib_match`] (the rule of [`super::lookup`]:
//! a more specific route covering the probe is not the default route).
//!
//! Replies with another sequence number (left over from an earlier attempt)
//! are skipped. A dump the kernel marks interrupted (`NLM_F_DUMP_INTR`: the
//! table changed while it was being read) is still read to its end (the
//! kernel refuses a new dump on the socket with `EBUSY` until the old one is
//! read to `NLMSG_DONE`), and then is an error, [`DumpError::Interrupted`];
//! so is a result that mixes two states (an address or the default route on
//! an interface the link dump did not have): the caller starts the whole
//! enumeration again.
//!
//! **One odd record never fails the read.** A link or address message that
//! cannot be used (an attribute whose length is wrong, a link without a name,
//! an address without an address) is skipped and counted
//! ([`SnapshotCollector::skipped`]); the addresses and default route of a
//! skipped link are dropped with it. A name that is not UTF-8 is not odd:
//! Linux names are bytes, kept with the escape of [`crate::ifname`]. Only a
//! message whose header cannot be framed ends the datagram with
//! [`DumpError::Malformed`], since nothing after it can be found.

use core::fmt;
use std::net::IpAddr;

use super::attrs::{for_each_attr, frame, i32_at, u32_at};
use super::lookup::{verdict, LookupAnswer, RouteAnswer, Verdict};
use super::{
    AF_INET, AF_INET6, HEADER_LEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, NLM_F_DUMP_INTR,
    RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE,
};
use crate::flags::{AddrFlags, InterfaceFlags};
use crate::refresh::{Refresh, RouteHop, RouteHops, Targets};
use crate::snapshot::{
    Address, DefaultRoute, DefaultRoutes, HardwareAddr, Interface, Snapshot, SnapshotError,
};
use ipnet::IpNet;

/// Which request the datagrams answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The link dump.
    Links,
    /// The request for one link ([`super::requests::link_get`]): its answer
    /// is one link message, or `ENODEV` when the link is gone.
    Link,
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
    /// Sending a request or receiving its answer failed with this errno
    /// (`ETIMEDOUT` for a reply that did not come in time); see
    /// [`super::conversation::Conversation::handle_socket_error`].
    Socket(i32),
}

impl DumpError {
    /// Whether enumerating again is likely to succeed (the state changed
    /// while it was being read).
    #[must_use]
    ///
    /// `EBUSY` from the kernel is transient too: it refuses a dump while an
    /// earlier one on the same socket is unfinished, which a fresh socket
    /// or reading the old dump to its end cures; it is never a reason to
    /// back off.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DumpError::Interrupted
                | DumpError::Inconsistent(_)
                | DumpError::Snapshot(_)
                | DumpError::Kernel(EBUSY)
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
            DumpError::Socket(errno) => write!(f, "netlink socket failed (errno {errno})"),
        }
    }
}

impl std::error::Error for DumpError {}

/// The kernel's "a dump is already running on this socket".
const EBUSY: i32 = 16;
/// The kernel's "no such device": the link asked for is gone.
const ENODEV: i32 = 19;

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
    /// Records skipped because they could not be used.
    skipped: u32,
    /// Indexes of the links skipped: their addresses and routes go too.
    skipped_links: Vec<u32>,
    /// The dump being read was marked interrupted: read on to its end, then
    /// report [`DumpError::Interrupted`].
    interrupted: bool,
    v4: Option<(u32, Option<IpAddr>)>,
    v6: Option<(u32, Option<IpAddr>)>,
    /// The latest route lookup's answer, for [`SnapshotCollector::judge_fib_match`].
    lookup: Option<LookupAnswer>,
    /// The kernel said it lost part of an answer (`NLMSG_OVERRUN`): that
    /// answer ended before it was read to its end.
    overran: bool,
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
            let (this, next) = frame(rest).ok_or(DumpError::Malformed("netlink header length"))?;
            rest = next;
            if this.seq != seq {
                continue;
            }
            if this.flags & NLM_F_DUMP_INTR != 0 {
                // Read on to NLMSG_DONE without using the records.
                self.interrupted = true;
            }
            let body = this.body;
            match (stage, this.kind) {
                (Stage::Links | Stage::Addrs, kind) if self.interrupted && !ends_request(kind) => {}
                (Stage::Links, RTM_NEWLINK) => match link_in_place(body) {
                    Ok(link) => self.links.push(link),
                    Err(index) => self.skip(index),
                },
                (Stage::Link, RTM_NEWLINK) => {
                    match link_in_place(body) {
                        Ok(link) => self.links.push(link),
                        Err(index) => self.skip(index),
                    }
                    // A request for one link is answered by one message.
                    progress = Progress::Done;
                }
                (Stage::Addrs, RTM_NEWADDR) => match address_in_place(body) {
                    Ok(Some(found)) => self.addrs.push(found),
                    Ok(None) => {}
                    Err(()) => self.skip(None),
                },
                (_, NLMSG_DONE) => {
                    // The kernel may send a done message without its code.
                    let code = if body.is_empty() {
                        0
                    } else {
                        i32_at(body, 0).ok_or(DumpError::Malformed("done message"))?
                    };
                    if code != 0 {
                        // Saturating: a code of i32::MIN has no negation.
                        return Err(DumpError::Kernel(code.saturating_neg()));
                    }
                    if self.interrupted {
                        return Err(DumpError::Interrupted);
                    }
                    progress = Progress::Done;
                }
                (_, NLMSG_ERROR) => {
                    let code = i32_at(body, 0).ok_or(DumpError::Malformed("error message"))?;
                    let errno = code.saturating_neg();
                    let is_lookup = matches!(stage, Stage::RouteV4 | Stage::RouteV6);
                    let gone = stage == Stage::Link && errno == ENODEV;
                    let no_route = is_lookup && NO_ROUTE_ERRNOS.contains(&errno);
                    if no_route {
                        self.lookup = Some(LookupAnswer::from_errno(errno));
                    }
                    if errno == 0 || gone || no_route {
                        progress = Progress::Done;
                    } else {
                        return Err(DumpError::Kernel(errno));
                    }
                }
                (_, NLMSG_OVERRUN) => {
                    self.overran = true;
                    return Err(DumpError::Interrupted);
                }
                (Stage::RouteV4 | Stage::RouteV6, RTM_NEWROUTE) => {
                    // Read as a plain lookup's answer; the answer to a
                    // FIB-match lookup is then judged by `judge_fib_match`.
                    let answer =
                        RouteAnswer::parse(body).ok_or(DumpError::Malformed("route answer"))?;
                    self.lookup = Some(LookupAnswer::Route(answer));
                    let route = answer.plain_route();
                    if stage == Stage::RouteV4 {
                        self.v4 = route;
                    } else {
                        self.v6 = route;
                    }
                    // A lookup is answered by a single message.
                    progress = Progress::Done;
                }
                // NLMSG_NOOP, and messages that answer another request.
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

    /// Judges the answer to the FIB-match lookup just fed for `stage`
    /// ([`Stage::RouteV4`] or [`Stage::RouteV6`]) by the rule of
    /// [`super::lookup`], and keeps the family's default route accordingly:
    /// set on [`Verdict::Default`], cleared otherwise (after
    /// [`Verdict::AskPlain`], the plain lookup's answer fed to the same
    /// stage sets it). `fib_match_honoured`: whether the kernel is known to
    /// honour `RTM_F_FIB_MATCH`. With no answer fed, or another stage, the
    /// verdict is [`Verdict::NoDefault`].
    pub fn judge_fib_match(&mut self, stage: Stage, fib_match_honoured: bool) -> Verdict {
        let (width, slot) = match stage {
            Stage::RouteV4 => (32, &mut self.v4),
            Stage::RouteV6 => (128, &mut self.v6),
            _ => return Verdict::NoDefault,
        };
        let v = self.lookup.take().map_or(Verdict::NoDefault, |a| {
            verdict(&a, width, fib_match_honoured)
        });
        *slot = match v {
            Verdict::Default { index, gateway } => Some((index, gateway)),
            Verdict::AskPlain | Verdict::NextProbe | Verdict::NoDefault => None,
        };
        v
    }

    /// How many link and address records were skipped because they could
    /// not be used (see the module docs).
    #[must_use]
    pub fn skipped(&self) -> u32 {
        self.skipped
    }

    /// Whether a [`DumpError::Interrupted`] came from `NLMSG_OVERRUN`
    /// (part of the answer lost, the rest maybe still queued) rather than
    /// from a dump marked interrupted and read to its `NLMSG_DONE`.
    pub(crate) fn overran(&self) -> bool {
        self.overran
    }

    /// Link and address records fed so far, used or skipped.
    pub(crate) fn records(&self) -> usize {
        self.links.len() + self.addrs.len() + self.skipped as usize
    }

    fn skip(&mut self, link: Option<u32>) {
        self.skipped = self.skipped.saturating_add(1);
        if let Some(index) = link {
            self.skipped_links.push(index);
        }
    }

    /// What the replies of a targeted read of `targets` describe: the
    /// targeted links found (a link skipped as unusable counts as gone, as
    /// in a full read), their addresses, and the default routes. Records
    /// about other interfaces (from a kernel that did not filter the
    /// address dump) are dropped. An address on a targeted link that its
    /// request did not find mixes two states: [`DumpError::Inconsistent`].
    pub fn finish_refresh(self, targets: Targets) -> Result<Refresh, DumpError> {
        let mut links = self.links;
        links.retain(|l| targets.contains(l.index));
        links.sort_unstable_by_key(|i| i.index);
        let skipped_links = self.skipped_links;
        for (index, addr) in self.addrs {
            if !targets.contains(index) || skipped_links.contains(&index) {
                continue;
            }
            let Ok(pos) = links.binary_search_by_key(&index, |i| i.index) else {
                return Err(DumpError::Inconsistent(
                    "an address on an interface its link request did not find",
                ));
            };
            links[pos].addrs.push(addr);
        }
        let hop = |r: Option<(u32, Option<IpAddr>)>| {
            r.filter(|(index, _)| !skipped_links.contains(index))
                .map(|(index, gateway)| RouteHop { index, gateway })
        };
        let routes = RouteHops {
            v4: hop(self.v4),
            v6: hop(self.v6),
        };
        Refresh::new(targets, links, routes).map_err(DumpError::Snapshot)
    }

    /// The snapshot the replies describe.
    pub fn finish(self) -> Result<Snapshot, DumpError> {
        let mut links = self.links;
        links.sort_unstable_by_key(|i| i.index);
        let skipped_links = self.skipped_links;
        for (index, addr) in self.addrs {
            if skipped_links.contains(&index) {
                continue;
            }
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
            if skipped_links.contains(&index) {
                return Ok(None);
            }
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

/// Whether a message of this type ends a request's answer (`NLMSG_DONE`,
/// `NLMSG_ERROR`, `NLMSG_OVERRUN`): read even in an interrupted dump.
fn ends_request(kind: u16) -> bool {
    matches!(kind, 2..=4)
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
///
/// A record that cannot be used (too short, an attribute length that is
/// wrong, no name) is `Err` with its index when the index could be read: the
/// caller skips it and everything on that index.
fn link_in_place(body: &[u8]) -> Result<Interface, Option<u32>> {
    const IFLA_ADDRESS: u16 = 1;
    const IFLA_IFNAME: u16 = 3;
    const IFLA_MTU: u16 = 4;
    let (Some(index), Some(iff)) = (u32_at(body, 4), u32_at(body, 8)) else {
        return Err(None);
    };
    let mut iface = Interface::new(index, String::new());
    iface.flags = interface_flags(iff);
    let mut name: Option<&[u8]> = None;
    let well_formed = for_each_attr(body.get(16..).unwrap_or(&[]), |kind, value| match kind {
        IFLA_IFNAME => name = Some(value.split(|b| *b == 0).next().unwrap_or(&[])),
        IFLA_MTU => iface.mtu = u32_at(value, 0).unwrap_or(0),
        IFLA_ADDRESS if !value.is_empty() => iface.mac = Some(HardwareAddr::new(value)),
        _ => {}
    });
    // (A body too short for the whole `ifinfomsg` has no attributes, so no
    // name: refused below.)
    if !well_formed {
        return Err(Some(index));
    }
    match name {
        // Linux names are bytes: kept, escaped where they are not UTF-8.
        Some(n) if !n.is_empty() => iface.name = crate::ifname::escape(n).into_owned(),
        _ => return Err(Some(index)),
    }
    Ok(iface)
}

/// An `RTM_NEWADDR` body (`ifaddrmsg` + attributes) read in place: the
/// interface index and the address with its flags, or `None` for a family
/// other than IPv4 and IPv6; `Err` for a record that cannot be used.
fn address_in_place(body: &[u8]) -> Result<Option<(u32, Address)>, ()> {
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    const IFA_FLAGS: u16 = 8;
    let (Some(&family), Some(&prefix), Some(&legacy_flags), Some(index)) =
        (body.first(), body.get(1), body.get(2), u32_at(body, 4))
    else {
        return Err(());
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
        return Err(());
    }
    // For IPv4, IFA_LOCAL is the interface's own address and IFA_ADDRESS
    // the peer's on a point-to-point link; IPv6 has only IFA_ADDRESS.
    let Some(ip) = local.or(addr) else {
        return Err(());
    };
    let net = IpNet::new(ip, prefix).map_err(|_| ())?;
    Ok(Some((
        index,
        Address::new(net).with_flags(addr_flags(flags, family == AF_INET6)),
    )))
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
    fn a_link_record_needs_a_name_and_well_formed_attributes() {
        // An empty IFLA_ADDRESS is no hardware address (a tunnel's).
        let tun = link_in_place(&link_body(4, 0x1, Some("tun0"), Some(1400), Some(&[])));
        assert_eq!(
            tun.map(|i| (i.name, i.mtu, i.mac)),
            Ok(("tun0".into(), 1400, None))
        );
        // An empty name cannot name an interface.
        assert_eq!(
            link_in_place(&link_body(4, 0x1, Some(""), None, None)),
            Err(Some(4))
        );
        // A name, then an attribute whose length runs past the record.
        let mut b = link_body(4, 0x1, Some("eth0"), None, None);
        b.extend(12u16.to_ne_bytes());
        b.extend(4u16.to_ne_bytes()); // IFLA_MTU, 8 value bytes claimed
        b.extend([0u8; 4]);
        assert_eq!(link_in_place(&b), Err(Some(4)));
        // Too short for an ifinfomsg: nothing after the flags, no name.
        assert_eq!(link_in_place(&b[..12]), Err(Some(4)));
    }

    #[test]
    fn an_ipv4_address_is_the_local_one_not_the_peer() {
        // A point-to-point link: IFA_ADDRESS is the peer, IFA_LOCAL ours.
        let mut b = vec![AF_INET, 32, 0, 0];
        b.extend(7u32.to_ne_bytes());
        b.extend(attr(1, &[10, 0, 0, 2]));
        b.extend(attr(2, &[10, 0, 0, 1]));
        let (index, a) = address_in_place(&b).unwrap().unwrap();
        assert_eq!((index, a.net.to_string()), (7, "10.0.0.1/32".to_owned()));
    }

    #[test]
    fn temporary_is_an_ipv6_flag_and_0x01_is_secondary_on_ipv4() {
        assert_eq!(addr_flags(0x01, true), AddrFlags::TEMPORARY);
        assert_eq!(addr_flags(0x01, false), AddrFlags::empty());
        assert_eq!(addr_flags(0x80, true), AddrFlags::PERMANENT);
        assert_eq!(addr_flags(0, true), AddrFlags::empty());
        // Read from a record, by its family.
        let v6 = addr_body(AF_INET6, 64, 0, 3, &[0xfe, 0x80], Some(0x01));
        let (_, a) = address_in_place(&v6).unwrap().unwrap();
        assert_eq!(a.flags, AddrFlags::TEMPORARY);
        let v4 = addr_body(AF_INET, 24, 0x01, 3, &[10, 0, 0, 9], None);
        let (_, a) = address_in_place(&v4).unwrap().unwrap();
        assert_eq!(a.flags, AddrFlags::empty(), "secondary, not temporary");
    }

    #[test]
    fn a_missing_link_ends_a_targeted_link_read_and_other_errors_fail_it() {
        let mut c = SnapshotCollector::new();
        assert_eq!(c.feed(Stage::Link, 1, &error(1, 19)), Ok(Progress::Done));
        let mut c = SnapshotCollector::new();
        assert_eq!(
            c.feed(Stage::Link, 1, &error(1, 1)),
            Err(DumpError::Kernel(1)),
            "EPERM is not 'gone'"
        );
        let mut c = SnapshotCollector::new();
        assert_eq!(
            c.feed(Stage::Addrs, 1, &error(1, 19)),
            Err(DumpError::Kernel(19)),
            "ENODEV on a whole dump is an error"
        );
    }

    #[test]
    fn a_no_route_errno_ends_only_a_route_lookup() {
        for errno in NO_ROUTE_ERRNOS {
            let mut c = SnapshotCollector::new();
            assert_eq!(
                c.feed(Stage::Links, 1, &error(1, errno)),
                Err(DumpError::Kernel(errno)),
                "errno {errno} on a link dump"
            );
        }
    }

    #[test]
    fn records_counts_every_link_and_address_fed_used_or_skipped() {
        let mut c = SnapshotCollector::new();
        assert_eq!(c.records(), 0);
        c.feed(Stage::Links, 1, &links(1)).unwrap();
        assert_eq!(c.records(), 2);
        c.feed(Stage::Addrs, 2, &addrs(2)).unwrap();
        let addresses = c.records() - 2;
        assert!(addresses >= 2, "{addresses}");
        let mut d = multi(RTM_NEWLINK, 3, &link_body(9, 0x1, Some(""), None, None));
        d.extend(multi(NLMSG_DONE, 3, &0i32.to_ne_bytes()));
        let mut c2 = SnapshotCollector::new();
        c2.feed(Stage::Links, 3, &d).unwrap();
        assert_eq!((c2.records(), c2.skipped()), (1, 1), "a skipped one counts");
    }

    #[test]
    fn a_dump_error_says_what_happened() {
        assert!(DumpError::Interrupted.to_string().contains("interrupted"));
        assert!(DumpError::Kernel(16).to_string().contains("errno 16"));
        let m = DumpError::Malformed("attribute past the end").to_string();
        assert!(m.contains("attribute past the end"), "{m}");
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
    fn an_interrupted_dump_is_read_to_its_end_before_it_is_reported() {
        // The kernel marks the first message interrupted; the rest of the
        // dump follows in later datagrams and must be consumed, or the next
        // request on the socket is refused with EBUSY.
        let mut first = multi(RTM_NEWLINK, 1, &link_body(1, 0x1, Some("lo"), None, None));
        first[6..8].copy_from_slice(&(super::super::NLM_F_MULTI | NLM_F_DUMP_INTR).to_ne_bytes());
        let middle = multi(RTM_NEWLINK, 1, &link_body(2, 0x1, Some("a0"), None, None));
        let done = multi(NLMSG_DONE, 1, &0i32.to_ne_bytes());
        let mut c = SnapshotCollector::new();
        assert_eq!(c.feed(Stage::Links, 1, &first), Ok(Progress::More));
        assert_eq!(c.feed(Stage::Links, 1, &middle), Ok(Progress::More));
        assert_eq!(c.feed(Stage::Links, 1, &done), Err(DumpError::Interrupted));
    }

    #[test]
    fn ebusy_is_transient_and_other_kernel_errors_are_not() {
        assert!(DumpError::Kernel(16).is_transient());
        assert!(!DumpError::Kernel(1).is_transient());
        assert!(!DumpError::Malformed("x").is_transient());
    }

    #[test]
    fn a_name_that_is_not_utf8_is_kept_escaped() {
        let mut d = multi(RTM_NEWLINK, 1, &link_body_raw(4, 0x1, b"n\xff\xfex"));
        d.extend(multi(RTM_NEWLINK, 1, &link_body_raw(5, 0x1, b"n\xff")));
        d.extend(multi(NLMSG_DONE, 1, &0i32.to_ne_bytes()));
        let mut c = SnapshotCollector::new();
        assert_eq!(c.feed(Stage::Links, 1, &d), Ok(Progress::Done));
        assert_eq!(c.skipped(), 0);
        let s = c.finish().unwrap();
        let names: Vec<&str> = s.interfaces().iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["n\\xff\\xfex", "n\\xff"]);
        assert_eq!(
            crate::ifname::unescape(&s.interfaces().first().unwrap().name).as_ref(),
            b"n\xff\xfex"
        );
    }

    #[test]
    fn an_unusable_record_is_skipped_with_what_hangs_on_it() {
        let mut d = multi(RTM_NEWLINK, 1, &link_body(1, 0x1, Some("lo"), None, None));
        // A link without a name, and one whose attribute length runs past
        // the message: both skipped, and so are their addresses and route.
        d.extend(multi(
            RTM_NEWLINK,
            1,
            &link_body(7, 0x1, None, Some(1500), None),
        ));
        let mut bad = link_body(8, 0x1, Some("bad0"), None, None);
        bad[16..18].copy_from_slice(&200u16.to_ne_bytes());
        d.extend(multi(RTM_NEWLINK, 1, &bad));
        d.extend(multi(
            RTM_NEWLINK,
            1,
            &link_body(3, 0x1, Some("eth0"), None, None),
        ));
        d.extend(multi(NLMSG_DONE, 1, &0i32.to_ne_bytes()));
        let mut a = multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET, 24, 0, 7, &[10, 7, 0, 1], None),
        );
        a.extend(multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET, 24, 0, 8, &[10, 8, 0, 1], None),
        ));
        a.extend(multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET, 24, 0, 3, &[10, 3, 0, 1], None),
        ));
        // An address message too short for its header: skipped.
        a.extend(multi(RTM_NEWADDR, 2, &[2, 24]));
        a.extend(multi(NLMSG_DONE, 2, &0i32.to_ne_bytes()));
        let mut c = SnapshotCollector::new();
        assert_eq!(c.feed(Stage::Links, 1, &d), Ok(Progress::Done));
        assert_eq!(c.feed(Stage::Addrs, 2, &a), Ok(Progress::Done));
        assert_eq!(
            c.feed(Stage::RouteV4, 3, &lookup(3, AF_INET, 7, &[10, 7, 0, 254])),
            Ok(Progress::Done)
        );
        assert_eq!(c.skipped(), 3);
        let s = c.finish().unwrap();
        let indexes: Vec<u32> = s.interfaces().iter().map(|i| i.index).collect();
        assert_eq!(indexes, [1, 3]);
        assert_eq!(s.by_index(3).unwrap().addrs.len(), 1);
        assert!(s.default_routes().v4.is_none());
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

    /// Done, error and overrun messages are read by their fixed fields: a
    /// done without its code (as the kernel may send) ends the dump, one
    /// too short for its code or an error too short for its errno cannot be
    /// trusted, a message of a type no request asks for is passed over.
    #[test]
    fn control_messages_are_read_by_their_fixed_fields() {
        let mut c = SnapshotCollector::new();
        assert_eq!(
            c.feed(Stage::Links, 1, &multi(NLMSG_DONE, 1, &[])),
            Ok(Progress::Done)
        );
        for short in [&[0u8][..], &[0, 0, 0]] {
            let r = SnapshotCollector::new().feed(Stage::Links, 1, &multi(NLMSG_DONE, 1, short));
            assert_eq!(r, Err(DumpError::Malformed("done message")));
            let r =
                SnapshotCollector::new().feed(Stage::Link, 1, &message(NLMSG_ERROR, 0, 1, short));
            assert_eq!(r, Err(DumpError::Malformed("error message")));
        }
        // An acknowledgement (errno 0) without the echoed request ends it.
        let ack = message(NLMSG_ERROR, 0, 1, &0i32.to_ne_bytes());
        assert_eq!(
            SnapshotCollector::new().feed(Stage::Link, 1, &ack),
            Ok(Progress::Done)
        );
        let mut c = SnapshotCollector::new();
        let mut d = message(99, 0, 2, &[1, 2, 3]);
        d.extend(message(1, 0, 2, &[])); // NLMSG_NOOP
        assert_eq!(c.feed(Stage::RouteV4, 2, &d), Ok(Progress::More));
        assert_eq!(
            c.feed(Stage::RouteV4, 2, &lookup(2, AF_INET, 3, &[10, 0, 0, 1])),
            Ok(Progress::Done)
        );
        let short_route = message(RTM_NEWROUTE, 0, 2, &[AF_INET, 0, 0, 0, 254]);
        assert_eq!(
            SnapshotCollector::new().feed(Stage::RouteV6, 2, &short_route),
            Err(DumpError::Malformed("route answer"))
        );
        // Outside a lookup, a route message answers nothing asked.
        assert_eq!(
            SnapshotCollector::new().feed(Stage::Links, 2, &short_route),
            Ok(Progress::More)
        );
        let mut c = SnapshotCollector::new();
        assert_eq!(
            c.feed(Stage::Addrs, 4, &message(4, 0, 4, &[])),
            Err(DumpError::Interrupted)
        );
        assert!(c.overran());
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

    // FIB-match lookups: the answer's prefix length decides (see `lookup`).

    const GW: [u8; 4] = [10, 9, 0, 1];

    fn fib_answer(
        seq: u32,
        family: u8,
        dst_len: u8,
        dst: Option<&[u8]>,
        oif: Option<u32>,
    ) -> Vec<u8> {
        let gw: &[u8] = if family == AF_INET {
            &GW
        } else {
            &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        };
        message(
            RTM_NEWROUTE,
            0,
            seq,
            &lookup_answer_body(family, dst_len, 0, dst, oif, Some(gw)),
        )
    }

    fn collector_with_links() -> SnapshotCollector {
        let mut c = SnapshotCollector::new();
        assert_eq!(c.feed(Stage::Links, 1, &links(1)), Ok(Progress::Done));
        c
    }

    #[test]
    fn a_fib_match_answer_for_a_specific_route_is_not_the_default_route() {
        let mut c = collector_with_links();
        // `8.0.0.0/7 via 10.9.0.1 dev veth0` matched for 8.8.8.8.
        let d = fib_answer(2, AF_INET, 7, Some(&[8, 0, 0, 0]), Some(3));
        assert_eq!(c.feed(Stage::RouteV4, 2, &d), Ok(Progress::Done));
        assert_eq!(c.judge_fib_match(Stage::RouteV4, true), Verdict::NextProbe);
        // `2000::/4` matched for 2001:4860:4860::8888.
        let d = fib_answer(3, AF_INET6, 4, Some(&[0x20]), Some(3));
        assert_eq!(c.feed(Stage::RouteV6, 3, &d), Ok(Progress::Done));
        assert_eq!(c.judge_fib_match(Stage::RouteV6, true), Verdict::NextProbe);
        let s = c.finish().unwrap();
        assert_eq!(s.default_routes().v4, None);
        assert_eq!(s.default_routes().v6, None);
    }

    #[test]
    fn a_fib_match_answer_of_prefix_0_or_1_is_the_default_route() {
        for (dst_len, dst) in [(0, None), (1, Some(&[128u8, 0, 0, 0][..]))] {
            let mut c = collector_with_links();
            // A specific route first (next probe), then the default.
            let d = fib_answer(2, AF_INET, 16, Some(&[8, 8, 0, 0]), Some(3));
            c.feed(Stage::RouteV4, 2, &d).unwrap();
            assert_eq!(c.judge_fib_match(Stage::RouteV4, true), Verdict::NextProbe);
            let d = fib_answer(3, AF_INET, dst_len, dst, Some(3));
            assert_eq!(c.feed(Stage::RouteV4, 3, &d), Ok(Progress::Done));
            let gateway = Some(IpAddr::from(GW));
            assert_eq!(
                c.judge_fib_match(Stage::RouteV4, true),
                Verdict::Default { index: 3, gateway }
            );
            let s = c.finish().unwrap();
            let r = s.default_routes().v4.as_ref().unwrap();
            assert_eq!(
                (r.interface.as_str(), r.gateway),
                ("veth0", gateway),
                "/{dst_len}"
            );
        }
    }

    #[test]
    fn a_multipath_default_asks_the_plain_lookup_for_its_path() {
        let mut c = collector_with_links();
        let mut body = lookup_answer_body(AF_INET, 0, 0, None, None, None);
        body.extend(multipath_attr(AF_INET, &[(3, &GW), (1, &[127, 0, 0, 9])]));
        c.feed(Stage::RouteV4, 2, &message(RTM_NEWROUTE, 0, 2, &body))
            .unwrap();
        assert_eq!(c.judge_fib_match(Stage::RouteV4, true), Verdict::AskPlain);
        // The plain answer of the same probe: RTM_F_CLONED, the full width.
        let plain = lookup_answer_body(AF_INET, 32, 0x200, Some(&[8, 8, 8, 8]), Some(3), Some(&GW));
        c.feed(Stage::RouteV4, 3, &message(RTM_NEWROUTE, 0, 3, &plain))
            .unwrap();
        let s = c.finish().unwrap();
        let r = s.default_routes().v4.as_ref().unwrap();
        assert_eq!((r.index, r.gateway), (3, Some(IpAddr::from(GW))));
    }

    #[test]
    fn a_full_width_answer_is_a_host_route_unless_the_flag_was_ignored() {
        // A host route on the probe, on a kernel honouring the flag.
        let mut c = collector_with_links();
        c.feed(
            Stage::RouteV4,
            2,
            &fib_answer(2, AF_INET, 32, Some(&[8, 8, 8, 8]), Some(3)),
        )
        .unwrap();
        assert_eq!(c.judge_fib_match(Stage::RouteV4, true), Verdict::NextProbe);
        // The same bytes from a kernel known not to honour it: plain.
        c.feed(
            Stage::RouteV4,
            3,
            &fib_answer(3, AF_INET, 32, Some(&[8, 8, 8, 8]), Some(3)),
        )
        .unwrap();
        assert!(matches!(
            c.judge_fib_match(Stage::RouteV4, false),
            Verdict::Default { index: 3, .. }
        ));
        // A plain IPv4 answer (RTM_F_CLONED) to the FIB-match request.
        let plain = lookup_answer_body(AF_INET, 32, 0x200, Some(&[8, 8, 8, 8]), Some(3), Some(&GW));
        c.feed(Stage::RouteV4, 4, &message(RTM_NEWROUTE, 0, 4, &plain))
            .unwrap();
        assert!(matches!(
            c.judge_fib_match(Stage::RouteV4, true),
            Verdict::Default { index: 3, .. }
        ));
        assert!(c.finish().unwrap().default_routes().v4.is_some());
    }

    #[test]
    fn lookup_errors_end_the_search_or_try_the_next_probe() {
        let mut c = collector_with_links();
        // EHOSTUNREACH: a reject route, maybe only over this probe.
        assert_eq!(
            c.feed(Stage::RouteV6, 2, &error(2, 113)),
            Ok(Progress::Done)
        );
        assert_eq!(c.judge_fib_match(Stage::RouteV6, true), Verdict::NextProbe);
        // ENETUNREACH: nothing matched at all.
        assert_eq!(
            c.feed(Stage::RouteV6, 3, &error(3, 101)),
            Ok(Progress::Done)
        );
        assert_eq!(c.judge_fib_match(Stage::RouteV6, true), Verdict::NoDefault);
        // Judged twice, or without an answer: no default route.
        assert_eq!(c.judge_fib_match(Stage::RouteV6, true), Verdict::NoDefault);
        assert_eq!(c.judge_fib_match(Stage::Links, true), Verdict::NoDefault);
        assert!(c.finish().unwrap().default_routes().v6.is_none());
    }

    #[test]
    fn a_truncated_fib_match_answer_is_malformed_not_a_panic() {
        let d = fib_answer(2, AF_INET6, 4, Some(&[0x20]), Some(3));
        for cut in 1..d.len() {
            let mut c = collector_with_links();
            let r = c.feed(Stage::RouteV6, 2, &d[..cut]);
            assert!(r.is_err() || r == Ok(Progress::More), "cut at {cut}: {r:?}");
            let _ = c.judge_fib_match(Stage::RouteV6, true);
        }
    }
}
