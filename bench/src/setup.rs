//! Network-namespace scenarios shared by the benchmark binaries: a small
//! host (4 interfaces), 200 veth pairs each holding an IPv4 and an IPv6
//! address, a million extra routes, and a crowded host (thousands of veth
//! pairs, IPv6 off) beside the same host without the crowd for targeted
//! refresh (issue 14). Everything happens inside
//! namespaces the caller owns ([`NetnsFixture`], deleted on drop), with
//! addresses from documentation and private ranges only.

use std::time::{Duration, Instant};

use netstate_testkit::netns::{FixtureError, NetnsFixture};

/// The "4 interfaces" scenario: `lo`, a veth pair `eth0`/`eth1` (with
/// `10.0.0.2/24` on `eth0` and a default route via `10.0.0.1`) and `wlan0`,
/// whose peer lives in `other` (so it is a 4th interface here, as on a
/// laptop with a wired and a wireless link).
///
/// # Errors
/// The first `ip` command that failed.
pub fn small_host(ns: &NetnsFixture, other: &NetnsFixture) -> Result<(), FixtureError> {
    ns.add_veth("eth0", "eth1")?;
    ns.ip(&[
        "link",
        "add",
        "wlan0",
        "type",
        "veth",
        "peer",
        "name",
        "wlan0p",
        "netns",
        other.name(),
    ])?;
    ns.ip(&["link", "set", "wlan0", "up"])?;
    ns.ip(&["addr", "add", "10.0.0.2/24", "dev", "eth0"])?;
    ns.ip(&["route", "add", "default", "via", "10.0.0.1"])?;
    Ok(())
}

/// Adds `pairs` veth pairs `bv{i}a`/`bv{i}b`, both up, with
/// `10.{20+i/256}.{i%256}.1/24` and `2001:db8:{i:x}::1/64` (no duplicate
/// address detection) on the `a` side; then a default route via
/// `10.20.0.2` when `pairs > 0`.
///
/// # Errors
/// The `ip -batch` failure.
pub fn veth_pairs(ns: &NetnsFixture, pairs: u32) -> Result<(), FixtureError> {
    let mut batch = veth_pair_lines(0..pairs, true);
    if pairs > 0 {
        batch += "route add default via 10.20.0.2\n";
    }
    ns.ip_batch(&batch)
}

/// The `ip -batch` lines of [`veth_pairs`] for the pairs numbered `range`,
/// without the default route; without the IPv6 address when `ipv6` is
/// false. Pair numbers below 60,000 (the IPv4 `/24`s run from `10.20.0.0`
/// to `10.254.255.0`).
#[must_use]
pub fn veth_pair_lines(range: std::ops::Range<u32>, ipv6: bool) -> String {
    let mut batch = String::with_capacity(range.len() * 160);
    for i in range {
        batch += &format!(
            "link add bv{i}a type veth peer name bv{i}b\nlink set bv{i}a up\nlink set bv{i}b up\n\
             addr add 10.{}.{}.1/24 dev bv{i}a\n",
            20 + i / 256,
            i % 256
        );
        if ipv6 {
            batch += &format!("addr add 2001:db8:{i:x}::1/64 dev bv{i}a nodad\n");
        }
    }
    batch
}

