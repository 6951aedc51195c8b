//! Database and cache targets against Debian's real servers, started by [`support::db`]:
//! postgres://, mysql://, redis://, rediss://, memcached://. Each case says what the server is
//! made to be (ready, not ready, password, TLS, down) and what the one output line must say.
//! A server that is not installed makes its cases say SKIPPED and pass, or fail under
//! `HEALTHPROBE_REQUIRE_DB=1` (the test command sets it).

use std::time::Duration;

use crate::support::db::{DbServer, loud_lines, secret_file};
use crate::support::skip::REQUIRE_ROOT;
use crate::support::{Cmd, Pki, Server, TempDir, dead_port, skip_unless};

/// Generous: a check against loopback takes milliseconds.
const QUICK: Duration = Duration::from_secs(3);

/// `healthprobe ARGS...`, exit 0, one healthy line for `target`; returns its detail.
#[track_caller]
fn healthy(args: &[&str], target: &str) -> String {
    let out = Cmd::new().args(args).run();
    out.healthy().within(QUICK);
    out.reports_one(true, target).detail
}

/// `healthprobe ARGS...`, exit 1, one unhealthy line for `target` whose reason holds `words`.
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

/// The lines at warning level or above the server logged since `from` (a
/// [`DbServer::log_mark`]), read up to a new mark: all the checks in between made it say.
fn log_after(srv: &DbServer, from: usize) -> Vec<String> {
    loud_lines(&srv.log_since(from))
}

// --- Redis -----------------------------------------------------------------------------------

#[test]
fn redis_ready() {
    let Some(srv) = DbServer::redis(&[]) else {
        return;
    };
    let target = format!("redis://127.0.0.1:{}", srv.port());
    assert_eq!(healthy(&[&target], &target), "PONG");
    let db3 = format!("{target}/3");
    healthy(&[&db3], &db3);
}

#[test]
fn redis_database_out_of_range() {
    let Some(srv) = DbServer::redis(&["--databases", "4"]) else {
        return;
    };
    let target = format!("redis://127.0.0.1:{}/7", srv.port());
    unhealthy(
        &[&target],
        &target,
        "SELECT 7 failed: ERR DB index is out of range",
    );
}

#[test]
fn redis_password_right_wrong_and_missing() {
    let Some(srv) = DbServer::redis(&["--requirepass", "s3cret-pw"]) else {
        return;
    };
    let port = srv.port();
    let plain = format!("redis://127.0.0.1:{port}");
    let shown = format!("redis://***@127.0.0.1:{port}");
    unhealthy(
        &[&plain],
        &plain,
        "NOAUTH Authentication required. (a password is needed",
    );
    healthy(&[&format!("redis://:s3cret-pw@127.0.0.1:{port}")], &shown);
    let out = Cmd::new()
        .args([
            "--format",
            "json",
            "-v",
            &format!("redis://:wrong-pw@127.0.0.1:{port}"),
        ])
        .run();
    out.unhealthy().lacks("wrong-pw").contains("WRONGPASS");
    // The file wins over the URL, and is trimmed.
    let dir = TempDir::new();
    let file = secret_file(&dir, "pw", "s3cret-pw\n");
    let file = file.to_str().unwrap();
    healthy(
        &[
            "--password-file",
            file,
            &format!("redis://:wrong-pw@127.0.0.1:{port}/0"),
        ],
        &format!("{shown}/0"),
    );
    // ${VAR} in the URL is expanded, and the expanded password never printed.
    let out = Cmd::new()
        .env("REDIS_PW", "not-it")
        .arg(format!("redis://:${{REDIS_PW}}@127.0.0.1:{port}"))
        .run();
    out.unhealthy().lacks("not-it").contains("WRONGPASS");
}

