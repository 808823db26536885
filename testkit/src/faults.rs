//! Fault-injecting wrappers around a real [`Backend`], the way smoltcp's
//! `FaultInjector` wraps a device: the production backend has no test
//! switches; a test wraps it and turns the faults on from outside.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use netstate_core::Snapshot;
use netstate_sys::{Backend, EnumerateFailure, EnumerationCounters, EventSource};

/// The switches of an [`InterruptingBackend`], shared with the test.
#[derive(Debug, Default)]
pub struct InterruptSwitch {
    next: AtomicU32,
    done: AtomicU32,
}

impl InterruptSwitch {
    /// Makes the next `n` enumerations answer
    /// [`EnumerateFailure::Interrupted`] (the table changed under every
    /// attempt), as a busy kernel table does, without reading anything.
    pub fn interrupt_next(&self, n: u32) {
        self.next.store(n, Ordering::SeqCst);
    }

    /// How many enumerations it has interrupted so far.
    #[must_use]
    pub fn interrupted(&self) -> u32 {
        self.done.load(Ordering::SeqCst)
    }
}

/// A [`Backend`] that passes everything to the one it wraps, except the
/// enumerations its [`InterruptSwitch`] says to interrupt.
pub struct InterruptingBackend {
    inner: Box<dyn Backend>,
    switch: Arc<InterruptSwitch>,
}

impl InterruptingBackend {
    /// Wraps `inner`; the returned switch turns the fault on.
    #[must_use]
    pub fn new(inner: Box<dyn Backend>) -> (Self, Arc<InterruptSwitch>) {
        let switch = Arc::new(InterruptSwitch::default());
        (
            InterruptingBackend {
                inner,
                switch: switch.clone(),
            },
            switch,
        )
    }
}

impl Backend for InterruptingBackend {
    fn open_source(&mut self) -> std::io::Result<Box<dyn EventSource>> {
        self.inner.open_source()
    }

    fn enumerate(&mut self) -> Result<Snapshot, EnumerateFailure> {
        let take = self
            .switch
            .next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if take.is_ok() {
            self.switch.done.fetch_add(1, Ordering::SeqCst);
            return Err(EnumerateFailure::Interrupted);
        }
        self.inner.enumerate()
    }

    fn counters(&self) -> EnumerationCounters {
        self.inner.counters()
    }
}
