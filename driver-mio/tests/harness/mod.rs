//! The mio driver as a `DriverHarness` for the shared suites: a
//! `MonitorSource` registered in a `mio::Poll` loop on a thread of the
//! test's, as an application would run it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::{Events, Interest, Poll, Token, Waker};
use netstate_core::Config;
use netstate_mio::MonitorSource;
use netstate_sys::{Backend, Handle};
use netstate_testkit::conformance::DriverHarness;

const NET: Token = Token(0);
const STOP: Token = Token(1);

pub struct Mio;

pub struct Running {
    handle: Handle,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl DriverHarness for Mio {
    type Monitor = Running;

    fn start(config: Config, backend: Box<dyn Backend>) -> Running {
        let mut source = MonitorSource::build(MonitorSource::builder(config).backend(backend))
            .expect("monitor starts");
        let handle = source.handle().clone();
        let mut poll = Poll::new().expect("poll");
        poll.registry()
            .register(&mut source, NET, Interest::READABLE)
            .expect("register");
        let waker = Arc::new(Waker::new(poll.registry(), STOP).expect("waker"));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut events = Events::with_capacity(8);
                while !stop.load(Ordering::SeqCst) {
                    // The application's loop: nothing but these calls.
                    while source.next_change().is_some() {}
                    let timeout = source.timeout_from(std::time::Instant::now());
                    if let Err(e) = poll.poll(&mut events, timeout) {
                        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
                        continue;
                    }
                    if events.iter().any(|e| e.token() == NET) {
                        source.handle_ready();
                    }
                    source.handle_timeout();
                }
            })
        };
        Running {
            handle,
            stop,
            waker,
            thread: Some(thread),
        }
    }

    fn handle(m: &Running) -> &Handle {
        &m.handle
    }

    fn stop(mut m: Running) {
        m.stop.store(true, Ordering::SeqCst);
        m.waker.wake().expect("wake");
        if let Some(t) = m.thread.take() {
            t.join().expect("the loop ended");
        }
        m.handle.close();
    }
}
