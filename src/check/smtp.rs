//! `smtp://HOST[:PORT][?starttls]` (25) and `smtps://HOST[:PORT]` (465, TLS from the first
//! byte): the server's greeting must be 220 and `EHLO healthprobe` answered 250; with
//! `?starttls` (port 587's submission), `STARTTLS` answered 220, the verified handshake, and a
//! second `EHLO` answered 250. Then `QUIT`. A 421 ("service not available", a Postfix refusing
//! clients or shutting down) or 554 ("no SMTP service here") greeting is unhealthy, with the
//! server's text, where a TCP check says yes.
//!
//! Crates considered: `lettre` (a mail-sending library: message builder, transports, its own
//! TLS options) and `mail-send` (tokio), each estimated at 100 KB or more in the static binary
//! for a greeting and one command (not built here). Written here: the reply grammar of RFC
//! 5321 section 4.2 (multi-line replies, one code), a few KB of code.

use crate::check::shared::{Ctx, Timed, shorten};
use crate::check::wire::{self, Parsed, Wire};
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::{Target, TargetKind};

/// RFC 5321 allows 512 bytes per reply line; some servers send longer ones.
const LINE_LIMIT: usize = 2048;
/// A bound on the lines of one reply: an EHLO reply has a dozen.
const MAX_LINES: usize = 100;

/// One reply: its code and the text of each line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The reply as a reason shows it: `421 text text…`.
    fn text(&self) -> String {
        let joined = self.lines.join(" ");
        wire::server_text(format!("{} {joined}", self.code).trim().as_bytes())
    }

    /// Whether an EHLO reply lists the extension `name` (`STARTTLS`).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    fn offers(&self, name: &str) -> bool {
        self.lines.iter().skip(1).any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(name))
        })
    }
}

/// Parses one reply, every line `DDD-text` but the last, `DDD text` (or `DDD` alone).
pub(crate) fn parse_reply(buf: &[u8]) -> Parsed<Reply> {
    let mut at = 0;
    let mut code = None;
    let mut lines = Vec::new();
    loop {
        let Some(end) = buf[at..].iter().position(|&b| b == b'\n') else {
            if buf.len() - at > LINE_LIMIT {
                return Err(format!("a reply line longer than {LINE_LIMIT} bytes"));
            }
            return Ok(None);
        };
        let line = &buf[at..at + end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > LINE_LIMIT {
            return Err(format!("a reply line longer than {LINE_LIMIT} bytes"));
        }
        at += end + 1;
        let digits = line.get(..3).filter(|d| d.iter().all(u8::is_ascii_digit));
        let (Some(digits), sep @ (None | Some(b' ' | b'-'))) = (digits, line.get(3)) else {
            return Err(format!(
                "not an smtp reply: {:?}",
                shorten(&wire::server_text(line))
            ));
        };
        let this = digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        if *code.get_or_insert(this) != this {
            return Err(format!(
                "a reply whose lines have two codes ({} and {this})",
                code.unwrap_or(this)
            ));
        }
        lines.push(wire::server_text(line.get(4..).unwrap_or_default()));
        if sep != Some(&b'-') {
            return Ok(Some((Reply { code: this, lines }, at)));
        }
        if lines.len() >= MAX_LINES {
            return Err(format!("a reply of more than {MAX_LINES} lines"));
        }
    }
}

#[cfg_attr(not(feature = "tls"), allow(dead_code))]
fn protocol(why: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("smtp: {why}"))
}

/// The greeting: 220, or the server's refusal in its words.
fn greeting(wire: &mut Wire<'_, impl Timed>) -> Result<String, Error> {
    let reply = wire.read(parse_reply)?;
    match reply.code {
        220 => Ok(reply.lines.first().cloned().unwrap_or_default()),
        421 | 554 => Err(Error::unhealthy(format!(
            "smtp: the server refuses service: {}",
            reply.text()
        ))),
        _ => Err(Error::unhealthy(format!(
            "smtp: greeting {}, expected 220",
            reply.text()
        ))),
    }
}

/// `EHLO healthprobe`, answered 250.
fn ehlo(wire: &mut Wire<'_, impl Timed>) -> Result<Reply, Error> {
    wire.send(b"EHLO healthprobe\r\n")?;
    let reply = wire.read(parse_reply)?;
    if reply.code != 250 {
        return Err(Error::unhealthy(format!(
            "smtp: EHLO answered {}, expected 250",
            reply.text()
        )));
    }
    Ok(reply)
}

/// `QUIT`, so that the server logs a clean end (`quit=1`). Its 221 is not waited for: a
/// server that never sends it would hold every healthy check to the deadline.
fn quit(wire: &mut Wire<'_, impl Timed>) {
    let _ = wire.send(b"QUIT\r\n");
}

