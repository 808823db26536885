//! Linux netlink (`NETLINK_ROUTE`): route-monitor datagrams into
//! [`RouteEvent`](crate::RouteEvent) hints, and the requests and replies of an
//! enumeration into a [`Snapshot`](crate::Snapshot).
//!
//! Pure: no socket here (that is `netstate-sys`), so all of it is compiled
//! and tested on every platform, with byte fixtures.
//!
//! * [`events`]: the monitor's hot path. A datagram (one or several netlink
//!   messages) becomes hints by reading the fixed headers and only the
//!   attributes the filter needs. It never allocates and never panics; a
//!   malformed message is counted and skipped.
//! * [`requests`]: the link and address dumps and the default-route lookups
//!   of one enumeration, written field by field.
//! * [`lookup`]: which route lookup answers "the default route" (a FIB-match
//!   lookup per probe; a more specific route covering a probe is not it).
//! * [`dump`]: collects the replies (links, addresses, route answers, done,
//!   error and overrun messages, each read in place) into a `Snapshot`, and
//!   refuses a dump the kernel marked interrupted or that mixes two states.
//! * [`conversation`]: one enumeration as a sans-IO state machine
//!   (requests out, datagrams in, a snapshot or the reason there is none),
//!   starting again when a dump is interrupted; run by `netstate-sys` over
//!   a blocking or a non-blocking socket.
//!
//! ## One codec, this crate's own
//!
//! Everything the monitor sends and reads goes through one codec written
//! here: requests are written field by field from the kernel's structures
//! ([`requests`]), and every reply is framed by one function and read in
//! place, only for the fields it needs (the private `attrs` module: frames,
//! fixed fields, attribute lists; used by [`events`], [`dump`] and
//! [`lookup::RouteAnswer::parse`]). `netlink-packet-core` and
//! `netlink-packet-route`, which the enumeration used before, are only
//! dev-dependencies: tests check that every request is the crate's
//! encoding byte for byte, and that random well-formed route answers read
//! as the crate decodes them. Core's own dependencies are `ipnet` and
//! `smallvec` (with the crates: 14 more, among them `syn`, `zerocopy`,
//! `libc` and `log`).
//!
//! Measured against the same work done with the crates, on the 2-core CI
//! machine (2026-11-25 and 2026-11-30; the second while another build
//! ran, so the ratios are what to read):
//!
//! | work | this codec | netlink-packet-* | ratio | allocations (ours / crate) |
//! |---|---|---|---|---|
//! | event datagram of 32 notifications, valid | 369 ns | 1,061 ns | 2.9x | 0 / 0 |
//! | the same, 16 of 32 messages malformed | 191 ns | 1,613 ns | 8.4x | 0 / 16 |
//! | the 4 requests of a targeted read | 240 ns | 1,116 ns | 4.6x | 4 / 9 |
//! | one route lookup answer, framed and read | 27 ns | 643 ns | 24x | 0 / 1 |
//!
//! (`cargo bench -p netstate-bench --bench netlink_events`, and `--bench
//! netlink_codec`.) The event path must not allocate, and the crates'
//! `DecodeError` carries a `String` built with `format!` for every
//! malformed message or attribute (`NetlinkBuffer::new_checked`,
//! `NlaBuffer::new_checked`), so hostile input allocates per message; the
//! crates decode every attribute of a message into an owned `Vec`, where
//! the monitor needs three. A few hundred nanoseconds per change do not
//! matter next to a read's round trips; one codec, one framing rule and
//! two fewer dependency trees do.

mod attrs;
pub mod conversation;
pub mod dump;
pub mod events;
// Byte builders for tests, benchmarks and fuzz seeds: not part of the API.
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod lookup;
pub mod requests;

/// `NLMSG_NOOP`: nothing.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an error or acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`: data was lost.
pub const NLMSG_OVERRUN: u16 = 4;
/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
pub const RTM_DELLINK: u16 = 17;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`.
pub const RTM_DELADDR: u16 = 21;
/// `RTM_NEWROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
/// `RTM_DELROUTE`.
pub const RTM_DELROUTE: u16 = 25;
/// `RTM_NEWRULE`.
pub const RTM_NEWRULE: u16 = 32;
/// `RTM_DELRULE`.
pub const RTM_DELRULE: u16 = 33;

/// `NLM_F_MULTI`: part of a multipart reply.
pub const NLM_F_MULTI: u16 = 0x02;
/// `NLM_F_DUMP_INTR`: the dump was interrupted by a change; its content is
/// inconsistent and must be read again.
pub const NLM_F_DUMP_INTR: u16 = 0x10;

/// `AF_INET` on Linux.
pub const AF_INET: u8 = 2;
/// `AF_INET6` on Linux.
pub const AF_INET6: u8 = 10;

/// Multicast groups (bit numbers, `RTNLGRP_*`) a route monitor joins: links,
/// IPv4 and IPv6 addresses, IPv4 and IPv6 routes, IPv4 and IPv6 rules.
pub const MONITOR_GROUPS: [u32; 7] = [
    1,  // RTNLGRP_LINK
    5,  // RTNLGRP_IPV4_IFADDR
    7,  // RTNLGRP_IPV4_ROUTE
    8,  // RTNLGRP_IPV4_RULE
    9,  // RTNLGRP_IPV6_IFADDR
    11, // RTNLGRP_IPV6_ROUTE
    19, // RTNLGRP_IPV6_RULE
];

/// The size of a netlink message header.
pub const HEADER_LEN: usize = 16;

/// Rounds up to the netlink alignment (4 bytes).
#[must_use]
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}
