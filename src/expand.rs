//! `${VAR}` expansion for targets and header values: exec-form HEALTHCHECKs have no shell to do it.

use crate::error::ParseError;

/// Expands `${VAR}` and `${VAR:-default}` from the environment; `$$` is a literal `$`.
///
/// A `$` followed by anything else is kept as it is. An unset variable without a default is an
/// error naming it (`${VAR:-}` expands an unset or empty variable to nothing).
///
/// ```
/// // SAFETY: the doctest is single-threaded.
/// unsafe { std::env::set_var("APP_PORT", "8080") };
/// assert_eq!(healthprobe::expand_env("http://127.0.0.1:${APP_PORT}/")?, "http://127.0.0.1:8080/");
/// assert_eq!(healthprobe::expand_env("${NOT_SET_ANYWHERE:-9000}")?, "9000");
/// # Ok::<(), healthprobe::ParseError>(())
/// ```
pub fn expand_env(input: &str) -> Result<String, ParseError> {
    expand_with(input, |name| std::env::var(name).ok())
}

pub(crate) fn expand_with(
    input: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ParseError> {
    if !input.contains('$') {
        return Ok(input.to_string());
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let close = after.find('}').ok_or_else(|| {
                ParseError::new("variable", input, "expected a closing } after ${")
            })?;
            let inner = &after[..close];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(ParseError::new(
                    "variable",
                    inner,
                    "expected a name of letters, digits and _ as in ${NAME} or ${NAME:-default}",
                ));
            }
            match (lookup(name), default) {
                (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(ParseError::new(
                        "variable",
                        name,
                        "it is not set (give a default with ${NAME:-default})",
                    ));
                }
            }
            rest = &after[close + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(s: &str) -> Result<String, ParseError> {
        expand_with(s, |name| match name {
            "PORT" => Some("8080".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        })
    }

    #[test]
    fn plain_text_unchanged() {
        assert_eq!(expand("http://a/b").unwrap(), "http://a/b");
    }

    #[test]
    fn variable() {
        assert_eq!(expand("tcp://db:${PORT}").unwrap(), "tcp://db:8080");
    }

    #[test]
    fn default_when_unset() {
        assert_eq!(expand("${NOPE:-5432}").unwrap(), "5432");
    }

    #[test]
    fn default_when_empty() {
        assert_eq!(expand("${EMPTY:-x}").unwrap(), "x");
    }

    #[test]
    fn set_variable_beats_default() {
        assert_eq!(expand("${PORT:-1}").unwrap(), "8080");
    }

    #[test]
    fn dollar_dollar_is_literal() {
        assert_eq!(expand("a$$b$${PORT}").unwrap(), "a$b${PORT}");
    }

    #[test]
    fn lone_dollar_kept() {
        assert_eq!(expand("a$b $").unwrap(), "a$b $");
    }

    #[test]
    fn unset_names_variable() {
        let e = expand("${NOPE}").unwrap_err();
        assert_eq!(e.input(), "NOPE");
        assert!(e.to_string().contains("NOPE"));
        assert!(e.to_string().contains("not set"));
    }

    #[test]
    fn unclosed_brace() {
        assert!(expand("${PORT").is_err());
    }

    #[test]
    fn bad_name() {
        assert!(expand("${A B}").is_err());
        assert!(expand("${}").is_err());
    }
}
