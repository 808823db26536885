//! # netstate-testkit
//!
//! Tools to prove netstate's promises and to test applications against
//! network changes without touching the host.
//!
//! ## What it does not do
//!
//! Nothing in the simulation reads the host's interfaces, sleeps or reads a
//! clock to decide anything: it runs on virtual time, and every random
//! choice comes from one `u64` seed, so any run can be reproduced exactly.
//! (The only sockets it opens are `UnixDatagram` pairs inside the process,
//! the route socket of the real engine in [`engine_sim`] and
//! [`engine_core`]; the kernel fixtures of `netns` and the drivers'
//! `conformance` suite are apart.)
//!
//! ## What it does
//!
//! * [`sim`]: a deterministic simulation of a host (its interface table, a
//!   route socket with combinable faults, enumerations that take time and
//!   fail, suspend/resume and clock steps) around the `Reconciler`, or
//!   around the real engine with [`EngineCore`].
//! * [`engine_sim`]: a simulated backend for driving the real engine by
//!   hand on virtual time.
//! * [`scenario`]: scripts for the simulation, generated from a seed or by
//!   proptest strategies that shrink.
//! * [`props`]: the properties every run must satisfy (convergence, no
//!   spurious publication, bounded work, no starvation, recovery, sleep
//!   detection), with bounds derived from the configuration.
//! * [`replay`]: loads a trace recorded by `netstate record` and replays it
//!   through the core.
//! * [`reconciler_model`]: a harness that feeds the Reconciler one operation
//!   at a time and checks its invariants after every step, shared by the
//!   proptests here and the `reconciler` fuzz target (feature `arbitrary`).
//! * [`SimMonitor`]: the drivers' surface (`state`, `subscribe`,
//!   `check_now`, `stats`) on a simulated host, for applications' tests.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod engine_core;
pub mod engine_sim;
pub mod monitor;
pub mod net;
pub mod props;
pub mod reconciler_model;
pub mod replay;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod socket;

#[cfg(test)]
mod broken;

pub use engine_core::EngineCore;
pub use monitor::{SimMonitor, SimMonitorError};
pub use net::{NetError, NetOp, NetTable};
pub use rng::SimRng;
pub use scenario::{check_engine, check_reconciler, check_scenario, Profile, Property, Scenario};
pub use sim::{Core, EnumerationModel, Sim, SimError, SimParams, Step};
pub use socket::{SocketFault, SocketFaults};

#[cfg(target_os = "linux")]
pub mod conformance;
pub mod faults;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(unix)]
pub mod queued;
