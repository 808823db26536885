//! Testing an application's reaction to network changes with `SimMonitor`,
//! without touching the host.
//!
//! The "application" here is a peer-to-peer endpoint that keeps one
//! listener per usable address and re-announces itself when the default
//! route moves. The script plays a laptop's afternoon: a new DHCP lease on
//! Wi-Fi, a VPN taking the default route, a route socket that goes quiet,
//! and a sleep.
//!
//! Run it with `cargo run -p netstate-testkit --example sim_monitor`.

use std::collections::BTreeSet;
use std::time::Duration;

use netstate_core::{Cause, Change, Config, Family, InterfaceFlags, Snapshot};
use netstate_sys::fanout::Subscriber;
use netstate_testkit::{NetTable, SimMonitor, SocketFault};

/// The application under test.
struct Endpoint {
    listeners: BTreeSet<String>,
    announcements: u32,
    changes: Subscriber,
}

impl Endpoint {
    fn start(monitor: &SimMonitor) -> Self {
        // The state and the changes after it, in one call.
        let (state, changes) = monitor.subscribe();
        let mut e = Endpoint {
            listeners: BTreeSet::new(),
            announcements: 0,
            changes,
        };
        e.listen_on(&state);
        e
    }

    fn listen_on(&mut self, state: &Snapshot) {
        self.listeners = state
            .interfaces()
            .iter()
            .filter(|i| i.is_up() && !i.is_loopback())
            .flat_map(|i| i.addrs.iter())
            .filter(|a| a.is_usable_global())
            .map(|a| a.net.addr().to_string())
            .collect();
    }

    /// What the application does with each change it receives.
    fn poll(&mut self) {
        while let Ok(change) = self.changes.try_recv() {
            self.react(&change);
        }
    }

    fn react(&mut self, change: &Change) {
        println!(
            "  change #{} ({}): {} interface(s) changed, default route changed: {:?}",
            change.seq,
            change.cause.as_str(),
            change.delta.changed.len(),
            change.delta.default_route_changed
        );
        self.listen_on(&change.new);
        if change.delta.default_route_changed.v4 || change.cause == Cause::TimeJump {
            self.announcements += 1;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let up = InterfaceFlags::UP | InterfaceFlags::RUNNING;
    let mut net = NetTable::new();
    net.add_interface("lo", up | InterfaceFlags::LOOPBACK)?;
    net.add_address("lo", "127.0.0.1/8".parse()?)?;
    net.add_interface("wlan0", up)?;
    net.add_address("wlan0", "192.168.1.20/24".parse()?)?;
    net.add_interface("tun0", up | InterfaceFlags::POINT_TO_POINT)?;
    net.set_default_route(Family::V4, Some(("wlan0", Some("192.168.1.1".parse()?))))?;

    let monitor = SimMonitor::new(Config::default(), net)?;
    let mut app = Endpoint::start(&monitor);
    println!("start: listening on {:?}", app.listeners);

    println!("the Wi-Fi address changes:");
    monitor.replace_address(
        "wlan0",
        "192.168.1.20/24".parse()?,
        "192.168.1.77/24".parse()?,
    )?;
    monitor.settle()?;
    app.poll();
    assert_eq!(app.listeners, BTreeSet::from(["192.168.1.77".to_string()]));

    println!("the VPN comes up and takes the default route:");
    monitor.add_address("tun0", "10.8.0.2/24".parse()?)?;
    monitor.move_default_route(Family::V4, "tun0", None)?;
    monitor.settle()?;
    app.poll();
    assert_eq!(app.announcements, 1);
    assert_eq!(app.listeners.len(), 2);

    println!("the route socket goes quiet, then the VPN drops:");
    monitor.socket_fault(SocketFault::Silent)?;
    monitor.remove_interface("tun0")?;
    monitor.settle()?;
    app.poll();
    assert_eq!(app.listeners.len(), 2, "not noticed yet: no event arrived");
    monitor.advance(Duration::from_secs(15))?;
    app.poll();
    assert_eq!(app.listeners, BTreeSet::from(["192.168.1.77".to_string()]));
    println!(
        "  (noticed by the periodic reconcile at {:?})",
        monitor.now()
    );

    println!("the laptop sleeps for an hour:");
    monitor.suspend(Duration::from_secs(3600))?;
    monitor.settle()?;
    app.poll();
    assert_eq!(
        app.announcements, 3,
        "the default route went with the VPN, then the wake-up"
    );

    println!("{:?}", monitor.stats());
    Ok(())
}
