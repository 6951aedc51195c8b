//! `mqtt://[USER:PASSWORD@]HOST[:PORT]` and `mqtts://` (TLS first): `CONNECT` (MQTT 3.1.1,
//! clean session, client id `healthprobe-<pid>`, the login when given) answered `CONNACK` with
//! return code 0, then `DISCONNECT`, so that the broker logs a clean disconnect rather than a
//! dropped client. Return codes 1–5 (unacceptable protocol version, identifier rejected, server
//! unavailable, bad user name or password, not authorized) are unhealthy, named.
//!
//! Crates considered: `rumqttc` (async, on tokio with its own TLS stack; estimated at 200 KB or
//! more in the static binary, not built here) and `paho-mqtt` (C bindings: not static-friendly).
//! One packet out, one in, and a two-byte goodbye are written here: 3.7 KB of the x86_64 musl
//! release binary's text (measured: `size` of a build with and without the kind).

use crate::check::shared::{Ctx, Timed, shorten};
use crate::check::wire::{self, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::{Target, TargetKind};

/// The largest packet accepted: `CONNACK` is 4 bytes.
const PACKET_LIMIT: usize = 4 * 1024;
const CONNACK: u8 = 0x20;
const DISCONNECT: [u8; 2] = [0xe0, 0x00];

/// What the exchange needs: the client id and the login, if any.
#[derive(Debug)]
pub(crate) struct MqttParams<'a> {
    pub client_id: &'a str,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// One control packet: its first byte (type and flags) and its body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Packet {
    pub first: u8,
    pub body: Vec<u8>,
}

/// Parses one control packet: the first byte, the remaining length (1 to 4 bytes of 7 bits),
/// the body.
pub(crate) fn parse_packet(buf: &[u8]) -> Parsed<Packet> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first >> 4 == 0 || first >> 4 == 15 {
        return Err(format!(
            "not an MQTT packet: {:?}",
            shorten(&wire::server_text(&buf[..buf.len().min(40)]))
        ));
    }
    let mut len = 0usize;
    let mut at = 1;
    loop {
        let Some(&b) = buf.get(at) else {
            return Ok(None);
        };
        len |= ((b & 0x7f) as usize) << (7 * (at - 1));
        at += 1;
        if b & 0x80 == 0 {
            break;
        }
        if at > 4 {
            return Err("a remaining length longer than 4 bytes".into());
        }
    }
    if len > PACKET_LIMIT {
        return Err(format!(
            "a packet of {len} bytes (at most {PACKET_LIMIT} expected)"
        ));
    }
    let Some(body) = buf.get(at..at + len) else {
        return Ok(None);
    };
    Ok(Some((
        Packet {
            first,
            body: body.to_vec(),
        },
        at + len,
    )))
}

/// The server's first packet, which must be a `CONNACK`: anything else is refused at its first
/// byte, before its length is waited for.
pub(crate) fn parse_connack(buf: &[u8]) -> Parsed<Packet> {
    match buf.first() {
        Some(&CONNACK) | None => parse_packet(buf),
        Some(_) => Err(format!(
            "expected CONNACK, got {:?}",
            shorten(&wire::server_text(&buf[..buf.len().min(40)]))
        )),
    }
}

/// The `CONNACK` return code of `packet`, or why it is not a `CONNACK`.
pub(crate) fn connack_code(packet: &Packet) -> Result<u8, String> {
    if packet.first != CONNACK {
        return Err(format!(
            "expected CONNACK, got a packet of type {}",
            packet.first >> 4
        ));
    }
    match packet.body[..] {
        [_flags, code] => Ok(code),
        // MQTT 5 adds properties after the code; a 3.1.1 CONNECT should not get them.
        [_flags, code, ..] => Ok(code),
        _ => Err("a CONNACK shorter than 2 bytes".into()),
    }
}

/// What MQTT 3.1.1 calls each refusing return code.
fn code_words(code: u8) -> &'static str {
    match code {
        1 => "unacceptable protocol version",
        2 => "identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "a return code MQTT 3.1.1 does not define",
    }
}

