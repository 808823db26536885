//! The simulated interface table: [`NetTable`], the truth that enumerations
//! read, and [`NetOp`], the small vocabulary random scenarios change it with.
//!
//! Every change returns the route-socket messages a kernel would send for
//! it, as [`RouteEvent`] hints; the simulated socket decides what becomes of
//! them.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netstate_core::ipnet::IpNet;
use netstate_core::{
    AddrFlags, Address, DefaultRoute, DefaultRoutes, Family, Interface, InterfaceFlags, RouteEvent,
    RouteEventKind, Snapshot, SnapshotError,
};
use serde::{Deserialize, Serialize};

/// The main routing table's number on Linux; default routes are sent in it.
pub const MAIN_TABLE: u32 = 254;

/// Why a change to a [`NetTable`] was refused. The table is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetError {
    /// No interface has this name. Add it first, or check the spelling.
    NoSuchInterface(String),
    /// An interface already has this name. Remove it first or pick another.
    NameTaken(String),
    /// The result would not be a consistent snapshot.
    Snapshot(SnapshotError),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::NoSuchInterface(n) => write!(f, "no interface is named {n:?}"),
            NetError::NameTaken(n) => write!(f, "an interface is already named {n:?}"),
            NetError::Snapshot(e) => write!(f, "inconsistent interface table: {e}"),
        }
    }
}

impl std::error::Error for NetError {}

/// A simulated host's interface table and default routes.
///
/// It hands out interface indexes like Linux does (increasing, never
/// reused), and every mutation returns the hints a kernel would send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetTable {
    snapshot: Snapshot,
    next_index: u32,
}

impl Default for NetTable {
    fn default() -> Self {
        NetTable::new()
    }
}

fn family_of(net: &IpNet) -> Family {
    match net {
        IpNet::V4(_) => Family::V4,
        IpNet::V6(_) => Family::V6,
    }
}

fn addr_event(kind: RouteEventKind, index: u32, net: &IpNet) -> RouteEvent {
    RouteEvent::new(kind)
        .with_family(family_of(net))
        .with_index(index)
}

fn link_event(kind: RouteEventKind, i: &Interface) -> RouteEvent {
    RouteEvent::new(kind).with_index(i.index).with_name(&i.name)
}

fn route_event(kind: RouteEventKind, family: Family, index: u32) -> RouteEvent {
    RouteEvent::new(kind)
        .with_family(family)
        .with_index(index)
        .with_route(MAIN_TABLE, 0)
}

/// The hints a kernel sends when its table goes from `old` to `new`: link
/// messages for interfaces added, removed or changed, address messages for
/// addresses added, removed or re-flagged, route messages for default routes.
#[must_use]
pub fn hints_between(old: &Snapshot, new: &Snapshot) -> Vec<RouteEvent> {
    let delta = Snapshot::diff(old, new);
    let mut out = Vec::new();
    for id in &delta.removed {
        if let Some(i) = old.by_index(id.index) {
            for a in &i.addrs {
                out.push(addr_event(RouteEventKind::AddrDel, i.index, &a.net));
            }
            out.push(link_event(RouteEventKind::LinkDel, i));
        }
    }
    for id in &delta.added {
        if let Some(i) = new.by_index(id.index) {
            out.push(link_event(RouteEventKind::LinkNew, i));
            for a in &i.addrs {
                out.push(addr_event(RouteEventKind::AddrNew, i.index, &a.net));
            }
        }
    }
    for c in &delta.changed {
        let link_changed =
            c.flags_changed() || c.mtu_changed || c.mac_changed || c.renamed_from.is_some();
        if link_changed {
            if let Some(i) = new.by_index(c.index) {
                out.push(link_event(RouteEventKind::LinkNew, i));
            }
        }
        for a in &c.addrs_removed {
            out.push(addr_event(RouteEventKind::AddrDel, c.index, &a.net));
        }
        for a in c.addrs_added.iter() {
            out.push(addr_event(RouteEventKind::AddrNew, c.index, &a.net));
        }
        for f in &c.addrs_flags_changed {
            out.push(addr_event(RouteEventKind::AddrNew, c.index, &f.old.net));
        }
    }
    let (ro, rn) = (old.default_routes(), new.default_routes());
    for (family, changed, before, after) in [
        (Family::V4, delta.default_route_changed.v4, &ro.v4, &rn.v4),
        (Family::V6, delta.default_route_changed.v6, &ro.v6, &rn.v6),
    ] {
        if !changed {
            continue;
        }
        if let Some(r) = before {
            out.push(route_event(RouteEventKind::RouteDel, family, r.index));
        }
        if let Some(r) = after {
            out.push(route_event(RouteEventKind::RouteNew, family, r.index));
        }
    }
    out
}

