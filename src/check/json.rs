//! Conditions on a JSON body (`body_json`, the binary's `--json 'PATH OP VALUE'`), and the small
//! reader that checks them.
//!
//! Hand-written rather than a crate, because of the binary's size budget. Measured with the
//! stable 1.95 build (`cargo build --release --target x86_64-unknown-linux-musl --bin
//! healthprobe`, LTO, opt-level z, stripped) against the tree before this module (full: 2,226,616
//! bytes of code and data by `size`; slim, `--no-default-features --features cli`: 934,752), each
//! crate parsing the body and judging one path:
//! - serde_json 1.0.145 (`from_slice::<Value>`, `Value::pointer`, `to_string` of the value found;
//!   with serde, itoa, ryu and memchr): +48,728 bytes full, +51,704 slim;
//! - tinyjson 2.5.1 (`str::parse::<JsonValue>`, its maps and arrays, `stringify`): +55,376 full,
//!   +58,472 slim;
//! - json 0.12 (the `json` crate): not measured; no release since 2020, and like the two above it
//!   builds a tree of the whole document and parses numbers as floats (float parsing and printing
//!   are code this binary otherwise leaves out);
//! - this module, with `header_matches` and the flags: +14,632 full, +16,112 slim.
//!
//! The reader builds nothing. It first checks that the whole body is one JSON value (RFC 8259:
//! no trailing data, strings and numbers by the grammar, UTF-8), iteratively, with one bit per
//! open array or object in a `u128`: at most [`MAX_DEPTH`] levels, so a 10,000-level array is a
//! reason, never a stack overflow. Then each condition walks from the top down its path,
//! skipping the members and items it does not need. Numbers are compared as exact decimals (no
//! floats: `0.1` is 0.1, and big integers stay exact).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use crate::check::shared::shorten;

/// The deepest nesting of arrays and objects the reader takes: one bit per level of a `u128`.
const MAX_DEPTH: usize = 128;

/// One condition: a path into the document and what the value there must be.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    /// The path as written, for messages.
    path_text: String,
    path: Path,
    test: Test,
}

/// Each step of a path, and where it ends in the path's text (messages name the path up to a
/// step by that text).
type Path = Vec<(Step, usize)>;

/// One step of a path: a member of an object or an item of an array.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    /// No operator: the value is there and is neither `null` nor `false`.
    Present,
    Compare(Op, Literal),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A value to compare with. A number keeps its text: numbers compare as exact decimals.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(String),
    Bool(bool),
    Null,
}

const OPS: [(&str, Op); 6] = [
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("<", Op::Lt),
    (">", Op::Gt),
];

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = OPS.iter().find(|(_, op)| op == self).map_or("", |(t, _)| t);
        f.write_str(text)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write!(f, "{:?}", shorten(s)),
            Literal::Num(n) => f.write_str(&shorten(n)),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Test::Present => f.write_str("not null/false"),
            Test::Compare(op, literal) => write!(f, "{op} {literal}"),
        }
    }
}

