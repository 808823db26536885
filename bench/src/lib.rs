//! Helpers shared by netstate's benchmarks: synthetic inputs for the
//! criterion micro-benchmarks in `benches/`, and the namespace scenarios,
//! measurements and netlink client of the binaries in `src/bin/`
//! (`enumeration`, and `peers`, the side-by-side comparison with `netwatch`
//! and `if-watch`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod measure;
pub mod nl;
pub mod setup;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netstate_core::ipnet::IpNet;
use netstate_core::{Address, DefaultRoutes, Interface, InterfaceFlags, Snapshot};

/// A snapshot of `interfaces` interfaces with `addrs` addresses each, half
/// IPv4 and half IPv6. `variant` changes one address in every tenth
/// interface, so two variants differ in a tenth of the table.
#[must_use]
pub fn synthetic_snapshot(interfaces: u32, addrs: u32, variant: u32) -> Snapshot {
    let list = (1..=interfaces)
        .map(|index| {
            let mut i = Interface::new(index, format!("if{index}"));
            i.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING;
            i.mtu = 1500;
            for a in 0..addrs {
                let bump = if index % 10 == 0 && a == 0 {
                    variant
                } else {
                    0
                };
                let ip = if a % 2 == 0 {
                    let [_, b, c, d] = (index << 8 | (a + bump)).to_be_bytes();
                    IpAddr::V4(Ipv4Addr::new(10, b, c, d))
                } else {
                    IpAddr::V6(Ipv6Addr::new(
                        0x2001,
                        0xdb8,
                        0,
                        0,
                        0,
                        0,
                        index as u16,
                        (a + bump) as u16,
                    ))
                };
                let prefix = if ip.is_ipv4() { 24 } else { 64 };
                if let Ok(net) = IpNet::new(ip, prefix) {
                    i.addrs.push(Address::new(net));
                }
            }
            i
        })
        .collect();
    Snapshot::new(list, DefaultRoutes::default()).unwrap_or_default()
}
