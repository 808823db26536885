//! # netstate-tokio
//!
//! A network monitor for tokio applications: the current interfaces,
//! addresses and default routes, and a stream of every change, exactly once.
//!
//! ## What it does not do
//!
//! It does not decide anything itself (that is `netstate-core`'s
//! `Reconciler`) and does not talk to the kernel itself (that is
//! `netstate-sys`). It is the loop between them on a tokio task: wait for
//! the route socket (`AsyncFd` readiness, drained until it would block),
//! the Reconciler's next deadline, or a forced check; then wake the engine.
//!
//! ```no_run
//! # async fn demo() -> Result<(), netstate_tokio::Error> {
//! let monitor = netstate_tokio::Monitor::new(netstate_core::Config::default()).await?;
//! println!("have IPv4: {}", monitor.state().have_v4());
//! let mut changes = monitor.subscribe();
//! while let Some(change) = changes.recv().await {
//!     println!("#{} {:?} major={}", change.seq, change.cause, change.is_major());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Subscribers
//!
//! [`Monitor::subscribe`] gives a [`Subscriber`]: its own bounded queue that
//! the monitor never waits on. A subscriber that falls behind gets the
//! changes it missed merged into one exact change ending on the latest
//! state (see `netstate_core::fanout`): neither `broadcast` (which drops
//! changes) nor `watch` (which drops deltas).
//!
//! ## Work on the runtime
//!
//! Enumeration (a netlink dump, well under a millisecond for a handful of
//! interfaces) runs on the monitor's task. Dropping the [`Monitor`] aborts
//! the task, which closes its sockets; [`Monitor::shutdown`] also waits for
//! that to have happened.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Instant;

use netstate_core::{Config, Snapshot};
use netstate_sys::{Backend, Engine, Hooks, Recorder, Shared};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

pub use netstate_core::fanout::{Subscriber, TryRecvError};
pub use netstate_sys::MonitorStats;

/// Why a monitor could not start (shared by every netstate driver).
pub use netstate_sys::StartError as Error;

/// Starts a [`Monitor`] with options beyond the configuration.
pub struct Builder {
    config: Config,
    backend: Option<Box<dyn Backend>>,
    recorder: Option<Recorder>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Reads the network through `backend` instead of the system's default
    /// (another network namespace, a test's stand-in).
    #[must_use]
    pub fn backend(mut self, backend: Box<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Hands every input of the Reconciler to `recorder` (`netstate record`).
    #[must_use]
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Starts the monitor; returns once the first state is known.
    pub async fn start(self) -> Result<Monitor, Error> {
        self.start_subscribed().await.map(|(m, _)| m)
    }

    /// Starts the monitor with a subscriber that exists before the first
    /// publication, so it receives the initial change (seq 1, cause
    /// `initial`) and every one after it.
    pub async fn start_subscribed(self) -> Result<(Monitor, Subscriber), Error> {
        let backend = match self.backend {
            Some(b) => b,
            None => netstate_sys::default_backend().map_err(Error::Open)?,
        };
        let mut engine = Engine::new(self.config, backend, Instant::now()).map_err(Error::Open)?;
        if let Some(r) = self.recorder {
            engine.set_recorder(r);
        }
        let shared = engine.shared().clone();
        let subscriber = shared.subscribe();
        let notify = Arc::new(Notify::new());
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(run(engine, notify.clone(), ready_tx));
        match ready_rx.await {
            Ok(Ok(())) => Ok((
                Monitor {
                    shared,
                    notify,
                    task: Some(task),
                },
                subscriber,
            )),
            Ok(Err(e)) => {
                task.abort();
                Err(e)
            }
            Err(_) => Err(Error::Stopped),
        }
    }
}

/// A running network monitor. Cheap to query from any task; dropping it
/// stops the monitor.
#[derive(Debug)]
pub struct Monitor {
    shared: Arc<Shared>,
    notify: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts a monitor of this host's network (the caller's network
    /// namespace); returns once the first state is known.
    pub async fn new(config: Config) -> Result<Monitor, Error> {
        Monitor::builder(config).start().await
    }

