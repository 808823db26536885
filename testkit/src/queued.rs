//! A route socket whose datagrams a test queues in memory, and a backend
//! around it: for driver and engine tests that need more datagrams queued
//! at once than any real socket holds (a socketpair queues 10 by default),
//! datagrams a kernel would rarely send (another sender's, unreadable ones,
//! an overflow, the end of the socket), or an enumeration that answers when the test
//! says — and need no root.
//!
//! The source is readable — level-triggered, like a socket with data — for
//! exactly as long as a datagram is queued: a byte sits in a stream
//! socketpair from the push that fills an empty queue to the read that
//! empties it. A driver therefore sees it the way it sees a route socket.
//!
//! ```no_run
//! # fn demo() -> std::io::Result<()> {
//! use netstate_core::{RouteEvent, RouteEventKind};
//! let (backend, queue) = netstate_testkit::queued::QueuedBackend::new()?;
//! queue.push(std::iter::repeat_n(RouteEvent::new(RouteEventKind::LinkNew), 3));
//! // … start a monitor over `Box::new(backend)`: it reads three datagrams.
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, PoisonError};

use netstate_core::{Config, DefaultRoutes, Interface, OsError, RouteEvent, Snapshot};
use netstate_sys::{Backend, EnumerationCounters, EnumerationPoll, EventSource, SourceRead};

/// A configuration under which only the source's readiness can wake a
/// monitor's loop: the debounce and maximum wait are an hour and there is
/// no reconcile (for tests that a lost wake-up must fail, not delay).
#[must_use]
pub fn readiness_only_config() -> Config {
    let hour = std::time::Duration::from_secs(3600);
    Config::builder()
        .debounce(hour)
        .max_wait(hour)
        .reconcile_interval(None)
        .build()
        .expect("an hour's debounce and maximum wait are valid")
}

/// One queued datagram, as the source reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datagram {
    /// A datagram carrying one hint.
    Hint(RouteEvent),
    /// A datagram from a sender other than the kernel (dropped).
    Foreign,
    /// A datagram of which this many messages could not be parsed.
    Malformed(u32),
    /// The socket's buffer overflowed: messages were lost.
    Overflow,
    /// The end of the socket: it must be replaced.
    Closed,
}

#[derive(Debug)]
struct Shared {
    /// One datagram per entry.
    datagrams: Mutex<VecDeque<Datagram>>,
    /// The writing end: holds one byte while a datagram is queued.
    signal: UnixStream,
}

/// The test's end: queues datagrams for the monitor to read.
#[derive(Clone, Debug)]
pub struct SourceQueue {
    shared: Arc<Shared>,
}

impl SourceQueue {
    /// Queues one datagram per event, in order, and makes the source
    /// readable if it was not. Once the monitor has dropped the source,
    /// they stay queued and are never read.
    pub fn push(&self, events: impl IntoIterator<Item = RouteEvent>) {
        self.push_datagrams(events.into_iter().map(Datagram::Hint));
    }

    /// Queues these datagrams, in order, as [`push`](Self::push) does.
    pub fn push_datagrams(&self, datagrams: impl IntoIterator<Item = Datagram>) {
        let mut queue = self
            .shared
            .datagrams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let was_empty = queue.is_empty();
        queue.extend(datagrams);
        if was_empty && !queue.is_empty() {
            // Fails only once the monitor dropped the source (its end is
            // closed): the datagrams then stay queued, never read.
            let _ = (&self.shared.signal).write_all(&[1]);
        }
    }

    /// Datagrams queued and not yet read.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shared
            .datagrams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether every queued datagram was read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The monitor's end: an [`EventSource`] reading the queue, one datagram
/// per read.
#[derive(Debug)]
struct QueuedSource {
    shared: Arc<Shared>,
    readable: UnixStream,
}

impl AsFd for QueuedSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.readable.as_fd()
    }
}

