//! Message broker targets against Debian's real brokers, started by [`support::brokers`]:
//! amqp:// and amqps:// against RabbitMQ, mqtt:// and mqtts:// against mosquitto. Each case
//! says what the broker is made to be (ready, a vhost gone, stopping, a login refused, TLS)
//! and what the one output line must say. A broker that is not installed makes its cases say
//! SKIPPED and pass, or fail under `HEALTHPROBE_REQUIRE_DB=1`.

use std::time::Duration;

use crate::support::brokers::{Mosquitto, PASSWORD, Rabbit, USER, rabbit_loud_lines};
use crate::support::db::secret_file;
use crate::support::{Cmd, Pki, Server, TempDir, dead_port};

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

fn pki() -> Pki {
    Pki::new(&["localhost", "127.0.0.1"])
}

// --- AMQP (RabbitMQ) -------------------------------------------------------------------------

#[test]
fn amqp_ready_without_and_with_a_login() {
    let Some(mq) = Rabbit::shared() else {
        return;
    };
    let port = mq.port();
    let plain = format!("amqp://127.0.0.1:{port}");
    let detail = healthy(&[&plain], &plain);
    assert!(
        detail.starts_with("RabbitMQ 3.") && detail.contains("sent Connection.Start"),
        "{detail}"
    );
    let shown = format!("amqp://***@127.0.0.1:{port}");
    let login = format!("amqp://{USER}:{PASSWORD}@127.0.0.1:{port}");
    let detail = healthy(&[&login], &shown);
    assert!(
        detail.starts_with("logged in as probe, vhost / open, RabbitMQ 3."),
        "{detail}"
    );
    // The vhost from the path, percent-decoded; `/%2F` is `/`.
    let detail = healthy(&[&format!("{login}/app")], &format!("{shown}/app"));
    assert!(detail.contains("vhost app open"), "{detail}");
    healthy(&[&format!("{login}/%2F")], &format!("{shown}/%2F"));
    // JSON and -v never show the password.
    let out = Cmd::new().args(["--format", "json", "-v", &login]).run();
    out.healthy().lacks(PASSWORD).contains("logged in as probe");
    // `localhost` is both loopbacks, tried in turn; the broker listens on 127.0.0.1 only.
    let local = format!("amqp://localhost:{port}");
    healthy(&[&local], &local);
    unhealthy(&["-6", &local], &local, "connection refused");
}

#[test]
fn amqp_password_wrong_file_and_variable() {
    let Some(mq) = Rabbit::shared() else {
        return;
    };
    let port = mq.port();
    let shown = format!("amqp://***@127.0.0.1:{port}");
    let wrong = format!("amqp://{USER}:wrong-pw@127.0.0.1:{port}");
    let detail = unhealthy(
        &[&wrong],
        &shown,
        "amqp: 403 ACCESS_REFUSED - Login was refused",
    );
    assert!(!detail.contains("wrong-pw"), "{detail}");
    unhealthy(
        &[&format!("amqp://nobody-here:x@127.0.0.1:{port}")],
        &shown,
        "403 ACCESS_REFUSED",
    );
    // The file wins over the URL, and is trimmed.
    let dir = TempDir::new();
    let file = secret_file(&dir, "pw", &format!("{PASSWORD}\n"));
    let file = file.to_str().unwrap();
    healthy(&["--password-file", file, &wrong], &shown);
    // With a file and a user alone in the URL, the login is made.
    let user_only = format!("amqp://{USER}@127.0.0.1:{port}/app");
    let detail = healthy(
        &["--password-file", file, &user_only],
        &format!("{shown}/app"),
    );
    assert!(detail.starts_with("logged in as probe"), "{detail}");
    // ${VAR} in the URL is expanded, and the expanded password never printed.
    let out = Cmd::new()
        .env("MQ_PW", "not-it")
        .arg(format!("amqp://{USER}:${{MQ_PW}}@127.0.0.1:{port}"))
        .run();
    out.unhealthy().lacks("not-it").contains("ACCESS_REFUSED");
}

