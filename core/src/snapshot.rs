//! The interface table at one instant: [`Snapshot`] and what it holds.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;
use smallvec::SmallVec;

use crate::flags::{AddrFlags, InterfaceFlags};
use crate::interfaces::{Interfaces, Table};

/// One address of an interface: the address with its prefix, and its flags.
///
/// Lifetimes are deliberately not part of it: the kernel re-announcing an
/// address with fresh lifetimes (a prefix renewal, a DHCP renew) is not a change.
///
/// `#[non_exhaustive]` (fields may be added): build one with
/// [`Address::new`] and [`Address::with_flags`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Address {
    /// The address and its prefix length, as `ip addr` shows it (`10.0.0.2/24`).
    pub net: IpNet,
    /// Its flags (tentative, deprecated, …).
    pub flags: AddrFlags,
}

impl Address {
    /// An address with no flags.
    #[must_use]
    pub const fn new(net: IpNet) -> Self {
        Address {
            net,
            flags: AddrFlags::empty(),
        }
    }

    /// The same address with `flags`.
    #[must_use]
    pub const fn with_flags(mut self, flags: AddrFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Whether this is a link-local address (`169.254.0.0/16`, `fe80::/10`):
    /// changes to these alone are minor.
    #[must_use]
    pub fn is_link_local(&self) -> bool {
        match self.net.addr() {
            IpAddr::V4(a) => a.is_link_local(),
            IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
        }
    }

    /// Whether the address can be used now as a source for traffic beyond
    /// its link: it is usable (neither tentative nor DAD-failed) and unicast
    /// with a scope wider than the link. Excluded: for IPv4 `0.0.0.0/8`
    /// ("this network", with the unspecified `0.0.0.0`), loopback
    /// `127.0.0.0/8`, link-local `169.254.0.0/16`, multicast `224.0.0.0/4`
    /// and reserved `240.0.0.0/4` (with the broadcast `255.255.255.255`); for
    /// IPv6 everything outside global unicast `2000::/3` and unique-local
    /// `fc00::/7` (so `::`, `::1`, link-local `fe80::/10`, multicast
    /// `ff00::/8`, IPv4-mapped `::ffff:0:0/96`, the deprecated site-local
    /// `fec0::/10`). Private, shared (`100.64.0.0/10`), documentation and
    /// benchmarking addresses count, as do unique-local ones: see
    /// [`Snapshot::have_v4`] for why.
    #[must_use]
    pub fn is_usable_global(&self) -> bool {
        self.flags.is_usable() && is_global_unicast(self.net.addr())
    }
}

fn is_global_unicast(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => is_global_v4(a),
        IpAddr::V6(a) => is_global_v6(a),
    }
}

/// Unicast beyond the link (the rule is on [`Snapshot::have_v4`]). The
/// unspecified `0.0.0.0` is inside `0.0.0.0/8` and the broadcast
/// `255.255.255.255` inside `240.0.0.0/4`, so neither needs a test of its own.
fn is_global_v4(a: Ipv4Addr) -> bool {
    let first = a.octets()[0];
    !(first == 0 || a.is_loopback() || a.is_link_local() || a.is_multicast() || first >= 240)
}

/// Unicast beyond the link (the rule is on [`Snapshot::have_v4`]): global
/// unicast `2000::/3` or unique-local `fc00::/7`; the rest of the space is
/// loopback, link-local, multicast, unspecified, embedded IPv4 or not
/// assigned for unicast.
fn is_global_v6(a: Ipv6Addr) -> bool {
    let first = a.segments()[0];
    (first & 0xe000) == 0x2000 || (first & 0xfe00) == 0xfc00
}

/// A link-layer (hardware) address: six bytes for Ethernet, other lengths for
/// other link types. Written as colon-separated lower-case hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct HardwareAddr(SmallVec<[u8; 8]>);

