//! The `netstate` command against the real kernel, in network namespaces
//! (Linux, root; otherwise each test prints why it skips), plus the error
//! paths that need no namespace.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use netstate_core::Snapshot;
use netstate_sys::Enumerator;
use netstate_testkit::netns::NetnsFixture;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_netstate");
const PATIENCE: Duration = Duration::from_secs(20);

fn namespace(test: &str) -> NetnsFixture {
    NetnsFixture::with_uplink(test, "cla", 91)
}

fn truth(ns: &NetnsFixture) -> Snapshot {
    Enumerator::open_in(ns.netns())
        .unwrap()
        .enumerate()
        .unwrap()
}

/// `netstate ARGS…` inside the namespace, stdout read line by line.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

fn spawn(ns: &NetnsFixture, args: &[&str]) -> Running {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running { child, lines }
}

impl Running {
    fn next_json(&self) -> Value {
        let line = self.lines.recv_timeout(PATIENCE).expect("a line in time");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Reads changes until one's state satisfies `done`; returns them all.
    fn until(&self, mut done: impl FnMut(&Snapshot) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let v = self.next_json();
            let state: Snapshot = serde_json::from_value(v["state"].clone()).unwrap();
            seen.push(v);
            if done(&state) {
                return seen;
            }
        }
    }

