//! Reading the whole interface table: link and address dumps plus route
//! lookups (usually one per family), over the enumerator's own netlink
//! socket.
//!
//! The route lookups (`RTM_GETROUTE` towards probe addresses, as `ip route
//! get fibmatch` does; see `Enumerator::default_route`) make the cost
//! independent of the routing table's size; see
//! `netstate_core::wire::netlink::requests` for why, and
//! `netstate_core::wire::netlink::lookup` for which answer is the default
//! route.
//!
//! A dump the kernel marks
//! interrupted, or replies that mix two states, start the enumeration again
//! at once (up to three times) rather than give a snapshot that never
//! existed; past that, [`EnumerateError::is_interrupted`] tells the caller
//! that the table is changing faster than it can be read, which is no
//! failure (the Reconciler tries again after its debounce, without backoff).
//!
//! An interrupted dump is read to its end (`NLMSG_DONE`) before the next
//! request: the kernel refuses a new dump on a socket whose dump is
//! unfinished (`EBUSY`). Whenever a request ends any other way (a timeout,
//! an error, `EBUSY` itself), the socket is replaced by a fresh one, so no
//! reply of an old request can ever be in the way of a new one.
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
use netstate_core::wire::netlink::lookup::{kernel_honours_fib_match, Verdict};
use netstate_core::wire::netlink::requests::{
    addr_dump, link_dump, route_get, route_get_fib_match, PROBES_V4, PROBES_V6, PROBE_V4, PROBE_V6,
};
use netstate_core::Snapshot;
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{
    bind, recvfrom, send, socket_with, sockopt, AddressFamily, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};

use super::netns::Netns;
use crate::engine::EnumerationCounters;

/// How many times an interrupted or inconsistent enumeration is started
/// again at once before the caller is told the table is changing too fast.
const ATTEMPTS: u32 = 3;
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

impl EnumerateError {
    /// Whether the table changed under every attempt (interrupted dumps,
    /// replies from two states, `EBUSY`): not a failure of the system, so
    /// enumerate again soon, without backing off.
    #[must_use]
    pub fn is_interrupted(&self) -> bool {
        matches!(self, EnumerateError::Dump(e) if e.is_transient())
    }
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
    /// The namespace to open a replacement socket in (`None`: the caller's).
    netns: Option<Netns>,
    counters: EnumerationCounters,
    seq: u32,
    buf: Vec<u8>,
    probe_v4: Ipv4Addr,
    probe_v6: Ipv6Addr,
    /// Whether the kernel is known to honour `RTM_F_FIB_MATCH`.
    fib_match_honoured: bool,
}

impl Enumerator {
    /// An enumerator of the caller's network namespace.
    pub fn open() -> io::Result<Self> {
        Ok(Enumerator {
            fd: open_socket()?,
            netns: None,
            counters: EnumerationCounters::default(),
            seq: 0,
            buf: vec![0; 32 << 10],
            probe_v4: PROBE_V4,
            probe_v6: PROBE_V6,
            fib_match_honoured: Enumerator::kernel_honours_fib_match(),
        })
    }

    /// An enumerator of `netns`.
    pub fn open_in(netns: &Netns) -> io::Result<Self> {
        let mut e = netns.run(Enumerator::open)?;
        e.netns = Some(netns.try_clone()?);
        Ok(e)
    }

    /// What it has counted since it was opened.
    #[must_use]
    pub fn counters(&self) -> EnumerationCounters {
        self.counters
    }

    /// Replaces the socket by a fresh one (same namespace), dropping any
    /// reply still queued or still to come on the old one.
    fn replace_socket(&mut self) -> Result<(), EnumerateError> {
        self.fd = match &self.netns {
            Some(ns) => ns.run(open_socket)?,
            None => open_socket()?,
        };
        Ok(())
    }

    /// Uses other addresses to stand for "the internet" when looking up the
    /// default routes: they are tried first (default `8.8.8.8` and
    /// `2001:4860:4860::8888`), then the rest of `PROBES_V4` / `PROBES_V6`
    /// when a more specific route covers them; nothing is ever sent to them.
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
                Err(EnumerateError::Dump(e)) if e.is_transient() => {
                    self.counters.interrupted_dumps += 1;
                    last = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(EnumerateError::Dump(last))
    }

