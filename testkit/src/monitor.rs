//! [`SimMonitor`]: the drivers' surface on a simulated host, for testing an
//! application's reaction to network changes without touching the host.
//!
//! It offers what every driver offers (`state`, `subscribe`, `check_now`,
//! `stats`), and a script: change the simulated interfaces, make the host
//! sleep, impair the route socket, and let virtual time pass with
//! [`SimMonitor::advance`] or [`SimMonitor::settle`]. Nothing runs between
//! those calls, and no real time passes: a test is deterministic.
//!
//! ```
//! use std::time::Duration;
//! use netstate_core::{Cause, Config, Family, InterfaceFlags};
//! use netstate_testkit::{NetTable, SimMonitor};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A laptop on Wi-Fi, with a VPN tunnel up but not yet routing.
//! let up = InterfaceFlags::UP | InterfaceFlags::RUNNING;
//! let mut net = NetTable::new();
//! net.add_interface("wlan0", up)?;
//! net.add_address("wlan0", "192.168.1.20/24".parse()?)?;
//! net.add_interface("tun0", up | InterfaceFlags::POINT_TO_POINT)?;
//! net.add_address("tun0", "10.8.0.2/24".parse()?)?;
//! net.set_default_route(Family::V4, Some(("wlan0", Some("192.168.1.1".parse()?))))?;
//!
//! let monitor = SimMonitor::new(Config::default(), net)?;
//! let (state, mut changes) = monitor.subscribe();
//! assert!(state.have_v4());
//!
//! // The Wi-Fi address changes (a new DHCP lease).
//! monitor.replace_address("wlan0", "192.168.1.20/24".parse()?, "192.168.1.77/24".parse()?)?;
//! monitor.settle()?;
//! let change = changes.try_recv().expect("published");
//! assert_eq!(change.cause, Cause::Event);
//! assert_eq!(change.delta.changed[0].addrs_added[0].net.to_string(), "192.168.1.77/24");
//!
//! // The default route moves to the VPN.
//! monitor.move_default_route(Family::V4, "tun0", None)?;
//! monitor.settle()?;
//! let change = changes.try_recv().expect("published");
//! assert!(change.delta.default_route_changed.v4);
//! assert_eq!(monitor.state().default_routes().v4.as_ref().map(|r| r.interface.as_str()), Some("tun0"));
//!
//! // The laptop sleeps for an hour: a time_jump, even though nothing changed.
//! monitor.suspend(Duration::from_secs(3600))?;
//! monitor.settle()?;
//! assert_eq!(changes.try_recv().expect("published").cause, Cause::TimeJump);
//! assert_eq!(monitor.stats().publications, 4);
//! # Ok(())
//! # }
//! ```

use core::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use netstate_core::ipnet::IpNet;
use netstate_core::{Config, Family, InterfaceFlags, Reconciler, RouteEvent, Snapshot, Stats};
use netstate_sys::fanout::{Fanout, Subscriber};

use crate::net::{NetError, NetTable};
use crate::props::Bounds;
use crate::sim::{EnumerationModel, Sim, SimError, SimParams};
use crate::socket::{SocketFault, SocketFaults};

/// Why a [`SimMonitor`] call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimMonitorError {
    /// The change does not apply to the simulated table (no such interface,
    /// a name taken); nothing changed.
    Net(NetError),
    /// The simulation refused the parameters or stopped (a busy loop in the
    /// core).
    Sim(SimError),
    /// No first state was published within this much virtual time (every
    /// enumeration failed).
    NoFirstState(Duration),
}

impl fmt::Display for SimMonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimMonitorError::Net(e) => write!(f, "{e}"),
            SimMonitorError::Sim(e) => write!(f, "{e}"),
            SimMonitorError::NoFirstState(d) => {
                write!(f, "no first state was published within {d:?}")
            }
        }
    }
}

impl std::error::Error for SimMonitorError {}

