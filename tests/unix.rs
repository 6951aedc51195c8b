//! `unix://` and `http+unix://` targets against servers on Unix sockets.

mod support;

use support::{Cmd, Response, Server, TempDir};

#[test]
fn socket_that_accepts_is_healthy() {
    let srv = Server::unix_raw(drop);
    let target = srv.unix_target();
    Cmd::new()
        .arg(&target)
        .run()
        .healthy()
        .reports_one(true, &target);
}

#[test]
fn missing_socket_is_unhealthy() {
    let dir = TempDir::new();
    let target = format!("unix://{}/nope.sock", dir.path().display());
    Cmd::new()
        .arg(&target)
        .run()
        .unhealthy()
        .reports_one(false, &target);
}

#[test]
fn http_over_a_unix_socket() {
    let srv = Server::unix_http(|r| {
        if r.path == "/health" {
            Response::ok("ok")
        } else {
            Response::new(404)
        }
    });
    let url = srv.url("/health");
    let out = Cmd::new().arg(&url).run();
    out.healthy();
    let line = out.reports_one(true, &url);
    out.check(
        line.detail.contains("200"),
        "expected the status on the line",
    );
    let req = srv.only_request();
    assert_eq!(req.path, "/health");
    assert_eq!(req.header("user-agent"), Some("healthprobe/0.1.0"));
}

#[test]
fn http_over_a_unix_socket_judges_the_status() {
    let srv = Server::unix_http(|_| Response::new(503));
    let url = srv.url("/health");
    Cmd::new().arg(&url).run().unhealthy().contains("503");
}
