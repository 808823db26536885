//! Hostile input to the parsers: oversized counts, lengths that point past
//! the end, lengths that would loop, and nesting, each rejected or walked
//! once in bounded work.
//!
//! Work is asserted on what the parsers return (how many messages they
//! framed, how many they counted as malformed) and on the call returning at
//! all; nothing here measures time. The bounds that make it hold:
//!
//! * `parse_events` advances by at least one 16-byte header per message and
//!   by at least one 4-byte attribute header per attribute, so a datagram of
//!   `n` bytes is at most `n / 16` messages and `n / 4` attributes;
//! * the routing-socket parser advances by at least 4 bytes per message and
//!   reads at most `RTAX_MAX` (8) socket addresses per message, whatever the
//!   `rtm_addrs` bitmask claims;
//! * a length below its header's size, or past the end, ends the walk (a
//!   message) or skips the message (an attribute) instead of being trusted.

use netstate_core::wire::netlink::dump::{DumpError, Progress, SnapshotCollector, Stage};
use netstate_core::wire::netlink::events::{parse_events, EventStats};
use netstate_core::wire::netlink::fixtures::{addr_msg, attr, link_body, message, multi};
use netstate_core::wire::netlink::{
    AF_INET, HEADER_LEN, NLMSG_DONE, NLMSG_NOOP, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE,
};
use netstate_core::wire::route_socket::{Message, MessageError, ParseStats, Parser, Platform};
use netstate_core::RouteEventKind;

/// The largest datagram a netlink socket hands over in one read here.
const DATAGRAM: usize = 64 * 1024;

fn events(d: &[u8]) -> (Vec<netstate_core::RouteEvent>, EventStats) {
    let mut v = Vec::new();
    let stats = parse_events(d, |e| v.push(e));
    (v, stats)
}

/// A netlink message with a raw body whose `nlmsg_len` is its real length
/// (fixtures compute it), of at most `DATAGRAM` bytes.
fn netlink(kind: u16, body: &[u8]) -> Vec<u8> {
    let m = message(kind, 0, 0, body);
    assert!(m.len() <= DATAGRAM);
    m
}

/// `ifinfomsg` for interface 2, then `attrs`.
fn link_with(attrs: &[u8]) -> Vec<u8> {
    let mut body = link_body(2, 0x1, None, None, None);
    body.extend_from_slice(attrs);
    body
}

// ---------------------------------------------------------------------------
// parse_events

#[test]
fn a_64_kib_datagram_of_zero_length_attributes_is_one_malformed_message() {
    // Attribute headers whose `rta_len` is 0: a walker that trusted them
    // would never advance.
    let attrs = vec![0u8; DATAGRAM - HEADER_LEN - 16 - 16];
    let mut d = netlink(RTM_NEWLINK, &link_with(&attrs));
    let (evs, stats) = events(&d);
    assert!(evs.is_empty());
    assert_eq!(
        stats,
        EventStats {
            messages: 1,
            malformed: 1,
            ..Default::default()
        }
    );
    // The same after a route header.
    let mut route = vec![AF_INET, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0];
    route.extend_from_slice(&attrs);
    d = netlink(RTM_NEWROUTE, &route);
    assert_eq!(events(&d).1.malformed, 1);
}

#[test]
fn sixteen_thousand_four_byte_attributes_are_walked_once() {
    // 16,000 attributes of length 4 (a header and no value): legal, so the
    // message is read, once.
    let attrs = attr(0, &[]).repeat(16_000);
    assert_eq!(attrs.len(), 64_000);
    let d = netlink(RTM_NEWLINK, &link_with(&attrs));
    let (evs, stats) = events(&d);
    assert_eq!(
        stats,
        EventStats {
            messages: 1,
            events: 1,
            ..Default::default()
        }
    );
    assert_eq!(evs[0].index, Some(2));
    // As many empty IFLA_IFNAME attributes: the last one wins, empty.
    let names = attr(3, &[]).repeat(16_000);
    let (evs, _) = events(&netlink(RTM_NEWLINK, &link_with(&names)));
    assert_eq!(evs[0].name.map(|n| n.as_bytes().len()), Some(0));
}

#[test]
fn a_datagram_of_minimal_messages_frames_at_most_one_per_header() {
    // 4,096 bare 16-byte headers fill 64 KiB: the most messages a datagram
    // of this size can hold.
    let noop = netlink(NLMSG_NOOP, &[]);
    assert_eq!(noop.len(), HEADER_LEN);
    let d = noop.repeat(DATAGRAM / HEADER_LEN);
    let stats = events(&d).1;
    assert_eq!(stats.messages as usize, DATAGRAM / HEADER_LEN);
    assert_eq!(stats.ignored, stats.messages);
    assert_eq!(stats.malformed, 0);
    // 4,096 route messages whose bodies are too short: each skipped, none
    // read past its own length.
    let short = netlink(RTM_NEWROUTE, &[]);
    let stats = events(&short.repeat(DATAGRAM / HEADER_LEN)).1;
    assert_eq!(stats.messages as usize, DATAGRAM / HEADER_LEN);
    assert_eq!(stats.malformed, stats.messages);
    assert_eq!(stats.events, 0);
}

