//! [`StartError`]: why a monitor could not start, the same for every driver.

use std::fmt;
use std::io;

/// Why a monitor could not start. Every driver re-exports it as its
/// `Error`, so code that reports start failures does not depend on the
/// runtime.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The route socket, the enumerator, or what the driver needs to run
    /// (a thread, a `Poll`, a waker) could not be opened: no permission to
    /// open a netlink socket, the namespace is gone, an unsupported system,
    /// no more threads.
    Open(io::Error),
    /// The first enumeration failed; the text says why. Retrying later may
    /// succeed.
    FirstEnumeration(String),
    /// The monitor's task or thread ended before it was ready (the runtime
    /// is shutting down, or the thread panicked). Drivers whose monitors
    /// are ready when their constructor returns never return it.
    Stopped,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Open(e) => write!(f, "cannot open the route monitor: {e}"),
            StartError::FirstEnumeration(e) => write!(f, "cannot read the network state: {e}"),
            StartError::Stopped => f.write_str("the monitor stopped before it was ready"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Open(e) => Some(e),
            _ => None,
        }
    }
}
