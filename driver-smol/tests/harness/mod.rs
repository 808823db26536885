//! The smol / async-io driver as a `DriverHarness` for the shared suites:
//! its task spawned on an `async-executor` run by a thread of the test's,
//! as an application would.

use std::sync::Arc;
use std::thread::JoinHandle;

use async_executor::Executor;
use futures_lite::future::block_on;
use netstate_core::Config;
use netstate_smol::Monitor;
use netstate_sys::{Backend, Handle};
use netstate_testkit::conformance::DriverHarness;

pub struct Smol;

pub struct Running {
    monitor: Option<Monitor>,
    stop: async_channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl DriverHarness for Smol {
    type Monitor = Running;

    fn start(config: Config, backend: Box<dyn Backend>) -> Running {
        let ex = Arc::new(Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let thread = {
            let ex = ex.clone();
            std::thread::spawn(move || {
                block_on(ex.run(async {
                    let _ = stopped.recv().await;
                }))
            })
        };
        let monitor = block_on(Monitor::start(
            Monitor::builder(config).backend(backend),
            |task| ex.spawn(task).detach(),
        ))
        .expect("monitor starts");
        Running {
            monitor: Some(monitor),
            stop,
            thread: Some(thread),
        }
    }

    fn handle(m: &Running) -> &Handle {
        m.monitor.as_ref().expect("running")
    }

    fn stop(mut m: Running) {
        if let Some(monitor) = m.monitor.take() {
            // Waits (without blocking the executor) until the task ended.
            block_on(monitor.shutdown());
        }
        let _ = m.stop.try_send(());
        if let Some(t) = m.thread.take() {
            t.join().expect("the executor's thread ended");
        }
    }
}
