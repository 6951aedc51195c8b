//! Keeps the suite's CPU-heavy steps apart from the probe runs whose deadlines it asserts.
//!
//! The tests run in parallel (2 threads by default, on a 2-core machine), and some steps burn
//! CPU for seconds: `initdb` and `mariadb-install-db` with their servers' start, valgrind's
//! callgrind in the cost guards, a Redis server spinning in a script. A probe run beside them
//! has been seen to end its check 100-300 ms past its deadline by its own clock (it was not
//! scheduled), which a deadline assertion cannot tell from a late probe. So each probe run holds
//! [`probe_run`] (shared: probe runs overlap freely) and each heavy step holds [`heavy`]
//! (exclusive): neither starts while the other is on. The probe runs inside a heavy step (a
//! test that checks the spinning Redis) go on without waiting: they assert no deadline.

use std::cell::Cell;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static CPU: RwLock<()> = RwLock::new(());

thread_local! {
    /// This thread holds [`heavy`].
    static IN_HEAVY: Cell<bool> = const { Cell::new(false) };
}

/// Held while a probe runs: `None` inside a heavy step of the same thread.
pub fn probe_run() -> Option<RwLockReadGuard<'static, ()>> {
    if IN_HEAVY.get() {
        return None;
    }
    Some(CPU.read().unwrap_or_else(PoisonError::into_inner))
}

/// Held while a CPU-heavy step runs; no probe run of another test overlaps it.
pub struct Heavy {
    /// `None` for a heavy step inside another of the same thread, which holds the lock.
    guard: Option<RwLockWriteGuard<'static, ()>>,
}

/// Waits for the probe runs under way to end, then holds every new one off until dropped.
pub fn heavy() -> Heavy {
    if IN_HEAVY.get() {
        return Heavy { guard: None };
    }
    let guard = CPU.write().unwrap_or_else(PoisonError::into_inner);
    IN_HEAVY.set(true);
    Heavy { guard: Some(guard) }
}

impl Drop for Heavy {
    fn drop(&mut self) {
        if self.guard.take().is_some() {
            IN_HEAVY.set(false);
        }
    }
}
