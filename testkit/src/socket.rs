//! The simulated route socket: [`SocketFaults`], the impairments it applies
//! between a change of the truth and the driver reading a hint.
//!
//! Faults combine: a message can be dropped, delayed, reordered, delivered
//! several times, lost in an overflow, and the socket can fail with an
//! error, be closed, or go silent forever. All of it is drawn from the
//! simulation's seed.

use std::time::Duration;

use netstate_core::{MonitorFailure, RouteEvent};
use serde::{Deserialize, Serialize};

use crate::rng::SimRng;

/// What the simulated route socket does to the messages it carries.
///
/// Probabilities are in thousandths (`per_mille`), so that scenarios print
/// and shrink exactly. The default is a perfect socket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SocketFaults {
    /// Each message is lost silently with this probability (macOS).
    pub drop_per_mille: u16,
    /// Each message is delivered after a delay drawn in this range (ms).
    pub delay_ms: [u64; 2],
    /// Whether delayed messages may overtake each other. When false,
    /// delivery keeps the order in which the kernel sent them.
    pub reorder: bool,
    /// Each message is delivered between 1 and this many times (0 and 1
    /// both mean once): a burst of duplicates.
    pub burst_max: u8,
    /// At most this many messages wait in the socket's buffer; one more
    /// overflows it: every waiting message is lost and the driver reads
    /// [`MonitorFailure::Overflow`] (netlink `ENOBUFS`).
    pub capacity: Option<u32>,
    /// Each message overflows the buffer with this probability.
    pub overflow_per_mille: u16,
    /// Each message instead makes the read fail with an error, with this
    /// probability; the socket then delivers nothing until it is rebound.
    pub error_per_mille: u16,
    /// Each message instead closes the socket, with this probability.
    pub close_per_mille: u16,
    /// Each rebind fails with this probability.
    pub rebind_fail_per_mille: u16,
}

impl SocketFaults {
    /// A socket that delivers every message at once, in order, exactly once.
    #[must_use]
    pub fn perfect() -> Self {
        SocketFaults::default()
    }

    /// Whether every message sent while the socket is open reaches the
    /// driver (possibly late, reordered, duplicated, or replaced by an
    /// overflow report): no silent loss, no error, no close.
    #[must_use]
    pub fn delivers_everything(&self) -> bool {
        self.drop_per_mille == 0 && self.error_per_mille == 0 && self.close_per_mille == 0
    }
}

/// A failure injected on purpose by a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketFault {
    /// The buffer overflows now: waiting messages are lost, the driver reads
    /// an overflow.
    Overflow,
    /// The next read fails with an error; the socket must be rebound.
    Error,
    /// The socket is closed; it must be rebound.
    Close,
    /// The socket stops delivering anything, with no error, until it is
    /// rebound (a `PF_ROUTE` socket seen to go quiet for good).
    Silent,
}

/// The socket's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketState {
    /// Delivering (subject to its faults).
    Open,
    /// Failed or closed: messages are lost until a rebind succeeds.
    Broken,
    /// Quiet with no error: messages are lost until a rebind succeeds.
    Silent,
}

/// Something the socket hands the driver at a later instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// A message, valid only while the buffer generation is `epoch`.
    Hint { event: RouteEvent, epoch: u64 },
    /// A failure report.
    Failure(MonitorFailure),
}

/// What became of one message sent into the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Queued for delivery this many times.
    Queued(u8),
    /// Lost silently (drop probability).
    Dropped,
    /// Lost because the socket is broken or silent.
    Lost(SocketState),
    /// It overflowed the buffer, losing this many waiting messages.
    Overflowed(u32),
    /// Its read failed: the socket is now broken.
    Failed(MonitorFailure),
}

/// The simulated socket's state: faults, buffer and randomness.
#[derive(Clone, Debug)]
pub(crate) struct SimSocket {
    pub(crate) faults: SocketFaults,
    pub(crate) state: SocketState,
    /// The buffer's generation: bumped whenever its waiting messages are lost.
    pub(crate) epoch: u64,
    /// Messages of the current generation not delivered yet.
    waiting: u32,
    /// When the last message is due, for in-order delivery.
    last_due: Duration,
}

impl SimSocket {
    pub(crate) fn new(faults: SocketFaults) -> Self {
        SimSocket {
            faults,
            state: SocketState::Open,
            epoch: 0,
            waiting: 0,
            last_due: Duration::ZERO,
        }
    }

    fn lose_buffer(&mut self) -> u32 {
        self.epoch += 1;
        std::mem::take(&mut self.waiting)
    }

