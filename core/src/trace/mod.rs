//! Recorded traces: every input a Reconciler received, with its time, so a
//! run can be replayed exactly through the core.
//!
//! A trace is a [`TraceHeader`] (format version and the configuration), then
//! one [`TraceRecord`] per input or timeout, in order. The same two types
//! are used from recording to replay: `netstate_sys::Engine` hands its
//! recorder a [`TraceRecord`] per input, the testkit's simulation records
//! them, and [`Replayer`] replays them. The Reconciler is deterministic, so
//! a [`Replayer`] fed the same records performs the same actions and
//! publishes the same changes as the live run.
//!
//! On disk a trace is JSON lines (feature `serde` for the shape): the header,
//! then a record per line. Feature `trace-json` adds `TraceReader`, the one
//! reader of that text (the command's `replay` and the testkit's `Trace`
//! both use it); writing a line is `serde_json::to_string` of a header or a
//! record.

use std::time::{Duration, Instant};

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::config::{Backoff, Config, ConfigError};
use crate::filter::Filter;
use crate::reconciler::{Action, EnumerationId, Input, Reconciler};

#[cfg(feature = "trace-json")]
mod read;
#[cfg(feature = "trace-json")]
pub use read::{TraceLine, TraceReadError, TraceReader};

/// The trace format version this crate writes and reads.
pub const TRACE_VERSION: u32 = 1;

/// The first line of a trace: its format and the configuration it ran with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct TraceHeader {
    /// Always [`TRACE_VERSION`].
    pub netstate_trace: u32,
    /// The configuration of the recorded Reconciler.
    pub config: TraceConfig,
    /// When the recorded driver drained the Reconciler's actions (absent in
    /// traces written before it was recorded: after every record).
    #[cfg_attr(feature = "serde", serde(default))]
    pub drains: Drains,
}

/// When a recorded driver drained the Reconciler's actions, which replay
/// must do the same way to take the same decisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Drains {
    /// After every input and timeout (the simulation's driver).
    #[default]
    PerRecord,
    /// Once per wake-up, after its inputs and its timeout record, and after
    /// each answer fed while carrying the actions out (`netstate_sys::Engine`).
    PerWake,
}

impl TraceHeader {
    /// The header for a run with `config` whose driver drains after every
    /// record.
    #[must_use]
    pub fn new(config: &Config) -> Self {
        TraceHeader {
            netstate_trace: TRACE_VERSION,
            config: TraceConfig::from(config),
            drains: Drains::PerRecord,
        }
    }

    /// The header for a run of `netstate_sys::Engine` with `config`.
    #[must_use]
    pub fn for_engine(config: &Config) -> Self {
        TraceHeader {
            drains: Drains::PerWake,
            ..TraceHeader::new(config)
        }
    }
}

/// A [`Config`] as plain data. Durations are written in milliseconds, as
/// an integer when they are whole milliseconds (as every trace before this
/// rule) and as a decimal number otherwise, and read back to the
/// nanosecond: a trace replays with exactly the configuration it was
/// recorded with, and only a configuration [`Config`] itself rejects is
/// rejected on reading.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[allow(missing_docs)] // each field is the Config field of the same name
pub struct TraceConfig {
    #[cfg_attr(feature = "serde", serde(rename = "debounce_ms", with = "millis"))]
    pub debounce: Duration,
    #[cfg_attr(feature = "serde", serde(rename = "max_wait_ms", with = "millis"))]
    pub max_wait: Duration,
    #[cfg_attr(
        feature = "serde",
        serde(rename = "reconcile_ms", with = "millis::option")
    )]
    pub reconcile: Option<Duration>,
    #[cfg_attr(
        feature = "serde",
        serde(rename = "jump_threshold_ms", with = "millis")
    )]
    pub jump_threshold: Duration,
    #[cfg_attr(
        feature = "serde",
        serde(rename = "rebind_backoff_ms", with = "millis::pair")
    )]
    pub rebind_backoff: [Duration; 2],
    #[cfg_attr(
        feature = "serde",
        serde(rename = "retry_backoff_ms", with = "millis::pair")
    )]
    pub retry_backoff: [Duration; 2],
    #[cfg_attr(
        feature = "serde",
        serde(rename = "enumeration_timeout_ms", with = "millis")
    )]
    pub enumeration_timeout: Duration,
    #[cfg_attr(feature = "serde", serde(default))]
    pub ignore_names: Vec<String>,
    #[cfg_attr(feature = "serde", serde(default))]
    pub ignore_prefixes: Vec<String>,
    pub max_route_prefix_len: u8,
}

