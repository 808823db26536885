//! The list `getifaddrs(3)` returns, copied out entry by entry, into a
//! [`Snapshot`]: socket addresses read from their bytes, and entries
//! grouped into interfaces.
//!
//! ## What this module does not do
//!
//! It calls no `getifaddrs` and asks the system nothing. `netstate-sys`
//! walks the list, copies each entry's name, flags and socket-address bytes
//! into an [`Entry`], and answers the two questions the list leaves open
//! (an interface's index when no link-layer entry gives it, and every MTU)
//! through [`Lookups`]. Nor does it ask which platform it was compiled for:
//! the caller says how the bytes are laid out with a [`Layout`]
//! ([`Layout::LINUX`], [`Layout::DARWIN`], [`Layout::FREEBSD`], or one
//! filled in from the platform's own headers), so every layout is compiled
//! and tested on every platform.
//!
//! ## Use
//!
//! ```
//! use netstate_core::wire::ifaddrs::{assemble, Entry, Layout, Lookups};
//!
//! /// What the system would answer (`if_nametoindex`, `SIOCGIFMTU`).
//! struct Host;
//! impl Lookups for Host {
//!     type Error = std::convert::Infallible;
//!     fn index(&mut self, name: &[u8]) -> Option<u32> {
//!         (name == b"lo").then_some(1)
//!     }
//!     fn mtu(&mut self, name: &[u8]) -> Result<Option<u32>, Self::Error> {
//!         Ok((name == b"lo").then_some(65536))
//!     }
//! }
//!
//! // Linux's `lo`: an AF_PACKET `sockaddr_ll` (index 1, six zero bytes of
//! // hardware address) and an AF_INET `sockaddr_in` with its netmask.
//! let mut ll = vec![0u8; 20];
//! ll[0..2].copy_from_slice(&17u16.to_ne_bytes()); // sll_family
//! ll[4..8].copy_from_slice(&1i32.to_ne_bytes()); // sll_ifindex
//! ll[11] = 6; // sll_halen
//! let sin = |a: [u8; 4]| {
//!     let mut sa = vec![0u8; 16];
//!     sa[0..2].copy_from_slice(&2u16.to_ne_bytes()); // sin_family
//!     sa[4..8].copy_from_slice(&a); // sin_addr
//!     sa
//! };
//! let up_loopback_running = 0x1 | 0x8 | 0x40;
//! let entries = [
//!     Entry {
//!         name: b"lo".to_vec(),
//!         flags: up_loopback_running,
//!         addr: Some(ll),
//!         netmask: None,
//!     },
//!     Entry {
//!         name: b"lo".to_vec(),
//!         flags: up_loopback_running,
//!         addr: Some(sin([127, 0, 0, 1])),
//!         netmask: Some(sin([255, 0, 0, 0])),
//!     },
//! ];
//! let snapshot = assemble(&entries, &Layout::LINUX, &mut Host).unwrap();
//! let lo = snapshot.by_name("lo").unwrap();
//! assert_eq!((lo.index, lo.mtu), (1, 65536));
//! assert!(lo.is_loopback() && lo.is_up());
//! assert_eq!(lo.addrs[0].net, "127.0.0.1/8".parse().unwrap());
//! ```
//!
//! ## What a snapshot from `getifaddrs` lacks
//!
//! * **No default route.** `getifaddrs` lists interfaces and addresses,
//!   never routes: the snapshot's [`DefaultRoutes`] are `None`, never
//!   guessed (from a gateway-looking address, say).
//! * **No address flags.** Tentative, deprecated, temporary, DAD-failed and
//!   permanent are not in the list: every [`Address`] has empty flags, so
//!   `have_v6()` counts a tentative address as usable, where the netlink
//!   enumeration would not.
//!
//! ## Where each field comes from
//!
//! * The interfaces: every name in the list with a link-layer entry, and
//!   every other name that [`Lookups::index`] knows. On Linux each link has
//!   an `AF_PACKET` entry (with no address at all when the link has no
//!   hardware address, a tunnel's for example: [`LinkLayer::Packet`]); on
//!   BSD and macOS an `AF_LINK` one ([`LinkLayer::Dl`]).
//! * The index: `sll_ifindex` of the `sockaddr_ll` or `sdl_index` of the
//!   `sockaddr_dl`; when that is missing or 0, [`Lookups::index`].
//! * The flags: the entries' `ifa_flags`, mapped bit by bit with the
//!   layout's [`IffBits`] (the link-layer entry's, else the first address
//!   entry's).
//! * The MTU: [`Lookups::mtu`] (`getifaddrs` does not carry it on Linux).
//! * The hardware address: `sll_addr` (its first `sll_halen` bytes) or the
//!   `sdl_alen` bytes after the name in `sdl_data`; none when there are no
//!   such bytes (macOS's `lo0`, tunnels). A Linux address longer than
//!   `sll_addr`'s 8 bytes (InfiniBand's 20) is none rather than cut short:
//!   glibc and musl do store up to 24 bytes there, but reading past the
//!   declared structure would rely on their private layout.
//! * The addresses: the `AF_INET` and `AF_INET6` entries. The prefix length
//!   is the run of leading one bits of the netmask (a non-contiguous mask
//!   counts up to its first zero bit); a BSD netmask may be trimmed (fewer
//!   bytes than the structure), and missing bytes are zero; no netmask at
//!   all means a host address (`/32`, `/128`). This is the same rule as the
//!   routing-socket parser's, kept in one place. Where the layout says so
//!   ([`Layout::embedded_scope`]), an IPv6 link-local address whose bytes 2
//!   and 3 carry the interface index (the KAME "embedded scope" some BSD
//!   kernels leave in) has them cleared, as `ifconfig` does.
//!
//! ## Linux: IPv4 labels
//!
//! glibc names an IPv4 address entry by the address's label, which for an
//! alias is `eth0:1`, not by its interface. Linux interface names cannot
//! contain `:`, so with [`Layout::ipv4_labels`] an address entry named
//! `NAME:…` whose `NAME` has a link-layer entry belongs to that interface.
//! An address whose name is neither an interface nor a label of one (a
//! label set by hand to anything else) cannot be placed and is dropped.
//!
//! ## A table that changes while it is read
//!
//! The list, the index lookups and the MTU lookups are separate calls. An
//! interface with a link-layer entry that the lookups no longer find, or
//! two interfaces sharing an index or a name (a rename between two calls),
//! give an [`AssembleError`] that says so; the caller reads the list again.
//!
//! ## Bad input
//!
//! Nothing here panics, whatever the bytes. A socket address too short for
//! its structure, or of a family the layout does not name, makes its entry
//! count for nothing. [`assemble`] allocates the snapshot, one small record
//! per entry and one per name in the list, and nothing per byte read.
//!
//! ## What has been verified, and where
//!
//! The Linux layout against glibc's `getifaddrs` on the real kernel, in
//! network namespaces, compared with the netlink enumeration
//! (`testkit/tests/getifaddrs_linux.rs`, as root), and against `libc`'s
//! own structures (`netstate-sys`'s unit tests). The Darwin and FreeBSD
//! layouts only on byte fixtures written from their headers (this module's
//! tests); **no list from a real macOS, iOS or FreeBSD host has been read
//! yet.** Random entry lists and bytes: `core/tests/never_panic.rs` and
//! the `ifaddrs` fuzz target.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::sockaddr::{
    host_prefix_len, netmask_prefix_len, SDL_ALEN_OFFSET, SDL_DATA_OFFSET, SDL_INDEX_OFFSET,
    SDL_NLEN_OFFSET, SIN6_ADDR_OFFSET, SIN_ADDR_OFFSET,
};
use crate::event::Family;
use crate::ifname;
use crate::{
    Address, DefaultRoutes, HardwareAddr, Interface, InterfaceFlags, Snapshot, SnapshotError,
};