#[test]
fn message_lengths_past_the_end_stop_the_walk() {
    let good = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 3, &[10, 0, 0, 1], None);
    // (claimed length, bytes of filler after the lying message): the claim
    // always runs past the end of the datagram.
    for (claimed, filler) in [
        (good.len() as u32 + 1, 0),
        (0xFFFF, 0),
        (0x1_0000, DATAGRAM - 2 * good.len()),
        (0x7FFF_FFFF, DATAGRAM - 2 * good.len()),
        (0xFFFF_FFFF, DATAGRAM - 2 * good.len()),
    ] {
        let mut bad = good.clone();
        bad[..4].copy_from_slice(&claimed.to_ne_bytes());
        let mut d = good.clone();
        d.extend(&bad);
        d.resize(d.len() + filler, 0xAB);
        let (evs, stats) = events(&d);
        assert_eq!(evs.len(), 1, "claimed {claimed:#x}");
        assert_eq!(
            stats,
            EventStats {
                messages: 1,
                events: 1,
                malformed: 1,
                ..Default::default()
            },
            "claimed {claimed:#x}"
        );
    }
}

#[test]
fn message_lengths_below_a_header_cannot_loop() {
    for claimed in 0..HEADER_LEN as u32 {
        let mut d = netlink(NLMSG_NOOP, &[]).repeat(8);
        d[..4].copy_from_slice(&claimed.to_ne_bytes());
        assert_eq!(
            events(&d).1,
            EventStats {
                malformed: 1,
                ..Default::default()
            },
            "nlmsg_len {claimed}"
        );
    }
}

#[test]
fn attribute_lengths_past_the_message_skip_only_that_message() {
    let next = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 3, &[10, 0, 0, 1], None);
    for claimed in [0u16, 1, 3, 9, 0xFF, 0xFFFF] {
        // One IFLA_IFNAME of 8 bytes whose length claims `claimed`.
        let mut a = attr(3, b"eth0");
        a[..2].copy_from_slice(&claimed.to_ne_bytes());
        let mut d = netlink(RTM_NEWLINK, &link_with(&a));
        d.extend(&next);
        let (evs, stats) = events(&d);
        assert_eq!(stats.messages, 2, "rta_len {claimed}");
        assert_eq!(stats.malformed, 1, "rta_len {claimed}");
        assert_eq!(evs.len(), 1, "rta_len {claimed}");
        assert_eq!(evs[0].kind, RouteEventKind::AddrNew);
    }
}

#[test]
fn nested_attributes_are_not_followed() {
    // IFLA_LINKINFO (18) nested 16,000 deep, each level's length covering
    // the levels inside it: the event parser reads the top level only, once.
    let d = netlink(RTM_NEWLINK, &link_with(&nested(18, 16_000)));
    assert_eq!(
        events(&d).1,
        EventStats {
            messages: 1,
            events: 1,
            ..Default::default()
        }
    );
}

/// `depth` attribute headers of type `kind` (flagged `NLA_F_NESTED`), each
/// one's length covering exactly the ones after it.
fn nested(kind: u16, depth: usize) -> Vec<u8> {
    let mut nest = Vec::with_capacity(depth * 4);
    for level in 0..depth {
        let len = u16::try_from((depth - level) * 4).expect("fits a u16");
        nest.extend(len.to_ne_bytes());
        nest.extend((kind | 0x8000).to_ne_bytes());
    }
    nest
}

// ---------------------------------------------------------------------------
// SnapshotCollector::feed

#[test]
fn a_dump_reply_of_zero_length_attributes_is_a_record_skipped_and_counted() {
    // One unusable record never fails the read: it is skipped, counted, and
    // the rest of the dump still gives a snapshot.
    let attrs = vec![0u8; DATAGRAM - HEADER_LEN - 16 - 16];
    let mut d = multi(RTM_NEWLINK, 1, &link_with(&attrs));
    d.extend(multi(
        RTM_NEWLINK,
        1,
        &link_body(3, 1, Some("eth0"), None, None),
    ));
    d.extend(multi(NLMSG_DONE, 1, &0i32.to_ne_bytes()));
    let mut c = SnapshotCollector::new();
    assert_eq!(c.feed(Stage::Links, 1, &d), Ok(Progress::Done));
    assert_eq!(c.skipped(), 1);
    let s = c.finish().unwrap();
    let names: Vec<&str> = s.interfaces().iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth0"]);
}

