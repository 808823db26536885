//! Linux: netlink sockets and network namespaces.

mod bpf;
mod enumerate;
mod netns;
mod route_socket;
mod sockopt;

pub use enumerate::{EnumerateError, Enumerator};
pub use netns::Netns;
pub use route_socket::{Recv, RouteSocket, RouteSocketOptions};
