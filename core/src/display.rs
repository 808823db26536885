//! `Display` for [`Cause`], [`Delta`] and [`Change`]: the readable forms
//! the `netstate` command prints, for applications to log.
//!
//! * A [`Cause`] prints its JSON name (`initial`, `event`, `time_jump`, …).
//! * A [`Change`] prints a header, `#SEQ CAUSE major|minor`, then one line
//!   per difference, each starting `  + ` (interface added, with its flags
//!   and addresses), `  - ` (removed) or `  ~ ` (changed: `+` and `-`
//!   addresses, new flags, MTU, hardware address, or a default route with
//!   where it now goes). Lines are separated by `\n`, with none at the end.
//! * A [`Delta`] alone prints the same lines, less what only the new state
//!   knows (an added interface's details, the MTU's value, where a default
//!   route now goes).
//!
//! Interface names come from the kernel, so they may hold anything: a
//! control character (an escape sequence, a bell) or one that reorders text
//! is printed as `\xNN` (ASCII) or `\u{NNNN}`, so a printed change can never
//! drive the terminal it lands on.

use core::fmt::{self, Write as _};

use crate::change::{Cause, Change};
use crate::diff::{Delta, InterfaceDelta};
use crate::snapshot::{DefaultRoute, Interface, Snapshot};

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_major() { "major" } else { "minor" };
        write!(f, "#{} {} {kind}", self.seq, self.cause)?;
        write_lines(f, &self.delta, Some(&self.new))
    }
}

impl fmt::Display for Delta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        // `write_lines` starts every line with a newline; a delta's first
        // line has none.
        let mut out = Lines {
            f,
            first: &mut first,
        };
        write_lines(&mut out, self, None)
    }
}

/// Drops the newline before the first line.
struct Lines<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    first: &'a mut bool,
}

impl fmt::Write for Lines<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let s = match s.strip_prefix('\n') {
            Some(rest) if *self.first => rest,
            _ => s,
        };
        if !s.is_empty() {
            *self.first = false;
        }
        self.f.write_str(s)
    }
}

/// One `\n  X …` line per difference; `new` adds what only the state knows.
fn write_lines(out: &mut dyn fmt::Write, d: &Delta, new: Option<&Snapshot>) -> fmt::Result {
    for i in &d.added {
        write!(out, "\n  + {}", Clean(&i.name))?;
        if let Some(n) = new.and_then(|s| s.by_index(i.index)) {
            write!(out, " {} {}", Flags(n), Addrs(n))?;
        }
    }
    for i in &d.removed {
        write!(out, "\n  - {}", Clean(&i.name))?;
    }
    for c in &d.changed {
        write!(out, "\n  ~ {}", Clean(&c.name))?;
        changed(out, c, new)?;
    }
    let routes = new.map(Snapshot::default_routes);
    for (family, changed, route) in [
        (
            "v4",
            d.default_route_changed.v4,
            routes.map(|r| r.v4.as_ref()),
        ),
        (
            "v6",
            d.default_route_changed.v6,
            routes.map(|r| r.v6.as_ref()),
        ),
    ] {
        if changed {
            match route {
                Some(route) => write!(out, "\n  ~ default {family}: {}", Route(route))?,
                None => write!(out, "\n  ~ default {family} changed")?,
            }
        }
    }
    Ok(())
}

/// The parts of one changed interface's line, each after a space (with no
/// part the line still ends with one, as the command always printed it).
fn changed(out: &mut dyn fmt::Write, c: &InterfaceDelta, new: Option<&Snapshot>) -> fmt::Result {
    let mut wrote_a_part = false;
    if let Some(old) = &c.renamed_from {
        write!(out, " renamed from {}", Clean(old))?;
        wrote_a_part = true;
    }
    for a in &c.addrs_added {
        write!(out, " +{}", a.net)?;
        wrote_a_part = true;
    }
    for a in &c.addrs_removed {
        write!(out, " -{}", a.net)?;
        wrote_a_part = true;
    }
    for a in &c.addrs_flags_changed {
        write!(out, " {} flags [{}]", a.old.net, Names(a.new_flags.names()))?;
        wrote_a_part = true;
    }
    if c.flags_changed() {
        write!(out, " flags [{}]", Names(c.new_flags.names()))?;
        wrote_a_part = true;
    }
    if c.mtu_changed {
        // The new state knows the value (a `Change`); a `Delta` alone, or a
        // `Change` whose state was replaced without the interface, does not.
        match new.and_then(|s| s.by_index(c.index)) {
            Some(i) => write!(out, " mtu {}", i.mtu)?,
            None => out.write_str(" mtu changed")?,
        }
        wrote_a_part = true;
    }
    if c.mac_changed {
        out.write_str(" mac changed")?;
        wrote_a_part = true;
    }
    if !wrote_a_part {
        out.write_str(" ")?;
    }
    Ok(())
}

