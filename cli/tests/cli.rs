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

fn namespace(test: &str) -> Option<NetnsFixture> {
    let ns = NetnsFixture::require(test)?;
    ns.add_veth("cla0", "cla1").unwrap();
    ns.ip(&["addr", "add", "10.91.0.2/24", "dev", "cla0"])
        .unwrap();
    ns.ip(&["addr", "add", "2001:db8:91::2/64", "dev", "cla0", "nodad"])
        .unwrap();
    ns.ip(&["route", "add", "default", "via", "10.91.0.1"])
        .unwrap();
    Some(ns)
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
fn snapshot_json_is_the_kernels_state() {
    let Some(ns) = namespace("snapshot_json_is_the_kernels_state") else {
        return;
    };
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
fn snapshot_text_lists_interfaces_routes_and_families() {
    let Some(ns) = namespace("snapshot_text_lists_interfaces_routes_and_families") else {
        return;
    };
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
fn watch_json_prints_the_state_then_each_change_and_stops_cleanly_with_stats() {
    let Some(ns) =
        namespace("watch_json_prints_the_state_then_each_change_and_stops_cleanly_with_stats")
    else {
        return;
    };
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
}

#[test]
fn a_recorded_trace_replays_to_the_same_output() {
    let Some(ns) = namespace("a_recorded_trace_replays_to_the_same_output") else {
        return;
    };
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

    let out = Command::new(BIN)
        .args(["replay", "--json", trace.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