#[test]
fn redis_acl_user() {
    let Some(srv) = DbServer::redis(&[]) else {
        return;
    };
    srv.redis_cli(&["ACL", "SETUSER", "probe", "on", ">probe-pw", "+ping"]);
    let port = srv.port();
    let shown = format!("redis://***@127.0.0.1:{port}");
    healthy(
        &[&format!("redis://probe:probe-pw@127.0.0.1:{port}")],
        &shown,
    );
    unhealthy(
        &[&format!("redis://probe:nope@127.0.0.1:{port}")],
        &shown,
        "AUTH failed: WRONGPASS",
    );
    // A user with no right to SELECT.
    unhealthy(
        &[&format!("redis://probe:probe-pw@127.0.0.1:{port}/1")],
        &format!("{shown}/1"),
        "SELECT 1 failed: NOPERM",
    );
}

/// A script that never ends: Redis still accepts TCP, `redis-cli ping` exits 0, PING answers
/// `-BUSY`.
#[test]
fn redis_busy_in_a_script() {
    let Some(srv) = DbServer::redis(&["--busy-reply-threshold", "100"]) else {
        return;
    };
    // The server spins in the script until it is stopped: a core's worth of CPU that no other
    // test's probe run may share (support::cpu).
    let _heavy = crate::support::cpu::heavy();
    let mut script = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &srv.port().to_string()])
        .args(["EVAL", "while true do end", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("redis-cli");
    let target = format!("redis://127.0.0.1:{}", srv.port());
    // The script starts when the server reads it; BUSY once it has run 100 ms.
    let mut reason = String::new();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let out = Cmd::new().arg(&target).run();
        if out.code == Some(1) {
            reason = out.reports_one(false, &target).detail;
            break;
        }
    }
    srv.redis_cli(&["SCRIPT", "KILL"]);
    let _ = script.kill();
    let _ = script.wait();
    assert!(reason.starts_with("redis: BUSY"), "{reason:?}");
    healthy(&[&target], &target);
}

/// A replica whose primary is gone, told not to serve stale data: `-MASTERDOWN`.
#[test]
fn redis_replica_of_a_dead_primary() {
    let dead = dead_port().to_string();
    let Some(srv) = DbServer::redis(&[
        "--replicaof",
        "127.0.0.1",
        &dead,
        "--replica-serve-stale-data",
        "no",
    ]) else {
        return;
    };
    let target = format!("redis://127.0.0.1:{}", srv.port());
    unhealthy(&[&target], &target, "redis: MASTERDOWN");
}

#[test]
fn rediss_verified_with_the_test_ca() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let Some(srv) = DbServer::redis_tls(&pki) else {
        return;
    };
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", &pki.ca_pem);
    let target = format!("rediss://127.0.0.1:{}", srv.port());
    let detail = healthy(&["--ca-file", ca.to_str().unwrap(), &target], &target);
    assert_eq!(detail, "PONG over tls");
    unhealthy(&[&target], &target, "unknown issuer");
    healthy(&["-k", &target], &target);
    // Plain RESP to a TLS port: the server hangs up.
    let plain = format!("redis://127.0.0.1:{}", srv.port());
    let out = Cmd::new().args(["-t", "2s", &plain]).run();
    out.unhealthy();
}

#[test]
fn redis_down() {
    let target = format!("redis://127.0.0.1:{}", dead_port());
    unhealthy(&[&target], &target, "connection refused");
    let silent = Server::silent();
    let target = format!("redis://127.0.0.1:{}", silent.port());
    let out = Cmd::new().args(["-t", "500ms", &target]).run();
    out.unhealthy().ended_by(Duration::from_millis(500));
    let line = out.reports_one(false, &target);
    assert!(line.detail.contains("timed out"), "{}", line.detail);
}

