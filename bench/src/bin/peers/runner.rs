//! The runner side: namespaces, worker processes, alternation, statistics
//! and the results table.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use netstate_bench::measure::{fmt_ns, median, mono_ns, quantile};
use netstate_bench::setup;
use netstate_testkit::netns::{skip_reason, NetnsFixture};
use rustix::process::{kill_process, Pid, Signal};
use serde_json::{json, Value};

type Res<T> = Result<T, String>;

/// The libraries, in the order every round runs them.
const LIBS: [&str; 3] = ["netstate", "netwatch", "if-watch"];

/// Worker processes alive now, killed by the Ctrl-C handler.
static WORKERS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

const USAGE: &str = "\
usage: peers [--quick] [--only SECTIONS] [--routes N] [--storm-routes N]
             [--overflow-changes N] [--pairs N] [--pairs-ipv6]
             [--cpu-changes N] [--libs LIBS] [--json FILE]

Runs netstate, netwatch 0.20 and if-watch 3.2 side by side in network
namespaces it creates (needs root) and prints a Markdown table.

  --quick               fewer rounds and changes (a smoke test, not for publishing)
  --only SECTIONS       comma-separated subset of: enumeration, latency,
                        storm, overflow, silent, memory, routes, targeted
  --routes N            extra routes for the last enumeration scenario (1000000)
  --storm-routes N      routes in the route-storm burst (100000)
  --overflow-changes N  address changes while a worker is stopped (20000)
  --pairs N             veth pairs of the crowded host of the targeted
                        section (issue 14: enumeration, CPU per change and
                        latency with N pairs; CPU also without them) (2000)
  --pairs-ipv6          keep IPv6 on in that host (default: off, so thousands
                        of veths do not send router solicitations and MLD
                        reports during the measurement)
  --cpu-changes N       address changes per CPU-per-change run (100)
  --libs LIBS           comma-separated subset of: netstate, netwatch,
                        if-watch (all; leaving netwatch out shortens the
                        targeted section from about 10 minutes to 2)
  --json FILE           also write every raw result to FILE";

#[derive(Debug)]
struct Opts {
    quick: bool,
    only: Option<Vec<String>>,
    routes: u32,
    storm_routes: u32,
    overflow_changes: u32,
    pairs: u32,
    pairs_ipv6: bool,
    cpu_changes: u32,
    libs: Option<Vec<String>>,
    json: Option<PathBuf>,
}

impl Opts {
    fn parse(args: &[String]) -> Res<Opts> {
        let mut o = Opts {
            quick: false,
            only: None,
            routes: 1_000_000,
            storm_routes: 100_000,
            overflow_changes: 20_000,
            pairs: 2000,
            pairs_ipv6: false,
            cpu_changes: 100,
            libs: None,
            json: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--quick" => o.quick = true,
                "--only" => o.only = Some(value()?.split(',').map(str::to_owned).collect()),
                "--routes" => o.routes = value()?.parse().map_err(|e| format!("{a}: {e}"))?,
                "--storm-routes" => {
                    o.storm_routes = value()?.parse().map_err(|e| format!("{a}: {e}"))?;
                }
                "--overflow-changes" => {
                    o.overflow_changes = value()?.parse().map_err(|e| format!("{a}: {e}"))?;
                }
                "--pairs" => {
                    o.pairs = value()?.parse().map_err(|e| format!("{a}: {e}"))?;
                    if o.pairs > 60_000 {
                        return Err(format!("{a}: at most 60000"));
                    }
                }
                "--pairs-ipv6" => o.pairs_ipv6 = true,
                "--cpu-changes" => {
                    o.cpu_changes = value()?.parse().map_err(|e| format!("{a}: {e}"))?;
                }
                "--libs" => {
                    let libs: Vec<String> = value()?.split(',').map(str::to_owned).collect();
                    if let Some(l) = libs.iter().find(|l| !LIBS.contains(&l.as_str())) {
                        return Err(format!("{a}: unknown library {l:?}"));
                    }
                    o.libs = Some(libs);
                }
                "--json" => o.json = Some(PathBuf::from(value()?)),
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unknown option {other:?}\n{USAGE}")),
            }
        }
        Ok(o)
    }

    fn wants(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|l| l.iter().any(|s| s == section))
    }

    /// Whether library `lib` is measured (`--libs`).
    fn runs(&self, lib: &str) -> bool {
        self.libs
            .as_ref()
            .is_none_or(|l| l.iter().any(|s| s == lib))
    }

    fn rounds(&self, full: usize) -> usize {
        if self.quick {
            1
        } else {
            full
        }
    }
}

pub(crate) fn main(args: &[String]) -> i32 {
    let opts = match Opts::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    if let Some(why) = skip_reason() {
        eprintln!("peers: cannot run: {why} (run it as root, with iproute2 installed)");
        return 2;
    }
    install_interrupt_cleanup();
    match run(&opts) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("peers: failed: {e}");
            1
        }
    }
}

// ------------------------------------------------------------------ workers

/// One worker process inside a namespace; killed on drop.
struct Worker {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    pid: i32,
}

impl Worker {
    /// `ip netns exec NS EXE worker ARGS…`.
    fn spawn(exe: &Path, ns: &NetnsFixture, args: &[String]) -> Res<Worker> {
        let mut all = vec!["worker".to_owned()];
        all.extend_from_slice(args);
        Worker::spawn_program(exe, ns, &all, args.join(" "))
    }

