//! `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` and `rediss://` (TLS): `AUTH` when a password
//! is given, `SELECT` when a database is, then `PING`; healthy only on `+PONG`. A Redis that
//! accepts TCP can still answer `-LOADING` (reading its dataset), `-BUSY` (a script running),
//! `-MASTERDOWN` (a replica without its primary) or `-NOAUTH`: all unhealthy, with the server's
//! words, where `redis-cli ping` exits 0.
//!
//! Crates considered: `redis` (the driver: connection manager, URL parser, every command, its
//! own TLS and pool options), estimated from its dependency tree at some hundreds of KB in the
//! static binary for three commands (not built here); RESP parsers alone (`redis-protocol`)
//! still leave the connection, the deadline and TLS to us and bring `bytes`. RESP for
//! `AUTH`/`SELECT`/`PING` is a few lines of encoding and one line of reply each, written here:
//! about 2 KB of code in the release binary (symbol sizes; the shared `wire` module, about
//! 5 KB, serves all four kinds).

use crate::check::shared::{Ctx, Timed};
use crate::check::wire::{self, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::Error;
use crate::report::Detail;
use crate::target::Target;

/// The longest reply line accepted: Redis's error texts are well under it.
const LINE_LIMIT: usize = 4096;

/// What the exchange needs: who logs in, and which database is selected.
#[derive(Debug, Default)]
pub(crate) struct RedisParams<'a> {
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
    /// The database number, as digits.
    pub db: Option<&'a str>,
}

/// One RESP reply line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `+TEXT`
    Simple(String),
    /// `-TEXT`: an error, with its code word first (`BUSY`, `NOAUTH`, `ERR`…).
    Error(String),
    /// Any other type (`:1`, `$5`, `*2`, RESP3 types): the whole first line.
    Other(String),
}

/// Parses the first line of a RESP reply.
pub(crate) fn parse_reply(buf: &[u8]) -> Parsed<Reply> {
    let Some((line, used)) = wire::parse_line(buf, LINE_LIMIT)? else {
        return Ok(None);
    };
    let reply = match line.first() {
        Some(b'+') => Reply::Simple(wire::server_text(&line[1..])),
        Some(b'-') => Reply::Error(wire::server_text(&line[1..])),
        Some(b':' | b'$' | b'*' | b'_' | b',' | b'#' | b'!' | b'=' | b'(' | b'%' | b'~' | b'>') => {
            Reply::Other(wire::server_text(line))
        }
        _ => {
            return Err(format!(
                "not a redis reply: {:?}",
                crate::check::shared::shorten(&wire::server_text(line))
            ));
        }
    };
    Ok(Some((reply, used)))
}

