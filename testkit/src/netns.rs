//! Network-namespace fixtures (Linux, root): a uniquely named namespace in
//! which tests add veth pairs, addresses and routes with `ip`, open
//! netstate's sockets, and which is deleted on drop, even when the test
//! fails.
//!
//! Tests get one with [`NetnsFixture::require`]: without root (or without
//! `ip`) it prints why the test skips and returns `None`, so nothing passes
//! silently. Only addresses inside the namespace (and its loopback) are used.

use std::fmt;
use std::io;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use netstate_sys::Netns;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Why a namespace fixture could not be made.
#[derive(Debug)]
pub enum FixtureError {
    /// Running `ip` failed to start.
    Spawn(io::Error),
    /// `ip` ran and failed; the command line and its stderr.
    Ip {
        /// The arguments given to `ip`.
        args: String,
        /// What `ip` printed on stderr.
        stderr: String,
    },
    /// The namespace could not be opened.
    Open(io::Error),
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixtureError::Spawn(e) => write!(f, "cannot run ip: {e}"),
            FixtureError::Ip { args, stderr } => write!(f, "ip {args} failed: {}", stderr.trim()),
            FixtureError::Open(e) => write!(f, "cannot open the namespace: {e}"),
        }
    }
}

impl std::error::Error for FixtureError {}

/// Why namespace tests cannot run here, if they cannot.
#[must_use]
pub fn skip_reason() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(str::to_owned);
    if euid.as_deref() != Some("0") {
        return Some("creating network namespaces needs root".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(o) if o.status.success() => None,
        _ => Some("the `ip` command (iproute2) is missing".into()),
    }
}

/// A network namespace owned by one test; deleted on drop.
#[derive(Debug)]
pub struct NetnsFixture {
    name: String,
    netns: Option<Netns>,
}

impl NetnsFixture {
    /// A fresh namespace with its loopback up, for the test `test`.
    ///
    /// Tests that need one are `#[ignore = "needs root: …"]`, so a plain
    /// `cargo test` lists them as ignored, with that reason, instead of
    /// counting them as passed; the README's test command, `cargo test --
    /// --include-ignored` as root, runs them. Asked for where they cannot
    /// run (not root, no `ip`), this panics with the reason; it also panics
    /// when the namespace cannot be made: both are failures, never a pass.
    #[must_use]
    pub fn require(test: &str) -> Self {
        if let Some(why) = skip_reason() {
            panic!(
                "{test} cannot run here: {why}; run it as root, or run plain \
                 `cargo test`, which lists it as ignored"
            );
        }
        match NetnsFixture::new() {
            Ok(f) => f,
            Err(e) => panic!("{test}: cannot create a network namespace: {e}"),
        }
    }

    /// A fresh namespace with its loopback up.
    pub fn new() -> Result<Self, FixtureError> {
        let name = format!(
            "nst-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run_ip(&["netns", "add", &name])?;
        let mut f = NetnsFixture { name, netns: None };
        f.netns = Some(Netns::named(&f.name).map_err(FixtureError::Open)?);
        f.ip(&["link", "set", "lo", "up"])?;
        Ok(f)
    }

    /// The namespace's name (for `ip -n NAME`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace, to open netstate's sockets in it.
    ///
    /// # Panics
    /// Never after construction succeeded.
    #[must_use]
    pub fn netns(&self) -> &Netns {
        self.netns.as_ref().expect("opened in new()")
    }

    /// Runs `ip -n NAME ARGS…` and returns its stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String, FixtureError> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run_ip(&all)
    }

