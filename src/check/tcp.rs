//! `tcp://HOST:PORT`: a connection opens (then closes at once); with `--send`/`--expect`, the
//! reply holds the expected text.

use crate::check::{Seen, converse};
use crate::deadline::Deadline;
use crate::error::Error;
use crate::net;
use crate::probe::Probe;
use crate::target::Target;

pub(crate) fn check(
    probe: &Probe,
    target: &Target,
    deadline: &Deadline,
    seen: &mut Seen,
) -> Result<String, Error> {
    let addrs = net::resolve(target.host(), target.port(), probe.s.ip_family, deadline)?;
    let (mut stream, addr) = net::connect(&addrs, deadline)?;
    seen.notes.push(format!(
        "connected to {addr} at {}ms",
        deadline.elapsed().as_millis()
    ));
    match converse(&mut stream, probe, deadline)? {
        Some(reply) => Ok(reply),
        None => Ok(format!("connected to {addr}")),
    }
}