/// Names joined by commas.
struct Names<I>(I);

impl<'a, I: Iterator<Item = &'a str> + Clone> fmt::Display for Names<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, n) in self.0.clone().enumerate() {
            if k > 0 {
                f.write_char(',')?;
            }
            f.write_str(n)?;
        }
        Ok(())
    }
}

/// An interface's flags, comma-separated.
struct Flags<'a>(&'a Interface);

impl fmt::Display for Flags<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Names(self.0.flags.names()).fmt(f)
    }
}

/// An interface's addresses, space-separated, each with its flags other than
/// `permanent` in parentheses; `-` for none.
struct Addrs<'a>(&'a Interface);

impl fmt::Display for Addrs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.addrs.is_empty() {
            return f.write_char('-');
        }
        for (k, a) in self.0.addrs.iter().enumerate() {
            if k > 0 {
                f.write_char(' ')?;
            }
            write!(f, "{}", a.net)?;
            let extra = a.flags.names().filter(|n| *n != "permanent");
            if extra.clone().next().is_some() {
                write!(f, " ({})", Names(extra))?;
            }
        }
        Ok(())
    }
}

/// A default route: `IFACE via GATEWAY`, `IFACE (on-link)` or `none`.
struct Route<'a>(Option<&'a DefaultRoute>);

impl fmt::Display for Route<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("none"),
            Some(r) => match r.gateway {
                Some(g) => write!(f, "{} via {g}", Clean(&r.interface)),
                None => write!(f, "{} (on-link)", Clean(&r.interface)),
            },
        }
    }
}

