//! Handing published changes to subscribers: [`Fanout`] and [`Subscriber`].
//!
//! Shared by every driver (and the testkit's `SimMonitor`), so they all give
//! subscribers the same semantics:
//!
//! * **The monitor never waits for a subscriber.** Publishing only pushes
//!   onto each subscriber's own bounded queue and wakes it.
//! * **A slow subscriber loses no information and ends on the latest state.**
//!   When its queue is full, the newest queued change and the new one are
//!   merged into one: `old` of the earlier, `new` of the later, the delta
//!   recomputed between them, the later `seq`, and the stronger cause
//!   ([`Cause::strongest`](netstate_core::Cause::strongest): a sleep merged with a
//!   later event is still a sleep). The subscriber
//!   thus sees fewer, larger changes, each exact, the last one ending on the
//!   current state; `seq` may skip numbers, which tells it that it lagged.
//! * **Memory is bounded** by the queue capacity per subscriber.
//! * It works in any runtime: [`Subscriber::poll_recv`] for async code (a
//!   `Waker`), [`Subscriber::recv_blocking`] for threads (a `Condvar`).
//!
//! This is neither tokio's `broadcast` (which drops changes and reports
//! `Lagged`) nor `watch` (which keeps only the latest state, losing the
//! deltas): a network monitor's user needs both the deltas and the guarantee
//! of ending on the truth.
//!
//! Dropping the [`Fanout`] (the monitor stopping) closes every subscriber:
//! it drains what is queued, then receives `None`.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use netstate_core::Change;

/// The default number of changes queued per subscriber before merging.
pub const DEFAULT_QUEUE: usize = 64;

#[derive(Debug)]
struct Queue {
    changes: VecDeque<Change>,
    capacity: usize,
    waker: Option<Waker>,
    closed: bool,
    merged: u64,
    /// Threads waiting on the condition variable: a publication wakes it
    /// only when there is one (std's `notify_all` is a system call even
    /// with no waiter, on every publication of an async subscriber).
    blocked: u32,
}

#[derive(Debug)]
struct Slot {
    queue: Mutex<Queue>,
    ready: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a queue half-updated in a
    // way that matters (each operation is a push or pop), so keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Slot {
    fn push(&self, change: &Change) {
        let mut q = lock(&self.queue);
        if q.closed {
            return;
        }
        if q.changes.len() >= q.capacity {
            if let Some(last) = q.changes.pop_back() {
                q.changes.push_back(Change::new(
                    change.seq,
                    last.cause.strongest(change.cause),
                    last.old,
                    change.new.clone(),
                ));
                q.merged += 1;
            }
        } else {
            q.changes.push_back(change.clone());
        }
        self.wake(q);
    }

    /// Wakes whoever waits on the queue `q` (the lock, released here).
    fn wake(&self, mut q: MutexGuard<'_, Queue>) {
        let waker = q.waker.take();
        let blocked = q.blocked > 0;
        drop(q);
        if blocked {
            self.ready.notify_all();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn close(&self) {
        let mut q = lock(&self.queue);
        q.closed = true;
        self.wake(q);
    }
}

/// The publishing side, owned by a monitor.
#[derive(Debug)]
pub struct Fanout {
    subscribers: Mutex<Vec<Weak<Slot>>>,
    capacity: usize,
}

impl Default for Fanout {
    fn default() -> Self {
        Fanout::new(DEFAULT_QUEUE)
    }
}

impl Fanout {
    /// A fanout whose subscribers queue up to `capacity` changes (at least 1)
    /// before merging.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Fanout {
            subscribers: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
        }
    }

    /// A new subscriber; it receives the changes published from now on.
    #[must_use]
    pub fn subscribe(&self) -> Subscriber {
        let slot = Arc::new(Slot {
            queue: Mutex::new(Queue {
                changes: VecDeque::new(),
                capacity: self.capacity,
                waker: None,
                closed: false,
                merged: 0,
                blocked: 0,
            }),
            ready: Condvar::new(),
        });
        lock(&self.subscribers).push(Arc::downgrade(&slot));
        Subscriber { slot }
    }