impl NetTable {
    /// A table with no interface and no default route.
    #[must_use]
    pub fn new() -> Self {
        NetTable {
            snapshot: Snapshot::empty(),
            next_index: 1,
        }
    }

    /// A table holding `snapshot`; new interfaces get indexes above its
    /// highest.
    #[must_use]
    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let next_index = snapshot
            .interfaces()
            .iter()
            .map(|i| i.index.saturating_add(1))
            .max()
            .unwrap_or(1);
        NetTable {
            snapshot,
            next_index,
        }
    }

    /// The table as a [`Snapshot`]: what an enumeration reads.
    #[must_use]
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The interface named `name`.
    #[must_use]
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.snapshot.by_name(name)
    }

    fn index_of(&self, name: &str) -> Result<u32, NetError> {
        self.interface(name)
            .map(|i| i.index)
            .ok_or_else(|| NetError::NoSuchInterface(name.to_owned()))
    }

    /// Replaces the whole table and returns the hints for the difference.
    pub fn set_snapshot(&mut self, new: Snapshot) -> Vec<RouteEvent> {
        let hints = hints_between(&self.snapshot, &new);
        let highest = new.interfaces().iter().map(|i| i.index).max().unwrap_or(0);
        self.next_index = self.next_index.max(highest.saturating_add(1));
        self.snapshot = new;
        hints
    }

    fn rebuild(
        &mut self,
        interfaces: Vec<Interface>,
        routes: DefaultRoutes,
    ) -> Result<Vec<RouteEvent>, NetError> {
        let new = Snapshot::new(interfaces, routes).map_err(NetError::Snapshot)?;
        Ok(self.set_snapshot(new))
    }

    fn edit(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Interface),
    ) -> Result<Vec<RouteEvent>, NetError> {
        let index = self.index_of(name)?;
        let mut interfaces = self
            .snapshot
            .interfaces()
            .iter()
            .cloned()
            .collect::<Vec<_>>();
        if let Some(i) = interfaces.iter_mut().find(|i| i.index == index) {
            f(i);
        }
        let routes = self.snapshot.default_routes().clone();
        self.rebuild(interfaces, routes)
    }

    /// Adds an interface named `name` with `flags` and no address, under a
    /// fresh index, which it returns with the hints.
    pub fn add_interface(
        &mut self,
        name: &str,
        flags: InterfaceFlags,
    ) -> Result<(u32, Vec<RouteEvent>), NetError> {
        let mut i = Interface::new(self.next_index, name);
        i.flags = flags;
        i.mtu = 1500;
        let index = i.index;
        let hints = self.insert_interface(i)?;
        Ok((index, hints))
    }

    /// Adds `interface` as it is (its index must be free; 0 picks a fresh one).
    pub fn insert_interface(
        &mut self,
        mut interface: Interface,
    ) -> Result<Vec<RouteEvent>, NetError> {
        if self.interface(&interface.name).is_some() {
            return Err(NetError::NameTaken(interface.name));
        }
        if interface.index == 0 {
            interface.index = self.next_index;
        }
        let mut interfaces = self
            .snapshot
            .interfaces()
            .iter()
            .cloned()
            .collect::<Vec<_>>();
        interfaces.push(interface);
        let routes = self.snapshot.default_routes().clone();
        self.rebuild(interfaces, routes)
    }

    /// Removes the interface named `name`, and the default routes through it
    /// (the kernel deletes a device's routes with it).
    pub fn remove_interface(&mut self, name: &str) -> Result<Vec<RouteEvent>, NetError> {
        let index = self.index_of(name)?;
        let interfaces: Vec<Interface> = self
            .snapshot
            .interfaces()
            .iter()
            .filter(|i| i.index != index)
            .cloned()
            .collect();
        let mut routes = self.snapshot.default_routes().clone();
        for r in [&mut routes.v4, &mut routes.v6] {
            if r.as_ref().is_some_and(|r| r.index == index) {
                *r = None;
            }
        }
        self.rebuild(interfaces, routes)
    }

    /// Renames an interface (its index stays).
    pub fn rename_interface(&mut self, old: &str, new: &str) -> Result<Vec<RouteEvent>, NetError> {
        if self.interface(new).is_some() {
            return Err(NetError::NameTaken(new.to_owned()));
        }
        let new = new.to_owned();
        self.edit(old, |i| i.name = new)
    }

    /// Sets the interface administratively up (with carrier) or down.
    pub fn set_up(&mut self, name: &str, up: bool) -> Result<Vec<RouteEvent>, NetError> {
        self.edit(name, |i| {
            i.flags
                .set(InterfaceFlags::UP | InterfaceFlags::RUNNING, up);
        })
    }

    /// Adds `net` to the interface, with no flags. Adding an address it
    /// already has is a re-announcement: a hint, and no change.
    pub fn add_address(&mut self, name: &str, net: IpNet) -> Result<Vec<RouteEvent>, NetError> {
        self.set_address(name, Address::new(net))
    }

    /// Adds `address` to the interface, or sets the flags of the address it
    /// already has; sends a hint either way.
    pub fn set_address(
        &mut self,
        name: &str,
        address: Address,
    ) -> Result<Vec<RouteEvent>, NetError> {
        let index = self.index_of(name)?;
        let mut hints = self.edit(name, |i| {
            i.addrs.retain(|a| a.net != address.net);
            i.addrs.push(address);
        })?;
        if hints.is_empty() {
            hints.push(addr_event(RouteEventKind::AddrNew, index, &address.net));
        }
        Ok(hints)
    }

    /// Removes `net` from the interface (nothing happens if it lacks it).
    pub fn remove_address(&mut self, name: &str, net: IpNet) -> Result<Vec<RouteEvent>, NetError> {
        self.edit(name, |i| i.addrs.retain(|a| a.net != net))
    }

    /// Replaces address `old` of the interface with `new` (a DHCP lease
    /// moving to another address, a Wi-Fi network change).
    pub fn replace_address(
        &mut self,
        name: &str,
        old: IpNet,
        new: IpNet,
    ) -> Result<Vec<RouteEvent>, NetError> {
        self.edit(name, |i| {
            i.addrs.retain(|a| a.net != old && a.net != new);
            i.addrs.push(Address::new(new));
        })
    }

    /// Points the default route of `family` at the interface named `via`
    /// (with an optional gateway), or removes it with `None`.
    pub fn set_default_route(
        &mut self,
        family: Family,
        via: Option<(&str, Option<IpAddr>)>,
    ) -> Result<Vec<RouteEvent>, NetError> {
        let route = match via {
            Some((name, gateway)) => Some(DefaultRoute::new(self.index_of(name)?, name, gateway)),
            None => None,
        };
        let mut routes = self.snapshot.default_routes().clone();
        match family {
            Family::V4 => routes.v4 = route,
            Family::V6 => routes.v6 = route,
            // A family the simulated table does not model: nothing changes.
            _ => return Ok(Vec::new()),
        }
        let interfaces = self
            .snapshot
            .interfaces()
            .iter()
            .cloned()
            .collect::<Vec<_>>();
        self.rebuild(interfaces, routes)
    }

    /// A hint that changes nothing: the kernel re-announcing the first
    /// address of the interface (new lifetimes), or its link if it has no
    /// address. Storms are made of these.
    pub fn reannounce(&self, name: &str) -> Result<RouteEvent, NetError> {
        let i = self
            .interface(name)
            .ok_or_else(|| NetError::NoSuchInterface(name.to_owned()))?;
        Ok(match i.addrs.first() {
            Some(a) => addr_event(RouteEventKind::AddrNew, i.index, &a.net),
            None => link_event(RouteEventKind::LinkNew, i),
        })
    }
}

