//! The checks each parser's result must pass, whatever the bytes, and the
//! `netlink_dump` target's input format. Shared by the fuzz targets, the
//! seed generator and `core/tests/never_panic.rs`.
#![allow(dead_code)] // Each user needs only part of it.

use netstate_core::wire::netlink::dump::{SnapshotCollector, Stage};
use netstate_core::wire::netlink::events::parse_events;
use netstate_core::wire::netlink::HEADER_LEN;
use netstate_core::wire::route_socket::{Parser, Platform};
use netstate_core::MAX_NAME_LEN;

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
            let ifs = s.interfaces();
            for pair in ifs.windows(2) {
                assert!(pair[0].index < pair[1].index, "sorted, unique indexes");
            }
            let mut names: Vec<&str> = ifs.iter().map(|i| i.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), ifs.len(), "unique names");
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
