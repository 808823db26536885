//! Start/stop cycles of the mio driver's `ThreadMonitor` leak no descriptor and no thread
//! (alone in its test binary: the counts are per process).
#![cfg(target_os = "linux")]

mod harness;

netstate_testkit::leak_tests!(harness::Mio);
