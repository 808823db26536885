//! [`GetifaddrsEnumerator`]: the interface table from `getifaddrs(3)`, for
//! the Unix systems without netlink (macOS, iOS, FreeBSD).
//!
//! It compiles on every Unix, Linux included, where it is tested against
//! the netlink `Enumerator` in a network namespace; on Linux it is a test
//! subject and a fallback, not what `NetlinkBackend` uses.
//!
//! ## What lives here, and what in core
//!
//! This module is the FFI walk only: it calls `getifaddrs`, copies each
//! entry's name, flags and socket-address bytes into a
//! `netstate_core::wire::ifaddrs::Entry`, frees the list, and answers the
//! lookups the list leaves open (`if_nametoindex`, and the MTU with
//! `ioctl(SIOCGIFMTU)`). Reading the socket addresses and grouping the
//! entries into a snapshot is `netstate_core::wire::ifaddrs::assemble`,
//! which is pure, fuzzed and mutation-tested; its docs say where each field
//! comes from, and what a snapshot from `getifaddrs` lacks (**default
//! routes** and **address flags**: `have_v6()` counts a tentative address
//! as usable, where the netlink enumeration would not). Here, the platform
//! picks the layout core reads the bytes with (`sa_len` or not, `AF_INET6`,
//! `sockaddr_ll` or `sockaddr_dl`, the `IFF_*` bits), from `libc`.
//!
//! How many bytes of each socket address are copied: `sa_len` of them
//! where socket addresses carry one (BSD, macOS; a netmask may be shorter
//! than its structure), else the size of the structure of its family
//! (`sockaddr_in`, `sockaddr_in6`, and `sockaddr_ll` on Linux), the netmask
//! of an IPv4 or IPv6 address as many as its address (and no other
//! netmask); of a family not read here, only the family field.
//!
//! The MTU: `getifaddrs` does not carry it on Linux (the `AF_PACKET`
//! entry's `ifa_data` is a `rtnl_link_stats` of counters only), so it is
//! asked for with `ioctl(SIOCGIFMTU)` on a datagram socket, on Linux,
//! macOS, iOS and FreeBSD alike (one code path, tested here). On other Unix
//! systems it is 0 (unknown).
//!
//! ## A table that changes while it is read
//!
//! The list, the index lookups and the MTU queries are separate calls. An
//! interface that is listed but gone by the time its index or MTU is asked
//! for, or two interfaces sharing an index or a name (a rename between two
//! calls), make the enumeration read the list again, five reads in all,
//! before it fails with an error whose [`GetifaddrsError::is_transient`] is
//! true.
//!
//! ## What has been verified, and where
//!
//! On Linux (glibc), as root, in network namespaces: the same interfaces,
//! indexes, names, flags, MTUs, hardware addresses and addresses (flags
//! aside) as the netlink enumeration, with the differences asserted exactly
//! (`testkit/tests/getifaddrs_linux.rs`). The unit tests below check, on
//! Linux, that the layout handed to core is `Layout::LINUX` and that
//! `libc`'s own `sockaddr_in`, `sockaddr_in6` and `sockaddr_ll` read
//! through it; core's tests read every layout from byte fixtures.
//!
//! **Nothing has been run on a real macOS, iOS or FreeBSD host, and nothing
//! here has been compiled for one**: only the `x86_64-unknown-linux-gnu`
//! standard library was at hand when this module last changed. What the
//! Linux build does compile is every `cfg!` branch (the BSD ones are plain
//! `if`s on constants); what it does not is the `#[cfg]`'d MTU code of
//! macOS, iOS and FreeBSD (FreeBSD's `SIOCGIFMTU` value among it) and
//! `libc`'s constants for those targets, which `layout()` reads there.

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::ptr;

use netstate_core::wire::ifaddrs::{
    self, AssembleError, Entry, IffBits, Layout, LinkLayer, Lookups,
};
use netstate_core::{Snapshot, SnapshotError};

/// How many times, in all, an enumeration reads the list while the table
/// changes under it before giving up.
const ATTEMPTS: u32 = 5;

/// Socket addresses carry `sa_len`, links are `AF_LINK` `sockaddr_dl`s, and
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

