//! What changed between two snapshots: [`Snapshot::diff`] and [`Delta`].
//!
//! Both snapshots keep their interfaces sorted by index and each interface's
//! addresses sorted, so the diff is one merge walk: linear in their sizes.

use core::cmp::Ordering;

use smallvec::SmallVec;

use crate::flags::{AddrFlags, InterfaceFlags};
use crate::interfaces::Pair;
use crate::snapshot::{Address, Interface, Snapshot};

/// An interface named in a [`Delta`]: its index and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceId {
    /// The kernel's interface index.
    pub index: u32,
    /// The interface's name.
    pub name: String,
}

impl InterfaceId {
    fn of(i: &Interface) -> Self {
        InterfaceId {
            index: i.index,
            name: i.name.clone(),
        }
    }
}

/// An address whose flags changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrFlagsChange {
    /// The address, with its old flags.
    pub old: Address,
    /// Its new flags.
    pub new_flags: AddrFlags,
}

/// How one interface that exists in both snapshots changed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceDelta {
    /// The interface's index.
    pub index: u32,
    /// Its name in the new snapshot.
    pub name: String,
    /// Its old name, when it was renamed.
    pub renamed_from: Option<String>,
    /// Addresses it gained.
    pub addrs_added: SmallVec<[Address; 2]>,
    /// Addresses it lost.
    pub addrs_removed: SmallVec<[Address; 2]>,
    /// Addresses whose flags changed (tentative to usable, deprecated, …).
    pub addrs_flags_changed: SmallVec<[AddrFlagsChange; 2]>,
    /// Its flags before.
    pub old_flags: InterfaceFlags,
    /// Its flags after.
    pub new_flags: InterfaceFlags,
    /// Whether its MTU changed.
    pub mtu_changed: bool,
    /// Whether its hardware address changed.
    pub mac_changed: bool,
}

impl InterfaceDelta {
    /// Whether any interface flag changed.
    #[must_use]
    pub fn flags_changed(&self) -> bool {
        self.old_flags != self.new_flags
    }

    /// Whether the change can matter to an application's reachability: a
    /// rename, a change of up/running/loopback/point-to-point, or a
    /// non-link-local address gained, lost or becoming (un)usable.
    #[must_use]
    pub fn is_major(&self) -> bool {
        self.renamed_from.is_some()
            || self
                .old_flags
                .symmetric_difference(self.new_flags)
                .intersects(InterfaceFlags::REACHABILITY)
            || self
                .addrs_added
                .iter()
                .chain(self.addrs_removed.iter())
                .any(|a| !a.is_link_local())
            || self.addrs_flags_changed.iter().any(|c| {
                !c.old.is_link_local()
                    && c.old
                        .flags
                        .symmetric_difference(c.new_flags)
                        .intersects(AddrFlags::USABILITY)
            })
    }
}

/// Whether each family's default route changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DefaultRouteDelta {
    /// The IPv4 default route changed (appeared, vanished, or moved).
    pub v4: bool,
    /// The IPv6 default route changed.
    pub v6: bool,
}

/// The difference between two snapshots.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Delta {
    /// Interfaces only in the new snapshot, by index.
    pub added: Vec<InterfaceId>,
    /// Interfaces only in the old snapshot, by index.
    pub removed: Vec<InterfaceId>,
    /// Interfaces in both that differ, by index.
    pub changed: Vec<InterfaceDelta>,
    /// Which default routes changed.
    pub default_route_changed: DefaultRouteDelta,
}

impl Delta {
    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && !self.default_route_changed.v4
            && !self.default_route_changed.v6
    }

    /// Whether the change can matter to an application: an interface added or
    /// removed, a default route changed, or an interface changed in a major
    /// way ([`InterfaceDelta::is_major`]). Only link-local addresses, MTU,
    /// hardware address or flags such as multicast changing is minor.
    #[must_use]
    pub fn is_major(&self) -> bool {
        !self.added.is_empty()
            || !self.removed.is_empty()
            || self.default_route_changed.v4
            || self.default_route_changed.v6
            || self.changed.iter().any(InterfaceDelta::is_major)
    }
}

impl Snapshot {
    /// The difference from `old` to `new`, in one pass over both that skips
    /// what they share: a state made from the other by a targeted read
    /// costs the chunks the read touched, not the whole table.
    #[must_use]
    pub fn diff(old: &Snapshot, new: &Snapshot) -> Delta {
        let mut delta = Delta::default();
        for pair in old.table().pairs(new.table()) {
            match pair {
                Pair::Old(a) => delta.removed.push(InterfaceId::of(a)),
                Pair::New(b) => delta.added.push(InterfaceId::of(b)),
                Pair::Both(a, b) => {
                    if a != b {
                        delta.changed.push(diff_interface(a, b));
                    }
                }
            }
        }
        let (ro, rn) = (old.default_routes(), new.default_routes());
        delta.default_route_changed = DefaultRouteDelta {
            v4: ro.v4 != rn.v4,
            v6: ro.v6 != rn.v6,
        };
        delta
    }
}

