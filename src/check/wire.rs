//! What the database, cache and broker checks share (postgres, mysql, redis, memcached, amqp,
//! mqtt): the
//! connection, plain or TLS with the probe's one TLS configuration; a reader that collects one
//! reply frame at a time within the deadline, bounded, while a pure parser of the protocol
//! decides where the frame ends; the user and password of a login; server text made safe to
//! print.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::check::shared::{Ctx, Timed, io_failure};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};
use crate::report::Detail;
use crate::target::Target;

/// No reply frame of these protocols is longer: a greeting, an error or an authentication
/// request is a few hundred bytes. A hostile peer can make the probe hold this much, no more.
pub(crate) const FRAME_LIMIT: usize = 16 * 1024;

/// What a frame parser says about the bytes read so far: `Ok(None)` while they hold less than
/// one whole frame, `Ok(Some((frame, used)))` once they do, `Err(why)` for bytes that can never
/// become a valid frame.
pub(crate) type Parsed<T> = Result<Option<(T, usize)>, String>;

/// Sends requests and reads reply frames over `stream` within `deadline`.
pub(crate) struct Wire<'a, S: Timed> {
    stream: &'a mut S,
    deadline: &'a Deadline,
    buf: Vec<u8>,
    proto: &'static str,
}

impl<'a, S: Timed> Wire<'a, S> {
    /// `proto` (`redis`, `postgres`, …) opens every error message.
    pub(crate) fn new(stream: &'a mut S, deadline: &'a Deadline, proto: &'static str) -> Self {
        Wire {
            stream,
            deadline,
            buf: Vec::new(),
            proto,
        }
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let left = self.deadline.enter(Phase::Request)?;
        self.stream
            .set_timeouts(left)
            .and_then(|()| self.stream.write_all(bytes))
            .and_then(|()| self.stream.flush())
            .map_err(|e| self.io_error(&e, Phase::Request))
    }

    /// Reads until `parse` finds one whole frame, and returns it; the bytes after it stay for
    /// the next call.
    pub(crate) fn read<T>(&mut self, parse: impl Fn(&[u8]) -> Parsed<T>) -> Result<T, Error> {
        let mut chunk = [0u8; 2048];
        loop {
            match parse(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used.min(self.buf.len()));
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(why) => {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{}: {why}", self.proto),
                    ));
                }
            }
            if self.buf.len() >= FRAME_LIMIT {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("{}: a reply longer than 16 KiB", self.proto),
                ));
            }
            let left = self.deadline.enter(Phase::Reply)?;
            let want = (FRAME_LIMIT - self.buf.len()).min(chunk.len());
            let read = self
                .stream
                .set_timeouts(left)
                .and_then(|()| self.stream.read(&mut chunk[..want]));
            match read {
                Ok(0) => {
                    let when = if self.buf.is_empty() {
                        "before replying"
                    } else {
                        "in the middle of a reply"
                    };
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{}: the server closed the connection {when}", self.proto),
                    ));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(&e, Phase::Reply)),
            }
        }
    }

    /// Bytes read past the last frame.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn io_error(&self, e: &io::Error, phase: Phase) -> Error {
        // (rustls's errors come as InvalidData, never as a timeout.)
        #[cfg(feature = "tls")]
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Error::new(ErrorKind::Tls, format!("{}: tls: {tls}", self.proto));
        }
        io_failure(e, phase, self.deadline, self.proto)
    }
}

/// One line ending in `\r\n` (redis, memcached): the line without its ending. Longer than
/// `limit` without an ending is an error.
pub(crate) fn parse_line(buf: &[u8], limit: usize) -> Parsed<&[u8]> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(end) if end <= limit => Ok(Some((&buf[..end], end + 2))),
        Some(_) => Err(format!("a reply line longer than {limit} bytes")),
        None if buf.len() > limit => Err(format!("a reply line longer than {limit} bytes")),
        None => Ok(None),
    }
}

/// Text from a server (an error message, a version) made fit for the one output line:
/// control characters become spaces, and it stops at 200 characters.
pub(crate) fn server_text(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .trim()
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.trim().chars().count() > MAX {
        out.push('…');
    }
    out
}

/// The user and password of a login: the password from `--password-file` (or
/// [`crate::ProbeBuilder::password`]) wins over one in the URL.
pub(crate) fn login<'a>(
    ctx: &'a Ctx<'_>,
    target: &'a Target,
) -> (Option<&'a str>, Option<&'a str>) {
    let (user, password) = target.login();
    let given = ctx.settings.password.as_ref().map(|p| p.as_str());
    (user, given.or(password))
}

