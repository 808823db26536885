//! The `getifaddrs` reader (`netstate_core::wire::ifaddrs::assemble`) on
//! arbitrary entry lists in every layout (see `IfaddrsInput` for the
//! format): never panics, and a snapshot it returns is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netstate_fuzz::check_ifaddrs(data));