    /// The kernel sends `event` at `now`; returns its fate and what to
    /// deliver when.
    pub(crate) fn send(
        &mut self,
        now: Duration,
        event: RouteEvent,
        rng: &mut SimRng,
        out: &mut Vec<(Duration, Delivery)>,
    ) -> Fate {
        if self.state != SocketState::Open {
            return Fate::Lost(self.state);
        }
        let f = &self.faults;
        let (error, close, overflow, drop) = (
            f.error_per_mille,
            f.close_per_mille,
            f.overflow_per_mille,
            f.drop_per_mille,
        );
        if rng.chance(error) {
            return self.fail(now, MonitorFailure::Error, out);
        }
        if rng.chance(close) {
            return self.fail(now, MonitorFailure::Closed, out);
        }
        if rng.chance(overflow) {
            return self.overflow(now, out);
        }
        if rng.chance(drop) {
            return Fate::Dropped;
        }
        let copies = rng.between(1, u64::from(self.faults.burst_max.max(1))) as u8;
        for _ in 0..copies {
            if self.faults.capacity.is_some_and(|c| self.waiting >= c) {
                return self.overflow(now, out);
            }
            let mut due = now + rng.millis(self.faults.delay_ms);
            if !self.faults.reorder {
                due = due.max(self.last_due);
                self.last_due = due;
            }
            self.waiting += 1;
            out.push((
                due,
                Delivery::Hint {
                    event,
                    epoch: self.epoch,
                },
            ));
        }
        Fate::Queued(copies)
    }

    pub(crate) fn overflow(&mut self, now: Duration, out: &mut Vec<(Duration, Delivery)>) -> Fate {
        let lost = self.lose_buffer();
        out.push((now, Delivery::Failure(MonitorFailure::Overflow)));
        Fate::Overflowed(lost)
    }

    pub(crate) fn fail(
        &mut self,
        now: Duration,
        kind: MonitorFailure,
        out: &mut Vec<(Duration, Delivery)>,
    ) -> Fate {
        self.lose_buffer();
        self.state = SocketState::Broken;
        out.push((now, Delivery::Failure(kind)));
        Fate::Failed(kind)
    }

    pub(crate) fn go_silent(&mut self) {
        self.lose_buffer();
        self.state = SocketState::Silent;
    }

    /// A message of generation `epoch` reaches the driver: whether it still
    /// exists.
    pub(crate) fn take(&mut self, epoch: u64) -> bool {
        if epoch != self.epoch || self.state != SocketState::Open {
            return false;
        }
        self.waiting = self.waiting.saturating_sub(1);
        true
    }

    /// The driver reopened the socket: a fresh, empty, working one.
    pub(crate) fn reopen(&mut self) {
        self.lose_buffer();
        self.state = SocketState::Open;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstate_core::RouteEventKind;

    fn hint() -> RouteEvent {
        RouteEvent::new(RouteEventKind::AddrNew).with_index(2)
    }

    #[test]
    fn a_perfect_socket_delivers_each_message_once_at_once() {
        let mut s = SimSocket::new(SocketFaults::perfect());
        let mut out = Vec::new();
        assert_eq!(
            s.send(
                Duration::from_secs(1),
                hint(),
                &mut SimRng::new(1),
                &mut out
            ),
            Fate::Queued(1)
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, Duration::from_secs(1));
        assert!(s.take(0));
    }

    #[test]
    fn a_full_buffer_overflows_and_loses_what_waits() {
        let faults = SocketFaults {
            capacity: Some(2),
            delay_ms: [10, 10],
            ..SocketFaults::default()
        };
        let mut s = SimSocket::new(faults);
        let mut out = Vec::new();
        s.send(Duration::ZERO, hint(), &mut SimRng::new(1), &mut out);
        s.send(Duration::ZERO, hint(), &mut SimRng::new(1), &mut out);
        assert_eq!(
            s.send(Duration::ZERO, hint(), &mut SimRng::new(1), &mut out),
            Fate::Overflowed(2)
        );
        assert_eq!(
            out.last(),
            Some(&(Duration::ZERO, Delivery::Failure(MonitorFailure::Overflow)))
        );
        assert!(!s.take(0), "the waiting messages are gone");
    }

    #[test]
    fn in_order_delivery_never_lets_a_message_overtake() {
        let faults = SocketFaults {
            delay_ms: [0, 500],
            burst_max: 3,
            ..SocketFaults::default()
        };
        let mut s = SimSocket::new(faults);
        let mut out = Vec::new();
        for ms in 0..50 {
            s.send(
                Duration::from_millis(ms * 10),
                hint(),
                &mut SimRng::new(ms),
                &mut out,
            );
        }
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(out.len() > 50);
    }

    #[test]
    fn a_broken_or_silent_socket_loses_everything_until_rebound() {
        let mut s = SimSocket::new(SocketFaults::perfect());
        let mut out = Vec::new();
        s.fail(Duration::ZERO, MonitorFailure::Error, &mut out);
        assert_eq!(
            s.send(Duration::ZERO, hint(), &mut SimRng::new(1), &mut out),
            Fate::Lost(SocketState::Broken)
        );
        s.reopen();
        s.go_silent();
        assert_eq!(
            s.send(Duration::ZERO, hint(), &mut SimRng::new(1), &mut out),
            Fate::Lost(SocketState::Silent)
        );
        s.reopen();
        assert_eq!(
            s.send(Duration::ZERO, hint(), &mut SimRng::new(1), &mut out),
            Fate::Queued(1)
        );
    }
}
