//! Findings about the core made with the simulation, each as a scripted,
//! deterministic test.
//!
//! Each finding was a bug in `netstate-core` found by the simulation; its
//! test now guards the fix.

use std::time::Duration;

use netstate_core::{Config, Filter, InterfaceFlags, Reconciler};
use netstate_testkit::net::NetTable;
use netstate_testkit::props::{self, Bounds};
use netstate_testkit::sim::{EnumerationModel, SimParams};
use netstate_testkit::Sim;

/// An ignored `veth0` renamed to `eth1` (same index), which then gets an
/// address while the enumeration its rename triggered is in flight, after
/// it read the table. The address's hint names only the index, which the
/// filter counted as ignored (the ignored indexes are those of the last
/// *completed* enumeration), so the hint was dropped: the address was
/// published only by the next reconcile, 15 s later, although every hint
/// reached the core. The same happened on BSD/macOS when a new interface
/// reused the index of an ignored one that went away (`if_index` reuse).
///
/// Fixed in the core (`Reconciler::unignore_renamed`): a link hint whose
/// name the filter keeps takes its index out of the ignored set.
#[test]
fn an_ignored_interface_renamed_into_view_is_followed_promptly() {
    let config = Config::builder()
        .filter(Filter::new().ignore_prefix("veth"))
        .build()
        .expect("valid");
    let params = SimParams {
        enumeration: EnumerationModel {
            duration_ms: [100, 100],
            ..EnumerationModel::default()
        },
        ..SimParams::default()
    };
    let bounds = Bounds::new(&config, &params);
    let up = InterfaceFlags::UP | InterfaceFlags::RUNNING;
    let mut net = NetTable::new();
    net.add_interface("eth0", up).expect("free name");
    net.add_interface("veth0", up).expect("free name");
    let mut sim: Sim<Reconciler> = Sim::new(config, params, net, 1).expect("valid");
    sim.run_until(Duration::from_secs(1)).expect("runs");

    sim.change("rename veth0 -> eth1", |t| {
        t.rename_interface("veth0", "eth1")
    })
    .expect("renamed");
    // The rename's hint (it carries the new name) starts the debounce: the
    // enumeration starts 250 ms later and reads the table at once.
    sim.advance(Duration::from_millis(250) + Duration::from_millis(100) / 2)
        .expect("runs");
    let e = sim
        .observations()
        .enumerations
        .last()
        .cloned()
        .expect("one");
    assert!(e.read_at.is_some() && e.answered.is_none(), "{e:?}");
    sim.change("address on eth1", |t| {
        t.add_address("eth1", "10.9.0.2/24".parse().expect("an address"))
    })
    .expect("added");
    sim.advance(Duration::from_secs(30)).expect("runs");

    let obs = sim.observations();
    let checked = props::check_convergence(obs, bounds.converge_flowing);
    assert!(
        checked.is_ok(),
        "{}\n{}",
        checked.err().map(|v| v.to_string()).unwrap_or_default(),
        sim.log_text()
    );
}

/// The same race with an interface that was never ignored converges within
/// the flowing bound: the rule "a hint during an enumeration runs one more"
/// holds. (The control for the test above.)
#[test]
fn a_change_racing_an_enumeration_is_followed_promptly() {
    let config = Config::default();
    let params = SimParams {
        enumeration: EnumerationModel {
            duration_ms: [100, 100],
            ..EnumerationModel::default()
        },
        ..SimParams::default()
    };
    let bounds = Bounds::new(&config, &params);
    let up = InterfaceFlags::UP | InterfaceFlags::RUNNING;
    let mut net = NetTable::new();
    net.add_interface("eth0", up).expect("free name");
    net.add_interface("veth0", up).expect("free name");
    let mut sim = Sim::new(config, params, net, 1).expect("valid");
    sim.run_until(Duration::from_secs(1)).expect("runs");
    sim.change("rename veth0 -> eth1", |t| {
        t.rename_interface("veth0", "eth1")
    })
    .expect("renamed");
    sim.advance(Duration::from_millis(300)).expect("runs");
    let e = sim
        .observations()
        .enumerations
        .last()
        .cloned()
        .expect("one");
    assert!(e.read_at.is_some() && e.answered.is_none(), "{e:?}");
    sim.change("address on eth1", |t| {
        t.add_address("eth1", "10.9.0.2/24".parse().expect("an address"))
    })
    .expect("added");
    sim.advance(Duration::from_secs(30)).expect("runs");
    let c = props::check_convergence(sim.observations(), bounds.converge_flowing)
        .unwrap_or_else(|v| panic!("{v}\n{}", sim.log_text()));
    assert_eq!(c.cases, 1);
    assert!(c.worst < Duration::from_millis(500), "{c:?}");
}
