//! [`RouteSocketReader`]: routing-socket messages read from a descriptor
//! and parsed into hints.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use netstate_core::wire::route_socket::{ParseStats, Parser};
use netstate_core::RouteEvent;

use super::fd;
use crate::backend::{EventSource, SourceRead};

/// Reads BSD/macOS routing-socket messages from a descriptor, without
/// blocking, and turns them into [`RouteEvent`] hints with
/// [`Parser::parse`].
///
/// It owns the descriptor and knows nothing about where the messages come
/// from: `open` makes a `PF_ROUTE` socket (macOS, iOS, FreeBSD),
/// [`new`](Self::new) takes any descriptor that delivers one message or
/// several per `read` (a Linux `socketpair` fed with byte fixtures, in the
/// tests). It is an [`EventSource`], so an
/// [`Engine`](crate::Engine) drives it like the netlink socket.
///
/// What one [`read`](EventSource::read) gives:
///
/// * a datagram: its hints go to `out`; messages that could not be read
///   (malformed or of another version) are added to `malformed` and, as
///   [`Parser::parse`] does, each also becomes an `Unknown` hint; noise
///   (`RTM_MISS`, `RTM_LOSING`, multicast, host routes, …) gives nothing.
///   [`SourceRead::Read`], or [`SourceRead::Overflow`] when the datagram
///   filled the whole buffer (it may have been cut: resync);
/// * nothing queued (`EAGAIN`): [`SourceRead::WouldBlock`];
/// * `ENOBUFS` (the socket's buffer overflowed, messages were lost; the
///   socket still works): [`SourceRead::Overflow`];
/// * end of file (`read` returned 0: the peer of a stream or seqpacket
///   socket closed; a routing socket never sends an empty message):
///   [`SourceRead::Closed`], the socket must be replaced;
/// * any other error: `Err`, the socket must be replaced.
///
/// `EINTR` is retried. Give it a buffer of at least
/// [`BUFFER_LEN`](Self::BUFFER_LEN) bytes (the [`Engine`](crate::Engine)'s
/// is 64 KiB): a routing message is a few hundred bytes, so a datagram
/// filling such a buffer is already suspect.
///
/// Verified on Linux over `socketpair`s fed with byte fixtures of both
/// layouts, alone and under an [`Engine`](crate::Engine); **not yet run
/// against a real macOS, iOS or FreeBSD routing socket.**
#[derive(Debug)]
pub struct RouteSocketReader {
    fd: OwnedFd,
    parser: Parser,
    stats: ParseStats,
}

impl RouteSocketReader {
    /// The smallest buffer to read into: 64 KiB.
    pub const BUFFER_LEN: usize = 64 << 10;

    /// A reader of `fd`, whose messages follow `parser`'s platform. Puts
    /// `fd` in non-blocking mode (on its open file description, so every
    /// duplicate of it too).
    pub fn new(fd: OwnedFd, parser: Parser) -> io::Result<Self> {
        fd::set_nonblocking(fd.as_fd())?;
        Ok(RouteSocketReader {
            fd,
            parser,
            stats: ParseStats::default(),
        })
    }

    /// The parser this reader uses.
    #[must_use]
    pub fn parser(&self) -> Parser {
        self.parser
    }

    /// What the parser has counted over every read so far (messages, noise,
    /// malformed, wrong version, unknown).
    #[must_use]
    pub fn parse_stats(&self) -> ParseStats {
        self.stats
    }

    /// One non-blocking `read` into `buf`: `Ok(Some(len))` for a datagram,
    /// `Ok(None)` when nothing is queued.
    fn read_raw(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the
            // call, and `self.fd` is an open descriptor we own.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if let Ok(len) = usize::try_from(n) {
                return Ok(Some(len));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock => return Ok(None),
                _ => return Err(e),
            }
        }
    }
}

impl EventSource for RouteSocketReader {
    fn read(
        &mut self,
        buf: &mut [u8],
        out: &mut dyn FnMut(RouteEvent),
        malformed: &mut u32,
    ) -> io::Result<SourceRead> {
        if buf.is_empty() {
            // A read of 0 bytes would look like the end of the socket.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a route socket cannot be read into an empty buffer",
            ));
        }
        let len = match self.read_raw(buf) {
            Ok(Some(0)) => return Ok(SourceRead::Closed),
            Ok(Some(len)) => len,
            Ok(None) => return Ok(SourceRead::WouldBlock),
            Err(e) => return failed_read(e),
        };
        let stats = self.parser.parse(&buf[..len], out);
        self.stats += stats;
        *malformed = malformed.saturating_add(u32::try_from(stats.lost()).unwrap_or(u32::MAX));
        Ok(if len == buf.len() {
            SourceRead::Overflow
        } else {
            SourceRead::Read
        })
    }
}

/// What a failed read of a routing socket means: `ENOBUFS` is the kernel
/// saying it dropped messages for want of buffer space, an overflow (the
/// engine resyncs); anything else is an error (the engine rebinds).
fn failed_read(e: io::Error) -> io::Result<SourceRead> {
    if e.raw_os_error() == Some(libc::ENOBUFS) {
        Ok(SourceRead::Overflow)
    } else {
        Err(e)
    }
}

impl AsFd for RouteSocketReader {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for RouteSocketReader {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
mod pf_route;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enobufs_is_an_overflow_and_any_other_failure_an_error() {
        let overflow = failed_read(io::Error::from_raw_os_error(libc::ENOBUFS));
        assert_eq!(overflow.ok(), Some(SourceRead::Overflow));
        for errno in [libc::EBADF, libc::EIO, libc::ENOMEM] {
            let e = failed_read(io::Error::from_raw_os_error(errno)).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(errno));
        }
    }
}
