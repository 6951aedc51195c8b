//! `http://` (and a first `https://`) targets against real loopback servers: statuses,
//! redirects, methods, headers, body checks, address families, proxies, hostile peers, and
//! secrets kept out of the output.

use std::time::Duration;

use crate::support;
use crate::support::{Cmd, Request, Response, Server, TempDir, dead_port};

fn ok_server() -> Server {
    Server::http(|_| Response::ok("ok"))
}

/// A server whose `/status/N` answers N.
fn status_server() -> Server {
    Server::http(|r: &Request| {
        let code = r
            .path
            .strip_prefix("/status/")
            .and_then(|c| c.parse().ok())
            .unwrap_or(404);
        Response::new(code)
    })
}

// --- Statuses ---------------------------------------------------------------------------------

#[test]
fn status_200_is_healthy() {
    let srv = ok_server();
    let url = srv.url("/health");
    let out = Cmd::new().arg(&url).run();
    out.healthy();
    let line = out.reports_one(true, &url);
    out.check(
        line.detail.contains("200"),
        "expected the status 200 on the line",
    );
}

#[test]
fn status_204_is_healthy() {
    let srv = status_server();
    let url = srv.url("/status/204");
    let out = Cmd::new().arg(&url).run();
    out.healthy();
    let line = out.reports_one(true, &url);
    out.check(
        line.detail.contains("204"),
        "expected the status 204 on the line",
    );
}

#[test]
fn status_503_is_unhealthy_and_says_what_was_expected() {
    let srv = status_server();
    let url = srv.url("/status/503");
    let out = Cmd::new().arg(&url).run();
    out.unhealthy();
    let line = out.reports_one(false, &url);
    out.check(
        line.detail.contains("503"),
        "expected the seen status 503 in the reason",
    );
    out.check(
        line.detail.contains("200-399"),
        "expected the accepted statuses 200-399 in the reason",
    );
}

#[test]
fn request_is_a_plain_get_with_the_documented_headers() {
    let srv = ok_server();
    Cmd::new().arg(srv.url("/health?x=1")).run().healthy();
    let req = srv.only_request();
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/health?x=1");
    assert_eq!(
        req.header("user-agent"),
        Some("healthprobe/0.1.0"),
        "{req:#?}"
    );
    assert_eq!(req.header("accept"), Some("*/*"), "{req:#?}");
    assert!(
        !req.has_header("accept-encoding"),
        "no Accept-Encoding expected: {req:#?}"
    );
    assert!(
        req.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close")),
        "expected Connection: close: {req:#?}"
    );
    assert_eq!(
        req.header("host"),
        Some(srv.authority().as_str()),
        "{req:#?}"
    );
    assert!(!req.has_header("authorization"), "{req:#?}");
}

#[test]
fn status_list_single_code() {
    let srv = status_server();
    Cmd::new()
        .args(["--status", "200"])
        .arg(srv.url("/status/200"))
        .run()
        .healthy();
    let out = Cmd::new()
        .args(["--status", "200"])
        .arg(srv.url("/status/204"))
        .run();
    out.unhealthy().contains("204");
}

#[test]
fn status_list_class() {
    let srv = status_server();
    Cmd::new()
        .args(["--status", "2xx"])
        .arg(srv.url("/status/204"))
        .run()
        .healthy();
    Cmd::new()
        .args(["--status", "2xx"])
        .arg(srv.url("/status/299"))
        .run()
        .healthy();
    Cmd::new()
        .args(["--status", "2xx"])
        .arg(srv.url("/status/404"))
        .run()
        .unhealthy();
    Cmd::new()
        .args(["--status", "5xx"])
        .arg(srv.url("/status/503"))
        .run()
        .healthy();
}

#[test]
fn status_list_ranges_and_codes() {
    let srv = status_server();
    let run = |code: u16| {
        Cmd::new()
            .args(["--no-follow", "--status", "200-204,301"])
            .arg(srv.url(&format!("/status/{code}")))
            .run()
    };
    run(200).healthy();
    run(204).healthy();
    run(301).healthy();
    run(205).unhealthy();
    run(302).unhealthy();
}

#[test]
fn default_status_range_is_200_to_399() {
    let srv = status_server();
    let run = |code: u16| {
        Cmd::new()
            .arg("--no-follow")
            .arg(srv.url(&format!("/status/{code}")))
            .run()
    };
    run(399).healthy();
    run(400).unhealthy();
    run(500).unhealthy();
}

