//! `file://` targets: a heartbeat file that exists, is missing, is a directory, or is older than
//! `--max-age`.

use std::time::{Duration, SystemTime};

use crate::support::{Cmd, TempDir, file_target};

// --- file:// ----------------------------------------------------------------------------------

/// Sets the mtime of `path` to `ago` before now.
fn age(path: &std::path::Path, ago: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now() - ago))
        .unwrap_or_else(|e| panic!("setting the mtime of {}: {e}", path.display()));
}

#[test]
fn file_exists() {
    let dir = TempDir::new();
    let target = file_target(&dir.write("heartbeat", "beat"));
    Cmd::new()
        .arg(&target)
        .run()
        .healthy()
        .reports_one(true, &target);
}

#[test]
fn file_missing() {
    let dir = TempDir::new();
    let target = file_target(&dir.path().join("heartbeat"));
    let out = Cmd::new().arg(&target).run();
    out.unhealthy();
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("no such file"),
        "expected \"no such file\"",
    );
}

#[test]
fn file_that_is_a_directory() {
    let dir = TempDir::new();
    let target = file_target(dir.path());
    let out = Cmd::new().arg(&target).run();
    out.unhealthy();
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("not a regular file"),
        "expected \"not a regular file\"",
    );
}

#[test]
fn file_stale_says_by_how_much() {
    let dir = TempDir::new();
    let path = dir.write("heartbeat", "beat");
    age(&path, Duration::from_secs(60));
    let target = file_target(&path);
    let out = Cmd::new().args(["--max-age", "30s", &target]).run();
    out.unhealthy();
    let line = out.reports_one(false, &target);
    out.check(line.detail.contains("stale"), "expected \"stale\"");
    out.check(
        ["1m", "60s", "59s", "61s"]
            .iter()
            .any(|age| line.detail.contains(age)),
        "expected the age (about 1m) in the reason",
    );
    out.check(
        line.detail.contains("30s"),
        "expected the allowed age in the reason",
    );
}

#[test]
fn file_fresh_is_healthy() {
    let dir = TempDir::new();
    let path = dir.write("heartbeat", "beat");
    age(&path, Duration::from_secs(5));
    let target = file_target(&path);
    Cmd::new()
        .args(["--max-age", "30s", &target])
        .run()
        .healthy()
        .reports_one(true, &target);
}
