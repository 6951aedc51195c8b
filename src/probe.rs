//! The probe: settings made by [`ProbeBuilder`], and running checks against one deadline.

use std::path::PathBuf;
use std::time::Duration;

use crate::check::{self, Ctx};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::net::IpFamily;
use crate::report::{CheckReport, Report};
use crate::secret::Secret;
pub use crate::settings::DEFAULT_TIMEOUT;
use crate::settings::Settings;
use crate::status::StatusList;
use crate::target::Target;

/// Runs health checks with one set of settings. Made by [`Probe::builder`].
///
/// A probe can be kept and run many times, from several threads.
#[derive(Debug)]
pub struct Probe {
    s: Settings,
    /// The rustls configs, built from `s.tls` when a check first needs one.
    #[cfg(feature = "tls")]
    tls: crate::tls::TlsConfigs,
    /// Test builds only: every check panics (the panic contract's test).
    #[cfg(any(debug_assertions, feature = "test-panic"))]
    pub(crate) panic_in_checks: bool,
}

/// Builds a [`Probe`]. Setters write straight into the probe's settings; [`ProbeBuilder::build`]
/// validates them all before any check runs, so a bad regex or a missing file fails early.
#[derive(Debug, Clone, Default)]
pub struct ProbeBuilder {
    s: Settings,
}

