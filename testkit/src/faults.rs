//! Fault-injecting wrappers around a real [`Backend`] and its route socket,
//! the way smoltcp's `FaultInjector` wraps a device: the production types
//! have no test switches; a test wraps them and turns faults on from
//! outside through the shared [`Faults`].
//!
//! ```no_run
//! # fn demo(real: Box<dyn netstate_sys::Backend>) {
//! let (backend, faults) = netstate_testkit::faults::FaultyBackend::new(real);
//! // … start a monitor over `backend`, then:
//! faults.go_silent(); // the route socket delivers no more hints
//! faults.fail_enumerations(true);
//! # }
//! ```

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use netstate_core::{OsError, RouteEvent, Targets};
use netstate_sys::{
    Backend, EnumerateFailure, EnumerationCounters, EnumerationPoll, EventSource, SourceRead,
};

/// The switches of a [`FaultyBackend`], shared with the test.
#[derive(Debug, Default)]
pub struct Faults {
    silent: AtomicBool,
    fail_reads: AtomicBool,
    close_once: AtomicBool,
    fail_enumerations: AtomicBool,
    hang_enumerations: AtomicBool,
    interrupt_next: AtomicU32,
    interrupted: AtomicU32,
    one_read_per_wake_up: AtomicBool,
    paused: Mutex<bool>,
    resumed: Condvar,
}

impl Faults {
    /// The route socket stops delivering hints, without any error (a route
    /// socket that "goes quiet forever"): what it reads is dropped.
    pub fn go_silent(&self) {
        self.silent.store(true, Ordering::SeqCst);
    }

    /// Every read of the route socket (this one and every rebound one)
    /// fails with an error, or stops failing.
    pub fn fail_reads(&self, on: bool) {
        self.fail_reads.store(on, Ordering::SeqCst);
    }

    /// The next read of the route socket reports its end (as if the kernel
    /// closed it): the monitor must rebind.
    pub fn close_socket(&self) {
        self.close_once.store(true, Ordering::SeqCst);
    }

    /// Each drain of the route socket stops after one datagram (the next
    /// read says nothing is queued, though more is), or drains it whole
    /// again: the reader of netstate's first version, which read once per
    /// readiness event and so left datagrams behind until the next one.
    pub fn read_one_per_wake_up(&self, on: bool) {
        self.one_read_per_wake_up.store(on, Ordering::SeqCst);
    }

    /// Every enumeration fails with an error, or stops failing.
    pub fn fail_enumerations(&self, on: bool) {
        self.fail_enumerations.store(on, Ordering::SeqCst);
    }

    /// Enumerations never answer (a dump socket the kernel never answers),
    /// or answer again.
    pub fn hang_enumerations(&self, on: bool) {
        self.hang_enumerations.store(on, Ordering::SeqCst);
    }

    /// The next `n` enumerations answer "interrupted" (the table changed
    /// under every attempt), as a busy kernel table does.
    pub fn interrupt_next(&self, n: u32) {
        self.interrupt_next.store(n, Ordering::SeqCst);
    }

