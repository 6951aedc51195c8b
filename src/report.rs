//! What a run found: one [`CheckReport`] per target, and the verdict.

use std::time::Duration;

use crate::check::Seen;
use crate::error::Error;
use crate::target::{Target, TargetKind};

/// The result of a run: one [`CheckReport`] per target, in the order given.
#[derive(Debug, Clone)]
pub struct Report {
    checks: Vec<CheckReport>,
    any: bool,
}

impl Report {
    pub(crate) fn new(checks: Vec<CheckReport>, any: bool) -> Report {
        Report { checks, any }
    }

    /// Whether the run is healthy: every target is (with `any`, at least one). A run with no
    /// target is not healthy.
    pub fn is_healthy(&self) -> bool {
        if self.checks.is_empty() {
            return false;
        }
        if self.any {
            self.checks.iter().any(CheckReport::is_healthy)
        } else {
            self.checks.iter().all(CheckReport::is_healthy)
        }
    }

    /// One report per target.
    pub fn checks(&self) -> &[CheckReport] {
        &self.checks
    }
}

/// The result of checking one target.
#[derive(Debug, Clone)]
pub struct CheckReport {
    target: String,
    kind: TargetKind,
    outcome: Result<String, Error>,
    status: Option<u16>,
    notes: Vec<String>,
    elapsed: Duration,
}

impl CheckReport {
    pub(crate) fn new(
        target: &Target,
        outcome: Result<String, Error>,
        seen: Seen,
        elapsed: Duration,
    ) -> CheckReport {
        CheckReport {
            target: target.to_string(),
            kind: target.kind(),
            outcome,
            status: seen.status,
            notes: seen.notes,
            elapsed,
        }
    }

    pub(crate) fn failed(target: &Target, error: Error, elapsed: Duration) -> CheckReport {
        CheckReport::new(target, Err(error), Seen::default(), elapsed)
    }

    /// The target, with any userinfo replaced by `***`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// What kind of check this was.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// Whether the target is healthy.
    pub fn is_healthy(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The final HTTP status, when an HTTP response was read (healthy or not).
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// One short line: what was seen when healthy (`200 OK`, `connected to 127.0.0.1:5432`),
    /// else why not (`status 503, expected 200-399`).
    pub fn reason(&self) -> &str {
        match &self.outcome {
            Ok(detail) => detail,
            Err(e) => e.message(),
        }
    }

    /// Why the target is unhealthy, if it is.
    pub fn error(&self) -> Option<&Error> {
        self.outcome.as_ref().err()
    }

    /// How long the check took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Extra facts for a verbose listing: the address connected to, the TLS version, the
    /// response status line and headers (credentials redacted).
    pub fn details(&self) -> &[String] {
        &self.notes
    }
}
