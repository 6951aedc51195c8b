//! `-- COMMAND`: a healthy probe becomes COMMAND (exec, no fork); an unhealthy one never runs it.

use crate::support::{Cmd, Server, TempDir, dead_port, file_target};

// --- -- COMMAND (exec) ------------------------------------------------------------------------

#[test]
fn exec_replaces_the_process() {
    let srv = Server::silent();
    let target = srv.tcp_target();
    let out = Cmd::new()
        .args([
            &target,
            "--",
            "/bin/sh",
            "-c",
            "echo from-app; echo pid=$$; exit 7",
        ])
        .run_any_exit();
    // The exit code and the pid are the program's: the probe became it (exec, no fork).
    out.check(out.code == Some(7), "expected the program's exit code 7");
    out.contains("from-app");
    out.check(
        out.stdout.contains(&format!("pid={}\n", out.pid)),
        "expected the program to run as the probe's pid",
    );
    out.check(
        out.stdout.starts_with("healthy"),
        "expected the probe's own line first",
    );
}

#[test]
fn exec_quiet_leaves_the_streams_to_the_app() {
    let srv = Server::silent();
    let out = Cmd::new()
        .args([
            "-q",
            &srv.tcp_target(),
            "--",
            "/bin/sh",
            "-c",
            "echo from-app; exit 0",
        ])
        .run_any_exit();
    out.healthy();
    out.check(
        out.stdout == "from-app\n" && out.stderr.is_empty(),
        "expected only the app's output",
    );
}

#[test]
fn exec_searches_path_and_passes_arguments_untouched() {
    let srv = Server::silent();
    let out = Cmd::new()
        .args([
            "-q",
            &srv.tcp_target(),
            "--",
            "sh",
            "-c",
            r#"printf '%s|' "$@""#,
            "sh",
            "--timeout",
            "-v",
            "a b",
        ])
        .run_any_exit();
    out.healthy();
    out.check(
        out.stdout == "--timeout|-v|a b|",
        "expected the arguments after -- verbatim",
    );
}

#[test]
fn exec_app_starts_with_sigpipe_at_its_default() {
    // Rust ignores SIGPIPE in its own processes, and an ignored signal stays ignored across exec:
    // the app must not inherit that (a shell pipeline in it would misbehave).
    let dir = TempDir::new();
    let target = file_target(&dir.write("ready", "1"));
    let out = Cmd::new()
        .args([
            "-q",
            &target,
            "--",
            "/bin/grep",
            "^SigIgn:",
            "/proc/self/status",
        ])
        .run_any_exit();
    out.healthy();
    let mask = out.stdout.trim().trim_start_matches("SigIgn:").trim();
    let ignored =
        u64::from_str_radix(mask, 16).unwrap_or_else(|e| out.fail(format!("SigIgn mask: {e}")));
    const SIGPIPE: u32 = 13;
    out.check(
        ignored & (1 << (SIGPIPE - 1)) == 0,
        "expected SIGPIPE not to be ignored in the app",
    );
}

#[test]
fn exec_not_when_unhealthy() {
    let dir = TempDir::new();
    let marker = dir.path().join("ran");
    let target = format!("tcp://127.0.0.1:{}", dead_port());
    let script = format!("echo ran > {}; exit 7", marker.display());
    let out = Cmd::new()
        .args(["-t", "1s", &target, "--", "/bin/sh", "-c", &script])
        .run_any_exit();
    out.unhealthy();
    out.reports_one(false, &target);
    out.check(!marker.exists(), "the command must not run when unhealthy");
}

#[test]
fn exec_missing_command() {
    let srv = Server::silent();
    let out = Cmd::new()
        .args([&srv.tcp_target(), "--", "/nonexistent/app", "serve"])
        .run_any_exit();
    out.unhealthy();
    out.contains("/nonexistent/app")
        .contains_any_ci(&["not found", "no such file"]);
}
