//! Reading the whole interface table: link and address dumps plus route
//! lookups (usually one per family), over the enumerator's own netlink
//! socket.
//!
//! The conversation itself (which requests, in which order, what the
//! answers mean, when to start again and when the socket must be replaced)
//! is `netstate_core::wire::netlink::conversation::Conversation`, a sans-IO
//! state machine; [`Enumerator`] is a blocking loop over it: it sends what
//! the conversation gives, receives (blocking, with a timeout) and feeds
//! what the kernel sent, and replaces the socket when asked, until the
//! outcome.
//!
//! The route lookups (`RTM_GETROUTE` towards probe addresses, as `ip route
//! get fibmatch` does) make the cost independent of the routing table's
//! size; see `netstate_core::wire::netlink::requests` for why, and
//! `netstate_core::wire::netlink::lookup` for which answer is the default
//! route.
//!
//! A dump the kernel marks interrupted, or replies that mix two states,
//! start the enumeration again at once (up to three times) rather than give
//! a snapshot that never existed; past that,
//! [`EnumerateError::is_interrupted`] tells the caller that the table is
//! changing faster than it can be read, which is no failure (the Reconciler
//! tries again after its debounce, without backoff).
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
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use netstate_core::wire::netlink::conversation::{Conversation, Outcome};
use netstate_core::wire::netlink::dump::DumpError;
use netstate_core::wire::netlink::lookup::kernel_honours_fib_match;
use netstate_core::wire::netlink::requests::{PROBES_V4, PROBES_V6};
use netstate_core::Snapshot;
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{
    bind, recvfrom, send, socket_with, sockopt, AddressFamily, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};

use super::netns::Netns;
use crate::backend::EnumerationCounters;

/// The longest a reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// What the conversation is told when a reply did not come in time.
const ETIMEDOUT: i32 = 110;

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
    /// The sequence number of the last request sent.
    seq: u32,
    buf: Vec<u8>,
    probes_v4: [Ipv4Addr; 4],
    probes_v6: [Ipv6Addr; 2],
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
            probes_v4: PROBES_V4,
            probes_v6: PROBES_V6,
            fib_match_honoured: fib_match_honoured(),
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
    fn replace_socket(&mut self) -> io::Result<()> {
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
        self.probes_v4[0] = v4;
        self.probes_v6[0] = v6;
        self
    }

    /// Reads the interface table, starting again when the kernel reports
    /// that it changed under the dump.
    pub fn enumerate(&mut self) -> Result<Snapshot, EnumerateError> {
        let mut c = Conversation::new(
            self.seq.wrapping_add(1),
            self.probes_v4,
            self.probes_v6,
            self.fib_match_honoured,
        );
        let result = self.converse(&mut c);
        self.counters.interrupted_dumps += u64::from(c.interrupted_dumps());
        self.counters.skipped_records += u64::from(c.skipped_records());
        result
    }

    /// Runs `c` to its outcome: sends what it gives, feeds it what the
    /// kernel answers, replaces the socket when it asks.
    fn converse(&mut self, c: &mut Conversation) -> Result<Snapshot, EnumerateError> {
        let mut timed_out = false;
        loop {
            // Before the outcome too: the next enumeration uses this socket.
            if c.needs_fresh_socket() {
                self.replace_socket()?;
                c.socket_replaced();
            }
            if let Some(outcome) = c.poll_outcome() {
                return match outcome {
                    Outcome::Done(snapshot) => Ok(snapshot),
                    // Only full conversations run here.
                    Outcome::Refreshed(_) => Err(EnumerateError::Dump(DumpError::Malformed(
                        "a targeted answer to a full read",
                    ))),
                    Outcome::Interrupted => Err(EnumerateError::Dump(DumpError::Interrupted)),
                    Outcome::Failed(DumpError::Socket(_)) if timed_out => {
                        Err(EnumerateError::Timeout)
                    }
                    Outcome::Failed(DumpError::Socket(errno)) => {
                        Err(EnumerateError::Io(io::Error::from_raw_os_error(errno)))
                    }
                    Outcome::Failed(e) => Err(EnumerateError::Dump(e)),
                };
            }
            // At most one request is ever due: its answer is read next.
            if let Some(request) = c.poll_transmit() {
                self.seq = self.seq.wrapping_add(1);
                let sent = loop {
                    match send(&self.fd, &request, SendFlags::empty()) {
                        Err(rustix::io::Errno::INTR) => {}
                        Err(rustix::io::Errno::AGAIN) => {
                            timed_out = true;
                            break Err(ETIMEDOUT);
                        }
                        other => break other.map_err(rustix::io::Errno::raw_os_error),
                    }
                };
                if let Err(errno) = sent {
                    c.handle_socket_error(errno);
                    continue;
                }
            }
            match self.recv() {
                Ok(len) => c.handle_datagram(&self.buf[..len]),
                Err(Recv::Timeout) => {
                    timed_out = true;
                    c.handle_socket_error(ETIMEDOUT);
                }
                Err(Recv::Failed(errno)) => c.handle_socket_error(errno),
            }
        }
    }

    /// Receives one datagram from the kernel, growing the buffer to fit.
    fn recv(&mut self) -> Result<usize, Recv> {
        loop {
            match recv_from_kernel(&self.fd, &mut self.buf, RecvFlags::empty()) {
                Ok(Some(len)) => return Ok(len),
                Ok(None) => {}
                Err(rustix::io::Errno::AGAIN) => return Err(Recv::Timeout),
                Err(e) => return Err(Recv::Failed(e.raw_os_error())),
            }
        }
    }
}

/// Whether the running kernel honours `RTM_F_FIB_MATCH` (4.13 and later),
/// from `/proc/sys/kernel/osrelease`; when that cannot be read, assumed
/// (4.13 is from 2017).
pub(super) fn fib_match_honoured() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .and_then(|r| kernel_honours_fib_match(&r))
        .unwrap_or(true)
}

/// Receives one datagram on the netlink socket `fd` into `buf`, grown to
/// fit it first (a peek gives its size), retrying `EINTR`. `Ok(None)` for a
/// datagram another process sent (dropped unread). `flags` adds to the
/// receive (`DONTWAIT` for a caller that must not block).
pub(super) fn recv_from_kernel(
    fd: &OwnedFd,
    buf: &mut Vec<u8>,
    flags: RecvFlags,
) -> Result<Option<usize>, rustix::io::Errno> {
    let wanted = loop {
        match recvfrom(
            fd,
            &mut buf[..0],
            RecvFlags::PEEK | RecvFlags::TRUNC | flags,
        ) {
            Ok((_, len, _)) => break len,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    };
    if wanted > buf.len() {
        buf.resize(wanted, 0);
    }
    loop {
        match recvfrom(fd, &mut buf[..], flags) {
            Ok((_, len, from)) => return Ok(sent_by_kernel(from).then_some(len.min(buf.len()))),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether a datagram's sender address `from` is the kernel's (port 0).
pub(super) fn sent_by_kernel(from: Option<rustix::net::SocketAddrAny>) -> bool {
    from.and_then(|a| SocketAddrNetlink::try_from(a).ok())
        .is_some_and(|a| a.pid() == 0)
}

/// Why a receive gave no datagram.
enum Recv {
    /// The reply timeout passed.
    Timeout,
    /// The socket failed with this errno.
    Failed(i32),
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