impl Condition {
    /// Parses `PATH`, or `PATH OP VALUE`. The error says what was expected (the caller shows
    /// the condition).
    pub(crate) fn parse(text: &str) -> Result<Condition, &'static str> {
        let text = text.trim();
        let (path, used) = parse_path(text)?;
        let path_text = text[..used].to_string();
        let rest = text[used..].trim_start();
        if rest.is_empty() {
            return Ok(Condition {
                path_text,
                path,
                test: Test::Present,
            });
        }
        let (op, value) = OPS
            .iter()
            .find_map(|(t, op)| rest.strip_prefix(t).map(|v| (*op, v.trim())))
            .ok_or("expected ==, !=, <, <=, > or >= after the path")?;
        if value.is_empty() {
            return Err("expected a value after the operator");
        }
        let literal = literal(value)?;
        if !matches!(op, Op::Eq | Op::Ne) && !matches!(literal, Literal::Num(_)) {
            return Err("<, <=, > and >= compare numbers: expected a number");
        }
        Ok(Condition {
            path_text,
            path,
            test: Test::Compare(op, literal),
        })
    }

    /// Whether the condition holds in `doc`, a document [`document`] accepted; if not, why.
    fn holds(&self, doc: &str) -> Result<(), String> {
        let path = shorten(&self.path_text);
        let found = self
            .find(doc)
            .map_err(|why| format!("json {path}: not found ({why})"))?;
        let (ok, note) = match &self.test {
            Test::Present => (!matches!(found, "null" | "false"), ""),
            Test::Compare(Op::Eq, literal) => (equal(found, literal), ""),
            Test::Compare(Op::Ne, literal) => (!equal(found, literal), ""),
            Test::Compare(op, Literal::Num(n)) if is_number(found) => {
                let order = compare_numbers(found, n);
                let ok = match op {
                    Op::Lt => order == Ordering::Less,
                    Op::Le => order != Ordering::Greater,
                    Op::Gt => order == Ordering::Greater,
                    _ => order != Ordering::Less,
                };
                (ok, "")
            }
            Test::Compare(..) => (false, ", not a number"),
        };
        if ok {
            return Ok(());
        }
        Err(format!(
            "json {path}: expected {}, found {}{note}",
            self.test,
            shown(found)
        ))
    }

    /// The text of the value at the path in `doc`, a document [`document`] accepted; if there
    /// is none, why. The last of duplicate keys counts, as in JavaScript and jq.
    fn find<'a>(&self, doc: &'a str) -> Result<&'a str, String> {
        let mut r = Reader::new(doc);
        r.ws();
        for (k, (step, _)) in self.path.iter().enumerate() {
            let here = match k {
                0 => "the top level".to_string(),
                _ => shorten(&self.path_text[..self.path[k - 1].1]),
            };
            match (step, r.peek()) {
                (Step::Key(want), Some(b'{')) => {
                    r.i += 1;
                    let mut at = None;
                    loop {
                        r.ws();
                        if r.peek() != Some(b'"') {
                            break;
                        }
                        let start = r.i;
                        let _ = r.string();
                        let key = &doc[start + 1..r.i - 1];
                        r.ws();
                        r.i += 1;
                        r.ws();
                        if unescape(key) == want.as_str() {
                            at = Some(r.i);
                        }
                        r.skip();
                        r.ws();
                        if r.peek() != Some(b',') {
                            break;
                        }
                        r.i += 1;
                    }
                    r.i = at.ok_or_else(|| format!("no {:?} in {here}", shorten(want)))?;
                }
                (Step::Index(n), Some(b'[')) => {
                    r.i += 1;
                    r.ws();
                    let mut count = 0;
                    while count < *n && r.peek() != Some(b']') {
                        r.skip();
                        r.ws();
                        count += 1;
                        if r.peek() == Some(b',') {
                            r.i += 1;
                            r.ws();
                        }
                    }
                    if r.peek() == Some(b']') {
                        return Err(format!("{here} has {count} items"));
                    }
                }
                (step, _) => {
                    let want = match step {
                        Step::Key(_) => "an object",
                        Step::Index(_) => "an array",
                    };
                    return Err(format!("{here} is {}, not {want}", kind(&doc[r.i..])));
                }
            }
        }
        let start = r.i;
        r.skip();
        Ok(&doc[start..r.i])
    }
}

/// `status`, `components.db.status`, `nodes[0].state`, `"a.b".c`, `[0].Status`; a leading `.`
/// as jq writes it (`.status`), and `.` alone for the whole document. Returns the steps (each
/// with where it ends) and the bytes of `text` they took; what follows is the operator.
fn parse_path(text: &str) -> Result<(Path, usize), &'static str> {
    let b = text.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    let mut want_key = true;
    if b.first() == Some(&b'.') {
        i = 1;
        match b.get(1) {
            Some(&c) if c == b'"' || is_key_byte(c) => {}
            Some(b'[') => want_key = false,
            _ => return Ok((steps, 1)),
        }
    } else if b.first() == Some(&b'[') {
        want_key = false;
    }
    loop {
        let c = b.get(i).copied();
        let step = if want_key {
            want_key = false;
            let start = i;
            match c {
                Some(b'"') => {
                    let mut r = Reader { b, i };
                    r.string()
                        .map_err(|_| "expected a quoted key, as JSON writes a string")?;
                    i = r.i;
                    Step::Key(unescape(&text[start + 1..i - 1]).into_owned())
                }
                Some(c) if is_key_byte(c) => {
                    while b.get(i).is_some_and(|&c| is_key_byte(c)) {
                        i += 1;
                    }
                    Step::Key(text[start..i].to_string())
                }
                _ => return Err("expected a key in the path"),
            }
        } else {
            match c {
                Some(b'.') => {
                    i += 1;
                    want_key = true;
                    continue;
                }
                Some(b'[') => {
                    const BAD: &str = "expected [N], an array index";
                    i += 1;
                    let mut n: usize = 0;
                    while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
                        n = n
                            .checked_mul(10)
                            .and_then(|n| n.checked_add(usize::from(d - b'0')))
                            .ok_or(BAD)?;
                        i += 1;
                    }
                    if b.get(i) != Some(&b']') || b[i - 1] == b'[' {
                        return Err(BAD);
                    }
                    i += 1;
                    Step::Index(n)
                }
                _ => return Ok((steps, i)),
            }
        };
        steps.push((step, i));
    }
}

