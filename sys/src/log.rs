//! What the monitor tells an operator, with the feature `tracing`: one
//! `tracing` event per occurrence, never one per datagram or per wake-up.
//!
//! | occurrence | level |
//! |---|---|
//! | the route socket overflowed (events lost; the state is read again) | `WARN` |
//! | the route socket failed, or was reopened (a rebind), or reopening failed | `WARN` |
//! | an enumeration failed or timed out (the last state is kept; retried) | `WARN` |
//! | an enumeration was interrupted (the table changed while read) | `DEBUG` |
//! | the host slept (a time jump: the state is read and published) | `INFO` |
//! | a change was published | `DEBUG` |
//!
//! Events carry fields (`seq`, `cause`, `major`, `error`) under the target
//! `netstate_sys`. Without the feature every function here is empty.

use netstate_core::{Change, MonitorFailure, OsError};

/// The route socket overflowed.
pub(crate) fn overflow() {
    #[cfg(feature = "tracing")]
    tracing::warn!("route socket overflowed: events were lost, reading the whole state again");
}

/// The route socket failed (`Error` or `Closed`): a rebind follows.
pub(crate) fn socket_failed(kind: MonitorFailure) {
    #[cfg(feature = "tracing")]
    tracing::warn!(failure = ?kind, "route socket failed: reopening it with backoff");
    #[cfg(not(feature = "tracing"))]
    let _ = kind;
}

/// A rebind ran.
pub(crate) fn rebound(result: &Result<(), OsError>) {
    #[cfg(feature = "tracing")]
    match result {
        Ok(()) => tracing::warn!("route socket reopened: reading the whole state again"),
        Err(e) => {
            tracing::warn!(error = %e, "route socket could not be reopened: retrying with backoff")
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = result;
}

/// An enumeration failed (or timed out): the last state is kept.
pub(crate) fn enumeration_failed(error: &OsError) {
    #[cfg(feature = "tracing")]
    tracing::warn!(error = %error, "reading the network state failed: keeping the last state, retrying with backoff");
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}

/// An enumeration was interrupted: the table changed while it was read.
pub(crate) fn enumeration_interrupted() {
    #[cfg(feature = "tracing")]
    tracing::debug!("the interface table changed while it was read: reading it again");
}

/// A change was published (and, for cause `time_jump`, the host slept).
pub(crate) fn published(change: &Change) {
    #[cfg(feature = "tracing")]
    {
        if change.cause == netstate_core::Cause::TimeJump {
            tracing::info!(
                seq = change.seq,
                "the host slept: the network state was read again"
            );
        }
        tracing::debug!(
            seq = change.seq,
            cause = %change.cause,
            major = change.is_major(),
            "network state changed"
        );
    }
    #[cfg(not(feature = "tracing"))]
    let _ = change;
}
