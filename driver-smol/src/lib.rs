//! # netstate-smol
//!
//! A network monitor for smol and other `async-io` applications: the
//! current interfaces, addresses and default routes, and every change,
//! exactly once.
//!
//! ## What it does not do
//!
//! It decides nothing (that is `netstate-core`'s `Reconciler`), talks to no
//! kernel (that is `netstate-sys`'s `Engine`), and starts no thread: the
//! monitor is a task you spawn on your executor. It depends on neither smol
//! nor tokio, only on `async-io` and `async-channel`, so it runs under smol,
//! `async-std`, a bare `block_on`, or any other executor. Nothing in the
//! task blocks: enumeration is a non-blocking conversation read in small
//! steps.
//!
//! ```no_run
//! # fn demo() -> Result<(), netstate_smol::Error> {
//! let ex = async_executor::Executor::new();
//! futures_lite::future::block_on(ex.run(async {
//!     let monitor =
//!         netstate_smol::Monitor::new(netstate_core::Config::default(), |task| ex.spawn(task).detach())
//!             .await?;
//!     let (state, mut changes) = monitor.subscribe();
//!     println!("have IPv4: {}", state.have_v4());
//!     while let Some(change) = changes.recv().await {
//!         println!("#{} {:?}", change.seq, change.cause);
//!     }
//!     Ok(())
//! }))
//! # }
//! ```
//!
//! The subscriber is also a `futures_core::Stream`; `monitor.check_now()`
//! is a future of the check's answer (the change, or
//! [`CheckOutcome::Unchanged`]). Applications usually reach this crate as
//! `netstate::smol` (the `netstate` crate, feature `smol`).
//!
//! Dropping the [`Monitor`] stops its task at its next turn (which the drop
//! causes); [`Monitor::shutdown`] also waits until the task has ended and
//! its sockets are closed.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_channel::{Receiver, Sender};
use async_io::{Async, Timer};
use futures_lite::FutureExt;
use netstate_core::Config;
use netstate_sys::{sleep_clock, Engine, Handle};

pub use netstate_sys::fanout::{Subscriber, TryRecvError};
/// Why a monitor could not start (shared by every netstate driver).
pub use netstate_sys::StartError as Error;
pub use netstate_sys::{Check, CheckError, CheckOutcome, CheckResult, MonitorStats};

/// Options beyond the configuration (another backend, a recorder): pass
/// it to [`Monitor::build`] or [`Monitor::start`].
pub use netstate_sys::MonitorBuilder as Builder;

/// The monitor's loop, to spawn on any executor. It ends when the monitor
/// is dropped or shut down, or if its first enumeration fails.
pub struct MonitorTask(Pin<Box<dyn Future<Output = ()> + Send>>);

impl fmt::Debug for MonitorTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MonitorTask")
    }
}

impl Future for MonitorTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// A running network monitor. Cheap to query from any thread or task;
/// dropping it stops its task.
#[derive(Debug)]
pub struct Monitor {
    handle: Handle,
    /// The start's outcome, sent once by the task.
    status: Receiver<Result<(), Error>>,
    /// Closed when the task has ended and released its sockets.
    ended: Receiver<()>,
}

impl Monitor {
    /// Starts a monitor of this host's network (the caller's network
    /// namespace) whose task `spawn` spawns; returns once the first state
    /// is known.
    pub async fn new(config: Config, spawn: impl FnOnce(MonitorTask)) -> Result<Monitor, Error> {
        Monitor::start(Monitor::builder(config), spawn).await
    }

    /// A builder for other backends or a recorder.
    #[must_use]
    pub fn builder(config: Config) -> Builder {
        Builder::new(config)
    }

    /// Opens the sockets and gives the monitor and the task that runs it:
    /// spawn the task, then await [`Monitor::ready`].
    pub fn build(builder: Builder) -> Result<(Monitor, MonitorTask), Error> {
        let engine = builder.build_engine()?;
        let (status_tx, status) = async_channel::bounded(1);
        let (ended_tx, ended) = async_channel::bounded(1);
        let monitor = Monitor {
            handle: engine.handle().clone(),
            status,
            ended,
        };
        let task = MonitorTask(Box::pin(run(engine, status_tx, ended_tx)));
        Ok((monitor, task))
    }

    /// Builds the monitor, hands its task to `spawn`, and returns once the
    /// first state is known.
    pub async fn start(
        builder: Builder,
        spawn: impl FnOnce(MonitorTask),
    ) -> Result<Monitor, Error> {
        let (monitor, task) = Monitor::build(builder)?;
        spawn(task);
        monitor.ready().await?;
        Ok(monitor)
    }

    /// Waits until the first state is known (the task must be running).
    pub async fn ready(&self) -> Result<(), Error> {
        match self.status.recv().await {
            Ok(result) => result,
            // Already reported, or the task ended: which one the state says.
            Err(_) if self.handle.stats().core.publications > 0 => Ok(()),
            Err(_) => Err(Error::Stopped),
        }
    }

    /// Stops the monitor and waits until its task has ended and its sockets
    /// are closed. Subscribers then receive `None` once drained.
    pub async fn shutdown(self) {
        self.handle.stop();
        while self.ended.recv().await.is_ok() {}
    }
}

/// The runtime-independent [`Handle`]: `state()`, `subscribe()` (the
/// state and a subscriber, together), `check_now()`, `stats()`.
impl std::ops::Deref for Monitor {
    type Target = Handle;

    fn deref(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.handle.stop();
        self.handle.close();
    }
}

/// The loop: wait for readiness or the deadline, wake the engine; report
/// the start once the first state is known (or the first read failed).
async fn run(mut engine: Engine, status: Sender<Result<(), Error>>, _ended: Sender<()>) {
    let fd = match engine
        .readiness_fd()
        .try_clone_to_owned()
        .and_then(Async::<OwnedFd>::new)
    {
        Ok(fd) => fd,
        Err(e) => {
            let _ = status.try_send(Err(Error::Open(e)));
            return;
        }
    };
    let mut reported = false;
    let mut more_queued = false;
    while !engine.stopping() {
        if more_queued {
            // Work is left that needs no readiness: let other tasks run.
            futures_lite::future::yield_now().await;
        } else {
            let deadline = engine.poll_timeout();
            let readable = async {
                let _ = fd.readable().await;
            };
            let timer = async {
                match deadline {
                    Some(at) => {
                        Timer::at(at).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            readable.or(timer).await;
        }
        more_queued = engine.wake(Instant::now(), sleep_clock()).more_queued;
        if !reported {
            if let Some(result) = engine.start_result() {
                reported = true;
                let failed = result.is_err();
                let _ = status.try_send(result);
                if failed {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_handle_can_move_between_threads_and_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Monitor>();
        send_sync::<crate::Error>();
        fn send<T: Send>() {}
        send::<crate::MonitorTask>();
    }
}
