//! (feature `test-support`) Fault injection from outside a library's own code, for the benchmarks
//! that compare netstate with other monitors (`bench/`): make a netlink
//! route socket stop delivering multicast notifications without any error,
//! the way a route socket can go quiet in the field.

use std::io;
use std::os::fd::BorrowedFd;

use netstate_core::wire::netlink::MONITOR_GROUPS;

use super::sockopt::drop_membership;

/// Leaves every netlink multicast group a route monitor may have joined on
/// the `NETLINK_ROUTE` socket `fd`: netstate's [`MONITOR_GROUPS`] (link 1,
/// IPv4 and IPv6 addresses 5 and 9, routes 7 and 11, rules 8 and 19), which
/// include every group `netwatch` 0.20 (5, 7, 8, 9, 11, 19) and `if-watch`
/// 3.2 (5, 9) join. The socket stays open and readable, but the kernel no
/// longer sends it notifications and its owner gets no error.
///
/// Only for tests and benchmarks. Leaving a group the socket is not in is
/// not an error.
///
/// # Errors
/// The `setsockopt` error, for example `ENOTSOCK` or `ENOPROTOOPT` when `fd`
/// is not a netlink socket.
pub fn drop_netlink_memberships(fd: BorrowedFd<'_>) -> io::Result<()> {
    for group in MONITOR_GROUPS {
        drop_membership(fd, group)?;
    }
    Ok(())
}
