//! Change latency per driver: from the address change (an in-process
//! netlink request, timestamped right before it is sent) to the
//! subscriber's notification, with debounce 0, in a network namespace this
//! program creates (needs root). Prints the median and 99th percentile of
//! each driver over 200 changes (alternating add and remove).
//!
//! Run: `cargo run --release -p netstate-bench --bin driver-latency`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netstate_bench::nl::AddrClient;
use netstate_core::{Change, Config};
use netstate_sys::fanout::Subscriber;
use netstate_sys::{NetlinkBackend, Netns};
use netstate_testkit::netns::{skip_reason, NetnsFixture};

const CHANGES: usize = 200;

fn config() -> Config {
    Config::builder()
        .debounce(Duration::ZERO)
        .build()
        .expect("valid config")
}

fn backend(netns: &Arc<Netns>) -> Box<NetlinkBackend> {
    Box::new(NetlinkBackend::open_in(netns.clone()).expect("backend"))
}

fn has(c: &Change, index: u32, addr: IpAddr) -> bool {
    c.new
        .by_index(index)
        .is_some_and(|i| i.addrs.iter().any(|a| a.net.addr() == addr))
}

/// Makes `CHANGES` changes and returns each one's latency.
fn measure(netns: &Netns, index: u32, sub: &mut Subscriber) -> Vec<Duration> {
    let mut client = netns.run(AddrClient::open).expect("netlink client");
    let addr: IpAddr = "10.93.0.9".parse().expect("address");
    let mut out = Vec::with_capacity(CHANGES);
    for k in 0..CHANGES {
        let add = k % 2 == 0;
        let t0 = Instant::now();
        client.change(add, index, addr, 24).expect("address change");
        loop {
            let c = sub
                .recv_timeout(Duration::from_secs(10))
                .expect("a notification");
            if has(&c, index, addr) == add {
                out.push(t0.elapsed());
                break;
            }
        }
    }
    out
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "| {name} | {} | {:?} | {:?} | {:?} |",
        v.len(),
        q(0.5),
        q(0.99),
        v[v.len() - 1]
    );
}

fn main() {
    if let Some(why) = skip_reason() {
        eprintln!("driver-latency skipped: {why}");
        std::process::exit(2);
    }
    let ns = NetnsFixture::new().expect("namespace");
    ns.add_veth("lat0", "lat1").expect("veth");
    ns.ip(&["addr", "add", "10.93.0.2/24", "dev", "lat0"])
        .expect("address");
    let netns = Arc::new(Netns::named(ns.name()).expect("namespace handle"));
    let probe = netstate_sys::Enumerator::open_in(&netns)
        .expect("enumerator")
        .enumerate()
        .expect("enumerate");
    let index = probe.by_name("lat0").expect("lat0").index;

    println!("| driver | changes | median | p99 | max |");
    println!("|---|---|---|---|---|");
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (m, mut sub) = rt
            .block_on(netstate_tokio::Monitor::start_subscribed(
                netstate_tokio::Monitor::builder(config()).backend(backend(&netns)),
            ))
            .expect("tokio monitor");
        let _initial = sub.try_recv();
        report("netstate-tokio", measure(&netns, index, &mut sub));
        rt.block_on(m.shutdown());
    }
    {
        let (m, task) = netstate_smol::Monitor::build(
            netstate_smol::Monitor::builder(config()).backend(backend(&netns)),
        )
        .expect("smol monitor");
        // The smallest executor: a thread blocking on the monitor's task.
        let runner = std::thread::spawn(move || futures_lite::future::block_on(task));
        futures_lite::future::block_on(m.ready()).expect("smol monitor starts");
        let (_, mut sub) = m.subscribe();
        report("netstate-smol", measure(&netns, index, &mut sub));
        futures_lite::future::block_on(m.shutdown());
        runner.join().expect("the smol task ended");
    }
    {
        let m = netstate_mio::ThreadMonitor::builder(config())
            .backend(backend(&netns))
            .start()
            .expect("mio monitor");
        let (_, mut sub) = m.subscribe();
        report(
            "netstate-mio (ThreadMonitor)",
            measure(&netns, index, &mut sub),
        );
        drop(m);
    }
}