impl ProbeBuilder {
    /// The deadline for a whole run, all targets together: DNS, connect, TLS, request, body.
    ///
    /// Defaults to `5s`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.s.timeout = timeout;
        self
    }

    /// Whether a run is healthy when any target is, rather than all.
    ///
    /// Defaults to `false` (all must be healthy).
    pub fn any(mut self, any: bool) -> Self {
        self.s.any = any;
        self
    }

    /// The HTTP method, e.g. `HEAD`.
    ///
    /// Defaults to `GET`.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.s.method = method.into();
        self
    }

    /// Adds a request header (also gRPC metadata). A `Host` header also sets the TLS server
    /// name, unless [`ProbeBuilder::tls_server_name`] is set.
    ///
    /// Defaults to none beyond `User-Agent: healthprobe/VERSION`, `Accept: */*` and
    /// `Connection: close`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.s.headers.push((name.into(), value.into()));
        self
    }

    /// The accepted HTTP statuses.
    ///
    /// Defaults to `200-399`, as a Kubernetes `httpGet` probe.
    pub fn statuses(mut self, statuses: StatusList) -> Self {
        self.s.statuses = statuses;
        self
    }

    /// Text the body (its first 64 KiB) must contain.
    ///
    /// Defaults to none.
    pub fn body_contains(mut self, text: impl Into<String>) -> Self {
        self.s.body_contains = Some(text.into());
        self
    }

    /// A regular expression (regex-lite syntax) the body (its first 64 KiB) must match.
    ///
    /// Defaults to none.
    pub fn body_matches(mut self, pattern: impl Into<String>) -> Self {
        self.s.body_matches = Some(pattern.into());
        self
    }

    /// Adds a condition on the body read as JSON (its first 64 KiB): `PATH OP VALUE`, or `PATH`
    /// alone. Every condition added must hold. For the health endpoints that answer 200 while
    /// their JSON says they are not fine (Elasticsearch's `"status":"red"`, a Spring Boot
    /// component `"DOWN"`).
    ///
    /// - PATH: keys separated by dots and array indices, `components.db.status`,
    ///   `nodes[0].state`, `[0].Status`; a key with a dot in it is quoted, `"a.b".c`.
    /// - OP: `==`, `!=`, or (numbers only, compared exactly) `<`, `<=`, `>`, `>=`. Without one,
    ///   the value must be there and be neither `null` nor `false`.
    /// - VALUE: a JSON string, number, `true`, `false` or `null`; anything else is read as a
    ///   string (`status == UP`). `true` is not `"true"`.
    ///
    /// A body that is not one JSON document, one cut off by the 64 KiB limit, a path that is not
    /// there, or a value of another type fails the check, the reason naming the path and what was
    /// found. A condition that does not parse fails [`ProbeBuilder::build`].
    ///
    /// ```
    /// let probe = healthprobe::Probe::builder()
    ///     .body_json("status != red")
    ///     .body_json("number_of_nodes >= 3")
    ///     .build()?;
    /// # Ok::<(), healthprobe::Error>(())
    /// ```
    ///
    /// Defaults to none.
    pub fn body_json(mut self, condition: impl Into<String>) -> Self {
        self.s.body_json.push(condition.into());
        self
    }

    /// Adds a header the final response must have, with a value that matches `pattern`
    /// (regex-lite syntax; any one of its values, if the header is repeated). The values of
    /// `Authorization`, `Cookie` and the like are never shown in a reason.
    ///
    /// Defaults to none.
    pub fn header_matches(mut self, name: impl Into<String>, pattern: impl Into<String>) -> Self {
        self.s.header_matches.push((name.into(), pattern.into()));
        self
    }

    /// Whether to follow same-host redirects (at most 10). A redirect to another host is never
    /// followed: it is judged by its own status.
    ///
    /// Defaults to `true`.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.s.follow_redirects = follow;
        self
    }

    /// Sends `Authorization: Bearer TOKEN`.
    ///
    /// Defaults to none.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.s.bearer_token = Some(Secret::new(token));
        self
    }

    /// Sends `Authorization: Bearer` with the contents of this file, trimmed; read by
    /// [`ProbeBuilder::build`].
    ///
    /// Defaults to none.
    pub fn bearer_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.s.bearer_file = Some(path.into());
        self
    }

    /// A proxy URL (`http://host:port`). Proxy environment variables are always ignored: a
    /// health check talks to its own container.
    ///
    /// Defaults to none.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.s.proxy = Some(Secret::new(url));
        self
    }

    /// Which address families to use.
    ///
    /// Defaults to [`IpFamily::Any`].
    pub fn ip_family(mut self, family: IpFamily) -> Self {
        self.s.ip_family = family;
        self
    }

    /// Whether `SSL_CERT_FILE` and `SSL_CERT_DIR` (distroless images point them at their CA
    /// bundle) replace the bundled roots when no [`ProbeBuilder::tls_ca_file`] is set. A sealed
    /// probe reads neither: nothing in its environment changes whom it trusts.
    ///
    /// Defaults to `true`.
    pub fn tls_roots_from_env(mut self, from_env: bool) -> Self {
        self.s.tls.ignore_env_roots = !from_env;
        self
    }

    /// Skips certificate verification.
    ///
    /// Defaults to `false`.
    pub fn tls_insecure(mut self, insecure: bool) -> Self {
        self.s.tls.insecure = insecure;
        self
    }

    /// Trusts the CA certificates in this PEM file instead of the system or bundled roots.
    ///
    /// Defaults to none: `SSL_CERT_FILE`, then `SSL_CERT_DIR`, then the bundled Mozilla roots.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.s.tls.ca_file = Some(path.into());
        self
    }

    /// A client certificate chain (PEM) for mTLS; goes with [`ProbeBuilder::tls_key`].
    ///
    /// Defaults to none.
    pub fn tls_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.s.tls.cert = Some(path.into());
        self
    }

    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    ///
    /// Defaults to none.
    pub fn tls_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.s.tls.key = Some(path.into());
        self
    }

    /// The name sent as SNI and verified in the certificate, when it differs from the host
    /// dialled (checking `https://127.0.0.1` against a certificate for `api.example.com`).
    ///
    /// Defaults to the `Host` header if one is set, else the target's host.
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.s.tls.server_name = Some(name.into());
        self
    }

    /// Fails when the server's certificate expires within this many days.
    ///
    /// Defaults to none.
    pub fn tls_cert_min_days(mut self, days: u32) -> Self {
        self.s.tls.cert_min_days = Some(days);
        self
    }

    /// Text to send after connecting (`tcp://`, `tls://`, `unix://`); `\r`, `\n`, `\t` and
    /// `\\` escapes are understood.
    ///
    /// Defaults to none.
    pub fn send(mut self, text: impl Into<String>) -> Self {
        self.s.send = Some(text.into());
        self
    }

    /// Text the reply must contain (`tcp://`, `tls://`, `unix://`); escapes as for
    /// [`ProbeBuilder::send`].
    ///
    /// Defaults to none.
    pub fn expect(mut self, text: impl Into<String>) -> Self {
        self.s.expect = Some(text.into());
        self
    }

    /// For `file://` targets: the file must have been modified within this time.
    ///
    /// Defaults to none (existing is enough).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.s.max_age = Some(age);
        self
    }

    /// The password of `postgres://`, `mysql://` and `redis://` targets; wins over a password
    /// in the target's URL.
    ///
    /// Defaults to none: the URL's password, if any.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.s.password = Some(Secret::new(password));
        self
    }

    /// Reads the password of `postgres://`, `mysql://` and `redis://` targets from this file,
    /// trimmed, in [`ProbeBuilder::build`]; wins over [`ProbeBuilder::password`] and over a
    /// password in the target's URL. Keeps the password out of the command line, which Docker
    /// records.
    ///
    /// Defaults to none.
    pub fn password_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.s.password_file = Some(path.into());
        self
    }

    /// Validates the settings and makes the probe. Reads the bearer file; TLS files are read
    /// when the first TLS check needs them.
    pub fn build(self) -> Result<Probe, Error> {
        Ok(Probe {
            s: self.s.validate()?,
            #[cfg(feature = "tls")]
            tls: crate::tls::TlsConfigs::default(),
            #[cfg(any(debug_assertions, feature = "test-panic"))]
            panic_in_checks: false,
        })
    }
}

