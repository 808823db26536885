//! The Reconciler fed an arbitrary configuration and an arbitrary sequence
//! of inputs (clock steps backwards and forwards, sleep-clock samples that
//! jump or step back, results with ids that do not match, failures,
//! snapshots built with `Snapshot::new`), with every invariant of
//! `netstate_fuzz::reconciler_model` checked after each step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netstate_fuzz::reconciler_model::{run, ConfigSpec, Op};

#[derive(Debug, arbitrary::Arbitrary)]
struct Case {
    config: ConfigSpec,
    ops: Vec<Op>,
}

fuzz_target!(|case: Case| run(&case.config, &case.ops));
