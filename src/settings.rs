//! The settings of a probe: one struct that [`ProbeBuilder`](crate::ProbeBuilder)'s setters
//! write straight into (as ureq's `ConfigBuilder` writes into its `Config`), validated and
//! normalised once by [`Settings::validate`]. Checks read it; they never see the probe.

use std::path::PathBuf;
use std::time::Duration;

use crate::check::json::Condition;
use crate::error::{Error, ErrorKind, Setting};
use crate::net::IpFamily;
use crate::secret::{Headers, Secret};
use crate::status::StatusList;

/// The default deadline of a run: `5s`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Every setting of a probe. Setters store what they are given; [`Settings::validate`] checks
/// it all before any I/O and normalises in place: the method uppercased, `bearer_file` read
/// into `bearer_token`, `send`/`expect` escapes undone, `body_matches` and `header_matches`
/// compiled, `body_json` parsed. Its `Debug` shows no credential: each is held in a type of the
/// secret module.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub timeout: Duration,
    pub any: bool,
    pub method: String,
    pub headers: Headers,
    pub statuses: StatusList,
    pub body_contains: Option<String>,
    pub body_matches: Option<String>,
    /// `body_matches`, compiled by `validate`.
    pub body_regex: Option<regex_lite::Regex>,
    /// `PATH OP VALUE` conditions on the body read as JSON.
    pub body_json: Vec<String>,
    /// `body_json`, parsed by `validate`.
    pub json_conditions: Vec<Condition>,
    /// (header name, regex) pairs the final response must match.
    pub header_matches: Vec<(String, String)>,
    /// `header_matches`, compiled by `validate`.
    pub header_regexes: Vec<(String, regex_lite::Regex)>,
    pub follow_redirects: bool,
    pub bearer_token: Option<Secret>,
    pub bearer_file: Option<PathBuf>,
    /// `http://HOST:PORT`, checked by `validate`; see [`Settings::proxy`].
    pub proxy: Option<Secret>,
    pub ip_family: IpFamily,
    pub tls: TlsSettings,
    pub send: Option<String>,
    pub expect: Option<String>,
    pub max_age: Option<Duration>,
    /// The password of database logins; `password_file`, read by `validate`, replaces it.
    #[cfg_attr(not(feature = "db"), allow(dead_code))]
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
}

/// The `tls_*` settings. Turned into a rustls config by the tls module, once per probe, when a
/// check first needs it.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub server_name: Option<String>,
    pub cert_min_days: Option<u32>,
    /// `SSL_CERT_FILE`/`SSL_CERT_DIR` are not read (a sealed probe's trust is its command line).
    pub ignore_env_roots: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            timeout: DEFAULT_TIMEOUT,
            any: false,
            method: "GET".into(),
            headers: Headers::default(),
            statuses: StatusList::default(),
            body_contains: None,
            body_matches: None,
            body_regex: None,
            body_json: Vec::new(),
            json_conditions: Vec::new(),
            header_matches: Vec::new(),
            header_regexes: Vec::new(),
            follow_redirects: true,
            bearer_token: None,
            bearer_file: None,
            proxy: None,
            ip_family: IpFamily::Any,
            tls: TlsSettings::default(),
            send: None,
            expect: None,
            max_age: None,
            password: None,
            password_file: None,
        }
    }
}

