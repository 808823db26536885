//! The worker side: one library, one measurement, in the network namespace
//! `ip netns exec` put this process in. Results are JSON objects, one a
//! line, on stdout; the runner's commands (`sample`, `quit`) arrive on
//! stdin, whose end (the runner is gone) ends the worker.
//!
//! Every worker runs a single-threaded tokio runtime, so the library's
//! tasks and the measuring loop share one thread and one clock.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use futures_lite::StreamExt;
use netstate_bench::measure::{mono_ns, proc_cpu_ticks, process_cpu_ns};
use netstate_bench::nl::AddrClient;
use netstate_core::ipnet::IpNet;
use netstate_sys::Enumerator;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::libs::{snapshot_addrs, Lib, Mon};

type Res<T> = Result<T, String>;

/// `peers worker MODE LIB [key=value ...]`.
pub(crate) fn main(args: &[String]) -> i32 {
    let (Some(mode), Some(lib)) = (args.first(), args.get(1)) else {
        eprintln!("usage: peers worker MODE LIB [key=value ...]");
        return 2;
    };
    let opts: BTreeMap<&str, &str> = args[2..].iter().filter_map(|a| a.split_once('=')).collect();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("worker: no runtime: {e}");
            return 1;
        }
    };
    let result = rt.block_on(async {
        let cmds = stdin_commands();
        let opt = |k: &str| opts.get(k).copied();
        let debounce = opt("debounce_ms").and_then(|v| v.parse().ok());
        let lib = Lib::parse(lib, debounce)?;
        match mode.as_str() {
            "enumerate" => enumerate(&lib, num(opt("reads"), 10)?).await,
            "latency" => {
                latency(
                    &lib,
                    opt("dev").unwrap_or("lat0"),
                    ip(opt("addr"))?,
                    num(opt("count"), 50)?,
                    num(opt("gap_ms"), 50)?,
                )
                .await
            }
            "storm" => storm(&lib, cmds).await,
            "cpu" => cpu(&lib, opt("dev").unwrap_or("chg0"), ip(opt("addr"))?, cmds).await,
            "overflow" => overflow(&lib, ip(opt("marker"))?, cmds).await,
            "silent" => {
                silent(
                    &lib,
                    opt("method").unwrap_or("drop"),
                    opt("dev").unwrap_or("lat0"),
                    ip(opt("addr"))?,
                    num(opt("timeout_s"), 30)?,
                )
                .await
            }
            other => Err(format!("unknown mode {other:?}")),
        }
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            emit(&json!({ "error": e }));
            1
        }
    }
}

fn num(v: Option<&str>, default: u64) -> Res<u64> {
    v.map_or(Ok(default), |v| {
        v.parse().map_err(|e| format!("{v:?}: {e}"))
    })
}

fn ip(v: Option<&str>) -> Res<IpAddr> {
    v.ok_or("missing address")?
        .parse()
        .map_err(|e| format!("address: {e}"))
}

fn emit(v: &Value) {
    println!("{v}");
}

/// The runner's commands, one a line; `eof` when stdin closes.
fn stdin_commands() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_owned()).is_err() {
                return;
            }
        }
        // The runner is gone: nobody will read our results.
        std::process::exit(3);
    });
    rx
}

/// The kernel's view: every address of a fresh netstate enumeration.
fn truth() -> Res<std::collections::BTreeSet<IpNet>> {
    let s = Enumerator::open()
        .map_err(|e| format!("enumerator: {e}"))?
        .enumerate()
        .map_err(|e| format!("enumerate: {e:?}"))?;
    Ok(snapshot_addrs(&s))
}

fn ifindex(dev: &str) -> Res<u32> {
    let s = Enumerator::open()
        .map_err(|e| format!("enumerator: {e}"))?
        .enumerate()
        .map_err(|e| format!("enumerate: {e:?}"))?;
    s.by_name(dev)
        .map(|i| i.index)
        .ok_or_else(|| format!("no interface {dev}"))
}

fn host_net(addr: IpAddr) -> IpNet {
    IpNet::from(addr)
}

// ---------------------------------------------------------------- enumerate

