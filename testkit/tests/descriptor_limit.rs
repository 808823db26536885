//! A monitor started with almost no descriptors left (a tiny
//! `RLIMIT_NOFILE`, or a process that leaks them): every start either works
//! or fails with `StartError::Open` carrying the system's `EMFILE`, never a
//! panic, and either way nothing it opened stays open.
//!
//! One test in its own binary: the limit is the whole process's, and no
//! other test may open descriptors while it is lowered.

use std::time::Instant;

use netstate_core::Config;
use netstate_sys::{Engine, StartError};
use netstate_testkit::engine_sim::{sim_backend, BackendFaults};
use netstate_testkit::net::starting_table;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The descriptors this process has open (the count's own directory
/// handle left out).
fn open_descriptors() -> usize {
    let dir = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd");
    dir.count().saturating_sub(1)
}

#[test]
fn a_start_short_of_descriptors_fails_with_a_typed_error_and_leaks_nothing() {
    let limit = getrlimit(Resource::Nofile);
    let baseline = open_descriptors();
    let (mut failed, mut started) = (0, 0);
    for spare in 0..16u64 {
        let (backend, control) =
            sim_backend(1, starting_table(), BackendFaults::none(), Instant::now());
        let tight = Rlimit {
            current: Some(baseline as u64 + spare),
            maximum: limit.maximum,
        };
        setrlimit(Resource::Nofile, tight).expect("lowering the soft limit");
        let result = Engine::new(Config::default(), Box::new(backend), Instant::now());
        let started_here = match &result {
            Ok(_) => true,
            Err(StartError::Open(e)) => {
                assert_eq!(
                    e.raw_os_error(),
                    Some(rustix::io::Errno::MFILE.raw_os_error()),
                    "{spare} spare: {e}"
                );
                false
            }
            Err(other) => panic!("{spare} spare: not an open error: {other}"),
        };
        drop(result);
        drop(control);
        setrlimit(Resource::Nofile, limit).expect("restoring the limit");
        if started_here {
            started += 1;
        } else {
            failed += 1;
        }
        assert_eq!(
            open_descriptors(),
            baseline,
            "descriptors left open after a start with {spare} spare"
        );
    }
    eprintln!("failed {failed}, started {started}");
    // The range covers both sides: starts that could not open everything,
    // then starts that could.
    assert!(
        failed > 0 && started > 0,
        "failed {failed}, started {started}"
    );
}