impl Probe {
    /// Starts building a probe.
    pub fn builder() -> ProbeBuilder {
        ProbeBuilder::default()
    }

    /// The deadline of a run.
    pub fn timeout(&self) -> Duration {
        self.s.timeout
    }

    /// Whether a run is healthy when any target is.
    pub fn any(&self) -> bool {
        self.s.any
    }

    /// The HTTP method.
    pub fn method(&self) -> &str {
        &self.s.method
    }

    /// The accepted HTTP statuses.
    pub fn statuses(&self) -> &StatusList {
        &self.s.statuses
    }

    /// Whether same-host redirects are followed.
    pub fn follow_redirects(&self) -> bool {
        self.s.follow_redirects
    }

    /// Which address families are used.
    pub fn ip_family(&self) -> IpFamily {
        self.s.ip_family
    }

    /// Checks every target within one deadline of [`Probe::timeout`]; several targets are
    /// checked at once, each on its own thread.
    pub fn run(&self, targets: &[Target]) -> Report {
        self.run_until(targets, &Deadline::after(self.s.timeout))
    }

    /// Parses each target string and checks them all, as [`Probe::run`]. `${VAR}` is not
    /// expanded here; see [`crate::expand_env`].
    pub fn run_strs<S: AsRef<str>>(&self, targets: &[S]) -> Result<Report, Error> {
        let targets = targets
            .iter()
            .map(|t| t.as_ref().parse::<Target>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.run(&targets))
    }

    /// Reads the TLS files now (CA file, client certificate and key), which a run reads when a
    /// check first needs them: `seal` fails on an unreadable one, as that run would.
    #[cfg(feature = "cli")]
    pub(crate) fn read_tls_files(&self) -> Result<(), Error> {
        let t = &self.s.tls;
        if t.ca_file.is_none() && t.cert.is_none() && t.key.is_none() {
            return Ok(());
        }
        #[cfg(feature = "tls")]
        return self.tls.get(t, crate::tls::TlsUse::Plain).map(|_| ());
        #[cfg(not(feature = "tls"))]
        [&t.ca_file, &t.cert, &t.key]
            .into_iter()
            .flatten()
            .try_for_each(|path| {
                std::fs::File::open(path).map(|_| ()).map_err(|e| {
                    Error::new(
                        ErrorKind::File,
                        format!(
                            "cannot read {}: {}",
                            path.display(),
                            crate::net::io_reason(&e)
                        ),
                    )
                })
            })
    }

    pub(crate) fn run_until(&self, targets: &[Target], deadline: &Deadline) -> Report {
        let checks = match targets {
            [one] => vec![self.check_one(one, deadline)],
            many => std::thread::scope(|scope| {
                let handles: Vec<_> = many
                    .iter()
                    .map(|t| {
                        std::thread::Builder::new()
                            .stack_size(256 * 1024)
                            .spawn_scoped(scope, move || self.check_one(t, deadline))
                    })
                    .collect();
                handles
                    .into_iter()
                    .zip(many)
                    .map(|(h, t)| match h {
                        Ok(h) => h.join().unwrap_or_else(|_| {
                            CheckReport::failed(
                                t,
                                Error::new(
                                    ErrorKind::Protocol,
                                    "internal error: the check panicked",
                                ),
                                deadline.elapsed(),
                            )
                        }),
                        // No thread to spare: check it here, within the same deadline.
                        Err(_) => self.check_one(t, deadline),
                    })
                    .collect()
            }),
        };
        Report::new(checks, self.s.any)
    }

