//! The shared conformance suite, against the real kernel in network
//! namespaces, for the mio driver's `ThreadMonitor`.
#![cfg(target_os = "linux")]

mod harness;

netstate_testkit::conformance_tests!(harness::Mio);
