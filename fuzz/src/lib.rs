//! Shared pieces of netstate's fuzz targets.
//!
//! * [`reconciler_model`]: the Reconciler harness and its invariants.
//! * [`checks`]: one parser call on arbitrary bytes and the checks on what
//!   it returns ([`check_netlink_events`], [`check_route_socket`],
//!   [`check_netlink_dump`]), and the `netlink_dump` target's input format
//!   ([`DumpInput`]).
//!
//! Both modules depend on `netstate-core` alone, so `core/tests/never_panic.rs`
//! compiles the very same files (with `#[path]`) into the normal `cargo test`:
//! the proptest and the fuzzers check the same rules.

pub mod checks;
pub mod reconciler_model;

pub use checks::*;