#[test]
fn bad_status_list_is_a_usage_error() {
    let srv = ok_server();
    Cmd::new()
        .args(["--status", "2xy"])
        .arg(srv.url("/"))
        .run()
        .unhealthy()
        .says_something();
    assert_eq!(
        srv.request_count(),
        0,
        "a bad --status must fail before any request"
    );
}

// --- Redirects --------------------------------------------------------------------------------

#[test]
fn same_host_redirect_is_followed() {
    let srv = Server::http(|r| match r.path.as_str() {
        "/start" => Response::redirect(302, "/ok"),
        "/ok" => Response::ok("ok"),
        _ => Response::new(404),
    });
    let url = srv.url("/start");
    // --status 200: the 302 itself would not pass, only the followed /ok does.
    let out = Cmd::new().args(["--status", "200"]).arg(&url).run();
    out.healthy();
    out.reports_one(true, &url);
    let paths: Vec<String> = srv.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/start", "/ok"]);
}

#[test]
fn same_host_redirect_with_absolute_location_is_followed() {
    let srv = Server::http(|r| match r.path.as_str() {
        "/ok" => Response::ok("ok"),
        _ => {
            let host = r.header("host").unwrap_or_default();
            Response::redirect(301, &format!("http://{host}/ok"))
        }
    });
    Cmd::new()
        .args(["--status", "200"])
        .arg(srv.url("/start"))
        .run()
        .healthy();
    assert_eq!(srv.request_count(), 2);
}

#[test]
fn redirect_target_is_judged() {
    let srv = Server::http(|r| match r.path.as_str() {
        "/start" => Response::redirect(302, "/down"),
        _ => Response::new(503),
    });
    Cmd::new()
        .arg(srv.url("/start"))
        .run()
        .unhealthy()
        .contains("503");
}

#[test]
fn cross_host_redirect_is_not_followed_and_judged_by_its_own_status() {
    // 127.0.0.2 is another host (and also on loopback on Linux).
    let other = Server::http_on([127, 0, 0, 2], |_| Response::new(503));
    let location = other.url("/");
    let srv = Server::http(move |_| Response::redirect(302, &location));

    // Default 200-399: the 302 itself is healthy.
    let out = Cmd::new().arg(srv.url("/start")).run();
    out.healthy();
    out.reports_one(true, &srv.url("/start"));
    out.check(
        out.all().contains("302"),
        "expected the 302 to be what was judged",
    );

    // --status 200: the 302 is not accepted.
    Cmd::new()
        .args(["--status", "200"])
        .arg(srv.url("/start"))
        .run()
        .unhealthy()
        .contains("302");

    assert_eq!(
        other.request_count(),
        0,
        "the other host must never be asked"
    );
    assert_eq!(srv.request_count(), 2);
}

/// `/hop/N` redirects to `/hop/N-1`; `/hop/0` answers 200.
fn hop_server() -> Server {
    Server::http(|r| {
        let n: u32 = r
            .path
            .strip_prefix("/hop/")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if n == 0 {
            Response::ok("landed")
        } else {
            Response::redirect(302, &format!("/hop/{}", n - 1))
        }
    })
}

#[test]
fn ten_redirects_are_followed() {
    let srv = hop_server();
    Cmd::new()
        .args(["--status", "200"])
        .arg(srv.url("/hop/10"))
        .run()
        .healthy();
    assert_eq!(srv.request_count(), 11);
}

#[test]
fn eleven_redirects_fail() {
    let srv = hop_server();
    let url = srv.url("/hop/11");
    let out = Cmd::new().arg(&url).run();
    out.unhealthy();
    out.reports_one(false, &url);
    assert!(
        srv.request_count() <= 12,
        "followed too far: {} requests",
        srv.request_count()
    );
}

#[test]
fn redirect_loop_fails() {
    let srv = Server::http(|_| Response::redirect(302, "/loop"));
    let url = srv.url("/loop");
    let out = Cmd::new().arg(&url).run();
    out.unhealthy();
    out.reports_one(false, &url);
    out.contains_ci("redirect");
    let n = srv.request_count();
    assert!(
        (11..=12).contains(&n),
        "expected 11 requests (the first and 10 followed), got {n}"
    );
}

#[test]
fn no_follow_judges_the_redirect_itself() {
    let srv = Server::http(|r| match r.path.as_str() {
        "/start" => Response::redirect(302, "/ok"),
        _ => Response::ok("ok"),
    });
    let out = Cmd::new().arg("--no-follow").arg(srv.url("/start")).run();
    out.healthy().contains("302");
    assert_eq!(
        srv.request_count(),
        1,
        "--no-follow must not fetch the Location"
    );

    Cmd::new()
        .args(["--no-follow", "--status", "200"])
        .arg(srv.url("/start"))
        .run()
        .unhealthy();
    assert_eq!(srv.request_count(), 2);
}

