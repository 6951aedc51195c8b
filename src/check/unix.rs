//! `unix:///PATH`: a stream connection to a Unix socket opens; `send`/`expect` as for tcp.

use crate::check::shared::{Ctx, converse};
use crate::error::Error;
use crate::net;
use crate::report::Detail;
use crate::target::Target;

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let mut stream = net::connect_unix(target.path(), ctx.deadline)?;
    details.push(ctx.connected(target.path()));
    match converse(&mut stream, ctx)? {
        Some(reply) => Ok(reply),
        None => Ok(format!("connected to {}", target.path())),
    }
}