/// Turns IPv6 off in the namespace for every interface made afterwards
/// (`net.ipv6.conf.{all,default}.disable_ipv6=1`): thousands of fresh veths
/// otherwise send router solicitations (with backoff, for as long as they
/// exist) and MLD reports, and the kernel runs that packet processing in
/// whichever process enters a system call next, charging a monitor's CPU
/// time for the namespace's own chatter.
///
/// # Errors
/// `sysctl` failed or could not be started.
pub fn disable_ipv6(ns: &NetnsFixture) -> Result<(), FixtureError> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name(), "sysctl", "-q", "-w"])
        .args([
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ])
        .output()
        .map_err(FixtureError::Spawn)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(FixtureError::Ip {
            args: "netns exec sysctl disable_ipv6".into(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// The targeted-refresh scenario (issue 14): `pairs` veth pairs as in
/// [`veth_pairs`] (IPv6 address only when `ipv6`; IPv6 is turned off in
/// the namespace first otherwise, see [`disable_ipv6`]), an uplink
/// `up0`/`up0p` with `10.19.0.2/24` on `up0` and the default route via
/// `10.19.0.1`, and `changed`, a [`spare_link`] for the benchmark to add
/// and remove addresses on. With `pairs = 0` it is the same host without
/// the crowd: `lo`, the uplink and the changed link.
///
/// # Errors
/// The first `ip` command that failed.
pub fn crowded_host(
    ns: &NetnsFixture,
    pairs: u32,
    ipv6: bool,
    changed: &str,
) -> Result<(), FixtureError> {
    if !ipv6 {
        disable_ipv6(ns)?;
    }
    // In chunks, so no single `ip -batch` input grows too large.
    let mut first = 0;
    while first < pairs {
        let n = (pairs - first).min(500);
        ns.ip_batch(&veth_pair_lines(first..first + n, ipv6))?;
        first += n;
    }
    spare_link(ns, "up0")?;
    ns.ip(&["addr", "add", "10.19.0.2/24", "dev", "up0"])?;
    ns.ip(&["route", "add", "default", "via", "10.19.0.1"])?;
    spare_link(ns, changed)?;
    Ok(())
}

/// The `ip -batch` lines adding `count` IPv4 host routes
/// `100.{64+..}.x.y/32` through `dev`, starting at route number `first`.
#[must_use]
pub fn route_lines(dev: &str, first: u32, count: u32) -> String {
    let mut s = String::with_capacity(count as usize * 40);
    for i in first..first + count {
        s += &format!(
            "route add 100.{}.{}.{}/32 dev {dev}\n",
            64 + i / 65536 % 64,
            i / 256 % 256,
            i % 256
        );
    }
    s
}

/// Adds `count` routes through `dev` (see [`route_lines`]), in `ip -batch`
/// chunks of 100,000 so no single input grows too large.
///
/// # Errors
/// The first `ip -batch` failure.
pub fn routes(ns: &NetnsFixture, dev: &str, count: u32) -> Result<(), FixtureError> {
    let mut first = 0;
    while first < count {
        let n = (count - first).min(100_000);
        ns.ip_batch(&route_lines(dev, first, n))?;
        first += n;
    }
    Ok(())
}

/// Adds an interface `name` for a benchmark to change, up: one end of a
/// veth pair whose other end is `{name}p` (kernels built without the
/// `dummy` driver have veth). Neither end gets an IPv6 link-local address
/// (`addrgenmode none`), so no duplicate address detection changes the
/// state later, and it returns once the kernel reports both ends
/// operationally up (the carrier is signalled asynchronously, up to a
/// second later), so a monitor started next sees a settled link. Deleting
/// `name` deletes both, with every address and route on them.
///
/// # Errors
/// The first `ip` command that failed.
pub fn spare_link(ns: &NetnsFixture, name: &str) -> Result<(), FixtureError> {
    let peer = format!("{name}p");
    ns.ip(&["link", "add", name, "type", "veth", "peer", "name", &peer])?;
    for dev in [name, peer.as_str()] {
        ns.ip(&["link", "set", dev, "addrgenmode", "none"])?;
        ns.ip(&["link", "set", dev, "up"])?;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let up = [name, peer.as_str()].iter().all(|dev| {
            ns.ip_json(&["link", "show", "dev", dev])
                .ok()
                .and_then(|v| v.get(0)?.get("operstate")?.as_str().map(|s| s == "UP"))
                .unwrap_or(false)
        });
        if up {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Waits (up to `timeout`) until no address in the namespace is still
/// tentative (IPv6 duplicate address detection, about 1 to 2 s after a
/// link comes up), so that a measurement started next does not see the
/// addresses' flags change under it. Returns whether it settled.
#[must_use]
pub fn settle(ns: &NetnsFixture, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let tentative = ns
            .ip_json(&["addr", "show", "tentative"])
            .ok()
            .and_then(|v| {
                v.as_array().map(|links| {
                    links
                        .iter()
                        .filter_map(|l| l.get("addr_info")?.as_array())
                        .map(Vec::len)
                        .sum::<usize>()
                })
            });
        if tentative == Some(0) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
