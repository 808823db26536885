//! Splitting a buffer into messages and turning each into a hint, noise or
//! an error. Nothing here allocates or panics, whatever the bytes.

use core::fmt;
use core::iter::FusedIterator;
use core::ops::AddAssign;

use super::layout::{
    darwin, freebsd, Layout, COMMON_HEADER_LEN, IFAN_INDEX_OFFSET, IFAN_NAME_OFFSET,
    IFAN_WHAT_OFFSET, IFM_ADDRS_OFFSET, IFM_INDEX_OFFSET, IFNAMSIZ, MSGLEN_OFFSET, RTAX_DST,
    RTAX_IFA, RTAX_IFP, RTAX_NETMASK, RTF_HOST, RTM_ADD, RTM_ADDRS_OFFSET, RTM_CHANGE, RTM_DELADDR,
    RTM_DELETE, RTM_DELMADDR, RTM_ERRNO_OFFSET, RTM_FLAGS_OFFSET, RTM_GET, RTM_IFINFO,
    RTM_INDEX_OFFSET, RTM_LOCK, RTM_LOSING, RTM_MISS, RTM_NEWADDR, RTM_NEWMADDR, RTM_REDIRECT,
    RTM_RESOLVE, TYPE_OFFSET, VERSION_OFFSET,
};
use super::sockaddr::{self, Sockaddrs};
use super::Platform;
use crate::event::{InterfaceName, RouteEvent, RouteEventKind};
use crate::wire::sockaddr::{host_prefix_len, netmask_prefix_len};

/// Turns routing-socket bytes into [`RouteEvent`] hints for one platform.
///
/// A `Parser` is a small `Copy` value holding the platform and the longest
/// route prefix that still counts as a hint; build it once and use it for
/// every read. [`Parser::parse`] is the whole job for a monitor;
/// [`Parser::messages`] shows each message's fate for tests and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parser {
    platform: Platform,
    max_route_prefix_len: u8,
}

impl Parser {
    /// A parser for `platform` that keeps route messages of prefix length 0
    /// and 1 (the default route, and OpenVPN's `0.0.0.0/1` + `128.0.0.0/1`),
    /// like [`Filter::new`](crate::Filter::new).
    #[must_use]
    pub const fn new(platform: Platform) -> Self {
        Parser {
            platform,
            max_route_prefix_len: 1,
        }
    }

    /// The same parser keeping route messages of prefix length up to `len`.
    /// Give it the monitor's [`Filter::route_prefix_limit`](crate::Filter::route_prefix_limit):
    /// a route the parser calls noise never reaches the filter.
    #[must_use]
    pub const fn max_route_prefix_len(mut self, len: u8) -> Self {
        self.max_route_prefix_len = len;
        self
    }

    /// The platform whose layouts this parser reads.
    #[must_use]
    pub const fn platform(&self) -> Platform {
        self.platform
    }

    /// The longest route prefix this parser passes on as a hint.
    #[must_use]
    pub const fn route_prefix_limit(&self) -> u8 {
        self.max_route_prefix_len
    }

