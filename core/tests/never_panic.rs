//! Never-panic properties, in the normal `cargo test`: arbitrary and mutated
//! bytes into both parsers and the dump collector. (Arbitrary input
//! sequences into the Reconciler: `testkit/tests/reconciler_model.rs`.)
//!
//! The checks are the fuzz targets' own: `fuzz/src/checks.rs` is compiled in
//! here unchanged, so a rule the fuzzers enforce is enforced on every test
//! run too.
//!
//! Each property runs `PROPTEST_CASES` cases (default: [`DEFAULT_CASES`],
//! enough for a few seconds in a debug build).

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use netstate_core::wire::netlink::dump::Stage;
use netstate_core::wire::netlink::fixtures::{
    addr_body, addr_msg, control_msg, link_body, link_msg, message, multi, route_body, route_msg,
    rule_msg,
};
use netstate_core::wire::netlink::{
    AF_INET, AF_INET6, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, RTM_DELADDR, RTM_DELLINK,
    RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, RTM_NEWRULE,
};
use proptest::collection::vec;
use proptest::prelude::*;

use checks::{check_dump_chunks, check_netlink_events, check_route_socket, DumpChunk};

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 256;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Byte inputs: arbitrary, and well-formed ones with a few bytes changed.

/// Well-formed netlink monitor datagrams from the fixture builders.
fn netlink_seeds() -> Vec<Vec<u8>> {
    let link = link_msg(
        RTM_NEWLINK,
        2,
        0x1043,
        Some("eth0"),
        Some(1500),
        Some(&[2, 0, 0, 0, 0, 1]),
    );
    let addr = addr_msg(RTM_NEWADDR, AF_INET, 24, 0x80, 2, &[10, 0, 0, 2], None);
    let addr6 = addr_msg(RTM_DELADDR, AF_INET6, 64, 0, 2, &[0xfe, 0x80], Some(0x40));
    let route = route_msg(
        RTM_NEWROUTE,
        AF_INET,
        0,
        254,
        Some(2),
        Some(&[10, 0, 0, 1]),
        Some(254),
    );
    vec![
        [link.clone(), addr.clone(), route.clone()].concat(),
        [
            link_msg(RTM_DELLINK, 7, 0, Some("veth0a"), None, None),
            addr6,
            rule_msg(RTM_NEWRULE, AF_INET6),
        ]
        .concat(),
        [
            control_msg(NLMSG_DONE, &[0; 4]),
            control_msg(NLMSG_OVERRUN, &[]),
            control_msg(NLMSG_ERROR, &[0xf3, 0xff, 0xff, 0xff]),
            route,
        ]
        .concat(),
    ]
}

/// Well-formed enumeration replies: (stage, seq, datagram).
fn dump_seeds() -> Vec<(Stage, u32, Vec<u8>)> {
    let done = |seq| multi(NLMSG_DONE, seq, &0i32.to_ne_bytes());
    let links = [
        multi(
            RTM_NEWLINK,
            1,
            &link_body(1, 0x49, Some("lo"), Some(65536), Some(&[0; 6])),
        ),
        multi(
            RTM_NEWLINK,
            1,
            &link_body(
                3,
                0x1043,
                Some("veth0"),
                Some(1500),
                Some(&[2, 0, 0, 0, 0, 3]),
            ),
        ),
        done(1),
    ]
    .concat();
    let addrs = [
        multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET, 24, 0x80, 3, &[10, 9, 0, 2], None),
        ),
        multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET6, 64, 0, 3, &[0x20, 1, 0xd, 0xb8], Some(0x80)),
        ),
        done(2),
    ]
    .concat();
    let mut lookup = route_body(AF_INET, 32, 254, Some(3), Some(&[10, 9, 0, 1]), Some(254));
    lookup[6] = 0;
    let mut unreachable = [(-101i32).to_ne_bytes().to_vec(), vec![0; 16]].concat();
    unreachable.truncate(20);
    vec![
        (Stage::Links, 1, links),
        (Stage::Addrs, 2, addrs),
        (Stage::RouteV4, 3, message(RTM_NEWROUTE, 0, 3, &lookup)),
        (Stage::RouteV6, 4, message(NLMSG_ERROR, 0, 4, &unreachable)),
    ]
}

