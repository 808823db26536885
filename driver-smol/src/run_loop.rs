//! The monitor's loop: one dedicated thread that runs an `async-io` future
//! with `async_io::block_on` until the monitor's wake-up channel closes.
//!
//! Each turn waits for the first of: a message or the closing of the
//! wake-up channel, readiness of the route socket (`Async<OwnedFd>` over
//! the engine's duplicate descriptor), or the engine's deadline
//! (`Timer::at`). Then it wakes the engine, which drains the socket until it
//! would block. When the engine reports more queued datagrams after its
//! per-wake cap, the next turn wakes it again without waiting.

use std::os::fd::OwnedFd;
use std::time::Instant;

use async_channel::{Receiver, Sender};
use async_io::{Async, Timer};
use futures_lite::future;
use netstate_sys::Engine;

use crate::Error;

/// Runs the monitor on the calling thread until `wakeups` is closed.
///
/// Sends one readiness report on `status` (`Ok` once the first state is
/// published); drops `status` only after the engine, its sockets and their
/// reactor registrations are gone and the subscribers are closed, so a
/// receiver that sees it closed knows the monitor has fully stopped.
pub(crate) fn run(engine: Engine, wakeups: Receiver<()>, status: Sender<Result<(), Error>>) {
    let shared = engine.shared().clone();
    async_io::block_on(drive(engine, &wakeups, &status));
    shared.close();
    drop(status);
}

/// What ended a wait.
enum Wait {
    /// A wake-up request, the route socket's readiness or the deadline.
    Woken,
    /// The reactor could not watch the socket any more.
    ReadinessFailed,
    /// The monitor was dropped or shut down.
    Stop,
}

async fn drive(mut engine: Engine, wakeups: &Receiver<()>, status: &Sender<Result<(), Error>>) {
    engine.wake(Instant::now());
    if !engine.started() {
        let why = engine
            .last_error()
            .unwrap_or("the first enumeration failed")
            .to_owned();
        let _ = status.try_send(Err(Error::FirstEnumeration(why)));
        return;
    }
    // Watch the socket before reporting ready, so that a started monitor
    // has its reactor registration (and the process its `async-io`
    // reactor) in place.
    let mut generation = engine.socket_generation();
    let mut fd = watch(&engine);
    if status.try_send(Ok(())).is_err() {
        // Whoever started the monitor is gone.
        return;
    }
    let mut more_queued = false;
    loop {
        if wakeups.is_closed() {
            return;
        }
        if generation != engine.socket_generation() {
            generation = engine.socket_generation();
            // The old duplicate is deregistered and closed here, after the
            // engine opened its replacement.
            fd = watch(&engine);
        }
        if !more_queued {
            match wait(fd.as_ref(), engine.poll_timeout(), wakeups).await {
                Wait::Woken => {}
                // Without readiness the deadline still runs the engine (the
                // reconcile interval heals what is missed); the socket is
                // watched again from its next generation on.
                Wait::ReadinessFailed => fd = None,
                Wait::Stop => return,
            }
        }
        more_queued = engine.wake(Instant::now()).more_queued;
    }
}

/// Registers a duplicate of the engine's current socket with the reactor;
/// `None` while there is no socket or if it cannot be watched (the deadline
/// alone then runs the engine until the next socket generation).
fn watch(engine: &Engine) -> Option<Async<OwnedFd>> {
    engine
        .readiness_fd()
        .and_then(Result::ok)
        .and_then(|owned| Async::new(owned).ok())
}

/// Waits for a wake-up request (first, so a stop is never starved), the
/// socket's readiness, or the deadline.
async fn wait(
    fd: Option<&Async<OwnedFd>>,
    deadline: Option<Instant>,
    wakeups: &Receiver<()>,
) -> Wait {
    let requested = async {
        match wakeups.recv().await {
            Ok(()) => Wait::Woken,
            Err(_) => Wait::Stop,
        }
    };
    let readable = async {
        match fd {
            Some(fd) => match fd.readable().await {
                Ok(()) => Wait::Woken,
                Err(_) => Wait::ReadinessFailed,
            },
            None => future::pending().await,
        }
    };
    let timer = async {
        match deadline {
            Some(at) => {
                Timer::at(at).await;
                Wait::Woken
            }
            None => future::pending().await,
        }
    };
    future::or(requested, future::or(readable, timer)).await
}
