//! TLS against real loopback servers and a PKI generated at test time: trust stores
//! and their precedence (`--ca-file` > `SSL_CERT_FILE` > `SSL_CERT_DIR` > bundled roots),
//! `--insecure`, expiry and `--cert-min-days`, the name verified (`--server-name`, a `Host`
//! header, IP SANs), client certificates (PKCS#8, SEC1 and PKCS#1 keys), `tls://` targets with
//! `--send`/`--expect`, plaintext and stalling peers, TLS 1.2 and 1.3, a non-Rust peer
//! (`openssl s_server`), and the static binary in an empty root as UID 65532.
//!
//! Every case asserts the exit code and the one result line's reason.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::skip::REQUIRE_ROOT;
use crate::support::{
    ClientCert, Cmd, OpensslServer, Output, Pki, Request, Response, Server, TempDir, TestCa,
    TlsStream, dead_port, skip_unless, unix_now, ymd,
};

const DAY: u64 = 86_400;

/// Names of the usual good server certificate.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

// --- Helpers ----------------------------------------------------------------------------------

fn ok(_: &Request) -> Response {
    Response::ok("ok")
}

/// An HTTPS server on 127.0.0.1 presenting `pki`, answering `200 ok`.
fn https(pki: &Pki) -> Server {
    Server::https_with(pki, ok)
}

/// A `tls://` server presenting `pki` that does nothing after the handshake.
fn tls_server(pki: &Pki) -> Server {
    Server::tls(pki.server_config(), &pki.ca_pem, |_| {})
}

/// Writes the CA's certificate as `name` in `dir`.
fn ca_file(dir: &TempDir, name: &str, ca: &TestCa) -> PathBuf {
    dir.write(name, &ca.pem)
}

/// Exit 1 and exactly one result line for `target`, whose reason contains every one of
/// `needles` (ASCII case ignored). Returns the reason.
#[track_caller]
fn fails_with(out: &Output, target: &str, needles: &[&str]) -> String {
    out.unhealthy();
    let line = out.reports_one(false, target);
    let detail = line.detail.to_ascii_lowercase();
    for needle in needles {
        out.check(
            detail.contains(&needle.to_ascii_lowercase()),
            format!(
                "expected the reason to contain {needle:?}, got {:?}",
                line.detail
            ),
        );
    }
    line.detail
}

/// Exit 0 and exactly one `healthy` line for `target`. Returns its detail.
#[track_caller]
fn passes(out: &Output, target: &str) -> String {
    out.healthy();
    out.reports_one(true, target).detail
}

/// Exit 1 and exactly one line of output (a usage or file error, or a result line), which
/// contains every one of `needles`. Returns the line.
#[track_caller]
fn one_line_error(out: &Output, needles: &[&str]) -> String {
    out.unhealthy();
    let lines = out.lines();
    out.check(lines.len() == 1, "expected exactly one line of output");
    for needle in needles {
        out.contains(needle);
    }
    lines[0].to_string()
}

/// A CA, its good server certificate (localhost, 127.0.0.1, ::1), an HTTPS server presenting
/// it, and `ca.pem` in a temp dir.
struct Setup {
    ca: TestCa,
    dir: TempDir,
    ca_pem: PathBuf,
    srv: Server,
}

impl Setup {
    fn new() -> Setup {
        let ca = TestCa::new("healthprobe test CA");
        let dir = TempDir::new();
        let ca_pem = ca_file(&dir, "ca.pem", &ca);
        let srv = https(&ca.server(&LOCAL_NAMES));
        Setup {
            ca,
            dir,
            ca_pem,
            srv,
        }
    }

    fn url(&self) -> String {
        self.srv.url("/health")
    }

    /// Another CA's certificate as `other-ca.pem`.
    fn other_ca_pem(&self) -> PathBuf {
        ca_file(&self.dir, "other-ca.pem", &TestCa::new("some other CA"))
    }

    /// A directory holding only `ca.pem` of `ca`.
    fn cert_dir(&self, name: &str, ca: &TestCa) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir(&dir).expect("creating a cert dir");
        std::fs::write(dir.join("ca.pem"), &ca.pem).expect("writing ca.pem");
        dir
    }
}

// --- Trust: bundled roots by default, --ca-file ------------------------------------------------

#[test]
fn default_trust_rejects_a_private_ca() {
    let s = Setup::new();
    let url = s.url();
    let out = Cmd::new().arg(&url).run();
    fails_with(&out, &url, &["unknown issuer"]);
    assert_eq!(
        s.srv.request_count(),
        0,
        "no request may go over an unverified connection"
    );
}

#[test]
fn ca_file_trusts_the_private_ca() {
    let s = Setup::new();
    let url = s.url();
    let out = Cmd::new().arg("--ca-file").arg(&s.ca_pem).arg(&url).run();
    passes(&out, &url);
    assert_eq!(s.srv.only_request().path, "/health");
}

#[test]
fn ca_file_of_another_ca_is_unknown_issuer() {
    let s = Setup::new();
    let url = s.url();
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(s.other_ca_pem())
        .arg(&url)
        .run();
    fails_with(&out, &url, &["unknown issuer"]);
}

#[test]
fn ca_file_missing_names_the_file() {
    let s = Setup::new();
    let missing = s.dir.path().join("no-such-ca.pem");
    let out = Cmd::new().arg("--ca-file").arg(&missing).arg(s.url()).run();
    one_line_error(&out, &[&missing.display().to_string()]);
    out.contains_any_ci(&["not found", "no such file"]);
    assert_eq!(
        s.srv.accepted(),
        0,
        "a bad --ca-file must fail before connecting"
    );
}

#[test]
fn ca_file_with_garbage_pem_is_a_clean_failure() {
    let s = Setup::new();
    let garbage = s.dir.write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nthis is !!! not base64 ***\n-----END CERTIFICATE-----\n",
    );
    let out = Cmd::new().arg("--ca-file").arg(&garbage).arg(s.url()).run();
    one_line_error(&out, &[&garbage.display().to_string()]);
}

