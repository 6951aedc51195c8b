//! `amqp://[USER[:PASSWORD]@]HOST[:PORT][/VHOST]` and `amqps://` (TLS first): AMQP 0-9-1, as
//! RabbitMQ speaks it. The protocol header, then the broker's `Connection.Start`. Without a
//! password that is the answer: the broker is up and its AMQP listener serves (a booting or
//! stopped RabbitMQ has no listener; one that is shutting down closes it). With a password:
//! a PLAIN login (`Start-Ok`), `Tune`/`Tune-Ok`, `Connection.Open` of the vhost answered
//! `Open-Ok`, then `Connection.Close`/`Close-Ok`. A refused login (403 ACCESS_REFUSED), a
//! missing vhost or one the user may not open (530 NOT_ALLOWED), a broker shutting down
//! (320 CONNECTION_FORCED) and a resource alarm the broker reports (`Connection.Blocked`) are
//! unhealthy, in the broker's words.
//!
//! The client properties ask for `authentication_failure_close` (else RabbitMQ answers a
//! refused login by dropping the connection, and the probe could only say "closed") and
//! `connection.blocked`. RabbitMQ sends `Connection.Blocked` only to a connection that
//! publishes, which the probe never does: an alarm on a RabbitMQ shows in
//! `rabbitmq-diagnostics check_local_alarms`, not here (the README says so).
//!
//! What RabbitMQ logs (3.10, its default level `info`): a check without a password hangs up
//! after `Connection.Start`, which the broker logs as a warning, `closing AMQP connection …:
//! client unexpectedly closed TCP connection` (a `Connection.Close` there is worse: an error,
//! and a 3 s wait). A check with a login leaves three `info` lines and no warning.
//!
//! Crates considered: `lapin` (async, needs an executor and `amq-protocol`'s generated code
//! for every class; estimated at several hundred KB in the static binary, not built here) and
//! `amiquip` (blocking, on `mio`, with `amq-protocol` too; estimated at some 300 KB, not
//! built). Five connection-class methods and a field table are written here: 18.1 KB of the
//! x86_64 musl release binary's text, with the four schemes' grammar (measured: `size` of a
//! build with and without the kind).

use crate::check::shared::{Ctx, Timed, shorten};
use crate::check::wire::{self, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::{Target, TargetKind};

/// The protocol header of AMQP 0-9-1.
const PROTOCOL_HEADER: &[u8; 8] = b"AMQP\0\0\x09\x01";
/// The frame end octet.
const FRAME_END: u8 = 0xce;
/// The largest frame accepted: `Connection.Start` is some 500 bytes, a close a few dozen.
const FRAME_LIMIT: usize = 8 * 1024;
/// Frames read in one check at most: a peer that sends heartbeats (or anything else skipped)
/// without end is cut off at once, not at the deadline.
const MAX_FRAMES: usize = 16;
/// The frame-max the probe asks for when the broker sets no limit: more than it sends.
const CLIENT_FRAME_MAX: u32 = 128 * 1024;

const CONNECTION: u16 = 10;
const START: u16 = 10;
const START_OK: u16 = 11;
const SECURE: u16 = 20;
const TUNE: u16 = 30;
const TUNE_OK: u16 = 31;
const OPEN: u16 = 40;
const OPEN_OK: u16 = 41;
const CLOSE: u16 = 50;
const CLOSE_OK: u16 = 51;
const BLOCKED: u16 = 60;
const UNBLOCKED: u16 = 61;

/// What the exchange needs: the login (none without a password) and the vhost.
#[derive(Debug)]
pub(crate) struct AmqpParams<'a> {
    pub user: &'a str,
    pub password: Option<&'a str>,
    pub vhost: &'a str,
}

/// One frame from the broker.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A protocol header instead of a frame: the broker does not speak 0-9-1 and says which
    /// version it does (major, minor, revision).
    Header([u8; 3]),
    /// A method frame: its channel, class and method ids, and its arguments.
    Method {
        channel: u16,
        class: u16,
        method: u16,
        args: Vec<u8>,
    },
    /// A heartbeat (type 8).
    Heartbeat,
    /// A content header or body frame (types 2, 3).
    Content(u8),
}