impl HardwareAddr {
    /// The address from its bytes.
    #[must_use]
    pub fn new(bytes: &[u8]) -> Self {
        HardwareAddr(SmallVec::from_slice(bytes))
    }

    /// Its bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether every byte is zero (a tunnel or loopback "address").
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|b| *b == 0)
    }
}

impl fmt::Display for HardwareAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HardwareAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HardwareAddr({self})")
    }
}

/// Why a text is not a hardware address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseHardwareAddrError;

impl fmt::Display for ParseHardwareAddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a hardware address: expected colon-separated hex bytes")
    }
}

impl std::error::Error for ParseHardwareAddrError {}

impl core::str::FromStr for HardwareAddr {
    type Err = ParseHardwareAddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = SmallVec::new();
        if s.is_empty() {
            return Ok(HardwareAddr(bytes));
        }
        for part in s.split(':') {
            if part.is_empty() || part.len() > 2 {
                return Err(ParseHardwareAddrError);
            }
            bytes.push(u8::from_str_radix(part, 16).map_err(|_| ParseHardwareAddrError)?);
        }
        Ok(HardwareAddr(bytes))
    }
}

/// One network interface.
///
/// Build it with [`Interface::new`], then set its public fields; a
/// [`Snapshot`] normalises it on construction (addresses sorted, exact
/// duplicates merged). It is `#[non_exhaustive]`: fields may be added.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Interface {
    /// The kernel's interface index: the identity of the interface.
    pub index: u32,
    /// Its name (`eth0`, `wlan0`, `utun3`).
    pub name: String,
    /// Its flags.
    pub flags: InterfaceFlags,
    /// Its MTU in bytes (0 when unknown).
    pub mtu: u32,
    /// Its hardware address, if it has one.
    pub mac: Option<HardwareAddr>,
    /// Its addresses, sorted by address then prefix length.
    pub addrs: SmallVec<[Address; 4]>,
}

impl Interface {
    /// An interface with no flags, no MTU, no hardware address and no address.
    #[must_use]
    pub fn new(index: u32, name: impl Into<String>) -> Self {
        Interface {
            index,
            name: name.into(),
            flags: InterfaceFlags::empty(),
            mtu: 0,
            mac: None,
            addrs: SmallVec::new(),
        }
    }

    /// Whether it is administratively up.
    #[must_use]
    pub fn is_up(&self) -> bool {
        self.flags.contains(InterfaceFlags::UP)
    }

    /// Whether it is the loopback interface.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        self.flags.contains(InterfaceFlags::LOOPBACK)
    }

    /// The address equal to `net`, if the interface has it.
    #[must_use]
    pub fn address(&self, net: &IpNet) -> Option<&Address> {
        self.addrs
            .binary_search_by(|a| a.net.cmp(net))
            .ok()
            .map(|i| &self.addrs[i])
    }

    fn normalise(&mut self) {
        self.addrs.sort_unstable_by_key(|a| a.net);
        // The same address reported twice: keep one, with the flags of both.
        self.addrs.dedup_by(|later, kept| {
            if later.net == kept.net {
                kept.flags |= later.flags;
                true
            } else {
                false
            }
        });
    }
}

/// The route the kernel would choose for a destination on the internet, for
/// one address family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DefaultRoute {
    /// The index of the outgoing interface.
    pub index: u32,
    /// The name of the outgoing interface (kept even when the interface itself
    /// is ignored by the filter, as a VPN's own tunnel may be).
    pub interface: String,
    /// The next hop, or `None` for an on-link (point-to-point) route.
    pub gateway: Option<IpAddr>,
}

impl DefaultRoute {
    /// The route through interface `index`, named `interface`, to `gateway`
    /// (`None`: on-link).
    #[must_use]
    pub fn new(index: u32, interface: impl Into<String>, gateway: Option<IpAddr>) -> Self {
        DefaultRoute {
            index,
            interface: interface.into(),
            gateway,
        }
    }
}