impl Settings {
    /// Checks every setting and normalises it in place. Errors name the setting (`tls_cert`,
    /// `body_matches`), as the builder's setters do; the CLI maps those names to its flags.
    pub(crate) fn validate(mut self) -> Result<Settings, Error> {
        if self.timeout.is_zero() {
            return Err(Error::usage("timeout must be greater than zero"));
        }
        let method = self.method.trim().to_ascii_uppercase();
        if !is_token(&method) {
            return Err(Error::usage(format!(
                "invalid method {:?}: expected a token like GET or HEAD",
                self.method
            )));
        }
        self.method = method;
        for (name, value) in &self.headers {
            check_header(name, value)?;
        }
        if let Some(p) = &self.body_matches {
            self.body_regex = Some(regex_lite::Regex::new(p).map_err(|e| {
                let after = format!(" regex {p:?}: {}", first_line(&e.to_string()));
                Error::naming(ErrorKind::Usage, "invalid ", Setting::BodyMatches, &after)
            })?);
        }
        let mut conditions = Vec::with_capacity(self.body_json.len());
        for c in &self.body_json {
            conditions.push(Condition::parse(c).map_err(|why| {
                let after = format!(" condition {c:?}: {why}");
                Error::naming(ErrorKind::Usage, "invalid ", Setting::BodyJson, &after)
            })?);
        }
        self.json_conditions = conditions;
        let mut regexes = Vec::with_capacity(self.header_matches.len());
        for (name, p) in &self.header_matches {
            if !is_token(name) {
                let after = format!(" header name {name:?}");
                return Err(Error::naming(
                    ErrorKind::Usage,
                    "invalid ",
                    Setting::HeaderMatches,
                    &after,
                ));
            }
            let re = regex_lite::Regex::new(p).map_err(|e| {
                let after = format!(" regex {p:?} for {name}: {}", first_line(&e.to_string()));
                Error::naming(ErrorKind::Usage, "invalid ", Setting::HeaderMatches, &after)
            })?;
            regexes.push((name.clone(), re));
        }
        self.header_regexes = regexes;
        if let Some(path) = &self.bearer_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| unreadable(Setting::BearerFile, path, &e))?;
            self.bearer_token = Some(Secret::new(text.trim()));
        }
        if let Some(token) = &self.bearer_token {
            check_header("Authorization", token.as_str())?;
        }
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| unreadable(Setting::PasswordFile, path, &e))?;
            self.password = Some(Secret::new(text.trim()));
        }
        self.proxy()?;
        self.send = self.send.as_deref().map(unescape).transpose()?;
        self.expect = self.expect.as_deref().map(unescape).transpose()?;
        let tls = &self.tls;
        #[cfg(not(feature = "tls"))]
        if tls.insecure
            || tls.ca_file.is_some()
            || tls.cert.is_some()
            || tls.key.is_some()
            || tls.server_name.is_some()
            || tls.cert_min_days.is_some()
        {
            return Err(Error::feature_missing("tls", "tls options need", None));
        }
        if tls.cert.is_some() != tls.key.is_some() {
            return Err(cert_without_key());
        }
        Ok(self)
    }

    /// The proxy, parsed. Proxy environment variables are never read.
    pub(crate) fn proxy(&self) -> Result<Option<ureq::Proxy>, Error> {
        let Some(url) = &self.proxy else {
            return Ok(None);
        };
        let url = url.as_str();
        let bad = || {
            Error::usage(format!(
                "invalid proxy {:?}: expected http://HOST:PORT",
                crate::secret::redact_userinfo(url)
            ))
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad());
        }
        ureq::Proxy::new(url).map(Some).map_err(|_| bad())
    }
}

/// `cannot read bearer_file PATH: REASON`.
fn unreadable(setting: Setting, path: &std::path::Path, e: &std::io::Error) -> Error {
    let after = format!(" {}: {}", path.display(), crate::net::io_reason(e));
    Error::naming(ErrorKind::File, "cannot read ", setting, &after)
}

/// `tls_cert` without `tls_key`, or the other way round.
pub(crate) fn cert_without_key() -> Error {
    Error::naming(ErrorKind::Usage, "", Setting::TlsCertAndKey, " go together")
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

/// An HTTP token (RFC 9110 §5.6.2): a method or a header name.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
}

fn check_header(name: &str, value: &str) -> Result<(), Error> {
    if !is_token(name) {
        return Err(Error::usage(format!("invalid header name {name:?}")));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::usage(format!(
            "invalid value for header {name}: it holds a line break"
        )));
    }
    Ok(())
}

/// `\r`, `\n`, `\t`, `\\` (and `\0`) escapes of `send` and `expect`. Every escape makes an
/// ASCII byte, so the text stays UTF-8.
fn unescape(s: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('0') => out.push('\0'),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_file_trimmed_wins_and_hidden() {
        let path = std::env::temp_dir().join(format!("hp-pw-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let s = Settings {
            password: Some(Secret::new("given-loses")),
            password_file: Some(path.clone()),
            ..Settings::default()
        }
        .validate();
        let _ = std::fs::remove_file(&path);
        let s = s.unwrap();
        assert_eq!(s.password.as_ref().map(Secret::as_str), Some("s3cret"));
        assert!(!format!("{s:?}").contains("s3cret"));
        let e = Settings {
            password_file: Some("/nonexistent/pw".into()),
            ..Settings::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::File);
        assert!(e.to_string().contains("password_file /nonexistent/pw"));
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(r"PING\r\n").unwrap(), "PING\r\n");
        assert_eq!(unescape(r"a\\b\t").unwrap(), "a\\b\t");
        assert!(unescape(r"\q").is_err());
    }

    #[test]
    fn tokens() {
        assert!(is_token("X-Trace"));
        assert!(!is_token("X A"));
        assert!(!is_token(""));
    }
}
