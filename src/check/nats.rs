//! `nats://[USER:PASSWORD@|TOKEN@]HOST[:PORT]`: NATS's client protocol, as `nats server check
//! connection` speaks it. The server opens with `INFO {json}`; the probe sends `CONNECT {json}`
//! and `PING`, and the server is ready when it answers `PONG`. `-ERR` (`'Authorization
//! Violation'`, `'maximum connections exceeded'`, …) is unhealthy in the server's words, and so
//! is a server in lame-duck mode (`"ldm":true` in an `INFO`: it is draining its clients before
//! it stops). TLS when the server's `INFO` says `tls_required`: NATS upgrades after `INFO`, and
//! the handshake is verified like every TLS target.
//!
//! Credentials: `USER:PASSWORD@` sends `user` and `pass`; a userinfo without a colon is a
//! token (`auth_token`), as the NATS clients read `nats://TOKEN@HOST`. The password (or, with
//! no user, the token) from `--password-file` wins over the URL's.
//!
//! Crates considered: `nats` (the old synchronous client, deprecated, with its own TLS stack,
//! nkeys, `serde_json` and a crossbeam/parking_lot core) and `async-nats` (tokio, rustls,
//! serde), each estimated at several hundred KB in the static binary for one round trip (not
//! built here). The protocol is text lines: written here, `INFO` read with the crate's own JSON
//! reader (`check/json.rs`); a few KB of code.

use crate::check::json::Object;
use crate::check::shared::{Ctx, Timed, shorten};
use crate::check::wire::{self, FRAME_LIMIT, Parsed, Wire};
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::Target;

/// The longest line accepted: an `INFO` with a cluster's `connect_urls` is a few KB.
const LINE_LIMIT: usize = FRAME_LIMIT - 2;

/// A bound on lines before `PONG` (`INFO` updates, `+OK`, `PING`): a server sends one or two.
const MAX_OPS: usize = 64;

/// What the probe needs from an `INFO`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Info {
    pub version: Option<String>,
    pub tls_required: bool,
    pub auth_required: bool,
    /// Lame-duck mode: the server takes no new clients and is evicting the ones it has.
    pub ldm: bool,
}

/// One protocol line from the server.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Info(Info),
    Pong,
    Ping,
    Ok,
    /// `-ERR 'text'`: the text without its quotes.
    Err(String),
}

/// Parses one server line (operation names are case-insensitive in NATS).
pub(crate) fn parse_op(buf: &[u8]) -> Parsed<Op> {
    let Some((line, used)) = wire::parse_line(buf, LINE_LIMIT)? else {
        return Ok(None);
    };
    let word_end = line
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(line.len());
    let (word, rest) = line.split_at(word_end);
    let op = match word.to_ascii_uppercase().as_slice() {
        b"INFO" => Op::Info(parse_info(rest)?),
        b"PONG" => Op::Pong,
        b"PING" => Op::Ping,
        b"+OK" => Op::Ok,
        b"-ERR" => {
            let text = wire::server_text(rest);
            let text = text.trim();
            let unquoted = text
                .strip_prefix('\'')
                .and_then(|t| t.strip_suffix('\''))
                .unwrap_or(text);
            Op::Err(unquoted.to_string())
        }
        _ => {
            return Err(format!(
                "not a nats server line: {:?}",
                shorten(&wire::server_text(line))
            ));
        }
    };
    Ok(Some((op, used)))
}

/// The JSON after `INFO`.
pub(crate) fn parse_info(json: &[u8]) -> Result<Info, String> {
    let o = Object::parse(json).map_err(|why| format!("INFO {why}"))?;
    Ok(Info {
        version: o.string("version").map(|v| wire::server_text(v.as_bytes())),
        tls_required: o.flag("tls_required"),
        auth_required: o.flag("auth_required"),
        ldm: o.flag("ldm"),
    })
}

/// Who the probe says it is.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) enum Auth<'a> {
    #[default]
    None,
    UserPass(&'a str, &'a str),
    Token(&'a str),
}

/// The URL's `USER:PASSWORD@` or `TOKEN@`, with the password file's text as the password (after
/// a user) or the token (without one).
fn auth<'a>(ctx: &'a Ctx<'_>, target: &'a Target) -> Auth<'a> {
    match wire::login(ctx, target) {
        (Some(user), Some(password)) => Auth::UserPass(user, password),
        (Some(token), None) | (None, Some(token)) => Auth::Token(token),
        (None, None) => Auth::None,
    }
}

