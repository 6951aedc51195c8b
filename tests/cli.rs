//! The command line: exit codes, usage errors, output formats, several targets (of one kind and
//! of several, sharing one deadline), the environment (`HEALTHPROBE_*`, `${VAR}` expansion).

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use crate::support::{Cmd, EARLY, Request, Response, Server, TempDir, dead_port, file_target};

fn ok_server() -> Server {
    Server::http(|_| Response::ok("ok"))
}

// --- Help, version, usage errors ----------------------------------------------------------------

#[test]
fn help_exits_0() {
    let out = Cmd::new().arg("--help").run();
    out.healthy().contains("--timeout").contains("--status");
}

#[test]
fn version_exits_0() {
    let out = Cmd::new().arg("--version").run();
    out.healthy().contains("0.1.0");
    out.check(out.stdout.lines().count() == 1, "expected one line");
}

#[test]
fn unknown_flag_exits_1_not_2() {
    let srv = ok_server();
    let out = Cmd::new().arg("--no-such-flag").arg(srv.url("/")).run();
    out.unhealthy().contains("--no-such-flag");
    assert_eq!(srv.request_count(), 0);
}

#[test]
fn flag_missing_its_value_exits_1() {
    Cmd::new()
        .arg("--timeout")
        .run()
        .unhealthy()
        .says_something();
}

#[test]
fn no_target_exits_1() {
    Cmd::new().run().unhealthy().contains("HEALTHPROBE_TARGETS");
}

#[test]
fn empty_targets_env_exits_1() {
    Cmd::new()
        .env("HEALTHPROBE_TARGETS", "  \n ")
        .run()
        .unhealthy()
        .says_something();
}

#[test]
fn unknown_scheme_exits_1() {
    let out = Cmd::new().arg("ftp://127.0.0.1:21/").run();
    out.unhealthy().contains("ftp");
}

#[test]
fn target_without_scheme_exits_1() {
    Cmd::new()
        .arg("127.0.0.1:8080")
        .run()
        .unhealthy()
        .says_something();
}

#[test]
fn bad_target_fails_before_any_io() {
    let srv = ok_server();
    Cmd::new()
        .arg(srv.url("/"))
        .arg("gopher://x/")
        .run()
        .unhealthy();
    assert_eq!(
        srv.request_count(),
        0,
        "targets must be validated before any check runs"
    );
}

#[test]
fn bad_duration_exits_1() {
    let srv = ok_server();
    for bad in ["5parsecs", "", "-1s", "1.5.s", "s"] {
        Cmd::new()
            .args(["-t", bad])
            .arg(srv.url("/"))
            .run()
            .unhealthy()
            .says_something();
    }
    assert_eq!(srv.request_count(), 0);
}

#[test]
fn bad_format_exits_1() {
    let srv = ok_server();
    Cmd::new()
        .args(["--format", "yaml"])
        .arg(srv.url("/"))
        .run()
        .unhealthy()
        .contains("yaml");
}

#[test]
fn durations_in_every_documented_form() {
    let srv = ok_server();
    for ok in ["250ms", "2s", "1m30s", "2"] {
        Cmd::new()
            .args(["-t", ok])
            .arg(srv.url("/"))
            .run()
            .healthy();
    }
    assert_eq!(srv.request_count(), 4);
}

#[test]
fn malformed_authorization_header_is_not_echoed() {
    // A typo (no colon) makes it a usage error; the message must still not carry the secret.
    let out = Cmd::new()
        .args(["-H", "Authorization Bearer xyz-s3cret"])
        .arg("http://127.0.0.1:1/")
        .run();
    out.unhealthy().says_something().lacks("xyz-s3cret");
}

// --- Output -------------------------------------------------------------------------------------

#[test]
fn text_line_for_a_healthy_target() {
    let srv = ok_server();
    let url = srv.url("/health");
    let out = Cmd::new().arg(&url).run();
    out.healthy();
    let line = out.reports_one(true, &url);
    out.check(
        line.detail.contains("200"),
        "expected the status on the line",
    );
    out.check(out.stderr.is_empty(), "expected nothing on stderr");
}

#[test]
fn quiet_prints_nothing_when_healthy() {
    let srv = ok_server();
    Cmd::new()
        .arg("-q")
        .arg(srv.url("/"))
        .run()
        .healthy()
        .silent();
    Cmd::new()
        .arg("--quiet")
        .arg(srv.url("/"))
        .run()
        .healthy()
        .silent();
}

#[test]
fn quiet_still_says_why_when_unhealthy() {
    let url = format!("http://127.0.0.1:{}/", dead_port());
    let out = Cmd::new().arg("-q").arg(&url).run();
    out.unhealthy();
    out.reports_one(false, &url);
}

