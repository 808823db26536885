//! Clocks, `/proc` readings and statistics for the benchmark binaries.
//! Everything here is per process, so a worker measures only itself.

use std::io;
use std::time::Duration;

use rustix::time::{clock_gettime, ClockId};

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on the
/// host (network namespaces do not change it), so a runner and its
/// workers can compare their timestamps.
#[must_use]
pub fn mono_ns() -> u64 {
    ts_ns(clock_gettime(ClockId::Monotonic))
}

/// CPU time (user + system, all threads) this process has used, in
/// nanoseconds: what `/proc/self/stat` reports as `utime + stime`, without
/// its 10 ms clock-tick granularity.
#[must_use]
pub fn process_cpu_ns() -> u64 {
    ts_ns(clock_gettime(ClockId::ProcessCPUTime))
}

fn ts_ns(t: rustix::time::Timespec) -> u64 {
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// `utime + stime` of process `pid` (or `self`) from `/proc/PID/stat`, in
/// clock ticks (100 per second on Linux).
///
/// # Errors
/// The file cannot be read or parsed.
pub fn proc_cpu_ticks(pid: &str) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces: fields are counted
    // after its closing parenthesis. utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::other("unparsable stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other("unparsable stat"))
    };
    // `rest` starts at field 3, so field N is at index N - 3.
    Ok(get(11)? + get(12)?)
}

/// A `kB` line of `/proc/self/status` (`VmRSS`, `VmHWM`, …), in KiB.
///
/// # Errors
/// The file cannot be read or has no such line.
pub fn status_kib(field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {field} in /proc/self/status")))
}

/// This process's resident memory as a JSON line for the memory benchmark: `VmRSS`, its
/// anonymous and file-backed parts, and the peak (`VmHWM`), in KiB.
///
/// # Errors
/// `/proc/self/status` cannot be read.
pub fn rss_report() -> io::Result<String> {
    Ok(format!(
        "{{\"rss_kib\":{},\"anon_kib\":{},\"file_kib\":{},\"hwm_kib\":{}}}",
        status_kib("VmRSS")?,
        status_kib("RssAnon")?,
        status_kib("RssFile")?,
        status_kib("VmHWM")?
    ))
}

/// The `q`-quantile (0.0 ..= 1.0) of `values` by the nearest-rank method,
/// or `None` when there are none.
#[must_use]
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// The median of `values` (the mean of the two middle ones for an even
/// count), or `None` when there are none.
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Formats a duration given in nanoseconds with a unit that suits it.
#[must_use]
pub fn fmt_ns(ns: f64) -> String {
    let d = Duration::from_nanos(ns.max(0.0) as u64);
    if ns >= 1e9 {
        format!("{:.2} s", d.as_secs_f64())
    } else if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.0} µs", ns / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 1.0), Some(100.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn own_process_readings() {
        assert!(proc_cpu_ticks("self").is_ok());
        assert!(status_kib("VmRSS").unwrap() > 0);
        let a = mono_ns();
        assert!(mono_ns() >= a);
        assert!(process_cpu_ns() > 0);
    }
}
