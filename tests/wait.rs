//! `--wait`: retrying until a target is healthy or the wait is over, and what each attempt
//! prints.

use std::io::Write;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Cmd, Output, Server, dead_port};

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
    out.ended_by(Duration::from_secs(2));
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

/// `healthprobe [FLAGS] --wait 1s --interval 200ms --expect PONG TARGET` against `srv`: every
/// attempt fails.
fn wait_for_pong(srv: &Server, flags: &[&str]) -> Output {
    let target = srv.tcp_target();
    let out = Cmd::new()
        .args(flags)
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
    out
}

#[test]
fn wait_verbose_prints_each_failed_attempt() {
    let srv = nope_server();
    let target = srv.tcp_target();
    let out = wait_for_pong(&srv, &["-v"]);
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
    let out = wait_for_pong(&srv, &[]);
    out.check(srv.accepted() >= 3, "expected several attempts");
    out.reports_one(false, &target);
}
