//! Writes the small seed corpus kept in the repository, from the netlink
//! fixture builders and hand-laid routing-socket messages and `getifaddrs`
//! entries:
//!
//! ```text
//! cd fuzz && cargo run --bin seeds
//! ```
//!
//! Each seed is also run through its target's checks here, so a seed that
//! panics is caught before the fuzzer starts.

use std::fs;
use std::path::Path;

use netstate_core::wire::ifaddrs::Entry;
use netstate_core::wire::netlink::dump::Stage;
use netstate_core::wire::netlink::fixtures::{
    addr_body, addr_msg, control_msg, link_body, link_msg, message, multi, route_body, route_msg,
    rule_msg,
};
use netstate_core::wire::netlink::{
    AF_INET, AF_INET6, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, RTM_DELADDR, RTM_DELLINK,
    RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, RTM_NEWRULE,
};
use netstate_fuzz::{
    check_ifaddrs, check_netlink_dump, check_netlink_events, check_route_socket, encode_dump,
    encode_ifaddrs, reconciler_model,
};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    // The `seed-` prefix keeps them apart from the grown corpus, which
    // libFuzzer names by hash and git ignores.
    fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn netlink_events() {
    let link = link_msg(
        RTM_NEWLINK,
        2,
        0x1043,
        Some("eth0"),
        Some(1500),
        Some(&[2, 0, 0, 0, 0, 1]),
    );
    let dellink = link_msg(RTM_DELLINK, 7, 0, Some("veth0a"), None, None);
    let addr4 = addr_msg(RTM_NEWADDR, AF_INET, 24, 0x80, 2, &[10, 0, 0, 2], None);
    let addr6 = addr_msg(
        RTM_DELADDR,
        AF_INET6,
        64,
        0,
        2,
        &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        Some(0x40),
    );
    let route = route_msg(
        RTM_NEWROUTE,
        AF_INET,
        0,
        254,
        Some(2),
        Some(&[10, 0, 0, 1]),
        Some(254),
    );
    let rule = rule_msg(RTM_NEWRULE, AF_INET6);
    let seeds: [(&str, Vec<u8>); 6] = [
        ("link", link.clone()),
        ("dellink", dellink),
        ("addr4", addr4.clone()),
        ("addr6-route-rule", [addr6, route.clone(), rule].concat()),
        (
            "control",
            [
                control_msg(NLMSG_DONE, &[0; 4]),
                control_msg(NLMSG_OVERRUN, &[]),
                control_msg(NLMSG_ERROR, &[0xf3, 0xff, 0xff, 0xff]),
                control_msg(30, &[0; 12]),
            ]
            .concat(),
        ),
        ("mixed-truncated", {
            let mut d = [link, addr4, route].concat();
            d.truncate(d.len() - 5);
            d
        }),
    ];
    for (name, bytes) in seeds {
        check_netlink_events(&bytes);
        write("netlink_events", name, &bytes);
    }
}

