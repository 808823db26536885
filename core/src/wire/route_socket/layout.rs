//! The routing socket's constants and structure layouts, written out from the
//! kernels' headers rather than taken from `libc`, so they compile and are
//! tested on every platform.
//!
//! Every multi-byte header field is little-endian: all the targets this
//! module supports (x86_64 and arm64 for Darwin, amd64 and arm64 for
//! FreeBSD) are. The offsets below are the same on Darwin and FreeBSD; the
//! structure sizes, `AF_INET6`, some message types and the socket-address
//! alignment differ and live in [`darwin`] and [`freebsd`].

// Message types with the same value on Darwin and FreeBSD (`net/route.h`).

/// `RTM_ADD`: a route was added (`rt_msghdr`).
pub const RTM_ADD: u8 = 0x1;
/// `RTM_DELETE`: a route was deleted (`rt_msghdr`).
pub const RTM_DELETE: u8 = 0x2;
/// `RTM_CHANGE`: a route's gateway, interface, metrics or flags changed (`rt_msghdr`).
pub const RTM_CHANGE: u8 = 0x3;
/// `RTM_GET`: the reply to a route lookup (`rt_msghdr`).
pub const RTM_GET: u8 = 0x4;
/// `RTM_LOSING`: a transport protocol suspects the route is failing (`rt_msghdr`).
pub const RTM_LOSING: u8 = 0x5;
/// `RTM_REDIRECT`: an ICMP redirect told the host to use another gateway (`rt_msghdr`).
pub const RTM_REDIRECT: u8 = 0x6;
/// `RTM_MISS`: a route lookup found nothing (`rt_msghdr`).
pub const RTM_MISS: u8 = 0x7;
/// `RTM_LOCK`: a route's metrics were locked (`rt_msghdr`).
pub const RTM_LOCK: u8 = 0x8;
/// `RTM_RESOLVE`: a request to resolve a destination to a link-layer address (`rt_msghdr`).
pub const RTM_RESOLVE: u8 = 0xb;
/// `RTM_NEWADDR`: an address was added to an interface (`ifa_msghdr`).
pub const RTM_NEWADDR: u8 = 0xc;
/// `RTM_DELADDR`: an address was removed from an interface (`ifa_msghdr`).
pub const RTM_DELADDR: u8 = 0xd;
/// `RTM_IFINFO`: an interface's flags or link state changed (`if_msghdr`).
pub const RTM_IFINFO: u8 = 0xe;
/// `RTM_NEWMADDR`: an interface joined a multicast group (`ifma_msghdr`).
pub const RTM_NEWMADDR: u8 = 0xf;
/// `RTM_DELMADDR`: an interface left a multicast group (`ifma_msghdr`).
pub const RTM_DELMADDR: u8 = 0x10;

// `rtm_addrs` bits and their indices (`net/route.h`, same on both).

/// `RTA_DST`: a destination socket address follows.
pub const RTA_DST: u32 = 0x1;
/// `RTA_GATEWAY`: a gateway socket address follows.
pub const RTA_GATEWAY: u32 = 0x2;
/// `RTA_NETMASK`: a netmask socket address follows.
pub const RTA_NETMASK: u32 = 0x4;
/// `RTA_GENMASK`: a cloning mask socket address follows.
pub const RTA_GENMASK: u32 = 0x8;
/// `RTA_IFP`: the interface's link-layer socket address (`sockaddr_dl`, with its name) follows.
pub const RTA_IFP: u32 = 0x10;
/// `RTA_IFA`: the interface address follows.
pub const RTA_IFA: u32 = 0x20;
/// `RTA_AUTHOR`: the author of a redirect follows.
pub const RTA_AUTHOR: u32 = 0x40;
/// `RTA_BRD`: a broadcast or point-to-point destination address follows.
pub const RTA_BRD: u32 = 0x80;
/// `RTAX_DST`: index of the destination among the socket addresses.
pub const RTAX_DST: usize = 0;
/// `RTAX_GATEWAY`: index of the gateway.
pub const RTAX_GATEWAY: usize = 1;
/// `RTAX_NETMASK`: index of the netmask.
pub const RTAX_NETMASK: usize = 2;
/// `RTAX_GENMASK`: index of the cloning mask.
pub const RTAX_GENMASK: usize = 3;
/// `RTAX_IFP`: index of the interface's link-layer address.
pub const RTAX_IFP: usize = 4;
/// `RTAX_IFA`: index of the interface address.
pub const RTAX_IFA: usize = 5;
/// `RTAX_AUTHOR`: index of the redirect's author.
pub const RTAX_AUTHOR: usize = 6;
/// `RTAX_BRD`: index of the broadcast or point-to-point address.
pub const RTAX_BRD: usize = 7;
/// `RTAX_MAX`: the number of socket-address slots. Socket addresses follow
/// the header in the order of their bit, lowest first.
pub const RTAX_MAX: usize = 8;