#[test]
fn redis_log_stays_quiet() {
    let Some(srv) = DbServer::redis(&["--requirepass", "pw", "--loglevel", "verbose"]) else {
        return;
    };
    let from = srv.log_mark();
    for _ in 0..10 {
        healthy(
            &[&format!("redis://:pw@127.0.0.1:{}", srv.port())],
            &format!("redis://***@127.0.0.1:{}", srv.port()),
        );
    }
    let loud = log_after(&srv, from);
    assert!(loud.is_empty(), "{loud:#?}");
}

// --- memcached ---------------------------------------------------------------------------------

#[test]
fn memcached_ready_and_down() {
    let Some(mut srv) = DbServer::memcached() else {
        return;
    };
    let target = format!("memcached://127.0.0.1:{}", srv.port());
    let detail = healthy(&[&target], &target);
    assert!(detail.starts_with("VERSION 1."), "{detail}");
    srv.stop();
    unhealthy(&[&target], &target, "connection refused");
}

#[test]
fn memcached_wrong_server() {
    // A Redis answers `version` with an error: not memcached.
    let Some(srv) = DbServer::redis(&[]) else {
        return;
    };
    let target = format!("memcached://127.0.0.1:{}", srv.port());
    unhealthy(&[&target], &target, "expected VERSION");
}

// --- PostgreSQL --------------------------------------------------------------------------------

#[test]
fn postgres_trust() {
    let Some(srv) = DbServer::postgres(None, None, &[], false) else {
        return;
    };
    let target = format!("postgres://127.0.0.1:{}", srv.port());
    let detail = healthy(&[&target], &target);
    let server = format!("server {}.", srv.postgres_major());
    assert!(
        detail.starts_with(&format!(
            "accepting connections (no password asked), {server}"
        )),
        "{detail}"
    );
    // A password given to a trust server: the login succeeds all the same.
    let with_pw = format!("postgres://postgres:x@127.0.0.1:{}/postgres", srv.port());
    let shown = format!("postgres://***@127.0.0.1:{}/postgres", srv.port());
    let detail = healthy(&[&with_pw], &shown);
    assert!(
        detail.starts_with("logged in as postgres to postgres"),
        "{detail}"
    );
    // A database that does not exist: pg_isready's "accepting", but not a login.
    let nodb = format!("postgres://127.0.0.1:{}/nodb", srv.port());
    let detail = healthy(&[&nodb], &nodb);
    assert!(detail.contains("3D000"), "{detail}");
    let nodb = format!("postgres://postgres:x@127.0.0.1:{}/nodb", srv.port());
    unhealthy(
        &[&nodb],
        &format!("postgres://***@127.0.0.1:{}/nodb", srv.port()),
        "database \"nodb\" does not exist (3D000)",
    );
}

#[test]
fn postgres_scram_password_right_wrong_and_missing() {
    let Some(srv) = DbServer::postgres(Some(("scram-sha-256", "pg-s3cret")), None, &[], false)
    else {
        return;
    };
    let port = srv.port();
    let plain = format!("postgres://127.0.0.1:{port}");
    assert_eq!(
        healthy(&[&plain], &plain),
        "accepting connections (asks for SCRAM-SHA-256)"
    );
    let shown = format!("postgres://***@127.0.0.1:{port}");
    let detail = healthy(
        &[&format!("postgres://postgres:pg-s3cret@127.0.0.1:{port}")],
        &shown,
    );
    let server = format!("server {}.", srv.postgres_major());
    assert!(
        detail.starts_with(&format!("logged in as postgres to postgres, {server}")),
        "{detail}"
    );
    let out = Cmd::new()
        .args([
            "--format",
            "json",
            &format!("postgres://postgres:wrong-pw@127.0.0.1:{port}"),
        ])
        .run();
    out.unhealthy()
        .lacks("wrong-pw")
        .contains("password authentication failed for user \\\"postgres\\\" (28P01)");
    let dir = TempDir::new();
    let file = secret_file(&dir, "pw", "pg-s3cret\n");
    healthy(&["--password-file", file.to_str().unwrap(), &plain], &plain);
    healthy(
        &[
            "--password-file",
            file.to_str().unwrap(),
            &format!("postgres://postgres:wrong-pw@127.0.0.1:{port}"),
        ],
        &shown,
    );
    let from = srv.log_mark();
    // Ten checks of each quiet kind: no password, the right password.
    for _ in 0..10 {
        healthy(&[&plain], &plain);
        healthy(&["--password-file", file.to_str().unwrap(), &plain], &plain);
    }
    let loud = log_after(&srv, from);
    assert!(loud.is_empty(), "{loud:#?}");
}

