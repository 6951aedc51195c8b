//! Lists of accepted HTTP statuses: `200`, `2xx`, `200-204`, `200,301-308`.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;

const EXPECTED: &str = "expected statuses like 200, 2xx, 200-204 or 200,301-308 (each 100-599)";

/// The HTTP statuses a check accepts.
///
/// The default is `200-399`, as a Kubernetes `httpGet` probe.
///
/// ```
/// let list: healthprobe::StatusList = "200,301-308".parse()?;
/// assert!(list.contains(302));
/// assert!(!list.contains(204));
/// # Ok::<(), healthprobe::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    ranges: Vec<(u16, u16)>,
    text: String,
}

impl StatusList {
    /// Whether `status` is accepted.
    pub fn contains(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| lo <= status && status <= hi)
    }
}

impl Default for StatusList {
    fn default() -> StatusList {
        StatusList {
            ranges: vec![(200, 399)],
            text: "200-399".to_string(),
        }
    }
}

impl FromStr for StatusList {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<StatusList, ParseError> {
        let err = || ParseError::new("status list", input, EXPECTED);
        let mut ranges = Vec::new();
        for part in input.split(',').map(str::trim) {
            let range = if let Some(class) = part.strip_suffix("xx").or(part.strip_suffix("XX")) {
                let digit: u16 = match class.as_bytes() {
                    [d @ b'1'..=b'5'] => u16::from(d - b'0'),
                    _ => return Err(err()),
                };
                (digit * 100, digit * 100 + 99)
            } else if let Some((lo, hi)) = part.split_once('-') {
                (code(lo).ok_or_else(err)?, code(hi).ok_or_else(err)?)
            } else {
                let c = code(part).ok_or_else(err)?;
                (c, c)
            };
            if range.0 > range.1 {
                return Err(err());
            }
            ranges.push(range);
        }
        Ok(StatusList {
            ranges,
            text: input
                .split(',')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(","),
        })
    }
}

fn code(s: &str) -> Option<u16> {
    let s = s.trim();
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|c| (100..=599).contains(c))
}

impl fmt::Display for StatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> StatusList {
        s.parse().unwrap()
    }

    #[test]
    fn default_is_200_to_399() {
        let d = StatusList::default();
        assert!(d.contains(200) && d.contains(399) && d.contains(302));
        assert!(!d.contains(199) && !d.contains(400));
        assert_eq!(d.to_string(), "200-399");
    }

    #[test]
    fn single() {
        assert!(list("200").contains(200));
        assert!(!list("200").contains(201));
    }

    #[test]
    fn class() {
        let l = list("2xx");
        assert!(l.contains(200) && l.contains(299) && !l.contains(300));
    }

    #[test]
    fn range() {
        let l = list("200-204");
        assert!(l.contains(204) && !l.contains(205));
    }

    #[test]
    fn mixed_list() {
        let l = list("200, 301-308");
        assert!(l.contains(200) && l.contains(302) && !l.contains(201));
        assert_eq!(l.to_string(), "200,301-308");
    }

    #[test]
    fn reversed_range() {
        assert!("204-200".parse::<StatusList>().is_err());
    }

    #[test]
    fn out_of_range() {
        assert!("600".parse::<StatusList>().is_err());
        assert!("99".parse::<StatusList>().is_err());
        assert!("6xx".parse::<StatusList>().is_err());
    }

    #[test]
    fn garbage() {
        for s in ["", "ok", "200,", "2x", "20x", "200-", "-200"] {
            assert!(s.parse::<StatusList>().is_err(), "{s:?} parsed");
        }
    }
}
