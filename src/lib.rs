//! Health checks for containers that have no shell: HTTP, HTTPS, TCP, TLS, Unix sockets and
//! heartbeat files, each with one deadline and a verdict you can trust.
//!
//! ```no_run
//! use healthprobe::Probe;
//!
//! let probe = Probe::builder().timeout(std::time::Duration::from_secs(2)).build()?;
//! let report = probe.run(&["http://127.0.0.1:8080/health".parse()?]);
//! println!("{}", report.checks()[0].reason());
//! # Ok::<(), healthprobe::Error>(())
//! ```
//!
//! The `healthprobe` binary is a thin shell over this library: a Docker `HEALTHCHECK` runs it,
//! and it exits 0 when every target is healthy and 1 otherwise.
//!
//! # Targets
//! The scheme picks the check (see [`TargetKind`]): `http://HOST[:PORT][/PATH]` and `https://…`
//! (healthy on an accepted status, default `200-399`, and any condition on the body or headers:
//! [`ProbeBuilder::body_contains`], [`ProbeBuilder::body_matches`], [`ProbeBuilder::body_json`],
//! [`ProbeBuilder::header_matches`]), `tcp://HOST:PORT` (a connection opens),
//! `tls://HOST:PORT` (a verified handshake), `grpc://HOST:PORT[/SERVICE]` and `grpcs://…`
//! (`grpc.health.v1.Health/Check` answers `SERVING`), `unix:///PATH`,
//! `http+unix://%2FSOCKET/PATH`, `file:///PATH` (exists, and with
//! [`ProbeBuilder::max_age`], is fresh), and the databases and caches a container waits on:
//! `postgres://` (or `postgresql://`), `mysql://` (or `mariadb://`), `redis://`, `rediss://`,
//! `memcached://`, `mongodb://`, `kafka://`, `nats://`, `zookeeper://`, `smtp://`, `smtps://`,
//! and the message brokers `amqp://`, `amqps://` (RabbitMQ: a login and the vhost open),
//! `mqtt://` and `mqtts://` (`CONNACK` 0), each ready in its own protocol's terms (a PostgreSQL
//! standby in recovery, a Redis busy in a script, a MongoDB member recovering, a Kafka cluster
//! without a controller, a NATS server in lame-duck mode, a ZooKeeper without quorum, an SMTP
//! server greeting 421 or a RabbitMQ without the vhost is not), with
//! [`ProbeBuilder::password_file`] for their logins, and the names they are found by:
//! `dns://[SERVER[:PORT]]/NAME[?type=A|AAAA|SRV|TXT|CNAME]` (the answer holds a record of the
//! type; `dns:///NAME` asks the system's resolver, through its search list). Every resolved address is tried in turn within the
//! deadline; `localhost` means both loopbacks. A target is parsed with [`str::parse`]
//! ([`Target`]); [`expand_env`] expands `${VAR}` first where the text comes from a user.
//!
//! # Deadlines
//! [`ProbeBuilder::timeout`] is one deadline for a whole run, all targets together: name
//! resolution, connect, TLS, request and body. Every blocking call gets the time left, and a
//! timeout names the phase it ran out in (`timed out after 2s while connecting`).
//!
//! # TLS
//! Certificates are verified by default against the bundled Mozilla roots, so HTTPS works in an
//! image with no CA bundle. `SSL_CERT_FILE`/`SSL_CERT_DIR` replace them when set, and
//! [`ProbeBuilder::tls_ca_file`] replaces both. See the `tls_*` settings of [`ProbeBuilder`].
//!
//! # Features
//! - `cli` (default): the `healthprobe` binary and [`cli::run_subcommand_if`], via argh.
//! - `tls` (default): `https://` and `tls://` targets, with rustls (ring) and webpki roots.
//! - `grpc` (default): `grpc://` targets (and `grpcs://` with `tls`), with h2 on a
//!   current-thread tokio runtime that lives only inside the check.
//! - `db` (default): `postgres://`, `mysql://`, `redis://`, `memcached://`, `mongodb://`,
//!   `kafka://`, `nats://`, `zookeeper://`, `smtp://`, `amqp://`, `mqtt://`, `dns://` (and `rediss://`,
//!   `postgres://…?sslmode=require`, NATS servers that require TLS, `smtps://`,
//!   `smtp://…?starttls`, `amqps://` and `mqtts://` with `tls`), hand-written protocol code plus
//!   RustCrypto's `md-5` for PostgreSQL's md5 logins. Logins with SCRAM-SHA-256 (PostgreSQL,
//!   MongoDB) or `mysql_native_password` take their hashes from ring, so they need `tls` too;
//!   without it they fail naming it.
//! - `test-panic` (off; for tests only): the binary panics inside every check when
//!   `HEALTHPROBE_TEST_PANIC` is set, so that a release-profile build can test the panic
//!   contract. Debug builds have the trigger without it. Never enable it in a shipped binary.
//!
//! With `default-features = false` the library still checks `http://`, `tcp://`, `unix://`,
//! `http+unix://` and `file://` targets; a target that needs a feature compiled out fails with
//! an [`ErrorKind::Unsupported`] error naming the feature.
//!
//! # Docker, Compose and Kubernetes
//! In an image without a shell, the probe runs in exec form:
//! `HEALTHCHECK --interval=10s --timeout=3s CMD ["/healthprobe", "--timeout", "2s", "http://127.0.0.1:8080/health"]`;
//! in Compose, `test: ["CMD", "/healthprobe", "tcp://127.0.0.1:5432"]`; in Kubernetes, an exec
//! probe with `command: ["/healthprobe", …]`. An app that depends on this crate can answer the
//! same command line itself with [`cli::run_subcommand_if`]:
//! `HEALTHCHECK CMD ["/app", "healthcheck", "http://127.0.0.1:8080/health"]`.
//!
//! # Exit codes
//! The binary exits 0 when the run is healthy and 1 for anything else — a failed check, a
//! timeout, bad usage, an unreadable file, a panic. Never 2, which Docker reserves. The library
//! itself never exits and never prints: [`Report::is_healthy`] is the verdict.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod check;
mod deadline;
mod duration;
mod error;
mod expand;
mod kind;
mod net;
mod probe;
#[cfg(feature = "cli")]
mod render;
mod report;
mod secret;
mod settings;
mod status;
mod target;
#[cfg(feature = "tls")]
mod tls;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
mod install;
#[cfg(feature = "cli")]
mod seal;

