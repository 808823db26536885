//! Pure parsers (and, for netlink, request builders) for the kernel's
//! route-monitor messages. They compile and are tested on every platform.

pub mod netlink;
pub mod route_socket;
mod sockaddr;
