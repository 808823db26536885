//! [`ThreadMonitor`]: the monitor's loop on a plain background thread, for
//! programs without an async runtime; and its [`ThreadBuilder`].
//!
//! The thread waits on the engine's own poller (`Engine::wait`): it needs
//! no mio and no runtime. It is the only thread any netstate crate starts.

use std::fmt;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use netstate_core::{Change, Config};
use netstate_sys::fanout::Subscriber;
use netstate_sys::{sleep_clock, Backend, Engine, Handle, MonitorBuilder, Recorder};

use crate::Error;

/// A callback that receives every change on the monitor's thread.
pub type OnChange = Box<dyn FnMut(Change) + Send>;

/// Starts a [`ThreadMonitor`] with options beyond the configuration.
pub struct ThreadBuilder {
    source: MonitorBuilder,
    on_change: Option<OnChange>,
}

impl fmt::Debug for ThreadBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadBuilder")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ThreadBuilder {
    /// Reads the network through `backend` instead of the system's default
    /// (another network namespace, a test's stand-in).
    #[must_use]
    pub fn backend(mut self, backend: Box<dyn Backend>) -> Self {
        self.source = self.source.backend(backend);
        self
    }

    /// Hands every input of the Reconciler to `recorder` (`netstate record`),
    /// on the monitor's thread.
    #[must_use]
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.source = self.source.recorder(recorder);
        self
    }

    /// Calls `on_change` on the monitor's thread with every change, the
    /// initial one first. The monitor waits for it, so it should be quick;
    /// slow consumers use [`Handle::subscribe`] instead.
    #[must_use]
    pub fn on_change(mut self, on_change: impl FnMut(Change) + Send + 'static) -> Self {
        self.on_change = Some(Box::new(on_change));
        self
    }

    /// Reads the first state on the calling thread, then starts the
    /// monitor's thread; returns once both are done.
    pub fn start(self) -> Result<ThreadMonitor, Error> {
        let mut engine = self.source.build_engine()?;
        let handle = engine.handle().clone();
        let (_, changes) = handle.subscribe();
        let woken = engine.block_until_started()?;
        let on_change = self.on_change;
        let thread = std::thread::Builder::new()
            .name("netstate-mio".into())
            .spawn(move || run(engine, changes, on_change, woken.more_queued))
            .map_err(Error::Open)?;
        Ok(ThreadMonitor {
            handle,
            thread: Some(thread),
        })
    }
}

/// A network monitor running its loop on a background thread (named
/// `netstate-mio`). Query it from any thread; take changes from
/// [`subscribe`](Handle::subscribe) (blocking `recv_blocking`, or
/// `recv().await` in any runtime) or from the callback given to
/// [`ThreadBuilder::on_change`]. Dropping it wakes the thread, joins it and
/// so closes the monitor's sockets before `drop` returns.
pub struct ThreadMonitor {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for ThreadMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadMonitor")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl ThreadMonitor {
    /// Starts a monitor of this host's network (the caller's network
    /// namespace); returns once the first state is known.
    pub fn new(config: Config) -> Result<ThreadMonitor, Error> {
        ThreadMonitor::builder(config).start()
    }

    /// A builder for other backends, a recorder or a callback.
    #[must_use]
    pub fn builder(config: Config) -> ThreadBuilder {
        ThreadBuilder {
            source: MonitorBuilder::new(config),
            on_change: None,
        }
    }

    /// Stops the monitor and joins its thread (its sockets are closed when
    /// this returns). Subscribers then receive `None` once drained.
    pub fn shutdown(self) {
        drop(self);
    }
}

/// The runtime-independent [`Handle`]: `state()`, `subscribe()` (the
/// state and a subscriber, together), `check_now()`, `stats()`.
impl std::ops::Deref for ThreadMonitor {
    type Target = Handle;

    fn deref(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for ThreadMonitor {
    fn drop(&mut self) {
        self.handle.stop();
        if let Some(thread) = self.thread.take() {
            // A panic on the monitor's thread has already dropped its engine.
            let _ = thread.join();
        }
        self.handle.close();
    }
}

fn run(
    mut engine: Engine,
    mut changes: Subscriber,
    mut on_change: Option<OnChange>,
    mut again: bool,
) {
    loop {
        while let Ok(change) = changes.try_recv() {
            if let Some(f) = &mut on_change {
                f(change);
            }
        }
        if engine.stopping() {
            return;
        }
        if !again {
            let timeout = engine
                .poll_timeout()
                .map(|at| at.saturating_duration_since(Instant::now()));
            if engine.wait(timeout).is_err() {
                // The poller failed: fall back on the deadline alone.
                std::thread::park_timeout(timeout.unwrap_or(Duration::from_secs(1)));
            }
        }
        again = engine.wake(Instant::now(), sleep_clock()).more_queued;
    }
}
