//! The duration grammar of the command line: `250ms`, `2s`, `1m30s`, `1.5s`, or bare seconds `2`.

use std::time::Duration;

use crate::error::ParseError;

const EXPECTED: &str = "expected a number with a unit (250ms, 2s, 1m30s, 1h) or bare seconds (2)";

/// The longest duration accepted: a day is longer than any health check or wait should be, and
/// the bound keeps `Instant + duration` from overflowing.
const MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses a duration such as `250ms`, `2s`, `1m30s`, `1.5s` or `2` (bare seconds).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(healthprobe::parse_duration("1m30s")?, Duration::from_secs(90));
/// assert_eq!(healthprobe::parse_duration("250ms")?, Duration::from_millis(250));
/// # Ok::<(), healthprobe::ParseError>(())
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, ParseError> {
    let err = || ParseError::new("duration", input, EXPECTED);
    let s = input.trim();
    if s.is_empty() {
        return Err(err());
    }
    // Bare seconds, the form Docker users know from `sleep 2`.
    if let Some(secs) = parse_number(s) {
        return bounded(secs, input);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let number = parse_number(&rest[..num_end]).ok_or_else(err)?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        rest = &rest[unit_end..];
        total += number * scale;
    }
    bounded(total, input)
}

fn parse_number(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() <= 1
        && s != ".";
    if ok { s.parse().ok() } else { None }
}

fn bounded(secs: f64, input: &str) -> Result<Duration, ParseError> {
    if secs > MAX.as_secs_f64() {
        return Err(ParseError::new("duration", input, "expected at most 24h"));
    }
    Ok(Duration::from_micros((secs * 1e6).round() as u64))
}

/// Formats a duration the way it is written on the command line: `250ms`, `2s`, `1m30s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 || !ms.is_multiple_of(1000) {
        if ms >= 1000 {
            return format!("{:.1}s", d.as_secs_f64());
        }
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Duration {
        parse_duration(s).unwrap()
    }

    #[test]
    fn milliseconds() {
        assert_eq!(ok("250ms"), Duration::from_millis(250));
    }

    #[test]
    fn seconds() {
        assert_eq!(ok("2s"), Duration::from_secs(2));
    }

    #[test]
    fn minutes_and_seconds() {
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
    }

    #[test]
    fn bare_seconds() {
        assert_eq!(ok("2"), Duration::from_secs(2));
    }

    #[test]
    fn fractional_seconds() {
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("0.5"), Duration::from_millis(500));
    }

    #[test]
    fn hours() {
        assert_eq!(ok("1h"), Duration::from_secs(3600));
    }

    #[test]
    fn unknown_unit() {
        let e = parse_duration("5x").unwrap_err();
        assert_eq!(e.input(), "5x");
        assert!(e.to_string().contains("expected"));
    }

    #[test]
    fn empty() {
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn unit_without_number() {
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("ms5").is_err());
    }

    #[test]
    fn negative() {
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn too_long() {
        assert!(parse_duration("25h").is_err());
        assert!(parse_duration("99999999999999999999").is_err());
    }

    #[test]
    fn formats_like_the_command_line() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }
}