/// `AF_INET`: 2 on every platform.
const AF_INET: u16 = 2;
/// `AF_PACKET` (Linux `linux/socket.h`).
const AF_PACKET: u16 = 17;
/// `AF_LINK` (macOS, FreeBSD, NetBSD, OpenBSD and DragonFly `sys/socket.h`).
const AF_LINK: u16 = 18;

/// `struct sockaddr_ll` (Linux `linux/if_packet.h`): `u16 sll_family`,
/// `u16 sll_protocol`, `i32 sll_ifindex` at 4, `u16 sll_hatype`,
/// `u8 sll_pkttype`, `u8 sll_halen` at 11, `u8 sll_addr[8]` at 12.
const SLL_IFINDEX_OFFSET: usize = 4;
const SLL_HALEN_OFFSET: usize = 11;
const SLL_ADDR_OFFSET: usize = 12;
/// The size of `sll_addr`.
const SLL_ADDR_LEN: usize = 8;

/// How one platform lays out what `getifaddrs` returns: the start of a
/// socket address, the family numbers, the link-layer structure, and the
/// `IFF_*` bits. `netstate-sys` fills it in from the platform's headers
/// (through `libc`) for the platform it runs on; [`Layout::LINUX`],
/// [`Layout::DARWIN`] and [`Layout::FREEBSD`] are written out here from
/// theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// Socket addresses start with `u8 sa_len` and `u8 sa_family` (BSD and
    /// macOS); otherwise with a native-endian `u16 sa_family` (Linux and
    /// the other Unix systems).
    pub sa_len: bool,
    /// `AF_INET6`: 10 on Linux, 30 on Darwin, 28 on FreeBSD and DragonFly,
    /// 24 on NetBSD and OpenBSD. (`AF_INET` is 2 everywhere.)
    pub af_inet6: u16,
    /// The link-layer entries, one per interface, if the platform lists
    /// any.
    pub link: Option<LinkLayer>,
    /// IPv4 address entries may be named by their address's label
    /// (`eth0:1`) rather than by their interface (glibc on Linux).
    pub ipv4_labels: bool,
    /// IPv6 link-local addresses may carry their interface index in bytes 2
    /// and 3 (the KAME "embedded scope" of BSD kernels), cleared on reading.
    pub embedded_scope: bool,
    /// The platform's `IFF_*` values for the flags a snapshot holds.
    pub iff: IffBits,
}

