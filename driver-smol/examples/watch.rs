//! Prints this host's network state, then every change, one JSON object a
//! line: the lines of `netstate watch --json`. Runs until interrupted.
//!
//! `cargo run -p netstate-smol --example watch`

use std::io::{self, Write};
use std::sync::Arc;

use netstate_core::{Cause, Change, Config, Snapshot};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any executor works (smol, async-std, ...); this is smol's own.
    let ex = async_executor::Executor::new();
    futures_lite::future::block_on(ex.run(watch(&ex)))
}

async fn watch(ex: &async_executor::Executor<'_>) -> Result<(), Box<dyn std::error::Error>> {
    // The monitor is a task on the application's executor.
    let monitor =
        netstate_smol::Monitor::new(Config::default(), |task| ex.spawn(task).detach()).await?;
    // The state and a subscriber to every change after it, in one call.
    let (first, mut changes) = monitor.subscribe();
    if !print(&initial(&first))? {
        return Ok(());
    }
    while let Some(change) = changes.recv().await {
        if !print(&change)? {
            break;
        }
    }
    Ok(())
}

/// The first line: the whole state as added to an empty one, cause `initial`.
fn initial(state: &Arc<Snapshot>) -> Change {
    Change::new(
        1,
        Cause::Initial,
        Arc::new(Snapshot::empty()),
        state.clone(),
    )
}

/// Writes one line; `false` once stdout is closed (`| head`).
fn print(change: &Change) -> Result<bool, Box<dyn std::error::Error>> {
    let line = serde_json::to_string(change)?;
    let mut out = io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e.into()),
    }
}