/// A connection to a database or cache: plain TCP, or TLS over it.
pub(crate) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<crate::check::shared::TlsStream>),
}

impl Stream {
    /// Hangs up: a TLS connection says `close_notify` first, so the server logs a clean close.
    pub(crate) fn close(self) {
        #[cfg(feature = "tls")]
        if let Stream::Tls(mut s) = self {
            s.conn.send_close_notify();
            let _ = s.sock.set_write_timeout(Some(Duration::from_millis(100)));
            while s.conn.wants_write() {
                if s.conn.write_tls(&mut s.sock).is_err() {
                    break;
                }
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl Timed for Stream {
    fn set_timeouts(&mut self, left: Duration) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.set_timeouts(left),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.sock.set_timeouts(left),
        }
    }
}

/// Resolves and connects, every address in turn, within the deadline.
pub(crate) fn connect(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<TcpStream, Error> {
    let (sock, addr) = ctx.connect(target.host(), target.port())?;
    details.push(ctx.connected(addr));
    Ok(sock)
}

/// Connects to a database or cache and runs `exchange` over the connection: plain TCP when
/// `over_tls` is `None`; with `Some(note)`, TLS over it, readied before the socket opens
/// ([`prepare_tls`]), `before_tls` run on the plain socket first (PostgreSQL's SSLRequest),
/// then the verified handshake ([`start_tls`]), and `note` ends the summary. The connection is
/// closed after the exchange (a TLS one with `close_notify`).
pub(crate) fn session(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
    over_tls: Option<&str>,
    before_tls: impl FnOnce(&mut TcpStream) -> Result<(), Error>,
    exchange: impl FnOnce(&mut Stream) -> Result<String, Error>,
) -> Result<String, Error> {
    let mut stream = if over_tls.is_some() {
        #[cfg(feature = "tls")]
        {
            prepare_tls(ctx, target)?;
            let mut sock = connect(ctx, target, details)?;
            before_tls(&mut sock)?;
            start_tls(ctx, target, sock, details)?
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = before_tls;
            return Err(crate::check::shared::unsupported(target, "tls"));
        }
    } else {
        Stream::Plain(connect(ctx, target, details)?)
    };
    let outcome = exchange(&mut stream);
    stream.close();
    let summary = outcome?;
    Ok(match over_tls {
        Some(note) => format!("{summary}{note}"),
        None => summary,
    })
}

/// Readies TLS before any socket opens, so that a bad CA file, client key or server name
/// fails first.
#[cfg(feature = "tls")]
pub(crate) fn prepare_tls(ctx: &Ctx<'_>, target: &Target) -> Result<(), Error> {
    ctx.tls_config(crate::tls::TlsUse::Plain)?;
    crate::tls::server_name(&ctx.tls_name(target.host()))?;
    Ok(())
}

/// The verified handshake over `sock`, as for `tls://` targets.
#[cfg(feature = "tls")]
pub(crate) fn start_tls(
    ctx: &Ctx<'_>,
    target: &Target,
    sock: TcpStream,
    details: &mut Vec<Detail>,
) -> Result<Stream, Error> {
    Ok(Stream::Tls(Box::new(ctx.wrap_tls(
        sock,
        target.host(),
        details,
    )?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_needs_its_ending() {
        assert_eq!(
            parse_line(b"+PONG\r\nrest", 64),
            Ok(Some((&b"+PONG"[..], 7)))
        );
        assert_eq!(parse_line(b"+PONG\r", 64), Ok(None));
        assert_eq!(parse_line(b"", 64), Ok(None));
    }

    #[test]
    fn line_too_long() {
        assert!(parse_line(&[b'a'; 65], 64).is_err());
        assert!(parse_line(&[b'a'; 64], 64).unwrap().is_none());
        let mut long = vec![b'a'; 100];
        long.extend_from_slice(b"\r\n");
        assert!(parse_line(&long, 64).is_err());
    }

    #[test]
    fn server_text_is_one_short_line() {
        assert_eq!(server_text(b" a\nb\x07 "), "a b ");
        assert_eq!(server_text(&[b'x'; 300]).chars().count(), 201);
        assert_eq!(server_text(b"\xff"), "\u{fffd}");
    }
}
