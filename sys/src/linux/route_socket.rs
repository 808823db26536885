//! The route-monitor socket: netlink `NETLINK_ROUTE`, non-blocking.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use netstate_core::wire::netlink::MONITOR_GROUPS;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{
    bind, recvfrom, socket_with, sockopt, AddressFamily, RecvFlags, SocketFlags, SocketType,
};

use super::bpf::route_filter;
use super::netns::Netns;
use super::sockopt::{add_membership, attach_filter};

/// How to open a [`RouteSocket`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSocketOptions {
    /// The receive buffer asked for (default 4 MiB). Set with
    /// `SO_RCVBUFFORCE` when the process may (root or `CAP_NET_ADMIN`), else
    /// with `SO_RCVBUF` (capped by `net.core.rmem_max`), silently.
    pub recv_buffer: usize,
    /// Drop in the kernel the route messages whose destination prefix is
    /// longer than this (default `Some(1)`, matching the core's filter);
    /// `None` receives them all.
    pub kernel_route_filter: Option<u8>,
}

impl Default for RouteSocketOptions {
    fn default() -> Self {
        RouteSocketOptions {
            recv_buffer: 4 << 20,
            kernel_route_filter: Some(1),
        }
    }
}

/// What one [`RouteSocket::recv`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recv {
    /// A datagram from the kernel, `len` bytes at the start of the buffer.
    Datagram(usize),
    /// A datagram longer than the buffer: its tail was lost. Treat it as an
    /// overflow (resync).
    Truncated,
    /// A datagram from another process (sender port not 0): dropped.
    NotFromKernel,
    /// Nothing queued: wait for readiness.
    WouldBlock,
    /// The socket's buffer overflowed (`ENOBUFS`): messages were lost, the
    /// socket still works. Resync.
    Overflow,
}

/// A non-blocking netlink socket subscribed to link, address, route and
/// rule changes of both families.
///
/// It never sets `NETLINK_NO_ENOBUFS`: losing messages must be visible.
#[derive(Debug)]
pub struct RouteSocket {
    fd: OwnedFd,
}

impl RouteSocket {
    /// Opens it in the caller's network namespace with default options.
    pub fn open() -> io::Result<Self> {
        RouteSocket::open_with(&RouteSocketOptions::default())
    }

    /// Opens it in the caller's network namespace.
    pub fn open_with(options: &RouteSocketOptions) -> io::Result<Self> {
        let fd = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None, // NETLINK_ROUTE
        )?;
        if sockopt::set_socket_recv_buffer_size_force(&fd, options.recv_buffer).is_err() {
            // Not privileged: take what rmem_max allows.
            let _ = sockopt::set_socket_recv_buffer_size(&fd, options.recv_buffer);
        }
        if let Some(max) = options.kernel_route_filter {
            attach_filter(fd.as_fd(), &route_filter(max))?;
        }
        bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        for group in MONITOR_GROUPS {
            add_membership(fd.as_fd(), group)?;
        }
        Ok(RouteSocket { fd })
    }

    /// Opens it inside `netns`.
    pub fn open_in(netns: &Netns, options: &RouteSocketOptions) -> io::Result<Self> {
        netns.run(|| RouteSocket::open_with(options))
    }

    /// Receives one datagram into `buf` without blocking. An error other
    /// than the ones [`Recv`] names means the socket is broken: rebind.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Recv> {
        loop {
            match recvfrom(&self.fd, &mut *buf, RecvFlags::TRUNC | RecvFlags::DONTWAIT) {
                Ok((_, len, from)) => {
                    let from_kernel = from
                        .and_then(|a| SocketAddrNetlink::try_from(a).ok())
                        .is_some_and(|a| a.pid() == 0);
                    return Ok(if !from_kernel {
                        Recv::NotFromKernel
                    } else if len > buf.len() {
                        Recv::Truncated
                    } else {
                        Recv::Datagram(len)
                    });
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => return Ok(Recv::WouldBlock),
                Err(rustix::io::Errno::NOBUFS) => return Ok(Recv::Overflow),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Blocks until a datagram (or an error) is queued or `timeout` passes;
    /// `Ok(true)` when the socket is readable. For blocking callers and
    /// tests; drivers wait on readiness in their own event loop instead.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let ts = Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        loop {
            match poll(&mut fds, Some(&ts)) {
                Ok(n) => return Ok(n > 0),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The socket's netlink port id (what a sender addresses it by).
    pub fn port_id(&self) -> io::Result<u32> {
        let addr = rustix::net::getsockname(&self.fd)?;
        SocketAddrNetlink::try_from(addr)
            .map(|a| a.pid())
            .map_err(|_| io::Error::other("not a netlink socket"))
    }

    /// The receive buffer the kernel granted, in bytes.
    pub fn recv_buffer(&self) -> io::Result<usize> {
        Ok(sockopt::socket_recv_buffer_size(&self.fd)?)
    }
}

impl AsFd for RouteSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for RouteSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{sendto, SendFlags};

    #[test]
    #[ignore = "needs root (sending to another netlink socket): cargo test -- --include-ignored, as root"]
    fn datagrams_from_another_process_are_dropped() {
        let sock = RouteSocket::open().unwrap();
        let sender = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        bind(&sender, &SocketAddrNetlink::new(0, 0)).unwrap();
        // A well-formed RTM_NEWADDR, as a hostile process could forge one.
        let forged =
            netstate_core::wire::netlink::fixtures::addr_msg(20, 2, 24, 0, 1, &[10, 0, 0, 1], None);
        let to = SocketAddrNetlink::new(sock.port_id().unwrap(), 0);
        sendto(&sender, &forged, SendFlags::empty(), &to)
            .expect("sending to another netlink socket (needs root)");
        assert!(sock.wait_readable(Duration::from_secs(5)).unwrap());
        let mut buf = [0u8; 512];
        assert_eq!(sock.recv(&mut buf).unwrap(), Recv::NotFromKernel);
    }
}