/// Parses one frame (or the protocol header a broker sends back when it refuses the version).
pub(crate) fn parse_frame(buf: &[u8]) -> Parsed<Frame> {
    match buf.first() {
        None => return Ok(None),
        Some(b'A') => {
            if buf.len() < 8 {
                return if PROTOCOL_HEADER.starts_with(&buf[..buf.len().min(4)]) {
                    Ok(None)
                } else {
                    Err(not_amqp(buf))
                };
            }
            if &buf[..4] != b"AMQP" {
                return Err(not_amqp(buf));
            }
            return Ok(Some((Frame::Header([buf[5], buf[6], buf[7]]), 8)));
        }
        Some(1 | 2 | 3 | 8) => {}
        Some(_) => return Err(not_amqp(buf)),
    }
    if buf.len() < 7 {
        return Ok(None);
    }
    let kind = buf[0];
    let channel = u16::from_be_bytes([buf[1], buf[2]]);
    let size = u32::from_be_bytes([buf[3], buf[4], buf[5], buf[6]]) as usize;
    if size > FRAME_LIMIT {
        return Err(format!(
            "a frame of {size} bytes (at most {FRAME_LIMIT} expected)"
        ));
    }
    let Some(&end) = buf.get(7 + size) else {
        return Ok(None);
    };
    if end != FRAME_END {
        return Err(format!("a frame that does not end in 0xce (0x{end:02x})"));
    }
    let payload = &buf[7..7 + size];
    let frame = match kind {
        1 => {
            if payload.len() < 4 {
                return Err("a method frame shorter than its ids".into());
            }
            Frame::Method {
                channel,
                class: u16::from_be_bytes([payload[0], payload[1]]),
                method: u16::from_be_bytes([payload[2], payload[3]]),
                args: payload[4..].to_vec(),
            }
        }
        8 => Frame::Heartbeat,
        other => Frame::Content(other),
    };
    Ok(Some((frame, size + 8)))
}

fn not_amqp(buf: &[u8]) -> String {
    format!(
        "not an AMQP frame: {:?}",
        shorten(&wire::server_text(&buf[..buf.len().min(40)]))
    )
}

/// A reader of method arguments; each getter fails on arguments cut short.
struct Args<'a>(&'a [u8]);

impl<'a> Args<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("method arguments cut short".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn short_str(&mut self) -> Result<&'a [u8], String> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    fn long_str(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// What `Connection.Start` says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Start {
    /// `0-9` for AMQP 0-9-1.
    pub version: (u8, u8),
    /// The server properties `product` and `version` (`RabbitMQ`, `3.10.8`), when given.
    pub product: Option<String>,
    pub product_version: Option<String>,
    /// The SASL mechanisms, space-separated (`PLAIN AMQPLAIN`).
    pub mechanisms: String,
}

impl Start {
    /// `RabbitMQ 3.10.8`, or `an AMQP 0-9 broker` when it does not say.
    fn broker(&self) -> String {
        match (&self.product, &self.product_version) {
            (Some(p), Some(v)) => format!("{p} {v}"),
            (Some(p), None) => p.clone(),
            _ => format!("an AMQP {}-{} broker", self.version.0, self.version.1),
        }
    }
}

pub(crate) fn parse_start(args: &[u8]) -> Result<Start, String> {
    let mut a = Args(args);
    let version = (a.u8()?, a.u8()?);
    let table = a.long_str()?;
    let mechanisms = wire::server_text(a.long_str()?);
    let mut start = Start {
        version,
        product: None,
        product_version: None,
        mechanisms,
    };
    for (name, value) in table_strings(table) {
        match name {
            b"product" => start.product = Some(shorten(&wire::server_text(value))),
            b"version" => start.product_version = Some(shorten(&wire::server_text(value))),
            _ => {}
        }
    }
    Ok(start)
}

/// The long-string entries of a field table, in order; the walk stops at a type it cannot
/// skip (a table has no per-entry length) or at bytes cut short.
fn table_strings(table: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut a = Args(table);
    let mut out = Vec::new();
    while !a.0.is_empty() {
        let Ok(name) = a.short_str() else { break };
        let Ok(kind) = a.u8() else { break };
        let skipped = match kind {
            b'S' | b'x' => match a.long_str() {
                Ok(value) => {
                    if kind == b'S' {
                        out.push((name, value));
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            },
            b'F' | b'A' => a.long_str().map(drop),
            b't' | b'b' | b'B' => a.take(1).map(drop),
            b's' | b'u' => a.take(2).map(drop),
            b'I' | b'i' | b'f' => a.take(4).map(drop),
            b'l' | b'd' | b'T' => a.take(8).map(drop),
            b'D' => a.take(5).map(drop),
            b'V' => Ok(()),
            _ => break,
        };
        if skipped.is_err() {
            break;
        }
    }
    out
}

/// What `Connection.Tune` proposes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Tune {
    pub channel_max: u16,
    pub frame_max: u32,
}

pub(crate) fn parse_tune(args: &[u8]) -> Result<Tune, String> {
    let mut a = Args(args);
    Ok(Tune {
        channel_max: a.u16()?,
        frame_max: a.u32()?,
    })
}

/// `Connection.Close` from the broker: its reply code and text, and the method it refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Close {
    pub code: u16,
    pub text: String,
}

