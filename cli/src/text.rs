//! The readable forms: a state as a table, a change as a header line and
//! `+` / `-` / `~` lines.

use std::fmt::Write as _;

use netstate_core::{Change, DefaultRoute, Interface, Snapshot};

fn route(r: Option<&DefaultRoute>) -> String {
    match r {
        None => "none".into(),
        Some(r) => match r.gateway {
            Some(g) => format!("{} via {g}", r.interface),
            None => format!("{} (on-link)", r.interface),
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
                i.name.clone(),
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
    let mut width = head.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 6]| {
        let mut l = String::new();
        for (k, c) in cells.iter().enumerate() {
            if k == 5 {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ", w = width[k]);
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

/// A change: `TIME #SEQ CAUSE major|minor`, then one line per difference.
pub(crate) fn change(time: &str, c: &Change) -> String {
    let mut out = format!(
        "{time} #{} {} {}\n",
        c.seq,
        c.cause.as_str(),
        if c.is_major() { "major" } else { "minor" }
    );
    for i in &c.delta.added {
        let detail = c
            .new
            .by_index(i.index)
            .map(|n| format!(" {} {}", flags(n), addrs(n)))
            .unwrap_or_default();
        let _ = writeln!(out, "  + {}{detail}", i.name);
    }
    for i in &c.delta.removed {
        let _ = writeln!(out, "  - {}", i.name);
    }
    for d in &c.delta.changed {
        let mut parts: Vec<String> = Vec::new();
        if let Some(old) = &d.renamed_from {
            parts.push(format!("renamed from {old}"));
        }
        parts.extend(d.addrs_added.iter().map(|a| format!("+{}", a.net)));
        parts.extend(d.addrs_removed.iter().map(|a| format!("-{}", a.net)));
        for f in &d.addrs_flags_changed {
            let now: Vec<&str> = f.new_flags.names().collect();
            parts.push(format!("{} flags [{}]", f.old.net, now.join(",")));
        }
        if d.flags_changed() {
            let now: Vec<&str> = d.new_flags.names().collect();
            parts.push(format!("flags [{}]", now.join(",")));
        }
        if d.mtu_changed {
            parts.push(format!(
                "mtu {}",
                c.new.by_index(d.index).map_or(0, |i| i.mtu)
            ));
        }
        if d.mac_changed {
            parts.push("mac changed".into());
        }
        let _ = writeln!(out, "  ~ {} {}", d.name, parts.join(" "));
    }
    let routes = c.new.default_routes();
    if c.delta.default_route_changed.v4 {
        let _ = writeln!(out, "  ~ default v4: {}", route(routes.v4.as_ref()));
    }
    if c.delta.default_route_changed.v6 {
        let _ = writeln!(out, "  ~ default v6: {}", route(routes.v6.as_ref()));
    }
    out
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