#[test]
fn ca_file_without_a_certificate_is_a_clean_failure() {
    let s = Setup::new();
    let text = s
        .dir
        .write("notes.txt", "just some text, no PEM block at all\n");
    let out = Cmd::new().arg("--ca-file").arg(&text).arg(s.url()).run();
    one_line_error(&out, &[&text.display().to_string()]);
}

#[test]
fn tls_failures_in_json_carry_the_reason() {
    let s = Setup::new();
    let url = s.url();
    let out = Cmd::new().args(["--format", "json"]).arg(&url).run();
    out.unhealthy();
    let json = out.json_reports(false, &[(false, &url)]);
    let reason = json
        .get("targets")
        .and_then(|t| t.as_array())
        .and_then(|t| t[0].get("reason"));
    let reason = reason
        .and_then(|r| r.as_str())
        .unwrap_or_default()
        .to_string();
    out.check(
        reason.contains("unknown issuer"),
        format!("reason {reason:?}"),
    );
}

// --- Trust: SSL_CERT_FILE, SSL_CERT_DIR and the precedence ------------------------------------

#[test]
fn ssl_cert_file_is_honoured() {
    let s = Setup::new();
    let url = s.url();
    passes(
        &Cmd::new().env("SSL_CERT_FILE", &s.ca_pem).arg(&url).run(),
        &url,
    );
}

#[test]
fn ssl_cert_file_of_another_ca_is_unknown_issuer() {
    let s = Setup::new();
    let url = s.url();
    let out = Cmd::new()
        .env("SSL_CERT_FILE", s.other_ca_pem())
        .arg(&url)
        .run();
    fails_with(&out, &url, &["unknown issuer"]);
}

#[test]
fn ssl_cert_file_missing_is_a_clean_failure() {
    let s = Setup::new();
    let missing = s.dir.path().join("no-such-bundle.crt");
    let out = Cmd::new().env("SSL_CERT_FILE", &missing).arg(s.url()).run();
    one_line_error(&out, &[&missing.display().to_string()]);
}

#[test]
fn empty_ssl_cert_file_is_ignored() {
    let s = Setup::new();
    let url = s.url();
    let dir = s.cert_dir("certs", &s.ca);
    let out = Cmd::new()
        .env("SSL_CERT_FILE", "")
        .env("SSL_CERT_DIR", &dir)
        .arg(&url)
        .run();
    passes(&out, &url);
}

#[test]
fn ssl_cert_dir_is_honoured() {
    let s = Setup::new();
    let url = s.url();
    let dir = s.cert_dir("certs", &s.ca);
    passes(&Cmd::new().env("SSL_CERT_DIR", &dir).arg(&url).run(), &url);
}

#[test]
fn ssl_cert_dir_may_list_several_directories() {
    let s = Setup::new();
    let url = s.url();
    let other = s.cert_dir("other-certs", &TestCa::new("some other CA"));
    let good = s.cert_dir("certs", &s.ca);
    let dirs = std::env::join_paths([&other, &good]).expect("joining paths");
    passes(&Cmd::new().env("SSL_CERT_DIR", &dirs).arg(&url).run(), &url);
}

#[test]
fn ssl_cert_dir_missing_or_empty_is_a_clean_failure() {
    let s = Setup::new();
    let missing = s.dir.path().join("no-such-dir");
    let out = Cmd::new().env("SSL_CERT_DIR", &missing).arg(s.url()).run();
    one_line_error(&out, &[&missing.display().to_string()]);
    let empty = s.dir.path().join("empty");
    std::fs::create_dir(&empty).expect("creating an empty dir");
    let out = Cmd::new().env("SSL_CERT_DIR", &empty).arg(s.url()).run();
    one_line_error(&out, &["SSL_CERT_DIR"]);
    assert_eq!(s.srv.accepted(), 0);
}

#[test]
fn ssl_cert_dir_of_another_ca_is_unknown_issuer() {
    let s = Setup::new();
    let url = s.url();
    let dir = s.cert_dir("other-certs", &TestCa::new("some other CA"));
    let out = Cmd::new().env("SSL_CERT_DIR", &dir).arg(&url).run();
    fails_with(&out, &url, &["unknown issuer"]);
}

#[test]
fn ca_file_beats_ssl_cert_file() {
    let s = Setup::new();
    let url = s.url();
    let other = s.other_ca_pem();
    // The right CA in SSL_CERT_FILE does not help when --ca-file names another one...
    let out = Cmd::new()
        .env("SSL_CERT_FILE", &s.ca_pem)
        .arg("--ca-file")
        .arg(&other)
        .arg(&url)
        .run();
    fails_with(&out, &url, &["unknown issuer"]);
    // ...and the wrong one there does not hurt when --ca-file names the right one.
    let out = Cmd::new()
        .env("SSL_CERT_FILE", &other)
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .arg(&url)
        .run();
    passes(&out, &url);
}

#[test]
fn ssl_cert_file_beats_ssl_cert_dir() {
    let s = Setup::new();
    let url = s.url();
    let other = s.other_ca_pem();
    let good_dir = s.cert_dir("certs", &s.ca);
    let other_dir = s.cert_dir("other-certs", &TestCa::new("some other CA"));
    let out = Cmd::new()
        .env("SSL_CERT_FILE", &other)
        .env("SSL_CERT_DIR", &good_dir)
        .arg(&url)
        .run();
    fails_with(&out, &url, &["unknown issuer"]);
    let out = Cmd::new()
        .env("SSL_CERT_FILE", &s.ca_pem)
        .env("SSL_CERT_DIR", &other_dir)
        .arg(&url)
        .run();
    passes(&out, &url);
}

#[test]
fn ca_file_beats_ssl_cert_dir() {
    let s = Setup::new();
    let url = s.url();
    let good_dir = s.cert_dir("certs", &s.ca);
    let out = Cmd::new()
        .env("SSL_CERT_DIR", &good_dir)
        .arg("--ca-file")
        .arg(s.other_ca_pem())
        .arg(&url)
        .run();
    fails_with(&out, &url, &["unknown issuer"]);
}

// --- -k/--insecure ----------------------------------------------------------------------------

