//! BSD and macOS: the `PF_ROUTE` route-socket reader and the `getifaddrs`
//! backend.
//!
//! ## What runs where
//!
//! All of this module but one call compiles on every Unix, Linux
//! included, so it is tested here:
//!
//! * [`RouteSocketReader`] reads routing-socket messages from any
//!   descriptor without blocking and parses them with
//!   `netstate_core::wire::route_socket::Parser` into hints; it is an
//!   [`EventSource`](crate::EventSource).
//! * [`GetifaddrsBackend`] pairs it with the
//!   [`GetifaddrsEnumerator`](crate::GetifaddrsEnumerator) as a
//!   [`Backend`](crate::Backend) for the [`Engine`](crate::Engine).
//!
//! Only two things depend on the target: [`route_socket_platform`] (which
//! dialect this platform's kernel speaks, a compile-time answer) and the
//! `socket(PF_ROUTE, SOCK_RAW, 0)` call behind `RouteSocketReader::open`
//! and `GetifaddrsBackend::open`, which exist on macOS, iOS and FreeBSD
//! only.
//!
//! ## What has been verified, and where
//!
//! **On a real macOS, iOS or FreeBSD host: nothing, so far.** No message
//! read from a real `PF_ROUTE` socket has gone through this code, no
//! `getifaddrs` list of those systems has been enumerated, and the opening
//! of the socket (its receive buffer, `SO_USELOOPBACK`, message filters)
//! has not been observed. The code for those targets type-checks
//! (`cargo check --target x86_64-apple-darwin`, `aarch64-apple-darwin`,
//! `x86_64-unknown-freebsd`), nothing more.
//!
//! What is verified, on Linux:
//!
//! * the reader over a Linux `AF_UNIX` `SOCK_SEQPACKET` socketpair fed with
//!   byte fixtures laid out from the Darwin and FreeBSD headers
//!   (`sys/tests/route_socket_reader.rs`): several datagrams queued before
//!   one drain are all read until it would block, a truncated or garbage
//!   datagram is counted as malformed and yields an `Unknown` hint,
//!   `RTM_MISS` yields nothing, the peer closing gives
//!   [`SourceRead::Closed`](crate::SourceRead::Closed); and the same
//!   reader under an [`Engine`](crate::Engine) with a scripted backend: a
//!   default-route `RTM_ADD` written to the socketpair makes the engine
//!   enumerate after its debounce and publish the change, and the peer
//!   closing makes it rebind and resync. `ENOBUFS` (reported as
//!   [`SourceRead::Overflow`](crate::SourceRead::Overflow)) is not
//!   exercised: a socketpair never returns it;
//! * the parser itself, on those fixtures and on random bytes
//!   (`core/tests/route_socket.rs`);
//! * the [`GetifaddrsEnumerator`](crate::GetifaddrsEnumerator) against the
//!   netlink enumerator in network namespaces, and a [`GetifaddrsBackend`]
//!   with a socketpair reader under an [`Engine`](crate::Engine) inside a
//!   namespace (`testkit/tests/getifaddrs_linux.rs`): this checks the glibc
//!   `getifaddrs` path, not a BSD `getifaddrs` list; the sockaddr parsing
//!   of both layouts is checked on fixtures in
//!   `netstate_core::wire::ifaddrs` (see the module docs of both);
//! * [`route_socket_platform`]: `None` on Linux (the Darwin and FreeBSD
//!   answers are only type-checked).
//!
//! Still owed on a real host: a capture of its routing socket replayed
//! through the parser, a `getifaddrs` enumeration compared with `ifconfig`
//! and `netstat -rn`, and the silent-loss case that motivated netstate (a
//! socket that stops delivering), which the periodic reconcile is there to
//! heal.
//!
//! ## Future work
//!
//! The default route (an `RTM_GET` for a probe address on the routing
//! socket), address flags (`SIOCGIFAFLAG_IN6`), kernel-side message
//! filtering (`ROUTE_MSGFILTER` on FreeBSD, `RO_MSGFILTER` on macOS) so
//! that `RTM_MISS` storms never wake the process.

mod backend;
pub(crate) mod fd;
mod reader;

pub use backend::GetifaddrsBackend;
pub use reader::RouteSocketReader;

use netstate_core::wire::route_socket::Platform;

/// The routing-socket dialect of the platform this was compiled for, if
/// `netstate_core::wire::route_socket` reads it: [`Platform::Darwin`] on
/// macOS, iOS, tvOS, watchOS and visionOS (little-endian), and
/// [`Platform::FreeBsd`] on 64-bit little-endian FreeBSD; `None` elsewhere
/// (Linux, 32-bit or big-endian FreeBSD, the other BSDs). A compile-time
/// answer: it reads nothing at run time.
#[must_use]
pub const fn route_socket_platform() -> Option<Platform> {
    if cfg!(all(
        target_endian = "little",
        any(
            target_os = "macos",
            target_os = "ios",
            target_os = "tvos",
            target_os = "watchos",
            target_os = "visionos"
        )
    )) {
        Some(Platform::Darwin)
    } else if cfg!(all(
        target_os = "freebsd",
        target_pointer_width = "64",
        target_endian = "little"
    )) {
        Some(Platform::FreeBsd)
    } else {
        None
    }
}
