//! Issue 4: the self-checks a shell-less image has no `nc`, `test -f` or `wait-for-it.sh` for.
//! Unix sockets, HTTP over a Unix socket, heartbeat files, `--send`/`--expect` conversations,
//! `--wait`, `-- COMMAND` (exec), and several targets of different kinds checked at once. Every
//! peer is real: a listener on a Unix socket or on loopback, a file with a set mtime, a program.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use support::{Cmd, Response, Server, TempDir, dead_port};

/// Slack on top of a deadline for process start and exit.
const GRACE: Duration = Duration::from_millis(500);

// --- unix:// --------------------------------------------------------------------------------

#[test]
fn unix_socket_that_listens_is_healthy() {
    let srv = Server::unix_raw(drop);
    let target = srv.unix_target();
    let out = Cmd::new().arg(&target).run();
    out.healthy().within(Duration::from_secs(2));
    out.reports_one(true, &target);
}

#[test]
fn unix_socket_missing_says_so() {
    let dir = TempDir::new();
    let path = dir.path().join("nope.sock");
    let target = format!("unix://{}", path.display());
    let out = Cmd::new().arg(&target).run();
    out.unhealthy().within(Duration::from_secs(2));
    let line = out.reports_one(false, &target);
    out.check(
        ["not found", "no such"]
            .iter()
            .any(|w| line.detail.contains(w)),
        "expected the reason to say the socket does not exist",
    );
    out.check(
        line.detail.contains(&*path.to_string_lossy()),
        "expected the reason to name the socket",
    );
}

#[test]
fn unix_path_that_is_not_a_socket_is_refused() {
    let dir = TempDir::new();
    let path = dir.write("plain-file", "x");
    let target = format!("unix://{}", path.display());
    let out = Cmd::new().arg(&target).run();
    out.unhealthy().within(Duration::from_secs(2));
    out.reports_one(false, &target);
    out.contains("refused");
}

/// A server on `unix_raw`/`raw` that answers each `PING\r\n` with `+PONG\r\n` (Redis) and
/// records every byte it received.
fn pong(mut s: impl Read + Write, received: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 1024];
    let mut pending = Vec::new();
    while let Ok(n @ 1..) = s.read(&mut buf) {
        received.lock().unwrap().extend_from_slice(&buf[..n]);
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.windows(6).position(|w| w == b"PING\r\n") {
            pending.drain(..i + 6);
            if s.write_all(b"+PONG\r\n").is_err() {
                return;
            }
        }
    }
}

#[test]
fn unix_send_expect() {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let srv = Server::unix_raw(move |s| pong(s, &seen));
    let target = srv.unix_target();

    let out = Cmd::new()
        .args(["--send", r"PING\r\n", "--expect", "PONG", &target])
        .run();
    out.healthy().within(Duration::from_secs(2));
    out.reports_one(true, &target);
    assert_eq!(
        &*received.lock().unwrap(),
        b"PING\r\n",
        "the escapes are sent as CR LF"
    );

    let out = Cmd::new()
        .args([
            "-t",
            "1s",
            "--send",
            r"PING\r\n",
            "--expect",
            "NOPE",
            &target,
        ])
        .run();
    out.unhealthy().within(Duration::from_secs(1) + GRACE);
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("NOPE") && line.detail.contains("PONG"),
        "expected the reason to say expected vs got",
    );
}

// --- http+unix:// -----------------------------------------------------------------------------

fn unix_app() -> Server {
    Server::unix_http(|r| match r.path.as_str() {
        "/health" => Response::ok("status: all good").header("X-App", "1"),
        "/down" => Response::new(503).body("draining"),
        "/moved" => Response::redirect(302, "/health"),
        _ => Response::new(404),
    })
}