// --- Method and headers -----------------------------------------------------------------------

fn head_only_server() -> Server {
    Server::http(|r| {
        if r.method == "HEAD" {
            Response::ok("")
        } else {
            Response::new(405)
        }
    })
}

#[test]
fn head_method() {
    let srv = head_only_server();
    let url = srv.url("/");
    Cmd::new()
        .args(["-X", "HEAD"])
        .arg(&url)
        .run()
        .healthy()
        .reports_one(true, &url);
    assert_eq!(srv.only_request().method, "HEAD");
}

#[test]
fn get_on_a_head_only_endpoint_is_unhealthy() {
    let srv = head_only_server();
    let url = srv.url("/");
    let out = Cmd::new().arg(&url).run();
    out.unhealthy();
    let line = out.reports_one(false, &url);
    out.check(line.detail.contains("405"), "expected 405 in the reason");
}

fn token_server() -> Server {
    Server::http(|r| {
        if r.header("x-token") == Some("abc") {
            Response::ok("ok")
        } else {
            Response::new(401)
        }
    })
}

#[test]
fn header_is_sent() {
    let srv = token_server();
    Cmd::new()
        .args(["-H", "X-Token: abc"])
        .arg(srv.url("/"))
        .run()
        .healthy();
    assert_eq!(srv.only_request().header("x-token"), Some("abc"));
}

#[test]
fn missing_or_wrong_header_is_unhealthy() {
    let srv = token_server();
    Cmd::new()
        .arg(srv.url("/"))
        .run()
        .unhealthy()
        .contains("401");
    Cmd::new()
        .args(["-H", "X-Token: abd"])
        .arg(srv.url("/"))
        .run()
        .unhealthy()
        .contains("401");
}

#[test]
fn several_headers_are_sent() {
    let srv = ok_server();
    Cmd::new()
        .args(["-H", "X-One: 1", "-H", "X-Two:2"])
        .arg(srv.url("/"))
        .run()
        .healthy();
    let req = srv.only_request();
    assert_eq!(req.header("x-one"), Some("1"), "{req:#?}");
    assert_eq!(req.header("x-two"), Some("2"), "{req:#?}");
}

#[test]
fn malformed_header_is_a_usage_error() {
    let srv = ok_server();
    Cmd::new()
        .args(["-H", "no colon here"])
        .arg(srv.url("/"))
        .run()
        .unhealthy()
        .says_something();
    assert_eq!(srv.request_count(), 0);
}

// --- Body checks ------------------------------------------------------------------------------

