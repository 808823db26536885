//! Route-monitor datagrams into [`RouteEvent`] hints, without allocating.
//!
//! Reads each message's header and fixed body, and of the attributes only
//! `IFLA_IFNAME` (links) and `RTA_TABLE` / `RTA_OIF` (routes). All lengths are
//! checked before use; a message whose length cannot be trusted ends the
//! walk of its datagram (the rest cannot be framed), a message whose body is
//! short or whose attributes are malformed is skipped. Either way it is
//! counted in [`EventStats::malformed`], and the caller should treat it as
//! a possibly lost change (the driver reports it as an `Unknown` hint).

use super::attrs::{for_each_attr, frame, u32_at};
use super::{
    AF_INET, AF_INET6, NLMSG_ERROR, NLMSG_OVERRUN, RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE,
    RTM_DELRULE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, RTM_NEWRULE,
};
use crate::event::{Family, InterfaceName, RouteEvent, RouteEventKind};

/// What one datagram held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventStats {
    /// Messages framed (valid header).
    pub messages: u32,
    /// Hints produced.
    pub events: u32,
    /// Messages or datagram tails that could not be parsed and were skipped.
    pub malformed: u32,
    /// `NLMSG_ERROR` messages (a monitor socket should not receive any).
    pub errors: u32,
    /// `NLMSG_OVERRUN` messages: the kernel lost data, resync.
    pub overruns: u32,
    /// Messages of a type the monitor does not act on (`NLMSG_NOOP`,
    /// `NLMSG_DONE`, neighbour messages, …).
    pub ignored: u32,
}

impl EventStats {
    /// Whether something was lost: an overrun, or a message that could not
    /// be read. Either way, enumerate again.
    #[must_use]
    pub fn lost_something(&self) -> bool {
        self.overruns > 0 || self.malformed > 0
    }
}

fn family(raw: u8) -> Option<Family> {
    match raw {
        AF_INET => Some(Family::V4),
        AF_INET6 => Some(Family::V6),
        _ => None,
    }
}

const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const RTMSG_LEN: usize = 12;
const FIB_RULE_HDR_LEN: usize = 12;
const IFLA_IFNAME: u16 = 3;
const RTA_OIF: u16 = 4;
const RTA_TABLE: u16 = 15;

/// Parses one message body of type `kind` into a hint. `None` when the body
/// is malformed.
fn parse_body(kind: u16, body: &[u8]) -> Option<RouteEvent> {
    match kind {
        RTM_NEWLINK | RTM_DELLINK => {
            let fixed = body.get(..IFINFOMSG_LEN)?;
            let index = u32_at(fixed, 4)?;
            let ev_kind = if kind == RTM_NEWLINK {
                RouteEventKind::LinkNew
            } else {
                RouteEventKind::LinkDel
            };
            let mut ev = RouteEvent::new(ev_kind).with_index(index);
            let ok = for_each_attr(&body[IFINFOMSG_LEN..], |t, v| {
                if t == IFLA_IFNAME {
                    ev.name = Some(InterfaceName::new(v));
                }
            });
            ok.then_some(ev)
        }
        RTM_NEWADDR | RTM_DELADDR => {
            let fixed = body.get(..IFADDRMSG_LEN)?;
            let ev_kind = if kind == RTM_NEWADDR {
                RouteEventKind::AddrNew
            } else {
                RouteEventKind::AddrDel
            };
            let mut ev = RouteEvent::new(ev_kind).with_index(u32_at(fixed, 4)?);
            ev.family = family(fixed[0]);
            Some(ev)
        }
        RTM_NEWROUTE | RTM_DELROUTE => {
            let fixed = body.get(..RTMSG_LEN)?;
            let ev_kind = if kind == RTM_NEWROUTE {
                RouteEventKind::RouteNew
            } else {
                RouteEventKind::RouteDel
            };
            let mut ev = RouteEvent::new(ev_kind).with_route(u32::from(fixed[4]), fixed[1]);
            ev.family = family(fixed[0]);
            let ok = for_each_attr(&body[RTMSG_LEN..], |t, v| match t {
                RTA_TABLE => ev.table = u32_at(v, 0).or(ev.table),
                RTA_OIF => ev.index = u32_at(v, 0),
                _ => {}
            });
            ok.then_some(ev)
        }
        RTM_NEWRULE | RTM_DELRULE => {
            let fixed = body.get(..FIB_RULE_HDR_LEN)?;
            let mut ev = RouteEvent::new(RouteEventKind::Rule);
            ev.family = family(fixed[0]);
            Some(ev)
        }
        _ => None,
    }
}