fn utf8_str(out: &mut Vec<u8>, s: &[u8]) {
    let s = &s[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// `CONNECT`: protocol `MQTT` level 4 (3.1.1), clean session, keep-alive 0 (off: the
/// connection lives for milliseconds), the client id, and the login. MQTT 3.1.1 sends a
/// password only with a user name: a password alone goes with an empty user name.
fn connect(params: &MqttParams) -> Vec<u8> {
    let mut flags = 0x02;
    let user = match (params.user, params.password) {
        (Some(u), _) => Some(u),
        (None, Some(_)) => Some(""),
        (None, None) => None,
    };
    if user.is_some() {
        flags |= 0x80;
    }
    if params.password.is_some() {
        flags |= 0x40;
    }
    let mut body = Vec::new();
    utf8_str(&mut body, b"MQTT");
    body.extend_from_slice(&[4, flags, 0, 0]);
    utf8_str(&mut body, params.client_id.as_bytes());
    if let Some(user) = user {
        utf8_str(&mut body, user.as_bytes());
    }
    if let Some(password) = params.password {
        utf8_str(&mut body, password.as_bytes());
    }
    let mut out = vec![0x10];
    let mut len = body.len();
    loop {
        let byte = (len % 128) as u8;
        len /= 128;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&body);
    out
}

/// The exchange over an open stream; see the module doc for what is healthy.
pub(crate) fn exchange(
    stream: &mut impl Timed,
    params: &MqttParams,
    deadline: &Deadline,
) -> Result<String, Error> {
    let mut wire = Wire::new(stream, deadline, "mqtt");
    wire.send(&connect(params))?;
    let packet = wire.read(parse_connack)?;
    let code = connack_code(&packet)
        .map_err(|why| Error::new(ErrorKind::Protocol, format!("mqtt: {why}")))?;
    if code != 0 {
        return Err(Error::unhealthy(format!(
            "mqtt: connection refused: {} (CONNACK return code {code})",
            code_words(code)
        )));
    }
    // A clean goodbye: without it the broker logs the client as gone away.
    let _ = wire.send(&DISCONNECT);
    Ok(match params.user.filter(|_| params.password.is_some()) {
        Some(user) => format!("CONNACK 0 (connection accepted), logged in as {user}"),
        None => "CONNACK 0 (connection accepted)".into(),
    })
}

/// A check's steps (mod.rs gathers the details into the outcome).
pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let (user, password) = wire::login(ctx, target);
    let client_id = format!("healthprobe-{}", std::process::id());
    let params = MqttParams {
        client_id: &client_id,
        user,
        password,
    };
    if target.kind() == TargetKind::Mqtts {
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

    #[test]
    fn connack_accepted_and_refused() {
        let (p, used) = parse_packet(b"\x20\x02\x00\x00rest").unwrap().unwrap();
        assert_eq!((connack_code(&p), used), (Ok(0), 4));
        let (p, _) = parse_packet(b"\x20\x02\x00\x05").unwrap().unwrap();
        assert_eq!(connack_code(&p), Ok(5));
        assert_eq!(code_words(4), "bad user name or password");
    }

    #[test]
    fn packet_waits_for_its_body() {
        assert_eq!(parse_packet(b""), Ok(None));
        assert_eq!(parse_packet(b"\x20"), Ok(None));
        assert_eq!(parse_packet(b"\x20\x02\x00"), Ok(None));
        assert_eq!(parse_packet(b"\x30\xff\xff"), Ok(None));
    }

    #[test]
    fn only_connack_first() {
        assert!(parse_connack(b"HTTP/1.1 400").is_err());
        assert_eq!(parse_connack(b"\x20\x02"), Ok(None));
    }

    #[test]
    fn bad_packets() {
        assert!(parse_packet(b"\x00\x02\x00\x00").is_err());
        assert!(parse_packet(b"\x20\xff\xff\xff\xff\x01").is_err());
        assert!(parse_packet(b"\x20\xff\xff\xff\x7f").is_err());
        let (p, _) = parse_packet(b"\x30\x01x").unwrap().unwrap();
        assert!(connack_code(&p).is_err());
        let (p, _) = parse_packet(b"\x20\x01\x00").unwrap().unwrap();
        assert!(connack_code(&p).is_err());
    }

    #[test]
    fn connect_packet() {
        let out = connect(&MqttParams {
            client_id: "healthprobe-1",
            user: Some("probe"),
            password: Some("pw"),
        });
        let mut want = vec![0x10, 36, 0, 4];
        want.extend_from_slice(b"MQTT");
        want.extend_from_slice(&[4, 0xc2, 0, 0, 0, 13]);
        want.extend_from_slice(b"healthprobe-1");
        want.extend_from_slice(b"\0\x05probe\0\x02pw");
        assert_eq!(out, want);
        let anonymous = connect(&MqttParams {
            client_id: "c",
            user: None,
            password: None,
        });
        assert_eq!(anonymous, b"\x10\x0d\0\x04MQTT\x04\x02\0\0\0\x01c");
    }

    #[test]
    fn long_connect_length_takes_two_bytes() {
        let pw = "p".repeat(200);
        let out = connect(&MqttParams {
            client_id: "c",
            user: Some("u"),
            password: Some(&pw),
        });
        let (p, used) = parse_packet(&out).unwrap().unwrap();
        assert_eq!((p.first, used), (0x10, out.len()));
        assert_eq!(out[1] & 0x80, 0x80);
    }
}
