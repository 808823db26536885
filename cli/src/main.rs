//! The `netstate` command: `snapshot`, `watch`, `record`, `replay`.
//!
//! Output is written a line at a time and flushed, so it can be piped; a
//! closed pipe ends the command quietly (exit status 0), as soon as the
//! reader goes away. Any other failure, including every failure to start,
//! is one line on stderr and exit status 1; a usage error is exit status 2.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod text;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not `eprintln!`: it panics when stderr cannot be written.
            let _ = writeln!(std::io::stderr(), "netstate: {e}");
            ExitCode::FAILURE
        }
    }
}
