//! The Reconciler's named timers: one slot per kind, the deadline is their
//! minimum (no heap: there are six of them).

use std::time::Instant;

/// The kinds of deadline a [`Reconciler`](crate::Reconciler) keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// The route socket has been quiet for the debounce: enumerate.
    Debounce,
    /// A burst of hints reached its maximum wait: enumerate now.
    MaxWait,
    /// The periodic reconcile is due.
    Reconcile,
    /// Retry a failed enumeration.
    Retry,
    /// Ask the driver to rebind the route socket.
    Rebind,
    /// The enumeration in flight took too long: count it as failed.
    EnumerationTimeout,
}

impl Timer {
    const ALL: [Timer; 6] = [
        Timer::Debounce,
        Timer::MaxWait,
        Timer::Reconcile,
        Timer::Retry,
        Timer::Rebind,
        Timer::EnumerationTimeout,
    ];

    const fn slot(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; 6],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer.slot()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.slots[timer.slot()] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer.slot()]
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// The earliest deadline and its timer.
    pub(crate) fn next(&self) -> Option<(Instant, Timer)> {
        Timer::ALL
            .iter()
            .filter_map(|t| self.get(*t).map(|at| (at, *t)))
            .min_by_key(|(at, _)| *at)
    }

    /// Removes and returns one timer that expired at `now`, earliest first.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let (at, timer) = self.next()?;
        if at <= now {
            self.stop(timer);
            Some(timer)
        } else {
            None
        }
    }
}
