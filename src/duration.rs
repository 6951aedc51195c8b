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
    if let Some(number) = parse_number(s) {
        return bounded(number.picos(PICOS_PER_SEC), input);
    }
    // Integers in picoseconds, not floats: no float parsing or printing code in the binary
    // (~20 KB), and `0.1s` is exactly 100 ms.
    let mut total: u128 = 0;
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
            "ms" => PICOS_PER_SEC / 1000,
            "s" => PICOS_PER_SEC,
            "m" => 60 * PICOS_PER_SEC,
            "h" => 3600 * PICOS_PER_SEC,
            _ => return Err(err()),
        };
        rest = &rest[unit_end..];
        total = total.saturating_add(number.picos(scale));
    }
    bounded(total, input)
}

const PICOS_PER_SEC: u128 = 1_000_000_000_000;

/// A decimal number `digits / 10^scale`. Digits past the twelfth decimal are dropped: they
/// change nothing once the result is rounded to a microsecond.
struct Decimal {
    digits: u128,
    scale: u32,
}

impl Decimal {
    /// `self × unit`, with `unit` in picoseconds; saturates (anything that large is over 24h).
    fn picos(&self, unit: u128) -> u128 {
        self.digits.saturating_mul(unit) / 10u128.pow(self.scale)
    }
}

/// `12`, `1.5`, `.5`, `2.`: digits with at most one point, not the point alone.
fn parse_number(s: &str) -> Option<Decimal> {
    let ok = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() <= 1
        && s != ".";
    if !ok {
        return None;
    }
    let (mut digits, mut scale, mut after_point) = (0u128, 0u32, false);
    for b in s.bytes() {
        if b == b'.' {
            after_point = true;
        } else if !after_point || scale < 12 {
            digits = digits
                .saturating_mul(10)
                .saturating_add(u128::from(b - b'0'));
            scale += u32::from(after_point);
        }
    }
    Some(Decimal { digits, scale })
}

fn bounded(picos: u128, input: &str) -> Result<Duration, ParseError> {
    if picos > MAX.as_secs() as u128 * PICOS_PER_SEC {
        return Err(ParseError::new("duration", input, "expected at most 24h"));
    }
    // Rounded to the nearest microsecond, halves up.
    Ok(Duration::from_micros(
        ((picos + 500_000) / 1_000_000) as u64,
    ))
}

/// Formats a duration the way it is written on the command line: `250ms`, `2s`, `1m30s`, and
/// `1.2s` (tenths, rounded half up) for seconds that are not whole.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 || !ms.is_multiple_of(1000) {
        if ms >= 1000 {
            let tenths = (d.as_nanos() + 50_000_000) / 100_000_000;
            return format!("{}.{}s", tenths / 10, tenths % 10);
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
        assert_eq!(format_duration(Duration::from_millis(1250)), "1.3s");
        assert_eq!(format_duration(Duration::from_millis(59_990)), "60.0s");
    }

    #[test]
    fn exact_decimals() {
        assert_eq!(ok("0.1s"), Duration::from_millis(100));
        assert_eq!(ok(".5"), Duration::from_millis(500));
        assert_eq!(ok("2."), Duration::from_secs(2));
        assert_eq!(ok("1.5ms"), Duration::from_micros(1500));
        assert_eq!(ok("0.0000005"), Duration::from_micros(1));
        assert_eq!(ok("0.0000004"), Duration::ZERO);
        assert_eq!(ok("0.5m1.25s"), Duration::from_millis(31_250));
        assert_eq!(ok("24h"), Duration::from_secs(86_400));
        assert_eq!(ok("0.000000000000000001h"), Duration::ZERO);
        assert!(parse_duration("24h0.001ms").is_err());
    }
}
