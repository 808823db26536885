//! One descriptor that is readable whenever the engine has something to
//! do: its route socket, its enumeration socket, or a wake-up from a
//! [`Handle`](crate::Handle). A driver waits on that one descriptor
//! ([`Engine::readiness_fd`](crate::Engine::readiness_fd)), with whatever
//! its runtime uses (tokio's `AsyncFd`, async-io's `Async`, mio's
//! `SourceFd`, or a plain blocking wait), and it never changes for the
//! engine's life, whatever sockets come and go behind it.
//!
//! It is a `polling::Poller` (epoll on Linux, kqueue on BSD and macOS) with
//! the sockets registered level-triggered, and its `notify` as the wake-up.

use std::io;
#[cfg(test)]
use std::os::fd::OwnedFd;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};

/// The key of the route socket.
const SOURCE: usize = 0;
/// The key of the enumeration socket.
const DUMP: usize = 1;

/// The engine's poller and what is registered in it.
pub(crate) struct Readiness {
    poller: Arc<Poller>,
    events: Events,
    /// The descriptors registered, so that each is deleted before it closes.
    source: Option<RawFd>,
    dump: Option<RawFd>,
}

impl Readiness {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Readiness {
            poller: Arc::new(Poller::new()?),
            events: Events::new(),
            source: None,
            dump: None,
        })
    }

    /// The poller, for waking the engine from a handle (`notify`).
    pub(crate) fn poller(&self) -> &Arc<Poller> {
        &self.poller
    }

    /// Watches the route socket `fd`. The caller must call
    /// [`unwatch_source`](Self::unwatch_source) before closing it.
    pub(crate) fn watch_source(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.source = Some(self.add(fd, SOURCE)?);
        Ok(())
    }

    /// Stops watching the route socket `fd` (still open).
    pub(crate) fn unwatch_source(&mut self, fd: BorrowedFd<'_>) {
        if self.source.take().is_some() {
            // An error means it was not registered: nothing to undo.
            let _ = self.poller.delete(fd);
        }
    }

    /// Watches the enumeration socket `fd`, replacing any other. The caller
    /// must call [`unwatch_dump`](Self::unwatch_dump) before closing it.
    pub(crate) fn watch_dump(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        if self.dump == Some(fd.as_raw_fd()) {
            return Ok(());
        }
        self.dump = Some(self.add(fd, DUMP)?);
        Ok(())
    }

    /// Stops watching the enumeration socket `fd` (still open).
    pub(crate) fn unwatch_dump(&mut self, fd: BorrowedFd<'_>) {
        if self.dump == Some(fd.as_raw_fd()) {
            self.dump = None;
            let _ = self.poller.delete(fd);
        }
    }

    fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<RawFd> {
        // SAFETY: `polling` requires the descriptor to be deleted from the
        // poller before it is closed. The engine owns every descriptor it
        // registers or borrows it from a backend that keeps it open until
        // handing it back (`Backend::take_retired_fd`), and it calls
        // `unwatch_source` / `unwatch_dump` before dropping either.
        unsafe {
            self.poller
                .add_with_mode(fd.as_raw_fd(), Event::readable(key), PollMode::Level)?;
        }
        Ok(fd.as_raw_fd())
    }

    /// Takes what the poller has to say without waiting: clears a pending
    /// wake-up, so that the descriptor is readable again only when
    /// something new happens.
    pub(crate) fn consume(&mut self) {
        self.events.clear();
        let _ = self.poller.wait(&mut self.events, Some(Duration::ZERO));
    }

    /// Blocks until something is ready or `timeout` passes (for loops that
    /// run on a thread of their own).
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.events.clear();
        self.poller.wait(&mut self.events, timeout).map(|_| ())
    }

    /// The descriptor to wait on.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.poller.as_fd()
    }
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("source", &self.source)
            .field("dump", &self.dump)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    use super::*;

    // Far longer than a readable descriptor takes to wake a wait, short
    // enough that a wait that is never woken fails the test.
    const LONG: Duration = Duration::from_secs(5);

    /// A socket pair with a byte waiting on `.1`: readable until read.
    fn readable() -> (UnixStream, UnixStream) {
        let (mut w, r) = UnixStream::pair().unwrap();
        w.write_all(&[1]).unwrap();
        (w, r)
    }

    /// Waits `timeout`; says whether it returned before it ran out (a
    /// lower bound on time only: it never returns early by itself).
    fn woke_early(r: &mut Readiness, timeout: Duration) -> bool {
        let before = Instant::now();
        r.wait(Some(timeout)).unwrap();
        before.elapsed() < timeout
    }

    #[test]
    fn a_watched_socket_wakes_the_wait_and_an_unwatched_one_does_not() {
        let mut r = Readiness::new().unwrap();
        let (_w, source) = readable();
        r.watch_source(source.as_fd()).unwrap();
        assert!(woke_early(&mut r, LONG), "readable source");
        r.unwatch_source(source.as_fd());
        assert!(!woke_early(&mut r, Duration::from_millis(20)));

        let (_w, dump) = readable();
        r.watch_dump(dump.as_fd()).unwrap();
        r.watch_dump(dump.as_fd()).unwrap(); // twice: still one registration
        assert!(woke_early(&mut r, LONG), "readable dump socket");
        r.unwatch_dump(dump.as_fd());
        assert!(!woke_early(&mut r, Duration::from_millis(20)));
    }

    /// A wake-up from a handle wakes the wait once: consumed at the
    /// engine's wake-up, it does not wake the next wait.
    #[test]
    fn a_notification_wakes_one_wait_and_is_consumed() {
        let mut r = Readiness::new().unwrap();
        r.poller().notify().unwrap();
        assert!(woke_early(&mut r, LONG));
        r.poller().notify().unwrap();
        r.consume();
        assert!(!woke_early(&mut r, Duration::from_millis(20)));
    }

    /// A new dump socket that got the old one's descriptor number (the old
    /// one closed in between) is watched like any other.
    #[test]
    fn a_dump_socket_reusing_a_closed_ones_number_is_watched() {
        let mut r = Readiness::new().unwrap();
        let (_w1, first) = UnixStream::pair().unwrap();
        r.watch_dump(first.as_fd()).unwrap();
        r.unwatch_dump(first.as_fd());
        let number = first.as_raw_fd();
        let mut first = OwnedFd::from(first);
        let (_w2, second) = readable();
        // The second socket now lives under the first one's number.
        rustix::io::dup2(&second, &mut first).unwrap();
        drop(second);
        assert_eq!(first.as_raw_fd(), number);
        r.watch_dump(first.as_fd()).unwrap();
        assert!(woke_early(&mut r, LONG), "the reused number is watched");
    }
}
