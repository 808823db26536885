//! (tests only) A waker that counts how often it was woken, for the tests
//! of what wakes an awaiting task (`Check`, `Subscriber`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

struct Count(Arc<AtomicUsize>);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker, and how many times it has been woken so far.
pub(crate) fn counting_waker() -> (Waker, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    (Waker::from(Arc::new(Count(count.clone()))), count)
}