#[test]
fn postgres_md5_password() {
    let Some(srv) = DbServer::postgres(Some(("md5", "first")), None, &[], false) else {
        return;
    };
    srv.psql("SET password_encryption = 'md5'; CREATE ROLE old LOGIN PASSWORD 'md5-pw'");
    let port = srv.port();
    let shown = format!("postgres://***@127.0.0.1:{port}/postgres");
    let detail = healthy(
        &[&format!("postgres://old:md5-pw@127.0.0.1:{port}/postgres")],
        &shown,
    );
    assert!(
        detail.starts_with("logged in as old to postgres"),
        "{detail}"
    );
    unhealthy(
        &[&format!("postgres://old:nope@127.0.0.1:{port}/postgres")],
        &shown,
        "password authentication failed for user \"old\" (28P01)",
    );
    let plain = format!("postgres://old@127.0.0.1:{port}/postgres");
    assert_eq!(
        healthy(
            &[&plain],
            &format!("postgres://***@127.0.0.1:{port}/postgres")
        ),
        "accepting connections (asks for md5)"
    );
}

/// A standby with `hot_standby=off` accepts TCP and answers every startup with 57P03.
#[test]
fn postgres_standby_not_accepting() {
    let Some(srv) = DbServer::postgres(None, None, &["hot_standby=off"], true) else {
        return;
    };
    let target = format!("postgres://127.0.0.1:{}", srv.port());
    let detail = unhealthy(&[&target], &target, "not accepting connections: ");
    assert!(detail.contains("(57P03)"), "{detail}");
    let from = srv.log_mark();
    for _ in 0..10 {
        Cmd::new().arg(&target).run().unhealthy();
    }
    // PostgreSQL logs its own FATAL for each rejected connection (as for pg_isready): said
    // here so that a change shows.
    let loud = log_after(&srv, from);
    eprintln!("standby log after ten checks: {loud:#?}");
}

#[test]
fn postgres_tls() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let Some(srv) = DbServer::postgres(Some(("scram-sha-256", "tls-pw")), Some(&pki), &[], false)
    else {
        return;
    };
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", &pki.ca_pem);
    let ca = ca.to_str().unwrap();
    let port = srv.port();
    let target = format!("postgres://127.0.0.1:{port}/postgres?sslmode=require");
    let detail = healthy(&["--ca-file", ca, &target], &target);
    assert_eq!(
        detail,
        "accepting connections (asks for SCRAM-SHA-256), over tls"
    );
    let login = format!("postgres://postgres:tls-pw@127.0.0.1:{port}/postgres?sslmode=require");
    let shown = format!("postgres://***@127.0.0.1:{port}/postgres?sslmode=require");
    let detail = healthy(&["--ca-file", ca, &login], &shown);
    assert!(detail.starts_with("logged in as postgres"), "{detail}");
    assert!(detail.ends_with("over tls"), "{detail}");
    unhealthy(&[&target], &target, "unknown issuer");
    let from = srv.log_mark();
    for _ in 0..10 {
        healthy(&["--ca-file", ca, &target], &target);
        healthy(&["--ca-file", ca, &login], &shown);
    }
    let loud = log_after(&srv, from);
    assert!(loud.is_empty(), "{loud:#?}");
}

