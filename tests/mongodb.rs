//! mongodb:// against a MongoDB wire-protocol server ([`support::mongo`]: MockupDB, MongoDB
//! Inc.'s wire-protocol test server from PyPI, answering as mongod does in each state). Debian
//! has no MongoDB and none installs here from a registry, so these tests speak to a real
//! implementation of the wire protocol (its framing, its BSON from PyMongo), not to a mongod:
//! the states are mongod's replies written in `tests/mongo/mongo_server.py`, and the SCRAM
//! server side is that script's own (Python hashlib/hmac, from RFC 5802/7677).

use std::time::Duration;

use crate::support::db::secret_file;
use crate::support::mongo::{MongoPeer, PASSWORD, USER};
use crate::support::{Cmd, Server, TempDir, dead_port};

/// Generous: a check against loopback takes milliseconds.
const QUICK: Duration = Duration::from_secs(3);

/// `healthprobe ARGS...`, exit 0, one healthy line for `shown`; returns its detail.
#[track_caller]
fn healthy(args: &[&str], shown: &str) -> String {
    let out = Cmd::new().args(args).run();
    out.healthy().within(QUICK);
    out.reports_one(true, shown).detail
}

/// `healthprobe ARGS...`, exit 1, one unhealthy line for `shown` whose reason holds `words`.
#[track_caller]
fn unhealthy(args: &[&str], shown: &str, words: &str) -> String {
    let out = Cmd::new().args(args).run();
    out.unhealthy().within(QUICK);
    let line = out.reports_one(false, shown);
    out.check(
        line.detail.contains(words),
        format!("expected the reason to contain {words:?}"),
    );
    line.detail
}

#[test]
fn mongodb_standalone_ready() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    let target = peer.target("standalone", "", "");
    assert_eq!(healthy(&[&target], &target), "standalone");
    // A primary is asked for: a standalone is writable.
    let primary = peer.target("standalone", "", "/?role=primary");
    healthy(&[&primary], &primary);
    let secondary = peer.target("standalone", "", "/?role=secondary");
    unhealthy(&[&secondary], &secondary, "not a replica set member");
    // Every resolved address is tried: the server listens on 127.0.0.1 only.
    let local = format!("mongodb://localhost:{}", peer.port("standalone"));
    healthy(&[&local], &local);
}

#[test]
fn mongodb_primary_and_roles() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    for rest in [
        "",
        "/?role=any",
        "/?role=primary",
        "/app?replicaSet=rs0&role=primary",
    ] {
        let target = peer.target("primary", "", rest);
        assert_eq!(
            healthy(&[&target], &target),
            "primary of replica set rs0",
            "{rest}"
        );
    }
    let target = peer.target("primary", "", "/?role=secondary");
    unhealthy(
        &[&target],
        &target,
        "primary of replica set rs0 (role=secondary",
    );
}

#[test]
fn mongodb_secondary_is_not_the_primary() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    let any = peer.target("secondary", "", "");
    assert_eq!(healthy(&[&any], &any), "secondary of replica set rs0");
    let secondary = peer.target("secondary", "", "/?role=secondary");
    healthy(&[&secondary], &secondary);
    let primary = peer.target("secondary", "", "/?role=primary");
    unhealthy(
        &[&primary],
        &primary,
        "mongodb: secondary of replica set rs0, the primary is 127.0.0.1:27017 (role=primary",
    );
}

#[test]
fn mongodb_member_recovering_or_not_initiated() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    let target = peer.target("recovering", "", "");
    unhealthy(
        &[&target],
        &target,
        "member of replica set rs0 is neither primary nor secondary (STARTUP2, RECOVERING",
    );
    let target = peer.target("uninitiated", "", "");
    unhealthy(
        &[&target],
        &target,
        "its replica set is not initiated: Does not have a valid replica set config",
    );
}

#[test]
fn mongodb_error_reply_in_the_servers_words() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    let target = peer.target("error", "", "");
    unhealthy(
        &[&target],
        &target,
        "mongodb: hello failed: The server is in quiesce mode and will shut down (ShutdownInProgress)",
    );
    assert_eq!(
        peer.commands("error").first().map(String::as_str),
        Some("hello"),
        "no fallback to isMaster for an error that is not CommandNotFound"
    );
    assert!(!peer.commands("error").iter().any(|c| c == "isMaster"));
}

