//! `tcp://` targets: a connection that opens is healthy, a refused one is not; `--send` and
//! `--expect` conversations (a fake Redis, an SMTP banner, a reply that never comes, the 64 KiB
//! read limit, and over `tls://`).

use std::io::{Read, Write};
use std::net::Ipv6Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{
    Cmd, Response, Server, TempDir, dead_port, pings_nope, pings_pong, pong, skip,
};

#[test]
fn open_port_is_healthy() {
    let srv = Server::silent();
    let target = srv.tcp_target();
    let out = Cmd::new().arg(&target).run();
    out.healthy().within(Duration::from_secs(2));
    out.reports_one(true, &target);
    assert_eq!(srv.accepted_at_least(1), 1);
}

#[test]
fn peer_that_closes_at_once_is_still_open() {
    // Only the connection is checked (no --send/--expect).
    let srv = Server::close_at_once();
    Cmd::new().arg(srv.tcp_target()).run().healthy();
}

#[test]
fn closed_port_is_refused() {
    let target = format!("tcp://127.0.0.1:{}", dead_port());
    let out = Cmd::new().arg(&target).run();
    out.unhealthy().within(Duration::from_secs(2));
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("refused"),
        "expected \"refused\" in the reason",
    );
}

#[test]
fn ipv6_literal() {
    let srv = Server::silent_on(Ipv6Addr::LOCALHOST);
    let target = srv.tcp_target();
    assert!(target.starts_with("tcp://[::1]:"));
    Cmd::new()
        .arg(&target)
        .run()
        .healthy()
        .reports_one(true, &target);
    Cmd::new().arg("-6").arg(&target).run().healthy();
    Cmd::new().arg("-4").arg(&target).run().unhealthy();
}

#[test]
fn localhost_reaches_an_ipv4_only_server() {
    let srv = Server::silent();
    let target = format!("tcp://localhost:{}", srv.port());
    Cmd::new()
        .arg(&target)
        .run()
        .healthy()
        .reports_one(true, &target);
    Cmd::new().arg("-6").arg(&target).run().unhealthy();
}

#[test]
fn localhost_reaches_an_ipv6_only_server() {
    // The probe answers `localhost` itself (127.0.0.1, then ::1), whatever /etc/hosts says;
    // all it needs is a usable ::1.
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        skip("no IPv6 loopback on this machine");
        return;
    }
    let srv = Server::silent_on(Ipv6Addr::LOCALHOST);
    let target = format!("tcp://localhost:{}", srv.port());
    Cmd::new()
        .arg(&target)
        .run()
        .healthy()
        .reports_one(true, &target);
    Cmd::new().arg("-4").arg(&target).run().unhealthy();
}

#[test]
fn missing_port_is_a_usage_error() {
    Cmd::new()
        .arg("tcp://127.0.0.1")
        .run()
        .unhealthy()
        .says_something();
}

#[test]
fn tcp_and_http_together() {
    let web = Server::http(|_| Response::ok("ok"));
    let db = Server::silent();
    let (url, target) = (web.url("/"), db.tcp_target());
    Cmd::new()
        .arg(&url)
        .arg(&target)
        .run()
        .healthy()
        .reports(&[(true, &url), (true, &target)]);

    let dead = format!("tcp://127.0.0.1:{}", dead_port());
    Cmd::new()
        .arg(&url)
        .arg(&dead)
        .run()
        .unhealthy()
        .reports(&[(true, &url), (false, &dead)]);
    Cmd::new().arg("--any").arg(&dead).arg(&url).run().healthy();
}

#[test]
fn json_for_tcp() {
    let srv = Server::silent();
    let target = srv.tcp_target();
    Cmd::new()
        .args(["--format", "json"])
        .arg(&target)
        .run()
        .healthy()
        .json_reports(true, &[(true, &target)]);
}

// --- tcp:// with --send/--expect ----------------------------------------------------------------

#[test]
fn fake_redis_answers_ping() {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let srv = Server::raw(move |s| pong(s, &seen));
    pings_pong(&srv.tcp_target(), &received);
}

#[test]
fn fake_redis_unexpected_reply() {
    let received = Arc::new(Mutex::new(Vec::new()));
    let srv = Server::raw(move |s| pong(s, &received));
    pings_nope(&srv.tcp_target());
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
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
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
