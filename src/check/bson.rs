//! Just enough BSON (bsonspec.org, version 1.1) for mongodb://: a writer for the few command
//! documents the check sends, and a bounded reader that walks a reply document's elements
//! without copying, skipping every type it does not need and refusing any length that does
//! not fit inside its parent.
//!
//! The `bson` crate (serde, `indexmap`, `chrono`/`time`, `uuid`, `hex`, `base64`, `rand` for
//! ObjectIds) was not taken: its serde and time layers alone are tens of KB in a static binary
//! (an estimate from their size in other builds, not built here), for six element types.

/// A value to write: the types the check's commands use (a login's need `tls`).
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) enum Put<'a> {
    Int32(i32),
    /// Only replies in tests: mongod's `ok` is a double.
    #[cfg(test)]
    Double(f64),
    Str(&'a str),
    Bool(bool),
    /// Binary data, subtype 0 (generic): SASL payloads.
    Binary(&'a [u8]),
    /// An embedded document, already encoded.
    Doc(Vec<u8>),
}

/// Encodes a document with `fields` in order.
pub(crate) fn document(fields: &[(&str, Put<'_>)]) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    for (name, value) in fields {
        let tag = match value {
            Put::Int32(_) => 0x10,
            #[cfg(test)]
            Put::Double(_) => 0x01,
            Put::Str(_) => 0x02,
            Put::Bool(_) => 0x08,
            Put::Binary(_) => 0x05,
            Put::Doc(_) => 0x03,
        };
        out.push(tag);
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        match value {
            Put::Int32(n) => out.extend_from_slice(&n.to_le_bytes()),
            #[cfg(test)]
            Put::Double(d) => out.extend_from_slice(&d.to_le_bytes()),
            Put::Str(s) => {
                out.extend_from_slice(&(s.len() as i32 + 1).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
                out.push(0);
            }
            Put::Bool(b) => out.push(u8::from(*b)),
            Put::Binary(bytes) => {
                out.extend_from_slice(&(bytes.len() as i32).to_le_bytes());
                out.push(0);
                out.extend_from_slice(bytes);
            }
            Put::Doc(doc) => out.extend_from_slice(doc),
        }
    }
    out.push(0);
    let len = out.len() as i32;
    out[..4].copy_from_slice(&len.to_le_bytes());
    out
}

/// A value read from a document. Strings are raw bytes (BSON says UTF-8; a hostile peer may
/// send anything), shown through `wire::server_text`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Double(f64),
    Str(&'a [u8]),
    Doc(Doc<'a>),
    Array(Doc<'a>),
    Binary(&'a [u8]),
    Bool(bool),
    Int32(i32),
    Int64(i64),
    Null,
    /// Any other type, skipped: its tag.
    Other(u8),
}

impl Value<'_> {
    /// A number or a boolean as a number (`ok` is a double from mongod, an int or a bool from
    /// other servers).
    pub(crate) fn number(&self) -> Option<f64> {
        match *self {
            Value::Double(d) => Some(d),
            Value::Int32(n) => Some(f64::from(n)),
            Value::Int64(n) => Some(n as f64),
            Value::Bool(b) => Some(f64::from(u8::from(b))),
            _ => None,
        }
    }

    /// True for `true` and for a non-zero number.
    pub(crate) fn truthy(&self) -> bool {
        self.number().is_some_and(|n| n != 0.0)
    }
}

/// A document whose outer length has been checked; its elements are read lazily by
/// [`Doc::elements`], each bounded by what is left of the document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Doc<'a> {
    /// The elements and the terminating zero, without the length prefix.
    body: &'a [u8],
}

impl<'a> Doc<'a> {
    /// A document that is exactly `bytes`: its length prefix says `bytes.len()`, at least 5,
    /// and it ends with a zero.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Doc<'a>, String> {
        let len = read_i32(bytes, 0).ok_or("a document shorter than its length")?;
        if len < 5 || len as usize != bytes.len() || bytes.last() != Some(&0) {
            return Err(format!(
                "a document of {} bytes whose length says {len}",
                bytes.len()
            ));
        }
        Ok(Doc {
            body: &bytes[4..bytes.len() - 1],
        })
    }

    /// The document at the start of `bytes`, and how many bytes it takes.
    pub(crate) fn prefix(bytes: &'a [u8]) -> Result<(Doc<'a>, usize), String> {
        let len = read_i32(bytes, 0).ok_or("a document shorter than its length")?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= bytes.len())
            .ok_or_else(|| format!("a document of {len} bytes in {} bytes", bytes.len()))?;
        Ok((Doc::parse(&bytes[..len])?, len))
    }

    /// The elements in order; the iterator ends after the first error it yields.
    pub(crate) fn elements(&self) -> Elements<'a> {
        Elements {
            rest: self.body,
            failed: false,
        }
    }

    /// The first element named `name` (a malformed document: `None`).
    pub(crate) fn get(&self, name: &str) -> Option<Value<'a>> {
        self.elements()
            .map_while(Result::ok)
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// Checks that every element, at every depth up to `depth`, is well-formed.
    pub(crate) fn validate(&self, depth: usize) -> Result<(), String> {
        for element in self.elements() {
            match element?.1 {
                Value::Doc(d) | Value::Array(d) if depth > 0 => d.validate(depth - 1)?,
                Value::Doc(_) | Value::Array(_) => return Err("documents nested too deep".into()),
                _ => {}
            }
        }
        Ok(())
    }
}

/// The elements of a [`Doc`]: `(name, value)`.
pub(crate) struct Elements<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<(&'a [u8], Value<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match element(self.rest) {
            Ok((name, value, used)) => {
                self.rest = &self.rest[used..];
                Some(Ok((name, value)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn fixed<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], String> {
    bytes
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "an element cut short".to_string())
}

/// A zero-terminated name at `at`: the bytes and the index after the zero.
fn cstring(bytes: &[u8], at: usize) -> Result<(&[u8], usize), String> {
    let tail = bytes.get(at..).unwrap_or_default();
    let end = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or("a name without its terminating zero")?;
    Ok((&tail[..end], at + end + 1))
}

/// A BSON string at `at` (int32 length counting the zero, bytes, zero): the bytes and the
/// index after it.
fn string(bytes: &[u8], at: usize) -> Result<(&[u8], usize), String> {
    let len = read_i32(bytes, at).ok_or("a string cut short")?;
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l >= 1)
        .ok_or_else(|| format!("a string of length {len}"))?;
    let start = at + 4;
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or("a string longer than its document")?;
    if bytes[end - 1] != 0 {
        return Err("a string without its terminating zero".into());
    }
    Ok((&bytes[start..end - 1], end))
}

/// One element at the start of `bytes`: its name, its value and its length.
fn element(bytes: &[u8]) -> Result<(&[u8], Value<'_>, usize), String> {
    let tag = bytes[0];
    let (name, at) = cstring(bytes, 1)?;
    let (value, end) = match tag {
        0x01 => (Value::Double(f64::from_le_bytes(fixed(bytes, at)?)), at + 8),
        0x02 => {
            let (s, end) = string(bytes, at)?;
            (Value::Str(s), end)
        }
        0x03 | 0x04 => {
            let (doc, len) = Doc::prefix(&bytes[at..])?;
            let value = if tag == 0x03 {
                Value::Doc(doc)
            } else {
                Value::Array(doc)
            };
            (value, at + len)
        }
        0x05 => {
            let len = read_i32(bytes, at).ok_or("binary data cut short")?;
            let start = at + 5;
            let end = usize::try_from(len)
                .ok()
                .and_then(|l| start.checked_add(l))
                .filter(|&e| e <= bytes.len())
                .ok_or_else(|| format!("binary data of {len} bytes longer than its document"))?;
            (Value::Binary(&bytes[start..end]), end)
        }
        0x08 => match fixed::<1>(bytes, at)? {
            [0] => (Value::Bool(false), at + 1),
            [1] => (Value::Bool(true), at + 1),
            [b] => return Err(format!("a boolean of {b}")),
        },
        0x10 => (Value::Int32(i32::from_le_bytes(fixed(bytes, at)?)), at + 4),
        0x12 => (Value::Int64(i64::from_le_bytes(fixed(bytes, at)?)), at + 8),
        0x0A => (Value::Null, at),
        // Undefined, MinKey, MaxKey: no value.
        0x06 | 0xFF | 0x7F => (Value::Other(tag), at),
        // ObjectId.
        0x07 => (Value::Other(tag), at + fixed::<12>(bytes, at)?.len()),
        // Datetime, Timestamp.
        0x09 | 0x11 => (Value::Other(tag), at + fixed::<8>(bytes, at)?.len()),
        // Decimal128.
        0x13 => (Value::Other(tag), at + fixed::<16>(bytes, at)?.len()),
        // Regex: two names.
        0x0B => {
            let (_, mid) = cstring(bytes, at)?;
            (Value::Other(tag), cstring(bytes, mid)?.1)
        }
        // JavaScript code, Symbol: a string.
        0x0D | 0x0E => (Value::Other(tag), string(bytes, at)?.1),
        // DBPointer: a string and an ObjectId.
        0x0C => {
            let end = string(bytes, at)?.1;
            (Value::Other(tag), end + fixed::<12>(bytes, end)?.len())
        }
        // Code with scope: an int32 length that counts itself.
        0x0F => {
            let len = read_i32(bytes, at).ok_or("code with scope cut short")?;
            let end = usize::try_from(len)
                .ok()
                .filter(|&l| l >= 4)
                .and_then(|l| at.checked_add(l))
                .filter(|&e| e <= bytes.len())
                .ok_or_else(|| format!("code with scope of {len} bytes"))?;
            (Value::Other(tag), end)
        }
        other => return Err(format!("an element of unknown type {other:#04x}")),
    };
    Ok((name, value, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_it_reads() {
        let inner = document(&[("skipEmptyExchange", Put::Bool(true))]);
        let bytes = document(&[
            ("hello", Put::Int32(1)),
            ("$db", Put::Str("admin")),
            ("payload", Put::Binary(b"n,,n=u,r=x")),
            ("options", Put::Doc(inner)),
        ]);
        let doc = Doc::parse(&bytes).unwrap();
        assert_eq!(doc.get("hello"), Some(Value::Int32(1)));
        assert_eq!(doc.get("$db"), Some(Value::Str(b"admin")));
        assert_eq!(doc.get("payload"), Some(Value::Binary(b"n,,n=u,r=x")));
        let Some(Value::Doc(options)) = doc.get("options") else {
            panic!("options")
        };
        assert_eq!(options.get("skipEmptyExchange"), Some(Value::Bool(true)));
        assert_eq!(doc.get("nope"), None);
        doc.validate(4).unwrap();
    }

    #[test]
    fn known_encoding() {
        // {"hello": 1} as bsonspec.org spells such documents.
        assert_eq!(
            document(&[("hello", Put::Int32(1))]),
            b"\x10\0\0\0\x10hello\0\x01\0\0\0\0"
        );
    }

    #[test]
    fn skips_the_types_it_does_not_need() {
        let mut body = Vec::new();
        body.extend_from_slice(b"\x07oid\0abcdefghijkl");
        body.extend_from_slice(b"\x09t\0\x01\x02\x03\x04\x05\x06\x07\x08");
        body.extend_from_slice(b"\x0Bre\0a.*\0i\0");
        body.extend_from_slice(b"\x04hosts\0\x0f\0\0\0\x020\0\x03\0\0\0ab\0\0");
        body.extend_from_slice(b"\x01ok\0\0\0\0\0\0\0\xf0\x3f");
        let mut bytes = ((body.len() + 5) as i32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&body);
        bytes.push(0);
        let doc = Doc::parse(&bytes).unwrap();
        assert_eq!(doc.get("ok"), Some(Value::Double(1.0)));
        assert!(doc.get("ok").unwrap().truthy());
        let Some(Value::Array(hosts)) = doc.get("hosts") else {
            panic!("hosts")
        };
        assert_eq!(hosts.get("0"), Some(Value::Str(b"ab")));
        doc.validate(2).unwrap();
    }

    #[test]
    fn lengths_must_fit() {
        assert!(Doc::parse(b"\x05\0\0\0\0").is_ok());
        assert!(Doc::parse(b"\x06\0\0\0\0").is_err());
        assert!(Doc::parse(b"\x05\0\0\0\x01").is_err());
        assert!(Doc::parse(b"\0\0\0\x80\0").is_err());
        // A string whose length runs past the document.
        let bad = b"\x0f\0\0\0\x02s\0\xff\xff\0\0ab\0\0";
        let doc = Doc::parse(bad).unwrap();
        assert!(doc.validate(1).is_err());
        assert_eq!(doc.get("s"), None);
        // An unknown type.
        assert!(
            Doc::parse(b"\x08\0\0\0\x42a\0\0")
                .unwrap()
                .validate(1)
                .is_err()
        );
        // A boolean that is neither.
        assert!(
            Doc::parse(b"\x09\0\0\0\x08b\0\x02\0")
                .unwrap()
                .validate(1)
                .is_err()
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let mut doc = document(&[]);
        for _ in 0..10 {
            doc = document(&[("d", Put::Doc(doc))]);
        }
        let parsed = Doc::parse(&doc).unwrap();
        assert!(parsed.validate(10).is_ok());
        assert!(parsed.validate(5).is_err());
    }
}
