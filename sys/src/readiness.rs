//! One descriptor that is readable whenever the engine has something to
//! do: its route socket, its enumeration socket, or a wake-up from a
//! [`Handle`](crate::Handle). A driver waits on that one descriptor
//! ([`Engine::readiness_fd`](crate::Engine::readiness_fd)), with whatever
//! its runtime uses (tokio's `AsyncFd`, async-io's `Async`, mio's
//! `SourceFd`, or a plain blocking wait), and it never changes for the
//! engine's life, whatever sockets come and go behind it.
//!
//! It is a `polling::Poller` (epoll on Linux, kqueue on BSD and macOS) with
//! the sockets registered level-triggered, and a [`Notifier`] as the
//! wake-up.
//!
//! # The wake-up on Linux: an eventfd of our own
//!
//! `polling`'s own `notify` is re-armed by `Poller::wait`, so the engine
//! had to call `wait` (with a zero timeout) at every wake-up to clear it:
//! five system calls (`timerfd_settime`, `epoll_ctl` twice, `epoll_pwait`,
//! `read`) on every change, measured with `strace -c` over 200 changes of
//! the peers benchmark's latency worker, against about 13 for the rest of
//! netstate's work on a change. On Linux the wake-up is therefore an
//! eventfd registered level-triggered like the sockets, with a flag set
//! after each write: a wake-up reads the eventfd only when the flag says a
//! handle wrote to it, and otherwise makes no system call at all here. The
//! level-triggered sockets need no re-arming, and the poller's descriptor
//! is readable exactly while one of them (or the eventfd) is. Elsewhere
//! `polling`'s notify and the zero-timeout `wait` stay.

use std::io;
#[cfg(any(test, target_os = "linux"))]
use std::os::fd::OwnedFd;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};

/// The key of the route socket.
const SOURCE: usize = 0;
/// The key of the enumeration socket.
const DUMP: usize = 1;
/// The key of the notifier's eventfd (Linux).
#[cfg(target_os = "linux")]
const NOTIFY: usize = 2;

/// How a [`Handle`](crate::Handle) wakes the engine: see the module docs.
#[derive(Debug)]
pub(crate) struct Notifier {
    #[cfg(target_os = "linux")]
    eventfd: OwnedFd,
    /// Set after each write to the eventfd, cleared by the wake-up that
    /// reads it.
    #[cfg(target_os = "linux")]
    pending: std::sync::atomic::AtomicBool,
    #[cfg(not(target_os = "linux"))]
    poller: Arc<Poller>,
}

impl Notifier {
    /// Makes the poller's descriptor readable until the engine's next
    /// wake-up has consumed it.
    pub(crate) fn notify(&self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::sync::atomic::Ordering;
            match rustix::io::write(&self.eventfd, &1u64.to_ne_bytes()) {
                // AGAIN: the counter is full, so it is readable anyway.
                Ok(_) | Err(rustix::io::Errno::AGAIN) => {}
                Err(e) => return Err(e.into()),
            }
            // The flag after the write: a wake-up that sees it finds the
            // eventfd readable. (A wake-up between the two sees no flag and
            // leaves the eventfd readable; the handle's request is seen all
            // the same, as it is stored before this call, and the next
            // wake-up, after this store, reads the eventfd. The other order
            // could leave a readable eventfd with no flag for good, and a
            // runtime that re-arms one-shot, as async-io does, would then
            // wake the engine for ever.)
            self.pending.store(true, Ordering::Release);
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.poller.notify()
        }
    }
}

/// The engine's poller and what is registered in it.
pub(crate) struct Readiness {
    /// Declared before `notifier`: dropped first (see `Readiness::new`).
    poller: Arc<Poller>,
    notifier: Arc<Notifier>,
    events: Events,
    /// The descriptors registered, so that each is deleted before it closes.
    source: Option<RawFd>,
    dump: Option<RawFd>,
}

