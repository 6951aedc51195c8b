//! `unix:///PATH`: a stream connection to a Unix socket opens; `send`/`expect` as for tcp.

use std::os::unix::net::UnixStream;

use crate::check::shared::{Ctx, converse};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};
use crate::report::Detail;
use crate::target::Target;

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let mut stream = connect(target.path(), ctx.deadline)?;
    details.push(ctx.connected(target.path()));
    match converse(&mut stream, ctx)? {
        Some(reply) => Ok(reply),
        None => Ok(format!("connected to {}", target.path())),
    }
}

/// Connects to a Unix socket within the deadline. A blocking connect to a listener whose
/// backlog is full waits for room, and std has no connect timeout for Unix sockets, so the
/// connect runs on a helper thread that the check stops waiting for at the deadline.
pub(crate) fn connect(path: &str, deadline: &Deadline) -> Result<UnixStream, Error> {
    let left = deadline.enter(Phase::Connect)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let owned = path.to_string();
    std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = tx.send(UnixStream::connect(owned));
        })
        .map_err(|e| Error::new(ErrorKind::Connect, format!("cannot connect: {e}")))?;
    match rx.recv_timeout(left) {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "no such socket".to_string(),
                _ => crate::net::io_reason(&e),
            };
            Err(Error::new(ErrorKind::Connect, format!("{why} ({path})")))
        }
        Err(_) => Err(deadline.expired().append(format!(" ({path})"))),
    }
}