    /// Every message in `buf`, in order, each as a [`Message`] or a
    /// [`MessageError`]. The iterator always ends, after at most one item per
    /// four bytes of `buf`, and allocates nothing.
    #[must_use]
    pub fn messages<'a>(&self, buf: &'a [u8]) -> Messages<'a> {
        Messages {
            parser: *self,
            rest: buf,
        }
    }

    /// Parses every message in `buf`, calls `out` with each hint, and counts
    /// what it saw. Allocates nothing.
    ///
    /// Noise is counted and dropped. A message that could not be read (any
    /// [`MessageError`]) is counted and becomes one
    /// [`RouteEventKind::Unknown`] hint, so the caller's
    /// [`Reconciler`](crate::Reconciler) re-enumerates: the lost message may
    /// have been a real change. The counts also say so
    /// ([`ParseStats::lost`]).
    pub fn parse(&self, buf: &[u8], mut out: impl FnMut(RouteEvent)) -> ParseStats {
        let mut stats = ParseStats::default();
        for item in self.messages(buf) {
            stats.messages += 1;
            match item {
                Ok(Message::Event(event)) => {
                    if event.kind == RouteEventKind::Unknown {
                        stats.unknown += 1;
                    }
                    stats.events += 1;
                    out(event);
                }
                Ok(Message::Noise(_)) => stats.noise += 1,
                Err(error) => {
                    if matches!(error, MessageError::WrongVersion { .. }) {
                        stats.wrong_version += 1;
                    } else {
                        stats.malformed += 1;
                    }
                    stats.events += 1;
                    out(RouteEvent::new(RouteEventKind::Unknown));
                }
            }
        }
        stats
    }

    fn layout(&self) -> &'static Layout {
        self.platform.layout()
    }

    /// One message, exactly `msglen` bytes long (at least four).
    fn message(&self, msg: &[u8]) -> Result<Message, MessageError> {
        let version = msg[VERSION_OFFSET];
        let msg_type = msg[TYPE_OFFSET];
        if version != self.layout().version {
            return Err(MessageError::WrongVersion { version, msg_type });
        }
        match self.shape(msg_type) {
            Shape::Noise(noise) => Ok(Message::Noise(noise)),
            Shape::Unknown => Ok(Message::Event(RouteEvent::new(RouteEventKind::Unknown))),
            Shape::Route(kind) => self.route(msg, kind),
            Shape::Link { header_len } => self.link(msg, header_len),
            Shape::Addr(kind) => self.addr(msg, kind),
            Shape::Announce => self.announce(msg),
        }
    }

    /// What a message type is on this platform. Noise is decided here, from
    /// the type alone, except for route messages (prefix and errno).
    fn shape(&self, msg_type: u8) -> Shape {
        let layout = self.layout();
        match (self.platform, msg_type) {
            (_, RTM_ADD | RTM_CHANGE | RTM_REDIRECT) => Shape::Route(RouteEventKind::RouteNew),
            (_, RTM_DELETE) => Shape::Route(RouteEventKind::RouteDel),
            (Platform::Darwin, darwin::RTM_OLDADD) => Shape::Route(RouteEventKind::RouteNew),
            (Platform::Darwin, darwin::RTM_OLDDEL) => Shape::Route(RouteEventKind::RouteDel),
            (_, RTM_MISS) => Shape::Noise(Noise::Miss),
            (_, RTM_LOSING) => Shape::Noise(Noise::Losing),
            (_, RTM_GET) => Shape::Noise(Noise::GetReply),
            (Platform::Darwin, darwin::RTM_GET_SILENT | darwin::RTM_GET2 | darwin::RTM_GET_EXT) => {
                Shape::Noise(Noise::GetReply)
            }
            (_, RTM_RESOLVE) => Shape::Noise(Noise::Resolve),
            (_, RTM_LOCK) => Shape::Noise(Noise::Lock),
            (_, RTM_NEWMADDR | RTM_DELMADDR) => Shape::Noise(Noise::Multicast),
            (Platform::Darwin, darwin::RTM_NEWMADDR2) => Shape::Noise(Noise::Multicast),
            (_, RTM_IFINFO) => Shape::Link {
                header_len: layout.if_msghdr_len,
            },
            (Platform::Darwin, darwin::RTM_IFINFO2) => Shape::Link {
                header_len: darwin::IF_MSGHDR2_LEN,
            },
            (_, RTM_NEWADDR) => Shape::Addr(RouteEventKind::AddrNew),
            (_, RTM_DELADDR) => Shape::Addr(RouteEventKind::AddrDel),
            (Platform::FreeBsd, freebsd::RTM_IFANNOUNCE) => Shape::Announce,
            (Platform::FreeBsd, freebsd::RTM_IEEE80211) => Shape::Noise(Noise::Wireless),
            _ => Shape::Unknown,
        }
    }

    /// `rt_msghdr`: a route added, changed or deleted.
    fn route(&self, msg: &[u8], kind: RouteEventKind) -> Result<Message, MessageError> {
        let layout = self.layout();
        let body = body(msg, layout.rt_msghdr_len)?;
        if read_u32(msg, RTM_ERRNO_OFFSET) != 0 {
            return Ok(Message::Noise(Noise::FailedRequest));
        }
        let flags = read_u32(msg, RTM_FLAGS_OFFSET);
        let addrs = Sockaddrs::read(body, read_u32(msg, RTM_ADDRS_OFFSET), layout)
            .map_err(|slot| bad_sockaddr(msg, slot))?;
        let mut event = RouteEvent::new(kind);
        event.index = nonzero_index(read_u16(msg, RTM_INDEX_OFFSET));
        event.family = addrs
            .get(RTAX_DST)
            .and_then(|dst| sockaddr::family(dst, layout));
        if let Some(family) = event.family {
            event.dst_prefix_len = if flags & RTF_HOST != 0 {
                Some(host_prefix_len(family))
            } else {
                addrs
                    .get(RTAX_NETMASK)
                    .map(|mask| netmask_prefix_len(mask, family))
            };
        }
        if let Some(prefix_len) = event.dst_prefix_len {
            if prefix_len > self.max_route_prefix_len {
                return Ok(Message::Noise(Noise::NotDefaultRoute { prefix_len }));
            }
        }
        Ok(Message::Event(event))
    }

    /// `if_msghdr` (or Darwin's `if_msghdr2`): an interface changed.
    fn link(&self, msg: &[u8], header_len: usize) -> Result<Message, MessageError> {
        let body = body(msg, header_len)?;
        let mut event = RouteEvent::new(RouteEventKind::LinkNew);
        event.index = nonzero_index(read_u16(msg, IFM_INDEX_OFFSET));
        let addrs = read_u32(msg, IFM_ADDRS_OFFSET);
        if addrs != 0 {
            let addrs = Sockaddrs::read(body, addrs, self.layout())
                .map_err(|slot| bad_sockaddr(msg, slot))?;
            event.name = addrs.get(RTAX_IFP).and_then(sockaddr::link_name);
        }
        Ok(Message::Event(event))
    }

    /// `ifa_msghdr`: an address added to or removed from an interface.
    fn addr(&self, msg: &[u8], kind: RouteEventKind) -> Result<Message, MessageError> {
        let layout = self.layout();
        let body = body(msg, layout.ifa_msghdr_len)?;
        let addrs = Sockaddrs::read(body, read_u32(msg, IFM_ADDRS_OFFSET), layout)
            .map_err(|slot| bad_sockaddr(msg, slot))?;
        let mut event = RouteEvent::new(kind);
        event.index = nonzero_index(read_u16(msg, IFM_INDEX_OFFSET));
        event.family = addrs
            .get(RTAX_IFA)
            .and_then(|ifa| sockaddr::family(ifa, layout));
        event.name = addrs.get(RTAX_IFP).and_then(sockaddr::link_name);
        Ok(Message::Event(event))
    }

    /// FreeBSD's `if_announcemsghdr`: an interface arrived or departed.
    fn announce(&self, msg: &[u8]) -> Result<Message, MessageError> {
        body(msg, freebsd::IF_ANNOUNCEMSGHDR_LEN)?;
        let kind = match read_u16(msg, IFAN_WHAT_OFFSET) {
            freebsd::IFAN_ARRIVAL => RouteEventKind::LinkNew,
            freebsd::IFAN_DEPARTURE => RouteEventKind::LinkDel,
            _ => RouteEventKind::Unknown,
        };
        let mut event = RouteEvent::new(kind);
        event.index = nonzero_index(read_u16(msg, IFAN_INDEX_OFFSET));
        let name = &msg[IFAN_NAME_OFFSET..IFAN_NAME_OFFSET + IFNAMSIZ];
        event.name = Some(InterfaceName::new(name)).filter(|n| !n.as_bytes().is_empty());
        Ok(Message::Event(event))
    }
}

