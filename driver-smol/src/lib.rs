//! # netstate-smol
//!
//! A network monitor for smol and other `async-io` applications: the
//! current interfaces, addresses and default routes, and every change,
//! exactly once.
//!
//! ## What it does not do
//!
//! It does not decide anything itself (that is `netstate-core`'s
//! `Reconciler`) and does not talk to the kernel itself (that is
//! `netstate-sys`). It spawns no task on your executor and needs none: it
//! depends on neither smol nor tokio, only on `async-io`, `async-channel`
//! and `futures-lite`, so it works under smol, `async-std`, a bare
//! `block_on`, or any other executor.
//!
//! ## The run loop
//!
//! [`Monitor::new`] starts one dedicated thread (named `netstate-smol`)
//! that runs the loop with `async_io::block_on`: wait for the first of a
//! wake-up request, the route socket's readiness (`Async<OwnedFd>` over a
//! duplicate of its descriptor, re-taken whenever the socket is replaced)
//! and the Reconciler's next deadline (`async_io::Timer::at`); then wake the
//! engine, which drains the socket until it would block, runs the timers
//! and publishes. A thread rather than a future you spawn, because an
//! enumeration is a short blocking netlink dump that must not stall your
//! executor, and because a thread can be joined: dropping the [`Monitor`]
//! closes the wake-up channel (which interrupts the wait), then joins the
//! thread, so its sockets are closed when `drop` returns;
//! [`Monitor::shutdown`] does the same and awaits the end without blocking
//! the executor. [`Monitor::check_now`] and [`Monitor::wake`] send on the
//! same channel, so they too interrupt the wait at once.
//!
//! ```no_run
//! # fn demo() -> Result<(), netstate_smol::Error> {
//! futures_lite::future::block_on(async {
//!     let monitor = netstate_smol::Monitor::new(netstate_core::Config::default()).await?;
//!     println!("have IPv4: {}", monitor.state().have_v4());
//!     let mut changes = monitor.subscribe();
//!     while let Some(change) = changes.recv().await {
//!         println!("#{} {:?} major={}", change.seq, change.cause, change.is_major());
//!     }
//!     Ok(())
//! })
//! # }
//! ```
//!
//! ## Subscribers
//!
//! [`Monitor::subscribe`] gives a [`Subscriber`]: its own bounded queue that
//! the monitor never waits on, awaited with `recv().await` in any executor
//! (or `recv_blocking` on a thread). A subscriber that falls behind gets the
//! changes it missed merged into one exact change ending on the latest
//! state (see `netstate_core::fanout`), the same semantics as every other
//! netstate driver.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod error;
mod monitor;
mod run_loop;

pub use error::Error;
pub use monitor::{Builder, Monitor};
pub use netstate_core::fanout::{Subscriber, TryRecvError};
pub use netstate_sys::MonitorStats;

#[cfg(test)]
mod tests {
    #[test]
    fn the_handle_can_move_between_threads_and_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Monitor>();
        send_sync::<crate::Error>();
    }
}
