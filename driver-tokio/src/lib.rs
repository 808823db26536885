//! # netstate-tokio
//!
//! A network monitor for tokio applications: the current interfaces,
//! addresses and default routes, and a stream of every change, exactly once.
//!
//! ## What it does not do
//!
//! It decides nothing (that is `netstate-core`'s `Reconciler`) and talks to
//! no kernel (that is `netstate-sys`'s `Engine`). It is the loop between
//! them on a tokio task: wait until the engine's one readiness descriptor
//! is readable or its next deadline passes, then wake the engine. Nothing
//! on the task blocks: enumeration is a non-blocking conversation read in
//! small steps, so a `current_thread` runtime keeps running its other
//! tasks while thousands of interfaces are read.
//!
//! ```no_run
//! # async fn demo() -> Result<(), netstate_tokio::Error> {
//! let monitor = netstate_tokio::Monitor::new(netstate_core::Config::default()).await?;
//! // The state and a subscriber to every change after it, in one call.
//! let (state, mut changes) = monitor.subscribe();
//! println!("have IPv4: {}", state.have_v4());
//! while let Some(change) = changes.recv().await {
//!     println!("#{} {:?} major={}", change.seq, change.cause, change.is_major());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Subscribers and checks
//!
//! `Monitor::subscribe` (from its [`Handle`]) gives the current state and a [`Subscriber`]:
//! its own bounded queue that the monitor never waits on, also a
//! `futures_core::Stream`. A subscriber that
//! falls behind gets the changes it missed merged into one exact change
//! ending on the latest state (see `netstate_sys::fanout`).
//! `monitor.check_now().await` reads the state at once and answers with the
//! change it published or [`CheckOutcome::Unchanged`].
//!
//! Applications usually reach this crate as `netstate::tokio` (the
//! `netstate` crate, feature `tokio`).
//!
//! Dropping the [`Monitor`] stops its task, which closes its sockets;
//! [`Monitor::shutdown`] also waits for that to have happened.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

use std::os::fd::OwnedFd;
use std::time::Instant;

use netstate_core::Config;
use netstate_sys::{sleep_clock, Engine, Handle};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use netstate_sys::fanout::{Subscriber, TryRecvError};
pub use netstate_sys::{Check, CheckError, CheckOutcome, CheckResult, MonitorStats};

/// Why a monitor could not start (shared by every netstate driver).
pub use netstate_sys::StartError as Error;

/// Options beyond the configuration (another backend, a recorder): pass
/// it to [`Monitor::start`] or [`Monitor::start_subscribed`].
pub use netstate_sys::MonitorBuilder as Builder;

/// A running network monitor. Cheap to query from any task; dropping it
/// stops the monitor.
#[derive(Debug)]
pub struct Monitor {
    handle: Handle,
    task: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts a monitor of this host's network (the caller's network
    /// namespace); returns once the first state is known.
    pub async fn new(config: Config) -> Result<Monitor, Error> {
        Monitor::start(Monitor::builder(config)).await
    }

    /// A builder for other backends or a recorder.
    #[must_use]
    pub fn builder(config: Config) -> Builder {
        Builder::new(config)
    }

    /// Starts the monitor `builder` describes; returns once the first
    /// state is known.
    pub async fn start(builder: Builder) -> Result<Monitor, Error> {
        Monitor::start_subscribed(builder).await.map(|(m, _)| m)
    }

    /// Starts the monitor with a subscriber that exists before the first
    /// publication, so it receives the initial change (seq 1, cause
    /// `initial`) and every one after it.
    pub async fn start_subscribed(builder: Builder) -> Result<(Monitor, Subscriber), Error> {
        let engine = builder.build_engine()?;
        let handle = engine.handle().clone();
        let (_, subscriber) = handle.subscribe();
        let (ready_tx, ready_rx) = oneshot::channel();
        let monitor = Monitor {
            handle,
            task: Some(tokio::spawn(run(engine, ready_tx))),
        };
        // Dropping `monitor` (an error, or this future dropped) stops it.
        match ready_rx.await {
            Ok(Ok(())) => Ok((monitor, subscriber)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Stopped),
        }
    }

    /// Stops the monitor and waits until its task has ended and its sockets
    /// are closed. Subscribers then receive `None` once drained.
    pub async fn shutdown(mut self) {
        self.handle.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
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
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.handle.close();
    }
}

/// The loop: wait for readiness or the deadline, wake the engine; report
/// the start once the first state is known (or the first read failed).
async fn run(mut engine: Engine, ready: oneshot::Sender<Result<(), Error>>) {
    let fd = match engine
        .readiness_fd()
        .try_clone_to_owned()
        .and_then(register)
    {
        Ok(fd) => fd,
        Err(e) => {
            let _ = ready.send(Err(Error::Open(e)));
            return;
        }
    };
    let mut ready = Some(ready);
    let mut more_queued = false;
    while !engine.stopping() {
        if more_queued {
            // Work is left that needs no readiness: let other tasks run.
            tokio::task::yield_now().await;
        } else {
            let deadline = engine.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                guard = fd.readable() => match guard {
                    // Cleared before the engine reads: anything that comes
                    // during the wake-up makes it readable again.
                    Ok(mut g) => g.clear_ready(),
                    Err(_) => return,
                },
                () = sleep_until(deadline) => {}
            }
        }
        more_queued = engine.wake(Instant::now(), sleep_clock()).more_queued;
        if let Some(tx) = ready.take() {
            match engine.start_result() {
                None => ready = Some(tx),
                Some(result) => {
                    let failed = result.is_err();
                    if tx.send(result).is_err() || failed {
                        return;
                    }
                }
            }
        }
    }
}

/// Registers the readiness descriptor with the reactor. tokio 1.54
/// deprecated the safe constructors because an arbitrary `AsRawFd` may
/// close or change its descriptor while registered (tokio pull request
/// 8587); an `OwnedFd` moved into the `AsyncFd` cannot, which is what the
/// replacement `unsafe fn register_with_interest` asks callers to uphold.
#[allow(deprecated)]
fn register(owned: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    AsyncFd::with_interest(owned, Interest::READABLE)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