#[test]
fn insecure_accepts_an_unknown_issuer() {
    let s = Setup::new();
    let url = s.url();
    passes(&Cmd::new().arg("-k").arg(&url).run(), &url);
    passes(&Cmd::new().arg("--insecure").arg(&url).run(), &url);
}

#[test]
fn insecure_accepts_an_expired_certificate() {
    let ca = TestCa::new("ca");
    let srv = https(&ca.server_valid(&LOCAL_NAMES, unix_now() - 400 * DAY, unix_now() - 30 * DAY));
    let url = srv.url("/");
    passes(&Cmd::new().arg("--insecure").arg(&url).run(), &url);
}

#[test]
fn insecure_accepts_a_name_mismatch() {
    let ca = TestCa::new("ca");
    let srv = https(&ca.server(&["api.example.com"]));
    let url = srv.url("/");
    passes(&Cmd::new().arg("-k").arg(&url).run(), &url);
}

#[test]
fn insecure_still_applies_cert_min_days() {
    // -k skips verification; it does not switch off an expiry check asked for explicitly.
    let ca = TestCa::new("ca");
    let not_after = unix_now() + 10 * DAY;
    let srv = https(&ca.server_valid(&LOCAL_NAMES, unix_now() - DAY, not_after));
    let url = srv.url("/");
    let out = Cmd::new()
        .args(["-k", "--cert-min-days", "30"])
        .arg(&url)
        .run();
    fails_with(&out, &url, &[&ymd(not_after)]);
}

// --- Expiry and --cert-min-days ---------------------------------------------------------------

/// A CA file and a certificate for the local names valid until `not_after`.
fn expiring(not_after: u64) -> (TempDir, PathBuf, Pki) {
    let ca = TestCa::new("ca");
    let dir = TempDir::new();
    let ca_pem = ca_file(&dir, "ca.pem", &ca);
    let pki = ca.server_valid(
        &LOCAL_NAMES,
        not_after.min(unix_now()) - 365 * DAY,
        not_after,
    );
    (dir, ca_pem, pki)
}

#[test]
fn expired_certificate_https() {
    let not_after = unix_now() - 40 * DAY;
    let (_dir, ca_pem, pki) = expiring(not_after);
    let srv = https(&pki);
    let url = srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&url).run();
    fails_with(&out, &url, &["expired", &ymd(not_after)]);
    assert_eq!(srv.request_count(), 0);
}

#[test]
fn expired_certificate_tls() {
    let not_after = unix_now() - 40 * DAY;
    let (_dir, ca_pem, pki) = expiring(not_after);
    let srv = tls_server(&pki);
    let target = srv.tls_target();
    let out = Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&target).run();
    fails_with(&out, &target, &["expired", &ymd(not_after)]);
}

#[test]
fn not_yet_valid_certificate_names_the_date() {
    let not_before = unix_now() + 20 * DAY;
    let ca = TestCa::new("ca");
    let dir = TempDir::new();
    let ca_pem = ca_file(&dir, "ca.pem", &ca);
    let srv = https(&ca.server_valid(&LOCAL_NAMES, not_before, not_before + 365 * DAY));
    let url = srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&url).run();
    fails_with(&out, &url, &["not valid before", &ymd(not_before)]);
}

#[test]
fn cert_min_days_https() {
    let not_after = unix_now() + 10 * DAY;
    let (_dir, ca_pem, pki) = expiring(not_after);
    let srv = https(&pki);
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["--cert-min-days", "30"])
        .arg(&url)
        .run();
    fails_with(&out, &url, &["expires", &ymd(not_after), "30"]);
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["--cert-min-days", "5"])
        .arg(&url)
        .run();
    passes(&out, &url);
    // Without the option a certificate with 10 days left is fine.
    passes(
        &Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&url).run(),
        &url,
    );
}

#[test]
fn cert_min_days_tls() {
    let not_after = unix_now() + 10 * DAY;
    let (_dir, ca_pem, pki) = expiring(not_after);
    let srv = tls_server(&pki);
    let target = srv.tls_target();
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["--cert-min-days", "30"])
        .arg(&target)
        .run();
    fails_with(&out, &target, &["expires", &ymd(not_after), "30"]);
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["--cert-min-days", "5"])
        .arg(&target)
        .run();
    passes(&out, &target);
}

#[test]
fn cert_min_days_must_be_a_number() {
    let s = Setup::new();
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .args(["--cert-min-days", "ten"])
        .arg(s.url())
        .run();
    one_line_error(&out, &["--cert-min-days"]);
    assert_eq!(
        s.srv.accepted(),
        0,
        "a usage error must come before any I/O"
    );
}

// --- The name verified: IP SANs, --server-name, Host --------------------------------------------

/// A CA file and an HTTPS server whose certificate names only `api.example.com`.
fn named_server() -> (TempDir, PathBuf, Server) {
    let ca = TestCa::new("ca");
    let dir = TempDir::new();
    let ca_pem = ca_file(&dir, "ca.pem", &ca);
    let srv = https(&ca.server(&["api.example.com"]));
    (dir, ca_pem, srv)
}

#[test]
fn ip_target_against_a_named_certificate_fails() {
    let (_dir, ca_pem, srv) = named_server();
    let url = srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&url).run();
    fails_with(
        &out,
        &url,
        &["not valid for 127.0.0.1", "valid for api.example.com"],
    );
}

#[test]
fn server_name_sets_the_name_verified() {
    let (_dir, ca_pem, srv) = named_server();
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["--server-name", "api.example.com"])
        .arg(&url)
        .run();
    passes(&out, &url);
}

#[test]
fn wrong_server_name_fails() {
    let (_dir, ca_pem, srv) = named_server();
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["--server-name", "www.example.org"])
        .arg(&url)
        .run();
    fails_with(
        &out,
        &url,
        &["not valid for www.example.org", "api.example.com"],
    );
}

#[test]
fn host_header_sets_the_name_verified() {
    let (_dir, ca_pem, srv) = named_server();
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["-H", "Host: api.example.com"])
        .arg(&url)
        .run();
    passes(&out, &url);
    assert_eq!(srv.only_request().header("host"), Some("api.example.com"));
}

