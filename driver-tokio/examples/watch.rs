//! Prints this host's network state, then every change, one JSON object a
//! line: the lines of `netstate watch --json`. Runs until interrupted.
//!
//! `cargo run -p netstate-tokio --example watch`

use std::io::{self, Write};

use netstate_core::{Change, Config};
use netstate_tokio::Monitor;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Subscribed before the first publication: the first change is the
    // initial state (seq 1, cause `initial`).
    let (_monitor, mut changes) =
        Monitor::start_subscribed(Monitor::builder(Config::default())).await?;
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
