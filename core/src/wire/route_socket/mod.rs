//! BSD and macOS routing-socket (`PF_ROUTE`) messages, parsed into
//! [`RouteEvent`](crate::RouteEvent) hints.
//!
//! ## What this module does not do
//!
//! It opens no socket and reads nothing: the caller receives the bytes
//! (`netstate-sys` does, on the platform itself) and hands them over. It
//! does not decide what the network looks like either: a hint only says
//! "enumerate again", and the enumeration is the truth. It compiles and is
//! tested on every platform, Linux included: the constants and layouts are
//! written out in [`layout`] rather than taken from `libc`.
//!
//! ## Use
//!
//! ```
//! use netstate_core::wire::route_socket::{Parser, Platform};
//!
//! let parser = Parser::new(Platform::Darwin);
//! // An `RTM_MISS`: a 92-byte `rt_msghdr` with no socket addresses.
//! let mut buf = vec![0u8; 92];
//! buf[0] = 92; // rtm_msglen
//! buf[2] = 5; // rtm_version
//! buf[3] = 0x7; // rtm_type
//! let mut hints = Vec::new();
//! let stats = parser.parse(&buf, |event| hints.push(event));
//! assert_eq!((stats.messages, stats.noise), (1, 1));
//! assert!(hints.is_empty()); // each hint would go to `Input::Route(event)`
//! ```
//!
//! [`Parser::parse`] takes a buffer holding one message or several (a
//! routing-socket read returns one; a `sysctl` dump returns many), calls
//! back with each hint and returns [`ParseStats`]. It allocates nothing and
//! never panics. [`Parser::messages`] is the same walk as an iterator that
//! shows each message's fate.
//!
//! ## Platforms and where the layouts come from
//!
//! [`Platform::Darwin`] (macOS, iOS and the other Apple systems) follows
//! xnu's headers: `rt_msghdr` and `rt_metrics` in `bsd/net/route.h`, the
//! private `RTM_GET_SILENT` and `RTM_GET_EXT` in `bsd/net/route_private.h`,
//! `if_msghdr`, `ifa_msghdr`, `ifma_msghdr` and `if_msghdr2` in
//! `bsd/net/if.h`, `if_data` and `if_data64` in `bsd/net/if_var.h`,
//! `AF_INET6` = 30 in `bsd/sys/socket.h`, `sockaddr_dl` in `bsd/net/if_dl.h`,
//! and the socket-address padding (`ROUNDUP32`, and `rt_msg1`'s unpadded
//! last address) in `bsd/net/rtsock.c`. Darwin has no `RTM_IFANNOUNCE`: an
//! interface coming or going shows as `RTM_IFINFO` and address messages.
//!
//! [`Platform::FreeBsd`] follows FreeBSD 11 and later on 64-bit
//! little-endian machines: `rt_msghdr`, `rt_metrics` and `SA_SIZE` in
//! `sys/net/route.h`; `if_msghdr`, the fixed-size `if_data`, `ifa_msghdr`,
//! `ifma_msghdr`, `if_announcemsghdr` and `IFAN_*` in `sys/net/if.h`;
//! `AF_INET6` = 28 in `sys/sys/socket.h`. 32-bit FreeBSD (4-byte `u_long`),
//! big-endian machines, OpenBSD, NetBSD and DragonFly use other layouts and
//! are not covered.
//!
//! The structure sizes were computed from those declarations and agree with
//! the ones `golang.org/x/net/route` generates with cgo (Darwin: 92, 112,
//! 160, 20 and 16 bytes; FreeBSD 11: `if_msghdr` 168, `ifa_msghdr` 20,
//! `ifma_msghdr` 16, `if_announcemsghdr` 24).
//!
//! ## What has been verified, and where
//!
//! **Nothing here has been run against a real macOS, iOS or FreeBSD kernel
//! yet.** What is verified, on Linux, is this parser against byte fixtures
//! laid out field by field in `core/tests/route_socket.rs` from the
//! structures named above (every message type, both platforms, truncated,
//! oversized, wrong-version and zero-length messages, several messages in one
//! buffer), and against random and mutated buffers for panics and
//! termination. A capture from a real host, replayed through
//! [`Parser::messages`], is the check still owed.
//!
//! ## Noise: messages dropped before they become hints
//!
//! A hint starts a debounce and, soon, an enumeration; a message that cannot
//! change the interface table or the default route should start neither.
//! These are counted in [`ParseStats::noise`] and dropped ([`Noise`] says
//! which):
//!
//! * `RTM_MISS`: a route lookup found nothing. Nothing changed, and recent
//!   macOS sends it for ordinary traffic: in one field report it was 1,138
//!   of 1,142 route messages, and it drove a peer's re-enumeration loop at
//!   40 times its intended rate (n0-computer/net-tools pull request 215,
//!   tailscale pull request 20050).
//! * `RTM_LOSING`: a transport protocol suspects a route; nothing changed.
//! * `RTM_NEWMADDR`, `RTM_DELMADDR` (and Darwin's `RTM_NEWMADDR2`):
//!   multicast group membership, which a snapshot does not hold.
//! * `RTM_GET` (and Darwin's `RTM_GET2`, `RTM_GET_SILENT`, `RTM_GET_EXT`):
//!   the reply to someone's lookup, seen by every listener.
//! * `RTM_RESOLVE`: a request to resolve a neighbour's link-layer address.
//! * `RTM_LOCK`: a route's metrics were locked; no route changed.
//! * FreeBSD's `RTM_IEEE80211`: a wireless scan or association event; the
//!   link and address changes it leads to arrive as their own messages.
//! * A route message with a non-zero `rtm_errno`: a failed request the
//!   kernel echoes to every listener; the table did not change.
//! * A route message whose destination prefix is longer than
//!   [`Parser::route_prefix_limit`] (1 by default, as in
//!   [`Filter`]): host routes, neighbour-cache entries,
//!   subnet routes. A route with `RTF_HOST` counts as `/32` or `/128`.
//!   Prefixes 0 (the default route) and 1 (OpenVPN's `0.0.0.0/1` and
//!   `128.0.0.0/1`) stay hints. The prefix comes from the netmask's bytes
//!   as present (the kernel trims trailing zero bytes, a default route's
//!   netmask may have no bytes at all, and its family is often 0). A route
//!   without a destination, with a non-IP destination, or without a netmask
//!   and without `RTF_HOST` has no known prefix and stays a hint.
//!
//! Everything else is a hint: `RTM_ADD`, `RTM_CHANGE`, `RTM_REDIRECT` and
//! Darwin's `RTM_OLDADD` as [`RouteNew`](crate::RouteEventKind::RouteNew);
//! `RTM_DELETE` and `RTM_OLDDEL` as [`RouteDel`](crate::RouteEventKind::RouteDel);
//! `RTM_IFINFO` (and Darwin's `RTM_IFINFO2`) as
//! [`LinkNew`](crate::RouteEventKind::LinkNew) with the interface index;
//! `RTM_NEWADDR` and `RTM_DELADDR` as [`AddrNew`](crate::RouteEventKind::AddrNew)
//! and [`AddrDel`](crate::RouteEventKind::AddrDel) with the index, the address's
//! family and the interface name from its link-layer address; FreeBSD's
//! `RTM_IFANNOUNCE` as `LinkNew` (arrival) or
//! [`LinkDel`](crate::RouteEventKind::LinkDel) (departure) with index and name. A
//! type this parser does not know becomes an
//! [`Unknown`](crate::RouteEventKind::Unknown) hint. An index of 0 means none.
//! Routing sockets carry no table number, so `table` is always `None`.
//!
//! ## Bad input
//!
//! A message that cannot be read is a [`MessageError`]: skipped, counted
//! ([`ParseStats::malformed`], [`ParseStats::wrong_version`]) and, in
//! [`Parser::parse`], turned into one [`Unknown`](crate::RouteEventKind::Unknown)
//! hint, because the lost message may have been a real change: the monitor
//! lives on and re-enumerates. A length that makes the next message
//! impossible to find (0, below 4, or past the end of the buffer) ends the
//! buffer instead of looping.
//!
//! ## macOS's internal interfaces
//!
//! [`darwin_internal_interfaces`] is a [`Filter`] ignoring the interfaces
//! macOS keeps for itself (AirDrop's `awdl`, `llw`, `anpi`, `XHC`, `ap`). It
//! is opt-in: pass it to the configuration yourself.
//! [`DARWIN_TUNNEL_PREFIXES`] lists the tunnel interfaces (`utun`, `ipsec`,
//! `gif`, `stf`) that it leaves alone, because they also carry the user's VPN.

