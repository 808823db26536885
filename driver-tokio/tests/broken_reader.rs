//! Proof that the conformance suite catches the first version's own bug: a
//! reader that takes one datagram per wake-up and leaves the rest queued
//! (`Faults::read_one_per_wake_up` breaks the tokio driver's reading that
//! way). Needs no root: the two tests it must fail run over a socketpair
//! and an in-memory route socket.
#![cfg(target_os = "linux")]

mod harness;

use netstate_core::Config;
use netstate_sys::{Backend, Handle};
use netstate_testkit::conformance::{self, DriverHarness};
use netstate_testkit::faults::FaultyBackend;

/// The tokio driver over a route socket drained one datagram at a time.
struct OneReadPerWakeUp;

impl DriverHarness for OneReadPerWakeUp {
    type Monitor = <harness::Tokio as DriverHarness>::Monitor;

    fn start(config: Config, backend: Box<dyn Backend>) -> Self::Monitor {
        let (backend, faults) = FaultyBackend::new(backend);
        faults.read_one_per_wake_up(true);
        harness::Tokio::start(config, Box::new(backend))
    }

    fn handle(m: &Self::Monitor) -> &Handle {
        harness::Tokio::handle(m)
    }

    fn stop(m: Self::Monitor) {
        harness::Tokio::stop(m);
    }
}

/// Runs one conformance property; says whether it failed.
fn fails(property: fn()) -> bool {
    std::panic::catch_unwind(property).is_err()
}

#[test]
fn the_suite_catches_a_reader_that_takes_one_datagram_per_wake_up() {
    assert!(
        fails(
            conformance::datagrams_queued_on_a_socketpair_are_all_read_at_one_wake_up::<
                OneReadPerWakeUp,
            >
        ),
        "five datagrams queued before a wake-up, read one per wake-up, passed"
    );
    assert!(
        fails(
            conformance::datagrams_beyond_one_wake_ups_cap_are_read_without_another_event::<
                OneReadPerWakeUp,
            >
        ),
        "a wake-up that read one datagram passed for one that read up to the cap"
    );
}
