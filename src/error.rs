//! The one error type of the crate, and the parse error for values given as text.

use std::borrow::Cow;
use std::fmt;

/// Why a check failed or could not run.
///
/// The message is one short lowercase line meant for a person: it names what was expected and
/// what was seen, and never holds a response body or a credential.
/// Match on [`Error::kind`] to act on the cause.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    phase: Option<Phase>,
    /// The setting the message names, by its library name at byte `setting_at`: the binary
    /// prints its flag there instead (two fields, not an `Option` of a pair, to keep `Error` at
    /// four words).
    setting: Option<Setting>,
    setting_at: u32,
    message: String,
}

/// A setting an error message names, as [`ProbeBuilder`](crate::ProbeBuilder)'s setters do;
/// the binary names the flag instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) enum Setting {
    BodyMatches,
    BodyJson,
    HeaderMatches,
    BearerFile,
    PasswordFile,
    TlsCaFile,
    TlsCert,
    TlsKey,
    /// Both, in one phrase: `tls_cert and tls_key`.
    TlsCertAndKey,
    TlsInsecure,
}

impl Setting {
    /// The setting's name in library messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Setting::BodyMatches => "body_matches",
            Setting::BodyJson => "body_json",
            Setting::HeaderMatches => "header_matches",
            Setting::BearerFile => "bearer_file",
            Setting::PasswordFile => "password_file",
            Setting::TlsCaFile => "tls_ca_file",
            Setting::TlsCert => "tls_cert",
            Setting::TlsKey => "tls_key",
            Setting::TlsCertAndKey => "tls_cert and tls_key",
            Setting::TlsInsecure => "tls_insecure",
        }
    }
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A target, option or setting is invalid (a usage error): nothing was attempted.
    Usage,
    /// A file the check needs (CA, bearer token, client certificate) could not be read.
    File,
    /// The deadline ran out; the message names the phase.
    Timeout,
    /// The host name did not resolve to an address of the allowed family.
    Resolve,
    /// No connection could be opened (refused, unreachable).
    Connect,
    /// The TLS handshake failed or the certificate was not accepted.
    Tls,
    /// The peer broke the protocol (an invalid HTTP response, a reset mid-response).
    Protocol,
    /// The peer answered, but not with what was expected (status, body, reply text, service state).
    Unhealthy,
    /// The target needs a cargo feature that was compiled out.
    Unsupported,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            phase: None,
            setting: None,
            setting_at: 0,
            message: message.into(),
        }
    }

    /// An error whose message names a setting: `{before}{setting}{after}`, e.g.
    /// `cannot read tls_ca_file /x: not found`, which the binary prints with the flag
    /// (`--ca-file`) in its place, and only there: a path holding the name stays as it is.
    pub(crate) fn naming(kind: ErrorKind, before: &str, setting: Setting, after: &str) -> Error {
        Error {
            setting: Some(setting),
            setting_at: u32::try_from(before.len()).unwrap_or(u32::MAX),
            ..Error::new(kind, format!("{before}{}{after}", setting.name()))
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Usage, message)
    }

    pub(crate) fn unhealthy(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unhealthy, message)
    }

    /// What a target or setting that needs a cargo feature this build was compiled without
    /// says: `{what} the `{feature}` feature ({why}), which this build leaves out`. `what`
    /// ends in its verb (`tls options need`); `why`, if given, says what the feature brings.
    #[cfg_attr(
        all(feature = "tls", feature = "grpc", feature = "db"),
        allow(dead_code)
    )]
    pub(crate) fn feature_missing(feature: &str, what: &str, why: Option<&str>) -> Error {
        let why = why.map(|why| format!(" ({why})")).unwrap_or_default();
        Error::new(
            ErrorKind::Unsupported,
            format!("{what} the `{feature}` feature{why}, which {THIS_BUILD} leaves out"),
        )
    }

    /// A timeout that names the phase it happened in, e.g.
    /// `timed out after 2s while connecting`. `budget` is the deadline as written (`2s`);
    /// the deadline formats it.
    pub(crate) fn timeout(budget: &str, phase: Phase) -> Error {
        Error {
            phase: Some(phase),
            ..Error::new(
                ErrorKind::Timeout,
                format!("timed out after {budget} {phase}"),
            )
        }
    }

    /// The same error with `text` added to its message (` (127.0.0.1:80)`, `: expected …`).
    pub(crate) fn append(mut self, text: impl AsRef<str>) -> Error {
        self.message.push_str(text.as_ref());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the deadline ran out.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// The phase the deadline ran out in, for a timeout.
    pub fn timeout_phase(&self) -> Option<Phase> {
        self.phase
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The message with the setting it names, if any, called what `name` calls it (the
    /// binary: its flag).
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) fn message_naming(&self, name: impl Fn(Setting) -> &'static str) -> Cow<'_, str> {
        let Some(setting) = self.setting else {
            return Cow::Borrowed(&self.message);
        };
        let at = usize::try_from(self.setting_at).unwrap_or(usize::MAX);
        let end = at.saturating_add(setting.name().len());
        if self.message.get(at..end) != Some(setting.name()) {
            return Cow::Borrowed(&self.message);
        }
        let (before, after) = (&self.message[..at], &self.message[end..]);
        Cow::Owned(format!("{before}{}{after}", name(setting)))
    }
}

/// How a message about a missing feature names the build: the published slim variant is the
/// one with none of `tls`, `grpc` and `db`.
const THIS_BUILD: &str = if cfg!(any(feature = "tls", feature = "grpc", feature = "db")) {
    "this build"
} else {
    "the slim build (`cli` only)"
};

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        Error::usage(e.to_string())
    }
}