#[test]
fn amqp_vhost_missing_and_deleted() {
    let Some(mq) = Rabbit::shared() else {
        return;
    };
    let port = mq.port();
    let login = format!("amqp://{USER}:{PASSWORD}@127.0.0.1:{port}");
    let shown = format!("amqp://***@127.0.0.1:{port}");
    unhealthy(
        &[&format!("{login}/nope")],
        &format!("{shown}/nope"),
        "amqp: 530 NOT_ALLOWED - vhost nope not found",
    );
    let doomed = format!("{login}/doomed");
    let doomed_shown = format!("{shown}/doomed");
    healthy(&[&doomed], &doomed_shown);
    mq.ctl(&["delete_vhost", "doomed"]);
    unhealthy(
        &[&doomed],
        &doomed_shown,
        "530 NOT_ALLOWED - vhost doomed not found",
    );
    // Without a password the broker is still up, vhost or not.
    let plain = format!("amqp://127.0.0.1:{port}/doomed");
    healthy(&[&plain], &plain);
}

#[test]
fn amqps_verified_with_the_test_ca() {
    let Some(mq) = Rabbit::shared() else {
        return;
    };
    let port = mq.tls_port();
    let target = format!("amqps://127.0.0.1:{port}");
    let detail = healthy(&["--ca-file", mq.ca_file(), &target], &target);
    assert!(
        detail.ends_with("sent Connection.Start (no password: no login), over tls"),
        "{detail}"
    );
    let shown = format!("amqps://***@127.0.0.1:{port}");
    let login = format!("amqps://{USER}:{PASSWORD}@127.0.0.1:{port}");
    let detail = healthy(&["--ca-file", mq.ca_file(), &login], &shown);
    assert!(
        detail.starts_with("logged in as probe") && detail.ends_with("over tls"),
        "{detail}"
    );
    unhealthy(&[&target], &target, "unknown issuer");
    healthy(&["-k", &login], &shown);
    // Plain AMQP to the TLS port: no Connection.Start comes back.
    let plain = format!("amqp://127.0.0.1:{port}");
    let out = Cmd::new().args(["-t", "2s", &plain]).run();
    out.unhealthy();
}

#[test]
fn amqp_down_and_silent() {
    let target = format!("amqp://127.0.0.1:{}", dead_port());
    unhealthy(&[&target], &target, "connection refused");
    let silent = Server::silent();
    let target = format!("amqp://127.0.0.1:{}", silent.port());
    let out = Cmd::new().args(["-t", "500ms", &target]).run();
    out.unhealthy().ended_by(Duration::from_millis(500));
    let line = out.reports_one(false, &target);
    assert!(line.detail.contains("timed out"), "{}", line.detail);
}

/// A broker of its own, as it changes it: ten checks with a login leave no warning in its log
/// (at Debian's default level, info); a check without a password leaves the one warning the
/// README names; then `rabbitmqctl stop_app` closes the listener: refused.
#[test]
fn amqp_log_stays_quiet_then_broker_stops() {
    let Some(mq) = Rabbit::start(&pki()) else {
        return;
    };
    let port = mq.port();
    let login = format!("amqp://{USER}:{PASSWORD}@127.0.0.1:{port}");
    let shown = format!("amqp://***@127.0.0.1:{port}");
    let from = mq.log_mark();
    for _ in 0..10 {
        healthy(&[&login], &shown);
    }
    let window = mq.log_since(from);
    eprintln!("RabbitMQ logged for ten checks with a login:\n{window}");
    assert_eq!(rabbit_loud_lines(&window), Vec::<String>::new(), "{window}");
    assert_eq!(
        window.matches("user 'probe' authenticated").count(),
        10,
        "{window}"
    );

    let from = mq.log_mark();
    let plain = format!("amqp://127.0.0.1:{port}");
    healthy(&[&plain], &plain);
    let window = mq.log_since(from);
    eprintln!("RabbitMQ logged for a check without a password:\n{window}");
    assert!(
        window.contains("client unexpectedly closed TCP connection"),
        "the README names this warning: {window}"
    );

    mq.ctl(&["stop_app"]);
    unhealthy(&[&plain], &plain, "connection refused");
    unhealthy(&[&login], &shown, "connection refused");
}

// --- MQTT (mosquitto) ------------------------------------------------------------------------

