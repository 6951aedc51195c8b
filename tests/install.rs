//! `healthprobe install DIR`: the copy, its mode and atomicity, and one-line failures that leave
//! nothing behind (missing, read-only and full directories).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::{Cmd, TempDir, probe_binary};

/// The entries of `dir`, sorted: a failed install must leave no temporary file.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn is_root() -> bool {
    // `id -u` keeps the tests free of libc.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Tests that need a private mount namespace (root): skipped with a message otherwise, and a
/// failure when HEALTHPROBE_REQUIRE_ROOT=1 (CI runs as root).
fn needs_root(what: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("HEALTHPROBE_REQUIRE_ROOT").is_none(),
        "{what} needs root (HEALTHPROBE_REQUIRE_ROOT is set)"
    );
    println!("SKIPPED: {what}: needs root for a private mount namespace");
    eprintln!("SKIPPED: {what}: needs root for a private mount namespace");
    false
}

/// A mount namespace whose mounts stay in it.
const UNSHARE: [&str; 3] = ["-m", "--propagation", "private"];
const PRIVATE: &str = "";

/// `unshare --propagation private` fails inside a chroot (its root is no mount point, as in
/// scripts/fresh-root.sh): the namespace tests say so and skip there.
fn no_private_namespace(stderr: &str) -> bool {
    let chroot = stderr.contains("cannot change root filesystem propagation");
    if chroot {
        println!("SKIPPED: install into a mount: no private mount namespace here (a chroot?)");
        eprintln!("SKIPPED: install into a mount: no private mount namespace here (a chroot?)");
    }
    chroot
}
/// Runs `healthprobe install DIR` in a private mount namespace after `mount_cmd` (a shell line
/// that mounts something on DIR), then lists DIR from inside the namespace.
fn install_under_mount(dir: &Path, mount_opts: &str) -> Option<(i32, String, String)> {
    let script = format!(
        "mount -t tmpfs -o {mount_opts} tmpfs \"$1\" || exit 99; \
         \"$2\" install \"$1\"; rc=$?; echo \"rc=$rc\"; ls -A \"$1\" | sed 's/^/entry=/'"
    );
    let out = Command::new("unshare")
        .args(UNSHARE)
        .args(["sh", "-c", &format!("{PRIVATE}{script}"), "sh"])
        .arg(dir)
        .arg(probe_binary())
        .output()
        .expect("unshare");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if no_private_namespace(&stderr) {
        return None;
    }
    let rc = stdout
        .lines()
        .find_map(|l| l.strip_prefix("rc="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no rc from the namespace:\n{stdout}\n{stderr}"));
    Some((rc, stdout, stderr))
}

#[test]
fn installs_a_copy_with_mode_0755() {
    let dir = TempDir::new();
    let out = Cmd::new().arg("install").arg(dir.path()).run();
    out.healthy();
    let dest = dir.path().join("healthprobe");
    let line = out.stdout.trim_end();
    assert!(
        line.starts_with(&format!("installed {} (healthprobe ", dest.display()))
            && line.ends_with("MB)")
            && out.stdout.lines().count() == 1,
        "one line naming the copy, version and size:\n{out}"
    );
    assert_eq!(
        fs::read(&dest).unwrap(),
        fs::read(probe_binary()).unwrap(),
        "the copy is this binary"
    );
    let mode = fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755, "mode {mode:o}");
    assert_eq!(entries(dir.path()), ["healthprobe"]);
    // The copy runs.
    Cmd::program(&dest)
        .arg("--version")
        .run()
        .healthy()
        .contains("healthprobe ");
}

#[test]
fn replaces_a_copy_that_is_running() {
    let dir = TempDir::new();
    let dest = dir.path().join("healthprobe");
    // The "older copy" is a sleep binary, running from DIR/healthprobe while we install.
    fs::copy("/bin/sleep", &dest).unwrap();
    let mut old = Command::new(&dest)
        .arg("30")
        .spawn()
        .expect("run the old copy");
    let out = Cmd::new().arg("install").arg(dir.path()).run();
    let still_running = old.try_wait().unwrap().is_none();
    let _ = old.kill();
    let _ = old.wait();
    out.healthy();
    assert!(still_running, "the running copy was disturbed:\n{out}");
    assert_eq!(fs::read(&dest).unwrap(), fs::read(probe_binary()).unwrap());
    assert_eq!(entries(dir.path()), ["healthprobe"]);
}

#[test]
fn missing_dir_is_one_line_and_exit_1() {
    let dir = TempDir::new();
    let missing = dir.path().join("nope");
    let out = Cmd::new().arg("install").arg(&missing).run();
    out.unhealthy().contains(&format!(
        "healthprobe: install: cannot install into {}: no such file or directory",
        missing.display()
    ));
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(!missing.exists());
}

#[test]
fn a_file_is_not_a_directory() {
    let dir = TempDir::new();
    let file = dir.write("plain", "x");
    Cmd::new()
        .arg("install")
        .arg(&file)
        .run()
        .unhealthy()
        .contains("not a directory");
}

#[test]
fn usage_errors() {
    Cmd::new()
        .arg("install")
        .run()
        .unhealthy()
        .contains("install: expected one argument");
    let dir = TempDir::new();
    Cmd::new()
        .args(["install", "a", "b"])
        .run()
        .unhealthy()
        .contains("install: expected one argument");
    assert_eq!(entries(dir.path()), Vec::<String>::new());
    Cmd::new()
        .args(["install", "--help"])
        .run()
        .healthy()
        .contains("Usage: healthprobe install DIR");
    // --help names the verb.
    Cmd::new()
        .arg("--help")
        .run()
        .healthy()
        .contains("healthprobe install DIR");
    // `install` is a verb only as the first argument.
    Cmd::new()
        .args(["-t", "1s", "install"])
        .run()
        .unhealthy()
        .lacks("installed");
}

#[test]
fn read_only_dir_leaves_nothing() {
    let dir = TempDir::new();
    if is_root() {
        let Some((rc, stdout, stderr)) = install_under_mount(dir.path(), "ro,size=1m") else {
            return;
        };
        assert_eq!(rc, 1, "{stdout}{stderr}");
        assert!(
            stderr.contains("install: cannot write in") && stderr.contains("read-only file system"),
            "{stderr}"
        );
        assert!(!stdout.contains("entry="), "something was left: {stdout}");
    } else {
        // Without root, the mode bits keep us out.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
        let out = Cmd::new().arg("install").arg(dir.path()).run();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        out.unhealthy().contains("permission denied");
        assert_eq!(entries(dir.path()), Vec::<String>::new());
    }
}

#[test]
fn full_dir_leaves_nothing_and_keeps_the_old_copy() {
    if !needs_root("install into a full tmpfs") {
        return;
    }
    let dir = TempDir::new();
    // 64 KiB holds a small "old copy" but not this binary.
    let script_dir = dir.path();
    let script = "mount -t tmpfs -o size=64k tmpfs \"$1\" || exit 99; \
         printf old > \"$1/healthprobe\"; \
         \"$2\" install \"$1\"; rc=$?; echo \"rc=$rc\"; ls -A \"$1\" | sed 's/^/entry=/'; \
         echo \"old=$(cat \"$1/healthprobe\")\"";
    let out = Command::new("unshare")
        .args(UNSHARE)
        .args(["sh", "-c", &format!("{PRIVATE}{script}"), "sh"])
        .arg(script_dir)
        .arg(probe_binary())
        .output()
        .expect("unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if no_private_namespace(&stderr) {
        return;
    }
    assert!(stdout.contains("rc=1\n"), "{stdout}{stderr}");
    assert!(
        stderr.contains("healthprobe: install: cannot write healthprobe into")
            && stderr.contains("no space left on device")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    let left: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("entry="))
        .collect();
    assert_eq!(left, ["healthprobe"], "no temporary file left: {stdout}");
    assert!(
        stdout.contains("old=old\n"),
        "the old copy is untouched: {stdout}"
    );
}

#[test]
fn installs_into_a_fresh_tmpfs() {
    if !needs_root("install into a tmpfs mount") {
        return;
    }
    let dir = TempDir::new();
    let Some((rc, stdout, stderr)) = install_under_mount(dir.path(), "size=64m") else {
        return;
    };
    assert_eq!(rc, 0, "{stdout}{stderr}");
    assert!(stdout.contains("entry=healthprobe\n"), "{stdout}");
    assert!(!stdout.contains("entry=.healthprobe"), "{stdout}");
}