impl From<NetError> for SimMonitorError {
    fn from(e: NetError) -> Self {
        SimMonitorError::Net(e)
    }
}

impl From<SimError> for SimMonitorError {
    fn from(e: SimError) -> Self {
        SimMonitorError::Sim(e)
    }
}

struct Inner {
    sim: Sim<Reconciler>,
    fanout: Fanout,
    state: Arc<Snapshot>,
    forwarded: usize,
}

impl Inner {
    /// Hands the publications made since the last call to subscribers.
    fn forward(&mut self) {
        let publications = &self.sim.observations().publications;
        for (_, change) in &publications[self.forwarded.min(publications.len())..] {
            self.state = change.new.clone();
            self.fanout.publish(change);
        }
        self.forwarded = publications.len();
    }

    fn run(&mut self, d: Duration) -> Result<(), SimError> {
        let r = self.sim.advance(d);
        self.forward();
        r
    }
}

/// A network monitor on a simulated host, driven by the test.
///
/// Like a driver's `Monitor` it is ready once the first state is known,
/// gives the current state, lets any number of subscribers follow the
/// changes (a [`Subscriber`] of the same fanout the drivers use) and can be
/// asked to check now. Unlike one, it only moves when the test says so:
/// changes to the simulated interfaces are noticed (route hints, debounce,
/// enumeration, exactly as the real Reconciler does) when virtual time is
/// advanced. Every method takes `&self`, so the monitor can be shared (in an
/// `Arc`) with the code under test. Dropping it ends every subscription.
pub struct SimMonitor {
    inner: Mutex<Inner>,
}

impl fmt::Debug for SimMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimMonitor")
            .field("sim", &self.lock().sim)
            .finish_non_exhaustive()
    }
}

impl SimMonitor {
    /// A monitor of a host whose interfaces are `net`, with a perfect route
    /// socket and instantaneous enumerations; returns once the first state
    /// is published.
    pub fn new(config: Config, net: NetTable) -> Result<Self, SimMonitorError> {
        let params = SimParams {
            socket: SocketFaults::perfect(),
            enumeration: EnumerationModel {
                duration_ms: [0, 0],
                ..EnumerationModel::default()
            },
            rebind_ms: [0, 0],
        };
        SimMonitor::with_params(config, params, net, 0)
    }

