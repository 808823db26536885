//! [`Check`]: the outcome of one forced check ([`Handle::check_now`]), to
//! await, to wait for on a thread, or to poll from a loop.
//!
//! A check asked for by a handle is fed to the Reconciler at the loop's
//! next wake-up (`Input::ForceCheck`). The first enumeration asked for
//! after that (`Reconciler::next_enumeration_id`) reads the state after the
//! request, so it answers the check:
//! a publication from it is [`CheckOutcome::Changed`], a result equal to
//! the published state is [`CheckOutcome::Unchanged`]. An enumeration the
//! kernel interrupted (the table was changing) does not answer it: the
//! next one does. An enumeration that failed, or whose answer came after
//! it timed out, answers [`CheckError::Failed`] (the monitor retries on
//! its own, with backoff; one abandoned without an answer leaves the check
//! to its retry);
//! a monitor that stops first answers [`CheckError::Stopped`].
//!
//! [`Handle::check_now`]: crate::Handle::check_now

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use netstate_core::{Change, EnumerationId, Input, OsError, Stats};

/// What a forced check found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// The state had changed: this change (cause `forced`, or a stronger
    /// one merged into the same enumeration) was published to every
    /// subscriber too.
    Changed(Change),
    /// The state read equals the published one: nothing was published.
    Unchanged,
}

/// Why a forced check gave no outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckError {
    /// The monitor stopped before the check was answered.
    Stopped,
    /// The enumeration that answered the check failed or timed out. The
    /// monitor keeps its last state and retries on its own; ask again to
    /// learn when it succeeds.
    Failed(OsError),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Stopped => f.write_str("the monitor stopped before the check was answered"),
            CheckError::Failed(e) => write!(f, "the check's enumeration failed: {e}"),
        }
    }
}

impl std::error::Error for CheckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckError::Failed(e) => Some(e),
            CheckError::Stopped => None,
        }
    }
}

/// The answer to one check, as [`Check`] yields it.
pub type CheckResult = Result<CheckOutcome, CheckError>;

#[derive(Debug, Default)]
struct State {
    result: Option<CheckResult>,
    /// The result was handed out (it is handed out once).
    taken: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Slot {
    state: Mutex<State>,
    done: Condvar,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One forced check's answer, from [`Handle::check_now`](crate::Handle::check_now).
///
/// The check is asked for when `check_now` is called, whether or not this
/// is used: drop it to ignore the answer. Otherwise take the answer once,
/// in the form that suits the caller: `.await` it (any runtime),
/// [`wait`](Self::wait) on a thread, or [`try_result`](Self::try_result)
/// from a loop that must not block (a mio loop driving the monitor
/// itself).
#[derive(Debug)]
pub struct Check {
    slot: Arc<Slot>,
}

impl Check {
    /// The answer, if it has come; `None` while the check runs (and once
    /// the answer was taken).
    pub fn try_result(&mut self) -> Option<CheckResult> {
        let mut s = self.slot.lock();
        let result = s.result.take();
        s.taken |= result.is_some();
        result
    }

    /// Blocks the thread until the answer comes. Never call it on the
    /// thread that runs the monitor's loop (a mio `MonitorSource`'s): the
    /// check would wait for itself.
    pub fn wait(self) -> CheckResult {
        let s = self.slot.lock();
        let mut s = self
            .slot
            .done
            .wait_while(s, |s| s.result.is_none() && !s.taken)
            .unwrap_or_else(PoisonError::into_inner);
        s.result.take().unwrap_or(Err(CheckError::Stopped))
    }

    /// Like [`wait`](Self::wait), giving up after `timeout` with `None`
    /// (the check goes on; ask again).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<CheckResult> {
        let s = self.slot.lock();
        let (mut s, _) = self
            .slot
            .done
            .wait_timeout_while(s, timeout, |s| s.result.is_none() && !s.taken)
            .unwrap_or_else(PoisonError::into_inner);
        let result = s.result.take();
        s.taken |= result.is_some();
        result
    }
}

impl Future for Check {
    type Output = CheckResult;

