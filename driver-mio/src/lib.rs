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
//! it runs only inside the calls your loop makes. It never needs to be
//! re-registered: when the route socket is replaced it moves its own
//! registration (see [`MonitorSource`]).
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
//! * [`ThreadMonitor`] is that loop on a background thread with its own
//!   `Poll` and a `mio::Waker` for [`ThreadMonitor::check_now`] and stopping;
//!   it hands changes to subscribers (a channel per consumer) and, if given,
//!   a callback. Dropping it wakes and joins the thread.
//!
//! ```no_run
//! # fn demo() -> Result<(), netstate_mio::Error> {
//! let monitor = netstate_mio::ThreadMonitor::new(netstate_core::Config::default())?;
//! println!("have IPv4: {}", monitor.state().have_v4());
//! let mut changes = monitor.subscribe();
//! while let Some(change) = changes.recv_blocking() {
//!     println!("#{} {:?} major={}", change.seq, change.cause, change.is_major());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Subscribers
//!
//! Subscribers are `netstate_core::fanout` queues, the same in every
//! netstate driver: the monitor never waits for one, and one that falls
//! behind gets the changes it missed merged into one exact change ending on
//! the latest state.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod error;
mod source;
mod thread;
mod watch;

pub use error::Error;
pub use netstate_core::fanout::{Subscriber, TryRecvError};
pub use netstate_sys::MonitorStats;
pub use source::{Builder, MonitorSource};
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
