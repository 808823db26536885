//! [`ThreadMonitor`]: a [`MonitorSource`] driven by its own `mio::Poll` on a
//! background thread, for programs without an async runtime; and its
//! [`ThreadBuilder`].

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use netstate_core::fanout::Subscriber;
use netstate_core::{Change, Config, Snapshot};
use netstate_sys::{Backend, Hooks, MonitorStats, Recorder, Shared};

use crate::source::{Builder, MonitorSource};
use crate::Error;

const SOURCE: Token = Token(0);
const WAKER: Token = Token(1);

/// A callback that receives every change on the monitor's thread.
pub type OnChange = Box<dyn FnMut(Change) + Send>;

/// Starts a [`ThreadMonitor`] with options beyond the configuration.
pub struct ThreadBuilder {
    source: Builder,
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
    /// slow consumers use [`ThreadMonitor::subscribe`] instead.
    #[must_use]
    pub fn on_change(mut self, on_change: impl FnMut(Change) + Send + 'static) -> Self {
        self.on_change = Some(Box::new(on_change));
        self
    }

    /// Reads the first state on the calling thread, then starts the
    /// monitor's thread; returns once both are done.
    pub fn start(self) -> Result<ThreadMonitor, Error> {
        let mut source = self.source.build()?;
        let shared = source.shared().clone();
        let poll = Poll::new().map_err(Error::Open)?;
        poll.registry()
            .register(&mut source, SOURCE, Interest::READABLE)
            .map_err(Error::Open)?;
        let control = Arc::new(Control {
            stop: AtomicBool::new(false),
            waker: Waker::new(poll.registry(), WAKER).map_err(Error::Open)?,
        });
        let thread = {
            let control = control.clone();
            let on_change = self.on_change;
            std::thread::Builder::new()
                .name("netstate-mio".into())
                .spawn(move || run(poll, source, &control, on_change))
                .map_err(Error::Open)?
        };
        Ok(ThreadMonitor {
            shared,
            control,
            thread: Some(thread),
        })
    }
}

/// How the handle reaches the loop.
#[derive(Debug)]
struct Control {
    stop: AtomicBool,
    waker: Waker,
}

impl Control {
    fn wake(&self) {
        // Fails only if the poller is gone, i.e. the loop has ended.
        let _ = self.waker.wake();
    }
}

/// A network monitor running its own `mio::Poll` loop on a background
/// thread (named `netstate-mio`). Query it from any thread; take changes
/// from [`subscribe`](Self::subscribe) (blocking `recv_blocking`, or
/// `recv().await` in any runtime) or from the callback given to
/// [`ThreadBuilder::on_change`]. Dropping it wakes the thread, joins it and
/// so closes the monitor's sockets before `drop` returns.
pub struct ThreadMonitor {
    shared: Arc<Shared>,
    control: Arc<Control>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for ThreadMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadMonitor")
            .field("shared", &self.shared)
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
            source: Builder::new(config),
            on_change: None,
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
        self.control.wake();
    }

    /// The monitor's counters.
    #[must_use]
    pub fn stats(&self) -> MonitorStats {
        self.shared.stats()
    }

    /// Blocks the calling thread until the counters satisfy `done` (checked
    /// after each wake-up of the monitor) or `timeout` passes.
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

    /// Wakes the monitor's loop (after using a hook).
    pub fn wake(&self) {
        self.control.wake();
    }

    /// Stops the monitor and waits until its thread has ended and its
    /// sockets are closed (what dropping it does, said explicitly).
    /// Subscribers then receive `None` once drained.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ThreadMonitor {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::SeqCst);
        self.control.wake();
        if let Some(thread) = self.thread.take() {
            // A panic on the monitor's thread has dropped its source, which
            // closed the subscribers.
            let _ = thread.join();
        }
        self.shared.close();
    }
}

/// The loop: hand out changes, wait for readiness, the deadline or the
/// waker, run the source. Ends when asked to stop or if the poller fails
/// (the subscribers are then closed, which tells them).
fn run(
    mut poll: Poll,
    mut source: MonitorSource,
    control: &Control,
    mut on_change: Option<OnChange>,
) {
    let mut events = Events::with_capacity(8);
    loop {
        while let Some(change) = source.next_change() {
            if let Some(f) = &mut on_change {
                f(change);
            }
        }
        if control.stop.load(Ordering::SeqCst) {
            break;
        }
        match poll.poll(&mut events, source.timeout_from(Instant::now())) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        if control.stop.load(Ordering::SeqCst) {
            break;
        }
        // A waker event is a check_now() or wake(): run the engine, which
        // takes the forced-check flag.
        if events
            .iter()
            .any(|e| e.token() == SOURCE || e.token() == WAKER)
        {
            source.handle_ready();
        }
        source.handle_timeout();
    }
    let _ = poll.registry().deregister(&mut source);
}
