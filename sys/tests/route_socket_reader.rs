//! The BSD/macOS route-socket reader, on Linux: a `RouteSocketReader` over
//! one end of an `AF_UNIX` `SOCK_SEQPACKET` socketpair (datagram boundaries
//! kept, and the end of the peer seen as end of file), fed with routing
//! messages laid out from the Darwin and FreeBSD headers, alone and under
//! an `Engine`.
//!
//! The messages come from core's byte builders
//! (`netstate_core::wire::route_socket::fixtures`, which documents the
//! layouts).
//!
//! macOS has no `SOCK_SEQPACKET` for `AF_UNIX`, so these tests build on
//! Linux and FreeBSD only.
#![cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use netstate_core::wire::route_socket::fixtures::*;
use netstate_core::wire::route_socket::{Parser, Platform};
use netstate_core::{
    Cause, Config, DefaultRoute, DefaultRoutes, Interface, InterfaceFlags, OsError, RouteEvent,
    RouteEventKind, Snapshot,
};
use netstate_sys::fanout::TryRecvError;
use netstate_sys::{
    route_socket_platform, Backend, Engine, EventSource, RouteSocketReader, SourceRead,
};
use rustix::net::{socketpair, AddressFamily, SendFlags, SocketFlags, SocketType};

// ---------------------------------------------------------------------------
// Fixtures beyond core's.

fn new_addr_v4(d: &'static Dialect, index: u16, name: &str) -> Vec<u8> {
    Msg::ifam(d, RTM_NEWADDR, index)
        .sa(RTA_NETMASK, mask4(24))
        .sa(RTA_IFP, dl(d, index, name))
        .sa(RTA_IFA, sin([10, 0, 0, 2]))
        .build()
}

/// An `RTM_MISS` as recent macOS sends for ordinary traffic.
fn miss(d: &'static Dialect) -> Vec<u8> {
    Msg::rt(d, RTM_MISS, 0, RTF_HOST)
        .sa(RTA_DST, sin([10, 1, 2, 3]))
        .build()
}

// ---------------------------------------------------------------------------
// Socketpair plumbing.

/// A reader over one end of a fresh seqpacket socketpair, and the other end.
fn pair(d: &Dialect) -> (RouteSocketReader, OwnedFd) {
    let (ours, theirs) = socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    (
        RouteSocketReader::new(ours, Parser::new(d.platform)).unwrap(),
        theirs,
    )
}

fn send(peer: &OwnedFd, datagram: &[u8]) {
    let n = rustix::net::send(peer, datagram, SendFlags::empty()).unwrap();
    assert_eq!(n, datagram.len());
}

/// What one `read` gave.
#[derive(Debug)]
struct Got {
    result: SourceRead,
    events: Vec<RouteEvent>,
    malformed: u32,
}

fn read_one(reader: &mut RouteSocketReader, buf: &mut [u8]) -> Got {
    let mut events = Vec::new();
    let mut malformed = 0;
    let result = reader
        .read(buf, &mut |e| events.push(e), &mut malformed)
        .unwrap();
    Got {
        result,
        events,
        malformed,
    }
}

/// Reads until the reader would block, as the engine drains it.
fn drain(reader: &mut RouteSocketReader) -> Vec<Got> {
    let mut buf = vec![0u8; RouteSocketReader::BUFFER_LEN];
    let mut all = Vec::new();
    for _ in 0..1000 {
        let got = read_one(reader, &mut buf);
        if got.result == SourceRead::WouldBlock {
            assert!(got.events.is_empty() && got.malformed == 0);
            return all;
        }
        all.push(got);
    }
    panic!("the reader never reported WouldBlock");
}

fn kinds(gots: &[Got]) -> Vec<RouteEventKind> {
    gots.iter()
        .flat_map(|g| g.events.iter().map(|e| e.kind))
        .collect()
}

// ---------------------------------------------------------------------------
// The reader alone.

