//! The shared conformance suite, against the real kernel in network
//! namespaces, for the smol / async-io driver.
#![cfg(target_os = "linux")]

mod harness;

netstate_testkit::conformance_tests!(harness::Smol);
