//! Linux: netlink sockets and network namespaces.

mod backend;
mod bpf;
mod dump_socket;
mod enumerate;
mod netns;
mod route_socket;
mod sockopt;
#[cfg(feature = "test-support")]
mod test_support;

pub use backend::NetlinkBackend;
pub use enumerate::{EnumerateError, Enumerator};
pub use netns::Netns;
pub use route_socket::{Recv, RouteSocket, RouteSocketOptions};
#[cfg(feature = "test-support")]
pub use test_support::drop_netlink_memberships;
