//! A process that only runs netstate's tokio monitor (default
//! configuration) and prints its resident memory once the monitor knows
//! the state, plus 1 s: the memory measurement of `peers`, which runs it
//! inside a namespace. Not useful on its own.
#![forbid(unsafe_code)]

use std::time::Duration;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let monitor = netstate_tokio::Monitor::new(netstate_core::Config::default())
            .await
            .expect("netstate monitor");
        std::hint::black_box(monitor.state().interfaces().len());
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("{}", netstate_bench::measure::rss_report().expect("/proc"));
        drop(monitor);
    });
}
