//! # netstate-core
//!
//! The pure heart of netstate: the model of a host's network state, the
//! difference between two states, and the [`Reconciler`] that decides when
//! to read the state again and what to publish.
//!
//! ## What this crate does not do
//!
//! It performs no I/O, opens no socket, reads no clock, takes no lock, starts no thread and
//! contains no `unsafe`. Time is always an argument (`now: Instant`), and a
//! clock that counts suspended time comes in as data
//! ([`Input::SleepClock`]). The operating-system side lives in `netstate-sys`,
//! the event loops in the drivers (`netstate-tokio`, `netstate-smol`,
//! `netstate-mio`).
//!
//! ## What it does
//!
//! * [`Snapshot`]: the interface table at one instant (interfaces sorted by
//!   index, their flags, MTU, hardware and IP addresses; the default route
//!   per family), with [`Snapshot::have_v4`] / [`Snapshot::have_v6`].
//! * [`Snapshot::diff`] gives a [`Delta`] in one linear pass; a
//!   [`Change`] is one publication and says whether it is major.
//! * [`Reconciler`]: every route-socket event is only a hint; the
//!   enumeration is the truth. It debounces hints (with a maximum wait),
//!   reconciles periodically, resyncs on overflow, rebinds on error with
//!   backoff, notices sleep, and publishes only real changes. A hint that
//!   names one interface costs a read of that interface alone
//!   ([`refresh`]), so a change costs the same on 4 or 4,000 interfaces.
//!
//! With the `serde` feature, the model serialises to the JSON shape of the
//! `netstate` command (see the `json` module docs for the added fields).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod change;
mod config;
mod diff;
mod display;
mod event;
mod filter;
mod flags;
pub mod ifname;
mod interfaces;
#[cfg(feature = "serde")]
mod json;
mod reconciler;
pub mod refresh;
mod snapshot;
mod timer;
pub mod trace;
pub mod wire;

pub use change::{Cause, Change};
pub use config::{
    Backoff, Config, ConfigBuilder, ConfigError, DEFAULT_BACKOFF, DEFAULT_DEBOUNCE,
    DEFAULT_ENUMERATION_TIMEOUT, DEFAULT_MAX_WAIT, DEFAULT_RECONCILE,
};
pub use diff::{AddrFlagsChange, DefaultRouteDelta, Delta, InterfaceDelta, InterfaceId};
pub use event::{Family, InterfaceName, RouteEvent, RouteEventKind, MAX_NAME_LEN};
pub use filter::Filter;
pub use flags::{AddrFlags, InterfaceFlags};
pub use interfaces::{Interfaces, InterfacesIter};
pub use reconciler::{Action, EnumerationId, Input, MonitorFailure, OsError, Reconciler, Stats};
pub use refresh::{MergeError, Refresh, RouteHop, RouteHops, Scope, Targets, MAX_TARGETS};
pub use snapshot::{
    Address, DefaultRoute, DefaultRoutes, HardwareAddr, Interface, ParseHardwareAddrError,
    Snapshot, SnapshotError,
};
pub use timer::Timer;

/// Re-exported so users name the same `IpNet` type the model uses.
pub use ipnet;
