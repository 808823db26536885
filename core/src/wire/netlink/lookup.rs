//! Deciding which route lookup answers "the default route".
//!
//! The default route is where internet traffic *in general* goes. One
//! lookup towards one probe address is not enough: a more specific route
//! that happens to cover the probe (`8.0.0.0/7`, `8.8.0.0/16`, a host route
//! to `8.8.8.8`; `2000::/4`, `2001:4860::/32`) answers it, and is not the
//! default route. Dumping the routing table to find the default is not an
//! option either: its cost grows with the table (a million BGP routes).
//!
//! **The rule.** Each probe is looked up with `RTM_F_FIB_MATCH` (`rtm_flags`
//! `0x2000`, Linux 4.13, "net: ipv4/ipv6: RTM_GETROUTE: return matched fib
//! result when requested"; what `ip route get fibmatch` sends). The kernel
//! does the same lookup as for a plain `RTM_GETROUTE` (policy rules first:
//! a VPN's own table, `not fwmark`), but answers with the FIB entry that
//! matched, with its real prefix length in `rtm_dst_len`, instead of the
//! resolved route to the probe (whose `rtm_dst_len` is always 32 or 128).
//! An answer is the default route only when the matched prefix is at most
//! [`MAX_DEFAULT_PREFIX_LEN`] (1) long: `0.0.0.0/0`, `::/0`, or one of
//! OpenVPN's `0.0.0.0/1` + `128.0.0.0/1` halves. It is the same bound as
//! the monitor's: route hints with a longer prefix are dropped (by the
//! kernel socket filter and by `Filter`), so a longer route reported as the
//! default would never be corrected by a hint. A longer match means a more
//! specific route covers this probe: the next probe is tried
//! ([`requests::PROBES_V4`], [`requests::PROBES_V6`]: the v4 ones in four
//! different `/2` blocks, so a route of prefix 2 or more covers at most one
//! of them; the v6 ones in `2000::/4` and `3000::/4`, the two halves of the
//! global unicast space). With no acceptable answer the family has no
//! default route.
//!
//! * A FIB entry that names no single interface (a multipath route: only
//!   `RTA_MULTIPATH`; a nexthop-object route with `nexthop_compat_mode` 0:
//!   only `RTA_NH_ID`) is the default route, but its interface and gateway
//!   are asked with a plain lookup of the same probe: the path the kernel
//!   would choose for it ([`Verdict::AskPlain`]).
//! * No route at all (`ENETUNREACH`) ends the search: no probe would find
//!   a default route. A reject route (`EHOSTUNREACH`, `EACCES`, `EPERM`,
//!   `EINVAL`: unreachable, prohibit, blackhole, or the family disabled)
//!   comes back as an errno without its prefix, so it may cover only this
//!   probe: the next one is tried.
//! * A kernel older than 4.13 ignores the flag and answers plainly. An
//!   IPv4 plain answer is marked `RTM_F_CLONED`; otherwise a full-width
//!   answer is taken as plain only when the kernel is known not to honour
//!   the flag ([`kernel_honours_fib_match`]); a plain answer is accepted as
//!   the default route, as before this rule. On a kernel that honours the
//!   flag, a full-width answer is a host route on the probe: next probe.
//!
//! Cost: one lookup per family when the first probe meets the default
//! route and its entry names an interface (the common case, as before);
//! one more per probe covered by a specific route, and one more for a
//! multipath default. Never a dump.
//!
//! [`requests::PROBES_V4`]: super::requests::PROBES_V4
//! [`requests::PROBES_V6`]: super::requests::PROBES_V6

use std::net::IpAddr;

use std::net::{Ipv4Addr, Ipv6Addr};

use super::attrs::{for_each_attr, u16_at, u32_at};
use super::{AF_INET, AF_INET6};

/// `RTM_F_FIB_MATCH`: answer a `RTM_GETROUTE` with the matched FIB entry.
pub const RTM_F_FIB_MATCH: u32 = 0x2000;
/// `RTM_F_CLONED`: set on every plain IPv4 lookup answer.
pub const RTM_F_CLONED: u32 = 0x200;
/// The longest prefix a default route may have: 0, or 1 for OpenVPN's
/// `0.0.0.0/1` + `128.0.0.0/1` pair (as the monitor's route filter).
pub const MAX_DEFAULT_PREFIX_LEN: u8 = 1;