    /// Sends `signal` and returns the exit status and the remaining lines.
    fn stop(mut self, signal: &str) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        let status = self.child.wait().unwrap();
        let rest = self.lines.iter().collect();
        (status, rest)
    }
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn snapshot_json_is_the_kernels_state() {
    let ns = namespace("snapshot_json_is_the_kernels_state");
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN, "snapshot", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["default_route"]["v4"]["interface"], "cla0");
    assert_eq!(v["default_route"]["v4"]["gateway"], "10.91.0.1");
    assert_eq!(v["have_v4"], true);
    let s: Snapshot = serde_json::from_value(v).unwrap();
    assert_eq!(s, truth(&ns));

    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            BIN,
            "snapshot",
            "--json",
            "--ignore",
            "cla*",
        ])
        .output()
        .unwrap();
    let s: Snapshot = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        s.by_name("cla0").is_none() && s.by_name("cla1").is_none() && s.by_name("lo").is_some()
    );
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn snapshot_text_lists_interfaces_routes_and_families() {
    let ns = namespace("snapshot_text_lists_interfaces_routes_and_families");
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN, "snapshot"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("INDEX"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("cla0") && l.contains("10.91.0.2/24")),
        "{text}"
    );
    assert!(text.contains("default v4: cla0 via 10.91.0.1"), "{text}");
    assert!(text.contains("default v6: none"), "{text}");
    assert!(text.contains("have_v4: yes  have_v6: yes"), "{text}");
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn watch_json_prints_the_state_then_each_change_and_stops_cleanly_with_stats() {
    let ns = namespace("watch_json_prints_the_state_then_each_change_and_stops_cleanly_with_stats");
    let w = spawn(&ns, &["watch", "--json", "--debounce-ms", "0", "--stats"]);
    let first = w.next_json();
    assert_eq!(first["seq"], 1);
    assert_eq!(first["cause"], "initial");
    let s: Snapshot = serde_json::from_value(first["state"].clone()).unwrap();
    assert_eq!(s, truth(&ns));

    ns.ip(&["addr", "add", "10.91.0.77/24", "dev", "cla0"])
        .unwrap();
    let seen = w.until(|s| {
        s.by_name("cla0")
            .is_some_and(|i| i.addrs.iter().any(|a| a.net.to_string() == "10.91.0.77/24"))
    });
    let last = seen.last().unwrap();
    assert_eq!(last["cause"], "event");
    assert_eq!(last["major"], true);
    assert!(last["delta"]["changed"][0]["addrs_added"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "10.91.0.77/24"));

    ns.ip(&["route", "replace", "default", "via", "10.91.0.9"])
        .unwrap();
    let seen = w.until(|s| {
        s.default_routes().v4.as_ref().and_then(|r| r.gateway) == Some("10.91.0.9".parse().unwrap())
    });
    assert_eq!(
        seen.last().unwrap()["delta"]["default_route_changed"]["v4"],
        true
    );
    let published = 1 + 1 + seen.len() as u64;

    let (status, rest) = w.stop("-TERM");
    assert!(status.success(), "exit status {status}");
    let stats: Value = serde_json::from_str(rest.last().expect("a stats line")).unwrap();
    assert!(stats["stats"]["publications"].as_u64().unwrap() >= published);
    assert!(stats["stats"]["route_events"].as_u64().unwrap() >= 2);
    assert_eq!(stats["stats"]["rebinds"], 0);
    // The first read is whole; the address and the route change were read
    // alone (targeted reads), each counted among the enumerations.
    let (enumerations, targeted) = (
        stats["stats"]["enumerations"].as_u64().unwrap(),
        stats["stats"]["targeted_reads"].as_u64().unwrap(),
    );
    assert!(targeted >= 2 && targeted < enumerations, "{stats}");
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_recorded_trace_replays_to_the_same_output() {
    let ns = namespace("a_recorded_trace_replays_to_the_same_output");
    let dir = std::env::temp_dir().join(format!("netstate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let w = spawn(
        &ns,
        &[
            "record",
            trace.to_str().unwrap(),
            "--json",
            "--debounce-ms",
            "10",
        ],
    );
    let mut live = vec![w.next_json()];
    ns.ip(&["addr", "add", "10.91.0.66/24", "dev", "cla0"])
        .unwrap();
    live.extend(w.until(|s| s.by_name("cla0").is_some_and(|i| i.addrs.len() >= 4)));
    ns.ip(&["link", "set", "cla1", "down"]).unwrap();
    live.extend(w.until(|s| s.by_name("cla1").is_some_and(|i| !i.is_up())));
    let (status, rest) = w.stop("-INT");
    assert!(status.success());
    live.extend(
        rest.iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()),
    );

    let replayed = replay_json(&trace);
    assert!(live.len() >= 3);
    assert_eq!(
        replayed, live,
        "replay publishes exactly what the live run did"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_cannot_be_written_is_one_error_line() {
    let out = Command::new(BIN)
        .args(["record", "/proc/netstate-cannot-write/trace.jsonl"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("netstate: /proc/netstate-cannot-write/trace.jsonl: "),
        "{err}"
    );
}

#[test]
fn a_trace_that_cannot_be_parsed_names_the_line() {
    let dir = std::env::temp_dir().join(format!("netstate-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.jsonl");
    let header = r#"{"netstate_trace":1,"config":{"debounce_ms":250,"max_wait_ms":2000,"reconcile_ms":15000,"jump_threshold_ms":22500,"rebind_backoff_ms":[100,30000],"retry_backoff_ms":[100,30000],"enumeration_timeout_ms":10000,"max_route_prefix_len":1}}"#;
    std::fs::write(&path, format!("{header}\n{{\"at_ns\":5,\"timeout\":null}}\n{{\"at_ns\":9,\"input\":{{\"bogus\":1}}}}\n")).unwrap();
    let out = Command::new(BIN)
        .args(["replay", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.jsonl:3: "), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_has_an_example_per_subcommand_and_version_works() {
    for sub in ["snapshot", "watch", "record", "replay"] {
        let out = Command::new(BIN).args([sub, "--help"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Example:"), "{sub}: {text}");
    }
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("netstate "));
}

/// Waits for `child` to exit, at most `PATIENCE` (which only bounds a
/// failure); kills it and panics if it is still running then.
fn wait_bounded(child: Child, what: &str) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{what}: still running after {PATIENCE:?}");
        }
    }
}

/// A trace the core itself produced: the initial enumeration, an event,
/// and the enumeration it led to (two publications). Returns its lines.
fn a_trace() -> Vec<String> {
    use netstate_core::trace::{TraceEvent, TraceHeader, TraceRecord};
    use netstate_core::{
        Action, Address, Config, Input, Interface, InterfaceFlags, Reconciler, RouteEvent,
        RouteEventKind,
    };
    use std::time::Instant;
    let snap = |addr: &str| {
        let mut i = Interface::new(2, "eth0");
        i.flags = InterfaceFlags::UP;
        i.addrs.push(Address::new(addr.parse().unwrap()));
        Snapshot::new(vec![i], Default::default()).unwrap()
    };
    let config = Config::builder()
        .debounce(Duration::from_millis(10))
        .build()
        .unwrap();
    let start = Instant::now();
    let mut r = Reconciler::new(config.clone(), start);
    let mut lines = vec![serde_json::to_string(&TraceHeader::new(&config)).unwrap()];
    let mut now = start;
    let record = |now, event: TraceEvent, lines: &mut Vec<String>| {
        lines.push(serde_json::to_string(&TraceRecord::new(start, now, event)).unwrap());
    };
    let answer = |r: &mut Reconciler, now, addr: &str, lines: &mut Vec<String>| {
        let mut answered = 0;
        while let Some(a) = r.poll_action() {
            if let Action::Enumerate { id, .. } = a {
                let input = Input::Enumerated {
                    id,
                    result: Ok(snap(addr)),
                };
                record(now, TraceEvent::Input(input.clone()), lines);
                r.handle_input(now, input);
                answered += 1;
            }
        }
        answered
    };
    assert_eq!(answer(&mut r, now, "10.0.0.1/24", &mut lines), 1);
    now += Duration::from_millis(1);
    let hint = Input::Route(RouteEvent::new(RouteEventKind::AddrNew).with_index(2));
    record(now, TraceEvent::Input(hint.clone()), &mut lines);
    r.handle_input(now, hint);
    now += Duration::from_millis(10);
    record(now, TraceEvent::Timeout, &mut lines);
    r.handle_timeout(now);
    assert_eq!(answer(&mut r, now, "10.0.0.2/24", &mut lines), 1);
    assert_eq!(r.stats().publications, 2);
    lines
}

fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netstate-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `netstate ARGS…` (in `ns`, when given) with stdout redirected to
/// `/dev/full`.
fn to_dev_full(ns: Option<&NetnsFixture>, args: &[&str]) -> std::process::Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns.name(), BIN]);
            c
        }
        None => Command::new(BIN),
    };
    let child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bounded(child, &format!("{args:?} > /dev/full"))
}