/// A byte of a key written without quotes: anything but what ends a key or starts an operator.
fn is_key_byte(c: u8) -> bool {
    !c.is_ascii_whitespace() && !c.is_ascii_control() && !b".[]\"=!<>".contains(&c)
}

/// A JSON string, number, `true`, `false` or `null`; anything else not starting with `"` is a
/// bare word, read as a string (`status == UP`).
fn literal(value: &str) -> Result<Literal, &'static str> {
    if document(value.as_bytes()).is_err() {
        if value.starts_with('"') {
            return Err("expected a JSON string after the quote");
        }
        return Ok(Literal::Str(value.to_string()));
    }
    Ok(match value.as_bytes()[0] {
        b'"' => Literal::Str(unescape(&value[1..value.len() - 1]).into_owned()),
        b't' => Literal::Bool(true),
        b'f' => Literal::Bool(false),
        b'n' => Literal::Null,
        b'{' | b'[' => return Err("expected a string, number, true, false or null"),
        _ => Literal::Num(value.to_string()),
    })
}

/// Checks every condition against `body`, the body as read; `cut` says that it filled the read
/// limit, so that more may have followed. The error is the reason, one line.
pub(crate) fn check(body: &[u8], cut: bool, conditions: &[Condition]) -> Result<(), String> {
    let doc = document(body).map_err(|bad| bad.reason(body, cut))?;
    conditions.iter().try_for_each(|c| c.holds(doc))
}

/// Why a body is not a document the reader can use.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bad {
    /// It ends inside a value.
    End,
    /// An unexpected byte here.
    At(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    Deep,
}

impl Bad {
    fn reason(self, body: &[u8], cut: bool) -> String {
        match self {
            Bad::End if cut => {
                "json cut off: the body is longer than the 64 KiB that is read".into()
            }
            Bad::End if body.iter().all(u8::is_ascii_whitespace) => {
                "body is not json: it is empty".into()
            }
            Bad::End => "body is not json: it ends inside a value".into(),
            Bad::At(i) => {
                let near = body.get(i..body.len().min(i + 4)).unwrap_or_default();
                match String::from_utf8_lossy(near).chars().next() {
                    Some(c) if c != '\u{fffd}' => {
                        format!("body is not json: unexpected {c:?} at byte {i}")
                    }
                    _ => format!(
                        "body is not json: unexpected byte {:#04x} at byte {i}",
                        near.first().copied().unwrap_or_default()
                    ),
                }
            }
            Bad::Deep => format!("json nested too deep: more than {MAX_DEPTH} levels"),
        }
    }
}

/// The body as one JSON document, checked from end to end.
fn document(body: &[u8]) -> Result<&str, Bad> {
    let (text, broken) = match std::str::from_utf8(body) {
        Ok(text) => (text, None),
        Err(e) => (
            std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or_default(),
            Some(e),
        ),
    };
    let mut r = Reader::new(text);
    let read = r.value().and_then(|()| {
        r.ws();
        if r.i < text.len() {
            Err(Bad::At(r.i))
        } else {
            Ok(())
        }
    });
    match (read, broken) {
        (Ok(()), None) => Ok(text),
        // Cut in the middle of a character (at the read limit): the value ends early.
        (Err(Bad::End), Some(e)) if e.error_len().is_none() => Err(Bad::End),
        (Ok(()) | Err(Bad::End), Some(e)) => Err(Bad::At(e.valid_up_to())),
        (Err(bad), _) => Err(bad),
    }
}