fn netlink_dump() {
    let links = |seq| {
        [
            multi(
                RTM_NEWLINK,
                seq,
                &link_body(1, 0x49, Some("lo"), Some(65536), Some(&[0; 6])),
            ),
            multi(
                RTM_NEWLINK,
                seq,
                &link_body(
                    3,
                    0x1043,
                    Some("veth0"),
                    Some(1500),
                    Some(&[2, 0, 0, 0, 0, 3]),
                ),
            ),
            multi(NLMSG_DONE, seq, &0i32.to_ne_bytes()),
        ]
        .concat()
    };
    let addrs = |seq| {
        [
            multi(
                RTM_NEWADDR,
                seq,
                &addr_body(AF_INET, 24, 0x80, 3, &[10, 9, 0, 2], None),
            ),
            multi(
                RTM_NEWADDR,
                seq,
                &addr_body(
                    AF_INET6,
                    64,
                    0,
                    3,
                    &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                    Some(0x80),
                ),
            ),
            multi(
                RTM_NEWADDR,
                seq,
                &addr_body(AF_INET, 8, 0x80, 1, &[127, 0, 0, 1], None),
            ),
            multi(NLMSG_DONE, seq, &0i32.to_ne_bytes()),
        ]
        .concat()
    };
    let lookup = |seq, family: u8, oif, gw: &[u8]| {
        let mut body = route_body(
            family,
            if family == AF_INET { 32 } else { 128 },
            254,
            Some(oif),
            Some(gw),
            Some(254),
        );
        body[6] = 0;
        message(RTM_NEWROUTE, 0, seq, &body)
    };
    let error = |seq, errno: i32| {
        let mut body = (-errno).to_ne_bytes().to_vec();
        body.extend([0u8; 16]);
        message(NLMSG_ERROR, 0, seq, &body)
    };
    let full = encode_dump(&[
        (Stage::Links, 1, links(1)),
        (Stage::Addrs, 2, addrs(2)),
        (Stage::RouteV4, 3, lookup(3, AF_INET, 3, &[10, 9, 0, 1])),
        (Stage::RouteV6, 4, error(4, 101)),
    ]);
    let stale = encode_dump(&[
        (Stage::Links, 5, links(4)),
        (Stage::Links, 5, links(5)),
        (Stage::RouteV6, 6, lookup(6, AF_INET6, 3, &[0xfe, 0x80])),
    ]);
    let mut intr = links(1);
    intr[6..8].copy_from_slice(&0x12u16.to_ne_bytes());
    let interrupted = encode_dump(&[(Stage::Links, 1, intr), (Stage::Addrs, 2, error(2, 16))]);
    let inconsistent = encode_dump(&[
        (Stage::Links, 1, links(1)),
        (
            Stage::Addrs,
            2,
            multi(
                RTM_NEWADDR,
                2,
                &addr_body(AF_INET, 24, 0, 9, &[10, 0, 0, 1], None),
            ),
        ),
        (Stage::RouteV4, 3, lookup(3, AF_INET, 42, &[10, 0, 0, 1])),
    ]);
    let duplicate = encode_dump(&[(
        Stage::Links,
        1,
        [
            multi(RTM_NEWLINK, 1, &link_body(3, 1, Some("a"), None, None)),
            multi(RTM_NEWLINK, 1, &link_body(3, 1, Some("b"), None, None)),
        ]
        .concat(),
    )]);
    let mut cut = links(1);
    cut.truncate(40);
    let truncated = encode_dump(&[(Stage::Links, 1, cut)]);
    for (name, bytes) in [
        ("full", full),
        ("stale-seq", stale),
        ("interrupted", interrupted),
        ("inconsistent", inconsistent),
        ("duplicate", duplicate),
        ("truncated", truncated),
    ] {
        check_netlink_dump(&bytes);
        write("netlink_dump", name, &bytes);
    }
}

