//! `zookeeper://HOST[:PORT]`: the `srvr` four-letter word, as `zkServer.sh status` and
//! `echo srvr | nc HOST 2181` ask it. A member that serves answers with its statistics and a
//! `Mode:` line: `leader`, `follower`, `standalone` (or `observer`) is healthy. A member of an
//! ensemble without quorum (or still electing a leader) answers `This ZooKeeper instance is
//! not currently serving requests`: unhealthy, in its words, where a TCP check says yes.
//!
//! `srvr` is the one four-letter word in ZooKeeper's default `4lw.commands.whitelist` since
//! 3.5.3 (zkServer.sh uses it); a server whose whitelist leaves it out answers `srvr is not
//! executed because it is not in the whitelist.`, which the reason repeats.
//!
//! Crates considered: `zookeeper` and `zookeeper-client` speak the session protocol (jute
//! records, a session, watches) with their own threads or tokio, estimated at 100 KB or more in
//! the static binary (not built here), and a session is more than readiness needs: a ZooKeeper
//! without quorum refuses sessions too, but says why only to `srvr`. Written here: one request
//! and a few lines of reply, well under 1 KB of code.

use crate::check::shared::{Ctx, Timed, shorten};
use crate::check::wire::{self, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::Target;

/// What ZooKeeper says in place of its statistics while it cannot serve.
const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";
/// A reply line longer than this is not ZooKeeper's.
const LINE_LIMIT: usize = 1024;

/// What the reply to `srvr` says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Srvr {
    /// The `Mode:` line's value, and the version from `Zookeeper version:` if it came first.
    Mode {
        mode: String,
        version: Option<String>,
    },
    /// `This ZooKeeper instance is not currently serving requests`.
    NotServing,
    /// Any other one-line answer from ZooKeeper (`srvr is not executed because it is not in
    /// the whitelist.`).
    Refused(String),
}

/// Reads the reply to `srvr` line by line, up to the line that decides: `Mode: …`, the
/// not-serving sentence, or a refusal.
pub(crate) fn parse_srvr(buf: &[u8]) -> Parsed<Srvr> {
    let mut version = None;
    let mut at = 0;
    while let Some(end) = buf[at..].iter().position(|&b| b == b'\n') {
        let line = &buf[at..at + end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > LINE_LIMIT {
            return Err(format!("a reply line longer than {LINE_LIMIT} bytes"));
        }
        let used = at + end + 1;
        let text = wire::server_text(line);
        if let Some(mode) = text.strip_prefix("Mode:") {
            let mode = mode.trim().to_string();
            return Ok(Some((Srvr::Mode { mode, version }, used)));
        }
        if text.starts_with(NOT_SERVING) {
            return Ok(Some((Srvr::NotServing, used)));
        }
        if at == 0 {
            match text.strip_prefix("Zookeeper version:") {
                Some(v) => version = Some(short_version(v)),
                None if text.contains("not executed") || text.contains("whitelist") => {
                    return Ok(Some((Srvr::Refused(text), used)));
                }
                None => {
                    return Err(format!(
                        "not a zookeeper reply to srvr: {:?}",
                        shorten(&text)
                    ));
                }
            }
        }
        at = used;
    }
    if buf.len() - at > LINE_LIMIT {
        return Err(format!("a reply line longer than {LINE_LIMIT} bytes"));
    }
    Ok(None)
}

/// `3.8.0` out of ` 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC`.
fn short_version(text: &str) -> String {
    let v: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if v.is_empty() {
        shorten(text.trim())
    } else {
        v
    }
}

pub(crate) fn exchange(stream: &mut impl Timed, deadline: &Deadline) -> Result<String, Error> {
    let mut wire = Wire::new(stream, deadline, "zookeeper");
    wire.send(b"srvr")?;
    match wire.read(parse_srvr)? {
        Srvr::Mode { mode, version } => match mode.as_str() {
            "leader" | "follower" | "standalone" | "observer" => Ok(match version {
                Some(v) => format!("mode {mode}, server {v}"),
                None => format!("mode {mode}"),
            }),
            other => Err(Error::unhealthy(format!(
                "zookeeper: mode {:?}, expected leader, follower, standalone or observer",
                shorten(other)
            ))),
        },
        Srvr::NotServing => Err(Error::unhealthy(format!(
            "zookeeper: {NOT_SERVING} (no quorum, or a leader election under way)"
        ))),
        Srvr::Refused(text) => Err(Error::new(
            ErrorKind::Protocol,
            format!("zookeeper: {text} (add srvr to 4lw.commands.whitelist in zoo.cfg)"),
        )),
    }
}

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let mut stream = wire::connect(ctx, target, details)?;
    exchange(&mut stream, ctx.deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDALONE: &[u8] = b"Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n";

    #[test]
    fn mode_of_a_real_server() {
        let (srvr, used) = parse_srvr(STANDALONE).unwrap().unwrap();
        assert_eq!(
            srvr,
            Srvr::Mode {
                mode: "standalone".into(),
                version: Some("3.8.0".into())
            }
        );
        assert_eq!(&STANDALONE[used..], b"Node count: 5\n");
    }

    #[test]
    fn waits_for_the_mode_line() {
        assert_eq!(parse_srvr(&STANDALONE[..100]), Ok(None));
        assert_eq!(parse_srvr(b""), Ok(None));
        assert_eq!(parse_srvr(b"Zookeeper version: 3.8.0\nMode: lea"), Ok(None));
    }

    #[test]
    fn not_serving() {
        let reply = b"This ZooKeeper instance is not currently serving requests\n";
        assert_eq!(parse_srvr(reply), Ok(Some((Srvr::NotServing, reply.len()))));
    }

    #[test]
    fn not_in_the_whitelist() {
        let reply = b"srvr is not executed because it is not in the whitelist.\n";
        let (srvr, _) = parse_srvr(reply).unwrap().unwrap();
        assert_eq!(
            srvr,
            Srvr::Refused("srvr is not executed because it is not in the whitelist.".into())
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_srvr(b"HTTP/1.1 400 Bad Request\r\n").is_err());
        assert!(parse_srvr(&[b'Z'; LINE_LIMIT + 1]).is_err());
        let mut long = b"Zookeeper version: 3.8.0\n".to_vec();
        long.extend_from_slice(&[b'x'; LINE_LIMIT + 1]);
        long.push(b'\n');
        assert!(parse_srvr(&long).is_err());
    }

    #[test]
    fn versions_are_short() {
        assert_eq!(
            short_version(" 3.9.2-e454e8c7283100c7caec6dcae2bc82aaecb63023, built"),
            "3.9.2"
        );
        assert_eq!(short_version(" unknown"), "unknown");
    }
}
