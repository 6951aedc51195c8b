//! The target grammar: the scheme picks the check.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;

/// What a [`Target`] checks; the scheme of the target picks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetKind {
    /// `http://HOST[:PORT][/PATH]`: an HTTP request; healthy on an accepted status.
    Http,
    /// `https://HOST[:PORT][/PATH]`: the same over TLS, certificate verified.
    Https,
    /// `tcp://HOST:PORT`: a TCP connection opens.
    Tcp,
    /// `tls://HOST:PORT`: a TCP connection and a verified TLS handshake.
    Tls,
    /// `grpc://HOST:PORT[/SERVICE]`: `grpc.health.v1.Health/Check` answers `SERVING` (h2c).
    Grpc,
    /// `grpcs://HOST:PORT[/SERVICE]`: the same over TLS.
    Grpcs,
    /// `unix:///PATH`: a stream connection to a Unix socket opens.
    Unix,
    /// `http+unix://ENCODED_SOCKET_PATH/PATH`: HTTP over a Unix socket.
    HttpUnix,
    /// `file:///PATH`: the file exists (and is fresh, with a maximum age).
    File,
}

impl TargetKind {
    fn from_scheme(scheme: &str) -> Option<TargetKind> {
        Some(match scheme {
            "http" => TargetKind::Http,
            "https" => TargetKind::Https,
            "tcp" => TargetKind::Tcp,
            "tls" => TargetKind::Tls,
            "grpc" => TargetKind::Grpc,
            "grpcs" => TargetKind::Grpcs,
            "unix" => TargetKind::Unix,
            "http+unix" => TargetKind::HttpUnix,
            "file" => TargetKind::File,
            _ => return None,
        })
    }

    /// The scheme as written in a target, e.g. `https`.
    pub fn scheme(self) -> &'static str {
        match self {
            TargetKind::Http => "http",
            TargetKind::Https => "https",
            TargetKind::Tcp => "tcp",
            TargetKind::Tls => "tls",
            TargetKind::Grpc => "grpc",
            TargetKind::Grpcs => "grpcs",
            TargetKind::Unix => "unix",
            TargetKind::HttpUnix => "http+unix",
            TargetKind::File => "file",
        }
    }

    /// Whether this kind speaks HTTP (and so takes the HTTP options).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            TargetKind::Http | TargetKind::Https | TargetKind::HttpUnix
        )
    }

    /// Whether a target of this kind may carry `user:password@` (HTTP sends it as Basic auth).
    fn takes_userinfo(self) -> bool {
        self.is_http()
    }

    fn default_port(self) -> Option<u16> {
        match self {
            TargetKind::Http => Some(80),
            TargetKind::Https => Some(443),
            _ => None,
        }
    }
}

/// One thing to check, parsed from a target string such as `http://127.0.0.1:8080/health`.
///
/// ```
/// use healthprobe::{Target, TargetKind};
/// let t: Target = "tcp://db:5432".parse()?;
/// assert_eq!(t.kind(), TargetKind::Tcp);
/// assert_eq!((t.host(), t.port()), ("db", 5432));
/// # Ok::<(), healthprobe::ParseError>(())
/// ```
///
/// Its `Display` form is the target with any userinfo replaced by `***`, safe to print.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    kind: TargetKind,
    host: String,
    port: u16,
    path: String,
    userinfo: Option<String>,
    display: String,
}

const EXPECTED_SCHEME: &str = "expected a target like http://HOST[:PORT][/PATH], https://…, \
    tcp://HOST:PORT, tls://HOST:PORT, grpc://HOST:PORT[/SERVICE], grpcs://…, unix:///PATH, \
    http+unix://%2FSOCKET/PATH or file:///PATH";

impl Target {
    /// What this target checks.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// The host name or IP address (IPv6 without brackets); empty for `unix:`, `http+unix:` and
    /// `file:` targets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port; 0 for `unix:`, `http+unix:` and `file:` targets.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path: the request path and query for HTTP (`/` when none was given), the service
    /// name for gRPC (empty when none), the socket path for `unix:`, the file path for `file:`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The decoded socket path of an `http+unix:` target.
    pub(crate) fn socket_path(&self) -> &str {
        &self.host
    }

