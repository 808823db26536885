//! [`RouteEvent`]: a hint from the operating system that something may have
//! changed, carrying just enough to decide whether it can matter.

use core::fmt;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// What a route-socket message was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum RouteEventKind {
    /// A link appeared or changed (`RTM_NEWLINK`, `RTM_IFINFO`, `RTM_IFANNOUNCE` arrival).
    LinkNew,
    /// A link went away (`RTM_DELLINK`, `RTM_IFANNOUNCE` departure).
    LinkDel,
    /// An address was added or re-announced (`RTM_NEWADDR`).
    AddrNew,
    /// An address was removed (`RTM_DELADDR`).
    AddrDel,
    /// A route was added or changed (`RTM_NEWROUTE`, `RTM_ADD`, `RTM_CHANGE`).
    RouteNew,
    /// A route was removed (`RTM_DELROUTE`, `RTM_DELETE`).
    RouteDel,
    /// A policy-routing rule changed (`RTM_NEWRULE` / `RTM_DELRULE`): it can move
    /// the default route to another table, so it is never filtered out.
    Rule,
    /// A message that could not be classified or parsed: something may have
    /// changed, so it is never filtered out.
    Unknown,
}

/// The longest interface name kept inline in a [`RouteEvent`] (Linux's
/// `IFNAMSIZ` less the terminating NUL; longer names are truncated).
pub const MAX_NAME_LEN: usize = 15;

/// An interface name stored inline, so a route event never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InterfaceName {
    len: u8,
    bytes: [u8; MAX_NAME_LEN],
}

impl InterfaceName {
    /// The name from its bytes: cut at the first NUL and at [`MAX_NAME_LEN`]
    /// bytes; invalid UTF-8 is kept as bytes and compares as such.
    #[must_use]
    pub fn new(raw: &[u8]) -> Self {
        let raw = raw.split(|b| *b == 0).next().unwrap_or(&[]);
        let len = raw.len().min(MAX_NAME_LEN);
        let mut bytes = [0; MAX_NAME_LEN];
        bytes[..len].copy_from_slice(&raw[..len]);
        InterfaceName {
            len: len as u8,
            bytes,
        }
    }

    /// The name's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The name as text, if it is valid UTF-8.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }
}

impl fmt::Debug for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", crate::ifname::escape(self.as_bytes()))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for InterfaceName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The escape of `crate::ifname`: lossless, so traces replay exactly.
        s.serialize_str(&crate::ifname::escape(self.as_bytes()))
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for InterfaceName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(InterfaceName::new(&crate::ifname::unescape(&s)))
    }
}

/// A hint that the network state may have changed. It is never trusted as
/// the new state: it only decides whether to enumerate again.
///
/// Every field but `kind` is optional: parsers fill what the message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RouteEvent {
    /// What the message was about.
    pub kind: RouteEventKind,
    /// The address family, for address and route messages.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub family: Option<Family>,
    /// The interface index the message names (the link, the address's
    /// interface, or the route's output interface).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub index: Option<u32>,
    /// The interface name, when the message carries one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<InterfaceName>,
    /// The routing table, for route messages.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub table: Option<u32>,
    /// The destination prefix length, for route messages (0 for a default route).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub dst_prefix_len: Option<u8>,
}

impl RouteEvent {
    /// An event of this kind with nothing else known.
    #[must_use]
    pub const fn new(kind: RouteEventKind) -> Self {
        RouteEvent {
            kind,
            family: None,
            index: None,
            name: None,
            table: None,
            dst_prefix_len: None,
        }
    }

    /// The same event naming interface `index`.
    #[must_use]
    pub const fn with_index(mut self, index: u32) -> Self {
        self.index = Some(index);
        self
    }

    /// The same event naming interface `name`.
    #[must_use]
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = Some(InterfaceName::new(name.as_bytes()));
        self
    }

    /// The same event for address family `family`.
    #[must_use]
    pub const fn with_family(mut self, family: Family) -> Self {
        self.family = Some(family);
        self
    }

    /// The same event for a route of destination prefix length `len` in `table`.
    #[must_use]
    pub const fn with_route(mut self, table: u32, len: u8) -> Self {
        self.table = Some(table);
        self.dst_prefix_len = Some(len);
        self
    }

    /// Whether the message is about a route.
    #[must_use]
    pub const fn is_route(&self) -> bool {
        matches!(
            self.kind,
            RouteEventKind::RouteNew | RouteEventKind::RouteDel
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_at_nul_and_at_the_inline_limit() {
        assert_eq!(InterfaceName::new(b"eth0\0\0\0").as_str(), Some("eth0"));
        let long = InterfaceName::new(b"a-very-long-interface-name");
        assert_eq!(long.as_bytes().len(), MAX_NAME_LEN);
        assert_eq!(InterfaceName::new(b"").as_str(), Some(""));
    }
}