#[test]
fn host_header_with_a_port_sets_the_name_verified() {
    let (_dir, ca_pem, srv) = named_server();
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["-H", "Host: api.example.com:8443"])
        .arg(&url)
        .run();
    passes(&out, &url);
}

#[test]
fn wrong_host_header_fails() {
    let (_dir, ca_pem, srv) = named_server();
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["-H", "Host: www.example.org"])
        .arg(&url)
        .run();
    fails_with(&out, &url, &["not valid for www.example.org"]);
}

#[test]
fn server_name_beats_the_host_header() {
    let (_dir, ca_pem, srv) = named_server();
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args([
            "--server-name",
            "api.example.com",
            "-H",
            "Host: www.example.org",
        ])
        .arg(&url)
        .run();
    passes(&out, &url);
    // The Host header still goes to the server as given.
    assert_eq!(srv.only_request().header("host"), Some("www.example.org"));
}

/// A server that completes a handshake only for a client sending SNI `api.example.com`.
fn sni_only_server() -> (TempDir, PathBuf, Server) {
    let ca = TestCa::new("ca");
    let dir = TempDir::new();
    let ca_pem = ca_file(&dir, "ca.pem", &ca);
    let pki = ca.server(&["api.example.com"]);
    let srv = Server::https_config(
        std::net::Ipv4Addr::LOCALHOST,
        pki.server_config_sni_only("api.example.com"),
        &pki.ca_pem,
        ok,
    );
    (dir, ca_pem, srv)
}

#[test]
fn server_name_and_host_header_are_sent_as_sni() {
    let (_dir, ca_pem, srv) = sni_only_server();
    let url = srv.url("/");
    // An IP-literal target sends no SNI: the server has no certificate for that.
    let out = Cmd::new().arg("-k").arg(&url).run();
    fails_with(&out, &url, &["handshake"]);
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["--server-name", "api.example.com"])
        .arg(&url)
        .run();
    passes(&out, &url);
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .args(["-H", "Host: api.example.com"])
        .arg(&url)
        .run();
    passes(&out, &url);
}

#[test]
fn ipv4_target_verifies_against_an_ip_san() {
    let s = Setup::new();
    let url = s.url();
    assert!(url.starts_with("https://127.0.0.1:"));
    passes(
        &Cmd::new().arg("--ca-file").arg(&s.ca_pem).arg(&url).run(),
        &url,
    );
}

#[test]
fn ipv6_target_verifies_against_an_ip_san() {
    let ca = TestCa::new("ca");
    let dir = TempDir::new();
    let ca_pem = ca_file(&dir, "ca.pem", &ca);
    let pki = ca.server(&LOCAL_NAMES);
    let srv = Server::https_config(
        std::net::Ipv6Addr::LOCALHOST,
        pki.server_config(),
        &pki.ca_pem,
        ok,
    );
    let url = srv.url("/");
    assert!(url.starts_with("https://[::1]:"), "{url}");
    passes(
        &Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&url).run(),
        &url,
    );
}

#[test]
fn ipv6_target_without_its_ip_san_fails() {
    let ca = TestCa::new("ca");
    let dir = TempDir::new();
    let ca_pem = ca_file(&dir, "ca.pem", &ca);
    let pki = ca.server(&["localhost", "127.0.0.1"]);
    let srv = Server::https_config(
        std::net::Ipv6Addr::LOCALHOST,
        pki.server_config(),
        &pki.ca_pem,
        ok,
    );
    let url = srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&url).run();
    fails_with(&out, &url, &["not valid for ::1"]);
}

#[test]
fn ip_target_is_not_matched_by_a_dns_name() {
    // A certificate for `localhost` only does not cover 127.0.0.1, although that is where
    // localhost points: IP targets verify against IP SANs.
    let ca = TestCa::new("ca");
    let dir = TempDir::new();
    let ca_pem = ca_file(&dir, "ca.pem", &ca);
    let srv = https(&ca.server(&["localhost"]));
    let url = srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&url).run();
    fails_with(&out, &url, &["not valid for 127.0.0.1", "localhost"]);
    let by_name = srv.localhost_url("/");
    passes(
        &Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&by_name).run(),
        &by_name,
    );
}

// --- Client certificates (mTLS) ---------------------------------------------------------------

/// A CA, an HTTPS server requiring a client certificate it issued (TLS `versions`), and
/// `ca.pem`.
struct Mtls {
    ca: TestCa,
    dir: TempDir,
    ca_pem: PathBuf,
    srv: Server,
}

impl Mtls {
    fn new(versions: &[&'static rustls::SupportedProtocolVersion]) -> Mtls {
        let ca = TestCa::new("ca");
        let dir = TempDir::new();
        let ca_pem = ca_file(&dir, "ca.pem", &ca);
        let pki = ca.server(&LOCAL_NAMES);
        let srv = Server::https_config(
            std::net::Ipv4Addr::LOCALHOST,
            pki.server_config_with(versions, Some(&ca)),
            &pki.ca_pem,
            ok,
        );
        Mtls {
            ca,
            dir,
            ca_pem,
            srv,
        }
    }

    /// Writes the client certificate and key; returns their paths.
    fn files(&self, prefix: &str, client: &ClientCert) -> (PathBuf, PathBuf) {
        (
            self.dir.write(&format!("{prefix}.crt"), &client.cert_pem),
            self.dir.write(&format!("{prefix}.key"), &client.key_pem),
        )
    }

    fn with_client(&self, cert: &Path, key: &Path) -> Output {
        Cmd::new()
            .arg("--ca-file")
            .arg(&self.ca_pem)
            .arg("--cert")
            .arg(cert)
            .arg("--key")
            .arg(key)
            .arg(self.srv.url("/"))
            .run()
    }
}

#[test]
fn mtls_without_a_client_certificate_is_refused_tls13() {
    let m = Mtls::new(&[&rustls::version::TLS13]);
    let url = m.srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&m.ca_pem).arg(&url).run();
    fails_with(&out, &url, &["client certificate"]);
    out.contains_any_ci(&["refused", "certificate required"]);
    assert_eq!(m.srv.request_count(), 0);
}