/// The names random scenarios give their interfaces, by slot. `veth0` is the
/// one the scenarios' filter may ignore.
pub const SLOT_NAMES: [&str; 4] = ["eth0", "wlan0", "tun0", "veth0"];

/// The number of addresses a slot can hold in random scenarios.
pub const SLOT_ADDRS: u8 = 8;

/// The interface name of slot `slot` (taken modulo the number of slots).
#[must_use]
pub fn slot_name(slot: u8) -> &'static str {
    SLOT_NAMES[usize::from(slot) % SLOT_NAMES.len()]
}

/// Address number `addr` of slot `slot`: four IPv4 addresses, two global
/// IPv6 addresses, two IPv6 link-local addresses.
#[must_use]
pub fn slot_address(slot: u8, addr: u8) -> IpNet {
    let s = slot % SLOT_NAMES.len() as u8;
    let k = addr % SLOT_ADDRS;
    match k {
        0..=3 => IpNet::V4(
            netstate_core::ipnet::Ipv4Net::new(Ipv4Addr::new(10, s, k, 2), 24).unwrap_or_default(),
        ),
        4 | 5 => IpNet::V6(
            netstate_core::ipnet::Ipv6Net::new(
                Ipv6Addr::new(0x2001, 0xdb8, u16::from(s), u16::from(k), 0, 0, 0, 2),
                64,
            )
            .unwrap_or_default(),
        ),
        _ => IpNet::V6(
            netstate_core::ipnet::Ipv6Net::new(
                Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, u16::from(s), u16::from(k)),
                64,
            )
            .unwrap_or_default(),
        ),
    }
}

