//! An in-process netlink client that adds and removes one address, so a
//! benchmark can timestamp a change right before the kernel sees it
//! (calling `ip` would add a process start to every measurement).

use std::io;
use std::net::IpAddr;
use std::os::fd::OwnedFd;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{
    bind, recv, sendto, socket_with, AddressFamily as Af, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};

/// `NLMSG_ERROR`: an acknowledgement (error 0) or a failure.
const NLMSG_ERROR: u16 = 2;

/// A blocking `NETLINK_ROUTE` request socket (no multicast groups).
#[derive(Debug)]
pub struct AddrClient {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl AddrClient {
    /// Opens it in the caller's network namespace.
    ///
    /// # Errors
    /// The socket cannot be opened or bound.
    pub fn open() -> io::Result<Self> {
        let fd = socket_with(Af::NETLINK, SocketType::RAW, SocketFlags::CLOEXEC, None)?;
        bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        Ok(AddrClient {
            fd,
            seq: 0,
            buf: vec![0; 64 * 1024],
        })
    }

    /// Sends `RTM_NEWADDR` (`add`) or `RTM_DELADDR` for `addr/prefix` on
    /// interface `index` without waiting: the caller timestamps right
    /// before this, then calls [`AddrClient::wait_ack`].
    ///
    /// # Errors
    /// `sendto` failed.
    pub fn send(&mut self, add: bool, index: u32, addr: IpAddr, prefix: u8) -> io::Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        msg.header.prefix_len = prefix;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(addr));
        msg.attributes.push(AddressAttribute::Address(addr));
        let payload = if add {
            RouteNetlinkMessage::NewAddress(msg)
        } else {
            RouteNetlinkMessage::DelAddress(msg)
        };
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | if add { NLM_F_CREATE | NLM_F_EXCL } else { 0 };
        self.seq = self.seq.wrapping_add(1);
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(payload));
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        sendto(
            &self.fd,
            &bytes,
            SendFlags::empty(),
            &SocketAddrNetlink::new(0, 0),
        )?;
        Ok(())
    }

    /// Reads the kernel's answer to the last request.
    ///
    /// # Errors
    /// The kernel refused the request (its errno), or `recv` failed.
    pub fn wait_ack(&mut self) -> io::Result<()> {
        loop {
            let (_, len) = recv(&self.fd, &mut self.buf[..], RecvFlags::empty())?;
            let data = &self.buf[..len.min(self.buf.len())];
            let mut off = 0;
            while off + 20 <= data.len() {
                let msg_len =
                    u32::from_ne_bytes(data[off..off + 4].try_into().unwrap_or([0; 4])) as usize;
                let kind = u16::from_ne_bytes(data[off + 4..off + 6].try_into().unwrap_or([0; 2]));
                let seq = u32::from_ne_bytes(data[off + 8..off + 12].try_into().unwrap_or([0; 4]));
                if kind == NLMSG_ERROR && seq == self.seq {
                    let code =
                        i32::from_ne_bytes(data[off + 16..off + 20].try_into().unwrap_or([0; 4]));
                    return if code == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(-code))
                    };
                }
                if msg_len < 16 {
                    break;
                }
                off += (msg_len + 3) & !3;
            }
        }
    }

    /// [`AddrClient::send`] then [`AddrClient::wait_ack`].
    ///
    /// # Errors
    /// As theirs.
    pub fn change(&mut self, add: bool, index: u32, addr: IpAddr, prefix: u8) -> io::Result<()> {
        self.send(add, index, addr, prefix)?;
        self.wait_ack()
    }
}
