//! Enumeration time against the size of the interface and routing tables,
//! in network namespaces this program creates and deletes (needs root).
//!
//! Scenarios: 4 interfaces; 200 veth pairs each holding an IPv4 and an IPv6
//! address; the same plus 1,000,000 routes in the main table (a full BGP
//! table's size). Prints the median and 90th percentile of repeated
//! enumerations, and the million-route figure's ratio to the plain one.
//!
//! Run: `cargo run --release -p netstate-bench --bin enumeration [-- --routes N]`.

use std::time::{Duration, Instant};

use netstate_bench::setup;
use netstate_sys::Enumerator;
use netstate_testkit::netns::{skip_reason, NetnsFixture};

fn measure(ns: &NetnsFixture, rounds: usize) -> (Duration, Duration, usize) {
    let mut en = Enumerator::open_in(ns.netns()).expect("open enumerator");
    let n = en.enumerate().expect("enumerate").interfaces().len();
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            let s = en.enumerate().expect("enumerate");
            let d = t.elapsed();
            std::hint::black_box(s);
            d
        })
        .collect();
    times.sort();
    (times[rounds / 2], times[rounds * 9 / 10], n)
}

fn main() {
    if let Some(why) = skip_reason() {
        eprintln!("enumeration benchmark skipped: {why}");
        std::process::exit(2);
    }
    let args: Vec<String> = std::env::args().collect();
    let route_count: u32 = args
        .iter()
        .position(|a| a == "--routes")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);

    let small = NetnsFixture::new().expect("namespace");
    let other = NetnsFixture::new().expect("namespace");
    setup::small_host(&small, &other).expect("small host");
    let (m4, p4, n4) = measure(&small, 2000);

    let big = NetnsFixture::new().expect("namespace");
    setup::veth_pairs(&big, 200).expect("veth pairs");
    let (m200, p200, n200) = measure(&big, 300);
    let t = Instant::now();
    setup::routes(&big, "bv0a", route_count).expect("routes");
    let loaded = t.elapsed();
    let (mr, pr, _) = measure(&big, 300);

    println!("| scenario | interfaces | median | p90 |");
    println!("|---|---|---|---|");
    println!("| 4 interfaces | {n4} | {m4:?} | {p4:?} |");
    println!("| 200 veth pairs, v4 + v6 each | {n200} | {m200:?} | {p200:?} |");
    println!("| 200 veth pairs + {route_count} routes | {n200} | {mr:?} | {pr:?} |");
    println!(
        "\n{route_count} routes added in {loaded:.1?}; with them / without: {:.2}x",
        mr.as_secs_f64() / m200.as_secs_f64()
    );
}
