//! [`Filter`]: interfaces to ignore, and which route hints can matter.

use crate::event::{RouteEvent, RouteEventKind};
use crate::ifname;
use crate::snapshot::Interface;

/// Which interfaces netstate ignores, and which route hints it acts on.
///
/// Ignored interfaces are removed from every enumerated snapshot before it is
/// compared, so their changes never publish; hints about them start nothing.
/// Route hints matter only when the route could be the one the kernel picks
/// for an internet destination: a default route in any table, or a route at
/// most [`Filter::max_route_prefix_len`] long (OpenVPN's `0.0.0.0/1` +
/// `128.0.0.0/1` override).
///
/// Names and prefixes are compared as the kernel's bytes: they are written
/// as [`Interface::name`] is (see [`crate::ifname`]), so the pattern
/// `n\xff` matches the name made of the bytes `n`, `0xff`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    names: Vec<String>,
    prefixes: Vec<String>,
    /// `names` and `prefixes` as bytes ([`ifname::unescape`]).
    name_bytes: Vec<Vec<u8>>,
    prefix_bytes: Vec<Vec<u8>>,
    max_route_prefix_len: u8,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            names: Vec::new(),
            prefixes: Vec::new(),
            name_bytes: Vec::new(),
            prefix_bytes: Vec::new(),
            max_route_prefix_len: 1,
        }
    }
}

impl Filter {
    /// A filter that ignores no interface and acts on routes of prefix length
    /// 0 and 1.
    #[must_use]
    pub fn new() -> Self {
        Filter::default()
    }

    /// Also ignores the interface named exactly `name`.
    #[must_use]
    pub fn ignore_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.name_bytes.push(ifname::unescape(&name).into_owned());
        self.names.push(name);
        self
    }

    /// Also ignores every interface whose name starts with `prefix` (`veth`,
    /// `docker`, `utun`).
    #[must_use]
    pub fn ignore_prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.prefix_bytes
            .push(ifname::unescape(&prefix).into_owned());
        self.prefixes.push(prefix);
        self
    }

    /// Acts on route hints whose destination prefix is at most `len` long
    /// (default 1). Raise it for VPNs that override the default route with
    /// longer prefixes (`0.0.0.0/2` and its siblings use 2).
    #[must_use]
    pub fn max_route_prefix_len(mut self, len: u8) -> Self {
        self.max_route_prefix_len = len;
        self
    }

    /// The exact names ignored.
    #[must_use]
    pub fn ignored_names(&self) -> &[String] {
        &self.names
    }

    /// The name prefixes ignored.
    #[must_use]
    pub fn ignored_prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// The longest route prefix a hint may have to be acted on.
    #[must_use]
    pub fn route_prefix_limit(&self) -> u8 {
        self.max_route_prefix_len
    }

    /// Whether the interface whose name is the bytes `name` (as the kernel
    /// has it, not escaped) is ignored.
    #[must_use]
    pub fn ignores(&self, name: &[u8]) -> bool {
        self.name_bytes.iter().any(|n| n.as_slice() == name)
            || self.prefix_bytes.iter().any(|p| name.starts_with(p))
    }

    /// Whether `interface` is kept in snapshots.
    #[must_use]
    pub fn keeps(&self, interface: &Interface) -> bool {
        !self.ignores(&ifname::unescape(&interface.name))
    }

    /// Whether the filter ignores nothing.
    #[must_use]
    pub fn ignores_nothing(&self) -> bool {
        self.names.is_empty() && self.prefixes.is_empty()
    }

    /// Whether a hint can matter. `ignored_index` says whether an interface
    /// index belongs to an ignored interface (as of the last enumeration).
    /// Never allocates.
    #[must_use]
    pub fn admits(&self, event: &RouteEvent, ignored_index: impl Fn(u32) -> bool) -> bool {
        match event.kind {
            RouteEventKind::Rule | RouteEventKind::Unknown => return true,
            RouteEventKind::RouteNew | RouteEventKind::RouteDel => {
                // A route's interface does not make it ignorable: the default
                // route through an ignored tunnel is still the default route.
                return event
                    .dst_prefix_len
                    .is_none_or(|len| len <= self.max_route_prefix_len);
            }
            _ => {}
        }
        if let Some(name) = &event.name {
            return !self.ignores(name.as_bytes());
        }
        match event.index {
            Some(index) => !ignored_index(index),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Family;

    #[test]
    fn names_and_prefixes_are_ignored() {
        let f = Filter::new().ignore_name("tun0").ignore_prefix("veth");
        assert!(f.ignores(b"tun0"));
        assert!(!f.ignores(b"tun01"));
        assert!(f.ignores(b"veth1234"));
        assert!(!f.ignores(b"eth0"));
    }

    #[test]
    fn route_hints_pass_only_for_short_prefixes() {
        let f = Filter::new();
        let route = |len| {
            RouteEvent::new(RouteEventKind::RouteNew)
                .with_family(Family::V4)
                .with_route(254, len)
        };
        assert!(f.admits(&route(0), |_| false));
        assert!(f.admits(&route(1), |_| false));
        assert!(!f.admits(&route(2), |_| false));
        assert!(!f.admits(&route(32), |_| false));
        assert!(f.admits(&RouteEvent::new(RouteEventKind::RouteDel), |_| false));
        assert!(Filter::new()
            .max_route_prefix_len(2)
            .admits(&route(2), |_| false));
    }

    #[test]
    fn hints_about_ignored_interfaces_are_dropped_by_name_or_index() {
        let f = Filter::new().ignore_prefix("docker");
        let by_name = RouteEvent::new(RouteEventKind::LinkNew).with_name("docker0");
        assert!(!f.admits(&by_name, |_| false));
        let by_index = RouteEvent::new(RouteEventKind::AddrNew).with_index(7);
        assert!(!f.admits(&by_index, |i| i == 7));
        assert!(f.admits(&by_index, |i| i == 8));
        assert!(f.admits(&RouteEvent::new(RouteEventKind::Rule), |_| true));
    }
}
