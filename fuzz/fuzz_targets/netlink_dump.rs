//! The enumeration's `SnapshotCollector` fed arbitrary datagrams for
//! arbitrary stages and sequence numbers (see `DumpInput` for the format),
//! then finished: never panics, and a snapshot it returns is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netstate_fuzz::check_netlink_dump(data));