pub(crate) fn parse_close(args: &[u8]) -> Result<Close, String> {
    let mut a = Args(args);
    let code = a.u16()?;
    let text = wire::server_text(a.short_str()?);
    Ok(Close { code, text })
}

/// `Connection.Blocked`'s reason (`low on memory`, `low on disk space`).
pub(crate) fn parse_blocked(args: &[u8]) -> Result<String, String> {
    Ok(wire::server_text(Args(args).short_str()?))
}

/// The name AMQP 0-9-1 gives a reply code.
fn code_name(code: u16) -> &'static str {
    match code {
        200 => "REPLY_SUCCESS",
        311 => "CONTENT_TOO_LARGE",
        313 => "NO_CONSUMERS",
        320 => "CONNECTION_FORCED",
        402 => "INVALID_PATH",
        403 => "ACCESS_REFUSED",
        404 => "NOT_FOUND",
        405 => "RESOURCE_LOCKED",
        406 => "PRECONDITION_FAILED",
        501 => "FRAME_ERROR",
        502 => "SYNTAX_ERROR",
        503 => "COMMAND_INVALID",
        504 => "CHANNEL_ERROR",
        505 => "UNEXPECTED_FRAME",
        506 => "RESOURCE_ERROR",
        530 => "NOT_ALLOWED",
        540 => "NOT_IMPLEMENTED",
        541 => "INTERNAL_ERROR",
        _ => "",
    }
}

/// The broker's `Connection.Close`, in its words: RabbitMQ's text already opens with the
/// code's name (`ACCESS_REFUSED - Login was refused …`); other brokers' may not.
fn refused(close: &Close) -> Error {
    let name = code_name(close.code);
    let text = if close.text.starts_with(name) {
        close.text.clone()
    } else if close.text.is_empty() {
        name.to_string()
    } else {
        format!("{name} - {}", close.text)
    };
    Error::unhealthy(format!("amqp: {} {}", close.code, text.trim()))
}

fn protocol(why: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("amqp: {why}"))
}

fn method_name(class: u16, method: u16) -> String {
    let name = match (class, method) {
        (CONNECTION, START) => "Connection.Start",
        (CONNECTION, SECURE) => "Connection.Secure",
        (CONNECTION, TUNE) => "Connection.Tune",
        (CONNECTION, OPEN_OK) => "Connection.Open-Ok",
        (CONNECTION, CLOSE) => "Connection.Close",
        (CONNECTION, CLOSE_OK) => "Connection.Close-Ok",
        (CONNECTION, BLOCKED) => "Connection.Blocked",
        (CONNECTION, UNBLOCKED) => "Connection.Unblocked",
        _ => return format!("method {class}.{method}"),
    };
    name.into()
}

