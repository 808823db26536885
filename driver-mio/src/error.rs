//! [`Error`]: why a monitor could not start, shared by every netstate driver.

pub use netstate_sys::StartError as Error;
