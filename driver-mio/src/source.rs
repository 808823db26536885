//! [`MonitorSource`]: the monitor as a `mio::event::Source` for the
//! application's own `Poll` loop, and its [`Builder`].

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};
use netstate_core::fanout::Subscriber;
use netstate_core::{Change, Config, Snapshot};
use netstate_sys::{Backend, Engine, Hooks, MonitorStats, Recorder, Shared};

use crate::watch::Watch;
use crate::Error;

/// Builds a [`MonitorSource`] with options beyond the configuration.
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
    pub(crate) fn new(config: Config) -> Builder {
        Builder {
            config,
            backend: None,
            recorder: None,
        }
    }

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

    /// Opens the route socket and reads the first state (a netlink dump,
    /// blocking for well under a millisecond with a handful of interfaces);
    /// its change, cause `initial`, is the first [`MonitorSource::next_change`].
    pub fn build(self) -> Result<MonitorSource, Error> {
        let backend = match self.backend {
            Some(b) => b,
            None => netstate_sys::default_backend().map_err(Error::Open)?,
        };
        let mut engine = Engine::new(self.config, backend, Instant::now()).map_err(Error::Open)?;
        if let Some(r) = self.recorder {
            engine.set_recorder(r);
        }
        let changes = engine.shared().subscribe();
        let woken = engine.wake(Instant::now());
        if !engine.started() {
            return Err(Error::FirstEnumeration(
                engine
                    .last_error()
                    .unwrap_or("the first enumeration failed")
                    .to_owned(),
            ));
        }
        let watch = Watch::new(&engine);
        Ok(MonitorSource {
            engine,
            changes,
            watch,
            again_since: woken.more_queued.then(Instant::now),
        })
    }
}

/// The network monitor as a [`mio::event::Source`]: register it in your
/// `Poll` (with [`Interest::READABLE`]) and drive it from your loop.
///
/// Calls, in your loop's order:
///
/// * **Timeout:** [`poll_timeout`](Self::poll_timeout) (or
///   [`timeout_from`](Self::timeout_from)) is the latest moment the source
///   must run again; pass it to `Poll::poll`.
/// * **Inputs:** [`handle_ready`](Self::handle_ready) on every event with
///   the source's token; [`handle_timeout`](Self::handle_timeout) after
///   every `Poll::poll` (it does nothing before the deadline, so calling it
///   early or twice is harmless).
/// * **Outputs:** [`next_change`](Self::next_change) until `None`, after
///   each input.
///
/// ```no_run
/// use mio::{Events, Interest, Poll, Token};
/// use netstate_mio::MonitorSource;
///
/// # fn demo() -> std::io::Result<()> {
/// const NET: Token = Token(0);
/// let mut poll = Poll::new()?;
/// let mut net = MonitorSource::new(netstate_core::Config::default())
///     .map_err(std::io::Error::other)?;
/// poll.registry().register(&mut net, NET, Interest::READABLE)?;
/// let mut events = Events::with_capacity(64);
/// loop {
///     while let Some(change) = net.next_change() {
///         println!("#{} {:?}", change.seq, change.cause);
///     }
///     poll.poll(&mut events, net.timeout_from(std::time::Instant::now()))?;
///     for event in events.iter() {
///         if event.token() == NET {
///             net.handle_ready();
///         }
///         // ... the application's other sources
///     }
///     net.handle_timeout();
/// }
/// # }
/// ```
///
/// The engine sometimes replaces its route socket (a rebind after an
/// error). The source then moves its registration to the new socket by
/// itself, with the same token and interests, through a clone of the
/// [`Registry`] it was registered with: the application never
/// re-registers. Deregister it (or drop it) to stop watching.
///
/// Everything runs on the caller's thread inside these calls; a wake-up
/// enumerates synchronously when the Reconciler asks for it (about 0.2 ms
/// with a handful of interfaces). While [`Hooks::pause`] is in force,
/// `handle_*` block until [`Hooks::resume`] is called from another thread.
pub struct MonitorSource {
    engine: Engine,
    /// The source's own subscriber, drained by `next_change`.
    changes: Subscriber,
    watch: Watch,
    /// Set when the last wake-up stopped at the per-wake read cap with
    /// datagrams still queued: the source must run again at once.
    again_since: Option<Instant>,
}

