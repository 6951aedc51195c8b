//! `healthprobe seal OUT …` and the sealed copies it writes: the sealed check runs with no
//! arguments; every other use an intruder would make of the copy (another target, a secret
//! file, a command, a verb, the environment) exits 1 with one line and connects nowhere;
//! damaged sealed data runs nothing; the same inputs give the same bytes.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{Cmd, Output, Response, Server, TempDir, probe_binary};

/// Seals `args` into `dir/name` and returns its path; fails the test unless `seal` succeeded
/// with one line.
fn seal(dir: &TempDir, name: &str, args: &[&str]) -> PathBuf {
    seal_env(dir, name, args, &[])
}

fn seal_env(dir: &TempDir, name: &str, args: &[&str], env: &[(&str, &str)]) -> PathBuf {
    let out = dir.path().join(name);
    let mut cmd = Cmd::new().arg("seal").arg(&out).args(args);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let o = cmd.run();
    o.healthy();
    assert_eq!(o.lines().len(), 1, "seal prints one line:\n{}", o.all());
    o.contains(&format!("sealed {}", out.display()));
    out
}

/// `seal` fails with one line naming `needle`, and leaves nothing in `dir`.
fn seal_fails(args: &[&str], env: &[(&str, &str)], needle: &str) {
    let dir = TempDir::new();
    let out = dir.path().join("hc");
    let mut cmd = Cmd::new().arg("seal").arg(&out).args(args);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let o = cmd.run();
    o.unhealthy().contains(needle);
    assert_eq!(o.lines().len(), 1, "one line:\n{}", o.all());
    assert_eq!(
        entries(dir.path()),
        Vec::<String>::new(),
        "seal left files behind"
    );
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A sealed copy given `args` refuses with the one line of a sealed copy.
fn refuses(sealed: &Path, args: &[&str]) -> Output {
    let o = Cmd::program(sealed).args(args).run();
    o.unhealthy()
        .contains("this copy is sealed: it runs its own check and takes no arguments");
    assert_eq!(o.lines().len(), 1, "one line:\n{}", o.all());
    o
}

fn ok_server() -> Server {
    Server::http(|_| Response::ok("ok"))
}

#[test]
fn sealed_copy_runs_its_check() {
    let up = ok_server();
    let dir = TempDir::new();
    let hc = seal(&dir, "hc", &["-t", "2s", &up.url("/health")]);
    let meta = fs::metadata(&hc).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o755);
    assert_eq!(
        meta.len(),
        fs::metadata(probe_binary()).unwrap().len(),
        "a sealed copy is as long as the binary it was sealed from"
    );
    Cmd::program(&hc)
        .run()
        .reports_one(true, &up.url("/health"));
    assert_eq!(up.only_request().path, "/health");
}

#[test]
fn sealed_copy_reports_unhealthy_with_exit_1() {
    let down = Server::http(|_| Response::new(503));
    let dir = TempDir::new();
    let hc = seal(&dir, "hc", &["--format", "json", &down.url("/")]);
    let o = Cmd::program(&hc).run();
    o.unhealthy();
    o.json_reports(false, &[(false, &down.url("/"))]);
}

#[test]
fn sealed_copy_refuses_every_argument_and_connects_nowhere() {
    let up = ok_server();
    let elsewhere = Server::silent();
    let dir = TempDir::new();
    let secret = dir.write("db-password", "s3cr3t-token\n");
    let hc = seal(&dir, "hc", &[&up.url("/")]);
    let other = elsewhere.url("/");
    let secret = secret.to_str().unwrap();
    for args in [
        vec![other.as_str()],
        vec!["--bearer-file", secret, other.as_str()],
        vec!["--password-file", secret, "redis://127.0.0.1:1"],
        vec!["-t", "1s"],
        vec!["--", "/bin/true"],
        vec!["install", "/tmp"],
        vec!["seal", "/tmp/x", other.as_str()],
        vec!["-"],
        vec![""],
    ] {
        let o = refuses(&hc, &args);
        o.lacks("s3cr3t");
    }
    assert_eq!(elsewhere.accepted(), 0, "a refused run connected somewhere");
    assert_eq!(up.request_count(), 0, "a refused run ran the sealed check");
}

#[test]
fn sealed_copy_ignores_its_environment() {
    let up = ok_server();
    let elsewhere = Server::silent();
    let dir = TempDir::new();
    let hc = seal(&dir, "hc", &["-t", "3s", &up.url("/")]);
    let proxy = format!("http://{}", elsewhere.authority());
    let o = Cmd::program(&hc)
        .env("HEALTHPROBE_TARGETS", elsewhere.url("/"))
        .env("HEALTHPROBE_TIMEOUT", "1ms")
        .env("http_proxy", &proxy)
        .env("HTTP_PROXY", &proxy)
        .env("ALL_PROXY", &proxy)
        .run();
    o.reports_one(true, &up.url("/"));
    assert_eq!(
        elsewhere.accepted(),
        0,
        "the environment redirected the check"
    );
}

