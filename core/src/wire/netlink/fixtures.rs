//! Byte builders for netlink fixtures, laid out field by field from the
//! kernel's structures (`nlmsghdr`, `ifinfomsg`, `ifaddrmsg`, `rtmsg`,
//! `fib_rule_hdr`, `rtattr`), in native byte order as the kernel sends them.
//!
//! For tests, benchmarks and fuzzing seeds (here and in the other crates);
//! lengths are computed, never checked, so callers can corrupt them after.

use super::{align, HEADER_LEN, NLM_F_MULTI};

/// One attribute (`rtattr`), padded.
pub fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let len = 4 + value.len();
    let mut v = Vec::with_capacity(align(len));
    v.extend((len as u16).to_ne_bytes());
    v.extend(kind.to_ne_bytes());
    v.extend(value);
    v.resize(align(len), 0);
    v
}

/// A message of `kind` with `body`, sequence `seq` and `flags`.
pub fn message(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = HEADER_LEN + body.len();
    let mut v = Vec::with_capacity(align(len));
    v.extend((len as u32).to_ne_bytes());
    v.extend(kind.to_ne_bytes());
    v.extend(flags.to_ne_bytes());
    v.extend(seq.to_ne_bytes());
    v.extend(0u32.to_ne_bytes()); // from the kernel: port 0
    v.extend(body);
    v.resize(align(len), 0);
    v
}

/// A control message (`NLMSG_*`) or any message with a raw body.
pub fn control_msg(kind: u16, body: &[u8]) -> Vec<u8> {
    message(kind, 0, 0, body)
}

/// `ifinfomsg` + `IFLA_IFNAME`, `IFLA_MTU`, `IFLA_ADDRESS`.
pub fn link_body(
    index: u32,
    flags: u32,
    name: Option<&str>,
    mtu: Option<u32>,
    mac: Option<&[u8]>,
) -> Vec<u8> {
    let mut b = vec![0u8, 0];
    b.extend(1u16.to_ne_bytes()); // ARPHRD_ETHER
    b.extend(index.to_ne_bytes());
    b.extend(flags.to_ne_bytes());
    b.extend(0u32.to_ne_bytes());
    if let Some(n) = name {
        let mut z = n.as_bytes().to_vec();
        z.push(0);
        b.extend(attr(3, &z));
    }
    if let Some(m) = mtu {
        b.extend(attr(4, &m.to_ne_bytes()));
    }
    if let Some(mac) = mac {
        b.extend(attr(1, mac));
    }
    b
}

/// An `RTM_NEWLINK` / `RTM_DELLINK` message.
pub fn link_msg(
    kind: u16,
    index: u32,
    flags: u32,
    name: Option<&str>,
    mtu: Option<u32>,
    mac: Option<&[u8]>,
) -> Vec<u8> {
    control_msg(kind, &link_body(index, flags, name, mtu, mac))
}

fn full_addr(family: u8, addr: &[u8]) -> Vec<u8> {
    let mut a = addr.to_vec();
    a.resize(if family == super::AF_INET { 4 } else { 16 }, 0);
    a
}

/// `ifaddrmsg` + `IFA_ADDRESS` (+ `IFA_LOCAL` for IPv4) + `IFA_FLAGS`.
pub fn addr_body(
    family: u8,
    prefix: u8,
    flags: u8,
    index: u32,
    addr: &[u8],
    ext_flags: Option<u32>,
) -> Vec<u8> {
    let mut b = vec![family, prefix, flags, 0];
    b.extend(index.to_ne_bytes());
    let a = full_addr(family, addr);
    b.extend(attr(1, &a));
    if family == super::AF_INET {
        b.extend(attr(2, &a));
    }
    if let Some(f) = ext_flags {
        b.extend(attr(8, &f.to_ne_bytes()));
    }
    // IFA_CACHEINFO: lifetimes, which must not matter.
    b.extend(attr(6, &[0xff; 16]));
    b
}

/// An `RTM_NEWADDR` / `RTM_DELADDR` message.
pub fn addr_msg(
    kind: u16,
    family: u8,
    prefix: u8,
    flags: u8,
    index: u32,
    addr: &[u8],
    ext_flags: Option<u32>,
) -> Vec<u8> {
    control_msg(
        kind,
        &addr_body(family, prefix, flags, index, addr, ext_flags),
    )
}

/// `rtmsg` (unicast, main protocol) + `RTA_TABLE`, `RTA_OIF`, `RTA_GATEWAY`.
pub fn route_body(
    family: u8,
    dst_len: u8,
    table: u8,
    oif: Option<u32>,
    gateway: Option<&[u8]>,
    rta_table: Option<u32>,
) -> Vec<u8> {
    let mut b = vec![family, dst_len, 0, 0, table, 3, 0, 1];
    b.extend(0u32.to_ne_bytes());
    if let Some(t) = rta_table {
        b.extend(attr(15, &t.to_ne_bytes()));
    }
    if let Some(o) = oif {
        b.extend(attr(4, &o.to_ne_bytes()));
    }
    if let Some(g) = gateway {
        b.extend(attr(5, &full_addr(family, g)));
    }
    b
}

