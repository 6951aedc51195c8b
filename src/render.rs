//! Every line the binary prints, and only here: the report (text or JSON), the watchdog's
//! report, `--wait` progress, usage errors, the version, a panic, a failed exec.
//!
//! The library names its settings as [`ProbeBuilder`](crate::ProbeBuilder)'s setters do
//! (`tls_cert`); what the binary prints names the command-line flags instead (`--cert`).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{Error, Setting};
use crate::report::{CheckReport, Report};

/// The flag the command line has for a setting that library messages name.
fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::BodyMatches => "--body-matches",
        Setting::BodyJson => "--json",
        Setting::HeaderMatches => "--header-matches",
        Setting::BearerFile => "--bearer-file",
        Setting::PasswordFile => "--password-file",
        Setting::TlsCaFile => "--ca-file",
        Setting::TlsCert => "--cert",
        Setting::TlsKey => "--key",
        Setting::TlsCertAndKey => "--cert and --key",
        Setting::TlsInsecure => "-k",
    }
}

/// A library error's message as the binary prints it: the setting it names, as its flag.
pub(crate) fn error(e: &Error) -> Cow<'_, str> {
    e.message_naming(flag)
}

/// Why a target is what it is, as the binary prints it.
fn reason(c: &CheckReport) -> Cow<'_, str> {
    match c.error() {
        Some(e) => error(e),
        None => Cow::Borrowed(c.reason()),
    }
}

/// The report as printed: one line per target (text), or one JSON object on one line.
pub(crate) fn report(report: &Report, json: bool, verbose: bool) -> String {
    if json {
        return report_json(report, verbose);
    }
    let mut out = String::new();
    for c in report.checks() {
        let word = if c.is_healthy() {
            "healthy"
        } else {
            "unhealthy"
        };
        line(&mut out, word, c);
        if verbose {
            for d in c.details() {
                let _ = writeln!(out, "  {d}");
            }
        }
    }
    out
}

fn line(out: &mut String, word: &str, c: &CheckReport) {
    let _ = writeln!(
        out,
        "{word:<9} {}  {}  {}ms",
        c.target(),
        reason(c),
        c.elapsed().as_millis()
    );
}

fn report_json(report: &Report, verbose: bool) -> String {
    let mut out = format!("{{\"healthy\":{},\"targets\":[", report.is_healthy());
    for (i, c) in report.checks().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"target\":{},\"kind\":\"{}\",\"healthy\":{}",
            json_string(c.target()),
            c.kind().scheme(),
            c.is_healthy()
        );
        if let Some(s) = c.status() {
            let _ = write!(out, ",\"status\":{s}");
        }
        let _ = write!(
            out,
            ",\"reason\":{},\"elapsed_ms\":{}",
            json_string(&reason(c)),
            c.elapsed().as_millis()
        );
        if verbose {
            let details: Vec<String> = c
                .details()
                .iter()
                .map(|d| json_string(&d.to_string()))
                .collect();
            let _ = write!(out, ",\"details\":[{}]", details.join(","));
        }
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

/// Under `--wait -v`, a target still unhealthy before the next attempt.
pub(crate) fn waiting(c: &CheckReport) -> String {
    let mut out = String::new();
    line(&mut out, "waiting", c);
    out
}

/// A usage error: `healthprobe: MESSAGE` (a library error's message made by [`error`]).
pub(crate) fn usage_error(message: &str) -> String {
    format!("healthprobe: {message}\n")
}

/// `healthprobe install DIR --help`.
pub(crate) const INSTALL_HELP: &str = "Usage: healthprobe install DIR\n\n\
    Copies this executable to DIR/healthprobe (mode 0755, atomic rename), for images\n\
    without a shell or cp (Kubernetes init containers, shared volumes).\n";

/// What `healthprobe install DIR` did: `installed /probe/healthprobe (healthprobe 0.1.0, 1.6 MB)`.
pub(crate) fn installed(path: &std::path::Path, bytes: u64) -> String {
    format!("installed {} ({})\n", path.display(), what_copy(bytes))
}