/// One method frame of the connection class, appended to `out`.
fn method(out: &mut Vec<u8>, method: u16, args: &[u8]) {
    out.push(1);
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&(args.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(&CONNECTION.to_be_bytes());
    out.extend_from_slice(&method.to_be_bytes());
    out.extend_from_slice(args);
    out.push(FRAME_END);
}

fn short_str(out: &mut Vec<u8>, s: &[u8]) {
    let s = &s[..s.len().min(255)];
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

fn long_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// `Connection.Start-Ok`: the client properties (who the probe is; the capabilities it has),
/// and the PLAIN response `\0USER\0PASSWORD`. No `connection_name`: RabbitMQ would log a
/// line more per check.
fn start_ok(user: &str, password: &str) -> Vec<u8> {
    let mut caps = Vec::new();
    for cap in [&b"authentication_failure_close"[..], b"connection.blocked"] {
        short_str(&mut caps, cap);
        caps.extend_from_slice(b"t\x01");
    }
    let mut props = Vec::new();
    for (name, value) in [
        ("product", "healthprobe"),
        ("version", env!("CARGO_PKG_VERSION")),
    ] {
        short_str(&mut props, name.as_bytes());
        props.push(b'S');
        long_str(&mut props, value.as_bytes());
    }
    short_str(&mut props, b"capabilities");
    props.push(b'F');
    long_str(&mut props, &caps);

    let mut response = vec![0];
    response.extend_from_slice(user.as_bytes());
    response.push(0);
    response.extend_from_slice(password.as_bytes());

    let mut args = Vec::new();
    long_str(&mut args, &props);
    short_str(&mut args, b"PLAIN");
    long_str(&mut args, &response);
    short_str(&mut args, b"en_US");
    let mut out = Vec::new();
    method(&mut out, START_OK, &args);
    out
}

/// `Tune-Ok` (the broker's channel-max, its frame-max or ours when it sets none, no
/// heartbeats: the connection lives for milliseconds) and `Connection.Open` of `vhost`, sent
/// together.
fn tune_ok_and_open(tune: &Tune, vhost: &str) -> Vec<u8> {
    let frame_max = match tune.frame_max {
        0 => CLIENT_FRAME_MAX,
        n => n.min(CLIENT_FRAME_MAX),
    };
    let mut args = Vec::new();
    args.extend_from_slice(&tune.channel_max.to_be_bytes());
    args.extend_from_slice(&frame_max.to_be_bytes());
    args.extend_from_slice(&0u16.to_be_bytes());
    let mut out = Vec::new();
    method(&mut out, TUNE_OK, &args);
    let mut args = Vec::new();
    short_str(&mut args, vhost.as_bytes());
    short_str(&mut args, b""); // reserved-1 (capabilities)
    args.push(0); // reserved-2 (insist)
    method(&mut out, OPEN, &args);
    out
}

/// `Connection.Close` with reply-success.
fn close() -> Vec<u8> {
    let mut args = 200u16.to_be_bytes().to_vec();
    short_str(&mut args, b"");
    args.extend_from_slice(&[0, 0, 0, 0]);
    let mut out = Vec::new();
    method(&mut out, CLOSE, &args);
    out
}

fn close_ok() -> Vec<u8> {
    let mut out = Vec::new();
    method(&mut out, CLOSE_OK, &[]);
    out
}

/// Reads the connection's frames: heartbeats skipped, `Connection.Blocked` noted, the
/// broker's `Connection.Close` answered with `Close-Ok` and turned into the error.
struct Conn<'a, 'w, S: Timed> {
    wire: Wire<'w, S>,
    frames: usize,
    blocked: &'a mut Option<String>,
}

impl<S: Timed> Conn<'_, '_, S> {
    /// The next method of the connection class (other than Blocked/Unblocked).
    fn next(&mut self) -> Result<(u16, Vec<u8>), Error> {
        loop {
            self.frames += 1;
            if self.frames > MAX_FRAMES {
                return Err(protocol(&format!(
                    "more than {MAX_FRAMES} frames without the expected method"
                )));
            }
            match self.wire.read(parse_frame)? {
                Frame::Header([major, minor, revision]) => {
                    return Err(Error::unhealthy(format!(
                        "amqp: the server refused AMQP 0-9-1 and offered version \
                         {major}-{minor}-{revision}"
                    )));
                }
                Frame::Heartbeat => {}
                Frame::Content(kind) => {
                    return Err(protocol(&format!(
                        "a content frame (type {kind}) before the connection was open"
                    )));
                }
                Frame::Method {
                    channel,
                    class,
                    method,
                    args,
                } => {
                    if channel != 0 || class != CONNECTION {
                        return Err(protocol(&format!(
                            "{} on channel {channel} before the connection was open",
                            method_name(class, method)
                        )));
                    }
                    match method {
                        CLOSE => {
                            let close = parse_close(&args).map_err(|e| protocol(&e))?;
                            let _ = self.wire.send(&close_ok());
                            return Err(refused(&close));
                        }
                        BLOCKED => {
                            *self.blocked = Some(parse_blocked(&args).map_err(|e| protocol(&e))?);
                        }
                        UNBLOCKED => *self.blocked = None,
                        _ => return Ok((method, args)),
                    }
                }
            }
        }
    }

    /// The next method, which must be `want`.
    fn expect(&mut self, want: u16) -> Result<Vec<u8>, Error> {
        let (method, args) = self.next()?;
        if method == want {
            return Ok(args);
        }
        if method == SECURE {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "amqp: the broker sent a SASL challenge (Connection.Secure) to a PLAIN login",
            ));
        }
        Err(protocol(&format!(
            "expected {}, got {}",
            method_name(CONNECTION, want),
            method_name(CONNECTION, method)
        )))
    }
}