#[test]
fn a_dump_reply_with_sixteen_thousand_empty_attributes_is_read_once() {
    let mut body = link_body(2, 0x1, Some("eth0"), Some(1500), None);
    body.extend(attr(0, &[]).repeat(16_000));
    let mut d = multi(RTM_NEWLINK, 1, &body);
    d.extend(multi(NLMSG_DONE, 1, &0i32.to_ne_bytes()));
    let mut c = SnapshotCollector::new();
    assert_eq!(c.feed(Stage::Links, 1, &d), Ok(Progress::Done));
    let s = c.finish().unwrap();
    assert_eq!(s.interfaces().len(), 1);
    assert_eq!(s.interfaces().first().unwrap().name, "eth0");
}

#[test]
fn a_dump_reply_of_4096_minimal_messages_is_read_once() {
    let d = multi(NLMSG_NOOP, 1, &[]).repeat(DATAGRAM / HEADER_LEN);
    let mut c = SnapshotCollector::new();
    assert_eq!(c.feed(Stage::Links, 1, &d), Ok(Progress::More));
    // Replies to another request: skipped by their header alone.
    assert_eq!(c.feed(Stage::Links, 2, &d), Ok(Progress::More));
    assert!(c.finish().unwrap().interfaces().is_empty());
}

#[test]
fn dump_lengths_past_the_end_are_malformed() {
    let good = multi(RTM_NEWLINK, 1, &link_body(2, 1, Some("eth0"), None, None));
    for claimed in [good.len() as u32 + 1, 0xFFFF, 0xFFFF_FFFF] {
        let mut d = good.clone();
        d[..4].copy_from_slice(&claimed.to_ne_bytes());
        let mut c = SnapshotCollector::new();
        assert_eq!(
            c.feed(Stage::Links, 1, &d),
            Err(DumpError::Malformed("netlink header length")),
            "nlmsg_len {claimed:#x}"
        );
    }
    for claimed in 0..HEADER_LEN as u32 {
        let mut d = good.clone();
        d[..4].copy_from_slice(&claimed.to_ne_bytes());
        let mut c = SnapshotCollector::new();
        assert!(
            matches!(c.feed(Stage::Links, 1, &d), Err(DumpError::Malformed(_))),
            "nlmsg_len {claimed}"
        );
    }
    // An attribute claiming 0xFFFF bytes inside a short message: that
    // record is skipped and counted, the walk goes on to the next message.
    let mut body = link_body(2, 1, Some("eth0"), None, None);
    body[16..18].copy_from_slice(&0xFFFFu16.to_ne_bytes());
    let mut d = multi(RTM_NEWLINK, 1, &body);
    d.extend(multi(
        RTM_NEWLINK,
        1,
        &link_body(3, 1, Some("eth1"), None, None),
    ));
    let mut c = SnapshotCollector::new();
    assert_eq!(c.feed(Stage::Links, 1, &d), Ok(Progress::More));
    assert_eq!(c.skipped(), 1);
    assert_eq!(c.finish().unwrap().interfaces().len(), 1);
}

#[test]
fn deeply_nested_attributes_in_a_dump_reply_end() {
    // IFLA_LINKINFO (18) and IFLA_AF_SPEC (26) nested 16,000 deep, each
    // level's length covering exactly the levels inside it.
    for kind in [18u16, 26] {
        let nest = nested(kind, 16_000);
        let mut body = link_body(2, 1, Some("eth0"), None, None);
        body.extend(&nest);
        let d = multi(RTM_NEWLINK, 1, &body);
        let mut c = SnapshotCollector::new();
        // Either refused or read; what matters is that it returns.
        let _ = c.feed(Stage::Links, 1, &d);
    }
}

// ---------------------------------------------------------------------------
// The routing-socket parser

const PLATFORMS: [(Platform, usize, usize); 2] = [
    // (platform, sizeof(rt_msghdr), socket-address alignment)
    (Platform::Darwin, 92, 4),
    (Platform::FreeBsd, 152, 8),
];

/// A routing-socket message header: `msglen`, version 5, `msg_type`.
fn rt_header(len: usize, msg_type: u8) -> Vec<u8> {
    let mut m = vec![0u8; len];
    m[..2].copy_from_slice(&(len as u16).to_le_bytes());
    m[2] = 5;
    m[3] = msg_type;
    m
}

fn parse(p: Platform, d: &[u8]) -> ParseStats {
    Parser::new(p).parse(d, |_| {})
}

#[test]
fn a_64_kib_buffer_of_minimal_messages_is_at_most_one_message_per_four_bytes() {
    // 16,384 four-byte RTM_ADD messages (too short for their header).
    let d = rt_header(4, 0x1).repeat(DATAGRAM / 4);
    for (p, _, _) in PLATFORMS {
        let stats = parse(p, &d);
        assert_eq!(stats.messages as usize, DATAGRAM / 4, "{p:?}");
        assert_eq!(stats.malformed, stats.messages, "{p:?}");
        assert_eq!(stats.events, stats.messages, "{p:?}: one Unknown hint each");
    }
}

