//! Rewrites the trace shipped in `testkit/traces/` from its script
//! (`netstate_testkit::scenario::shipped_trace_script`), after a change to
//! the script: `cargo run -p netstate-testkit --example write_shipped_trace`.
//! It is not a test, so running every test never rewrites shipped data.

use netstate_testkit::replay::Trace;
use netstate_testkit::scenario::shipped_trace_script;

const SHIPPED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/traces/silent-socket-overflow-rebind-sleep.jsonl"
);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = shipped_trace_script().run()?;
    let text = Trace::from_sim(&sim).to_jsonl()?;
    std::fs::write(SHIPPED, text)?;
    eprintln!("{}", sim.log_text());
    eprintln!("wrote {SHIPPED}");
    Ok(())
}