    /// A builder for other backends or a recorder.
    #[must_use]
    pub fn builder(config: Config) -> Builder {
        Builder {
            config,
            backend: None,
            recorder: None,
        }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> Arc<Snapshot> {
        self.shared.state()
    }

    /// A subscriber to every change published from now on.
    #[must_use]
    pub fn subscribe(&self) -> Subscriber {
        self.shared.subscribe()
    }

    /// Asks the monitor to read the state now (without debounce); a change,
    /// if there is one, is published with cause `forced`.
    pub fn check_now(&self) {
        self.shared.check_now();
        self.notify.notify_one();
    }

    /// The monitor's counters.
    #[must_use]
    pub fn stats(&self) -> MonitorStats {
        self.shared.stats()
    }

    /// Blocks the calling thread until the counters satisfy `done` (checked
    /// after each wake-up of the monitor) or `timeout` passes. For tests and
    /// tools; never call it from the monitor's own runtime thread.
    pub fn wait_stats(
        &self,
        timeout: std::time::Duration,
        done: impl FnMut(&MonitorStats) -> bool,
    ) -> Option<MonitorStats> {
        self.shared.wait_stats(timeout, done)
    }

    /// Hooks that inject failures, for tests of the monitor itself.
    #[must_use]
    pub fn hooks(&self) -> &Hooks {
        self.shared.hooks()
    }

    /// Wakes the monitor's loop (after using a hook).
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Stops the monitor and waits until its task has ended and its sockets
    /// are closed. Subscribers then receive `None` once drained.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.shared.close();
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.shared.close();
    }
}

/// What woke the loop.
enum Wake<'a> {
    Readable(Option<tokio::io::unix::AsyncFdReadyGuard<'a, OwnedFd>>),
    Other,
}

async fn run(mut engine: Engine, notify: Arc<Notify>, ready: oneshot::Sender<Result<(), Error>>) {
    engine.wake(Instant::now());
    if !engine.started() {
        let why = engine
            .last_error()
            .unwrap_or("the first enumeration failed")
            .to_owned();
        let _ = ready.send(Err(Error::FirstEnumeration(why)));
        return;
    }
    if ready.send(Ok(())).is_err() {
        return;
    }
    let mut generation = 0;
    let mut fd: Option<AsyncFd<OwnedFd>> = None;
    let mut more_queued = false;
    loop {
        if generation != engine.socket_generation() {
            generation = engine.socket_generation();
            // The old duplicate is deregistered and closed here, after the
            // engine opened its replacement.
            fd = engine
                .readiness_fd()
                .and_then(Result::ok)
                .and_then(register);
        }
        let wake = if more_queued {
            // The engine has work left (datagrams past its per-wake cap, or
            // an enumeration it deferred): let other tasks run, then go on
            // without waiting for readiness, which may never come.
            tokio::task::yield_now().await;
            Wake::Other
        } else {
            let deadline = engine.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                guard = readable(fd.as_ref()) => Wake::Readable(guard),
                () = sleep_until(deadline) => Wake::Other,
                () = notify.notified() => Wake::Other,
            }
        };
        let woken = engine.wake(Instant::now());
        if let Wake::Readable(Some(mut guard)) = wake {
            if !woken.more_queued {
                // Everything was read until the socket would block.
                guard.clear_ready();
            }
        }
        more_queued = woken.more_queued;
    }
}

/// Registers an owned descriptor with the reactor. tokio 1.54 deprecated
/// the safe constructors because an arbitrary `AsRawFd` may close or change
/// its descriptor while registered (tokio pull request 8587); an `OwnedFd`
/// owned by the `AsyncFd` can do neither, which is exactly the contract the
/// replacement `unsafe fn register_with_interest` asks callers to uphold.
#[allow(deprecated)]
fn register(owned: OwnedFd) -> Option<AsyncFd<OwnedFd>> {
    AsyncFd::with_interest(owned, Interest::READABLE).ok()
}

async fn readable(
    fd: Option<&AsyncFd<OwnedFd>>,
) -> Option<tokio::io::unix::AsyncFdReadyGuard<'_, OwnedFd>> {
    match fd {
        Some(fd) => fd.readable().await.ok(),
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
