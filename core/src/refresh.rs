//! Targeted reads: reading only the interfaces a hint names (and the default
//! routes), and merging what was read into the state.
//!
//! A full enumeration reads every link and address, so its cost grows with
//! the number of interfaces; a hint about one address of one interface on a
//! host with 4,000 veths does not need that. The [`Reconciler`] asks for a
//! [`Scope::Targeted`] read when every hint it gathered names an interface
//! the published state holds (or is about a default route); the backend
//! reads those interfaces and the route lookups, and answers with a
//! [`Refresh`]; [`merge`] folds it into the state. Full reads still run for
//! the first state, on overflow, rebind, time jump, forced checks, every
//! periodic reconcile, and for any hint that cannot be attributed (see the
//! Reconciler's rules), so "the enumeration is the truth" still holds: a
//! targeted read is an enumeration of part of the table, never a hint
//! applied blindly.
//!
//! [`Reconciler`]: crate::Reconciler

use core::fmt;
use std::net::IpAddr;

use smallvec::SmallVec;

use crate::interfaces::Interfaces;
use crate::snapshot::{DefaultRoute, DefaultRoutes, Interface, Snapshot, SnapshotError};

/// The most interfaces one targeted read covers. Hints naming more
/// interfaces than this before a read starts ask for a full read instead: a
/// burst that touches many interfaces is cheaper to read in one dump.
pub const MAX_TARGETS: usize = 8;

/// The interface indexes a targeted read covers: sorted, unique, at most
/// [`MAX_TARGETS`]. Never allocates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Targets(SmallVec<[u32; MAX_TARGETS]>);

impl Targets {
    /// No interface: a read of the default routes only.
    #[must_use]
    pub fn new() -> Self {
        Targets(SmallVec::new())
    }

    /// Adds interface `index`. Returns false, changing nothing, when it is
    /// not there yet and [`MAX_TARGETS`] are already: the caller then reads
    /// everything.
    pub fn insert(&mut self, index: u32) -> bool {
        match self.0.binary_search(&index) {
            Ok(_) => true,
            Err(_) if self.0.len() >= MAX_TARGETS => false,
            Err(pos) => {
                self.0.insert(pos, index);
                true
            }
        }
    }

    /// Whether interface `index` is covered.
    #[must_use]
    pub fn contains(&self, index: u32) -> bool {
        self.0.binary_search(&index).is_ok()
    }

    /// The indexes, in increasing order.
    #[must_use]
    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }

    /// How many interfaces are covered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no interface is covered (the default routes only).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<u32> for Targets {
    /// The targets of these indexes; past [`MAX_TARGETS`] distinct ones, the
    /// rest are dropped (build with [`Targets::insert`] to notice).
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut t = Targets::new();
        for i in iter {
            t.insert(i);
        }
        t
    }
}

/// What an enumeration reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every interface, its addresses and the default routes. Answer with
    /// [`Input::Enumerated`](crate::Input::Enumerated).
    All,
    /// These interfaces (each one, or the news that it is gone) with their
    /// addresses, and the default routes of both families. Answer with
    /// [`Input::Refreshed`](crate::Input::Refreshed), or with
    /// [`Input::Enumerated`](crate::Input::Enumerated) after reading
    /// everything instead (always correct: a backend that cannot read part
    /// of the table does that).
    Targeted(Targets),
}

/// The route a lookup chose for one family, before its interface is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RouteHop {
    /// The outgoing interface's index.
    pub index: u32,
    /// The next hop, or `None` for an on-link route.
    pub gateway: Option<IpAddr>,
}

/// The default route of each family as a targeted read found it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RouteHops {
    /// The IPv4 default route, if there is one.
    pub v4: Option<RouteHop>,
    /// The IPv6 default route, if there is one.
    pub v6: Option<RouteHop>,
}

/// The answer to a [`Scope::Targeted`] read: each targeted interface as it
/// is now (absent: it is gone) and the default routes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Refresh {
    targets: Targets,
    /// The targeted interfaces that exist, as a snapshot of them alone (its
    /// default routes are empty).
    found: Snapshot,
    routes: RouteHops,
    /// The targets whose addresses came in several datagrams.
    #[cfg_attr(feature = "serde", serde(default))]
    spanned: Targets,
}

impl Refresh {
    /// The answer for `targets`: the interfaces found (interfaces outside
    /// `targets` are dropped: a kernel that ignored the filter sent them),
    /// normalised as a [`Snapshot`] normalises them, and the default routes.
    /// Two found interfaces with one index or one name cannot be one state.
    pub fn new(
        targets: Targets,
        mut found: Vec<Interface>,
        routes: RouteHops,
    ) -> Result<Self, SnapshotError> {
        found.retain(|i| targets.contains(i.index));
        Ok(Refresh {
            targets,
            found: Snapshot::new(found, DefaultRoutes::default())?,
            routes,
            spanned: Targets::new(),
        })
    }