/// What a message type is, on one platform.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Route(RouteEventKind),
    Link { header_len: usize },
    Addr(RouteEventKind),
    Announce,
    Noise(Noise),
    Unknown,
}

/// The bytes after a header of `header_len`, or the error for a message too
/// short to hold it.
fn body(msg: &[u8], header_len: usize) -> Result<&[u8], MessageError> {
    msg.get(header_len..).ok_or(MessageError::ShortHeader {
        msg_type: msg[TYPE_OFFSET],
        msglen: msg.len() as u16,
        needed: header_len as u16,
    })
}

fn bad_sockaddr(msg: &[u8], slot: u8) -> MessageError {
    MessageError::BadSockaddr {
        msg_type: msg[TYPE_OFFSET],
        slot,
    }
}

fn nonzero_index(index: u16) -> Option<u32> {
    (index != 0).then_some(u32::from(index))
}

/// A little-endian `u16` at `offset`; the callers checked the length.
fn read_u16(msg: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([msg[offset], msg[offset + 1]])
}

/// A little-endian `u32` at `offset`; the callers checked the length.
fn read_u32(msg: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        msg[offset],
        msg[offset + 1],
        msg[offset + 2],
        msg[offset + 3],
    ])
}

/// The messages of one buffer: see [`Parser::messages`].
///
/// Each item is one message, read or not. After an error that loses the
/// message boundaries ([`MessageError::ends_buffer`]) the iterator ends.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    parser: Parser,
    rest: &'a [u8],
}