impl fmt::Debug for MonitorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorSource")
            .field("engine", &self.engine)
            .field("watch", &self.watch)
            .finish_non_exhaustive()
    }
}

impl MonitorSource {
    /// A monitor of this host's network (the caller's network namespace),
    /// with its first state read; not registered anywhere yet.
    pub fn new(config: Config) -> Result<MonitorSource, Error> {
        Builder::new(config).build()
    }

    /// A builder for other backends or a recorder.
    #[must_use]
    pub fn builder(config: Config) -> Builder {
        Builder::new(config)
    }

    /// Runs the monitor after a readiness event for its token: drains the
    /// route socket until it would block (or up to a cap, after which
    /// [`poll_timeout`](Self::poll_timeout) says to run again at once), runs
    /// due timers and publishes.
    pub fn handle_ready(&mut self) {
        self.wake(Instant::now());
    }

    /// Runs the monitor if its deadline has passed; does nothing otherwise.
    pub fn handle_timeout(&mut self) {
        let now = Instant::now();
        if self.poll_timeout().is_some_and(|at| at <= now) {
            self.wake(now);
        }
    }

    /// When the monitor must run at the latest ([`handle_timeout`](Self::handle_timeout)),
    /// if no readiness event comes first. A moment in the past means now.
    /// Changes only when a `handle_*` call or [`check_now`](Self::check_now) ran.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.again_since.or_else(|| self.engine.poll_timeout())
    }

    /// [`poll_timeout`](Self::poll_timeout) as a timeout for `Poll::poll`
    /// from `now` (zero when it has passed, `None` when there is none).
    #[must_use]
    pub fn timeout_from(&self, now: Instant) -> Option<Duration> {
        self.poll_timeout()
            .map(|at| at.saturating_duration_since(now))
    }

    /// The next change published since the source was built (the first is
    /// the initial state), or `None` when there is none now. Changes that
    /// are not taken are merged, so the queue stays bounded and ends on the
    /// latest state (see `netstate_core::fanout`).
    pub fn next_change(&mut self) -> Option<Change> {
        self.changes.try_recv().ok()
    }

    /// Reads the state now (without debounce), on the calling thread; a
    /// change, if there is one, is published with cause `forced`. From
    /// another thread, call `shared().check_now()` and wake your `Poll`
    /// (a `mio::Waker`); the next `handle_*` takes the request.
    pub fn check_now(&mut self) {
        self.engine.shared().check_now();
        self.wake(Instant::now());
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> Arc<Snapshot> {
        self.engine.shared().state()
    }

    /// Another subscriber to every change published from now on, for other
    /// threads (it works with `recv_blocking` or in any async runtime).
    #[must_use]
    pub fn subscribe(&self) -> Subscriber {
        self.engine.shared().subscribe()
    }

    /// The monitor's counters.
    #[must_use]
    pub fn stats(&self) -> MonitorStats {
        self.engine.shared().stats()
    }

    /// Hooks that inject failures, for tests of the monitor itself.
    #[must_use]
    pub fn hooks(&self) -> &Hooks {
        self.engine.shared().hooks()
    }

    /// The handle shared with other threads: state, counters, subscribers,
    /// forced-check requests and hooks.
    #[must_use]
    pub fn shared(&self) -> &Arc<Shared> {
        self.engine.shared()
    }

    fn wake(&mut self, now: Instant) {
        let woken = self.engine.wake(now);
        self.again_since = woken.more_queued.then_some(now);
        self.watch.follow(&self.engine);
    }
}

impl mio::event::Source for MonitorSource {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.watch.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.watch.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.watch.deregister(registry)
    }
}

impl Drop for MonitorSource {
    /// Closes every subscriber (they drain, then receive `None`), even if
    /// other handles to the shared state live on.
    fn drop(&mut self) {
        self.engine.shared().close();
    }
}
