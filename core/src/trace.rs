//! Recorded traces (feature `serde`): every input a Reconciler received,
//! with its time, so a run can be replayed exactly through the core.
//!
//! A trace is JSON lines: first a [`TraceHeader`] (format version and the
//! configuration), then one [`TraceRecord`] per input or timeout, in order.
//! The Reconciler is deterministic, so [`Replayer`] fed the same records
//! performs the same actions and publishes the same changes as the live run.
//! This module only defines the format and the replay; reading and writing
//! lines (`serde_json`) is the caller's.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::{Backoff, Config, ConfigError};
use crate::filter::Filter;
use crate::reconciler::{Action, Input, Reconciler};

/// The trace format version this crate writes and reads.
pub const TRACE_VERSION: u32 = 1;

/// The first line of a trace: its format and the configuration it ran with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// Always [`TRACE_VERSION`].
    pub netstate_trace: u32,
    /// The configuration of the recorded Reconciler.
    pub config: TraceConfig,
}

impl TraceHeader {
    /// The header for a run with `config`.
    #[must_use]
    pub fn new(config: &Config) -> Self {
        TraceHeader {
            netstate_trace: TRACE_VERSION,
            config: TraceConfig::from(config),
        }
    }
}

/// A [`Config`] as plain data (durations in milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // each field is the Config field of the same name
pub struct TraceConfig {
    pub debounce_ms: u64,
    pub max_wait_ms: u64,
    pub reconcile_ms: Option<u64>,
    pub jump_threshold_ms: u64,
    pub rebind_backoff_ms: [u64; 2],
    pub retry_backoff_ms: [u64; 2],
    pub enumeration_timeout_ms: u64,
    #[serde(default)]
    pub ignore_names: Vec<String>,
    #[serde(default)]
    pub ignore_prefixes: Vec<String>,
    pub max_route_prefix_len: u8,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn backoff_ms(b: Backoff) -> [u64; 2] {
    [ms(b.initial), ms(b.max)]
}

fn backoff(v: [u64; 2]) -> Backoff {
    Backoff {
        initial: Duration::from_millis(v[0]),
        max: Duration::from_millis(v[1]),
    }
}

impl From<&Config> for TraceConfig {
    fn from(c: &Config) -> Self {
        TraceConfig {
            debounce_ms: ms(c.debounce()),
            max_wait_ms: ms(c.max_wait()),
            reconcile_ms: c.reconcile_interval().map(ms),
            jump_threshold_ms: ms(c.jump_threshold()),
            rebind_backoff_ms: backoff_ms(c.rebind_backoff()),
            retry_backoff_ms: backoff_ms(c.retry_backoff()),
            enumeration_timeout_ms: ms(c.enumeration_timeout()),
            ignore_names: c.filter().ignored_names().to_vec(),
            ignore_prefixes: c.filter().ignored_prefixes().to_vec(),
            max_route_prefix_len: c.filter().route_prefix_limit(),
        }
    }
}

impl TryFrom<&TraceConfig> for Config {
    type Error = ConfigError;

    fn try_from(t: &TraceConfig) -> Result<Config, ConfigError> {
        let mut filter = Filter::new().max_route_prefix_len(t.max_route_prefix_len);
        for n in &t.ignore_names {
            filter = filter.ignore_name(n.clone());
        }
        for p in &t.ignore_prefixes {
            filter = filter.ignore_prefix(p.clone());
        }
        Config::builder()
            .debounce(Duration::from_millis(t.debounce_ms))
            .max_wait(Duration::from_millis(t.max_wait_ms))
            .reconcile_interval(t.reconcile_ms.map(Duration::from_millis))
            .jump_threshold(Duration::from_millis(t.jump_threshold_ms))
            .rebind_backoff(backoff(t.rebind_backoff_ms))
            .retry_backoff(backoff(t.retry_backoff_ms))
            .enumeration_timeout(Duration::from_millis(t.enumeration_timeout_ms))
            .filter(filter)
            .build()
    }
}

/// What happened at one instant of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceEvent {
    /// [`Reconciler::handle_input`] was called with this input.
    Input(Input),
    /// [`Reconciler::handle_timeout`] was called.
    Timeout,
}

/// One line of a trace after the header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// Nanoseconds since the Reconciler was created.
    pub at_ns: u64,
    /// What happened then.
    #[serde(flatten)]
    pub event: TraceEvent,
}

impl TraceRecord {
    /// The record of `event` at `now`, for a Reconciler created at `start`.
    #[must_use]
    pub fn new(start: Instant, now: Instant, event: TraceEvent) -> Self {
        let at = now.saturating_duration_since(start).as_nanos();
        TraceRecord {
            at_ns: u64::try_from(at).unwrap_or(u64::MAX),
            event,
        }
    }
}

/// Why a trace cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// The header names a format version this crate does not read.
    UnsupportedVersion(u32),
    /// The recorded configuration is invalid.
    Config(ConfigError),
    /// A record is earlier than the one before it: the trace is corrupt.
    TimeWentBackwards {
        /// The earlier record's time.
        previous_ns: u64,
        /// This record's time.
        at_ns: u64,
    },
}

impl core::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReplayError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "trace format version {v} is not supported (expected {TRACE_VERSION})"
                )
            }
            ReplayError::Config(e) => write!(f, "recorded configuration is invalid: {e}"),
            ReplayError::TimeWentBackwards { previous_ns, at_ns } => write!(
                f,
                "record at {at_ns} ns comes after one at {previous_ns} ns"
            ),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Runs a recorded trace through a fresh Reconciler.
///
/// Feed it the records in order with [`Replayer::apply`]; it returns the
/// actions the Reconciler took, exactly as in the recorded run.
#[derive(Debug)]
pub struct Replayer {
    reconciler: Reconciler,
    start: Instant,
    last_ns: u64,
}

impl Replayer {
    /// A replayer for the trace that begins with `header`. `start` is any
    /// instant: record times are offsets from it.
    pub fn new(header: &TraceHeader, start: Instant) -> Result<Self, ReplayError> {
        if header.netstate_trace != TRACE_VERSION {
            return Err(ReplayError::UnsupportedVersion(header.netstate_trace));
        }
        let config = Config::try_from(&header.config).map_err(ReplayError::Config)?;
        Ok(Replayer {
            reconciler: Reconciler::new(config, start),
            start,
            last_ns: 0,
        })
    }

    /// Applies one record and returns the actions it caused (the first call
    /// also returns the initial enumeration request).
    pub fn apply(&mut self, record: TraceRecord) -> Result<Vec<Action>, ReplayError> {
        if record.at_ns < self.last_ns {
            return Err(ReplayError::TimeWentBackwards {
                previous_ns: self.last_ns,
                at_ns: record.at_ns,
            });
        }
        self.last_ns = record.at_ns;
        let now = self.start + Duration::from_nanos(record.at_ns);
        let mut actions: Vec<Action> =
            std::iter::from_fn(|| self.reconciler.poll_action()).collect();
        match record.event {
            TraceEvent::Input(input) => self.reconciler.handle_input(now, input),
            TraceEvent::Timeout => self.reconciler.handle_timeout(now),
        }
        actions.extend(std::iter::from_fn(|| self.reconciler.poll_action()));
        Ok(actions)
    }

    /// The Reconciler being replayed into.
    #[must_use]
    pub fn reconciler(&self) -> &Reconciler {
        &self.reconciler
    }
}
