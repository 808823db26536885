//! One enumeration as a conversation with the kernel: requests out,
//! datagrams in, a [`Snapshot`] (or the reason there is none) at the end.
//!
//! [`Conversation`] is the whole of an enumeration's logic with no socket,
//! no clock and no blocking call, so the monitor's event loop can run it
//! over a non-blocking netlink socket it reads when readable, and the
//! blocking `netstate_sys::Enumerator` is a loop over it. The caller:
//!
//! 1. sends what [`Conversation::poll_transmit`] gives (at most one request
//!    is ever outstanding; poll until `None` after [`Conversation::new`]
//!    and after every `handle_*` call);
//! 2. feeds every datagram the kernel sends on the socket to
//!    [`Conversation::handle_datagram`], and a failed send or receive to
//!    [`Conversation::handle_socket_error`];
//! 3. replaces the socket whenever [`Conversation::needs_fresh_socket`]
//!    says so, then calls [`Conversation::socket_replaced`];
//! 4. stops at [`Conversation::poll_outcome`].
//!
//! **The requests.** A link dump, an address dump, then per family (IPv4,
//! then IPv6) a FIB-match lookup per probe until one is decided by the rule
//! of [`super::lookup`]: a matched prefix of 0 or 1 is the default route; a
//! longer one (a more specific route covering the probe) or a reject route
//! sends the search to the next probe, and with none left the family has
//! no default route; `ENETUNREACH` ends the search; a default route naming
//! no single interface (multipath) asks the plain lookup of the same probe
//! for its path. Usually four requests in all. Sequence numbers go up by
//! one per request from `first_seq` (wrapping); a reply with another
//! sequence number (left over from an earlier request) is skipped.
//!
//! **A targeted read** ([`Conversation::targeted`]) asks, per targeted
//! interface in increasing index order, for that link alone and for its
//! addresses (a dump the kernel filters by index on a socket with
//! `NETLINK_GET_STRICT_CHK`), then runs the same route lookups, and ends in
//! [`Outcome::Refreshed`]. A link the kernel answers `ENODEV` for is gone.
//! The targets whose addresses came in more than one datagram are noted
//! ([`Refresh::spanned`]): the kernel never marks a dump filtered by index
//! as interrupted, so only the caller, who sees the hints, can tell whether
//! such an answer may be torn.
//! Its cost does not depend on how many other interfaces there are (as
//! long as the kernel filters the address dump; a kernel that does not
//! answers every address, which is dropped, so the read stays correct).
//!
//! **Starting again.** A dump the kernel marks interrupted
//! (`NLM_F_DUMP_INTR`) is read on to its `NLMSG_DONE` (the kernel refuses a
//! new dump with `EBUSY` on a socket whose dump is unfinished), and only
//! then is the enumeration started again, from the link dump, with a new
//! sequence number. So is one whose replies mix two states
//! ([`DumpError::Inconsistent`], [`DumpError::Snapshot`]), and one refused
//! with `EBUSY`, which also asks for a fresh socket first. Each counts in
//! [`Conversation::interrupted_dumps`]; at the [`ATTEMPTS`]th the outcome
//! is [`Outcome::Interrupted`]: the table is changing faster than it can be
//! read, which is no failure (read again later, without backoff).
//!
//! **A fresh socket.** Whenever a request ends other than by its whole
//! answer being read (`EBUSY` or another kernel error, a reply that cannot
//! be framed, `NLMSG_OVERRUN`, a socket error or the caller's reply
//! timeout), what is left of the answer must never meet the next request:
//! [`Conversation::needs_fresh_socket`] is true, and no request is sent
//! until [`Conversation::socket_replaced`]. It stays true after the outcome
//! too, so a caller that keeps its socket for the next enumeration knows
//! to replace it.
//!
//! **No clock.** The conversation never waits; the caller's reply timer
//! (5 s in `netstate-sys`) is reported as
//! `handle_socket_error(ETIMEDOUT)`, which fails the conversation.
//!
//! It never panics, whatever the datagrams and in whatever state (a
//! proptest below feeds it arbitrary and corrupted replies), and allocates
//! only the requests it returns and what the snapshot needs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::dump::{DumpError, Progress, SnapshotCollector, Stage};
use super::lookup::Verdict;
use super::requests::{
    addr_dump, addr_dump_of, link_dump, link_get, route_get, route_get_fib_match,
};
use crate::refresh::{Refresh, Targets};
use crate::snapshot::Snapshot;

/// How many times an enumeration is read in all when every read is
/// interrupted (or refused with `EBUSY`, or mixes two states) before the
/// outcome is [`Outcome::Interrupted`].
pub const ATTEMPTS: u32 = 3;

/// `EINTR`: a call interrupted by a signal; try it again.
const EINTR: i32 = 4;
/// `EAGAIN` / `EWOULDBLOCK`: nothing to read yet on a non-blocking socket.
const EAGAIN: i32 = 11;

/// How a conversation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The whole table, read consistently.
    Done(Snapshot),
    /// What a [`Conversation::targeted`] read found.
    Refreshed(Refresh),
    /// The table changed under every attempt ([`ATTEMPTS`] reads, each read
    /// to its end): read again later, no backoff.
    Interrupted,
    /// The replies could not give a snapshot (a kernel error other than
    /// `EBUSY`, a reply that cannot be framed, a socket error:
    /// [`DumpError::Socket`]).
    Failed(DumpError),
}

/// One request of an enumeration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    Links,
    Addrs,
    /// One link, by index (a targeted read).
    Link(u32),
    /// The addresses of one interface, by index (a targeted read).
    AddrsOf(u32),
    /// A FIB-match lookup towards probe number `probe` of the family.
    FibMatch {
        v6: bool,
        probe: usize,
    },
    /// The plain lookup of the same probe, for a multipath default route.
    Plain {
        v6: bool,
        probe: usize,
    },
}

impl Request {
    fn stage(self) -> Stage {
        match self {
            Request::Links => Stage::Links,
            Request::Link(_) => Stage::Link,
            Request::Addrs | Request::AddrsOf(_) => Stage::Addrs,
            Request::FibMatch { v6: false, .. } | Request::Plain { v6: false, .. } => {
                Stage::RouteV4
            }
            Request::FibMatch { v6: true, .. } | Request::Plain { v6: true, .. } => Stage::RouteV6,
        }
    }
}