#[test]
fn verbose_adds_the_response_status_line_and_headers() {
    let srv = Server::http(|_| Response::ok("ok").header("X-Served-By", "support-server"));
    let url = srv.url("/");
    let out = Cmd::new().arg("-v").arg(&url).run();
    out.healthy().contains("200").contains_ci("x-served-by");
    let results = out.results();
    out.check(
        results.len() == 1 && results[0].healthy,
        "expected one healthy result line",
    );
}

#[test]
fn json_for_a_healthy_target() {
    let srv = ok_server();
    let url = srv.url("/health");
    let out = Cmd::new().args(["--format", "json"]).arg(&url).run();
    out.healthy();
    let value = out.json_reports(true, &[(true, &url)]);
    let item = &value.get("targets").unwrap().as_array().unwrap()[0];
    out.check(
        item.get("status").and_then(|s| s.as_f64()) == Some(200.0)
            || item
                .get("reason")
                .and_then(|r| r.as_str())
                .is_some_and(|r| r.contains("200")),
        "expected the status 200 in \"status\" or \"reason\"",
    );
    out.check(
        out.stdout.contains("\"healthy\":true"),
        "expected \"healthy\":true verbatim",
    );
}

#[test]
fn json_for_an_unhealthy_target() {
    let url = format!("http://127.0.0.1:{}/", dead_port());
    let out = Cmd::new().args(["--format", "json"]).arg(&url).run();
    out.unhealthy();
    out.json_reports(false, &[(false, &url)]);
    out.check(
        out.stdout.contains("\"healthy\":false"),
        "expected \"healthy\":false verbatim",
    );
}

#[test]
fn json_with_several_targets_and_verbose_is_still_one_line() {
    let srv = ok_server();
    let dead = format!("tcp://127.0.0.1:{}", dead_port());
    let url = srv.url("/");
    let out = Cmd::new()
        .args(["--format", "json", "-v"])
        .arg(&url)
        .arg(&dead)
        .run();
    out.unhealthy();
    out.json_reports(false, &[(true, &url), (false, &dead)]);
}

#[test]
fn json_quiet_healthy_prints_nothing() {
    let srv = ok_server();
    Cmd::new()
        .args(["--format", "json", "-q"])
        .arg(srv.url("/"))
        .run()
        .healthy()
        .silent();
}

#[test]
fn json_escapes_what_it_prints() {
    // A reason naming a path with a quote and a backslash must still be valid JSON.
    let dir = TempDir::new();
    let target = format!("file://{}/a\"b\\c", dir.path().display());
    let out = Cmd::new().args(["--format", "json"]).arg(&target).run();
    out.unhealthy();
    out.json();
}

// --- Several targets ----------------------------------------------------------------------------

#[test]
fn all_targets_must_pass() {
    let a = ok_server();
    let b = ok_server();
    let (ua, ub) = (a.url("/a"), b.url("/b"));
    Cmd::new()
        .arg(&ua)
        .arg(&ub)
        .run()
        .healthy()
        .reports(&[(true, &ua), (true, &ub)]);

    let dead = format!("http://127.0.0.1:{}/", dead_port());
    Cmd::new()
        .arg(&ua)
        .arg(&dead)
        .run()
        .unhealthy()
        .reports(&[(true, &ua), (false, &dead)]);
    Cmd::new()
        .arg(&dead)
        .arg(&ub)
        .run()
        .unhealthy()
        .reports(&[(false, &dead), (true, &ub)]);
}

#[test]
fn any_needs_one() {
    let a = ok_server();
    let ua = a.url("/");
    let dead = format!("http://127.0.0.1:{}/", dead_port());
    let dead_tcp = format!("tcp://127.0.0.1:{}", dead_port());
    Cmd::new().arg("--any").arg(&dead).arg(&ua).run().healthy();
    Cmd::new()
        .arg("--any")
        .arg(&dead)
        .arg(&dead_tcp)
        .run()
        .unhealthy();
}

/// `cmd` against silent peers: unhealthy, ended by its 1 s deadline (and not before).
fn ends_at_1s(cmd: Cmd) {
    cmd.run()
        .unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
}

#[test]
fn timeout_covers_all_targets_together() {
    let s1 = Server::silent();
    let s2 = Server::silent();
    ends_at_1s(
        Cmd::new()
            .args(["-t", "1s"])
            .arg(s1.url("/"))
            .arg(s2.url("/")),
    );
}

// --- Environment --------------------------------------------------------------------------------

#[test]
fn targets_from_the_environment() {
    let a = ok_server();
    let b = ok_server();
    let (ua, ub) = (a.url("/a"), b.url("/b"));
    let out = Cmd::new()
        .env("HEALTHPROBE_TARGETS", format!("  {ua}\n\t{ub}  "))
        .run();
    out.healthy().reports(&[(true, &ua), (true, &ub)]);
    assert_eq!(a.request_count() + b.request_count(), 2);
}

