//! The tokio driver as a `DriverHarness` for the shared suites.

use std::sync::Arc;
use std::time::Duration;

use netstate_core::fanout::Subscriber;
use netstate_core::{Config, Snapshot};
use netstate_sys::{Backend, Hooks, MonitorStats};
use netstate_testkit::conformance::DriverHarness;
use netstate_tokio::Monitor;

pub struct Tokio;

pub struct Running {
    rt: tokio::runtime::Runtime,
    monitor: Option<Monitor>,
}

impl Running {
    fn m(&self) -> &Monitor {
        self.monitor.as_ref().expect("running")
    }
}

impl DriverHarness for Tokio {
    type Monitor = Running;

    fn start(config: Config, backend: Box<dyn Backend>) -> Running {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let monitor = rt
            .block_on(Monitor::builder(config).backend(backend).start())
            .expect("monitor starts");
        Running {
            rt,
            monitor: Some(monitor),
        }
    }

    fn state(m: &Running) -> Arc<Snapshot> {
        m.m().state()
    }

    fn subscribe(m: &Running) -> Subscriber {
        m.m().subscribe()
    }

    fn check_now(m: &Running) {
        m.m().check_now();
    }

    fn stats(m: &Running) -> MonitorStats {
        m.m().stats()
    }

    fn hooks(m: &Running) -> &Hooks {
        m.m().hooks()
    }

    fn wait_stats(
        m: &Running,
        timeout: Duration,
        done: &mut dyn FnMut(&MonitorStats) -> bool,
    ) -> Option<MonitorStats> {
        m.m().wait_stats(timeout, done)
    }

    fn wake(m: &Running) {
        m.m().wake();
    }

    fn stop(mut m: Running) {
        if let Some(monitor) = m.monitor.take() {
            m.rt.block_on(monitor.shutdown());
        }
        // Dropping the runtime joins its worker threads.
        drop(m.rt);
    }
}
