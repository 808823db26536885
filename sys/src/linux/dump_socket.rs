//! [`DumpSocket`]: enumeration as a non-blocking conversation on a netlink
//! socket of its own, read by the engine's loop when it is readable, like
//! the route socket.
//!
//! The conversation itself (requests, replies, interrupted dumps, `EBUSY`,
//! the route-lookup probes) is `netstate_core::wire::netlink::conversation`;
//! this is only its socket. One socket is kept between enumerations; it is
//! replaced when the conversation asks (a request that ended without its
//! whole answer) or when an enumeration is abandoned mid-dump (it timed
//! out), and the old one is handed to the engine
//! ([`Backend::take_retired_fd`](crate::Backend::take_retired_fd)) so that
//! it leaves the poller before it closes.
//!
//! **Targeted reads** need the kernel to filter the address dump by
//! interface index, which it does only on a socket with
//! `NETLINK_GET_STRICT_CHK` (Linux 4.20 and later). The socket asks for it
//! when it opens; where the kernel refuses, a targeted read is answered by
//! a full one, which is always correct ([`Scope`](netstate_core::Scope)).
//!
//! At most [`BYTES_PER_POLL`] bytes of answers are read per call (and at
//! most [`DATAGRAMS_PER_POLL`] datagrams): a dump of thousands of
//! interfaces is read over several loop turns, so the driver's runtime runs
//! other tasks in between, while a targeted read's few small answers are
//! read in the turn that sent them.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use netstate_core::wire::netlink::conversation::{Conversation, Outcome};
use netstate_core::wire::netlink::requests::{PROBES_V4, PROBES_V6};
use netstate_core::{OsError, Targets};
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{
    bind, recvfrom, send, socket_with, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType,
};

use super::enumerate::{fib_match_honoured, sent_by_kernel};
use super::netns::Netns;
use super::sockopt::enable_strict_check;
use crate::backend::{EnumerateFailure, EnumerationCounters, EnumerationPoll};

/// Bytes of answers read per call before the loop gets its turn back: two
/// full dump datagrams. A dump datagram holds up to 32 KiB of records; the
/// kernel fills each during the `recvmsg` that reads it, and two of them
/// are filled and parsed in well under a millisecond (`cargo run --release
/// -p netstate-bench --bin loop-gap`). Counting bytes rather than
/// datagrams lets a targeted read (a link, a few addresses, two route
/// answers: under 2 KiB in five datagrams) end in one turn; counting
/// datagrams (two a turn) cost it two extra trips through the runtime's
/// scheduler per change.
pub(crate) const BYTES_PER_POLL: usize = 64 << 10;

/// Datagrams read per call at most, however small.
pub(crate) const DATAGRAMS_PER_POLL: usize = 64;

/// The receive buffer: every datagram the kernel answers with fits, so one
/// `recvmsg` reads it without first peeking at its size. A dump datagram
/// holds at most 32 KiB (the kernel caps it there, `max_recvmsg_len`); a
/// single link or route answer is a few KiB. A datagram that does not fit
/// anyway is cut short and lost: that read fails with `EMSGSIZE` and the
/// buffer grows to the size the kernel reported, so the retry reads it.
/// One system call fewer per answer than a peek first: four per targeted
/// read, 1 to 2 µs of its 16 (`cargo run --release -p netstate-bench --bin
/// targeted-read`).
pub(crate) const RECV_BUFFER: usize = 64 << 10;

/// Sequence numbers reserved per conversation (each uses a few).
const SEQ_STRIDE: u32 = 1 << 12;

/// The enumeration side of a `NetlinkBackend`.
#[derive(Debug)]
pub(crate) struct DumpSocket {
    fd: OwnedFd,
    netns: Option<Arc<Netns>>,
    retired: Vec<OwnedFd>,
    conversation: Option<Conversation>,
    seq: u32,
    buf: Vec<u8>,
    probes_v4: [Ipv4Addr; 4],
    probes_v6: [Ipv6Addr; 2],
    fib_match_honoured: bool,
    /// The kernel accepted `NETLINK_GET_STRICT_CHK` on the socket: it
    /// filters address dumps by index, so targeted reads are worth it.
    strict: bool,
    counters: EnumerationCounters,
}

