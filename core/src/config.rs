//! [`Config`] and its validating [`ConfigBuilder`].

use core::fmt;
use std::time::Duration;

use crate::filter::Filter;

/// Exponential backoff: `initial`, doubling up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The ceiling of the delay.
    pub max: Duration,
}

impl Backoff {
    /// A backoff starting at `initial`, doubling up to `max`.
    #[must_use]
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max }
    }

    /// The delay before attempt number `attempt` (0-based).
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// The default debounce: 250 ms.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(250);
/// The default maximum wait from the first hint of a burst: 2 s.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(2);
/// The default reconcile interval: 15 s.
pub const DEFAULT_RECONCILE: Duration = Duration::from_secs(15);
/// The default rebind and retry backoff: 100 ms doubling to 30 s.
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(100),
    max: Duration::from_secs(30),
};
/// The default time an enumeration may take before it is given up: 10 s.
pub const DEFAULT_ENUMERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// 1.5 x `d`, saturating at `Duration::MAX` (a huge interval must not panic).
fn one_and_a_half(d: Duration) -> Duration {
    d.saturating_add(d / 2)
}

/// How a [`Reconciler`](crate::Reconciler) paces itself. Build one with
/// [`Config::builder`]; [`Config::default`] gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) debounce: Duration,
    pub(crate) max_wait: Duration,
    pub(crate) reconcile: Option<Duration>,
    pub(crate) jump_threshold: Duration,
    pub(crate) rebind_backoff: Backoff,
    pub(crate) retry_backoff: Backoff,
    pub(crate) enumeration_timeout: Duration,
    pub(crate) filter: Filter,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            debounce: DEFAULT_DEBOUNCE,
            max_wait: DEFAULT_MAX_WAIT,
            reconcile: Some(DEFAULT_RECONCILE),
            jump_threshold: one_and_a_half(DEFAULT_RECONCILE),
            rebind_backoff: DEFAULT_BACKOFF,
            retry_backoff: DEFAULT_BACKOFF,
            enumeration_timeout: DEFAULT_ENUMERATION_TIMEOUT,
            filter: Filter::default(),
        }
    }
}

impl Config {
    /// A builder starting from the defaults.
    #[must_use]
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// How long the route socket must be quiet before enumerating.
    #[must_use]
    pub fn debounce(&self) -> Duration {
        self.debounce
    }

    /// The longest a burst may postpone enumeration from its first hint.
    #[must_use]
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The reconcile interval, or `None` when periodic enumeration is off.
    #[must_use]
    pub fn reconcile_interval(&self) -> Option<Duration> {
        self.reconcile
    }

    /// By how much a clock that counts suspended time must outrun the
    /// monotonic clock to count as a sleep.
    #[must_use]
    pub fn jump_threshold(&self) -> Duration {
        self.jump_threshold
    }

    /// The backoff between route-socket rebind attempts.
    #[must_use]
    pub fn rebind_backoff(&self) -> Backoff {
        self.rebind_backoff
    }

    /// The backoff between retries of a failed enumeration.
    #[must_use]
    pub fn retry_backoff(&self) -> Backoff {
        self.retry_backoff
    }

    /// How long an enumeration may stay unanswered before it counts as failed.
    #[must_use]
    pub fn enumeration_timeout(&self) -> Duration {
        self.enumeration_timeout
    }

    /// The interface filter.
    #[must_use]
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
}