// `rtm_flags` bits read by the parser (`net/route.h`, same on both).

/// `RTF_UP`: the route is usable.
pub const RTF_UP: u32 = 0x1;
/// `RTF_GATEWAY`: the destination is reached through a gateway.
pub const RTF_GATEWAY: u32 = 0x2;
/// `RTF_HOST`: a host route (no netmask: the prefix is the full address length).
pub const RTF_HOST: u32 = 0x4;
/// `RTF_DONE`: the kernel completed the request this message reports.
pub const RTF_DONE: u32 = 0x40;

// Address families with the same value on both (`sys/socket.h`).

/// `AF_UNSPEC`; netmasks often carry it.
pub const AF_UNSPEC: u8 = 0;
/// `AF_INET`.
pub const AF_INET: u8 = 2;
/// `AF_LINK`: a link-layer `sockaddr_dl`.
pub const AF_LINK: u8 = 18;

// Offsets in the headers, the same on Darwin and FreeBSD.

/// Every message starts with `msglen: u16`, `version: u8`, `type: u8`.
pub const COMMON_HEADER_LEN: usize = 4;
/// Offset of the message length (`u16`), in every header.
pub const MSGLEN_OFFSET: usize = 0;
/// Offset of the version byte, in every header.
pub const VERSION_OFFSET: usize = 2;
/// Offset of the type byte, in every header.
pub const TYPE_OFFSET: usize = 3;
/// `rt_msghdr.rtm_index` (`u16`).
pub const RTM_INDEX_OFFSET: usize = 4;
/// `rt_msghdr.rtm_flags` (`int`).
pub const RTM_FLAGS_OFFSET: usize = 8;
/// `rt_msghdr.rtm_addrs` (`int`).
pub const RTM_ADDRS_OFFSET: usize = 12;
/// `rt_msghdr.rtm_errno` (`int`).
pub const RTM_ERRNO_OFFSET: usize = 24;
/// `if_msghdr.ifm_addrs` (`int`); also `ifa_msghdr.ifam_addrs` and `ifma_msghdr.ifmam_addrs`.
pub const IFM_ADDRS_OFFSET: usize = 4;
/// `if_msghdr.ifm_flags` (`int`); also `ifam_flags` and `ifmam_flags`.
pub const IFM_FLAGS_OFFSET: usize = 8;
/// `if_msghdr.ifm_index` (`u16`); also `ifam_index` and `ifmam_index`.
pub const IFM_INDEX_OFFSET: usize = 12;
/// `if_announcemsghdr.ifan_index` (`u16`, FreeBSD).
pub const IFAN_INDEX_OFFSET: usize = 4;
/// `if_announcemsghdr.ifan_name` (`char[IFNAMSIZ]`, FreeBSD).
pub const IFAN_NAME_OFFSET: usize = 6;
/// `IFNAMSIZ`: the size of a name field, terminating NUL included.
pub const IFNAMSIZ: usize = 16;
/// `if_announcemsghdr.ifan_what` (`u16`, FreeBSD).
pub const IFAN_WHAT_OFFSET: usize = 22;