/// Appends one command in RESP (an array of bulk strings).
fn command(out: &mut Vec<u8>, args: &[&str]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// `AUTH`, `SELECT` and `PING`, sent together (pipelined: one round trip); the replies are
/// read in order and the first that is not the expected one decides.
pub(crate) fn exchange(
    stream: &mut impl Timed,
    params: &RedisParams,
    deadline: &Deadline,
) -> Result<String, Error> {
    let mut request = Vec::new();
    if let Some(password) = params.password {
        match params.user {
            Some(user) => command(&mut request, &["AUTH", user, password]),
            None => command(&mut request, &["AUTH", password]),
        }
    }
    if let Some(db) = params.db {
        command(&mut request, &["SELECT", db]);
    }
    command(&mut request, &["PING"]);
    let mut wire = Wire::new(stream, deadline, "redis");
    wire.send(&request)?;
    if params.password.is_some() {
        expect_ok(wire.read(parse_reply)?, "AUTH")?;
    }
    if let Some(db) = params.db {
        expect_ok(wire.read(parse_reply)?, &format!("SELECT {db}"))?;
    }
    match wire.read(parse_reply)? {
        Reply::Simple(s) if s == "PONG" => Ok("PONG".into()),
        Reply::Error(e) => Err(refused(&e)),
        Reply::Simple(other) | Reply::Other(other) => Err(Error::unhealthy(format!(
            "redis: PING answered {:?}, expected +PONG",
            crate::check::shared::shorten(&other)
        ))),
    }
}

fn expect_ok(reply: Reply, what: &str) -> Result<(), Error> {
    match reply {
        Reply::Simple(s) if s == "OK" => Ok(()),
        Reply::Error(e) => Err(Error::unhealthy(format!("redis: {what} failed: {e}"))),
        Reply::Simple(other) | Reply::Other(other) => Err(Error::unhealthy(format!(
            "redis: {what} answered {:?}, expected +OK",
            crate::check::shared::shorten(&other)
        ))),
    }
}

/// An error reply to `PING`, in the server's words; `NOAUTH` also says how to give a password.
fn refused(text: &str) -> Error {
    if text.starts_with("NOAUTH") {
        Error::unhealthy(format!(
            "redis: {text} (a password is needed: --password-file FILE or redis://:PASSWORD@HOST)"
        ))
    } else {
        Error::unhealthy(format!("redis: {text}"))
    }
}

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let (user, password) = wire::login(ctx, target);
    let params = RedisParams {
        user,
        password,
        db: Some(target.path()).filter(|db| !db.is_empty()),
    };
    if target.kind().is_tls() {
        #[cfg(feature = "tls")]
        {
            wire::prepare_tls(ctx, target)?;
            let sock = wire::connect(ctx, target, details)?;
            let mut stream = wire::start_tls(ctx, target, sock, details)?;
            let outcome = exchange(&mut stream, &params, ctx.deadline);
            stream.close();
            return outcome.map(|pong| format!("{pong} over tls"));
        }
        #[cfg(not(feature = "tls"))]
        return Err(crate::check::shared::unsupported(target, "tls"));
    }
    let mut stream = wire::Stream::Plain(wire::connect(ctx, target, details)?);
    let outcome = exchange(&mut stream, &params, ctx.deadline);
    stream.close();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pong() {
        assert_eq!(
            parse_reply(b"+PONG\r\n"),
            Ok(Some((Reply::Simple("PONG".into()), 7)))
        );
    }

    #[test]
    fn busy_error() {
        let r = parse_reply(b"-BUSY Redis is busy running a script.\r\n+PONG\r\n");
        let (reply, used) = r.unwrap().unwrap();
        assert_eq!(used, 39);
        assert_eq!(
            reply,
            Reply::Error("BUSY Redis is busy running a script.".into())
        );
    }

    #[test]
    fn partial_line_waits() {
        assert_eq!(parse_reply(b"+PO"), Ok(None));
        assert_eq!(parse_reply(b""), Ok(None));
    }

    #[test]
    fn other_types_are_not_pong() {
        let (reply, _) = parse_reply(b"$4\r\nPONG\r\n").unwrap().unwrap();
        assert_eq!(reply, Reply::Other("$4".into()));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_reply(b"HTTP/1.1 400 Bad Request\r\n").is_err());
        assert!(parse_reply(b"\r\n").is_err());
        assert!(parse_reply(&[b'+'; 5000]).is_err());
    }

    #[test]
    fn commands_are_resp_arrays() {
        let mut out = Vec::new();
        command(&mut out, &["AUTH", "u", "p w"]);
        command(&mut out, &["PING"]);
        assert_eq!(
            out,
            b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$3\r\np w\r\n*1\r\n$4\r\nPING\r\n"
        );
    }

    #[test]
    fn noauth_says_a_password_is_needed() {
        let e = refused("NOAUTH Authentication required.");
        assert!(e.to_string().contains("a password is needed"));
        assert_eq!(
            refused("MASTERDOWN Link with MASTER is down").to_string(),
            "redis: MASTERDOWN Link with MASTER is down"
        );
    }
}
