//! [`StartError`]: why a monitor could not start, the same for every driver.

use std::fmt;
use std::io;

use crate::backend::EnumerateFailure;

/// Why a monitor could not start. Every driver re-exports it as its
/// `Error`, so code that reports start failures does not depend on the
/// runtime.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The route socket, the enumerator, or what the driver needs to run
    /// (a poller, a thread) could not be opened: no permission to open a
    /// netlink socket, the namespace is gone, an unsupported system, no
    /// more descriptors or threads. The I/O error is the source.
    Open(io::Error),
    /// The first enumeration failed; the backend's error is the source.
    /// Retrying later may succeed.
    FirstEnumeration(EnumerateFailure),
    /// The monitor's task or thread ended before it was ready (the runtime
    /// is shutting down, the monitor was stopped, or its thread panicked).
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
            StartError::FirstEnumeration(e) => Some(e),
            StartError::Stopped => None,
        }
    }
}

impl Clone for StartError {
    fn clone(&self) -> Self {
        match self {
            StartError::Open(e) => StartError::Open(io::Error::new(e.kind(), e.to_string())),
            StartError::FirstEnumeration(e) => StartError::FirstEnumeration(e.clone()),
            StartError::Stopped => StartError::Stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use netstate_core::OsError;

    use super::*;

    #[test]
    fn a_start_error_says_why_and_carries_the_real_error_as_its_source() {
        let open = StartError::Open(io::Error::from(io::ErrorKind::PermissionDenied));
        let denied = io::Error::from(io::ErrorKind::PermissionDenied).to_string();
        assert!(open.to_string().contains(&denied), "{open}");
        assert_eq!(open.source().map(ToString::to_string), Some(denied));

        let failure = EnumerateFailure::Failed(OsError::new("netlink dump: EPERM"));
        let first = StartError::FirstEnumeration(failure.clone());
        assert!(first.to_string().contains("netlink dump: EPERM"), "{first}");
        assert_eq!(
            first.source().map(ToString::to_string),
            Some(failure.to_string())
        );

        let stopped = StartError::Stopped;
        assert!(stopped.to_string().contains("stopped"), "{stopped}");
        assert!(stopped.source().is_none());
    }
}
