//! The one shared helper of the integration tests.
//!
//! - [`Server`]: real servers on loopback (TCP on `127.0.0.1:0` / `[::1]:0`, TLS, Unix sockets),
//!   each on its own std thread, shut down on `Drop`, which also fails the test when a server
//!   thread panicked (so `assert!`s inside a route closure count).
//! - [`Cmd`]: runs the real `healthprobe` binary with a cleared environment and returns an
//!   [`Output`] whose assertions print the command, exit code, stdout and stderr on failure
//!   (the shape of ripgrep's `tests/util.rs`).
//! - [`TempDir`]: a unique directory under the system temp dir, removed on `Drop`.
//! - [`json`]: a minimal JSON parser, enough to check that `--format json` prints one object.
//! - [`brokers`]: RabbitMQ and mosquitto, for the amqp:// and mqtt:// tests.
//! - [`dnsmasq`]: Debian's dnsmasq as the name server of the `dns://` tests.
//! - [`cpu`]: keeps CPU-heavy steps (database set-up, callgrind) apart from probe runs whose
//!   deadlines are asserted.
//! - [`skip()`]: says a skip where a CI log shows it; [`skip_unless`] makes it a failure under a
//!   `HEALTHPROBE_REQUIRE_*` switch.

pub mod brokers;
mod cmd;
pub mod cpu;
pub mod db;
pub mod dnsmasq;
pub mod grpc;
pub mod hostile;
pub mod json;
pub mod kafka;
pub mod mongo;
pub mod nats;
mod server;
pub mod skip;
pub mod smtp;
mod tls;
pub mod zookeeper;

pub use cmd::{Cmd, EARLY, GNU_TIME, Output, ResultLine, probe_binary, probe_is_debug_build};
pub use server::{Request, Response, Server, TlsStream, dead_port, pong, read_request};
pub use skip::{skip, skip_unless};
pub use tls::{ClientCert, OpensslServer, Pki, TestCa, unix_now, ymd};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `file://PATH`.
pub fn file_target(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A fresh directory under `std::env::temp_dir()`, removed (with its contents) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Short: Unix socket paths must stay under 108 bytes.
        let name = format!(
            "hp-{}-{}-{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path)
            .unwrap_or_else(|e| panic!("creating temp dir {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `name` inside the directory and returns the full path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs `cargo build --quiet ARGS` on this package with its own target directory,
/// `<the test run's target dir>/<dir>` (a no-op when that build is fresh), and returns that
/// directory. Fails the test, with cargo's output, when the build fails.
pub fn cargo_build(args: &[&str], dir: &str) -> PathBuf {
    // CARGO_BIN_EXE_healthprobe is <target dir>/<profile>/healthprobe.
    let target_dir = Path::new(env!("CARGO_BIN_EXE_healthprobe"))
        .parent()
        .and_then(Path::parent)
        .expect("the target dir of the test binary")
        .join(dir);
    let out = cargo()
        .args(["build", "--quiet", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .args(args)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .expect("running cargo build");
    assert!(
        out.status.success(),
        "cargo build {} ({}) failed: {}\n{}",
        args.join(" "),
        target_dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir
}

/// `cargo`, for a nested build from inside a test (the example app, the static binary), without
/// the variables cargo sets for a running test: build scripts that watch e.g.
/// `CARGO_MANIFEST_DIR` (ring's) would see a change and rebuild everything, both now and in the
/// next `cargo test`.
pub fn cargo() -> std::process::Command {
    let mut cargo =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let set_for_tests = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_BIN_",
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "OUT_DIR",
        ];
        if set_for_tests.iter().any(|prefix| key.starts_with(prefix)) {
            cargo.env_remove(&*key);
        }
    }
    cargo
}

/// `--send PING\r\n --expect PONG` against a server running [`pong`] (tcp:// or unix://):
/// healthy, and the escapes went out as CR LF.
pub fn pings_pong(target: &str, received: &std::sync::Mutex<Vec<u8>>) {
    let out = Cmd::new()
        .args(["--send", r"PING\r\n", "--expect", "PONG", target])
        .run();
    out.healthy().within(Duration::from_secs(2));
    out.reports_one(true, target);
    assert_eq!(
        &*received.lock().unwrap(),
        b"PING\r\n",
        "the escapes are sent as CR LF"
    );
}

/// `--expect NOPE` against [`pong`], which keeps the connection open after +PONG: the probe
/// waits for NOPE until the 1 s deadline, then says what it expected and what it got.
pub fn pings_nope(target: &str) {
    let out = Cmd::new()
        .args([
            "-t",
            "1s",
            "--send",
            r"PING\r\n",
            "--expect",
            "NOPE",
            target,
        ])
        .run();
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    let line = out.reports_one(false, target);
    out.check(
        line.detail.contains("expected") && line.detail.contains("NOPE"),
        "expected the reason to name the expectation",
    );
    out.check(
        line.detail.contains("PONG"),
        "expected the reason to show what came back",
    );
}