#[test]
fn postgres_without_tls_refuses_sslmode_require() {
    let Some(srv) = DbServer::postgres(None, None, &[], false) else {
        return;
    };
    let target = format!("postgres://127.0.0.1:{}?sslmode=require", srv.port());
    unhealthy(&[&target], &target, "does not do TLS");
}

#[test]
fn postgres_trust_log_stays_quiet() {
    let Some(srv) = DbServer::postgres(None, None, &[], false) else {
        return;
    };
    let target = format!("postgres://127.0.0.1:{}", srv.port());
    let from = srv.log_mark();
    for _ in 0..10 {
        healthy(&[&target], &target);
    }
    let loud = log_after(&srv, from);
    assert!(loud.is_empty(), "{loud:#?}");
}

#[test]
fn postgres_down() {
    let Some(mut srv) = DbServer::postgres(None, None, &[], false) else {
        return;
    };
    let target = format!("postgres://127.0.0.1:{}", srv.port());
    srv.stop();
    unhealthy(&[&target], &target, "connection refused");
    let silent = Server::silent();
    let target = format!("postgres://127.0.0.1:{}", silent.port());
    let out = Cmd::new().args(["-t", "500ms", &target]).run();
    out.unhealthy().ended_by(Duration::from_millis(500));
    let line = out.reports_one(false, &target);
    assert!(line.detail.contains("timed out"), "{}", line.detail);
}

// --- MariaDB -----------------------------------------------------------------------------------

/// A MariaDB with the least-privilege probe user the README recommends.
#[track_caller]
fn mariadb_with_probe_user(extra: &[&str]) -> Option<DbServer> {
    let srv = DbServer::mariadb(extra)?;
    srv.mariadb_sql("CREATE USER 'probe'@'%' IDENTIFIED BY 'probe-pw'");
    Some(srv)
}

#[test]
fn mysql_greeting_without_a_password() {
    let Some(srv) = mariadb_with_probe_user(&[]) else {
        return;
    };
    let target = format!("mysql://127.0.0.1:{}", srv.port());
    let detail = healthy(&[&target], &target);
    assert!(detail.starts_with("greeting from 10."), "{detail}");
    assert!(
        detail.ends_with("(login as healthprobe without a password refused: 1045)"),
        "{detail}"
    );
    let alias = format!("mariadb://127.0.0.1:{}", srv.port());
    healthy(&[&alias], &alias);
    // The documented cost: MariaDB logs the refused login, which names the probe.
    let from = srv.log_mark();
    healthy(&[&target], &target);
    let loud = log_after(&srv, from);
    eprintln!("mariadb log after a check without a password: {loud:#?}");
    assert_eq!(loud.len(), 1, "{loud:#?}");
    assert!(
        loud[0].contains(
            "[Warning] Access denied for user 'healthprobe'@'127.0.0.1' (using password: NO)"
        ),
        "{loud:#?}"
    );
}

/// A probe user without a password: the login succeeds, and the log stays quiet.
#[test]
fn mysql_user_without_a_password() {
    let Some(srv) = DbServer::mariadb(&[]) else {
        return;
    };
    srv.mariadb_sql("CREATE USER 'nopw'@'%'");
    let target = format!("mysql://nopw@127.0.0.1:{}", srv.port());
    let shown = format!("mysql://***@127.0.0.1:{}", srv.port());
    let from = srv.log_mark();
    for _ in 0..10 {
        let detail = healthy(&[&target], &shown);
        assert!(detail.starts_with("logged in as nopw, ping ok"), "{detail}");
    }
    let loud = log_after(&srv, from);
    assert!(loud.is_empty(), "{loud:#?}");
}

