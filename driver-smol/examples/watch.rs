//! Prints this host's network state, then every change, one JSON object a
//! line: the lines of `netstate watch --json`. Runs until interrupted.
//!
//! `cargo run -p netstate-smol --example watch-smol`

use std::io::{self, Write};

use netstate_core::{Change, Config};
use netstate_smol::Monitor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any executor works (smol, async-std, ...); this is smol's own.
    let ex = async_executor::Executor::new();
    futures_lite::future::block_on(ex.run(watch(&ex)))
}

async fn watch(ex: &async_executor::Executor<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let (monitor, task) = Monitor::build(Monitor::builder(Config::default()))?;
    // Subscribed before the task runs: the first change is the initial
    // state (seq 1, cause `initial`).
    let (_, mut changes) = monitor.subscribe();
    // The monitor is a task on the application's executor.
    ex.spawn(task).detach();
    monitor.ready().await?;
    while let Some(change) = changes.recv().await {
        if !print(&change)? {
            break;
        }
    }
    Ok(())
}

/// Writes one line; `false` once stdout is closed (`| head`).
fn print(change: &Change) -> io::Result<bool> {
    let line = serde_json::to_string(change)?;
    match writeln!(io::stdout().lock(), "{line}") {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}
