//! The target grammar: the scheme picks the check.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
pub use crate::kind::TargetKind;
use crate::kind::{self, PathRule};

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
    /// The query of a kind whose path is a name (`sslmode=require`), its keys checked against
    /// the kind's row; empty for the others (HTTP keeps its query in the path).
    query: String,
    display: String,
}

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
    /// the database name for `postgres:`, `mysql:` and `mongodb:`, the database number for
    /// `redis:` (empty when none), and the name asked for, decoded, for `dns:`.
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

    /// The value of a query parameter of a kind whose row names it (`sslmode`), as written.
    #[cfg_attr(not(feature = "db"), allow(dead_code))]
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        (self.query.split('&'))
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// `postgres://…?sslmode=require` (or `verify-ca`, `verify-full`; every TLS target is
    /// verified, `-k` turns that off): speak TLS after an SSLRequest. `disable`, `allow` and
    /// `prefer` stay in plain text.
    #[cfg_attr(not(feature = "db"), allow(dead_code))]
    pub(crate) fn db_tls(&self) -> bool {
        matches!(
            self.param("sslmode"),
            Some("require" | "verify-ca" | "verify-full")
        )
    }
}

impl FromStr for Target {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Target, ParseError> {
        let redacted = crate::secret::redact_userinfo(input);
        let err = |expected: &str| ParseError::new("target", &redacted, expected);
        let (kind, rest) = split_scheme(input)
            .and_then(|(scheme, rest)| Some((TargetKind::from_scheme(scheme)?, rest)))
            .ok_or_else(|| err(&kind::expected_target()))?;
        if has_space(input) {
            return Err(err("expected no spaces or control characters"));
        }
        let mut target = Target {
            kind,
            host: String::new(),
            port: 0,
            path: String::new(),
            userinfo: None,
            query: String::new(),
            display: redacted.clone(),
        };
        let row = kind.row();
        let path = match row.path {
            PathRule::LocalPath => rest,
            PathRule::Socket => {
                let (socket, path) = split_path(rest);
                target.host = local_path(socket).filter(|s| s.starts_with('/')).ok_or_else(|| {
                    err("expected a percent-encoded absolute socket path, as in http+unix://%2Frun%2Fapp.sock/health")
                })?;
                path
            }
            _ => {
                let (authority, path) = split_path(rest);
                target.authority(authority).map_err(|e| err(&e))?;
                path
            }
        };
        target.path = target.read_path(path).map_err(|e| err(&e))?;
        Ok(target)
    }
}

