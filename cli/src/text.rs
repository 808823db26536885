//! The readable forms: a state as a table, a change as a header line and
//! `+` / `-` / `~` lines (`netstate_core`'s `Display` for `Change`).

use std::borrow::Cow;
use std::fmt::Write as _;

use netstate_core::{Change, DefaultRoute, Interface, Snapshot};
use unicode_width::UnicodeWidthStr;

/// Whether `c` must not reach a terminal as it is: a control character
/// (C0, DEL, C1: escape sequences, bells, cursor moves) or one that
/// reorders or hides text (bidirectional overrides and isolates, line and
/// paragraph separators).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `name` (an interface name, from the kernel or a trace) safe to print: an
/// ASCII control character is written `\xNN`, the others `\u{NNNN}`.
/// Backslashes are left alone: a name already writes its own as `\\` and its
/// bytes that are not UTF-8 as `\xNN` (`netstate_core::ifname`), so an
/// escaped control character reads the same way (`\x1b`: the byte 0x1b).
pub(crate) fn clean(name: &str) -> Cow<'_, str> {
    if !name.chars().any(unsafe_char) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

fn route(r: Option<&DefaultRoute>) -> String {
    match r {
        None => "none".into(),
        Some(r) => match r.gateway {
            Some(g) => format!("{} via {g}", clean(&r.interface)),
            None => format!("{} (on-link)", clean(&r.interface)),
        },
    }
}

fn flags(i: &Interface) -> String {
    i.flags.names().collect::<Vec<_>>().join(",")
}

fn addrs(i: &Interface) -> String {
    let list: Vec<String> = i
        .addrs
        .iter()
        .map(|a| {
            let extra: Vec<&str> = a.flags.names().filter(|n| *n != "permanent").collect();
            if extra.is_empty() {
                a.net.to_string()
            } else {
                format!("{} ({})", a.net, extra.join(","))
            }
        })
        .collect();
    if list.is_empty() {
        "-".into()
    } else {
        list.join(" ")
    }
}

