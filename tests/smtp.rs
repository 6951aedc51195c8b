//! smtp:// and smtps:// against Debian's real Postfix, started by [`support::smtp`] (as root):
//! a 220 greeting and EHLO 250 in plain text, with STARTTLS and over implicit TLS (the test
//! PKI), a 554 greeting from client restrictions, a 421 greeting past a connection limit,
//! down, and what Postfix logs per check.

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use crate::support::smtp::Postfix;
use crate::support::{Cmd, Pki, Server, TempDir, dead_port};

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

#[test]
fn smtp_against_postfix() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let Some(pf) = Postfix::start(&pki) else {
        return;
    };
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", &pki.ca_pem);
    let ca = ca.to_str().unwrap();

    let plain = format!("smtp://127.0.0.1:{}", pf.plain);
    assert_eq!(
        healthy(&[&plain], &plain),
        "220 healthprobe.test ESMTP healthprobe-test, EHLO 250"
    );
    let starttls = format!("smtp://127.0.0.1:{}?starttls", pf.plain);
    assert_eq!(
        healthy(&["--ca-file", ca, &starttls], &starttls),
        "220 healthprobe.test ESMTP healthprobe-test, EHLO 250, STARTTLS"
    );
    unhealthy(&[&starttls], &starttls, "unknown issuer");
    let smtps = format!("smtps://127.0.0.1:{}", pf.smtps);
    assert_eq!(
        healthy(&["--ca-file", ca, &smtps], &smtps),
        "220 healthprobe.test ESMTP healthprobe-test, EHLO 250, over tls"
    );
    unhealthy(&[&smtps], &smtps, "unknown issuer");

    // Client restrictions evaluated at connect: Postfix greets with 554.
    let rejecting = format!("smtp://127.0.0.1:{}", pf.rejecting);
    unhealthy(
        &[&rejecting],
        &rejecting,
        "smtp: the server refuses service: 554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied",
    );
    // One connection per client: while one is held, the next is greeted 421.
    let limited = format!("smtp://127.0.0.1:{}", pf.limited);
    healthy(&[&limited], &limited);
    let mut held = TcpStream::connect(("127.0.0.1", pf.limited)).unwrap();
    let mut greeting = [0u8; 64];
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(held.read(&mut greeting).unwrap() > 0);
    unhealthy(
        &[&limited],
        &limited,
        "smtp: the server refuses service: 421 4.7.0 healthprobe.test Error: too many connections from 127.0.0.1",
    );
    drop(held);

    // What ten checks make Postfix log: a connect and a disconnect line each, at info, as
    // for every client; no warning, no "lost connection".
    let from = pf.log_mark();
    for _ in 0..10 {
        healthy(&[&plain], &plain);
    }
    let log = pf.log_since(from);
    let connects = log.matches(": connect from localhost[127.0.0.1]").count();
    assert_eq!(connects, 10, "{log}");
    assert_eq!(
        log.matches("disconnect from localhost[127.0.0.1] ehlo=1 quit=1 commands=2")
            .count(),
        10,
        "{log}"
    );
    for bad in ["warning", "error", "fatal", "lost connection"] {
        assert!(!log.contains(bad), "{bad}: {log}");
    }
    let from = pf.log_mark();
    for _ in 0..10 {
        healthy(&["--ca-file", ca, &starttls], &starttls);
    }
    let log = pf.log_since(from);
    eprintln!("postfix's log after ten STARTTLS checks:\n{log}");
    for bad in ["warning", "error", "fatal", "lost connection"] {
        assert!(!log.contains(bad), "{bad}: {log}");
    }
}

#[test]
fn smtp_down_silent_and_no_starttls() {
    let target = format!("smtp://127.0.0.1:{}", dead_port());
    unhealthy(&[&target], &target, "connection refused");
    let silent = Server::silent();
    let target = format!("smtps://127.0.0.1:{}", silent.port());
    let out = Cmd::new().args(["-t", "500ms", &target]).run();
    out.unhealthy().ended_by(Duration::from_millis(500));
    // A server that does not offer STARTTLS, asked for it.
    let peer = Server::raw(|mut s| {
        use std::io::Write;
        let _ = s.write_all(b"220 peer ESMTP\r\n");
        let mut buf = [0u8; 256];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            let said = String::from_utf8_lossy(&buf[..n]).into_owned();
            let reply: &[u8] = if said.starts_with("EHLO") {
                b"250-peer\r\n250 8BITMIME\r\n"
            } else {
                b"221 bye\r\n"
            };
            if s.write_all(reply).is_err() {
                break;
            }
        }
    });
    let target = format!("smtp://127.0.0.1:{}?starttls", peer.port());
    unhealthy(&[&target], &target, "does not offer STARTTLS");
    let target = format!("smtp://127.0.0.1:{}", peer.port());
    assert_eq!(healthy(&[&target], &target), "220 peer ESMTP, EHLO 250");
}
