//! A simulated [`Backend`] for the real `netstate_sys::Engine`, so that the
//! engine's own loop (its batching of a socket drain, its handling of
//! enumerations that answer at once, later, interrupted or failed) runs
//! under property tests on virtual time.
//!
//! [`sim_backend`] gives two halves sharing one state:
//!
//! * [`SimBackend`], handed to `Engine::new`. Its route socket is one end of
//!   a `UnixDatagram` pair (non-blocking), so the engine's poller watches a
//!   real descriptor; each datagram carries one [`RouteEvent`] in the small
//!   encoding of [`encode_hint`]. Its enumerations read a [`NetTable`].
//! * [`SimBackendControl`], kept by the test: it changes the table
//!   ([`apply`](SimBackendControl::apply)), writes hints into the other end
//!   of the socket, sets the virtual instant at which a waiting enumeration
//!   answers, sets the enumeration faults and counts enumerations started.
//!   It also writes the socket's own faults in band: an overflow
//!   ([`overflow`](SimBackendControl::overflow): the read that meets it
//!   answers `SourceRead::Overflow`, as a kernel's `ENOBUFS`) and a failure
//!   ([`fail_socket`](SimBackendControl::fail_socket): that read fails, and
//!   the engine must rebind).
//!
//! Nothing here reads a clock or sleeps: a waiting enumeration answers when
//! the test has moved the control's virtual `now` past its ready instant.
//! Every fault is drawn from a [`SimRng`] keyed by the seed and the
//! enumeration's number.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netstate_core::{
    Family, InterfaceName, OsError, RouteEvent, RouteEventKind, Snapshot, Targets,
};
use netstate_sys::{Backend, EnumerateFailure, EnumerationPoll, EventSource, SourceRead};

use crate::net::{NetOp, NetTable};
use crate::rng::SimRng;
use crate::sim::refresh_of;

/// The first byte of every datagram [`encode_hint`] writes.
pub const HINT_MAGIC: u8 = 0xE5;

/// The datagram that reads as an overflow of the route socket.
pub(crate) const OVERFLOW_MARK: &[u8] = b"netstate-sim: the route socket overflowed";
/// The datagram whose read fails.
pub(crate) const FAILURE_MARK: &[u8] = b"netstate-sim: the route socket failed";
/// The datagram that reads as the kernel closing the route socket.
pub(crate) const CLOSED_MARK: &[u8] = b"netstate-sim: the route socket closed";

/// How the simulated enumerations misbehave, each per enumeration started,
/// in thousandths (drawn in this order; the rest answer at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackendFaults {
    /// Answers `Done(Err(Interrupted))` at once.
    pub interrupted_per_mille: u16,
    /// Answers `Done(Err(Failed(..)))` at once.
    pub failed_per_mille: u16,
    /// Answers `Waiting`, then the table as it is when polled at or after
    /// a ready instant `waiting_ms` after the control's `now` at the start.
    pub waiting_per_mille: u16,
    /// The range of a waiting enumeration's delay, in milliseconds.
    pub waiting_ms: [u64; 2],
}

impl BackendFaults {
    /// Every enumeration answers the truth at once.
    #[must_use]
    pub fn none() -> Self {
        BackendFaults::default()
    }
}

/// The enumeration the backend is running.
#[derive(Clone, Copy, Debug)]
struct Pending {
    ready_at: Instant,
}

