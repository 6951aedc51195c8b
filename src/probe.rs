//! The probe: validated settings, and running checks against one deadline.

use std::path::PathBuf;
#[cfg(feature = "tls")]
use std::sync::OnceLock;
use std::time::Duration;

use crate::check;
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::net::IpFamily;
use crate::report::{CheckReport, Report};
use crate::status::StatusList;
use crate::target::Target;

/// Runs health checks with one set of settings. Made by [`Probe::builder`].
///
/// A probe can be kept and run many times, from several threads.
#[derive(Debug)]
pub struct Probe {
    pub(crate) s: Settings,
    #[cfg(feature = "tls")]
    pub(crate) https: OnceLock<Result<std::sync::Arc<rustls::ClientConfig>, Error>>,
    #[cfg(feature = "tls")]
    pub(crate) plain_tls: OnceLock<Result<std::sync::Arc<rustls::ClientConfig>, Error>>,
    #[cfg(all(feature = "tls", feature = "grpc"))]
    pub(crate) grpc_tls: OnceLock<Result<std::sync::Arc<rustls::ClientConfig>, Error>>,
}

/// The settings of a [`Probe`], validated by [`ProbeBuilder::build`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub timeout: Duration,
    pub any: bool,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub statuses: StatusList,
    pub body_contains: Option<String>,
    pub body_matches: Option<regex_lite::Regex>,
    pub follow_redirects: bool,
    pub bearer_token: Option<String>,
    pub proxy: Option<ureq::Proxy>,
    pub ip_family: IpFamily,
    #[cfg(feature = "tls")]
    pub tls: crate::tls::TlsSettings,
    pub send: Option<Vec<u8>>,
    pub expect: Option<String>,
    pub max_age: Option<Duration>,
    #[cfg_attr(not(feature = "db"), allow(dead_code))]
    pub password: Option<Secret>,
}

/// A password: kept as given, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    #[cfg_attr(not(feature = "db"), allow(dead_code))]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Builds a [`Probe`]. Setters take raw values; [`ProbeBuilder::build`] validates them all
/// before any check runs, so a bad regex or a missing file fails early.
#[derive(Debug, Clone)]
pub struct ProbeBuilder {
    timeout: Duration,
    any: bool,
    method: String,
    headers: Vec<(String, String)>,
    statuses: StatusList,
    body_contains: Option<String>,
    body_matches: Option<String>,
    follow_redirects: bool,
    bearer_token: Option<String>,
    bearer_file: Option<PathBuf>,
    proxy: Option<String>,
    ip_family: IpFamily,
    tls_insecure: bool,
    tls_ca_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_server_name: Option<String>,
    tls_cert_min_days: Option<u32>,
    send: Option<String>,
    expect: Option<String>,
    max_age: Option<Duration>,
    password: Option<Secret>,
    password_file: Option<PathBuf>,
}

/// The default deadline of a run: `5s`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for ProbeBuilder {
    fn default() -> ProbeBuilder {
        ProbeBuilder {
            timeout: DEFAULT_TIMEOUT,
            any: false,
            method: "GET".into(),
            headers: Vec::new(),
            statuses: StatusList::default(),
            body_contains: None,
            body_matches: None,
            follow_redirects: true,
            bearer_token: None,
            bearer_file: None,
            proxy: None,
            ip_family: IpFamily::Any,
            tls_insecure: false,
            tls_ca_file: None,
            tls_cert: None,
            tls_key: None,
            tls_server_name: None,
            tls_cert_min_days: None,
            send: None,
            expect: None,
            max_age: None,
            password: None,
            password_file: None,
        }
    }
}

impl ProbeBuilder {
    /// The deadline for a whole run, all targets together: DNS, connect, TLS, request, body.
    ///
    /// Defaults to `5s`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether a run is healthy when any target is, rather than all.
    ///
    /// Defaults to `false` (all must be healthy).
    pub fn any(mut self, any: bool) -> Self {
        self.any = any;
        self
    }

