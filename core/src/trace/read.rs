//! [`TraceReader`]: the one reader of a trace's JSON lines (feature
//! `trace-json`), used by the command's `replay` and the testkit's `Trace`.
//!
//! Sans-IO like the rest of core: the caller reads lines (a file, a string,
//! with whatever limit on a line's length it wants) and hands each to
//! [`TraceReader::read_line`] in order; the reader numbers them, skips blank
//! ones, takes the first other line as the [`TraceHeader`] and every later
//! one as a [`TraceRecord`], and names the 1-based line of anything it
//! refuses.

use core::fmt;

use super::{TraceHeader, TraceRecord};

/// One line of a trace, read.
// A record carries an input (a whole snapshot, at times); boxing it would
// cost an allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceLine {
    /// The first line that is not blank.
    Header(TraceHeader),
    /// A later line that is not blank.
    Record(TraceRecord),
}

/// Why a trace's text could not be read. Its text does not name the line:
/// a caller puts [`line`](TraceReadError::line) where it fits (after a file
/// name, say).
#[derive(Debug)]
#[non_exhaustive]
pub enum TraceReadError {
    /// The text ended before a header line ([`TraceReader::finish`]).
    Empty,
    /// A line is not JSON of the expected shape.
    Parse {
        /// The 1-based line number.
        line: usize,
        /// What the line should have been: `"a trace header"` or
        /// `"a trace record"`.
        expected: &'static str,
        /// What the JSON reader said.
        error: serde_json::Error,
    },
}

impl TraceReadError {
    /// The 1-based line the error is about (for [`TraceReadError::Empty`],
    /// line 1, where the header should have been).
    #[must_use]
    pub fn line(&self) -> usize {
        match self {
            TraceReadError::Empty => 1,
            TraceReadError::Parse { line, .. } => *line,
        }
    }
}

impl fmt::Display for TraceReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceReadError::Empty => f.write_str("the trace is empty (no header line)"),
            TraceReadError::Parse {
                expected, error, ..
            } => write!(f, "not {expected}: {error}"),
        }
    }
}

impl std::error::Error for TraceReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceReadError::Empty => None,
            TraceReadError::Parse { error, .. } => Some(error),
        }
    }
}

/// Reads a trace one line at a time (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct TraceReader {
    /// Lines read so far (the number of the last one).
    lines: usize,
    header_read: bool,
}

impl TraceReader {
    /// A reader before the trace's first line.
    #[must_use]
    pub fn new() -> Self {
        TraceReader::default()
    }

    /// Reads the next line, without its line ending. A blank line (only
    /// white space) reads as `None`; the first other line must be a
    /// [`TraceHeader`] and every later one a [`TraceRecord`].
    ///
    /// A refused line still counts: the next line keeps its own number.
    pub fn read_line(&mut self, text: &str) -> Result<Option<TraceLine>, TraceReadError> {
        self.lines += 1;
        if text.trim().is_empty() {
            return Ok(None);
        }
        let line = self.lines;
        if self.header_read {
            let record = serde_json::from_str(text).map_err(|error| TraceReadError::Parse {
                line,
                expected: "a trace record",
                error,
            })?;
            return Ok(Some(TraceLine::Record(record)));
        }
        let header = serde_json::from_str(text).map_err(|error| TraceReadError::Parse {
            line,
            expected: "a trace header",
            error,
        })?;
        self.header_read = true;
        Ok(Some(TraceLine::Header(header)))
    }

    /// The 1-based number of the last line given to
    /// [`read_line`](Self::read_line) (0 before the first).
    #[must_use]
    pub fn line_number(&self) -> usize {
        self.lines
    }

    /// Ends the trace: [`TraceReadError::Empty`] if no header was read.
    /// A trace of a header alone is a trace (of a monitor that never ran).
    pub fn finish(&self) -> Result<(), TraceReadError> {
        if self.header_read {
            Ok(())
        } else {
            Err(TraceReadError::Empty)
        }
    }

    /// Reads a whole trace: its header, and its records each with its
    /// 1-based line number.
    pub fn read_str(
        text: &str,
    ) -> Result<(TraceHeader, Vec<(usize, TraceRecord)>), TraceReadError> {
        let mut reader = TraceReader::new();
        let mut header = None;
        let mut records = Vec::new();
        for line in text.lines() {
            match reader.read_line(line)? {
                Some(TraceLine::Header(h)) => header = Some(h),
                Some(TraceLine::Record(r)) => records.push((reader.line_number(), r)),
                None => {}
            }
        }
        match header {
            Some(h) => Ok((h, records)),
            None => Err(TraceReadError::Empty),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::trace::TraceEvent;
    use crate::Config;

    fn header_json() -> String {
        serde_json::to_string(&TraceHeader::for_engine(&Config::default())).unwrap()
    }

    fn record_json(at_ns: u64) -> String {
        let start = Instant::now();
        let record = TraceRecord::new(
            start,
            start + std::time::Duration::from_nanos(at_ns),
            TraceEvent::Timeout,
        );
        serde_json::to_string(&record).unwrap()
    }

    #[test]
    fn blank_lines_are_skipped_and_numbered() {
        let text = format!(
            "\n  \n{}\n{}\n\t\n{}\n",
            header_json(),
            record_json(5),
            record_json(9)
        );
        let (header, records) = TraceReader::read_str(&text).unwrap();
        assert_eq!(header, TraceHeader::for_engine(&Config::default()));
        let at: Vec<(usize, u64)> = records.iter().map(|(n, r)| (*n, r.at_ns)).collect();
        assert_eq!(at, [(4, 5), (6, 9)]);
    }

    #[test]
    fn the_first_line_must_be_a_header_and_the_rest_records() {
        let e = TraceReader::read_str(&record_json(1)).unwrap_err();
        assert!(
            matches!(
                e,
                TraceReadError::Parse {
                    line: 1,
                    expected: "a trace header",
                    ..
                }
            ),
            "{e:?}"
        );
        let text = format!("{}\n\n{}\n", header_json(), header_json());
        let e = TraceReader::read_str(&text).unwrap_err();
        assert_eq!(e.line(), 3);
        assert!(e.to_string().starts_with("not a trace record: "), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn a_refused_line_still_counts() {
        let mut r = TraceReader::new();
        assert!(r.read_line(&header_json()).unwrap().is_some());
        assert!(r.read_line("{").is_err());
        assert_eq!(r.line_number(), 2);
        match r.read_line(&record_json(3)).unwrap() {
            Some(TraceLine::Record(rec)) => assert_eq!(rec.at_ns, 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.line_number(), 3);
        r.finish().unwrap();
    }

    #[test]
    fn text_without_a_header_is_empty() {
        for text in ["", "\n \n"] {
            let e = TraceReader::read_str(text).unwrap_err();
            assert!(matches!(e, TraceReadError::Empty), "{e:?}");
            assert_eq!(e.line(), 1);
            assert_eq!(e.to_string(), "the trace is empty (no header line)");
            assert!(std::error::Error::source(&e).is_none());
        }
        let mut r = TraceReader::new();
        assert!(r.read_line("   ").unwrap().is_none());
        assert!(matches!(r.finish(), Err(TraceReadError::Empty)));
        let (header, records) = TraceReader::read_str(&header_json()).unwrap();
        assert_eq!(header.netstate_trace, crate::trace::TRACE_VERSION);
        assert!(records.is_empty());
    }
}
