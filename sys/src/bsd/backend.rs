//! [`GetifaddrsBackend`]: `getifaddrs` for the truth, a routing socket for
//! the hints.

use std::fmt;
use std::io;

use netstate_core::OsError;

use crate::backend::{Backend, EnumerateFailure, EnumerationPoll, EventSource};
use crate::getifaddrs::GetifaddrsEnumerator;

/// Opens a new route-monitor source for a [`GetifaddrsBackend`].
type OpenSource = Box<dyn FnMut() -> io::Result<Box<dyn EventSource>> + Send>;

/// The [`Backend`] of the Unix systems without netlink: a
/// [`GetifaddrsEnumerator`] for the interface table and a route-monitor
/// source for the hints, on macOS, iOS and FreeBSD a `PF_ROUTE`
/// [`RouteSocketReader`](crate::RouteSocketReader) (`open`).
///
/// Its snapshots have no default routes and no address flags (see
/// [`GetifaddrsEnumerator`]). On Linux it is for tests:
/// [`with_source`](Self::with_source) pairs the enumerator with any source,
/// a reader over a `socketpair` for example.
pub struct GetifaddrsBackend {
    enumerator: GetifaddrsEnumerator,
    open: OpenSource,
}

impl GetifaddrsBackend {
    /// `getifaddrs` with sources made by `open`, called once when the
    /// [`Engine`](crate::Engine) starts and again at every rebind.
    pub fn with_source(
        open: impl FnMut() -> io::Result<Box<dyn EventSource>> + Send + 'static,
    ) -> Self {
        GetifaddrsBackend {
            enumerator: GetifaddrsEnumerator::new(),
            open: Box::new(open),
        }
    }

    /// `getifaddrs` with a `PF_ROUTE` socket
    /// ([`RouteSocketReader::open`](crate::RouteSocketReader::open)) for
    /// hints. Not verified on a real host yet.
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    #[must_use]
    pub fn open() -> Self {
        GetifaddrsBackend::with_source(|| {
            Ok(Box::new(crate::RouteSocketReader::open()?) as Box<dyn EventSource>)
        })
    }
}

impl fmt::Debug for GetifaddrsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetifaddrsBackend")
            .field("enumerator", &self.enumerator)
            .finish_non_exhaustive()
    }
}

impl Backend for GetifaddrsBackend {
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>> {
        (self.open)()
    }

    /// `getifaddrs` is one call: the answer is always at once.
    fn start_enumeration(&mut self) -> EnumerationPoll {
        EnumerationPoll::Done(
            self.enumerator
                .enumerate()
                .map_err(|e| EnumerateFailure::Failed(OsError::new(e.to_string()))),
        )
    }
}