impl DumpSocket {
    /// A dump socket in `netns` (or the caller's namespace).
    pub(crate) fn open(netns: Option<Arc<Netns>>) -> io::Result<Self> {
        let (fd, strict) = open_nonblocking(netns.as_deref())?;
        let fib_match_honoured = fib_match_honoured();
        Ok(DumpSocket {
            fd,
            netns,
            retired: Vec::new(),
            conversation: None,
            seq: 0,
            buf: vec![0; RECV_BUFFER],
            probes_v4: PROBES_V4,
            probes_v6: PROBES_V6,
            fib_match_honoured,
            strict,
            counters: EnumerationCounters::default(),
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn take_retired(&mut self) -> Option<OwnedFd> {
        self.retired.pop()
    }

    pub(crate) fn counters(&self) -> EnumerationCounters {
        let mut c = self.counters;
        if let Some(conv) = &self.conversation {
            c.interrupted_dumps += u64::from(conv.interrupted_dumps());
            c.skipped_records += u64::from(conv.skipped_records());
        }
        c
    }

    /// Starts an enumeration, abandoning the one in progress.
    pub(crate) fn start(&mut self) -> EnumerationPoll {
        self.cancel();
        self.seq = self.seq.wrapping_add(SEQ_STRIDE);
        self.conversation = Some(Conversation::new(
            self.seq,
            self.probes_v4,
            self.probes_v6,
            self.fib_match_honoured,
        ));
        self.poll()
    }

    /// Starts a targeted read of `targets` and the default routes,
    /// abandoning the enumeration in progress; a full read where the
    /// kernel does not filter address dumps.
    pub(crate) fn start_targeted(&mut self, targets: &Targets) -> EnumerationPoll {
        if !self.strict {
            return self.start();
        }
        self.cancel();
        self.seq = self.seq.wrapping_add(SEQ_STRIDE);
        self.conversation = Some(Conversation::targeted(
            self.seq,
            self.probes_v4,
            self.probes_v6,
            self.fib_match_honoured,
            targets.clone(),
        ));
        self.poll()
    }

    /// Abandons the enumeration in progress; its socket may still carry
    /// the rest of a dump, so it is replaced.
    pub(crate) fn cancel(&mut self) {
        if let Some(conv) = self.conversation.take() {
            self.close_conversation(&conv);
            // On failure the old socket stays: stale replies are skipped by
            // their sequence number, and an unfinished dump answers the next
            // request with EBUSY, which asks for a fresh socket again.
            let _ = self.replace_socket();
        }
    }

    fn close_conversation(&mut self, conv: &Conversation) {
        self.counters.interrupted_dumps += u64::from(conv.interrupted_dumps());
        self.counters.skipped_records += u64::from(conv.skipped_records());
    }

    fn replace_socket(&mut self) -> io::Result<()> {
        let (fresh, strict) = open_nonblocking(self.netns.as_deref())?;
        self.strict &= strict;
        self.retired.push(std::mem::replace(&mut self.fd, fresh));
        Ok(())
    }

    /// Goes on without blocking: sends what is due, reads what has come.
    pub(crate) fn poll(&mut self) -> EnumerationPoll {
        let Some(mut conv) = self.conversation.take() else {
            return EnumerationPoll::Waiting;
        };
        let poll = self.pump(&mut conv);
        match poll {
            EnumerationPoll::Done(_) | EnumerationPoll::Refreshed(_) => {
                self.close_conversation(&conv);
                if conv.needs_fresh_socket() {
                    let _ = self.replace_socket();
                }
            }
            _ => self.conversation = Some(conv),
        }
        poll
    }

    fn pump(&mut self, conv: &mut Conversation) -> EnumerationPoll {
        let (mut datagrams, mut bytes) = (0, 0);
        loop {
            while let Some(request) = conv.poll_transmit() {
                if let Err(e) = send(&self.fd, &request, SendFlags::empty()) {
                    // A request that could not be sent at once is not kept
                    // for later: the enumeration fails and is retried.
                    let errno = if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::INTR {
                        rustix::io::Errno::NOBUFS.raw_os_error()
                    } else {
                        e.raw_os_error()
                    };
                    conv.handle_socket_error(errno);
                }
            }
            if let Some(outcome) = conv.poll_outcome() {
                return EnumerationPoll::Done(match outcome {
                    Outcome::Done(snapshot) => Ok(snapshot),
                    Outcome::Refreshed(refresh) => return EnumerationPoll::Refreshed(refresh),
                    Outcome::Interrupted => Err(EnumerateFailure::Interrupted),
                    Outcome::Failed(e) => {
                        Err(EnumerateFailure::Failed(OsError::new(e.to_string())))
                    }
                });
            }
            if conv.needs_fresh_socket() {
                match self.replace_socket() {
                    Ok(()) => conv.socket_replaced(),
                    Err(e) => conv.handle_socket_error(errno_of(&e)),
                }
                continue;
            }
            if datagrams >= DATAGRAMS_PER_POLL || bytes >= BYTES_PER_POLL {
                return EnumerationPoll::Busy;
            }
            match self.recv() {
                Ok(Some(len)) => {
                    datagrams += 1;
                    bytes += len;
                    conv.handle_datagram(&self.buf[..len]);
                }
                Ok(None) => {}
                Err(rustix::io::Errno::AGAIN) => return EnumerationPoll::Waiting,
                Err(e) => conv.handle_socket_error(e.raw_os_error()),
            }
        }
    }

    /// Receives one datagram without blocking, in one call (see
    /// [`RECV_BUFFER`]); `None` for one that did not come from the kernel
    /// (dropped).
    fn recv(&mut self) -> Result<Option<usize>, rustix::io::Errno> {
        loop {
            match recvfrom(
                &self.fd,
                &mut self.buf[..],
                RecvFlags::DONTWAIT | RecvFlags::TRUNC,
            ) {
                Ok((_, len, _)) if len > self.buf.len() => {
                    self.buf.resize(len, 0);
                    return Err(rustix::io::Errno::MSGSIZE);
                }
                Ok((_, len, from)) => return Ok(sent_by_kernel(from).then_some(len)),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(5) // EIO
}

/// A non-blocking netlink socket bound to the kernel, in `netns` if given,
/// and whether the kernel checks its requests strictly (and so filters
/// address dumps by index).
fn open_nonblocking(netns: Option<&Netns>) -> io::Result<(OwnedFd, bool)> {
    let open = || -> io::Result<(OwnedFd, bool)> {
        let fd = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        let strict = enable_strict_check(fd.as_fd()).is_ok();
        Ok((fd, strict))
    };
    match netns {
        Some(ns) => ns.run(open),
        None => open(),
    }
}

#[cfg(test)]
mod tests {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};

    use super::*;

    /// Drives the read started on `d` to its end, waiting for the socket.
    fn finish(d: &mut DumpSocket, mut p: EnumerationPoll) -> EnumerationPoll {
        for _ in 0..10_000 {
            match p {
                EnumerationPoll::Waiting => {
                    let mut fds = [PollFd::new(&d.fd, PollFlags::IN)];
                    let timeout = Timespec {
                        tv_sec: 5,
                        tv_nsec: 0,
                    };
                    poll(&mut fds, Some(&timeout)).expect("poll");
                    p = d.poll();
                }
                EnumerationPoll::Busy => p = d.poll(),
                done => return done,
            }
        }
        panic!("the read never ended");
    }

    // Loopback (index 1) exists in every network namespace, and these only
    // read: they run in the test's own namespace, without root.
    fn loopback() -> Targets {
        [1].into_iter().collect()
    }

    #[test]
    fn a_targeted_read_reads_only_its_interface() {
        let mut d = DumpSocket::open(None).expect("a netlink socket");
        if !d.strict {
            eprintln!("SKIPPED: this kernel refuses NETLINK_GET_STRICT_CHK (before 4.20)");
            return;
        }
        let p = d.start_targeted(&loopback());
        let EnumerationPoll::Refreshed(r) = finish(&mut d, p) else {
            panic!("a targeted read ends in a refresh");
        };
        assert_eq!(r.targets().as_slice(), &[1]);
        assert_eq!(r.found().len(), 1);
        assert!(r.found().first().unwrap().is_loopback());
        // The same interface as a full read gives.
        let p = d.start();
        let EnumerationPoll::Done(Ok(full)) = finish(&mut d, p) else {
            panic!("a full read ends in a snapshot");
        };
        assert_eq!(full.by_index(1), r.found().first());
    }

    #[test]
    fn an_answer_larger_than_the_buffer_fails_that_read_and_the_next_one_reads_it() {
        let mut d = DumpSocket::open(None).expect("a netlink socket");
        // Smaller than the link dump's first datagram, whatever the host.
        d.buf = vec![0; 16];
        let p = d.start();
        let EnumerationPoll::Done(Err(EnumerateFailure::Failed(e))) = finish(&mut d, p) else {
            panic!("a datagram cut short fails the read");
        };
        let too_long = format!("errno {}", rustix::io::Errno::MSGSIZE.raw_os_error());
        assert!(e.to_string().contains(&too_long), "{e} names EMSGSIZE");
        assert!(d.buf.len() > 16, "the buffer grew to the datagram's size");
        let p = d.start();
        let EnumerationPoll::Done(Ok(full)) = finish(&mut d, p) else {
            panic!("the next read fits");
        };
        assert!(full.by_index(1).is_some_and(|lo| lo.is_loopback()));
    }

    #[test]
    fn without_strict_checking_a_targeted_read_reads_everything() {
        let mut d = DumpSocket::open(None).expect("a netlink socket");
        // As on a kernel before 4.20, which refuses the option.
        d.strict = false;
        let p = d.start_targeted(&loopback());
        let EnumerationPoll::Done(Ok(full)) = finish(&mut d, p) else {
            panic!("the fallback is a full read");
        };
        assert!(full.by_index(1).is_some_and(|lo| lo.is_loopback()));
    }
}
