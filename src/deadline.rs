//! The one deadline of a run, and the phase each check is in.
//!
//! Every blocking call asks the deadline for the time left, so that DNS, connect, TLS, request
//! and body together stay within the run's timeout.
//!
//! # How a timeout names its phase
//! There is one way: a check *enters* a phase with [`Deadline::enter`] before the blocking call
//! of that phase (it returns the time left), and every timeout is made by
//! [`Deadline::expired`], which names the phase last entered. The phase lives in the deadline
//! itself (an atomic shared by the clones of one check's deadline), so code that only sees an
//! error after the fact — ureq's connector and error mapping, the tokio timeout around the gRPC
//! call — names the same phase as the code that started the call. Each check gets its own
//! phase from [`Deadline::for_check`]; the instants are those of the run. Which I/O errors
//! mean the time ran out is [`is_timeout`]'s to say.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::duration::format_duration;
use crate::error::{Error, Phase};

/// Below this much time left a blocking call is not started: std rejects `Duration::ZERO` as a
/// socket timeout, and a 1 ms read cannot succeed in any useful way.
const MIN_LEFT: Duration = Duration::from_millis(1);

/// A deadline further away than this is clamped to it: `Instant + Duration::MAX` overflows,
/// and no check needs a century.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[derive(Debug, Clone)]
pub(crate) struct Deadline {
    start: Instant,
    end: Instant,
    budget: Duration,
    phase: Arc<AtomicU8>,
}

impl Deadline {
    /// A deadline `budget` from now; a budget too large for the clock is clamped, never a panic.
    pub(crate) fn after(budget: Duration) -> Deadline {
        let start = Instant::now();
        let end = start
            .checked_add(budget.min(FAR))
            .or_else(|| start.checked_add(Duration::from_secs(24 * 3600)))
            .unwrap_or(start);
        Deadline {
            start,
            end,
            budget,
            phase: Arc::new(AtomicU8::new(0)),
        }
    }

    /// The same instants, with a phase of its own: one per check of a run.
    pub(crate) fn for_check(&self) -> Deadline {
        Deadline {
            phase: Arc::new(AtomicU8::new(0)),
            ..self.clone()
        }
    }

    /// Enters `phase` and returns the time left, or a timeout error naming `phase` when none is
    /// left. Never `Duration::ZERO`.
    pub(crate) fn enter(&self, phase: Phase) -> Result<Duration, Error> {
        self.set_phase(phase);
        self.left()
    }

    /// Records `phase` without asking for the time left (ureq asks for it itself).
    pub(crate) fn set_phase(&self, phase: Phase) {
        let i = Phase::ALL.iter().position(|p| *p == phase).unwrap_or(0);
        self.phase.store(i as u8, Ordering::Relaxed);
    }

    /// The phase last entered.
    pub(crate) fn phase(&self) -> Phase {
        Phase::ALL
            .get(usize::from(self.phase.load(Ordering::Relaxed)))
            .copied()
            .unwrap_or(Phase::Resolve)
    }

    /// The time left in the current phase, or a timeout error naming it.
    pub(crate) fn left(&self) -> Result<Duration, Error> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left < MIN_LEFT {
            Err(self.expired())
        } else {
            Ok(left)
        }
    }

    /// The error for a deadline that ran out in the current phase.
    pub(crate) fn expired(&self) -> Error {
        Error::timeout(&format_duration(self.budget), self.phase())
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Whether an I/O error means the time given to a blocking call ran out: a socket timeout
/// (`TimedOut`, or `WouldBlock` on Unix, as std documents for `set_read_timeout`), or ureq's own
/// timeout handed back inside an `io::Error` (its TLS adapter does, over https). Code that sees
/// one reports [`Deadline::expired`].
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) || e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_and_ureq_timeouts_are_timeouts() {
        assert!(is_timeout(&io::ErrorKind::TimedOut.into()));
        assert!(is_timeout(&io::ErrorKind::WouldBlock.into()));
        let ureq = ureq::Error::Timeout(ureq::Timeout::Global);
        assert!(is_timeout(&io::Error::other(ureq)));
        assert!(!is_timeout(&io::ErrorKind::ConnectionReset.into()));
        assert!(!is_timeout(&io::Error::other(ureq::Error::HostNotFound)));
    }

    #[test]
    fn left_is_never_zero() {
        let d = Deadline::after(Duration::from_secs(5));
        let left = d.enter(Phase::Connect).unwrap();
        assert!(left > Duration::ZERO && left <= Duration::from_secs(5));
    }

    #[test]
    fn expired_names_phase() {
        let d = Deadline::after(Duration::ZERO);
        let e = d.enter(Phase::Resolve).unwrap_err();
        assert!(e.is_timeout());
        assert_eq!(
            e.to_string(),
            "timed out after 0ms while resolving the host"
        );
    }

    #[test]
    fn phase_is_shared_by_clones_not_by_checks() {
        let run = Deadline::after(Duration::from_secs(5));
        let check = run.for_check();
        let clone = check.clone();
        clone.set_phase(Phase::Body);
        assert_eq!(check.phase(), Phase::Body);
        assert_eq!(run.phase(), Phase::Resolve);
    }

    #[test]
    fn huge_budget_is_clamped_not_a_panic() {
        let d = Deadline::after(Duration::MAX);
        assert!(d.enter(Phase::Connect).unwrap() > Duration::from_secs(3600));
    }
}
