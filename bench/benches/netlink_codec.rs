//! The enumeration's half of the netlink codec: netstate's own request
//! writer and route-answer reader against the same work done with
//! `netlink-packet-core` / `netlink-packet-route` (what core used before
//! it had one codec). Also prints how many allocations each makes.
//!
//! * `netlink_requests`: the four requests of a targeted read (the link by
//!   index, its addresses, a FIB-match lookup per family).
//! * `netlink_route_answer`: one lookup answer as the kernel sends it
//!   (`rtmsg`, `RTA_TABLE`, `RTA_DST`, `RTA_GATEWAY`, `RTA_OIF`), framed
//!   and read to interface, gateway, type, prefix length and flags.
//!
//! Run: `cargo bench -p netstate-bench --bench netlink_codec`.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netstate_core::wire::netlink::fixtures::{lookup_answer_body, message};
use netstate_core::wire::netlink::lookup::{RouteAnswer, RTM_F_CLONED, RTM_F_FIB_MATCH};
use netstate_core::wire::netlink::requests::{
    addr_dump_of, link_get, route_get_fib_match, PROBE_V4, PROBE_V6,
};
use netstate_core::wire::netlink::{AF_INET, AF_INET6, HEADER_LEN, RTM_NEWROUTE};

const INDEX: u32 = 4_001;

fn own_requests(seq: u32) -> [Vec<u8>; 4] {
    [
        link_get(seq, INDEX),
        addr_dump_of(seq + 1, INDEX),
        route_get_fib_match(seq + 2, IpAddr::V4(PROBE_V4)),
        route_get_fib_match(seq + 3, IpAddr::V6(PROBE_V6)),
    ]
}

fn crate_encode(inner: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(inner));
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

fn crate_lookup(probe: IpAddr) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    let (family, len) = match probe {
        IpAddr::V4(_) => (AF_INET, 32),
        IpAddr::V6(_) => (AF_INET6, 128),
    };
    m.header.address_family = AddressFamily::from(family);
    m.header.destination_prefix_length = len;
    m.header.flags = RouteFlags::from_bits_retain(RTM_F_FIB_MATCH);
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(probe)));
    RouteNetlinkMessage::GetRoute(m)
}

fn crate_requests(seq: u32) -> [Vec<u8>; 4] {
    let mut link = LinkMessage::default();
    link.header.index = INDEX;
    link.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    let mut addrs = AddressMessage::default();
    addrs.header.index = INDEX;
    [
        crate_encode(RouteNetlinkMessage::GetLink(link), NLM_F_REQUEST, seq),
        crate_encode(
            RouteNetlinkMessage::GetAddress(addrs),
            NLM_F_REQUEST | NLM_F_DUMP,
            seq + 1,
        ),
        crate_encode(crate_lookup(IpAddr::V4(PROBE_V4)), NLM_F_REQUEST, seq + 2),
        crate_encode(crate_lookup(IpAddr::V6(PROBE_V6)), NLM_F_REQUEST, seq + 3),
    ]
}

/// A lookup answer message: a unicast IPv6 default route via fe80::1 on
/// interface 4,001.
fn answer_message() -> Vec<u8> {
    let body = lookup_answer_body(
        AF_INET6,
        0,
        0,
        None,
        Some(INDEX),
        Some(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    );
    message(RTM_NEWROUTE, 0, 9, &body)
}

fn own_answer(m: &[u8]) -> Option<RouteAnswer> {
    RouteAnswer::parse(m.get(HEADER_LEN..)?)
}

fn crate_answer(m: &[u8]) -> Option<RouteAnswer> {
    let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(m).ok()?;
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) = msg.payload else {
        return None;
    };
    let mut answer = RouteAnswer {
        unicast: r.header.kind == RouteType::Unicast,
        dst_len: r.header.destination_prefix_length,
        cloned: r.header.flags.bits() & RTM_F_CLONED != 0,
        oif: None,
        gateway: None,
    };
    for a in &r.attributes {
        match a {
            RouteAttribute::Oif(i) => answer.oif = Some(*i),
            RouteAttribute::Gateway(RouteAddress::Inet(v4)) => {
                answer.gateway = Some(IpAddr::V4(*v4));
            }
            RouteAttribute::Gateway(RouteAddress::Inet6(v6)) => {
                answer.gateway = Some(IpAddr::V6(*v6));
            }
            RouteAttribute::Via(RouteVia::Inet(v4)) => answer.gateway = Some(IpAddr::V4(*v4)),
            RouteAttribute::Via(RouteVia::Inet6(v6)) => answer.gateway = Some(IpAddr::V6(*v6)),
            _ => {}
        }
    }
    Some(answer)
}

fn bench(c: &mut Criterion) {
    assert_eq!(
        own_requests(1),
        crate_requests(1),
        "both write the same bytes"
    );
    let own = allocation_counter::measure(|| {
        black_box(own_requests(1));
    });
    let krate = allocation_counter::measure(|| {
        black_box(crate_requests(1));
    });
    println!(
        "requests of a targeted read: allocations: netstate {}, netlink-packet-* {}",
        own.count_total, krate.count_total
    );
    let mut g = c.benchmark_group("netlink_requests");
    g.bench_function("netstate", |b| {
        b.iter(|| black_box(own_requests(black_box(7))))
    });
    g.bench_function("netlink_packet_route", |b| {
        b.iter(|| black_box(crate_requests(black_box(7))))
    });
    g.finish();

    let m = answer_message();
    assert!(own_answer(&m).is_some());
    assert_eq!(
        own_answer(&m),
        crate_answer(&m),
        "both read the same answer"
    );
    let own = allocation_counter::measure(|| {
        black_box(own_answer(&m));
    });
    let krate = allocation_counter::measure(|| {
        black_box(crate_answer(&m));
    });
    println!(
        "one route answer: allocations: netstate {}, netlink-packet-* {}",
        own.count_total, krate.count_total
    );
    let mut g = c.benchmark_group("netlink_route_answer");
    g.bench_function("netstate", |b| {
        b.iter(|| black_box(own_answer(black_box(&m))))
    });
    g.bench_function("netlink_packet_route", |b| {
        b.iter(|| black_box(crate_answer(black_box(&m))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
