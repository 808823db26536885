//! Byte builders for routing-socket fixtures (Darwin and FreeBSD), for the
//! tests of this parser and of `netstate-sys`'s reader (feature `fixtures`;
//! not part of the supported API).
//!
//! Every message is laid out field by field from the kernels' C
//! structures, with this module's own numbers (not the parser's
//! [`super::layout`]), so a wrong constant in the parser shows up as a
//! failing test rather than as two matching mistakes:
//!
//! ```text
//! struct rt_msghdr {            Darwin          FreeBSD (LP64)
//!     u_short rtm_msglen;       0               0
//!     u_char  rtm_version;      2               2
//!     u_char  rtm_type;         3               3
//!     u_short rtm_index;        4               4   (+ u_short spare)
//!     int     rtm_flags;        8               8
//!     int     rtm_addrs;        12              12
//!     pid_t   rtm_pid;          16              16
//!     int     rtm_seq;          20              20
//!     int     rtm_errno;        24              24
//!     int     rtm_use/fmask;    28              28
//!     rtm_inits;                32 (u_int32_t)  32 (u_long)
//!     struct rt_metrics;        36: 14 x u32    40: 14 x u_long
//! };                            = 92 bytes      = 152 bytes
//! struct if_msghdr  { msglen, version, type; int addrs @4; int flags @8;
//!                     u_short index @12; struct if_data @16 }
//!                               = 16 + 96       = 16 + 152
//! struct ifa_msghdr { ...; int addrs @4; int flags @8; u_short index @12;
//!                     int metric @16 }            = 20 on both
//! struct ifma_msghdr { ...; int addrs @4; int flags @8; u_short index @12 }
//!                                                 = 16 on both
//! struct if_announcemsghdr (FreeBSD) { ...; u_short index @4;
//!                     char name[16] @6; u_short what @22 } = 24
//! ```
//!
//! Socket addresses follow in `RTA_*` bit order, each padded to 4 bytes on
//! Darwin (`ROUNDUP32`) and 8 on FreeBSD (`SA_SIZE`), a zero-length one
//! taking 4 or 8 bytes.

#![allow(missing_docs, clippy::cast_possible_truncation)] // fixtures: the names are the C headers'

use crate::wire::route_socket::Platform;

// ---------------------------------------------------------------------------
// The two dialects, from the headers.

pub struct Dialect {
    pub platform: Platform,
    pub version: u8,
    pub af_inet6: u8,
    pub align: usize,
    pub rt_msghdr: usize,
    pub if_msghdr: usize,
    pub ifa_msghdr: usize,
    pub ifma_msghdr: usize,
    /// `sizeof(struct sockaddr_dl)`: `sdl_data` is 12 bytes on Darwin, 46 on FreeBSD.
    pub sockaddr_dl: usize,
}

pub const DARWIN: Dialect = Dialect {
    platform: Platform::Darwin,
    version: 5,
    af_inet6: 30,
    align: 4,
    rt_msghdr: 92,
    if_msghdr: 112,
    ifa_msghdr: 20,
    ifma_msghdr: 16,
    sockaddr_dl: 20,
};

pub const FREEBSD: Dialect = Dialect {
    platform: Platform::FreeBsd,
    version: 5,
    af_inet6: 28,
    align: 8,
    rt_msghdr: 152,
    if_msghdr: 168,
    ifa_msghdr: 20,
    ifma_msghdr: 16,
    sockaddr_dl: 54,
};

pub const BOTH: [&Dialect; 2] = [&DARWIN, &FREEBSD];

// `net/route.h`
pub const RTM_ADD: u8 = 0x1;
pub const RTM_DELETE: u8 = 0x2;
pub const RTM_CHANGE: u8 = 0x3;
pub const RTM_GET: u8 = 0x4;
pub const RTM_LOSING: u8 = 0x5;
pub const RTM_REDIRECT: u8 = 0x6;
pub const RTM_MISS: u8 = 0x7;
pub const RTM_LOCK: u8 = 0x8;
pub const RTM_OLDADD_DARWIN: u8 = 0x9;
pub const RTM_OLDDEL_DARWIN: u8 = 0xa;
pub const RTM_RESOLVE: u8 = 0xb;
pub const RTM_NEWADDR: u8 = 0xc;
pub const RTM_DELADDR: u8 = 0xd;
pub const RTM_IFINFO: u8 = 0xe;
pub const RTM_NEWMADDR: u8 = 0xf;
pub const RTM_DELMADDR: u8 = 0x10;
pub const RTM_GET_SILENT_DARWIN: u8 = 0x11;
pub const RTM_IFANNOUNCE_FREEBSD: u8 = 0x11;
pub const RTM_IFINFO2_DARWIN: u8 = 0x12;
pub const RTM_IEEE80211_FREEBSD: u8 = 0x12;
pub const RTM_NEWMADDR2_DARWIN: u8 = 0x13;
pub const RTM_GET2_DARWIN: u8 = 0x14;
pub const RTM_GET_EXT_DARWIN: u8 = 0x15;