#[test]
fn mtls_without_a_client_certificate_is_refused_tls12() {
    let m = Mtls::new(&[&rustls::version::TLS12]);
    let url = m.srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&m.ca_pem).arg(&url).run();
    fails_with(&out, &url, &["tls handshake"]);
    assert_eq!(m.srv.request_count(), 0);
}

#[test]
fn mtls_refusal_tls12_always_hints_at_the_client_certificate() {
    let m = Mtls::new(&[&rustls::version::TLS12]);
    let url = m.srv.url("/");
    for _ in 0..20 {
        let out = Cmd::new().arg("--ca-file").arg(&m.ca_pem).arg(&url).run();
        fails_with(&out, &url, &["tls handshake", "client certificate"]);
    }
}

#[test]
fn mtls_with_a_client_certificate_passes() {
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        let m = Mtls::new(versions);
        let (cert, key) = m.files("client", &m.ca.client("probe"));
        passes(&m.with_client(&cert, &key), &m.srv.url("/"));
        assert_eq!(m.srv.request_count(), 1);
    }
}

#[test]
fn mtls_with_a_client_certificate_of_another_ca_is_refused() {
    let m = Mtls::new(rustls::ALL_VERSIONS);
    let (cert, key) = m.files("stranger", &TestCa::new("another CA").client("probe"));
    let out = m.with_client(&cert, &key);
    fails_with(&out, &m.srv.url("/"), &["refused"]);
    assert_eq!(m.srv.request_count(), 0);
}

#[test]
fn cert_without_key_is_a_usage_error() {
    let m = Mtls::new(rustls::ALL_VERSIONS);
    let (cert, key) = m.files("client", &m.ca.client("probe"));
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&m.ca_pem)
        .arg("--cert")
        .arg(&cert)
        .arg(m.srv.url("/"))
        .run();
    one_line_error(&out, &["--cert", "--key"]);
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&m.ca_pem)
        .arg("--key")
        .arg(&key)
        .arg(m.srv.url("/"))
        .run();
    one_line_error(&out, &["--cert", "--key"]);
    assert_eq!(
        m.srv.accepted(),
        0,
        "a usage error must come before any I/O"
    );
}

#[test]
fn client_cert_file_missing_names_the_file() {
    let m = Mtls::new(rustls::ALL_VERSIONS);
    let (_, key) = m.files("client", &m.ca.client("probe"));
    let missing = m.dir.path().join("no-such-client.crt");
    let out = m.with_client(&missing, &key);
    one_line_error(&out, &[&missing.display().to_string()]);
}

#[test]
fn client_key_garbage_names_the_file() {
    let m = Mtls::new(rustls::ALL_VERSIONS);
    let (cert, _) = m.files("client", &m.ca.client("probe"));
    let garbage = m.dir.write("garbage.key", "not a key\n");
    let out = m.with_client(&cert, &garbage);
    one_line_error(&out, &[&garbage.display().to_string()]);
}

#[test]
fn client_key_of_another_certificate_is_a_clean_failure() {
    let m = Mtls::new(rustls::ALL_VERSIONS);
    let (cert, _) = m.files("client", &m.ca.client("probe"));
    let (_, other_key) = m.files("other", &m.ca.client("other"));
    let out = m.with_client(&cert, &other_key);
    out.unhealthy();
    out.check(
        out.lines().len() == 1,
        "expected exactly one line of output",
    );
    assert_eq!(m.srv.request_count(), 0);
}

/// Runs `openssl ARGS`; `None` (after [`support::skip()`]) when there is no `openssl` to run.
/// Any other failure of openssl fails the test.
fn openssl(args: &[&str], dir: &Path) -> Option<()> {
    let cmdline = format!("openssl {}", args.join(" "));
    match Command::new("openssl").args(args).current_dir(dir).output() {
        Ok(out) if out.status.success() => Some(()),
        Ok(out) => panic!(
            "`{cmdline}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            support::skip(format!("no openssl to run `{cmdline}`"));
            None
        }
        Err(e) => panic!("running `{cmdline}`: {e}"),
    }
}

#[test]
fn mtls_with_a_sec1_ec_key() {
    let m = Mtls::new(rustls::ALL_VERSIONS);
    let client = m.ca.client("probe");
    let (cert, pkcs8) = m.files("client", &client);
    // `openssl pkey -traditional` writes an EC key as SEC1: `BEGIN EC PRIVATE KEY`.
    let Some(()) = openssl(
        &[
            "pkey",
            "-in",
            "client.key",
            "-traditional",
            "-out",
            "sec1.key",
        ],
        m.dir.path(),
    ) else {
        return;
    };
    let sec1 = m.dir.path().join("sec1.key");
    let text = std::fs::read_to_string(&sec1).expect("reading sec1.key");
    assert!(text.starts_with("-----BEGIN EC PRIVATE KEY-----"), "{text}");
    passes(&m.with_client(&cert, &sec1), &m.srv.url("/"));
    passes(&m.with_client(&cert, &pkcs8), &m.srv.url("/"));
}

#[test]
fn mtls_with_pkcs1_and_pkcs8_rsa_keys() {
    let m = Mtls::new(rustls::ALL_VERSIONS);
    let dir = m.dir.path();
    let Some(()) = openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa8.key",
        ],
        dir,
    ) else {
        return;
    };
    let Some(()) = openssl(
        &[
            "pkey",
            "-in",
            "rsa8.key",
            "-traditional",
            "-out",
            "rsa1.key",
        ],
        dir,
    ) else {
        return;
    };
    let pkcs8 = std::fs::read_to_string(dir.join("rsa8.key")).expect("reading rsa8.key");
    let pkcs1 = std::fs::read_to_string(dir.join("rsa1.key")).expect("reading rsa1.key");
    assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"), "{pkcs8}");
    assert!(
        pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{pkcs1}"
    );
    let client = m.ca.client_for_key("probe", &pkcs8, &pkcs1);
    let (cert, key1) = m.files("rsa-client", &client);
    passes(&m.with_client(&cert, &key1), &m.srv.url("/"));
    passes(
        &m.with_client(&cert, &dir.join("rsa8.key")),
        &m.srv.url("/"),
    );
    assert_eq!(m.srv.request_count(), 2);
}