#[test]
fn the_platform_is_a_compile_time_answer_and_none_on_linux() {
    #[cfg(target_os = "linux")]
    assert_eq!(route_socket_platform(), None);
    #[cfg(target_os = "macos")]
    assert_eq!(route_socket_platform(), Some(Platform::Darwin));
    #[cfg(all(target_os = "freebsd", target_pointer_width = "64"))]
    assert_eq!(route_socket_platform(), Some(Platform::FreeBsd));
    const AT_COMPILE_TIME: Option<Platform> = route_socket_platform();
    assert_eq!(AT_COMPILE_TIME, route_socket_platform());
}

/// A reactor registers the reader by its descriptor (`AsRawFd`, `AsFd`):
/// it is the one it was given, not a copy.
#[test]
fn the_reader_is_the_descriptor_it_was_given() {
    let (ours, _theirs) = socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let number = ours.as_raw_fd();
    let reader = RouteSocketReader::new(ours, Parser::new(DARWIN.platform)).unwrap();
    assert_eq!(reader.as_raw_fd(), number);
    assert_eq!(reader.as_fd().as_raw_fd(), number);
}

#[test]
fn nothing_queued_is_would_block() {
    let (mut reader, _peer) = pair(&DARWIN);
    assert!(drain(&mut reader).is_empty());
    assert_eq!(reader.parser(), Parser::new(Platform::Darwin));
}

#[test]
fn datagrams_queued_before_one_drain_are_all_read() {
    for d in [&DARWIN, &FREEBSD] {
        let (mut reader, peer) = pair(d);
        send(&peer, &default_route_v4(d, RTM_ADD));
        send(&peer, &new_addr_v4(d, 4, "en0"));
        send(
            &peer,
            &Msg::ifm(d, RTM_IFINFO, d.if_msghdr, 4, 0x8843).build(),
        );
        send(&peer, &default_route_v4(d, RTM_DELETE));
        // Two messages in one datagram (as a sysctl dump would hand them).
        let two = [
            miss(d),
            Msg::ifm(d, RTM_IFINFO, d.if_msghdr, 5, 0x8843).build(),
        ]
        .concat();
        send(&peer, &two);

        let gots = drain(&mut reader);
        assert_eq!(gots.len(), 5, "one read per datagram");
        assert!(gots
            .iter()
            .all(|g| g.result == SourceRead::Read && g.malformed == 0));
        assert_eq!(
            kinds(&gots),
            [
                RouteEventKind::RouteNew,
                RouteEventKind::AddrNew,
                RouteEventKind::LinkNew,
                RouteEventKind::RouteDel,
                RouteEventKind::LinkNew,
            ]
        );
        let route = &gots[0].events[0];
        assert_eq!((route.dst_prefix_len, route.index), (Some(0), Some(4)));
        assert_eq!(gots[1].events[0].name.unwrap().as_str(), Some("en0"));
        assert_eq!(gots[4].events[0].index, Some(5));
        let stats = reader.parse_stats();
        assert_eq!((stats.messages, stats.events, stats.noise), (6, 5, 1));
    }
}

#[test]
fn freebsd_interface_announcements_come_through() {
    let (mut reader, peer) = pair(&FREEBSD);
    send(
        &peer,
        &Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 12, "tun0", 0).build(),
    );
    send(
        &peer,
        &Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 12, "tun0", 1).build(),
    );
    let gots = drain(&mut reader);
    assert_eq!(
        kinds(&gots),
        [RouteEventKind::LinkNew, RouteEventKind::LinkDel]
    );
    assert_eq!(gots[1].events[0].name.unwrap().as_str(), Some("tun0"));
}

#[test]
fn rtm_miss_and_other_noise_yield_no_hint() {
    let (mut reader, peer) = pair(&DARWIN);
    send(&peer, &miss(&DARWIN));
    send(&peer, &Msg::rt(&DARWIN, RTM_LOSING, 4, RTF_UP).build());
    // A host route: not a default route.
    send(
        &peer,
        &Msg::rt(&DARWIN, RTM_ADD, 4, RTF_UP | RTF_HOST)
            .sa(RTA_DST, sin([10, 0, 0, 9]))
            .sa(RTA_GATEWAY, sin([10, 0, 0, 1]))
            .build(),
    );
    let gots = drain(&mut reader);
    assert_eq!(gots.len(), 3, "each datagram is read");
    assert!(gots
        .iter()
        .all(|g| g.result == SourceRead::Read && g.malformed == 0));
    assert!(kinds(&gots).is_empty(), "noise starts nothing");
    assert_eq!(reader.parse_stats().noise, 3);
}