#[test]
fn mysql_password_right_wrong_and_quiet() {
    let Some(srv) = mariadb_with_probe_user(&[]) else {
        return;
    };
    let port = srv.port();
    let shown = format!("mysql://***@127.0.0.1:{port}");
    let right = format!("mysql://probe:probe-pw@127.0.0.1:{port}");
    let detail = healthy(&[&right], &shown);
    assert!(
        detail.starts_with("logged in as probe, ping ok, server 10."),
        "{detail}"
    );
    let out = Cmd::new()
        .args([
            "--format",
            "json",
            &format!("mysql://probe:wrong-pw@127.0.0.1:{port}"),
        ])
        .run();
    out.unhealthy()
        .lacks("wrong-pw")
        .contains("mysql error 1045: Access denied for user 'probe'");
    let dir = TempDir::new();
    let file = secret_file(&dir, "pw", "probe-pw\n");
    let file = file.to_str().unwrap();
    let user_only = format!("mysql://probe@127.0.0.1:{port}");
    healthy(&["--password-file", file, &user_only], &shown);
    // A database the probe user has no grant on.
    unhealthy(
        &["--password-file", file, &format!("{user_only}/mysql")],
        &format!("{shown}/mysql"),
        "mysql error 1044: Access denied",
    );
    let from = srv.log_mark();
    for _ in 0..10 {
        healthy(&["--password-file", file, &user_only], &shown);
    }
    let loud = log_after(&srv, from);
    assert!(loud.is_empty(), "{loud:#?}");
}

/// A user whose plugin the probe does not speak: an AuthSwitchRequest it refuses, by name.
#[test]
fn mysql_unsupported_auth_plugin() {
    let Some(srv) = DbServer::mariadb(&[]) else {
        return;
    };
    srv.mariadb_sql("CREATE USER 'sock'@'%' IDENTIFIED VIA unix_socket");
    let target = format!("mysql://sock:x@127.0.0.1:{}", srv.port());
    let shown = format!("mysql://***@127.0.0.1:{}", srv.port());
    let out = Cmd::new().arg(&target).run();
    out.unhealthy().within(QUICK);
    let line = out.reports_one(false, &shown);
    assert!(
        line.detail.contains("unix_socket") || line.detail.contains("1698"),
        "{}",
        line.detail
    );
}

/// Under `skip-name-resolve` a client whose address matches no user's host gets ERR 1130
/// instead of the greeting.
#[test]
fn mysql_host_not_allowed() {
    let Some(srv) = DbServer::mariadb(&[]) else {
        return;
    };
    srv.mariadb_sql("DELETE FROM mysql.global_priv WHERE host <> 'localhost'; FLUSH PRIVILEGES");
    let target = format!("mysql://127.0.0.1:{}", srv.port());
    unhealthy(
        &[&target],
        &target,
        "mysql error 1130: Host '127.0.0.1' is not allowed",
    );
}

/// Out of connections: ERR 1040 as the first packet.
#[test]
fn mysql_too_many_connections() {
    let Some(srv) = mariadb_with_probe_user(&["--max-connections=10", "--connect-timeout=30"])
    else {
        return;
    };
    let port = srv.port();
    // Connections that got their greeting and sit there until one is refused: MariaDB keeps
    // one beyond max_connections (10, its minimum) for an administrator, and the set-up's own
    // client session may not have ended yet (on a loaded machine it had not, once).
    let mut held = Vec::new();
    loop {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut header = [0u8; 5];
        std::io::Read::read_exact(&mut s, &mut header).unwrap();
        if header[4] == 0xff {
            break;
        }
        assert_eq!(header[4], 0x0a, "a greeting");
        held.push(s);
        assert!(held.len() <= 11, "more than 11 connections greeted");
    }
    assert!(held.len() >= 9, "refused after {} connections", held.len());
    let target = format!("mysql://127.0.0.1:{port}");
    unhealthy(
        &[&target],
        &target,
        "mysql error 1040: Too many connections",
    );
    drop(held);
}

