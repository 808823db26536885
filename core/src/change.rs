//! [`Change`]: one publication, and its [`Cause`].

use std::sync::Arc;

use crate::diff::Delta;
use crate::snapshot::Snapshot;

/// Why the enumeration that found a change ran.
///
/// When reasons merge (several for one enumeration in the Reconciler, two
/// queued changes for a slow subscriber), the result is
/// [`Cause::strongest`]; the declaration order means nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Cause {
    /// The first state: the monitor just started.
    Initial,
    /// A periodic reconcile, or a resync after the route socket was rebound:
    /// the operating system's events missed this change.
    Reconcile,
    /// A route-socket event announced it.
    Event,
    /// The application asked for a check.
    Forced,
    /// The route socket overflowed, so events were lost: an immediate resync.
    Overflow,
    /// The host slept (a clock that counts suspended time jumped ahead): the
    /// state is published even when it did not change.
    TimeJump,
}

impl Cause {
    /// The cause that stands for both when two merge: the one that tells a
    /// subscriber more about what it must redo. From strongest:
    /// [`Initial`](Cause::Initial) (there was no state before),
    /// [`TimeJump`](Cause::TimeJump) (the host slept: re-announce
    /// everything, even with no difference), [`Overflow`](Cause::Overflow)
    /// (events were lost), [`Forced`](Cause::Forced),
    /// [`Event`](Cause::Event), [`Reconcile`](Cause::Reconcile). So a sleep
    /// merged with a later event is still a sleep, and a major change.
    #[must_use]
    pub const fn strongest(self, other: Cause) -> Cause {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The precedence of [`Cause::strongest`], highest first.
    const fn rank(self) -> u8 {
        match self {
            Cause::Initial => 5,
            Cause::TimeJump => 4,
            Cause::Overflow => 3,
            Cause::Forced => 2,
            Cause::Event => 1,
            Cause::Reconcile => 0,
        }
    }

    /// The name used in the command's JSON (`initial`, `event`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Cause::Initial => "initial",
            Cause::Reconcile => "reconcile",
            Cause::Event => "event",
            Cause::Forced => "forced",
            Cause::Overflow => "overflow",
            Cause::TimeJump => "time_jump",
        }
    }
}

/// One published change: the state before and after, and what differs.
///
/// `seq` counts publications from 1; the first change has cause
/// [`Cause::Initial`], an empty `old` and every interface in `delta.added`.
///
/// It is `#[non_exhaustive]` (fields may be added): build one with
/// [`Change::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The publication's number, from 1, without gaps.
    pub seq: u64,
    /// Why the enumeration that found it ran.
    pub cause: Cause,
    /// The state before (empty for the first change).
    pub old: Arc<Snapshot>,
    /// The state after.
    pub new: Arc<Snapshot>,
    /// What differs from `old` to `new`.
    pub delta: Delta,
}

impl Change {
    /// The change from `old` to `new`, publication number `seq`, with
    /// its delta computed (`Snapshot::diff`).
    #[must_use]
    pub fn new(seq: u64, cause: Cause, old: Arc<Snapshot>, new: Arc<Snapshot>) -> Self {
        let delta = Snapshot::diff(&old, &new);
        Change {
            seq,
            cause,
            old,
            new,
            delta,
        }
    }

    /// Whether an application should act on it: the first state, a wake from
    /// sleep, or a delta that is major ([`Delta::is_major`]). A change only to
    /// link-local addresses or to flags that do not affect reachability is
    /// minor.
    #[must_use]
    pub fn is_major(&self) -> bool {
        matches!(self.cause, Cause::Initial | Cause::TimeJump) || self.delta.is_major()
    }
}