pub use duration::parse_duration;
pub use error::{Error, ErrorKind, ParseError, Phase};
pub use expand::expand_env;
pub use net::IpFamily;
pub use probe::{DEFAULT_TIMEOUT, Probe, ProbeBuilder};
pub use report::{CheckReport, Detail, Report};
pub use status::StatusList;
pub use target::{Target, TargetKind};

/// The database reply parsers, for the fuzz targets in `fuzz/`. Not part of the API.
#[cfg(feature = "db")]
#[doc(hidden)]
pub use check::fuzzing as db_fuzzing;

/// The JSON reader and `body_json` conditions, for the fuzz target in `fuzz/`. Not part of the
/// API.
#[doc(hidden)]
pub use check::json::fuzz as json_fuzz;

/// The sealed-data decoder, for the fuzz target in `fuzz/`. Not part of the API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub use seal::fuzz_decode as seal_fuzz_decode;

/// `VERSION (features)`, as `healthprobe --version` prints it.
#[cfg(feature = "cli")]
pub(crate) const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("HEALTHPROBE_BUILD_INFO"),
    ")"
);

#[cfg(test)]
mod tests {
    #[test]
    fn reports_are_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::Report>();
        assert_send_sync::<crate::CheckReport>();
        assert_send_sync::<crate::Probe>();
    }
}
