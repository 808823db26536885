//! The clock that keeps counting while the host is suspended.
//!
//! The Reconciler detects a suspend by comparing two clocks over the same
//! interval: the `now: Instant` each wake-up is given (Rust's monotonic
//! clock) and [`sleep_clock()`]. The pair only works if the first stops
//! while the host sleeps, the second keeps counting, and neither is ever
//! stepped: a wall clock in the second place makes an NTP step forwards read
//! as a suspend (a needless forced publication) and a step backwards hide
//! one. Each platform's pair:
//!
//! | OS | `Instant` (stops in suspend) | [`sleep_clock()`] (counts suspend) |
//! |---|---|---|
//! | Linux | `CLOCK_MONOTONIC` | `CLOCK_BOOTTIME` |
//! | macOS, iOS | `CLOCK_UPTIME_RAW` | `CLOCK_MONOTONIC_RAW` |
//! | FreeBSD | `CLOCK_MONOTONIC` | `CLOCK_MONOTONIC` (no pair: see below) |
//! | others | (the platform's) | the wall clock (unchanged) |
//!
//! Sources:
//!
//! * Linux: clock_gettime(2): `CLOCK_BOOTTIME` is `CLOCK_MONOTONIC` plus the
//!   time spent in suspend, and is not affected by `settimeofday` or NTP
//!   steps. Read with `rustix::time::clock_gettime(ClockId::Boottime)`.
//! * macOS: clock_gettime(3) in Apple's libc: `CLOCK_MONOTONIC` "will
//!   continue to increment while the system is asleep"; `CLOCK_MONOTONIC_RAW`
//!   tracks time like it but "is unaffected by frequency or time
//!   adjustments"; `CLOCK_UPTIME_RAW`, the clock behind Rust's `Instant`
//!   there (`mach_absolute_time` in nanoseconds), increments "in the same
//!   manner as `CLOCK_MONOTONIC_RAW`, but … does not increment while the
//!   system is asleep". Both raw clocks run at the same rate, so only a sleep
//!   separates them (libc++ moved `steady_clock` from `CLOCK_UPTIME_RAW` to
//!   `CLOCK_MONOTONIC_RAW` for the same reason, <https://reviews.llvm.org/D74341>).
//!   rustix has no `ClockId` for it on Apple targets (and is not a
//!   dependency of this crate off Linux), so it is read with
//!   `libc::clock_gettime(CLOCK_MONOTONIC_RAW)`.
//! * FreeBSD: clock_gettime(2) up to FreeBSD 13 documents `CLOCK_MONOTONIC`
//!   as "increments in SI seconds", `CLOCK_UPTIME` as "increments … while
//!   the machine is running", and `CLOCK_BOOTTIME` as an alias of
//!   `CLOCK_UPTIME`. Commit 108de784513d ("Redefine CLOCK_BOOTTIME to alias
//!   CLOCK_MONOTONIC, not CLOCK_UPTIME", <https://reviews.freebsd.org/D39270>,
//!   2023) says FreeBSD then had no monotonic clock that counted suspended
//!   time, and re-pointed `CLOCK_BOOTTIME` at `CLOCK_MONOTONIC` so that, as
//!   on OpenBSD and macOS, `CLOCK_MONOTONIC` is the one that counts suspend
//!   and `CLOCK_UPTIME` the one that does not; the FreeBSD 15.0 manual lists
//!   `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` together as incrementing "even
//!   while the system is suspended". The documented equivalent of Linux's
//!   `CLOCK_BOOTTIME` is therefore `CLOCK_MONOTONIC`, which is read here by
//!   that name: the `libc` crate (0.2.191) still defines FreeBSD's
//!   `CLOCK_BOOTTIME` as the old alias of `CLOCK_UPTIME`, a clock that stops
//!   in suspend. But `CLOCK_MONOTONIC` is also the clock behind Rust's
//!   `Instant` on FreeBSD, so the two readings advance together and the
//!   comparison never reports a sleep there. Nothing better exists
//!   (`CLOCK_UPTIME` runs at most as fast as `Instant`, and the wall clock
//!   is what this replaces); where `CLOCK_MONOTONIC` counts suspend, the
//!   Reconciler's own deadlines (reconcile interval, debounce), being
//!   `Instant`s, are already due on resume, so the state is re-read at once
//!   anyway, only without `Cause::TimeJump`; where it does not, the periodic
//!   reconcile heals within one interval.
//! * Other systems (no backend today: `default_backend` answers
//!   `Unsupported`) keep the wall clock.
//!
//! The macOS and FreeBSD branches are type-checked only by reading: the
//! targets `x86_64-apple-darwin` and `x86_64-unknown-freebsd` are not
//! installed where this was written, so `cargo check --target` could not
//! run; they are kept to one `libc::clock_gettime` call.