impl Iterator for Messages<'_> {
    type Item = Result<Message, MessageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        if rest.is_empty() {
            return None;
        }
        // Every path below either consumes at least four bytes or ends.
        if rest.len() < COMMON_HEADER_LEN {
            self.rest = &[];
            return Some(Err(MessageError::Fragment {
                remaining: rest.len(),
            }));
        }
        let msglen = read_u16(rest, MSGLEN_OFFSET);
        let len = usize::from(msglen);
        if len < COMMON_HEADER_LEN {
            self.rest = &[];
            return Some(Err(MessageError::BadLength { msglen }));
        }
        let Some((msg, next)) = rest.split_at_checked(len) else {
            self.rest = &[];
            return Some(Err(MessageError::Truncated {
                msglen,
                remaining: rest.len(),
            }));
        };
        self.rest = next;
        Some(self.parser.message(msg))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len();
        (usize::from(n > 0), Some(n.div_ceil(COMMON_HEADER_LEN)))
    }
}

impl FusedIterator for Messages<'_> {}

/// One message read in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// A hint: something may have changed. Unknown message types and
    /// FreeBSD interface announcements with an unknown `ifan_what` are hints
    /// of kind [`RouteEventKind::Unknown`].
    Event(RouteEvent),
    /// A message that cannot change the state netstate reports: see the
    /// module's noise list.
    Noise(Noise),
}

/// Why a well-formed message was dropped before it became a hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Noise {
    /// `RTM_MISS`: a route lookup found nothing. No table changed, and
    /// recent macOS sends it for most traffic to unrouted destinations
    /// (1,138 of 1,142 route messages in one field report).
    Miss,
    /// `RTM_LOSING`: a transport protocol suspects a route; no table changed.
    Losing,
    /// `RTM_GET` and Darwin's `RTM_GET2`, `RTM_GET_SILENT` and `RTM_GET_EXT`:
    /// the reply to someone's lookup.
    GetReply,
    /// `RTM_RESOLVE`: a request to resolve a neighbour's link-layer address.
    Resolve,
    /// `RTM_LOCK`: a route's metrics were locked; no route changed.
    Lock,
    /// `RTM_NEWMADDR`, `RTM_DELMADDR` and Darwin's `RTM_NEWMADDR2`: a
    /// multicast group membership, which netstate does not report.
    Multicast,
    /// FreeBSD's `RTM_IEEE80211`: a wireless event (scan, association). A
    /// link or address change it causes comes as its own message.
    Wireless,
    /// A route request that failed (`rtm_errno` is not 0): the kernel
    /// echoes it to every listener, but the table did not change.
    FailedRequest,
    /// A route that cannot be the one chosen for an internet destination:
    /// its prefix is longer than the parser's limit (a host route, a
    /// neighbour-cache entry, a subnet route).
    NotDefaultRoute {
        /// The route's destination prefix length.
        prefix_len: u8,
    },
}