// Byte builders for tests (here and in netstate-sys): not part of the API.
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod layout;
mod parse;
mod sockaddr;

pub use parse::{Message, MessageError, Messages, Noise, ParseStats, Parser};

use crate::filter::Filter;
use layout::Layout;

/// A routing-socket dialect: which structure layouts, constants and
/// socket-address alignment the bytes follow.
///
/// This crate never asks which platform it was compiled for (every
/// `cfg(target_os)` lives in `netstate-sys`): the caller names the dialect,
/// and `netstate_sys::route_socket_platform()` gives the one of the running
/// platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// macOS, iOS, tvOS, watchOS and visionOS (xnu).
    Darwin,
    /// FreeBSD 11 and later, 64-bit little-endian (amd64, arm64).
    FreeBsd,
}

impl Platform {
    const fn layout(self) -> &'static Layout {
        match self {
            Platform::Darwin => &layout::DARWIN,
            Platform::FreeBsd => &layout::FREEBSD,
        }
    }
}

/// Name prefixes of the interfaces macOS keeps for itself, which carry none
/// of the user's traffic to the internet: `awdl` (Apple Wireless Direct
/// Link: AirDrop, AirPlay, Sidecar), `llw` (its low-latency companion),
/// `anpi` (Apple silicon's internal network ports), `XHC` (USB controller
/// packet capture) and `ap` (the Wi-Fi access-point interface of Instant
/// Hotspot). They come and go, and change addresses, on their own.
pub const DARWIN_INTERNAL_PREFIXES: &[&str] = &["awdl", "llw", "anpi", "XHC", "ap"];