/// The phase of a check a deadline ran out in, as ureq names its `Timeout` phases. Its
/// `Display` is the end of a timeout message: `while connecting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Name resolution.
    Resolve,
    /// Opening the connection.
    Connect,
    /// The TLS handshake.
    Tls,
    /// Sending the request (or `send` text).
    Request,
    /// Waiting for the response head.
    Response,
    /// Reading the response body.
    Body,
    /// Waiting for the reply that `expect` looks for.
    Reply,
}

impl Phase {
    /// Every phase, in the order a check goes through them.
    pub(crate) const ALL: [Phase; 7] = [
        Phase::Resolve,
        Phase::Connect,
        Phase::Tls,
        Phase::Request,
        Phase::Response,
        Phase::Body,
        Phase::Reply,
    ];
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Resolve => "while resolving the host",
            Phase::Connect => "while connecting",
            Phase::Tls => "during the tls handshake",
            Phase::Request => "while sending the request",
            Phase::Response => "while reading the response",
            Phase::Body => "while reading the body",
            Phase::Reply => "while waiting for the reply",
        })
    }
}

/// A value given as text (a target, a duration, a status list, a header) that does not parse.
///
/// It keeps the input and says what was expected, e.g.
/// `invalid duration "5x": expected a number with a unit (250ms, 2s, 1m30s) or bare seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    input: String,
    expected: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, input: &str, expected: impl Into<String>) -> ParseError {
        ParseError {
            what,
            input: input.to_string(),
            expected: expected.into(),
        }
    }

    /// What was being parsed: `target`, `duration`, `status list`, `header`, ….
    pub fn what(&self) -> &str {
        self.what
    }

    /// The text that did not parse (userinfo of URLs removed).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What was expected instead.
    pub fn expected(&self) -> &str {
        &self.expected
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: {}",
            self.what, self.input, self.expected
        )
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_setting_is_renamed_there_only() {
        let e = Error::naming(
            ErrorKind::File,
            "cannot read ",
            Setting::TlsCaFile,
            " /x/tls_ca_file.pem: not found",
        )
        .append(" (more)");
        assert_eq!(
            e.to_string(),
            "cannot read tls_ca_file /x/tls_ca_file.pem: not found (more)"
        );
        assert_eq!(
            e.message_naming(|_| "--ca-file"),
            "cannot read --ca-file /x/tls_ca_file.pem: not found (more)"
        );
        let plain = Error::usage("tls_cert is not named by type");
        assert_eq!(plain.message_naming(|_| "--cert"), plain.to_string());
    }

    #[test]
    fn feature_missing_names_feature_and_build() {
        let e = Error::feature_missing("tls", "tls options need", None);
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            format!("tls options need the `tls` feature, which {THIS_BUILD} leaves out")
        );
        let e = Error::feature_missing("tls", "mysql: a login needs", Some("ring"));
        assert_eq!(
            e.to_string(),
            format!("mysql: a login needs the `tls` feature (ring), which {THIS_BUILD} leaves out")
        );
    }

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Error>();
        assert_send_sync::<ParseError>();
        assert!(std::mem::size_of::<Error>() <= 32);
    }

    #[test]
    fn timeout_names_phase() {
        let e = Error::timeout("2s", Phase::Connect);
        assert_eq!(e.to_string(), "timed out after 2s while connecting");
        assert!(e.is_timeout());
        assert_eq!(e.timeout_phase(), Some(Phase::Connect));
    }
}
