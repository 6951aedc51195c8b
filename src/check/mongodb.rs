//! `mongodb://[USER:PASSWORD@]HOST[:PORT][/[DATABASE]][?role=primary|secondary|any]`: the
//! `hello` command in an OP_MSG (opCode 2013) before any login, as the drivers' monitors send
//! it, and what the server says of itself.
//!
//! Healthy: `ok: 1` and, for a replica set member (`setName` in the reply), the role that
//! `role` asks for: `isWritablePrimary` for `primary`, `secondary` for `secondary`, either (or
//! an arbiter) for `any`, the default. A member that is neither (STARTUP2, RECOVERING,
//! ROLLBACK), a server started with `--replSet` whose set is not initiated yet, a secondary
//! asked to be the primary: unhealthy, named. A server before 4.4.2 does not know `hello`
//! (`CommandNotFound`): the check asks `isMaster` instead, which every server since 3.6 answers
//! over OP_MSG. Older servers (3.4 and before, end of life since 2020) only speak OP_QUERY;
//! the ~400 bytes of a second framing were not spent on them: they hang up on an OP_MSG, which
//! the probe reports as such.
//!
//! With a password: a SCRAM-SHA-256 login (`saslStart`/`saslContinue` on `authSource`, else the
//! DATABASE, else `admin`; the core is `check::scram`, shared with postgres://, and needs the
//! `tls` feature for ring's hashes), the server's signature verified, then `ping`.
//!
//! Crates considered: `mongodb` (the official driver: async on tokio, with its SDAM monitors,
//! connection pool, DNS SRV resolver and `bson`), estimated at well over a megabyte in a static
//! binary (not built here); `bson` alone: see `check::bson`. The wire messages are written
//! here by hand.

use crate::check::bson::{self, Doc, Put, Value};
use crate::check::shared::{Ctx, Timed};
use crate::check::wire::{self, FRAME_LIMIT, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::Target;

const OP_MSG: i32 = 2013;
/// Flag bits of OP_MSG: `checksumPresent`, `moreToCome`; bits 0-15 are required to be known.
const CHECKSUM_PRESENT: u32 = 1;
const MORE_TO_COME: u32 = 2;
const REQUIRED_BITS: u32 = 0xffff;
/// How deep a reply's documents may nest: a `hello` reply nests three levels.
pub(crate) const MAX_DEPTH: usize = 32;
/// `CommandNotFound`: `hello` on a server before 4.4.2.
const COMMAND_NOT_FOUND: i32 = 59;

/// The role a target asks of a replica set member (`?role=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MongoRole {
    /// The primary or a secondary (an arbiter too): the default.
    Any,
    Primary,
    Secondary,
}

/// What the target asks for: the role, and where the user is defined (`authSource`, else the
/// DATABASE, else `admin`, as the drivers read a connection string). The parser has checked
/// the query against the kind's row (src/kind.rs).
fn options(target: &Target) -> (MongoRole, String) {
    let role = match target.param("role") {
        Some("primary") => MongoRole::Primary,
        Some("secondary") => MongoRole::Secondary,
        _ => MongoRole::Any,
    };
    let source = target
        .param("authSource")
        .and_then(|s| crate::target::percent_decode(s, true))
        .filter(|s| !s.is_empty())
        .or_else(|| Some(target.path().to_string()).filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "admin".into());
    (role, source)
}

/// What the exchange needs.
#[derive(Debug)]
pub(crate) struct MongoParams<'a> {
    pub role: MongoRole,
    /// User, password and the database the user is defined in.
    pub login: Option<(&'a str, &'a str, &'a str)>,
}

/// One OP_MSG reply: the request it answers, and its body document (section kind 0).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub response_to: i32,
    pub body: Vec<u8>,
}