    /// Hands `change` to every live subscriber without ever waiting for one;
    /// forgets the subscribers that were dropped.
    pub fn publish(&self, change: &Change) {
        let mut subs = lock(&self.subscribers);
        subs.retain(|weak| match weak.upgrade() {
            Some(slot) => {
                slot.push(change);
                true
            }
            None => false,
        });
    }

    /// How many subscribers are remembered (dropped ones until the next
    /// publication forgets them).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        lock(&self.subscribers).len()
    }

    /// Closes every subscriber: each drains its queue, then gets `None`.
    pub fn close(&self) {
        for slot in lock(&self.subscribers)
            .drain(..)
            .filter_map(|w| w.upgrade())
        {
            slot.close();
        }
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        self.close();
    }
}

/// Why [`Subscriber::try_recv`] returned no change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRecvError {
    /// Nothing is queued now; the monitor is still running.
    Empty,
    /// The monitor stopped and everything queued was received.
    Closed,
}

impl std::fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "no change is queued",
            TryRecvError::Closed => "the monitor stopped and every change was received",
        })
    }
}

impl std::error::Error for TryRecvError {}

/// The receiving side: a queue of changes of one subscriber.
///
/// It is a [`futures_core::Stream`] of changes (ending when the monitor
/// stops), for `StreamExt` combinators in any runtime.
#[derive(Debug)]
pub struct Subscriber {
    slot: Arc<Slot>,
}

impl Subscriber {
    /// The next change, without waiting.
    pub fn try_recv(&mut self) -> Result<Change, TryRecvError> {
        let mut q = lock(&self.slot.queue);
        match q.changes.pop_front() {
            Some(c) => Ok(c),
            None if q.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Polls for the next change: `Ready(Some)` with one, `Ready(None)` once
    /// the monitor stopped and the queue is drained, else `Pending` (the
    /// context's waker is woken on the next publication).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        let mut q = lock(&self.slot.queue);
        if let Some(c) = q.changes.pop_front() {
            return Poll::Ready(Some(c));
        }
        if q.closed {
            return Poll::Ready(None);
        }
        match &q.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => q.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next change, waiting for it in any async runtime; `None` once the
    /// monitor stopped and the queue is drained.
    pub async fn recv(&mut self) -> Option<Change> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next change, blocking the thread; `None` once the monitor stopped
    /// and the queue is drained.
    pub fn recv_blocking(&mut self) -> Option<Change> {
        let mut q = lock(&self.slot.queue);
        loop {
            if let Some(c) = q.changes.pop_front() {
                return Some(c);
            }
            if q.closed {
                return None;
            }
            q.blocked += 1;
            q = self
                .slot
                .ready
                .wait(q)
                .unwrap_or_else(PoisonError::into_inner);
            q.blocked -= 1;
        }
    }

    /// Like [`recv_blocking`](Self::recv_blocking), giving up after `timeout`
    /// with `Err(TryRecvError::Empty)`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Change, TryRecvError> {
        let mut q = lock(&self.slot.queue);
        q.blocked += 1;
        let (mut q, _) = self
            .slot
            .ready
            .wait_timeout_while(q, timeout, |q| q.changes.is_empty() && !q.closed)
            .unwrap_or_else(PoisonError::into_inner);
        q.blocked -= 1;
        match q.changes.pop_front() {
            Some(c) => Ok(c),
            None if q.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// How many changes are queued.
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.slot.queue).changes.len()
    }

    /// Whether no change is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times two queued changes were merged because this subscriber
    /// lagged.
    #[must_use]
    pub fn merged(&self) -> u64 {
        lock(&self.slot.queue).merged
    }
}

impl futures_core::Stream for Subscriber {
    type Item = Change;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        self.get_mut().poll_recv(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_waker::counting_waker;
    use netstate_core::{Address, Cause, Interface, Snapshot};

    fn state(n: u32) -> Arc<Snapshot> {
        let mut i = Interface::new(1, "eth0");
        for k in 0..n {
            let net = format!("10.0.{k}.1/24").parse().unwrap();
            i.addrs.push(Address::new(net));
        }
        Arc::new(Snapshot::new(vec![i], Default::default()).unwrap())
    }

    fn change(seq: u64, old: &Arc<Snapshot>, new: &Arc<Snapshot>) -> Change {
        Change::new(seq, Cause::Event, old.clone(), new.clone())
    }

    #[test]
    fn merging_keeps_the_strongest_cause_not_the_latest() {
        // The wake from a sleep, then an ordinary event, both queued for a
        // subscriber that is not reading: the merged change must still say
        // the host slept (before the fix: cause Event, minor).
        let f = Fanout::new(1);
        let mut s = f.subscribe();
        let states: Vec<_> = (0..3).map(state).collect();
        let mut slept = change(1, &states[0], &states[0]);
        slept.cause = Cause::TimeJump;
        f.publish(&slept);
        let mut event = change(2, &states[0], &states[0]);
        event.cause = Cause::Event;
        f.publish(&event);
        let merged = s.try_recv().expect("one merged change");
        assert_eq!(merged.seq, 2);
        assert_eq!(merged.cause, Cause::TimeJump);
        assert!(merged.is_major());
    }

    #[test]
    fn every_subscriber_gets_every_change_in_order() {
        let f = Fanout::new(8);
        let mut a = f.subscribe();
        let mut b = f.subscribe();
        let states: Vec<_> = (0..4).map(state).collect();
        for (i, w) in states.windows(2).enumerate() {
            f.publish(&change(i as u64 + 1, &w[0], &w[1]));
        }
        for s in [&mut a, &mut b] {
            let seqs: Vec<u64> = std::iter::from_fn(|| s.try_recv().ok())
                .map(|c| c.seq)
                .collect();
            assert_eq!(seqs, [1, 2, 3]);
            assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Empty);
        }
    }