#[test]
fn mongodb_before_4_4_2_falls_back_to_is_master() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    let target = peer.target("old", "", "");
    assert_eq!(healthy(&[&target], &target), "standalone, via isMaster");
    assert_eq!(peer.commands("old"), ["hello", "isMaster"]);
}

#[test]
fn mongodb_scram_login_right_and_wrong() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    let name = "standalone+auth";
    let shown = peer.target(name, "***@", "");
    // No credentials: hello alone, which needs no login.
    let plain = peer.target(name, "", "");
    healthy(&[&plain], &plain);
    assert_eq!(peer.commands(name), ["hello"]);
    // The right password: SCRAM-SHA-256, then ping.
    let right = peer.target(name, &format!("{USER}:{PASSWORD}@"), "");
    assert_eq!(
        healthy(&[&right], &shown),
        format!("standalone, logged in as {USER}")
    );
    assert_eq!(
        peer.commands(name)[1..],
        ["hello", "saslStart", "saslContinue", "ping"]
    );
    // A wrong one: the server's words, never the password.
    let wrong = peer.target(name, &format!("{USER}:wrong-pw@"), "");
    let out = Cmd::new().args(["--format", "json", "-v", &wrong]).run();
    out.unhealthy()
        .within(QUICK)
        .lacks("wrong-pw")
        .contains("login failed: Authentication failed. (AuthenticationFailed)");
    // --password-file wins over the URL, and is trimmed; ${VAR} is expanded and not shown.
    let dir = TempDir::new();
    let file = secret_file(&dir, "pw", &format!("{PASSWORD}\n"));
    healthy(&["--password-file", file.to_str().unwrap(), &wrong], &shown);
    let out = Cmd::new()
        .env("MONGO_PW", PASSWORD)
        .arg(peer.target(name, &format!("{USER}:${{MONGO_PW}}@"), ""))
        .run();
    out.healthy().lacks(PASSWORD);
    // A user of another database (authSource) does not log in as the admin one.
    let elsewhere = peer.target(name, &format!("{USER}:{PASSWORD}@"), "/app");
    unhealthy(
        &[&elsewhere],
        &format!("{}/app", shown),
        "as user app in database app",
    );
}

#[test]
fn mongodb_scram_without_skip_empty_exchange() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    let name = "primary+auth+no-skip-empty";
    let right = peer.target(name, &format!("{USER}:{PASSWORD}@"), "/?role=primary");
    let shown = peer.target(name, "***@", "/?role=primary");
    assert_eq!(
        healthy(&[&right], &shown),
        format!("primary of replica set rs0, logged in as {USER}")
    );
    assert_eq!(
        peer.commands(name),
        ["hello", "saslStart", "saslContinue", "saslContinue", "ping"]
    );
}

#[test]
fn mongodb_refused_and_silent() {
    let target = format!("mongodb://127.0.0.1:{}", dead_port());
    unhealthy(&[&target], &target, "refused");
    let silent = Server::silent();
    let target = format!("mongodb://127.0.0.1:{}", silent.port());
    let out = Cmd::new().args(["-t", "1s", &target]).run();
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    let line = out.reports_one(false, &target);
    out.check(line.detail.contains("timed out"), "expected a timeout");
}

#[test]
fn mongodb_target_errors_are_usage() {
    for (target, words) in [
        (
            "mongodb://db/?role=leader",
            "role=primary, secondary or any",
        ),
        ("mongodb://db/?tls=true", "healthprobe does not do tls=true"),
        ("mongodb://db1,db2/", "expected a host name"),
    ] {
        let out = Cmd::new().arg(target).run();
        out.unhealthy().within(QUICK).contains(words);
    }
    // A password without a user is refused before any connection.
    let out = Cmd::new()
        .arg(format!("mongodb://:pw@127.0.0.1:{}", dead_port()))
        .run();
    out.unhealthy()
        .contains("a password without a user")
        .lacks("refused");
}

/// `--password-file` serves every target of a run: a mongodb:// target without a user is
/// checked without a login.
#[test]
fn mongodb_password_file_without_a_user() {
    let Some(peer) = MongoPeer::shared() else {
        return;
    };
    let dir = TempDir::new();
    let file = secret_file(&dir, "pw", "for-another-target\n");
    let target = peer.target("primary", "", "");
    assert_eq!(
        healthy(
            &["--password-file", file.to_str().unwrap(), &target],
            &target
        ),
        "primary of replica set rs0"
    );
}