    /// The same answer, noting that the addresses of the interfaces
    /// `spanned` names came in several datagrams: a change on one of them
    /// during the read may have torn its answer (see
    /// [`Refresh::spanned`]).
    #[must_use]
    pub fn with_spanned(mut self, spanned: Targets) -> Self {
        self.spanned = spanned;
        self
    }

    /// The targets whose addresses were read in several datagrams. The
    /// kernel fills each datagram in one go, so an answer in one datagram is
    /// one state; one in several may mix two states when the interface
    /// changed in between (a dump filtered by index is never marked
    /// interrupted). Empty for a backend that reads atomically.
    #[must_use]
    pub fn spanned(&self) -> &Targets {
        &self.spanned
    }

    /// The interfaces that were read.
    #[must_use]
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The targeted interfaces that exist, sorted by index.
    #[must_use]
    pub fn found(&self) -> Interfaces<'_> {
        self.found.interfaces()
    }

    /// The same answer without the found interfaces `keep` rejects: merged,
    /// they are removed from the state like a targeted interface that is
    /// gone.
    pub(crate) fn retain_found(&mut self, keep: impl FnMut(&Interface) -> bool) {
        self.found = core::mem::take(&mut self.found).retain(keep);
    }

    /// The default routes read.
    #[must_use]
    pub fn routes(&self) -> RouteHops {
        self.routes
    }
}

/// Why a [`Refresh`] cannot be merged into a state: only a full read can
/// say what the table is. Neither is a failure of the read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeError {
    /// A default route goes out of an interface that is neither read nor in
    /// the state (a new interface whose hint has not been handled yet).
    UnknownRouteInterface(u32),
    /// A refreshed interface took the name of another interface of the
    /// state (a rename the hints have not told yet).
    DuplicateName(String),
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::UnknownRouteInterface(i) => {
                write!(
                    f,
                    "a default route uses interface {i}, which the state lacks"
                )
            }
            MergeError::DuplicateName(n) => {
                write!(f, "a refreshed interface is named {n:?} like another one")
            }
        }
    }
}

impl std::error::Error for MergeError {}

/// The state `state` with what `refresh` read: each targeted interface
/// replaced by its new reading or removed when it is gone, the others
/// untouched, and the default routes replaced, each naming its interface:
/// from the refresh, else from the state, else `hidden(index)` (the name of
/// an interface the filter keeps out of the state, as the caller knows it),
/// else from the state's route through the same untargeted index.
///
/// Pure, and costs the chunks of the state's list the targets fall in plus
/// a pointer per other chunk, not the size of the state (the result shares
/// the rest with it). With no change the hints did not tell, the result is
/// what a full read would give.
pub fn merge(
    state: &Snapshot,
    refresh: &Refresh,
    hidden: impl Fn(u32) -> Option<String>,
) -> Result<Snapshot, MergeError> {
    let targets = &refresh.targets;
    let found = refresh.found();
    for f in found {
        // Only a new name can collide: an interface that kept its name
        // (every change but a rename) costs no walk over the state.
        if state
            .by_index(f.index)
            .is_some_and(|old| old.name == f.name)
        {
            continue;
        }
        let taken = state
            .interfaces()
            .iter()
            .any(|i| i.name == f.name && i.index != f.index && !targets.contains(i.index));
        if taken {
            return Err(MergeError::DuplicateName(f.name.clone()));
        }
    }
    let interfaces = state
        .table()
        .replace(targets.as_slice(), refresh.found.table().iter());
    let name_of = |hop: Option<RouteHop>| -> Result<Option<DefaultRoute>, MergeError> {
        let Some(RouteHop { index, gateway }) = hop else {
            return Ok(None);
        };
        let known = interfaces.get(index).map(|i| i.name.clone());
        let kept = || {
            let old = state.default_routes();
            [&old.v4, &old.v6]
                .into_iter()
                .flatten()
                .find(|r| r.index == index && !targets.contains(index))
                .map(|r| r.interface.clone())
        };
        let interface = known
            .or_else(|| hidden(index))
            .or_else(kept)
            .ok_or(MergeError::UnknownRouteInterface(index))?;
        Ok(Some(DefaultRoute {
            index,
            interface,
            gateway,
        }))
    };
    let routes = DefaultRoutes {
        v4: name_of(refresh.routes.v4)?,
        v6: name_of(refresh.routes.v6)?,
    };
    Ok(Snapshot::from_table(interfaces, routes))
}

