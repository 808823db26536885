//! Trace replay: load a trace recorded by `netstate record` (or written by
//! [`Trace::from_sim`]) and run it through a
//! fresh Reconciler, so that a field failure becomes a regression test.
//!
//! A trace is JSON lines: a [`TraceHeader`] (format version and the
//! configuration), then one [`TraceRecord`] per input or timeout. Blank
//! lines are skipped; every error names its 1-based line.
//!
//! ```
//! use netstate_testkit::replay::Trace;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/traces/silent-socket-overflow-rebind-sleep.jsonl");
//! let replay = Trace::load(path)?.replay()?;
//! assert!(replay.publications.len() > 1);
//! # Ok(())
//! # }
//! ```

use core::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netstate_core::trace::{
    ReplayError, Replayer, TraceHeader, TraceReadError, TraceReader, TraceRecord,
};
use netstate_core::{Action, Change, Snapshot, Stats};

use crate::sim::{Core, Sim};

/// Why a trace could not be loaded or replayed.
#[derive(Debug)]
#[non_exhaustive]
pub enum TraceError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The text is not a trace: no header line, or a line that is not JSON
    /// of the expected shape (its line is [`TraceReadError::line`]).
    Read(TraceReadError),
    /// The core refused a record (unsupported version, invalid
    /// configuration, time going backwards).
    Replay {
        /// The 1-based line number (1 for the header).
        line: usize,
        /// Why.
        error: ReplayError,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io(e) => write!(f, "cannot read the trace: {e}"),
            TraceError::Read(e) => write!(f, "line {}: {e}", e.line()),
            TraceError::Replay { line, error } => write!(f, "line {line}: {error}"),
        }
    }
}

impl std::error::Error for TraceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceError::Io(e) => Some(e),
            TraceError::Read(e) => Some(e),
            TraceError::Replay { error, .. } => Some(error),
        }
    }
}

/// A parsed trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Its header.
    pub header: TraceHeader,
    /// Its records, in order, each with its 1-based line number.
    pub records: Vec<(usize, TraceRecord)>,
}

/// What replaying a trace did.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    /// Every action, with the record time (ns since the start) it came at.
    pub actions: Vec<(u64, Action)>,
    /// The publications, in order.
    pub publications: Vec<Change>,
    /// The Reconciler's counters at the end.
    pub stats: Stats,
    /// The published state at the end.
    pub state: Option<Arc<Snapshot>>,
}

impl Trace {
    /// Reads and parses the trace at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TraceError> {
        let text = std::fs::read_to_string(path).map_err(TraceError::Io)?;
        Trace::parse(&text)
    }

    /// Parses a trace from its text.
    pub fn parse(text: &str) -> Result<Self, TraceError> {
        let (header, records) = TraceReader::read_str(text).map_err(TraceError::Read)?;
        Ok(Trace { header, records })
    }

    /// The trace a simulation recorded.
    #[must_use]
    pub fn from_sim<C: Core>(sim: &Sim<C>) -> Self {
        Trace {
            header: TraceHeader::new(sim.config()),
            records: sim
                .trace()
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, r)| (i + 2, r))
                .collect(),
        }
    }

    /// The trace as JSON lines, header first.
    pub fn to_jsonl(&self) -> Result<String, serde_json::Error> {
        let mut out = serde_json::to_string(&self.header)?;
        out.push('\n');
        for (_, r) in &self.records {
            out.push_str(&serde_json::to_string(r)?);
            out.push('\n');
        }
        Ok(out)
    }

    /// How long the trace lasts.
    #[must_use]
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.records.last().map_or(0, |(_, r)| r.at_ns))
    }

    /// Replays the trace through a fresh Reconciler.
    pub fn replay(&self) -> Result<Replay, TraceError> {
        let mut replayer = Replayer::new(&self.header, Instant::now())
            .map_err(|error| TraceError::Replay { line: 1, error })?;
        let mut out = Replay::default();
        for (line, r) in &self.records {
            let at = r.at_ns;
            let actions = replayer
                .apply(r.clone())
                .map_err(|error| TraceError::Replay { line: *line, error })?;
            for a in actions {
                if let Action::Publish(c) = &a {
                    out.publications.push(c.clone());
                }
                out.actions.push((at, a));
            }
        }
        out.stats = replayer.reconciler().stats();
        out.state = replayer.reconciler().state().cloned();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_line() {
        let header = serde_json::to_string(&TraceHeader::new(&Default::default())).unwrap();
        let text =
            format!("{header}\n\n{{\"at_ns\":5,\"timeout\":null}}\n{{\"at_ns\":6,\"bogus\":1}}\n");
        match Trace::parse(&text) {
            Err(TraceError::Read(e)) => assert_eq!(e.line(), 4),
            other => panic!("expected a parse error on line 4, got {other:?}"),
        }
        assert!(matches!(
            Trace::parse("\n\n"),
            Err(TraceError::Read(TraceReadError::Empty))
        ));
        match Trace::parse("{nope") {
            Err(e @ TraceError::Read(_)) => {
                assert!(
                    e.to_string().starts_with("line 1: not a trace header"),
                    "{e}"
                )
            }
            other => panic!("{other:?}"),
        }
        let text = format!(
            "{header}\n{{\"at_ns\":9,\"timeout\":null}}\n{{\"at_ns\":5,\"timeout\":null}}\n"
        );
        let trace = Trace::parse(&text).unwrap();
        match trace.replay() {
            Err(TraceError::Replay {
                line: 3,
                error: ReplayError::TimeWentBackwards { .. },
            }) => {}
            other => panic!("{other:?}"),
        }
    }
}