impl Readiness {
    pub(crate) fn new() -> io::Result<Self> {
        let poller = Arc::new(Poller::new()?);
        #[cfg(target_os = "linux")]
        let notifier = {
            use rustix::event::{eventfd, EventfdFlags};
            let eventfd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
            // SAFETY: `polling` requires a descriptor to leave the poller
            // before it is closed. The eventfd closes with the last
            // `Arc<Notifier>`; on Linux only this `Readiness` holds the
            // poller, and its `poller` field is declared before `notifier`,
            // so the poller (and its epoll instance) is always closed first.
            unsafe {
                poller.add_with_mode(
                    eventfd.as_raw_fd(),
                    Event::readable(NOTIFY),
                    PollMode::Level,
                )?;
            }
            Notifier {
                eventfd,
                pending: std::sync::atomic::AtomicBool::new(false),
            }
        };
        #[cfg(not(target_os = "linux"))]
        let notifier = Notifier {
            poller: poller.clone(),
        };
        Ok(Readiness {
            poller,
            notifier: Arc::new(notifier),
            events: Events::new(),
            source: None,
            dump: None,
        })
    }

    /// The wake-up, for the handles.
    pub(crate) fn notifier(&self) -> &Arc<Notifier> {
        &self.notifier
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

    /// Clears a pending wake-up from a handle, so that the descriptor is
    /// readable again only when something new happens. On Linux, without a
    /// wake-up pending, no system call.
    pub(crate) fn consume(&mut self) {
        #[cfg(target_os = "linux")]
        {
            use std::sync::atomic::Ordering;
            if self.notifier.pending.swap(false, Ordering::AcqRel) {
                let mut counter = [0u8; 8];
                // AGAIN: already read (a wait reported it, and a wake-up
                // before this one read it).
                let _ = rustix::io::read(&self.notifier.eventfd, &mut counter);
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.events.clear();
            let _ = self.poller.wait(&mut self.events, Some(Duration::ZERO));
        }
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
        r.notifier().notify().unwrap();
        assert!(woke_early(&mut r, LONG));
        r.consume();
        r.notifier().notify().unwrap();
        r.notifier().notify().unwrap();
        r.consume();
        assert!(!woke_early(&mut r, Duration::from_millis(20)));
        // Consumed with none pending: a later one still wakes.
        r.consume();
        r.notifier().notify().unwrap();
        assert!(woke_early(&mut r, LONG));
    }

    /// What a runtime sees of the poller's descriptor, registered in a
    /// poller of its own the way tokio and mio register it (edge) and the
    /// way async-io does (one-shot, armed again after each event): after a
    /// wake-up that read the socket and consumed, it is not readable (no
    /// busy loop); a new datagram, or a handle's wake-up, makes it
    /// readable again.
    #[test]
    fn a_runtime_waiting_on_the_descriptor_sees_each_new_thing_once() {
        for mode in [PollMode::Edge, PollMode::Oneshot] {
            let mut r = Readiness::new().unwrap();
            let (mut w, mut source) = UnixStream::pair().unwrap();
            r.watch_source(source.as_fd()).unwrap();
            // The runtime's own descriptor for the poller (a duplicate: the
            // same epoll instance).
            let fd = r.fd().try_clone_to_owned().unwrap();
            let outer = Poller::new().unwrap();
            // SAFETY: deleted below, before `fd` is dropped.
            unsafe {
                outer
                    .add_with_mode(fd.as_raw_fd(), Event::readable(7), mode)
                    .unwrap();
            }
            let mut events = Events::new();
            let mut outer_woke = |timeout: Duration| {
                events.clear();
                let n = outer.wait(&mut events, Some(timeout)).unwrap();
                if mode == PollMode::Oneshot {
                    outer.modify(&fd, Event::readable(7)).unwrap();
                }
                n > 0
            };
            let mut byte = [0u8; 1];
            for _ in 0..3 {
                w.write_all(&[1]).unwrap();
                assert!(outer_woke(LONG), "{mode:?}: a datagram");
                std::io::Read::read_exact(&mut source, &mut byte).unwrap();
                r.consume();
                assert!(
                    !outer_woke(Duration::from_millis(20)),
                    "{mode:?}: nothing new"
                );
                r.notifier().notify().unwrap();
                assert!(outer_woke(LONG), "{mode:?}: a handle's wake-up");
                r.consume();
                assert!(!outer_woke(Duration::from_millis(20)), "{mode:?}: consumed");
            }
            outer.delete(&fd).unwrap();
            r.unwatch_source(source.as_fd());
        }
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
