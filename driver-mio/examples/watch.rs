//! Prints this host's network state, then every change, one JSON object a
//! line: the lines of `netstate watch --json`. Runs until interrupted.
//!
//! The monitor is a `MonitorSource` in this program's own `mio::Poll`; the
//! first change it hands out is the initial state.
//!
//! `cargo run -p netstate-mio --example watch-mio`

use std::io::{self, Write};
use std::time::Instant;

use mio::{Events, Interest, Poll, Token};
use netstate_core::{Change, Config};
use netstate_mio::MonitorSource;

const NET: Token = Token(0);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut poll = Poll::new()?;
    let mut net = MonitorSource::new(Config::default())?;
    poll.registry()
        .register(&mut net, NET, Interest::READABLE)?;
    let mut events = Events::with_capacity(16);
    loop {
        while let Some(change) = net.next_change() {
            if !print(&change)? {
                return Ok(());
            }
        }
        match poll.poll(&mut events, net.timeout_from(Instant::now())) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        if events.iter().any(|e| e.token() == NET) {
            net.handle_ready();
        }
        net.handle_timeout();
    }
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