/// A cursor over a document's bytes.
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Reader<'a> {
        Reader {
            b: text.as_bytes(),
            i: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// What is wrong here: the end of the input, or this byte.
    fn bad(&self) -> Bad {
        if self.i >= self.b.len() {
            Bad::End
        } else {
            Bad::At(self.i)
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), Bad> {
        if self.peek() != Some(c) {
            return Err(self.bad());
        }
        self.i += 1;
        Ok(())
    }

    fn word(&mut self, word: &[u8]) -> Result<(), Bad> {
        word.iter().try_for_each(|&c| self.eat(c))
    }

    /// A string, quotes and all.
    fn string(&mut self) -> Result<(), Bad> {
        self.eat(b'"')?;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                                    return Err(self.bad());
                                }
                                self.i += 1;
                            }
                        }
                        _ => return Err(self.bad()),
                    }
                }
                Some(0..0x20) | None => return Err(self.bad()),
                Some(_) => self.i += 1,
            }
        }
    }

    /// One or more digits.
    fn digits(&mut self) -> Result<(), Bad> {
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return Err(self.bad());
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), Bad> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else {
            self.digits()?;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.digits()?;
        }
        Ok(())
    }

    /// A member's key and its colon.
    fn key(&mut self) -> Result<(), Bad> {
        self.ws();
        self.string()?;
        self.ws();
        self.eat(b':')
    }

    /// One whole value, nested ones included, without recursion: `open` has a bit per open
    /// container, set for an object, the innermost lowest.
    fn value(&mut self) -> Result<(), Bad> {
        let mut open: u128 = 0;
        let mut depth = 0;
        loop {
            self.ws();
            match self.peek() {
                Some(c @ (b'{' | b'[')) => {
                    if depth == MAX_DEPTH {
                        return Err(Bad::Deep);
                    }
                    self.i += 1;
                    self.ws();
                    let close = if c == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        open = open << 1 | u128::from(c == b'{');
                        depth += 1;
                        if c == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => self.string()?,
                Some(b't') => self.word(b"true")?,
                Some(b'f') => self.word(b"false")?,
                Some(b'n') => self.word(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.bad()),
            }
            // After a value: close what it ends, or go on to the next item or member.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                self.ws();
                let object = open & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ => return Err(self.bad()),
                }
                self.i += 1;
                open >>= 1;
                depth -= 1;
            }
        }
    }

    /// Steps over one value of a document [`document`] accepted.
    fn skip(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return,
                Some(b'"') => {
                    let _ = self.string();
                }
                Some(b'{' | b'[') => {
                    depth += 1;
                    self.i += 1;
                    continue;
                }
                Some(b'}' | b']') => {
                    depth = depth.saturating_sub(1);
                    self.i += 1;
                }
                Some(_) if depth > 0 => {
                    self.i += 1;
                    continue;
                }
                Some(_) => {
                    while self.peek().is_some_and(|c| !b",}] \t\n\r".contains(&c)) {
                        self.i += 1;
                    }
                }
            }
            if depth == 0 {
                return;
            }
        }
    }
}

/// What kind of value `text` starts with, for messages.
fn kind(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A found value as a message shows it: on one line, a few dozen characters at most.
fn shown(found: &str) -> String {
    let mut line = String::new();
    let mut space = false;
    for c in found.chars().take(100) {
        if c.is_ascii_whitespace() {
            space = true;
            continue;
        }
        if std::mem::take(&mut space) {
            line.push(' ');
        }
        line.push(c);
    }
    shorten(&line)
}

fn is_number(text: &str) -> bool {
    matches!(text.as_bytes().first(), Some(b'-' | b'0'..=b'9'))
}

fn equal(found: &str, literal: &Literal) -> bool {
    match literal {
        Literal::Str(s) => {
            found.len() >= 2
                && found.starts_with('"')
                && unescape(&found[1..found.len() - 1]) == s.as_str()
        }
        Literal::Num(n) => is_number(found) && compare_numbers(found, n) == Ordering::Equal,
        Literal::Bool(true) => found == "true",
        Literal::Bool(false) => found == "false",
        Literal::Null => found == "null",
    }
}

/// Two JSON numbers compared as exact decimals.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    let (a, b) = (Decimal::of(a), Decimal::of(b));
    if a.sign != b.sign || a.sign == 0 {
        return a.sign.cmp(&b.sign);
    }
    let magnitude = a.exp.cmp(&b.exp).then_with(|| a.digits.cmp(&b.digits));
    if a.sign < 0 {
        magnitude.reverse()
    } else {
        magnitude
    }
}

/// A number as `sign × 0.DIGITS × 10^exp`, DIGITS without leading or trailing zeros (none, and
/// sign 0, for zero).
struct Decimal {
    sign: i8,
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    /// Of the text of a JSON number (the reader has checked its grammar).
    fn of(text: &str) -> Decimal {
        let b = text.as_bytes();
        let mut digits = Vec::new();
        let mut exp: i64 = 0;
        let mut fraction = false;
        let mut i = usize::from(b.first() == Some(&b'-'));
        while let Some(&c) = b.get(i) {
            i += 1;
            match c {
                b'.' => fraction = true,
                b'e' | b'E' => break,
                _ => {
                    exp += i64::from(!fraction);
                    if c == b'0' && digits.is_empty() {
                        exp -= 1;
                    } else {
                        digits.push(c);
                    }
                }
            }
        }
        let mut e: i64 = 0;
        for &c in b.get(i..).unwrap_or_default() {
            if c.is_ascii_digit() {
                e = e.saturating_mul(10).saturating_add(i64::from(c - b'0'));
            }
        }
        if b.get(i) == Some(&b'-') {
            e = -e;
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        let sign = match (digits.is_empty(), b.first()) {
            (true, _) => 0,
            (false, Some(b'-')) => -1,
            (false, _) => 1,
        };
        Decimal {
            sign,
            digits,
            exp: exp.saturating_add(e),
        }
    }
}

/// The text of a string (between its quotes, as the reader checked it) with its escapes undone.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let c = match chars.next() {
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let high = hex4(&mut chars);
                let mut low_half = chars.clone();
                let pair = (0xd800..0xdc00).contains(&high)
                    && low_half.next() == Some('\\')
                    && low_half.next() == Some('u');
                let low = if pair { hex4(&mut low_half) } else { 0 };
                if pair && (0xdc00..0xe000).contains(&low) {
                    chars = low_half;
                    char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))
                } else {
                    char::from_u32(high)
                }
                .unwrap_or('\u{fffd}')
            }
            Some(other) => other,
            None => break,
        };
        out.push(c);
    }
    Cow::Owned(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> u32 {
    (0..4).fold(0, |n, _| {
        n * 16 + chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0)
    })
}