impl Target {
    /// `[user[:password]@]host[:port]`, as the kind's row allows (`dns:` also takes none).
    fn authority(&mut self, authority: &str) -> Result<(), String> {
        let row = self.kind.row();
        if authority.is_empty() && row.path == PathRule::DnsName {
            // `dns:///NAME`: the system's resolver, on the port its resolv.conf cannot name.
            self.port = row.default_port.unwrap_or(53);
            return Ok(());
        }
        let host_port = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) if row.userinfo => {
                self.userinfo =
                    Some(percent_decode(userinfo, true).ok_or("expected valid %XX escapes")?);
                host_port
            }
            Some(_) => {
                return Err(format!(
                    "expected no user:password@ (only {} targets take one)",
                    kind::with_userinfo()
                ));
            }
            None => authority,
        };
        let (host, port) =
            split_host_port(host_port).ok_or("expected HOST[:PORT] with a port from 1 to 65535")?;
        if !valid_host(host) {
            return Err("expected a host name, an IPv4 address or a bracketed IPv6 address".into());
        }
        self.host = host.to_string();
        self.port = port
            .or(row.default_port)
            .ok_or_else(|| format!("expected a port, as in {}", row.usage))?;
        Ok(())
    }

    /// What follows `HOST[:PORT]`, read by the kind's rule; a name's query is kept apart.
    fn read_path(&mut self, path: &str) -> Result<String, String> {
        let usage = self.kind.row().usage;
        Ok(match self.kind.row().path {
            PathRule::Request | PathRule::Socket if path.is_empty() => "/".into(),
            PathRule::Request => path.split('#').next().unwrap_or("/").into(),
            PathRule::Socket => path.into(),
            PathRule::Service => path.trim_start_matches('/').into(),
            PathRule::LocalPath => {
                // `unix:///run/app.sock`: an empty authority and an absolute path.
                if !path.starts_with('/') || path.len() < 2 {
                    return Err(format!(
                        "expected an absolute path after the scheme, as in {}",
                        usage.replace("PATH", "run/app.sock")
                    ));
                }
                local_path(path).ok_or("expected valid %XX escapes")?
            }
            PathRule::Number => {
                let n = path.trim_start_matches('/');
                if !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 9 {
                    return Err(format!(
                        "expected a database number or nothing after the host, as in {usage}"
                    ));
                }
                n.into()
            }
            PathRule::DnsName => {
                let (name, query) = path.split_once('?').unwrap_or((path, ""));
                if name.contains('#') || query.contains('#') {
                    return Err("expected no #fragment".into());
                }
                let name = name.strip_prefix('/').unwrap_or_default();
                let name = percent_decode(name, true).ok_or("expected valid %XX escapes")?;
                if name.is_empty() {
                    return Err(format!(
                        "expected a name after the server, as in dns:///db.internal or {usage}"
                    ));
                }
                if !valid_dns_name(name.strip_suffix('.').unwrap_or(&name)) {
                    return Err(
                        "expected a valid DNS name: letters, digits, - and _, labels of \
                        1 to 63 bytes separated by dots, at most 253 bytes"
                            .into(),
                    );
                }
                if !query.is_empty() {
                    let qtype = query.strip_prefix("type=").unwrap_or_default();
                    if !kind::DNS_TYPES
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(qtype))
                    {
                        return Err(
                            "expected ?type=A, AAAA, SRV, TXT or CNAME (or no query)".into()
                        );
                    }
                    self.query = query.into();
                }
                name
            }
            PathRule::Empty if path.is_empty() || path == "/" => String::new(),
            PathRule::Query { params } => {
                let rest = path.strip_prefix('/').unwrap_or(path);
                let query = match rest.strip_prefix('?') {
                    Some(query) => query,
                    None if rest.is_empty() => "",
                    None => return Err(format!("expected no path, as in {usage}")),
                };
                if query.contains('#') {
                    return Err("expected no #fragment".into());
                }
                check_query(query, params, false, usage)?;
                self.query = query.into();
                String::new()
            }
            PathRule::Empty => return Err(format!("expected no path, as in {usage}")),
            PathRule::Name {
                what,
                required,
                params,
                others,
            } => {
                let (name, query) = path.split_once('?').unwrap_or((path, ""));
                if name.contains('#') || query.contains('#') {
                    return Err("expected no #fragment".into());
                }
                check_query(query, params, others, usage)?;
                self.query = query.into();
                let name = name.strip_prefix('/').unwrap_or(name);
                if name.contains('/') {
                    return Err(format!("expected at most a {what} after the host"));
                }
                if required && name.is_empty() {
                    return Err(format!("expected a {what} after the host, as in {usage}"));
                }
                percent_decode(name, true).ok_or("expected valid %XX escapes")?
            }
        })
    }
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

/// Whether a target holds whitespace or a control character.
fn has_space(input: &str) -> bool {
    if input.is_ascii() {
        // The same test, byte by byte (ASCII's whitespace outside is_ascii_whitespace, \x0B,
        // is a control character).
        (input.bytes()).any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    } else {
        input.chars().any(|c| c.is_whitespace() || c.is_control())
    }
}

/// A percent-encoded path, decoded (`None` for a bad escape or bytes that are not UTF-8).
fn local_path(s: &str) -> Option<String> {
    percent_decode(s, true)
}