/// Name prefixes of macOS's tunnel interfaces: `utun` (system services such
/// as iCloud Private Relay, and most VPNs, WireGuard and Tailscale
/// included), `ipsec` (IKEv2 and IPsec VPNs), `gif` and `stf` (configured
/// IPv4/IPv6 tunnels). [`darwin_internal_interfaces`] leaves them in: they
/// may carry the user's own traffic.
pub const DARWIN_TUNNEL_PREFIXES: &[&str] = &["utun", "ipsec", "gif", "stf"];

/// A [`Filter`] ignoring macOS's internal interfaces
/// ([`DARWIN_INTERNAL_PREFIXES`]), acting on routes of prefix length 0 and 1.
///
/// It is **off by default**: the core's default configuration is the same
/// on every platform and ignores nothing, and a monitor that must see every
/// interface (a diagnostic tool, say) should. Pass it to the configuration
/// to stop these interfaces from causing enumerations and publications.
/// Bridges (`bridge0` for Thunderbolt Bridge, `bridge100` and up for
/// Internet Sharing and virtual machines) are not ignored either: they carry
/// user traffic. To ignore the tunnels too, when the user's VPN does not
/// matter to you:
///
/// ```
/// use netstate_core::wire::route_socket::{darwin_internal_interfaces, DARWIN_TUNNEL_PREFIXES};
///
/// let filter = DARWIN_TUNNEL_PREFIXES
///     .iter()
///     .fold(darwin_internal_interfaces(), |f, p| f.ignore_prefix(*p));
/// assert!(filter.ignores(b"awdl0") && filter.ignores(b"utun3"));
/// assert!(!filter.ignores(b"en0"));
/// ```
///
/// A default route through an ignored interface is still the default route:
/// the filter never drops route hints by interface.
#[must_use]
pub fn darwin_internal_interfaces() -> Filter {
    DARWIN_INTERNAL_PREFIXES
        .iter()
        .fold(Filter::new(), |f, p| f.ignore_prefix(*p))
}
