//! [`GetifaddrsEnumerator`]: the interface table from `getifaddrs(3)`, for
//! the Unix systems without netlink (macOS, iOS, FreeBSD).
//!
//! It compiles on every Unix, Linux included, where it is tested against
//! the netlink `Enumerator` in a network namespace; on Linux it is a test
//! subject and a fallback, not what `NetlinkBackend` uses.
//!
//! ## What it does not give
//!
//! * **No default route.** `getifaddrs` lists interfaces and addresses,
//!   never routes; the snapshot's [`DefaultRoutes`] are left `None` rather
//!   than guessed (from a gateway-looking address, say). Reading them on
//!   BSD and macOS takes an `RTM_GET` on a routing socket (or a
//!   `NET_RT_DUMP` sysctl): future work.
//! * **No address flags.** Tentative, deprecated, temporary, DAD-failed and
//!   permanent are not in `getifaddrs`; every [`Address`] has empty flags.
//!   On BSD and macOS they could come from `ioctl(SIOCGIFAFLAG_IN6)` per
//!   IPv6 address: future work. Consequence: `have_v6()` counts a tentative
//!   address as usable, where the netlink enumeration would not.
//!
//! ## Where each field comes from
//!
//! * The interfaces: every name in the list. On Linux each link has an
//!   `AF_PACKET` entry (with no address at all when the link has no
//!   hardware address, a tunnel's for example); on BSD and macOS an
//!   `AF_LINK` one.
//! * The index: `sll_ifindex` of the `AF_PACKET` entry (Linux) or
//!   `sdl_index` of the `AF_LINK` entry (BSD, macOS), else
//!   `if_nametoindex`.
//! * The flags: the entries' `ifa_flags` (`IFF_UP`, `IFF_RUNNING`,
//!   `IFF_LOOPBACK`, `IFF_POINTOPOINT`, `IFF_MULTICAST`, `IFF_BROADCAST`,
//!   `IFF_NOARP`, `IFF_PROMISC`), the interface's own flags on every entry.
//! * The MTU: `getifaddrs` does not carry it on Linux (the `AF_PACKET`
//!   entry's `ifa_data` is a `rtnl_link_stats` of counters only), so it is
//!   asked for with `ioctl(SIOCGIFMTU)` on a datagram socket, on Linux,
//!   macOS, iOS and FreeBSD alike (one code path, tested here). On other
//!   Unix systems it is 0 (unknown).
//! * The hardware address: `sll_addr` (Linux, `sll_halen` bytes) or the
//!   link-layer bytes of the `sockaddr_dl` (BSD, macOS, `sdl_alen` bytes
//!   after the name). None when it has no bytes (macOS's `lo0`, tunnels).
//!   On Linux an address longer than `sll_addr`'s 8 bytes (InfiniBand's
//!   20) is given as None rather than truncated: glibc and musl do store
//!   up to 24 bytes there, but reading past the declared structure would
//!   rely on their private layout.
//! * The addresses: the `AF_INET` and `AF_INET6` entries, with the prefix
//!   length counted from the netmask's leading one bits (a non-contiguous
//!   mask counts up to its first zero bit; a missing netmask means a host
//!   address). On BSD and macOS the netmask may be trimmed (`sa_len`
//!   shorter than the structure): missing bytes are zero. An IPv6
//!   link-local address whose bytes 2 and 3 carry the interface index
//!   (the KAME "embedded scope" some BSD kernels leave in) has them
//!   cleared, as `ifconfig` does.
//!
//! ## Linux: IPv4 labels
//!
//! glibc names an IPv4 address entry by the address's label, which for an
//! alias is `eth0:1`, not by its interface. Linux interface names cannot
//! contain `:`, so an address entry named `NAME:…` whose `NAME` is a listed
//! interface belongs to that interface. An address whose name is neither a
//! listed interface nor a label of one (a label set by hand to anything
//! else) cannot be placed and is dropped.
//!
//! ## A table that changes while it is read
//!
//! The list, the index lookups and the MTU queries are separate calls. An
//! interface that is listed but gone by the time its index or MTU is asked
//! for, or two interfaces sharing an index or a name (a rename between two
//! calls), make the enumeration start again, up to five times, before it
//! fails with an error whose [`GetifaddrsError::is_transient`] is true.
//!
//! ## What has been verified, and where
//!
//! On Linux (glibc), as root, in network namespaces: the same interfaces,
//! indexes, names, flags, MTUs, hardware addresses and addresses (flags
//! aside) as the netlink enumeration, with the differences above asserted
//! exactly (`sys/tests/getifaddrs_linux.rs`). The sockaddr parsing of both
//! layouts is unit-tested here on byte fixtures. **Nothing has been run on
//! a real macOS, iOS or FreeBSD host yet**; the code for them type-checks
//! (`cargo check --target x86_64-apple-darwin`, `aarch64-apple-darwin`,
//! `x86_64-unknown-freebsd`) and is otherwise unverified.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ptr;

use netstate_core::ipnet::IpNet;
use netstate_core::{
    Address, DefaultRoutes, HardwareAddr, Interface, InterfaceFlags, Snapshot, SnapshotError,
};