/// `healthprobe 0.1.0, 1.6 MB`.
fn what_copy(bytes: u64) -> String {
    let size = if bytes >= 1_000_000 {
        // Integers only: the binary links no float formatting.
        let tenths = (bytes + 50_000) / 100_000;
        format!("{}.{} MB", tenths / 10, tenths % 10)
    } else {
        format!("{} KB", bytes.div_ceil(1000))
    };
    format!("healthprobe {}, {size}", env!("CARGO_PKG_VERSION"))
}

/// `healthprobe seal --help`.
pub(crate) const SEAL_HELP: &str = "Usage: healthprobe seal OUT [--keep-env NAME]... [OPTIONS] TARGET... [-- COMMAND ARG...]\n\n\
    Writes OUT (mode 0755, atomic rename): this executable with the command line after OUT\n\
    sealed into it. The copy runs that check when run with no arguments and refuses any other;\n\
    it reads no HEALTHPROBE_*, SSL_CERT_* or proxy variable and has no verbs. ${VAR} is\n\
    expanded now; --keep-env NAME reads ${NAME} at run time instead, in a port, path, query or\n\
    header value only. A sealed COMMAND is an absolute path.\n";

/// What `healthprobe seal OUT …` did: `sealed /healthcheck (healthprobe 0.1.0, 1.6 MB): ARGS`.
pub(crate) fn sealed(path: &std::path::Path, bytes: u64, args: &str, kept: &[String]) -> String {
    format!(
        "sealed {} ({}): {args}{}\n",
        path.display(),
        what_copy(bytes),
        read_at_run_time(kept, "; ")
    )
}

/// `; ${PORT} read at run time`.
fn read_at_run_time(kept: &[String], before: &str) -> String {
    if kept.is_empty() {
        return String::new();
    }
    let names: Vec<String> = kept.iter().map(|k| format!("${{{k}}}")).collect();
    format!("{before}{} read at run time", names.join(", "))
}

/// A sealed copy's `--version`: the version, then the sealed command line.
pub(crate) fn sealed_version(args: &str, kept: &[String]) -> String {
    format!(
        "healthprobe {}\nsealed: {args}{}\n",
        crate::VERSION_LINE,
        read_at_run_time(kept, "; ")
    )
}

/// A sealed copy's `--help`.
pub(crate) fn sealed_help(args: &str) -> String {
    format!(
        "This healthprobe is sealed: run with no arguments, it checks\n  {args}\n\
         and exits 0 when healthy, 1 otherwise. It takes no other arguments.\n"
    )
}

/// `--help`: argh's text, then the targets' forms from the table of kinds.
pub(crate) fn help(text: &str) -> String {
    format!("{text}\n{}", crate::kind::help_section())
}

/// The message of an argument error, from argh's text: its first line, and where to look.
pub(crate) fn argh_error(text: &str) -> String {
    let first = text.lines().next().unwrap_or("invalid arguments");
    format!("{first} (see --help)")
}

/// `healthprobe VERSION (features)`.
pub(crate) fn version() -> String {
    format!("healthprobe {}\n", crate::VERSION_LINE)
}

/// A panic, as one line: `healthprobe: internal error: WHAT at FILE:LINE`.
pub(crate) fn panic(what: &str, at: Option<(&str, u32)>) -> String {
    let at = at
        .map(|(file, line)| format!(" at {file}:{line}"))
        .unwrap_or_default();
    let line = format!("healthprobe: internal error: {what}{at}").replace(['\n', '\r'], " ");
    format!("{line}\n")
}

/// The command after `--` could not be run.
pub(crate) fn exec_failed(program: &str, reason: &str) -> String {
    format!("healthprobe: cannot run {program}: {reason}\n")
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn settings_become_flags() {
        let e = crate::settings::cert_without_key();
        assert_eq!(error(&e), "--cert and --key go together");
        let path = std::path::Path::new("/run/db_password_file");
        let e = crate::Probe::builder()
            .password_file(path)
            .build()
            .unwrap_err();
        assert_eq!(
            error(&e),
            "cannot read --password-file /run/db_password_file: not found"
        );
        let e = crate::Probe::builder()
            .body_matches("(")
            .build()
            .unwrap_err();
        assert!(
            error(&e).starts_with("invalid --body-matches regex \"(\""),
            "{e}"
        );
        let e = Error::usage("connection refused");
        assert_eq!(error(&e), "connection refused");
    }
}