/// One random change to a [`NetTable`], in terms of small slot and address
/// numbers so that proptest can shrink it. An operation that does not apply
/// (an address on an interface that is gone) does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetOp {
    /// Add address `addr` to slot `slot` (a re-announcement if present).
    AddAddr {
        /// The interface slot.
        slot: u8,
        /// The address number.
        addr: u8,
    },
    /// Remove address `addr` from slot `slot`.
    RemoveAddr {
        /// The interface slot.
        slot: u8,
        /// The address number.
        addr: u8,
    },
    /// Mark address `addr` of slot `slot` tentative (duplicate detection
    /// running) or not.
    Tentative {
        /// The interface slot.
        slot: u8,
        /// The address number.
        addr: u8,
        /// Tentative or usable.
        on: bool,
    },
    /// Set the link of slot `slot` up or down.
    Link {
        /// The interface slot.
        slot: u8,
        /// Up or down.
        up: bool,
    },
    /// Create the interface of slot `slot` (up, no address) under a fresh index.
    AddInterface {
        /// The interface slot.
        slot: u8,
    },
    /// Delete the interface of slot `slot`.
    RemoveInterface {
        /// The interface slot.
        slot: u8,
    },
    /// Point the default route of a family at slot `slot`, or remove it.
    DefaultRoute {
        /// IPv6 rather than IPv4.
        v6: bool,
        /// The interface slot, or `None` to remove the route.
        slot: Option<u8>,
    },
}

impl NetOp {
    /// Applies the operation; returns the hints, empty when it did not apply.
    pub fn apply(&self, table: &mut NetTable) -> Vec<RouteEvent> {
        let result = match *self {
            NetOp::AddAddr { slot, addr } => {
                table.add_address(slot_name(slot), slot_address(slot, addr))
            }
            NetOp::RemoveAddr { slot, addr } => {
                table.remove_address(slot_name(slot), slot_address(slot, addr))
            }
            NetOp::Tentative { slot, addr, on } => {
                let net = slot_address(slot, addr);
                let name = slot_name(slot);
                match table.interface(name).and_then(|i| i.address(&net)) {
                    Some(a) => {
                        let mut a = *a;
                        a.flags.set(AddrFlags::TENTATIVE, on);
                        table.set_address(name, a)
                    }
                    None => Ok(Vec::new()),
                }
            }
            NetOp::Link { slot, up } => table.set_up(slot_name(slot), up),
            NetOp::AddInterface { slot } => {
                let flags =
                    InterfaceFlags::UP | InterfaceFlags::RUNNING | InterfaceFlags::MULTICAST;
                table.add_interface(slot_name(slot), flags).map(|(_, h)| h)
            }
            NetOp::RemoveInterface { slot } => table.remove_interface(slot_name(slot)),
            NetOp::DefaultRoute { v6, slot } => {
                let family = if v6 { Family::V6 } else { Family::V4 };
                let via = slot.map(|s| {
                    let s = s % SLOT_NAMES.len() as u8;
                    let gateway = if v6 {
                        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1))
                    } else {
                        IpAddr::V4(Ipv4Addr::new(10, s, 0, 1))
                    };
                    (slot_name(s), Some(gateway))
                });
                table.set_default_route(family, via)
            }
        };
        result.unwrap_or_default()
    }
}