/// An `RTM_NEWROUTE` / `RTM_DELROUTE` message.
pub fn route_msg(
    kind: u16,
    family: u8,
    dst_len: u8,
    table: u8,
    oif: Option<u32>,
    gateway: Option<&[u8]>,
    rta_table: Option<u32>,
) -> Vec<u8> {
    control_msg(
        kind,
        &route_body(family, dst_len, table, oif, gateway, rta_table),
    )
}

/// An `RTM_NEWRULE` / `RTM_DELRULE` message (`fib_rule_hdr`).
pub fn rule_msg(kind: u16, family: u8) -> Vec<u8> {
    control_msg(kind, &[family, 0, 0, 0, 100, 0, 0, 1, 0, 0, 0, 0])
}

/// A part of a multipart dump reply.
pub fn multi(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    message(kind, NLM_F_MULTI, seq, body)
}

/// An `ifinfomsg` whose `IFLA_IFNAME` is the bytes `name` (not necessarily
/// UTF-8), NUL-terminated.
pub fn link_body_raw(index: u32, flags: u32, name: &[u8]) -> Vec<u8> {
    let mut b = link_body(index, flags, None, None, None);
    let mut z = name.to_vec();
    z.push(0);
    b.extend(attr(3, &z));
    b
}

/// An answer to a route lookup laid out as the kernel sends it (observed on
/// Linux 6.18): `rtmsg` (unicast, `RTPROT_BOOT`, table main) with
/// `rtm_flags`, then `RTA_TABLE`, `RTA_DST` when `dst` is given (a plain
/// answer: the probe; a FIB-match answer: the matched prefix, absent for a
/// prefix of 0), `RTA_GATEWAY`, `RTA_OIF`. A plain IPv4 answer has
/// `rtm_flags` = `RTM_F_CLONED` (0x200) and `dst_len` 32; a FIB-match
/// answer `rtm_flags` 0 and the entry's own `dst_len`.
pub fn lookup_answer_body(
    family: u8,
    dst_len: u8,
    rtm_flags: u32,
    dst: Option<&[u8]>,
    oif: Option<u32>,
    gateway: Option<&[u8]>,
) -> Vec<u8> {
    let mut b = vec![family, dst_len, 0, 0, 254, 3, 0, 1];
    b.extend(rtm_flags.to_ne_bytes());
    b.extend(attr(15, &254u32.to_ne_bytes()));
    if let Some(d) = dst {
        b.extend(attr(1, &full_addr(family, d)));
    }
    if let Some(g) = gateway {
        b.extend(attr(5, &full_addr(family, g)));
    }
    if let Some(o) = oif {
        b.extend(attr(4, &o.to_ne_bytes()));
    }
    b
}

/// `RTA_MULTIPATH`: one `rtnexthop` (length, flags, hops, interface index)
/// with its `RTA_GATEWAY` per `(interface, gateway)` path. A FIB-match
/// answer for a multipath route carries this and no `RTA_OIF`.
pub fn multipath_attr(family: u8, paths: &[(u32, &[u8])]) -> Vec<u8> {
    let mut nested = Vec::new();
    for (index, gateway) in paths {
        let gw = attr(5, &full_addr(family, gateway));
        nested.extend(((8 + gw.len()) as u16).to_ne_bytes());
        nested.extend([0u8, 0]);
        nested.extend(index.to_ne_bytes());
        nested.extend(gw);
    }
    attr(9, &nested)
}

/// The `NLMSG_DONE` that ends a dump answering request `seq`.
pub fn dump_done(seq: u32) -> Vec<u8> {
    multi(super::NLMSG_DONE, seq, &0i32.to_ne_bytes())
}

/// An `NLMSG_ERROR` answering request `seq` with `errno` (0: an
/// acknowledgement), echoing a zeroed request header.
pub fn nlmsg_error(seq: u32, errno: i32) -> Vec<u8> {
    let mut body = errno.saturating_neg().to_ne_bytes().to_vec();
    body.extend([0u8; HEADER_LEN]);
    message(super::NLMSG_ERROR, 0, seq, &body)
}

/// Marks the first message of `datagram` `NLM_F_DUMP_INTR` (the kernel's
/// "the table changed during this dump"), keeping its other flags.
pub fn mark_dump_interrupted(datagram: &mut [u8]) {
    if let Some(flags) = datagram.get_mut(6..8) {
        let old = u16::from_ne_bytes([flags[0], flags[1]]);
        flags.copy_from_slice(&(old | super::NLM_F_DUMP_INTR).to_ne_bytes());
    }
}
