//! The checks each parser's result must pass, whatever the bytes, and the
//! input formats of the `netlink_dump` and `ifaddrs` targets. Shared by the
//! fuzz targets, the seed generator and `core/tests/never_panic.rs`.
#![allow(dead_code)] // Each user needs only part of it.

use netstate_core::ifname;
use netstate_core::wire::ifaddrs::{assemble, AssembleError, Entry, Layout, LinkLayer, Lookups};
use netstate_core::wire::netlink::dump::{SnapshotCollector, Stage};
use netstate_core::wire::netlink::events::parse_events;
use netstate_core::wire::netlink::HEADER_LEN;
use netstate_core::wire::route_socket::{Parser, Platform};
use netstate_core::{Snapshot, MAX_NAME_LEN};

/// `parse_events` on `data`, with the checks every result must pass.
pub fn check_netlink_events(data: &[u8]) {
    let mut calls = 0u32;
    let stats = parse_events(data, |ev| {
        calls += 1;
        if let Some(name) = ev.name {
            assert!(name.as_bytes().len() <= MAX_NAME_LEN);
        }
    });
    // Each framed message is at least one 16-byte header.
    assert!(
        stats.messages as usize <= data.len() / HEADER_LEN,
        "{stats:?}"
    );
    assert_eq!(calls, stats.events, "{stats:?}");
    // Every framed message lands in exactly one bucket; an unframable tail
    // adds one `malformed`.
    let buckets = stats.events + stats.malformed + stats.errors + stats.overruns + stats.ignored;
    assert!(
        buckets == stats.messages || buckets == stats.messages + 1,
        "{stats:?}"
    );
    assert_eq!(
        stats.lost_something(),
        stats.overruns > 0 || stats.malformed > 0
    );
}

/// The route-socket parser of both platforms on `data`, with the checks
/// every result must pass. `limit` is the parser's route-prefix limit.
pub fn check_route_socket(data: &[u8], limit: u8) {
    for platform in [Platform::Darwin, Platform::FreeBsd] {
        let parser = Parser::new(platform).max_route_prefix_len(limit);
        let mut calls = 0u64;
        let stats = parser.parse(data, |ev| {
            calls += 1;
            if let Some(name) = ev.name {
                assert!(name.as_bytes().len() <= MAX_NAME_LEN);
            }
            assert!(ev.table.is_none(), "routing sockets carry no table");
            if let Some(p) = ev.dst_prefix_len {
                assert!(p <= limit, "a route longer than the limit passed: {ev:?}");
            }
        });
        assert_eq!(calls, stats.events, "{platform:?} {stats:?}");
        assert_eq!(stats.messages, stats.events + stats.noise, "{stats:?}");
        assert!(stats.lost() <= stats.messages, "{stats:?}");
        assert!(stats.unknown + stats.lost() <= stats.events, "{stats:?}");
        // At most one message per four bytes (a dropped tail counts as one).
        assert!(
            stats.messages <= data.len().div_ceil(4) as u64,
            "{platform:?} {stats:?} for {} bytes",
            data.len()
        );
        // The iterator agrees with `parse`, and ends.
        let mut items = 0u64;
        let mut ended = false;
        for item in parser.messages(data) {
            assert!(!ended, "an item after a buffer-ending error");
            items += 1;
            if let Err(e) = item {
                ended = e.ends_buffer();
                let _ = e.to_string();
            }
        }
        assert_eq!(items, stats.messages);
    }
}

/// The stages, by the low two bits of a chunk's first byte.
pub const STAGES: [Stage; 4] = [Stage::Links, Stage::Addrs, Stage::RouteV4, Stage::RouteV6];

/// One datagram for the collector: the stage, the sequence number it answers
/// and the bytes.
#[derive(Debug)]
pub struct DumpChunk<'a> {
    pub stage: Stage,
    pub seq: u32,
    pub datagram: &'a [u8],
}

/// The `netlink_dump` target's input format: chunks of
/// `[stage & seq byte][length: u16 LE][length bytes]`, the stage in the low
/// two bits of the first byte and the sequence number (0 to 63) in the
/// rest. A chunk whose length runs past the end takes what is left.
pub struct DumpInput<'a>(pub &'a [u8]);

impl<'a> Iterator for DumpInput<'a> {
    type Item = DumpChunk<'a>;

    fn next(&mut self) -> Option<DumpChunk<'a>> {
        let (&head, rest) = self.0.split_first()?;
        let (len, rest) = match rest {
            [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
            _ => (rest.len(), &[][..]),
        };
        let len = len.min(rest.len());
        let (datagram, rest) = rest.split_at(len);
        self.0 = rest;
        Some(DumpChunk {
            stage: STAGES[usize::from(head & 3)],
            seq: u32::from(head >> 2),
            datagram,
        })
    }
}