const ENETUNREACH: i32 = 101;
/// `sizeof(struct rtmsg)`.
const RTMSG_LEN: usize = 12;
/// `RTN_UNICAST`: a gateway or direct route.
const RTN_UNICAST: u8 = 1;
/// `RTA_OIF`: the output interface.
const RTA_OIF: u16 = 4;
/// `RTA_GATEWAY`: the gateway, of the route's family.
const RTA_GATEWAY: u16 = 5;
/// `RTA_VIA`: the gateway, of another family (`struct rtvia`).
const RTA_VIA: u16 = 18;

/// An address of 4 or 16 bytes.
fn ip(b: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    <[u8; 16]>::try_from(b)
        .ok()
        .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
}

/// The fields of a route lookup's answer (`RTM_NEWROUTE`) that matter here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteAnswer {
    /// `rtm_type` is `RTN_UNICAST`.
    pub unicast: bool,
    /// `rtm_dst_len`: the matched entry's prefix length for a FIB-match
    /// answer, always the full width for a plain one.
    pub dst_len: u8,
    /// `rtm_flags` has `RTM_F_CLONED`: a plain answer.
    pub cloned: bool,
    /// `RTA_OIF`.
    pub oif: Option<u32>,
    /// `RTA_GATEWAY` or `RTA_VIA`.
    pub gateway: Option<IpAddr>,
}

impl RouteAnswer {
    /// Reads the body of a lookup's answer (`RTM_NEWROUTE`: an `rtmsg`,
    /// then attributes) in place. `None` when the `rtmsg` is short, an
    /// attribute's length runs past the message, or `RTA_OIF` is not 4
    /// bytes: the answer cannot be trusted. A gateway (`RTA_GATEWAY`: 4 or
    /// 16 bytes; `RTA_VIA`: a family, then 4 or 16 bytes) of another shape
    /// is no gateway; other attributes are not looked at.
    #[must_use]
    pub fn parse(body: &[u8]) -> Option<Self> {
        let fixed = body.get(..RTMSG_LEN)?;
        let mut answer = RouteAnswer {
            unicast: fixed[7] == RTN_UNICAST,
            dst_len: fixed[1],
            cloned: u32_at(fixed, 8)? & RTM_F_CLONED != 0,
            oif: None,
            gateway: None,
        };
        let mut oif_ok = true;
        let framed = for_each_attr(&body[RTMSG_LEN..], |kind, value| match kind {
            RTA_OIF => {
                answer.oif = u32_at(value, 0);
                oif_ok &= value.len() == 4;
            }
            RTA_GATEWAY => answer.gateway = ip(value),
            RTA_VIA => {
                answer.gateway = match (u16_at(value, 0), value.get(2..)) {
                    (Some(f), Some(a)) if f == u16::from(AF_INET) && a.len() == 4 => ip(a),
                    (Some(f), Some(a)) if f == u16::from(AF_INET6) && a.len() == 16 => ip(a),
                    _ => None,
                };
            }
            _ => {}
        });
        (framed && oif_ok).then_some(answer)
    }

    /// The interface and gateway, read as a plain lookup's answer: the
    /// route the kernel would use, if it is a usable unicast route.
    #[must_use]
    pub fn plain_route(&self) -> Option<(u32, Option<IpAddr>)> {
        if !self.unicast {
            return None;
        }
        Some((self.oif?, self.gateway))
    }
}

/// What the kernel answered one lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupAnswer {
    /// A route.
    Route(RouteAnswer),
    /// `ENETUNREACH`: no route matched at all.
    NoRoute,
    /// Another "no usable route" errno (a reject route, whose prefix is not
    /// told, or the family disabled).
    Rejected(i32),
}

impl LookupAnswer {
    /// The answer an errno from a lookup stands for.
    #[must_use]
    pub fn from_errno(errno: i32) -> Self {
        if errno == ENETUNREACH {
            LookupAnswer::NoRoute
        } else {
            LookupAnswer::Rejected(errno)
        }
    }
}

/// What to do after a FIB-match lookup towards one probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The default route: this interface and gateway.
    Default {
        /// The interface index.
        index: u32,
        /// The gateway, if the route has one.
        gateway: Option<IpAddr>,
    },
    /// The default route, whose entry names no single interface: ask the
    /// plain lookup of the same probe for the interface and gateway.
    AskPlain,
    /// A more specific route covers this probe: try the next one (none
    /// left: no default route).
    NextProbe,
    /// The family has no default route; stop.
    NoDefault,
}