#[test]
fn truncated_garbage_and_wrong_version_datagrams_are_counted_and_give_unknown_hints() {
    let (mut reader, peer) = pair(&DARWIN);
    // A default route cut short: its length says more than the datagram holds.
    let full = default_route_v4(&DARWIN, RTM_ADD);
    send(&peer, &full[..60]);
    // Garbage: a length that fits, and a header too short for any type.
    send(&peer, &[8, 0, 5, RTM_ADD, 0xde, 0xad, 0xbe, 0xef]);
    // Another version of the structures.
    let mut other_version = default_route_v4(&DARWIN, RTM_ADD);
    other_version[2] = 4;
    send(&peer, &other_version);
    // And the socket goes on: a good message after the bad ones.
    send(&peer, &default_route_v4(&DARWIN, RTM_DELETE));

    let gots = drain(&mut reader);
    assert_eq!(gots.len(), 4);
    assert!(gots.iter().all(|g| g.result == SourceRead::Read));
    for (i, g) in gots[..3].iter().enumerate() {
        assert_eq!(g.malformed, 1, "datagram {i}: {g:?}");
        assert_eq!(g.events.len(), 1, "datagram {i}: one Unknown hint");
        assert_eq!(g.events[0].kind, RouteEventKind::Unknown);
    }
    assert_eq!(gots[3].malformed, 0);
    assert_eq!(kinds(&gots[3..]), [RouteEventKind::RouteDel]);
    let stats = reader.parse_stats();
    assert_eq!(
        (stats.malformed, stats.wrong_version, stats.lost()),
        (2, 1, 3)
    );
}

#[test]
fn a_datagram_that_fills_the_buffer_is_an_overflow() {
    let (mut reader, peer) = pair(&FREEBSD);
    let msg = default_route_v4(&FREEBSD, RTM_ADD);
    send(&peer, &msg);
    // A buffer shorter than the datagram: the seqpacket socket cuts it.
    let mut small = vec![0u8; msg.len() - 8];
    let got = read_one(&mut reader, &mut small);
    assert_eq!(got.result, SourceRead::Overflow, "{got:?}");
    assert_eq!(got.malformed, 1, "the cut message is lost");
    assert_eq!(kinds(std::slice::from_ref(&got)), [RouteEventKind::Unknown]);
}

#[test]
fn an_empty_buffer_is_an_error_not_the_end() {
    let (mut reader, peer) = pair(&DARWIN);
    send(&peer, &miss(&DARWIN));
    let err = reader.read(&mut [], &mut |_| {}, &mut 0).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(drain(&mut reader).len(), 1, "the datagram is still there");
}

#[test]
fn the_peer_closing_gives_closed_after_what_was_queued() {
    let (mut reader, peer) = pair(&DARWIN);
    send(&peer, &default_route_v4(&DARWIN, RTM_ADD));
    drop(peer);
    let mut buf = vec![0u8; RouteSocketReader::BUFFER_LEN];
    let got = read_one(&mut reader, &mut buf);
    assert_eq!((got.result, got.events.len()), (SourceRead::Read, 1));
    let got = read_one(&mut reader, &mut buf);
    assert_eq!(got.result, SourceRead::Closed);
    assert!(got.events.is_empty());
}

// Under an Engine.

/// A backend whose route sockets are socketpairs (their other ends go to
/// the test through a channel) and whose enumerations return the snapshot
/// at the front of a list the test controls (the last one stays).
struct ScriptedBackend {
    dialect: &'static Dialect,
    peers: mpsc::Sender<OwnedFd>,
    truths: Arc<Mutex<VecDeque<Snapshot>>>,
    enumerations: Arc<AtomicUsize>,
}

