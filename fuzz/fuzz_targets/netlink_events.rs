//! `parse_events` on arbitrary bytes: never panics, always ends, and its
//! counts add up (at most one message per 16-byte header).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netstate_fuzz::check_netlink_events(data));
