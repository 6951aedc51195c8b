//! nats:// against Debian's real NATS server, started by [`support::nats`]: ready, passwords and
//! tokens right, wrong and missing, TLS with the test PKI, a full server, lame-duck mode, down,
//! and a quiet log. A missing server makes each case say SKIPPED and pass, or fail under
//! `HEALTHPROBE_REQUIRE_DB=1`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::db::{open_connections, secret_file};
use crate::support::hostile::hold;
use crate::support::nats::NatsServer;
use crate::support::{Cmd, Pki, Server, TempDir, TestCa, dead_port};

/// Generous: a check against loopback takes milliseconds.
const QUICK: Duration = Duration::from_secs(3);

#[track_caller]
fn healthy(args: &[&str], target: &str) -> String {
    let out = Cmd::new().args(args).run();
    out.healthy().within(QUICK);
    out.reports_one(true, target).detail
}

#[track_caller]
fn unhealthy(args: &[&str], target: &str, words: &str) -> String {
    let out = Cmd::new().args(args).run();
    out.unhealthy().within(QUICK);
    let line = out.reports_one(false, target);
    out.check(
        line.detail.contains(words),
        format!("expected the reason to contain {words:?}"),
    );
    line.detail
}

/// A client of `srv` past `CONNECT`/`PING`/`PONG`, left open.
fn client(port: u16) -> BufReader<TcpStream> {
    let mut s = BufReader::new(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    s.get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    s.read_line(&mut line).expect("INFO");
    assert!(line.starts_with("INFO "), "{line:?}");
    s.get_mut()
        .write_all(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n")
        .unwrap();
    line.clear();
    s.read_line(&mut line).expect("PONG");
    assert_eq!(line, "PONG\r\n");
    s
}

#[test]
fn nats_ready_full_and_down() {
    let Some(mut srv) = NatsServer::start("max_connections: 1", &[]) else {
        return;
    };
    let port = srv.port();
    let target = format!("nats://127.0.0.1:{port}");
    // The only place is free again once the server has closed the last check's connection
    // (on a loaded machine it had not, once, when the next check came).
    let idle = || {
        let start = std::time::Instant::now();
        while open_connections(port) > 0 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let detail = healthy(&[&target], &target);
    assert!(detail.starts_with("PONG, server 2."), "{detail}");
    // JSON output and -v: the connection is a detail.
    idle();
    let out = Cmd::new().args(["--format", "json", "-v", &target]).run();
    out.healthy().contains("connected to 127.0.0.1:");
    // Ten checks leave nothing in the log at the server's default level.
    idle();
    let from = srv.log_mark();
    for _ in 0..10 {
        idle();
        healthy(&[&target], &target);
    }
    let log = srv.log_since(from);
    assert!(log.is_empty(), "{log}");
    // One client takes the only place: the server greets, then refuses in its own words.
    idle();
    let held = client(port);
    unhealthy(&[&target], &target, "nats: maximum connections exceeded");
    drop(held);
    srv.stop();
    unhealthy(&[&target], &target, "connection refused");
}

#[test]
fn nats_user_password_right_wrong_and_missing() {
    let Some(srv) = NatsServer::start(
        r#"authorization { user: probe, password: "s3cret-pw" }"#,
        &[],
    ) else {
        return;
    };
    let port = srv.port();
    let plain = format!("nats://127.0.0.1:{port}");
    let shown = format!("nats://***@127.0.0.1:{port}");
    unhealthy(
        &[&plain],
        &plain,
        "nats: Authorization Violation (credentials are needed",
    );
    healthy(
        &[&format!("nats://probe:s3cret-pw@127.0.0.1:{port}")],
        &shown,
    );
    let out = Cmd::new()
        .args(["--format", "json", "-v"])
        .arg(format!("nats://probe:wrong-pw@127.0.0.1:{port}"))
        .run();
    out.unhealthy()
        .lacks("wrong-pw")
        .contains("\"reason\":\"nats: Authorization Violation\"");
    // The file wins over the URL's password, and is trimmed.
    let dir = TempDir::new();
    let file = secret_file(&dir, "pw", "s3cret-pw\n");
    let file = file.to_str().unwrap();
    healthy(
        &[
            "--password-file",
            file,
            &format!("nats://probe:wrong-pw@127.0.0.1:{port}"),
        ],
        &shown,
    );
    healthy(
        &[
            "--password-file",
            file,
            &format!("nats://probe@127.0.0.1:{port}"),
        ],
        &shown,
    );
    // ${VAR} expanded, never printed.
    let out = Cmd::new()
        .env("NATS_PW", "not-it")
        .arg(format!("nats://probe:${{NATS_PW}}@127.0.0.1:{port}"))
        .run();
    out.unhealthy()
        .lacks("not-it")
        .contains("Authorization Violation");
}

#[test]
fn nats_token() {
    let Some(srv) = NatsServer::start(r#"authorization { token: "s3cret-tok" }"#, &[]) else {
        return;
    };
    let port = srv.port();
    let plain = format!("nats://127.0.0.1:{port}");
    let shown = format!("nats://***@127.0.0.1:{port}");
    healthy(&[&format!("nats://s3cret-tok@127.0.0.1:{port}")], &shown);
    let out = Cmd::new()
        .arg(format!("nats://wrong-tok@127.0.0.1:{port}"))
        .run();
    out.unhealthy()
        .lacks("wrong-tok")
        .contains("nats: Authorization Violation");
    // Without a user, the password file holds the token.
    let dir = TempDir::new();
    let file = secret_file(&dir, "tok", "s3cret-tok\n");
    healthy(&["--password-file", file.to_str().unwrap(), &plain], &plain);
    unhealthy(&[&plain], &plain, "credentials are needed");
}

#[test]
fn nats_tls_verified_with_the_test_ca() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let Some(srv) = start_with_pki(&pki) else {
        return;
    };
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", &pki.ca_pem);
    let ca = ca.to_str().unwrap();
    let port = srv.port();
    let target = format!("nats://probe:tls-pw@127.0.0.1:{port}");
    let shown = format!("nats://***@127.0.0.1:{port}");
    let detail = healthy(&["--ca-file", ca, &target], &shown);
    assert!(detail.ends_with(", over tls"), "{detail}");
    unhealthy(&[&target], &shown, "unknown issuer");
    healthy(&["-k", &target], &shown);
    unhealthy(
        &["--ca-file", ca, "--server-name", "other.example", &target],
        &shown,
        "other.example",
    );
    unhealthy(
        &[
            "--ca-file",
            ca,
            &format!("nats://probe:nope@127.0.0.1:{port}"),
        ],
        &shown,
        "nats: Authorization Violation",
    );
    let from = srv.log_mark();
    for _ in 0..10 {
        healthy(&["--ca-file", ca, &target], &shown);
    }
    let log = srv.log_since(from);
    assert!(log.is_empty(), "{log}");
}

/// A server that verifies its clients' certificates (`tls { verify: true }`): the probe's
/// `--cert`/`--key` apply to the handshake NATS asks for, as to every TLS target.
#[test]
fn nats_tls_client_certificate() {
    let ca = TestCa::new("healthprobe nats CA");
    let pki = ca.server(&["localhost", "127.0.0.1"]);
    let client = ca.client("probe");
    let Some(srv) = NatsServer::start(
        r#"tls { cert_file: "{dir}/cert.pem", key_file: "{dir}/key.pem", ca_file: "{dir}/ca.pem", verify: true }"#,
        &[
            ("cert.pem", &pki.leaf_pem()),
            ("key.pem", &pki.key_pem()),
            ("ca.pem", &ca.pem),
        ],
    ) else {
        return;
    };
    let dir = TempDir::new();
    let ca_file = dir.write("ca.pem", &ca.pem);
    let cert = dir.write("client.pem", &client.cert_pem);
    let key = dir.write("client.key", &client.key_pem);
    let target = format!("nats://127.0.0.1:{}", srv.port());
    let ca_file = ca_file.to_str().unwrap();
    let detail = healthy(
        &[
            "--ca-file",
            ca_file,
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            &target,
        ],
        &target,
    );
    assert!(detail.ends_with(", over tls"), "{detail}");
    // Without a client certificate the server ends the handshake (or the connection).
    let out = Cmd::new().args(["--ca-file", ca_file, &target]).run();
    out.unhealthy().within(QUICK);
    out.reports_one(false, &target);
}

/// A TLS server (the test PKI's certificate) with a user.
fn start_with_pki(pki: &Pki) -> Option<NatsServer> {
    NatsServer::start(
        r#"tls { cert_file: "{dir}/cert.pem", key_file: "{dir}/key.pem" }
authorization { user: probe, password: tls-pw }"#,
        &[("cert.pem", &pki.leaf_pem()), ("key.pem", &pki.key_pem())],
    )
}

/// `nats-server --signal ldm`: the server closes its listener at once (a new check is refused)
/// and tells the clients it has `"ldm":true`. That INFO line, as the real server sent it to a
/// client connected before, is then played to the probe by a peer: unhealthy, named.
#[test]
fn nats_lame_duck() {
    let Some(srv) = NatsServer::start(
        "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"10s\"",
        &[],
    ) else {
        return;
    };
    let target = format!("nats://127.0.0.1:{}", srv.port());
    healthy(&[&target], &target);
    let mut before = client(srv.port());
    srv.lame_duck();
    unhealthy(&[&target], &target, "connection refused");
    // A client that said `"protocol":1` gets the INFO at once.
    let mut info = String::new();
    before.read_line(&mut info).expect("the lame-duck INFO");
    assert!(
        info.starts_with("INFO {") && info.contains("\"ldm\":true"),
        "{info:?}"
    );
    let peer = Server::raw(move |mut s| {
        let _ = s.write_all(info.as_bytes());
        hold(s);
    });
    let target = format!("nats://127.0.0.1:{}", peer.port());
    unhealthy(&[&target], &target, "nats: the server is in lame duck mode");
}

#[test]
fn nats_down_and_silent() {
    let target = format!("nats://127.0.0.1:{}", dead_port());
    unhealthy(&[&target], &target, "connection refused");
    let silent = Server::silent();
    let target = format!("nats://127.0.0.1:{}", silent.port());
    let out = Cmd::new().args(["-t", "500ms", &target]).run();
    out.unhealthy().ended_by(Duration::from_millis(500));
    let line = out.reports_one(false, &target);
    assert!(line.detail.contains("timed out"), "{}", line.detail);
}

/// Ten checks with the right password leave nothing in the log at nats-server's default level
/// (ten without credentials: `nats_ready_full_and_down`; over TLS: `nats_tls_…`); a wrong
/// password leaves the server's own `[ERR] … authentication error` (asserted, so that a change
/// shows).
#[test]
fn nats_log_stays_quiet() {
    let Some(srv) = NatsServer::start(
        r#"authorization { users: [ { user: probe, password: pw } ] }"#,
        &[],
    ) else {
        return;
    };
    let port = srv.port();
    let from = srv.log_mark();
    for _ in 0..10 {
        healthy(
            &[&format!("nats://probe:pw@127.0.0.1:{port}")],
            &format!("nats://***@127.0.0.1:{port}"),
        );
    }
    let log = srv.log_since(from);
    assert!(log.is_empty(), "{log}");
    let from = srv.log_mark();
    Cmd::new()
        .arg(format!("nats://probe:wrong@127.0.0.1:{port}"))
        .run()
        .unhealthy();
    let log = srv.log_since(from);
    assert!(
        log.contains("[ERR]") && log.contains("authentication error"),
        "{log}"
    );
}