fn read_i32(buf: &[u8], at: usize) -> i32 {
    i32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// Splits off one OP_MSG (16-byte header: length, request id, response to, opCode; flag bits;
/// sections; an optional CRC-32C, not checked) and takes its body section.
pub(crate) fn parse_message(buf: &[u8]) -> Parsed<Message> {
    if buf.len() < 16 {
        return Ok(None);
    }
    let len = read_i32(buf, 0);
    let op = read_i32(buf, 12);
    if op != OP_MSG {
        return Err(format!("not an OP_MSG reply (opCode {op})"));
    }
    let len = match usize::try_from(len) {
        Ok(l) if (21..=FRAME_LIMIT).contains(&l) => l,
        // As the unsigned length it would be: 2^31, not -2^31.
        _ => return Err(format!("a message of {} bytes", len as u32)),
    };
    let Some(msg) = buf.get(..len) else {
        return Ok(None);
    };
    let flags = u32::from_le_bytes([msg[16], msg[17], msg[18], msg[19]]);
    if flags & REQUIRED_BITS & !(CHECKSUM_PRESENT | MORE_TO_COME) != 0 {
        return Err(format!("unknown OP_MSG flags {flags:#x}"));
    }
    let end = if flags & CHECKSUM_PRESENT != 0 {
        len.checked_sub(4)
            .filter(|&e| e >= 20)
            .ok_or("a checksum with no room")?
    } else {
        len
    };
    let mut at = 20;
    let mut body = None;
    while at < end {
        let kind = msg[at];
        let rest = &msg[at + 1..end];
        match kind {
            0 if body.is_none() => {
                let (_, used) = Doc::prefix(rest)?;
                body = Some(rest[..used].to_vec());
                at += 1 + used;
            }
            0 => return Err("two body sections".into()),
            // A document sequence: its size counts itself and the identifier.
            1 => {
                let size = rest
                    .get(..4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .and_then(|s| usize::try_from(s).ok())
                    .filter(|&s| s >= 4 && s <= rest.len())
                    .ok_or("a document sequence longer than its message")?;
                at += 1 + size;
            }
            other => return Err(format!("an OP_MSG section of kind {other}")),
        }
    }
    let body = body.ok_or("an OP_MSG without a body")?;
    Ok(Some((
        Message {
            response_to: read_i32(msg, 8),
            body,
        },
        len,
    )))
}

/// An OP_MSG request: header, no flags, one body section.
fn op_msg(request_id: i32, doc: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + 1 + doc.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(len as i32).to_le_bytes());
    out.extend_from_slice(&request_id.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&OP_MSG.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    out.extend_from_slice(doc);
    out
}

/// A string field as one printable line.
fn text(doc: &Doc<'_>, name: &str) -> Option<String> {
    match doc.get(name)? {
        Value::Str(s) => Some(wire::server_text(s)),
        _ => None,
    }
}

fn truthy(doc: &Doc<'_>, name: &str) -> bool {
    doc.get(name).is_some_and(|v| v.truthy())
}

/// A reply's error, when `ok` is not 1: `errmsg (codeName)`, and the code.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CommandError {
    pub code: Option<i32>,
    pub text: String,
}

pub(crate) fn command_error(doc: &Doc<'_>) -> Option<CommandError> {
    if doc.get("ok").and_then(|v| v.number()) == Some(1.0) {
        return None;
    }
    let code = doc.get("code").and_then(|v| v.number()).map(|n| n as i32);
    let errmsg = text(doc, "errmsg").unwrap_or_else(|| "no errmsg".into());
    let named = match (text(doc, "codeName"), code) {
        (Some(name), _) => format!(" ({name})"),
        (None, Some(code)) => format!(" (code {code})"),
        (None, None) => String::new(),
    };
    Some(CommandError {
        code,
        text: format!("{errmsg}{named}"),
    })
}

/// What `hello` (or `isMaster`) says, judged against `role`: the healthy description or the
/// reason it is not.
pub(crate) fn judge(doc: &Doc<'_>, role: MongoRole) -> Result<String, String> {
    let writable = truthy(doc, "isWritablePrimary") || truthy(doc, "ismaster");
    let secondary = truthy(doc, "secondary");
    if text(doc, "msg").as_deref() == Some("isdbgrid") {
        return match role {
            MongoRole::Secondary => {
                Err("a mongos router, not a replica set member (role=secondary)".into())
            }
            _ => Ok("mongos router".into()),
        };
    }
    let Some(set) = text(doc, "setName") else {
        if truthy(doc, "isreplicaset") {
            let info = text(doc, "info")
                .map(|i| format!(": {i}"))
                .unwrap_or_default();
            return Err(format!(
                "started with --replSet, but its replica set is not initiated{info}"
            ));
        }
        return match (writable, role) {
            (false, _) => Err("a standalone server that is not writable".into()),
            (true, MongoRole::Secondary) => Err(
                "a standalone server, not a replica set member (role=secondary asks for a secondary)"
                    .into(),
            ),
            (true, _) => Ok("standalone".into()),
        };
    };
    let primary_is = || match text(doc, "primary") {
        Some(p) => format!("the primary is {p}"),
        None => "no primary known".into(),
    };
    if writable {
        return match role {
            MongoRole::Secondary => Err(format!(
                "primary of replica set {set} (role=secondary asks for a secondary)"
            )),
            _ => Ok(format!("primary of replica set {set}")),
        };
    }
    if secondary {
        return match role {
            MongoRole::Primary => Err(format!(
                "secondary of replica set {set}, {} (role=primary asks for the primary)",
                primary_is()
            )),
            _ => Ok(format!("secondary of replica set {set}")),
        };
    }
    if truthy(doc, "arbiterOnly") {
        return match role {
            MongoRole::Any => Ok(format!("arbiter of replica set {set}")),
            _ => Err(format!(
                "arbiter of replica set {set}, which holds no data (role=primary or secondary)"
            )),
        };
    }
    Err(format!(
        "member of replica set {set} is neither primary nor secondary \
         (STARTUP2, RECOVERING or ROLLBACK), {}",
        primary_is()
    ))
}

fn protocol(what: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("mongodb: {what}"))
}