/// How many times an enumeration that saw the table change is started
/// again before giving up.
const ATTEMPTS: u32 = 5;

/// Sockets addresses carry `sa_len`, links are `AF_LINK` `sockaddr_dl`s, and
/// IPv6 link-local addresses may embed their scope (the BSD family).
const BSD: bool = cfg!(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
));

/// Links are `AF_PACKET` `sockaddr_ll`s (Linux and Android).
const LINUX: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// `AF_PACKET` on Linux (checked against `libc` in the tests).
const AF_PACKET_LINUX: i32 = 17;
/// `AF_LINK` on macOS and the BSDs (checked against `libc` in the tests).
const AF_LINK_BSD: i32 = 18;
/// `sizeof(struct sockaddr_ll)`: family, protocol, ifindex, hatype,
/// pkttype, halen, `sll_addr[8]`.
const SOCKADDR_LL_LEN: usize = 20;

/// Why a `getifaddrs` enumeration failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum GetifaddrsError {
    /// `getifaddrs` failed (out of memory or descriptors, or, on Linux, no
    /// netlink socket). Enumerate again later.
    Getifaddrs(io::Error),
    /// No socket could be opened to ask for MTUs. Enumerate again later.
    MtuSocket(io::Error),
    /// Asking for an interface's MTU failed for another reason than the
    /// interface being gone. Enumerate again later.
    Mtu {
        /// The interface.
        interface: String,
        /// What `ioctl(SIOCGIFMTU)` returned.
        error: io::Error,
    },
    /// An interface listed by `getifaddrs` was gone before its index or MTU
    /// could be read, on every attempt: the table keeps changing.
    /// Enumerate again (transient).
    Vanished {
        /// The interface.
        interface: String,
    },
    /// The list could not form a consistent table (a repeated index or
    /// name: an interface renamed between two calls), on every attempt.
    /// Enumerate again (transient).
    Inconsistent(SnapshotError),
}

impl GetifaddrsError {
    /// Whether the table changed while it was read: enumerating again will
    /// likely succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GetifaddrsError::Vanished { .. } | GetifaddrsError::Inconsistent(_)
        )
    }
}

impl fmt::Display for GetifaddrsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetifaddrsError::Getifaddrs(e) => write!(f, "getifaddrs failed: {e}"),
            GetifaddrsError::MtuSocket(e) => write!(f, "cannot open a socket to read MTUs: {e}"),
            GetifaddrsError::Mtu { interface, error } => {
                write!(f, "cannot read the MTU of {interface}: {error}")
            }
            GetifaddrsError::Vanished { interface } => {
                write!(f, "interface {interface} vanished while the table was read")
            }
            GetifaddrsError::Inconsistent(e) => {
                write!(f, "the interface table changed while it was read: {e}")
            }
        }
    }
}

impl std::error::Error for GetifaddrsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GetifaddrsError::Getifaddrs(e)
            | GetifaddrsError::MtuSocket(e)
            | GetifaddrsError::Mtu { error: e, .. } => Some(e),
            GetifaddrsError::Inconsistent(e) => Some(e),
            GetifaddrsError::Vanished { .. } => None,
        }
    }
}

/// Reads the interface table with `getifaddrs(3)` into a [`Snapshot`], on
/// the Unix systems without netlink (macOS, iOS, FreeBSD); it also runs on
/// Linux, where it is tested against the netlink
/// `Enumerator`.
///
/// What it does not give: **no default routes** (`getifaddrs` lists no
/// routes; they are left `None` rather than guessed) and **no address
/// flags** (tentative, deprecated, … are not in `getifaddrs`: every
/// address's flags are empty, so a tentative global IPv6 address counts
/// for `have_v6()`). The index comes from the link-layer entry
/// (`AF_PACKET` on Linux, `AF_LINK` elsewhere) or `if_nametoindex`; the
/// MTU from `ioctl(SIOCGIFMTU)` (0 on Unix systems other than Linux,
/// macOS, iOS and FreeBSD); the hardware address from the link-layer entry
/// (none beyond 8 bytes on Linux); the prefix length from the netmask. On
/// Linux, an IPv4 alias listed under its label (`eth0:1`) is given to its
/// interface. A table that changes while it is read is read again, a few
/// times, before a transient [`GetifaddrsError`].
///
/// Verified on Linux (glibc) in network namespaces: equal to the netlink
/// enumeration but for address flags and default routes. **Not yet run on
/// a real macOS, iOS or FreeBSD host.**
///
/// It holds nothing between calls: each [`enumerate`](Self::enumerate)
/// reads the network namespace of the calling thread (on Linux, run it
/// inside `Netns::run` to read another one).
#[derive(Clone, Copy, Debug, Default)]
pub struct GetifaddrsEnumerator {
    _private: (),
}

impl GetifaddrsEnumerator {
    /// An enumerator.
    #[must_use]
    pub fn new() -> Self {
        GetifaddrsEnumerator::default()
    }

