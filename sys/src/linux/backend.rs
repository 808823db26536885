//! The Linux [`Backend`]: netlink route socket and enumerator, in the
//! caller's network namespace or a given one.

use std::io;
use std::sync::Arc;

use netstate_core::wire::netlink::events::parse_events;
use netstate_core::{OsError, RouteEvent, Snapshot};

use super::enumerate::Enumerator;
use super::netns::Netns;
use super::route_socket::{Recv, RouteSocket, RouteSocketOptions};
use crate::engine::{Backend, EnumerateFailure, EnumerationCounters, EventSource, SourceRead};

impl EventSource for RouteSocket {
    fn read(
        &mut self,
        buf: &mut [u8],
        out: &mut dyn FnMut(RouteEvent),
        malformed: &mut u32,
    ) -> io::Result<SourceRead> {
        Ok(match self.recv(buf)? {
            Recv::Datagram(len) => {
                let stats = parse_events(&buf[..len], out);
                *malformed += stats.malformed;
                if stats.overruns > 0 {
                    SourceRead::Overflow
                } else {
                    SourceRead::Read
                }
            }
            Recv::NotFromKernel => SourceRead::Foreign,
            Recv::WouldBlock => SourceRead::WouldBlock,
            Recv::Overflow | Recv::Truncated => SourceRead::Overflow,
        })
    }

    fn go_silent(&self) -> io::Result<()> {
        RouteSocket::go_silent(self)
    }
}

/// Netlink on Linux: a [`RouteSocket`] for hints and an [`Enumerator`] for
/// the truth, both in one network namespace.
#[derive(Debug)]
pub struct NetlinkBackend {
    netns: Option<Arc<Netns>>,
    options: RouteSocketOptions,
    enumerator: Enumerator,
}

impl NetlinkBackend {
    /// The caller's network namespace.
    pub fn open() -> io::Result<Self> {
        Ok(NetlinkBackend {
            netns: None,
            options: RouteSocketOptions::default(),
            enumerator: Enumerator::open()?,
        })
    }

    /// The network namespace `netns` (sockets are created inside it; the
    /// caller's thread never moves).
    pub fn open_in(netns: Arc<Netns>) -> io::Result<Self> {
        Ok(NetlinkBackend {
            enumerator: Enumerator::open_in(&netns)?,
            netns: Some(netns),
            options: RouteSocketOptions::default(),
        })
    }

    /// Uses these route-socket options for every socket it opens.
    #[must_use]
    pub fn with_options(mut self, options: RouteSocketOptions) -> Self {
        self.options = options;
        self
    }
}

impl Backend for NetlinkBackend {
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>> {
        let socket = match &self.netns {
            Some(ns) => RouteSocket::open_in(ns, &self.options)?,
            None => RouteSocket::open_with(&self.options)?,
        };
        Ok(Box::new(socket))
    }

    fn enumerate(&mut self) -> Result<Snapshot, EnumerateFailure> {
        self.enumerator.enumerate().map_err(|e| {
            if e.is_interrupted() {
                EnumerateFailure::Interrupted
            } else {
                EnumerateFailure::Failed(OsError::new(e.to_string()))
            }
        })
    }

    fn counters(&self) -> EnumerationCounters {
        self.enumerator.counters()
    }
}