#[test]
fn mtls_over_a_tls_target() {
    let ca = TestCa::new("ca");
    let dir = TempDir::new();
    let ca_pem = ca_file(&dir, "ca.pem", &ca);
    let pki = ca.server(&LOCAL_NAMES);
    let srv = Server::tls(pki.server_config_mtls(&ca), &ca.pem, |_| {});
    let target = srv.tls_target();
    let client = ca.client("probe");
    let cert = dir.write("client.crt", &client.cert_pem);
    let key = dir.write("client.key", &client.key_pem);
    let out = Cmd::new().arg("--ca-file").arg(&ca_pem).arg(&target).run();
    fails_with(&out, &target, &["client certificate"]);
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca_pem)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg(&target)
        .run();
    passes(&out, &target);
}

// --- tls:// targets ---------------------------------------------------------------------------

#[test]
fn tls_target_handshake_passes() {
    let s = Setup::new();
    let srv = tls_server(&s.ca.server(&LOCAL_NAMES));
    let target = srv.tls_target();
    let detail = passes(
        &Cmd::new()
            .arg("--ca-file")
            .arg(&s.ca_pem)
            .arg(&target)
            .run(),
        &target,
    );
    assert!(detail.contains("tls 1.3"), "{detail}");
    assert_eq!(srv.accepted_at_least(1), 1);
}

#[test]
fn tls_target_unknown_issuer_fails() {
    let s = Setup::new();
    let srv = tls_server(&s.ca.server(&LOCAL_NAMES));
    let target = srv.tls_target();
    fails_with(&Cmd::new().arg(&target).run(), &target, &["unknown issuer"]);
}

#[test]
fn tls_target_name_mismatch_and_server_name() {
    let s = Setup::new();
    let srv = tls_server(&s.ca.server(&["db.internal"]));
    let target = srv.tls_target();
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .arg(&target)
        .run();
    fails_with(&out, &target, &["not valid for 127.0.0.1", "db.internal"]);
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .args(["--server-name", "db.internal"])
        .arg(&target)
        .run();
    passes(&out, &target);
}

/// A `tls://` server that answers each line it reads with `+PONG` when it is `PING`.
fn ping_server(pki: &Pki) -> Server {
    Server::tls(pki.server_config(), &pki.ca_pem, |tls: &mut TlsStream| {
        let mut line = String::new();
        if BufReader::new(Read::by_ref(tls))
            .read_line(&mut line)
            .is_ok()
            && line == "PING\r\n"
        {
            let _ = tls.write_all(b"+PONG\r\n");
        } else {
            let _ = tls.write_all(b"-ERR unknown command\r\n");
        }
    })
}

#[test]
fn tls_target_send_expect_passes() {
    let s = Setup::new();
    let srv = ping_server(&s.ca.server(&LOCAL_NAMES));
    let target = srv.tls_target();
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .args(["--send", r"PING\r\n", "--expect", "PONG"])
        .arg(&target)
        .run();
    passes(&out, &target);
}

#[test]
fn tls_target_send_expect_mismatch_fails() {
    let s = Setup::new();
    let srv = ping_server(&s.ca.server(&LOCAL_NAMES));
    let target = srv.tls_target();
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .args(["--send", r"PONG\r\n", "--expect", "PONG"])
        .arg(&target)
        .run();
    fails_with(&out, &target, &["PONG", "ERR unknown command"]);
}

#[test]
fn tls_target_banner_expect() {
    let s = Setup::new();
    let pki = s.ca.server(&LOCAL_NAMES);
    let srv = Server::tls(pki.server_config(), &pki.ca_pem, |tls: &mut TlsStream| {
        let _ = tls.write_all(b"220 mail.test ESMTP ready\r\n");
        let _ = tls.flush();
        // Wait for the probe to hang up.
        let _ = tls.read(&mut [0u8; 64]);
    });
    let target = srv.tls_target();
    passes(
        &Cmd::new()
            .arg("--ca-file")
            .arg(&s.ca_pem)
            .args(["--expect", "220 "])
            .arg(&target)
            .run(),
        &target,
    );
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .args(["-t", "1s", "--expect", "554 "])
        .arg(&target)
        .run();
    fails_with(&out, &target, &["554", "220 mail.test"]);
    out.ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
}

#[test]
fn tls_target_against_a_plaintext_peer() {
    let srv = Server::raw(|mut s| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
        let _ = s.read(&mut [0u8; 1024]);
    });
    let target = format!("tls://{}", srv.authority());
    let out = Cmd::new().args(["-t", "2s"]).arg(&target).run();
    fails_with(&out, &target, &["does not speak tls"]);
}

#[test]
fn tls_target_stalled_handshake_times_out() {
    let srv = Server::silent();
    let target = format!("tls://{}", srv.authority());
    let out = Cmd::new().args(["-t", "1s"]).arg(&target).run();
    fails_with(&out, &target, &["timed out after 1s", "tls"]);
    out.ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    eprintln!("tls:// stalled handshake, -t 1s: {:?}", out.elapsed);
}

#[test]
fn tls_target_connection_refused() {
    let target = format!("tls://127.0.0.1:{}", dead_port());
    fails_with(&Cmd::new().arg(&target).run(), &target, &["refused"]);
}

// --- Hostile and stalling peers on https:// ---------------------------------------------------