/// Durations as milliseconds, lossless (see [`TraceConfig`]).
#[cfg(feature = "serde")]
mod millis {
    use std::time::Duration;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    const NS_PER_MS: u128 = 1_000_000;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        let ns = d.as_nanos();
        match u64::try_from(ns / NS_PER_MS) {
            Ok(ms) if ns % NS_PER_MS == 0 => s.serialize_u64(ms),
            // Exact for any duration below 104 days (2^53 ns), far beyond
            // any sub-millisecond setting.
            #[allow(clippy::cast_precision_loss)]
            _ => s.serialize_f64(ns as f64 / 1e6),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Millis {
        Whole(u64),
        Decimal(f64),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Millis::deserialize(d)? {
            Millis::Whole(ms) => Ok(Duration::from_millis(ms)),
            Millis::Decimal(ms) if (0.0..1.8e13).contains(&ms) => {
                // In range (checked above): the rounding recovers the
                // nanoseconds written.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let ns = (ms * 1e6).round() as u64;
                Ok(Duration::from_nanos(ns))
            }
            Millis::Decimal(ms) => Err(D::Error::custom(format_args!(
                "{ms} is not a duration in milliseconds"
            ))),
        }
    }

    pub(super) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        #[allow(clippy::ref_option)] // the signature serde's `with` requires
        pub(crate) fn serialize<S: Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Duration);
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }
    }

    pub(super) mod pair {
        use std::time::Duration;

        use serde::ser::SerializeTuple;
        use serde::{Deserialize, Deserializer, Serializer};

        #[derive(serde::Serialize, Deserialize)]
        struct Wrap(#[serde(with = "super")] Duration);

        pub(crate) fn serialize<S: Serializer>(d: &[Duration; 2], s: S) -> Result<S::Ok, S::Error> {
            let mut t = s.serialize_tuple(2)?;
            t.serialize_element(&Wrap(d[0]))?;
            t.serialize_element(&Wrap(d[1]))?;
            t.end()
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<[Duration; 2], D::Error> {
            let [a, b] = <[Wrap; 2]>::deserialize(d)?;
            Ok([a.0, b.0])
        }
    }
}

impl From<&Config> for TraceConfig {
    fn from(c: &Config) -> Self {
        let backoff = |b: Backoff| [b.initial, b.max];
        TraceConfig {
            debounce: c.debounce(),
            max_wait: c.max_wait(),
            reconcile: c.reconcile_interval(),
            jump_threshold: c.jump_threshold(),
            rebind_backoff: backoff(c.rebind_backoff()),
            retry_backoff: backoff(c.retry_backoff()),
            enumeration_timeout: c.enumeration_timeout(),
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
            .debounce(t.debounce)
            .max_wait(t.max_wait)
            .reconcile_interval(t.reconcile)
            .jump_threshold(t.jump_threshold)
            .rebind_backoff(Backoff::new(t.rebind_backoff[0], t.rebind_backoff[1]))
            .retry_backoff(Backoff::new(t.retry_backoff[0], t.retry_backoff[1]))
            .enumeration_timeout(t.enumeration_timeout)
            .filter(filter)
            .build()
    }
}

/// What happened at one instant of a trace.
// Most records are inputs; boxing them to shrink the timeout records
// would cost an allocation per recorded hint for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TraceEvent {
    /// [`Reconciler::handle_input`] was called with this input.
    Input(Input),
    /// [`Reconciler::handle_timeout`] was called.
    Timeout,
}

/// One line of a trace after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct TraceRecord {
    /// Nanoseconds since the Reconciler was created.
    pub at_ns: u64,
    /// What happened then.
    #[cfg_attr(feature = "serde", serde(flatten))]
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
    /// A record answers an enumeration (with [`Input::Enumerated`] or
    /// [`Input::EnumerationInterrupted`]) that the replayed Reconciler never
    /// asked for: the trace contradicts itself.
    EnumerationNotAsked {
        /// The id the record answers.
        id: EnumerationId,
    },
    /// A record answers an enumeration that an earlier record already
    /// answered: the trace contradicts itself.
    EnumerationAnsweredTwice {
        /// The id the record answers.
        id: EnumerationId,
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
            ReplayError::EnumerationNotAsked { id } => write!(
                f,
                "answers enumeration {}, which the core never asked for",
                id.0
            ),
            ReplayError::EnumerationAnsweredTwice { id } => write!(
                f,
                "answers enumeration {}, which an earlier record already answered",
                id.0
            ),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Runs a recorded trace through a fresh Reconciler.
///
/// Feed it the records in order with [`Replayer::apply`]; it returns the
/// actions the Reconciler took, exactly as in the recorded run. A trace that
/// contradicts itself is refused with a [`ReplayError`]: a record earlier
/// than the one before it, or an answer ([`Input::Enumerated`],
/// [`Input::EnumerationInterrupted`]) to an enumeration the replayed
/// Reconciler never asked for, or one already answered.
#[derive(Debug)]
pub struct Replayer {
    reconciler: Reconciler,
    start: Instant,
    last_ns: u64,
    /// Actions taken out of the Reconciler but not yet returned (a record
    /// was refused after they were taken).
    pending: Vec<Action>,
    /// The enumerations asked for, as ranges of ids.
    asked: IdRanges,
    /// The enumerations asked for and not answered yet.
    unanswered: std::collections::BTreeSet<u64>,
    /// The last record was a timeout, or an answer fed while the actions
    /// after it were being carried out: the engine drains then.
    in_drain: bool,
    drains: Drains,
}

/// A set of ids kept as disjoint inclusive ranges (start → end): the
/// Reconciler numbers its enumerations consecutively, so a whole trace's
/// worth is one range.
#[derive(Debug, Default)]
struct IdRanges(std::collections::BTreeMap<u64, u64>);

impl IdRanges {
    fn contains(&self, id: u64) -> bool {
        self.0
            .range(..=id)
            .next_back()
            .is_some_and(|(_, &end)| id <= end)
    }

    fn insert(&mut self, id: u64) {
        if self.contains(id) {
            return;
        }
        // Join the range that ends just before `id`, if any.
        let start = match self.0.range(..id).next_back() {
            Some((&start, &end)) if end.checked_add(1) == Some(id) => start,
            _ => id,
        };
        // Join the range that starts just after `id`, if any.
        let end = match id.checked_add(1).and_then(|next| self.0.remove(&next)) {
            Some(end) => end,
            None => id,
        };
        self.0.insert(start, end);
    }
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
            pending: Vec::new(),
            asked: IdRanges::default(),
            unanswered: std::collections::BTreeSet::new(),
            in_drain: false,
            drains: header.drains,
        })
    }

    /// Applies one record and returns the actions it caused.
    ///
    /// It drains the Reconciler's actions where the recorded driver did
    /// ([`TraceHeader::drains`]): after every record, or, for the engine,
    /// after a
    /// timeout record (the engine records one per wake-up, after feeding
    /// that wake-up's inputs, then carries out the actions), and after an
    /// answer fed while those actions are carried out (an enumeration that
    /// ended at once, a rebind). Inputs of a wake-up (the sleep clock, a
    /// forced check, the socket's hints) are fed without draining, so a
    /// burst replays to the one enumeration it cost. An answer to an id not
    /// asked for yet drains first (traces recorded before this rule).
    ///
    /// A refused record changes nothing: the Reconciler has not seen it.
    pub fn apply(&mut self, record: TraceRecord) -> Result<Vec<Action>, ReplayError> {
        if record.at_ns < self.last_ns {
            return Err(ReplayError::TimeWentBackwards {
                previous_ns: self.last_ns,
                at_ns: record.at_ns,
            });
        }
        let answer = match &record.event {
            TraceEvent::Input(
                Input::Enumerated { id, .. }
                | Input::Refreshed { id, .. }
                | Input::EnumerationInterrupted { id },
            ) => Some(*id),
            _ => None,
        };
        let fed_while_draining = matches!(
            &record.event,
            TraceEvent::Input(
                Input::Enumerated { .. }
                    | Input::Refreshed { .. }
                    | Input::EnumerationInterrupted { .. }
                    | Input::MonitorRebound(_)
            )
        );
        if let Some(id) = answer {
            if !self.asked.contains(id.0) {
                self.take_actions();
            }
            self.answer(id)?;
        }
        self.last_ns = record.at_ns;
        let now = self.start + Duration::from_nanos(record.at_ns);
        if self.drains == Drains::PerRecord {
            self.take_actions();
            match record.event {
                TraceEvent::Input(input) => self.reconciler.handle_input(now, input),
                TraceEvent::Timeout => self.reconciler.handle_timeout(now),
            }
            self.take_actions();
            return Ok(std::mem::take(&mut self.pending));
        }
        match record.event {
            TraceEvent::Input(input) => {
                self.reconciler.handle_input(now, input);
                if !fed_while_draining {
                    self.in_drain = false;
                } else if self.in_drain {
                    self.take_actions();
                }
            }
            TraceEvent::Timeout => {
                self.reconciler.handle_timeout(now);
                self.take_actions();
                self.in_drain = true;
            }
        }
        Ok(std::mem::take(&mut self.pending))
    }

    /// The Reconciler being replayed into.
    #[must_use]
    pub fn reconciler(&self) -> &Reconciler {
        &self.reconciler
    }

    /// Moves the Reconciler's actions to `pending`, noting the enumerations
    /// it asks for.
    fn take_actions(&mut self) {
        while let Some(action) = self.reconciler.poll_action() {
            if let Action::Enumerate { id, .. } = &action {
                self.asked.insert(id.0);
                self.unanswered.insert(id.0);
            }
            self.pending.push(action);
        }
    }

    /// Checks that enumeration `id` was asked for and not answered yet, and
    /// notes it answered. A late answer to an enumeration that timed out is
    /// fine: the live run received it too (and the Reconciler ignores it).
    fn answer(&mut self, id: EnumerationId) -> Result<(), ReplayError> {
        if self.unanswered.remove(&id.0) {
            Ok(())
        } else if self.asked.contains(id.0) {
            Err(ReplayError::EnumerationAnsweredTwice { id })
        } else {
            Err(ReplayError::EnumerationNotAsked { id })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IdRanges;

    #[test]
    fn id_ranges_join_neighbours_and_answer_membership() {
        let mut r = IdRanges::default();
        for id in [5, 7, 6, 1, 2, 9, u64::MAX, 0] {
            r.insert(id);
        }
        r.insert(6);
        let ranges: Vec<(u64, u64)> = r.0.iter().map(|(&s, &e)| (s, e)).collect();
        assert_eq!(ranges, [(0, 2), (5, 7), (9, 9), (u64::MAX, u64::MAX)]);
        for id in [0, 1, 2, 5, 6, 7, 9, u64::MAX] {
            assert!(r.contains(id), "{id}");
        }
        for id in [3, 4, 8, 10, u64::MAX - 1] {
            assert!(!r.contains(id), "{id}");
        }
    }
}
