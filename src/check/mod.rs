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
//! 2. Its row in the table of kinds (src/kind.rs): scheme, default port, userinfo, TLS,
//!    feature, path rule, usage. The parser, `--help` and the docs test read it.
//! 3. Its arm in [`run`] below (`TargetKind::Foo => foo::steps`), and `mod foo;`.
//!
//! A new setting is a field of `Settings` (settings.rs, with its default and any check in
//! `validate`), a setter on `ProbeBuilder` that writes it, and for the binary a flag in cli.rs
//! (plus, when errors name it, a `Setting` variant in error.rs for `Error::naming` and its
//! flag in render.rs's `flag`).

use crate::error::Error;
use crate::report::{Detail, Outcome};
use crate::target::{Target, TargetKind};

#[cfg(feature = "db")]
mod amqp;
mod base64;
#[cfg(feature = "db")]
mod bson;
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
mod kafka;
#[cfg(feature = "db")]
mod memcached;
#[cfg(feature = "db")]
mod mongodb;
#[cfg(feature = "db")]
mod mqtt;
#[cfg(feature = "db")]
mod mysql;
#[cfg(feature = "db")]
mod nats;
#[cfg(feature = "db")]
mod postgres;
#[cfg(feature = "db")]
mod redis;
#[cfg(all(feature = "db", feature = "tls"))]
mod scram;
mod shared;
#[cfg(feature = "db")]
mod smtp;
mod tcp;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod unix;
#[cfg(feature = "db")]
mod wire;
#[cfg(feature = "db")]
mod zookeeper;

pub(crate) use shared::Ctx;

/// Checks one target: the kind's steps, their details gathered into the outcome, the
/// unhealthy one too. A kind this build leaves out fails naming the feature it needs.
pub(crate) fn run(ctx: &Ctx<'_>, target: &Target) -> Outcome {
    let steps: Steps = match target.kind() {
        TargetKind::Http | TargetKind::Https | TargetKind::HttpUnix => http::steps,
        TargetKind::Tcp => tcp::steps,
        #[cfg(feature = "tls")]
        TargetKind::Tls => tls::steps,
        TargetKind::Unix => unix::steps,
        TargetKind::File => file::steps,
        #[cfg(feature = "grpc")]
        TargetKind::Grpc | TargetKind::Grpcs => grpc::steps,
        #[cfg(feature = "db")]
        TargetKind::Redis | TargetKind::Rediss => redis::steps,
        #[cfg(feature = "db")]
        TargetKind::Memcached => memcached::steps,
        #[cfg(feature = "db")]
        TargetKind::Postgres => postgres::steps,
        #[cfg(feature = "db")]
        TargetKind::Mysql => mysql::steps,
        #[cfg(feature = "db")]
        TargetKind::Nats => nats::steps,
        #[cfg(feature = "db")]
        TargetKind::Zookeeper => zookeeper::steps,
        #[cfg(feature = "db")]
        TargetKind::Smtp | TargetKind::Smtps => smtp::steps,
        #[cfg(feature = "db")]
        TargetKind::Amqp | TargetKind::Amqps => amqp::steps,
        #[cfg(feature = "db")]
        TargetKind::Mqtt | TargetKind::Mqtts => mqtt::steps,
        #[cfg(feature = "db")]
        TargetKind::Mongodb => mongodb::steps,
        #[cfg(feature = "db")]
        TargetKind::Kafka => kafka::steps,
        #[cfg(feature = "db")]
        TargetKind::Dns => dns::steps,
        #[allow(unreachable_patterns)] // Reached only by a build without some feature.
        kind => {
            let feature = kind.row().feature.unwrap_or("?");
            return Outcome::of(Err(shared::unsupported(target, feature)), Vec::new());
        }
    };
    let mut details = Vec::new();
    let verdict = steps(ctx, target, &mut details);
    Outcome::of(verdict, details)
}

/// A check kind's steps: what it saw, or why not, recording its details as it goes (an HTTP
/// check's status is its last [`Detail::Response`]).
pub(crate) type Steps = fn(&Ctx<'_>, &Target, &mut Vec<Detail>) -> Result<String, Error>;
