//! The socket options rustix does not wrap: netlink group membership and
//! classic BPF socket filters. The only `unsafe` of the Linux layer.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `SOL_NETLINK`.
const SOL_NETLINK: libc::c_int = 270;
/// `NETLINK_ADD_MEMBERSHIP`.
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
/// `NETLINK_DROP_MEMBERSHIP`.
#[cfg(feature = "test-support")]
const NETLINK_DROP_MEMBERSHIP: libc::c_int = 2;

fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is a valid open descriptor for the duration of the call
    // (borrowed), `value` points to `len` readable bytes of a `T` that lives
    // across the call, and the kernel only reads them.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `NETLINK_GET_STRICT_CHK`.
const NETLINK_GET_STRICT_CHK: libc::c_int = 12;

/// Asks the kernel to check dump requests strictly and to honour their
/// filters (an address dump for one interface index). Linux 4.20 and later;
/// older kernels refuse it with `ENOPROTOOPT`.
pub(crate) fn enable_strict_check(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on)
}

/// Joins netlink multicast group `group` (an `RTNLGRP_*` number).
pub(crate) fn add_membership(fd: BorrowedFd<'_>, group: u32) -> io::Result<()> {
    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group)
}

/// Leaves netlink multicast group `group`.
#[cfg(feature = "test-support")]
pub(crate) fn drop_membership(fd: BorrowedFd<'_>, group: u32) -> io::Result<()> {
    setsockopt(fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &group)
}

/// Attaches a classic BPF program as the socket's receive filter.
pub(crate) fn attach_filter(fd: BorrowedFd<'_>, program: &[libc::sock_filter]) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: u16::try_from(program.len())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        // The kernel copies the program during the call and never writes it.
        filter: program.as_ptr().cast_mut(),
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
}