fn json_server() -> Server {
    Server::http(|_| {
        Response::ok(r#"{"status": "up", "version": "v42"}"#)
            .header("Content-Type", "application/json")
    })
}

#[test]
fn body_contains_hit() {
    let srv = json_server();
    Cmd::new()
        .args(["--body-contains", r#""status": "up""#])
        .arg(srv.url("/"))
        .run()
        .healthy();
}

#[test]
fn body_contains_miss() {
    let srv = json_server();
    let url = srv.url("/");
    let out = Cmd::new().args(["--body-contains", "down"]).arg(&url).run();
    out.unhealthy();
    out.reports_one(false, &url);
    // The reason may name the expected text, but never prints the body.
    out.lacks("v42");
}

#[test]
fn body_matches_hit() {
    let srv = json_server();
    Cmd::new()
        .args(["--body-matches", r#""version":\s*"v[0-9]+""#])
        .arg(srv.url("/"))
        .run()
        .healthy();
}

#[test]
fn body_matches_miss() {
    let srv = json_server();
    Cmd::new()
        .args(["--body-matches", r#"^"status""#])
        .arg(srv.url("/"))
        .run()
        .unhealthy();
    Cmd::new()
        .args(["--body-matches", "v[0-9]{3}"])
        .arg(srv.url("/"))
        .run()
        .unhealthy();
}

#[test]
fn body_checks_together() {
    let srv = json_server();
    Cmd::new()
        .args(["--body-contains", "up", "--body-matches", "v4[0-9]"])
        .arg(srv.url("/"))
        .run()
        .healthy();
    Cmd::new()
        .args(["--body-contains", "up", "--body-matches", "v5[0-9]"])
        .arg(srv.url("/"))
        .run()
        .unhealthy();
}

#[test]
fn invalid_regex_is_a_usage_error() {
    let srv = json_server();
    Cmd::new()
        .args(["--body-matches", "(unclosed"])
        .arg(srv.url("/"))
        .run()
        .unhealthy()
        .says_something();
}

#[test]
fn body_check_and_bad_status_is_unhealthy() {
    let srv = Server::http(|_| Response::new(503).body("up"));
    Cmd::new()
        .args(["--body-contains", "up"])
        .arg(srv.url("/"))
        .run()
        .unhealthy()
        .contains("503");
}

/// `padding` bytes of `.` then `NEEDLE`, then a little more padding.
fn needle_at(padding: usize) -> Server {
    Server::http(move |_| {
        let mut body = vec![b'.'; padding];
        body.extend_from_slice(b"NEEDLE");
        body.extend_from_slice(&[b'.'; 100]);
        Response::ok(body)
    })
}

#[test]
fn body_check_sees_the_first_64_kib() {
    // NEEDLE ends exactly at byte 65536.
    let srv = needle_at(64 * 1024 - 6);
    Cmd::new()
        .args(["--body-contains", "NEEDLE"])
        .arg(srv.url("/"))
        .run()
        .healthy();
    Cmd::new()
        .args(["--body-matches", "NEED+LE"])
        .arg(srv.url("/"))
        .run()
        .healthy();
}

#[test]
fn body_check_reads_at_most_64_kib() {
    // NEEDLE starts at byte 65536: past what is read.
    let srv = needle_at(64 * 1024);
    Cmd::new()
        .args(["--body-contains", "NEEDLE"])
        .arg(srv.url("/"))
        .run()
        .unhealthy();
    Cmd::new()
        .args(["--body-matches", "NEED+LE"])
        .arg(srv.url("/"))
        .run()
        .unhealthy();
    let far = needle_at(70_000);
    Cmd::new()
        .args(["--body-contains", "NEEDLE"])
        .arg(far.url("/"))
        .run()
        .unhealthy();
}

// --- Address families -------------------------------------------------------------------------

#[test]
fn ipv4_only_server_through_localhost() {
    let srv = Server::http(|_| Response::ok("v4"));
    let url = srv.localhost_url("/");
    Cmd::new().arg(&url).run().healthy().reports_one(true, &url);
    Cmd::new().arg("-4").arg(&url).run().healthy();
}

#[test]
fn ipv6_only_server_through_localhost() {
    // The probe answers `localhost` itself (127.0.0.1, then ::1), whatever /etc/hosts says;
    // all it needs is a usable ::1.
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        support::skip("no IPv6 loopback on this machine");
        return;
    }
    let srv = Server::http_v6(|_| Response::ok("v6"));
    let url = srv.localhost_url("/");
    Cmd::new().arg(&url).run().healthy().reports_one(true, &url);
    Cmd::new().arg("-6").arg(&url).run().healthy();
    Cmd::new().arg("-4").arg(&url).run().unhealthy();
}

#[test]
fn ipv6_literal() {
    let srv = Server::http_v6(|_| Response::ok("v6"));
    let url = srv.url("/health");
    assert!(url.starts_with("http://[::1]:"));
    Cmd::new().arg(&url).run().healthy().reports_one(true, &url);
    assert_eq!(
        srv.only_request().header("host"),
        Some(srv.authority().as_str())
    );
}

#[test]
fn minus_4_and_minus_6_restrict_the_family() {
    let v6 = Server::http_v6(|_| Response::ok("v6"));
    Cmd::new().arg("-6").arg(v6.url("/")).run().healthy();
    Cmd::new().arg("-4").arg(v6.url("/")).run().unhealthy();

    let v4 = Server::http(|_| Response::ok("v4"));
    Cmd::new().arg("-4").arg(v4.url("/")).run().healthy();
    Cmd::new().arg("-6").arg(v4.url("/")).run().unhealthy();
    // localhost: with -6 only ::1 may be tried, where nothing listens on this port.
    Cmd::new()
        .arg("-6")
        .arg(v4.localhost_url("/"))
        .run()
        .unhealthy();
    assert_eq!(v4.request_count(), 1);
    assert_eq!(v6.request_count(), 1);
}

// --- Proxies ----------------------------------------------------------------------------------

const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

#[test]
fn proxy_environment_is_ignored() {
    let srv = ok_server();
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let mut cmd = Cmd::new().arg(srv.url("/"));
    for var in PROXY_VARS {
        cmd = cmd.env(var, &dead);
    }
    cmd.env("NO_PROXY", "").run().healthy();
    assert_eq!(srv.request_count(), 1);
}

#[test]
fn proxy_environment_is_ignored_even_when_the_proxy_works() {
    let srv = ok_server();
    let proxy = Server::proxy();
    let proxy_url = format!("http://{}", proxy.authority());
    let mut cmd = Cmd::new().arg(srv.url("/"));
    for var in PROXY_VARS {
        cmd = cmd.env(var, &proxy_url);
    }
    cmd.run().healthy();
    assert_eq!(
        proxy.accepted(),
        0,
        "the proxy from the environment was used: {:#?}",
        proxy.requests()
    );
    assert_eq!(srv.request_count(), 1);
}

#[test]
fn proxy_flag_is_used() {
    let srv = ok_server();
    let proxy = Server::proxy();
    let url = srv.url("/via");
    let out = Cmd::new()
        .args(["--proxy", &format!("http://{}", proxy.authority())])
        .arg(&url)
        .run();
    out.healthy();
    out.reports_one(true, &url);
    let seen = proxy.only_request();
    let tunnelled = seen.method == "CONNECT" && seen.path == srv.authority();
    let forwarded = seen.path == url;
    assert!(
        tunnelled || forwarded,
        "the proxy saw neither CONNECT nor an absolute URI: {seen:#?}"
    );
    assert_eq!(srv.only_request().path, "/via");
}

#[test]
fn dead_proxy_flag_fails_even_when_the_target_is_up() {
    let srv = ok_server();
    let proxy = format!("http://127.0.0.1:{}", dead_port());
    Cmd::new()
        .args(["--proxy", &proxy])
        .arg(srv.url("/"))
        .run()
        .unhealthy();
    assert_eq!(srv.request_count(), 0);
}

// --- Hostile peers and the deadline -----------------------------------------------------------

#[test]
fn silent_server_times_out_within_the_deadline() {
    let srv = Server::silent();
    let url = srv.url("/");
    let out = Cmd::new().args(["-t", "1s"]).arg(&url).run();
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    out.reports_one(false, &url);
    out.contains_any_ci(&["timed out", "timeout"]);
    assert_eq!(srv.accepted_at_least(1), 1);
}

#[test]
fn dripping_body_times_out_within_the_deadline() {
    let srv = Server::drip();
    let url = srv.url("/");
    let out = Cmd::new()
        .args(["-t", "1s", "--body-contains", "NEEDLE"])
        .arg(&url)
        .run();
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    out.reports_one(false, &url);
    out.contains_any_ci(&["timed out", "timeout"]);
}

#[test]
fn endless_body_is_read_only_up_to_64_kib() {
    let srv = Server::endless();
    let url = srv.url("/");
    // Not found in the first 64 KiB: unhealthy, long before the deadline.
    let out = Cmd::new()
        .args(["-t", "10s", "--body-contains", "NEEDLE"])
        .arg(&url)
        .run();
    out.unhealthy().within(Duration::from_secs(5));
    out.reports_one(false, &url);
    // Found at once.
    let out = Cmd::new()
        .args(["-t", "10s", "--body-contains", "aaaa"])
        .arg(&url)
        .run();
    out.healthy().within(Duration::from_secs(5));
}

#[test]
fn endless_body_without_body_check_is_healthy() {
    let srv = Server::endless();
    Cmd::new()
        .args(["-t", "10s"])
        .arg(srv.url("/"))
        .run()
        .healthy()
        .within(Duration::from_secs(5));
}

#[test]
fn peer_closing_at_once_is_unhealthy() {
    let srv = Server::close_at_once();
    let url = srv.url("/");
    let out = Cmd::new().args(["-t", "2s"]).arg(&url).run();
    out.unhealthy().ended_by(Duration::from_secs(2));
    out.reports_one(false, &url);
}

#[test]
fn refused_connection_is_unhealthy() {
    let url = format!("http://127.0.0.1:{}/", dead_port());
    let out = Cmd::new().arg(&url).run();
    out.unhealthy().within(Duration::from_secs(2));
    out.reports_one(false, &url);
    out.contains_ci("refused");
}

#[test]
fn garbage_response_is_unhealthy() {
    let srv = Server::raw(|mut s| {
        use std::io::Write;
        let _ = support::read_request(&mut s);
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
    });
    let url = srv.url("/");
    Cmd::new()
        .args(["-t", "2s"])
        .arg(&url)
        .run()
        .unhealthy()
        .reports_one(false, &url);
}

#[test]
fn endless_header_fails_within_the_deadline() {
    let srv = Server::raw(|mut s| {
        use std::io::Write;
        let _ = support::read_request(&mut s);
        if s.write_all(b"HTTP/1.1 200 OK\r\nX-Endless: ").is_err() {
            return;
        }
        let chunk = [b'h'; 8192];
        while s.write_all(&chunk).is_ok() {}
    });
    let url = srv.url("/");
    let out = Cmd::new().args(["-t", "3s"]).arg(&url).run();
    out.unhealthy().ended_by(Duration::from_secs(3));
    out.reports_one(false, &url);
}

#[test]
fn response_head_then_silence_times_out() {
    let srv = Server::raw(|mut s| {
        use std::io::{Read, Write};
        let _ = support::read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
        // Hold the connection until the probe goes away.
        let mut buf = [0u8; 64];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let out = Cmd::new().args(["-t", "1s"]).arg(srv.url("/")).run();
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
}

// --- Secrets ----------------------------------------------------------------------------------

#[test]
fn userinfo_is_never_printed() {
    let up = ok_server();
    let down = status_server();
    let targets = [
        format!("http://user:hunter2secret@{}/", up.authority()),
        format!("http://user:hunter2secret@{}/status/503", down.authority()),
        format!("http://user:hunter2secret@127.0.0.1:{}/", dead_port()),
    ];
    for target in &targets {
        for extra in [
            &[][..],
            &["-v"][..],
            &["--format", "json"][..],
            &["-v", "--format", "json"][..],
        ] {
            let out = Cmd::new().args(extra).arg(target).run();
            out.says_something().lacks("hunter2secret");
        }
    }
}

#[test]
fn authorization_header_is_never_printed() {
    let up = ok_server();
    let down = status_server();
    for url in [up.url("/"), down.url("/status/503")] {
        for extra in [
            &[][..],
            &["-v"][..],
            &["--format", "json"][..],
            &["-v", "--format", "json"][..],
        ] {
            let out = Cmd::new()
                .args(["-H", "Authorization: Bearer xyz-tok3n-xyz"])
                .args(extra)
                .arg(&url)
                .run();
            out.says_something().lacks("xyz-tok3n-xyz");
        }
    }
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer xyz-tok3n-xyz")
    );
}

#[test]
fn bearer_file_sends_the_trimmed_token() {
    let srv = ok_server();
    let dir = TempDir::new();
    let file = dir.write("token", "  s3cr3t-bearer\n\n");
    let out = Cmd::new()
        .arg("--bearer-file")
        .arg(&file)
        .arg("-v")
        .arg(srv.url("/"))
        .run();
    out.healthy().lacks("s3cr3t-bearer");
    assert_eq!(
        srv.only_request().header("authorization"),
        Some("Bearer s3cr3t-bearer")
    );
}

#[test]
fn missing_bearer_file_is_an_error() {
    let srv = ok_server();
    let dir = TempDir::new();
    let out = Cmd::new()
        .arg("--bearer-file")
        .arg(dir.path().join("nope"))
        .arg(srv.url("/"))
        .run();
    out.unhealthy().says_something();
    assert_eq!(
        srv.request_count(),
        0,
        "nothing may be sent without the token"
    );
}

// --- HTTPS (tests/tls.rs has the rest) ---------------------------------------------------------

#[test]
fn https_with_ca_file() {
    let srv = Server::https(|_| Response::ok("tls"));
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", srv.ca_pem());
    let url = srv.url("/health");
    assert!(url.starts_with("https://127.0.0.1:"));
    Cmd::new()
        .arg("--ca-file")
        .arg(&ca)
        .arg(&url)
        .run()
        .healthy()
        .reports_one(true, &url);
    Cmd::new()
        .arg("--ca-file")
        .arg(&ca)
        .arg(srv.localhost_url("/health"))
        .run()
        .healthy();
    assert_eq!(srv.request_count(), 2);
}

#[test]
fn https_with_an_unknown_ca_is_unhealthy() {
    let srv = Server::https(|_| Response::ok("tls"));
    let url = srv.url("/");
    let out = Cmd::new().arg(&url).run();
    out.unhealthy();
    out.reports_one(false, &url);
    out.contains_ci("certificate");
    assert_eq!(srv.request_count(), 0);
    // -k skips verification.
    Cmd::new().arg("-k").arg(&url).run().healthy();
}