#[test]
fn sealed_copy_ignores_ssl_cert_file() {
    // A server whose CA only SSL_CERT_FILE names: an unsealed probe trusts it, a sealed one
    // keeps the roots it was sealed with (here the bundled ones) and does not.
    let tls = Server::https(|_| Response::ok("ok"));
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", tls.ca_pem());
    Cmd::new()
        .arg(tls.url("/"))
        .env("SSL_CERT_FILE", &ca)
        .run()
        .healthy();
    let hc = seal(&dir, "hc", &[&tls.url("/")]);
    Cmd::program(&hc)
        .env("SSL_CERT_FILE", &ca)
        .env("SSL_CERT_DIR", dir.path())
        .run()
        .unhealthy()
        .contains_ci("certificate");
    // Sealed with --ca-file, it reads that file at run time.
    let hc = seal(
        &dir,
        "hc-ca",
        &["--ca-file", ca.to_str().unwrap(), &tls.url("/")],
    );
    Cmd::program(&hc).run().healthy();
}

#[test]
fn variables_are_expanded_when_sealing() {
    let up = ok_server();
    let elsewhere = Server::silent();
    let dir = TempDir::new();
    let hc = seal_env(
        &dir,
        "hc",
        &["-H", "X-Token: ${TOKEN}", "http://127.0.0.1:${PORT}/"],
        &[("PORT", &up.port().to_string()), ("TOKEN", "t-sealed")],
    );
    Cmd::program(&hc)
        .env("PORT", elsewhere.port().to_string())
        .env("TOKEN", "t-runtime")
        .run()
        .healthy();
    assert_eq!(up.only_request().header("x-token"), Some("t-sealed"));
    assert_eq!(elsewhere.accepted(), 0);
    // --version shows the command line as written: names, never the values.
    Cmd::program(&hc)
        .arg("--version")
        .run()
        .healthy()
        .contains("sealed: -H 'X-Token: ${TOKEN}' http://127.0.0.1:${PORT}/")
        .lacks("t-sealed");
}

#[test]
fn a_kept_variable_is_read_at_run_time_in_the_port() {
    let up = ok_server();
    let dir = TempDir::new();
    let out = dir.path().join("hc");
    let o = Cmd::new()
        .args(["seal"])
        .arg(&out)
        .args(["--keep-env", "PORT", "http://127.0.0.1:${PORT}/health"])
        .run();
    o.healthy().contains("${PORT} read at run time");
    Cmd::program(&out)
        .env("PORT", up.port().to_string())
        .run()
        .reports_one(true, &up.url("/health"));
    Cmd::program(&out)
        .arg("--version")
        .run()
        .healthy()
        .contains("${PORT} read at run time");
    // Unset at run time, without a default: a usage error naming it, no check.
    Cmd::program(&out).run().unhealthy().contains("PORT");
}

#[test]
fn a_kept_variable_never_stands_in_a_host() {
    for target in [
        "http://${H}:8080/",
        "http://10.0.0.${H}/",
        "tcp://${H}:5432",
        "redis://:${H}@127.0.0.1",
        "file:///run/${H}",
        "unix:///run/${H}.sock",
    ] {
        seal_fails(
            &["--keep-env", "H", target],
            &[],
            "a kept variable may stand in a port, path, query or header value only",
        );
    }
    seal_fails(
        &[
            "--keep-env",
            "H",
            "--proxy",
            "http://${H}:3128",
            "http://127.0.0.1/",
        ],
        &[],
        "stands in the proxy",
    );
    seal_fails(
        &["--keep-env", "H", "http://127.0.0.1/"],
        &[],
        "no target or header value reads ${H}",
    );
}

#[test]
fn seal_validates_as_a_run_would() {
    seal_fails(&["nonsense://x"], &[], "nonsense");
    seal_fails(
        &["--ca-file", "/nonexistent/ca.pem", "https://127.0.0.1/"],
        &[],
        "/nonexistent/ca.pem",
    );
    seal_fails(&["http://127.0.0.1:${NOT_SET}/"], &[], "NOT_SET");
    seal_fails(
        &["--no-such-flag", "http://127.0.0.1/"],
        &[],
        "--no-such-flag",
    );
    seal_fails(
        &[],
        &[("HEALTHPROBE_TARGETS", "http://127.0.0.1/")],
        "no target",
    );
    seal_fails(&["http://127.0.0.1/", "--", "app"], &[], "absolute path");
    seal_fails(&["--version"], &[], "not sealed");
    let long = format!("http://127.0.0.1/{}", "a".repeat(5000));
    seal_fails(&[&long], &[], "a sealed copy holds");
    let o = Cmd::new().arg("seal").run();
    o.unhealthy().contains("seal OUT");
    let o = Cmd::new()
        .args(["seal", "/nonexistent/dir/hc", "http://127.0.0.1/"])
        .run();
    o.unhealthy().contains("/nonexistent/dir");
}