/// Checks a query's keys and values against a kind's parameters; keys it does not name are
/// rejected, or ignored with `others` (an app's own `DATABASE_URL` carries ones that ORMs add).
fn check_query(
    query: &str,
    params: &[kind::Param],
    others: bool,
    usage: &str,
) -> Result<(), String> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match params.iter().find(|p| p.key == key) {
            Some(p) if p.values == [""] && !value.is_empty() => {
                return Err(format!("expected {key} without a value, as in {usage}"));
            }
            Some(p) if !p.values.is_empty() && !p.values.contains(&value) => {
                let (last, first) = p.values.split_last().unwrap_or((&"", &[]));
                return Err(if first.is_empty() {
                    // One value allowed: the others are what the check does not do.
                    format!(
                        "expected {key}={last} or no {key} (healthprobe does not do {key}={value})"
                    )
                } else {
                    format!("expected {key}={} or {last}", first.join(", "))
                });
            }
            Some(_) => {}
            None if others => {}
            None if params.is_empty() => {
                return Err(format!("expected no ?query, as in {usage}"));
            }
            None => {
                let keys: Vec<&str> = params.iter().map(|p| p.key).collect();
                return Err(format!("expected only {} in the query", keys.join(", ")));
            }
        }
    }
    Ok(())
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
    fn mongodb_and_kafka_rows() {
        let x = t("mongodb://app:pw@db/app?role=primary&replicaSet=rs0");
        assert_eq!((x.port(), x.path()), (27017, "app"));
        assert_eq!(x.param("role"), Some("primary"));
        assert!(x.to_string().contains("***@db"));
        assert!(
            bad("mongodb://db/?role=leader")
                .to_string()
                .contains("role=primary, secondary or any")
        );
        assert_eq!(t("kafka://broker").port(), 9092);
        assert_eq!(t("kafka://broker:19092/").kind(), TargetKind::Kafka);
        bad("kafka://broker/topic");
        bad("kafka://u:p@broker");
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
            (x.host(), x.port(), x.path(), x.param("type")),
            ("127.0.0.1", 5353, "_http._tcp.web.test", Some("srv"))
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
            "dns:///a%20b",
            "dns:///a/b",
            "dns:///a?type=MX",
            "dns:///a?class=IN",
            "dns:///a?type=A&type=AAAA",
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

    #[test]
    fn nats_token_or_user_and_password() {
        let x = t("nats://s3cret-token@broker");
        assert_eq!((x.kind(), x.port()), (TargetKind::Nats, 4222));
        assert_eq!(x.login(), (Some("s3cret-token"), None));
        assert_eq!(x.to_string(), "nats://***@broker");
        assert_eq!(t("nats://u:p@broker:4223").login(), (Some("u"), Some("p")));
        bad("nats://broker/x");
    }

    #[test]
    fn zookeeper_host_and_port_only() {
        let x = t("zookeeper://zk1");
        assert_eq!((x.kind(), x.port()), (TargetKind::Zookeeper, 2181));
        bad("zookeeper://u:p@zk1");
        bad("zookeeper://zk1:2181/chroot");
    }

    #[test]
    fn smtp_ports_and_starttls() {
        let x = t("smtp://mail");
        assert_eq!(
            (x.kind(), x.port(), x.param("starttls").is_some()),
            (TargetKind::Smtp, 25, false)
        );
        let x = t("smtp://mail:587?starttls");
        assert_eq!((x.port(), x.param("starttls").is_some()), (587, true));
        assert!(t("smtp://mail:587/?starttls").param("starttls").is_some());
        let x = t("smtps://mail");
        assert_eq!(
            (x.kind(), x.port(), x.param("starttls").is_some()),
            (TargetKind::Smtps, 465, false)
        );
        bad("smtps://mail?starttls");
        bad("smtp://mail?tls");
        bad("smtp://mail?starttls=no");
        bad("smtp://mail/x");
        bad("smtp://u:p@mail");
    }

    #[test]
    fn amqp_and_mqtt_default_ports() {
        assert_eq!(t("amqp://mq").port(), 5672);
        assert_eq!(t("amqps://mq").port(), 5671);
        assert_eq!(t("mqtt://mq").port(), 1883);
        assert_eq!(t("mqtts://mq").port(), 8883);
        assert_eq!(t("AMQP://mq:5673").kind(), TargetKind::Amqp);
    }

    #[test]
    fn amqp_vhost() {
        assert_eq!(t("amqp://mq").path(), "");
        assert_eq!(t("amqp://mq/").path(), "");
        assert_eq!(t("amqp://mq/%2F").path(), "/");
        assert_eq!(t("amqp://u:p@mq/app%2Fprod").path(), "app/prod");
        assert_eq!(t("amqps://mq/app?heartbeat=10").path(), "app");
        bad("amqp://mq/a/b");
        bad("amqp://mq/%zz");
    }

    #[test]
    fn mqtt_takes_login_but_no_path() {
        assert_eq!(t("mqtt://u:p@mq").login(), (Some("u"), Some("p")));
        assert_eq!(t("mqtt://mq/").path(), "");
        bad("mqtt://mq/topic");
    }
}