    #[test]
    fn a_lagging_subscriber_gets_merged_exact_changes_ending_on_the_latest_state() {
        let f = Fanout::new(2);
        let mut slow = f.subscribe();
        let states: Vec<_> = (0..10).map(state).collect();
        for (i, w) in states.windows(2).enumerate() {
            f.publish(&change(i as u64 + 1, &w[0], &w[1]));
        }
        assert_eq!(slow.len(), 2);
        assert_eq!(slow.merged(), 7);
        let first = slow.try_recv().unwrap();
        let last = slow.try_recv().unwrap();
        assert_eq!(first.seq, 1);
        assert_eq!(last.seq, 9);
        assert_eq!(
            last.old, first.new,
            "the merged change starts where the first ended"
        );
        assert_eq!(last.new, states[9]);
        assert_eq!(last.delta, Snapshot::diff(&states[1], &states[9]));
        assert_eq!(last.delta.changed[0].addrs_added.len(), 8);
    }

    #[test]
    fn dropping_the_fanout_closes_subscribers_after_they_drain() {
        let f = Fanout::new(4);
        let mut s = f.subscribe();
        f.publish(&change(1, &state(0), &state(1)));
        drop(f);
        assert_eq!(s.recv_blocking().map(|c| c.seq), Some(1));
        assert_eq!(s.recv_blocking(), None);
        assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Closed);
    }

    #[test]
    fn dropped_subscribers_are_forgotten() {
        let f = Fanout::new(4);
        let s = f.subscribe();
        let t = f.subscribe();
        let _u = f.subscribe();
        assert_eq!(f.remembered(), 3);
        drop(s);
        drop(t);
        f.publish(&change(1, &state(0), &state(1)));
        assert_eq!(f.remembered(), 1);
    }

    /// A thread that publishes `seq` once the subscriber of `slot` is
    /// blocked waiting (so the wake, not a queued change, is what the
    /// waiting side gets).
    fn publish_when_blocked(
        f: &Arc<Fanout>,
        slot: &Arc<Slot>,
        seq: u64,
    ) -> std::thread::JoinHandle<()> {
        let (f, slot) = (f.clone(), slot.clone());
        std::thread::spawn(move || {
            while lock(&slot.queue).blocked == 0 {
                std::thread::yield_now();
            }
            f.publish(&change(seq, &state(0), &state(1)));
        })
    }

