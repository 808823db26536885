//! Interface names as text, losslessly.
//!
//! On Linux an interface name is up to 15 bytes, any bytes but NUL, `/`,
//! `:` and white space: it need not be UTF-8 (`ip link add $'n\xff\xfe'
//! type veth …` works for anyone with `CAP_NET_ADMIN` in the namespace).
//! netstate keeps names as `String`s so that applications compare and print
//! them easily, and writes the bytes that are not UTF-8 with one documented
//! escape, so that nothing is lost and a name goes through JSON and traces
//! unchanged:
//!
//! * a name that is valid UTF-8 and has no backslash is itself (`eth0`,
//!   `wlan0`, `café`);
//! * a backslash is written `\\`;
//! * each byte that is not part of valid UTF-8 is written `\xNN` (two lower
//!   case hexadecimal digits).
//!
//! [`escape`] applies it, [`unescape`] undoes it (the bytes the kernel
//! uses); `unescape(&escape(b)) == b` for all bytes `b`. The interface filter
//! takes patterns in the same form and compares bytes, so `n\xff` ignores the
//! interface whose name is the two bytes `n`, `0xff`.
//!
//! Control characters (an escape sequence in a name) are valid UTF-8 and are
//! kept as they are: JSON escapes them, and the command's text output
//! escapes them before they reach a terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The name whose bytes are `raw`, escaped as the module docs say. Borrows
/// `raw` when it needs no escape (valid UTF-8 without a backslash).
#[must_use]
pub fn escape(raw: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(raw) {
        if !text.contains('\\') {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// The bytes of the name `text` written as the module docs say. Borrows when
/// `text` has no backslash. A backslash that starts no valid escape is kept
/// as it is (a pattern typed by hand), so every text gives some bytes.
#[must_use]
pub fn unescape(text: &str) -> Cow<'_, [u8]> {
    if !text.contains('\\') {
        return Cow::Borrowed(text.as_bytes());
    }
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match (b.get(i + 1), hex_byte(b.get(i + 2..i + 4))) {
                (Some(b'\\'), _) => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                (Some(b'x'), Some(byte)) => {
                    out.push(byte);
                    i += 4;
                    continue;
                }
                _ => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_byte(digits: Option<&[u8]>) -> Option<u8> {
    let d = digits?;
    let hi = char::from(*d.first()?).to_digit(16)?;
    let lo = char::from(*d.get(1)?).to_digit(16)?;
    u8::try_from(hi * 16 + lo).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_unchanged_and_borrowed() {
        for name in ["eth0", "wlan0", "café", "veth-a.1", "e\u{1b}[31mR"] {
            assert!(matches!(escape(name.as_bytes()), Cow::Borrowed(n) if n == name));
            assert!(matches!(unescape(name), Cow::Borrowed(n) if n == name.as_bytes()));
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_and_backslashes_are_escaped() {
        assert_eq!(escape(b"n\xff\xfex"), "n\\xff\\xfex");
        assert_eq!(escape(b"a\\b"), "a\\\\b");
        assert_eq!(escape(b"\\xff"), "\\\\xff");
        // A truncated multi-byte sequence: each of its bytes escaped.
        assert_eq!(escape(b"e\xc3"), "e\\xc3");
        assert_eq!(escape("é".as_bytes()), "é");
    }

    #[test]
    fn unescape_undoes_escape_for_every_byte() {
        for b in 0..=255u8 {
            for raw in [vec![b], vec![b'n', b, b'x'], vec![b, b'\\', b]] {
                assert_eq!(unescape(&escape(&raw)).as_ref(), raw.as_slice(), "{raw:?}");
            }
        }
        let tricky: &[&[u8]] = &[
            b"\\x",
            b"\\xf",
            b"\\\\xff",
            b"a\\",
            b"\xe2\x82",
            b"\xf0\x9f\x98",
        ];
        for raw in tricky {
            assert_eq!(unescape(&escape(raw)).as_ref(), *raw);
        }
    }

    #[test]
    fn a_stray_backslash_in_a_typed_pattern_is_kept() {
        assert_eq!(unescape("a\\qb").as_ref(), b"a\\qb");
        assert_eq!(unescape("a\\x4").as_ref(), b"a\\x4");
        assert_eq!(unescape("a\\xZZ").as_ref(), b"a\\xZZ");
        assert_eq!(unescape("tail\\").as_ref(), b"tail\\");
        assert_eq!(unescape("up\\x41").as_ref(), b"upA");
    }
}