/// Links are `AF_PACKET` `sockaddr_ll`s, and IPv4 entries may be named by
/// their label (Linux and Android).
const LINUX: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// `AF_PACKET` on Linux (checked against `libc` in the tests; `libc` has no
/// such constant elsewhere, where this is compiled too).
const AF_PACKET_LINUX: i32 = 17;
/// `sizeof(struct sockaddr_ll)` on Linux (checked against `libc` in the
/// tests): family, protocol, ifindex, hatype, pkttype, halen, `sll_addr[8]`.
const SOCKADDR_LL_LEN: usize = 20;

/// How this platform lays out the list, from `libc`'s constants.
#[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)] // small positive constants
fn layout() -> Layout {
    Layout {
        sa_len: BSD,
        af_inet6: libc::AF_INET6 as u16,
        link: if LINUX {
            Some(LinkLayer::Packet)
        } else if BSD {
            Some(LinkLayer::Dl)
        } else {
            None
        },
        ipv4_labels: LINUX,
        embedded_scope: BSD,
        iff: IffBits {
            up: libc::IFF_UP as u32,
            running: libc::IFF_RUNNING as u32,
            loopback: libc::IFF_LOOPBACK as u32,
            point_to_point: libc::IFF_POINTOPOINT as u32,
            multicast: libc::IFF_MULTICAST as u32,
            broadcast: libc::IFF_BROADCAST as u32,
            no_arp: libc::IFF_NOARP as u32,
            promisc: libc::IFF_PROMISC as u32,
        },
    }
}

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

impl GetifaddrsError {
    /// The same error, in this crate's terms (core's error names the kinds;
    /// the MTU lookup's error is an `io::Error` here).
    fn from_assemble(e: AssembleError<io::Error>) -> Self {
        match e {
            AssembleError::Vanished { interface } => GetifaddrsError::Vanished { interface },
            AssembleError::Mtu { interface, error } => GetifaddrsError::Mtu { interface, error },
            AssembleError::Inconsistent(e) => GetifaddrsError::Inconsistent(e),
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
        read_until_consistent(read_entries, &layout(), &mut os)
    }
}

/// Reads the list with `read` and assembles it, reading it again while the
/// table changes under it (a transient error), [`ATTEMPTS`] reads in all.
fn read_until_consistent<L: Lookups<Error = io::Error>>(
    mut read: impl FnMut() -> io::Result<Vec<Entry>>,
    layout: &Layout,
    os: &mut L,
) -> Result<Snapshot, GetifaddrsError> {
    let mut attempt = 1;
    loop {
        let entries = read().map_err(GetifaddrsError::Getifaddrs)?;
        match ifaddrs::assemble(&entries, layout, os) {
            Ok(snapshot) => return Ok(snapshot),
            Err(e) => {
                let e = GetifaddrsError::from_assemble(e);
                if !e.is_transient() || attempt >= ATTEMPTS {
                    return Err(e);
                }
                attempt += 1;
            }
        }
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
            // socket addresses inside the list, laid out as the platform's
            // `getifaddrs` stores them (what `copy_sockaddrs` expects).
            let (addr, netmask) = unsafe { copy_sockaddrs(ifa.ifa_addr, ifa.ifa_netmask) };
            entries.push(Entry {
                name,
                flags: ifa.ifa_flags,
                addr,
                netmask,
            });
        }
        node = ifa.ifa_next;
    }
    drop(list);
    Ok(entries)
}

