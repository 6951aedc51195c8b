//! `postgres://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE]` (alias `postgresql://`): the startup
//! message of the frontend/backend protocol 3.0, and what the server answers.
//!
//! Without a password the check is `pg_isready`'s: the server is "accepting connections" when
//! it answers with an authentication request, AuthenticationOk, or an error other than SQLSTATE
//! 57P03 (`cannot_connect_now`: starting up, shutting down, a standby with `hot_standby=off`).
//! The probe hangs up at the authentication request, which PostgreSQL does not log; after
//! AuthenticationOk (trust) it waits for ReadyForQuery and says Terminate. With a password the
//! login must succeed: SCRAM-SHA-256 (ring: HMAC, PBKDF2, SHA-256; needs the `tls` feature),
//! md5 (RustCrypto's `md-5`) or cleartext, as the server asks.
//!
//! `?sslmode=require` (or `verify-ca`, `verify-full`) sends SSLRequest first, then TLS verified
//! like every TLS target.
//!
//! Crates considered: `postgres` (sync over tokio) and `tokio-postgres` bring the driver, its
//! type system and tokio's I/O stack, estimated at several hundred KB in the static binary for
//! one startup message (not built here); `postgres-protocol` (the message codec alone) pulls
//! `bytes`, `fallible-iterator`, `hmac`, `sha2`, `md-5`, `rand` and `stringprep`, duplicating
//! the crypto ring already carries. The messages are written here by hand: about 5 KB of code
//! in the release binary (symbol sizes), plus `md-5`'s 2 KB compression function.

use crate::check::shared::{Ctx, Timed};
use crate::check::wire::{self, FRAME_LIMIT, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::Target;

/// SQLSTATE `cannot_connect_now`: the one error `pg_isready` reads as "rejecting connections".
const CANNOT_CONNECT_NOW: &str = "57P03";

/// A bound on messages before ReadyForQuery: a server sends about fifteen.
const MAX_MESSAGES: usize = 200;

/// What the exchange needs.
#[derive(Debug)]
pub(crate) struct PgParams<'a> {
    pub user: &'a str,
    pub database: &'a str,
    pub password: Option<&'a str>,
}

/// One backend message: its type byte and its body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub kind: u8,
    pub body: Vec<u8>,
}

/// Splits off one backend message (type byte, big-endian length that counts itself, body).
pub(crate) fn parse_message(buf: &[u8]) -> Parsed<Message> {
    let Some(header) = buf.get(..5) else {
        return Ok(None);
    };
    let kind = header[0];
    if !kind.is_ascii_alphabetic() {
        return Err(format!("not a postgres message (type byte {kind:#04x})"));
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if !(4..FRAME_LIMIT).contains(&len) {
        return Err(format!("a message of {len} bytes"));
    }
    let end = 1 + len;
    match buf.get(5..end) {
        Some(body) => Ok(Some((
            Message {
                kind,
                body: body.to_vec(),
            },
            end,
        ))),
        None => Ok(None),
    }
}

/// The server's one-byte answer to SSLRequest: `S` (go ahead) or `N` (no TLS here).
pub(crate) fn parse_ssl_answer(buf: &[u8]) -> Parsed<u8> {
    Ok(buf.first().map(|&b| (b, 1)))
}

/// The fields of an ErrorResponse or NoticeResponse that a reason needs.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PgError {
    pub severity: String,
    pub code: String,
    pub message: String,
}

pub(crate) fn parse_error(body: &[u8]) -> PgError {
    let mut e = PgError::default();
    for field in body.split(|&b| b == 0) {
        let Some((&tag, value)) = field.split_first() else {
            continue;
        };
        let value = wire::server_text(value);
        match tag {
            b'S' => e.severity = value,
            b'C' => e.code = value,
            b'M' => e.message = value,
            _ => {}
        }
    }
    e
}

impl PgError {
    fn reason(&self) -> String {
        format!("{} ({})", self.message, self.code)
    }
}

