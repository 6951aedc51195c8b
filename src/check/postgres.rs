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
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
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
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
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
    #[cfg(feature = "tls")]
    let wire_deadline = deadline;
    let mut wire = Wire::new(stream, deadline, "postgres");
    wire.send(&startup(params))?;
    let mut authenticated = false;
    let mut version = String::new();
    #[cfg(feature = "tls")]
    let mut scram: Option<scram::Client> = None;
    for _ in 0..MAX_MESSAGES {
        let m = wire.read(parse_message)?;
        match m.kind {
            b'E' => {
                let e = parse_error(&m.body);
                if e.code == CANNOT_CONNECT_NOW {
                    return Err(Error::unhealthy(format!(
                        "not accepting connections: {}",
                        e.reason()
                    )));
                }
                if params.password.is_none() {
                    return Ok(format!(
                        "accepting connections ({} {})",
                        e.severity,
                        e.reason()
                    ));
                }
                return Err(Error::unhealthy(format!("postgres: {}", e.reason())));
            }
            b'R' => {
                let Some(code) = m.body.get(..4) else {
                    return Err(protocol("a short authentication message"));
                };
                let code = u32::from_be_bytes([code[0], code[1], code[2], code[3]]);
                let data = &m.body[4..];
                if code == 0 {
                    authenticated = true;
                    continue;
                }
                let Some(password) = params.password else {
                    // pg_isready's "accepting connections". Hanging up here leaves no line in
                    // the server's log.
                    return Ok(format!(
                        "accepting connections (asks for {})",
                        auth_name(code)
                    ));
                };
                match code {
                    3 => {
                        let mut body = password.as_bytes().to_vec();
                        body.push(0);
                        wire.send(&message(b'p', &body))?;
                    }
                    5 => {
                        let salt = data
                            .get(..4)
                            .ok_or_else(|| protocol("md5 without a salt"))?;
                        let mut body = md5_password(params.user, password, salt).into_bytes();
                        body.push(0);
                        wire.send(&message(b'p', &body))?;
                    }
                    #[cfg(feature = "tls")]
                    10 => {
                        let client = scram::Client::new(password, data)?;
                        wire.send(&message(b'p', &client.initial_response()))?;
                        scram = Some(client);
                    }
                    #[cfg(feature = "tls")]
                    11 => {
                        let client = scram
                            .as_mut()
                            .ok_or_else(|| protocol("SASLContinue before SASL"))?;
                        wire.send(&message(
                            b'p',
                            client.final_message(data, wire_deadline)?.as_bytes(),
                        ))?;
                    }
                    #[cfg(feature = "tls")]
                    12 => scram
                        .as_ref()
                        .ok_or_else(|| protocol("SASLFinal before SASL"))?
                        .verify_server(data)?,
                    #[cfg(not(feature = "tls"))]
                    10 => {
                        return Err(Error::feature_missing(
                            "tls",
                            "postgres: the server asks for SCRAM-SHA-256, which needs",
                            Some("ring"),
                        ));
                    }
                    other => {
                        return Err(Error::new(
                            ErrorKind::Unsupported,
                            format!(
                                "postgres: the server asks for {}, which healthprobe does not do \
                                 (it logs in with SCRAM-SHA-256, md5 or a cleartext password)",
                                auth_name(other)
                            ),
                        ));
                    }
                }
            }
            b'S' => {
                let mut parts = m.body.split(|&b| b == 0);
                if parts.next() == Some(b"server_version") {
                    version = wire::server_text(parts.next().unwrap_or_default());
                }
            }
            b'Z' if authenticated => {
                // Terminate: a polite goodbye, so the server logs nothing.
                let _ = wire.send(&message(b'X', &[]));
                let server = if version.is_empty() {
                    String::new()
                } else {
                    format!(", server {version}")
                };
                return Ok(match params.password {
                    Some(_) => format!(
                        "logged in as {} to {}{server}",
                        params.user, params.database
                    ),
                    None => format!("accepting connections (no password asked){server}"),
                });
            }
            b'K' | b'N' | b'v' => {}
            other => {
                return Err(protocol(&format!(
                    "unexpected message type {:?}",
                    char::from(other)
                )));
            }
        }
    }
    Err(protocol("too many messages before ReadyForQuery"))
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

/// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: no channel binding (`n,,`),
/// an empty user name (the server takes the startup message's). ring does the hashing.
#[cfg(feature = "tls")]
mod scram {
    use ring::{digest, hmac, rand::SecureRandom};

    use super::protocol;
    use crate::check::base64;
    use crate::deadline::Deadline;
    use crate::error::{Error, Phase};

    /// More iterations than any server is configured with (PostgreSQL's default is 4096).
    /// PBKDF2 also stops at the deadline, checked every [`DEADLINE_EVERY`] iterations: 256
    /// HMACs are well under a millisecond, a few even on a starved share of a loaded CPU
    /// (checked every 4096, a debug probe on a machine at load 16 ended 107 ms late).
    const MAX_ITERATIONS: u32 = 10_000_000;
    const DEADLINE_EVERY: u32 = 256;

    /// PBKDF2-HMAC-SHA256 with one 32-byte block (RFC 8018): `U1 = HMAC(P, salt || 1)`,
    /// `Ui = HMAC(P, Ui-1)`, their XOR. ring's `pbkdf2::derive` computes the same but cannot be
    /// stopped, and a hostile server chooses the iteration count.
    pub(crate) fn salted_password(
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        deadline: Option<&Deadline>,
    ) -> Result<[u8; 32], Error> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, password);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(salt);
        ctx.update(&1u32.to_be_bytes());
        let mut u = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(u.as_ref());
        for i in 1..iterations {
            if i % DEADLINE_EVERY == 0
                && let Some(deadline) = deadline
            {
                deadline.enter(Phase::Request)?;
            }
            u = hmac::sign(&key, u.as_ref());
            for (o, b) in out.iter_mut().zip(u.as_ref()) {
                *o ^= b;
            }
        }
        Ok(out)
    }

    pub(crate) struct Client {
        password: String,
        nonce: String,
        auth_message: String,
        server_key: Option<[u8; 32]>,
    }

    impl Client {
        /// Starts once the server has offered `SCRAM-SHA-256` among its mechanisms.
        pub(crate) fn new(password: &str, mechanisms: &[u8]) -> Result<Client, Error> {
            if !mechanisms.split(|&b| b == 0).any(|m| m == b"SCRAM-SHA-256") {
                return Err(protocol(
                    "the server offers no SCRAM-SHA-256 (only channel-bound SCRAM, which healthprobe does not do)",
                ));
            }
            let mut raw = [0u8; 18];
            ring::rand::SystemRandom::new()
                .fill(&mut raw)
                .map_err(|_| protocol("no randomness for the SCRAM nonce"))?;
            Ok(Client::with_nonce(password, &base64::encode(&raw)))
        }

        pub(crate) fn with_nonce(password: &str, nonce: &str) -> Client {
            Client {
                password: password.to_string(),
                nonce: nonce.to_string(),
                auth_message: String::new(),
                server_key: None,
            }
        }

        fn first_bare(&self) -> String {
            format!("n=,r={}", self.nonce)
        }

        /// SASLInitialResponse: the mechanism, then the client-first message.
        pub(crate) fn initial_response(&self) -> Vec<u8> {
            let first = format!("n,,{}", self.first_bare());
            let mut body = b"SCRAM-SHA-256\0".to_vec();
            body.extend_from_slice(&(first.len() as u32).to_be_bytes());
            body.extend_from_slice(first.as_bytes());
            body
        }

        /// The client-final message for the server-first message `server_first`.
        pub(crate) fn final_message(
            &mut self,
            server_first: &[u8],
            deadline: &Deadline,
        ) -> Result<String, Error> {
            let server_first = std::str::from_utf8(server_first)
                .map_err(|_| protocol("a SCRAM message that is not UTF-8"))?;
            let (nonce, salt, iterations) = parse_server_first(server_first, &self.nonce)
                .map_err(|why| protocol(&format!("SCRAM: {why}")))?;
            let salted = salted_password(
                self.password.as_bytes(),
                &salt,
                iterations.get(),
                Some(deadline),
            )?;
            let salted = hmac::Key::new(hmac::HMAC_SHA256, &salted);
            let client_key = hmac::sign(&salted, b"Client Key");
            let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
            let without_proof = format!("c=biws,r={nonce}");
            self.auth_message = format!("{},{server_first},{without_proof}", self.first_bare());
            let signature = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, stored_key.as_ref()),
                self.auth_message.as_bytes(),
            );
            let proof: Vec<u8> = client_key
                .as_ref()
                .iter()
                .zip(signature.as_ref())
                .map(|(a, b)| a ^ b)
                .collect();
            let mut server_key = [0u8; 32];
            server_key.copy_from_slice(hmac::sign(&salted, b"Server Key").as_ref());
            self.server_key = Some(server_key);
            Ok(format!("{without_proof},p={}", base64::encode(&proof)))
        }

        /// The server-final message proves the server knew the password too.
        pub(crate) fn verify_server(&self, server_final: &[u8]) -> Result<(), Error> {
            let key = self
                .server_key
                .ok_or_else(|| protocol("SASLFinal before SASLContinue"))?;
            let text = String::from_utf8_lossy(server_final);
            if let Some(e) = text.strip_prefix("e=") {
                return Err(Error::unhealthy(format!("postgres: SCRAM error {e}")));
            }
            let claimed = text
                .strip_prefix("v=")
                .and_then(|v| base64::decode(v.split(',').next().unwrap_or(v)))
                .ok_or_else(|| protocol("SCRAM: a server-final message without v="))?;
            let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
            hmac::verify(&key, self.auth_message.as_bytes(), &claimed).map_err(|_| {
                Error::unhealthy(
                    "postgres: the server's SCRAM signature does not verify (not the server that holds this password)",
                )
            })
        }
    }

    /// `r=NONCE,s=SALT,i=ITERATIONS`: the server's nonce must extend ours.
    pub(crate) fn parse_server_first(
        text: &str,
        client_nonce: &str,
    ) -> Result<(String, Vec<u8>, std::num::NonZeroU32), String> {
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in text.split(',') {
            match attr.split_at_checked(2) {
                Some(("r=", v)) => nonce = Some(v),
                Some(("s=", v)) => salt = Some(v),
                Some(("i=", v)) => iterations = Some(v),
                _ => {}
            }
        }
        let nonce = nonce.ok_or("no nonce")?;
        if !nonce.starts_with(client_nonce) || nonce.len() == client_nonce.len() {
            return Err("the server's nonce does not extend ours".into());
        }
        let salt = salt.and_then(base64::decode).ok_or("no valid salt")?;
        let iterations: u32 = iterations
            .and_then(|i| i.parse().ok())
            .ok_or("no valid iteration count")?;
        if iterations > MAX_ITERATIONS {
            return Err(format!(
                "{iterations} iterations, more than the {MAX_ITERATIONS} healthprobe accepts"
            ));
        }
        let iterations = std::num::NonZeroU32::new(iterations).ok_or("an iteration count of 0")?;
        Ok((nonce.to_string(), salt, iterations))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn deadline() -> Deadline {
            Deadline::after(std::time::Duration::from_secs(5))
        }

        #[test]
        fn pbkdf2_stops_at_the_deadline() {
            let past = Deadline::after(std::time::Duration::ZERO);
            let e = salted_password(b"pw", b"salt", 1_000_000, Some(&past)).unwrap_err();
            assert!(e.is_timeout());
        }

        /// RFC 7677's example exchange, with its user name in the client-first message.
        #[test]
        fn rfc7677_example() {
            let mut c = Client::with_nonce("pencil", "rOprNGfwEbeRWgbNEkqO");
            let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
            let (nonce, salt, iterations) = parse_server_first(server_first, &c.nonce).unwrap();
            assert_eq!(iterations.get(), 4096);
            // PostgreSQL's client-first message has an empty user name, the RFC's `n=user`:
            // recompute the RFC's proof with its own message.
            let mut salted = [0u8; 32];
            ring::pbkdf2::derive(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                iterations,
                &salt,
                b"pencil",
                &mut salted,
            );
            assert_eq!(
                salted_password(b"pencil", &salt, iterations.get(), None).unwrap(),
                salted,
                "the stoppable PBKDF2 is ring's"
            );
            let salted = hmac::Key::new(hmac::HMAC_SHA256, &salted);
            let client_key = hmac::sign(&salted, b"Client Key");
            let stored = digest::digest(&digest::SHA256, client_key.as_ref());
            let auth = format!("n=user,r=rOprNGfwEbeRWgbNEkqO,{server_first},c=biws,r={nonce}");
            let sig = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, stored.as_ref()),
                auth.as_bytes(),
            );
            let proof: Vec<u8> = client_key
                .as_ref()
                .iter()
                .zip(sig.as_ref())
                .map(|(a, b)| a ^ b)
                .collect();
            assert_eq!(
                base64::encode(&proof),
                "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
            );
            // And the client's own message has the same shape.
            let last = c
                .final_message(server_first.as_bytes(), &deadline())
                .unwrap();
            assert!(last.starts_with(&format!("c=biws,r={nonce},p=")));
        }

        #[test]
        fn server_nonce_must_extend_ours() {
            assert!(parse_server_first("r=abc,s=AAAA,i=1", "xyz").is_err());
            assert!(parse_server_first("r=xyz,s=AAAA,i=1", "xyz").is_err());
            assert!(parse_server_first("r=xyzw,s=AAAA,i=1", "xyz").is_ok());
        }

        #[test]
        fn iterations_are_bounded() {
            assert!(parse_server_first("r=xyzw,s=AAAA,i=40000000", "xyz").is_err());
            assert!(parse_server_first("r=xyzw,s=AAAA,i=0", "xyz").is_err());
            assert!(parse_server_first("r=xyzw,s=!!,i=10", "xyz").is_err());
        }

        #[test]
        fn a_wrong_server_signature_is_refused() {
            let mut c = Client::with_nonce("pencil", "abc");
            c.final_message(b"r=abcd,s=AAAA,i=1", &deadline()).unwrap();
            assert!(c.verify_server(b"v=AAAA").is_err());
            assert!(c.verify_server(b"e=invalid-proof").is_err());
        }
    }
}

