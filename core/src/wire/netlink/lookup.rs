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

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteType, RouteVia,
};

/// `RTM_F_FIB_MATCH`: answer a `RTM_GETROUTE` with the matched FIB entry.
pub const RTM_F_FIB_MATCH: u32 = 0x2000;
/// `RTM_F_CLONED`: set on every plain IPv4 lookup answer.
pub const RTM_F_CLONED: u32 = 0x200;
/// The longest prefix a default route may have: 0, or 1 for OpenVPN's
/// `0.0.0.0/1` + `128.0.0.0/1` pair (as the monitor's route filter).
pub const MAX_DEFAULT_PREFIX_LEN: u8 = 1;

const ENETUNREACH: i32 = 101;

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
    /// Reads an answer decoded by `netlink-packet-route`.
    #[must_use]
    pub fn from_message(m: &RouteMessage) -> Self {
        let mut answer = RouteAnswer {
            unicast: m.header.kind == RouteType::Unicast,
            dst_len: m.header.destination_prefix_length,
            cloned: m.header.flags.bits() & RTM_F_CLONED != 0,
            oif: None,
            gateway: None,
        };
        for a in &m.attributes {
            match a {
                RouteAttribute::Oif(i) => answer.oif = Some(*i),
                RouteAttribute::Gateway(g) => {
                    answer.gateway = match g {
                        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
                        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
                        _ => None,
                    };
                }
                RouteAttribute::Via(RouteVia::Inet(v4)) => answer.gateway = Some(IpAddr::V4(*v4)),
                RouteAttribute::Via(RouteVia::Inet6(v6)) => answer.gateway = Some(IpAddr::V6(*v6)),
                _ => {}
            }
        }
        answer
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
        let answer = |attribute: RouteAttribute| {
            let mut m = RouteMessage::default();
            m.header.kind = RouteType::Unicast;
            m.attributes = vec![RouteAttribute::Oif(3), attribute];
            RouteAnswer::from_message(&m).plain_route()
        };
        let v4 = std::net::Ipv4Addr::new(10, 1, 0, 254);
        let v6: std::net::Ipv6Addr = "fe80::1".parse().unwrap();
        assert_eq!(
            answer(RouteAttribute::Gateway(RouteAddress::Inet(v4))),
            Some((3, Some(IpAddr::V4(v4))))
        );
        assert_eq!(
            answer(RouteAttribute::Gateway(RouteAddress::Inet6(v6))),
            Some((3, Some(IpAddr::V6(v6))))
        );
        assert_eq!(
            answer(RouteAttribute::Via(RouteVia::Inet(v4))),
            Some((3, Some(IpAddr::V4(v4))))
        );
        assert_eq!(
            answer(RouteAttribute::Via(RouteVia::Inet6(v6))),
            Some((3, Some(IpAddr::V6(v6))))
        );
        assert_eq!(answer(RouteAttribute::Priority(5)), Some((3, None)));
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