impl Backend for ScriptedBackend {
    fn open_source(&mut self) -> std::io::Result<Box<dyn EventSource>> {
        let (reader, peer) = pair(self.dialect);
        self.peers
            .send(peer)
            .map_err(|_| std::io::Error::other("the test is gone"))?;
        Ok(Box::new(reader))
    }

    fn start_enumeration(&mut self) -> netstate_sys::EnumerationPoll {
        self.enumerations.fetch_add(1, Ordering::SeqCst);
        let mut truths = self.truths.lock().unwrap();
        netstate_sys::EnumerationPoll::Done(if truths.len() > 1 {
            Ok(truths.pop_front().unwrap())
        } else {
            truths
                .front()
                .cloned()
                .ok_or_else(|| OsError::new("no truth scripted").into())
        })
    }
}

fn eth0() -> Interface {
    let mut i = Interface::new(4, "en0");
    i.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING;
    i.mtu = 1500;
    i
}

fn without_route() -> Snapshot {
    Snapshot::new(vec![eth0()], DefaultRoutes::default()).unwrap()
}

fn with_route() -> Snapshot {
    let routes = DefaultRoutes {
        v4: Some(DefaultRoute::new(
            4,
            "en0",
            Some("10.0.0.1".parse().unwrap()),
        )),
        v6: None,
    };
    Snapshot::new(vec![eth0()], routes).unwrap()
}

struct Rig {
    engine: Engine,
    t0: Instant,
    peers: mpsc::Receiver<OwnedFd>,
    truths: Arc<Mutex<VecDeque<Snapshot>>>,
    enumerations: Arc<AtomicUsize>,
}

impl Rig {
    /// A wake-up at `t`, the sleep clock advancing with it (no suspend).
    fn wake(&mut self, t: Instant) -> netstate_sys::Woken {
        let sleep = Duration::from_secs(1_000) + t.saturating_duration_since(self.t0);
        self.engine.wake(t, sleep)
    }

    /// What every enumeration returns from now on.
    fn set_truth(&self, s: Snapshot) {
        *self.truths.lock().unwrap() = VecDeque::from([s]);
    }
}

fn rig(d: &'static Dialect, first: Snapshot, now: Instant) -> Rig {
    let (tx, rx) = mpsc::channel();
    let truths = Arc::new(Mutex::new(VecDeque::from([first])));
    let enumerations = Arc::new(AtomicUsize::new(0));
    let backend = ScriptedBackend {
        dialect: d,
        peers: tx,
        truths: truths.clone(),
        enumerations: enumerations.clone(),
    };
    let engine = Engine::new(Config::default(), Box::new(backend), now).unwrap();
    Rig {
        engine,
        t0: now,
        peers: rx,
        truths,
        enumerations,
    }
}

#[test]
fn a_default_route_message_makes_the_engine_enumerate_after_the_debounce_and_publish() {
    let t0 = Instant::now();
    let mut r = rig(&DARWIN, without_route(), t0);
    let peer = r.peers.try_recv().unwrap();
    let mut sub = r.engine.handle().subscribe().1;

    r.wake(t0);
    let initial = sub.try_recv().unwrap();
    assert_eq!((initial.seq, initial.cause), (1, Cause::Initial));
    assert_eq!(r.enumerations.load(Ordering::SeqCst), 1);

    // The kernel adds a default route and says so.
    r.set_truth(with_route());
    send(&peer, &default_route_v4(&DARWIN, RTM_ADD));
    let t1 = t0 + Duration::from_millis(10);
    assert!(!r.wake(t1).more_queued);
    assert_eq!(r.engine.handle().stats().datagrams, 1);
    assert_eq!(
        r.enumerations.load(Ordering::SeqCst),
        1,
        "debouncing: not yet"
    );
    assert_eq!(sub.try_recv().unwrap_err(), TryRecvError::Empty);
    let deadline = r.engine.poll_timeout().unwrap();
    assert_eq!(deadline, t1 + Config::default().debounce());

    // The debounce passes (no sleep: a later instant).
    r.wake(deadline);
    assert_eq!(r.enumerations.load(Ordering::SeqCst), 2);
    let change = sub.try_recv().unwrap();
    assert_eq!((change.seq, change.cause), (2, Cause::Event));
    assert_eq!(change.new.default_routes(), with_route().default_routes());
    assert!(change.old.default_routes().v4.is_none());
    assert_eq!(*r.engine.handle().state(), with_route());
}

