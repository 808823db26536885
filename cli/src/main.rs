//! The `netstate` command: `snapshot`, `watch`, `record`, `replay`.
//!
//! Output is written a line at a time and flushed, so it can be piped; a
//! closed pipe ends the command quietly. Errors are one line on stderr and
//! a non-zero exit status.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod text;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("netstate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netstate: {e}");
            ExitCode::FAILURE
        }
    }
}