/// Commands over one connection, each answered in turn.
struct Session<'w, 'a, S: Timed> {
    wire: &'w mut Wire<'a, S>,
    last_id: i32,
}

impl<S: Timed> Session<'_, '_, S> {
    /// Sends a command and returns its reply's body, checked to be well-formed BSON.
    fn call(&mut self, fields: &[(&str, Put<'_>)]) -> Result<Vec<u8>, Error> {
        self.last_id += 1;
        self.wire
            .send(&op_msg(self.last_id, &bson::document(fields)))?;
        let reply = self.wire.read(parse_message)?;
        if reply.response_to != self.last_id {
            return Err(protocol(&format!(
                "a reply to request {}, expected {}",
                reply.response_to, self.last_id
            )));
        }
        Doc::parse(&reply.body)
            .and_then(|d| d.validate(MAX_DEPTH))
            .map_err(|e| protocol(&e))?;
        Ok(reply.body)
    }
}

/// `hello` (or `isMaster`), then the login and `ping` when there is a password; see the
/// module doc for what is healthy.
pub(crate) fn exchange(
    stream: &mut impl Timed,
    params: &MongoParams,
    deadline: &Deadline,
) -> Result<String, Error> {
    let mut wire = Wire::new(stream, deadline, "mongodb");
    let mut session = Session {
        wire: &mut wire,
        last_id: 0,
    };
    let hello = session.call(&[("hello", Put::Int32(1)), ("$db", Put::Str("admin"))])?;
    let (reply, via) = match command_error(&Doc::parse(&hello).map_err(|e| protocol(&e))?) {
        None => (hello, ""),
        Some(e) if e.code == Some(COMMAND_NOT_FOUND) || e.text.starts_with("no such c") => {
            let old = session.call(&[("isMaster", Put::Int32(1)), ("$db", Put::Str("admin"))])?;
            if let Some(e) = command_error(&Doc::parse(&old).map_err(|e| protocol(&e))?) {
                return Err(Error::unhealthy(format!(
                    "mongodb: isMaster failed: {}",
                    e.text
                )));
            }
            (old, ", via isMaster")
        }
        Some(e) => {
            return Err(Error::unhealthy(format!(
                "mongodb: hello failed: {}",
                e.text
            )));
        }
    };
    let doc = Doc::parse(&reply).map_err(|e| protocol(&e))?;
    let seen =
        judge(&doc, params.role).map_err(|why| Error::unhealthy(format!("mongodb: {why}")))?;
    let Some((user, password, source)) = params.login else {
        return Ok(format!("{seen}{via}"));
    };
    login(&mut session, user, password, source, deadline)?;
    let ping = session.call(&[("ping", Put::Int32(1)), ("$db", Put::Str(source))])?;
    if let Some(e) = command_error(&Doc::parse(&ping).map_err(|e| protocol(&e))?) {
        return Err(Error::unhealthy(format!(
            "mongodb: ping failed: {}",
            e.text
        )));
    }
    Ok(format!("{seen}{via}, logged in as {user}"))
}

/// SCRAM-SHA-256 over `saslStart`/`saslContinue` (MongoDB's "SCRAM" auth spec): the
/// client-first message, the client-final one, the server's signature checked; with
/// `skipEmptyExchange` the server says `done` then, else one empty `saslContinue` more.
#[cfg(feature = "tls")]
fn login<S: Timed>(
    session: &mut Session<'_, '_, S>,
    user: &str,
    password: &str,
    source: &str,
    deadline: &Deadline,
) -> Result<(), Error> {
    let failed = |e: CommandError| {
        let hint = if e.code == Some(18) {
            format!(", as user {user} in database {source}")
        } else {
            String::new()
        };
        Error::unhealthy(format!("mongodb: login failed: {}{hint}", e.text))
    };
    let mut client = crate::check::scram::Client::new("mongodb", user, password)?;
    let first = client.client_first();
    let options = bson::document(&[("skipEmptyExchange", Put::Bool(true))]);
    let reply = session.call(&[
        ("saslStart", Put::Int32(1)),
        ("mechanism", Put::Str("SCRAM-SHA-256")),
        ("payload", Put::Binary(first.as_bytes())),
        ("autoAuthorize", Put::Int32(1)),
        ("options", Put::Doc(options)),
        ("$db", Put::Str(source)),
    ])?;
    let (mut conversation, payload, mut done) = sasl_step(&reply).map_err(failed)?;
    let last = client.final_message(&payload, deadline)?;
    let mut payload_out = last.into_bytes();
    let mut verified = false;
    // saslContinue with the client-final message, then (without skipEmptyExchange) once more
    // with an empty one; a server that wants more than that is not speaking SCRAM.
    for _ in 0..2 {
        if done {
            break;
        }
        let reply = session.call(&[
            ("saslContinue", Put::Int32(1)),
            ("conversationId", Put::Int32(conversation)),
            ("payload", Put::Binary(&payload_out)),
            ("$db", Put::Str(source)),
        ])?;
        let (id, payload, now_done) = sasl_step(&reply).map_err(failed)?;
        if !verified {
            client.verify_server(&payload)?;
            verified = true;
        }
        conversation = id;
        done = now_done;
        payload_out.clear();
    }
    if !(done && verified) {
        return Err(protocol("the SCRAM conversation did not end"));
    }
    Ok(())
}

#[cfg(not(feature = "tls"))]
fn login<S: Timed>(
    _: &mut Session<'_, '_, S>,
    _: &str,
    _: &str,
    _: &str,
    _: &Deadline,
) -> Result<(), Error> {
    Err(Error::feature_missing(
        "tls",
        "mongodb: a SCRAM-SHA-256 login needs",
        Some("ring"),
    ))
}

/// A `saslStart`/`saslContinue` reply: the conversation id, the payload and `done`.
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) fn sasl_step(reply: &[u8]) -> Result<(i32, Vec<u8>, bool), CommandError> {
    let malformed = |what: &str| CommandError {
        code: None,
        text: format!("a SASL reply {what}"),
    };
    let doc = Doc::parse(reply).map_err(|e| malformed(&e))?;
    if let Some(e) = command_error(&doc) {
        return Err(e);
    }
    let id = doc
        .get("conversationId")
        .and_then(|v| v.number())
        .filter(|n| n.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(n))
        .ok_or_else(|| malformed("without a conversationId"))?;
    let payload = match doc.get("payload") {
        Some(Value::Binary(b)) => b.to_vec(),
        _ => return Err(malformed("without a payload")),
    };
    Ok((id as i32, payload, truthy(&doc, "done")))
}

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let (role, source) = options(target);
    let (user, password) = wire::login(ctx, target);
    let login = match (user, password) {
        (Some(user), Some(password)) => Some((user, password, source.as_str())),
        // A password in the URL alone is a mistake; one from --password-file, which serves
        // every target of the run, is for the targets that name a user.
        (None, Some(_)) if target.login().1.is_some() => {
            return Err(Error::usage(
                "mongodb: a password without a user (mongodb://USER:PASSWORD@HOST)",
            ));
        }
        _ => None,
    };
    let params = MongoParams { role, login };
    let mut stream = wire::connect(ctx, target, details)?;
    exchange(&mut stream, &params, ctx.deadline).map_err(|e| {
        // A server before 3.6 hangs up on an OP_MSG: say so where it happens.
        if e.to_string()
            .ends_with("closed the connection before replying")
        {
            e.append(" (servers before MongoDB 3.6 do not speak OP_MSG)")
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: i32, fields: &[(&str, Put<'_>)]) -> Vec<u8> {
        let mut m = op_msg(7, &bson::document(fields));
        m[8..12].copy_from_slice(&id.to_le_bytes());
        m
    }

    fn judged(fields: &[(&str, Put<'_>)], role: MongoRole) -> Result<String, String> {
        let bytes = bson::document(fields);
        judge(&Doc::parse(&bytes).unwrap(), role)
    }

    #[test]
    fn options_from_the_target() {
        let t = |s: &str| s.parse::<Target>().unwrap();
        assert_eq!(
            options(&t("mongodb://db/?role=primary&replicaSet=rs0")),
            (MongoRole::Primary, "admin".into())
        );
        assert_eq!(
            options(&t("mongodb://db:27018/app")),
            (MongoRole::Any, "app".into())
        );
        assert_eq!(
            options(&t("mongodb://db/app?authSource=us%2Fers&role=secondary")),
            (MongoRole::Secondary, "us/ers".into())
        );
        assert_eq!(options(&t("mongodb://db?role=any")).0, MongoRole::Any);
        for bad in [
            "mongodb://db/?role=leader",
            "mongodb://db/?tls=true",
            "mongodb://db/?authMechanism=SCRAM-SHA-1",
            "mongodb://db/a/b",
            "mongodb://db1,db2/",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
        assert!(
            "mongodb://db/?tls=true"
                .parse::<Target>()
                .unwrap_err()
                .to_string()
                .contains("expected tls=false or no tls")
        );
    }

    #[test]
    fn request_layout() {
        let m = op_msg(1, &bson::document(&[("hello", Put::Int32(1))]));
        assert_eq!(read_i32(&m, 0) as usize, m.len());
        assert_eq!(read_i32(&m, 12), 2013);
        assert_eq!(&m[16..21], &[0, 0, 0, 0, 0]);
    }

    #[test]
    fn message_needs_its_whole_length() {
        let m = reply(3, &[("ok", Put::Int32(1))]);
        let (msg, used) = parse_message(&m).unwrap().unwrap();
        assert_eq!((msg.response_to, used), (3, m.len()));
        assert!(Doc::parse(&msg.body).is_ok());
        assert_eq!(parse_message(&m[..m.len() - 1]), Ok(None));
        assert_eq!(parse_message(&m[..10]), Ok(None));
    }

    #[test]
    fn bad_lengths_opcodes_and_flags() {
        let mut m = reply(1, &[("ok", Put::Int32(1))]);
        m[0..4].copy_from_slice(&i32::MIN.to_le_bytes());
        assert!(parse_message(&m).is_err(), "2^31");
        m[0..4].copy_from_slice(&(1i32 << 20).to_le_bytes());
        assert!(parse_message(&m).is_err(), "1 MiB");
        let mut m = reply(1, &[("ok", Put::Int32(1))]);
        m[12] = 1;
        assert!(parse_message(&m).unwrap_err().contains("opCode"));
        let mut m = reply(1, &[("ok", Put::Int32(1))]);
        m[16] = 4;
        assert!(parse_message(&m).unwrap_err().contains("flags"));
        assert!(parse_message(b"HTTP/1.1 400 Bad Request\r\n\r\n").is_err());
    }

    #[test]
    fn checksum_and_sequences_are_skipped() {
        let doc = bson::document(&[("ok", Put::Double(1.0))]);
        let mut m = op_msg(1, &doc);
        m[16] = 1; // checksumPresent
        // A kind-1 section before the checksum: size 4 + "x\0" + nothing.
        m.extend_from_slice(&[1, 6, 0, 0, 0, b'x', 0]);
        m.extend_from_slice(&[9, 9, 9, 9]);
        let len = m.len() as i32;
        m[0..4].copy_from_slice(&len.to_le_bytes());
        let (msg, _) = parse_message(&m).unwrap().unwrap();
        assert_eq!(msg.body, doc);
    }

    #[test]
    fn errors_carry_the_servers_words() {
        let bytes = bson::document(&[
            ("ok", Put::Double(0.0)),
            ("errmsg", Put::Str("no such command: 'hello'")),
            ("code", Put::Int32(59)),
            ("codeName", Put::Str("CommandNotFound")),
        ]);
        let e = command_error(&Doc::parse(&bytes).unwrap()).unwrap();
        assert_eq!(e.code, Some(59));
        assert_eq!(e.text, "no such command: 'hello' (CommandNotFound)");
        let ok = bson::document(&[("ok", Put::Double(1.0))]);
        assert_eq!(command_error(&Doc::parse(&ok).unwrap()), None);
        let none = bson::document(&[]);
        assert!(command_error(&Doc::parse(&none).unwrap()).is_some());
    }

    #[test]
    fn standalone_and_replica_set_roles() {
        let standalone = [
            ("isWritablePrimary", Put::Bool(true)),
            ("ok", Put::Double(1.0)),
        ];
        assert_eq!(judged(&standalone, MongoRole::Any).unwrap(), "standalone");
        assert_eq!(
            judged(&standalone, MongoRole::Primary).unwrap(),
            "standalone"
        );
        assert!(judged(&standalone, MongoRole::Secondary).is_err());
        let primary = [
            ("ismaster", Put::Bool(true)),
            ("secondary", Put::Bool(false)),
            ("setName", Put::Str("rs0")),
        ];
        assert_eq!(
            judged(&primary, MongoRole::Primary).unwrap(),
            "primary of replica set rs0"
        );
        assert!(judged(&primary, MongoRole::Secondary).is_err());
        let secondary = [
            ("isWritablePrimary", Put::Bool(false)),
            ("secondary", Put::Bool(true)),
            ("setName", Put::Str("rs0")),
            ("primary", Put::Str("db1:27017")),
        ];
        assert!(judged(&secondary, MongoRole::Any).is_ok());
        let e = judged(&secondary, MongoRole::Primary).unwrap_err();
        assert!(e.contains("the primary is db1:27017"), "{e}");
        let recovering = [
            ("isWritablePrimary", Put::Bool(false)),
            ("secondary", Put::Bool(false)),
            ("setName", Put::Str("rs0")),
        ];
        let e = judged(&recovering, MongoRole::Any).unwrap_err();
        assert!(
            e.contains("RECOVERING") && e.contains("no primary known"),
            "{e}"
        );
        let arbiter = [
            ("arbiterOnly", Put::Bool(true)),
            ("setName", Put::Str("rs0")),
        ];
        assert!(judged(&arbiter, MongoRole::Any).is_ok());
        assert!(judged(&arbiter, MongoRole::Primary).is_err());
    }

    #[test]
    fn uninitiated_set_and_mongos() {
        let e = judged(
            &[
                ("isWritablePrimary", Put::Bool(false)),
                ("isreplicaset", Put::Bool(true)),
                ("info", Put::Str("Does not have a valid replica set config")),
            ],
            MongoRole::Any,
        )
        .unwrap_err();
        assert!(e.contains("not initiated: Does not have"), "{e}");
        let mongos = [("ismaster", Put::Bool(true)), ("msg", Put::Str("isdbgrid"))];
        assert_eq!(judged(&mongos, MongoRole::Any).unwrap(), "mongos router");
    }

    #[test]
    fn sasl_replies() {
        let ok = bson::document(&[
            ("conversationId", Put::Int32(1)),
            ("done", Put::Bool(false)),
            ("payload", Put::Binary(b"r=abc")),
            ("ok", Put::Double(1.0)),
        ]);
        assert_eq!(sasl_step(&ok), Ok((1, b"r=abc".to_vec(), false)));
        let failed = bson::document(&[
            ("ok", Put::Double(0.0)),
            ("errmsg", Put::Str("Authentication failed.")),
            ("code", Put::Int32(18)),
            ("codeName", Put::Str("AuthenticationFailed")),
        ]);
        let e = sasl_step(&failed).unwrap_err();
        assert_eq!(e.text, "Authentication failed. (AuthenticationFailed)");
        let no_payload =
            bson::document(&[("conversationId", Put::Int32(1)), ("ok", Put::Int32(1))]);
        assert!(sasl_step(&no_payload).is_err());
    }
}