/// A frontend message: type byte, length, body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(kind);
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn startup(params: &PgParams) -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec(); // protocol 3.0
    for (key, value) in [
        ("user", params.user),
        ("database", params.database),
        ("application_name", "healthprobe"),
    ] {
        body.extend_from_slice(key.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = (body.len() as u32 + 4).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

fn auth_name(code: u32) -> &'static str {
    match code {
        2 => "Kerberos V5",
        3 => "a cleartext password",
        5 => "md5",
        7 | 8 => "GSSAPI",
        9 => "SSPI",
        10 => "SCRAM-SHA-256",
        _ => "an unknown authentication method",
    }
}

/// The startup exchange over an open stream; see the module doc for what is healthy.
pub(crate) fn exchange(
    stream: &mut impl Timed,
    params: &PgParams,
    deadline: &Deadline,
) -> Result<String, Error> {
    let mut wire = Wire::new(stream, deadline, "postgres");
    wire.send(&startup(params))?;
    let mut session = Startup {
        params,
        #[cfg(feature = "tls")]
        deadline,
        authenticated: false,
        version: String::new(),
        #[cfg(feature = "tls")]
        scram: None,
    };
    for _ in 0..MAX_MESSAGES {
        let m = wire.read(parse_message)?;
        if let Some(summary) = session.on_message(&mut wire, &m)? {
            return Ok(summary);
        }
    }
    Err(protocol("too many messages before ReadyForQuery"))
}

/// What the startup exchange has learnt so far, and its answer to each backend message.
struct Startup<'a> {
    params: &'a PgParams<'a>,
    /// SCRAM's PBKDF2 stops at the deadline too.
    #[cfg(feature = "tls")]
    deadline: &'a Deadline,
    /// AuthenticationOk came: ReadyForQuery ends the exchange.
    authenticated: bool,
    /// The `server_version` of a ParameterStatus.
    version: String,
    #[cfg(feature = "tls")]
    scram: Option<scram::Client>,
}

