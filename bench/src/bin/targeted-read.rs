//! What one targeted read costs (issue 14): the time from
//! `Backend::start_refresh` for one interface to its answer, through the
//! same non-blocking dump socket the monitor uses, back to back, with
//! PAIRS other veth pairs in the namespace (default 2,000; IPv6 off, as in
//! the peers benchmark's crowded host). Prints the median, the 99th
//! percentile and the CPU time per read.
//!
//! Run (root; the namespace is created and deleted here):
//! `cargo run --release -p netstate-bench --bin targeted-read [PAIRS] [READS]`.

use std::sync::Arc;
use std::time::Instant;

use netstate_bench::measure::{fmt_ns, median, process_cpu_ns, quantile};
use netstate_bench::setup;
use netstate_core::Targets;
use netstate_sys::{Backend, EnumerationPoll, NetlinkBackend, Netns};
use netstate_testkit::netns::{skip_reason, NetnsFixture};
use rustix::event::{poll, PollFd, PollFlags};

fn main() {
    if let Some(why) = skip_reason() {
        eprintln!("targeted-read needs network namespaces: {why}");
        std::process::exit(2);
    }
    let mut args = std::env::args().skip(1);
    let pairs: u32 = args
        .next()
        .map_or(2000, |a| a.parse().expect("PAIRS is a number"));
    let reads: usize = args
        .next()
        .map_or(20_000, |a| a.parse().expect("READS is a number"));
    let ns = NetnsFixture::new().expect("namespace");
    setup::crowded_host(&ns, pairs, false, "chg0").expect("crowded host");
    let netns = Arc::new(Netns::named(ns.name()).expect("open namespace"));
    let mut backend = NetlinkBackend::open_in(netns).expect("backend");
    let first = backend.start_enumeration();
    let index = match finish(&mut backend, first) {
        EnumerationPoll::Done(Ok(s)) => s.by_name("chg0").expect("chg0 is there").index,
        _ => panic!("the full read failed"),
    };
    let targets: Targets = [index].into_iter().collect();
    let mut read = || {
        let p = backend.start_refresh(&targets);
        match finish(&mut backend, p) {
            EnumerationPoll::Refreshed(r) => r,
            _ => panic!("not a targeted answer"),
        }
    };

    // Warm up, and check it reads what is there.
    for _ in 0..100 {
        let r = read();
        assert_eq!(r.found().first().map(|i| i.index), Some(index));
    }
    let mut times = Vec::with_capacity(reads);
    let cpu0 = process_cpu_ns();
    let wall = Instant::now();
    for _ in 0..reads {
        let t = Instant::now();
        std::hint::black_box(read());
        times.push(t.elapsed().as_nanos() as f64);
    }
    let cpu = process_cpu_ns() - cpu0;
    let wall = wall.elapsed();
    println!(
        "targeted read of one interface, {pairs} other veth pairs, {reads} reads in {:.2} s: \
         median {}, p99 {}, CPU {} a read",
        wall.as_secs_f64(),
        fmt_ns(median(&times).unwrap_or(0.0)),
        fmt_ns(quantile(&times, 0.99).unwrap_or(0.0)),
        fmt_ns(cpu as f64 / reads as f64),
    );
    drop(ns);
}

/// Drives the read `p` started to its end, waiting for the socket.
fn finish(backend: &mut NetlinkBackend, mut p: EnumerationPoll) -> EnumerationPoll {
    loop {
        match p {
            EnumerationPoll::Busy => p = backend.poll_enumeration(),
            EnumerationPoll::Waiting => {
                if let Some(fd) = backend.enumeration_fd() {
                    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
                    poll(&mut fds, None).expect("poll");
                }
                p = backend.poll_enumeration();
            }
            done => return done,
        }
    }
}