    /// `user:password` from the URL, sent as Basic credentials (as curl does).
    pub(crate) fn userinfo(&self) -> Option<&str> {
        self.userinfo.as_deref()
    }

    /// The user and the password (if any) from the URL's `user[:password]@`.
    #[allow(dead_code)] // For the check kinds that log in (database protocols).
    pub(crate) fn credentials(&self) -> Option<(&str, Option<&str>)> {
        let userinfo = self.userinfo.as_deref()?;
        Some(match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        })
    }
}

impl FromStr for Target {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Target, ParseError> {
        let redacted = redact_userinfo(input);
        let err = |expected: &str| ParseError::new("target", &redacted, expected);
        let (scheme, rest) = input
            .split_once("://")
            .ok_or_else(|| err(EXPECTED_SCHEME))?;
        let kind = TargetKind::from_scheme(&scheme.to_ascii_lowercase())
            .ok_or_else(|| err(EXPECTED_SCHEME))?;
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("expected no spaces or control characters"));
        }
        let mut target = Target {
            kind,
            host: String::new(),
            port: 0,
            path: String::new(),
            userinfo: None,
            display: redacted.clone(),
        };
        match kind {
            TargetKind::Unix | TargetKind::File => {
                // `unix:///run/app.sock`: an empty authority and an absolute path.
                if !rest.starts_with('/') || rest.len() < 2 {
                    return Err(err(
                        "expected an absolute path after the scheme, as in unix:///run/app.sock",
                    ));
                }
                target.path =
                    percent_decode(rest, true).ok_or_else(|| err("expected valid %XX escapes"))?;
                return Ok(target);
            }
            TargetKind::HttpUnix => {
                let (socket, path) = split_path(rest);
                let socket = percent_decode(socket, true)
                    .ok_or_else(|| err("expected valid %XX escapes"))?;
                if !socket.starts_with('/') {
                    return Err(err(
                        "expected a percent-encoded absolute socket path, as in http+unix://%2Frun%2Fapp.sock/health",
                    ));
                }
                target.host = socket;
                target.path = if path.is_empty() {
                    "/".into()
                } else {
                    path.into()
                };
                return Ok(target);
            }
            _ => {}
        }

        let (authority, path) = split_path(rest);
        let host_port = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) if kind.takes_userinfo() => {
                target.userinfo = Some(
                    percent_decode(userinfo, true)
                        .ok_or_else(|| err("expected valid %XX escapes"))?,
                );
                host_port
            }
            Some(_) => return Err(err("expected no user:password@ in a non-http target")),
            None => authority,
        };
        let (host, port) = split_host_port(host_port)
            .ok_or_else(|| err("expected HOST[:PORT] with a port from 1 to 65535"))?;
        if !valid_host(host) {
            return Err(err(
                "expected a host name, an IPv4 address or a bracketed IPv6 address",
            ));
        }
        target.host = host.to_string();
        target.port = match (port, kind.default_port()) {
            (Some(p), _) => p,
            (None, Some(p)) => p,
            (None, None) => return Err(err("expected a port, as in tcp://HOST:PORT")),
        };
        target.path = match kind {
            TargetKind::Http | TargetKind::Https => {
                if path.is_empty() {
                    "/".into()
                } else {
                    path.split('#').next().unwrap_or("/").into()
                }
            }
            TargetKind::Grpc | TargetKind::Grpcs => path.trim_start_matches('/').into(),
            _ if path.is_empty() || path == "/" => String::new(),
            _ => return Err(err("expected no path, as in tcp://HOST:PORT")),
        };
        Ok(target)
    }
}

/// Splits `authority/path?query` at the first `/`, `?` or `#`; the path keeps its leading `/`.
fn split_path(rest: &str) -> (&str, &str) {
    match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    }
}

fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|&p| p != 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && (host.contains(':') // a bracketed IPv6 literal, already checked
            || host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'))
}

