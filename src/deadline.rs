//! The one deadline of a run. Every blocking call asks it for the time left, so that DNS,
//! connect, TLS, request and body together stay within `--timeout`.

use std::time::{Duration, Instant};

use crate::error::{Error, Phase};

/// Below this much time left a blocking call is not started: std rejects `Duration::ZERO` as a
/// socket timeout, and a 1 ms read cannot succeed in any useful way.
const MIN_LEFT: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    start: Instant,
    end: Instant,
    budget: Duration,
}

impl Deadline {
    pub(crate) fn after(budget: Duration) -> Deadline {
        let start = Instant::now();
        Deadline {
            start,
            end: start + budget,
            budget,
        }
    }

    /// The time left before the deadline, or a timeout error naming `phase` when none is left.
    /// Never `Duration::ZERO`.
    pub(crate) fn left(&self, phase: Phase) -> Result<Duration, Error> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left < MIN_LEFT {
            Err(self.expired(phase))
        } else {
            Ok(left)
        }
    }

    /// The error for a deadline that ran out during `phase`.
    pub(crate) fn expired(&self, phase: Phase) -> Error {
        Error::timeout(self.budget, phase)
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_is_never_zero() {
        let d = Deadline::after(Duration::from_secs(5));
        let left = d.left(Phase::Connect).unwrap();
        assert!(left > Duration::ZERO && left <= Duration::from_secs(5));
    }

    #[test]
    fn expired_names_phase() {
        let d = Deadline::after(Duration::ZERO);
        let e = d.left(Phase::Resolve).unwrap_err();
        assert!(e.is_timeout());
        assert_eq!(
            e.to_string(),
            "timed out after 0ms while resolving the host"
        );
    }
}