/// A routing-socket message: a header of `header_len` bytes with `msglen`,
/// version 5 and `msg_type`, `addrs` at `addrs_at`, then socket addresses
/// padded to `align`.
fn rt_message(
    header_len: usize,
    msg_type: u8,
    addrs_at: usize,
    index_at: usize,
    sockaddrs: &[(u32, Vec<u8>)],
    align: usize,
) -> Vec<u8> {
    let mut m = vec![0u8; header_len];
    m[2] = 5;
    m[3] = msg_type;
    m[index_at..index_at + 2].copy_from_slice(&4u16.to_le_bytes());
    let mut bits = 0u32;
    for (bit, sa) in sockaddrs {
        bits |= bit;
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

fn sin(a: [u8; 4]) -> Vec<u8> {
    let mut sa = vec![0; 16];
    sa[0] = 16;
    sa[1] = 2;
    sa[4..8].copy_from_slice(&a);
    sa
}

fn sin6(af: u8) -> Vec<u8> {
    let mut sa = vec![0; 28];
    sa[0] = 28;
    sa[1] = af;
    sa[8] = 0x20;
    sa
}

fn dl(name: &str) -> Vec<u8> {
    let len = 20.max(8 + name.len() + 6);
    let mut sa = vec![0; len];
    sa[0] = len as u8;
    sa[1] = 18;
    sa[5] = name.len() as u8;
    sa[6] = 6;
    sa[8..8 + name.len()].copy_from_slice(name.as_bytes());
    sa
}

fn route_socket() {
    // (rt_msghdr, if_msghdr, align, AF_INET6) per platform.
    for (tag, rt, ifm, align, af6) in [("darwin", 92, 112, 4, 30u8), ("freebsd", 152, 168, 8, 28u8)]
    {
        let default4 = rt_message(
            rt,
            0x1,
            12,
            4,
            &[
                (0x1, sin([0; 4])),
                (0x2, sin([192, 168, 1, 1])),
                (0x4, Vec::new()),
            ],
            align,
        );
        let host = rt_message(
            rt,
            0x2,
            12,
            4,
            &[(0x1, sin([10, 0, 0, 9])), (0x2, dl("en0"))],
            align,
        );
        let ifinfo = rt_message(ifm, 0xe, 4, 12, &[(0x10, dl("en0"))], align);
        let newaddr = rt_message(
            20,
            0xc,
            4,
            12,
            &[(0x4, Vec::new()), (0x10, dl("en0")), (0x20, sin6(af6))],
            align,
        );
        let miss = rt_message(rt, 0x7, 12, 4, &[], align);
        let mut seeds = vec![
            (
                format!("{tag}-default-route"),
                [default4.clone(), miss.clone()].concat(),
            ),
            (format!("{tag}-host-route"), host),
            (format!("{tag}-ifinfo"), ifinfo),
            (format!("{tag}-newaddr"), newaddr),
        ];
        if tag == "freebsd" {
            let mut ann = vec![0u8; 24];
            ann[0] = 24;
            ann[2] = 5;
            ann[3] = 0x11;
            ann[4] = 9;
            ann[6..10].copy_from_slice(b"tap0");
            ann[22] = 1;
            seeds.push((format!("{tag}-announce"), ann));
        }
        for (name, bytes) in seeds {
            // The first byte of a route_socket input is the prefix limit.
            let input = [&[1u8][..], &bytes].concat();
            check_route_socket(&input[1..], 1);
            write("route_socket", &name, &input);
        }
    }
}

/// `getifaddrs` lists as each layout stores them (the `ifaddrs` target's
/// byte 0 picks the layout: 0 Linux, 1 Darwin, 2 FreeBSD).
fn ifaddrs() {
    let entry = |name: &str, flags: u32, addr: Option<Vec<u8>>, netmask: Option<Vec<u8>>| Entry {
        name: name.as_bytes().to_vec(),
        flags,
        addr,
        netmask,
    };
    // Linux: a u16 family first; sockaddr_in 16, sockaddr_in6 28,
    // sockaddr_ll 20 bytes.
    let linux_in = |a: [u8; 4]| {
        let mut sa = vec![0u8; 16];
        sa[0..2].copy_from_slice(&2u16.to_ne_bytes());
        sa[4..8].copy_from_slice(&a);
        sa
    };
    let linux_in6 = |a: [u8; 16]| {
        let mut sa = vec![0u8; 28];
        sa[0..2].copy_from_slice(&10u16.to_ne_bytes());
        sa[8..24].copy_from_slice(&a);
        sa
    };
    let linux_ll = |index: i32, hw: &[u8]| {
        let mut sa = vec![0u8; 20];
        sa[0..2].copy_from_slice(&17u16.to_ne_bytes());
        sa[4..8].copy_from_slice(&index.to_ne_bytes());
        sa[11] = hw.len() as u8;
        sa[12..12 + hw.len()].copy_from_slice(hw);
        sa
    };
    let mut ll6 = [0u8; 16];
    ll6[0] = 0xfe;
    ll6[1] = 0x80;
    ll6[15] = 1;
    let mut mask64 = [0u8; 16];
    mask64[..8].fill(0xff);
    let linux = [
        entry("lo", 0x49, Some(linux_ll(1, &[0; 6])), None),
        entry("eth0", 0x1043, Some(linux_ll(2, &[2, 0, 0, 0, 0, 1])), None),
        entry("tun0", 0x10d1, None, None),
        entry(
            "lo",
            0x49,
            Some(linux_in([127, 0, 0, 1])),
            Some(linux_in([255, 0, 0, 0])),
        ),
        entry(
            "eth0",
            0x1043,
            Some(linux_in([10, 0, 0, 2])),
            Some(linux_in([255, 255, 255, 0])),
        ),
        entry(
            "eth0:1",
            0x1043,
            Some(linux_in([10, 0, 0, 3])),
            Some(linux_in([255, 255, 255, 0])),
        ),
        entry(
            "eth0",
            0x1043,
            Some(linux_in6(ll6)),
            Some(linux_in6(mask64)),
        ),
        entry("tun0", 0x10d1, Some(linux_in([10, 8, 0, 2])), None),
    ];
    // BSD: sa_len, then a u8 family; sockaddr_dl with the name, then the
    // address; netmasks trimmed to their last non-zero byte.
    let bsd = |family: u8, body: &[u8]| {
        let mut sa = vec![(2 + body.len()) as u8, family];
        sa.extend(body);
        sa
    };
    let bsd_in = |a: [u8; 4]| bsd(2, &[&[0u8, 0][..], &a, &[0u8; 8]].concat());
    let dl = |index: u16, name: &str, hw: &[u8]| {
        let mut body = index.to_ne_bytes().to_vec();
        body.extend([6, name.len() as u8, hw.len() as u8, 0]);
        body.extend(name.as_bytes());
        body.extend(hw);
        body.resize(body.len().max(18), 0);
        bsd(18, &body)
    };
    let mut scoped = ll6;
    scoped[3] = 4; // fe80:4::1: the KAME embedded scope of en0
    for (head, tag, af6) in [(1u8, "darwin", 30u8), (2, "freebsd", 28)] {
        let bsd_in6 = |a: [u8; 16]| bsd(af6, &[&[0u8; 6][..], &a, &[0u8; 4]].concat());
        let list = [
            entry("lo0", 0x8049, Some(dl(1, "lo0", &[])), None),
            entry(
                "en0",
                0x8863,
                Some(dl(4, "en0", &[0xa, 0xb, 0xc, 0xd, 0xe, 0xf])),
                None,
            ),
            entry(
                "en0",
                0x8863,
                Some(bsd_in([192, 168, 1, 20])),
                Some(bsd(0, &[0, 0, 255, 255, 255])),
            ),
            entry(
                "en0",
                0x8863,
                Some(bsd_in6(scoped)),
                Some(bsd(
                    0,
                    &[
                        0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                    ],
                )),
            ),
            entry(
                "lo0",
                0x8049,
                Some(bsd_in([127, 0, 0, 1])),
                Some(bsd(0, &[0, 0, 255])),
            ),
        ];
        let bytes = encode_ifaddrs(head, &list);
        check_ifaddrs(&bytes);
        write("ifaddrs", tag, &bytes);
    }
    let bytes = encode_ifaddrs(0, &linux);
    check_ifaddrs(&bytes);
    write("ifaddrs", "linux", &bytes);
    // The same list with lookups that may fail (bit 2).
    let bytes = encode_ifaddrs(4, &linux);
    check_ifaddrs(&bytes);
    write("ifaddrs", "linux-failing-lookups", &bytes);
}

fn reconciler() {
    // Any bytes decode to a case; a few lengths and patterns give the fuzzer
    // different starting shapes (short and long operation lists).
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for (i, len) in [64usize, 256, 1024, 4096].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        exercise_harness(&bytes);
        write("reconciler", &format!("random-{i}"), &bytes);
    }
}

/// Runs a reconciler seed through a default configuration and a fixed
/// operation list built from it, so the harness itself is exercised here.
fn exercise_harness(bytes: &[u8]) {
    use reconciler_model::{ConfigSpec, IdChoice, Op, Outcome};
    let config = ConfigSpec::default();
    let ops: Vec<Op> = bytes
        .iter()
        .map(|b| match b % 6 {
            0 => Op::ToDeadline,
            1 => Op::Clock {
                delta_ms: i32::from(*b) * 40 - 5_000,
                run_timers: b & 8 != 0,
            },
            2 => Op::Enumerated {
                id: IdChoice::Latest,
                outcome: Outcome::Same,
            },
            3 => Op::ForceCheck,
            4 => Op::Overflow,
            _ => Op::MonitorFailed(b & 1 != 0),
        })
        .collect();
    reconciler_model::run(&config, &ops);
}

fn main() {
    netlink_events();
    netlink_dump();
    route_socket();
    ifaddrs();
    reconciler();
    println!("seeds written under fuzz/corpus/");
}
