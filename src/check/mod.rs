//! One module per check kind, behind one contract: a [`Ctx`] (settings, TLS configs, deadline)
//! and the target in, an [`Outcome`] out (what was seen, or an error saying why not, with the
//! details as data).
//!
//! # Adding a check kind
//! 1. A new file here, `foo.rs`, with `pub(crate) fn steps(ctx: &Ctx<'_>, target: &Target,
//!    details: &mut Vec<Detail>) -> Result<String, Error>` (a [`Steps`]). It reads
//!    `ctx.settings`; opens its connection with `ctx.connect(host, port)`
//!    (every resolved address in turn, `ip_family`, the deadline) and records
//!    `ctx.connected(addr)`; wraps TLS, if it speaks it, with `ctx.wrap_tls(sock, host, …)`
//!    (the probe's one TLS config); takes `user[:password]@` from `target.credentials()`;
//!    before each blocking step asks `ctx.deadline.enter(Phase::…)` for the time left, and
//!    reports a timeout with `ctx.deadline.expired()`; `shared::converse` does
//!    `send`/`expect` over any [`shared::Timed`] stream.
//! 2. Its scheme in target.rs: a `TargetKind` variant, and its arms in `from_scheme`, `scheme`,
//!    `default_port` and (if it takes credentials) `takes_userinfo`.
//! 3. Its arm in [`run`] below (`gather(foo::steps, …)`), and `mod foo;`.
//!
//! A new setting is a field of `Settings` (settings.rs, with its default and any check in
//! `validate`), a setter on `ProbeBuilder` that writes it, and for the binary a flag in cli.rs
//! (plus, when errors name it, a `Setting` variant in error.rs for `Error::naming` and its
//! flag in render.rs's `flag`).

use crate::error::Error;
use crate::report::{Detail, Outcome};
use crate::target::{Target, TargetKind};

mod base64;
#[cfg(feature = "db")]
mod dns;
mod file;
#[cfg(feature = "db")]
pub mod fuzzing;
#[cfg(feature = "grpc")]
mod grpc;
mod http;
pub(crate) mod json;
#[cfg(feature = "db")]
mod memcached;
#[cfg(feature = "db")]
mod mysql;
#[cfg(feature = "db")]
mod postgres;
#[cfg(feature = "db")]
mod redis;
mod shared;
mod tcp;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod unix;
#[cfg(feature = "db")]
mod wire;

pub(crate) use shared::Ctx;

/// Checks one target.
pub(crate) fn run(ctx: &Ctx<'_>, target: &Target) -> Outcome {
    match target.kind() {
        TargetKind::Http | TargetKind::Https | TargetKind::HttpUnix => http::check(ctx, target),
        TargetKind::Tcp => gather(tcp::steps, ctx, target),
        #[cfg(feature = "tls")]
        TargetKind::Tls => gather(tls::steps, ctx, target),
        #[cfg(not(feature = "tls"))]
        TargetKind::Tls => Outcome::of(Err(shared::unsupported(target, "tls"))),
        TargetKind::Unix => gather(unix::steps, ctx, target),
        TargetKind::File => file::check(ctx, target),
        #[cfg(feature = "grpc")]
        TargetKind::Grpc | TargetKind::Grpcs => gather(grpc::steps, ctx, target),
        #[cfg(not(feature = "grpc"))]
        TargetKind::Grpc | TargetKind::Grpcs => {
            Outcome::of(Err(shared::unsupported(target, "grpc")))
        }
        #[cfg(feature = "db")]
        TargetKind::Redis | TargetKind::Rediss => gather(redis::steps, ctx, target),
        #[cfg(feature = "db")]
        TargetKind::Memcached => gather(memcached::steps, ctx, target),
        #[cfg(feature = "db")]
        TargetKind::Postgres => gather(postgres::steps, ctx, target),
        #[cfg(feature = "db")]
        TargetKind::Mysql => gather(mysql::steps, ctx, target),
        #[cfg(feature = "db")]
        TargetKind::Dns => gather(dns::steps, ctx, target),
        #[cfg(not(feature = "db"))]
        TargetKind::Postgres
        | TargetKind::Mysql
        | TargetKind::Redis
        | TargetKind::Rediss
        | TargetKind::Memcached
        | TargetKind::Dns => Outcome::of(Err(shared::unsupported(target, "db"))),
    }
}

/// A check kind's steps: what it saw, or why not, recording its details as it goes.
pub(crate) type Steps = fn(&Ctx<'_>, &Target, &mut Vec<Detail>) -> Result<String, Error>;

/// Runs `steps` and gathers the details they recorded into the outcome, the unhealthy one too.
fn gather(steps: Steps, ctx: &Ctx<'_>, target: &Target) -> Outcome {
    let mut details = Vec::new();
    let verdict = steps(ctx, target, &mut details);
    Outcome {
        verdict,
        status: None,
        details,
    }
}
