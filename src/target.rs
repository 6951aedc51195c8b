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
    /// `postgres://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE]` (alias `postgresql://`): the server
    /// accepts connections (and, with a password, the login succeeds).
    Postgres,
    /// `mysql://[USER[:PASSWORD]@]HOST[:PORT]` (alias `mariadb://`): the server greets (and,
    /// with a password, the login and `COM_PING` succeed).
    Mysql,
    /// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`: `PING` answers `+PONG`.
    Redis,
    /// `rediss://…`: the same over TLS.
    Rediss,
    /// `memcached://HOST[:PORT]`: `version` answers `VERSION …`.
    Memcached,
    /// `dns://[SERVER[:PORT]]/NAME[?type=A|AAAA|SRV|TXT|CNAME]`: the answer holds at least one
    /// record of the type (default: A or AAAA); an empty SERVER is the system's resolver.
    Dns,
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
            "postgres" | "postgresql" => TargetKind::Postgres,
            "mysql" | "mariadb" => TargetKind::Mysql,
            "redis" => TargetKind::Redis,
            "rediss" => TargetKind::Rediss,
            "memcached" => TargetKind::Memcached,
            "dns" => TargetKind::Dns,
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
            TargetKind::Postgres => "postgres",
            TargetKind::Mysql => "mysql",
            TargetKind::Redis => "redis",
            TargetKind::Rediss => "rediss",
            TargetKind::Memcached => "memcached",
            TargetKind::Dns => "dns",
        }
    }

    /// Whether this kind speaks HTTP (and so takes the HTTP options).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            TargetKind::Http | TargetKind::Https | TargetKind::HttpUnix
        )
    }

    /// Whether the URL may carry `user:password@`: HTTP (Basic credentials) and the
    /// database kinds that log in.
    fn takes_userinfo(self) -> bool {
        self.is_http()
            || matches!(
                self,
                TargetKind::Postgres | TargetKind::Mysql | TargetKind::Redis | TargetKind::Rediss
            )
    }

    fn default_port(self) -> Option<u16> {
        match self {
            TargetKind::Http => Some(80),
            TargetKind::Https => Some(443),
            TargetKind::Postgres => Some(5432),
            TargetKind::Mysql => Some(3306),
            TargetKind::Redis | TargetKind::Rediss => Some(6379),
            TargetKind::Memcached => Some(11211),
            TargetKind::Dns => Some(53),
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
    /// `postgres://…?sslmode=require` (or `verify-ca`, `verify-full`): TLS after SSLRequest.
    db_tls: bool,
    display: String,
}

const EXPECTED_SCHEME: &str = "expected a target like http://HOST[:PORT][/PATH], https://…, \
    tcp://HOST:PORT, tls://HOST:PORT, grpc://HOST:PORT[/SERVICE], grpcs://…, unix:///PATH, \
    http+unix://%2FSOCKET/PATH, file:///PATH, postgres://[USER@]HOST[:PORT][/DATABASE], \
    mysql://[USER@]HOST[:PORT], redis://[:PASSWORD@]HOST[:PORT][/DB], rediss://…, \
    memcached://HOST[:PORT] or dns://[SERVER[:PORT]]/NAME[?type=TYPE]";

impl Target {
    /// What this target checks.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// The host name or IP address (IPv6 without brackets); empty for `unix:`, `http+unix:` and
    /// `file:` targets, and for `dns:///NAME` (the system's resolver).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port; 0 for `unix:`, `http+unix:` and `file:` targets.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path: the request path and query for HTTP (`/` when none was given), the service
    /// name for gRPC (empty when none), the socket path for `unix:`, the file path for `file:`,
    /// the database name for `postgres:` and `mysql:`, the database number for `redis:`
    /// (empty when none), and for `dns:` the name asked for, decoded, then `?type=TYPE` when a
    /// type was given (`web.test?type=SRV`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The decoded socket path of an `http+unix:` target.
    pub(crate) fn socket_path(&self) -> &str {
        &self.host
    }

    /// `user:password` from the URL, sent as Basic credentials (as curl does), or the login of
    /// a database target.
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

    /// The user and password of a database target's URL: `user:password@` gives both,
    /// `user@` the user alone, `:password@` the password alone.
    #[cfg_attr(not(feature = "db"), allow(dead_code))]
    pub(crate) fn login(&self) -> (Option<&str>, Option<&str>) {
        match self.credentials() {
            Some((user, password)) => ((!user.is_empty()).then_some(user), password),
            None => (None, None),
        }
    }

    /// `postgres://…?sslmode=require`: speak TLS after an SSLRequest.
    #[cfg_attr(not(feature = "db"), allow(dead_code))]
    pub(crate) fn db_tls(&self) -> bool {
        self.db_tls
    }
}

impl FromStr for Target {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Target, ParseError> {
        let redacted = crate::secret::redact_userinfo(input);
        let err = |expected: &str| ParseError::new("target", &redacted, expected);
        let (scheme, rest) = split_scheme(input).ok_or_else(|| err(EXPECTED_SCHEME))?;
        let kind = TargetKind::from_scheme(&scheme.to_ascii_lowercase())
            .ok_or_else(|| err(EXPECTED_SCHEME))?;
        let spaced = if input.is_ascii() {
            // The same test, byte by byte (ASCII's whitespace outside is_ascii_whitespace, \x0B,
            // is a control character).
            (input.bytes()).any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        } else {
            input.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        if spaced {
            return Err(err("expected no spaces or control characters"));
        }
        let mut target = Target {
            kind,
            host: String::new(),
            port: 0,
            path: String::new(),
            userinfo: None,
            db_tls: false,
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
            TargetKind::Dns => {
                // `dns:///NAME`: an empty authority is the system's resolver.
                let (authority, path) = split_path(rest);
                if authority.contains('@') {
                    return Err(err("expected no user:password@ in a dns target"));
                }
                let mut port = None;
                if !authority.is_empty() {
                    let (host, given) = split_host_port(authority)
                        .ok_or_else(|| err("expected SERVER[:PORT] with a port from 1 to 65535"))?;
                    if !valid_host(host) {
                        return Err(err(
                            "expected a server name, an IPv4 address or a bracketed IPv6 address",
                        ));
                    }
                    target.host = host.to_string();
                    port = given;
                }
                target.port = port.or(kind.default_port()).unwrap_or(53);
                target.path = dns_question(path).map_err(|e| err(&e))?;
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
            Some(_) => {
                return Err(err(
                    "expected no user:password@ (only http, https, postgres, mysql, redis and rediss targets take one)",
                ));
            }
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
            TargetKind::Postgres | TargetKind::Mysql => {
                let (name, query) = path.split_once('?').unwrap_or((path, ""));
                if name.contains('#') || query.contains('#') {
                    return Err(err("expected no #fragment"));
                }
                if kind == TargetKind::Postgres {
                    target.db_tls = postgres_tls(query).map_err(|e| err(&e))?;
                } else if !query.is_empty() {
                    return Err(err(
                        "expected no ?query, as in mysql://USER@HOST:PORT/DATABASE",
                    ));
                }
                let name = name.trim_start_matches('/');
                if name.contains('/') {
                    return Err(err("expected at most a database name after the host"));
                }
                percent_decode(name, true).ok_or_else(|| err("expected valid %XX escapes"))?
            }
            TargetKind::Redis | TargetKind::Rediss => {
                let db = path.trim_start_matches('/');
                if !db.bytes().all(|b| b.is_ascii_digit()) || db.len() > 9 {
                    return Err(err(
                        "expected a database number or nothing after the host, as in redis://HOST:6379/0",
                    ));
                }
                db.into()
            }
            _ if path.is_empty() || path == "/" => String::new(),
            _ => return Err(err("expected no path, as in tcp://HOST:PORT")),
        };
        Ok(target)
    }
}

/// Whether a postgres query string asks for TLS: `sslmode=require` (or `verify-ca`,
/// `verify-full`; every TLS target is verified, `-k` turns that off). `disable`, `allow` and
/// `prefer` stay in plain text. Other parameters (`connect_timeout`, `application_name`, ones
/// that ORMs add) are left alone, so that an app's own `DATABASE_URL` can be checked as it is.
fn postgres_tls(query: &str) -> Result<bool, String> {
    let mut tls = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "sslmode" {
            tls = match value {
                "disable" | "allow" | "prefer" => false,
                "require" | "verify-ca" | "verify-full" => true,
                _ => {
                    return Err(
                        "expected sslmode=disable, prefer, require, verify-ca or verify-full"
                            .into(),
                    );
                }
            };
        }
    }
    Ok(tls)
}

/// The types a `dns:` target may ask for.
pub(crate) const DNS_TYPES: [&str; 5] = ["A", "AAAA", "SRV", "TXT", "CNAME"];

/// A dns target's `/NAME[?type=TYPE]`, checked: the name percent-decoded, a valid DNS name
/// (letters, digits, `-` and `_`, labels of 1 to 63 bytes, at most 253 bytes, an optional
/// trailing dot); `type=` the only query key. Returns `NAME` or `NAME?type=TYPE` (the type in
/// upper case), which the check splits again.
fn dns_question(path: &str) -> Result<String, String> {
    const EXPECTED: &str = "expected a name after the server, as in dns:///db.internal or \
        dns://127.0.0.1:53/_http._tcp.web.internal?type=SRV";
    let path = path.strip_prefix('/').ok_or(EXPECTED)?;
    let (name, query) = path.split_once('?').unwrap_or((path, ""));
    if name.contains('#') || query.contains('#') {
        return Err("expected no #fragment".into());
    }
    let name = percent_decode(name, true).ok_or("expected valid %XX escapes")?;
    if name.is_empty() {
        return Err(EXPECTED.into());
    }
    if !valid_dns_name(name.strip_suffix('.').unwrap_or(&name)) {
        return Err(
            "expected a valid DNS name: letters, digits, - and _, labels of 1 to 63 \
            bytes separated by dots, at most 253 bytes"
                .into(),
        );
    }
    if query.is_empty() {
        return Ok(name);
    }
    let qtype = query
        .strip_prefix("type=")
        .map(str::to_ascii_uppercase)
        .filter(|t| DNS_TYPES.contains(&t.as_str()))
        .ok_or("expected ?type=A, AAAA, SRV, TXT or CNAME (or no query)")?;
    Ok(format!("{name}?type={qtype}"))
}

/// A DNS name without its trailing dot, as a `dns:` target takes it: labels of 1 to 63 letters,
/// digits, `-` and `_`, at most 253 bytes in all.
pub(crate) fn valid_dns_name(name: &str) -> bool {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    name.len() <= 253 && name.split('.').all(label_ok)
}

/// Splits `authority/path?query` at the first `/`, `?` or `#`; the path keeps its leading `/`.
fn split_path(rest: &str) -> (&str, &str) {
    match authority_end(rest) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    }
}

/// `s.split_once("://")`, without setting up a substring searcher: every target and every
/// redirect is split here, and a plain HTTP check is some 100 K instructions all told.
pub(crate) fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let i = s.as_bytes().windows(3).position(|w| w == b"://")?;
    Some((&s[..i], &s[i + 3..]))
}