/// A JSON object that a protocol carries (NATS's `INFO`), checked whole like a body, then read
/// member by member: the same reader, no tree built.
#[cfg(feature = "db")]
pub(crate) struct Object<'a> {
    doc: &'a str,
}

#[cfg(feature = "db")]
impl<'a> Object<'a> {
    /// `text` as one JSON object; otherwise why not, as in `is not json: unexpected 'x' at
    /// byte 3`.
    pub(crate) fn parse(text: &'a [u8]) -> Result<Object<'a>, String> {
        let doc = document(text).map_err(|bad| {
            let reason = bad.reason(text, false);
            reason
                .strip_prefix("body ")
                .map_or(reason.clone(), String::from)
        })?;
        if doc.trim_start().as_bytes().first() != Some(&b'{') {
            return Err(format!("is {}, not an object", kind(doc.trim_start())));
        }
        Ok(Object { doc })
    }

    /// The JSON text of the top-level member `key` (the last one, when repeated), if any.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a str> {
        let condition = Condition {
            path_text: key.to_string(),
            path: vec![(Step::Key(key.to_string()), key.len())],
            test: Test::Present,
        };
        condition.find(self.doc).ok()
    }

    /// Whether the member `key` is `true`.
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.raw(key) == Some("true")
    }

    /// The member `key` if it is a string, its escapes undone.
    pub(crate) fn string(&self, key: &str) -> Option<Cow<'a, str>> {
        let raw = self.raw(key)?;
        let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
        Some(unescape(inner))
    }
}

