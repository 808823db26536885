//! How long the monitor holds a `current_thread` tokio runtime: a ticker
//! task asks to run every millisecond while the monitor, on the same
//! runtime, enumerates a namespace with many veth pairs over and over
//! (`check_now` after each publication or failure); the gaps between the
//! ticker's runs are what the monitor cost the runtime's other tasks.
//! Prints the longest gap, the 99th percentile and the median, and how
//! many enumerations ran meanwhile, for PAIRS veth pairs (default 2,000).
//!
//! Run (root; the namespace is created and deleted here):
//! `cargo run --release -p netstate-bench --bin loop-gap [PAIRS] [noipv6]`.
//!
//! With `noipv6` the namespace has IPv6 disabled before its links are made:
//! thousands of veths otherwise keep sending router solicitations and MLD
//! reports for a while, and the kernel runs that packet processing inside
//! whatever system call enables softirqs next, the dump's `recvmsg`
//! included, which charges the monitor for the namespace's own chatter.

use std::sync::Arc;
use std::time::{Duration, Instant};

use netstate_core::Config;
use netstate_sys::{NetlinkBackend, Netns};
use netstate_testkit::netns::{skip_reason, NetnsFixture};

fn main() {
    if let Some(why) = skip_reason() {
        eprintln!("loop-gap needs network namespaces: {why}");
        std::process::exit(2);
    }
    let pairs: usize = std::env::args()
        .nth(1)
        .map_or(2000, |a| a.parse().expect("PAIRS is a number"));
    let quiet = std::env::args().nth(2).as_deref() == Some("noipv6");
    let ns = NetnsFixture::new().expect("namespace");
    if quiet {
        let status = std::process::Command::new("ip")
            .args(["netns", "exec", ns.name(), "sysctl", "-q", "-w"])
            .args([
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ])
            .status()
            .expect("sysctl");
        assert!(status.success(), "sysctl failed");
    }
    let mut batch = String::new();
    for p in 0..pairs {
        batch.push_str(&format!("link add g{p}a type veth peer name g{p}b\n"));
        batch.push_str(&format!("link set g{p}a up\nlink set g{p}b up\n"));
    }
    ns.ip_batch(&batch).expect("veth pairs");
    let netns = Arc::new(Netns::named(ns.name()).expect("open namespace"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let backend = NetlinkBackend::open_in(netns).expect("backend");
        let config = Config::builder()
            .debounce(Duration::ZERO)
            .build()
            .expect("config");
        let builder = netstate_tokio::Monitor::builder(config).backend(Box::new(backend));
        let m = netstate_tokio::Monitor::start(builder)
            .await
            .expect("monitor");
        let interfaces = m.state().interfaces().len();
        let run_for = Duration::from_secs(5);
        // The ticker: wants to run every millisecond.
        let ticker = tokio::spawn(async move {
            let mut gaps = Vec::new();
            let mut interval = tokio::time::interval(Duration::from_millis(1));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let start = Instant::now();
            let mut last = Instant::now();
            while start.elapsed() < run_for {
                interval.tick().await;
                let now = Instant::now();
                gaps.push(now - last);
                last = now;
            }
            gaps
        });
        // The load: one enumeration after another for as long.
        let start = Instant::now();
        let before = m.stats().core.enumerations;
        while start.elapsed() < run_for {
            let seen = m.stats().core.enumerations;
            m.check_now();
            while m.stats().core.enumerations == seen {
                tokio::task::yield_now().await;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let enumerations = m.stats().core.enumerations - before;
        let mut gaps = ticker.await.expect("ticker");
        gaps.sort_unstable();
        let at = |q: f64| gaps[((gaps.len() - 1) as f64 * q) as usize];
        println!(
            "{interfaces} interfaces{}, {enumerations} enumerations in {run_for:?} on one \
             current_thread runtime: ticker gap max {:?}, p99 {:?}, median {:?} ({} ticks)",
            if quiet { " (IPv6 off)" } else { "" },
            gaps[gaps.len() - 1],
            at(0.99),
            at(0.5),
            gaps.len()
        );
        m.shutdown().await;
    });
}