/// The state as a table, one interface a line, then the default routes.
pub(crate) fn state(s: &Snapshot) -> String {
    let rows: Vec<[String; 6]> = s
        .interfaces()
        .iter()
        .map(|i| {
            [
                i.index.to_string(),
                clean(&i.name).into_owned(),
                flags(i),
                i.mtu.to_string(),
                i.mac
                    .as_ref()
                    .map_or_else(|| "-".into(), ToString::to_string),
                addrs(i),
            ]
        })
        .collect();
    let head = ["INDEX", "NAME", "FLAGS", "MTU", "MAC", "ADDRESSES"];
    // Columns are as wide as their widest cell on a terminal (a CJK
    // character takes two columns, a combining accent none).
    let mut width = head.map(UnicodeWidthStr::width);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.width());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 6]| {
        let mut l = String::new();
        for (k, c) in cells.iter().enumerate() {
            l.push_str(c);
            if k < 5 {
                let pad = width[k].saturating_sub(c.width()) + 2;
                l.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut out, head);
    for r in &rows {
        line(&mut out, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
    }
    let routes = s.default_routes();
    let _ = writeln!(out, "default v4: {}", route(routes.v4.as_ref()));
    let _ = writeln!(out, "default v6: {}", route(routes.v6.as_ref()));
    let yes = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(
        out,
        "have_v4: {}  have_v6: {}",
        yes(s.have_v4()),
        yes(s.have_v6())
    );
    out
}

/// A change: `TIME #SEQ CAUSE major|minor`, then one line per difference
/// (the change's `Display`, which escapes names as [`clean`] does).
pub(crate) fn change(time: &str, c: &Change) -> String {
    format!("{time} {c}\n")
}

/// The time of day in UTC, `HH:MM:SS.mmm`.
pub(crate) fn clock() -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use netstate_core::{Address, Cause, Interface, InterfaceFlags, Snapshot};
    use unicode_width::UnicodeWidthStr;

    use super::*;

    fn iface(index: u32, name: &str) -> Interface {
        let mut i = Interface::new(index, name);
        i.flags = InterfaceFlags::UP;
        i.mtu = 1500;
        i.addrs
            .push(Address::new(format!("10.0.{index}.1/24").parse().unwrap()));
        i
    }

    fn hostile() -> Snapshot {
        Snapshot::new(
            vec![
                iface(1, "eth0"),
                iface(2, "e\u{1b}[31mR"),
                iface(3, "名前ü"),
                iface(4, "b\u{7}\u{9b}2J\u{202e}x"),
            ],
            Default::default(),
        )
        .unwrap()
    }

    fn no_control(out: &str) {
        let bad: Vec<char> = out
            .chars()
            .filter(|&c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
            .collect();
        assert!(bad.is_empty(), "control characters {bad:?} in {out:?}");
    }

    #[test]
    fn names_are_escaped_in_the_table() {
        let out = state(&hostile());
        no_control(&out);
        assert!(out.contains(r"e\x1b[31mR"), "{out}");
        assert!(out.contains(r"b\x07\u{9b}2J\u{202e}x"), "{out}");
        assert!(out.contains("名前ü"), "{out}");
    }

    #[test]
    fn columns_line_up_by_display_width() {
        let out = state(&hostile());
        // The FLAGS column starts at the same display column on every row.
        let starts: Vec<usize> = out
            .lines()
            .take_while(|l| !l.starts_with("default"))
            .map(|l| {
                let at = l
                    .find("FLAGS")
                    .or_else(|| l.find("up"))
                    .unwrap_or_else(|| panic!("no flags in {l:?}"));
                l[..at].width()
            })
            .collect();
        assert_eq!(starts.len(), 5, "{out}");
        assert!(starts.iter().all(|&s| s == starts[0]), "{starts:?}\n{out}");
    }

    #[test]
    fn names_are_escaped_in_changes() {
        let old = Arc::new(
            Snapshot::new(vec![iface(5, "o\u{1b}]0;t\u{7}")], Default::default()).unwrap(),
        );
        let mut renamed = iface(5, "n\u{1b}[2J");
        renamed.mtu = 9000;
        let new = Arc::new(
            Snapshot::new(vec![renamed, iface(6, "a\u{1b}c")], Default::default()).unwrap(),
        );
        let c = Change::new(2, Cause::Event, old.clone(), new.clone());
        let out = change("12:00:00.000", &c);
        no_control(&out);
        assert!(out.contains(r"+ a\x1bc"), "{out}");
        assert!(
            out.contains(r"~ n\x1b[2J renamed from o\x1b]0;t\x07"),
            "{out}"
        );
        let back = Change::new(3, Cause::Event, new, old);
        let out = change("12:00:00.000", &back);
        no_control(&out);
        assert!(out.contains(r"- a\x1bc"), "{out}");
    }

    #[test]
    fn a_state_lists_addresses_with_their_flags_and_the_default_routes() {
        use netstate_core::{AddrFlags, DefaultRoute, DefaultRoutes};
        let mut eth = iface(2, "eth0");
        eth.addrs = [
            Address::new("10.0.0.2/24".parse().unwrap()).with_flags(AddrFlags::PERMANENT),
            Address::new("2001:db8::2/64".parse().unwrap())
                .with_flags(AddrFlags::PERMANENT | AddrFlags::TENTATIVE),
        ]
        .into_iter()
        .collect();
        let routes = DefaultRoutes {
            v4: Some(DefaultRoute::new(
                2,
                "eth0",
                Some("10.0.0.1".parse().unwrap()),
            )),
            v6: Some(DefaultRoute::new(2, "eth0", None)),
        };
        let text = state(&Snapshot::new(vec![eth], routes).unwrap());
        let row = text.lines().nth(1).unwrap();
        assert!(
            row.ends_with("10.0.0.2/24 2001:db8::2/64 (tentative)"),
            "permanent is not shown, other flags are: {row}"
        );
        assert!(text.contains("\ndefault v4: eth0 via 10.0.0.1\n"), "{text}");
        assert!(text.contains("\ndefault v6: eth0 (on-link)\n"), "{text}");
        let none = state(&Snapshot::empty());
        assert!(
            none.contains("\ndefault v4: none\ndefault v6: none\n"),
            "{none}"
        );
    }

    /// The clock is the time of day in UTC: read between two readings of
    /// the system clock, it lies between them.
    #[test]
    fn the_clock_is_the_time_of_day_in_utc() {
        let of_day = |d: std::time::Duration| d.as_millis() % 86_400_000;
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
        };
        let before = of_day(now());
        let text = clock();
        let after = of_day(now());
        let parts: Vec<u128> = text.split([':', '.']).map(|p| p.parse().unwrap()).collect();
        assert_eq!(text.len(), 12, "HH:MM:SS.mmm: {text}");
        let ms = ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000 + parts[3];
        // (Across midnight, `after` wraps below `before`.)
        assert!(
            (before <= ms && ms <= after) || (after < before && (ms >= before || ms <= after)),
            "{text} = {ms} ms, not between {before} and {after}"
        );
    }
}