/// Copies an entry's address and netmask bytes (see the module docs for
/// how many). A null pointer is `None`; so is the netmask of a null
/// address, and, where socket addresses carry no `sa_len`, the netmask of
/// an address that is not IPv4 or IPv6.
///
/// # Safety
///
/// `addr` and `mask` are null or point to socket addresses as the
/// platform's `getifaddrs` stores them: on BSD and macOS `sa_len` readable
/// bytes (a netmask may be shorter than its structure); elsewhere a whole
/// structure of the address's family, and for an IPv4 or IPv6 address a
/// netmask of the same structure.
unsafe fn copy_sockaddrs(
    addr: *const libc::sockaddr,
    mask: *const libc::sockaddr,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    if addr.is_null() {
        return (None, None);
    }
    if BSD {
        // SAFETY: the first byte of each is its `sa_len`, and that many
        // bytes are readable (caller).
        let addr = unsafe { sockaddr_bytes(addr, usize::from(*addr.cast::<u8>())) };
        let mask = if mask.is_null() {
            None
        } else {
            // SAFETY: as for `addr`.
            Some(unsafe { sockaddr_bytes(mask, usize::from(*mask.cast::<u8>())) }.to_vec())
        };
        return (Some(addr.to_vec()), mask);
    }
    // SAFETY: every socket address starts with its family field (caller);
    // read unaligned, as the list may pack them.
    let family = i32::from(unsafe { ptr::read_unaligned(ptr::addr_of!((*addr).sa_family)) });
    let (len, ip) = if family == libc::AF_INET {
        (size_of::<libc::sockaddr_in>(), true)
    } else if family == libc::AF_INET6 {
        (size_of::<libc::sockaddr_in6>(), true)
    } else if LINUX && family == AF_PACKET_LINUX {
        (SOCKADDR_LL_LEN, false)
    } else {
        // A family not read here: its family field only.
        (size_of::<libc::sa_family_t>(), false)
    };
    // SAFETY: a whole structure of its family is readable (caller).
    let bytes = unsafe { sockaddr_bytes(addr, len) }.to_vec();
    let mask = if ip && !mask.is_null() {
        // SAFETY: an IP address's netmask has its structure (caller).
        Some(unsafe { sockaddr_bytes(mask, len) }.to_vec())
    } else {
        None
    };
    (Some(bytes), mask)
}

/// The first `len` bytes of a socket address.
///
/// # Safety
///
/// `sa` is non-null and points to `len` readable bytes alive for `'a`.
unsafe fn sockaddr_bytes<'a>(sa: *const libc::sockaddr, len: usize) -> &'a [u8] {
    // SAFETY: `len` bytes are readable and alive for `'a` (caller); `u8`
    // has no alignment.
    unsafe { std::slice::from_raw_parts(sa.cast::<u8>(), len) }
}

// ---------------------------------------------------------------------------
// Index and MTU lookups.

struct OsLookups {
    probe: MtuProbe,
}