impl Layout {
    /// Linux and Android (glibc, musl, bionic): `u16 sa_family`,
    /// `AF_INET6` = 10, `AF_PACKET` link entries, IPv4 labels, no embedded
    /// scope, `IFF_MULTICAST` = 0x1000 (`linux/socket.h`, `linux/if.h`).
    pub const LINUX: Layout = Layout {
        sa_len: false,
        af_inet6: 10,
        link: Some(LinkLayer::Packet),
        ipv4_labels: true,
        embedded_scope: false,
        iff: IffBits::LINUX,
    };

    /// macOS, iOS and the other Apple systems (xnu `bsd/sys/socket.h`,
    /// `bsd/net/if.h`, `bsd/net/if_dl.h`): `sa_len`, `AF_INET6` = 30,
    /// `AF_LINK` link entries, embedded scope, `IFF_MULTICAST` = 0x8000.
    pub const DARWIN: Layout = Layout {
        sa_len: true,
        af_inet6: 30,
        link: Some(LinkLayer::Dl),
        ipv4_labels: false,
        embedded_scope: true,
        iff: IffBits::BSD,
    };

    /// FreeBSD (`sys/sys/socket.h`, `sys/net/if.h`, `sys/net/if_dl.h`):
    /// as [`Layout::DARWIN`] but `AF_INET6` = 28.
    pub const FREEBSD: Layout = Layout {
        af_inet6: 28,
        ..Layout::DARWIN
    };
}

/// Which structure a platform's link-layer entries hold, and so which
/// family marks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkLayer {
    /// Linux's `AF_PACKET` (17) `struct sockaddr_ll`: the index in
    /// `sll_ifindex`, the hardware address in `sll_addr`. A link without a
    /// hardware address (a tunnel) has an entry with no address at all,
    /// which counts as its link-layer entry.
    Packet,
    /// BSD's and macOS's `AF_LINK` (18) `struct sockaddr_dl`: the index in
    /// `sdl_index`, the hardware address after the name in `sdl_data`.
    Dl,
}

/// A platform's `IFF_*` bit for each flag of [`InterfaceFlags`]. A bit
/// that is 0 is never set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IffBits {
    /// `IFF_UP`.
    pub up: u32,
    /// `IFF_RUNNING`.
    pub running: u32,
    /// `IFF_LOOPBACK`.
    pub loopback: u32,
    /// `IFF_POINTOPOINT`.
    pub point_to_point: u32,
    /// `IFF_MULTICAST`.
    pub multicast: u32,
    /// `IFF_BROADCAST`.
    pub broadcast: u32,
    /// `IFF_NOARP`.
    pub no_arp: u32,
    /// `IFF_PROMISC`.
    pub promisc: u32,
}

impl IffBits {
    /// Linux's `linux/if.h`.
    const LINUX: IffBits = IffBits {
        up: 0x1,
        running: 0x40,
        loopback: 0x8,
        point_to_point: 0x10,
        multicast: 0x1000,
        broadcast: 0x2,
        no_arp: 0x80,
        promisc: 0x100,
    };