/// The verdict on a FIB-match lookup's `answer` in a family whose addresses
/// are `width` bits long (32 or 128). `fib_match_honoured`: whether the
/// kernel is known to honour `RTM_F_FIB_MATCH` (see the module docs).
#[must_use]
pub fn verdict(answer: &LookupAnswer, width: u8, fib_match_honoured: bool) -> Verdict {
    let r = match answer {
        LookupAnswer::NoRoute => return Verdict::NoDefault,
        LookupAnswer::Rejected(_) => return Verdict::NextProbe,
        LookupAnswer::Route(r) => r,
    };
    let plain = r.cloned || (r.dst_len == width && !fib_match_honoured);
    if plain {
        // The kernel ignored the flag: the answer is the route to the probe,
        // as before the rule.
        return match r.plain_route() {
            Some((index, gateway)) => Verdict::Default { index, gateway },
            None => Verdict::NoDefault,
        };
    }
    if r.dst_len > MAX_DEFAULT_PREFIX_LEN {
        return Verdict::NextProbe;
    }
    if !r.unicast {
        // The default route itself rejects (or is local): none usable.
        return Verdict::NoDefault;
    }
    match r.oif {
        Some(index) => Verdict::Default {
            index,
            gateway: r.gateway,
        },
        None => Verdict::AskPlain,
    }
}

