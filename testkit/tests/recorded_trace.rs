//! A trace recorded by `netstate record` against the real kernel (in a
//! network namespace: an address added, a link down, the default route
//! moved, an IPv6 address added, an interface added and removed, with
//! `--debounce-ms 50 --reconcile-secs 1`) replays through the core to
//! exactly what `netstate record --json` printed live.

use netstate_testkit::replay::Trace;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/traces");

#[test]
fn the_recorded_trace_replays_to_what_was_published_live() {
    let trace = Trace::load(format!("{DIR}/netns-watch-recorded.jsonl")).expect("the trace loads");
    let replay = trace.replay().expect("the trace replays");
    let expected = std::fs::read_to_string(format!("{DIR}/netns-watch-recorded.expected.jsonl"))
        .expect("expected output");
    let replayed: Vec<String> = replay
        .publications
        .iter()
        .map(|c| serde_json::to_string(c).expect("serialisable"))
        .collect();
    let expected: Vec<&str> = expected.lines().collect();
    assert_eq!(replayed.len(), 7);
    assert_eq!(replayed, expected);
}
