//! `file:///PATH`: the file exists; with `max_age`, it was modified within that time
//! (heartbeat files of workers that listen on no port).

use std::time::SystemTime;

use crate::check::shared::Ctx;
use crate::duration::format_duration;
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::Target;

/// A check's steps: a file records no details.
pub(crate) fn steps(ctx: &Ctx<'_>, target: &Target, _: &mut Vec<Detail>) -> Result<String, Error> {
    verdict(ctx.settings.max_age, target)
}

fn verdict(max_age: Option<std::time::Duration>, target: &Target) -> Result<String, Error> {
    let path = target.path();
    let meta = std::fs::metadata(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => crate::net::io_reason(&e),
        };
        Error::new(ErrorKind::Unhealthy, format!("{why} ({path})"))
    })?;
    if !meta.is_file() {
        return Err(Error::unhealthy(format!("not a regular file ({path})")));
    }
    let age = meta
        .modified()
        .ok()
        .map(|m| SystemTime::now().duration_since(m).unwrap_or_default());
    match (max_age, age) {
        (Some(max), Some(age)) if age > max => Err(Error::unhealthy(format!(
            "stale: modified {} ago, expected within {}",
            format_duration(round_secs(age)),
            format_duration(max)
        ))),
        (Some(_), None) => Err(Error::unhealthy(format!(
            "cannot read the modification time ({path})"
        ))),
        (_, Some(age)) => Ok(format!(
            "exists, modified {} ago",
            format_duration(round_secs(age))
        )),
        (None, None) => Ok("exists".to_string()),
    }
}

fn round_secs(d: std::time::Duration) -> std::time::Duration {
    if d.as_secs() >= 1 {
        std::time::Duration::from_secs(d.as_secs())
    } else {
        std::time::Duration::from_millis(d.as_millis() as u64)
    }
}
