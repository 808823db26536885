//! The mio driver's `ThreadMonitor` as a `DriverHarness` for the shared suites.

use std::sync::Arc;
use std::time::Duration;

use netstate_core::fanout::Subscriber;
use netstate_core::{Config, Snapshot};
use netstate_mio::ThreadMonitor;
use netstate_sys::{Backend, Hooks, MonitorStats};
use netstate_testkit::conformance::DriverHarness;

pub struct Mio;

impl DriverHarness for Mio {
    type Monitor = ThreadMonitor;

    fn start(config: Config, backend: Box<dyn Backend>) -> ThreadMonitor {
        ThreadMonitor::builder(config)
            .backend(backend)
            .start()
            .expect("monitor starts")
    }

    fn state(m: &ThreadMonitor) -> Arc<Snapshot> {
        m.state()
    }

    fn subscribe(m: &ThreadMonitor) -> Subscriber {
        m.subscribe()
    }

    fn check_now(m: &ThreadMonitor) {
        m.check_now();
    }

    fn stats(m: &ThreadMonitor) -> MonitorStats {
        m.stats()
    }

    fn hooks(m: &ThreadMonitor) -> &Hooks {
        m.hooks()
    }

    fn wait_stats(
        m: &ThreadMonitor,
        timeout: Duration,
        done: &mut dyn FnMut(&MonitorStats) -> bool,
    ) -> Option<MonitorStats> {
        m.wait_stats(timeout, done)
    }

    fn wake(m: &ThreadMonitor) {
        m.wake();
    }

    fn stop(m: ThreadMonitor) {
        m.shutdown();
    }
}