/// Decodes `%XX` escapes. `strict`: a bad escape or bytes that are not UTF-8 are `None` (a
/// target); otherwise a bad escape stays as it is and bad UTF-8 is replaced (a gRPC message).
pub(crate) fn percent_decode(s: &str, strict: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten();
        match hex
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None if strict && bytes[i] == b'%' => return None,
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    if strict {
        String::from_utf8(out).ok()
    } else {
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Replaces `user:password@` in a URL-like string with `***@`, so that it can be printed.
pub(crate) fn redact_userinfo(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => s.to_string(),
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Target {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn bad(s: &str) -> ParseError {
        s.parse::<Target>().expect_err(s)
    }

    #[test]
    fn http_with_port_and_path() {
        let x = t("http://127.0.0.1:8080/health?x=1");
        assert_eq!(
            (x.kind(), x.host(), x.port(), x.path()),
            (TargetKind::Http, "127.0.0.1", 8080, "/health?x=1")
        );
    }

    #[test]
    fn http_default_port_and_path() {
        let x = t("http://example.com");
        assert_eq!((x.port(), x.path()), (80, "/"));
        assert_eq!(t("https://example.com").port(), 443);
    }

    #[test]
    fn query_without_path() {
        assert_eq!(t("http://a?x=1").path(), "?x=1");
    }

    #[test]
    fn fragment_dropped() {
        assert_eq!(t("http://a/b#frag").path(), "/b");
    }

    #[test]
    fn ipv6_literal() {
        let x = t("http://[::1]:8080/");
        assert_eq!((x.host(), x.port()), ("::1", 8080));
    }

    #[test]
    fn ipv6_unbracketed() {
        bad("tcp://::1:80");
    }

    #[test]
    fn scheme_case_insensitive() {
        assert_eq!(t("HTTP://a").kind(), TargetKind::Http);
    }

    #[test]
    fn tcp_needs_port() {
        assert!(bad("tcp://db").to_string().contains("port"));
    }

    #[test]
    fn port_out_of_range() {
        bad("tcp://db:65536");
        bad("tcp://db:0");
        bad("http://db:x/");
        bad("http://db:/");
    }

    #[test]
    fn tcp_rejects_path() {
        bad("tcp://db:5432/x");
        assert_eq!(t("tcp://db:5432/").path(), "");
    }

    #[test]
    fn unknown_scheme() {
        let e = bad("ftp://a");
        assert!(e.to_string().contains("expected a target like"));
    }

    #[test]
    fn no_scheme() {
        bad("127.0.0.1:8080");
    }

    #[test]
    fn empty_host() {
        bad("http:///x");
        bad("tcp://:80");
    }

    #[test]
    fn spaces_rejected() {
        bad("http://a b/");
    }

    #[test]
    fn grpc_service() {
        let x = t("grpc://127.0.0.1:50051/my.Service");
        assert_eq!(x.path(), "my.Service");
        assert_eq!(t("grpcs://h:443").path(), "");
    }

    #[test]
    fn unix_path() {
        let x = t("unix:///run/app.sock");
        assert_eq!((x.kind(), x.path()), (TargetKind::Unix, "/run/app.sock"));
        bad("unix://run/app.sock");
    }

    #[test]
    fn http_unix() {
        let x = t("http+unix://%2Frun%2Fapp.sock/health");
        assert_eq!((x.socket_path(), x.path()), ("/run/app.sock", "/health"));
        bad("http+unix://run.sock/health");
    }

    #[test]
    fn file_path() {
        assert_eq!(t("file:///tmp/heartbeat").path(), "/tmp/heartbeat");
    }

    #[test]
    fn userinfo_kept_but_redacted() {
        let x = t("http://user:s3cret@127.0.0.1/");
        assert_eq!(x.userinfo(), Some("user:s3cret"));
        assert_eq!(x.to_string(), "http://***@127.0.0.1/");
        assert!(!format!("{x:?}").contains("s3cret"));
    }

    #[test]
    fn parse_error_redacts_userinfo() {
        let e = bad("http://user:s3cret@127.0.0.1:99999/");
        assert!(!e.to_string().contains("s3cret"));
    }

    #[test]
    fn credentials_split_at_the_first_colon() {
        assert_eq!(t("http://u:p:q@h/").credentials(), Some(("u", Some("p:q"))));
        assert_eq!(t("http://u@h/").credentials(), Some(("u", None)));
        assert_eq!(t("http://h/").credentials(), None);
    }

    #[test]
    fn userinfo_only_for_http() {
        bad("tcp://u:p@db:5432");
    }
}