impl Startup<'_> {
    /// One backend message: `Some(summary)` ends the exchange healthy, `None` reads on.
    fn on_message<S: Timed>(
        &mut self,
        wire: &mut Wire<'_, S>,
        m: &Message,
    ) -> Result<Option<String>, Error> {
        match m.kind {
            b'E' => self.error_response(&m.body).map(Some),
            b'R' => self.authentication(wire, &m.body),
            b'S' => {
                self.parameter_status(&m.body);
                Ok(None)
            }
            b'Z' if self.authenticated => Ok(Some(self.ready(wire))),
            b'K' | b'N' | b'v' => Ok(None),
            other => Err(protocol(&format!(
                "unexpected message type {:?}",
                char::from(other)
            ))),
        }
    }

    /// ErrorResponse: 57P03 is "not accepting connections"; any other error is pg_isready's
    /// "accepting connections" without a password, and a failed login with one.
    fn error_response(&self, body: &[u8]) -> Result<String, Error> {
        let e = parse_error(body);
        if e.code == CANNOT_CONNECT_NOW {
            return Err(Error::unhealthy(format!(
                "not accepting connections: {}",
                e.reason()
            )));
        }
        if self.params.password.is_none() {
            return Ok(format!(
                "accepting connections ({} {})",
                e.severity,
                e.reason()
            ));
        }
        Err(Error::unhealthy(format!("postgres: {}", e.reason())))
    }

    /// An authentication message: AuthenticationOk, or a request that the password answers.
    fn authentication<S: Timed>(
        &mut self,
        wire: &mut Wire<'_, S>,
        body: &[u8],
    ) -> Result<Option<String>, Error> {
        let Some(code) = body.get(..4) else {
            return Err(protocol("a short authentication message"));
        };
        let code = u32::from_be_bytes([code[0], code[1], code[2], code[3]]);
        let data = &body[4..];
        if code == 0 {
            self.authenticated = true;
            return Ok(None);
        }
        let Some(password) = self.params.password else {
            // pg_isready's "accepting connections". Hanging up here leaves no line in the
            // server's log.
            return Ok(Some(format!(
                "accepting connections (asks for {})",
                auth_name(code)
            )));
        };
        self.answer(wire, code, data, password)?;
        Ok(None)
    }

    /// Answers the authentication request `code` (with its `data`) with `password`, in the
    /// method it names: cleartext, md5, or a step of SCRAM-SHA-256.
    fn answer<S: Timed>(
        &mut self,
        wire: &mut Wire<'_, S>,
        code: u32,
        data: &[u8],
        password: &str,
    ) -> Result<(), Error> {
        match code {
            3 => wire.send(&password_message(password.as_bytes())),
            5 => {
                let salt = data
                    .get(..4)
                    .ok_or_else(|| protocol("md5 without a salt"))?;
                let hashed = md5_password(self.params.user, password, salt);
                wire.send(&password_message(hashed.as_bytes()))
            }
            #[cfg(feature = "tls")]
            10 => {
                let client = scram::start(password, data)?;
                wire.send(&message(b'p', &scram::initial_response(&client)))?;
                self.scram = Some(client);
                Ok(())
            }
            #[cfg(feature = "tls")]
            11 => {
                let client = self
                    .scram
                    .as_mut()
                    .ok_or_else(|| protocol("SASLContinue before SASL"))?;
                wire.send(&message(
                    b'p',
                    client.final_message(data, self.deadline)?.as_bytes(),
                ))
            }
            #[cfg(feature = "tls")]
            12 => self
                .scram
                .as_ref()
                .ok_or_else(|| protocol("SASLFinal before SASL"))?
                .verify_server(data),
            #[cfg(not(feature = "tls"))]
            10 => Err(Error::feature_missing(
                "tls",
                "postgres: the server asks for SCRAM-SHA-256, which needs",
                Some("ring"),
            )),
            other => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "postgres: the server asks for {}, which healthprobe does not do \
                     (it logs in with SCRAM-SHA-256, md5 or a cleartext password)",
                    auth_name(other)
                ),
            )),
        }
    }

    /// ParameterStatus: the one parameter the summary names is `server_version`.
    fn parameter_status(&mut self, body: &[u8]) {
        let mut parts = body.split(|&b| b == 0);
        if parts.next() == Some(b"server_version") {
            self.version = wire::server_text(parts.next().unwrap_or_default());
        }
    }

    /// ReadyForQuery after AuthenticationOk: Terminate, and the summary.
    fn ready<S: Timed>(&self, wire: &mut Wire<'_, S>) -> String {
        // Terminate: a polite goodbye, so the server logs nothing.
        let _ = wire.send(&message(b'X', &[]));
        let server = if self.version.is_empty() {
            String::new()
        } else {
            format!(", server {}", self.version)
        };
        match self.params.password {
            Some(_) => format!(
                "logged in as {} to {}{server}",
                self.params.user, self.params.database
            ),
            None => format!("accepting connections (no password asked){server}"),
        }
    }
}

/// PasswordMessage: the password (cleartext or md5-hashed), NUL-terminated.
fn password_message(password: &[u8]) -> Vec<u8> {
    let mut body = password.to_vec();
    body.push(0);
    message(b'p', &body)
}

fn protocol(what: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("postgres: {what}"))
}