    /// Reads the interface table, starting again (a few times) when it
    /// changed while being read.
    pub fn enumerate(&self) -> Result<Snapshot, GetifaddrsError> {
        let mut os = OsLookups {
            probe: MtuProbe::open().map_err(GetifaddrsError::MtuSocket)?,
        };
        let mut attempt = 1;
        loop {
            let entries = read_entries().map_err(GetifaddrsError::Getifaddrs)?;
            match assemble(&entries, &mut os) {
                Ok(snapshot) => return Ok(snapshot),
                Err(e) if e.is_transient() && attempt < ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// From entries to a snapshot (no unsafe, no OS: unit-tested with fixtures).

/// One entry of the list, copied out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// `ifa_name`: the interface's name, or an IPv4 label on Linux.
    name: Vec<u8>,
    /// `ifa_flags`: the interface's `IFF_*` flags.
    flags: u32,
    /// What `ifa_addr` holds.
    addr: EntryAddr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum EntryAddr {
    /// A link-layer entry: the interface itself. `index` 0 when unknown
    /// (a Linux link without a hardware address has no `ifa_addr` at all).
    Link {
        index: u32,
        mac: Option<HardwareAddr>,
    },
    /// An IPv4 or IPv6 address with its prefix.
    Ip(IpNet),
    /// Another family, or an unreadable address: ignored.
    Other,
}

/// What the enumeration asks the system beside the list.
trait Lookups {
    /// `if_nametoindex`: `None` when there is no such interface.
    fn index(&mut self, name: &[u8]) -> Option<u32>;
    /// The MTU; `Ok(None)` when there is no such interface.
    fn mtu(&mut self, name: &[u8]) -> io::Result<Option<u32>>;
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

fn assemble(entries: &[Entry], os: &mut dyn Lookups) -> Result<Snapshot, GetifaddrsError> {
    let mut pending: BTreeMap<&[u8], Pending> = BTreeMap::new();
    for e in entries {
        if let EntryAddr::Link { index, mac } = &e.addr {
            let p = pending
                .entry(&e.name)
                .or_insert_with(|| Pending::new(e.flags));
            p.listed = true;
            p.flags = e.flags;
            if *index != 0 {
                p.index = *index;
            }
            if mac.is_some() {
                p.mac.clone_from(mac);
            }
        }
    }
    for e in entries {
        if let EntryAddr::Ip(net) = e.addr {
            let owner = owner(&pending, &e.name);
            pending
                .entry(owner)
                .or_insert_with(|| Pending::new(e.flags))
                .addrs
                .push(Address::new(net));
        }
    }
    let mut interfaces = Vec::with_capacity(pending.len());
    for (name, p) in pending {
        // Linux and BSD names are bytes: kept losslessly (netstate_core::ifname).
        let text = netstate_core::ifname::escape(name).into_owned();
        let index = match p.index {
            0 => match os.index(name) {
                Some(i) if i != 0 => i,
                _ if p.listed => return Err(GetifaddrsError::Vanished { interface: text }),
                // Addresses under a name that is no interface: dropped.
                _ => continue,
            },
            i => i,
        };
        let mtu = match os.mtu(name) {
            Ok(Some(mtu)) => mtu,
            Ok(None) => return Err(GetifaddrsError::Vanished { interface: text }),
            Err(error) => {
                return Err(GetifaddrsError::Mtu {
                    interface: text,
                    error,
                })
            }
        };
        let mut i = Interface::new(index, text);
        i.flags = interface_flags(p.flags);
        i.mtu = mtu;
        i.mac = p.mac;
        i.addrs.extend(p.addrs);
        interfaces.push(i);
    }
    Snapshot::new(interfaces, DefaultRoutes::default()).map_err(GetifaddrsError::Inconsistent)
}

/// The interface an address entry belongs to: its own name when that is a
/// listed interface, else (Linux IPv4 labels) the part before the first
/// `:` when that is one, else its own name.
fn owner<'a>(pending: &BTreeMap<&'a [u8], Pending>, name: &'a [u8]) -> &'a [u8] {
    if pending.contains_key(name) {
        return name;
    }
    if LINUX {
        if let Some(colon) = name.iter().position(|b| *b == b':') {
            let base = &name[..colon];
            if pending.get(base).is_some_and(|p| p.listed) {
                return base;
            }
        }
    }
    name
}

/// Maps `IFF_*` bits (the platform's values) to [`InterfaceFlags`].
fn interface_flags(iff: u32) -> InterfaceFlags {
    let map = [
        (libc::IFF_UP, InterfaceFlags::UP),
        (libc::IFF_RUNNING, InterfaceFlags::RUNNING),
        (libc::IFF_LOOPBACK, InterfaceFlags::LOOPBACK),
        (libc::IFF_POINTOPOINT, InterfaceFlags::POINT_TO_POINT),
        (libc::IFF_MULTICAST, InterfaceFlags::MULTICAST),
        (libc::IFF_BROADCAST, InterfaceFlags::BROADCAST),
        (libc::IFF_NOARP, InterfaceFlags::NO_ARP),
        (libc::IFF_PROMISC, InterfaceFlags::PROMISC),
    ];
    let mut flags = InterfaceFlags::empty();
    for (bit, flag) in map {
        #[allow(clippy::cast_sign_loss)] // the IFF_* constants are small positive ints
        flags.set(flag, iff & (bit as u32) != 0);
    }
    flags
}

// ---------------------------------------------------------------------------
// Socket addresses as bytes (no unsafe: unit-tested with fixtures).

/// An `AF_INET` entry: `sin_addr` at offset 4; the mask's bytes likewise.
fn inet4(addr: &[u8], mask: Option<&[u8]>) -> EntryAddr {
    let Some(octets) = addr.get(4..8).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
        return EntryAddr::Other;
    };
    let prefix = mask.map_or(32, |m| prefix_len(m.get(4..).unwrap_or(&[]), 4));
    IpNet::new(IpAddr::V4(Ipv4Addr::from(octets)), prefix).map_or(EntryAddr::Other, EntryAddr::Ip)
}

/// An `AF_INET6` entry: `sin6_addr` at offset 8; the mask's bytes likewise.
fn inet6(addr: &[u8], mask: Option<&[u8]>) -> EntryAddr {
    let Some(mut octets) = addr.get(8..24).and_then(|b| <[u8; 16]>::try_from(b).ok()) else {
        return EntryAddr::Other;
    };
    if BSD {
        clear_embedded_scope(&mut octets);
    }
    let prefix = mask.map_or(128, |m| prefix_len(m.get(8..).unwrap_or(&[]), 16));
    IpNet::new(IpAddr::V6(Ipv6Addr::from(octets)), prefix).map_or(EntryAddr::Other, EntryAddr::Ip)
}

/// KAME kernels keep a link-local address's interface index in bytes 2-3;
/// the address itself has zeroes there.
fn clear_embedded_scope(octets: &mut [u8; 16]) {
    let link_local = octets[0] == 0xfe && octets[1] & 0xc0 == 0x80;
    if link_local {
        octets[2] = 0;
        octets[3] = 0;
    }
}

/// The leading one bits of the first `len` bytes of `mask` (bytes past its
/// end count as zero).
fn prefix_len(mask: &[u8], len: usize) -> u8 {
    let mut bits = 0u8;
    for b in mask.iter().take(len) {
        // At most 8 per byte and 16 bytes: never past 128.
        bits += b.leading_ones() as u8;
        if *b != 0xff {
            break;
        }
    }
    bits
}

/// Linux's `struct sockaddr_ll`: the index at offset 4, `sll_halen` at 11,
/// `sll_addr[8]` at 12.
fn sockaddr_ll(bytes: &[u8]) -> EntryAddr {
    let (Some(index), Some(&halen)) = (
        bytes.get(4..8).and_then(|b| <[u8; 4]>::try_from(b).ok()),
        bytes.get(11),
    ) else {
        return EntryAddr::Other;
    };
    let index = u32::try_from(i32::from_ne_bytes(index)).unwrap_or(0);
    let halen = usize::from(halen);
    let mac = if halen == 0 || halen > 8 {
        None
    } else {
        bytes.get(12..12 + halen).map(HardwareAddr::new)
    };
    EntryAddr::Link { index, mac }
}

/// BSD's `struct sockaddr_dl`: `sdl_index` at offset 2, `sdl_nlen` at 5,
/// `sdl_alen` at 6, then the name and the link-layer address in
/// `sdl_data` from offset 8, within `sdl_len` (the slice's length).
fn sockaddr_dl(bytes: &[u8]) -> EntryAddr {
    let (Some(index), Some(&nlen), Some(&alen)) = (
        bytes.get(2..4).and_then(|b| <[u8; 2]>::try_from(b).ok()),
        bytes.get(5),
        bytes.get(6),
    ) else {
        return EntryAddr::Other;
    };
    let start = 8 + usize::from(nlen);
    let mac = match alen {
        0 => None,
        n => bytes
            .get(start..start + usize::from(n))
            .map(HardwareAddr::new),
    };
    EntryAddr::Link {
        index: u32::from(u16::from_ne_bytes(index)),
        mac,
    }
}

/// Reads a link-layer socket address's bytes.
type LinkParser = fn(&[u8]) -> EntryAddr;

/// Reads an IP socket address's bytes, with its netmask's.
type IpParser = fn(&[u8], Option<&[u8]>) -> EntryAddr;

/// How this platform's link-layer entries are laid out, if it has any: the
/// family, the parser, and the length where socket addresses carry none.
fn link_layout() -> Option<(i32, LinkParser, usize)> {
    if LINUX {
        Some((AF_PACKET_LINUX, sockaddr_ll, SOCKADDR_LL_LEN))
    } else if BSD {
        // The length comes from `sdl_len`.
        Some((AF_LINK_BSD, sockaddr_dl, 8))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// The list itself (the unsafe part).

/// The list `getifaddrs` returned; freed on drop, on every path.
struct List(*mut libc::ifaddrs);

impl List {
    fn read() -> io::Result<List> {
        let mut head = ptr::null_mut();
        // SAFETY: `head` is a valid place for `getifaddrs` to store the
        // list's head; on failure it stores nothing we use.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(List(head))
    }
}

impl Drop for List {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the list came from `getifaddrs`, is freed only here,
            // and no reference into it outlives `self` (`read_entries`
            // copies everything out before dropping it).
            unsafe { libc::freeifaddrs(self.0) };
        }
    }
}

/// Copies every entry out of a fresh `getifaddrs` list.
fn read_entries() -> io::Result<Vec<Entry>> {
    let list = List::read()?;
    let mut entries = Vec::new();
    let mut node = list.0.cast_const();
    while !node.is_null() {
        // SAFETY: `node` is the head or an `ifa_next` of the list `list`
        // owns, which stays allocated until `list` drops after the loop.
        let ifa = unsafe { &*node };
        if !ifa.ifa_name.is_null() {
            // SAFETY: a non-null `ifa_name` is a NUL-terminated string
            // inside the list, alive as long as `list`.
            let name = unsafe { CStr::from_ptr(ifa.ifa_name) }.to_bytes().to_vec();
            // SAFETY: `ifa_addr` and `ifa_netmask` are null or point to
            // socket addresses inside the list, laid out as `entry_addr`
            // expects on this platform.
            let addr = unsafe { entry_addr(ifa.ifa_addr, ifa.ifa_netmask) };
            entries.push(Entry {
                name,
                flags: ifa.ifa_flags,
                addr,
            });
        }
        node = ifa.ifa_next;
    }
    drop(list);
    Ok(entries)
}

/// Reads an entry's address.
///
/// # Safety
///
/// `addr` and `mask` are null or point to socket addresses as the
/// platform's `getifaddrs` stores them: a whole structure of the family's
/// type on Linux; `sa_len` readable bytes on BSD and macOS (where a
/// netmask may be shorter than its structure).
unsafe fn entry_addr(addr: *const libc::sockaddr, mask: *const libc::sockaddr) -> EntryAddr {
    if addr.is_null() {
        // A Linux link without a hardware address: the interface itself.
        return if LINUX {
            EntryAddr::Link {
                index: 0,
                mac: None,
            }
        } else {
            EntryAddr::Other
        };
    }
    // SAFETY: `addr` points to a socket address (caller), whose family
    // field every layout has; read unaligned, as the list packs them.
    let family = i32::from(unsafe { ptr::read_unaligned(ptr::addr_of!((*addr).sa_family)) });
    let (full, parse): (usize, IpParser) = if family == libc::AF_INET {
        (size_of::<libc::sockaddr_in>(), inet4)
    } else if family == libc::AF_INET6 {
        (size_of::<libc::sockaddr_in6>(), inet6)
    } else {
        return match link_layout() {
            Some((link_family, parse_link, len)) if family == link_family => {
                // SAFETY: as above; a link-layer address of this platform.
                parse_link(unsafe { sockaddr_bytes(addr, len) })
            }
            _ => EntryAddr::Other,
        };
    };
    // SAFETY: as above.
    let addr = unsafe { sockaddr_bytes(addr, full) };
    let mask = if mask.is_null() {
        None
    } else {
        // SAFETY: as above; the netmask has the address's layout.
        Some(unsafe { sockaddr_bytes(mask, full) })
    };
    parse(addr, mask)
}

/// The bytes of a socket address: `sa_len` of them where socket addresses
/// carry their length (BSD, macOS), else `full`.
///
/// # Safety
///
/// `sa` is non-null and points to `sa_len` readable bytes (BSD, macOS) or
/// `full` (elsewhere), alive for `'a`.
unsafe fn sockaddr_bytes<'a>(sa: *const libc::sockaddr, full: usize) -> &'a [u8] {
    let bytes = sa.cast::<u8>();
    let len = if BSD {
        // SAFETY: the first byte is `sa_len` on these platforms (caller).
        usize::from(unsafe { *bytes })
    } else {
        full
    };
    // SAFETY: `len` bytes are readable and alive for `'a` (caller); `u8`
    // has no alignment.
    unsafe { std::slice::from_raw_parts(bytes, len) }
}

// ---------------------------------------------------------------------------
// Index and MTU lookups.

struct OsLookups {
    probe: MtuProbe,
}

impl Lookups for OsLookups {
    fn index(&mut self, name: &[u8]) -> Option<u32> {
        let name = std::ffi::CString::new(name).ok()?;
        // SAFETY: `name` is a NUL-terminated string alive for the call.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        (index != 0).then_some(index)
    }

    fn mtu(&mut self, name: &[u8]) -> io::Result<Option<u32>> {
        self.probe.mtu(name)
    }
}

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd"
))]
mod mtu {
    use std::io;
    use std::os::fd::{AsRawFd, OwnedFd};

