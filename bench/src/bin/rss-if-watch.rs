//! A process that only runs `if_watch::tokio::IfWatcher` (3.2) and prints
//! its resident memory once the watcher has consumed its initial address
//! dump (no event for 200 ms), plus 1 s: the memory measurement of `peers`,
//! which runs it inside a namespace. Not useful on its own.
#![forbid(unsafe_code)]

use std::time::Duration;

use futures_lite::StreamExt;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut watcher = if_watch::tokio::IfWatcher::new().expect("if-watch");
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(200), watcher.next()).await
        {
            event.expect("if-watch event");
        }
        std::hint::black_box(watcher.iter().count());
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("{}", netstate_bench::measure::rss_report().expect("/proc"));
        drop(watcher);
    });
}