#[test]
fn http_unix_status_accepted() {
    let srv = unix_app();
    let url = srv.url("/health");
    assert!(url.starts_with("http+unix://%2F"), "{url}");
    let out = Cmd::new().arg(&url).run();
    out.healthy().within(Duration::from_secs(2));
    let line = out.reports_one(true, &url);
    out.check(
        line.detail.contains("200"),
        "expected the status on the line",
    );
    let req = srv.only_request();
    assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/health"));
}

#[test]
fn http_unix_status_rejected() {
    let srv = unix_app();
    let url = srv.url("/down");
    let out = Cmd::new().arg(&url).run();
    out.unhealthy();
    let line = out.reports_one(false, &url);
    out.check(
        line.detail.contains("503"),
        "expected the status in the reason",
    );
    out.lacks("draining");

    Cmd::new().args(["--status", "503", &url]).run().healthy();
}

#[test]
fn http_unix_body_contains() {
    let srv = unix_app();
    let url = srv.url("/health");
    Cmd::new()
        .args(["--body-contains", "all good", &url])
        .run()
        .healthy();
    let out = Cmd::new()
        .args(["--body-contains", "everything fine", &url])
        .run();
    out.unhealthy().contains("everything fine");
    out.reports_one(false, &url);
}

#[test]
fn http_unix_header_and_head() {
    let srv = unix_app();
    let url = srv.url("/health");
    Cmd::new()
        .args(["-H", "X-Probe: yes", "-X", "HEAD", &url])
        .run()
        .healthy()
        .reports_one(true, &url);
    let req = srv.only_request();
    assert_eq!(req.method, "HEAD");
    assert_eq!(req.header("x-probe"), Some("yes"));
}

#[test]
fn http_unix_redirect_on_the_same_socket() {
    let srv = unix_app();
    let url = srv.url("/moved");
    Cmd::new().args(["--status", "200", &url]).run().healthy();
    let paths: Vec<String> = srv.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/moved", "/health"],
        "the redirect is followed over the same socket"
    );

    let out = Cmd::new()
        .args(["--no-follow", "--status", "200", &url])
        .run();
    out.unhealthy().contains("302");
    assert_eq!(srv.request_count(), 3);
}

#[test]
fn http_unix_missing_socket() {
    let dir = TempDir::new();
    let sock = dir.path().join("gone.sock");
    let url = format!(
        "http+unix://{}/health",
        sock.to_string_lossy().replace('/', "%2F")
    );
    let out = Cmd::new().arg(&url).run();
    out.unhealthy().within(Duration::from_secs(2));
    out.reports_one(false, &url);
    out.contains_any_ci(&["not found", "no such"]);
}

// --- file:// ----------------------------------------------------------------------------------

fn file_target(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

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

// --- tcp:// with --send/--expect ----------------------------------------------------------------

#[test]
fn fake_redis_answers_ping() {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let srv = Server::raw(move |s| pong(s, &seen));
    let target = srv.tcp_target();
    let out = Cmd::new()
        .args(["--send", r"PING\r\n", "--expect", "PONG", &target])
        .run();
    out.healthy().within(Duration::from_secs(2));
    out.reports_one(true, &target);
    assert_eq!(
        &*received.lock().unwrap(),
        b"PING\r\n",
        "the escapes are sent as CR LF"
    );
}

#[test]
fn fake_redis_unexpected_reply() {
    // Redis keeps the connection open after +PONG: the probe waits for NOPE until the deadline,
    // then says what it expected and what it got.
    let received = Arc::new(Mutex::new(Vec::new()));
    let srv = Server::raw(move |s| pong(s, &received));
    let target = srv.tcp_target();
    let out = Cmd::new()
        .args([
            "-t",
            "1s",
            "--send",
            r"PING\r\n",
            "--expect",
            "NOPE",
            &target,
        ])
        .run();
    out.unhealthy().within(Duration::from_secs(1) + GRACE);
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("expected") && line.detail.contains("NOPE"),
        "expected the reason to name the expectation",
    );
    out.check(
        line.detail.contains("PONG"),
        "expected the reason to show what came back",
    );
}

