//! Pure parsers (and, for netlink, request builders) for what the kernel
//! hands over: route-monitor messages, enumeration replies and the
//! `getifaddrs(3)` list. They compile and are tested on every platform.
//!
//! * [`netlink`]: Linux's `NETLINK_ROUTE` monitor datagrams and enumeration.
//! * [`route_socket`]: BSD and macOS routing-socket (`PF_ROUTE`) messages.
//! * [`ifaddrs`]: the entries of a `getifaddrs` list (BSD, macOS, and Linux
//!   for tests) into a `Snapshot`.
//!
//! The last two read the same socket addresses (`sockaddr_in`,
//! `sockaddr_in6`) and share one netmask-to-prefix-length rule.

pub mod ifaddrs;
pub mod netlink;
pub mod route_socket;
mod sockaddr;
