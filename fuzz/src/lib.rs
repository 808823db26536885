//! Shared pieces of netstate's fuzz targets.
//!
//! * [`reconciler_model`]: the Reconciler harness and its invariants
//!   (`netstate_testkit::reconciler_model`, with `arbitrary` derives).
//! * [`checks`]: one parser call on arbitrary bytes and the checks on what
//!   it returns ([`check_netlink_events`], [`check_route_socket`],
//!   [`check_netlink_dump`]), and the `netlink_dump` target's input format
//!   ([`DumpInput`]).
//!
//! `checks` depends on `netstate-core` alone, so `core/tests/never_panic.rs`
//! compiles the very same file (with `#[path]`) into the normal `cargo test`;
//! the Reconciler harness lives in the testkit, whose proptests run it: the
//! proptests and the fuzzers check the same rules.

pub mod checks;
pub use netstate_testkit::reconciler_model;

pub use checks::*;