fn diff_interface(old: &Interface, new: &Interface) -> InterfaceDelta {
    let mut d = InterfaceDelta {
        index: new.index,
        name: new.name.clone(),
        renamed_from: (old.name != new.name).then(|| old.name.clone()),
        addrs_added: SmallVec::new(),
        addrs_removed: SmallVec::new(),
        addrs_flags_changed: SmallVec::new(),
        old_flags: old.flags,
        new_flags: new.flags,
        mtu_changed: old.mtu != new.mtu,
        mac_changed: old.mac != new.mac,
    };
    let (a, b) = (&old.addrs, &new.addrs);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.net.cmp(&y.net),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                d.addrs_removed.push(a[i]);
                i += 1;
            }
            Ordering::Greater => {
                d.addrs_added.push(b[j]);
                j += 1;
            }
            Ordering::Equal => {
                if a[i].flags != b[j].flags {
                    d.addrs_flags_changed.push(AddrFlagsChange {
                        old: a[i],
                        new_flags: b[j].flags,
                    });
                }
                i += 1;
                j += 1;
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{DefaultRoute, DefaultRoutes};

    fn iface(index: u32, name: &str, addrs: &[&str]) -> Interface {
        let mut i = Interface::new(index, name);
        i.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING;
        for a in addrs {
            i.addrs.push(Address::new(a.parse().unwrap()));
        }
        i
    }

    fn snap(interfaces: Vec<Interface>) -> Snapshot {
        Snapshot::new(interfaces, DefaultRoutes::default()).unwrap()
    }

    #[test]
    fn equal_snapshots_give_an_empty_delta() {
        let s = snap(vec![
            iface(1, "lo", &["127.0.0.1/8"]),
            iface(2, "eth0", &[]),
        ]);
        let d = Snapshot::diff(&s, &s.clone());
        assert!(d.is_empty());
        assert!(!d.is_major());
    }

    #[test]
    fn added_removed_and_changed_interfaces_are_reported_by_index() {
        let old = snap(vec![
            iface(1, "lo", &[]),
            iface(2, "eth0", &["10.0.0.2/24", "fe80::1/64"]),
            iface(3, "eth1", &[]),
        ]);
        let new = snap(vec![
            iface(1, "lo", &[]),
            iface(2, "eth0", &["10.0.0.3/24", "fe80::1/64"]),
            iface(4, "eth2", &[]),
        ]);
        let d = Snapshot::diff(&old, &new);
        assert_eq!(
            d.added.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["eth2"]
        );
        assert_eq!(
            d.removed
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>(),
            ["eth1"]
        );
        assert_eq!(d.changed.len(), 1);
        let c = &d.changed[0];
        assert_eq!(c.name, "eth0");
        assert_eq!(c.addrs_added[0].net.to_string(), "10.0.0.3/24");
        assert_eq!(c.addrs_removed[0].net.to_string(), "10.0.0.2/24");
        assert!(!c.flags_changed());
        assert!(d.is_major());
    }

    #[test]
    fn link_local_and_cosmetic_changes_are_minor() {
        let old = snap(vec![iface(2, "eth0", &["10.0.0.2/24"])]);
        let mut changed = iface(2, "eth0", &["10.0.0.2/24", "fe80::5/64"]);
        changed.flags |= InterfaceFlags::MULTICAST;
        changed.mtu = 9000;
        let d = Snapshot::diff(&old, &snap(vec![changed]));
        assert_eq!(d.changed.len(), 1);
        assert!(d.changed[0].mtu_changed && d.changed[0].flags_changed());
        assert!(!d.is_major());
    }

    #[test]
    fn reachability_flags_address_usability_and_routes_are_major() {
        let old = snap(vec![iface(2, "eth0", &["2001:db8::1/64"])]);
        let mut down = iface(2, "eth0", &["2001:db8::1/64"]);
        down.flags = InterfaceFlags::empty();
        assert!(Snapshot::diff(&old, &snap(vec![down])).is_major());

        let mut tentative = iface(2, "eth0", &[]);
        tentative
            .addrs
            .push(Address::new("2001:db8::1/64".parse().unwrap()).with_flags(AddrFlags::TENTATIVE));
        let d = Snapshot::diff(&snap(vec![tentative]), &old);
        assert_eq!(d.changed[0].addrs_flags_changed.len(), 1);
        assert!(d.is_major());

        let routed = Snapshot::new(
            vec![iface(2, "eth0", &["2001:db8::1/64"])],
            DefaultRoutes {
                v4: None,
                v6: Some(DefaultRoute {
                    index: 2,
                    interface: "eth0".into(),
                    gateway: None,
                }),
            },
        )
        .unwrap();
        let d = Snapshot::diff(&old, &routed);
        assert!(d.changed.is_empty());
        assert_eq!(
            d.default_route_changed,
            DefaultRouteDelta {
                v4: false,
                v6: true
            }
        );
        assert!(d.is_major());
    }

    #[test]
    fn a_rename_is_a_major_change_of_the_same_interface() {
        let d = Snapshot::diff(
            &snap(vec![iface(5, "wg0", &[])]),
            &snap(vec![iface(5, "wg1", &[])]),
        );
        assert_eq!(d.changed[0].renamed_from.as_deref(), Some("wg0"));
        assert!(d.is_major());
    }
}