    /// xnu's `bsd/net/if.h` and FreeBSD's `sys/net/if.h` (the same values).
    const BSD: IffBits = IffBits {
        multicast: 0x8000,
        ..IffBits::LINUX
    };
}

/// One entry of the list, copied out of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Entry {
    /// `ifa_name`, without its NUL: the interface's name, or on Linux an
    /// IPv4 address's label.
    pub name: Vec<u8>,
    /// `ifa_flags`: the interface's `IFF_*` flags.
    pub flags: u32,
    /// The bytes of the socket address `ifa_addr` points to, or `None` when
    /// it is null: its `sa_len` bytes where socket addresses carry one, else
    /// the whole structure of its family (only the family field for a
    /// family the reader does not know).
    pub addr: Option<Vec<u8>>,
    /// The bytes of the socket address `ifa_netmask` points to, or `None`
    /// when it is null, read as `addr` is (on BSD and macOS a netmask may be
    /// shorter than its structure). Only IP entries use it.
    pub netmask: Option<Vec<u8>>,
}

/// What [`assemble`] asks the system beside the list.
pub trait Lookups {
    /// What a failed MTU lookup says.
    type Error;

    /// The index of the interface called `name` (`if_nametoindex`), or
    /// `None` when there is no such interface.
    fn index(&mut self, name: &[u8]) -> Option<u32>;

    /// The MTU of the interface called `name` (`ioctl(SIOCGIFMTU)`):
    /// `Ok(None)` when there is no such interface, an error when the
    /// lookup failed for another reason.
    fn mtu(&mut self, name: &[u8]) -> Result<Option<u32>, Self::Error>;
}

/// Why [`assemble`] gave no snapshot.
///
/// Exhaustive on purpose: it is the protocol between this reader and the
/// code that walks the list (`netstate-sys` maps each kind to its own
/// error), so a kind added here must break that code rather than be
/// silently misfiled.
#[derive(Debug)]
pub enum AssembleError<E> {
    /// An interface with a link-layer entry was gone before its index or MTU
    /// could be looked up: the table changed while it was read. Read the
    /// list again.
    Vanished {
        /// The interface (escaped as [`crate::ifname::escape`] does).
        interface: String,
    },
    /// An MTU lookup failed for another reason than the interface being
    /// gone. Read again later.
    Mtu {
        /// The interface (escaped as [`crate::ifname::escape`] does).
        interface: String,
        /// What the lookup said.
        error: E,
    },
    /// The list does not form one consistent table (a repeated index or
    /// name: an interface renamed between two calls). Read the list again.
    Inconsistent(SnapshotError),
}

impl<E: fmt::Display> fmt::Display for AssembleError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssembleError::Vanished { interface } => {
                write!(f, "interface {interface} vanished while the table was read")
            }
            AssembleError::Mtu { interface, error } => {
                write!(f, "cannot read the MTU of {interface}: {error}")
            }
            AssembleError::Inconsistent(e) => {
                write!(f, "the interface table changed while it was read: {e}")
            }
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for AssembleError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AssembleError::Vanished { .. } => None,
            AssembleError::Mtu { error, .. } => Some(error),
            AssembleError::Inconsistent(e) => Some(e),
        }
    }
}