/// `"text"` as a JSON string.
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `CONNECT {…}` and `PING`, in one write.
pub(crate) fn connect_request(auth: &Auth, tls: bool) -> Vec<u8> {
    let mut json = String::from(r#"{"verbose":false,"pedantic":false,"tls_required":"#);
    json.push_str(if tls { "true" } else { "false" });
    json.push_str(r#","name":"healthprobe","lang":"healthprobe","version":"#);
    json_string(&mut json, env!("CARGO_PKG_VERSION"));
    json.push_str(r#","protocol":1"#);
    match auth {
        Auth::None => {}
        Auth::UserPass(user, pass) => {
            json.push_str(r#","user":"#);
            json_string(&mut json, user);
            json.push_str(r#","pass":"#);
            json_string(&mut json, pass);
        }
        Auth::Token(token) => {
            json.push_str(r#","auth_token":"#);
            json_string(&mut json, token);
        }
    }
    json.push('}');
    format!("CONNECT {json}\r\nPING\r\n").into_bytes()
}

fn protocol(why: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("nats: {why}"))
}

fn lame_duck() -> Error {
    Error::unhealthy(
        "nats: the server is in lame duck mode (\"ldm\":true in INFO): it takes no new clients and is shutting down",
    )
}

/// The server's first line, which must be an `INFO`.
fn read_info(wire: &mut Wire<'_, impl Timed>) -> Result<Info, Error> {
    match wire.read(parse_op)? {
        Op::Info(info) if info.ldm => Err(lame_duck()),
        Op::Info(info) => Ok(info),
        Op::Err(text) => Err(Error::unhealthy(format!("nats: {text}"))),
        other => Err(protocol(&format!(
            "the server opened with {}, expected INFO",
            name(&other)
        ))),
    }
}

fn name(op: &Op) -> &'static str {
    match op {
        Op::Info(_) => "INFO",
        Op::Pong => "PONG",
        Op::Ping => "PING",
        Op::Ok => "+OK",
        Op::Err(_) => "-ERR",
    }
}

/// After `INFO` (and TLS, if the server asked for it): `CONNECT` and `PING`, then the lines up
/// to `PONG`.
pub(crate) fn exchange(
    wire: &mut Wire<'_, impl Timed>,
    auth: &Auth,
    info: &Info,
    tls: bool,
) -> Result<String, Error> {
    wire.send(&connect_request(auth, tls))?;
    for _ in 0..MAX_OPS {
        match wire.read(parse_op)? {
            Op::Pong => {
                return Ok(match &info.version {
                    Some(v) => format!("PONG, server {}", shorten(v)),
                    None => "PONG".into(),
                });
            }
            Op::Ok | Op::Ping => {}
            Op::Info(update) if update.ldm => return Err(lame_duck()),
            Op::Info(_) => {}
            Op::Err(text) => return Err(refused(&text, auth, info)),
        }
    }
    Err(protocol(&format!("no PONG in the first {MAX_OPS} lines")))
}

/// An `-ERR` after `CONNECT`, in the server's words; an authorization error without
/// credentials also says how to give them.
fn refused(text: &str, auth: &Auth, info: &Info) -> Error {
    let lower = text.to_ascii_lowercase();
    if *auth == Auth::None && (info.auth_required || lower.contains("authorization")) {
        Error::unhealthy(format!(
            "nats: {text} (credentials are needed: nats://USER:PASSWORD@HOST, nats://TOKEN@HOST or a password file)"
        ))
    } else {
        Error::unhealthy(format!("nats: {text}"))
    }
}

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let auth = auth(ctx, target);
    let mut sock = wire::connect(ctx, target, details)?;
    let mut plain = Wire::new(&mut sock, ctx.deadline, "nats");
    let info = read_info(&mut plain)?;
    if !info.tls_required {
        // A full server sends `-ERR` right behind its INFO: it stays in the reader's buffer.
        return exchange(&mut plain, &auth, &info, false);
    }
    #[cfg(feature = "tls")]
    {
        if plain.buffered() > 0 {
            // Before the handshake only an error (`-ERR 'maximum connections exceeded'`)
            // can come.
            return match plain.read(parse_op)? {
                Op::Err(text) => Err(Error::unhealthy(format!("nats: {text}"))),
                other => Err(protocol(&format!(
                    "{} after INFO, expected the TLS handshake",
                    name(&other)
                ))),
            };
        }
        wire::prepare_tls(ctx, target)?;
        let mut stream = wire::start_tls(ctx, target, sock, details)?;
        let outcome = exchange(
            &mut Wire::new(&mut stream, ctx.deadline, "nats"),
            &auth,
            &info,
            true,
        );
        stream.close();
        outcome.map(|s| format!("{s}, over tls"))
    }
    #[cfg(not(feature = "tls"))]
    Err(crate::check::shared::unsupported(target, "tls"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &[u8] = br#"INFO {"server_id":"NB","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576,"client_id":4} "#;

    fn line(bytes: &[u8]) -> Vec<u8> {
        let mut v = bytes.to_vec();
        v.extend_from_slice(b"\r\n");
        v
    }

    #[test]
    fn info_of_a_real_server() {
        let (op, used) = parse_op(&line(INFO)).unwrap().unwrap();
        assert_eq!(used, INFO.len() + 2);
        assert_eq!(
            op,
            Op::Info(Info {
                version: Some("2.9.10".into()),
                ..Info::default()
            })
        );
    }

    #[test]
    fn info_flags() {
        let (op, _) =
            parse_op(b"info {\"tls_required\":true,\"auth_required\":true,\"ldm\":true}\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(
            op,
            Op::Info(Info {
                version: None,
                tls_required: true,
                auth_required: true,
                ldm: true
            })
        );
    }

    #[test]
    fn info_must_be_json() {
        let e = parse_op(b"INFO {\"a\":}\r\n").unwrap_err();
        assert_eq!(e, "INFO is not json: unexpected '}' at byte 6");
        assert!(parse_op(b"INFO\r\n").is_err());
        assert!(parse_op(b"INFO [1]\r\n").is_err());
    }

    #[test]
    fn short_ops() {
        assert_eq!(parse_op(b"PONG\r\n"), Ok(Some((Op::Pong, 6))));
        assert_eq!(parse_op(b"ping\r\n"), Ok(Some((Op::Ping, 6))));
        assert_eq!(parse_op(b"+OK\r\n"), Ok(Some((Op::Ok, 5))));
        assert_eq!(
            parse_op(b"-ERR 'Authorization Violation'\r\n"),
            Ok(Some((Op::Err("Authorization Violation".into()), 32)))
        );
        assert_eq!(parse_op(b"PON"), Ok(None));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_op(b"HTTP/1.1 400 Bad Request\r\n").is_err());
        assert!(parse_op(b"\r\n").is_err());
        assert!(parse_op(&[b'I'; LINE_LIMIT + 1]).is_err());
    }

    #[test]
    fn connect_carries_escaped_credentials() {
        let req = connect_request(&Auth::UserPass("u\"1", "p\\w\n"), false);
        let text = String::from_utf8(req).unwrap();
        assert!(text.starts_with("CONNECT {\"verbose\":false,"), "{text}");
        assert!(text.ends_with("}\r\nPING\r\n"), "{text}");
        assert!(
            text.contains(r#""user":"u\"1","pass":"p\\w\u000a""#),
            "{text}"
        );
        let json = text
            .strip_prefix("CONNECT ")
            .unwrap()
            .strip_suffix("\r\nPING\r\n")
            .unwrap();
        let o = Object::parse(json.as_bytes()).unwrap();
        assert_eq!(o.string("pass").as_deref(), Some("p\\w\n"));
        let token = String::from_utf8(connect_request(&Auth::Token("t0k"), true)).unwrap();
        assert!(token.contains(r#""tls_required":true"#), "{token}");
        assert!(token.contains(r#""auth_token":"t0k""#), "{token}");
        assert!(!token.contains("\"user\""), "{token}");
    }

    #[test]
    fn authorization_without_credentials_says_how() {
        let info = Info::default();
        let e = refused("Authorization Violation", &Auth::None, &info);
        assert!(e.to_string().contains("credentials are needed"), "{e}");
        let e = refused("Authorization Violation", &Auth::Token("x"), &info);
        assert_eq!(e.to_string(), "nats: Authorization Violation");
    }
}