    use crate::bsd::fd;

    #[cfg(not(target_os = "freebsd"))]
    const SIOCGIFMTU: libc::c_ulong = libc::SIOCGIFMTU;
    /// `_IOWR('i', 51, struct ifreq)` in FreeBSD's `sys/sockio.h` (`libc`
    /// does not define it for FreeBSD); a 32-byte `ifreq`.
    #[cfg(target_os = "freebsd")]
    const SIOCGIFMTU: libc::c_ulong = 0xc020_6933;

    /// A datagram socket to ask for MTUs with `ioctl(SIOCGIFMTU)`.
    pub(super) struct MtuProbe {
        fd: OwnedFd,
    }

    impl MtuProbe {
        pub(super) fn open() -> io::Result<Self> {
            let fd = fd::socket(libc::AF_INET, libc::SOCK_DGRAM, 0)
                .or_else(|_| fd::socket(libc::AF_INET6, libc::SOCK_DGRAM, 0))
                .or_else(|_| fd::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0))?;
            Ok(MtuProbe { fd })
        }

        /// The MTU of `name`, `None` when there is no such interface.
        pub(super) fn mtu(&self, name: &[u8]) -> io::Result<Option<u32>> {
            if name.len() >= libc::IFNAMSIZ || name.contains(&0) {
                return Ok(None);
            }
            // SAFETY: `ifreq` is integers, arrays and a union of such (and
            // of pointers, for which zero is null): all zeroes is a value.
            let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
            for (dst, src) in req.ifr_name.iter_mut().zip(name) {
                *dst = *src as libc::c_char;
            }
            loop {
                // SAFETY: SIOCGIFMTU reads `ifr_name` (NUL-terminated: the
                // name is shorter than the array, which was zeroed) and
                // writes the MTU into the `ifreq` we own for the call.
                let r = unsafe {
                    libc::ioctl(
                        self.fd.as_raw_fd(),
                        SIOCGIFMTU as _,
                        std::ptr::addr_of_mut!(req),
                    )
                };
                if r == 0 {
                    break;
                }
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => {}
                    Some(libc::ENODEV | libc::ENXIO) => return Ok(None),
                    _ => return Err(e),
                }
            }
            // SAFETY: a successful SIOCGIFMTU stored the MTU in `ifru_mtu`.
            let mtu = unsafe { req.ifr_ifru.ifru_mtu };
            Ok(Some(u32::try_from(mtu).unwrap_or(0)))
        }
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd"
)))]
mod mtu {
    use std::io;

