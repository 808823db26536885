//! The front page's quick-starts (`examples/`), each run as a program in a
//! network namespace of its own (Linux, root; otherwise each test prints
//! why it skips): each prints the namespace's state, then the change a
//! test makes there; the mio one also answers a TCP connection beside it.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use netstate_testkit::netns::NetnsFixture;

const PATIENCE: Duration = Duration::from_secs(20);

/// A namespace with one veth pair, an address of each family and an IPv4
/// default route (the conformance suite's kind of namespace).
fn namespace(test: &str) -> NetnsFixture {
    NetnsFixture::with_uplink(test, "qsa", 93)
}

/// The example's binary, built by `cargo test` beside the test binaries
/// (`target/debug/examples/`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/PROFILE/deps");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test -p netstate` builds the examples",
        path.display()
    );
    path
}

/// An example running in a namespace; stdout read line by line; killed
/// on drop.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(ns: &NetnsFixture, name: &str) -> Running {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name()])
            .arg(example(name))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ip netns exec");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `needle`; returns it.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?}; the example printed {:#?}",
                    self.seen
                ),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the example, waits for the state, adds an address and waits for
/// the change that carries it.
fn prints_the_state_then_a_change(test: &str, name: &str, state_line: &str) {
    let ns = namespace(test);
    let mut run = Running::start(&ns, name);
    run.expect(state_line);
    ns.ip(&["addr", "add", "10.93.0.7/24", "dev", "qsa0"])
        .expect("ip addr add");
    let line = run.expect("+10.93.0.7/24");
    assert!(line.trim_start().starts_with("~ qsa0"), "{line}");
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn the_tokio_quickstart_prints_the_state_a_check_and_every_change() {
    let test = "the_tokio_quickstart_prints_the_state_a_check_and_every_change";
    let ns = namespace(test);
    let mut run = Running::start(&ns, "quickstart-tokio");
    run.expect("have_v4=true have_v6=true");
    // The check answers: unchanged, or the change it published.
    let line = run.expect("");
    assert!(
        line == "checked: unchanged" || line.starts_with('#'),
        "{line}"
    );
    ns.ip(&["addr", "add", "10.93.0.7/24", "dev", "qsa0"])
        .expect("ip addr add");
    let line = run.expect("+10.93.0.7/24");
    assert!(line.trim_start().starts_with("~ qsa0"), "{line}");
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn the_smol_quickstart_prints_the_state_and_every_change() {
    prints_the_state_then_a_change(
        "the_smol_quickstart_prints_the_state_and_every_change",
        "quickstart-smol",
        "have_v4=true have_v6=true",
    );
}

#[test]
#[ignore = "needs root and network namespaces: cargo test -- --include-ignored, as root"]
fn the_mio_quickstart_prints_changes_and_serves_its_listener_in_one_poll() {
    let test = "the_mio_quickstart_prints_changes_and_serves_its_listener_in_one_poll";
    let ns = namespace(test);
    let mut run = Running::start(&ns, "quickstart-mio");
    let listening = run.expect("listening on ");
    let addr = listening.trim_start_matches("listening on ").to_owned();
    // The first change is the initial state, every interface added.
    run.expect("initial major");
    run.expect("+ qsa0");
    // A connection from inside the namespace gets the state's line.
    let (host, port) = addr.rsplit_once(':').expect("ADDRESS:PORT");
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), "bash", "-c"])
        .arg(format!("exec 3<>/dev/tcp/{host}/{port}; cat <&3"))
        .output()
        .expect("connect from the namespace");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "have_v4=true have_v6=true",
        "{out:?}"
    );
    ns.ip(&["addr", "add", "10.93.0.7/24", "dev", "qsa0"])
        .expect("ip addr add");
    let line = run.expect("+10.93.0.7/24");
    assert!(line.trim_start().starts_with("~ qsa0"), "{line}");
}