#[test]
fn mysql_down() {
    let Some(mut srv) = DbServer::mariadb(&[]) else {
        return;
    };
    let target = format!("mysql://127.0.0.1:{}", srv.port());
    srv.stop();
    unhealthy(&[&target], &target, "connection refused");
    let silent = Server::silent();
    let target = format!("mysql://127.0.0.1:{}", silent.port());
    let out = Cmd::new().args(["-t", "500ms", &target]).run();
    out.unhealthy().ended_by(Duration::from_millis(500));
    let line = out.reports_one(false, &target);
    assert!(line.detail.contains("timed out"), "{}", line.detail);
}

/// A network namespace joined to the host by a veth pair: the probe runs inside it, so the
/// server sees it come from an address its host cache applies to (never to 127.0.0.1 or ::1).
/// Deleted on drop. `None` (SKIPPED; a failure under `HEALTHPROBE_REQUIRE_ROOT=1`) when not
/// root or namespaces are not allowed here.
struct NetNs {
    name: String,
    host_ip: String,
}

impl NetNs {
    fn new() -> Option<NetNs> {
        let id = std::process::id() % 10_000;
        let name = format!("hp{id}");
        let (a, b) = (format!("hpa{id}"), format!("hpb{id}"));
        let net = format!("10.213.{}", id % 250);
        let host_ip = format!("{net}.1");
        let steps: Vec<Vec<String>> = vec![
            vec!["netns".into(), "add".into(), name.clone()],
            vec![
                "link".into(),
                "add".into(),
                a.clone(),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                b.clone(),
            ],
            vec![
                "link".into(),
                "set".into(),
                b.clone(),
                "netns".into(),
                name.clone(),
            ],
            vec![
                "addr".into(),
                "add".into(),
                format!("{host_ip}/30"),
                "dev".into(),
                a.clone(),
            ],
            vec!["link".into(), "set".into(), a.clone(), "up".into()],
            vec![
                "-n".into(),
                name.clone(),
                "addr".into(),
                "add".into(),
                format!("{net}.2/30"),
                "dev".into(),
                b.clone(),
            ],
            vec![
                "-n".into(),
                name.clone(),
                "link".into(),
                "set".into(),
                b,
                "up".into(),
            ],
        ];
        let ns = NetNs { name, host_ip };
        for step in steps {
            let ok = std::process::Command::new("ip")
                .args(&step)
                .stderr(std::process::Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                skip_unless(
                    REQUIRE_ROOT,
                    format!("cannot set up a network namespace here (ip {step:?})"),
                );
                return None;
            }
        }
        Some(ns)
    }

