//! The floor of the memory measurement of `peers`: a process with the same
//! single-threaded tokio runtime as the `rss-*` monitors and no monitor,
//! printing its resident memory after 1 s. Not useful on its own.
#![forbid(unsafe_code)]

use std::time::Duration;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("{}", netstate_bench::measure::rss_report().expect("/proc"));
    });
}
