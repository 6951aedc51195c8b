//! `tcp://HOST:PORT`: a connection opens (then closes at once); with `send`/`expect`, the
//! reply holds the expected text.

use crate::check::shared::{Ctx, converse};
use crate::error::Error;
use crate::report::Detail;
use crate::target::Target;

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let (mut stream, addr) = ctx.connect(target.host(), target.port())?;
    details.push(ctx.connected(addr));
    match converse(&mut stream, ctx)? {
        Some(reply) => Ok(reply),
        None => Ok(format!("connected to {addr}")),
    }
}