    /// `ip netns exec NS PROGRAM ARGS…`.
    fn spawn_program(
        program: &Path,
        ns: &NetnsFixture,
        args: &[String],
        what: String,
    ) -> Res<Worker> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name()])
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start worker {what}: {e}"))?;
        // `ip netns exec` enters the namespace and execs the command, so
        // this is the worker's own pid (signals reach it directly).
        let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
        lock_workers().push(pid);
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Worker {
            what,
            stdin: child.stdin.take(),
            child,
            lines,
            pid,
        })
    }

    /// The worker's next JSON line, within `timeout`.
    fn json(&mut self, timeout: Duration) -> Res<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(l) => l,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("worker {}: no answer in {timeout:?}", self.what))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(format!("worker {} exited ({status})", self.what));
                }
            };
            match serde_json::from_str::<Value>(&line) {
                Ok(v) if v.get("error").is_some() => {
                    return Err(format!("worker {}: {}", self.what, v["error"]))
                }
                Ok(v) => return Ok(v),
                Err(_) => eprintln!("  [{}] {line}", self.what),
            }
        }
    }

    /// The next JSON line holding `key`, within `timeout`; lines without it
    /// are shown and skipped.
    fn json_with(&mut self, key: &str, timeout: Duration) -> Res<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.json(left)?;
            if v.get(key).is_some() {
                return Ok(v);
            }
            eprintln!("  [{}] unexpected: {v}", self.what);
        }
    }

    /// The next JSON line if one comes within `timeout`, else `None`.
    fn try_json(&mut self, timeout: Duration) -> Res<Option<Value>> {
        match self.json(timeout) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.contains("no answer") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, cmd: &str) -> Res<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{cmd}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("worker {}: {e}", self.what))
    }

    /// Sends `cmd` and returns the JSON answer.
    fn ask(&mut self, cmd: &str, timeout: Duration) -> Res<Value> {
        self.send(cmd)?;
        self.json(timeout)
    }

    fn signal(&self, sig: Signal) -> Res<()> {
        let pid = Pid::from_raw(self.pid).ok_or("bad pid")?;
        kill_process(pid, sig).map_err(|e| format!("kill {}: {e}", self.pid))
    }

    /// The process state letter from `/proc/PID/stat` (`T`: stopped).
    fn state(&self) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        stat.rsplit_once(')')?.1.trim_start().chars().next()
    }

    /// Sends SIGSTOP and waits until the kernel reports it stopped.
    fn stop(&self) -> Res<()> {
        self.signal(Signal::STOP)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.state() != Some('T') {
            if Instant::now() > deadline {
                return Err(format!("worker {} did not stop", self.what));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// Closes stdin (the worker then exits) and waits a little for it.
    fn finish(mut self) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.signal(Signal::KILL);
        }
        let _ = self.child.wait();
        lock_workers().retain(|&p| p != self.pid);
    }
}

fn lock_workers() -> std::sync::MutexGuard<'static, Vec<i32>> {
    WORKERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// On SIGINT or SIGTERM: kill the workers, delete this run's namespaces
/// (`nst-<pid>-*`, the fixtures' names) and exit.
fn install_interrupt_cleanup() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("peers: interrupted; killing workers and deleting namespaces");
            for &pid in lock_workers().iter() {
                if let Some(pid) = Pid::from_raw(pid) {
                    let _ = kill_process(pid, Signal::KILL);
                }
            }
            let prefix = format!("nst-{}-", std::process::id());
            if let Ok(out) = Command::new("ip").args(["netns", "list"]).output() {
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    if let Some(name) = line.split_whitespace().next() {
                        if name.starts_with(&prefix) {
                            let _ = Command::new("ip").args(["netns", "del", name]).status();
                        }
                    }
                }
            }
            std::process::exit(130);
        });
    });
}

// -------------------------------------------------------------------- table

/// One cell: a number (for the ratio) and how to print it.
#[derive(Clone, Debug)]
struct Cell {
    value: Option<f64>,
    text: String,
}

impl Cell {
    fn time(ns: Option<f64>) -> Cell {
        Cell {
            value: ns,
            text: ns.map_or("–".into(), fmt_ns),
        }
    }
    fn text(text: impl Into<String>) -> Cell {
        Cell {
            value: None,
            text: text.into(),
        }
    }
    fn num(value: f64, text: impl Into<String>) -> Cell {
        Cell {
            value: Some(value),
            text: text.into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Row {
    what: String,
    cells: [Cell; 3],
    goal: String,
}

fn ratio(a: &Cell, b: &Cell) -> String {
    match (a.value, b.value) {
        (Some(a), Some(b)) if b > 0.0 && a > 0.0 => {
            let r = a / b;
            if r < 0.01 {
                format!("{r:.4}")
            } else if r < 10.0 {
                format!("{r:.2}")
            } else {
                format!("{r:.0}")
            }
        }
        (Some(a), Some(b)) if a == 0.0 && b > 0.0 => "0".into(),
        _ => "–".into(),
    }
}

fn print_table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| measurement | netstate | netwatch 0.20 | if-watch 3.2 | netstate / netwatch | netstate / if-watch | goal (issue 7 unless said) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.what,
            r.cells[0].text,
            r.cells[1].text,
            r.cells[2].text,
            ratio(&r.cells[0], &r.cells[1]),
            ratio(&r.cells[0], &r.cells[2]),
            r.goal
        );
    }
    s
}

