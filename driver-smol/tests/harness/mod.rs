//! The smol / async-io driver as a `DriverHarness` for the shared suites.

use std::sync::Arc;
use std::time::Duration;

use futures_lite::future::block_on;
use netstate_core::fanout::Subscriber;
use netstate_core::{Config, Snapshot};
use netstate_smol::Monitor;
use netstate_sys::{Backend, Hooks, MonitorStats};
use netstate_testkit::conformance::DriverHarness;

pub struct Smol;

impl DriverHarness for Smol {
    type Monitor = Monitor;

    fn start(config: Config, backend: Box<dyn Backend>) -> Monitor {
        block_on(Monitor::builder(config).backend(backend).start()).expect("monitor starts")
    }

    fn state(m: &Monitor) -> Arc<Snapshot> {
        m.state()
    }

    fn subscribe(m: &Monitor) -> Subscriber {
        m.subscribe()
    }

    fn check_now(m: &Monitor) {
        m.check_now();
    }

    fn stats(m: &Monitor) -> MonitorStats {
        m.stats()
    }

    fn hooks(m: &Monitor) -> &Hooks {
        m.hooks()
    }

    fn wait_stats(
        m: &Monitor,
        timeout: Duration,
        done: &mut dyn FnMut(&MonitorStats) -> bool,
    ) -> Option<MonitorStats> {
        m.wait_stats(timeout, done)
    }

    fn wake(m: &Monitor) {
        m.wake();
    }

    fn stop(m: Monitor) {
        block_on(m.shutdown());
    }
}