#[test]
fn command_line_targets_win_over_the_environment() {
    let a = ok_server();
    let dead = format!("http://127.0.0.1:{}/", dead_port());
    let ua = a.url("/");
    Cmd::new()
        .env("HEALTHPROBE_TARGETS", &dead)
        .arg(&ua)
        .run()
        .healthy()
        .reports(&[(true, &ua)]);
}

#[test]
fn timeout_from_the_environment() {
    let srv = Server::silent();
    ends_at_1s(
        Cmd::new()
            .env("HEALTHPROBE_TIMEOUT", "1s")
            .arg(srv.url("/")),
    );
}

#[test]
fn timeout_flag_wins_over_the_environment() {
    let srv = Server::silent();
    ends_at_1s(
        Cmd::new()
            .env("HEALTHPROBE_TIMEOUT", "30s")
            .args(["-t", "1s"])
            .arg(srv.url("/")),
    );
}

#[test]
fn bad_timeout_in_the_environment_exits_1() {
    let srv = ok_server();
    Cmd::new()
        .env("HEALTHPROBE_TIMEOUT", "soon")
        .arg(srv.url("/"))
        .run()
        .unhealthy()
        .contains("HEALTHPROBE_TIMEOUT");
}

// --- ${VAR} expansion ---------------------------------------------------------------------------

#[test]
fn variable_in_target() {
    let srv = ok_server();
    let out = Cmd::new()
        .env("HP_PORT", srv.port().to_string())
        .arg("http://127.0.0.1:${HP_PORT}/x")
        .run();
    out.healthy().reports_one(true, &srv.url("/x"));
    assert_eq!(srv.only_request().path, "/x");
}

#[test]
fn variable_default_when_unset() {
    let srv = ok_server();
    let target = format!("http://127.0.0.1:${{HP_PORT:-{}}}/d", srv.port());
    Cmd::new().arg(&target).run().healthy();
    // Set: the value wins over the default.
    let other = ok_server();
    Cmd::new()
        .env("HP_PORT", other.port().to_string())
        .arg(&target)
        .run()
        .healthy();
    assert_eq!(srv.request_count(), 1);
    assert_eq!(other.request_count(), 1);
}

#[test]
fn double_dollar_is_a_literal_dollar() {
    let srv = Server::http(|r: &Request| {
        if r.path == "/a$b" {
            Response::ok("ok")
        } else {
            Response::new(404)
        }
    });
    let target = format!("http://{}/a$$b", srv.authority());
    Cmd::new().arg(&target).run().healthy();
    assert_eq!(srv.only_request().path, "/a$b");
}

#[test]
fn variable_in_header_value() {
    let srv = Server::http(|r| {
        if r.header("x-token") == Some("abc") {
            Response::ok("ok")
        } else {
            Response::new(401)
        }
    });
    Cmd::new()
        .env("HP_TOKEN", "abc")
        .args(["-H", "X-Token: ${HP_TOKEN}"])
        .arg(srv.url("/"))
        .run()
        .healthy();
    Cmd::new()
        .args(["-H", "X-Token: ${HP_TOKEN:-abc}"])
        .arg(srv.url("/"))
        .run()
        .healthy();
    Cmd::new()
        .args(["-H", "X-Cost: $$5"])
        .arg(srv.url("/"))
        .run()
        .unhealthy();
    let seen: Vec<Option<String>> = srv
        .requests()
        .iter()
        .map(|r| r.header("x-cost").map(String::from))
        .collect();
    assert_eq!(seen.last().unwrap().as_deref(), Some("$5"));
}

#[test]
fn unset_variable_names_it_and_fails_before_any_io() {
    let srv = ok_server();
    let out = Cmd::new()
        .arg(srv.url("/"))
        .arg("http://127.0.0.1:${HP_NOT_SET}/")
        .run();
    out.unhealthy().contains("HP_NOT_SET");
    assert_eq!(srv.request_count(), 0);
}

#[test]
fn unset_variable_in_header_names_it() {
    let srv = ok_server();
    let out = Cmd::new()
        .args(["-H", "X-Token: ${HP_NO_TOKEN}"])
        .arg(srv.url("/"))
        .run();
    out.unhealthy().contains("HP_NO_TOKEN");
    assert_eq!(srv.request_count(), 0);
}

#[test]
fn variable_from_the_targets_environment_is_expanded() {
    let srv = ok_server();
    let out = Cmd::new()
        .env("HP_PORT", srv.port().to_string())
        .env("HEALTHPROBE_TARGETS", "http://127.0.0.1:${HP_PORT}/env")
        .run();
    out.healthy();
    assert_eq!(srv.only_request().path, "/env");
}

// --- Several targets of different kinds ---------------------------------------------------------

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
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
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
    // By the probe's own clock: the slowest check waited for its server, none took longer
    // than the deadline.
    out.lasted_until(SLOW + EARLY);
    out.within(Duration::from_millis(1500));
    eprintln!("two {SLOW:?} targets and a file in {:?}", out.elapsed);
}
