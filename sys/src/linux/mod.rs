//! Linux: netlink sockets and network namespaces.

mod backend;
mod bpf;
mod enumerate;
mod netns;
mod route_socket;
mod sockopt;
mod test_support;

pub use backend::NetlinkBackend;
pub use enumerate::{EnumerateError, Enumerator};
pub use netns::Netns;
pub use route_socket::{Recv, RouteSocket, RouteSocketOptions};
pub use test_support::drop_netlink_memberships;