    /// Ready with the answer once it has come. Polled again after that,
    /// it answers `Err(CheckError::Stopped)`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CheckResult> {
        let mut s = self.slot.lock();
        if let Some(result) = s.result.take() {
            s.taken = true;
            return Poll::Ready(result);
        }
        if s.taken {
            return Poll::Ready(Err(CheckError::Stopped));
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// The monitor's side of one [`Check`]: answers it once; dropped
/// unanswered (the monitor stopping), it answers `Stopped`.
#[derive(Debug)]
pub(crate) struct Completer {
    slot: Arc<Slot>,
}

impl Completer {
    fn complete(self, result: CheckResult) {
        self.finish(result);
    }

    fn finish(&self, result: CheckResult) {
        let mut s = self.slot.lock();
        if s.result.is_some() || s.taken {
            return;
        }
        s.result = Some(result);
        let waker = s.waker.take();
        drop(s);
        self.slot.done.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        self.finish(Err(CheckError::Stopped));
    }
}

/// A check and its completer.
pub(crate) fn check() -> (Check, Completer) {
    let slot = Arc::new(Slot::default());
    (Check { slot: slot.clone() }, Completer { slot })
}

/// The engine's book of the checks it was asked for: which enumeration
/// answers each.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    /// Answered by the first enumeration with this id or a later one to
    /// end (ids only grow, and that one was asked for after the check).
    waiting: Vec<(EnumerationId, Completer)>,
    /// Answered by the publication with this number.
    publishing: Vec<(u64, Completer)>,
}

impl Checks {
    /// A forced check was fed for `checks`; `first` is the id of the next
    /// enumeration the Reconciler will ask for.
    pub(crate) fn forced(&mut self, checks: Vec<Completer>, first: EnumerationId) {
        self.waiting.extend(checks.into_iter().map(|c| (first, c)));
    }

    /// Enumeration `id` ended and its result was fed: it answers every
    /// check fed before it was asked for, unless it was interrupted (the
    /// next one does).
    pub(crate) fn ended(&mut self, id: EnumerationId, ended: Ended) {
        if matches!(ended, Ended::Interrupted) {
            return;
        }
        let (mine, others): (Vec<_>, Vec<_>) =
            self.waiting.drain(..).partition(|(first, _)| *first <= id);
        self.waiting = others;
        for (_, c) in mine {
            match &ended {
                Ended::Published(seq) => self.publishing.push((*seq, c)),
                Ended::Unchanged => c.complete(Ok(CheckOutcome::Unchanged)),
                Ended::Failed(e) => c.complete(Err(CheckError::Failed(e.clone()))),
                Ended::Interrupted => {}
            }
        }
    }