#[derive(Debug)]
struct State {
    seed: u64,
    table: NetTable,
    faults: BackendFaults,
    now: Instant,
    started: u64,
    /// Of `started`, the targeted reads.
    targeted: u64,
    cancelled: u64,
    pending: Option<Pending>,
    /// What the read started last covers: `None` for the whole table, or
    /// the targets of a targeted read (answered with a refresh).
    targets: Option<Targets>,
    /// An enumeration answered `Interrupted` since the last `set_now`.
    interrupted_since_now: bool,
    restarted_at_once: u64,
    /// The test's end of the current route socket.
    peer: Option<UnixDatagram>,
    sources_opened: u64,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The engine's half: give it to `netstate_sys::Engine::new`.
#[derive(Debug)]
pub struct SimBackend {
    state: Arc<Mutex<State>>,
}

/// The test's half: the table, the socket's other end, the virtual time
/// and the counters.
#[derive(Clone, Debug)]
pub struct SimBackendControl {
    state: Arc<Mutex<State>>,
}

/// A backend over `table` and its control. `now` is the virtual instant
/// the engine is created at; `seed` keys every fault drawn.
#[must_use]
pub fn sim_backend(
    seed: u64,
    table: NetTable,
    faults: BackendFaults,
    now: Instant,
) -> (SimBackend, SimBackendControl) {
    let state = Arc::new(Mutex::new(State {
        seed,
        table,
        faults,
        now,
        started: 0,
        targeted: 0,
        cancelled: 0,
        pending: None,
        targets: None,
        interrupted_since_now: false,
        restarted_at_once: 0,
        peer: None,
        sources_opened: 0,
    }));
    (
        SimBackend {
            state: state.clone(),
        },
        SimBackendControl { state },
    )
}

fn kind_code(kind: RouteEventKind) -> u8 {
    match kind {
        RouteEventKind::LinkNew => 0,
        RouteEventKind::LinkDel => 1,
        RouteEventKind::AddrNew => 2,
        RouteEventKind::AddrDel => 3,
        RouteEventKind::RouteNew => 4,
        RouteEventKind::RouteDel => 5,
        RouteEventKind::Rule => 6,
        // A kind added later travels as "unknown": a hint all the same.
        _ => 7,
    }
}

fn kind_of(code: u8) -> Option<RouteEventKind> {
    Some(match code {
        0 => RouteEventKind::LinkNew,
        1 => RouteEventKind::LinkDel,
        2 => RouteEventKind::AddrNew,
        3 => RouteEventKind::AddrDel,
        4 => RouteEventKind::RouteNew,
        5 => RouteEventKind::RouteDel,
        6 => RouteEventKind::Rule,
        7 => RouteEventKind::Unknown,
        _ => return None,
    })
}

const HAS_FAMILY_V4: u8 = 1;
const HAS_FAMILY_V6: u8 = 2;
const HAS_INDEX: u8 = 4;
const HAS_TABLE: u8 = 8;
const HAS_PREFIX: u8 = 16;
const HAS_NAME: u8 = 32;
const HEADER_LEN: usize = 3 + 4 + 4 + 1 + 1;

/// One hint as one datagram: magic, kind, presence bits, index (u32 LE),
/// table (u32 LE), prefix length, name length, name bytes.
#[must_use]
pub fn encode_hint(e: &RouteEvent) -> Vec<u8> {
    let mut bits = 0;
    match e.family {
        Some(Family::V4) => bits |= HAS_FAMILY_V4,
        Some(Family::V6) => bits |= HAS_FAMILY_V6,
        _ => {}
    }
    bits |= if e.index.is_some() { HAS_INDEX } else { 0 };
    bits |= if e.table.is_some() { HAS_TABLE } else { 0 };
    bits |= if e.dst_prefix_len.is_some() {
        HAS_PREFIX
    } else {
        0
    };
    bits |= if e.name.is_some() { HAS_NAME } else { 0 };
    let name = e.name.as_ref().map(InterfaceName::as_bytes).unwrap_or(&[]);
    let mut out = Vec::with_capacity(HEADER_LEN + name.len());
    out.extend_from_slice(&[HINT_MAGIC, kind_code(e.kind), bits]);
    out.extend_from_slice(&e.index.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&e.table.unwrap_or(0).to_le_bytes());
    out.push(e.dst_prefix_len.unwrap_or(0));
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out
}

/// The hint of one datagram, or `None` if it is malformed.
#[must_use]
pub fn decode_hint(b: &[u8]) -> Option<RouteEvent> {
    if b.len() < HEADER_LEN || b[0] != HINT_MAGIC {
        return None;
    }
    let kind = kind_of(b[1])?;
    let bits = b[2];
    if bits & !(HAS_FAMILY_V4 | HAS_FAMILY_V6 | HAS_INDEX | HAS_TABLE | HAS_PREFIX | HAS_NAME) != 0
        || bits & (HAS_FAMILY_V4 | HAS_FAMILY_V6) == (HAS_FAMILY_V4 | HAS_FAMILY_V6)
    {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let name_len = usize::from(b[12]);
    if b.len() != HEADER_LEN + name_len || (bits & HAS_NAME == 0 && name_len != 0) {
        return None;
    }
    let mut e = RouteEvent::new(kind);
    if bits & HAS_FAMILY_V4 != 0 {
        e.family = Some(Family::V4);
    }
    if bits & HAS_FAMILY_V6 != 0 {
        e.family = Some(Family::V6);
    }
    if bits & HAS_INDEX != 0 {
        e.index = Some(u32_at(3));
    }
    if bits & HAS_TABLE != 0 {
        e.table = Some(u32_at(7));
    }
    if bits & HAS_PREFIX != 0 {
        e.dst_prefix_len = Some(b[11]);
    }
    if bits & HAS_NAME != 0 {
        e.name = Some(InterfaceName::new(&b[HEADER_LEN..]));
    }
    Some(e)
}

/// The engine's end of the route socket.
#[derive(Debug)]
pub struct SimSource {
    sock: UnixDatagram,
}

impl SimSource {
    /// The engine's end of a fresh pair (both ends non-blocking) and the
    /// test's end, which writes hints and the marks.
    pub(crate) fn pair() -> io::Result<(SimSource, UnixDatagram)> {
        let (ours, theirs) = UnixDatagram::pair()?;
        ours.set_nonblocking(true)?;
        theirs.set_nonblocking(true)?;
        Ok((SimSource { sock: ours }, theirs))
    }
}

impl AsFd for SimSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl EventSource for SimSource {
    fn read(
        &mut self,
        buf: &mut [u8],
        out: &mut dyn FnMut(RouteEvent),
        malformed: &mut u32,
    ) -> io::Result<SourceRead> {
        match self.sock.recv(buf) {
            Ok(n) if &buf[..n] == OVERFLOW_MARK => Ok(SourceRead::Overflow),
            Ok(n) if &buf[..n] == FAILURE_MARK => Err(io::Error::other("simulated socket failure")),
            Ok(n) if &buf[..n] == CLOSED_MARK => Ok(SourceRead::Closed),
            Ok(n) => {
                match decode_hint(&buf[..n]) {
                    Some(e) => out(e),
                    None => *malformed += 1,
                }
                Ok(SourceRead::Read)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(SourceRead::WouldBlock),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(SourceRead::Read),
            Err(e) => Err(e),
        }
    }
}

impl State {
    fn answer(&self) -> EnumerationPoll {
        let table = self.table.snapshot();
        match &self.targets {
            None => EnumerationPoll::Done(Ok(table.clone())),
            Some(targets) => match refresh_of(table, targets.clone()) {
                Ok(refresh) => EnumerationPoll::Refreshed(refresh),
                Err(e) => EnumerationPoll::Done(Err(EnumerateFailure::Failed(OsError::new(
                    e.to_string(),
                )))),
            },
        }
    }
}

impl Backend for SimBackend {
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>> {
        let (source, theirs) = SimSource::pair()?;
        let mut s = lock(&self.state);
        s.peer = Some(theirs);
        s.sources_opened += 1;
        Ok(Box::new(source))
    }

    fn start_enumeration(&mut self) -> EnumerationPoll {
        self.start(None)
    }

    fn start_refresh(&mut self, targets: &Targets) -> EnumerationPoll {
        self.start(Some(targets.clone()))
    }

    fn poll_enumeration(&mut self) -> EnumerationPoll {
        let mut s = lock(&self.state);
        match s.pending {
            Some(p) if s.now >= p.ready_at => {
                s.pending = None;
                s.answer()
            }
            _ => EnumerationPoll::Waiting,
        }
    }

    fn cancel_enumeration(&mut self) {
        let mut s = lock(&self.state);
        if s.pending.take().is_some() {
            s.cancelled += 1;
        }
    }
}

impl SimBackend {
    /// Starts a read of the whole table (`targets` `None`) or a targeted
    /// one, with the same faults drawn for both.
    fn start(&mut self, targets: Option<Targets>) -> EnumerationPoll {
        let mut s = lock(&self.state);
        s.started += 1;
        if targets.is_some() {
            s.targeted += 1;
        }
        s.targets = targets;
        s.pending = None;
        if std::mem::take(&mut s.interrupted_since_now) {
            s.restarted_at_once += 1;
        }
        let f = s.faults;
        let mut rng = SimRng::keyed(s.seed, &[0xe5, s.started]);
        let draw = rng.below(1000);
        let (i, fl, w) = (
            u64::from(f.interrupted_per_mille),
            u64::from(f.failed_per_mille),
            u64::from(f.waiting_per_mille),
        );
        if draw < i {
            s.interrupted_since_now = true;
            EnumerationPoll::Done(Err(EnumerateFailure::Interrupted))
        } else if draw < i + fl {
            EnumerationPoll::Done(Err(EnumerateFailure::Failed(OsError::new(format!(
                "simulated failure of enumeration {}",
                s.started
            )))))
        } else if draw < i + fl + w {
            let delay = rng.millis(f.waiting_ms);
            let ready_at = s.now + delay;
            s.pending = Some(Pending { ready_at });
            EnumerationPoll::Waiting
        } else {
            s.answer()
        }
    }
}

impl SimBackendControl {
    /// Applies `op` to the table and returns the hints a kernel would send
    /// (not yet written: see [`send`](Self::send)).
    pub fn apply(&self, op: &NetOp) -> Vec<RouteEvent> {
        op.apply(&mut lock(&self.state).table)
    }

    /// The truth: the table as an enumeration would read it now.
    #[must_use]
    pub fn truth(&self) -> Snapshot {
        lock(&self.state).table.snapshot().clone()
    }

    /// Writes one datagram per hint into the route socket.
    pub fn send(&self, hints: &[RouteEvent]) -> io::Result<()> {
        for h in hints {
            self.send_raw(&encode_hint(h))?;
        }
        Ok(())
    }

    /// Writes one datagram of these bytes (malformed ones included).
    pub fn send_raw(&self, bytes: &[u8]) -> io::Result<()> {
        let s = lock(&self.state);
        let peer = s
            .peer
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no route socket open"))?;
        peer.send(bytes).map(|_| ())
    }

    /// Writes an overflow into the route socket: the read that reaches it
    /// answers `SourceRead::Overflow` (hints lost before it are the test's
    /// to leave unsent).
    pub fn overflow(&self) -> io::Result<()> {
        self.send_raw(OVERFLOW_MARK)
    }

    /// Writes a failure into the route socket: the read that reaches it
    /// fails, the engine closes that socket and must open another
    /// ([`sources_opened`](Self::sources_opened)). Until it does, writes
    /// fail, as hints to a closed socket are lost.
    pub fn fail_socket(&self) -> io::Result<()> {
        self.send_raw(FAILURE_MARK)
    }

    /// Moves the virtual instant waiting enumerations compare with. Call
    /// it before every wake-up: it also marks the wake-up's start for
    /// [`restarted_at_once`](Self::restarted_at_once).
    pub fn set_now(&self, now: Instant) {
        let mut s = lock(&self.state);
        s.now = now;
        s.interrupted_since_now = false;
    }

    /// Changes the faults of enumerations started from now on.
    pub fn set_faults(&self, faults: BackendFaults) {
        lock(&self.state).faults = faults;
    }

    /// Enumerations started (including ones started again at once).
    #[must_use]
    pub fn started(&self) -> u64 {
        lock(&self.state).started
    }

    /// Enumerations started in the same wake-up right after one answered
    /// `Interrupted`: the engine's own immediate retries of a first
    /// enumeration on a busy host, which the Reconciler never asked for
    /// (any enumeration it asks for after one ended waits for the next
    /// wake-up), so its `Stats::enumerations` does not count them.
    #[must_use]
    pub fn restarted_at_once(&self) -> u64 {
        lock(&self.state).restarted_at_once
    }

    /// Waiting enumerations abandoned by the engine.
    #[must_use]
    pub fn cancelled(&self) -> u64 {
        lock(&self.state).cancelled
    }

    /// Of the enumerations started, how many were targeted reads.
    #[must_use]
    pub fn targeted(&self) -> u64 {
        lock(&self.state).targeted
    }

    /// Whether an enumeration is waiting for its answer.
    #[must_use]
    pub fn pending(&self) -> bool {
        lock(&self.state).pending.is_some()
    }

    /// When the waiting enumeration answers, if one waits.
    #[must_use]
    pub fn ready_at(&self) -> Option<Instant> {
        lock(&self.state).pending.map(|p| p.ready_at)
    }

    /// How many route sockets the engine opened.
    #[must_use]
    pub fn sources_opened(&self) -> u64 {
        lock(&self.state).sources_opened
    }

    /// The sleep clock of a host that never suspends: `base` plus the
    /// virtual time elapsed from `start` to `now`.
    #[must_use]
    pub fn sleep_clock(base: Duration, start: Instant, now: Instant) -> Duration {
        base + now.saturating_duration_since(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_round_trip_and_garbage_is_refused() {
        let hints = [
            RouteEvent::new(RouteEventKind::LinkNew)
                .with_index(3)
                .with_name("eth0"),
            RouteEvent::new(RouteEventKind::AddrDel)
                .with_family(Family::V6)
                .with_index(7),
            RouteEvent::new(RouteEventKind::RouteNew)
                .with_family(Family::V4)
                .with_index(2)
                .with_route(254, 0),
            RouteEvent::new(RouteEventKind::Unknown),
        ];
        for h in hints {
            assert_eq!(decode_hint(&encode_hint(&h)), Some(h));
        }
        assert_eq!(decode_hint(&[]), None);
        assert_eq!(decode_hint(&[HINT_MAGIC, 9, 0]), None);
        let mut bad = encode_hint(&hints[0]);
        bad.push(0);
        assert_eq!(decode_hint(&bad), None);
    }
}