/// After the greeting (and TLS, for smtps): `EHLO`, then `QUIT`.
fn ehlo_and_quit(wire: &mut Wire<'_, impl Timed>) -> Result<(), Error> {
    ehlo(wire)?;
    quit(wire);
    Ok(())
}

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let implicit_tls = target.kind() == TargetKind::Smtps;
    let starttls = target.param("starttls").is_some();
    #[cfg(not(feature = "tls"))]
    if implicit_tls || starttls {
        return Err(crate::check::shared::unsupported(target, "tls"));
    }
    #[cfg(feature = "tls")]
    if implicit_tls || starttls {
        wire::prepare_tls(ctx, target)?;
    }
    let mut sock = wire::connect(ctx, target, details)?;
    #[cfg(feature = "tls")]
    if implicit_tls {
        {
            let mut stream = wire::start_tls(ctx, target, sock, details)?;
            let mut wire = Wire::new(&mut stream, ctx.deadline, "smtp");
            let outcome = greeting(&mut wire).and_then(|g| {
                ehlo_and_quit(&mut wire)?;
                Ok(format!("220 {}, EHLO 250, over tls", shorten(&g)))
            });
            stream.close();
            return outcome;
        }
    }
    let mut plain = Wire::new(&mut sock, ctx.deadline, "smtp");
    let hello = greeting(&mut plain)?;
    if !starttls {
        ehlo_and_quit(&mut plain)?;
        return Ok(format!("220 {}, EHLO 250", shorten(&hello)));
    }
    #[cfg(feature = "tls")]
    {
        let offered = ehlo(&mut plain)?;
        if !offered.offers("STARTTLS") {
            quit(&mut plain);
            return Err(Error::new(
                ErrorKind::Tls,
                "smtp: the server does not offer STARTTLS (not in its EHLO reply; ?starttls)",
            ));
        }
        plain.send(b"STARTTLS\r\n")?;
        let ready = plain.read(parse_reply)?;
        if ready.code != 220 {
            return Err(Error::unhealthy(format!(
                "smtp: STARTTLS answered {}, expected 220",
                ready.text()
            )));
        }
        if plain.buffered() > 0 {
            return Err(protocol("bytes after the answer to STARTTLS"));
        }
        let mut stream = wire::start_tls(ctx, target, sock, details)?;
        let outcome = ehlo_and_quit(&mut Wire::new(&mut stream, ctx.deadline, "smtp"));
        stream.close();
        outcome.map(|()| format!("220 {}, EHLO 250, STARTTLS", shorten(&hello)))
    }
    #[cfg(not(feature = "tls"))]
    Err(crate::check::shared::unsupported(target, "tls"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_greeting() {
        let g = b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n";
        assert_eq!(
            parse_reply(g),
            Ok(Some((
                Reply {
                    code: 220,
                    lines: vec!["mail.example.com ESMTP Postfix (Debian/GNU)".into()]
                },
                g.len()
            )))
        );
    }

    #[test]
    fn multi_line_ehlo() {
        let r = b"250-mail.example.com\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\nrest";
        let (reply, used) = parse_reply(r).unwrap().unwrap();
        assert_eq!(used, r.len() - 4);
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines.len(), 4);
        assert!(reply.offers("starttls"));
        assert!(!reply.offers("mail.example.com"));
        assert!(!reply.offers("AUTH"));
    }

    #[test]
    fn waits_for_the_last_line() {
        assert_eq!(parse_reply(b"250-a\r\n250-b\r\n"), Ok(None));
        assert_eq!(parse_reply(b"22"), Ok(None));
        assert_eq!(parse_reply(b""), Ok(None));
    }

    #[test]
    fn bare_code_and_refusals() {
        let (r, _) = parse_reply(b"221\r\n").unwrap().unwrap();
        assert_eq!((r.code, r.text()), (221, "221".to_string()));
        let (r, _) = parse_reply(b"421 4.3.2 Service shutting down\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.text(), "421 4.3.2 Service shutting down");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_reply(b"HTTP/1.1 400 Bad Request\r\n").is_err());
        assert!(parse_reply(b"2200 x\r\n").is_err());
        assert!(parse_reply(b"\r\n").is_err());
        assert!(parse_reply(b"250-a\r\n251 b\r\n").is_err());
        assert!(parse_reply(&[b'2'; LINE_LIMIT + 1]).is_err());
        let many = b"250-x\r\n".repeat(MAX_LINES + 1);
        assert!(parse_reply(&many).is_err());
    }
}