/// Turns one received datagram into hints, calling `out` for each, and says
/// what it held. Never allocates, never panics, always terminates (each step
/// advances by at least one aligned header).
pub fn parse_events(datagram: &[u8], mut out: impl FnMut(RouteEvent)) -> EventStats {
    let mut stats = EventStats::default();
    let mut rest = datagram;
    while !rest.is_empty() {
        let Some((frame, next)) = frame(rest) else {
            // The length cannot be trusted: nothing after it can be framed.
            stats.malformed += 1;
            break;
        };
        stats.messages += 1;
        let (kind, body) = (frame.kind, frame.body);
        match kind {
            NLMSG_ERROR => stats.errors += 1,
            NLMSG_OVERRUN => stats.overruns += 1,
            RTM_NEWLINK | RTM_DELLINK | RTM_NEWADDR | RTM_DELADDR | RTM_NEWROUTE | RTM_DELROUTE
            | RTM_NEWRULE | RTM_DELRULE => match parse_body(kind, body) {
                Some(ev) => {
                    stats.events += 1;
                    out(ev);
                }
                None => stats.malformed += 1,
            },
            // NLMSG_NOOP, NLMSG_DONE, and kinds the monitor does not ask for.
            _ => stats.ignored += 1,
        }
        rest = next;
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::fixtures::*;
    use crate::wire::netlink::{HEADER_LEN, NLMSG_DONE};

    fn collect(d: &[u8]) -> (Vec<RouteEvent>, EventStats) {
        let mut v = Vec::new();
        let s = parse_events(d, |e| v.push(e));
        (v, s)
    }

    #[test]
    fn link_address_route_and_rule_messages_become_hints() {
        let mut d = Vec::new();
        d.extend(link_msg(RTM_NEWLINK, 7, 0x1043, Some("veth0a"), None, None));
        d.extend(addr_msg(
            RTM_DELADDR,
            AF_INET6,
            64,
            0x80,
            7,
            &[0xfe, 0x80],
            None,
        ));
        d.extend(route_msg(
            RTM_NEWROUTE,
            AF_INET,
            0,
            254,
            Some(7),
            None,
            Some(100),
        ));
        d.extend(rule_msg(RTM_NEWRULE, AF_INET));
        let (events, stats) = collect(&d);
        assert_eq!(stats.messages, 4);
        assert_eq!(stats.events, 4);
        assert_eq!(stats.malformed, 0);
        assert_eq!(events[0].kind, RouteEventKind::LinkNew);
        assert_eq!(events[0].index, Some(7));
        assert_eq!(
            events[0]
                .name
                .and_then(|n| n.as_str().map(String::from))
                .as_deref(),
            Some("veth0a")
        );
        assert_eq!(events[1].kind, RouteEventKind::AddrDel);
        assert_eq!(events[1].family, Some(Family::V6));
        assert_eq!(events[1].index, Some(7));
        assert_eq!(events[2].kind, RouteEventKind::RouteNew);
        assert_eq!(events[2].dst_prefix_len, Some(0));
        assert_eq!(events[2].table, Some(100), "RTA_TABLE wins over rtm_table");
        assert_eq!(events[2].index, Some(7));
        assert_eq!(events[3].kind, RouteEventKind::Rule);
    }

    #[test]
    fn control_messages_are_counted_not_emitted() {
        let mut d = Vec::new();
        d.extend(control_msg(NLMSG_DONE, &[0; 4]));
        d.extend(control_msg(NLMSG_OVERRUN, &[]));
        d.extend(control_msg(NLMSG_ERROR, &[0xf3, 0xff, 0xff, 0xff]));
        d.extend(control_msg(30, &[0; 12])); // RTM_NEWNEIGH
        let (events, stats) = collect(&d);
        assert!(events.is_empty());
        assert_eq!(stats.overruns, 1);
        assert_eq!(stats.errors, 1);
        assert_eq!(stats.ignored, 2);
        assert!(stats.lost_something());
    }

    #[test]
    fn truncated_and_lying_lengths_are_counted_and_end_the_walk() {
        let good = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 3, &[10, 0, 0, 1], None);
        // Cut in the middle of the second message.
        let mut d = good.clone();
        d.extend_from_slice(&good[..good.len() - 3]);
        let (events, stats) = collect(&d);
        assert_eq!(events.len(), 1);
        assert_eq!(stats.malformed, 1);
        // A length below the header size.
        let mut bad = good.clone();
        bad[..4].copy_from_slice(&8u32.to_ne_bytes());
        assert_eq!(collect(&bad).1.malformed, 1);
        // A length of zero cannot loop.
        let mut zero = good.clone();
        zero[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(
            collect(&zero).1,
            EventStats {
                malformed: 1,
                ..Default::default()
            }
        );
        // Fewer than four bytes.
        assert_eq!(collect(&[1, 2]).1.malformed, 1);
        assert_eq!(collect(&[]).1, EventStats::default());
    }

    #[test]
    fn a_short_body_or_bad_attribute_skips_only_that_message() {
        let mut d = control_msg(RTM_NEWROUTE, &[2, 0, 0]); // rtmsg is 12 bytes
        let mut link = link_msg(RTM_NEWLINK, 4, 1, Some("eth0"), None, None);
        // Make the IFLA_IFNAME attribute claim 200 bytes.
        link[HEADER_LEN + 16..HEADER_LEN + 18].copy_from_slice(&200u16.to_ne_bytes());
        d.extend(link);
        d.extend(addr_msg(
            RTM_NEWADDR,
            AF_INET,
            24,
            0,
            3,
            &[10, 0, 0, 1],
            None,
        ));
        let (events, stats) = collect(&d);
        assert_eq!(stats.malformed, 2);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, RouteEventKind::AddrNew);
    }

    #[test]
    fn random_bytes_never_panic_and_always_terminate() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let seed = route_msg(
            RTM_NEWROUTE,
            AF_INET6,
            0,
            254,
            Some(2),
            Some(&[0x20, 1, 0xd, 0xb8]),
            None,
        );
        for _ in 0..20_000 {
            let mut d = seed.clone();
            for _ in 0..(next() % 6) {
                let i = (next() as usize) % d.len();
                d[i] = next() as u8;
            }
            d.truncate((next() as usize) % (d.len() + 1));
            let stats = parse_events(&d, |_| {});
            assert!(stats.messages as usize <= d.len() / HEADER_LEN);
        }
    }
}
