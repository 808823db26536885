//! netstate side by side with `netwatch` 0.20 (n0) and `if-watch` 3.2
//! (libp2p), on the same kernel in the same run (issue 7); its `targeted`
//! section measures targeted refresh on a host with thousands of veth pairs
//! (issue 14: CPU per change with and without them, latency, enumeration).
//!
//! Run as root: `cargo run --release -p netstate-bench --bin peers`
//! (`-- --help` lists the options). The runner creates its own network
//! namespaces (deleted at the end, also on failure or Ctrl-C) and, for each
//! measurement, starts one worker process per library *inside* the
//! namespace (`ip netns exec NS <this binary> worker MODE LIB ...`),
//! alternating the libraries run after run, so memory, CPU time and sockets
//! are each process's own. Workers print one JSON object a line; the runner
//! prints the medians and the ratios netstate / peer as a Markdown table.
//! `docs/benchmarks.md` explains every number.
#![forbid(unsafe_code)]

mod libs;
mod runner;
mod worker;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = if args.first().map(String::as_str) == Some("worker") {
        worker::main(&args[1..])
    } else {
        runner::main(&args)
    };
    std::process::exit(code);
}