    /// `change` was published: it answers the checks waiting for it.
    pub(crate) fn published(&mut self, change: &Change) {
        if self.publishing.is_empty() {
            return;
        }
        let (mine, others): (Vec<_>, Vec<_>) = self
            .publishing
            .drain(..)
            .partition(|(seq, _)| *seq <= change.seq);
        self.publishing = others;
        for (_, c) in mine {
            c.complete(Ok(CheckOutcome::Changed(change.clone())));
        }
    }
}

/// How an enumeration that may answer checks ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// It published the change with this number.
    Published(u64),
    /// It read the published state again.
    Unchanged,
    /// The kernel interrupted it: the next enumeration answers.
    Interrupted,
    /// It failed, or its answer came too late to count.
    Failed(OsError),
}

/// An enumeration's end as fed to the Reconciler, before it judged it.
#[derive(Debug)]
pub(crate) enum Fed {
    Snapshot,
    Interrupted,
    Failed(OsError),
}

/// What the enumeration's `input` says (and tells the operator, with the
/// feature `tracing`, when it failed or was interrupted).
pub(crate) fn ended(input: &Input) -> Fed {
    match input {
        Input::Enumerated { result: Err(e), .. } => {
            crate::log::enumeration_failed(e);
            Fed::Failed(e.clone())
        }
        Input::EnumerationInterrupted { .. } => {
            crate::log::enumeration_interrupted();
            Fed::Interrupted
        }
        _ => Fed::Snapshot,
    }
}

impl Fed {
    /// How it ended, from the Reconciler's counters before and after it
    /// was fed: an answer the Reconciler no longer waited for (it timed
    /// out) failed; a snapshot that made publication number N published the
    /// change `seq` N (publications are numbered from 1 without gaps, as
    /// `Stats::publications` counts them).
    pub(crate) fn judge(self, before: Stats, after: Stats) -> Ended {
        if after.stale_results > before.stale_results {
            return Ended::Failed(OsError::new("the enumeration timed out"));
        }
        match self {
            Fed::Snapshot if after.publications > before.publications => {
                Ended::Published(after.publications)
            }
            Fed::Snapshot => Ended::Unchanged,
            Fed::Interrupted => Ended::Interrupted,
            Fed::Failed(e) => Ended::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_waker::counting_waker;
    use std::sync::Arc;

    use netstate_core::{Cause, Snapshot};

    use super::*;

    fn change(seq: u64) -> Change {
        let s = Arc::new(Snapshot::empty());
        Change::new(seq, Cause::Forced, s.clone(), s)
    }

    #[test]
    fn a_check_is_answered_by_the_first_enumeration_asked_for_after_it() {
        let mut checks = Checks::default();
        let (mut check, c) = check();
        // Enumeration 1 was in flight when it was fed: it does not answer.
        checks.forced(vec![c], EnumerationId(2));
        checks.ended(EnumerationId(1), Ended::Unchanged);
        assert_eq!(check.try_result(), None);
        checks.ended(EnumerationId(2), Ended::Published(7));
        assert_eq!(check.try_result(), None, "answered by the publication");
        checks.published(&change(7));
        assert_eq!(check.wait(), Ok(CheckOutcome::Changed(change(7))));
    }

    #[test]
    fn an_interrupted_enumeration_leaves_the_check_to_the_next_one() {
        let mut checks = Checks::default();
        let (mut check, c) = check();
        checks.forced(vec![c], EnumerationId(3));
        checks.ended(EnumerationId(3), Ended::Interrupted);
        assert_eq!(check.try_result(), None);
        checks.ended(EnumerationId(4), Ended::Unchanged);
        assert_eq!(check.try_result(), Some(Ok(CheckOutcome::Unchanged)));
    }

    #[test]
    fn a_monitor_that_stops_answers_stopped_and_a_failure_answers_failed() {
        let mut checks = Checks::default();
        let (stopped, c) = check();
        checks.forced(vec![c], EnumerationId(0));
        drop(checks);
        assert_eq!(stopped.wait(), Err(CheckError::Stopped));

        let mut checks = Checks::default();
        let (mut failed, c) = check();
        checks.forced(vec![c], EnumerationId(5));
        checks.ended(EnumerationId(5), Ended::Failed(OsError::new("timed out")));
        assert!(matches!(
            failed.wait_timeout(Duration::ZERO),
            Some(Err(CheckError::Failed(_)))
        ));
    }

    #[test]
    fn an_awaited_check_wakes_its_task() {
        let (check, c) = check();
        let waiter = std::thread::spawn(move || block_on(check));
        c.complete(Ok(CheckOutcome::Unchanged));
        assert_eq!(waiter.join().unwrap(), Ok(CheckOutcome::Unchanged));
    }

    #[test]
    fn an_answer_taken_once_is_not_given_again_and_a_later_await_says_stopped() {
        let (mut check, c) = super::check();
        c.complete(Ok(CheckOutcome::Unchanged));
        assert_eq!(check.try_result(), Some(Ok(CheckOutcome::Unchanged)));
        assert_eq!(check.try_result(), None);
        assert_eq!(check.wait_timeout(Duration::ZERO), None);
        // Awaited after that, it answers at once rather than never.
        assert_eq!(poll_once(&mut check), Poll::Ready(Err(CheckError::Stopped)));

        let (mut check, c) = super::check();
        c.complete(Ok(CheckOutcome::Unchanged));
        assert_eq!(
            check.wait_timeout(Duration::ZERO),
            Some(Ok(CheckOutcome::Unchanged))
        );
        assert_eq!(poll_once(&mut check), Poll::Ready(Err(CheckError::Stopped)));
        assert_eq!(check.wait(), Err(CheckError::Stopped));
    }

    #[test]
    fn with_no_answer_a_timed_wait_waits_out_its_timeout() {
        let (mut check, _completer) = super::check();
        let asked = Duration::from_millis(20);
        let before = std::time::Instant::now();
        assert_eq!(check.wait_timeout(asked), None);
        // A lower bound only (the clock is monotonic): it did not give up
        // early; how late it returned is not asserted.
        assert!(
            before.elapsed() >= asked,
            "gave up after {:?}",
            before.elapsed()
        );
    }

    #[test]
    fn an_answer_already_there_is_returned_at_once_however_long_the_wait() {
        let (mut check, c) = super::check();
        c.complete(Ok(CheckOutcome::Unchanged));
        // Far longer than taking an answer can last: only a wait that
        // ignores the answer already there would last it.
        let long = Duration::from_secs(5);
        let before = std::time::Instant::now();
        assert_eq!(check.wait_timeout(long), Some(Ok(CheckOutcome::Unchanged)));
        assert!(before.elapsed() < long, "waited out the timeout");
    }

    #[test]
    fn waiting_blocks_until_the_answer_comes() {
        // The waiter says it is about to wait; the answer is sent only then,
        // so a wait that returned before the answer would return nothing.
        let (check, c) = super::check();
        let (about_to_wait, ready) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            about_to_wait.send(()).unwrap();
            check.wait()
        });
        ready.recv().unwrap();
        c.complete(Ok(CheckOutcome::Unchanged));
        assert_eq!(waiter.join().unwrap(), Ok(CheckOutcome::Unchanged));

        let (mut check, c) = super::check();
        let (about_to_wait, ready) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            about_to_wait.send(()).unwrap();
            check.wait_timeout(Duration::from_secs(3600))
        });
        ready.recv().unwrap();
        c.complete(Ok(CheckOutcome::Unchanged));
        assert_eq!(waiter.join().unwrap(), Some(Ok(CheckOutcome::Unchanged)));
    }

    #[test]
    fn an_awaited_check_wakes_the_task_that_polled_it_last() {
        let (mut check, c) = super::check();
        let (first, first_woken) = counting_waker();
        let (last, last_woken) = counting_waker();
        let pinned = Pin::new(&mut check);
        assert!(pinned.poll(&mut Context::from_waker(&first)).is_pending());
        // The future moved to another task: that one must be woken.
        assert!(Pin::new(&mut check)
            .poll(&mut Context::from_waker(&last))
            .is_pending());
        c.complete(Ok(CheckOutcome::Unchanged));
        assert_eq!(last_woken.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(first_woken.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn a_check_error_says_what_happened_and_keeps_the_os_error_as_its_source() {
        use std::error::Error as _;
        let stopped = CheckError::Stopped;
        assert!(stopped.to_string().contains("stopped"), "{stopped}");
        assert!(stopped.source().is_none());
        let failed = CheckError::Failed(OsError::new("dump socket closed"));
        let text = failed.to_string();
        assert!(
            text.contains("failed") && text.contains("dump socket closed"),
            "{text}"
        );
        assert_eq!(
            failed.source().map(ToString::to_string),
            Some(OsError::new("dump socket closed").to_string())
        );
    }

    #[test]
    fn an_enumerations_end_is_read_from_its_input() {
        use netstate_core::{EnumerationId, Input};
        let id = EnumerationId(4);
        let failed = Input::Enumerated {
            id,
            result: Err(OsError::new("EPERM")),
        };
        assert!(matches!(ended(&failed), Fed::Failed(e) if e == OsError::new("EPERM")));
        let interrupted = Input::EnumerationInterrupted { id };
        assert!(matches!(ended(&interrupted), Fed::Interrupted));
        let read = Input::Enumerated {
            id,
            result: Ok(netstate_core::Snapshot::empty()),
        };
        assert!(matches!(ended(&read), Fed::Snapshot));
    }

    #[test]
    fn an_enumerations_end_is_judged_by_the_counters_it_moved() {
        let mut before = Stats::default();
        before.publications = 6;
        before.stale_results = 2;
        let mut published = before;
        published.publications = 7;
        let mut stale = before;
        stale.stale_results = 3;
        assert!(matches!(
            Fed::Snapshot.judge(before, published),
            Ended::Published(7)
        ));
        assert!(matches!(
            Fed::Snapshot.judge(before, before),
            Ended::Unchanged
        ));
        // An answer that came after its enumeration timed out failed, even
        // a snapshot.
        assert!(matches!(
            Fed::Snapshot.judge(before, stale),
            Ended::Failed(_)
        ));
        assert!(matches!(
            Fed::Interrupted.judge(before, before),
            Ended::Interrupted
        ));
        assert!(matches!(
            Fed::Failed(OsError::new("x")).judge(before, before),
            Ended::Failed(e) if e == OsError::new("x")
        ));
    }

    /// Polls the check once with a waker that does nothing.
    fn poll_once(check: &mut Check) -> Poll<CheckResult> {
        Pin::new(check).poll(&mut Context::from_waker(Waker::noop()))
    }

    /// A minimal `block_on` (the crate depends on no executor).
    fn block_on<F: Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }
}