/// Whether a kernel of this release (`/proc/sys/kernel/osrelease`, `uname
/// -r`) honours `RTM_F_FIB_MATCH` (4.13 and later), or `None` when the text
/// does not start with `MAJOR.MINOR`.
#[must_use]
pub fn kernel_honours_fib_match(release: &str) -> Option<bool> {
    let mut parts = release.trim().split(['.', '-']);
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor) >= (4, 13))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::fixtures::{attr, lookup_answer_body};

    fn route(dst_len: u8, oif: Option<u32>) -> LookupAnswer {
        LookupAnswer::Route(RouteAnswer {
            unicast: true,
            dst_len,
            cloned: false,
            oif,
            gateway: Some(IpAddr::from([10, 1, 0, 254])),
        })
    }

    fn default_via(index: u32) -> Verdict {
        Verdict::Default {
            index,
            gateway: Some(IpAddr::from([10, 1, 0, 254])),
        }
    }

    /// A route answer's gateway: `RTA_GATEWAY` of either family, or
    /// `RTA_VIA` (a next hop of another family than the route's, RFC 5549).
    #[test]
    fn a_gateway_is_read_from_rta_gateway_or_rta_via_of_either_family() {
        // A unicast IPv4 answer through interface 3, plus `extra`.
        let answer = |extra: Vec<u8>| {
            let mut body = lookup_answer_body(AF_INET, 0, 0, None, Some(3), None);
            body.extend(extra);
            RouteAnswer::parse(&body).and_then(|a| a.plain_route())
        };
        let via = |family: u8, addr: &[u8]| {
            let mut v = u16::from(family).to_ne_bytes().to_vec();
            v.extend(addr);
            attr(RTA_VIA, &v)
        };
        let v4 = Ipv4Addr::new(10, 1, 0, 254);
        let v6: Ipv6Addr = "fe80::1".parse().unwrap();
        let (v4_gw, v6_gw) = (
            Some((3, Some(IpAddr::V4(v4)))),
            Some((3, Some(IpAddr::V6(v6)))),
        );
        assert_eq!(answer(attr(RTA_GATEWAY, &v4.octets())), v4_gw);
        assert_eq!(answer(attr(RTA_GATEWAY, &v6.octets())), v6_gw);
        assert_eq!(answer(via(AF_INET, &v4.octets())), v4_gw);
        assert_eq!(answer(via(AF_INET6, &v6.octets())), v6_gw);
        // RTA_PRIORITY: no gateway.
        assert_eq!(answer(attr(6, &5u32.to_ne_bytes())), Some((3, None)));
        // A gateway of no address's length, a via whose family and length
        // disagree, or that is too short for a family: no gateway.
        assert_eq!(answer(attr(RTA_GATEWAY, &[10, 1, 0])), Some((3, None)));
        assert_eq!(answer(via(AF_INET, &v6.octets())), Some((3, None)));
        assert_eq!(answer(via(AF_INET6, &v4.octets())), Some((3, None)));
        assert_eq!(answer(attr(RTA_VIA, &[2])), Some((3, None)));
    }

    /// What cannot be trusted is no answer: a short `rtmsg`, an attribute
    /// running past the message, an `RTA_OIF` of another size than 4.
    #[test]
    fn a_malformed_answer_is_none() {
        let good = lookup_answer_body(AF_INET6, 0, 0, None, Some(9), Some(&[0xfe, 0x80]));
        let read = RouteAnswer::parse(&good).unwrap();
        assert_eq!(
            (read.oif, read.unicast, read.cloned, read.dst_len),
            (Some(9), true, false, 0)
        );
        assert_eq!(RouteAnswer::parse(&good[..11]), None);
        assert!(
            RouteAnswer::parse(&good[..12]).is_some(),
            "no attributes is an answer"
        );
        let mut runs_past = good.clone();
        runs_past.extend(200u16.to_ne_bytes());
        runs_past.extend(6u16.to_ne_bytes());
        assert_eq!(RouteAnswer::parse(&runs_past), None);
        let mut odd_oif = lookup_answer_body(AF_INET, 0, 0, None, None, None);
        odd_oif.extend(attr(RTA_OIF, &[1, 0]));
        assert_eq!(RouteAnswer::parse(&odd_oif), None);
        // Not unicast (a local route), and a plain IPv4 answer (cloned).
        let mut local = lookup_answer_body(AF_INET, 32, RTM_F_CLONED, None, Some(1), None);
        local[7] = 2;
        let read = RouteAnswer::parse(&local).unwrap();
        assert_eq!((read.unicast, read.cloned, read.dst_len), (false, true, 32));
        assert_eq!(read.plain_route(), None);
    }

    proptest::proptest! {
        /// Any well-formed answer (random fixed fields, random attributes
        /// of the kinds a lookup answer carries, in any order) reads as
        /// `netlink-packet-route` (the crate this reader replaced) decodes
        /// it.
        #[test]
        fn answers_read_as_netlink_packet_route_decodes_them(
            family in proptest::sample::select(vec![AF_INET, AF_INET6]),
            dst_len in 0u8..=128,
            kind in 0u8..12,
            rtm_flags in proptest::prop_oneof![proptest::strategy::Just(0u32), proptest::strategy::Just(RTM_F_CLONED), proptest::strategy::Just(RTM_F_FIB_MATCH), proptest::num::u32::ANY],
            attrs in proptest::collection::vec((0u8..6, proptest::num::u32::ANY, proptest::collection::vec(proptest::num::u8::ANY, 16)), 0..6),
        ) {
            use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType, RouteVia};
            use netlink_packet_core::Parseable;

            let width = if family == AF_INET { 4 } else { 16 };
            let mut body = vec![family, dst_len, 0, 0, 254, 3, 0, kind];
            body.extend(rtm_flags.to_ne_bytes());
            for (which, n, bytes) in &attrs {
                body.extend(match which {
                    0 => attr(RTA_OIF, &n.to_ne_bytes()),
                    1 => attr(RTA_GATEWAY, &bytes[..width]),
                    2 => {
                        let (f, w) = if n % 2 == 0 { (AF_INET, 4) } else { (AF_INET6, 16) };
                        let mut v = u16::from(f).to_ne_bytes().to_vec();
                        v.extend(&bytes[..w]);
                        attr(RTA_VIA, &v)
                    }
                    3 => attr(15, &n.to_ne_bytes()), // RTA_TABLE
                    4 => attr(6, &n.to_ne_bytes()),  // RTA_PRIORITY
                    _ => attr(1, &bytes[..width]),   // RTA_DST
                });
            }
            let m = RouteMessage::parse(&body[..]).unwrap();
            let mut expected = RouteAnswer {
                unicast: m.header.kind == RouteType::Unicast,
                dst_len: m.header.destination_prefix_length,
                cloned: m.header.flags.bits() & RTM_F_CLONED != 0,
                oif: None,
                gateway: None,
            };
            for a in &m.attributes {
                match a {
                    RouteAttribute::Oif(i) => expected.oif = Some(*i),
                    RouteAttribute::Gateway(RouteAddress::Inet(v4)) => expected.gateway = Some(IpAddr::V4(*v4)),
                    RouteAttribute::Gateway(RouteAddress::Inet6(v6)) => expected.gateway = Some(IpAddr::V6(*v6)),
                    RouteAttribute::Via(RouteVia::Inet(v4)) => expected.gateway = Some(IpAddr::V4(*v4)),
                    RouteAttribute::Via(RouteVia::Inet6(v6)) => expected.gateway = Some(IpAddr::V6(*v6)),
                    _ => {}
                }
            }
            proptest::prop_assert_eq!(RouteAnswer::parse(&body), Some(expected));
        }
    }

    #[test]
    fn only_a_prefix_of_0_or_1_is_the_default_route() {
        assert_eq!(verdict(&route(0, Some(3)), 32, true), default_via(3));
        assert_eq!(verdict(&route(1, Some(3)), 32, true), default_via(3));
        assert_eq!(verdict(&route(0, Some(3)), 128, true), default_via(3));
        for len in [2, 4, 7, 16, 31, 32] {
            assert_eq!(verdict(&route(len, Some(3)), 32, true), Verdict::NextProbe);
        }
        for len in [2, 4, 32, 127, 128] {
            assert_eq!(verdict(&route(len, Some(3)), 128, true), Verdict::NextProbe);
        }
        // Garbage longer than the family: never the default.
        assert_eq!(verdict(&route(200, Some(3)), 32, true), Verdict::NextProbe);
    }

    #[test]
    fn an_entry_without_an_interface_asks_the_plain_lookup() {
        assert_eq!(verdict(&route(0, None), 32, true), Verdict::AskPlain);
        assert_eq!(verdict(&route(1, None), 128, true), Verdict::AskPlain);
        // ... but a specific one without an interface is still specific.
        assert_eq!(verdict(&route(7, None), 32, true), Verdict::NextProbe);
    }

    #[test]
    fn errors_end_the_search_or_move_to_the_next_probe() {
        assert_eq!(
            verdict(&LookupAnswer::from_errno(101), 32, true),
            Verdict::NoDefault
        );
        for errno in [113, 13, 1, 22] {
            assert_eq!(
                verdict(&LookupAnswer::from_errno(errno), 32, true),
                Verdict::NextProbe,
                "errno {errno}"
            );
        }
    }

    #[test]
    fn a_reject_or_local_default_is_no_default_route() {
        let mut r = RouteAnswer {
            unicast: false,
            dst_len: 0,
            cloned: false,
            oif: Some(1),
            gateway: None,
        };
        assert_eq!(
            verdict(&LookupAnswer::Route(r), 128, true),
            Verdict::NoDefault
        );
        r.dst_len = 64;
        assert_eq!(
            verdict(&LookupAnswer::Route(r), 128, true),
            Verdict::NextProbe
        );
    }

    #[test]
    fn a_plain_answer_from_a_kernel_ignoring_the_flag_is_accepted() {
        // Full width on a kernel that does not honour the flag: plain.
        assert_eq!(verdict(&route(32, Some(3)), 32, false), default_via(3));
        assert_eq!(verdict(&route(128, Some(3)), 128, false), default_via(3));
        // Marked cloned: plain whatever the kernel version says.
        let LookupAnswer::Route(mut r) = route(32, Some(3)) else {
            unreachable!()
        };
        r.cloned = true;
        assert_eq!(verdict(&LookupAnswer::Route(r), 32, true), default_via(3));
        r.unicast = false;
        assert_eq!(
            verdict(&LookupAnswer::Route(r), 32, true),
            Verdict::NoDefault
        );
        // A shorter prefix proves the flag was honoured.
        assert_eq!(verdict(&route(7, Some(3)), 32, false), Verdict::NextProbe);
        assert_eq!(verdict(&route(0, Some(3)), 32, false), default_via(3));
    }

    #[test]
    fn kernel_releases() {
        for (release, honours) in [
            ("6.18.44-fc-v782\n", Some(true)),
            ("4.13.0", Some(true)),
            ("4.12.14-lp150.12-default", Some(false)),
            ("3.10.0-1160.el7.x86_64", Some(false)),
            ("5.4", Some(true)),
            ("4.19rc1", Some(true)),
            ("10.0", Some(true)),
            ("", None),
            ("linux", None),
            ("6", None),
        ] {
            assert_eq!(kernel_honours_fib_match(release), honours, "{release:?}");
        }
    }
}