use std::time::Duration;

/// A reading of a clock that keeps counting while the host is suspended and
/// that nothing can step, for `Input::SleepClock`; its origin is arbitrary
/// (only differences between readings matter). See the module
/// documentation for the clock of each platform: `CLOCK_BOOTTIME` on Linux,
/// `CLOCK_MONOTONIC_RAW` on macOS and iOS, `CLOCK_MONOTONIC` on FreeBSD, the
/// wall clock elsewhere (a step backwards reads as zero advance, which the
/// Reconciler ignores).
#[must_use]
pub fn sleep_clock() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        duration(t.tv_sec, t.tv_nsec)
    }
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        libc_clock(libc::CLOCK_MONOTONIC_RAW)
    }
    #[cfg(target_os = "freebsd")]
    {
        libc_clock(libc::CLOCK_MONOTONIC)
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// Reads `clock` with `clock_gettime`. It cannot fail for the clocks passed
/// here (`EINVAL` needs an unknown clock, and each of these exists on every
/// release of its system that Rust supports; `EFAULT` a bad pointer); if it
/// did, the reading would be zero: the Reconciler ignores a clock going
/// backwards, and the next good reading would cost at most one needless
/// `TimeJump` enumeration.
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
fn libc_clock(clock: libc::clockid_t) -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable, properly aligned `timespec` that
    // outlives the call, which writes only into it.
    let rc = unsafe { libc::clock_gettime(clock, &mut t) };
    if rc != 0 {
        return Duration::ZERO;
    }
    duration(t.tv_sec, t.tv_nsec)
}

/// A `timespec`'s fields (whatever their integer types) as a `Duration`;
/// out-of-range fields (which a monotonic clock never gives) read as zero.
#[cfg(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
))]
fn duration<S, N>(sec: S, nsec: N) -> Duration
where
    u64: TryFrom<S>,
    u32: TryFrom<N>,
{
    Duration::new(
        u64::try_from(sec).unwrap_or(0),
        u32::try_from(nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sleep_clock_does_not_go_backwards() {
        let a = sleep_clock();
        let b = sleep_clock();
        assert!(b >= a);
        assert!(a > Duration::ZERO);
    }

    /// Over an interval bracketed by two readings of the sleep clock, the
    /// sleep clock advances at least as much as `Instant` does: the
    /// Reconciler subtracts one from the other, and a sleep clock running
    /// slower would hide a suspend. (Nothing is suspended here, so the two
    /// advance by the same amount, give or take the bracketing.)
    #[cfg(target_os = "linux")]
    #[test]
    fn the_sleep_clock_advances_at_least_as_much_as_instant() {
        use std::time::Instant;
        const SPAN: Duration = Duration::from_millis(20);
        let s0 = sleep_clock();
        let i0 = Instant::now();
        // Let time pass by spinning on the clock itself (no sleep).
        while i0.elapsed() < SPAN {
            std::hint::spin_loop();
        }
        let awake = i0.elapsed();
        let s1 = sleep_clock();
        assert!(s1 > s0, "the sleep clock advanced: {s0:?} then {s1:?}");
        let slept_clock = s1 - s0;
        assert!(
            slept_clock >= awake,
            "sleep clock advanced {slept_clock:?}, Instant {awake:?}"
        );
    }

    /// The reading is a time since boot, not since 1970: the sleep clock is
    /// not the wall clock, which an NTP step moves. (No host has been up for
    /// half the time since 1970.)
    #[cfg(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    ))]
    #[test]
    fn the_sleep_clock_is_not_the_wall_clock() {
        use std::time::{SystemTime, UNIX_EPOCH};
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let clock = sleep_clock();
        assert!(clock < wall / 2, "sleep clock {clock:?}, wall {wall:?}");
    }
}
