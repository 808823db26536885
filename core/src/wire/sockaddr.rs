//! What the routing-socket parser ([`route_socket`](super::route_socket))
//! and the `getifaddrs` reader ([`ifaddrs`](super::ifaddrs)) both read out
//! of a socket address: where the IPv4 or IPv6 address sits, and the prefix
//! length a netmask stands for. The rule lives here once, so the two cannot
//! drift apart.
//!
//! The offsets are the same in every layout netstate reads: BSD and macOS
//! start a socket address with `u8 sa_len` and `u8 sa_family`, Linux with
//! `u16 sa_family`; both then have the `u16` port, so `sin_addr` is at 4 and
//! (after the `u32` flow information) `sin6_addr` at 8 (`netinet/in.h`,
//! `netinet6/in6.h`; Linux `linux/in.h`, `linux/in6.h`).

use crate::event::Family;

/// `sockaddr_in.sin_addr` (4 bytes), with or without `sa_len`.
pub(super) const SIN_ADDR_OFFSET: usize = 4;
/// `sockaddr_in6.sin6_addr` (16 bytes), with or without `sa_len`.
pub(super) const SIN6_ADDR_OFFSET: usize = 8;

/// `struct sockaddr_dl` (BSD and macOS `net/if_dl.h`): `u8 sdl_len`,
/// `u8 sdl_family`, `u16 sdl_index` at 2, `u8 sdl_type`, `u8 sdl_nlen` at 5,
/// `u8 sdl_alen` at 6, `u8 sdl_slen`, then `sdl_data` at 8: the name
/// (`sdl_nlen` bytes) and the link-layer address (`sdl_alen` bytes). Read by
/// the routing-socket parser (the name) and the `getifaddrs` reader.
pub(super) const SDL_INDEX_OFFSET: usize = 2;
/// `sockaddr_dl.sdl_nlen`.
pub(super) const SDL_NLEN_OFFSET: usize = 5;
/// `sockaddr_dl.sdl_alen`.
pub(super) const SDL_ALEN_OFFSET: usize = 6;
/// `sockaddr_dl.sdl_data`.
pub(super) const SDL_DATA_OFFSET: usize = 8;

/// The prefix length of a host address of `family`: 32 or 128.
pub(super) fn host_prefix_len(family: Family) -> u8 {
    match family {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

/// The prefix length a netmask socket address stands for, for an address of
/// `family`.
///
/// Only the bytes present count and the missing ones are zero: a BSD kernel
/// trims a netmask's trailing zero bytes (its `sa_len` says how many are
/// left), so a netmask with no address bytes at all is `/0`. Bytes past the
/// address (4 or 16 bytes) are not part of the mask. The length is the run of
/// leading one bits: a non-contiguous mask counts only that run, so it never
/// looks longer than it is. The mask's own family field is not read (a
/// trimmed netmask often has 0 there).
pub(super) fn netmask_prefix_len(mask: &[u8], family: Family) -> u8 {
    let (offset, len) = match family {
        Family::V4 => (SIN_ADDR_OFFSET, 4),
        Family::V6 => (SIN6_ADDR_OFFSET, 16),
    };
    let bytes = mask.get(offset..).unwrap_or(&[]);
    let mut ones = 0u8;
    for &b in bytes.iter().take(len) {
        // At most 16 bytes of 8 bits: no overflow.
        ones += b.leading_ones() as u8;
        if b != 0xff {
            break;
        }
    }
    ones
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `sockaddr_in` netmask whose `sin_addr` is `mask` (the first four
    /// bytes, `sa_len`/`sa_family` and the port, are left zero: not read).
    fn in4(mask: &[u8]) -> Vec<u8> {
        [&[0u8; 4][..], mask].concat()
    }

    /// A `sockaddr_in6` netmask whose `sin6_addr` starts with `mask`.
    fn in6(mask: &[u8]) -> Vec<u8> {
        [&[0u8; 8][..], mask].concat()
    }

    #[test]
    fn contiguous_netmasks_give_their_length() {
        assert_eq!(
            netmask_prefix_len(&in4(&[255, 255, 255, 0]), Family::V4),
            24
        );
        assert_eq!(
            netmask_prefix_len(&in4(&[255, 255, 240, 0]), Family::V4),
            20
        );
        assert_eq!(netmask_prefix_len(&in4(&[255; 4]), Family::V4), 32);
        assert_eq!(netmask_prefix_len(&in4(&[0; 4]), Family::V4), 0);
        let mut m = [0u8; 16];
        m[..8].fill(0xff);
        assert_eq!(netmask_prefix_len(&in6(&m), Family::V6), 64);
        assert_eq!(netmask_prefix_len(&in6(&[0xff; 16]), Family::V6), 128);
        // The family field is not read: a trimmed BSD netmask often has 0
        // there, a Linux one has the address's family.
        let mut with_family = in4(&[255, 255, 0, 0]);
        with_family[0] = 2;
        with_family[1] = 2;
        assert_eq!(netmask_prefix_len(&with_family, Family::V4), 16);
    }

    #[test]
    fn trimmed_netmasks_count_only_the_bytes_present() {
        // BSD: sa_len 5, 6 and 7 leave one, two and three bytes of mask.
        assert_eq!(netmask_prefix_len(&[5, 0, 0, 0, 0xff], Family::V4), 8);
        assert_eq!(
            netmask_prefix_len(&[6, 2, 0, 0, 0xff, 0xf0], Family::V4),
            12
        );
        assert_eq!(netmask_prefix_len(&[7, 0, 0, 0, 0x80, 0, 0], Family::V4), 1);
        assert_eq!(netmask_prefix_len(&[6, 0, 0, 0, 255, 255], Family::V4), 16);
        // No address bytes at all (a default route's, or sa_len 0): /0.
        assert_eq!(netmask_prefix_len(&[], Family::V4), 0);
        assert_eq!(netmask_prefix_len(&[4, 0, 0, 0], Family::V4), 0);
        assert_eq!(netmask_prefix_len(&[8, 0, 0, 0, 0, 0, 0, 0], Family::V6), 0);
        assert_eq!(netmask_prefix_len(&in6(&[0xff; 6]), Family::V6), 48);
    }

    #[test]
    fn non_contiguous_netmasks_count_only_their_leading_run() {
        assert_eq!(netmask_prefix_len(&in4(&[255, 0, 255, 0]), Family::V4), 8);
        assert_eq!(netmask_prefix_len(&in4(&[0x80, 0xff, 0, 0]), Family::V4), 1);
        assert_eq!(
            netmask_prefix_len(&in4(&[0xff, 0xbf, 0xff, 0xff]), Family::V4),
            9
        );
        let mut m = [0xffu8; 16];
        m[1] = 0xfe;
        assert_eq!(netmask_prefix_len(&in6(&m), Family::V6), 15);
    }

    #[test]
    fn bytes_past_the_address_are_not_part_of_the_mask() {
        // A v4 mask followed by more one bits (a longer structure, padding).
        assert_eq!(netmask_prefix_len(&in4(&[0xff; 12]), Family::V4), 32);
        assert_eq!(netmask_prefix_len(&in6(&[0xff; 20]), Family::V6), 128);
        // The IPv6 mask starts at 8, not 4: ones at 4..8 do not count.
        let mut m = [0u8; 28];
        m[4..8].fill(0xff);
        assert_eq!(netmask_prefix_len(&m, Family::V6), 0);
    }

    #[test]
    fn a_host_has_the_whole_address() {
        assert_eq!(host_prefix_len(Family::V4), 32);
        assert_eq!(host_prefix_len(Family::V6), 128);
    }
}