/// The exchange over an open stream; see the module doc for what is healthy.
pub(crate) fn exchange(
    stream: &mut impl Timed,
    params: &AmqpParams,
    deadline: &Deadline,
) -> Result<String, Error> {
    let mut blocked = None;
    let mut conn = Conn {
        wire: Wire::new(stream, deadline, "amqp"),
        frames: 0,
        blocked: &mut blocked,
    };
    conn.wire.send(PROTOCOL_HEADER)?;
    let start = parse_start(&conn.expect(START)?).map_err(|e| protocol(&e))?;
    let broker = start.broker();
    let Some(password) = params.password else {
        // The broker is up and serves AMQP. Hanging up here makes RabbitMQ log a warning
        // (see the module doc); any method it would take before a login is worse.
        return Ok(format!(
            "{broker} sent Connection.Start (no password: no login)"
        ));
    };
    if !start.mechanisms.split(' ').any(|m| m == "PLAIN") {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "amqp: the broker offers no PLAIN login (mechanisms: {})",
                shorten(&start.mechanisms)
            ),
        ));
    }
    conn.wire.send(&start_ok(params.user, password))?;
    let tune = parse_tune(&conn.expect(TUNE)?).map_err(|e| protocol(&e))?;
    conn.wire.send(&tune_ok_and_open(&tune, params.vhost))?;
    conn.expect(OPEN_OK)?;
    conn.wire.send(&close())?;
    conn.expect(CLOSE_OK)?;
    if let Some(reason) = blocked {
        return Err(Error::unhealthy(format!(
            "amqp: the broker blocks publishers (a resource alarm): {reason}"
        )));
    }
    Ok(format!(
        "logged in as {}, vhost {} open, {broker}",
        params.user, params.vhost
    ))
}

/// The vhost of the target's path: `/` when none (no path, or `/` alone), as the AMQP URI
/// spec's clients default it; at most 255 bytes (a short string).
fn vhost(path: &str) -> Result<&str, Error> {
    match path {
        "" => Ok("/"),
        v if v.len() > 255 => Err(Error::new(
            ErrorKind::Usage,
            "amqp: a vhost name of more than 255 bytes",
        )),
        v => Ok(v),
    }
}