impl Lookups for OsLookups {
    type Error = io::Error;

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

// Where `SIOCGIFMTU` is not known (in a file of its own: mutation testing
// leaves out what Linux does not compile).
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
#[path = "getifaddrs/no_mtu.rs"]
mod mtu;

use mtu::MtuProbe;

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of a `libc` structure, as `getifaddrs` would store it.
    fn bytes_of<T>(value: &T) -> Vec<u8> {
        // SAFETY: `value` is a live, initialised `T` (the `libc` socket
        // address structures have no padding bytes: every field is an
        // integer or an array of them, each on its natural alignment), read
        // as its `size_of::<T>()` bytes; `u8` has no alignment.
        unsafe { std::slice::from_raw_parts(ptr::from_ref(value).cast::<u8>(), size_of::<T>()) }
            .to_vec()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_hands_core_the_linux_layout() {
        assert_eq!(layout(), Layout::LINUX);
        assert_eq!(libc::AF_PACKET, AF_PACKET_LINUX);
        assert_eq!(size_of::<libc::sockaddr_ll>(), SOCKADDR_LL_LEN);
    }

    /// `libc`'s own structures, filled in field by field, read through the
    /// layout core gets: their offsets and family numbers are the ones core
    /// reads.
    #[test]
    #[cfg(target_os = "linux")]
    fn libc_s_own_structures_read_through_core() {
        // SAFETY (each `zeroed`): these structures are integers and arrays
        // of them: all zeroes is a value.
        let mut ll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        ll.sll_family = libc::AF_PACKET as u16;
        ll.sll_ifindex = 7;
        ll.sll_halen = 6;
        ll.sll_addr[..6].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
        // SAFETY: as above.
        let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sin.sin_family = libc::AF_INET as u16;
        sin.sin_addr.s_addr = u32::from_ne_bytes([10, 0, 0, 2]);
        // SAFETY: as above.
        let mut mask: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        mask.sin_family = libc::AF_INET as u16;
        mask.sin_addr.s_addr = u32::from_ne_bytes([255, 255, 240, 0]);
        // SAFETY: as above.
        let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        sin6.sin6_family = libc::AF_INET6 as u16;
        sin6.sin6_addr.s6_addr = "2001:db8::5"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        sin6.sin6_scope_id = 7;
        let flags = (libc::IFF_UP | libc::IFF_RUNNING | libc::IFF_MULTICAST) as u32;
        let entry = |addr: Vec<u8>, netmask: Option<Vec<u8>>| Entry {
            name: b"eth0".to_vec(),
            flags,
            addr: Some(addr),
            netmask,
        };
        let entries = [
            entry(bytes_of(&ll), None),
            entry(bytes_of(&sin), Some(bytes_of(&mask))),
            entry(bytes_of(&sin6), None),
        ];
        struct Mtu;
        impl Lookups for Mtu {
            type Error = io::Error;
            fn index(&mut self, _: &[u8]) -> Option<u32> {
                None
            }
            fn mtu(&mut self, _: &[u8]) -> io::Result<Option<u32>> {
                Ok(Some(1500))
            }
        }
        let s = ifaddrs::assemble(&entries, &layout(), &mut Mtu).unwrap();
        let eth0 = s.by_index(7).unwrap();
        assert_eq!(
            eth0.mac.as_ref().map(ToString::to_string).as_deref(),
            Some("02:00:00:00:00:09")
        );
        let nets: Vec<String> = eth0.addrs.iter().map(|a| a.net.to_string()).collect();
        assert_eq!(nets, ["10.0.0.2/20", "2001:db8::5/128"]);
        use netstate_core::InterfaceFlags as F;
        assert_eq!(eth0.flags, F::UP | F::RUNNING | F::MULTICAST);
    }

    /// A file of `/sys/class/net/lo/` (sysfs, the kernel's own account).
    #[cfg(target_os = "linux")]
    fn loopback_sysfs(file: &str) -> u32 {
        std::fs::read_to_string(format!("/sys/class/net/lo/{file}"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_lookups_answer_what_the_kernel_says_and_none_for_no_interface() {
        let mut os = OsLookups {
            probe: MtuProbe::open().unwrap(),
        };
        assert_eq!(os.index(b"lo"), Some(loopback_sysfs("ifindex")));
        assert_eq!(os.mtu(b"lo").unwrap(), Some(loopback_sysfs("mtu")));
        // No such interface: none, not an error.
        assert_eq!(os.index(b"nsnoif0"), None);
        assert_eq!(os.mtu(b"nsnoif0").unwrap(), None);
        // A name no interface can have: a NUL inside (which the kernel would
        // cut at, reading "lo"), or too long for IFNAMSIZ.
        assert_eq!(os.index(b"lo\0x"), None);
        assert_eq!(os.mtu(b"lo\0x").unwrap(), None);
        assert_eq!(os.mtu(b"lo\0").unwrap(), None);
        assert_eq!(os.index(b"a-name-too-long-for-ifnamsiz"), None);
        assert_eq!(os.mtu(b"a-name-too-long-for-ifnamsiz").unwrap(), None);
    }

    #[test]
    fn the_host_table_reads_without_error() {
        // Whatever the host has: at least it reads, and has a loopback.
        let s = GetifaddrsEnumerator::new().enumerate().unwrap();
        assert!(s.interfaces().iter().any(|i| i.is_loopback()));
        assert!(s.default_routes().v4.is_none() && s.default_routes().v6.is_none());
    }

    /// Lookups that know `eth0` (index 2, MTU 1500) only from the `known`-th
    /// call on (a table changing under the reader), or whose MTU lookup
    /// fails.
    struct Settling {
        calls: u32,
        known: u32,
        mtu_fails: bool,
    }

    impl Lookups for Settling {
        type Error = io::Error;
        fn index(&mut self, _: &[u8]) -> Option<u32> {
            None
        }
        fn mtu(&mut self, name: &[u8]) -> io::Result<Option<u32>> {
            if self.mtu_fails {
                return Err(io::Error::from_raw_os_error(libc::EPERM));
            }
            self.calls += 1;
            Ok((name == b"eth0" && self.calls >= self.known).then_some(1500))
        }
    }

    /// A list with one link-layer entry, `eth0`, index 2 (no address: the
    /// MTU lookup is what can fail).
    fn one_link() -> Vec<Entry> {
        let mut ll = vec![0u8; SOCKADDR_LL_LEN];
        ll[0..2].copy_from_slice(&17u16.to_ne_bytes());
        ll[4..8].copy_from_slice(&2i32.to_ne_bytes());
        vec![Entry {
            name: b"eth0".to_vec(),
            flags: 1,
            addr: Some(ll),
            netmask: None,
        }]
    }

    #[test]
    fn a_table_changing_under_the_reader_is_read_at_most_five_times() {
        // Reads the list until consistent, with interface 2 known to the
        // index lookup from the `known`th call on; says how many reads.
        let read = |known: u32| {
            let mut reads = 0;
            let mut os = Settling {
                calls: 0,
                known,
                mtu_fails: false,
            };
            let result = read_until_consistent(
                || {
                    reads += 1;
                    assert!(reads <= 5, "read more than five times");
                    Ok(one_link())
                },
                &Layout::LINUX,
                &mut os,
            );
            (reads, result)
        };
        // Gone on the first two reads, there on the third.
        let (reads, s) = read(3);
        assert_eq!((reads, s.unwrap().by_index(2).unwrap().mtu), (3, 1500));
        // Gone on every read: five reads, then a transient error.
        let (reads, e) = read(u32::MAX);
        let e = e.unwrap_err();
        assert_eq!(reads, 5);
        assert!(matches!(&e, GetifaddrsError::Vanished { interface } if interface == "eth0"));
        assert!(e.is_transient());
    }

    #[test]
    fn other_failures_end_the_enumeration_at_once() {
        let mut reads = 0;
        let mut os = Settling {
            calls: 0,
            known: 1,
            mtu_fails: true,
        };
        let e = read_until_consistent(
            || {
                reads += 1;
                Ok(one_link())
            },
            &Layout::LINUX,
            &mut os,
        )
        .unwrap_err();
        assert_eq!(reads, 1);
        assert!(matches!(e, GetifaddrsError::Mtu { .. }));
        let mut reads = 0;
        let e = read_until_consistent(
            || {
                reads += 1;
                Err(io::Error::from_raw_os_error(libc::ENOMEM))
            },
            &Layout::LINUX,
            &mut os,
        )
        .unwrap_err();
        assert_eq!(reads, 1);
        assert!(matches!(e, GetifaddrsError::Getifaddrs(_)));
    }

    #[test]
    fn errors_say_what_happened_and_keep_their_cause() {
        use std::error::Error as _;
        let eperm = || io::Error::from_raw_os_error(libc::EPERM);
        let cases = [
            (
                GetifaddrsError::Getifaddrs(eperm()),
                "getifaddrs failed: ",
                true,
            ),
            (
                GetifaddrsError::MtuSocket(eperm()),
                "cannot open a socket to read MTUs: ",
                true,
            ),
            (
                GetifaddrsError::Mtu {
                    interface: "eth0".into(),
                    error: eperm(),
                },
                "cannot read the MTU of eth0: ",
                true,
            ),
            (
                GetifaddrsError::Vanished {
                    interface: "eth0".into(),
                },
                "interface eth0 vanished while the table was read",
                false,
            ),
            (
                GetifaddrsError::Inconsistent(SnapshotError::DuplicateIndex(3)),
                "the interface table changed while it was read: two interfaces have index 3",
                true,
            ),
        ];
        for (e, text, has_source) in cases {
            let shown = e.to_string();
            assert!(shown.starts_with(text), "{shown}");
            assert_eq!(e.source().is_some(), has_source, "{shown}");
            if let Some(source) = e.source() {
                assert!(shown.ends_with(&source.to_string()), "{shown}");
            }
        }
    }

    #[test]
    fn errors_keep_their_kind_and_transience() {
        let vanished = GetifaddrsError::from_assemble(AssembleError::Vanished {
            interface: "eth0".into(),
        });
        assert!(
            matches!(&vanished, GetifaddrsError::Vanished { interface } if interface == "eth0")
        );
        assert!(vanished.is_transient());
        let mtu = GetifaddrsError::from_assemble(AssembleError::Mtu {
            interface: "eth0".into(),
            error: io::Error::from_raw_os_error(libc::EPERM),
        });
        assert!(matches!(&mtu, GetifaddrsError::Mtu { interface, .. } if interface == "eth0"));
        assert!(!mtu.is_transient());
        let inconsistent = GetifaddrsError::from_assemble(AssembleError::Inconsistent(
            SnapshotError::DuplicateIndex(3),
        ));
        assert!(matches!(
            inconsistent,
            GetifaddrsError::Inconsistent(SnapshotError::DuplicateIndex(3))
        ));
        assert!(inconsistent.is_transient());
    }
}
