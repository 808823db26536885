//! The socket addresses that follow a message header: finding them with the
//! platform's alignment rule, and reading a family or an interface name out
//! of them (the prefix length of a netmask is `wire::sockaddr`'s, shared
//! with the `getifaddrs` reader). Nothing here allocates.

use super::layout::{
    Layout, AF_INET, AF_LINK, RTAX_MAX, SA_FAMILY_OFFSET, SA_LEN_OFFSET, SDL_DATA_OFFSET,
    SDL_NLEN_OFFSET,
};
use crate::event::{Family, InterfaceName};

/// The socket addresses of one message, by `RTAX_*` slot. Each is the
/// `sa_len` bytes of the address (empty for a zero-length one).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sockaddrs<'a> {
    slots: [Option<&'a [u8]>; RTAX_MAX],
}

impl<'a> Sockaddrs<'a> {
    /// Splits `body` (the bytes after the header, up to `msglen`) into the
    /// socket addresses `addrs` announces. Bits above `RTAX_MAX` are ignored:
    /// their addresses come last, after every slot read here.
    ///
    /// Fails with the slot index when an address's `sa_len` runs past the
    /// end of the message, or when an announced address is missing and the
    /// platform never omits one.
    pub(super) fn read(body: &'a [u8], addrs: u32, layout: &Layout) -> Result<Self, u8> {
        let mut slots = [None; RTAX_MAX];
        let mut pos = 0usize;
        for (i, slot) in slots.iter_mut().enumerate() {
            if addrs & (1 << i) == 0 {
                continue;
            }
            let Some(&sa_len) = body.get(pos..).and_then(|sa| sa.get(SA_LEN_OFFSET)) else {
                if layout.short_tail {
                    // Darwin ends the message where a trailing zero-length
                    // address would start.
                    *slot = Some(&[][..]);
                    continue;
                }
                return Err(i as u8);
            };
            let sa_len = usize::from(sa_len);
            let Some(sa) = body.get(pos..pos + sa_len) else {
                return Err(i as u8);
            };
            *slot = Some(sa);
            // May step past the end: only a later address can notice.
            pos += padded_len(sa_len, layout.sockaddr_align);
        }
        Ok(Sockaddrs { slots })
    }

    /// The address in slot `rtax`, if the message carries one.
    pub(super) fn get(&self, rtax: usize) -> Option<&'a [u8]> {
        self.slots.get(rtax).copied().flatten()
    }
}

/// The space a socket address of `sa_len` bytes takes: rounded up to
/// `align`, and `align` for a zero-length one.
fn padded_len(sa_len: usize, align: usize) -> usize {
    if sa_len == 0 {
        align
    } else {
        sa_len.div_ceil(align) * align
    }
}

/// The IP family of a socket address, if it is `AF_INET` or the platform's
/// `AF_INET6`.
pub(super) fn family(sa: &[u8], layout: &Layout) -> Option<Family> {
    match sa.get(SA_FAMILY_OFFSET).copied() {
        Some(AF_INET) => Some(Family::V4),
        Some(af) if af == layout.af_inet6 => Some(Family::V6),
        _ => None,
    }
}

/// The interface name in a link-layer socket address (`sockaddr_dl`), if it
/// is one and carries a name.
pub(super) fn link_name(sa: &[u8]) -> Option<InterfaceName> {
    if sa.get(SA_FAMILY_OFFSET) != Some(&AF_LINK) {
        return None;
    }
    let nlen = usize::from(*sa.get(SDL_NLEN_OFFSET)?);
    let data = sa.get(SDL_DATA_OFFSET..)?;
    let name = &data[..nlen.min(data.len())];
    (!name.is_empty()).then(|| InterfaceName::new(name))
}

#[cfg(test)]
mod tests {
    use super::super::layout::{DARWIN, FREEBSD};
    use super::*;

    #[test]
    fn padding_follows_each_platform() {
        assert_eq!(padded_len(0, 4), 4);
        assert_eq!(padded_len(5, 4), 8);
        assert_eq!(padded_len(16, 4), 16);
        assert_eq!(padded_len(0, 8), 8);
        assert_eq!(padded_len(28, 8), 32);
    }

    #[test]
    fn a_missing_trailing_address_is_empty_only_on_darwin() {
        let body = [16u8, 2, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let both = 0x1 | 0x4;
        let d = Sockaddrs::read(&body, both, &DARWIN).unwrap();
        assert_eq!(d.get(0).map(<[u8]>::len), Some(16));
        assert_eq!(d.get(2), Some(&[][..]));
        assert_eq!(Sockaddrs::read(&body, both, &FREEBSD).unwrap_err(), 2);
        // An sa_len past the end fails on both.
        assert_eq!(Sockaddrs::read(&[17], 1, &DARWIN).unwrap_err(), 0);
    }

    #[test]
    fn names_come_from_link_addresses_only() {
        let dl = [20u8, AF_LINK, 4, 0, 6, 3, 6, 0, b'e', b'n', b'0'];
        assert_eq!(link_name(&dl).unwrap().as_str(), Some("en0"));
        let mut not_dl = dl;
        not_dl[1] = AF_INET;
        assert!(link_name(&not_dl).is_none());
        // A name length past the address is cut at its end.
        let short = [11u8, AF_LINK, 4, 0, 6, 9, 0, 0, b'l', b'o', b'0'];
        assert_eq!(link_name(&short).unwrap().as_str(), Some("lo0"));
        assert!(link_name(&[8u8, AF_LINK, 4, 0, 6, 0, 0, 0]).is_none());
    }
}