/// A check's steps (mod.rs gathers the details into the outcome).
pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let (user, password) = wire::login(ctx, target);
    let params = AmqpParams {
        // RabbitMQ's default user, as AMQP URIs without one mean it.
        user: user.unwrap_or("guest"),
        password,
        vhost: vhost(target.path())?,
    };
    if target.kind() == TargetKind::Amqps {
        #[cfg(feature = "tls")]
        {
            wire::prepare_tls(ctx, target)?;
            let sock = wire::connect(ctx, target, details)?;
            let mut stream = wire::start_tls(ctx, target, sock, details)?;
            let outcome = exchange(&mut stream, &params, ctx.deadline);
            stream.close();
            return outcome.map(|seen| format!("{seen}, over tls"));
        }
        #[cfg(not(feature = "tls"))]
        return Err(crate::check::shared::unsupported(target, "tls"));
    }
    let mut stream = wire::Stream::Plain(wire::connect(ctx, target, details)?);
    exchange(&mut stream, &params, ctx.deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(class: u16, m: u16, args: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.push(1);
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&(args.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&m.to_be_bytes());
        out.extend_from_slice(args);
        out.push(FRAME_END);
        out
    }

    /// RabbitMQ's `Connection.Start`, cut down: product, version, a nested table.
    fn rabbit_start() -> Vec<u8> {
        let mut table = Vec::new();
        short_str(&mut table, b"capabilities");
        table.push(b'F');
        long_str(&mut table, b"\x0apublisher_confirmst\x01");
        for (k, v) in [("product", "RabbitMQ"), ("version", "3.10.8")] {
            short_str(&mut table, k.as_bytes());
            table.push(b'S');
            long_str(&mut table, v.as_bytes());
        }
        let mut args = vec![0, 9];
        long_str(&mut args, &table);
        long_str(&mut args, b"AMQPLAIN PLAIN");
        long_str(&mut args, b"en_US");
        frame(10, 10, &args)
    }

    #[test]
    fn start_names_the_broker() {
        let buf = rabbit_start();
        let (f, used) = parse_frame(&buf).unwrap().unwrap();
        assert_eq!(used, buf.len());
        let Frame::Method {
            class,
            method,
            args,
            ..
        } = f
        else {
            panic!("{f:?}")
        };
        assert_eq!((class, method), (10, 10));
        let start = parse_start(&args).unwrap();
        assert_eq!(start.broker(), "RabbitMQ 3.10.8");
        assert_eq!(start.mechanisms, "AMQPLAIN PLAIN");
    }

    #[test]
    fn vhost_defaults_to_slash() {
        assert_eq!(vhost("").unwrap(), "/");
        assert_eq!(vhost("app").unwrap(), "app");
        assert!(vhost(&"v".repeat(256)).is_err());
    }

    #[test]
    fn frame_waits_for_its_end() {
        let buf = rabbit_start();
        for cut in 0..buf.len() {
            assert_eq!(parse_frame(&buf[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn bad_frames() {
        let mut buf = rabbit_start();
        *buf.last_mut().unwrap() = 0;
        assert!(parse_frame(&buf).is_err());
        assert!(parse_frame(b"\x01\0\0\xff\xff\xff\xff").is_err());
        assert!(parse_frame(b"HTTP/1.1 400").is_err());
        assert!(parse_frame(b"\x01\0\0\0\0\0\x02\0\0\xce").is_err());
    }

    #[test]
    fn protocol_header_back() {
        assert_eq!(
            parse_frame(b"AMQP\x00\x00\x09\x01"),
            Ok(Some((Frame::Header([0, 9, 1]), 8)))
        );
        assert_eq!(parse_frame(b"AMQ"), Ok(None));
        assert!(parse_frame(b"AMX").is_err());
    }

    #[test]
    fn close_in_the_brokers_words() {
        let mut args = 403u16.to_be_bytes().to_vec();
        short_str(&mut args, b"ACCESS_REFUSED - Login was refused");
        args.extend_from_slice(&[0, 10, 0, 11]);
        let close = parse_close(&args).unwrap();
        assert_eq!(
            refused(&close).to_string(),
            "amqp: 403 ACCESS_REFUSED - Login was refused"
        );
        let bare = Close {
            code: 320,
            text: "shutdown".into(),
        };
        assert_eq!(
            refused(&bare).to_string(),
            "amqp: 320 CONNECTION_FORCED - shutdown"
        );
    }

    #[test]
    fn table_walk_stops_at_an_unknown_type() {
        let mut t = Vec::new();
        short_str(&mut t, b"a");
        t.extend_from_slice(b"S\0\0\0\x01x");
        short_str(&mut t, b"b");
        t.push(b'?');
        short_str(&mut t, b"c");
        t.extend_from_slice(b"S\0\0\0\x01y");
        assert_eq!(table_strings(&t), vec![(&b"a"[..], &b"x"[..])]);
        assert!(table_strings(b"\x05ab").is_empty());
    }

    #[test]
    fn start_ok_is_a_plain_login() {
        let out = start_ok("probe", "pw");
        let (f, _) = parse_frame(&out).unwrap().unwrap();
        let Frame::Method { args, method, .. } = f else {
            panic!()
        };
        assert_eq!(method, START_OK);
        let mut a = Args(&args);
        let props = a.long_str().unwrap();
        let strings = table_strings(props);
        assert!(strings.contains(&(&b"product"[..], &b"healthprobe"[..])));
        assert!(crate::check::shared::contains(
            props,
            b"authentication_failure_close"
        ));
        assert_eq!(a.short_str().unwrap(), b"PLAIN");
        assert_eq!(a.long_str().unwrap(), b"\0probe\0pw");
        assert_eq!(a.short_str().unwrap(), b"en_US");
    }

    #[test]
    fn tune_ok_keeps_the_brokers_limits() {
        let out = tune_ok_and_open(
            &Tune {
                channel_max: 2047,
                frame_max: 0,
            },
            "/",
        );
        let (f, used) = parse_frame(&out).unwrap().unwrap();
        let Frame::Method { args, .. } = f else {
            panic!()
        };
        assert_eq!(args, [0x07, 0xff, 0, 2, 0, 0, 0, 0]);
        let (f, _) = parse_frame(&out[used..]).unwrap().unwrap();
        assert_eq!(
            f,
            Frame::Method {
                channel: 0,
                class: 10,
                method: OPEN,
                args: b"\x01/\x00\x00".to_vec()
            }
        );
    }
}
