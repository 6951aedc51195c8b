//! One module per check kind, behind one contract: a target and the deadline in, a one-line
//! outcome out (what was seen when healthy, an [`Error`] saying why not).

use std::io::{self, Read, Write};
use std::time::Duration;

use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};
use crate::probe::Probe;
use crate::target::{Target, TargetKind};

mod file;
#[cfg(feature = "db")]
pub mod fuzzing;
#[cfg(feature = "grpc")]
mod grpc;
#[cfg(feature = "db")]
mod memcached;
#[cfg(feature = "db")]
mod mysql;
#[cfg(feature = "db")]
mod postgres;
#[cfg(feature = "db")]
mod redis;
#[cfg(feature = "db")]
mod wire;
#[cfg(feature = "cli")]
pub(crate) use http::is_secret_header;
pub(crate) mod http;
mod tcp;
#[cfg(feature = "tls")]
mod tls;
mod transport;
pub(crate) mod unix;

/// What a check saw on the way, healthy or not: the HTTP status and facts for `-v`.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub status: Option<u16>,
    pub notes: Vec<String>,
}

pub(crate) fn run(
    probe: &Probe,
    target: &Target,
    deadline: &Deadline,
    seen: &mut Seen,
) -> Result<String, Error> {
    // A hidden trigger for the test that a panic (here, on a check's thread) still ends in
    // exit 1 and one line. Debug builds only: the release binary does not contain it.
    #[cfg(debug_assertions)]
    if std::env::var_os("HEALTHPROBE_TEST_PANIC").is_some() {
        panic!("panic requested by HEALTHPROBE_TEST_PANIC");
    }
    match target.kind() {
        TargetKind::Http | TargetKind::Https | TargetKind::HttpUnix => {
            http::check(probe, target, deadline, seen)
        }
        TargetKind::Tcp => tcp::check(probe, target, deadline, seen),
        #[cfg(feature = "tls")]
        TargetKind::Tls => tls::check(probe, target, deadline, seen),
        TargetKind::Unix => unix::check(probe, target, deadline, seen),
        TargetKind::File => file::check(probe, target),
        #[cfg(not(feature = "tls"))]
        TargetKind::Tls => Err(unsupported(target, "tls")),
        #[cfg(feature = "grpc")]
        TargetKind::Grpc | TargetKind::Grpcs => grpc::check(probe, target, deadline, seen),
        #[cfg(not(feature = "grpc"))]
        TargetKind::Grpc | TargetKind::Grpcs => Err(unsupported(target, "grpc")),
        #[cfg(feature = "db")]
        TargetKind::Redis | TargetKind::Rediss => redis::check(probe, target, deadline, seen),
        #[cfg(feature = "db")]
        TargetKind::Memcached => memcached::check(probe, target, deadline, seen),
        #[cfg(feature = "db")]
        TargetKind::Postgres => postgres::check(probe, target, deadline, seen),
        #[cfg(feature = "db")]
        TargetKind::Mysql => mysql::check(probe, target, deadline, seen),
        #[cfg(not(feature = "db"))]
        TargetKind::Postgres
        | TargetKind::Mysql
        | TargetKind::Redis
        | TargetKind::Rediss
        | TargetKind::Memcached => Err(unsupported(target, "db")),
    }
}

#[cfg_attr(
    all(feature = "tls", feature = "grpc", feature = "db"),
    allow(dead_code)
)]
pub(crate) fn unsupported(target: &Target, feature: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "{}:// targets need the `{feature}` feature, which this build leaves out",
            target.kind().scheme()
        ),
    )
}

/// At most this much of a body or a reply is read: enough for any health endpoint, and a
/// bound on what a hostile peer can make the probe hold.
pub(crate) const READ_LIMIT: usize = 64 * 1024;

/// A stream whose reads and writes can be given the time left.
pub(crate) trait Timed: Read + Write {
    fn set_timeouts(&mut self, left: Duration) -> io::Result<()>;
}

impl Timed for std::net::TcpStream {
    fn set_timeouts(&mut self, left: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(left))?;
        self.set_write_timeout(Some(left))
    }
}

impl Timed for std::os::unix::net::UnixStream {
    fn set_timeouts(&mut self, left: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(left))?;
        self.set_write_timeout(Some(left))
    }
}

/// `--send` then `--expect` over an open stream (tcp, tls, unix). Reads stop at the first
/// match, at 64 KiB, at end of stream or at the deadline.
pub(crate) fn converse(
    stream: &mut impl Timed,
    probe: &Probe,
    deadline: &Deadline,
) -> Result<Option<String>, Error> {
    let io_err = |e: io::Error, phase: Phase| {
        if matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            deadline.expired(phase)
        } else {
            Error::new(
                ErrorKind::Protocol,
                format!("{} {}", crate::net::io_reason(&e), phase_words(phase)),
            )
        }
    };
    if let Some(send) = &probe.s.send {
        stream
            .set_timeouts(deadline.left(Phase::Request)?)
            .map_err(|e| io_err(e, Phase::Request))?;
        stream
            .write_all(send)
            .and_then(|()| stream.flush())
            .map_err(|e| io_err(e, Phase::Request))?;
    }
    let Some(expect) = &probe.s.expect else {
        return Ok(None);
    };
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if contains(&reply, expect.as_bytes()) {
            return Ok(Some(format!("reply contains {:?}", shorten(expect))));
        }
        if reply.len() >= READ_LIMIT {
            return Err(Error::unhealthy(format!(
                "reply does not contain {:?} in its first 64 KiB",
                shorten(expect)
            )));
        }
        let left = deadline
            .left(Phase::Reply)
            .map_err(|_| not_seen(expect, &reply, true, deadline))?;
        stream
            .set_timeouts(left)
            .map_err(|e| io_err(e, Phase::Reply))?;
        let want = (READ_LIMIT - reply.len()).min(buf.len());
        match stream.read(&mut buf[..want]) {
            Ok(0) => return Err(not_seen(expect, &reply, false, deadline)),
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                return Err(not_seen(expect, &reply, true, deadline));
            }
            Err(e) => return Err(io_err(e, Phase::Reply)),
        }
    }
}

fn not_seen(expect: &str, reply: &[u8], timed_out: bool, deadline: &Deadline) -> Error {
    let seen = if reply.is_empty() {
        "nothing".to_string()
    } else {
        format!(
            "{:?}",
            shorten(&String::from_utf8_lossy(&reply[..reply.len().min(40)]))
        )
    };
    if timed_out {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{}: expected {:?}, got {seen}",
                deadline.expired(Phase::Reply),
                shorten(expect)
            ),
        )
    } else {
        Error::unhealthy(format!(
            "reply does not contain {:?}: got {seen} before the peer closed",
            shorten(expect)
        ))
    }
}

fn phase_words(phase: Phase) -> &'static str {
    match phase {
        Phase::Request => "while sending",
        _ => "while reading the reply",
    }
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Keeps echoed text short: one line stays well under Docker's 4 KiB log cap.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_finds_needle() {
        assert!(contains(b"+PONG\r\n", b"PONG"));
        assert!(!contains(b"+PON", b"PONG"));
        assert!(contains(b"", b""));
    }

    #[test]
    fn shorten_keeps_short_text() {
        assert_eq!(shorten("ok"), "ok");
        assert_eq!(shorten(&"x".repeat(100)).chars().count(), 41);
    }
}
