//! One module per check kind, behind one contract: a [`Ctx`] (settings, TLS configs, deadline)
//! and the target in, an [`Outcome`] out (what was seen, or an error saying why not, with the
//! details as data).
//!
//! Adding a check kind: a new file here with `pub(crate) fn check(ctx: &Ctx<'_>, target:
//! &Target) -> Outcome`, its scheme in `TargetKind` (target.rs), and its arm in [`run`].

use crate::report::Outcome;
use crate::target::{Target, TargetKind};

mod file;
#[cfg(feature = "grpc")]
mod grpc;
mod http;
mod shared;
mod tcp;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod unix;

#[cfg(feature = "cli")]
pub(crate) use http::is_secret_header;
pub(crate) use shared::Ctx;

/// Checks one target.
pub(crate) fn run(ctx: &Ctx<'_>, target: &Target) -> Outcome {
    match target.kind() {
        TargetKind::Http | TargetKind::Https | TargetKind::HttpUnix => http::check(ctx, target),
        TargetKind::Tcp => tcp::check(ctx, target),
        #[cfg(feature = "tls")]
        TargetKind::Tls => tls::check(ctx, target),
        #[cfg(not(feature = "tls"))]
        TargetKind::Tls => Outcome::of(Err(shared::unsupported(target, "tls"))),
        TargetKind::Unix => unix::check(ctx, target),
        TargetKind::File => file::check(ctx, target),
        #[cfg(feature = "grpc")]
        TargetKind::Grpc | TargetKind::Grpcs => grpc::check(ctx, target),
        #[cfg(not(feature = "grpc"))]
        TargetKind::Grpc | TargetKind::Grpcs => {
            Outcome::of(Err(shared::unsupported(target, "grpc")))
        }
    }
}