/// Where the conversation stands. Decisions (the next request, the verdict
/// on a lookup, starting again, the outcome) are taken when polled, never
/// when fed.
#[derive(Debug)]
enum Step {
    /// This request is the next to send.
    Due(Request),
    /// This request is out (sequence number `seq`); its answer is being read.
    Awaiting { request: Request, seq: u32 },
    /// The answer to this request was read to its end.
    Answered(Request),
    /// This attempt ended with this error (read to its end, or the socket
    /// is to be replaced).
    AttemptFailed(DumpError),
    /// The outcome is decided.
    Over,
}

/// One enumeration as a conversation with the kernel: requests out,
/// datagrams in. See the [module docs](self).
#[derive(Debug)]
pub struct Conversation {
    next_seq: u32,
    probes_v4: [Ipv4Addr; 4],
    probes_v6: [Ipv6Addr; 2],
    fib_match_honoured: bool,
    /// The interfaces of a targeted read; `None` for a full one.
    targets: Option<Targets>,
    /// Datagrams that carried records for the request outstanding.
    record_datagrams: u32,
    /// Targets whose addresses came in several datagrams, this attempt.
    spanned: Targets,
    collector: SnapshotCollector,
    step: Step,
    /// The outcome, until [`Conversation::poll_outcome`] takes it.
    outcome: Option<Outcome>,
    fresh_socket: bool,
    interrupted: u32,
    skipped: u32,
}

impl Conversation {
    /// A conversation whose requests use sequence numbers from `first_seq`
    /// on. `probes_v4` / `probes_v6` are the route-lookup probes in the
    /// order they are tried (usually [`super::requests::PROBES_V4`] and
    /// [`super::requests::PROBES_V6`]); `fib_match_honoured`: whether the
    /// kernel is known to honour `RTM_F_FIB_MATCH` (see
    /// [`super::lookup::kernel_honours_fib_match`]).
    #[must_use]
    pub fn new(
        first_seq: u32,
        probes_v4: [Ipv4Addr; 4],
        probes_v6: [Ipv6Addr; 2],
        fib_match_honoured: bool,
    ) -> Self {
        Conversation {
            next_seq: first_seq,
            probes_v4,
            probes_v6,
            fib_match_honoured,
            targets: None,
            record_datagrams: 0,
            spanned: Targets::new(),
            collector: SnapshotCollector::new(),
            step: Step::Due(Request::Links),
            outcome: None,
            fresh_socket: false,
            interrupted: 0,
            skipped: 0,
        }
    }

    /// A targeted read of `targets` and the default routes, with the same
    /// arguments as [`Conversation::new`]; its outcome is
    /// [`Outcome::Refreshed`] (or interrupted, or failed).
    #[must_use]
    pub fn targeted(
        first_seq: u32,
        probes_v4: [Ipv4Addr; 4],
        probes_v6: [Ipv6Addr; 2],
        fib_match_honoured: bool,
        targets: Targets,
    ) -> Self {
        let mut c = Conversation::new(first_seq, probes_v4, probes_v6, fib_match_honoured);
        c.targets = Some(targets);
        c.step = Step::Due(c.first_request());
        c
    }

    /// The request every attempt starts with.
    fn first_request(&self) -> Request {
        match &self.targets {
            None => Request::Links,
            Some(targets) => match targets.as_slice().first() {
                Some(&index) => Request::Link(index),
                None => Request::FibMatch {
                    v6: false,
                    probe: 0,
                },
            },
        }
    }

    /// The request after the addresses of targeted interface `index`.
    fn after_target(&self, index: u32) -> Request {
        let next = self
            .targets
            .as_ref()
            .and_then(|t| t.as_slice().iter().find(|&&i| i > index).copied());
        match next {
            Some(index) => Request::Link(index),
            None => Request::FibMatch {
                v6: false,
                probe: 0,
            },
        }
    }