/// `md5` + hex(md5(hex(md5(password + user)) + salt)), as libpq sends it.
fn md5_password(user: &str, password: &str, salt: &[u8]) -> String {
    use md5::{Digest, Md5};
    let inner = hex(&Md5::new()
        .chain_update(password)
        .chain_update(user)
        .finalize());
    let outer = Md5::new().chain_update(inner).chain_update(salt).finalize();
    format!("md5{}", hex(&outer))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SCRAM-SHA-256 as PostgreSQL speaks it (the core is shared with mongodb://, in
/// `check::scram`): an empty user name (the server takes the startup message's), and the
/// client-first message inside SASLInitialResponse after the mechanism's name.
#[cfg(feature = "tls")]
mod scram {
    use super::protocol;
    use crate::error::Error;

    pub(crate) use crate::check::scram::Client;

    /// Starts once the server has offered `SCRAM-SHA-256` among its mechanisms.
    pub(crate) fn start(password: &str, mechanisms: &[u8]) -> Result<Client, Error> {
        if !mechanisms.split(|&b| b == 0).any(|m| m == b"SCRAM-SHA-256") {
            return Err(protocol(
                "the server offers no SCRAM-SHA-256 (only channel-bound SCRAM, which healthprobe does not do)",
            ));
        }
        Client::new("postgres", "", password)
    }

    /// SASLInitialResponse: the mechanism, then the client-first message.
    pub(crate) fn initial_response(client: &Client) -> Vec<u8> {
        let first = client.client_first();
        let mut body = b"SCRAM-SHA-256\0".to_vec();
        body.extend_from_slice(&(first.len() as u32).to_be_bytes());
        body.extend_from_slice(first.as_bytes());
        body
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn initial_response_names_the_mechanism() {
            let c = Client::with_nonce("postgres", "", "pencil", "abc");
            let body = initial_response(&c);
            assert!(body.starts_with(b"SCRAM-SHA-256\0\0\0\0\x0bn,,n=,r=abc"));
            assert!(start("pw", b"SCRAM-SHA-256-PLUS\0\0").is_err());
            assert!(start("pw", b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0").is_ok());
        }
    }
}

#[cfg(feature = "tls")]
#[allow(unused_imports)]
pub(crate) use crate::check::scram::parse_server_first;

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let (user, password) = wire::login(ctx, target);
    let user = user.unwrap_or("postgres");
    let database = match target.path() {
        "" => user,
        db => db,
    };
    let params = PgParams {
        user,
        database,
        password,
    };
    wire::session(
        ctx,
        target,
        details,
        target.db_tls().then_some(", over tls"),
        |sock| ssl_request(sock, ctx.deadline),
        |stream| exchange(stream, &params, ctx.deadline),
    )
}

/// SSLRequest, and the server's one-byte answer: `S`, and nothing after it, lets TLS start.
fn ssl_request(sock: &mut std::net::TcpStream, deadline: &Deadline) -> Result<(), Error> {
    let mut wire = Wire::new(sock, deadline, "postgres");
    wire.send(&SSL_REQUEST)?;
    match wire.read(parse_ssl_answer)? {
        b'S' if wire.buffered() == 0 => Ok(()),
        b'S' => Err(protocol("bytes after the answer to SSLRequest")),
        b'N' => Err(Error::new(
            ErrorKind::Tls,
            "postgres: the server does not do TLS (it answered N to SSLRequest; sslmode=require)",
        )),
        other => Err(protocol(&format!(
            "the answer to SSLRequest is {:?}, expected S or N",
            char::from(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_needs_its_whole_body() {
        let m = b"R\0\0\0\x08\0\0\0\0Z";
        assert_eq!(
            parse_message(m),
            Ok(Some((
                Message {
                    kind: b'R',
                    body: vec![0, 0, 0, 0]
                },
                9
            )))
        );
        assert_eq!(parse_message(&m[..8]), Ok(None));
        assert_eq!(parse_message(b"R\0\0"), Ok(None));
    }

    #[test]
    fn bad_lengths_and_types() {
        assert!(parse_message(b"R\0\0\0\x02").is_err());
        assert!(parse_message(b"R\x7f\xff\xff\xff").is_err());
        assert!(parse_message(b"\x16\x03\x01\x02\x00").is_err());
    }

    #[test]
    fn error_fields() {
        let body = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is not accepting connections\0DHot standby mode is disabled.\0\0";
        let e = parse_error(body);
        assert_eq!(e.code, "57P03");
        assert_eq!(e.severity, "FATAL");
        assert_eq!(
            e.reason(),
            "the database system is not accepting connections (57P03)"
        );
    }

    #[test]
    fn startup_message() {
        let m = startup(&PgParams {
            user: "u",
            database: "d",
            password: None,
        });
        assert_eq!(&m[..8], &[0, 0, 0, m.len() as u8, 0, 3, 0, 0]);
        assert!(m.ends_with(b"user\0u\0database\0d\0application_name\0healthprobe\0\0"));
    }

    #[test]
    fn md5_as_libpq() {
        // psql's own: md5(md5("secret" + "alice") + salt).
        let salt = [1, 2, 3, 4];
        let p = md5_password("alice", "secret", &salt);
        assert!(p.starts_with("md5") && p.len() == 35);
        use md5::{Digest, Md5};
        let inner = hex(&Md5::digest(b"secretalice"));
        let mut outer = inner.into_bytes();
        outer.extend_from_slice(&salt);
        assert_eq!(p, format!("md5{}", hex(&Md5::digest(&outer))));
        assert_eq!(hex(&Md5::digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