#[test]
fn reply_mismatch_before_close() {
    let srv = Server::raw(|mut s| {
        let _ = s.write_all(b"-ERR unknown command\r\n");
    });
    let target = srv.tcp_target();
    let out = Cmd::new().args(["--expect", "PONG", &target]).run();
    out.unhealthy().within(Duration::from_secs(2));
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("PONG") && line.detail.contains("ERR"),
        "expected the reason to say expected vs got",
    );
}

#[test]
fn smtp_banner() {
    // The banner comes first and the server then waits: the read stops at the first match
    // rather than at the 5 s deadline.
    let srv = Server::raw(|mut s| {
        if s.write_all(b"220 mx.example.test ESMTP ready\r\n").is_ok() {
            let mut buf = [0u8; 512];
            while matches!(s.read(&mut buf), Ok(1..)) {}
        }
    });
    let target = srv.tcp_target();
    let out = Cmd::new().args(["--expect", "220", &target]).run();
    out.healthy().within(Duration::from_secs(2));
    out.reports_one(true, &target);
}

#[test]
fn reply_that_never_comes() {
    let srv = Server::silent();
    let target = srv.tcp_target();
    let out = Cmd::new()
        .args([
            "-t",
            "1s",
            "--send",
            r"PING\r\n",
            "--expect",
            "PONG",
            &target,
        ])
        .run();
    out.unhealthy().within(Duration::from_millis(1500));
    let line = out.reports_one(false, &target);
    out.check(line.detail.contains("timed out"), "expected a timeout");
    out.check(
        line.detail.contains("PONG"),
        "expected the reason to name the expectation",
    );
}

#[test]
fn reply_read_stops_at_64_kib() {
    // A peer that streams without ever saying the expected text: the read stops at 64 KiB, not
    // at the deadline.
    let srv = Server::raw(|mut s| {
        let chunk = [b'x'; 4096];
        while s.write_all(&chunk).is_ok() {}
    });
    let target = srv.tcp_target();
    let out = Cmd::new().args(["--expect", "PONG", &target]).run();
    out.unhealthy().within(Duration::from_secs(2));
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("64 KiB"),
        "expected the reason to give the read limit",
    );
}

#[test]
fn tls_send_expect() {
    let srv = Server::https(|_| Response::ok("ok"));
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", srv.ca_pem());
    let target = format!("tls://{}", srv.authority());
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca)
        .args([
            "--send",
            r"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
            "--expect",
            "200 OK",
            &target,
        ])
        .run();
    out.healthy().within(Duration::from_secs(2));
    out.reports_one(true, &target);
    assert_eq!(srv.only_request().path, "/health");
}

// --- --wait -----------------------------------------------------------------------------------

#[test]
fn wait_until_the_port_opens() {
    let port = dead_port();
    let target = format!("tcp://127.0.0.1:{port}");
    let cmd = Cmd::new().args(["--wait", "5s", "--interval", "100ms", &target]);
    let probe = thread::spawn(move || cmd.run());
    // The port opening late is the point of this test.
    thread::sleep(Duration::from_secs(1));
    let opened = Instant::now();
    let _listener = TcpListener::bind(("127.0.0.1", port)).expect("re-binding the free port");
    let out = probe.join().expect("the probe thread");
    out.healthy();
    out.reports_one(true, &target);
    out.check(
        out.elapsed >= Duration::from_millis(900),
        "expected the probe to have waited for the port",
    );
    out.check(
        out.elapsed < Duration::from_secs(5),
        "expected the probe to stop waiting once the port opened",
    );
    eprintln!(
        "healthy {:?} after the port opened ({:?} in all)",
        opened.elapsed(),
        out.elapsed
    );
}

#[test]
fn wait_gives_up() {
    let target = format!("tcp://127.0.0.1:{}", dead_port());
    let out = Cmd::new()
        .args(["--wait", "1s", "--interval", "100ms", "-t", "1s", &target])
        .run();
    out.unhealthy();
    out.check(
        out.elapsed >= Duration::from_millis(900),
        "expected retries for about the wait",
    );
    out.within(Duration::from_secs(2) + GRACE);
    let line = out.reports_one(false, &target);
    out.check(line.detail.contains("refused"), "expected the last reason");
}