/// Well-formed routing-socket messages for both platforms (a default route,
/// an interface change, an address with a link-layer name).
fn route_socket_seeds() -> Vec<Vec<u8>> {
    /// A header of `header` bytes, then the socket addresses present
    /// (`Some`, possibly zero-length), padded to `align`.
    fn msg(
        header: usize,
        msg_type: u8,
        addrs_at: usize,
        sas: &[Option<Vec<u8>>],
        align: usize,
    ) -> Vec<u8> {
        let mut m = vec![0u8; header];
        m[2] = 5;
        m[3] = msg_type;
        let mut bits = 0u32;
        for (i, sa) in sas.iter().enumerate() {
            let Some(sa) = sa else { continue };
            bits |= 1 << i;
            let start = m.len();
            m.extend(sa);
            let padded = if sa.is_empty() {
                align
            } else {
                sa.len().div_ceil(align) * align
            };
            m.resize(start + padded, 0);
        }
        m[addrs_at..addrs_at + 4].copy_from_slice(&bits.to_le_bytes());
        let len = m.len() as u16;
        m[..2].copy_from_slice(&len.to_le_bytes());
        m
    }
    let sin = |a: [u8; 4]| {
        let mut sa = vec![0; 16];
        sa[0] = 16;
        sa[1] = 2;
        sa[4..8].copy_from_slice(&a);
        sa
    };
    let dl = {
        let mut sa = vec![0u8; 20];
        sa[0] = 20;
        sa[1] = 18;
        sa[5] = 3;
        sa[8..11].copy_from_slice(b"en0");
        sa
    };
    let mut out = Vec::new();
    for (rt, ifm, align) in [(92, 112, 4), (152, 168, 8)] {
        let default = msg(
            rt,
            0x1,
            12,
            &[
                Some(sin([0; 4])),
                Some(sin([192, 168, 1, 1])),
                Some(Vec::new()),
            ],
            align,
        );
        let ifinfo = msg(
            ifm,
            0xe,
            4,
            &[None, None, None, None, Some(dl.clone())],
            align,
        );
        let newaddr = msg(
            20,
            0xc,
            4,
            &[
                None,
                None,
                None,
                None,
                Some(dl.clone()),
                Some(sin([10, 0, 0, 2])),
            ],
            align,
        );
        out.push([default, ifinfo, newaddr].concat());
    }
    out
}

/// One of `seeds`, with up to eight bytes overwritten and maybe truncated.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        0..seeds.len(),
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(move |(which, edits, cut, truncate)| {
            let mut d = seeds[which].clone();
            for (at, b) in edits {
                let i = at.index(d.len());
                d[i] = b;
            }
            if truncate {
                d.truncate(cut.index(d.len() + 1));
            }
            d
        })
}

fn stage() -> impl Strategy<Value = Stage> {
    prop::sample::select(vec![
        Stage::Links,
        Stage::Addrs,
        Stage::RouteV4,
        Stage::RouteV6,
    ])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn netlink_events_never_panic_on_arbitrary_bytes(d in vec(any::<u8>(), 0..1024)) {
        check_netlink_events(&d);
    }

    #[test]
    fn netlink_events_never_panic_on_mutated_datagrams(d in mutated(netlink_seeds())) {
        check_netlink_events(&d);
    }

    #[test]
    fn route_socket_never_panics_on_arbitrary_bytes(
        d in vec(any::<u8>(), 0..1024),
        limit in 0u8..130,
    ) {
        check_route_socket(&d, limit);
    }

    #[test]
    fn route_socket_never_panics_on_mutated_messages(
        d in mutated(route_socket_seeds()),
        limit in 0u8..3,
    ) {
        check_route_socket(&d, limit);
    }

    #[test]
    fn dump_collector_never_panics_on_arbitrary_datagrams(
        chunks in vec((stage(), 0u32..5, vec(any::<u8>(), 0..256)), 0..6),
    ) {
        check_dump_chunks(chunks.iter().map(|(stage, seq, d)| DumpChunk {
            stage: *stage,
            seq: *seq,
            datagram: d,
        }));
    }

    #[test]
    fn dump_collector_never_panics_on_mutated_replies(
        edits in vec((0usize..4, any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cuts in vec(any::<Option<prop::sample::Index>>(), 4),
        order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
    ) {
        let mut replies = dump_seeds();
        for (which, at, b) in edits {
            let d = &mut replies[which].2;
            let i = at.index(d.len());
            d[i] = b;
        }
        for (r, cut) in replies.iter_mut().zip(cuts) {
            if let Some(cut) = cut {
                r.2.truncate(cut.index(r.2.len() + 1));
            }
        }
        check_dump_chunks(order.iter().map(|&i| DumpChunk {
            stage: replies[i].0,
            seq: replies[i].1,
            datagram: &replies[i].2,
        }));
    }
}
