//! [`Error`]: why a monitor could not start.

use std::fmt;
use std::io;

/// Why a monitor could not start. The same variants as the other netstate
/// drivers', so code that reports them does not depend on the runtime.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The route socket, the enumerator, or a `ThreadMonitor`'s `Poll`,
    /// waker or thread could not be opened (no permission to open a netlink
    /// socket, the namespace is gone, an unsupported system, no more
    /// threads).
    Open(io::Error),
    /// The first enumeration failed; the text says why.
    FirstEnumeration(String),
    /// The monitor stopped before it was ready. Not returned by this crate,
    /// whose monitors are ready when their constructor returns; kept so that
    /// code handling every driver's errors reads the same.
    Stopped,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Open(e) => write!(f, "cannot open the route monitor: {e}"),
            Error::FirstEnumeration(e) => write!(f, "cannot read the network state: {e}"),
            Error::Stopped => f.write_str("the monitor stopped before it was ready"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Open(e) => Some(e),
            _ => None,
        }
    }
}