// Offsets in the socket addresses (`netinet/in.h`, `netinet6/in6.h`, `net/if_dl.h`).

/// Offset of `sa_len` in every socket address.
pub const SA_LEN_OFFSET: usize = 0;
/// Offset of `sa_family` in every socket address.
pub const SA_FAMILY_OFFSET: usize = 1;
/// `sockaddr_in.sin_addr` (4 bytes).
pub const SIN_ADDR_OFFSET: usize = crate::wire::sockaddr::SIN_ADDR_OFFSET;
/// `sockaddr_in6.sin6_addr` (16 bytes).
pub const SIN6_ADDR_OFFSET: usize = crate::wire::sockaddr::SIN6_ADDR_OFFSET;
/// `sockaddr_dl.sdl_nlen`: the length of the name at [`SDL_DATA_OFFSET`].
pub const SDL_NLEN_OFFSET: usize = crate::wire::sockaddr::SDL_NLEN_OFFSET;
/// `sockaddr_dl.sdl_data`: the interface name, then the link-layer address.
pub const SDL_DATA_OFFSET: usize = crate::wire::sockaddr::SDL_DATA_OFFSET;

/// Darwin (macOS, iOS and the other Apple systems): xnu's `bsd/net/route.h`,
/// `bsd/net/route_private.h`, `bsd/net/if.h`, `bsd/net/if_var.h`,
/// `bsd/sys/socket.h` and `bsd/net/rtsock.c`. The structures use fixed-size
/// fields, so the layout is the same for 32- and 64-bit processes.
pub mod darwin {
    /// `RTM_VERSION`.
    pub const RTM_VERSION: u8 = 5;
    /// `AF_INET6`.
    pub const AF_INET6: u8 = 30;
    /// `RTM_OLDADD`: a route added by the obsolete `SIOCADDRT` (`rt_msghdr`).
    pub const RTM_OLDADD: u8 = 0x9;
    /// `RTM_OLDDEL`: a route deleted by the obsolete `SIOCDELRT` (`rt_msghdr`).
    pub const RTM_OLDDEL: u8 = 0xa;
    /// `RTM_GET_SILENT` (private): a lookup whose reply goes only to the asker.
    pub const RTM_GET_SILENT: u8 = 0x11;
    /// `RTM_IFINFO2`: interface information with 64-bit counters (`if_msghdr2`, sysctl dumps).
    pub const RTM_IFINFO2: u8 = 0x12;
    /// `RTM_NEWMADDR2`: multicast membership with a reference count (`ifma_msghdr2`, sysctl dumps).
    pub const RTM_NEWMADDR2: u8 = 0x13;
    /// `RTM_GET2`: a route with its reference count (`rt_msghdr2`, sysctl dumps).
    pub const RTM_GET2: u8 = 0x14;
    /// `RTM_GET_EXT` (private): a route lookup reply with reachability information.
    pub const RTM_GET_EXT: u8 = 0x15;
    /// `sizeof(struct rt_msghdr)`: 36 bytes of fields and a 56-byte `rt_metrics`
    /// of fourteen `u_int32_t`.
    pub const RT_MSGHDR_LEN: usize = 92;
    /// `sizeof(struct if_msghdr)`: 16 bytes of fields and a 96-byte `if_data`
    /// (32-bit counters, `#pragma pack(4)`).
    pub const IF_MSGHDR_LEN: usize = 112;
    /// `sizeof(struct if_msghdr2)`: 32 bytes of fields and a 128-byte `if_data64`.
    pub const IF_MSGHDR2_LEN: usize = 160;
    /// `sizeof(struct ifa_msghdr)`.
    pub const IFA_MSGHDR_LEN: usize = 20;
    /// `sizeof(struct ifma_msghdr)`.
    pub const IFMA_MSGHDR_LEN: usize = 16;
    /// Socket addresses are padded to a multiple of `sizeof(uint32_t)`, and a
    /// zero-length one takes 4 bytes (`ROUNDUP32` in `rtsock.c`). The kernel's
    /// `rt_msg1` counts the last socket address without its padding, so a
    /// message may end inside that padding, or where a trailing zero-length
    /// address would start.
    pub const SOCKADDR_ALIGN: usize = 4;
}