    /// The HTTP method, e.g. `HEAD`.
    ///
    /// Defaults to `GET`.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Adds a request header (also gRPC metadata). A `Host` header also sets the TLS server
    /// name, unless [`ProbeBuilder::tls_server_name`] is set.
    ///
    /// Defaults to none beyond `User-Agent: healthprobe/VERSION`, `Accept: */*` and
    /// `Connection: close`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The accepted HTTP statuses.
    ///
    /// Defaults to `200-399`, as a Kubernetes `httpGet` probe.
    pub fn statuses(mut self, statuses: StatusList) -> Self {
        self.statuses = statuses;
        self
    }

    /// Text the body (its first 64 KiB) must contain.
    ///
    /// Defaults to none.
    pub fn body_contains(mut self, text: impl Into<String>) -> Self {
        self.body_contains = Some(text.into());
        self
    }

    /// A regular expression (regex-lite syntax) the body (its first 64 KiB) must match.
    ///
    /// Defaults to none.
    pub fn body_matches(mut self, pattern: impl Into<String>) -> Self {
        self.body_matches = Some(pattern.into());
        self
    }

    /// Whether to follow same-host redirects (at most 10). A redirect to another host is never
    /// followed: it is judged by its own status.
    ///
    /// Defaults to `true`.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Sends `Authorization: Bearer TOKEN`.
    ///
    /// Defaults to none.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Sends `Authorization: Bearer` with the contents of this file, trimmed; read by
    /// [`ProbeBuilder::build`].
    ///
    /// Defaults to none.
    pub fn bearer_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.bearer_file = Some(path.into());
        self
    }

    /// A proxy URL (`http://host:port`). Proxy environment variables are always ignored: a
    /// health check talks to its own container.
    ///
    /// Defaults to none.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Which address families to use.
    ///
    /// Defaults to [`IpFamily::Any`].
    pub fn ip_family(mut self, family: IpFamily) -> Self {
        self.ip_family = family;
        self
    }

    /// Skips certificate verification.
    ///
    /// Defaults to `false`.
    pub fn tls_insecure(mut self, insecure: bool) -> Self {
        self.tls_insecure = insecure;
        self
    }

    /// Trusts the CA certificates in this PEM file instead of the system or bundled roots.
    ///
    /// Defaults to none: `SSL_CERT_FILE`, then `SSL_CERT_DIR`, then the bundled Mozilla roots.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca_file = Some(path.into());
        self
    }

    /// A client certificate chain (PEM) for mTLS; goes with [`ProbeBuilder::tls_key`].
    ///
    /// Defaults to none.
    pub fn tls_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_cert = Some(path.into());
        self
    }

    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    ///
    /// Defaults to none.
    pub fn tls_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_key = Some(path.into());
        self
    }

    /// The name sent as SNI and verified in the certificate, when it differs from the host
    /// dialled (checking `https://127.0.0.1` against a certificate for `api.example.com`).
    ///
    /// Defaults to the `Host` header if one is set, else the target's host.
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }

    /// Fails when the server's certificate expires within this many days.
    ///
    /// Defaults to none.
    pub fn tls_cert_min_days(mut self, days: u32) -> Self {
        self.tls_cert_min_days = Some(days);
        self
    }

    /// Text to send after connecting (`tcp://`, `tls://`, `unix://`); `\r`, `\n`, `\t` and
    /// `\\` escapes are understood.
    ///
    /// Defaults to none.
    pub fn send(mut self, text: impl Into<String>) -> Self {
        self.send = Some(text.into());
        self
    }

    /// Text the reply must contain (`tcp://`, `tls://`, `unix://`); escapes as for
    /// [`ProbeBuilder::send`].
    ///
    /// Defaults to none.
    pub fn expect(mut self, text: impl Into<String>) -> Self {
        self.expect = Some(text.into());
        self
    }

    /// For `file://` targets: the file must have been modified within this time.
    ///
    /// Defaults to none (existing is enough).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// The password of `postgres://`, `mysql://` and `redis://` targets; wins over a password
    /// in the target's URL.
    ///
    /// Defaults to none: the URL's password, if any.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret(password.into()));
        self
    }

    /// Reads the password of `postgres://`, `mysql://` and `redis://` targets from this file,
    /// trimmed, in [`ProbeBuilder::build`]; wins over [`ProbeBuilder::password`] and over a
    /// password in the target's URL. Keeps the password out of the command line, which Docker
    /// records.
    ///
    /// Defaults to none.
    pub fn password_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.password_file = Some(path.into());
        self
    }

    /// Validates the settings and makes the probe. Reads the bearer file; TLS files are read
    /// when the first TLS check needs them.
    pub fn build(self) -> Result<Probe, Error> {
        if self.timeout.is_zero() {
            return Err(Error::usage("timeout must be greater than zero"));
        }
        let method = self.method.trim().to_ascii_uppercase();
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
        {
            return Err(Error::usage(format!(
                "invalid method {:?}: expected a token like GET or HEAD",
                self.method
            )));
        }
        for (name, value) in &self.headers {
            check_header(name, value)?;
        }
        let body_matches = match self.body_matches {
            Some(p) => Some(regex_lite::Regex::new(&p).map_err(|e| {
                Error::usage(format!(
                    "invalid --body-matches regex {p:?}: {}",
                    first_line(&e.to_string())
                ))
            })?),
            None => None,
        };
        let mut bearer_token = self.bearer_token;
        if let Some(path) = &self.bearer_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::new(
                    ErrorKind::File,
                    format!(
                        "cannot read --bearer-file {}: {}",
                        path.display(),
                        crate::net::io_reason(&e)
                    ),
                )
            })?;
            bearer_token = Some(text.trim().to_string());
        }
        let mut password = self.password;
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::new(
                    ErrorKind::File,
                    format!(
                        "cannot read --password-file {}: {}",
                        path.display(),
                        crate::net::io_reason(&e)
                    ),
                )
            })?;
            password = Some(Secret(text.trim().to_string()));
        }
        if let Some(token) = &bearer_token {
            check_header("Authorization", token)?;
        }
        let proxy = match self.proxy {
            Some(url) => Some(parse_proxy(&url)?),
            None => None,
        };
        let send = self.send.map(|s| unescape(&s)).transpose()?;
        let expect = self
            .expect
            .map(|s| unescape(&s))
            .transpose()?
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        #[cfg(not(feature = "tls"))]
        if self.tls_insecure
            || self.tls_ca_file.is_some()
            || self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.tls_server_name.is_some()
            || self.tls_cert_min_days.is_some()
        {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "tls options need the `tls` feature, which this build leaves out",
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(Error::usage("--cert and --key go together"));
        }
        let s = Settings {
            timeout: self.timeout,
            any: self.any,
            method,
            headers: self.headers,
            statuses: self.statuses,
            body_contains: self.body_contains,
            body_matches,
            follow_redirects: self.follow_redirects,
            bearer_token,
            proxy,
            ip_family: self.ip_family,
            #[cfg(feature = "tls")]
            tls: crate::tls::TlsSettings {
                insecure: self.tls_insecure,
                ca_file: self.tls_ca_file,
                cert: self.tls_cert,
                key: self.tls_key,
                server_name: self.tls_server_name,
                cert_min_days: self.tls_cert_min_days,
            },
            send,
            expect,
            max_age: self.max_age,
            password,
        };
        Ok(Probe {
            s,
            #[cfg(feature = "tls")]
            https: OnceLock::new(),
            #[cfg(feature = "tls")]
            plain_tls: OnceLock::new(),
            #[cfg(all(feature = "tls", feature = "grpc"))]
            grpc_tls: OnceLock::new(),
        })
    }
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