/// The table random scenarios start from: `lo`, `eth0` with an IPv4 and an
/// IPv6 address and the IPv4 default route, and `veth0` (up, no address).
#[must_use]
pub fn starting_table() -> NetTable {
    let mut t = NetTable::new();
    let ops = [
        NetOp::AddInterface { slot: 0 },
        NetOp::AddAddr { slot: 0, addr: 0 },
        NetOp::AddAddr { slot: 0, addr: 4 },
        NetOp::DefaultRoute {
            v6: false,
            slot: Some(0),
        },
        NetOp::AddInterface { slot: 3 },
    ];
    let lo = InterfaceFlags::UP | InterfaceFlags::RUNNING | InterfaceFlags::LOOPBACK;
    if t.add_interface("lo", lo).is_ok() {
        let localhost = netstate_core::ipnet::Ipv4Net::new(Ipv4Addr::LOCALHOST, 8);
        if let Ok(net) = localhost {
            let _ = t.add_address("lo", IpNet::V4(net));
        }
    }
    for op in ops {
        op.apply(&mut t);
    }
    t
}

/// A one-line description of a snapshot for logs: each interface with its
/// state and addresses, then the default routes.
#[must_use]
pub fn describe(s: &Snapshot) -> String {
    use fmt::Write as _;
    let mut out = String::new();
    for i in s.interfaces() {
        let state = if i.is_up() { "up" } else { "down" };
        let _ = write!(out, "{}#{}[{}]{{", i.name, i.index, state);
        for (n, a) in i.addrs.iter().enumerate() {
            if n > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{}", a.net);
            if !a.flags.is_empty() {
                let _ = write!(out, "{:?}", a.flags);
            }
        }
        out.push_str("} ");
    }
    let r = s.default_routes();
    for (name, route) in [("v4", &r.v4), ("v6", &r.v6)] {
        if let Some(route) = route {
            let _ = write!(out, "{name}->{} ", route.interface);
        }
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn every_change_comes_with_the_hints_a_kernel_sends() {
        let mut t = NetTable::new();
        let (idx, h) = t.add_interface("eth0", InterfaceFlags::UP).unwrap();
        assert_eq!(idx, 1);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].kind, RouteEventKind::LinkNew);
        let h = t.add_address("eth0", net("10.0.0.2/24")).unwrap();
        assert_eq!(
            h,
            vec![addr_event(RouteEventKind::AddrNew, 1, &net("10.0.0.2/24"))]
        );
        // A re-announcement is a hint without a change.
        let before = t.snapshot().clone();
        let h = t.add_address("eth0", net("10.0.0.2/24")).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(t.snapshot(), &before);
        let h = t
            .set_default_route(Family::V4, Some(("eth0", None)))
            .unwrap();
        assert_eq!(h[0].kind, RouteEventKind::RouteNew);
        assert_eq!(h[0].dst_prefix_len, Some(0));
        let h = t.remove_interface("eth0").unwrap();
        let kinds: Vec<_> = h.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                RouteEventKind::AddrDel,
                RouteEventKind::LinkDel,
                RouteEventKind::RouteDel
            ]
        );
        assert!(t.snapshot().default_routes().v4.is_none());
        // Indexes are not reused.
        let (idx, _) = t.add_interface("eth0", InterfaceFlags::UP).unwrap();
        assert_eq!(idx, 2);
        assert_eq!(
            t.add_interface("eth0", InterfaceFlags::UP).unwrap_err(),
            NetError::NameTaken("eth0".into())
        );
        assert!(matches!(
            t.set_up("nope", true),
            Err(NetError::NoSuchInterface(_))
        ));
    }

    #[test]
    fn ops_on_missing_interfaces_do_nothing() {
        let mut t = starting_table();
        let before = t.snapshot().clone();
        assert!(NetOp::AddAddr { slot: 1, addr: 0 }.apply(&mut t).is_empty());
        assert!(NetOp::DefaultRoute {
            v6: true,
            slot: Some(2)
        }
        .apply(&mut t)
        .is_empty());
        assert_eq!(t.snapshot(), &before);
        assert_eq!(
            describe(t.snapshot()),
            "lo#1[up]{127.0.0.1/8} eth0#2[up]{10.0.0.2/24 2001:db8:0:4::2/64} veth0#3[up]{} v4->eth0"
        );
    }

    #[test]
    fn slot_addresses_are_distinct() {
        let mut all: Vec<IpNet> = (0..4u8)
            .flat_map(|s| (0..SLOT_ADDRS).map(move |a| slot_address(s, a)))
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 4 * usize::from(SLOT_ADDRS));
    }
}
