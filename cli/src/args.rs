//! The command line, as DESIGN.md gives it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tells what this host's network looks like, and every change to it.
#[derive(Debug, Parser)]
#[command(name = "netstate", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the current state (interfaces, addresses, default routes) and exit.
    #[command(after_help = "Example:\n  netstate snapshot --json | jq '.default_route.v4'")]
    Snapshot {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Print the state, then every change as it is published, until interrupted.
    #[command(
        after_help = "Example:\n  netstate watch --json --debounce-ms 0 --ignore 'veth*' | tee changes.jsonl"
    )]
    Watch(WatchArgs),
    /// Watch, and write every input the monitor received to FILE (JSON lines).
    #[command(
        after_help = "Example:\n  netstate record trace.jsonl   # later: netstate replay trace.jsonl"
    )]
    Record {
        /// The trace file to write (created or truncated).
        file: PathBuf,
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// Run a recorded trace through the core (no host access) and print the
    /// changes it publishes.
    #[command(after_help = "Example:\n  netstate replay --json trace.jsonl > replayed.jsonl")]
    Replay {
        /// The trace file `netstate record` wrote.
        file: PathBuf,
        /// Print one JSON object per change instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Interfaces to leave out.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct FilterArgs {
    /// Ignore an interface: an exact name (`tun0`), or a prefix ending in
    /// `*` (`veth*`). Repeatable.
    #[arg(long = "ignore", value_name = "NAME_OR_PREFIX", value_parser = parse_ignore)]
    pub(crate) ignore: Vec<Ignore>,
}

/// One `--ignore` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ignore {
    /// An exact interface name.
    Name(String),
    /// A name prefix (the pattern without its final `*`).
    Prefix(String),
}

/// Parses an `--ignore` pattern. An empty name or prefix (`''`, `'*'`) is
/// refused, as the core's configuration refuses it: it would ignore nothing
/// or everything. The one check for every command, so each reports it as a
/// usage error (exit status 2).
pub(crate) fn parse_ignore(pattern: &str) -> Result<Ignore, String> {
    match pattern.strip_suffix('*') {
        Some("") => Err("an empty prefix (`*`) would ignore every interface".into()),
        Some(prefix) => Ok(Ignore::Prefix(prefix.to_owned())),
        None if pattern.is_empty() => Err("an empty interface name ignores nothing".into()),
        None => Ok(Ignore::Name(pattern.to_owned())),
    }
}

#[derive(Debug, Args, Clone)]
pub(crate) struct WatchArgs {
    /// Print one JSON object per change instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Quiet time after an event before reading the state (milliseconds).
    #[arg(long, value_name = "N", default_value_t = 250)]
    pub(crate) debounce_ms: u64,
    /// Read the state every N seconds even without events (0: never).
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub(crate) reconcile_secs: u64,
    /// On SIGINT or SIGTERM, print a last line with the monitor's counters.
    #[arg(long)]
    pub(crate) stats: bool,
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ignore_patterns_are_names_or_prefixes_never_empty() {
        assert_eq!(parse_ignore("tun0"), Ok(Ignore::Name("tun0".into())));
        assert_eq!(parse_ignore("veth*"), Ok(Ignore::Prefix("veth".into())));
        assert_eq!(parse_ignore("a**"), Ok(Ignore::Prefix("a*".into())));
        assert!(parse_ignore("").is_err());
        assert!(parse_ignore("*").is_err());
    }
}