    /// How many enumerations it has interrupted so far.
    #[must_use]
    pub fn interrupted(&self) -> u32 {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// The next read of the route socket blocks the monitor's loop until
    /// [`resume`](Self::resume): nothing is read meanwhile, so the socket's
    /// buffer can overflow. (It blocks the thread the loop runs on.)
    pub fn pause(&self) {
        *self.paused.lock().unwrap_or_else(PoisonError::into_inner) = true;
    }

    /// Lets a paused loop go on.
    pub fn resume(&self) {
        *self.paused.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.resumed.notify_all();
    }

    fn wait_if_paused(&self) {
        let mut paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
        while *paused {
            paused = self
                .resumed
                .wait(paused)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A [`Backend`] that passes everything to the one it wraps, except what
/// its [`Faults`] say.
pub struct FaultyBackend {
    inner: Box<dyn Backend>,
    faults: Arc<Faults>,
}

impl FaultyBackend {
    /// Wraps `inner`; the returned switches turn faults on.
    #[must_use]
    pub fn new(inner: Box<dyn Backend>) -> (Self, Arc<Faults>) {
        let faults = Arc::new(Faults::default());
        (
            FaultyBackend {
                inner,
                faults: faults.clone(),
            },
            faults,
        )
    }

    fn hanging(&self) -> bool {
        self.faults.hang_enumerations.load(Ordering::SeqCst)
    }

    /// Starts a full read (`None`) or a targeted one, with the faults
    /// injected the same way into both.
    fn start(&mut self, targets: Option<&Targets>) -> EnumerationPoll {
        let f = &self.faults;
        if f.fail_enumerations.load(Ordering::SeqCst) {
            return EnumerationPoll::Done(Err(EnumerateFailure::Failed(OsError::new(
                "injected enumeration failure",
            ))));
        }
        let take = f
            .interrupt_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if take.is_ok() {
            f.interrupted.fetch_add(1, Ordering::SeqCst);
            return EnumerationPoll::Done(Err(EnumerateFailure::Interrupted));
        }
        if self.hanging() {
            // Nothing is asked of the kernel: no answer will ever come.
            self.inner.cancel_enumeration();
            return EnumerationPoll::Waiting;
        }
        match targets {
            None => self.inner.start_enumeration(),
            Some(targets) => self.inner.start_refresh(targets),
        }
    }
}

impl Backend for FaultyBackend {
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>> {
        let inner = self.inner.open_source()?;
        Ok(Box::new(FaultySource {
            inner,
            faults: self.faults.clone(),
            read_in_this_drain: false,
        }))
    }

    fn start_enumeration(&mut self) -> EnumerationPoll {
        self.start(None)
    }

    fn start_refresh(&mut self, targets: &Targets) -> EnumerationPoll {
        self.start(Some(targets))
    }

    fn poll_enumeration(&mut self) -> EnumerationPoll {
        if self.hanging() {
            return EnumerationPoll::Waiting;
        }
        self.inner.poll_enumeration()
    }

    fn cancel_enumeration(&mut self) {
        self.inner.cancel_enumeration();
    }

    fn enumeration_fd(&self) -> Option<BorrowedFd<'_>> {
        self.inner.enumeration_fd()
    }

    fn take_retired_fd(&mut self) -> Option<OwnedFd> {
        self.inner.take_retired_fd()
    }

    fn counters(&self) -> EnumerationCounters {
        self.inner.counters()
    }
}

/// The route socket of a [`FaultyBackend`].
struct FaultySource {
    inner: Box<dyn EventSource>,
    faults: Arc<Faults>,
    /// A datagram was read since the last `WouldBlock` (the engine reads
    /// until `WouldBlock` at every wake-up).
    read_in_this_drain: bool,
}

impl AsFd for FaultySource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl EventSource for FaultySource {
    fn read(
        &mut self,
        buf: &mut [u8],
        out: &mut dyn FnMut(RouteEvent),
        malformed: &mut u32,
    ) -> io::Result<SourceRead> {
        let f = &self.faults;
        f.wait_if_paused();
        if f.fail_reads.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected read failure"));
        }
        if f.close_once.swap(false, Ordering::SeqCst) {
            return Ok(SourceRead::Closed);
        }
        if f.silent.load(Ordering::SeqCst) {
            // Read (so the socket does not stay readable) and drop it all.
            let mut dropped = 0;
            return match self.inner.read(buf, &mut |_| {}, &mut dropped)? {
                SourceRead::Overflow => Ok(SourceRead::Read),
                other => Ok(other),
            };
        }
        if f.one_read_per_wake_up.load(Ordering::SeqCst)
            && std::mem::take(&mut self.read_in_this_drain)
        {
            return Ok(SourceRead::WouldBlock);
        }
        let read = self.inner.read(buf, out, malformed)?;
        self.read_in_this_drain = read != SourceRead::WouldBlock;
        Ok(read)
    }
}