/// Encodes chunks in the [`DumpInput`] format (for seeds and tests).
pub fn encode_dump(chunks: &[(Stage, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (stage, seq, d) in chunks {
        let s = STAGES.iter().position(|x| x == stage).unwrap() as u8;
        out.push(s | ((*seq as u8 & 63) << 2));
        out.extend((d.len() as u16).to_le_bytes());
        out.extend(d);
    }
    out
}

/// Feeds the chunks of `data` ([`DumpInput`]) to one collector: see
/// [`check_dump_chunks`].
pub fn check_netlink_dump(data: &[u8]) {
    check_dump_chunks(DumpInput(data));
}

/// What every snapshot is, however it was read: interfaces sorted by
/// index, indexes and names unique.
fn check_one_state(s: &Snapshot) {
    let indexes: Vec<u32> = s.interfaces().iter().map(|i| i.index).collect();
    for pair in indexes.windows(2) {
        assert!(pair[0] < pair[1], "sorted, unique indexes");
    }
    let mut names: Vec<&str> = s.interfaces().iter().map(|i| i.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), indexes.len(), "unique names");
}

/// Feeds every chunk to one collector (carrying on after errors, as a
/// careless caller might), then finishes it; checks a snapshot it returns.
pub fn check_dump_chunks<'a>(chunks: impl IntoIterator<Item = DumpChunk<'a>>) {
    let mut c = SnapshotCollector::new();
    for chunk in chunks {
        if let Err(e) = c.feed(chunk.stage, chunk.seq, chunk.datagram) {
            let _ = (e.to_string(), e.is_transient());
        }
    }
    match c.finish() {
        Ok(s) => {
            check_one_state(&s);
            for r in [&s.default_routes().v4, &s.default_routes().v6]
                .into_iter()
                .flatten()
            {
                let i = s
                    .by_index(r.index)
                    .expect("a default route on a listed link");
                assert_eq!(i.name, r.interface);
            }
            let _ = (s.have_v4(), s.have_v6());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ---------------------------------------------------------------------------
// getifaddrs entries.

/// The layouts the `ifaddrs` target reads with, by the low two bits of its
/// first byte: the three named ones, and Linux's without link-layer entries
/// (the other Unix systems).
pub const IFADDRS_LAYOUTS: [Layout; 4] = [
    Layout::LINUX,
    Layout::DARWIN,
    Layout::FREEBSD,
    Layout {
        link: None,
        ..Layout::LINUX
    },
];

/// The names an `ifaddrs` entry can have, by its name byte: few, so that
/// entries share them; labels of them; one that is not UTF-8; an empty one.
pub const IFADDRS_NAMES: [&[u8]; 12] = [
    b"lo",
    b"eth0",
    b"eth0:1",
    b"eth0:x:y",
    b"en0",
    b"lo0",
    b"tun0",
    b"a",
    b"b",
    b"eth\xff",
    b"",
    b":",
];

/// Lookups whose answers follow from the name alone (so the same input
/// always gets the same answers): an index from 1 to 64 for most names (two
/// names may share one), and an MTU; with `failures`, some names have no
/// index, no MTU (gone) or a failing MTU lookup.
#[derive(Clone, Copy, Debug)]
pub struct NameLookups {
    pub failures: bool,
}

impl NameLookups {
    fn hash(name: &[u8]) -> u32 {
        name.iter()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)))
    }

    /// The MTU this lookup gives `name`, when it gives one.
    pub fn mtu_of(&self, name: &[u8]) -> Option<u32> {
        let h = Self::hash(name);
        (!self.failures || h % 17 > 1).then_some(1000 + h % 9000)
    }
}

impl Lookups for NameLookups {
    type Error = String;

    fn index(&mut self, name: &[u8]) -> Option<u32> {
        let h = Self::hash(name);
        (!self.failures || h % 7 != 0).then_some(1 + (h >> 3) % 64)
    }

    fn mtu(&mut self, name: &[u8]) -> Result<Option<u32>, String> {
        let h = Self::hash(name);
        if self.failures && h % 17 == 1 {
            return Err(format!("no MTU for {name:?}"));
        }
        Ok(self.mtu_of(name))
    }
}

/// The `ifaddrs` target's input format: byte 0 picks the layout
/// ([`IFADDRS_LAYOUTS`], low two bits) and whether the lookups may fail
/// (bit 2); then entries, each `[name][flags: u16 LE][addr length][addr
/// bytes][mask length][mask bytes]`, the name one of [`IFADDRS_NAMES`] by
/// its byte, a length of 255 a null pointer. A field cut short by the end of
/// the input takes what is left.
pub struct IfaddrsInput<'a>(pub &'a [u8]);