/// `reads` timed full reads of the interface state after one untimed one.
/// netstate: `Enumerator::open()?.enumerate()` (a new socket each time,
/// as a one-shot reader would do; `reused_ns` is the same with one
/// enumerator kept open). netwatch: `interfaces::State::new()`. if-watch
/// has no enumeration call: its `IfWatcher::new()` dumps the addresses into
/// the watcher, so its time is from `new()` until as many `Up` events as
/// addresses arrived (the count learnt by the untimed run); it reads
/// addresses only (no links, flags or default route).
async fn enumerate(lib: &Lib, reads: u64) -> Res<()> {
    let mut times = Vec::new();
    let mut reused = Vec::new();
    let (interfaces, addrs);
    match lib {
        Lib::Netstate { .. } => {
            let read = || -> Res<netstate_core::Snapshot> {
                Enumerator::open()
                    .map_err(|e| e.to_string())?
                    .enumerate()
                    .map_err(|e| format!("{e:?}"))
            };
            let first = read()?;
            interfaces = first.interfaces().len();
            addrs = snapshot_addrs(&first).len();
            for _ in 0..reads {
                let t = mono_ns();
                std::hint::black_box(read()?);
                times.push(mono_ns() - t);
            }
            let mut en = Enumerator::open().map_err(|e| e.to_string())?;
            en.enumerate().map_err(|e| format!("{e:?}"))?;
            for _ in 0..reads {
                let t = mono_ns();
                std::hint::black_box(en.enumerate().map_err(|e| format!("{e:?}"))?);
                reused.push(mono_ns() - t);
            }
        }
        Lib::Netwatch => {
            let first = netwatch::interfaces::State::new().await;
            interfaces = first.interfaces.len();
            addrs = first.interfaces.values().map(|i| i.addrs().count()).sum();
            for _ in 0..reads {
                let t = mono_ns();
                std::hint::black_box(netwatch::interfaces::State::new().await);
                times.push(mono_ns() - t);
            }
        }
        Lib::IfWatch => {
            let Mon::IfWatch { watcher } = Mon::start(lib).await? else {
                unreachable!()
            };
            let target = watcher.iter().count();
            drop(watcher);
            interfaces = 0;
            addrs = target;
            for _ in 0..reads {
                let t = mono_ns();
                let mut w =
                    if_watch::tokio::IfWatcher::new().map_err(|e| format!("if-watch: {e}"))?;
                let mut seen = 0;
                while seen < target {
                    match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
                        Ok(Some(Ok(if_watch::IfEvent::Up(_)))) => seen += 1,
                        Ok(Some(Ok(if_watch::IfEvent::Down(_)))) => seen -= 1,
                        Ok(Some(Err(e))) => return Err(format!("if-watch: {e}")),
                        Ok(None) | Err(_) => return Err("if-watch: dump incomplete".into()),
                    }
                }
                times.push(mono_ns() - t);
                drop(w);
            }
        }
    }
    emit(&json!({
        "times_ns": times, "reused_ns": reused,
        "interfaces": interfaces, "addrs": addrs,
    }));
    Ok(())
}

// ------------------------------------------------------------------ latency

/// `count` changes of one address on `dev`, alternately added and removed
/// with an in-process netlink request; each latency runs from right before
/// the request is sent to the moment the library's notification that
/// shows the change reaches this task (same monotonic clock).
async fn latency(lib: &Lib, dev: &str, addr: IpAddr, count: u64, gap_ms: u64) -> Res<()> {
    let index = ifindex(dev)?;
    let net = host_net(addr);
    let prefix = net.prefix_len();
    let mut client = AddrClient::open().map_err(|e| format!("netlink: {e}"))?;
    let mut mon = Mon::start(lib).await?;
    if mon.has_on(index, dev, &net) {
        return Err(format!("{net} is already there"));
    }
    let before = mon.netstate().map(|m| m.stats().core);
    let mut lat = Vec::new();
    let mut missed = 0;
    for i in 0..count {
        tokio::time::sleep(Duration::from_millis(gap_ms)).await;
        let add = i % 2 == 0;
        let t0 = mono_ns();
        client
            .send(add, index, addr, prefix)
            .map_err(|e| format!("send: {e}"))?;
        client.wait_ack().map_err(|e| format!("change: {e}"))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, mon.changed()).await {
                Ok(r) => {
                    r?;
                    let t1 = mono_ns();
                    if mon.has_on(index, dev, &net) == add {
                        lat.push(t1 - t0);
                        break;
                    }
                }
                Err(_) => {
                    missed += 1;
                    break;
                }
            }
        }
    }
    // netstate's reads during the changes: how many were targeted.
    let after = mon.netstate().map(|m| m.stats().core);
    let delta = |f: fn(&netstate_core::Stats) -> u64| {
        before.zip(after).map(|(b, a)| f(&a).saturating_sub(f(&b)))
    };
    emit(&json!({
        "lat_ns": lat, "missed": missed,
        "enumerations": delta(|s| s.enumerations),
        "targeted_reads": delta(|s| s.targeted_reads),
        "publications": delta(|s| s.publications),
    }));
    Ok(())
}

// ---------------------------------------------------------------------- cpu