#[cfg(feature = "tls")]
#[allow(unused_imports)]
pub(crate) use scram::parse_server_first;

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
    if target.db_tls() {
        #[cfg(feature = "tls")]
        {
            wire::prepare_tls(ctx, target)?;
            let mut sock = wire::connect(ctx, target, details)?;
            let mut wire = Wire::new(&mut sock, ctx.deadline, "postgres");
            wire.send(&SSL_REQUEST)?;
            match wire.read(parse_ssl_answer)? {
                b'S' if wire.buffered() == 0 => {}
                b'S' => return Err(protocol("bytes after the answer to SSLRequest")),
                b'N' => {
                    return Err(Error::new(
                        ErrorKind::Tls,
                        "postgres: the server does not do TLS (it answered N to SSLRequest; sslmode=require)",
                    ));
                }
                other => {
                    return Err(protocol(&format!(
                        "the answer to SSLRequest is {:?}, expected S or N",
                        char::from(other)
                    )));
                }
            }
            let mut stream = wire::start_tls(ctx, target, sock, details)?;
            let outcome = exchange(&mut stream, &params, ctx.deadline);
            stream.close();
            return outcome.map(|s| format!("{s}, over tls"));
        }
        #[cfg(not(feature = "tls"))]
        return Err(crate::check::shared::unsupported(target, "tls"));
    }
    let mut stream = wire::connect(ctx, target, details)?;
    exchange(&mut stream, &params, ctx.deadline)
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
