//! Bounds-checked reads of native-endian fields, of `nlmsghdr` frames and
//! of `rtattr` lists: the reading half of the netlink codec, shared by the
//! event parser, the dump reader and the lookup answers. Never allocate,
//! never panic.

use super::{align, HEADER_LEN};

/// One netlink message: its header's fields and its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    /// `nlmsg_type`.
    pub(crate) kind: u16,
    /// `nlmsg_flags`.
    pub(crate) flags: u16,
    /// `nlmsg_seq`.
    pub(crate) seq: u32,
    /// The bytes after the header, up to `nlmsg_len`.
    pub(crate) body: &'a [u8],
}

/// Splits the first message off `rest`: the message, and what follows it
/// after alignment padding (empty when the padding runs past the end).
/// `None` when the header is cut short or its length is below the header's
/// or past the end: then nothing after it can be framed either.
pub(crate) fn frame(rest: &[u8]) -> Option<(Frame<'_>, &[u8])> {
    let len = u32_at(rest, 0)? as usize;
    if len < HEADER_LEN || len > rest.len() {
        return None;
    }
    let frame = Frame {
        kind: u16_at(rest, 4)?,
        flags: u16_at(rest, 6)?,
        seq: u32_at(rest, 8)?,
        body: &rest[HEADER_LEN..len],
    };
    Some((frame, rest.get(align(len)..).unwrap_or(&[])))
}

/// The native-endian `i32` at `at`.
pub(crate) fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    u32_at(b, at).map(|u| i32::from_ne_bytes(u.to_ne_bytes()))
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let bytes = b.get(at..at + 2)?;
    Some(u16::from_ne_bytes([bytes[0], bytes[1]]))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at + 4)?;
    Some(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Walks the attributes of `b`, calling `f(type, value)` for each. Returns
/// `false` if an attribute's length is malformed (the walk stops there).
pub(crate) fn for_each_attr<'a>(mut b: &'a [u8], mut f: impl FnMut(u16, &'a [u8])) -> bool {
    while !b.is_empty() {
        let (Some(len), Some(kind)) = (u16_at(b, 0), u16_at(b, 2)) else {
            return false;
        };
        let len = usize::from(len);
        if len < 4 || len > b.len() {
            return false;
        }
        f(kind & 0x3fff, &b[4..len]);
        b = b.get(align(len)..).unwrap_or(&[]);
    }
    true
}
