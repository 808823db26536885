//! The interface table at one instant: [`Snapshot`] and what it holds.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use smallvec::SmallVec;

use crate::flags::{AddrFlags, InterfaceFlags};

/// One address of an interface: the address with its prefix, and its flags.
///
/// Lifetimes are deliberately not part of it: the kernel re-announcing an
/// address with fresh lifetimes (a prefix renewal, a DHCP renew) is not a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    /// Whether the address is a global unicast address that can be used as a
    /// source now: for IPv4 anything but unspecified, loopback, link-local,
    /// multicast and broadcast (private ranges count: they reach the internet
    /// through NAT); for IPv6 an address in `2000::/3`. Tentative and
    /// DAD-failed addresses are not usable.
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

fn is_global_v4(a: Ipv4Addr) -> bool {
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_multicast()
        || a.is_broadcast()
        || a.octets()[0] == 0
        || a.octets()[0] >= 240)
}

fn is_global_v6(a: Ipv6Addr) -> bool {
    (a.segments()[0] & 0xe000) == 0x2000
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
/// Build it with public fields; a [`Snapshot`] normalises it on construction
/// (addresses sorted, exact duplicates merged).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
pub struct DefaultRoute {
    /// The index of the outgoing interface.
    pub index: u32,
    /// The name of the outgoing interface (kept even when the interface itself
    /// is ignored by the filter, as a VPN's own tunnel may be).
    pub interface: String,
    /// The next hop, or `None` for an on-link (point-to-point) route.
    pub gateway: Option<IpAddr>,
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
    interfaces: Vec<Interface>,
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
            interfaces,
            default_routes,
        })
    }

    /// The interfaces, sorted by index.
    #[must_use]
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// The default route of each family.
    #[must_use]
    pub fn default_routes(&self) -> &DefaultRoutes {
        &self.default_routes
    }

    /// The interface with this index.
    #[must_use]
    pub fn by_index(&self, index: u32) -> Option<&Interface> {
        self.interfaces
            .binary_search_by_key(&index, |i| i.index)
            .ok()
            .map(|pos| &self.interfaces[pos])
    }

    /// The interface with this name.
    #[must_use]
    pub fn by_name(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// Whether an up, non-loopback interface has a usable global IPv4 address.
    #[must_use]
    pub fn have_v4(&self) -> bool {
        self.have(|a| a.net.addr().is_ipv4())
    }

    /// Whether an up, non-loopback interface has a usable global IPv6 address
    /// (in `2000::/3`, neither tentative nor DAD-failed).
    #[must_use]
    pub fn have_v6(&self) -> bool {
        self.have(|a| a.net.addr().is_ipv6())
    }

    fn have(&self, family: impl Fn(&Address) -> bool) -> bool {
        self.interfaces
            .iter()
            .filter(|i| i.is_up() && !i.is_loopback())
            .flat_map(|i| i.addrs.iter())
            .any(|a| family(a) && a.is_usable_global())
    }

    /// The same snapshot without the interfaces `keep` rejects. Default routes
    /// are kept: they are the kernel's choice even when it names an ignored
    /// interface.
    #[must_use]
    pub fn retain(mut self, mut keep: impl FnMut(&Interface) -> bool) -> Self {
        self.interfaces.retain(|i| keep(i));
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
        assert_eq!(s.interfaces()[0].index, 1);
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