    /// A monitor with the host's faults and timings `params`, every random
    /// draw derived from `seed`; returns once the first state is published.
    pub fn with_params(
        config: Config,
        params: SimParams,
        net: NetTable,
        seed: u64,
    ) -> Result<Self, SimMonitorError> {
        let mut sim = Sim::new(config, params, net, seed)?;
        let limit = Duration::from_secs(3600);
        if !sim.run_until_condition(limit, |o| !o.publications.is_empty())? {
            return Err(SimMonitorError::NoFirstState(limit));
        }
        let mut inner = Inner {
            sim,
            fanout: Fanout::default(),
            state: Arc::new(Snapshot::empty()),
            forwarded: 0,
        };
        inner.forward();
        Ok(SimMonitor {
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ----- the drivers' surface -----

    /// The current published state.
    #[must_use]
    pub fn state(&self) -> Arc<Snapshot> {
        self.lock().state.clone()
    }

    /// The current state and a subscriber to every change published after
    /// it, taken together, as a driver's `subscribe` gives them.
    #[must_use]
    pub fn subscribe(&self) -> (Arc<Snapshot>, Subscriber) {
        let inner = self.lock();
        (inner.state.clone(), inner.fanout.subscribe())
    }

    /// Asks for a check now, as a driver's `check_now` does; with the
    /// default instantaneous enumerations its result is published before
    /// this returns, otherwise once virtual time passes the enumeration.
    pub fn check_now(&self) {
        let mut inner = self.lock();
        inner.sim.force_check();
        // Whatever is due at this very instant runs now.
        let r = inner.run(Duration::ZERO);
        debug_assert!(r.is_ok(), "{r:?}");
    }

    /// The Reconciler's counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.lock().sim.core().stats()
    }

    // ----- the script -----

    /// The virtual time since the monitor started.
    #[must_use]
    pub fn now(&self) -> Duration {
        self.lock().sim.now()
    }

    /// Lets `d` of virtual time pass, running everything due in it.
    pub fn advance(&self, d: Duration) -> Result<(), SimMonitorError> {
        Ok(self.lock().run(d)?)
    }

    /// Lets enough virtual time pass for a change already made to be
    /// published when the socket delivers its hints: the maximum wait, plus
    /// the socket's longest delay, plus the longest enumeration (and its
    /// failures), plus 1 ms.
    pub fn settle(&self) -> Result<(), SimMonitorError> {
        let mut inner = self.lock();
        let bounds = Bounds::new(inner.sim.config(), inner.sim.params());
        Ok(inner.run(bounds.converge_flowing + Duration::from_millis(1))?)
    }

    /// The simulated interfaces, as an enumeration would read them now.
    #[must_use]
    pub fn truth(&self) -> Snapshot {
        self.lock().sim.truth().snapshot().clone()
    }

    /// Changes the simulated interfaces with `f`, which returns the hints the
    /// kernel sends (as [`NetTable`]'s methods do). `what` names the change
    /// in the log.
    pub fn change(
        &self,
        what: &str,
        f: impl FnOnce(&mut NetTable) -> Result<Vec<RouteEvent>, NetError>,
    ) -> Result<(), SimMonitorError> {
        let mut inner = self.lock();
        inner.sim.change(what, f)?;
        inner.run(Duration::ZERO)?;
        Ok(())
    }

    /// Replaces the whole simulated table with `snapshot`.
    pub fn set_state(&self, snapshot: Snapshot) -> Result<(), SimMonitorError> {
        self.change("set_state", |t| Ok(t.set_snapshot(snapshot)))
    }

    /// Adds an interface with `flags` under a fresh index.
    pub fn add_interface(&self, name: &str, flags: InterfaceFlags) -> Result<(), SimMonitorError> {
        self.change(&format!("add_interface {name}"), |t| {
            t.add_interface(name, flags).map(|(_, h)| h)
        })
    }

    /// Removes an interface (and the default routes through it).
    pub fn remove_interface(&self, name: &str) -> Result<(), SimMonitorError> {
        self.change(&format!("remove_interface {name}"), |t| {
            t.remove_interface(name)
        })
    }

    /// Sets an interface up (with carrier) or down.
    pub fn set_up(&self, name: &str, up: bool) -> Result<(), SimMonitorError> {
        self.change(&format!("set_up {name} {up}"), |t| t.set_up(name, up))
    }

    /// Adds an address to an interface.
    pub fn add_address(&self, name: &str, net: IpNet) -> Result<(), SimMonitorError> {
        self.change(&format!("add_address {name} {net}"), |t| {
            t.add_address(name, net)
        })
    }

    /// Removes an address from an interface.
    pub fn remove_address(&self, name: &str, net: IpNet) -> Result<(), SimMonitorError> {
        self.change(&format!("remove_address {name} {net}"), |t| {
            t.remove_address(name, net)
        })
    }

    /// Replaces an address of an interface ("the Wi-Fi address changed").
    pub fn replace_address(
        &self,
        name: &str,
        old: IpNet,
        new: IpNet,
    ) -> Result<(), SimMonitorError> {
        self.change(&format!("replace_address {name} {old} -> {new}"), |t| {
            t.replace_address(name, old, new)
        })
    }

    /// Points the default route of `family` at interface `via` ("the default
    /// route moved to the VPN").
    pub fn move_default_route(
        &self,
        family: Family,
        via: &str,
        gateway: Option<IpAddr>,
    ) -> Result<(), SimMonitorError> {
        self.change(&format!("default route {family:?} via {via}"), |t| {
            t.set_default_route(family, Some((via, gateway)))
        })
    }

    /// Removes the default route of `family`.
    pub fn remove_default_route(&self, family: Family) -> Result<(), SimMonitorError> {
        self.change(&format!("no default route {family:?}"), |t| {
            t.set_default_route(family, None)
        })
    }

    /// The host sleeps for `d` and resumes now (its monotonic clock stands
    /// still, the clock counting suspended time jumps).
    pub fn suspend(&self, d: Duration) -> Result<(), SimMonitorError> {
        let mut inner = self.lock();
        inner.sim.suspend(d);
        Ok(inner.run(Duration::ZERO)?)
    }

    /// Impairs the route socket from now on.
    pub fn set_socket_faults(&self, faults: SocketFaults) {
        self.lock().sim.set_socket_faults(faults);
    }

    /// Injects a socket failure now (an overflow, an error, a close, or
    /// silence until the next rebind).
    pub fn socket_fault(&self, fault: SocketFault) -> Result<(), SimMonitorError> {
        let mut inner = self.lock();
        inner.sim.socket_fault(fault);
        Ok(inner.run(Duration::ZERO)?)
    }

    /// The simulation's log so far, one event per line.
    #[must_use]
    pub fn log_text(&self) -> String {
        self.lock().sim.log_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstate_core::{Cause, Family};

    fn laptop() -> NetTable {
        let up = InterfaceFlags::UP | InterfaceFlags::RUNNING;
        let mut net = NetTable::new();
        net.add_interface("wlan0", up).unwrap();
        net.add_address("wlan0", "192.168.1.20/24".parse().unwrap())
            .unwrap();
        net.set_default_route(Family::V4, Some(("wlan0", None)))
            .unwrap();
        net
    }

    #[test]
    fn a_change_is_published_after_the_debounce_and_not_before() {
        let m = SimMonitor::new(Config::default(), laptop()).unwrap();
        assert_eq!(m.stats().publications, 1);
        let (_, mut sub) = m.subscribe();
        m.remove_address("wlan0", "192.168.1.20/24".parse().unwrap())
            .unwrap();
        m.advance(Duration::from_millis(249)).unwrap();
        assert!(sub.try_recv().is_err());
        assert!(m.state().have_v4());
        m.advance(Duration::from_millis(1)).unwrap();
        let c = sub.try_recv().unwrap();
        assert_eq!(c.seq, 2);
        assert!(!m.state().have_v4());
    }

    #[test]
    fn a_lost_change_is_found_by_the_reconcile_or_by_check_now() {
        let m = SimMonitor::new(Config::default(), laptop()).unwrap();
        let (_, mut sub) = m.subscribe();
        m.socket_fault(SocketFault::Silent).unwrap();
        m.set_up("wlan0", false).unwrap();
        m.settle().unwrap();
        assert!(sub.try_recv().is_err(), "the silent socket hid it");
        m.check_now();
        let c = sub.try_recv().unwrap();
        assert_eq!(c.cause, Cause::Forced);
        m.set_up("wlan0", true).unwrap();
        m.advance(Duration::from_secs(15)).unwrap();
        assert_eq!(sub.try_recv().unwrap().cause, Cause::Reconcile);
        assert!(m.log_text().contains("Lost(Silent)"));
    }

    #[test]
    fn errors_are_typed_and_change_nothing() {
        let m = SimMonitor::new(Config::default(), laptop()).unwrap();
        let before = m.truth();
        let e = m
            .add_address("eth9", "10.0.0.1/8".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            e,
            SimMonitorError::Net(NetError::NoSuchInterface("eth9".into()))
        );
        assert_eq!(m.truth(), before);
    }

    #[test]
    fn dropping_the_monitor_ends_subscriptions() {
        let m = SimMonitor::new(Config::default(), laptop()).unwrap();
        let (_, mut sub) = m.subscribe();
        drop(m);
        assert_eq!(sub.recv_blocking(), None);
    }
}