    /// `ip netns exec NS program args...` as a [`Cmd`].
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Cmd {
        Cmd::program("ip")
            .args(["netns", "exec", &self.name])
            .arg(program)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// MariaDB blocks a host after `max_connect_errors` interrupted handshakes (ERR 1129 for every
/// client from it, the app's included). The probe without a password finishes each handshake
/// with a refused login, which never counts: ten checks against a limit of 3 leave the host
/// unblocked. The limit is real: four clients that hang up after the greeting, from the same
/// address, do get it blocked.
#[test]
fn mysql_probe_never_gets_its_host_blocked() {
    let Some(ns) = NetNs::new() else { return };
    let Some(srv) = mariadb_with_probe_user(&[
        "--max-connect-errors=3",
        "--bind-address=0.0.0.0",
        "--skip-name-resolve=0",
    ]) else {
        return;
    };
    let target = format!("mysql://{}:{}", ns.host_ip, srv.port());
    for _ in 0..10 {
        let out = ns
            .cmd(crate::support::probe_binary())
            .arg(&target)
            .run_any_exit();
        out.healthy();
        out.reports_one(true, &target);
    }
    for _ in 0..4 {
        let script = format!(
            "exec 3<>/dev/tcp/{}/{}; head -c 4 <&3 >/dev/null",
            ns.host_ip,
            srv.port()
        );
        ns.cmd("bash").args(["-c", &script]).run_any_exit();
    }
    let out = ns
        .cmd(crate::support::probe_binary())
        .arg(&target)
        .run_any_exit();
    out.unhealthy();
    let line = out.reports_one(false, &target);
    assert!(
        line.detail.starts_with("mysql error 1129: Host"),
        "{}",
        line.detail
    );
}

#[test]
fn password_file_missing_is_a_usage_failure() {
    let out = Cmd::new()
        .args([
            "--password-file",
            "/nonexistent/db-pw",
            "redis://127.0.0.1:1",
        ])
        .run();
    out.unhealthy()
        .contains("cannot read --password-file /nonexistent/db-pw")
        .within(QUICK);
}

/// The password never shows, whatever the output: text, JSON, verbose, a parse error.
#[test]
fn passwords_never_printed() {
    let port = dead_port();
    for args in [
        vec![format!("postgres://u:hunter2@127.0.0.1:{port}")],
        vec!["-v".into(), format!("mysql://u:hunter2@127.0.0.1:{port}")],
        vec![
            "--format".into(),
            "json".into(),
            format!("rediss://u:hunter2@127.0.0.1:{port}"),
        ],
        vec![format!("redis://:hunter2@127.0.0.1:{port}/x")],
        vec![format!(
            "postgres://u:hunter2@127.0.0.1:{port}/db?sslmode=bogus"
        )],
    ] {
        Cmd::new().args(&args).run().unhealthy().lacks("hunter2");
    }
}

// --- Scripted peers, for states a real server does not hold long enough to test ---------------

/// Reads one request (these are short), or `None` when the client hung up.
fn read_once(s: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut buf = [0u8; 2048];
    match s.read(&mut buf) {
        Ok(n) if n > 0 => Some(buf[..n].to_vec()),
        _ => None,
    }
}

/// A Redis loading its dataset answers every command with `-LOADING`.
#[test]
fn redis_loading() {
    let srv = Server::raw(|mut s| {
        use std::io::Write;
        if read_once(&mut s).is_some() {
            let _ = s.write_all(b"-LOADING Redis is loading the dataset in memory\r\n");
        }
    });
    let target = format!("redis://127.0.0.1:{}", srv.port());
    let detail = unhealthy(&[&target], &target, "redis: LOADING");
    assert_eq!(
        detail,
        "redis: LOADING Redis is loading the dataset in memory"
    );
}

/// After AuthenticationOk and ReadyForQuery the probe says Terminate ('X') before it hangs up.
#[test]
fn postgres_terminate_after_trust() {
    let (tx, rx) = std::sync::mpsc::channel();
    let srv = Server::raw(move |mut s| {
        use std::io::Write;
        if read_once(&mut s).is_none() {
            return;
        }
        let _ = s.write_all(b"R\0\0\0\x08\0\0\0\0S\0\0\0\x18server_version\x0016.4\0Z\0\0\0\x05I");
        let _ = tx.send(read_once(&mut s));
    });
    let target = format!("postgres://127.0.0.1:{}", srv.port());
    let detail = healthy(&[&target], &target);
    assert_eq!(
        detail,
        "accepting connections (no password asked), server 16.4"
    );
    let sent = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("the peer ran");
    assert_eq!(sent.as_deref(), Some(&b"X\0\0\0\x04"[..]));
}

/// An ERR packet instead of the greeting: shutting down (1053).
#[test]
fn mysql_err_instead_of_a_greeting() {
    let srv = Server::raw(|mut s| {
        use std::io::Write;
        let msg = b"\xff\x1d\x04Server shutdown in progress";
        let mut packet = vec![msg.len() as u8, 0, 0, 0];
        packet.extend_from_slice(msg);
        let _ = s.write_all(&packet);
    });
    let target = format!("mysql://127.0.0.1:{}", srv.port());
    let detail = unhealthy(&[&target], &target, "mysql error 1053");
    assert_eq!(detail, "mysql error 1053: Server shutdown in progress");
}
