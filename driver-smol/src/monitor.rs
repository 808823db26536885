//! [`Monitor`], the handle to a running monitor, and its [`Builder`].

use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use netstate_core::fanout::Subscriber;
use netstate_core::{Config, Snapshot};
use netstate_sys::{Backend, Engine, Hooks, MonitorStats, Recorder, Shared};

use crate::{run_loop, Error};

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
    /// It is called on the monitor's thread.
    #[must_use]
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Opens the route socket, starts the monitor's thread and returns once
    /// the first state is known. Dropping this future before it completes
    /// stops the thread again.
    pub async fn start(self) -> Result<Monitor, Error> {
        let backend = match self.backend {
            Some(b) => b,
            None => netstate_sys::default_backend().map_err(Error::Open)?,
        };
        let mut engine = Engine::new(self.config, backend, Instant::now()).map_err(Error::Open)?;
        if let Some(r) = self.recorder {
            engine.set_recorder(r);
        }
        let shared = engine.shared().clone();
        // One pending wake-up is enough: the loop reads every flag and the
        // whole socket at each wake-up, so further requests coalesce.
        let (wakeups, wakeups_rx) = async_channel::bounded(1);
        let (status_tx, status) = async_channel::bounded(1);
        let thread = std::thread::Builder::new()
            .name("netstate-smol".into())
            .spawn(move || run_loop::run(engine, wakeups_rx, status_tx))
            .map_err(Error::Open)?;
        // From here on, dropping `monitor` (on an error, or because this
        // future is dropped) stops and joins the thread.
        let monitor = Monitor {
            shared,
            wakeups,
            status,
            thread: Some(thread),
        };
        match monitor.status.recv().await {
            Ok(Ok(())) => Ok(monitor),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Stopped),
        }
    }
}

/// A running network monitor. Cheap to query from any thread or task;
/// dropping it stops the monitor's thread and closes its sockets before
/// `drop` returns.
#[derive(Debug)]
pub struct Monitor {
    shared: Arc<Shared>,
    /// Wake-up requests to the loop; closing it stops the loop.
    wakeups: Sender<()>,
    /// Closed by the loop's thread once everything it owned is released.
    status: Receiver<Result<(), Error>>,
    thread: Option<JoinHandle<()>>,
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
        self.wake();
    }

    /// The monitor's counters.
    #[must_use]
    pub fn stats(&self) -> MonitorStats {
        self.shared.stats()
    }

    /// Blocks the calling thread until the counters satisfy `done` (checked
    /// after each wake-up of the monitor) or `timeout` passes. For tests and
    /// tools; it blocks the executor thread it is called on.
    pub fn wait_stats(
        &self,
        timeout: Duration,
        done: impl FnMut(&MonitorStats) -> bool,
    ) -> Option<MonitorStats> {
        self.shared.wait_stats(timeout, done)
    }

    /// Hooks that inject failures, for tests of the monitor itself. While
    /// [`Hooks::pause`] holds the loop, dropping the monitor waits for
    /// [`Hooks::resume`].
    #[must_use]
    pub fn hooks(&self) -> &Hooks {
        self.shared.hooks()
    }

    /// Wakes the monitor's loop (after using a hook). Requests made while
    /// one is pending coalesce into it.
    pub fn wake(&self) {
        // Full: a wake-up is already pending. Closed: the loop has stopped.
        let _ = self.wakeups.try_send(());
    }

    /// Stops the monitor and waits, without blocking the executor, until its
    /// thread has released its sockets. Subscribers then receive `None` once
    /// drained.
    pub async fn shutdown(mut self) {
        self.wakeups.close();
        // The loop's thread drops its end of `status` last.
        while self.status.recv().await.is_ok() {}
        self.join();
    }

    /// Stops the loop and joins its thread (which has nothing left to do
    /// but exit once its loop sees the channel closed).
    fn join(&mut self) {
        self.wakeups.close();
        if let Some(thread) = self.thread.take() {
            // A panic on the monitor's thread has already closed the
            // subscribers (the shared state is dropped or closed below).
            let _ = thread.join();
        }
        self.shared.close();
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.join();
    }
}