fn check_header(name: &str, value: &str) -> Result<(), Error> {
    let token_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
    if !token_ok {
        return Err(Error::usage(format!("invalid header name {name:?}")));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::usage(format!(
            "invalid value for header {name}: it holds a line break"
        )));
    }
    Ok(())
}

fn parse_proxy(url: &str) -> Result<ureq::Proxy, Error> {
    let shown = crate::target::redact_userinfo(url);
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::usage(format!(
            "invalid --proxy {shown:?}: expected http://HOST:PORT"
        )));
    }
    ureq::Proxy::new(url).map_err(|_| {
        Error::usage(format!(
            "invalid --proxy {shown:?}: expected http://HOST:PORT"
        ))
    })
}

/// `\r`, `\n`, `\t`, `\\` escapes of `--send` and `--expect`.
fn unescape(s: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('0') => out.push(0),
            other => {
                return Err(Error::usage(format!(
                    "invalid escape \\{} in {s:?}: expected \\r, \\n, \\t or \\\\",
                    other.map(String::from).unwrap_or_default()
                )));
            }
        }
    }
    Ok(out)
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
        self.run_until(targets, Deadline::after(self.s.timeout))
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

    pub(crate) fn run_until(&self, targets: &[Target], deadline: Deadline) -> Report {
        let checks = match targets {
            [one] => vec![self.check_one(one, &deadline)],
            many => std::thread::scope(|scope| {
                let handles: Vec<_> = many
                    .iter()
                    .map(|t| {
                        let deadline = &deadline;
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
                        Err(_) => self.check_one(t, &deadline),
                    })
                    .collect()
            }),
        };
        Report::new(checks, self.s.any)
    }

    fn check_one(&self, target: &Target, deadline: &Deadline) -> CheckReport {
        let mut seen = check::Seen::default();
        let outcome = check::run(self, target, deadline, &mut seen);
        CheckReport::new(target, outcome, seen, deadline.elapsed())
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
    fn bad_regex_rejected() {
        let e = Probe::builder().body_matches("(").build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(!e.to_string().contains('\n'));
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

    #[test]
    fn unescapes() {
        assert_eq!(unescape(r"PING\r\n").unwrap(), b"PING\r\n");
        assert_eq!(unescape(r"a\\b\t").unwrap(), b"a\\b\t");
        assert!(unescape(r"\q").is_err());
    }

    #[test]
    fn password_file_trimmed_and_hidden() {
        let path = std::env::temp_dir().join(format!("hp-pw-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let p = Probe::builder()
            .password("url-loses")
            .password_file(&path)
            .build()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(p.s.password.as_ref().map(Secret::as_str), Some("s3cret"));
        assert!(!format!("{p:?}").contains("s3cret"));
        let e = Probe::builder()
            .password_file("/nonexistent/pw")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::File);
    }

    #[test]
    fn cert_without_key_rejected() {
        assert!(Probe::builder().tls_cert("/x").build().is_err());
    }
}

/// Which ALPN a TLS connection offers; each gets its own config, built once per probe.
#[cfg(feature = "tls")]
#[derive(Debug, Clone, Copy)]
pub(crate) enum TlsUse {
    /// `https://`: ALPN `http/1.1`.
    Https,
    /// `tls://`: no ALPN.
    Plain,
    /// `grpcs://`: ALPN `h2`.
    #[cfg(all(feature = "tls", feature = "grpc"))]
    Grpc,
}

#[cfg(feature = "tls")]
impl Probe {
    pub(crate) fn tls_config(
        &self,
        usage: TlsUse,
    ) -> Result<std::sync::Arc<rustls::ClientConfig>, Error> {
        let (cell, alpn): (_, &[&[u8]]) = match usage {
            TlsUse::Https => (&self.https, &[b"http/1.1"]),
            TlsUse::Plain => (&self.plain_tls, &[]),
            #[cfg(all(feature = "tls", feature = "grpc"))]
            TlsUse::Grpc => (&self.grpc_tls, &[b"h2"]),
        };
        cell.get_or_init(|| crate::tls::build(&self.s.tls, alpn))
            .clone()
    }

    /// The name sent as SNI and verified: `--server-name`, else a `Host` header, else the
    /// target's host.
    pub(crate) fn tls_name(&self, host: &str) -> String {
        if let Some(name) = &self.s.tls.server_name {
            return name.clone();
        }
        match self
            .s
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            Some((_, v)) => v.clone(),
            None => host.to_string(),
        }
    }
}
