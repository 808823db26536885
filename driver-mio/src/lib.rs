//! # netstate-mio
//!
//! A network monitor for programs built on mio, and for programs with no
//! async runtime at all: the current interfaces, addresses and default
//! routes, and every change, exactly once.
//!
//! ## What it does not do
//!
//! It does not decide anything itself (that is `netstate-core`'s
//! `Reconciler`) and does not talk to the kernel itself (that is
//! `netstate-sys`). [`MonitorSource`] starts no thread and owns no `Poll`:
//! it runs only inside the calls your loop makes, and it is one descriptor
//! for its whole life (register it once).
//!
//! ## The run loop
//!
//! Two ways to run it:
//!
//! * [`MonitorSource`] implements [`mio::event::Source`]: register it in
//!   your `Poll`, pass [`MonitorSource::timeout_from`] as the poll timeout,
//!   call [`MonitorSource::handle_ready`] on its events and
//!   [`MonitorSource::handle_timeout`] after every poll, then take
//!   [`MonitorSource::next_change`] until `None`. Each wake-up drains the
//!   route socket until it would block, because mio's readiness is
//!   edge-triggered.
//! * [`ThreadMonitor`] is the loop on a plain background thread waiting on
//!   the engine's own poller (no mio needed there); it hands changes to
//!   subscribers (a queue per consumer) and, if given, a callback. Dropping
//!   it wakes and joins the thread.
//!
//! ```no_run
//! # fn demo() -> Result<(), netstate_mio::Error> {
//! let monitor = netstate_mio::ThreadMonitor::new(netstate_core::Config::default())?;
//! let (state, mut changes) = monitor.subscribe();
//! println!("have IPv4: {}", state.have_v4());
//! while let Some(change) = changes.recv_blocking() {
//!     println!("#{} {:?} major={}", change.seq, change.cause, change.is_major());
//! }
//! # Ok(()) }
//! ```
//!
//! `check_now()` returns a [`Check`]: `wait()` for its answer on another
//! thread, or `try_result()` in the loop that drives a [`MonitorSource`].
//! Applications usually reach this crate as `netstate::mio` (the
//! `netstate` crate, feature `mio`).
//!
//! ## Subscribers
//!
//! Subscribers are `netstate_sys::fanout` queues, the same in every
//! netstate driver: the monitor never waits for one, and one that falls
//! behind gets the changes it missed merged into one exact change ending on
//! the latest state.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod source;
mod thread;

pub use netstate_sys::fanout::{Subscriber, TryRecvError};
pub use netstate_sys::MonitorBuilder as Builder;
/// Why a monitor could not start (shared by every netstate driver).
pub use netstate_sys::StartError as Error;
pub use netstate_sys::{Check, CheckError, CheckOutcome, CheckResult, MonitorStats};
pub use source::MonitorSource;
pub use thread::{OnChange, ThreadBuilder, ThreadMonitor};

#[cfg(test)]
mod tests {
    #[test]
    fn the_monitors_can_move_between_threads() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send::<crate::MonitorSource>();
        send_sync::<crate::ThreadMonitor>();
        send_sync::<crate::Error>();
    }
}