/// The CPU-per-change measurement (issue 14). The runner makes the changes
/// (`ip addr add` / `del` of `addr` on `dev`: another process, so the
/// kernel's own work for each change is not charged to this one) and, after
/// each, waits for the line this worker prints when the library shows the
/// address appear (`{"has": true}`) or disappear; `sample` reports this
/// process's CPU time and netstate's counters; `quit` ends it. The check
/// after each notification looks at the one interface only (`has_on`), so
/// it costs the same whatever the table's size.
async fn cpu(
    lib: &Lib,
    dev: &str,
    addr: IpAddr,
    mut cmds: mpsc::UnboundedReceiver<String>,
) -> Res<()> {
    let index = ifindex(dev)?;
    let net = host_net(addr);
    let mut mon = Mon::start(lib).await?;
    let mut c = Counters { updates: 0 };
    let mut has = mon.has_on(index, dev, &net);
    emit(&json!({ "ready": true, "has_at_start": has }));
    loop {
        tokio::select! {
            r = mon.changed() => {
                r?;
                c.updates += 1;
                let now = mon.has_on(index, dev, &net);
                if now != has {
                    has = now;
                    emit(&json!({ "has": has }));
                }
            }
            cmd = cmds.recv() => match cmd.as_deref() {
                Some("sample") => emit(&sample(&mon, &c)),
                Some("quit") | None => return Ok(()),
                Some(other) => return Err(format!("unknown command {other:?}")),
            },
        }
    }
}

// -------------------------------------------------------------------- storm

/// Counters the runner samples around a route burst.
struct Counters {
    updates: u64,
}

fn sample(mon: &Mon, c: &Counters) -> Value {
    let stats = mon.netstate().map(|m| m.stats());
    json!({
        "mono_ns": mono_ns(),
        "cpu_ns": process_cpu_ns(),
        "cpu_ticks": proc_cpu_ticks("self").ok(),
        "syscr": syscr(),
        "updates": c.updates,
        "enumerations": stats.map(|s| s.core.enumerations),
        "targeted_reads": stats.map(|s| s.core.targeted_reads),
        "publications": stats.map(|s| s.core.publications),
        "overflows": stats.map(|s| s.core.overflows),
        "netlink_drops": own_netlink_sockets().map(|v| v.iter().map(|s| s.drops).sum::<u64>()).ok(),
    })
}

/// `syscr` of `/proc/self/io`: read-type system calls so far. netwatch's
/// enumeration reads sysfs and procfs files, so this counts them.
fn syscr() -> Option<u64> {
    std::fs::read_to_string("/proc/self/io")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("syscr:"))?
        .trim()
        .parse()
        .ok()
}

/// Runs the monitor and answers the runner's `sample` commands until
/// `quit`. On `calibrate` (netwatch only) it reads the state once directly
/// and reports how many read system calls that took, so the runner can
/// turn netwatch's read count into a number of enumerations.
async fn storm(lib: &Lib, mut cmds: mpsc::UnboundedReceiver<String>) -> Res<()> {
    let mut mon = Mon::start(lib).await?;
    let mut c = Counters { updates: 0 };
    emit(&json!({ "ready": true }));
    loop {
        tokio::select! {
            r = mon.changed() => { r?; c.updates += 1; }
            cmd = cmds.recv() => match cmd.as_deref() {
                Some("sample") => emit(&sample(&mon, &c)),
                Some("calibrate") => {
                    let mut per_read = Vec::new();
                    for _ in 0..3 {
                        let before = syscr();
                        std::hint::black_box(netwatch::interfaces::State::new().await);
                        if let (Some(a), Some(b)) = (before, syscr()) {
                            per_read.push(b - a);
                        }
                    }
                    emit(&json!({ "syscr_per_netwatch_read": per_read.iter().min() }));
                }
                Some("quit") | None => return Ok(()),
                Some(other) => return Err(format!("unknown command {other:?}")),
            },
        }
    }
}

// ----------------------------------------------------------------- overflow

