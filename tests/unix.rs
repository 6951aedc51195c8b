//! `unix://` and `http+unix://` targets against servers on Unix sockets: a socket that listens,
//! one that is missing or not a socket, `--send`/`--expect` over a socket, and HTTP over a
//! socket (statuses, body, headers, redirects on the same socket).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Cmd, Response, Server, TempDir, pings_nope, pings_pong, pong};

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

#[test]
fn unix_send_expect() {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let srv = Server::unix_raw(move |s| pong(s, &seen));
    let target = srv.unix_target();
    pings_pong(&target, &received);
    pings_nope(&target);
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
    assert_eq!(req.header("user-agent"), Some("healthprobe/0.1.0"));
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