#[test]
fn same_inputs_same_bytes() {
    let dir = TempDir::new();
    let args = ["-t", "2s", "http://127.0.0.1:8080/health"];
    let a = fs::read(seal(&dir, "a", &args)).unwrap();
    let b = fs::read(seal(&dir, "b", &args)).unwrap();
    assert!(a == b, "two seals of the same arguments differ");
    let c = fs::read(seal(
        &dir,
        "c",
        &["-t", "3s", "http://127.0.0.1:8080/health"],
    ))
    .unwrap();
    let unsealed = fs::read(probe_binary()).unwrap();
    let differ = |x: &[u8], y: &[u8]| x.iter().zip(y).filter(|(p, q)| p != q).count();
    assert!(a != c);
    // Only the slot changes: at most its 4 KiB.
    assert!(
        differ(&a, &unsealed) <= 4096,
        "sealing changed more than the slot"
    );
    assert_eq!(
        entries(dir.path()),
        ["a", "b", "c"],
        "a temporary file was left"
    );
}

/// Where the slot's magic is in a file (once).
fn slot_offset(bytes: &[u8]) -> usize {
    let magic = b"healthprobe:seal";
    let at: Vec<usize> = bytes
        .windows(magic.len())
        .enumerate()
        .filter(|(_, w)| w == magic)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the magic is in the binary once");
    at[0]
}

#[test]
fn damaged_sealed_data_runs_nothing() {
    let up = ok_server();
    let dir = TempDir::new();
    let hc = seal(&dir, "hc", &[&up.url("/")]);
    let good = fs::read(&hc).unwrap();
    let at = slot_offset(&good);
    // The magic, the state word, the length, the checksum, the payload.
    for offset in [0, 3, 16, 20, 24, 28, 36, 40, 60] {
        let mut bad = good.clone();
        bad[at + offset] ^= 0x20;
        let path = dir.write("damaged", &bad);
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        for args in [&[][..], &["--version"][..], &["http://127.0.0.1:1/"][..]] {
            let o = Cmd::program(&path).args(args).run();
            o.unhealthy().contains("damaged");
            assert_eq!(o.lines().len(), 1, "one line:\n{}", o.all());
        }
    }
    assert_eq!(up.request_count(), 0, "a damaged copy ran a check");
}

#[test]
fn truncated_copy_never_runs_unsealed() {
    // A copy cut short either still holds all that is loaded (only debug sections were cut:
    // then it is the sealed copy, refusing arguments) or is no program at all (the kernel
    // refuses it, or it dies at start). Either way another target given to it is never
    // checked: no exit 0, no connection.
    let up = ok_server();
    let elsewhere = Server::silent();
    let dir = TempDir::new();
    let hc = seal(&dir, "hc", &[&up.url("/")]);
    let good = fs::read(&hc).unwrap();
    let at = slot_offset(&good);
    use std::os::unix::fs::PermissionsExt;
    for len in [at + 20, at + 100, good.len() / 2, good.len() - 1] {
        let path = dir.write("cut", &good[..len]);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let status = std::process::Command::new(&path)
            .arg(elsewhere.url("/"))
            .env_clear()
            .output()
            .map(|o| o.status.code());
        assert!(
            !matches!(status, Ok(Some(0))),
            "a copy cut to {len} bytes exited 0"
        );
    }
    assert_eq!(
        elsewhere.accepted(),
        0,
        "a truncated copy checked another target"
    );
    assert_eq!(up.request_count(), 0, "a truncated copy ran a check");
}

#[test]
fn sealed_wait_and_command() {
    let up = ok_server();
    let dir = TempDir::new();
    let hc = seal(
        &dir,
        "hc",
        &[
            "--wait",
            "5s",
            "-q",
            &up.url("/"),
            "--",
            "/bin/echo",
            "sealed",
            "command",
        ],
    );
    let o = Cmd::program(&hc).run_any_exit();
    assert_eq!(o.code, Some(0), "{}", o.all());
    o.contains("sealed command");
}

#[test]
fn sealed_version_and_help_redact() {
    let dir = TempDir::new();
    let hc = seal(
        &dir,
        "hc",
        &[
            "-H",
            "Authorization: Bearer abc123",
            "redis://:hunter2@127.0.0.1:6379",
        ],
    );
    for flag in ["--version", "-V", "--help"] {
        Cmd::program(&hc)
            .arg(flag)
            .run()
            .healthy()
            .contains("redis://***@127.0.0.1:6379")
            .lacks("hunter2")
            .lacks("abc123");
    }
}
