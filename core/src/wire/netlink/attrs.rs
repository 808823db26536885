//! Bounds-checked reads of native-endian fields and of `rtattr` lists,
//! shared by the event parser and the dump reader. Never allocate, never
//! panic.

use super::align;

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
