//! The netlink event path: netstate's own header reader against the same
//! work done with `netlink-packet-core` / `netlink-packet-route`'s zero-copy
//! buffers (`NetlinkBuffer`, the header parsers, `NlasIterator`), on a
//! datagram of 32 mixed notifications, valid and with every message
//! corrupted. Also prints how many allocations each makes per datagram.
//!
//! Run: `cargo bench -p netstate-bench --bench netlink_events`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netlink_packet_core::{NetlinkBuffer, NlasIterator};
use netlink_packet_route::address::AddressHeader;
use netlink_packet_route::link::LinkHeader;
use netlink_packet_route::route::RouteHeader;
use netstate_core::wire::netlink::events::parse_events;
use netstate_core::wire::netlink::fixtures::{addr_msg, link_msg, route_msg};
use netstate_core::wire::netlink::{align, AF_INET, AF_INET6};

fn datagram(corrupt: bool) -> Vec<u8> {
    let mut d = Vec::new();
    for i in 0..8u32 {
        let mut msgs = vec![
            link_msg(
                16,
                3 + i,
                0x1043,
                Some("veth0"),
                Some(1500),
                Some(&[2, 0, 0, 0, 0, 1]),
            ),
            addr_msg(20, AF_INET, 24, 0x80, 3 + i, &[10, 0, 0, i as u8], None),
            addr_msg(
                21,
                AF_INET6,
                64,
                0,
                3 + i,
                &[0x20, 1, 0xd, 0xb8],
                Some(0x40),
            ),
            route_msg(
                24,
                AF_INET,
                0,
                254,
                Some(3 + i),
                Some(&[10, 0, 0, 1]),
                Some(254),
            ),
        ];
        if corrupt {
            for m in &mut msgs {
                // The first attribute claims 200 bytes.
                let at = 16
                    + if m[4] == 16 {
                        16
                    } else if m[4] == 24 {
                        12
                    } else {
                        8
                    };
                m[at..at + 2].copy_from_slice(&200u16.to_ne_bytes());
            }
        }
        d.extend(msgs.concat());
    }
    d
}

/// The same reading done with the crate: frame, parse the fixed header,
/// walk the attributes for IFLA_IFNAME / RTA_TABLE / RTA_OIF.
fn crate_parse(d: &[u8]) -> (u32, u32) {
    let (mut events, mut malformed) = (0, 0);
    let mut rest = d;
    while !rest.is_empty() {
        let Ok(buf) = NetlinkBuffer::new_checked(rest) else {
            malformed += 1;
            break;
        };
        let len = buf.length() as usize;
        let payload = buf.payload();
        let ok = match buf.message_type() {
            16 | 17 => LinkHeader::parse(payload).is_ok() && attrs_ok(payload.get(16..), &[3]),
            20 | 21 => AddressHeader::parse(payload).is_ok(),
            24 | 25 => RouteHeader::parse(payload).is_ok() && attrs_ok(payload.get(12..), &[15, 4]),
            _ => true,
        };
        if ok {
            events += 1;
        } else {
            malformed += 1;
        }
        rest = rest.get(align(len)..).unwrap_or(&[]);
    }
    (events, malformed)
}

fn attrs_ok(b: Option<&[u8]>, wanted: &[u16]) -> bool {
    let Some(b) = b else { return false };
    for nla in NlasIterator::new(b) {
        match nla {
            Ok(n) => {
                if wanted.contains(&n.kind()) {
                    black_box(n.value());
                }
            }
            Err(_) => return false,
        }
    }
    true
}

fn own_parse(d: &[u8]) -> (u32, u32) {
    let s = parse_events(d, |e| {
        black_box(e);
    });
    (s.events, s.malformed)
}

fn bench(c: &mut Criterion) {
    for (name, corrupt) in [("valid", false), ("malformed", true)] {
        let d = datagram(corrupt);
        assert_eq!(
            own_parse(&d),
            crate_parse(&d),
            "both readers agree on {name}"
        );
        let own = allocation_counter::measure(|| {
            black_box(own_parse(&d));
        });
        let krate = allocation_counter::measure(|| {
            black_box(crate_parse(&d));
        });
        println!(
            "{name}: allocations per 32-message datagram: netstate {}, netlink-packet-* {}",
            own.count_total, krate.count_total
        );
        let mut g = c.benchmark_group(format!("netlink_events_{name}"));
        g.throughput(Throughput::Elements(32));
        g.bench_function("netstate", |b| {
            b.iter(|| black_box(own_parse(black_box(&d))))
        });
        g.bench_function("netlink_packet_route", |b| {
            b.iter(|| black_box(crate_parse(black_box(&d))))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