impl IfaddrsInput<'_> {
    /// The layout, the lookups and the entries.
    pub fn decode(&self) -> (Layout, NameLookups, Vec<Entry>) {
        let Some((&head, mut rest)) = self.0.split_first() else {
            return (Layout::LINUX, NameLookups { failures: false }, Vec::new());
        };
        let mut take = |n: usize| {
            let (a, b) = rest.split_at(n.min(rest.len()));
            rest = b;
            a
        };
        let mut entries = Vec::new();
        while let Some(&name) = take(1).first() {
            let flags = match take(2) {
                [a, b] => u32::from(u16::from_le_bytes([*a, *b])),
                [a] => u32::from(*a),
                _ => 0,
            };
            let mut sockaddr = || match take(1).first() {
                None | Some(255) => None,
                Some(&n) => Some(take(usize::from(n)).to_vec()),
            };
            let addr = sockaddr();
            let netmask = sockaddr();
            entries.push(Entry {
                name: IFADDRS_NAMES[usize::from(name) % IFADDRS_NAMES.len()].to_vec(),
                flags,
                addr,
                netmask,
            });
        }
        let layout = IFADDRS_LAYOUTS[usize::from(head & 3)];
        (
            layout,
            NameLookups {
                failures: head & 4 != 0,
            },
            entries,
        )
    }
}

/// Encodes entries in the [`IfaddrsInput`] format (for seeds and tests);
/// `head` is byte 0. Names must be in [`IFADDRS_NAMES`].
pub fn encode_ifaddrs(head: u8, entries: &[Entry]) -> Vec<u8> {
    let mut out = vec![head];
    for e in entries {
        let name = IFADDRS_NAMES.iter().position(|n| *n == e.name).unwrap();
        out.push(name as u8);
        out.extend((e.flags as u16).to_le_bytes());
        for sa in [&e.addr, &e.netmask] {
            match sa {
                None => out.push(255),
                Some(b) => {
                    assert!(b.len() < 255);
                    out.push(b.len() as u8);
                    out.extend(b);
                }
            }
        }
    }
    out
}

/// [`assemble`] on the entries of an [`IfaddrsInput`], with
/// [`check_ifaddrs_entries`]'s checks.
pub fn check_ifaddrs(data: &[u8]) {
    let (layout, lookups, entries) = IfaddrsInput(data).decode();
    check_ifaddrs_entries(&layout, lookups, &entries);
}

/// [`assemble`] on `entries`, with the checks every result must pass: the
/// snapshot's invariants (indexes sorted, unique and not 0, names unique),
/// no default routes and no address flags (`getifaddrs` has neither), each
/// interface named after an entry (or the interface of a label, under a
/// layout with labels) with the MTU the lookups gave it, no more
/// interfaces than names nor addresses than entries, and an error naming
/// an entry's interface. The same entries give the same result. Returns the
/// snapshot, if any.
pub fn check_ifaddrs_entries(
    layout: &Layout,
    lookups: NameLookups,
    entries: &[Entry],
) -> Option<Snapshot> {
    let (mut first, mut second) = (lookups, lookups);
    let result = assemble(entries, layout, &mut first);
    let again = assemble(entries, layout, &mut second);
    // What an interface may be called: an entry's name, or the part of a
    // label before its first ':'.
    let mut names: Vec<&[u8]> = entries.iter().map(|e| e.name.as_slice()).collect();
    if layout.ipv4_labels {
        for e in entries {
            if let Some(colon) = e.name.iter().position(|b| *b == b':') {
                names.push(&e.name[..colon]);
            }
        }
    }
    let is_a_name = |text: &str| names.iter().any(|n| ifname::escape(n) == text);
    match result {
        Ok(s) => {
            assert_eq!(again.ok().as_ref(), Some(&s), "deterministic");
            check_one_state(&s);
            let ifs = s.interfaces();
            assert!(s.default_routes().v4.is_none() && s.default_routes().v6.is_none());
            let mut distinct = names.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert!(ifs.len() <= distinct.len());
            let mut addrs = 0;
            for i in ifs {
                assert_ne!(i.index, 0);
                assert!(is_a_name(&i.name), "{:?} is no entry's name", i.name);
                let raw = ifname::unescape(&i.name);
                assert_eq!(Some(i.mtu), lookups.mtu_of(&raw), "{:?}", i.name);
                assert!(i.addrs.iter().all(|a| a.flags.is_empty()));
                if let Some(mac) = &i.mac {
                    assert!(!mac.as_bytes().is_empty(), "an empty address is none");
                    if layout.link == Some(LinkLayer::Packet) {
                        assert!(mac.as_bytes().len() <= 8, "sll_addr has 8 bytes");
                    }
                }
                addrs += i.addrs.len();
            }
            assert!(addrs <= entries.len());
            let _ = (s.have_v4(), s.have_v6());
            Some(s)
        }
        Err(e) => {
            assert_eq!(again.err().map(|e| e.to_string()), Some(e.to_string()));
            match &e {
                AssembleError::Vanished { interface } | AssembleError::Mtu { interface, .. } => {
                    assert!(is_a_name(interface), "{interface:?} is no entry's name");
                }
                AssembleError::Inconsistent(_) => {}
            }
            None
        }
    }
}