fn floats(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

fn progress(msg: &str) {
    eprintln!("[{}] {msg}", clock());
}

fn clock() -> String {
    let s = mono_ns() / 1_000_000_000;
    format!("{:02}:{:02}", s / 60 % 60, s % 60)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// --------------------------------------------------------------------- run

struct Ctx<'a> {
    exe: PathBuf,
    opts: &'a Opts,
    rows: Vec<Row>,
    notes: Vec<String>,
    raw: BTreeMap<String, Value>,
}

fn run(opts: &Opts) -> Res<()> {
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let mut cx = Ctx {
        exe,
        opts,
        rows: Vec::new(),
        notes: Vec::new(),
        raw: BTreeMap::new(),
    };
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let load_start = loadavg();
    progress(&format!(
        "{cpus} CPUs ({model}), kernel {kernel}, load {load_start}"
    ));

    // Build the memory benchmark's binaries before anything is measured.
    if opts.wants("memory") {
        prepare_rss_bins(&cx.exe)?;
    }

    let other = NetnsFixture::new().map_err(|e| e.to_string())?;
    let small = NetnsFixture::new().map_err(|e| e.to_string())?;
    setup::small_host(&small, &other).map_err(|e| e.to_string())?;
    if !setup::settle(&small, Duration::from_secs(10)) {
        progress("warning: tentative addresses remain after 10 s");
    }
    if opts.wants("enumeration") {
        enumeration(&mut cx, &small, "4 interfaces", [200, 50, 50], 5, "")?;
    }

    if opts.wants("enumeration") || opts.wants("memory") || opts.wants("routes") {
        big_namespace(&mut cx)?;
        // Deleting a namespace with a million routes goes on in the kernel
        // after `ip netns del` returns: let it finish before measuring more.
        progress("letting the kernel free the namespace");
        std::thread::sleep(Duration::from_secs(15));
    }

    setup::spare_link(&small, "lat0").map_err(|e| e.to_string())?;
    let _ = setup::settle(&small, Duration::from_secs(10));
    if opts.wants("latency") {
        latency(&mut cx, &small)?;
    }
    if opts.wants("storm") {
        storm(&mut cx, &small)?;
    }
    if opts.wants("overflow") {
        overflow(&mut cx, &small)?;
    }
    if opts.wants("silent") {
        silent(&mut cx, &small)?;
    }
    if opts.wants("targeted") {
        targeted(&mut cx)?;
    }
    drop(small);
    drop(other);

    let load_end = loadavg();
    let table = print_table(&cx.rows);
    println!("\n{table}");
    println!(
        "machine: {cpus} CPUs ({model}), kernel {kernel}; load average at start {load_start}, at end {load_end}"
    );
    for n in &cx.notes {
        println!("- {n}");
    }
    if let Some(path) = &opts.json {
        let doc = json!({
            "machine": { "cpus": cpus, "model": model, "kernel": kernel,
                         "load_start": load_start, "load_end": load_end },
            "table": table, "notes": cx.notes, "raw": cx.raw,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Issue 7's goal for the 200-pair enumerations.
const GOAL_20X: &str = "≥ 20x faster than netwatch (ratio ≤ 0.05)";

/// The scenarios of the namespace with 200 veth pairs: enumeration,
/// memory, then enumeration again with the extra routes.
fn big_namespace(cx: &mut Ctx<'_>) -> Res<()> {
    let opts = cx.opts;
    progress("creating 200 veth pairs");
    let big = NetnsFixture::new().map_err(|e| e.to_string())?;
    setup::veth_pairs(&big, 200).map_err(|e| e.to_string())?;
    if !setup::settle(&big, Duration::from_secs(30)) {
        progress("warning: tentative addresses remain after 30 s");
    }
    let mut base200 = None;
    if opts.wants("enumeration") {
        base200 = Some(enumeration(
            cx,
            &big,
            "200 veth pairs, IPv4 + IPv6 each",
            [50, 20, 20],
            5,
            GOAL_20X,
        )?);
    }
    if opts.wants("memory") {
        memory(cx, &big)?;
    }
    if opts.wants("routes") {
        progress(&format!("adding {} routes", opts.routes));
        let t = Instant::now();
        setup::routes(&big, "bv0a", opts.routes).map_err(|e| e.to_string())?;
        cx.notes.push(format!(
            "{} routes loaded with `ip -batch` in {:.1} s.",
            opts.routes,
            t.elapsed().as_secs_f64()
        ));
        let label = format!("200 veth pairs + {} routes", opts.routes);
        let with = enumeration(cx, &big, &label, [50, 3, 10], 3, GOAL_20X)?;
        if let Some(base) = base200 {
            let cells = [0, 1, 2].map(|i| match (with[i], base[i]) {
                (Some(w), Some(b)) => Cell::num(w / b, format!("{:.2}x", w / b)),
                _ => Cell::text("–"),
            });
            cx.rows.push(Row {
                what: format!("enumeration growth: {} routes / none", opts.routes),
                cells,
                goal: "netstate flat (≈1x)".into(),
            });
        }
    }
    progress("deleting the namespace");
    drop(big);
    Ok(())
}

// -------------------------------------------------------------- enumeration

/// One full read of the interface state, `rounds` rounds of one worker per
/// library (each doing `reads[i]` timed reads); returns the medians. `goal`
/// goes in the row's last column.
fn enumeration(
    cx: &mut Ctx<'_>,
    ns: &NetnsFixture,
    label: &str,
    reads: [u32; 3],
    rounds: usize,
    goal: &str,
) -> Res<[Option<f64>; 3]> {
    progress(&format!("enumeration: {label}"));
    let rounds = cx.opts.rounds(rounds);
    let mut times: [Vec<f64>; 3] = Default::default();
    let mut reused = Vec::new();
    let mut sizes = [(0, 0); 3];
    for _ in 0..rounds {
        for (i, lib) in LIBS.iter().enumerate() {
            if !cx.opts.runs(lib) {
                continue;
            }
            let mut w = Worker::spawn(
                &cx.exe,
                ns,
                &[
                    "enumerate".into(),
                    (*lib).into(),
                    format!("reads={}", reads[i]),
                ],
            )?;
            let v = w.json(Duration::from_secs(600))?;
            w.finish();
            times[i].extend(floats(&v, "times_ns"));
            reused.extend(floats(&v, "reused_ns"));
            sizes[i] = (
                v["interfaces"].as_u64().unwrap_or(0),
                v["addrs"].as_u64().unwrap_or(0),
            );
        }
    }
    let med = [0, 1, 2].map(|i| median(&times[i]));
    cx.rows.push(Row {
        what: format!("enumeration, {label} (median)"),
        cells: [0, 1, 2].map(|i| Cell::time(med[i])),
        goal: goal.into(),
    });
    cx.notes.push(format!(
        "enumeration, {label}: p90 netstate {} / netwatch {} / if-watch {}; netstate with one \
         enumerator kept open: median {}; seen: netstate {} interfaces {} addresses, \
         netwatch {} interfaces {} addresses, if-watch {} addresses; {} samples per library.",
        fmt_ns(quantile(&times[0], 0.9).unwrap_or(0.0)),
        fmt_ns(quantile(&times[1], 0.9).unwrap_or(0.0)),
        fmt_ns(quantile(&times[2], 0.9).unwrap_or(0.0)),
        fmt_ns(median(&reused).unwrap_or(0.0)),
        sizes[0].0,
        sizes[0].1,
        sizes[1].0,
        sizes[1].1,
        sizes[2].1,
        times[0].len(),
    ));
    cx.raw.insert(
        format!("enumeration {label}"),
        json!({ "times_ns": times, "netstate_reused_ns": reused }),
    );
    Ok(med)
}

// ------------------------------------------------------------------ latency

fn latency(cx: &mut Ctx<'_>, ns: &NetnsFixture) -> Res<()> {
    progress("change latency");
    let rounds = cx.opts.rounds(2);
    // (label, library, debounce, quiet time before each change, changes
    // per worker): 200 changes in all where a change takes ~50 ms, 60
    // where the 250 ms debounce makes each take ~550 ms.
    let configs: [LatencyConfig; 4] = [
        ("netstate debounce 0", "netstate", Some(0), 50, 100),
        ("netstate default", "netstate", None, 300, 30),
        ("netwatch", "netwatch", None, 300, 30),
        ("if-watch", "if-watch", None, 50, 100),
    ];
    let LatencyRuns { lat, missed, .. } =
        latency_runs(cx, ns, "lat0", "10.123.0.1", &configs, rounds)?;
    let med = |i: usize| median(&lat[i]);
    let p99 = |i: usize| quantile(&lat[i], 0.99);
    for (n, label) in [(0, "debounce 0"), (1, "default 250 ms debounce")] {
        cx.rows.push(Row {
            what: format!("change latency, median (netstate {label})"),
            cells: [Cell::time(med(n)), Cell::time(med(2)), Cell::time(med(3))],
            goal: String::new(),
        });
        cx.rows.push(Row {
            what: format!("change latency, p99 (netstate {label})"),
            cells: [Cell::time(p99(n)), Cell::time(p99(2)), Cell::time(p99(3))],
            goal: if n == 0 {
                "< 1 ms at p99 with debounce 0".into()
            } else {
                String::new()
            },
        });
    }
    cx.notes.push(format!(
        "change latency: changes measured: netstate debounce 0 {}, netstate default {}, \
         netwatch {}, if-watch {}; not reported within 5 s: {:?} (same order).",
        lat[0].len(),
        lat[1].len(),
        lat[2].len(),
        lat[3].len(),
        missed
    ));
    cx.raw
        .insert("latency".into(), json!({ "lat_ns": lat, "missed": missed }));
    Ok(())
}

/// One latency configuration: label, library, netstate's debounce (`None`:
/// the default), quiet time before each change (ms), changes per worker.
type LatencyConfig = (&'static str, &'static str, Option<u64>, u64, u64);

/// What [`latency_runs`] measured, one entry per configuration (the
/// workers' answers: one per worker, labelled).
struct LatencyRuns {
    lat: Vec<Vec<f64>>,
    missed: Vec<u64>,
    answers: Vec<Value>,
}

/// `rounds` rounds of one worker per configuration, each changing `addr`
/// (a `/32`) on `dev` in `ns`: every configuration's latencies, the changes
/// it never reported, and the workers' answers.
fn latency_runs(
    cx: &Ctx<'_>,
    ns: &NetnsFixture,
    dev: &str,
    addr: &str,
    configs: &[LatencyConfig],
    rounds: usize,
) -> Res<LatencyRuns> {
    let mut lat = vec![Vec::new(); configs.len()];
    let mut missed = vec![0u64; configs.len()];
    let mut answers = Vec::new();
    for _ in 0..rounds {
        for (i, (label, lib, debounce, gap, count)) in configs.iter().enumerate() {
            if !cx.opts.runs(lib) {
                continue;
            }
            let per_worker = if cx.opts.quick { 10 } else { *count };
            let _ = ns.ip(&["addr", "del", &format!("{addr}/32"), "dev", dev]);
            let mut args = vec![
                "latency".to_owned(),
                (*lib).to_owned(),
                format!("dev={dev}"),
                format!("addr={addr}"),
                format!("count={per_worker}"),
                format!("gap_ms={gap}"),
            ];
            if let Some(d) = debounce {
                args.push(format!("debounce_ms={d}"));
            }
            let mut w = Worker::spawn(&cx.exe, ns, &args)?;
            let v = w.json(Duration::from_secs(600))?;
            w.finish();
            lat[i].extend(floats(&v, "lat_ns"));
            missed[i] += v["missed"].as_u64().unwrap_or(0);
            answers.push(json!({
                "config": label,
                "missed": v["missed"],
                "enumerations": v["enumerations"],
                "targeted_reads": v["targeted_reads"],
                "publications": v["publications"],
            }));
        }
    }
    Ok(LatencyRuns {
        lat,
        missed,
        answers,
    })
}

// -------------------------------------------------------------------- storm

fn storm(cx: &mut Ctx<'_>, ns: &NetnsFixture) -> Res<()> {
    let count = cx.opts.storm_routes;
    progress(&format!("route storm: {count} routes"));
    let rounds = cx.opts.rounds(3);
    let mut frac: [Vec<f64>; 3] = Default::default();
    let mut enums: [Vec<f64>; 3] = Default::default();
    let mut updates: [Vec<f64>; 3] = Default::default();
    let mut walls = Vec::new();
    let mut raw = Vec::new();
    let mut run = 0;
    for _ in 0..rounds {
        for (i, lib) in LIBS.iter().enumerate() {
            if !cx.opts.runs(lib) {
                continue;
            }
            run += 1;
            let dev = format!("st{run}");
            setup::spare_link(ns, &dev).map_err(|e| e.to_string())?;
            let mut w = Worker::spawn(&cx.exe, ns, &["storm".into(), (*lib).into()])?;
            w.json(Duration::from_secs(60))?;
            std::thread::sleep(Duration::from_secs(1));
            let t = Duration::from_secs(10);
            let s_a = w.ask("sample", t)?;
            let s0 = w.ask("sample", t)?;
            let per_sample =
                s0["syscr"].as_f64().unwrap_or(0.0) - s_a["syscr"].as_f64().unwrap_or(0.0);
            let t_start = mono_ns();
            ns.ip_batch(&setup::route_lines(&dev, 0, count))
                .map_err(|e| e.to_string())?;
            let t_end = mono_ns();
            let wall = (t_end - t_start) as f64;
            // Until the worker is idle again: at least 3 s after the burst
            // (netstate's maximum debounce wait is 2 s), then until it used
            // less than 2 ms of CPU in 500 ms, at most 20 s.
            let mut samples = 0.0;
            let mut prev = s0.clone();
            let s1 = loop {
                std::thread::sleep(Duration::from_millis(500));
                let s = w.ask("sample", t)?;
                samples += 1.0;
                let d =
                    s["cpu_ns"].as_f64().unwrap_or(0.0) - prev["cpu_ns"].as_f64().unwrap_or(0.0);
                let since = mono_ns().saturating_sub(t_end);
                if (since >= 3_000_000_000 && d < 2e6) || since > 20_000_000_000 {
                    break s;
                }
                prev = s;
            };
            let cpu = s1["cpu_ns"].as_f64().unwrap_or(0.0) - s0["cpu_ns"].as_f64().unwrap_or(0.0);
            let ticks =
                s1["cpu_ticks"].as_f64().unwrap_or(0.0) - s0["cpu_ticks"].as_f64().unwrap_or(0.0);
            let upd = s1["updates"].as_f64().unwrap_or(0.0) - s0["updates"].as_f64().unwrap_or(0.0);
            let mut per_read = None;
            let en = match *lib {
                "netstate" => {
                    s1["enumerations"].as_f64().unwrap_or(0.0)
                        - s0["enumerations"].as_f64().unwrap_or(0.0)
                }
                "netwatch" => {
                    let reads = s1["syscr"].as_f64().unwrap_or(0.0)
                        - s0["syscr"].as_f64().unwrap_or(0.0)
                        - samples * per_sample;
                    let cal = w.ask("calibrate", Duration::from_secs(60))?;
                    let k = cal["syscr_per_netwatch_read"].as_f64().unwrap_or(0.0);
                    per_read = Some(k);
                    if k > 0.0 {
                        (reads / k * 10.0).round() / 10.0
                    } else {
                        f64::NAN
                    }
                }
                _ => 0.0,
            };
            w.send("quit")?;
            w.finish();
            let _ = ns.ip(&["link", "del", &dev]);
            frac[i].push(cpu / wall);
            enums[i].push(en);
            updates[i].push(upd);
            walls.push(wall);
            raw.push(json!({
                "lib": lib, "wall_ns": wall, "cpu_ns": cpu, "cpu_ticks": ticks,
                "enumerations": en, "updates": upd, "syscr_per_netwatch_read": per_read,
                "syscr_per_sample": per_sample,
                "drops": s1["netlink_drops"], "overflows": s1["overflows"],
            }));
        }
    }
    cx.rows.push(Row {
        what: format!("route storm ({count} routes): CPU time / burst wall time (median)"),
        cells: [0, 1, 2].map(|i| {
            let m = median(&frac[i]).unwrap_or(f64::NAN);
            Cell::num(m, format!("{:.2} %", m * 100.0))
        }),
        goal: "< 2 %".into(),
    });
    let enum_text = |i: usize| -> Cell {
        let m = median(&enums[i]).unwrap_or(f64::NAN);
        match i {
            0 => Cell::num(m, format!("{m:.0}")),
            1 => Cell::num(m, format!("≈ {m:.1} (from read syscalls)")),
            _ => Cell::num(m, "0 (never enumerates)"),
        }
    };
    cx.rows.push(Row {
        what: "route storm: enumerations run (median)".into(),
        cells: [enum_text(0), enum_text(1), enum_text(2)],
        goal: "≤ 2".into(),
    });
    cx.notes.push(format!(
        "route storm: burst wall time median {} ({} runs); state updates observed (median): \
         netstate {}, netwatch {}, if-watch {}.",
        fmt_ns(median(&walls).unwrap_or(0.0)),
        walls.len(),
        median(&updates[0]).unwrap_or(0.0),
        median(&updates[1]).unwrap_or(0.0),
        median(&updates[2]).unwrap_or(0.0),
    ));
    cx.raw.insert("storm".into(), Value::Array(raw));
    Ok(())
}

// ----------------------------------------------------------------- overflow

fn overflow(cx: &mut Ctx<'_>, ns: &NetnsFixture) -> Res<()> {
    let changes = cx.opts.overflow_changes;
    progress(&format!(
        "overflow recovery: {changes} changes while stopped"
    ));
    let rounds = cx.opts.rounds(3);
    let mut times: [Vec<f64>; 3] = Default::default();
    let mut never = [0usize; 3];
    let mut raw = Vec::new();
    let mut run = 0u32;
    for _ in 0..rounds {
        for (i, lib) in LIBS.iter().enumerate() {
            if !cx.opts.runs(lib) {
                continue;
            }
            run += 1;
            let dev = format!("ov{run}");
            setup::spare_link(ns, &dev).map_err(|e| e.to_string())?;
            let marker = format!("10.78.{}.{}", run / 256, run % 256);
            let mut w = Worker::spawn(
                &cx.exe,
                ns,
                &["overflow".into(), (*lib).into(), format!("marker={marker}")],
            )?;
            let ready = w.json(Duration::from_secs(60))?;
            std::thread::sleep(Duration::from_millis(500));
            let mut batch = String::with_capacity(changes as usize * 40);
            for k in 0..changes / 2 {
                let a = format!("10.77.{}.{}/32", k / 256 % 256, k % 256);
                batch += &format!("addr add {a} dev {dev}\naddr del {a} dev {dev}\n");
            }
            batch += &format!("addr add {marker}/32 dev {dev}\n");
            w.stop()?;
            ns.ip_batch(&batch).map_err(|e| e.to_string())?;
            let t_cont = mono_ns();
            w.signal(Signal::CONT)?;
            let converged = w.try_json(Duration::from_secs(10))?;
            let rec = converged
                .as_ref()
                .and_then(|v| v["converged_ns"].as_u64())
                .map(|t| t.saturating_sub(t_cont) as f64);
            let fin = w.ask("quit", Duration::from_secs(30))?;
            w.finish();
            let _ = ns.ip(&["link", "del", &dev]);
            match rec {
                Some(t) => times[i].push(t),
                None => never[i] += 1,
            }
            raw.push(json!({ "lib": lib, "ready": ready, "recovery_ns": rec, "final": fin }));
        }
    }
    let cell = |i: usize| -> Cell {
        if never[i] > 0 && times[i].is_empty() {
            Cell::text(format!("never (in {} of {} runs)", never[i], never[i]))
        } else if never[i] > 0 {
            Cell::text(format!(
                "{} ({} of {} runs never)",
                fmt_ns(median(&times[i]).unwrap_or(0.0)),
                never[i],
                never[i] + times[i].len()
            ))
        } else {
            Cell::time(median(&times[i]))
        }
    };
    cx.rows.push(Row {
        what: format!("overflow recovery ({changes} changes while stopped), median"),
        cells: [cell(0), cell(1), cell(2)],
        goal: "< 200 ms".into(),
    });
    let drops: Vec<String> = LIBS
        .iter()
        .map(|lib| {
            let d: Vec<f64> = raw
                .iter()
                .filter(|r| r["lib"] == *lib)
                .filter_map(|r| r["final"]["netlink_drops"].as_f64())
                .collect();
            format!("{lib} {}", median(&d).unwrap_or(0.0))
        })
        .collect();
    let en: Vec<f64> = raw
        .iter()
        .filter(|r| r["lib"] == "netstate")
        .filter_map(|r| r["final"]["overflows"].as_f64())
        .collect();
    cx.notes.push(format!(
        "overflow: messages the kernel dropped on each monitor's socket while it was stopped \
         (median, from /proc/net/netlink): {}; overflows netstate reported (median): {}.",
        drops.join(", "),
        median(&en).unwrap_or(0.0)
    ));
    cx.raw.insert("overflow".into(), Value::Array(raw));
    Ok(())
}

// ------------------------------------------------------------------- silent

fn silent(cx: &mut Ctx<'_>, ns: &NetnsFixture) -> Res<()> {
    progress("silent socket (up to 30 s per run)");
    let rounds = cx.opts.rounds(1);
    let timeout_s = 30;
    // (label, library, method)
    let configs: [(&str, &str, &str); 3] = [
        ("netstate groups dropped", "netstate", "drop"),
        ("netwatch groups dropped", "netwatch", "drop"),
        ("if-watch groups dropped", "if-watch", "drop"),
    ];
    let mut res: [Vec<Option<f64>>; 3] = Default::default();
    let mut raw = Vec::new();
    let mut run = 0u32;
    for _ in 0..rounds {
        for (i, (_, lib, method)) in configs.iter().enumerate() {
            if !cx.opts.runs(lib) {
                continue;
            }
            run += 1;
            let addr = format!("10.124.{}.{}", run / 256, run % 256);
            let mut w = Worker::spawn(
                &cx.exe,
                ns,
                &[
                    "silent".into(),
                    (*lib).into(),
                    format!("method={method}"),
                    "dev=lat0".into(),
                    format!("addr={addr}"),
                    format!("timeout_s={timeout_s}"),
                ],
            )?;
            let v = w.json(Duration::from_secs(timeout_s + 30))?;
            w.finish();
            let _ = ns.ip(&["addr", "del", &format!("{addr}/32"), "dev", "lat0"]);
            res[i].push(v["lat_ns"].as_f64());
            raw.push(json!({ "config": configs[i].0, "result": v }));
        }
    }
    let cell = |i: usize| -> Cell {
        let ok: Vec<f64> = res[i].iter().flatten().copied().collect();
        let never = res[i].len() - ok.len();
        if ok.is_empty() {
            Cell::text(format!("never (> {timeout_s} s)"))
        } else if never > 0 {
            Cell::text(format!(
                "{} ({never} of {} never)",
                fmt_ns(median(&ok).unwrap_or(0.0)),
                res[i].len()
            ))
        } else {
            Cell::time(median(&ok))
        }
    };
    cx.rows.push(Row {
        what: "silent socket: change reported after (every library: multicast groups dropped)"
            .into(),
        cells: [cell(0), cell(1), cell(2)],
        goal: "within one reconcile interval (15 s)".into(),
    });
    cx.raw.insert("silent".into(), Value::Array(raw));
    Ok(())
}

// ------------------------------------------------------------------- memory

/// The memory benchmark's `rss-*` binaries live next to this one. Under
/// `cargo run` (which sets CARGO) they are brought up to date (a no-op when
/// they are); otherwise they are built only if missing.
fn prepare_rss_bins(exe: &Path) -> Res<()> {
    let dir = exe.parent().ok_or("no directory")?;
    if std::env::var_os("CARGO").is_some() || RSS_BINS.iter().any(|b| !dir.join(b).exists()) {
        build_rss_bins(dir)?;
    }
    Ok(())
}

/// The memory benchmark's binaries: a floor, then one per library.
const RSS_BINS: [&str; 4] = [
    "rss-baseline",
    "rss-netstate",
    "rss-netwatch",
    "rss-if-watch",
];

/// `cargo run --bin peers` builds only this binary: build the `rss-*` ones
/// the same way (the cargo that ran us, the same target directory and
/// profile).
fn build_rss_bins(dir: &Path) -> Res<()> {
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let target = dir.parent().ok_or("no target directory")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    progress(&format!(
        "building the rss-* binaries ({cargo} build --bins)"
    ));
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "netstate-bench", "--bins"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile == "release" {
        cmd.arg("--release");
    }
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        other => Err(format!(
            "could not build the rss-* binaries ({other:?}): run \
             `cargo build --release -p netstate-bench` first"
        )),
    }
}

/// Resident memory of a process that runs one monitor and nothing else:
/// the `rss-*` binaries next to this one (built with it), each linking only
/// its own library, started inside the namespace like the workers.
fn memory(cx: &mut Ctx<'_>, ns: &NetnsFixture) -> Res<()> {
    progress("resident memory");
    let rounds = cx.opts.rounds(3);
    let dir = cx.exe.parent().ok_or("no directory")?.to_owned();
    let bins = RSS_BINS;
    let mut rss: [Vec<f64>; 4] = Default::default();
    let mut raw = Vec::new();
    for _ in 0..rounds {
        for (i, bin) in bins.iter().enumerate() {
            let path = dir.join(bin);
            if !path.exists() {
                return Err(format!(
                    "{} is missing: build the whole package (cargo build --release -p netstate-bench)",
                    path.display()
                ));
            }
            let mut w = Worker::spawn_program(&path, ns, &[], (*bin).to_owned())?;
            let v = w.json(Duration::from_secs(120))?;
            w.finish();
            if let Some(k) = v["rss_kib"].as_f64() {
                rss[i].push(k);
            }
            raw.push(json!({ "bin": bin, "result": v }));
        }
    }
    let base = median(&rss[0]).unwrap_or(0.0);
    let cell = |i: usize| {
        let m = median(&rss[i + 1]).unwrap_or(f64::NAN);
        Cell::num(
            m,
            format!("{:.1} MiB (+{:.1})", m / 1024.0, (m - base) / 1024.0),
        )
    };
    cx.rows.push(Row {
        what: "resident memory (VmRSS) of a process running only the monitor, 200 veth pairs \
               (+ above the same process without it)"
            .into(),
        cells: [cell(0), cell(1), cell(2)],
        goal: "< 4 MiB".into(),
    });
    cx.notes.push(format!(
        "memory: the same process without any monitor (std, single-threaded tokio runtime) \
         has {:.1} MiB resident.",
        base / 1024.0
    ));
    cx.raw.insert("memory".into(), Value::Array(raw));
    Ok(())
}

// ----------------------------------------------------------------- targeted

/// The interface the targeted section's changes are made on.
const CHANGED: &str = "chg0";

/// The address the CPU-per-change runs add and remove (a `/32`).
const CPU_ADDR: &str = "10.98.0.1";

/// Targeted refresh (issue 14): the same host without and with
/// `--pairs` other veth pairs ([`setup::crowded_host`]); enumeration and
/// change latency with the pairs, and the CPU time of the same address
/// changes on one interface with and without them.
fn targeted(cx: &mut Ctx<'_>) -> Res<()> {
    let pairs = cx.opts.pairs;
    let ipv6 = cx.opts.pairs_ipv6;
    let fam = if ipv6 {
        "IPv4 + IPv6 each"
    } else {
        "IPv4 only, IPv6 off"
    };
    progress("targeted refresh: the host without other veth pairs");
    let bare = NetnsFixture::new().map_err(|e| e.to_string())?;
    setup::crowded_host(&bare, 0, ipv6, CHANGED).map_err(|e| e.to_string())?;
    progress(&format!(
        "targeted refresh: the host with {pairs} veth pairs ({fam})"
    ));
    let t = Instant::now();
    let crowd = NetnsFixture::new().map_err(|e| e.to_string())?;
    setup::crowded_host(&crowd, pairs, ipv6, CHANGED).map_err(|e| e.to_string())?;
    let made = t.elapsed();
    for ns in [&bare, &crowd] {
        if !setup::settle(ns, Duration::from_secs(60)) {
            progress("warning: tentative addresses remain after 60 s");
        }
    }
    // The carrier of thousands of fresh veths is signalled asynchronously:
    // let those link events pass before anything is measured.
    std::thread::sleep(Duration::from_secs(5));
    cx.notes.push(format!(
        "targeted refresh: {pairs} veth pairs ({fam}) made in {:.1} s; both hosts also \
         have `lo`, an uplink veth pair with the default route and the veth pair `{CHANGED}` \
         the changes are made on.",
        made.as_secs_f64()
    ));

    let label = format!("{pairs} veth pairs, {fam}");
    enumeration(cx, &crowd, &label, [20, 3, 10], 3, "")?;
    cpu_per_change(cx, &bare, &crowd, pairs)?;

    progress(&format!("change latency, {pairs} veth pairs"));
    let configs: [LatencyConfig; 3] = [
        ("netstate debounce 0", "netstate", Some(0), 50, 100),
        ("netwatch", "netwatch", None, 300, 20),
        ("if-watch", "if-watch", None, 50, 100),
    ];
    let rounds = cx.opts.rounds(2);
    let LatencyRuns {
        lat,
        missed,
        answers,
    } = latency_runs(cx, &crowd, CHANGED, "10.123.0.1", &configs, rounds)?;
    cx.rows.push(Row {
        what: format!("change latency, median, {pairs} veth pairs (netstate debounce 0)"),
        cells: [0, 1, 2].map(|i| Cell::time(median(&lat[i]))),
        goal: String::new(),
    });
    cx.rows.push(Row {
        what: format!("change latency, p99, {pairs} veth pairs (netstate debounce 0)"),
        cells: [0, 1, 2].map(|i| Cell::time(quantile(&lat[i], 0.99))),
        goal: "issue 14: < 1 ms, and ≤ if-watch's (ratio ≤ 1)".into(),
    });
    let (reads, targeted) = sum_reads(&answers, "netstate debounce 0");
    cx.notes.push(format!(
        "change latency, {pairs} veth pairs: changes measured: netstate {}, netwatch {}, \
         if-watch {}; not reported within 5 s: {missed:?} (same order); netstate's reads \
         during its runs: {reads}, of them targeted: {targeted}.",
        lat[0].len(),
        lat[1].len(),
        lat[2].len(),
    ));
    cx.raw.insert(
        format!("latency {pairs} pairs"),
        json!({ "lat_ns": lat, "missed": missed, "workers": answers }),
    );
    progress("deleting the targeted-refresh namespaces");
    drop(crowd);
    drop(bare);
    Ok(())
}

/// netstate's reads (enumerations, and of them targeted) summed over the
/// answers of configuration `label`.
fn sum_reads(answers: &[Value], label: &str) -> (u64, u64) {
    answers
        .iter()
        .filter(|a| a["config"] == label)
        .fold((0, 0), |(e, t), a| {
            (
                e + a["enumerations"].as_u64().unwrap_or(0),
                t + a["targeted_reads"].as_u64().unwrap_or(0),
            )
        })
}

/// CPU time of `--cpu-changes` address changes on one interface (added and
/// removed in turn, with `ip`, by the runner; each waited for until the
/// library shows it), in the host without other veth pairs and in the one
/// with them, each library in its own worker; netstate with debounce 0.
fn cpu_per_change(
    cx: &mut Ctx<'_>,
    bare: &NetnsFixture,
    crowd: &NetnsFixture,
    pairs: u32,
) -> Res<()> {
    let changes = if cx.opts.quick {
        20
    } else {
        cx.opts.cpu_changes
    };
    progress(&format!("CPU per change: {changes} changes"));
    let rounds = cx.opts.rounds(2);
    // [host][library]: CPU ns of each run (clock), ticks, missed changes.
    let mut cpu: [[Vec<f64>; 3]; 2] = Default::default();
    let mut ticks: [[Vec<f64>; 3]; 2] = Default::default();
    let mut missed = [[0u64; 3]; 2];
    let mut reads = [(0f64, 0f64); 2];
    let mut raw = Vec::new();
    let dst = format!("{CPU_ADDR}/32");
    for _ in 0..rounds {
        for (h, ns) in [bare, crowd].into_iter().enumerate() {
            for (i, lib) in LIBS.iter().enumerate() {
                if !cx.opts.runs(lib) {
                    continue;
                }
                if !cx.opts.runs(lib) {
                    continue;
                }
                let _ = ns.ip(&["addr", "del", &dst, "dev", CHANGED]);
                let mut args = vec![
                    "cpu".to_owned(),
                    (*lib).to_owned(),
                    format!("dev={CHANGED}"),
                    format!("addr={CPU_ADDR}"),
                ];
                if *lib == "netstate" {
                    args.push("debounce_ms=0".into());
                }
                let mut w = Worker::spawn(&cx.exe, ns, &args)?;
                w.json_with("ready", Duration::from_secs(120))?;
                // Whatever the start still does, before the first sample.
                std::thread::sleep(Duration::from_secs(1));
                let t = Duration::from_secs(10);
                let s0 = w.ask("sample", t)?;
                let wall0 = mono_ns();
                let mut lost = 0;
                for k in 0..changes {
                    let add = k % 2 == 0;
                    ns.ip(&[
                        "addr",
                        if add { "add" } else { "del" },
                        &dst,
                        "dev",
                        CHANGED,
                    ])
                    .map_err(|e| e.to_string())?;
                    match w.json_with("has", Duration::from_secs(10)) {
                        Ok(v) if v["has"].as_bool() == Some(add) => {}
                        Ok(v) => return Err(format!("{lib}: unexpected {v} after change {k}")),
                        Err(e) if e.contains("no answer") => lost += 1,
                        Err(e) => return Err(e),
                    }
                }
                let wall = mono_ns() - wall0;
                // Anything a library does after its last report.
                std::thread::sleep(Duration::from_millis(500));
                let s1 = w.ask("sample", t)?;
                w.send("quit")?;
                w.finish();
                let d = |k: &str| s1[k].as_f64().unwrap_or(0.0) - s0[k].as_f64().unwrap_or(0.0);
                cpu[h][i].push(d("cpu_ns"));
                ticks[h][i].push(d("cpu_ticks"));
                missed[h][i] += lost;
                if *lib == "netstate" {
                    reads[h].0 += d("enumerations");
                    reads[h].1 += d("targeted_reads");
                }
                raw.push(json!({
                    "host": if h == 0 { "none".to_owned() } else { format!("{pairs} pairs") },
                    "lib": lib, "changes": changes, "cpu_ns": d("cpu_ns"),
                    "cpu_ticks": d("cpu_ticks"), "wall_ns": wall, "missed": lost,
                    "updates": d("updates"), "enumerations": d("enumerations"),
                    "targeted_reads": d("targeted_reads"), "publications": d("publications"),
                }));
            }
        }
    }
    let med = |h: usize, i: usize| median(&cpu[h][i]);
    let per = |h: usize, i: usize| -> Cell {
        match med(h, i) {
            Some(m) => Cell::num(
                m,
                format!(
                    "{} ({} a change)",
                    fmt_ns(m),
                    fmt_ns(m / f64::from(changes))
                ),
            ),
            None => Cell::text("–"),
        }
    };
    cx.rows.push(Row {
        what: format!(
            "CPU time of {changes} address changes on one interface, no other veth pairs \
             (median; per change)"
        ),
        cells: [0, 1, 2].map(|i| per(0, i)),
        goal: String::new(),
    });
    cx.rows.push(Row {
        what: format!(
            "CPU time of the same {changes} changes with {pairs} veth pairs present \
             (median; per change)"
        ),
        cells: [0, 1, 2].map(|i| per(1, i)),
        goal: String::new(),
    });
    cx.rows.push(Row {
        what: format!("CPU growth: {pairs} veth pairs / none"),
        cells: [0, 1, 2].map(|i| match (med(1, i), med(0, i)) {
            (Some(w), Some(b)) if b > 0.0 => Cell::num(w / b, format!("{:.1}x", w / b)),
            _ => Cell::text("–"),
        }),
        goal: "issue 14: netstate ≤ 3x (was 80x)".into(),
    });
    let tick_text = |h: usize| -> String {
        LIBS.iter()
            .enumerate()
            .map(|(i, lib)| {
                format!(
                    "{lib} {} ms",
                    median(&ticks[h][i]).map_or(0.0, |t| t * 10.0)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    cx.notes.push(format!(
        "CPU per change: {} runs per library and host; the same from /proc/self/stat \
         (10 ms ticks, median): none: {}; {pairs} pairs: {}. netstate's reads during the \
         changes (all runs): none {} of which {} targeted, {pairs} pairs {} of which {} \
         targeted. Changes not reported within 10 s: none {:?}, {pairs} pairs {:?} \
         (netstate, netwatch, if-watch).",
        rounds,
        tick_text(0),
        tick_text(1),
        reads[0].0,
        reads[0].1,
        reads[1].0,
        reads[1].1,
        missed[0],
        missed[1],
    ));
    cx.raw.insert("cpu per change".into(), Value::Array(raw));
    Ok(())
}