/// A peer that accepts, answers `NOPE` and closes: each attempt fails with `--expect PONG`,
/// and the server counts the attempts.
fn nope_server() -> Server {
    Server::raw(|mut s| {
        let _ = s.write_all(b"NOPE\r\n");
    })
}

#[test]
fn wait_verbose_prints_each_failed_attempt() {
    let srv = nope_server();
    let target = srv.tcp_target();
    let out = Cmd::new()
        .args([
            "-v",
            "--wait",
            "1s",
            "--interval",
            "200ms",
            "--expect",
            "PONG",
            &target,
        ])
        .run();
    out.unhealthy();
    let attempts = srv.accepted();
    out.check(
        attempts >= 3,
        format!("expected several attempts, the server saw {attempts}"),
    );
    let lines: Vec<&str> = out
        .lines()
        .into_iter()
        .filter(|l| l.contains(&target))
        .collect();
    out.check(
        lines.len() == attempts,
        format!(
            "expected one line naming the target per attempt ({attempts}), got {}",
            lines.len()
        ),
    );
    out.check(
        lines.iter().all(|l| l.contains("PONG")),
        "expected each line to give the reason",
    );
}

#[test]
fn wait_quiet_prints_only_the_final_line() {
    let srv = nope_server();
    let target = srv.tcp_target();
    let out = Cmd::new()
        .args([
            "--wait",
            "1s",
            "--interval",
            "200ms",
            "--expect",
            "PONG",
            &target,
        ])
        .run();
    out.unhealthy();
    out.check(srv.accepted() >= 3, "expected several attempts");
    out.reports_one(false, &target);
}

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

// --- several targets --------------------------------------------------------------------------

#[test]
fn several_targets_share_one_deadline() {
    // Two peers that never answer: both time out within the one 1 s deadline, not 1 s each.
    let (a, b) = (
        Server::silent(),
        Server::unix_raw(|mut s| {
            let mut buf = [0u8; 512];
            while matches!(s.read(&mut buf), Ok(1..)) {}
        }),
    );
    let targets = [a.tcp_target(), b.unix_target()];
    let out = Cmd::new()
        .args(["-t", "1s", "--expect", "READY"])
        .args(&targets)
        .run();
    out.unhealthy().within(Duration::from_secs(1) + GRACE);
    let lines = out.reports(&[(false, &targets[0]), (false, &targets[1])]);
    out.check(
        lines.iter().all(|l| l.detail.contains("timed out")),
        "expected both to time out",
    );
}

#[test]
fn targets_of_different_kinds_are_checked_concurrently() {
    const SLOW: Duration = Duration::from_millis(800);
    let http = Server::http(|_| {
        thread::sleep(SLOW);
        Response::ok("ok")
    });
    let unix = Server::unix_raw(|mut s| {
        thread::sleep(SLOW);
        let _ = s.write_all(b"READY\n");
    });
    let dir = TempDir::new();
    let file = file_target(&dir.write("heartbeat", "beat"));
    let targets = [http.url("/health"), unix.unix_target(), file];
    let out = Cmd::new()
        .args(["-t", "1500ms", "--expect", "READY"])
        .args(&targets)
        .run();
    out.healthy();
    out.reports(&[
        (true, &targets[0]),
        (true, &targets[1]),
        (true, &targets[2]),
    ]);
    // One after the other would take 1.6 s and miss the 1.5 s deadline.
    out.check(
        out.elapsed >= SLOW,
        "expected the slow servers to be waited for",
    );
    out.check(
        out.elapsed < Duration::from_millis(1500),
        "expected the targets to be checked at once",
    );
    eprintln!("two {SLOW:?} targets and a file in {:?}", out.elapsed);
}
