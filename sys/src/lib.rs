//! # netstate-sys
//!
//! The operating-system side of netstate: the route-monitor socket, the
//! enumeration of the interface table, the clock that counts suspended time,
//! and (Linux) network namespaces.
//!
//! ## What this crate does not do
//!
//! It owns no thread and no runtime and decides nothing: sockets are opened
//! non-blocking and read when the caller (a driver) says they are ready;
//! what a message means and when to enumerate is `netstate-core`'s
//! business. It is the only netstate crate with `unsafe` or
//! `cfg(target_os)`; every `unsafe` block says what it relies on.
//!
//! ## Linux
//!
//! * [`RouteSocket`]: a non-blocking `NETLINK_ROUTE` socket joined to the
//!   link, address, route and rule groups, with a large receive buffer and an
//!   in-kernel filter that drops route messages that cannot change the
//!   default route; overflow (`ENOBUFS`) is reported apart from errors, and
//!   datagrams not sent by the kernel are dropped.
//! * [`NetlinkBackend`]: the route socket plus a non-blocking dump socket
//!   over which each enumeration is a conversation
//!   (`netstate_core::wire::netlink::conversation`) read a few datagrams per
//!   loop turn.
//! * [`Enumerator`]: the same conversation over a blocking socket, for
//!   one-off reads.
//! * [`Netns`]: open either inside a network namespace.
//!
//! ## BSD and macOS (not yet verified on a real host)
//!
//! * `RouteSocketReader`: a `PF_ROUTE` socket (or any descriptor carrying
//!   routing-socket messages, such as a test's socketpair) read into hints
//!   with `netstate_core::wire::route_socket`.
//! * `GetifaddrsEnumerator` / `GetifaddrsBackend`: the interface table from
//!   `getifaddrs` (it also runs on Linux, where it is tested against netlink);
//!   it has no default route and no address flags.
//!
//! ## Everywhere
//!
//! * [`Engine`]: the loop body every driver runs, behind one readiness
//!   descriptor (a `polling::Poller`); [`MonitorBuilder`] builds it.
//! * [`Handle`]: what every driver's monitor offers its users (state,
//!   race-free subscribe, forced check, counters, stop).
//! * [`Backend`] / [`EventSource`]: what the engine reads, non-blocking;
//!   tests wrap them to inject faults (no test switch lives here).
//! * [`sleep_clock()`] reads the clock that keeps counting while the host
//!   sleeps, beside the one `Instant` uses (`CLOCK_BOOTTIME` on Linux,
//!   `CLOCK_MONOTONIC_RAW` on macOS; see its docs for each platform).
#![warn(missing_docs, unreachable_pub)]

mod backend;
#[cfg(unix)]
mod bsd;
mod check;
mod clock;
mod engine;
mod error;
pub mod fanout;
#[cfg(unix)]
mod getifaddrs;
mod handle;
#[cfg(target_os = "linux")]
mod linux;
mod log;
mod readiness;
#[cfg(test)]
mod test_waker;

pub use backend::{
    Backend, EnumerateFailure, EnumerationCounters, EnumerationPoll, EventSource, SourceRead,
};
#[cfg(unix)]
pub use bsd::{route_socket_platform, GetifaddrsBackend, RouteSocketReader};
pub use check::{Check, CheckError, CheckOutcome, CheckResult};
pub use clock::sleep_clock;
pub use engine::{Engine, MonitorBuilder, Recorder, Woken, MAX_DATAGRAMS_PER_WAKE};
pub use error::StartError;
#[cfg(unix)]
pub use getifaddrs::{GetifaddrsEnumerator, GetifaddrsError};
pub use handle::{Handle, MonitorStats};
#[cfg(target_os = "linux")]
pub use linux::*;

/// The backend for this operating system, in the caller's network
/// namespace: netlink on Linux; `getifaddrs` with a `PF_ROUTE` socket on
/// macOS, iOS and FreeBSD (not yet verified on a real host). Other systems
/// answer `Unsupported`.
pub fn default_backend() -> std::io::Result<Box<dyn Backend>> {
    #[cfg(target_os = "linux")]
    {
        Ok(Box::new(NetlinkBackend::open()?))
    }
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    {
        Ok(Box::new(GetifaddrsBackend::open()))
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))]
    {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "netstate has no backend for this operating system yet",
        ))
    }
}
