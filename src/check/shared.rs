//! What every check kind shares: the [`Ctx`] it is given (settings, TLS configs, deadline),
//! connecting with the deadline, `send`/`expect` over a stream, and small text helpers.

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};
use crate::net;
use crate::report::Detail;
use crate::settings::Settings;
use crate::target::Target;

/// `User-Agent` of HTTP requests and gRPC calls.
pub(crate) const USER_AGENT: &str = concat!("healthprobe/", env!("CARGO_PKG_VERSION"));

/// What a check is given: the probe's settings, its TLS configs and this check's deadline.
/// A check reads these and returns an [`Outcome`](crate::report::Outcome); it never sees the
/// probe that called it.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub settings: &'a Settings,
    #[cfg(feature = "tls")]
    pub tls: &'a crate::tls::TlsConfigs,
    pub deadline: &'a Deadline,
}

impl Ctx<'_> {
    /// Resolves `host` (honouring `ip_family`) and connects to the first address that accepts,
    /// every address tried in turn within the deadline.
    pub fn connect(&self, host: &str, port: u16) -> Result<(TcpStream, SocketAddr), Error> {
        net::connect_host(host, port, self.settings.ip_family, self.deadline)
    }

    /// The verbose-listing fact for a connection just opened (to an address or a socket path).
    pub fn connected(&self, addr: impl Display) -> Detail {
        Detail::connected(addr, self.deadline.elapsed())
    }

    /// The rustls config for `usage`, built once per probe.
    #[cfg(feature = "tls")]
    pub fn tls_config(
        &self,
        usage: crate::tls::TlsUse,
    ) -> Result<std::sync::Arc<rustls::ClientConfig>, Error> {
        self.tls.get(&self.settings.tls, usage)
    }

    /// The name sent as SNI and verified for `host`.
    #[cfg(feature = "tls")]
    pub fn tls_name(&self, host: &str) -> String {
        crate::tls::name_for(self.settings, host)
    }

    /// Runs a verified TLS handshake (no ALPN) over `sock` for `host`, within the deadline, and
    /// applies `tls_cert_min_days`; pushes the [`Detail::Tls`] fact.
    #[cfg(feature = "tls")]
    pub fn wrap_tls(
        &self,
        mut sock: TcpStream,
        host: &str,
        details: &mut Vec<Detail>,
    ) -> Result<TlsStream, Error> {
        use crate::tls;
        let config = self.tls_config(tls::TlsUse::Plain)?;
        let name = self.tls_name(host);
        let mut conn = rustls::ClientConnection::new(config, tls::server_name(&name)?)
            .map_err(|e| Error::new(ErrorKind::Tls, format!("tls setup failed: {e}")))?;
        sock.set_timeouts(self.deadline.enter(Phase::Tls)?)
            .map_err(|e| tls::io_error(&e, &name, self.deadline))?;
        tls::handshake(&mut conn, &mut sock, &name, self.deadline)?;
        tls::after_handshake(&conn, self.settings.tls.cert_min_days, &name, details)?;
        Ok(rustls::StreamOwned::new(conn, sock))
    }
}

/// A TCP connection with TLS on it (`tls://`, and any kind that speaks TLS over TCP).
#[cfg(feature = "tls")]
pub(crate) type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

#[cfg(feature = "tls")]
impl Timed for TlsStream {
    fn set_timeouts(&mut self, left: Duration) -> io::Result<()> {
        self.sock.set_timeouts(left)
    }
}

#[cfg_attr(
    all(feature = "tls", feature = "grpc", feature = "db"),
    allow(dead_code)
)]
pub(crate) fn unsupported(target: &Target, feature: &str) -> Error {
    let what = format!("{}:// targets need", target.kind().scheme());
    Error::feature_missing(feature, &what, None)
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

/// `send` then `expect` over an open stream (tcp, tls, unix). Reads stop at the first
/// match, at 64 KiB, at end of stream or at the deadline.
pub(crate) fn converse(stream: &mut impl Timed, ctx: &Ctx<'_>) -> Result<Option<String>, Error> {
    let deadline = ctx.deadline;
    let io_err = |e: io::Error, phase: Phase| io_failure(&e, phase, deadline, "");
    if let Some(send) = &ctx.settings.send {
        stream
            .set_timeouts(deadline.enter(Phase::Request)?)
            .map_err(|e| io_err(e, Phase::Request))?;
        stream
            .write_all(send.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| io_err(e, Phase::Request))?;
    }
    let Some(expect) = &ctx.settings.expect else {
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
            .enter(Phase::Reply)
            .map_err(|_| not_seen(expect, &reply, true, deadline))?;
        stream
            .set_timeouts(left)
            .map_err(|e| io_err(e, Phase::Reply))?;
        let want = (READ_LIMIT - reply.len()).min(buf.len());
        match stream.read(&mut buf[..want]) {
            Ok(0) => return Err(not_seen(expect, &reply, false, deadline)),
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if crate::deadline::is_timeout(&e) => {
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
        deadline
            .expired()
            .append(format!(": expected {:?}, got {seen}", shorten(expect)))
    } else {
        Error::unhealthy(format!(
            "reply does not contain {:?}: got {seen} before the peer closed",
            shorten(expect)
        ))
    }
}

/// An I/O error while talking to the peer (`converse`; the database kinds' `Wire`, whose
/// `proto` opens the message; "" for none): the deadline's expiry when the socket timed out,
/// else the system's reason and whether the probe was sending or reading the reply.
pub(crate) fn io_failure(e: &io::Error, phase: Phase, deadline: &Deadline, proto: &str) -> Error {
    if crate::deadline::is_timeout(e) {
        return deadline.expired();
    }
    let doing = match phase {
        Phase::Request => "while sending",
        _ => "while reading the reply",
    };
    let reason = format!("{} {doing}", crate::net::io_reason(e));
    Error::new(
        ErrorKind::Protocol,
        if proto.is_empty() {
            reason
        } else {
            format!("{proto}: {reason}")
        },
    )
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
