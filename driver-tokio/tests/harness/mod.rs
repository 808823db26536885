//! The tokio driver as a `DriverHarness` for the shared suites: a
//! `current_thread` runtime on a thread of its own runs the monitor's task.

use netstate_core::Config;
use netstate_sys::{Backend, Handle};
use netstate_testkit::conformance::DriverHarness;
use netstate_tokio::Monitor;

pub struct Tokio;

pub struct Running {
    rt: tokio::runtime::Runtime,
    monitor: Option<Monitor>,
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
            .block_on(Monitor::start(Monitor::builder(config).backend(backend)))
            .expect("monitor starts");
        Running {
            rt,
            monitor: Some(monitor),
        }
    }

    fn handle(m: &Running) -> &Handle {
        m.monitor.as_ref().expect("running")
    }

    fn stop(mut m: Running) {
        if let Some(monitor) = m.monitor.take() {
            m.rt.block_on(monitor.shutdown());
        }
        // Dropping the runtime joins its worker threads.
        drop(m.rt);
    }
}