    /// Where `SIOCGIFMTU` is not known: every MTU is 0 (unknown).
    pub(super) struct MtuProbe;

    impl MtuProbe {
        pub(super) fn open() -> io::Result<Self> {
            Ok(MtuProbe)
        }

        pub(super) fn mtu(&self, _name: &[u8]) -> io::Result<Option<u32>> {
            Ok(Some(0))
        }
    }
}

use mtu::MtuProbe;

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed answers for the lookups.
    #[derive(Default)]
    struct Fake {
        indexes: BTreeMap<Vec<u8>, u32>,
        mtus: BTreeMap<Vec<u8>, u32>,
    }

    impl Fake {
        fn with(mut self, name: &str, index: u32, mtu: u32) -> Self {
            self.indexes.insert(name.as_bytes().to_vec(), index);
            self.mtus.insert(name.as_bytes().to_vec(), mtu);
            self
        }
    }

    impl Lookups for Fake {
        fn index(&mut self, name: &[u8]) -> Option<u32> {
            self.indexes.get(name).copied()
        }
        fn mtu(&mut self, name: &[u8]) -> io::Result<Option<u32>> {
            Ok(self.mtus.get(name).copied())
        }
    }

    fn link(name: &str, index: u32, mac: Option<&[u8]>) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            flags: 0x1043, // UP | BROADCAST | RUNNING | MULTICAST on Linux
            addr: EntryAddr::Link {
                index,
                mac: mac.map(HardwareAddr::new),
            },
        }
    }

    fn ip(name: &str, net: &str) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            flags: 0x1043,
            addr: EntryAddr::Ip(net.parse().unwrap()),
        }
    }

    fn sin(addr: [u8; 4]) -> Vec<u8> {
        let mut b = vec![0u8; 16];
        b[4..8].copy_from_slice(&addr);
        b
    }

    fn sin6(addr: [u8; 16]) -> Vec<u8> {
        let mut b = vec![0u8; 28];
        b[8..24].copy_from_slice(&addr);
        b
    }

    #[test]
    fn the_layout_constants_match_libc() {
        #[cfg(target_os = "linux")]
        {
            assert_eq!(libc::AF_PACKET, AF_PACKET_LINUX);
            assert_eq!(size_of::<libc::sockaddr_ll>(), SOCKADDR_LL_LEN);
            assert_eq!(
                link_layout().map(|(family, _, len)| (family, len)),
                Some((libc::AF_PACKET, 20))
            );
        }
        #[cfg(any(target_os = "macos", target_os = "freebsd"))]
        assert_eq!(libc::AF_LINK, AF_LINK_BSD);
    }

    #[test]
    fn netmasks_give_prefix_lengths() {
        assert_eq!(prefix_len(&[255, 255, 255, 0], 4), 24);
        assert_eq!(prefix_len(&[255, 255, 240, 0], 4), 20);
        assert_eq!(prefix_len(&[255, 255, 255, 255], 4), 32);
        assert_eq!(prefix_len(&[], 4), 0);
        // Trimmed (BSD): the missing bytes are zero.
        assert_eq!(prefix_len(&[255, 255], 4), 16);
        // Non-contiguous: up to the first zero bit.
        assert_eq!(prefix_len(&[255, 0, 255, 0], 4), 8);
        assert_eq!(prefix_len(&[0xff; 16], 16), 128);
        // Bytes past the address are not part of the mask.
        assert_eq!(prefix_len(&[0xff; 20], 16), 128);
        let mut m = [0u8; 16];
        m[..8].fill(0xff);
        assert_eq!(prefix_len(&m, 16), 64);
    }

    #[test]
    fn ip_entries_are_read_from_their_sockaddrs() {
        let mask = sin([255, 255, 255, 0]);
        assert_eq!(
            inet4(&sin([10, 0, 0, 2]), Some(&mask)),
            EntryAddr::Ip("10.0.0.2/24".parse().unwrap())
        );
        assert_eq!(
            inet4(&sin([10, 0, 0, 2]), None),
            EntryAddr::Ip("10.0.0.2/32".parse().unwrap())
        );
        // A trimmed BSD netmask: sa_len 6, two bytes of mask.
        assert_eq!(
            inet4(&sin([10, 0, 0, 2]), Some(&[6, 0, 0, 0, 255, 255])),
            EntryAddr::Ip("10.0.0.2/16".parse().unwrap())
        );
        // A netmask with no bytes at all: /0.
        assert_eq!(
            inet4(&sin([10, 0, 0, 2]), Some(&[])),
            EntryAddr::Ip("10.0.0.2/0".parse().unwrap())
        );
        assert_eq!(inet4(&[16, 2, 0, 0, 10], None), EntryAddr::Other);
        let mut a = [0u8; 16];
        a[0] = 0x20;
        a[1] = 0x01;
        a[15] = 5;
        let mut m = [0u8; 16];
        m[..8].fill(0xff);
        assert_eq!(
            inet6(&sin6(a), Some(&sin6(m))),
            EntryAddr::Ip("2001::5/64".parse().unwrap())
        );
        assert_eq!(inet6(&sin6(a)[..20], None), EntryAddr::Other);
    }

    #[test]
    fn an_embedded_scope_is_cleared_from_link_local_addresses_only() {
        let mut ll = [0u8; 16];
        ll[0] = 0xfe;
        ll[1] = 0x80;
        ll[3] = 4; // fe80:4::1, scope 4 embedded
        ll[15] = 1;
        clear_embedded_scope(&mut ll);
        assert_eq!(Ipv6Addr::from(ll), "fe80::1".parse::<Ipv6Addr>().unwrap());
        let mut global: [u8; 16] = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets();
        clear_embedded_scope(&mut global);
        assert_eq!(
            Ipv6Addr::from(global),
            "2001:db8::1".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn linux_link_entries_give_index_and_hardware_address() {
        let mut ll = vec![0u8; SOCKADDR_LL_LEN];
        ll[0..2].copy_from_slice(&17u16.to_ne_bytes());
        ll[4..8].copy_from_slice(&7i32.to_ne_bytes());
        ll[11] = 6;
        ll[12..18].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
        assert_eq!(
            sockaddr_ll(&ll),
            EntryAddr::Link {
                index: 7,
                mac: Some(HardwareAddr::new(&[2, 0, 0, 0, 0, 9]))
            }
        );
        ll[11] = 0;
        assert_eq!(
            sockaddr_ll(&ll),
            EntryAddr::Link {
                index: 7,
                mac: None
            }
        );
        // Longer than sll_addr: not truncated, not given.
        ll[11] = 20;
        assert_eq!(
            sockaddr_ll(&ll),
            EntryAddr::Link {
                index: 7,
                mac: None
            }
        );
        assert_eq!(sockaddr_ll(&ll[..8]), EntryAddr::Other);
    }

    #[test]
    fn bsd_link_entries_give_index_and_hardware_address() {
        // sockaddr_dl for en0 (index 4, Ethernet), as macOS lays it out.
        let mut dl = vec![0u8; 20];
        dl[0] = 20;
        dl[1] = 18;
        dl[2..4].copy_from_slice(&4u16.to_ne_bytes());
        dl[4] = 6; // IFT_ETHER
        dl[5] = 3;
        dl[6] = 6;
        dl[8..11].copy_from_slice(b"en0");
        dl[11..17].copy_from_slice(&[0xa, 0xb, 0xc, 0xd, 0xe, 0xf]);
        assert_eq!(
            sockaddr_dl(&dl),
            EntryAddr::Link {
                index: 4,
                mac: Some(HardwareAddr::new(&[0xa, 0xb, 0xc, 0xd, 0xe, 0xf]))
            }
        );
        // lo0: no link-layer address.
        dl[6] = 0;
        assert_eq!(
            sockaddr_dl(&dl),
            EntryAddr::Link {
                index: 4,
                mac: None
            }
        );
        // An address running past sdl_len is not read.
        dl[6] = 6;
        assert_eq!(
            sockaddr_dl(&dl[..14]),
            EntryAddr::Link {
                index: 4,
                mac: None
            }
        );
        assert_eq!(sockaddr_dl(&dl[..5]), EntryAddr::Other);
    }

    #[test]
    fn entries_become_interfaces_with_their_addresses() {
        let entries = [
            link("lo", 1, Some(&[0; 6])),
            link("eth0", 2, Some(&[2, 0, 0, 0, 0, 1])),
            ip("lo", "127.0.0.1/8"),
            ip("eth0", "10.0.0.2/24"),
            ip("eth0", "fe80::1/64"),
        ];
        let mut fake = Fake::default().with("lo", 1, 65536).with("eth0", 2, 1500);
        let s = assemble(&entries, &mut fake).unwrap();
        assert_eq!(s.interfaces().len(), 2);
        let eth0 = s.by_index(2).unwrap();
        assert_eq!(eth0.name, "eth0");
        assert_eq!(eth0.mtu, 1500);
        assert_eq!(
            eth0.mac.as_ref().map(ToString::to_string).as_deref(),
            Some("02:00:00:00:00:01")
        );
        assert_eq!(eth0.addrs.len(), 2);
        assert!(eth0.addrs.iter().all(|a| a.flags.is_empty()));
        assert!(eth0
            .flags
            .contains(InterfaceFlags::UP | InterfaceFlags::RUNNING));
        assert_eq!(s.default_routes(), &DefaultRoutes::default());
    }

    #[test]
    fn linux_labels_and_links_without_an_address_are_placed() {
        let mut tun = link("tun0", 0, None);
        tun.addr = EntryAddr::Link {
            index: 0,
            mac: None,
        };
        let entries = [
            link("eth0", 2, Some(&[2, 0, 0, 0, 0, 1])),
            tun,
            ip("eth0", "10.0.0.2/24"),
            ip("eth0:1", "10.0.0.3/24"),
            ip("tun0", "10.8.0.2/24"),
            ip("bogus", "10.9.0.2/24"),
        ];
        let mut fake = Fake::default().with("eth0", 2, 1500).with("tun0", 5, 1420);
        let s = assemble(&entries, &mut fake).unwrap();
        let eth0 = s.by_name("eth0").unwrap();
        if LINUX {
            assert_eq!(eth0.addrs.len(), 2, "the eth0:1 alias belongs to eth0");
            assert!(s.by_name("eth0:1").is_none());
        }
        let tun0 = s.by_name("tun0").unwrap();
        assert_eq!((tun0.index, tun0.mtu, tun0.mac.clone()), (5, 1420, None));
        assert!(s.by_name("bogus").is_none(), "no such interface: dropped");
    }

    #[test]
    fn a_table_that_changes_while_read_is_a_transient_error() {
        // Listed, but gone before its MTU was read.
        let entries = [link("eth0", 2, None)];
        let e = assemble(&entries, &mut Fake::default()).unwrap_err();
        assert!(matches!(e, GetifaddrsError::Vanished { .. }) && e.is_transient());
        // Listed without an index, and gone before it was looked up.
        let entries = [Entry {
            name: b"tun0".to_vec(),
            flags: 0,
            addr: EntryAddr::Link {
                index: 0,
                mac: None,
            },
        }];
        assert!(assemble(&entries, &mut Fake::default())
            .unwrap_err()
            .is_transient());
        // Renamed between two calls: two names, one index.
        let entries = [link("a", 3, None), link("b", 3, None)];
        let mut fake = Fake::default().with("a", 3, 1500).with("b", 3, 1500);
        let e = assemble(&entries, &mut fake).unwrap_err();
        assert!(matches!(
            e,
            GetifaddrsError::Inconsistent(SnapshotError::DuplicateIndex(3))
        ));
        assert!(e.is_transient());
    }

    #[test]
    fn flags_map_from_the_platform_bits() {
        let f = interface_flags((libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as u32);
        assert_eq!(
            f,
            InterfaceFlags::UP | InterfaceFlags::LOOPBACK | InterfaceFlags::RUNNING
        );
        let f = interface_flags(
            (libc::IFF_POINTOPOINT
                | libc::IFF_NOARP
                | libc::IFF_PROMISC
                | libc::IFF_MULTICAST
                | libc::IFF_BROADCAST) as u32,
        );
        assert_eq!(
            f,
            InterfaceFlags::POINT_TO_POINT
                | InterfaceFlags::NO_ARP
                | InterfaceFlags::PROMISC
                | InterfaceFlags::MULTICAST
                | InterfaceFlags::BROADCAST
        );
    }

    #[test]
    fn the_host_table_reads_without_error() {
        // Whatever the host has: at least it reads, and has a loopback.
        let s = GetifaddrsEnumerator::new().enumerate().unwrap();
        assert!(s.interfaces().iter().any(|i| i.is_loopback()));
        assert!(s.default_routes().v4.is_none() && s.default_routes().v6.is_none());
    }
}
