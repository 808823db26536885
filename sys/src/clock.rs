//! The clock that keeps counting while the host is suspended.

use std::time::Duration;

/// A reading of a clock that keeps counting while the host is suspended,
/// for `Input::SleepClock`: `CLOCK_BOOTTIME` on Linux (an NTP step cannot
/// move it), the wall clock elsewhere (time since the Unix epoch; a step
/// backwards reads as zero advance, which the Reconciler ignores).
#[must_use]
pub fn sleep_clock() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
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
}