    #[test]
    fn a_blocked_thread_is_woken_by_a_publication() {
        let f = Arc::new(Fanout::new(4));
        let mut s = f.subscribe();
        let publisher = publish_when_blocked(&f, &s.slot, 7);
        // Received on a thread of its own, so a wake that never comes
        // fails here rather than hanging the test.
        let (tx, rx) = std::sync::mpsc::channel();
        let receiver = std::thread::spawn(move || {
            let got = s.recv_blocking().map(|c| c.seq);
            let _ = tx.send(got);
            s
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(Some(7)));
        let mut s = receiver.join().unwrap();
        publisher.join().unwrap();
        // A timed wait is woken the same way, long before its timeout.
        let publisher = publish_when_blocked(&f, &s.slot, 8);
        assert_eq!(
            s.recv_timeout(Duration::from_secs(60)).map(|c| c.seq),
            Ok(8)
        );
        publisher.join().unwrap();
        assert_eq!(lock(&s.slot.queue).blocked, 0, "no waiter is left counted");
        assert_eq!(
            s.recv_timeout(Duration::from_millis(1)).unwrap_err(),
            TryRecvError::Empty
        );
    }

    #[test]
    fn polling_gives_each_change_then_the_end_and_wakes_the_last_poller() {
        use futures_core::Stream;
        let f = Fanout::new(4);
        let mut s = f.subscribe();
        let (first, first_woken) = counting_waker();
        let (last, last_woken) = counting_waker();
        assert!(s.poll_recv(&mut Context::from_waker(&first)).is_pending());
        assert!(s.poll_recv(&mut Context::from_waker(&last)).is_pending());
        f.publish(&change(1, &state(0), &state(1)));
        assert_eq!(
            last_woken.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the task that polled last is woken"
        );
        assert_eq!(first_woken.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(Stream::size_hint(&s), (1, None));
        assert!(!s.is_empty());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match std::pin::Pin::new(&mut s).poll_next(&mut cx) {
            Poll::Ready(Some(c)) => assert_eq!(c.seq, 1),
            other => panic!("the published change: {other:?}"),
        }
        assert!(s.is_empty());
        assert_eq!(Stream::size_hint(&s), (0, None));
        f.close();
        assert!(matches!(s.poll_recv(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn recv_awaits_the_next_change_and_none_at_the_end() {
        let f = Fanout::new(4);
        let mut s = f.subscribe();
        f.publish(&change(1, &state(0), &state(1)));
        f.close();
        use std::future::Future;
        let mut cx = Context::from_waker(std::task::Waker::noop());
        {
            let mut next = std::pin::pin!(s.recv());
            match next.as_mut().poll(&mut cx) {
                Poll::Ready(Some(c)) => assert_eq!(c.seq, 1),
                other => panic!("the published change: {other:?}"),
            }
        }
        let mut end = std::pin::pin!(s.recv());
        assert!(matches!(end.as_mut().poll(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_timed_receive_gives_a_change_the_end_or_empty_after_its_timeout() {
        let f = Fanout::new(4);
        let mut s = f.subscribe();
        f.publish(&change(1, &state(0), &state(1)));
        // A change already there comes at once, not at the end of the wait
        // (far longer than taking a queued change can last).
        let long = Duration::from_secs(5);
        let before = std::time::Instant::now();
        assert_eq!(s.recv_timeout(long).map(|c| c.seq), Ok(1));
        assert!(before.elapsed() < long, "waited out the timeout");
        let asked = Duration::from_millis(20);
        let before = std::time::Instant::now();
        assert_eq!(s.recv_timeout(asked).unwrap_err(), TryRecvError::Empty);
        assert!(
            before.elapsed() >= asked,
            "gave up after {:?}",
            before.elapsed()
        );
        f.close();
        assert_eq!(
            s.recv_timeout(Duration::from_secs(5)).unwrap_err(),
            TryRecvError::Closed,
            "the end comes at once"
        );
    }

    #[test]
    fn a_receive_error_says_what_happened() {
        assert!(TryRecvError::Empty.to_string().contains("no change"));
        assert!(TryRecvError::Closed.to_string().contains("stopped"));
    }
}