#[test]
fn rtm_miss_through_the_engine_starts_no_enumeration() {
    let t0 = Instant::now();
    let mut r = rig(&DARWIN, without_route(), t0);
    let peer = r.peers.try_recv().unwrap();
    let mut sub = r.engine.handle().subscribe().1;
    r.wake(t0);
    assert_eq!(sub.try_recv().unwrap().cause, Cause::Initial);
    let idle_deadline = r.engine.poll_timeout();

    for _ in 0..100 {
        send(&peer, &miss(&DARWIN));
    }
    let t1 = t0 + Duration::from_millis(10);
    r.wake(t1);
    assert_eq!(r.engine.handle().stats().datagrams, 100);
    assert_eq!(
        r.engine.poll_timeout(),
        idle_deadline,
        "no debounce started"
    );
    r.wake(t1 + Config::default().max_wait());
    assert_eq!(r.enumerations.load(Ordering::SeqCst), 1);
    assert_eq!(sub.try_recv().unwrap_err(), TryRecvError::Empty);
}

#[test]
fn a_garbage_datagram_through_the_engine_is_counted_and_leads_to_an_enumeration() {
    let t0 = Instant::now();
    let mut r = rig(&FREEBSD, without_route(), t0);
    let peer = r.peers.try_recv().unwrap();
    r.wake(t0);
    send(&peer, &[200, 0, 5, RTM_ADD, 1, 2, 3, 4, 5, 6, 7, 8]);
    let t1 = t0 + Duration::from_millis(10);
    r.wake(t1);
    assert_eq!(r.engine.handle().stats().malformed, 1);
    r.wake(r.engine.poll_timeout().unwrap());
    assert_eq!(
        r.enumerations.load(Ordering::SeqCst),
        2,
        "the lost message may have been a change"
    );
}

#[test]
fn the_peer_closing_makes_the_engine_rebind_and_resync() {
    let t0 = Instant::now();
    let mut r = rig(&DARWIN, without_route(), t0);
    let peer = r.peers.try_recv().unwrap();
    let mut sub = r.engine.handle().subscribe().1;
    r.wake(t0);
    assert_eq!(sub.try_recv().unwrap().cause, Cause::Initial);

    drop(peer);
    let t1 = t0 + Duration::from_millis(10);
    r.wake(t1);
    assert_eq!(r.engine.handle().stats().rebinds_done, 0);
    assert!(
        r.peers.try_recv().is_err(),
        "no socket opened before the rebind backoff"
    );

    // The rebind backoff passes: a new socket, and a resync that finds
    // what changed meanwhile.
    r.set_truth(with_route());
    let mut now = t1;
    for _ in 0..10 {
        let Some(next) = r.engine.poll_timeout() else {
            break;
        };
        now = next.max(now);
        r.wake(now);
        if r.engine.handle().stats().rebinds_done == 1 && r.enumerations.load(Ordering::SeqCst) == 2
        {
            break;
        }
    }
    let new_peer = r.peers.try_recv().expect("a new socket was opened");
    assert_eq!(r.engine.handle().stats().rebinds_done, 1);
    let change = sub.try_recv().unwrap();
    assert_eq!(change.cause, Cause::Reconcile);
    assert_eq!(*change.new, with_route());

    // The new socket works.
    send(&new_peer, &default_route_v4(&DARWIN, RTM_DELETE));
    r.wake(now + Duration::from_millis(1));
    assert_eq!(r.engine.handle().stats().datagrams, 1);
}
