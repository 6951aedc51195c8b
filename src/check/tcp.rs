//! `tcp://HOST:PORT`: a connection opens (then closes at once); with `send`/`expect`, the
//! reply holds the expected text.

use crate::check::shared::{Ctx, converse};
use crate::error::Error;
use crate::report::{Detail, Outcome};
use crate::target::Target;

pub(crate) fn check(ctx: &Ctx<'_>, target: &Target) -> Outcome {
    let mut details = Vec::new();
    let verdict = steps(ctx, target, &mut details);
    Outcome {
        verdict,
        status: None,
        details,
    }
}

fn steps(ctx: &Ctx<'_>, target: &Target, details: &mut Vec<Detail>) -> Result<String, Error> {
    let (mut stream, addr) = ctx.connect(target.host(), target.port())?;
    details.push(ctx.connected(addr));
    match converse(&mut stream, ctx)? {
        Some(reply) => Ok(reply),
        None => Ok(format!("connected to {addr}")),
    }
}