    /// The next request to send, if one is due. Poll it until `None` after
    /// [`Conversation::new`] and after every `handle_*` call (and after
    /// [`Conversation::socket_replaced`]). Never more than one request is
    /// outstanding; `None` while the socket is to be replaced, and forever
    /// once the outcome is decided.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.advance();
        if self.fresh_socket {
            return None;
        }
        let Step::Due(request) = self.step else {
            return None;
        };
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        self.step = Step::Awaiting { request, seq };
        self.record_datagrams = 0;
        Some(match request {
            Request::Links => link_dump(seq),
            Request::Addrs => addr_dump(seq),
            Request::Link(index) => link_get(seq, index),
            Request::AddrsOf(index) => addr_dump_of(seq, index),
            Request::FibMatch { v6, probe } => route_get_fib_match(seq, self.probe(v6, probe)),
            Request::Plain { v6, probe } => route_get(seq, self.probe(v6, probe)),
        })
    }

    /// A datagram received from the kernel on the conversation's socket
    /// (the caller has checked that the sender is the kernel). Replies with
    /// another sequence number than the outstanding request's are skipped;
    /// a datagram when no request is outstanding (before the first, while
    /// the socket is to be replaced, after the outcome) is ignored.
    pub fn handle_datagram(&mut self, datagram: &[u8]) {
        let Step::Awaiting { request, seq } = self.step else {
            return;
        };
        let before = self.collector.skipped();
        let records = self.collector.records();
        let fed = self.collector.feed(request.stage(), seq, datagram);
        if self.collector.records() > records {
            self.record_datagrams = self.record_datagrams.saturating_add(1);
        }
        let newly_skipped = self.collector.skipped().saturating_sub(before);
        self.skipped = self.skipped.saturating_add(newly_skipped);
        self.step = match fed {
            Ok(Progress::More) => return,
            Ok(Progress::Done) => Step::Answered(request),
            // Marked interrupted and read to its NLMSG_DONE: the socket is
            // clean.
            Err(DumpError::Interrupted) if !self.collector.overran() => {
                Step::AttemptFailed(DumpError::Interrupted)
            }
            // EBUSY or another kernel error, an unframable reply, an
            // overrun: the rest of the answer must not meet the next request.
            Err(e) => {
                self.fresh_socket = true;
                Step::AttemptFailed(e)
            }
        };
    }

    /// Sending or receiving failed with this OS error (`errno`).
    ///
    /// `EINTR` and `EAGAIN` / `EWOULDBLOCK` change nothing (try again; wait
    /// until the socket is readable; a request whose send failed so is
    /// still outstanding: the caller sends the same bytes again). Every
    /// other errno, and `ETIMEDOUT`
    /// for the caller's reply timeout, fails the conversation with
    /// [`DumpError::Socket`] and asks for a fresh socket. After the outcome
    /// it is ignored.
    pub fn handle_socket_error(&mut self, errno: i32) {
        if matches!(errno, EINTR | EAGAIN) || matches!(self.step, Step::Over) {
            return;
        }
        self.fresh_socket = true;
        self.step = Step::Over;
        self.outcome = Some(Outcome::Failed(DumpError::Socket(errno)));
    }

    /// The outcome, once there is one; given once (`None` after), and then
    /// [`Conversation::poll_transmit`] is `None` forever.
    pub fn poll_outcome(&mut self) -> Option<Outcome> {
        self.advance();
        self.outcome.take()
    }

    /// True when the socket must be replaced before the next request is
    /// sent: the last request ended other than by its whole answer being
    /// read (`EBUSY` or another kernel error, an unframable reply, a socket
    /// error or timeout). The caller replaces it, calls
    /// [`Conversation::socket_replaced`], then polls
    /// [`Conversation::poll_transmit`]. Still true after such an outcome,
    /// until the socket is replaced.
    #[must_use]
    pub fn needs_fresh_socket(&self) -> bool {
        self.fresh_socket
    }

    /// Tells it that the caller replaced the socket. A request outstanding
    /// on the old socket is lost with it: the attempt starts again from the
    /// link dump (not counted as interrupted: the table did not change).
    pub fn socket_replaced(&mut self) {
        self.fresh_socket = false;
        if let Step::Awaiting { .. } = self.step {
            self.collector = SnapshotCollector::new();
            self.spanned = Targets::new();
            self.step = Step::Due(self.first_request());
        }
    }

    /// Reads interrupted (`NLM_F_DUMP_INTR`, `NLMSG_OVERRUN`), refused with
    /// `EBUSY`, or mixing two states so far; all but the [`ATTEMPTS`]th
    /// were started again. Counted when decided, that is at the next
    /// [`Conversation::poll_transmit`] or [`Conversation::poll_outcome`].
    #[must_use]
    pub fn interrupted_dumps(&self) -> u32 {
        self.interrupted
    }

    /// Link and address records skipped so far because they could not be
    /// used, over every attempt.
    #[must_use]
    pub fn skipped_records(&self) -> u32 {
        self.skipped
    }

    fn probe(&self, v6: bool, probe: usize) -> IpAddr {
        // `probe` is always in range (see `after_answer`); the fallback
        // keeps even a broken invariant from panicking.
        if v6 {
            IpAddr::V6(
                self.probes_v6
                    .get(probe)
                    .copied()
                    .unwrap_or(self.probes_v6[0]),
            )
        } else {
            IpAddr::V4(
                self.probes_v4
                    .get(probe)
                    .copied()
                    .unwrap_or(self.probes_v4[0]),
            )
        }
    }

    fn probe_count(&self, v6: bool) -> usize {
        if v6 {
            self.probes_v6.len()
        } else {
            self.probes_v4.len()
        }
    }

    /// Takes the decisions pending since the last datagram.
    fn advance(&mut self) {
        self.step = match std::mem::replace(&mut self.step, Step::Over) {
            Step::Answered(request) => self.after_answer(request),
            Step::AttemptFailed(e) => self.after_failure(e),
            other => other,
        };
    }

    fn after_answer(&mut self, request: Request) -> Step {
        match request {
            Request::Links => Step::Due(Request::Addrs),
            Request::Link(index) => Step::Due(Request::AddrsOf(index)),
            Request::AddrsOf(index) => {
                if self.record_datagrams > 1 {
                    self.spanned.insert(index);
                }
                Step::Due(self.after_target(index))
            }
            Request::Addrs => Step::Due(Request::FibMatch {
                v6: false,
                probe: 0,
            }),
            Request::FibMatch { v6, probe } => {
                match self
                    .collector
                    .judge_fib_match(request.stage(), self.fib_match_honoured)
                {
                    Verdict::NextProbe if probe + 1 < self.probe_count(v6) => {
                        Step::Due(Request::FibMatch {
                            v6,
                            probe: probe + 1,
                        })
                    }
                    Verdict::AskPlain => Step::Due(Request::Plain { v6, probe }),
                    Verdict::NextProbe | Verdict::Default { .. } | Verdict::NoDefault => {
                        self.family_done(v6)
                    }
                }
            }
            Request::Plain { v6, .. } => self.family_done(v6),
        }
    }

    fn family_done(&mut self, v6: bool) -> Step {
        if !v6 {
            return Step::Due(Request::FibMatch { v6: true, probe: 0 });
        }
        let collector = std::mem::take(&mut self.collector);
        let finished = match self.targets.clone() {
            None => collector.finish().map(Outcome::Done),
            Some(targets) => collector
                .finish_refresh(targets)
                .map(|r| Outcome::Refreshed(r.with_spanned(std::mem::take(&mut self.spanned)))),
        };
        match finished {
            Ok(outcome) => self.end(outcome),
            Err(e) => self.after_failure(e),
        }
    }

    fn after_failure(&mut self, e: DumpError) -> Step {
        if !e.is_transient() {
            return self.end(Outcome::Failed(e));
        }
        self.interrupted = self.interrupted.saturating_add(1);
        if self.interrupted >= ATTEMPTS {
            return self.end(Outcome::Interrupted);
        }
        self.collector = SnapshotCollector::new();
        self.spanned = Targets::new();
        Step::Due(self.first_request())
    }

    fn end(&mut self, outcome: Outcome) -> Step {
        self.outcome = Some(outcome);
        Step::Over
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::fixtures::{
        addr_body, dump_done, link_body, lookup_answer_body, mark_dump_interrupted, message, multi,
        multipath_attr, nlmsg_error,
    };
    use crate::wire::netlink::requests::{PROBES_V4, PROBES_V6};
    use crate::wire::netlink::{AF_INET, AF_INET6, HEADER_LEN, RTM_NEWADDR, RTM_NEWLINK};
    use crate::wire::netlink::{NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, RTM_NEWROUTE};
    use proptest::prelude::*;

    const GW4: [u8; 4] = [10, 9, 0, 1];
    const GW6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    /// A request as the kernel reads it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Sent {
        Links(u32),
        Addrs(u32),
        Link(u32, u32),
        AddrsOf(u32, u32),
        FibMatch(u32, IpAddr),
        Plain(u32, IpAddr),
    }

    impl Sent {
        fn seq(self) -> u32 {
            match self {
                Sent::Links(s) | Sent::Addrs(s) | Sent::FibMatch(s, _) | Sent::Plain(s, _) => s,
                Sent::Link(s, _) | Sent::AddrsOf(s, _) => s,
            }
        }
    }

    fn decode(r: &[u8]) -> Sent {
        let u16_at = |at: usize| u16::from_ne_bytes([r[at], r[at + 1]]);
        let u32_at = |at: usize| u32::from_ne_bytes(r[at..at + 4].try_into().unwrap());
        assert_eq!(u32_at(0) as usize, r.len());
        let seq = u32_at(8);
        let dump = u16_at(6) & 0x300 == 0x300;
        match u16_at(4) {
            18 if dump => Sent::Links(seq),
            18 => Sent::Link(seq, u32_at(HEADER_LEN + 4)),
            22 if u32_at(HEADER_LEN + 4) == 0 => Sent::Addrs(seq),
            22 => Sent::AddrsOf(seq, u32_at(HEADER_LEN + 4)),
            26 => {
                // rtmsg (12 bytes), then RTA_DST.
                let dst = &r[HEADER_LEN + 12 + 4..];
                let probe = if r[HEADER_LEN] == AF_INET {
                    IpAddr::from(<[u8; 4]>::try_from(&dst[..4]).unwrap())
                } else {
                    IpAddr::from(<[u8; 16]>::try_from(&dst[..16]).unwrap())
                };
                match u32_at(HEADER_LEN + 8) {
                    0x2000 => Sent::FibMatch(seq, probe),
                    0 => Sent::Plain(seq, probe),
                    f => panic!("rtm_flags {f:#x}"),
                }
            }
            k => panic!("request type {k}"),
        }
    }

    /// The one request due now: a second poll gives nothing.
    fn sent(c: &mut Conversation) -> Sent {
        let r = c.poll_transmit().expect("a request is due");
        assert_eq!(c.poll_transmit(), None, "one request at a time");
        decode(&r)
    }

    fn quiet(c: &mut Conversation) {
        assert_eq!(c.poll_transmit(), None);
        assert_eq!(c.poll_outcome(), None);
    }

    fn conversation(first_seq: u32) -> Conversation {
        Conversation::new(first_seq, PROBES_V4, PROBES_V6, true)
    }

    fn link_records(seq: u32) -> Vec<u8> {
        let mut d = multi(
            RTM_NEWLINK,
            seq,
            &link_body(1, 0x1 | 0x8 | 0x40, Some("lo"), Some(65536), None),
        );
        d.extend(multi(
            RTM_NEWLINK,
            seq,
            &link_body(3, 0x1 | 0x40, Some("veth0"), Some(1500), None),
        ));
        d
    }

    fn links(seq: u32) -> Vec<u8> {
        let mut d = link_records(seq);
        d.extend(dump_done(seq));
        d
    }

    fn addrs(seq: u32) -> Vec<u8> {
        let mut d = multi(
            RTM_NEWADDR,
            seq,
            &addr_body(AF_INET, 24, 0x80, 3, &[10, 9, 0, 2], None),
        );
        d.extend(dump_done(seq));
        d
    }

    /// A FIB-match answer: the matched entry's prefix length, on veth0.
    fn fib(seq: u32, family: u8, dst_len: u8, oif: Option<u32>) -> Vec<u8> {
        let gw: &[u8] = if family == AF_INET { &GW4 } else { &GW6 };
        let dst: Option<&[u8]> = (dst_len > 0).then_some(&[0x20, 0, 0, 0]);
        message(
            RTM_NEWROUTE,
            0,
            seq,
            &lookup_answer_body(family, dst_len, 0, dst, oif, Some(gw)),
        )
    }

    /// Runs the dumps (links, addresses) answered plainly.
    fn dumps(c: &mut Conversation) {
        let Sent::Links(s) = sent(c) else { panic!() };
        c.handle_datagram(&links(s));
        let Sent::Addrs(s) = sent(c) else { panic!() };
        c.handle_datagram(&addrs(s));
    }

    /// Answers both lookups: a default via veth0 for v4, none for v6.
    fn lookups(c: &mut Conversation) {
        let Sent::FibMatch(s, _) = sent(c) else {
            panic!()
        };
        c.handle_datagram(&fib(s, AF_INET, 0, Some(3)));
        let Sent::FibMatch(s, _) = sent(c) else {
            panic!()
        };
        c.handle_datagram(&nlmsg_error(s, 101));
    }

    fn done(c: &mut Conversation) -> Snapshot {
        assert_eq!(c.poll_transmit(), None);
        match c.poll_outcome() {
            Some(Outcome::Done(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    fn targeted(first_seq: u32, targets: &[u32]) -> Conversation {
        let targets = targets.iter().copied().collect();
        Conversation::targeted(first_seq, PROBES_V4, PROBES_V6, true, targets)
    }

    fn refreshed(c: &mut Conversation) -> Refresh {
        assert_eq!(c.poll_transmit(), None);
        match c.poll_outcome() {
            Some(Outcome::Refreshed(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    /// veth0 (index 3) alone, as the answer to a request for it.
    fn veth0(seq: u32) -> Vec<u8> {
        message(
            RTM_NEWLINK,
            0,
            seq,
            &link_body(3, 0x1 | 0x40, Some("veth0"), Some(1500), None),
        )
    }

    #[test]
    fn a_targeted_read_asks_for_each_interface_then_the_routes() {
        let mut c = targeted(1, &[7, 3]);
        assert_eq!(sent(&mut c), Sent::Link(1, 3));
        c.handle_datagram(&veth0(1));
        assert_eq!(sent(&mut c), Sent::AddrsOf(2, 3));
        // A kernel that does not filter by index also sends index 5's.
        let mut d = multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET, 24, 0x80, 5, &[10, 5, 0, 2], None),
        );
        d.extend(addrs(2));
        c.handle_datagram(&d);
        // Index 7 is gone.
        assert_eq!(sent(&mut c), Sent::Link(3, 7));
        c.handle_datagram(&nlmsg_error(3, 19));
        assert_eq!(sent(&mut c), Sent::AddrsOf(4, 7));
        c.handle_datagram(&dump_done(4));
        lookups(&mut c);
        let r = refreshed(&mut c);
        assert_eq!(r.targets().as_slice(), &[3, 7]);
        assert_eq!(r.found().len(), 1);
        let veth = &r.found().first().unwrap();
        assert_eq!((veth.index, veth.name.as_str()), (3, "veth0"));
        let nets: Vec<String> = veth.addrs.iter().map(|a| a.net.to_string()).collect();
        assert_eq!(nets, ["10.9.0.2/24"]);
        let v4 = r.routes().v4.expect("a v4 default route");
        assert_eq!((v4.index, v4.gateway), (3, Some(IpAddr::from(GW4))));
        assert_eq!(r.routes().v6, None);
    }

    #[test]
    fn a_target_whose_addresses_came_in_several_datagrams_is_noted() {
        let mut c = targeted(1, &[3, 4]);
        assert_eq!(sent(&mut c), Sent::Link(1, 3));
        c.handle_datagram(&veth0(1));
        assert_eq!(sent(&mut c), Sent::AddrsOf(2, 3));
        // Records in two datagrams, then NLMSG_DONE alone.
        for a in [[10, 9, 0, 2], [10, 9, 0, 3]] {
            c.handle_datagram(&multi(
                RTM_NEWADDR,
                2,
                &addr_body(AF_INET, 24, 0x80, 3, &a, None),
            ));
        }
        c.handle_datagram(&dump_done(2));
        assert_eq!(sent(&mut c), Sent::Link(3, 4));
        c.handle_datagram(&nlmsg_error(3, 19));
        // Index 4's answer: nothing, then done, in one datagram.
        assert_eq!(sent(&mut c), Sent::AddrsOf(4, 4));
        c.handle_datagram(&dump_done(4));
        lookups(&mut c);
        let r = refreshed(&mut c);
        assert_eq!(r.spanned().as_slice(), &[3]);
        assert_eq!(r.found().first().unwrap().addrs.len(), 2);
        // Records and NLMSG_DONE in one datagram, or records then NLMSG_DONE
        // alone: one state.
        let mut c = targeted(1, &[3]);
        assert_eq!(sent(&mut c), Sent::Link(1, 3));
        c.handle_datagram(&veth0(1));
        assert_eq!(sent(&mut c), Sent::AddrsOf(2, 3));
        c.handle_datagram(&multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET, 24, 0x80, 3, &[10, 9, 0, 2], None),
        ));
        c.handle_datagram(&dump_done(2));
        lookups(&mut c);
        assert!(refreshed(&mut c).spanned().is_empty());
    }

    #[test]
    fn a_targeted_read_of_no_interface_reads_the_routes_only() {
        let mut c = targeted(9, &[]);
        lookups(&mut c);
        let r = refreshed(&mut c);
        assert!(r.found().is_empty());
        assert_eq!(r.routes().v4.map(|h| h.index), Some(3));
    }

    #[test]
    fn an_interrupted_targeted_dump_starts_again_from_the_first_link() {
        let mut c = targeted(1, &[3]);
        assert_eq!(sent(&mut c), Sent::Link(1, 3));
        c.handle_datagram(&veth0(1));
        assert_eq!(sent(&mut c), Sent::AddrsOf(2, 3));
        let mut d = addrs(2);
        mark_dump_interrupted(&mut d);
        c.handle_datagram(&d);
        assert_eq!(sent(&mut c), Sent::Link(3, 3));
        assert_eq!(c.interrupted_dumps(), 1);
        // Another kernel error than ENODEV on a link request fails it.
        c.handle_datagram(&nlmsg_error(3, 22));
        assert_eq!(c.poll_transmit(), None);
        assert!(matches!(
            c.poll_outcome(),
            Some(Outcome::Failed(DumpError::Kernel(22)))
        ));
        assert!(c.needs_fresh_socket());
    }

    #[test]
    fn an_address_on_a_target_its_request_did_not_find_mixes_two_states() {
        let mut c = targeted(1, &[3]);
        assert_eq!(sent(&mut c), Sent::Link(1, 3));
        c.handle_datagram(&nlmsg_error(1, 19));
        assert_eq!(sent(&mut c), Sent::AddrsOf(2, 3));
        c.handle_datagram(&addrs(2));
        lookups(&mut c);
        // Read again from the start: the link came back between the two.
        assert_eq!(sent(&mut c), Sent::Link(5, 3));
        assert_eq!(c.interrupted_dumps(), 1);
    }

    #[test]
    fn a_whole_run_ends_in_a_snapshot() {
        let mut c = conversation(1);
        assert_eq!(sent(&mut c), Sent::Links(1));
        // A dump over several datagrams: nothing more is due until DONE.
        c.handle_datagram(&link_records(1));
        quiet(&mut c);
        c.handle_datagram(&dump_done(1));
        assert_eq!(sent(&mut c), Sent::Addrs(2));
        c.handle_datagram(&addrs(2));
        assert_eq!(sent(&mut c), Sent::FibMatch(3, IpAddr::V4(PROBES_V4[0])));
        c.handle_datagram(&fib(3, AF_INET, 0, Some(3)));
        assert_eq!(sent(&mut c), Sent::FibMatch(4, IpAddr::V6(PROBES_V6[0])));
        c.handle_datagram(&nlmsg_error(4, 101)); // ENETUNREACH
        let s = done(&mut c);
        assert_eq!(s.interfaces().len(), 2);
        assert_eq!(s.by_index(3).unwrap().addrs.len(), 1);
        let r = s.default_routes().v4.as_ref().unwrap();
        assert_eq!(
            (r.interface.as_str(), r.gateway),
            ("veth0", Some(GW4.into()))
        );
        assert!(s.default_routes().v6.is_none());
        assert_eq!((c.interrupted_dumps(), c.skipped_records()), (0, 0));
        assert!(!c.needs_fresh_socket());
        // Given once; nothing more, ever.
        quiet(&mut c);
    }

    #[test]
    fn an_interrupted_dump_is_read_to_its_end_then_started_again() {
        for interrupted_stage in 0..2 {
            let mut c = conversation(10);
            if interrupted_stage == 1 {
                let Sent::Links(s) = sent(&mut c) else {
                    panic!()
                };
                c.handle_datagram(&links(s));
            }
            let s = sent(&mut c).seq();
            let mut first = if interrupted_stage == 0 {
                link_records(s)
            } else {
                multi(
                    RTM_NEWADDR,
                    s,
                    &addr_body(AF_INET, 24, 0x80, 3, &[10, 9, 0, 2], None),
                )
            };
            mark_dump_interrupted(&mut first);
            c.handle_datagram(&first);
            // Still reading the interrupted dump: no restart yet.
            quiet(&mut c);
            c.handle_datagram(&multi(NLMSG_NOOP, s, &[]));
            quiet(&mut c);
            c.handle_datagram(&dump_done(s));
            assert!(
                !c.needs_fresh_socket(),
                "read to its end: the socket is clean"
            );
            // Started again from the link dump, with the next sequence number.
            assert_eq!(sent(&mut c), Sent::Links(s + 1));
            assert_eq!(c.interrupted_dumps(), 1);
            c.handle_datagram(&links(s + 1));
            let Sent::Addrs(s) = sent(&mut c) else {
                panic!()
            };
            c.handle_datagram(&addrs(s));
            lookups(&mut c);
            assert_eq!(done(&mut c).interfaces().len(), 2);
            assert_eq!(c.interrupted_dumps(), 1);
        }
    }

    #[test]
    fn three_interruptions_are_interrupted() {
        let mut c = conversation(1);
        for attempt in 1..=ATTEMPTS {
            let Sent::Links(s) = sent(&mut c) else {
                panic!()
            };
            let mut d = links(s);
            mark_dump_interrupted(&mut d);
            c.handle_datagram(&d);
            if attempt < ATTEMPTS {
                assert_eq!(c.poll_outcome(), None);
                assert_eq!(c.interrupted_dumps(), attempt);
            }
        }
        assert_eq!(c.poll_transmit(), None);
        assert_eq!(c.poll_outcome(), Some(Outcome::Interrupted));
        assert_eq!(c.interrupted_dumps(), ATTEMPTS);
        assert!(!c.needs_fresh_socket());
        quiet(&mut c);
    }

    #[test]
    fn ebusy_asks_for_a_fresh_socket_and_starts_again() {
        let mut c = conversation(1);
        dumps(&mut c);
        let Sent::FibMatch(s, _) = sent(&mut c) else {
            panic!()
        };
        c.handle_datagram(&nlmsg_error(s, 16));
        assert!(c.needs_fresh_socket());
        // Nothing is sent on the old socket.
        quiet(&mut c);
        assert_eq!(c.interrupted_dumps(), 1);
        assert!(c.needs_fresh_socket());
        c.socket_replaced();
        assert!(!c.needs_fresh_socket());
        assert_eq!(sent(&mut c), Sent::Links(s + 1));
        c.handle_datagram(&links(s + 1));
        let Sent::Addrs(s) = sent(&mut c) else {
            panic!()
        };
        c.handle_datagram(&addrs(s));
        lookups(&mut c);
        assert_eq!(done(&mut c).interfaces().len(), 2);
        assert_eq!(c.interrupted_dumps(), 1);
    }

    #[test]
    fn ebusy_three_times_is_interrupted_with_a_fresh_socket_still_due() {
        let mut c = conversation(1);
        for _ in 0..ATTEMPTS {
            let Sent::Links(s) = sent(&mut c) else {
                panic!()
            };
            c.handle_datagram(&nlmsg_error(s, 16));
            assert!(c.needs_fresh_socket());
            assert_eq!(c.poll_transmit(), None);
            if c.interrupted_dumps() < ATTEMPTS {
                c.socket_replaced();
            }
        }
        assert_eq!(c.poll_outcome(), Some(Outcome::Interrupted));
        assert!(c.needs_fresh_socket());
    }

    #[test]
    fn other_failures_end_it_and_ask_for_a_fresh_socket() {
        let framed = |d: &[u8]| {
            let mut c = conversation(1);
            let Sent::Links(s) = sent(&mut c) else {
                panic!()
            };
            assert_eq!(s, 1);
            c.handle_datagram(d);
            assert_eq!(c.poll_transmit(), None);
            assert!(c.needs_fresh_socket());
            (c.poll_outcome(), c.interrupted_dumps())
        };
        // A kernel error other than EBUSY.
        assert_eq!(
            framed(&nlmsg_error(1, 1)),
            (Some(Outcome::Failed(DumpError::Kernel(1))), 0)
        );
        // A reply that cannot be framed.
        let mut cut = links(1);
        cut[..4].copy_from_slice(&4096u32.to_ne_bytes());
        assert!(matches!(
            framed(&cut),
            (Some(Outcome::Failed(DumpError::Malformed(_))), 0)
        ));
        // An overrun: part of the answer lost, the rest maybe still queued.
        let mut c = conversation(1);
        let _ = sent(&mut c);
        c.handle_datagram(&multi(NLMSG_OVERRUN, 1, &[]));
        assert!(c.needs_fresh_socket());
        quiet(&mut c);
        assert_eq!(c.interrupted_dumps(), 1);
        c.socket_replaced();
        assert_eq!(sent(&mut c), Sent::Links(2));
    }

    #[test]
    fn socket_errors_fail_it_but_eintr_and_eagain() {
        let mut c = conversation(1);
        let _ = sent(&mut c);
        c.handle_socket_error(4);
        c.handle_socket_error(11);
        quiet(&mut c);
        c.handle_datagram(&links(1));
        let Sent::Addrs(_) = sent(&mut c) else {
            panic!()
        };
        c.handle_socket_error(110); // the caller's reply timer
        assert!(c.needs_fresh_socket());
        assert_eq!(c.poll_transmit(), None);
        assert_eq!(
            c.poll_outcome(),
            Some(Outcome::Failed(DumpError::Socket(110)))
        );
        c.socket_replaced();
        quiet(&mut c);
    }

    #[test]
    fn fib_match_probes_in_order_then_the_plain_lookup_of_a_multipath_default() {
        let mut probes = PROBES_V4;
        probes[0] = Ipv4Addr::new(1, 1, 1, 1);
        let mut c = Conversation::new(1, probes, PROBES_V6, true);
        dumps(&mut c);
        // 1.1.1.1 meets 0.0.0.0/7: a specific route, next probe.
        assert_eq!(sent(&mut c), Sent::FibMatch(3, IpAddr::V4(probes[0])));
        c.handle_datagram(&fib(3, AF_INET, 7, Some(3)));
        assert_eq!(sent(&mut c), Sent::FibMatch(4, IpAddr::V4(PROBES_V4[1])));
        // A reject route over 77.88.8.8 (EHOSTUNREACH): next probe.
        c.handle_datagram(&nlmsg_error(4, 113));
        assert_eq!(sent(&mut c), Sent::FibMatch(5, IpAddr::V4(PROBES_V4[2])));
        // A multipath default: the plain lookup of the same probe.
        let mut body = lookup_answer_body(AF_INET, 0, 0, None, None, None);
        body.extend(multipath_attr(AF_INET, &[(3, &GW4), (1, &[127, 0, 0, 9])]));
        c.handle_datagram(&message(RTM_NEWROUTE, 0, 5, &body));
        assert_eq!(sent(&mut c), Sent::Plain(6, IpAddr::V4(PROBES_V4[2])));
        let plain = lookup_answer_body(
            AF_INET,
            32,
            0x200,
            Some(&[149, 112, 112, 112]),
            Some(3),
            Some(&GW4),
        );
        c.handle_datagram(&message(RTM_NEWROUTE, 0, 6, &plain));
        // v6: both probes covered by specific routes: no default route.
        assert_eq!(sent(&mut c), Sent::FibMatch(7, IpAddr::V6(PROBES_V6[0])));
        c.handle_datagram(&fib(7, AF_INET6, 4, Some(3)));
        assert_eq!(sent(&mut c), Sent::FibMatch(8, IpAddr::V6(PROBES_V6[1])));
        c.handle_datagram(&fib(8, AF_INET6, 4, Some(3)));
        let s = done(&mut c);
        let r = s.default_routes().v4.as_ref().unwrap();
        assert_eq!((r.index, r.gateway), (3, Some(GW4.into())));
        assert!(s.default_routes().v6.is_none());
    }

    #[test]
    fn every_v4_probe_covered_is_no_default_route() {
        let mut c = conversation(1);
        dumps(&mut c);
        for (i, probe) in PROBES_V4.iter().enumerate() {
            let Sent::FibMatch(s, p) = sent(&mut c) else {
                panic!()
            };
            assert_eq!(p, IpAddr::V4(*probe), "probe {i}");
            c.handle_datagram(&fib(s, AF_INET, 16, Some(3)));
        }
        let Sent::FibMatch(s, p) = sent(&mut c) else {
            panic!()
        };
        assert_eq!(p, IpAddr::V6(PROBES_V6[0]));
        c.handle_datagram(&fib(s, AF_INET6, 0, Some(3)));
        let s = done(&mut c);
        assert!(s.default_routes().v4.is_none());
        assert_eq!(s.default_routes().v6.as_ref().unwrap().index, 3);
    }

    #[test]
    fn a_kernel_ignoring_the_flag_is_answered_plainly() {
        let mut c = Conversation::new(1, PROBES_V4, PROBES_V6, false);
        dumps(&mut c);
        let Sent::FibMatch(s, _) = sent(&mut c) else {
            panic!()
        };
        c.handle_datagram(&fib(s, AF_INET, 32, Some(3)));
        let Sent::FibMatch(s, _) = sent(&mut c) else {
            panic!()
        };
        c.handle_datagram(&fib(s, AF_INET6, 128, Some(3)));
        let s = done(&mut c);
        assert!(s.default_routes().v4.is_some() && s.default_routes().v6.is_some());
    }

    #[test]
    fn replies_with_another_sequence_number_are_skipped() {
        let mut c = conversation(7);
        // Before the first request: ignored.
        c.handle_datagram(&links(7));
        assert_eq!(sent(&mut c), Sent::Links(7));
        // Left over from earlier requests, whole or in part.
        c.handle_datagram(&links(6));
        c.handle_datagram(&nlmsg_error(5, 16));
        c.handle_datagram(&dump_done(8));
        quiet(&mut c);
        let mut mixed = multi(RTM_NEWLINK, 6, &link_body(9, 1, Some("old0"), None, None));
        mixed.extend(links(7));
        c.handle_datagram(&mixed);
        assert_eq!(sent(&mut c), Sent::Addrs(8));
        c.handle_datagram(&addrs(8));
        lookups(&mut c);
        let s = done(&mut c);
        assert!(s.by_name("old0").is_none());
        assert_eq!(s.interfaces().len(), 2);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut c = conversation(u32::MAX);
        assert_eq!(sent(&mut c), Sent::Links(u32::MAX));
        c.handle_datagram(&links(u32::MAX));
        assert_eq!(sent(&mut c), Sent::Addrs(0));
    }

    #[test]
    fn replies_from_two_states_start_it_again_on_the_same_socket() {
        let mut c = conversation(1);
        let Sent::Links(s) = sent(&mut c) else {
            panic!()
        };
        c.handle_datagram(&links(s));
        let Sent::Addrs(s) = sent(&mut c) else {
            panic!()
        };
        // An address on an interface the link dump did not list.
        let mut d = multi(
            RTM_NEWADDR,
            s,
            &addr_body(AF_INET, 24, 0x80, 42, &[10, 0, 0, 1], None),
        );
        d.extend(dump_done(s));
        c.handle_datagram(&d);
        lookups(&mut c);
        assert_eq!(c.poll_outcome(), None);
        assert_eq!(c.interrupted_dumps(), 1);
        assert!(!c.needs_fresh_socket());
        assert_eq!(sent(&mut c), Sent::Links(5));
    }

    #[test]
    fn skipped_records_are_counted_over_every_attempt() {
        let mut c = conversation(1);
        let nameless = |s| multi(RTM_NEWLINK, s, &link_body(7, 1, None, None, None));
        let Sent::Links(s) = sent(&mut c) else {
            panic!()
        };
        let mut d = nameless(s);
        mark_dump_interrupted(&mut d);
        d.extend(dump_done(s));
        c.handle_datagram(&d);
        assert_eq!(
            c.skipped_records(),
            0,
            "records of an interrupted dump are not read"
        );
        let Sent::Links(s) = sent(&mut c) else {
            panic!()
        };
        let mut d = nameless(s);
        d.extend(links(s));
        c.handle_datagram(&d);
        let Sent::Addrs(s) = sent(&mut c) else {
            panic!()
        };
        let mut d = multi(RTM_NEWADDR, s, &[2, 24]);
        d.extend(addrs(s));
        c.handle_datagram(&d);
        lookups(&mut c);
        assert_eq!(done(&mut c).interfaces().len(), 2);
        assert_eq!((c.skipped_records(), c.interrupted_dumps()), (2, 1));
    }

    #[test]
    fn a_socket_replaced_under_a_request_starts_the_attempt_again() {
        let mut c = conversation(1);
        let Sent::Links(_) = sent(&mut c) else {
            panic!()
        };
        c.handle_datagram(&links(1));
        let Sent::Addrs(_) = sent(&mut c) else {
            panic!()
        };
        c.socket_replaced();
        assert_eq!(sent(&mut c), Sent::Links(3));
        assert_eq!(c.interrupted_dumps(), 0);
    }

    #[test]
    fn datagrams_after_the_outcome_are_ignored() {
        let mut c = conversation(1);
        dumps(&mut c);
        lookups(&mut c);
        let s = done(&mut c);
        for d in [links(5), nlmsg_error(4, 16), vec![0xff; 3], dump_done(4)] {
            c.handle_datagram(&d);
            c.handle_socket_error(9);
            quiet(&mut c);
        }
        c.socket_replaced();
        quiet(&mut c);
        assert!(!c.needs_fresh_socket());
        assert_eq!((c.interrupted_dumps(), c.skipped_records()), (0, 0));
        assert_eq!(s.interfaces().len(), 2);
    }

    // Never a panic, whatever comes in whatever state.

    #[derive(Clone, Debug)]
    enum Op {
        /// Arbitrary bytes.
        Bytes(Vec<u8>),
        /// A plausible reply to the outstanding request (or to a nearby
        /// sequence number), possibly with one byte changed and cut short.
        Reply {
            kind: u8,
            seq_offset: i8,
            flip: Option<(usize, u8)>,
            cut: Option<usize>,
        },
        SocketError(i32),
        Replace,
        Poll,
    }

    /// Reply number `kind` with sequence number `seq`; from 14 on, the
    /// right answer to `last`, the request last sent.
    fn reply(kind: u8, seq: u32, last: Option<Sent>) -> Vec<u8> {
        match (kind % 28, last) {
            (14.., Some(Sent::Links(_))) => return links(seq),
            (14.., Some(Sent::Addrs(_))) => return addrs(seq),
            (14.., Some(Sent::FibMatch(_, IpAddr::V4(_)))) => {
                return fib(seq, AF_INET, kind % 3, (kind % 5 != 0).then_some(3));
            }
            (14.., Some(Sent::FibMatch(_, IpAddr::V6(_)))) => return nlmsg_error(seq, 101),
            (14.., Some(Sent::Plain(_, _))) => return fib(seq, AF_INET, 32, Some(3)),
            (14.., Some(Sent::Link(_, _))) if kind % 2 == 0 => return veth0(seq),
            (14.., Some(Sent::Link(_, _))) => return nlmsg_error(seq, 19),
            (14.., Some(Sent::AddrsOf(_, _))) => return addrs(seq),
            _ => {}
        }
        match kind % 14 {
            0 => links(seq),
            1 => link_records(seq),
            2 => addrs(seq),
            3 => dump_done(seq),
            4 => {
                let mut d = links(seq);
                mark_dump_interrupted(&mut d);
                d
            }
            5 => nlmsg_error(seq, 16),
            6 => nlmsg_error(seq, 101),
            7 => nlmsg_error(seq, 113),
            8 => nlmsg_error(seq, 0),
            9 => fib(seq, AF_INET, 0, Some(3)),
            10 => fib(seq, AF_INET6, 7, Some(3)),
            11 => {
                let mut body = lookup_answer_body(AF_INET6, 0, 0, None, None, None);
                body.extend(multipath_attr(AF_INET6, &[(3, &GW6)]));
                message(RTM_NEWROUTE, 0, seq, &body)
            }
            12 => multi(NLMSG_OVERRUN, seq, &[]),
            _ => message(NLMSG_ERROR, 0, seq, &[]),
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => proptest::collection::vec(any::<u8>(), 0..96).prop_map(Op::Bytes),
            12 => (
                any::<u8>(),
                prop_oneof![4 => Just(0i8), 1 => -2i8..=2],
                proptest::option::weighted(0.1, (any::<usize>(), any::<u8>())),
                proptest::option::weighted(0.05, any::<usize>()),
            )
                .prop_map(|(kind, seq_offset, flip, cut)| Op::Reply {
                    kind,
                    seq_offset,
                    flip,
                    cut,
                }),
            1 => prop_oneof![3 => Just(4), 3 => Just(11), 1 => Just(110), 1 => any::<i32>()]
                .prop_map(Op::SocketError),
            1 => Just(Op::Replace),
            1 => Just(Op::Poll),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_and_keeps_its_promises(
            first_seq in any::<u32>(),
            honoured in any::<bool>(),
            targets in proptest::option::of(proptest::collection::vec(1u32..6, 0..4)),
            ops in proptest::collection::vec(op(), 0..64),
        ) {
            let targets: Option<Targets> = targets.map(|t| t.into_iter().collect());
            let mut c = match &targets {
                None => Conversation::new(first_seq, PROBES_V4, PROBES_V6, honoured),
                Some(t) => Conversation::targeted(first_seq, PROBES_V4, PROBES_V6, honoured, t.clone()),
            };
            let mut last_seq = first_seq;
            let mut last = None;
            let mut next_seq = first_seq;
            let mut ended = false;
            for op in ops {
                match op {
                    Op::Bytes(b) => c.handle_datagram(&b),
                    Op::Reply { kind, seq_offset, flip, cut } => {
                        let seq = last_seq.wrapping_add_signed(i32::from(seq_offset));
                        let mut d = reply(kind, seq, last);
                        if let Some((at, byte)) = flip {
                            let at = at % d.len();
                            d[at] ^= byte;
                        }
                        if let Some(cut) = cut {
                            d.truncate(cut % (d.len() + 1));
                        }
                        c.handle_datagram(&d);
                    }
                    Op::SocketError(errno) => c.handle_socket_error(errno),
                    Op::Replace => c.socket_replaced(),
                    Op::Poll => {}
                }
                if let Some(r) = c.poll_transmit() {
                    prop_assert!(!ended, "a request after the outcome");
                    prop_assert!(!c.needs_fresh_socket());
                    prop_assert_eq!(c.poll_transmit(), None, "two requests outstanding");
                    last = Some(decode(&r));
                    let seq = decode(&r).seq();
                    prop_assert_eq!(seq, next_seq, "sequence numbers go up by one");
                    next_seq = seq.wrapping_add(1);
                    last_seq = seq;
                }
                if let Some(o) = c.poll_outcome() {
                    prop_assert!(!ended, "two outcomes");
                    ended = true;
                    if o == Outcome::Interrupted {
                        prop_assert_eq!(c.interrupted_dumps(), ATTEMPTS);
                    }
                    match (&o, &targets) {
                        (Outcome::Refreshed(r), Some(t)) => {
                            prop_assert_eq!(r.targets(), t);
                            prop_assert!(r.found().iter().all(|i| t.contains(i.index)));
                            prop_assert!(r.spanned().as_slice().iter().all(|&i| t.contains(i)));
                        }
                        (Outcome::Done(_), Some(_)) | (Outcome::Refreshed(_), None) => {
                            prop_assert!(false, "the outcome of the other kind of read");
                        }
                        _ => {}
                    }
                }
                prop_assert!(c.interrupted_dumps() <= ATTEMPTS);
            }
        }
    }
}
