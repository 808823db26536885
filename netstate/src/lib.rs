#![doc = include_str!("../README.md")]
//!
//! ## Where things are
//!
//! The model and the change types are at the root of this crate; each
//! runtime's monitor is a module (`tokio`, `smol`, `mio`), present with
//! the feature of the same name. [`Handle`] is what every monitor derefs
//! to (`state`, `subscribe`, `check_now`, `stats`).
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use netstate_core::{
    ifname, ipnet, AddrFlags, AddrFlagsChange, Address, Backoff, Cause, Change, Config,
    ConfigBuilder, ConfigError, DefaultRoute, DefaultRouteDelta, DefaultRoutes, Delta, Family,
    Filter, HardwareAddr, Interface, InterfaceDelta, InterfaceFlags, InterfaceId,
    ParseHardwareAddrError, Snapshot, SnapshotError, DEFAULT_BACKOFF, DEFAULT_DEBOUNCE,
    DEFAULT_ENUMERATION_TIMEOUT, DEFAULT_MAX_WAIT, DEFAULT_RECONCILE,
};
pub use netstate_sys::fanout::{Subscriber, TryRecvError, DEFAULT_QUEUE};
pub use netstate_sys::{
    Check, CheckError, CheckOutcome, CheckResult, Handle, MonitorBuilder, MonitorStats,
};

/// Why a monitor could not start, the same for every runtime.
pub use netstate_sys::StartError as Error;

/// The counters of the monitor's decision core (part of [`MonitorStats`]).
pub use netstate_core::Stats as CoreStats;

/// The monitor for tokio applications: [`tokio::Monitor`] is a task on
/// the application's runtime.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio {
    pub use netstate_tokio::{Builder, Monitor};
}

/// The monitor for smol and other `async-io` applications:
/// [`smol::Monitor`] hands its task to the spawner you give it.
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub mod smol {
    pub use netstate_smol::{Builder, Monitor, MonitorTask};
}

/// The monitor for mio programs and programs without a runtime:
/// [`mio::MonitorSource`] is a `mio::event::Source` for your own `Poll`;
/// [`mio::ThreadMonitor`] runs the loop on a thread of its own.
#[cfg(feature = "mio")]
#[cfg_attr(docsrs, doc(cfg(feature = "mio")))]
pub mod mio {
    pub use netstate_mio::{Builder, MonitorSource, OnChange, ThreadBuilder, ThreadMonitor};
}
