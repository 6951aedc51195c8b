//! `unix:///PATH`: a stream connection to a Unix socket opens; `--send`/`--expect` as for tcp.

use std::os::unix::net::UnixStream;

use crate::check::{Seen, converse};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};
use crate::probe::Probe;
use crate::target::Target;

pub(crate) fn check(
    probe: &Probe,
    target: &Target,
    deadline: &Deadline,
    seen: &mut Seen,
) -> Result<String, Error> {
    let mut stream = connect(target.path(), deadline)?;
    seen.notes.push(format!("connected to {}", target.path()));
    match converse(&mut stream, probe, deadline)? {
        Some(reply) => Ok(reply),
        None => Ok(format!("connected to {}", target.path())),
    }
}

/// Connects to a Unix socket. A local connect does not block on the network (a full backlog
/// answers at once with EAGAIN on Linux), so it needs no timeout of its own.
pub(crate) fn connect(path: &str, deadline: &Deadline) -> Result<UnixStream, Error> {
    deadline.left(Phase::Connect)?;
    UnixStream::connect(path).map_err(|e| {
        Error::new(
            ErrorKind::Connect,
            format!("{} ({path})", crate::net::io_reason(&e)),
        )
    })
}
