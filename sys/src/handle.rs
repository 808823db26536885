//! [`Handle`]: what every driver's monitor offers its users, once: the
//! current state, a race-free subscription, a forced check, the counters.
//!
//! The engine's loop publishes through [`Shared`]; a handle reads it and
//! wakes the loop through the engine's notifier, whatever runtime drives
//! it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::fanout::{Fanout, Subscriber};
use netstate_core::{Change, Snapshot, Stats};

use crate::check::{check, Check, Completer};
use crate::readiness::Notifier;

/// Counters of the engine, with the Reconciler's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MonitorStats {
    /// The Reconciler's counters.
    pub core: Stats,
    /// Datagrams read from the route socket.
    pub datagrams: u64,
    /// Datagrams dropped because the kernel did not send them.
    pub foreign_datagrams: u64,
    /// Messages that could not be parsed (each also counts as a hint).
    pub malformed: u64,
    /// Times the route socket was opened again.
    pub rebinds_done: u64,
    /// Wake-ups of the engine.
    pub wakeups: u64,
    /// Datagrams read during the last wake-up.
    pub last_wake_datagrams: u64,
    /// The most datagrams read during one wake-up.
    pub max_wake_datagrams: u64,
    /// Enumeration attempts the kernel interrupted (the table changed while
    /// it was read), each read again at once.
    pub interrupted_dumps: u64,
    /// Records an enumeration skipped because they could not be used.
    pub skipped_records: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Forced checks asked for and not yet fed to the Reconciler.
#[derive(Debug, Default)]
struct Forced {
    asked: bool,
    checks: Vec<Completer>,
    /// The loop ended: a check can no longer be answered.
    closed: bool,
}

/// What a monitor's loop shares with its handles.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The last published state. Publishing and subscribing both hold this
    /// lock, so a subscriber gets exactly the changes after its state.
    state: Mutex<Arc<Snapshot>>,
    stats: Mutex<MonitorStats>,
    fanout: Fanout,
    /// The checks asked for since the loop last took them.
    force: Mutex<Forced>,
    stop: AtomicBool,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Shared {
            state: Mutex::new(Arc::new(Snapshot::empty())),
            stats: Mutex::new(MonitorStats::default()),
            fanout: Fanout::default(),
            force: Mutex::new(Forced::default()),
            stop: AtomicBool::new(false),
        }
    }

    pub(crate) fn publish(&self, change: &Change) {
        let mut state = lock(&self.state);
        *state = change.new.clone();
        self.fanout.publish(change);
        drop(state);
        crate::log::published(change);
    }

    pub(crate) fn store_stats(&self, stats: MonitorStats) {
        *lock(&self.stats) = stats;
    }

    /// Takes the forced checks asked for by handles since the last call:
    /// `None` if none was.
    pub(crate) fn take_force(&self) -> Option<Vec<Completer>> {
        let mut f = lock(&self.force);
        std::mem::take(&mut f.asked).then(|| std::mem::take(&mut f.checks))
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub(crate) fn close(&self) {
        self.fanout.close();
        // Dropped unanswered, the checks answer `Stopped`.
        let checks = {
            let mut f = lock(&self.force);
            f.closed = true;
            std::mem::take(&mut f.checks)
        };
        drop(checks);
    }
}

/// A handle on a running monitor: cheap to clone, usable from any thread
/// or task. Every driver's monitor is one of these plus its loop.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
    notifier: Arc<Notifier>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>, notifier: Arc<Notifier>) -> Self {
        Handle { shared, notifier }
    }

    /// The last published state (empty before the first publication).
    #[must_use]
    pub fn state(&self) -> Arc<Snapshot> {
        lock(&self.shared.state).clone()
    }

    /// The current state and a subscriber to every change published after
    /// it, taken together: no change can fall between the two.
    #[must_use]
    pub fn subscribe(&self) -> (Arc<Snapshot>, Subscriber) {
        let state = lock(&self.shared.state);
        let subscriber = self.shared.fanout.subscribe();
        (state.clone(), subscriber)
    }

    /// Asks the monitor to read the state now (without debounce); a change,
    /// if there is one, is published with cause `forced`. The returned
    /// [`Check`] answers with that change or "unchanged" once the state
    /// read after this call is known: `.await` it, [`Check::wait`] for it,
    /// or drop it (the check runs anyway).
    pub fn check_now(&self) -> Check {
        let (check, completer) = check();
        let mut f = lock(&self.shared.force);
        if f.closed || self.shared.stopping() {
            drop(f);
            // Dropped unanswered, it answers `Stopped`.
            drop(completer);
            return check;
        }
        f.asked = true;
        f.checks.push(completer);
        drop(f);
        self.wake();
        check
    }

    /// The monitor's counters as of its last wake-up.
    #[must_use]
    pub fn stats(&self) -> MonitorStats {
        *lock(&self.shared.stats)
    }

    /// Asks the monitor's loop to stop: it ends at its next wake-up, which
    /// this causes, and closes the subscribers. Dropping a driver's monitor
    /// does this.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Wakes the loop (it then reads whatever is pending).
    pub(crate) fn wake(&self) {
        // Fails only if the wake-up is broken, and then so is the loop.
        let _ = self.notifier.notify();
    }

    /// Closes every subscriber: each drains its queue, then ends. Drivers
    /// call it when their loop stops.
    pub fn close(&self) {
        self.shared.close();
    }
}