/// The default route of each address family.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct DefaultRoutes {
    /// The IPv4 default route, if there is one.
    pub v4: Option<DefaultRoute>,
    /// The IPv6 default route, if there is one.
    pub v6: Option<DefaultRoute>,
}

/// Why a list of interfaces cannot form a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Two interfaces share an index: the enumeration mixed two states (an
    /// interface re-created mid-dump) or is corrupt. Enumerate again.
    DuplicateIndex(u32),
    /// Two interfaces with different indexes share a name: the enumeration
    /// mixed two states (a rename mid-dump). Enumerate again.
    DuplicateName(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::DuplicateIndex(i) => write!(f, "two interfaces have index {i}"),
            SnapshotError::DuplicateName(n) => write!(f, "two interfaces are named {n:?}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// The interface table at one instant: interfaces sorted by index (indexes and
/// names unique), each with its addresses, and the default route per family.
///
/// Two snapshots are equal exactly when an application could tell them apart:
/// address lifetimes and counters are not part of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Snapshot {
    /// Shared in chunks: a snapshot made from another by a targeted read
    /// shares every chunk of interfaces the read did not touch, so making
    /// it, releasing the old one, and comparing or diffing the two cost the
    /// touched chunks, not the whole table (see the `interfaces` module).
    interfaces: Table,
    default_routes: DefaultRoutes,
}

impl Snapshot {
    /// The snapshot with no interface and no default route.
    #[must_use]
    pub fn empty() -> Self {
        Snapshot::default()
    }

    /// Builds a snapshot: sorts the interfaces by index and each interface's
    /// addresses, merges an address reported twice, and rejects an input that
    /// cannot be one consistent state (a repeated index or name).
    pub fn new(
        mut interfaces: Vec<Interface>,
        default_routes: DefaultRoutes,
    ) -> Result<Self, SnapshotError> {
        interfaces.sort_unstable_by_key(|i| i.index);
        for pair in interfaces.windows(2) {
            if pair[0].index == pair[1].index {
                return Err(SnapshotError::DuplicateIndex(pair[0].index));
            }
        }
        let mut names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
        names.sort_unstable();
        for pair in names.windows(2) {
            if pair[0] == pair[1] {
                return Err(SnapshotError::DuplicateName(pair[0].to_owned()));
            }
        }
        for interface in &mut interfaces {
            interface.normalise();
        }
        Ok(Snapshot {
            interfaces: Table::from_sorted(interfaces.into_iter().map(Arc::new).collect()),
            default_routes,
        })
    }

    /// A snapshot from parts already in order: a table whose interfaces
    /// have unique names and are each normalised (as the interfaces of
    /// other snapshots are). For [`crate::refresh::merge`].
    pub(crate) fn from_table(interfaces: Table, default_routes: DefaultRoutes) -> Self {
        Snapshot {
            interfaces,
            default_routes,
        }
    }

    /// The interface table, shared, for merges and diffs.
    pub(crate) fn table(&self) -> &Table {
        &self.interfaces
    }

    /// The interfaces, sorted by index: a view to iterate, count and look
    /// up (by position) without copying. Each interface is shared with the
    /// snapshots it did not change in.
    #[must_use]
    pub fn interfaces(&self) -> Interfaces<'_> {
        Interfaces::new(&self.interfaces)
    }

    /// The default route of each family.
    #[must_use]
    pub fn default_routes(&self) -> &DefaultRoutes {
        &self.default_routes
    }

    /// The interface with this index.
    #[must_use]
    pub fn by_index(&self, index: u32) -> Option<&Interface> {
        self.interfaces.get(index).map(|i| &**i)
    }

    /// The interface with this name.
    #[must_use]
    pub fn by_name(&self, name: &str) -> Option<&Interface> {
        self.interfaces().iter().find(|i| i.name == name)
    }

    /// Whether an up, non-loopback interface has a usable IPv4 address that
    /// can carry traffic beyond its link ([`Address::is_usable_global`]).
    ///
    /// The rule, the same for both families: an address counts when it is
    /// unicast and its scope is wider than the link; it does not count when
    /// the host itself keeps it on the link or it is not unicast: `0.0.0.0/8`,
    /// loopback (also when it sits on a non-loopback interface), link-local,
    /// multicast, reserved `240.0.0.0/4` (with `255.255.255.255`), and for
    /// IPv6 anything outside `2000::/3` and `fc00::/7`.
    ///
    /// Why: whether a range is routed on the public internet is decided
    /// beyond the host, by a NAT, a VPN or overlay, a proxy, a lab network;
    /// what this answers is whether the host holds an address it will send
    /// from to other networks. Private IPv4 ranges count because they reach
    /// the internet through NAT, so unique-local IPv6 (`fc00::/7`) counts by
    /// the same token (NAT66/NPTv6, or an overlay such as Tailscale's
    /// `fd7a:115c:a1e0::/48`; Tailscale and netwatch count it too), and so
    /// do the documentation (`192.0.2.0/24`, `198.51.100.0/24`,
    /// `203.0.113.0/24`, `2001:db8::/32`) and benchmarking (`198.18.0.0/15`,
    /// also the fake-IP range of proxies' TUN interfaces) ranges, which are
    /// ordinary unicast to the host (as in Go's `IsGlobalUnicast`).
    #[must_use]
    pub fn have_v4(&self) -> bool {
        self.have(|a| a.net.addr().is_ipv4())
    }

    /// Whether an up, non-loopback interface has a usable IPv6 address that
    /// can carry traffic beyond its link: in global unicast `2000::/3` or
    /// unique-local `fc00::/7`, neither tentative nor DAD-failed. The rule
    /// and its reason, shared with IPv4, are on [`Snapshot::have_v4`].
    #[must_use]
    pub fn have_v6(&self) -> bool {
        self.have(|a| a.net.addr().is_ipv6())
    }

    fn have(&self, family: impl Fn(&Address) -> bool) -> bool {
        self.interfaces()
            .iter()
            .filter(|i| i.is_up() && !i.is_loopback())
            .flat_map(|i| i.addrs.iter())
            .any(|a| family(a) && a.is_usable_global())
    }

    /// The same snapshot without the interfaces `keep` rejects. Default routes
    /// are kept: they are the kernel's choice even when it names an ignored
    /// interface.
    #[must_use]
    pub fn retain(mut self, keep: impl FnMut(&Interface) -> bool) -> Self {
        self.interfaces.retain(keep);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn construction_sorts_and_merges_duplicate_addresses() {
        let mut a = Interface::new(3, "b");
        a.addrs.push(Address::new(net("10.0.0.2/24")));
        a.addrs.push(Address::new(net("10.0.0.1/24")));
        a.addrs
            .push(Address::new(net("10.0.0.2/24")).with_flags(AddrFlags::PERMANENT));
        let s = Snapshot::new(vec![a, Interface::new(1, "a")], DefaultRoutes::default()).unwrap();
        assert_eq!(s.interfaces().first().unwrap().index, 1);
        let b = s.by_name("b").unwrap();
        assert_eq!(b.addrs.len(), 2);
        assert_eq!(b.addrs[0].net, net("10.0.0.1/24"));
        assert_eq!(b.addrs[1].flags, AddrFlags::PERMANENT);
        assert_eq!(s.by_index(3).map(|i| i.name.as_str()), Some("b"));
        assert!(s.by_index(2).is_none());
    }

    #[test]
    fn duplicate_index_or_name_is_rejected() {
        let e = Snapshot::new(
            vec![Interface::new(1, "a"), Interface::new(1, "b")],
            DefaultRoutes::default(),
        );
        assert_eq!(e, Err(SnapshotError::DuplicateIndex(1)));
        let e = Snapshot::new(
            vec![Interface::new(1, "a"), Interface::new(2, "a")],
            DefaultRoutes::default(),
        );
        assert_eq!(e, Err(SnapshotError::DuplicateName("a".into())));
    }

    #[test]
    fn have_v4_and_v6_need_usable_global_addresses_on_up_interfaces() {
        let mut lo = Interface::new(1, "lo");
        lo.flags = InterfaceFlags::UP | InterfaceFlags::LOOPBACK;
        lo.addrs.push(Address::new(net("127.0.0.1/8")));
        lo.addrs.push(Address::new(net("::1/128")));
        let mut eth = Interface::new(2, "eth0");
        eth.flags = InterfaceFlags::UP;
        eth.addrs.push(Address::new(net("fe80::1/64")));
        eth.addrs.push(Address::new(net("169.254.1.1/16")));
        eth.addrs
            .push(Address::new(net("2001:db8::1/64")).with_flags(AddrFlags::TENTATIVE));
        let s = Snapshot::new(vec![lo, eth.clone()], DefaultRoutes::default()).unwrap();
        assert!(!s.have_v4());
        assert!(!s.have_v6());

        eth.addrs.push(Address::new(net("10.1.2.3/24")));
        eth.addrs.push(Address::new(net("2001:db8::2/64")));
        let s = Snapshot::new(vec![eth.clone()], DefaultRoutes::default()).unwrap();
        assert!(s.have_v4());
        assert!(s.have_v6());

        eth.flags = InterfaceFlags::empty();
        let s = Snapshot::new(vec![eth], DefaultRoutes::default()).unwrap();
        assert!(!s.have_v4() && !s.have_v6());
    }

    /// A snapshot with one up, non-loopback interface holding `addrs`, and
    /// a default route of each family through it.
    fn eth0_with(addrs: &[&str]) -> Snapshot {
        let mut eth = Interface::new(2, "eth0");
        eth.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING;
        for a in addrs {
            eth.addrs.push(Address::new(net(a)));
        }
        let route = |gateway: &str| DefaultRoute {
            index: 2,
            interface: "eth0".into(),
            gateway: Some(gateway.parse().unwrap()),
        };
        let routes = DefaultRoutes {
            v4: Some(route("192.168.1.1")),
            v6: Some(route("fe80::1")),
        };
        Snapshot::new(vec![eth], routes).unwrap()
    }

    /// Whether the one address `addr` (written without a prefix) makes the
    /// snapshot "have" its family.
    fn counts(addr: &str) -> bool {
        let ip: IpAddr = addr.parse().unwrap();
        let s = eth0_with(&[&format!("{addr}/{}", if ip.is_ipv4() { 32 } else { 128 })]);
        let (v4, v6) = (s.have_v4(), s.have_v6());
        assert!(!(v4 && v6), "{addr}: one family only");
        if ip.is_ipv4() {
            assert!(!v6, "{addr} is not IPv6");
            v4
        } else {
            assert!(!v4, "{addr} is not IPv4");
            v6
        }
    }

    #[test]
    fn a_unique_local_v6_address_counts_like_a_private_v4_one() {
        // The case that was wrong: a ULA with a v6 default route (what a
        // NAT66 router or an overlay hands out) did not count as v6.
        let s = eth0_with(&["fd00::2/64"]);
        assert!(s.default_routes().v6.is_some());
        assert!(s.have_v6());
        assert!(!s.have_v4());
        // Tailscale's ULA range.
        assert!(counts("fd7a:115c:a1e0::1"));
        // Private and shared IPv4, the same kind of address.
        let s = eth0_with(&["192.168.1.20/24"]);
        assert!(s.have_v4() && !s.have_v6());
        for a in ["10.0.0.1", "172.16.0.1", "172.31.255.254", "100.64.0.1"] {
            assert!(counts(a), "{a}");
        }
    }

    #[test]
    fn documentation_and_benchmarking_addresses_count_in_both_families() {
        // One rule for both families: these are ordinary unicast to the host.
        for a in [
            "192.0.2.2",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.254",
            "2001:db8::2",
            "2001:2::1",
        ] {
            assert!(counts(a), "{a}");
        }
        let s = eth0_with(&["192.0.2.2/24", "2001:db8::2/64"]);
        assert!(s.have_v4() && s.have_v6());
    }

    #[test]
    fn v4_exclusions_end_exactly_at_their_boundaries() {
        let table = [
            // 0.0.0.0/8 "this network", with the unspecified address.
            ("0.0.0.0", false),
            ("0.0.0.1", false),
            ("0.255.255.255", false),
            ("1.0.0.0", true),
            // 127.0.0.0/8 loopback.
            ("126.255.255.255", true),
            ("127.0.0.0", false),
            ("127.0.0.1", false),
            ("127.255.255.255", false),
            ("128.0.0.0", true),
            // 169.254.0.0/16 link-local.
            ("169.253.255.255", true),
            ("169.254.0.0", false),
            ("169.254.1.1", false),
            ("169.254.255.255", false),
            ("169.255.0.0", true),
            // 224.0.0.0/4 multicast.
            ("223.255.255.255", true),
            ("224.0.0.0", false),
            ("224.0.0.251", false),
            ("239.255.255.255", false),
            // 240.0.0.0/4 reserved, with the limited broadcast at its end.
            ("240.0.0.0", false),
            ("240.0.0.1", false),
            ("255.255.255.254", false),
            ("255.255.255.255", false),
        ];
        for (a, expected) in table {
            assert_eq!(counts(a), expected, "{a}");
        }
    }

    #[test]
    fn v6_counts_exactly_global_unicast_and_unique_local() {
        let table = [
            // Below 2000::/3: unspecified, loopback, embedded IPv4.
            ("::", false),
            ("::1", false),
            ("::ffff:192.0.2.1", false),
            ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            // 2000::/3 global unicast.
            ("2000::", true),
            ("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("4000::", false),
            // fc00::/7 unique-local.
            ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("fc00::", true),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("fe00::", false),
            // fe80::/10 link-local, and the deprecated site-local after it.
            ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("fe80::", false),
            ("fe80::1", false),
            ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("fec0::1", false),
            // ff00::/8 multicast.
            ("ff00::", false),
            ("ff02::1", false),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ];
        for (a, expected) in table {
            assert_eq!(counts(a), expected, "{a}");
        }
    }

    #[test]
    fn loopback_addresses_never_count_and_the_loopback_interface_never_does() {
        // A loopback address on an ordinary interface.
        let s = eth0_with(&["127.0.0.2/8", "::1/128"]);
        assert!(!s.have_v4() && !s.have_v6());
        // A routable address on the loopback interface (an anycast or
        // service address bound to lo) does not make the host reachable.
        let mut lo = Interface::new(1, "lo");
        lo.flags = InterfaceFlags::UP | InterfaceFlags::LOOPBACK;
        lo.addrs.push(Address::new(net("203.0.113.5/32")));
        lo.addrs.push(Address::new(net("2001:db8::5/128")));
        let s = Snapshot::new(vec![lo], DefaultRoutes::default()).unwrap();
        assert!(!s.have_v4() && !s.have_v6());
    }

    #[test]
    fn hardware_address_text_round_trips() {
        let mac: HardwareAddr = "aa:bb:0c:dd:ee:ff".parse().unwrap();
        assert_eq!(mac.to_string(), "aa:bb:0c:dd:ee:ff");
        assert_eq!(mac.as_bytes().len(), 6);
        assert!("aa:bbb".parse::<HardwareAddr>().is_err());
        assert!("zz".parse::<HardwareAddr>().is_err());
        assert!("".parse::<HardwareAddr>().unwrap().is_zero());
    }
}
