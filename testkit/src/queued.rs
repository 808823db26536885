//! A route socket whose datagrams a test queues in memory, and a backend
//! around it: for driver tests that need more datagrams queued at once than
//! any real socket holds (a socketpair queues 10 by default), and need no
//! root.
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

use netstate_core::{DefaultRoutes, Interface, OsError, RouteEvent, Snapshot};
use netstate_sys::{Backend, EnumerationPoll, EventSource, SourceRead};

#[derive(Debug)]
struct Shared {
    /// One datagram per entry, each carrying one hint.
    datagrams: Mutex<VecDeque<RouteEvent>>,
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
    /// readable if it was not.
    ///
    /// # Panics
    ///
    /// If the signalling socketpair cannot be written (a test's set-up
    /// failure, not a monitor's).
    pub fn push(&self, events: impl IntoIterator<Item = RouteEvent>) {
        let mut queue = self
            .shared
            .datagrams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let was_empty = queue.is_empty();
        queue.extend(events);
        if was_empty && !queue.is_empty() {
            (&self.shared.signal)
                .write_all(&[1])
                .expect("signal the queued source");
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
        _malformed: &mut u32,
    ) -> io::Result<SourceRead> {
        let mut queue = self
            .shared
            .datagrams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(event) = queue.pop_front() else {
            return Ok(SourceRead::WouldBlock);
        };
        if queue.is_empty() {
            // The byte the push that filled the queue wrote, under the
            // same lock: it is there to read.
            let mut byte = [0u8; 1];
            self.readable.read_exact(&mut byte)?;
        }
        drop(queue);
        out(event);
        Ok(SourceRead::Read)
    }
}

/// A [`Backend`] whose route socket is a [`SourceQueue`] and whose every
/// enumeration answers the same state (a loopback interface), at once.
#[derive(Debug)]
pub struct QueuedBackend {
    source: Option<QueuedSource>,
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
        };
        Ok((backend, SourceQueue { shared }))
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
        EnumerationPoll::Done(
            Snapshot::new(vec![Interface::new(1, "lo")], DefaultRoutes::default())
                .map_err(|e| OsError::new(e.to_string()).into()),
        )
    }
}
