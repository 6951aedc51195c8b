//! `memcached://HOST[:PORT]`: the text protocol's `version` command answers `VERSION …`.
//!
//! Crates considered: `memcache` (a client with connection pools, URL options, binary and text
//! protocols; estimated at 100 KB or more with its dependencies, not built here) for one
//! command and one line of reply; written here instead: well under 1 KB of code.

use crate::check::shared::{Ctx, Timed};
use crate::check::wire::{self, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::Error;
use crate::report::Detail;
use crate::target::Target;

const LINE_LIMIT: usize = 1024;

/// The reply line to `version`: `Ok` with the version text, `Err` with the line otherwise.
pub(crate) fn parse_version(buf: &[u8]) -> Parsed<Result<String, String>> {
    let Some((line, used)) = wire::parse_line(buf, LINE_LIMIT)? else {
        return Ok(None);
    };
    let text = wire::server_text(line);
    let verdict = match line.strip_prefix(b"VERSION ") {
        Some(version) if !version.is_empty() => Ok(wire::server_text(version)),
        _ => Err(text),
    };
    Ok(Some((verdict, used)))
}

pub(crate) fn exchange(stream: &mut impl Timed, deadline: &Deadline) -> Result<String, Error> {
    let mut wire = Wire::new(stream, deadline, "memcached");
    wire.send(b"version\r\n")?;
    match wire.read(parse_version)? {
        Ok(version) => Ok(format!("VERSION {version}")),
        Err(line) => Err(Error::unhealthy(format!(
            "memcached: version answered {:?}, expected VERSION …",
            crate::check::shared::shorten(&line)
        ))),
    }
}

/// A check's steps (mod.rs gathers the details into the outcome).
pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    wire::connect(ctx, target, details).and_then(|mut stream| exchange(&mut stream, ctx.deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_line() {
        assert_eq!(
            parse_version(b"VERSION 1.6.18\r\n"),
            Ok(Some((Ok("1.6.18".into()), 16)))
        );
    }

    #[test]
    fn error_line() {
        assert_eq!(
            parse_version(b"SERVER_ERROR out of memory\r\n")
                .unwrap()
                .unwrap()
                .0,
            Err("SERVER_ERROR out of memory".into())
        );
        assert_eq!(
            parse_version(b"VERSION \r\n").unwrap().unwrap().0,
            Err("VERSION".into())
        );
    }

    #[test]
    fn waits_for_the_line_end() {
        assert_eq!(parse_version(b"VERSION 1.6"), Ok(None));
    }
}