#[test]
fn route_socket_lengths_that_cannot_advance_end_the_buffer() {
    for (p, rt, _) in PLATFORMS {
        for msglen in 0u16..4 {
            let mut d = rt_header(rt, 0x1).repeat(DATAGRAM / rt);
            d[..2].copy_from_slice(&msglen.to_le_bytes());
            let stats = parse(p, &d);
            assert_eq!((stats.messages, stats.malformed), (1, 1), "{p:?} {msglen}");
            let first = Parser::new(p).messages(&d).next().unwrap();
            assert_eq!(first, Err(MessageError::BadLength { msglen }));
        }
    }
}

#[test]
fn route_socket_lengths_past_the_end_end_the_buffer() {
    for (p, rt, _) in PLATFORMS {
        for msglen in [rt as u16 + 1, 0x8000, 0xFFFF] {
            let mut d = rt_header(rt, 0x1);
            d[..2].copy_from_slice(&msglen.to_le_bytes());
            let stats = parse(p, &d);
            assert_eq!((stats.messages, stats.malformed), (1, 1), "{p:?} {msglen}");
            let first = Parser::new(p).messages(&d).next().unwrap();
            assert!(matches!(first, Err(MessageError::Truncated { .. })));
        }
    }
}

#[test]
fn a_message_claiming_every_socket_address_reads_at_most_eight() {
    // rtm_addrs = 0xFFFF_FFFF claims 32 socket addresses; the body holds
    // zero-length ones up to the 64 KiB a u16 msglen allows. Only the eight
    // RTAX slots are read.
    for (p, rt, _) in PLATFORMS {
        let mut m = rt_header(rt, 0x1);
        m[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        m.resize(0xFFFC, 0);
        let len = m.len() as u16;
        m[..2].copy_from_slice(&len.to_le_bytes());
        let stats = parse(p, &m);
        assert_eq!(stats.messages, 1, "{p:?}");
        assert_eq!(stats.malformed, 0, "{p:?}");
        // 0xFFFF bits in an interface message's `ifm_addrs` too.
        let mut ifm = rt_header(if p == Platform::Darwin { 112 } else { 168 }, 0xe);
        ifm[4..8].copy_from_slice(&0xFFFFu32.to_le_bytes());
        ifm.resize(0xFFFC, 0);
        let len = ifm.len() as u16;
        ifm[..2].copy_from_slice(&len.to_le_bytes());
        let stats = parse(p, &ifm);
        assert_eq!((stats.messages, stats.malformed), (1, 0), "{p:?}");
    }
}

#[test]
fn socket_address_lengths_past_the_message_are_malformed() {
    for (p, rt, _) in PLATFORMS {
        for sa_len in [17u8, 0x80, 0xFF] {
            // RTA_DST then RTA_NETMASK; the destination claims more bytes
            // than the 16 the message has after its header.
            let mut m = rt_header(rt, 0x1);
            m[12..16].copy_from_slice(&0x5u32.to_le_bytes());
            let mut sa = vec![0u8; 16];
            sa[0] = sa_len;
            sa[1] = 2;
            m.extend(&sa);
            let len = m.len() as u16;
            m[..2].copy_from_slice(&len.to_le_bytes());
            let items: Vec<_> = Parser::new(p).messages(&m).collect();
            assert_eq!(
                items,
                [Err(MessageError::BadSockaddr {
                    msg_type: 0x1,
                    slot: 0
                })],
                "{p:?} sa_len {sa_len}"
            );
        }
    }
}

#[test]
fn a_link_name_length_past_its_address_is_cut() {
    // An RTM_IFINFO whose sockaddr_dl claims a 255-byte name in 20 bytes.
    for (p, _, align) in PLATFORMS {
        let header = if p == Platform::Darwin { 112 } else { 168 };
        let mut m = rt_header(header, 0xe);
        m[4..8].copy_from_slice(&0x10u32.to_le_bytes()); // RTA_IFP
        let mut dl = vec![0u8; 20];
        dl[0] = 20;
        dl[1] = 18; // AF_LINK
        dl[5] = 255; // sdl_nlen
        dl[8..12].copy_from_slice(b"en0x");
        m.extend(&dl);
        m.resize(m.len().div_ceil(align) * align, 0);
        let len = m.len() as u16;
        m[..2].copy_from_slice(&len.to_le_bytes());
        let items: Vec<_> = Parser::new(p).messages(&m).collect();
        let Ok(Message::Event(ev)) = items[0] else {
            panic!("{p:?}: {items:?}");
        };
        assert_eq!(ev.name.unwrap().as_bytes(), b"en0x", "{p:?}");
    }
}