/// Builds the snapshot a `getifaddrs` list describes, laid out as `layout`
/// says, asking `os` for what the list lacks (see the [module
/// docs](self)): interfaces sorted by index, with unique indexes and names,
/// no default routes, and addresses without flags.
///
/// Asks `os` for the index of each name without one in the list and for
/// the MTU of each interface it keeps, in name order. Never panics.
pub fn assemble<L: Lookups + ?Sized>(
    entries: &[Entry],
    layout: &Layout,
    os: &mut L,
) -> Result<Snapshot, AssembleError<L::Error>> {
    let read: Vec<(&[u8], u32, EntryAddr)> = entries
        .iter()
        .map(|e| (e.name.as_slice(), e.flags, entry_addr(e, layout)))
        .collect();
    let mut pending: BTreeMap<&[u8], Pending> = BTreeMap::new();
    for (name, flags, addr) in &read {
        if let EntryAddr::Link { index, mac } = addr {
            let p = pending.entry(name).or_insert_with(|| Pending::new(*flags));
            p.listed = true;
            p.flags = *flags;
            if *index != 0 {
                p.index = *index;
            }
            if mac.is_some() {
                p.mac.clone_from(mac);
            }
        }
    }
    for (name, flags, addr) in &read {
        if let EntryAddr::Ip(net) = addr {
            let owner = owner(&pending, name, layout.ipv4_labels);
            pending
                .entry(owner)
                .or_insert_with(|| Pending::new(*flags))
                .addrs
                .push(Address::new(*net));
        }
    }
    let mut interfaces = Vec::with_capacity(pending.len());
    for (name, p) in pending {
        // Names are bytes: kept losslessly (crate::ifname).
        let text = ifname::escape(name).into_owned();
        let index = match p.index {
            0 => match os.index(name) {
                Some(i) if i != 0 => i,
                _ if p.listed => return Err(AssembleError::Vanished { interface: text }),
                // Addresses under a name that is no interface: dropped.
                _ => continue,
            },
            i => i,
        };
        let mtu = match os.mtu(name) {
            Ok(Some(mtu)) => mtu,
            Ok(None) => return Err(AssembleError::Vanished { interface: text }),
            Err(error) => {
                return Err(AssembleError::Mtu {
                    interface: text,
                    error,
                })
            }
        };
        let mut i = Interface::new(index, text);
        i.flags = interface_flags(p.flags, &layout.iff);
        i.mtu = mtu;
        i.mac = p.mac;
        i.addrs.extend(p.addrs);
        interfaces.push(i);
    }
    Snapshot::new(interfaces, DefaultRoutes::default()).map_err(AssembleError::Inconsistent)
}

/// What an entry's socket address says.
#[derive(Clone, Debug, PartialEq, Eq)]
enum EntryAddr {
    /// A link-layer entry: the interface itself. `index` 0 when unknown.
    Link {
        index: u32,
        mac: Option<HardwareAddr>,
    },
    /// An IPv4 or IPv6 address with its prefix.
    Ip(IpNet),
    /// Another family, or an unreadable address: ignored.
    Other,
}

/// An interface being put together.
struct Pending {
    flags: u32,
    /// It has a link-layer entry of its own (so it must exist).
    listed: bool,
    index: u32,
    mac: Option<HardwareAddr>,
    addrs: Vec<Address>,
}

impl Pending {
    fn new(flags: u32) -> Self {
        Pending {
            flags,
            listed: false,
            index: 0,
            mac: None,
            addrs: Vec::new(),
        }
    }
}

/// The interface an address entry belongs to: its own name when that is
/// known, else (IPv4 labels) the part before the first `:` when that has a
/// link-layer entry, else its own name.
fn owner<'a>(pending: &BTreeMap<&'a [u8], Pending>, name: &'a [u8], labels: bool) -> &'a [u8] {
    if labels && !pending.contains_key(name) {
        if let Some(colon) = name.iter().position(|b| *b == b':') {
            let base = &name[..colon];
            if pending.get(base).is_some_and(|p| p.listed) {
                return base;
            }
        }
    }
    name
}

/// Maps `IFF_*` bits (the platform's values, `bits`) to [`InterfaceFlags`].
fn interface_flags(iff: u32, bits: &IffBits) -> InterfaceFlags {
    let map = [
        (bits.up, InterfaceFlags::UP),
        (bits.running, InterfaceFlags::RUNNING),
        (bits.loopback, InterfaceFlags::LOOPBACK),
        (bits.point_to_point, InterfaceFlags::POINT_TO_POINT),
        (bits.multicast, InterfaceFlags::MULTICAST),
        (bits.broadcast, InterfaceFlags::BROADCAST),
        (bits.no_arp, InterfaceFlags::NO_ARP),
        (bits.promisc, InterfaceFlags::PROMISC),
    ];
    let mut flags = InterfaceFlags::empty();
    for (bit, flag) in map {
        flags.set(flag, iff & bit != 0);
    }
    flags
}

/// The family of a socket address, as the layout stores it.
fn family(sa: &[u8], layout: &Layout) -> Option<u16> {
    if layout.sa_len {
        sa.get(1).copied().map(u16::from)
    } else {
        sa.first_chunk().copied().map(u16::from_ne_bytes)
    }
}