    /// Runs `ip -j -n NAME ARGS…` and parses its JSON output.
    pub fn ip_json(&self, args: &[&str]) -> Result<serde_json::Value, FixtureError> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let out = self.ip(&all)?;
        serde_json::from_str(if out.trim().is_empty() { "[]" } else { &out }).map_err(|e| {
            FixtureError::Ip {
                args: all.join(" "),
                stderr: format!("unparsable JSON: {e}"),
            }
        })
    }

    /// Runs `ip -batch -` in the namespace with `lines` as commands, for
    /// thousands of changes in one process.
    pub fn ip_batch(&self, lines: &str) -> Result<(), FixtureError> {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["-n", &self.name, "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(FixtureError::Spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(lines.as_bytes())
                .map_err(FixtureError::Spawn)?;
        }
        let out = child.wait_with_output().map_err(FixtureError::Spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(FixtureError::Ip {
                args: "-batch -".into(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
    }

    /// Adds a veth pair `a` – `b` inside the namespace and brings both up.
    pub fn add_veth(&self, a: &str, b: &str) -> Result<(), FixtureError> {
        self.ip(&["link", "add", a, "type", "veth", "peer", "name", b])?;
        self.ip(&["link", "set", a, "up"])?;
        self.ip(&["link", "set", b, "up"])?;
        Ok(())
    }

    /// Adds the tests' fuller host: the veth pairs `nsa0` – `nsa1` (MTU
    /// 1400 on `nsa0`) and `nsb0` – `nsb1` (`nsb1` down); `10.77.0.2/24`
    /// and `10.77.0.3/24` on `nsa0`, `10.78.0.2/16` on `nsb0`,
    /// `10.79.0.9/24` on the down `nsb1`; `2001:db8:77::2/64` on `nsa0`
    /// (no DAD), `2001:db8:78::2/64` on `nsb0` (with DAD) and
    /// `fe80::77/64` on `nsb0` (no DAD); default routes of both families
    /// via `nsa0` (`10.77.0.1`, `2001:db8:77::1`).
    pub fn add_two_pairs(&self) -> Result<(), FixtureError> {
        self.add_veth("nsa0", "nsa1")?;
        self.add_veth("nsb0", "nsb1")?;
        self.ip(&["link", "set", "nsb1", "down"])?;
        self.ip(&["link", "set", "nsa0", "mtu", "1400"])?;
        for (addr, dev) in [
            ("10.77.0.2/24", "nsa0"),
            ("10.77.0.3/24", "nsa0"),
            ("10.78.0.2/16", "nsb0"),
            ("10.79.0.9/24", "nsb1"),
        ] {
            self.ip(&["addr", "add", addr, "dev", dev])?;
        }
        self.ip(&["addr", "add", "2001:db8:77::2/64", "dev", "nsa0", "nodad"])?;
        self.ip(&["addr", "add", "2001:db8:78::2/64", "dev", "nsb0"])?;
        self.ip(&["addr", "add", "fe80::77/64", "dev", "nsb0", "nodad"])?;
        self.ip(&["route", "add", "default", "via", "10.77.0.1", "dev", "nsa0"])?;
        let v6_default = [
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:77::1",
            "dev",
            "nsa0",
        ];
        self.ip(&v6_default)?;
        Ok(())
    }

    /// A namespace for `test` (as [`require`](Self::require)) with one
    /// uplink, the tests' usual small host: the veth pair `{prefix}0` –
    /// `{prefix}1`, on `{prefix}0` the addresses `10.{net}.0.2/24` and
    /// `2001:db8:{net}::2/64` (without duplicate address detection, so it is
    /// usable at once), and an IPv4 default route via `10.{net}.0.1`.
    /// Panics, naming the test, when the set-up fails.
    #[must_use]
    pub fn with_uplink(test: &str, prefix: &str, net: u8) -> Self {
        let ns = NetnsFixture::require(test);
        let (a, b) = (format!("{prefix}0"), format!("{prefix}1"));
        let setup = || -> Result<(), FixtureError> {
            ns.add_veth(&a, &b)?;
            ns.ip(&["addr", "add", &format!("10.{net}.0.2/24"), "dev", &a])?;
            let v6 = format!("2001:db8:{net}::2/64");
            ns.ip(&["addr", "add", &v6, "dev", &a, "nodad"])?;
            ns.ip(&["route", "add", "default", "via", &format!("10.{net}.0.1")])?;
            Ok(())
        };
        if let Err(e) = setup() {
            panic!("{test}: namespace set-up failed: {e}");
        }
        ns
    }
}

impl Drop for NetnsFixture {
    fn drop(&mut self) {
        self.netns = None;
        if let Err(e) = run_ip(&["netns", "del", &self.name]) {
            eprintln!("warning: could not delete namespace {}: {e}", self.name);
        }
    }
}

fn run_ip(args: &[&str]) -> Result<String, FixtureError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(FixtureError::Spawn)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(FixtureError::Ip {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Runs `engine` as a driver would (waking at readiness or at its
/// deadline) until `done` holds for its published state; panics when
/// `limit` passes first (the limit only bounds a failure).
pub fn run_engine_until(
    engine: &mut netstate_sys::Engine,
    limit: std::time::Duration,
    mut done: impl FnMut(&netstate_core::Snapshot) -> bool,
) {
    let give_up = std::time::Instant::now() + limit;
    loop {
        let woken = engine.wake(std::time::Instant::now(), netstate_sys::sleep_clock());
        if done(&engine.handle().state()) {
            return;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "not reached within {limit:?}; state: {:?}",
            engine.handle().state()
        );
        if woken.more_queued {
            continue;
        }
        let deadline = engine.poll_timeout().map_or(give_up, |d| d.min(give_up));
        engine
            .wait(Some(
                deadline.saturating_duration_since(std::time::Instant::now()),
            ))
            .expect("wait on the engine's poller");
    }
}
