//! The library an app embeds. `examples/app.rs` runs as a process and answers its own
//! `healthcheck` subcommand (same flags, output and exit codes as `healthprobe`); the library
//! API runs checks in-process and returns reports; its public types can cross threads.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{Cmd, Output, Response, Server, dead_port};
use healthprobe::{
    CheckReport, Error, ErrorKind, ParseError, Probe, ProbeBuilder, Report, Target, TargetKind,
};

// Compile-time: the types an app keeps in its state or sends to another thread.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Error>();
    send_sync::<ParseError>();
    send_sync::<Report>();
    send_sync::<CheckReport>();
    send_sync::<Probe>();
    send_sync::<ProbeBuilder>();
    send_sync::<Target>();
};

// `Result<T, Error>` stays cheap to return (STYLE: `Error` is small).
const _: () = assert!(std::mem::size_of::<Error>() <= 4 * std::mem::size_of::<usize>());

// --- examples/app.rs as a process --------------------------------------------------------------

/// `examples/app`, next to the `healthprobe` binary cargo built for this test. `cargo test`
/// builds examples but `cargo test --test tests` does not, and an old build may be stale: ask
/// cargo once per test binary (a no-op when it is fresh; cargo holds no lock while tests run).
fn app() -> &'static Path {
    static APP: OnceLock<PathBuf> = OnceLock::new();
    APP.get_or_init(|| {
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_healthprobe"))
            .parent()
            .expect("the binary's directory");
        let mut cargo = support::cargo();
        cargo
            .args(["build", "--quiet", "--example", "app", "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
        if bin_dir.file_name().is_some_and(|n| n == "release") {
            cargo.arg("--release");
        }
        if let Some(target_dir) = bin_dir.parent() {
            cargo.env("CARGO_TARGET_DIR", target_dir);
        }
        let status = cargo.status().expect("running cargo build --example app");
        assert!(
            status.success(),
            "cargo build --example app failed: {status}"
        );
        let app = bin_dir.join("examples").join("app");
        assert!(app.exists(), "no example binary at {}", app.display());
        app
    })
}

/// `app serve --listen 127.0.0.1:PORT`, killed on drop.
struct App {
    child: Child,
    port: u16,
}

impl App {
    fn serve() -> App {
        let port = dead_port();
        let mut child = Command::new(app())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting app serve");
        // Poll until it accepts: its only sign of readiness.
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("app serve exited before listening on {port}: {status}");
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("app serve did not listen on {port} within 10 s");
            }
            thread::sleep(Duration::from_millis(20));
        }
        App { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn healthcheck(args: &[&str]) -> Output {
    Cmd::program(app()).arg("healthcheck").args(args).run()
}

#[test]
fn healthcheck_subcommand_both_ways() {
    let app = App::serve();
    let health = app.url("/health");

    let out = healthcheck(&[&health]);
    out.healthy();
    let line = out.reports_one(true, &health);
    out.check(
        line.detail.contains("200"),
        "expected the status on the line",
    );

    healthcheck(&["-X", "POST", &app.url("/flip")]).healthy();

    let out = healthcheck(&[&health]);
    out.unhealthy();
    let line = out.reports_one(false, &health);
    out.check(
        line.detail.contains("503"),
        "expected the status in the reason",
    );

    // The subcommand takes every flag the binary takes.
    healthcheck(&["--status", "503", "--body-contains", "unhealthy", &health]).healthy();
}

#[test]
fn healthcheck_subcommand_bad_flag_exits_1_not_2() {
    let out = healthcheck(&["--bogus", "http://127.0.0.1:1/"]);
    out.unhealthy().contains("--bogus");
}

#[test]
fn healthcheck_subcommand_help_exits_0() {
    healthcheck(&["--help"]).healthy().contains("--timeout");
}

#[test]
fn healthcheck_subcommand_prints_what_the_binary_prints() {
    let srv = Server::http(|_| Response::new(503));
    for args in [
        vec![srv.url("/")],
        vec!["--format".into(), "json".into(), srv.url("/")],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let from_app = healthcheck(&args);
        let from_binary = Cmd::new().args(&args).run();
        from_app.unhealthy();
        from_binary.unhealthy();
        assert_eq!(
            without_elapsed(&from_app.stdout),
            without_elapsed(&from_binary.stdout),
            "app healthcheck and healthprobe print the same"
        );
    }
}

/// Drops the timings (`3ms`, `"elapsed_ms":3`), the only part two runs may differ in.
fn without_elapsed(s: &str) -> String {
    let timing = regex_lite::Regex::new(r#"\b\d+ms\b|"elapsed_ms":\d+"#).expect("regex");
    timing.replace_all(s, "").into_owned()
}

#[test]
fn without_the_subcommand_the_app_goes_on() {
    // `demo` is the app's own code: it serves, checks itself, flips, checks again.
    let out = Cmd::program(app()).arg("demo").run();
    out.healthy()
        .contains("exit code 0")
        .contains("exit code 1");
}

// --- the library, in-process ---------------------------------------------------------------

#[test]
fn library_report_with_status() -> Result<(), Error> {
    let srv = Server::http(|_| Response::ok("ok"));
    let report = Probe::builder().build()?.run_strs(&[srv.url("/health")])?;
    assert!(report.is_healthy());
    let [check] = report.checks() else {
        panic!("one report per target: {report:?}")
    };
    assert_eq!(check.status(), Some(200));
    assert_eq!(check.kind(), TargetKind::Http);
    assert!(check.is_healthy() && check.error().is_none());
    assert_eq!(check.target(), srv.url("/health"));
    assert!(check.reason().contains("200"), "{check:?}");
    Ok(())
}

#[test]
fn library_refused_is_a_connect_error() -> Result<(), Error> {
    let port = dead_port();
    let probe = Probe::builder().timeout(Duration::from_secs(2)).build()?;
    let report = probe.run_strs(&[
        format!("http://127.0.0.1:{port}/health"),
        format!("tcp://127.0.0.1:{port}"),
    ])?;
    assert!(!report.is_healthy());
    assert_eq!(report.checks().len(), 2, "one report per target, in order");
    for check in report.checks() {
        let error = check
            .error()
            .unwrap_or_else(|| panic!("expected an error: {check:?}"));
        assert_eq!(error.kind(), ErrorKind::Connect, "{check:?}");
        assert!(!error.is_timeout());
        assert!(error.to_string().contains("refused"), "{error}");
        assert_eq!(check.status(), None);
    }
    assert_eq!(report.checks()[1].kind(), TargetKind::Tcp);
    Ok(())
}

#[test]
fn library_deadline() -> Result<(), Error> {
    let srv = Server::silent();
    let probe = Probe::builder()
        .timeout(Duration::from_millis(300))
        .build()?;
    let start = Instant::now();
    let report = probe.run_strs(&[srv.url("/health")])?;
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    let error = report.checks()[0].error().expect("a timeout");
    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    Ok(())
}

#[test]
fn library_parse_errors_are_usage_errors() {
    let probe = Probe::builder().build().expect("default probe");
    let error = probe.run_strs(&["ftp://127.0.0.1/"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Usage);
    let parse = "tcp://127.0.0.1".parse::<Target>().unwrap_err();
    assert_eq!(parse.input(), "tcp://127.0.0.1");
    assert!(!parse.expected().is_empty(), "{parse}");
}

#[test]
fn library_probe_is_shared_across_threads() -> Result<(), Error> {
    let srv = Server::http(|_| Response::ok("ok"));
    let probe = Probe::builder().build()?;
    let url = srv.url("/health");
    thread::scope(|s| {
        let runs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| probe.run_strs(&[&url])))
            .collect();
        for run in runs {
            let report = run
                .join()
                .expect("a run panicked")
                .expect("the target parses");
            assert!(report.is_healthy());
        }
    });
    assert_eq!(srv.request_count(), 4);
    Ok(())
}

/// An app that logs `{probe:?}` or `{report:?}` logs no credential, while the checks still send
/// them: the bearer token (given or read from a file), an Authorization header, the password of
/// a proxy, a URL or a password file.
#[test]
fn library_debug_shows_no_secret() -> Result<(), Error> {
    let srv = Server::http(|_| Response::ok("ok").header("Set-Cookie", "session=cookie-S8"));
    let dir = support::TempDir::new();
    let token_file = dir.write("token", "file-token-S3\n");
    let password_file = dir.write("password", "file-password-S5\n");
    let secrets = [
        "bearer-token-S1",
        "header-value-S2",
        "file-token-S3",
        "proxy-password-S4",
        "file-password-S5",
        "url-password-S7",
        "cookie-S8",
    ];
    let with_token = Probe::builder()
        .bearer_token("bearer-token-S1")
        .header("Cookie", "header-value-S2");
    let with_files = Probe::builder()
        .header("Authorization", "Basic header-value-S2")
        .proxy(format!(
            "http://user:proxy-password-S4@127.0.0.1:{}",
            dead_port()
        ))
        .bearer_file(&token_file)
        .password_file(&password_file);
    let probe = with_token.clone().build()?;
    let report = probe.run_strs(&[srv
        .url("/health")
        .replace("://", "://user:url-password-S7@")])?;
    assert!(report.is_healthy(), "{report:?}");
    let sent = &srv.requests()[0];
    assert_eq!(sent.header("Authorization"), Some("Bearer bearer-token-S1"));
    assert_eq!(sent.header("Cookie"), Some("header-value-S2"));
    let shown = [
        format!("{with_token:?}"),
        format!("{probe:?}"),
        format!("{with_files:?}"),
        format!("{:?}", with_files.clone().build()?),
        format!("{report:?}"),
    ];
    for shown in shown {
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
    Ok(())
}