/// Reads an entry's socket address.
fn entry_addr(entry: &Entry, layout: &Layout) -> EntryAddr {
    let Some(addr) = entry.addr.as_deref() else {
        return match layout.link {
            // A Linux link without a hardware address: the interface itself.
            Some(LinkLayer::Packet) => EntryAddr::Link {
                index: 0,
                mac: None,
            },
            _ => EntryAddr::Other,
        };
    };
    let mask = entry.netmask.as_deref();
    match (family(addr, layout), layout.link) {
        (Some(AF_INET), _) => inet4(addr, mask),
        (Some(f), _) if f == layout.af_inet6 => inet6(addr, mask, layout.embedded_scope),
        (Some(AF_PACKET), Some(LinkLayer::Packet)) => sockaddr_ll(addr),
        (Some(AF_LINK), Some(LinkLayer::Dl)) => sockaddr_dl(addr),
        _ => EntryAddr::Other,
    }
}

/// An `AF_INET` entry: `sin_addr`, and the netmask's prefix length.
fn inet4(addr: &[u8], mask: Option<&[u8]>) -> EntryAddr {
    let Some(&octets) = addr
        .get(SIN_ADDR_OFFSET..)
        .and_then(<[u8]>::first_chunk::<4>)
    else {
        return EntryAddr::Other;
    };
    let prefix = mask.map_or(host_prefix_len(Family::V4), |m| {
        netmask_prefix_len(m, Family::V4)
    });
    IpNet::new(IpAddr::V4(Ipv4Addr::from(octets)), prefix).map_or(EntryAddr::Other, EntryAddr::Ip)
}

/// An `AF_INET6` entry: `sin6_addr` (its embedded scope cleared when
/// `embedded_scope`), and the netmask's prefix length.
fn inet6(addr: &[u8], mask: Option<&[u8]>, embedded_scope: bool) -> EntryAddr {
    let Some(&(mut octets)) = addr
        .get(SIN6_ADDR_OFFSET..)
        .and_then(<[u8]>::first_chunk::<16>)
    else {
        return EntryAddr::Other;
    };
    if embedded_scope {
        clear_embedded_scope(&mut octets);
    }
    let prefix = mask.map_or(host_prefix_len(Family::V6), |m| {
        netmask_prefix_len(m, Family::V6)
    });
    IpNet::new(IpAddr::V6(Ipv6Addr::from(octets)), prefix).map_or(EntryAddr::Other, EntryAddr::Ip)
}

/// KAME kernels keep a link-local address's interface index in bytes 2-3;
/// the address itself has zeroes there (`fe80::/10`).
fn clear_embedded_scope(octets: &mut [u8; 16]) {
    let link_local = octets[0] == 0xfe && octets[1] & 0xc0 == 0x80;
    if link_local {
        octets[2] = 0;
        octets[3] = 0;
    }
}

/// Linux's `struct sockaddr_ll`: the index and the hardware address.
fn sockaddr_ll(bytes: &[u8]) -> EntryAddr {
    let (Some(index), Some(&halen)) = (
        bytes
            .get(SLL_IFINDEX_OFFSET..)
            .and_then(<[u8]>::first_chunk::<4>),
        bytes.get(SLL_HALEN_OFFSET),
    ) else {
        return EntryAddr::Other;
    };
    // A negative index is none.
    let index = u32::try_from(i32::from_ne_bytes(*index)).unwrap_or(0);
    let halen = usize::from(halen);
    let mac = if halen == 0 || halen > SLL_ADDR_LEN {
        None
    } else {
        bytes
            .get(SLL_ADDR_OFFSET..SLL_ADDR_OFFSET + halen)
            .map(HardwareAddr::new)
    };
    EntryAddr::Link { index, mac }
}

/// BSD's `struct sockaddr_dl`: the index and the link-layer address after
/// the name, within the bytes given (`sdl_len` of them).
fn sockaddr_dl(bytes: &[u8]) -> EntryAddr {
    let (Some(index), Some(&nlen), Some(&alen)) = (
        bytes
            .get(SDL_INDEX_OFFSET..)
            .and_then(<[u8]>::first_chunk::<2>),
        bytes.get(SDL_NLEN_OFFSET),
        bytes.get(SDL_ALEN_OFFSET),
    ) else {
        return EntryAddr::Other;
    };
    let start = SDL_DATA_OFFSET + usize::from(nlen);
    let mac = match alen {
        0 => None,
        n => bytes
            .get(start..start + usize::from(n))
            .map(HardwareAddr::new),
    };
    EntryAddr::Link {
        index: u32::from(u16::from_ne_bytes(*index)),
        mac,
    }
}

#[cfg(test)]
mod tests;