    fn check_one(&self, target: &Target, deadline: &Deadline) -> CheckReport {
        #[cfg(any(debug_assertions, feature = "test-panic"))]
        if self.panic_in_checks {
            panic!("panic requested by HEALTHPROBE_TEST_PANIC");
        }
        let deadline = deadline.for_check();
        let ctx = Ctx {
            settings: &self.s,
            #[cfg(feature = "tls")]
            tls: &self.tls,
            deadline: &deadline,
        };
        CheckReport::new(target, check::run(&ctx, target), deadline.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let p = Probe::builder().build().unwrap();
        assert_eq!(p.timeout(), DEFAULT_TIMEOUT);
        assert_eq!(p.method(), "GET");
        assert!(p.follow_redirects());
        assert_eq!(p.statuses().to_string(), "200-399");
    }

    #[test]
    fn zero_timeout_rejected() {
        assert!(Probe::builder().timeout(Duration::ZERO).build().is_err());
    }

    #[test]
    fn huge_timeout_does_not_panic() {
        let p = Probe::builder().timeout(Duration::MAX).build().unwrap();
        let report = p.run_strs(&["tcp://127.0.0.1:1"]).unwrap();
        assert!(!report.is_healthy());
    }

    #[test]
    fn bad_regex_rejected() {
        let e = Probe::builder().body_matches("(").build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn bad_json_condition_rejected() {
        let e = Probe::builder()
            .body_json("status")
            .body_json("status ==")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert_eq!(
            e.to_string(),
            "invalid body_json condition \"status ==\": expected a value after the operator"
        );
    }

    #[test]
    fn bad_header_matches_rejected() {
        let e = Probe::builder()
            .header_matches("X-Status", "(")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(!e.to_string().contains('\n'));
        assert!(
            Probe::builder()
                .header_matches("X Status", "ok")
                .build()
                .is_err()
        );
    }

    #[test]
    fn header_with_newline_rejected() {
        assert!(Probe::builder().header("X-A", "a\r\nB: c").build().is_err());
        assert!(Probe::builder().header("X A", "a").build().is_err());
    }

    #[test]
    fn method_is_uppercased() {
        assert_eq!(
            Probe::builder().method("head").build().unwrap().method(),
            "HEAD"
        );
        assert!(Probe::builder().method("GE T").build().is_err());
    }

    #[test]
    fn missing_bearer_file() {
        let e = Probe::builder()
            .bearer_file("/nonexistent/token")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::File);
        assert!(e.to_string().contains("/nonexistent/token"));
    }

    #[test]
    fn proxy_must_be_http() {
        assert!(Probe::builder().proxy("socks5://x:1").build().is_err());
        assert!(
            Probe::builder()
                .proxy("http://127.0.0.1:3128")
                .build()
                .is_ok()
        );
    }

    /// An app that logs `{probe:?}`, `{builder:?}` or `{report:?}` logs no credential.
    #[test]
    fn debug_shows_no_secret() {
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!("hp-debug-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token_file = dir.join("token");
        let password_file = dir.join("password");
        std::fs::write(&token_file, "file-token-S3\n").unwrap();
        std::fs::write(&password_file, "file-password-S5\n").unwrap();
        let secrets = [
            "bearer-token-S1",
            "header-value-S2",
            "file-token-S3",
            "proxy-password-S4",
            "file-password-S5",
            "given-password-S6",
            "url-password-S7",
        ];
        let builder = Probe::builder()
            .timeout(Duration::from_secs(2))
            .bearer_token("bearer-token-S1")
            .header("Authorization", "Basic header-value-S2")
            .header("cookie", "session=header-value-S2")
            .proxy(format!("http://user:proxy-password-S4@127.0.0.1:{dead}"))
            .password("given-password-S6");
        let from_files = Probe::builder()
            .bearer_file(&token_file)
            .password_file(&password_file)
            .build();
        let _ = std::fs::remove_dir_all(&dir);
        let from_files = from_files.unwrap();
        let probe = builder.clone().build().unwrap();
        let targets = [
            format!("http://user:url-password-S7@127.0.0.1:{dead}/"),
            format!("postgres://user:url-password-S7@127.0.0.1:{dead}/db"),
        ];
        let report = probe.run_strs(&targets).unwrap();
        assert!(!report.is_healthy());
        for shown in [
            format!("{builder:?}"),
            format!("{probe:?}"),
            format!("{from_files:?}"),
            format!("{report:?}"),
            format!("{builder:#?}"),
            format!("{report:#?}"),
        ] {
            for secret in secrets {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
        // The settings still hold the secrets the checks send.
        assert_eq!(
            from_files.s.bearer_token.as_ref().map(Secret::as_str),
            Some("file-token-S3")
        );
        assert!(format!("{probe:?}").contains("[redacted]"));
    }

    #[test]
    fn cert_without_key_rejected() {
        let e = Probe::builder().tls_cert("/x").build().unwrap_err();
        assert!(!e.to_string().contains("--"), "{e}");
    }
}