fn assert_one_error_line(out: &std::process::Output, what: &str, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    assert!(err.starts_with("netstate: "), "{what}: {err}");
    assert!(err.contains(needle), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_write_error_on_stdout_other_than_a_closed_pipe_is_an_error() {
    let dir = temp_dir("dev-full");
    let trace = dir.join("trace.jsonl");
    std::fs::write(&trace, a_trace().join("\n") + "\n").unwrap();
    for json in [false, true] {
        let mut args = vec!["replay", trace.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = to_dev_full(None, &args);
        assert_one_error_line(&out, "replay > /dev/full", "standard output");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("No space left on device"),
            "{out:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);

    let ns = namespace("a_write_error_on_stdout_other_than_a_closed_pipe_is_an_error");
    for args in [
        &["snapshot"][..],
        &["snapshot", "--json"],
        &["watch"],
        &["watch", "--json"],
    ] {
        let out = to_dev_full(Some(&ns), args);
        assert_one_error_line(&out, &format!("{args:?}"), "standard output");
    }
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn watch_exits_quietly_soon_after_its_reader_goes_away() {
    // Only the loopback: nothing in it changes, so nothing is published
    // after the state.
    let ns = NetnsFixture::require("watch_exits_quietly_soon_after_its_reader_goes_away");
    for args in [&["watch", "--json"][..], &["watch"]] {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name(), BIN])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{args:?}: a first line");
        // Nothing changes in the namespace: only the closed pipe can end it.
        drop(reader);
        let out = wait_bounded(child, &format!("{args:?} after its reader closed"));
        assert!(
            out.status.success(),
            "{args:?}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{args:?}: quiet: {out:?}");
    }
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn record_stops_with_an_error_when_the_trace_cannot_be_written() {
    // The loopback and one veth pair, ignored: nothing published changes
    // after the state.
    let ns = NetnsFixture::require("record_stops_with_an_error_when_the_trace_cannot_be_written");
    ns.add_veth("clx0", "clx1").unwrap();
    let dir = temp_dir("record-fifo");
    let fifo = dir.join("trace.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN, "record"])
        .arg(&fifo)
        .args(["--json", "--ignore", "clx*"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening blocks until `record` opened its end.
    let mut trace = BufReader::new(std::fs::File::open(&fifo).unwrap());
    let mut line = String::new();
    trace.read_line(&mut line).unwrap();
    assert!(line.contains("netstate_trace"), "{line}");
    // Up to the initial enumeration's result (a clock reading comes first).
    while !line.contains("\"enumerated\"") {
        line.clear();
        assert_ne!(trace.read_line(&mut line).unwrap(), 0, "the trace ended");
    }
    // The state is published once the initial enumeration is recorded.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("\"initial\""), "{first}");
    // The trace's reader goes away: every later write fails (EPIPE).
    drop(trace);
    // An input that is recorded but publishes nothing (the interface is
    // ignored): only the failed write can end the command.
    ns.ip(&["addr", "add", "10.92.0.1/24", "dev", "clx0"])
        .unwrap();
    let out = wait_bounded(child, "record after its trace failed");
    assert_one_error_line(&out, "record", fifo.to_str().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_endless_trace_line_is_an_error_naming_the_line() {
    // Memory is limited so that reading the whole line first fails fast.
    let child = Command::new("sh")
        .args([
            "-c",
            "ulimit -v 1000000 && exec \"$0\" replay /dev/zero",
            BIN,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, "replay /dev/zero");
    assert_one_error_line(&out, "replay /dev/zero", "/dev/zero:1: ");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("16 MiB"),
        "{out:?}"
    );

    let dir = temp_dir("long-line");
    let path = dir.join("long.jsonl");
    let mut text = a_trace()[0].clone();
    text.push('\n');
    text.push_str(&" ".repeat(16 << 20));
    text.push_str("{}\n");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .args(["replay", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_one_error_line(&out, "a long line", "long.jsonl:2: ");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("16 MiB"),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn a_low_descriptor_limit_is_one_error_line_never_a_panic() {
    // Only the loopback: nothing in it changes, so nothing is published
    // after the state.
    let ns = NetnsFixture::require("a_low_descriptor_limit_is_one_error_line_never_a_panic");
    let mut outcomes = std::collections::BTreeSet::new();
    for limit in (4..=32).step_by(2) {
        let script = format!("ulimit -n {limit} && exec \"$0\" watch --json");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name(), "sh", "-c", &script, BIN])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Either it fails to start (stdout ends at once) or it prints the
        // state and ends when its reader goes away.
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let _ = reader.read_line(&mut first);
        drop(reader);
        let out = wait_bounded(child, &format!("ulimit -n {limit}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "ulimit -n {limit}: {err}");
        match out.status.code() {
            Some(0) => assert!(first.starts_with('{'), "ulimit -n {limit}: {first}"),
            Some(1) => {
                assert!(first.is_empty(), "ulimit -n {limit}: {first}");
                assert_eq!(err.lines().count(), 1, "ulimit -n {limit}: {err}");
                assert!(err.starts_with("netstate: "), "ulimit -n {limit}: {err}");
            }
            other => panic!("ulimit -n {limit}: exit {other:?}: {err}"),
        }
        outcomes.insert(out.status.code());
    }
    // Both kinds of run happened: some limits are too low, some enough.
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
}

#[test]
fn an_empty_ignore_pattern_is_a_usage_error_for_every_command() {
    let dir = temp_dir("ignore");
    let trace = dir.join("t.jsonl");
    let trace = trace.to_str().unwrap();
    for pattern in ["", "*"] {
        for args in [
            &["snapshot"][..],
            &["snapshot", "--json"],
            &["watch"],
            &["record", trace],
        ] {
            let out = Command::new(BIN)
                .args(args)
                .args(["--ignore", pattern])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {pattern:?}: {err}");
            assert!(err.contains("--ignore"), "{args:?} {pattern:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?} {pattern:?}");
        }
    }
    assert!(!dir.join("t.jsonl").exists(), "no trace was started");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_trace_that_answers_an_enumeration_never_asked_for_is_an_error() {
    let dir = temp_dir("unasked");
    let mut lines = a_trace();
    let good = dir.join("good.jsonl");
    std::fs::write(&good, lines.join("\n") + "\n").unwrap();
    let out = Command::new(BIN)
        .args(["replay", "--json", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);

    // The last line answers the second enumeration: make it answer one
    // that was never asked for.
    let last = lines.len() - 1;
    let mut v: Value = serde_json::from_str(&lines[last]).unwrap();
    let id = v["input"]["enumerated"]["id"].as_u64().expect("an id");
    v["input"]["enumerated"]["id"] = Value::from(id + 7);
    lines[last] = v.to_string();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let out = Command::new(BIN)
        .args(["replay", "--json", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_one_error_line(&out, "an unasked id", &format!("bad.jsonl:{}: ", last + 1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `netstate replay --json` of `trace`: one JSON value per line printed;
/// the command must succeed.
fn replay_json(trace: &std::path::Path) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["replay", "--json", trace.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The shipped trace recorded from a simulation: replaying it needs no
/// kernel.
fn shipped_trace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testkit/traces/silent-socket-overflow-rebind-sleep.jsonl")
}

/// What the library publishes replaying the same trace: the oracle the
/// command's output is checked against.
fn library_replay(path: &std::path::Path) -> Vec<netstate_core::Change> {
    use netstate_core::trace::{Replayer, TraceHeader, TraceRecord};
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: TraceHeader = serde_json::from_str(lines.next().unwrap()).unwrap();
    let mut r = Replayer::new(&header, std::time::Instant::now()).unwrap();
    let mut published = Vec::new();
    for line in lines {
        let record: TraceRecord = serde_json::from_str(line).unwrap();
        for action in r.apply(record).unwrap() {
            if let netstate_core::Action::Publish(c) = action {
                published.push(c);
            }
        }
    }
    published
}

#[test]
fn replay_prints_what_the_library_publishes_as_json_and_as_text() {
    let path = shipped_trace();
    let want = library_replay(&path);
    assert!(
        want.len() > 2,
        "the shipped trace publishes several changes"
    );

    let got = replay_json(&path);
    let want_json: Vec<Value> = want
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect();
    assert_eq!(got, want_json);

    // Text: the first change prints its header line, then the whole state;
    // each later one its own lines.
    let out = Command::new(BIN)
        .args(["replay", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.contains("#1 initial"), "{first}");
    assert!(
        text.lines().nth(1).unwrap().starts_with("INDEX"),
        "the state's table follows the first header\n{text}"
    );
    assert_eq!(
        text.matches("INDEX").count(),
        1,
        "one table, the first's\n{text}"
    );
    for i in want[0].new.interfaces() {
        assert!(text.contains(&i.name), "{} missing from\n{text}", i.name);
    }
    for c in &want[1..] {
        assert!(
            text.contains(&format!("#{} {}", c.seq, c.cause)),
            "#{} missing from\n{text}",
            c.seq
        );
    }
}

#[test]
fn replay_into_a_closed_pipe_ends_quietly_and_into_a_full_disk_is_an_error() {
    let path = shipped_trace();
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .args(["replay", "--json", path.to_str().unwrap()])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(BIN)
        .args(["replay", "--json", path.to_str().unwrap()])
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A trace's blank lines are skipped wherever they are, the header's too;
/// a file of blank lines is a trace without a header: one error line
/// naming line 1, never an empty success.
#[test]
fn blank_lines_are_skipped_and_a_trace_without_a_header_is_an_error() {
    let dir = temp_dir("blank-lines");
    let lines = a_trace();
    let spaced = dir.join("spaced.jsonl");
    std::fs::write(&spaced, format!("\n \n{}\n\n", lines.join("\n\n"))).unwrap();
    let plain = dir.join("plain.jsonl");
    std::fs::write(&plain, lines.join("\n") + "\n").unwrap();
    let replayed = replay_json(&spaced);
    assert!(!replayed.is_empty());
    assert_eq!(replayed, replay_json(&plain), "blank lines change nothing");

    let blank = dir.join("blank.jsonl");
    std::fs::write(&blank, "\n  \n\t\n").unwrap();
    let out = Command::new(BIN)
        .args(["replay", "--json", blank.to_str().unwrap()])
        .output()
        .unwrap();
    assert_one_error_line(&out, "a blank trace", "blank.jsonl:1: ");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no header"),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