/// Runs the monitor; the runner stops this process, makes 20,000 address
/// changes ending with the addition of `marker`, and resumes it. Reports
/// the first moment the library's addresses include the marker and equal
/// a fresh enumeration's (the kernel's), then waits for `quit`.
async fn overflow(lib: &Lib, marker: IpAddr, mut cmds: mpsc::UnboundedReceiver<String>) -> Res<()> {
    let marker = host_net(marker);
    let mut mon = Mon::start(lib).await?;
    let initial_equal = mon.addrs() == truth()?;
    emit(&json!({ "ready": true, "initial_equal": initial_equal }));
    let mut updates = 0u64;
    let mut reported = false;
    loop {
        tokio::select! {
            r = mon.changed() => { r?; updates += 1; }
            () = tokio::time::sleep(Duration::from_millis(2)) => {}
            cmd = cmds.recv() => match cmd.as_deref() {
                Some("quit") | None => {
                    let view = mon.addrs();
                    let kernel = truth()?;
                    let stats = mon.netstate().map(|m| m.stats());
                    emit(&json!({
                        "final": true,
                        "equal": view == kernel,
                        "has_marker": view.contains(&marker),
                        "missing": kernel.difference(&view).count(),
                        "stale": view.difference(&kernel).count(),
                        "updates": updates,
                        "overflows": stats.map(|s| s.core.overflows),
                        "enumerations": stats.map(|s| s.core.enumerations),
                        "netlink_drops": own_netlink_sockets()
                            .map(|v| v.iter().map(|s| s.drops).sum::<u64>()).ok(),
                    }));
                    return Ok(());
                }
                Some(other) => return Err(format!("unknown command {other:?}")),
            },
        }
        if !reported && mon.has(&marker) {
            let t = mono_ns();
            if mon.addrs() == truth()? {
                emit(&json!({ "converged_ns": t }));
                reported = true;
            }
        }
    }
}

// ------------------------------------------------------------------- silent

/// A netlink socket of this process that has joined multicast groups.
struct GroupSocket {
    fd: i32,
    drops: u64,
}

/// This process's `NETLINK_ROUTE` sockets with multicast groups (its route
/// monitor), from `/proc/self/net/netlink` (groups, drops, inode) matched
/// with `/proc/self/fd`.
fn own_netlink_sockets() -> io::Result<Vec<GroupSocket>> {
    let table = std::fs::read_to_string("/proc/self/net/netlink")?;
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    let mut by_inode = std::collections::HashMap::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || f[1] != "0" {
            continue;
        }
        let groups = u32::from_str_radix(f[3], 16).unwrap_or(0);
        if groups == 0 {
            continue;
        }
        if let (Ok(drops), Ok(inode)) = (f[8].parse::<u64>(), f[9].parse::<u64>()) {
            by_inode.insert(inode, drops);
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let entry = entry?;
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        let inode = target
            .strip_prefix("socket:[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|i| i.parse::<u64>().ok());
        if let Some(inode) = inode {
            if let Some(&drops) = by_inode.get(&inode) {
                if seen.insert(inode) {
                    out.push(GroupSocket { fd, drops });
                }
            }
        }
    }
    Ok(out)
}

/// Makes every route-monitor socket of this process stop delivering,
/// without an error: a duplicate of its descriptor (`pidfd_getfd` on this
/// process) leaves the multicast groups through
/// `netstate_sys::drop_netlink_memberships`. Returns how many.
fn silence_own_sockets() -> Res<usize> {
    use rustix::process::{getpid, pidfd_getfd, pidfd_open, PidfdFlags, PidfdGetfdFlags};
    let sockets = own_netlink_sockets().map_err(|e| format!("/proc: {e}"))?;
    let pidfd = pidfd_open(getpid(), PidfdFlags::empty()).map_err(|e| format!("pidfd: {e}"))?;
    for s in &sockets {
        let dup = pidfd_getfd(&pidfd, s.fd, PidfdGetfdFlags::empty())
            .map_err(|e| format!("pidfd_getfd: {e}"))?;
        netstate_sys::drop_netlink_memberships(dup.as_fd())
            .map_err(|e| format!("drop membership: {e}"))?;
    }
    Ok(sockets.len())
}

/// Silences the route socket (`method`: `drop`, leave the multicast groups
/// from outside the library), then adds `addr` on `dev` and waits up to `timeout_s` for the
/// library to report it.
async fn silent(lib: &Lib, method: &str, dev: &str, addr: IpAddr, timeout_s: u64) -> Res<()> {
    let index = ifindex(dev)?;
    let net = host_net(addr);
    let mut client = AddrClient::open().map_err(|e| format!("netlink: {e}"))?;
    let mut mon = Mon::start(lib).await?;
    let started = mono_ns();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let silenced = match method {
        "drop" => silence_own_sockets()?,
        other => return Err(format!("unknown method {other:?}")),
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = mono_ns();
    client
        .change(true, index, addr, net.prefix_len())
        .map_err(|e| format!("change: {e}"))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout_s);
    let mut lat = None;
    while lat.is_none() {
        tokio::select! {
            r = mon.changed() => r?,
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
            () = tokio::time::sleep_until(deadline) => break,
        }
        if mon.has(&net) {
            lat = Some(mono_ns() - t0);
        }
    }
    emit(&json!({
        "silenced_sockets": silenced,
        "lat_ns": lat,
        "change_after_start_ns": t0 - started,
    }));
    Ok(())
}