/// Where the authority after `scheme://` ends: the first `/`, `?` or `#` (ASCII, so a byte
/// search finds the same place as a char search).
pub(crate) fn authority_end(rest: &str) -> Option<usize> {
    rest.bytes().position(|b| matches!(b, b'/' | b'?' | b'#'))
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
    fn userinfo_only_for_http_and_databases() {
        bad("tcp://u:p@db:5432");
        bad("memcached://u:p@cache");
        for ok in [
            "postgres://u:p@db",
            "mysql://u:p@db",
            "redis://:p@db",
            "rediss://u:p@db",
        ] {
            let x = t(ok);
            assert!(x.to_string().contains("***@db"), "{ok}");
            assert!(!format!("{x:?}").contains(":p"), "{ok}");
        }
    }

    #[test]
    fn database_default_ports() {
        assert_eq!(t("postgres://db").port(), 5432);
        assert_eq!(t("postgresql://db").kind(), TargetKind::Postgres);
        assert_eq!(t("mysql://db").port(), 3306);
        assert_eq!(t("mariadb://db").kind(), TargetKind::Mysql);
        assert_eq!(t("redis://db").port(), 6379);
        assert_eq!(t("rediss://db").port(), 6379);
        assert_eq!(t("memcached://db").port(), 11211);
        assert_eq!(t("redis://db:6380").port(), 6380);
    }

    #[test]
    fn database_login() {
        assert_eq!(
            t("postgres://app:s%3Acret@db").login(),
            (Some("app"), Some("s:cret"))
        );
        assert_eq!(t("redis://:pw@db").login(), (None, Some("pw")));
        assert_eq!(t("mysql://probe@db").login(), (Some("probe"), None));
        assert_eq!(t("mysql://db").login(), (None, None));
    }

    #[test]
    fn postgres_database_and_sslmode() {
        let x = t("postgres://db/app?sslmode=require&application_name=x");
        assert_eq!((x.path(), x.db_tls()), ("app", true));
        let x = t("postgres://db/my%20db?sslmode=prefer");
        assert_eq!((x.path(), x.db_tls()), ("my db", false));
        assert_eq!(t("postgres://db").path(), "");
        assert!(
            bad("postgres://db/app?sslmode=maybe")
                .to_string()
                .contains("sslmode")
        );
        bad("postgres://db/a/b");
    }

    #[test]
    fn mysql_database() {
        assert_eq!(t("mysql://db:3307/app").path(), "app");
        bad("mysql://db/app?ssl=true");
    }

    #[test]
    fn redis_database_number() {
        assert_eq!(t("redis://db/3").path(), "3");
        assert_eq!(t("redis://db/").path(), "");
        bad("redis://db/x");
        bad("redis://db/1?x");
    }

    #[test]
    fn dns_server_name_and_type() {
        let x = t("dns:///myservice.ns.svc.cluster.local");
        assert_eq!(
            (x.kind(), x.host(), x.port(), x.path()),
            (TargetKind::Dns, "", 53, "myservice.ns.svc.cluster.local")
        );
        let x = t("dns://127.0.0.1:5353/_http._tcp.web.test?type=srv");
        assert_eq!(
            (x.host(), x.port(), x.path()),
            ("127.0.0.1", 5353, "_http._tcp.web.test?type=SRV")
        );
        let x = t("dns://[::1]:5353/web.test.");
        assert_eq!((x.host(), x.port(), x.path()), ("::1", 5353, "web.test."));
        assert_eq!(t("dns://ns1/a%2Db").path(), "a-b");
        assert_eq!(t("dns://ns1/a").port(), 53);
    }

    #[test]
    fn dns_bad_names_and_queries() {
        for input in [
            "dns://",
            "dns:///",
            "dns://127.0.0.1",
            "dns:///a..b",
            "dns:///.",
            "dns:///a b",
            "dns:///a%20b",
            "dns:///a?type=MX",
            "dns:///a?class=IN",
            "dns:///a#x",
            "dns://u@ns/a",
            "dns://ns:0/a",
            "dns://::1/a",
        ] {
            bad(input);
        }
        bad(&format!("dns:///{}", "a".repeat(64)));
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(long.len(), 255);
        bad(&format!("dns:///{long}"));
        t(&format!("dns:///{}", &long[..253]));
    }

    #[test]
    fn memcached_rejects_path() {
        bad("memcached://cache/x");
    }
}
