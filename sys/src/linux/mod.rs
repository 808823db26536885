//! Linux: netlink sockets and network namespaces.

mod backend;
mod bpf;
mod enumerate;
mod netns;
mod route_socket;
mod sockopt;

pub use backend::NetlinkBackend;
pub use enumerate::{EnumerateError, Enumerator};
pub use netns::Netns;
pub use route_socket::{Recv, RouteSocket, RouteSocketOptions};