/// Whether `c` must not reach a terminal as it is: a control character (C0,
/// DEL, C1) or one that reorders or hides text (bidirectional overrides and
/// isolates, line and paragraph separators).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// A name safe to print. Backslashes are left alone: a name already writes
/// its own as `\\` and its bytes that are not UTF-8 as `\xNN`
/// ([`crate::ifname`]), so an escaped control character reads the same way.
struct Clean<'a>(&'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if !unsafe_char(c) {
                f.write_char(c)?;
            } else if c.is_ascii() {
                write!(f, "\\x{:02x}", u32::from(c))?;
            } else {
                write!(f, "\\u{{{:x}}}", u32::from(c))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::flags::InterfaceFlags;
    use crate::snapshot::{Address, DefaultRoutes};

    fn iface(index: u32, name: &str, addr: &str) -> Interface {
        let mut i = Interface::new(index, name);
        i.flags = InterfaceFlags::UP;
        i.mtu = 1500;
        i.addrs.push(Address::new(addr.parse().unwrap()));
        i
    }

    fn snapshot(interfaces: Vec<Interface>, v4: Option<DefaultRoute>) -> Arc<Snapshot> {
        let routes = DefaultRoutes { v4, v6: None };
        Arc::new(Snapshot::new(interfaces, routes).unwrap())
    }

    #[test]
    fn a_change_prints_its_header_then_one_line_per_difference() {
        let old = snapshot(vec![iface(2, "eth0", "10.0.0.2/24")], None);
        let mut eth0 = iface(2, "eth0", "10.0.0.3/24");
        eth0.mtu = 9000;
        let via = DefaultRoute::new(2, "eth0", Some("10.0.0.1".parse().unwrap()));
        let new = snapshot(vec![eth0, iface(3, "e\u{1b}[2J", "10.1.0.2/16")], Some(via));
        let c = Change::new(4, Cause::Event, old, new);
        assert_eq!(
            c.to_string(),
            "#4 event major\n\
             \x20 + e\\x1b[2J up 10.1.0.2/16\n\
             \x20 ~ eth0 +10.0.0.3/24 -10.0.0.2/24 mtu 9000\n\
             \x20 ~ default v4: eth0 via 10.0.0.1"
        );
        assert_eq!(
            c.delta.to_string(),
            "  + e\\x1b[2J\n\
             \x20 ~ eth0 +10.0.0.3/24 -10.0.0.2/24 mtu changed\n\
             \x20 ~ default v4 changed"
        );
    }

    /// Each part of a changed interface's line, alone (no trailing space
    /// after it) and then all together; with no part, the line ends with
    /// one space.
    #[test]
    fn each_part_of_a_changed_line_prints_alone_and_together() {
        use crate::flags::AddrFlags;
        let base = iface(2, "eth0", "10.0.0.2/24");
        let line = |new: Interface| {
            let c = Change::new(
                1,
                Cause::Event,
                snapshot(vec![base.clone()], None),
                snapshot(vec![new], None),
            );
            let text = c.to_string();
            text.split_once('\n')
                .map(|(_, line)| line.to_string())
                .unwrap_or_default()
        };
        let mut renamed = base.clone();
        renamed.name = "wan0".into();
        assert_eq!(line(renamed), "  ~ wan0 renamed from eth0");
        let mut added = base.clone();
        added
            .addrs
            .push(Address::new("10.0.0.9/24".parse().unwrap()));
        assert_eq!(line(added), "  ~ eth0 +10.0.0.9/24");
        let mut removed = base.clone();
        removed.addrs.clear();
        assert_eq!(line(removed), "  ~ eth0 -10.0.0.2/24");
        let mut addr_flags = base.clone();
        addr_flags.addrs[0].flags = AddrFlags::TENTATIVE;
        assert_eq!(line(addr_flags), "  ~ eth0 10.0.0.2/24 flags [tentative]");
        let mut flags = base.clone();
        flags.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING;
        assert_eq!(line(flags), "  ~ eth0 flags [up,running]");
        let mut mtu = base.clone();
        mtu.mtu = 1280;
        assert_eq!(line(mtu), "  ~ eth0 mtu 1280");
        let mut mac = base.clone();
        mac.mac = Some("02:00:00:00:00:01".parse().unwrap());
        assert_eq!(line(mac), "  ~ eth0 mac changed");

        let mut all = base.clone();
        all.name = "wan0".into();
        all.addrs[0] = Address::new("10.0.0.3/24".parse().unwrap());
        all.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING;
        all.mtu = 1280;
        all.mac = Some("02:00:00:00:00:01".parse().unwrap());
        assert_eq!(
            line(all),
            "  ~ wan0 renamed from eth0 +10.0.0.3/24 -10.0.0.2/24 flags [up,running] mtu 1280 mac changed"
        );

        // Nothing a line shows changed (only what it does not print).
        let c = InterfaceDelta {
            index: 2,
            name: "eth0".into(),
            renamed_from: None,
            addrs_added: Default::default(),
            addrs_removed: Default::default(),
            addrs_flags_changed: Default::default(),
            old_flags: InterfaceFlags::UP,
            new_flags: InterfaceFlags::UP,
            mtu_changed: false,
            mac_changed: false,
        };
        let delta = Delta {
            changed: vec![c],
            ..Delta::default()
        };
        assert_eq!(delta.to_string(), "  ~ eth0 ");
    }

    #[test]
    fn an_added_interface_lists_its_addresses_with_their_flags_but_permanent() {
        use crate::flags::AddrFlags;
        let mut eth0 = iface(2, "eth0", "10.0.0.2/24");
        eth0.addrs[0].flags = AddrFlags::PERMANENT;
        eth0.addrs.push(
            Address::new("2001:db8::2/64".parse().unwrap())
                .with_flags(AddrFlags::PERMANENT | AddrFlags::TENTATIVE),
        );
        let c = Change::new(
            2,
            Cause::Event,
            snapshot(vec![], None),
            snapshot(vec![eth0], None),
        );
        assert_eq!(
            c.to_string(),
            "#2 event major\n  + eth0 up 10.0.0.2/24 2001:db8::2/64 (tentative)"
        );
    }

    #[test]
    fn an_mtu_whose_interface_is_not_in_the_new_state_prints_as_changed() {
        let old = snapshot(vec![iface(2, "eth0", "10.0.0.2/24")], None);
        let mut eth0 = iface(2, "eth0", "10.0.0.2/24");
        eth0.mtu = 9000;
        let mut c = Change::new(2, Cause::Event, old, snapshot(vec![eth0], None));
        c.new = snapshot(vec![], None);
        assert!(c.to_string().ends_with("  ~ eth0 mtu changed"), "{c}");
    }

    #[test]
    fn a_cause_prints_its_json_name_and_an_empty_delta_nothing() {
        assert_eq!(Cause::TimeJump.to_string(), "time_jump");
        assert_eq!(Delta::default().to_string(), "");
        let s = snapshot(vec![], None);
        assert_eq!(
            Change::new(9, Cause::TimeJump, s.clone(), s).to_string(),
            "#9 time_jump major"
        );
    }
}