/// For the fuzz target in `fuzz/`: the first line of `data` is a condition, the rest a body;
/// and `data` whole is a body too. Nothing panics, and every reason is one short line.
pub fn fuzz(data: &[u8]) {
    let one_line = |r: Result<(), String>| {
        if let Err(why) = r {
            assert!(!why.contains(['\n', '\r']), "{why:?}");
            assert!(why.chars().count() < 300, "{why:?}");
        }
    };
    one_line(check(data, data.first().is_some_and(|&c| c & 1 == 1), &[]));
    let (first, body) = match data.iter().position(|&c| c == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    if let Ok(Ok(condition)) = std::str::from_utf8(first).map(Condition::parse) {
        one_line(check(body, false, std::slice::from_ref(&condition)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(path: &str) -> Vec<Step> {
        let (steps, used) = parse_path(path).unwrap();
        assert_eq!(used, path.len(), "{path}");
        steps.into_iter().map(|(step, _)| step).collect()
    }

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    /// Whether `condition` holds in `body`, panicking on a bad condition.
    fn holds(body: &str, condition: &str) -> Result<(), String> {
        check(
            body.as_bytes(),
            false,
            &[Condition::parse(condition).unwrap()],
        )
    }

    // --- objects a protocol carries --------------------------------------------------------

    #[cfg(feature = "db")]
    #[test]
    fn object_members() {
        let o = Object::parse(br#" {"a":true,"b":"x\"y","c":{"a":false},"d":[1], "a":false} "#)
            .unwrap();
        assert!(!o.flag("a"), "the last duplicate counts");
        assert_eq!(o.string("b").as_deref(), Some("x\"y"));
        assert_eq!(o.raw("c"), Some(r#"{"a":false}"#));
        assert_eq!(o.string("d"), None);
        assert_eq!(o.raw("nope"), None);
        assert!(!o.flag("nope"));
    }

    #[cfg(feature = "db")]
    #[test]
    fn object_must_be_one() {
        assert_eq!(
            Object::parse(b"[1]").err().as_deref(),
            Some("is an array, not an object")
        );
        assert_eq!(
            Object::parse(b"{\"a\":}").err().as_deref(),
            Some("is not json: unexpected '}' at byte 5")
        );
        assert!(Object::parse(b"{} x").is_err());
        assert!(Object::parse(b"").is_err());
    }

    // --- the path grammar ---------------------------------------------------------------------

    #[test]
    fn path_dotted_keys() {
        assert_eq!(
            steps("components.db.status"),
            [key("components"), key("db"), key("status")]
        );
    }

    #[test]
    fn path_array_indices() {
        assert_eq!(
            steps("nodes[0].state"),
            [key("nodes"), Step::Index(0), key("state")]
        );
        assert_eq!(
            steps("m[1][22]"),
            [key("m"), Step::Index(1), Step::Index(22)]
        );
    }

    #[test]
    fn path_top_level_array() {
        assert_eq!(steps("[0].Status"), [Step::Index(0), key("Status")]);
        assert_eq!(steps(".[0]"), [Step::Index(0)]);
    }

    #[test]
    fn path_quoted_keys() {
        assert_eq!(steps(r#""a.b".c"#), [key("a.b"), key("c")]);
        assert_eq!(
            steps(r#"x."y z"[1]"#),
            [key("x"), key("y z"), Step::Index(1)]
        );
        assert_eq!(steps(r#""q\"\u00e9""#), [key("q\"é")]);
    }

    #[test]
    fn path_leading_dot_and_root() {
        assert_eq!(steps(".status"), [key("status")]);
        assert_eq!(steps("."), []);
    }

    #[test]
    fn path_bare_keys_take_any_other_character() {
        assert_eq!(steps("x-y_z:1/é"), [key("x-y_z:1/é")]);
    }

    #[test]
    fn path_errors() {
        for bad in [
            "",
            "a..b",
            "a.",
            "a[",
            "a[x]",
            "a[-1]",
            "a[1",
            r#""a"#,
            "[99999999999999999999999]",
            "==1",
        ] {
            assert!(Condition::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    // --- the condition grammar ----------------------------------------------------------------

    #[test]
    fn condition_without_operator_is_presence() {
        let c = Condition::parse("  status  ").unwrap();
        assert_eq!(c.test, Test::Present);
        assert_eq!(c.path_text, "status");
    }

    #[test]
    fn condition_operators_with_and_without_spaces() {
        for (text, op) in [
            ("a == 1", Op::Eq),
            ("a!=1", Op::Ne),
            ("a <1", Op::Lt),
            ("a<= 1", Op::Le),
            ("a > 1", Op::Gt),
            ("a>=1", Op::Ge),
        ] {
            let c = Condition::parse(text).unwrap();
            assert_eq!(
                c.test,
                Test::Compare(op, Literal::Num("1".into())),
                "{text}"
            );
            assert_eq!(c.path, [(key("a"), 1)]);
        }
    }

    #[test]
    fn condition_values() {
        let value = |text: &str| match Condition::parse(text).unwrap().test {
            Test::Compare(_, literal) => literal,
            Test::Present => unreachable!(),
        };
        assert_eq!(value(r#"s == "UP""#), Literal::Str("UP".into()));
        assert_eq!(value("s == UP"), Literal::Str("UP".into()));
        assert_eq!(value("s == all good"), Literal::Str("all good".into()));
        assert_eq!(value(r#"s == "\u0041\n""#), Literal::Str("A\n".into()));
        assert_eq!(value("s == true"), Literal::Bool(true));
        assert_eq!(value("s != false"), Literal::Bool(false));
        assert_eq!(value("s == null"), Literal::Null);
        assert_eq!(value("n == -1.5e3"), Literal::Num("-1.5e3".into()));
        assert_eq!(value("v == 1.2.3"), Literal::Str("1.2.3".into()));
    }

    #[test]
    fn condition_errors_are_one_line() {
        for bad in [
            "status ==",
            "status = UP",
            "status ~ UP",
            r#"status == "UP"#,
            "n > three",
            r#"n >= "3""#,
            "n < true",
            "s == [1]",
            "s == {}",
        ] {
            let e = Condition::parse(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(
            Condition::parse("n > three")
                .unwrap_err()
                .contains("number")
        );
    }

    // --- the reader ---------------------------------------------------------------------------

    #[test]
    fn reader_accepts_json() {
        for ok in [
            "0",
            "-0.5e-3",
            r#""a\"\\\/\b\f\n\r\t\u00e9""#,
            "true",
            " null ",
            "[]",
            "{}",
            r#"{"a":[1,{"b":null},"c"],"d":{}}"#,
            "[[[[]]]]",
            "\n{ \"a\" : 1 ,\t\"b\" : [ ] }\r\n",
        ] {
            assert!(document(ok.as_bytes()).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn reader_rejects_garbage() {
        for bad in [
            "<html>",
            "{a:1}",
            "[1,]",
            "{\"a\":1,}",
            "[1 2]",
            "01",
            "1.",
            "1e",
            "-",
            ".5",
            "+1",
            "tru",
            "nul",
            "'a'",
            "\"a\tb\"",
            r#""\x""#,
            r#""\u12G4""#,
            "{\"a\" 1}",
            "[}",
            "{]",
            "NaN",
        ] {
            assert!(document(bad.as_bytes()).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn reader_rejects_trailing_data() {
        assert_eq!(document(b"{} x"), Err(Bad::At(3)));
        assert_eq!(document(b"1 2"), Err(Bad::At(2)));
        assert_eq!(document(b"{}{}"), Err(Bad::At(2)));
    }

    #[test]
    fn reader_says_where_input_ends_early() {
        for short in [
            "", "  ", "{", "[1,", r#"{"a":"#, r#""abc"#, "tr", "[\"\\u12",
        ] {
            assert_eq!(document(short.as_bytes()), Err(Bad::End), "{short:?}");
        }
    }

    #[test]
    fn reader_rejects_invalid_utf8() {
        assert_eq!(document(b"\"a\xff\""), Err(Bad::At(2)));
        // Cut inside a character, as the read limit may cut it: the value ends early.
        assert_eq!(
            document("[\"é".as_bytes().split_last().unwrap().1),
            Err(Bad::End)
        );
    }

    #[test]
    fn reader_depth_is_capped_without_recursion() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(document(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(document(deep.as_bytes()), Err(Bad::Deep));
        let huge = "[".repeat(10_000) + &"]".repeat(10_000);
        let why = check(huge.as_bytes(), false, &[]).unwrap_err();
        assert_eq!(why, "json nested too deep: more than 128 levels");
        let objects = r#"{"a":"#.repeat(10_000);
        assert_eq!(document(objects.as_bytes()), Err(Bad::Deep));
    }

    #[test]
    fn reader_reasons() {
        let reason = |body: &[u8], cut| check(body, cut, &[]).unwrap_err();
        assert_eq!(
            reason(b"<html>", false),
            "body is not json: unexpected '<' at byte 0"
        );
        assert_eq!(reason(b"", false), "body is not json: it is empty");
        assert_eq!(
            reason(b"{\"a\":", false),
            "body is not json: it ends inside a value"
        );
        assert_eq!(
            reason(b"[1,2", true),
            "json cut off: the body is longer than the 64 KiB that is read"
        );
        assert_eq!(
            reason(b"\xff", false),
            "body is not json: unexpected byte 0xff at byte 0"
        );
    }

    // --- paths in documents -------------------------------------------------------------------

    const SPRING: &str = r#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"x"}},"ping":{"status":"UP"}}}"#;

    #[test]
    fn nested_keys() {
        assert_eq!(holds(SPRING, "components.ping.status == UP"), Ok(()));
        assert_eq!(
            holds(SPRING, "components.db.status == UP"),
            Err(r#"json components.db.status: expected == "UP", found "DOWN""#.into())
        );
    }

    #[test]
    fn array_items() {
        let body = r#"{"nodes":[{"state":"up"},{"state":"down"}]}"#;
        assert_eq!(holds(body, "nodes[0].state == up"), Ok(()));
        assert!(holds(body, "nodes[1].state == up").is_err());
        assert_eq!(
            holds(body, "nodes[2].state"),
            Err("json nodes[2].state: not found (nodes has 2 items)".into())
        );
        assert_eq!(
            holds("[]", "[0]"),
            Err("json [0]: not found (the top level has 0 items)".into())
        );
    }

    #[test]
    fn missing_keys_and_wrong_kinds() {
        assert_eq!(
            holds(SPRING, "components.cache.status"),
            Err(r#"json components.cache.status: not found (no "cache" in components)"#.into())
        );
        assert_eq!(
            holds(SPRING, "health"),
            Err(r#"json health: not found (no "health" in the top level)"#.into())
        );
        assert_eq!(
            holds(SPRING, "status.x"),
            Err("json status.x: not found (status is a string, not an object)".into())
        );
        assert_eq!(
            holds(SPRING, "components[0]"),
            Err("json components[0]: not found (components is an object, not an array)".into())
        );
    }

    #[test]
    fn quoted_keys_with_dots() {
        let body = r#"{"a.b":{"c":1},"a":{"b":{"c":2}}}"#;
        assert_eq!(holds(body, r#""a.b".c == 1"#), Ok(()));
        assert_eq!(holds(body, "a.b.c == 2"), Ok(()));
    }

    #[test]
    fn keys_with_escapes_match() {
        assert_eq!(holds(r#"{"st\u0061tus":"ok"}"#, "status == ok"), Ok(()));
    }

    #[test]
    fn last_duplicate_key_counts() {
        assert_eq!(holds(r#"{"s":"red","s":"green"}"#, "s == green"), Ok(()));
    }

    #[test]
    fn brackets_inside_strings_are_skipped() {
        let body = r#"{"a":"}]{[\"","b":["]",{"x":"}"}],"c":3}"#;
        assert_eq!(holds(body, "c == 3"), Ok(()));
        assert_eq!(holds(body, r#"b[1].x == "}""#), Ok(()));
    }

    #[test]
    fn presence() {
        let body = r#"{"a":0,"b":"","c":null,"d":false,"e":{}}"#;
        for ok in ["a", "b", "e", "."] {
            assert_eq!(holds(body, ok), Ok(()), "{ok}");
        }
        assert_eq!(
            holds(body, "c"),
            Err("json c: expected not null/false, found null".into())
        );
        assert!(holds(body, "d").is_err());
    }

    #[test]
    fn equality_is_typed() {
        let etcd = r#"{"health":"true","reason":""}"#;
        assert_eq!(holds(etcd, r#"health == "true""#), Ok(()));
        assert_eq!(
            holds(etcd, "health == true"),
            Err(r#"json health: expected == true, found "true""#.into())
        );
        assert_eq!(holds(r#"{"ok":true}"#, "ok == true"), Ok(()));
        assert_eq!(holds(r#"{"ok":null}"#, "ok == null"), Ok(()));
        assert_eq!(holds(r#"{"n":3}"#, r#"n != "3""#), Ok(()));
        assert_eq!(holds(r#"{"s":"red"}"#, "s != red").map_err(|_| ()), Err(()));
    }

    #[test]
    fn numbers_compare_as_decimals() {
        let body = r#"{"n":3,"f":2.50,"big":12345678901234567890123,"neg":-1e2,"z":-0}"#;
        for ok in [
            "n >= 3",
            "n == 3.0",
            "n == 30e-1",
            "n < 3.0001",
            "n > 2.99",
            "f == 2.5",
            "f <= 2.5",
            "big > 12345678901234567890122",
            "big == 1.2345678901234567890123e22",
            "neg == -100",
            "neg < -99.5",
            "neg > -1e3",
            "z == 0",
            "z >= 0",
            "z > -1e-999999",
        ] {
            assert_eq!(holds(body, ok), Ok(()), "{ok}");
        }
        for bad in [
            "n > 3",
            "n < 3",
            "n != 3",
            "f == 2.51",
            "neg > 0",
            "big < 1e22",
        ] {
            assert!(holds(body, bad).is_err(), "{bad} held");
        }
        assert_eq!(
            compare_numbers("1e99999999999999999999", "1e9"),
            Ordering::Greater
        );
        assert_eq!(compare_numbers("0.001", "1e-3"), Ordering::Equal);
        assert_eq!(compare_numbers("-2", "-10"), Ordering::Greater);
    }

    #[test]
    fn ordering_needs_a_number() {
        assert_eq!(
            holds(r#"{"n":"3"}"#, "n >= 3"),
            Err(r#"json n: expected >= 3, found "3", not a number"#.into())
        );
    }

    #[test]
    fn found_values_are_shortened_to_one_line() {
        let body = format!("{{\"a\":{{\n\"x\": \"{}\"\n}}}}", "y".repeat(5000));
        let why = holds(&body, "a == 1").unwrap_err();
        assert!(why.chars().count() < 120, "{why}");
        assert!(
            why.starts_with(r#"json a: expected == 1, found { "x": "yyy"#),
            "{why}"
        );
    }

    #[test]
    fn every_condition_must_hold() {
        let conditions = [
            Condition::parse("status == DOWN").unwrap(),
            Condition::parse("components.ping.status == DOWN").unwrap(),
        ];
        let why = check(SPRING.as_bytes(), false, &conditions).unwrap_err();
        assert!(why.starts_with("json components.ping.status:"), "{why}");
    }

    /// A few thousand pseudo-random inputs around real bodies and conditions, so that a plain
    /// `cargo test` already runs what the fuzzer runs.
    #[test]
    fn survives_mutated_input() {
        let seeds: [&[u8]; 4] = [
            b"components.db.status == UP\n{\"components\":{\"db\":{\"status\":\"UP\"}}}",
            b"[0].Status != critical\n[{\"Status\":\"passing\"},{\"Status\":\"x\"}]",
            b"\"a.b\"[1] >= -2.5e1\n{\"a.b\":[1,2.5,\"\\u00e9\"]}",
            b"n\n[[[[{\"n\":null}]]]]",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..4000 {
            let mut data = seeds[round % seeds.len()].to_vec();
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % (data.len() + 1);
                match next() % 3 {
                    0 if at < data.len() => data[at] = next() as u8,
                    1 => data.insert(at, b"[]{}\",:.\\0e-"[(next() % 12) as usize]),
                    _ => data.truncate(at),
                }
            }
            fuzz(&data);
        }
    }
}
