//! Reading the whole interface table: link and address dumps plus one route
//! lookup per family, over the enumerator's own netlink socket.
//!
//! The route lookups (`RTM_GETROUTE` towards a probe address, as `ip route
//! get` does) make the cost independent of the routing table's size; see
//! `netstate_core::wire::netlink::requests` for why. A dump the kernel marks
//! interrupted, or replies that mix two states, start the enumeration again
//! (a few times) rather than give a snapshot that never existed.
//!
//! The socket is blocking with a receive timeout: the kernel answers a dump
//! request while it is being sent, so a receive only waits when the kernel
//! is busy; the timeout keeps a lost reply from hanging the caller.

use core::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use netstate_core::wire::netlink::dump::{DumpError, Progress, SnapshotCollector, Stage};
use netstate_core::wire::netlink::requests::{addr_dump, link_dump, route_get, PROBE_V4, PROBE_V6};
use netstate_core::Snapshot;
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{
    bind, recvfrom, send, socket_with, sockopt, AddressFamily, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};

use super::netns::Netns;

/// How many times an interrupted or inconsistent enumeration is started
/// again before giving up.
const ATTEMPTS: u32 = 5;
/// The longest a reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an enumeration failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum EnumerateError {
    /// The socket failed (the namespace may be gone, or the process may not
    /// open netlink sockets).
    Io(io::Error),
    /// The kernel's replies could not be used, even after starting again.
    Dump(DumpError),
    /// The kernel did not answer within the reply timeout.
    Timeout,
}

impl fmt::Display for EnumerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnumerateError::Io(e) => write!(f, "netlink enumeration failed: {e}"),
            EnumerateError::Dump(e) => write!(f, "{e}"),
            EnumerateError::Timeout => f.write_str("the kernel did not answer the netlink request"),
        }
    }
}

impl std::error::Error for EnumerateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EnumerateError::Io(e) => Some(e),
            EnumerateError::Dump(e) => Some(e),
            EnumerateError::Timeout => None,
        }
    }
}

impl From<io::Error> for EnumerateError {
    fn from(e: io::Error) -> Self {
        EnumerateError::Io(e)
    }
}

/// Reads the whole interface table into a [`Snapshot`].
#[derive(Debug)]
pub struct Enumerator {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    probe_v4: Ipv4Addr,
    probe_v6: Ipv6Addr,
}

impl Enumerator {
    /// An enumerator of the caller's network namespace.
    pub fn open() -> io::Result<Self> {
        let fd = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None,
        )?;
        sockopt::set_socket_timeout(&fd, sockopt::Timeout::Recv, Some(REPLY_TIMEOUT))?;
        bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        Ok(Enumerator {
            fd,
            seq: 0,
            buf: vec![0; 32 << 10],
            probe_v4: PROBE_V4,
            probe_v6: PROBE_V6,
        })
    }

    /// An enumerator of `netns`.
    pub fn open_in(netns: &Netns) -> io::Result<Self> {
        netns.run(Enumerator::open)
    }

    /// Uses other addresses to stand for "the internet" when looking up the
    /// default routes (default `8.8.8.8` and `2001:4860:4860::8888`; nothing
    /// is ever sent to them).
    #[must_use]
    pub fn with_probes(mut self, v4: Ipv4Addr, v6: Ipv6Addr) -> Self {
        self.probe_v4 = v4;
        self.probe_v6 = v6;
        self
    }

    /// Reads the interface table, starting again when the kernel reports
    /// that it changed under the dump.
    pub fn enumerate(&mut self) -> Result<Snapshot, EnumerateError> {
        let mut last = DumpError::Interrupted;
        for _ in 0..ATTEMPTS {
            match self.attempt() {
                Ok(s) => return Ok(s),
                Err(EnumerateError::Dump(e)) if e.is_transient() => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(EnumerateError::Dump(last))
    }

    fn attempt(&mut self) -> Result<Snapshot, EnumerateError> {
        let mut c = SnapshotCollector::new();
        self.exchange(&mut c, Stage::Links, link_dump)?;
        self.exchange(&mut c, Stage::Addrs, addr_dump)?;
        let (v4, v6) = (IpAddr::V4(self.probe_v4), IpAddr::V6(self.probe_v6));
        self.exchange(&mut c, Stage::RouteV4, |seq| route_get(seq, v4))?;
        self.exchange(&mut c, Stage::RouteV6, |seq| route_get(seq, v6))?;
        c.finish().map_err(EnumerateError::Dump)
    }

    fn exchange(
        &mut self,
        c: &mut SnapshotCollector,
        stage: Stage,
        request: impl FnOnce(u32) -> Vec<u8>,
    ) -> Result<(), EnumerateError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        send(&self.fd, &request(seq), SendFlags::empty()).map_err(io::Error::from)?;
        loop {
            let len = self.recv()?;
            match c
                .feed(stage, seq, &self.buf[..len])
                .map_err(EnumerateError::Dump)?
            {
                Progress::Done => return Ok(()),
                Progress::More => {}
            }
        }
    }

    /// Receives one datagram from the kernel, growing the buffer to fit.
    fn recv(&mut self) -> Result<usize, EnumerateError> {
        loop {
            let peek = recvfrom(
                &self.fd,
                &mut self.buf[..0],
                RecvFlags::PEEK | RecvFlags::TRUNC,
            );
            let wanted = match peek {
                Ok((_, len, _)) => len,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => return Err(EnumerateError::Timeout),
                Err(e) => return Err(EnumerateError::Io(e.into())),
            };
            if wanted > self.buf.len() {
                self.buf.resize(wanted, 0);
            }
            match recvfrom(&self.fd, &mut self.buf[..], RecvFlags::empty()) {
                Ok((_, len, from)) => {
                    let from_kernel = from
                        .and_then(|a| SocketAddrNetlink::try_from(a).ok())
                        .is_some_and(|a| a.pid() == 0);
                    if from_kernel {
                        return Ok(len.min(self.buf.len()));
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => return Err(EnumerateError::Timeout),
                Err(e) => return Err(EnumerateError::Io(e.into())),
            }
        }
    }
}

impl AsFd for Enumerator {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
