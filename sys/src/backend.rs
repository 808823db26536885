//! What the [`Engine`](crate::Engine) reads: a route-monitor socket
//! ([`EventSource`]) for hints and an enumeration ([`Backend`]) for the
//! truth, both non-blocking.
//!
//! A backend either answers an enumeration at once (`getifaddrs` on BSD and
//! macOS is one call) or runs it as a conversation on a socket of its own
//! (the netlink dump on Linux): it then says [`EnumerationPoll::Waiting`],
//! exposes that socket through [`Backend::enumeration_fd`], and the engine
//! calls [`Backend::poll_enumeration`] whenever the socket is readable.
//! Test doubles and fault injectors wrap a backend (see
//! `netstate_testkit::faults`); nothing here has test switches.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use netstate_core::{OsError, Refresh, RouteEvent, Snapshot, Targets};

/// What one non-blocking read of a route socket gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRead {
    /// A datagram was read and its hints delivered; read again.
    Read,
    /// A datagram from another sender was dropped; read again.
    Foreign,
    /// Nothing more is queued.
    WouldBlock,
    /// Messages were lost (buffer overflow or a truncated datagram).
    Overflow,
    /// The socket reached its end: it must be replaced.
    Closed,
}

/// A route-monitor socket as the engine reads it.
pub trait EventSource: AsFd + Send {
    /// Reads one datagram without blocking and passes its hints to `out`.
    /// Returns how many of its messages could not be parsed in `malformed`.
    /// An error means the socket is broken and must be replaced.
    fn read(
        &mut self,
        buf: &mut [u8],
        out: &mut dyn FnMut(RouteEvent),
        malformed: &mut u32,
    ) -> io::Result<SourceRead>;
}

/// Why a [`Backend`] gave no snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnumerateFailure {
    /// The table changed under every attempt to read it (interrupted dumps):
    /// not a failure, read again soon without backing off.
    Interrupted,
    /// Reading failed.
    Failed(OsError),
}

impl From<OsError> for EnumerateFailure {
    fn from(e: OsError) -> Self {
        EnumerateFailure::Failed(e)
    }
}

impl std::fmt::Display for EnumerateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnumerateFailure::Interrupted => {
                f.write_str("the interface table kept changing while it was read")
            }
            EnumerateFailure::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EnumerateFailure {}

/// Where an enumeration stands after a call of the [`Backend`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnumerationPoll {
    /// It ended: the whole table, or why there is none (for a targeted
    /// read too).
    Done(Result<Snapshot, EnumerateFailure>),
    /// A targeted read ([`Backend::start_refresh`]) ended with what it read.
    Refreshed(Refresh),
    /// It waits for its socket ([`Backend::enumeration_fd`]) to be readable.
    Waiting,
    /// It has more to read at once but stopped to let the loop run other
    /// work: call [`Backend::poll_enumeration`] again soon, without waiting.
    Busy,
}

/// What a [`Backend`] has counted since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnumerationCounters {
    /// Read attempts the kernel marked interrupted or refused as busy, or
    /// whose replies mixed two states; each was read again at once.
    pub interrupted_dumps: u64,
    /// Records skipped because they could not be used (one odd interface
    /// never fails an enumeration).
    pub skipped_records: u64,
}

impl EnumerationCounters {
    /// Counters with these values (for backends outside this crate).
    #[must_use]
    pub fn new(interrupted_dumps: u64, skipped_records: u64) -> Self {
        EnumerationCounters {
            interrupted_dumps,
            skipped_records,
        }
    }
}

/// Where an engine gets its route socket and its enumerations from: the
/// operating system (`NetlinkBackend` on Linux, `GetifaddrsBackend` on BSD
/// and macOS), or a test's stand-in. No call may block.
pub trait Backend: Send {
    /// Opens a route-monitor socket (non-blocking).
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>>;

    /// Starts reading the whole interface table, abandoning any enumeration
    /// still running.
    fn start_enumeration(&mut self) -> EnumerationPoll;

    /// Starts reading only the interfaces `targets` names (each, or the news
    /// that it is gone) and the default routes, abandoning any enumeration
    /// still running; it ends in [`EnumerationPoll::Refreshed`]. The
    /// default reads the whole table instead ([`Backend::start_enumeration`]),
    /// which always answers a targeted read correctly: a backend overrides
    /// this only where reading part of the table costs less.
    fn start_refresh(&mut self, targets: &Targets) -> EnumerationPoll {
        let _ = targets;
        self.start_enumeration()
    }

    /// Goes on with the enumeration started last (its socket is readable,
    /// or the engine woke for another reason). A backend that answers at
    /// once never gets this call.
    fn poll_enumeration(&mut self) -> EnumerationPoll {
        EnumerationPoll::Waiting
    }

    /// Abandons the enumeration started last (it timed out).
    fn cancel_enumeration(&mut self) {}

    /// The socket a [`EnumerationPoll::Waiting`] enumeration waits on, if the
    /// backend has one. The engine watches it for readability; it must stay
    /// open until [`take_retired_fd`](Self::take_retired_fd) hands it back.
    fn enumeration_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// A socket the backend replaced (a fresh one is needed after a request
    /// that ended without its whole answer): the engine stops watching it,
    /// closes it, and watches the new [`enumeration_fd`](Self::enumeration_fd).
    fn take_retired_fd(&mut self) -> Option<OwnedFd> {
        None
    }

    /// What it has counted since it was opened (nothing, unless it says).
    fn counters(&self) -> EnumerationCounters {
        EnumerationCounters::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enumeration_failure_says_what_happened() {
        let interrupted = EnumerateFailure::Interrupted.to_string();
        assert!(interrupted.contains("changing"), "{interrupted}");
        let failed = EnumerateFailure::Failed(OsError::new("dump socket closed")).to_string();
        assert!(failed.contains("dump socket closed"), "{failed}");
    }
}
