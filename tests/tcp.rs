//! `tcp://` targets: a connection that opens is healthy, a refused one is not.

mod support;

use std::net::Ipv6Addr;
use std::time::Duration;

use support::{Cmd, Response, Server, dead_port};

#[test]
fn open_port_is_healthy() {
    let srv = Server::silent();
    let target = srv.tcp_target();
    let out = Cmd::new().arg(&target).run();
    out.healthy().within(Duration::from_secs(2));
    out.reports_one(true, &target);
    assert_eq!(srv.accepted(), 1);
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
        eprintln!("SKIPPED: no IPv6 loopback on this machine");
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