/// A message that could not be read. Each is skipped and counted; since it
/// may have been a real change, the monitor should re-enumerate
/// ([`Parser::parse`] turns each into an [`RouteEventKind::Unknown`] hint,
/// which does that).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageError {
    /// The buffer ends with fewer than four bytes, not even a message's
    /// common header. They are dropped and the buffer ends.
    Fragment {
        /// The bytes left (1 to 3).
        remaining: usize,
    },
    /// `msglen` is below four (0 included), so the next message cannot be
    /// found: the rest of the buffer is dropped rather than read in a loop.
    BadLength {
        /// The length the message claimed.
        msglen: u16,
    },
    /// `msglen` runs past the end of the buffer: the message was cut (for
    /// example by a receive buffer smaller than the message). The rest of
    /// the buffer is dropped. Receive into a buffer of at least 64 KiB.
    Truncated {
        /// The length the message claimed.
        msglen: u16,
        /// The bytes left in the buffer.
        remaining: usize,
    },
    /// The version byte is not the platform's `RTM_VERSION`: the kernel
    /// speaks a layout this parser does not know, or the platform passed is
    /// wrong. The message is skipped. If every message says this, check the
    /// [`Platform`].
    WrongVersion {
        /// The version the message carries.
        version: u8,
        /// The message type.
        msg_type: u8,
    },
    /// The message is shorter than the fixed header of its type. Skipped.
    ShortHeader {
        /// The message type.
        msg_type: u8,
        /// The message's length.
        msglen: u16,
        /// The header's length.
        needed: u16,
    },
    /// A socket address after the header claims more bytes than the message
    /// has left, or is missing. The message is skipped.
    BadSockaddr {
        /// The message type.
        msg_type: u8,
        /// The `RTAX_*` slot of the bad address.
        slot: u8,
    },
}

impl MessageError {
    /// Whether the error ended the buffer: the message boundaries are lost
    /// and nothing after it was read.
    #[must_use]
    pub fn ends_buffer(&self) -> bool {
        matches!(
            self,
            MessageError::Fragment { .. }
                | MessageError::BadLength { .. }
                | MessageError::Truncated { .. }
        )
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Fragment { remaining } => {
                write!(f, "{remaining} stray bytes after the last message")
            }
            MessageError::BadLength { msglen } => {
                write!(f, "message length {msglen} is shorter than a header")
            }
            MessageError::Truncated { msglen, remaining } => write!(
                f,
                "message of {msglen} bytes truncated to {remaining} bytes"
            ),
            MessageError::WrongVersion { version, msg_type } => write!(
                f,
                "message type {msg_type} has version {version}, not the platform's"
            ),
            MessageError::ShortHeader {
                msg_type,
                msglen,
                needed,
            } => write!(
                f,
                "message type {msg_type} of {msglen} bytes is shorter than its {needed}-byte header"
            ),
            MessageError::BadSockaddr { msg_type, slot } => write!(
                f,
                "message type {msg_type}: socket address {slot} is missing or runs past the message"
            ),
        }
    }
}

impl std::error::Error for MessageError {}

/// What [`Parser::parse`] saw in one buffer. Add them up with `+=`.
///
/// Every message is either noise or passed on as one hint (a lost message
/// as an [`Unknown`](RouteEventKind::Unknown) one), so
/// `messages == events + noise` always holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Messages seen, read or not. A dropped tail counts as one.
    pub messages: u64,
    /// Hints passed to the callback, including the `Unknown` hint sent for
    /// each lost message.
    pub events: u64,
    /// Messages dropped as noise.
    pub noise: u64,
    /// Messages lost because they were malformed (every [`MessageError`]
    /// but [`WrongVersion`](MessageError::WrongVersion)).
    pub malformed: u64,
    /// Messages lost because of their version byte.
    pub wrong_version: u64,
    /// Well-formed messages of a kind this parser does not know, passed on
    /// as [`Unknown`](RouteEventKind::Unknown) hints.
    pub unknown: u64,
}

impl ParseStats {
    /// The messages that could not be read: a reason to re-enumerate.
    #[must_use]
    pub fn lost(&self) -> u64 {
        self.malformed + self.wrong_version
    }
}

impl AddAssign for ParseStats {
    fn add_assign(&mut self, other: ParseStats) {
        self.messages += other.messages;
        self.events += other.events;
        self.noise += other.noise;
        self.malformed += other.malformed;
        self.wrong_version += other.wrong_version;
        self.unknown += other.unknown;
    }
}
