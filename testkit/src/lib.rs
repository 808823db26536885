//! # netstate-testkit
//!
//! Tools to prove netstate's promises and to test applications against
//! network changes without touching the host.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

#[cfg(target_os = "linux")]
pub mod netns;