impl EventSource for QueuedSource {
    fn read(
        &mut self,
        _buf: &mut [u8],
        out: &mut dyn FnMut(RouteEvent),
        malformed: &mut u32,
    ) -> io::Result<SourceRead> {
        let mut queue = self
            .shared
            .datagrams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(datagram) = queue.pop_front() else {
            return Ok(SourceRead::WouldBlock);
        };
        if queue.is_empty() {
            // The byte the push that filled the queue wrote, under the
            // same lock: it is there to read.
            let mut byte = [0u8; 1];
            self.readable.read_exact(&mut byte)?;
        }
        drop(queue);
        Ok(match datagram {
            Datagram::Hint(event) => {
                out(event);
                SourceRead::Read
            }
            Datagram::Foreign => SourceRead::Foreign,
            Datagram::Malformed(n) => {
                *malformed = malformed.saturating_add(n);
                SourceRead::Read
            }
            Datagram::Overflow => SourceRead::Overflow,
            Datagram::Closed => SourceRead::Closed,
        })
    }
}

/// A [`Backend`] whose route socket is a [`SourceQueue`] and whose every
/// enumeration answers the same state (a loopback interface): at once, or,
/// [`gated`](Self::gated), once the test opens the gate (the enumeration's
/// descriptor becomes readable then, as a dump socket's does when the
/// kernel answers).
#[derive(Debug)]
pub struct QueuedBackend {
    source: Option<QueuedSource>,
    /// The enumeration's descriptor, readable once the gate is open.
    gate: Option<UnixStream>,
    /// The gate's byte was read: it stays open.
    opened: bool,
    counters: EnumerationCounters,
}

/// Opens a [`QueuedBackend::gated`] backend's enumerations.
#[derive(Debug)]
pub struct Gate(UnixStream);

impl Gate {
    /// Every enumeration (the one waiting, and every later one) answers.
    ///
    /// # Panics
    ///
    /// If the socketpair cannot be written (a test's set-up failure).
    pub fn open(&self) {
        (&self.0).write_all(&[1]).expect("open the gate");
    }
}

impl QueuedBackend {
    /// A backend and the queue that feeds its (single) route socket.
    ///
    /// # Errors
    ///
    /// If the signalling socketpair cannot be created.
    pub fn new() -> io::Result<(QueuedBackend, SourceQueue)> {
        let (signal, readable) = UnixStream::pair()?;
        readable.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            datagrams: Mutex::new(VecDeque::new()),
            signal,
        });
        let backend = QueuedBackend {
            source: Some(QueuedSource {
                shared: Arc::clone(&shared),
                readable,
            }),
            gate: None,
            opened: false,
            counters: EnumerationCounters::default(),
        };
        Ok((backend, SourceQueue { shared }))
    }

    /// The same, with enumerations that wait for the [`Gate`].
    ///
    /// # Errors
    ///
    /// If a socketpair cannot be created.
    pub fn gated() -> io::Result<(QueuedBackend, SourceQueue, Gate)> {
        let (mut backend, queue) = QueuedBackend::new()?;
        let (opener, gate) = UnixStream::pair()?;
        gate.set_nonblocking(true)?;
        backend.gate = Some(gate);
        Ok((backend, queue, Gate(opener)))
    }

    /// The counters it reports (as a real backend counts its dumps).
    #[must_use]
    pub fn with_counters(mut self, counters: EnumerationCounters) -> Self {
        self.counters = counters;
        self
    }

    fn answer(&mut self) -> EnumerationPoll {
        if let (Some(mut gate), false) = (self.gate.as_ref(), self.opened) {
            let mut byte = [0u8; 1];
            match gate.read(&mut byte) {
                Ok(1) => self.opened = true,
                _ => return EnumerationPoll::Waiting,
            }
        }
        EnumerationPoll::Done(
            Snapshot::new(vec![Interface::new(1, "lo")], DefaultRoutes::default())
                .map_err(|e| OsError::new(e.to_string()).into()),
        )
    }
}

impl Backend for QueuedBackend {
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>> {
        match self.source.take() {
            Some(source) => Ok(Box::new(source)),
            None => Err(io::Error::other(
                "a queued source opens once: it cannot be rebound",
            )),
        }
    }

    fn start_enumeration(&mut self) -> EnumerationPoll {
        self.answer()
    }

    fn poll_enumeration(&mut self) -> EnumerationPoll {
        self.answer()
    }

    fn enumeration_fd(&self) -> Option<BorrowedFd<'_>> {
        // Watched while closed; once open, every answer comes at once.
        self.gate.as_ref().filter(|_| !self.opened).map(AsFd::as_fd)
    }

    fn counters(&self) -> EnumerationCounters {
        self.counters
    }
}