#[test]
fn mqtt_password_right_wrong_and_missing() {
    let Some(mq) = Mosquitto::start(&pki(), false) else {
        return;
    };
    let port = mq.port();
    let plain = format!("mqtt://127.0.0.1:{port}");
    unhealthy(
        &[&plain],
        &plain,
        "mqtt: connection refused: not authorized (CONNACK return code 5)",
    );
    let shown = format!("mqtt://***@127.0.0.1:{port}");
    let login = format!("mqtt://{USER}:{PASSWORD}@127.0.0.1:{port}");
    assert_eq!(
        healthy(&[&login], &shown),
        "CONNACK 0 (connection accepted), logged in as probe"
    );
    let wrong = format!("mqtt://{USER}:wrong-pw@127.0.0.1:{port}");
    let out = Cmd::new().args(["--format", "json", "-v", &wrong]).run();
    out.unhealthy().lacks("wrong-pw").contains("not authorized");
    unhealthy(
        &[&format!("mqtt://stranger:x@127.0.0.1:{port}")],
        &shown,
        "not authorized",
    );
    // The file wins over the URL.
    let dir = TempDir::new();
    let file = secret_file(&dir, "pw", &format!("{PASSWORD}\n"));
    healthy(&["--password-file", file.to_str().unwrap(), &wrong], &shown);
}

#[test]
fn mqtt_anonymous_broker() {
    let Some(mut mq) = Mosquitto::start(&pki(), true) else {
        return;
    };
    let plain = format!("mqtt://127.0.0.1:{}", mq.port());
    assert_eq!(
        healthy(&[&plain], &plain),
        "CONNACK 0 (connection accepted)"
    );
    // Wait for it, then become the app.
    let out = Cmd::new()
        .args(["--wait", "5s", &plain, "--", "sh", "-c", "echo app ran"])
        .run();
    out.healthy().within(QUICK).contains("app ran");
    mq.stop();
    unhealthy(&[&plain], &plain, "connection refused");
}

#[test]
fn mqtts_verified_with_the_test_ca() {
    let Some(mq) = Mosquitto::start(&pki(), false) else {
        return;
    };
    let port = mq.tls_port();
    let shown = format!("mqtts://***@127.0.0.1:{port}");
    let login = format!("mqtts://{USER}:{PASSWORD}@127.0.0.1:{port}");
    assert_eq!(
        healthy(&["--ca-file", mq.ca_file(), &login], &shown),
        "CONNACK 0 (connection accepted), logged in as probe, over tls"
    );
    unhealthy(&[&login], &shown, "unknown issuer");
    healthy(&["-k", &login], &shown);
    unhealthy(
        &["-k", &format!("mqtts://127.0.0.1:{port}")],
        &format!("mqtts://127.0.0.1:{port}"),
        "not authorized",
    );
}

/// Ten checks leave only mosquitto's notices of a client that came and said goodbye (at
/// Debian's default `log_type`s): no error, no "closed its connection", no refusal.
#[test]
fn mqtt_log_stays_quiet() {
    let Some(mq) = Mosquitto::start(&pki(), false) else {
        return;
    };
    let port = mq.port();
    let login = format!("mqtt://{USER}:{PASSWORD}@127.0.0.1:{port}");
    let shown = format!("mqtt://***@127.0.0.1:{port}");
    let from = mq.log_mark();
    for _ in 0..10 {
        healthy(&[&login], &shown);
    }
    let window = mq.log_since(from);
    eprintln!("mosquitto logged for ten checks:\n{window}");
    let unexpected: Vec<&str> = window
        .lines()
        .filter(|l| {
            !(l.contains(": New connection from 127.0.0.1:")
                || (l.contains(": New client connected from 127.0.0.1:")
                    && l.contains(" as healthprobe-"))
                || (l.contains(": Client healthprobe-") && l.ends_with(" disconnected.")))
        })
        .collect();
    assert_eq!(unexpected, Vec::<&str>::new(), "{window}");
    let checks = window
        .lines()
        .filter(|l| l.contains(" as healthprobe-") && !l.contains("log-mark"))
        .count();
    assert_eq!(checks, 10, "{window}");
}