/// FreeBSD 11 and later on 64-bit little-endian machines (amd64, arm64):
/// `sys/net/route.h`, `sys/net/if.h`, `sys/sys/socket.h`. Their `u_long`
/// fields are 8 bytes; 32-bit FreeBSD lays them out differently and is not
/// covered.
pub mod freebsd {
    /// `RTM_VERSION`.
    pub const RTM_VERSION: u8 = 5;
    /// `AF_INET6`.
    pub const AF_INET6: u8 = 28;
    /// `RTM_IFANNOUNCE`: an interface arrived or departed (`if_announcemsghdr`).
    pub const RTM_IFANNOUNCE: u8 = 0x11;
    /// `RTM_IEEE80211`: an 802.11 event (`if_announcemsghdr` and a payload).
    pub const RTM_IEEE80211: u8 = 0x12;
    /// `IFAN_ARRIVAL`: `ifan_what` of an interface that appeared.
    pub const IFAN_ARRIVAL: u16 = 0;
    /// `IFAN_DEPARTURE`: `ifan_what` of an interface that went away.
    pub const IFAN_DEPARTURE: u16 = 1;
    /// `sizeof(struct rt_msghdr)`: 40 bytes of fields (`rtm_inits` is a
    /// `u_long`) and a 112-byte `rt_metrics` of fourteen `u_long`.
    pub const RT_MSGHDR_LEN: usize = 152;
    /// `sizeof(struct if_msghdr)`: 16 bytes of fields and the fixed 152-byte
    /// `if_data` of FreeBSD 11 and later.
    pub const IF_MSGHDR_LEN: usize = 168;
    /// `sizeof(struct ifa_msghdr)`.
    pub const IFA_MSGHDR_LEN: usize = 20;
    /// `sizeof(struct ifma_msghdr)`.
    pub const IFMA_MSGHDR_LEN: usize = 16;
    /// `sizeof(struct if_announcemsghdr)`.
    pub const IF_ANNOUNCEMSGHDR_LEN: usize = 24;
    /// Socket addresses are padded to a multiple of `sizeof(long)`, and a
    /// zero-length one takes 8 bytes (`SA_SIZE` in `net/route.h`).
    pub const SOCKADDR_ALIGN: usize = 8;
}

/// What the parser needs to know about one platform's layout.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    pub(super) version: u8,
    pub(super) af_inet6: u8,
    pub(super) sockaddr_align: usize,
    pub(super) rt_msghdr_len: usize,
    pub(super) if_msghdr_len: usize,
    pub(super) ifa_msghdr_len: usize,
    /// Whether a message may stop before a trailing socket address's padding
    /// or before a trailing zero-length socket address (Darwin's `rt_msg1`).
    pub(super) short_tail: bool,
}

pub(super) const DARWIN: Layout = Layout {
    version: darwin::RTM_VERSION,
    af_inet6: darwin::AF_INET6,
    sockaddr_align: darwin::SOCKADDR_ALIGN,
    rt_msghdr_len: darwin::RT_MSGHDR_LEN,
    if_msghdr_len: darwin::IF_MSGHDR_LEN,
    ifa_msghdr_len: darwin::IFA_MSGHDR_LEN,
    short_tail: true,
};

pub(super) const FREEBSD: Layout = Layout {
    version: freebsd::RTM_VERSION,
    af_inet6: freebsd::AF_INET6,
    sockaddr_align: freebsd::SOCKADDR_ALIGN,
    rt_msghdr_len: freebsd::RT_MSGHDR_LEN,
    if_msghdr_len: freebsd::IF_MSGHDR_LEN,
    ifa_msghdr_len: freebsd::IFA_MSGHDR_LEN,
    short_tail: false,
};
