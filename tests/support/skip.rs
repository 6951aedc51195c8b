//! Skips a CI log shows, and the switches that make them failures.
//!
//! The test harness captures `eprintln!` and shows it only for a failing test, so a skip said
//! that way is invisible in a green run. [`skip`] writes straight to the process's stderr
//! instead (shown whatever the outcome), naming the test, and appends the same line to the file
//! `HEALTHPROBE_SKIP_LOG` names, when set, for a summary at the end of a run.
//!
//! Switches (`=1`): `HEALTHPROBE_REQUIRE_ROOT` (the tests that need root: the chroot as UID
//! 65532, the silent name server in a private mount namespace, the probe in a network
//! namespace of its own), `HEALTHPROBE_REQUIRE_BUDGET`
//! (the size and instruction guards), `HEALTHPROBE_REQUIRE_GRPC` (the grpcio health server),
//! `HEALTHPROBE_REQUIRE_DB` (Debian's PostgreSQL, MariaDB, Redis and memcached servers, and the
//! MongoDB wire-protocol peer of `support::mongo`).

use std::fmt::Display;
use std::io::Write;

pub const REQUIRE_ROOT: &str = "HEALTHPROBE_REQUIRE_ROOT";
pub const REQUIRE_BUDGET: &str = "HEALTHPROBE_REQUIRE_BUDGET";
pub const REQUIRE_GRPC: &str = "HEALTHPROBE_REQUIRE_GRPC";
pub const REQUIRE_DB: &str = "HEALTHPROBE_REQUIRE_DB";

/// Whether the switch `var` is on (`var=1`).
pub fn required(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| v == "1")
}

/// Says that the running test (or a part of it) did not run, and why: `SKIPPED <test>: <why>`
/// on the process's stderr and in `HEALTHPROBE_SKIP_LOG`. The caller then returns.
pub fn skip(why: impl Display) {
    let thread = std::thread::current();
    let line = format!("SKIPPED {}: {why}\n", thread.name().unwrap_or("(a test)"));
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("HEALTHPROBE_SKIP_LOG") {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path);
        match file {
            Ok(mut file) => {
                let _ = file.write_all(line.as_bytes());
            }
            Err(e) => panic!("HEALTHPROBE_SKIP_LOG={}: {e}", path.to_string_lossy()),
        }
    }
}

/// [`skip`], or a failure when the switch `var` is on: where the switch is set (CI), what the
/// skip would have hidden must run.
#[track_caller]
pub fn skip_unless(var: &str, why: impl Display) {
    assert!(!required(var), "{var}=1, but {why}");
    skip(why);
}
