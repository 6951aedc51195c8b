//! Secrets, kept out of every output: which values are secret, and how each is hidden. A
//! bearer token, a password or a URL that may carry `user:password@` (the proxy's) is a
//! [`Secret`]; request headers are [`Headers`], whose `Debug` hides the values of
//! [secret headers](is_secret_header); [`redact_userinfo`] makes a URL printable. `Settings`, and so `Probe` and `ProbeBuilder`, derive `Debug` over these types,
//! so that an app logging `{probe:?}` logs no credential (reqwest's `without_url` idea).

use std::fmt;

/// What `Debug` shows in place of a secret value.
const REDACTED: &str = "[redacted]";

/// A token, a password or a URL with userinfo: kept as given, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Headers whose values are never printed, in any output mode: credentials and sessions.
pub(crate) fn is_secret_header(name: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ]
    .iter()
    .any(|s| name.eq_ignore_ascii_case(s))
}

/// Request headers (`name`, `value`) in the order given; `Debug` hides the values of secret
/// headers.
#[derive(Clone, Default)]
pub(crate) struct Headers(Vec<(String, String)>);

impl Headers {
    pub(crate) fn push(&mut self, header: (String, String)) {
        self.0.push(header);
    }
}

impl std::ops::Deref for Headers {
    type Target = [(String, String)];

    fn deref(&self) -> &[(String, String)] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a (String, String);
    type IntoIter = std::slice::Iter<'a, (String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, value)| {
                let shown = if is_secret_header(name) {
                    REDACTED
                } else {
                    value
                };
                (name, shown)
            }))
            .finish()
    }
}

/// Replaces `user:password@` in a URL-like string with `***@`, so that it can be printed.
pub(crate) fn redact_userinfo(s: &str) -> String {
    let Some((scheme, rest)) = crate::target::split_scheme(s) else {
        return s.to_string();
    };
    let end = crate::target::authority_end(rest).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_hides_the_value() {
        let s = Secret::new("s3cret");
        assert_eq!(s.as_str(), "s3cret");
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn secret_headers() {
        assert!(is_secret_header("Set-Cookie"));
        assert!(is_secret_header("AUTHORIZATION"));
        assert!(!is_secret_header("content-type"));
    }

    #[test]
    fn headers_debug_hides_secret_values_only() {
        let mut h = Headers::default();
        h.push(("Authorization".into(), "Bearer tok3n".into()));
        h.push(("X-Trace".into(), "abc".into()));
        let shown = format!("{h:?}");
        assert!(!shown.contains("tok3n"), "{shown}");
        assert!(shown.contains("abc"), "{shown}");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn userinfo_redacted_up_to_the_authority_end() {
        assert_eq!(redact_userinfo("http://u:p@h/x@y"), "http://***@h/x@y");
        assert_eq!(redact_userinfo("http://h/x@y"), "http://h/x@y");
        assert_eq!(redact_userinfo("no scheme"), "no scheme");
    }
}
