//! Opening the `PF_ROUTE` socket: compiled only where it exists (macOS,
//! iOS, FreeBSD).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use netstate_core::wire::route_socket::Parser;

use super::super::{fd, route_socket_platform};
use super::RouteSocketReader;

/// The receive buffer asked for (best effort: the kernel may cap it).
const RECV_BUFFER: libc::c_int = 1 << 20;

impl RouteSocketReader {
    /// Opens a `PF_ROUTE` socket (every address family), non-blocking
    /// and close-on-exec, with a 1 MiB receive buffer where the system
    /// allows, reading this platform's messages
    /// ([`route_socket_platform`]). Fails with
    /// [`io::ErrorKind::Unsupported`] on a platform whose layout the
    /// parser does not know (32-bit or big-endian FreeBSD).
    ///
    /// Not verified on a real host yet.
    pub fn open() -> io::Result<Self> {
        let platform = route_socket_platform().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "this platform's routing-socket layout is not known to netstate",
            )
        })?;
        let fd: OwnedFd = fd::socket(libc::PF_ROUTE, libc::SOCK_RAW, libc::AF_UNSPEC)?;
        let size = RECV_BUFFER;
        // SAFETY: SO_RCVBUF reads one int, which lives for the call; the
        // descriptor is open. Failure only leaves the default size.
        let _ = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                std::ptr::addr_of!(size).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        RouteSocketReader::new(fd, Parser::new(platform))
    }
}