/// Whether merging `refresh` into `state` would change nothing: each
/// targeted interface reads as the state has it (a gone one is absent from
/// both) and the default routes go through the same interfaces and hops.
/// Costs only the targets, so a read that finds nothing new costs nothing
/// in the size of the table.
#[must_use]
pub fn changes_nothing(state: &Snapshot, refresh: &Refresh) -> bool {
    let same_interfaces = refresh
        .targets
        .as_slice()
        .iter()
        .all(|&index| state.by_index(index) == refresh.found.by_index(index));
    let same_route = |old: &Option<DefaultRoute>, new: &Option<RouteHop>| match (old, new) {
        (None, None) => true,
        (Some(o), Some(n)) => o.index == n.index && o.gateway == n.gateway,
        _ => false,
    };
    let old = state.default_routes();
    same_interfaces
        && same_route(&old.v4, &refresh.routes.v4)
        && same_route(&old.v6, &refresh.routes.v6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Address;

    fn iface(index: u32, name: &str, addrs: &[&str]) -> Interface {
        let mut i = Interface::new(index, name);
        for a in addrs {
            i.addrs.push(Address::new(a.parse().unwrap()));
        }
        i
    }

    fn hop(index: u32) -> Option<RouteHop> {
        Some(RouteHop {
            index,
            gateway: Some("10.0.0.1".parse().unwrap()),
        })
    }

    fn route(index: u32, name: &str) -> Option<DefaultRoute> {
        Some(DefaultRoute {
            index,
            interface: name.into(),
            gateway: Some("10.0.0.1".parse().unwrap()),
        })
    }

    fn r_on(index: u32) -> Refresh {
        Refresh::new(
            Targets::new(),
            vec![],
            RouteHops {
                v4: hop(index),
                v6: None,
            },
        )
        .unwrap()
    }

    fn state() -> Snapshot {
        Snapshot::new(
            vec![
                iface(1, "lo", &["127.0.0.1/8"]),
                iface(3, "eth0", &["10.0.0.2/24"]),
                iface(5, "eth1", &[]),
            ],
            DefaultRoutes {
                v4: route(3, "eth0"),
                v6: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn targets_stay_sorted_unique_and_bounded() {
        let mut t = Targets::new();
        assert!(t.insert(5) && t.insert(2) && t.insert(5));
        assert_eq!(t.as_slice(), &[2, 5]);
        for i in 10..16 {
            assert!(t.insert(i));
        }
        assert_eq!(t.len(), MAX_TARGETS);
        assert!(!t.insert(99), "a ninth interface does not fit");
        assert!(t.insert(12), "one already there still does");
        assert!(!t.contains(99) && t.contains(2));
    }

    #[test]
    fn a_refreshed_interface_replaces_the_old_one_and_the_rest_stay() {
        let s = state();
        let r = Refresh::new(
            [3].into_iter().collect(),
            vec![iface(3, "eth0", &["10.0.0.2/24", "10.0.0.3/24"])],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        let merged = merge(&s, &r, |_| None).unwrap();
        assert_eq!(merged.interfaces().len(), 3);
        assert_eq!(merged.by_index(3).unwrap().addrs.len(), 2);
        assert_eq!(merged.by_index(1), s.by_index(1));
        assert_eq!(merged.default_routes().v4, route(3, "eth0"));
        assert!(!changes_nothing(&s, &r));
    }

    #[test]
    fn a_target_not_found_is_removed_and_a_new_one_is_added_in_order() {
        let s = state();
        let r = Refresh::new(
            [4, 5].into_iter().collect(),
            vec![iface(4, "eth9", &[])],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        let merged = merge(&s, &r, |_| None).unwrap();
        let indexes: Vec<u32> = merged.interfaces().iter().map(|i| i.index).collect();
        assert_eq!(indexes, [1, 3, 4]);
    }

    #[test]
    fn interfaces_outside_the_targets_are_not_taken_from_the_answer() {
        let s = state();
        let r = Refresh::new(
            [3].into_iter().collect(),
            vec![
                iface(3, "eth0", &["10.0.0.2/24"]),
                iface(5, "eth1", &["10.1.1.1/24"]),
            ],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        assert_eq!(merge(&s, &r, |_| None).unwrap(), s);
        assert!(changes_nothing(&s, &r));
    }

    #[test]
    fn routes_are_named_from_the_refresh_the_state_or_the_old_route() {
        let s = state();
        // Through an interface of the state that was not read.
        let r = Refresh::new(
            Targets::new(),
            vec![],
            RouteHops {
                v4: hop(5),
                v6: hop(1),
            },
        )
        .unwrap();
        let merged = merge(&s, &r, |_| None).unwrap();
        assert_eq!(merged.default_routes().v4, route(5, "eth1"));
        assert_eq!(merged.default_routes().v6.as_ref().unwrap().interface, "lo");
        // Through an interface the filter removed: its old route's name.
        let filtered = s.clone().retain(|i| i.index != 3);
        let r = Refresh::new(
            Targets::new(),
            vec![],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        assert_eq!(
            merge(&filtered, &r, |_| None).unwrap().default_routes().v4,
            route(3, "eth0")
        );
        // Through an interface the caller hides, by the caller's name.
        let hide = |i: u32| (i == 9).then(|| "tun0".to_owned());
        let merged = merge(&s, &r_on(9), hide).unwrap();
        assert_eq!(merged.default_routes().v4, route(9, "tun0"));
        // Through an interface nobody knows: only a full read can say.
        let r = Refresh::new(
            Targets::new(),
            vec![],
            RouteHops {
                v4: hop(9),
                v6: None,
            },
        )
        .unwrap();
        assert_eq!(
            merge(&s, &r, |_| None),
            Err(MergeError::UnknownRouteInterface(9))
        );
        // Through a targeted interface that is gone: its old name is stale.
        let r = Refresh::new(
            [3].into_iter().collect(),
            vec![],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        assert_eq!(
            merge(&filtered, &r, |_| None),
            Err(MergeError::UnknownRouteInterface(3))
        );
    }

    #[test]
    fn a_name_taken_from_an_interface_not_read_cannot_be_merged() {
        let s = state();
        let r = Refresh::new(
            [5].into_iter().collect(),
            vec![iface(5, "eth0", &[])],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        assert_eq!(
            merge(&s, &r, |_| None),
            Err(MergeError::DuplicateName("eth0".into()))
        );
        // Swapping names between two targets is fine.
        let r = Refresh::new(
            [3, 5].into_iter().collect(),
            vec![iface(3, "eth1", &[]), iface(5, "eth0", &[])],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        let merged = merge(&s, &r, |_| None).unwrap();
        assert_eq!(merged.default_routes().v4, route(3, "eth1"));
    }

    #[test]
    fn an_empty_target_list_reads_the_routes_only_and_says_so() {
        let mut t = Targets::new();
        assert!(t.is_empty());
        t.insert(3);
        assert!(!t.is_empty());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn merge_errors_say_what_only_a_full_read_can_tell() {
        let e = MergeError::UnknownRouteInterface(12).to_string();
        assert!(e.contains("12") && e.contains("default route"), "{e}");
        let e = MergeError::DuplicateName("eth0".into()).to_string();
        assert!(e.contains("\"eth0\""), "{e}");
    }

    #[test]
    fn a_new_target_below_an_untouched_interface_keeps_the_order() {
        // State 1, 3, 5; interface 2 appears (read as a target): the result
        // is sorted by index, as every snapshot is, so lookups find it.
        let s = state();
        let r = Refresh::new(
            [2].into_iter().collect(),
            vec![iface(2, "eth9", &[])],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        let merged = merge(&s, &r, |_| None).unwrap();
        let indexes: Vec<u32> = merged.interfaces().iter().map(|i| i.index).collect();
        assert_eq!(indexes, [1, 2, 3, 5]);
        assert_eq!(merged.by_index(2).map(|i| i.name.as_str()), Some("eth9"));
    }

    #[test]
    fn a_new_gateway_on_the_same_interface_is_a_change() {
        let s = state();
        let moved = Refresh::new(
            Targets::new(),
            vec![],
            RouteHops {
                v4: Some(RouteHop {
                    index: 3,
                    gateway: Some("10.0.0.254".parse().unwrap()),
                }),
                v6: None,
            },
        )
        .unwrap();
        assert!(!changes_nothing(&s, &moved));
        let elsewhere = Refresh::new(
            Targets::new(),
            vec![],
            RouteHops {
                v4: Some(RouteHop {
                    index: 5,
                    gateway: Some("10.0.0.1".parse().unwrap()),
                }),
                v6: None,
            },
        )
        .unwrap();
        assert!(!changes_nothing(&s, &elsewhere));
    }

    #[test]
    fn a_route_change_alone_is_a_change() {
        let s = state();
        let r = Refresh::new(Targets::new(), vec![], RouteHops::default()).unwrap();
        assert!(!changes_nothing(&s, &r));
        assert_eq!(merge(&s, &r, |_| None).unwrap().default_routes().v4, None);
        let r = Refresh::new(
            Targets::new(),
            vec![],
            RouteHops {
                v4: hop(3),
                v6: None,
            },
        )
        .unwrap();
        assert!(changes_nothing(&s, &r));
    }
}
