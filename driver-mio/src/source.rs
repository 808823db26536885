//! [`MonitorSource`]: the monitor as a `mio::event::Source` for the
//! application's own `Poll` loop.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use netstate_core::{Change, Config, Snapshot};
use netstate_sys::fanout::Subscriber;
use netstate_sys::{sleep_clock, Check, Engine, Handle, MonitorBuilder, MonitorStats};

use crate::Error;

/// The network monitor as a [`mio::event::Source`]: register it in your
/// `Poll` (with [`Interest::READABLE`]) and drive it from your loop.
///
/// Calls, in your loop's order:
///
/// * **Timeout:** [`timeout_from`](Self::timeout_from) is the longest your
///   `Poll::poll` may wait.
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
/// The source is one descriptor for its whole life (the engine's poller,
/// behind which its sockets come and go): register it once. Nothing
/// blocks inside the `handle_*` calls; an enumeration is read in small
/// steps across them.
pub struct MonitorSource {
    engine: Engine,
    changes: Subscriber,
    /// Work is left that needs no readiness: run again at once.
    again: bool,
}

impl fmt::Debug for MonitorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorSource")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl MonitorSource {
    /// A source monitoring this host's network (the caller's network
    /// namespace); returns once the first state is known.
    pub fn new(config: Config) -> Result<MonitorSource, Error> {
        MonitorSource::build(MonitorBuilder::new(config))
    }

    /// A builder for other backends or a recorder.
    #[must_use]
    pub fn builder(config: Config) -> MonitorBuilder {
        MonitorBuilder::new(config)
    }

    /// Opens the sockets and reads the first state, blocking the calling
    /// thread until it is known (a non-blocking conversation waited on with
    /// the engine's own poller); its change, cause `initial`, is the first
    /// [`MonitorSource::next_change`].
    pub fn build(builder: MonitorBuilder) -> Result<MonitorSource, Error> {
        let mut engine = builder.build_engine()?;
        let (_, changes) = engine.handle().subscribe();
        let woken = engine.block_until_started()?;
        Ok(MonitorSource {
            engine,
            changes,
            again: woken.more_queued,
        })
    }

    /// Runs the monitor after a readiness event for its token.
    pub fn handle_ready(&mut self) {
        self.wake(Instant::now());
    }

    /// Runs the monitor if its deadline has passed; does nothing otherwise.
    pub fn handle_timeout(&mut self) {
        let now = Instant::now();
        if self.again || self.engine.poll_timeout().is_some_and(|at| at <= now) {
            self.wake(now);
        }
    }

    /// [`Self::timeout_from`]'s deadline: when the monitor must run at the
    /// latest if no readiness event comes first (now, when work is left).
    #[must_use]
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        if self.again {
            Some(now)
        } else {
            self.engine.poll_timeout()
        }
    }

    /// The longest `Poll::poll` may wait from `now` (zero when the monitor
    /// must run at once, `None` when only readiness can make it run).
    #[must_use]
    pub fn timeout_from(&self, now: Instant) -> Option<Duration> {
        self.poll_timeout(now)
            .map(|at| at.saturating_duration_since(now))
    }

    /// The next change published since the source was built (the first is
    /// the initial state), or `None` when there is none now. Changes that
    /// are not taken are merged, so the queue stays bounded and ends on the
    /// latest state (see `netstate_sys::fanout`).
    pub fn next_change(&mut self) -> Option<Change> {
        self.changes.try_recv().ok()
    }

    /// Asks for a check now (without debounce); the source's descriptor
    /// becomes readable, and the next [`handle_ready`](Self::handle_ready)
    /// reads the state. A change, if any, has cause `forced`. The
    /// [`handle`](Self::handle) does the same from other threads.
    ///
    /// The returned [`Check`] answers once the state read after this call
    /// is known: take it with [`Check::try_result`] after your loop's
    /// `handle_*` calls (never [`Check::wait`] on the thread that drives
    /// this source: the check would wait for itself).
    pub fn check_now(&self) -> Check {
        self.engine.handle().check_now()
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> Arc<Snapshot> {
        self.engine.handle().state()
    }

    /// The current state and another subscriber to every change after it,
    /// for other threads (`recv_blocking`, or `recv().await` anywhere).
    #[must_use]
    pub fn subscribe(&self) -> (Arc<Snapshot>, Subscriber) {
        self.engine.handle().subscribe()
    }

    /// The monitor's counters.
    #[must_use]
    pub fn stats(&self) -> MonitorStats {
        self.engine.handle().stats()
    }

    /// The handle to share with other threads (state, subscribe, check,
    /// counters).
    #[must_use]
    pub fn handle(&self) -> &Handle {
        self.engine.handle()
    }

    fn wake(&mut self, now: Instant) {
        self.again = self.engine.wake(now, sleep_clock()).more_queued;
    }
}

impl mio::event::Source for MonitorSource {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.engine.readiness_fd().as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.engine.readiness_fd().as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.engine.readiness_fd().as_raw_fd()).deregister(registry)
    }
}