/// Why a configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The maximum wait is shorter than the debounce, so the debounce could
    /// never run its course. Make `max_wait >= debounce`.
    MaxWaitShorterThanDebounce {
        /// The debounce asked for.
        debounce: Duration,
        /// The maximum wait asked for.
        max_wait: Duration,
    },
    /// A reconcile interval of zero would enumerate continuously. Use `None`
    /// to switch reconcile off, or a positive interval.
    ZeroReconcileInterval,
    /// A jump threshold of zero would take every scheduling delay for a
    /// sleep. Use a positive threshold.
    ZeroJumpThreshold,
    /// A backoff whose first delay is zero, or whose ceiling is below its
    /// first delay, would retry in a busy loop. The field names which one.
    InvalidBackoff(&'static str),
    /// An enumeration timeout of zero would fail every enumeration.
    ZeroEnumerationTimeout,
    /// An empty name or prefix in the filter would ignore nothing or
    /// everything. Remove it.
    EmptyFilterPattern,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MaxWaitShorterThanDebounce { debounce, max_wait } => write!(
                f,
                "maximum wait {max_wait:?} is shorter than the debounce {debounce:?}"
            ),
            ConfigError::ZeroReconcileInterval => {
                f.write_str("reconcile interval is zero (use None to switch it off)")
            }
            ConfigError::ZeroJumpThreshold => f.write_str("sleep-clock jump threshold is zero"),
            ConfigError::InvalidBackoff(which) => write!(
                f,
                "{which} backoff must start above zero and not exceed its maximum"
            ),
            ConfigError::ZeroEnumerationTimeout => f.write_str("enumeration timeout is zero"),
            ConfigError::EmptyFilterPattern => {
                f.write_str("empty interface name or prefix in filter")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Builds a [`Config`], checking it as a whole in [`ConfigBuilder::build`].
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    debounce: Option<Duration>,
    max_wait: Option<Duration>,
    reconcile: Option<Option<Duration>>,
    jump_threshold: Option<Duration>,
    rebind_backoff: Option<Backoff>,
    retry_backoff: Option<Backoff>,
    enumeration_timeout: Option<Duration>,
    filter: Option<Filter>,
}

impl ConfigBuilder {
    /// The quiet time after a hint before enumerating (default 250 ms; zero
    /// enumerates on the first hint).
    #[must_use]
    pub fn debounce(mut self, d: Duration) -> Self {
        self.debounce = Some(d);
        self
    }

    /// The longest a burst may postpone enumeration (default 2 s).
    #[must_use]
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.max_wait = Some(d);
        self
    }

    /// The reconcile interval (default 15 s); `None` switches it off.
    #[must_use]
    pub fn reconcile_interval(mut self, d: Option<Duration>) -> Self {
        self.reconcile = Some(d);
        self
    }

    /// The sleep-clock jump threshold (default 1.5 x the reconcile interval,
    /// or 1.5 x 15 s when reconcile is off).
    #[must_use]
    pub fn jump_threshold(mut self, d: Duration) -> Self {
        self.jump_threshold = Some(d);
        self
    }

    /// The backoff between rebind attempts (default 100 ms doubling to 30 s).
    #[must_use]
    pub fn rebind_backoff(mut self, b: Backoff) -> Self {
        self.rebind_backoff = Some(b);
        self
    }

    /// The backoff between retries of a failed enumeration (default 100 ms
    /// doubling to 30 s).
    #[must_use]
    pub fn retry_backoff(mut self, b: Backoff) -> Self {
        self.retry_backoff = Some(b);
        self
    }

    /// How long an enumeration may go unanswered before it counts as failed
    /// (default 10 s).
    #[must_use]
    pub fn enumeration_timeout(mut self, d: Duration) -> Self {
        self.enumeration_timeout = Some(d);
        self
    }

    /// The interface filter (default: ignore nothing).
    #[must_use]
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(f);
        self
    }

    /// The configuration, or why it makes no sense.
    pub fn build(self) -> Result<Config, ConfigError> {
        let d = Config::default();
        let reconcile = self.reconcile.unwrap_or(d.reconcile);
        let cfg = Config {
            debounce: self.debounce.unwrap_or(d.debounce),
            max_wait: self.max_wait.unwrap_or(d.max_wait),
            jump_threshold: self
                .jump_threshold
                .unwrap_or_else(|| one_and_a_half(reconcile.unwrap_or(DEFAULT_RECONCILE))),
            reconcile,
            rebind_backoff: self.rebind_backoff.unwrap_or(d.rebind_backoff),
            retry_backoff: self.retry_backoff.unwrap_or(d.retry_backoff),
            enumeration_timeout: self.enumeration_timeout.unwrap_or(d.enumeration_timeout),
            filter: self.filter.unwrap_or(d.filter),
        };
        if cfg.max_wait < cfg.debounce {
            return Err(ConfigError::MaxWaitShorterThanDebounce {
                debounce: cfg.debounce,
                max_wait: cfg.max_wait,
            });
        }
        if cfg.reconcile == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroReconcileInterval);
        }
        if cfg.jump_threshold.is_zero() {
            return Err(ConfigError::ZeroJumpThreshold);
        }
        for (b, which) in [(cfg.rebind_backoff, "rebind"), (cfg.retry_backoff, "retry")] {
            if b.initial.is_zero() || b.max < b.initial {
                return Err(ConfigError::InvalidBackoff(which));
            }
        }
        if cfg.enumeration_timeout.is_zero() {
            return Err(ConfigError::ZeroEnumerationTimeout);
        }
        let f = &cfg.filter;
        if f.ignored_names()
            .iter()
            .chain(f.ignored_prefixes())
            .any(String::is_empty)
        {
            return Err(ConfigError::EmptyFilterPattern);
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::builder().build().unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.debounce(), Duration::from_millis(250));
        assert_eq!(c.max_wait(), Duration::from_secs(2));
        assert_eq!(c.reconcile_interval(), Some(Duration::from_secs(15)));
        assert_eq!(c.jump_threshold(), Duration::from_millis(22_500));
    }

    #[test]
    fn nonsense_is_rejected_with_a_typed_error() {
        let e = Config::builder()
            .debounce(Duration::from_secs(3))
            .build()
            .unwrap_err();
        assert!(matches!(e, ConfigError::MaxWaitShorterThanDebounce { .. }));
        let e = Config::builder().jump_threshold(Duration::ZERO).build();
        assert_eq!(e.unwrap_err(), ConfigError::ZeroJumpThreshold);
        let e = Config::builder()
            .reconcile_interval(Some(Duration::ZERO))
            .build();
        assert_eq!(e.unwrap_err(), ConfigError::ZeroReconcileInterval);
        let zero = Backoff {
            initial: Duration::ZERO,
            max: Duration::from_secs(1),
        };
        let e = Config::builder().rebind_backoff(zero).build();
        assert_eq!(e.unwrap_err(), ConfigError::InvalidBackoff("rebind"));
        let e = Config::builder()
            .filter(Filter::new().ignore_prefix(""))
            .build();
        assert_eq!(e.unwrap_err(), ConfigError::EmptyFilterPattern);
    }

    #[test]
    fn jump_threshold_follows_the_reconcile_interval_unless_set() {
        let c = Config::builder()
            .reconcile_interval(Some(Duration::from_secs(4)))
            .build()
            .unwrap();
        assert_eq!(c.jump_threshold(), Duration::from_secs(6));
        let c = Config::builder().reconcile_interval(None).build().unwrap();
        assert_eq!(c.jump_threshold(), Duration::from_millis(22_500));
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let b = DEFAULT_BACKOFF;
        assert_eq!(b.delay(0), Duration::from_millis(100));
        assert_eq!(b.delay(3), Duration::from_millis(800));
        assert_eq!(b.delay(9), Duration::from_secs(30));
        assert_eq!(b.delay(200), Duration::from_secs(30));
    }
}