    fn attempt(&mut self) -> Result<Snapshot, EnumerateError> {
        let mut c = SnapshotCollector::new();
        self.exchange(&mut c, Stage::Links, link_dump)?;
        self.exchange(&mut c, Stage::Addrs, addr_dump)?;
        self.default_route(&mut c, Stage::RouteV4)?;
        self.default_route(&mut c, Stage::RouteV6)?;
        c.finish().map_err(EnumerateError::Dump)
    }

    /// Looks up the default route of `stage`'s family ([`Stage::RouteV4`]
    /// or [`Stage::RouteV6`]): a FIB-match lookup per probe until one meets
    /// a route of prefix 0 or 1, which is the default route (a longer one
    /// is a more specific route covering that probe: next probe), plus the
    /// plain lookup of the same probe when that route names no single
    /// interface (a multipath route). The rule and its reasons are in
    /// `netstate_core::wire::netlink::lookup`. Usually one lookup.
    fn default_route(
        &mut self,
        c: &mut SnapshotCollector,
        stage: Stage,
    ) -> Result<(), EnumerateError> {
        let mut v4 = PROBES_V4.map(IpAddr::V4);
        let mut v6 = PROBES_V6.map(IpAddr::V6);
        v4[0] = IpAddr::V4(self.probe_v4);
        v6[0] = IpAddr::V6(self.probe_v6);
        let probes: &[IpAddr] = if stage == Stage::RouteV4 { &v4 } else { &v6 };
        for &probe in probes {
            self.exchange(c, stage, |seq| route_get_fib_match(seq, probe))?;
            match c.judge_fib_match(stage, self.fib_match_honoured) {
                Verdict::NextProbe => {}
                Verdict::AskPlain => return self.exchange(c, stage, |seq| route_get(seq, probe)),
                Verdict::Default { .. } | Verdict::NoDefault => return Ok(()),
            }
        }
        Ok(())
    }

    /// Whether the running kernel honours `RTM_F_FIB_MATCH` (4.13 and
    /// later), from `/proc/sys/kernel/osrelease`; when that cannot be read,
    /// assumed (4.13 is from 2017).
    fn kernel_honours_fib_match() -> bool {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|r| kernel_honours_fib_match(&r))
            .unwrap_or(true)
    }

    fn exchange(
        &mut self,
        c: &mut SnapshotCollector,
        stage: Stage,
        request: impl FnOnce(u32) -> Vec<u8>,
    ) -> Result<(), EnumerateError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let skipped_before = c.skipped();
        let result = self.converse(c, stage, seq, &request(seq));
        self.counters.skipped_records += u64::from(c.skipped().saturating_sub(skipped_before));
        match &result {
            // The answer was read to its end (an interrupted dump too): the
            // socket is clean.
            Ok(()) | Err(EnumerateError::Dump(DumpError::Interrupted)) => {}
            // EBUSY, a timeout, an error or a reply that could not be framed:
            // what is left of the answer must not meet the next request.
            Err(_) => self.replace_socket()?,
        }
        result
    }

    /// Sends one request and feeds its answer to `c` until it is complete.
    fn converse(
        &mut self,
        c: &mut SnapshotCollector,
        stage: Stage,
        seq: u32,
        request: &[u8],
    ) -> Result<(), EnumerateError> {
        send(&self.fd, request, SendFlags::empty()).map_err(io::Error::from)?;
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

/// A blocking netlink socket with the reply timeout, bound to the kernel.
fn open_socket() -> io::Result<OwnedFd> {
    let fd = socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        None,
    )?;
    sockopt::set_socket_timeout(&fd, sockopt::Timeout::Recv, Some(REPLY_TIMEOUT))?;
    bind(&fd, &SocketAddrNetlink::new(0, 0))?;
    Ok(fd)
}

impl AsFd for Enumerator {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