pub const RTA_DST: u32 = 0x1;
pub const RTA_GATEWAY: u32 = 0x2;
pub const RTA_NETMASK: u32 = 0x4;
pub const RTA_IFP: u32 = 0x10;
pub const RTA_IFA: u32 = 0x20;
pub const RTA_BRD: u32 = 0x80;

pub const RTF_UP: u32 = 0x1;
pub const RTF_GATEWAY: u32 = 0x2;
pub const RTF_HOST: u32 = 0x4;
pub const RTF_DONE: u32 = 0x40;
pub const RTF_STATIC: u32 = 0x800;

pub const AF_INET: u8 = 2;
pub const AF_LINK: u8 = 18;

// ---------------------------------------------------------------------------
// Builders.

/// A message being laid out: its fixed header, then socket addresses.
pub struct Msg {
    d: &'static Dialect,
    pub bytes: Vec<u8>,
    addrs_offset: usize,
    addrs: u32,
    /// Where the last socket address's own bytes end (before its padding).
    unpadded_end: usize,
}

impl Msg {
    pub fn header(d: &'static Dialect, msg_type: u8, len: usize, addrs_offset: usize) -> Msg {
        let mut bytes = vec![0; len];
        bytes[2] = d.version;
        bytes[3] = msg_type;
        Msg {
            d,
            bytes,
            addrs_offset,
            addrs: 0,
            unpadded_end: len,
        }
    }

    /// `struct rt_msghdr`.
    pub fn rt(d: &'static Dialect, msg_type: u8, index: u16, flags: u32) -> Msg {
        let mut m = Msg::header(d, msg_type, d.rt_msghdr, 12);
        m.put_u16(4, index);
        m.put_u32(8, flags);
        m.put_u32(16, 4242); // rtm_pid
        m.put_u32(20, 7); // rtm_seq
        m
    }

    /// `struct if_msghdr`, with `if_data.ifi_mtu` filled in as a kernel would.
    pub fn ifm(d: &'static Dialect, msg_type: u8, len: usize, index: u16, flags: u32) -> Msg {
        let mut m = Msg::header(d, msg_type, len, 4);
        m.put_u32(8, flags);
        m.put_u16(12, index);
        m.bytes[16] = 6; // ifi_type: IFT_ETHER
        m
    }

    /// `struct ifa_msghdr`.
    pub fn ifam(d: &'static Dialect, msg_type: u8, index: u16) -> Msg {
        let mut m = Msg::header(d, msg_type, d.ifa_msghdr, 4);
        m.put_u32(8, 0x1); // ifam_flags: IFA_ROUTE
        m.put_u16(12, index);
        m
    }

    /// `struct ifma_msghdr`.
    pub fn ifmam(d: &'static Dialect, msg_type: u8, index: u16) -> Msg {
        let mut m = Msg::header(d, msg_type, d.ifma_msghdr, 4);
        m.put_u16(12, index);
        m
    }

    /// FreeBSD's `struct if_announcemsghdr`.
    pub fn ifan(msg_type: u8, index: u16, name: &str, what: u16) -> Msg {
        let mut m = Msg::header(&FREEBSD, msg_type, 24, usize::MAX);
        m.put_u16(4, index);
        m.bytes[6..6 + name.len()].copy_from_slice(name.as_bytes());
        m.put_u16(22, what);
        m
    }