#[test]
fn https_target_against_a_plaintext_server() {
    // What an HTTP server says to a ClientHello: 400 and close.
    let srv = Server::raw(|mut s| {
        let _ = s.read(&mut [0u8; 4096]);
        let _ = s.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    let url = format!("https://{}/", srv.authority());
    let out = Cmd::new().args(["-t", "2s"]).arg(&url).run();
    fails_with(&out, &url, &["does not speak tls"]);
}

#[test]
fn https_target_stalled_handshake_times_out() {
    // Accepts, reads the ClientHello, never answers.
    let srv = Server::silent();
    let url = format!("https://{}/", srv.authority());
    let start = Instant::now();
    let out = Cmd::new().args(["-t", "1s"]).arg(&url).run();
    fails_with(&out, &url, &["tls", "time"]);
    out.ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    eprintln!("https:// stalled handshake, -t 1s: {:?}", start.elapsed());
}

#[test]
fn https_target_stalled_handshake_names_the_deadline() {
    let srv = Server::silent();
    let url = format!("https://{}/", srv.authority());
    let out = Cmd::new().args(["-t", "1s"]).arg(&url).run();
    fails_with(&out, &url, &["timed out after 1s during the tls handshake"]);
}

#[test]
fn https_target_closed_during_the_handshake() {
    let srv = Server::raw(|mut s| {
        let _ = s.read(&mut [0u8; 4096]);
    });
    let url = format!("https://{}/", srv.authority());
    let out = Cmd::new().args(["-t", "2s"]).arg(&url).run();
    fails_with(&out, &url, &["tls handshake"]);
    out.within(Duration::from_secs(2));
}

// --- Protocol versions ------------------------------------------------------------------------

/// A server that speaks only `version`: https:// (whose `-v` line names it) and tls:// (whose
/// result line does) both pass and say `name`.
fn only_one_version(version: &'static rustls::SupportedProtocolVersion, name: &str) {
    let s = Setup::new();
    let pki = s.ca.server(&LOCAL_NAMES);
    let config = pki.server_config_with(&[version], None);
    let srv = Server::https_config(
        std::net::Ipv4Addr::LOCALHOST,
        config.clone(),
        &pki.ca_pem,
        ok,
    );
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("-v")
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .arg(&url)
        .run();
    out.healthy().contains(name);
    let tls = Server::tls(config, &pki.ca_pem, |_| {});
    let target = tls.tls_target();
    let detail = passes(
        &Cmd::new()
            .arg("--ca-file")
            .arg(&s.ca_pem)
            .arg(&target)
            .run(),
        &target,
    );
    assert!(detail.contains(name), "{detail}");
}

#[test]
fn tls12_only_server() {
    only_one_version(&rustls::version::TLS12, "tls 1.2");
}

#[test]
fn tls13_only_server() {
    only_one_version(&rustls::version::TLS13, "tls 1.3");
}

#[test]
fn https_offers_alpn_http11() {
    let s = Setup::new();
    let pki = s.ca.server(&LOCAL_NAMES);
    let with_alpn = |protocols: &[&[u8]]| {
        let mut config = (*pki.server_config()).clone();
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        Server::https_config(
            std::net::Ipv4Addr::LOCALHOST,
            std::sync::Arc::new(config),
            &pki.ca_pem,
            ok,
        )
    };
    // A server speaking h2 and http/1.1 agrees on http/1.1 with the probe.
    let srv = with_alpn(&[b"h2", b"http/1.1"]);
    let out = Cmd::new()
        .arg("-v")
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .arg(srv.url("/"))
        .run();
    out.healthy().contains("alpn http/1.1");
    // An h2-only server has no protocol in common with it and refuses the handshake.
    let srv = with_alpn(&[b"h2"]);
    let url = srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&s.ca_pem).arg(&url).run();
    fails_with(&out, &url, &["application protocol"]);
    // A server without ALPN (the default test server) is fine too.
    passes(
        &Cmd::new()
            .arg("--ca-file")
            .arg(&s.ca_pem)
            .arg(s.url())
            .run(),
        &s.url(),
    );
}

// --- A non-Rust peer: openssl s_server ----------------------------------------------------------

#[test]
fn openssl_server_with_ca_file() {
    let s = Setup::new();
    let pki = s.ca.server(&LOCAL_NAMES);
    let Some(srv) = OpensslServer::www(&pki, &[]) else {
        return;
    };
    let url = srv.url("/");
    passes(
        &Cmd::new().arg("--ca-file").arg(&s.ca_pem).arg(&url).run(),
        &url,
    );
    fails_with(&Cmd::new().arg(&url).run(), &url, &["unknown issuer"]);
    let target = format!("tls://127.0.0.1:{}", srv.port());
    passes(
        &Cmd::new()
            .arg("--ca-file")
            .arg(&s.ca_pem)
            .arg(&target)
            .run(),
        &target,
    );
}

#[test]
fn openssl_server_tls12_only() {
    let s = Setup::new();
    let pki = s.ca.server(&LOCAL_NAMES);
    let Some(srv) = OpensslServer::www(&pki, &["-tls1_2"]) else {
        return;
    };
    let url = srv.url("/");
    let out = Cmd::new()
        .arg("-v")
        .arg("--ca-file")
        .arg(&s.ca_pem)
        .arg(&url)
        .run();
    out.healthy().contains("tls 1.2");
}

#[test]
fn openssl_server_names_and_expiry() {
    let s = Setup::new();
    let not_after = unix_now() + 10 * DAY;
    let pki =
        s.ca.server_valid(&["api.example.com"], unix_now() - DAY, not_after);
    let Some(srv) = OpensslServer::www(&pki, &[]) else {
        return;
    };
    let url = srv.url("/");
    let out = Cmd::new().arg("--ca-file").arg(&s.ca_pem).arg(&url).run();
    fails_with(&out, &url, &["not valid for 127.0.0.1", "api.example.com"]);
    let named = || {
        Cmd::new()
            .arg("--ca-file")
            .arg(&s.ca_pem)
            .args(["--server-name", "api.example.com"])
    };
    passes(&named().arg(&url).run(), &url);
    fails_with(
        &named().args(["--cert-min-days", "30"]).arg(&url).run(),
        &url,
        &[&ymd(not_after)],
    );
}

#[test]
fn openssl_server_requiring_a_client_certificate() {
    let s = Setup::new();
    let pki = s.ca.server(&LOCAL_NAMES);
    let ca_pem = s.ca_pem.display().to_string();
    let client = s.ca.client("probe");
    let cert = s.dir.write("client.crt", &client.cert_pem);
    let key = s.dir.write("client.key", &client.key_pem);
    for version in [&[][..], &["-tls1_2"][..]] {
        let mut args = vec!["-Verify", "1", "-CAfile", &ca_pem, "-verify_return_error"];
        args.extend_from_slice(version);
        let Some(srv) = OpensslServer::www(&pki, &args) else {
            return;
        };
        let url = srv.url("/");
        let out = Cmd::new()
            .arg("--ca-file")
            .arg(&s.ca_pem)
            .args(["-t", "3s"])
            .arg(&url)
            .run();
        fails_with(&out, &url, &["refused", "client certificate"]);
        let out = Cmd::new()
            .arg("--ca-file")
            .arg(&s.ca_pem)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg(&url)
            .run();
        passes(&out, &url);
    }
}

// --- The static binary in an empty root, as UID 65532 -----------------------------------------

/// The static (musl) release binary: built now into this test run's target directory (a
/// no-op when it is fresh), else the repository's own build. `None` when neither works.
fn static_binary() -> Option<PathBuf> {
    let triple = match std::env::consts::ARCH {
        "x86_64" => "x86_64-unknown-linux-musl",
        "aarch64" => "aarch64-unknown-linux-musl",
        other => {
            eprintln!("no musl target for {other}");
            return None;
        }
    };
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // CARGO_BIN_EXE_healthprobe is <target dir>/<profile>/healthprobe.
    let exe = Path::new(env!("CARGO_BIN_EXE_healthprobe"));
    let target_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir of the test binary");
    let started = Instant::now();
    let built = support::cargo()
        .args([
            "build",
            "--release",
            "--target",
            triple,
            "--bin",
            "healthprobe",
            "--manifest-path",
        ])
        .arg(manifest_dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .output();
    let candidate = target_dir.join(triple).join("release").join("healthprobe");
    match built {
        Ok(out) if out.status.success() && candidate.is_file() => {
            eprintln!(
                "static binary {} ready in {:?}",
                candidate.display(),
                started.elapsed()
            );
            return Some(candidate);
        }
        Ok(out) => eprintln!(
            "building the static binary failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("cannot run cargo to build the static binary: {e}"),
    }
    let fallback = manifest_dir
        .join("target")
        .join(triple)
        .join("release")
        .join("healthprobe");
    if fallback.is_file() {
        eprintln!(
            "using {} (may be older than the source)",
            fallback.display()
        );
        return Some(fallback);
    }
    None
}

/// A run of another program (here `chroot`).
struct Run {
    cmdline: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Runs `program` with a cleared environment (but `PATH`).
    fn new(program: &str, args: &[OsString]) -> Run {
        let words: Vec<_> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let cmdline = format!("{program} {}", words.join(" "));
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap_or_else(|e| panic!("running {cmdline}: {e}"));
        Run {
            cmdline,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Exit `code` and exactly one line of output, starting with `first` (when given) and
    /// containing every one of `needles`.
    #[track_caller]
    fn expect(&self, code: i32, first: Option<&str>, needles: &[&str]) {
        let all = format!("{}{}", self.stdout, self.stderr);
        let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
        let ok = self.code == Some(code)
            && lines.len() == 1
            && first.is_none_or(|w| lines[0].split_whitespace().next() == Some(w))
            && needles.iter().all(|n| lines[0].contains(n));
        assert!(
            ok,
            "\nexpected exit {code} and one line starting with {first:?} containing {needles:?}\n\n\
             command: {}\nexit:    {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.cmdline, self.code, self.stdout, self.stderr
        );
    }
}

#[test]
fn static_binary_in_an_empty_root_as_uid_65532() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    let euid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    if euid != 0 {
        return skip_unless(
            REQUIRE_ROOT,
            format!("the chroot test needs root (euid {euid})"),
        );
    }
    let Some(binary) = static_binary() else {
        return skip_unless(
            REQUIRE_ROOT,
            "no static healthprobe binary could be built or found",
        );
    };
    let s = Setup::new();
    let root = TempDir::new();
    let probe = root.path().join("healthprobe");
    std::fs::copy(&binary, &probe).expect("copying the binary");
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
    let ca = root.write("ca.pem", &s.ca.pem);
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).expect("chmod 644");
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod 755");
    let entries: Vec<_> = std::fs::read_dir(root.path())
        .expect("listing the root")
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "the root holds only the binary and ca.pem"
    );

    let url = s.url();
    let chroot = |args: &[&str]| {
        let mut all: Vec<OsString> = vec![
            "--userspec=65532:65532".into(),
            root.path().into(),
            "/healthprobe".into(),
        ];
        all.extend(args.iter().map(OsString::from));
        Run::new("chroot", &all)
    };
    chroot(&["-t", "5s", "--ca-file", "/ca.pem", &url]).expect(0, Some("healthy"), &[&url]);
    chroot(&["-t", "5s", "--ca-file", "/missing-ca.pem", &url]).expect(
        1,
        None,
        &["/missing-ca.pem"],
    );
    // No CA bundle in the root and none given: the bundled roots do not know the test CA.
    chroot(&["-t", "5s", &url]).expect(1, Some("unhealthy"), &["unknown issuer"]);
    assert_eq!(s.srv.request_count(), 1);
}

// --- A self-signed certificate with CA:TRUE, as `openssl req -x509` makes -----------------------

/// Trusting such a certificate with `--ca-file` still fails (webpki will not take a CA
/// certificate as the server's own), and the reason says so and what to do instead.
#[test]
fn self_signed_ca_certificate_as_server_certificate_is_explained() {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let srv = Server::https_config(
        std::net::Ipv4Addr::LOCALHOST,
        std::sync::Arc::new(config),
        &cert.pem(),
        |_| Response::ok("ok"),
    );
    let dir = TempDir::new();
    let ca = dir.write("self-signed.pem", cert.pem());
    let url = format!("https://localhost:{}/", srv.port());
    let out = Cmd::new().arg("--ca-file").arg(&ca).arg(&url).run();
    out.unhealthy()
        .contains("is a CA certificate")
        .contains("-k");
    Cmd::new().arg("-k").arg(&url).run().healthy();
}
