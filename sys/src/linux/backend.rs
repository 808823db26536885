//! The Linux [`Backend`]: netlink route socket and dump socket, in the
//! caller's network namespace or a given one.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;

use netstate_core::wire::netlink::events::parse_events;
use netstate_core::{RouteEvent, Targets};

use super::dump_socket::DumpSocket;
use super::netns::Netns;
use super::route_socket::{Recv, RouteSocket, RouteSocketOptions};
use crate::backend::{Backend, EnumerationCounters, EnumerationPoll, EventSource, SourceRead};

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
}

/// Netlink on Linux: a [`RouteSocket`] for hints and a non-blocking dump
/// socket for the truth, both in one network namespace.
#[derive(Debug)]
pub struct NetlinkBackend {
    netns: Option<Arc<Netns>>,
    dump: DumpSocket,
}

impl NetlinkBackend {
    /// The caller's network namespace.
    pub fn open() -> io::Result<Self> {
        Ok(NetlinkBackend {
            dump: DumpSocket::open(None)?,
            netns: None,
        })
    }

    /// The network namespace `netns` (sockets are created inside it; the
    /// caller's thread never moves).
    pub fn open_in(netns: Arc<Netns>) -> io::Result<Self> {
        Ok(NetlinkBackend {
            dump: DumpSocket::open(Some(netns.clone()))?,
            netns: Some(netns),
        })
    }
}

impl Backend for NetlinkBackend {
    fn open_source(&mut self) -> io::Result<Box<dyn EventSource>> {
        let options = RouteSocketOptions::default();
        let socket = match &self.netns {
            Some(ns) => RouteSocket::open_in(ns, &options)?,
            None => RouteSocket::open_with(&options)?,
        };
        Ok(Box::new(socket))
    }

    fn start_enumeration(&mut self) -> EnumerationPoll {
        self.dump.start()
    }

    fn start_refresh(&mut self, targets: &Targets) -> EnumerationPoll {
        self.dump.start_targeted(targets)
    }

    fn poll_enumeration(&mut self) -> EnumerationPoll {
        self.dump.poll()
    }

    fn cancel_enumeration(&mut self) {
        self.dump.cancel();
    }

    fn enumeration_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.dump.fd())
    }

    fn take_retired_fd(&mut self) -> Option<OwnedFd> {
        self.dump.take_retired()
    }

    fn counters(&self) -> EnumerationCounters {
        self.dump.counters()
    }
}