    pub fn put_u16(&mut self, at: usize, v: u16) {
        self.bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    pub fn put_u32(&mut self, at: usize, v: u32) {
        self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Appends a socket address for bit `rta` (bits must come in order),
    /// padded by the dialect's rule.
    pub fn sa(mut self, rta: u32, sa: Vec<u8>) -> Msg {
        assert!(rta > self.addrs, "socket addresses go in RTA_* order");
        assert!(sa.is_empty() || usize::from(sa[0]) == sa.len());
        self.addrs |= rta;
        let start = self.bytes.len();
        if sa.is_empty() {
            self.bytes.resize(start + self.d.align, 0);
            self.unpadded_end = start;
        } else {
            let padded = sa.len().div_ceil(self.d.align) * self.d.align;
            self.bytes.extend_from_slice(&sa);
            self.unpadded_end = self.bytes.len();
            self.bytes.resize(start + padded, 0);
        }
        self
    }

    pub fn errno(mut self, errno: u32) -> Msg {
        self.put_u32(24, errno);
        self
    }

    pub fn version(mut self, version: u8) -> Msg {
        self.bytes[2] = version;
        self
    }

    /// The finished message: `msglen` and the address bitmask filled in.
    pub fn build(mut self) -> Vec<u8> {
        if self.addrs_offset != usize::MAX {
            let (at, addrs) = (self.addrs_offset, self.addrs);
            self.put_u32(at, addrs);
        }
        let len = self.bytes.len() as u16;
        self.put_u16(0, len);
        self.bytes
    }

    /// As Darwin's `rt_msg1` sends it: the message ends where the last
    /// socket address's own bytes end, without its padding, and before a
    /// trailing zero-length address altogether.
    pub fn build_unpadded(mut self) -> Vec<u8> {
        self.bytes.truncate(self.unpadded_end);
        self.build()
    }
}

pub fn sin(a: [u8; 4]) -> Vec<u8> {
    let mut sa = vec![0; 16];
    sa[0] = 16;
    sa[1] = AF_INET;
    sa[4..8].copy_from_slice(&a);
    sa
}

pub fn sin6(d: &Dialect, a: [u8; 16]) -> Vec<u8> {
    let mut sa = vec![0; 28];
    sa[0] = 28;
    sa[1] = d.af_inet6;
    sa[8..24].copy_from_slice(&a);
    sa
}

/// A netmask as the kernel sends it: trailing zero bytes trimmed, family 0,
/// and no bytes at all for `/0`.
pub fn trimmed_mask(addr_offset: usize, addr_len: usize, prefix: usize) -> Vec<u8> {
    let mut mask = vec![0u8; addr_len];
    for bit in 0..prefix {
        mask[bit / 8] |= 0x80 >> (bit % 8);
    }
    let used = mask.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    if used == 0 {
        return Vec::new();
    }
    let mut sa = vec![0; addr_offset];
    sa.extend_from_slice(&mask[..used]);
    sa[0] = sa.len() as u8;
    sa
}

pub fn mask4(prefix: usize) -> Vec<u8> {
    trimmed_mask(4, 4, prefix)
}

pub fn mask6(prefix: usize) -> Vec<u8> {
    trimmed_mask(8, 16, prefix)
}

/// `struct sockaddr_dl` with a name and a 6-byte Ethernet address.
pub fn dl(d: &Dialect, index: u16, name: &str) -> Vec<u8> {
    let len = (8 + name.len() + 6).max(d.sockaddr_dl);
    let mut sa = vec![0; len];
    sa[0] = len as u8;
    sa[1] = AF_LINK;
    sa[2..4].copy_from_slice(&index.to_le_bytes());
    sa[4] = 6; // sdl_type: IFT_ETHER
    sa[5] = name.len() as u8;
    sa[6] = 6; // sdl_alen
    sa[8..8 + name.len()].copy_from_slice(name.as_bytes());
    sa[8 + name.len()..8 + name.len() + 6].copy_from_slice(&[0xa, 0xb, 0xc, 0xd, 0xe, 0xf]);
    sa
}

pub const ANY4: [u8; 4] = [0; 4];
pub const ANY6: [u8; 16] = [0; 16];
pub const GW4: [u8; 4] = [192, 168, 1, 1];
pub const LL6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

pub fn default_route_v4(d: &'static Dialect, msg_type: u8) -> Vec<u8> {
    Msg::rt(d, msg_type, 4, RTF_UP | RTF_GATEWAY | RTF_STATIC | RTF_DONE)
        .sa(RTA_DST, sin(ANY4))
        .sa(RTA_GATEWAY, sin(GW4))
        .sa(RTA_NETMASK, mask4(0))
        .build()
}

pub fn route_v4(d: &'static Dialect, dst: [u8; 4], prefix: usize) -> Vec<u8> {
    Msg::rt(d, RTM_ADD, 4, RTF_UP | RTF_GATEWAY | RTF_DONE)
        .sa(RTA_DST, sin(dst))
        .sa(RTA_GATEWAY, sin(GW4))
        .sa(RTA_NETMASK, mask4(prefix))
        .build()
}
