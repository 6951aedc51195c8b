//! What a run found: one [`CheckReport`] per target, and the verdict; and the [`Outcome`] that
//! each check returns, with its [`Detail`]s as data.

use std::fmt;
use std::time::Duration;

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

/// What one check returns, whole: the verdict (a short line saying what was seen, or the
/// error) and the facts for a verbose listing, the HTTP responses among them. There is no
/// empty outcome: each is made from a verdict.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub verdict: Result<String, Error>,
    pub details: Vec<Detail>,
}

impl Outcome {
    /// A verdict and the details recorded on the way to it.
    pub fn of(verdict: Result<String, Error>, details: Vec<Detail>) -> Outcome {
        Outcome { verdict, details }
    }

    /// The status of the last HTTP response read, if any.
    pub fn status(&self) -> Option<u16> {
        self.details.iter().rev().find_map(|d| match d {
            Detail::Response { status, .. } => Some(*status),
            _ => None,
        })
    }
}

/// A fact a check saw on the way, for a verbose listing (`-v`). Its `Display` is the line shown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detail {
    /// A connection opened, to a socket address or a Unix socket path, this long into the run.
    Connected {
        /// `127.0.0.1:8080`, or the socket path.
        addr: String,
        /// Time since the run started.
        at: Duration,
    },
    /// A TLS handshake completed.
    Tls {
        /// `1.3` or `1.2`.
        version: &'static str,
        /// The ALPN protocol the server chose.
        alpn: Option<String>,
        /// The leaf certificate's expiry date, `YYYY-MM-DD`.
        valid_until: Option<String>,
    },
    /// An HTTP response head arrived.
    Response {
        /// `HTTP/1.1`.
        version: String,
        /// The status code.
        status: u16,
        /// Its canonical reason phrase, if it has one.
        reason: Option<&'static str>,
        /// Time since the run started.
        at: Duration,
    },
    /// A response header (secrets already redacted, long values shortened).
    Header {
        /// The header name, lowercase.
        name: String,
        /// The value as shown.
        value: String,
    },
    /// A same-host redirect followed, to this path.
    Redirect {
        /// The path (shortened).
        to: String,
    },
    /// A redirect to another host, not followed.
    RedirectNotFollowed {
        /// The other host (shortened).
        host: String,
    },
}

impl Detail {
    /// A connection opened to `addr` (a socket address or a Unix socket path), `at` into the run.
    pub(crate) fn connected(addr: impl fmt::Display, at: Duration) -> Detail {
        Detail::Connected {
            addr: addr.to_string(),
            at,
        }
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detail::Connected { addr, at } => {
                write!(f, "connected to {addr} at {}ms", at.as_millis())
            }
            Detail::Tls {
                version,
                alpn,
                valid_until,
            } => {
                write!(f, "tls {version}")?;
                if let Some(alpn) = alpn {
                    write!(f, ", alpn {alpn}")?;
                }
                if let Some(date) = valid_until {
                    write!(f, ", certificate valid until {date}")?;
                }
                Ok(())
            }
            Detail::Response {
                version,
                status,
                reason,
                at,
            } => write!(
                f,
                "< {version} {status} {} (at {}ms)",
                reason.unwrap_or("<unknown status code>"),
                at.as_millis()
            ),
            Detail::Header { name, value } => write!(f, "< {name}: {value}"),
            Detail::Redirect { to } => write!(f, "following redirect to {to}"),
            Detail::RedirectNotFollowed { host } => {
                write!(f, "redirect to another host ({host}) not followed")
            }
        }
    }
}

/// The result of checking one target.
#[derive(Debug, Clone)]
pub struct CheckReport {
    target: String,
    kind: TargetKind,
    outcome: Outcome,
    elapsed: Duration,
}

impl CheckReport {
    pub(crate) fn new(target: &Target, outcome: Outcome, elapsed: Duration) -> CheckReport {
        CheckReport {
            target: target.to_string(),
            kind: target.kind(),
            outcome,
            elapsed,
        }
    }

    pub(crate) fn failed(target: &Target, error: Error, elapsed: Duration) -> CheckReport {
        CheckReport::new(target, Outcome::of(Err(error), Vec::new()), elapsed)
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
        self.outcome.verdict.is_ok()
    }

    /// The final HTTP status, when an HTTP response was read (healthy or not).
    pub fn status(&self) -> Option<u16> {
        self.outcome.status()
    }

    /// One short line: what was seen when healthy (`200 OK`, `connected to 127.0.0.1:5432`),
    /// else why not (`status 503, expected 200-399`).
    pub fn reason(&self) -> &str {
        match &self.outcome.verdict {
            Ok(detail) => detail,
            Err(e) => e.message(),
        }
    }

    /// Why the target is unhealthy, if it is.
    pub fn error(&self) -> Option<&Error> {
        self.outcome.verdict.as_ref().err()
    }

    /// How long the check took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Extra facts for a verbose listing: the address connected to, the TLS version, the
    /// response status line and headers (credentials redacted). Each one's `Display` is the
    /// line `-v` shows.
    pub fn details(&self) -> &[Detail] {
        &self.outcome.details
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_reads_as_before() {
        let d = Detail::Connected {
            addr: "127.0.0.1:80".into(),
            at: Duration::from_millis(3),
        };
        assert_eq!(d.to_string(), "connected to 127.0.0.1:80 at 3ms");
    }

    #[test]
    fn response_line_has_reason() {
        let d = Detail::Response {
            version: "HTTP/1.1".into(),
            status: 200,
            reason: Some("OK"),
            at: Duration::from_millis(5),
        };
        assert_eq!(d.to_string(), "< HTTP/1.1 200 OK (at 5ms)");
    }
}
