//! `mysql://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE]` (alias `mariadb://`): the client/server
//! protocol's greeting, and with a password a login, `COM_PING` and `COM_QUIT`.
//!
//! Without a password the server's first packet decides: a protocol-10 handshake is healthy, an
//! ERR packet (1040 too many connections, 1129 host blocked, 1130 host not allowed, 1053 server
//! shutdown…) is not. The probe then finishes the handshake with a login without a password
//! (as USER, default `healthprobe`), which the server refuses (1045) or, for a user without a
//! password, accepts: hanging up after the greeting instead would count as a handshake error
//! towards `max_connect_errors` and get the probe's host (the app's, when they share an
//! address) blocked. MariaDB logs the refusal at warning level: give the probe a user and
//! password (`--password-file`) for a quiet log.
//! With a password: a HandshakeResponse41 for `mysql_native_password` (SHA-1 from ring, so the
//! `tls` feature), answering an AuthSwitchRequest to it or to `caching_sha2_password` (whose
//! fast path only: a full authentication needs TLS or RSA, which the probe does not do); then
//! `COM_PING` must answer OK; then `COM_QUIT`, after which the server logs nothing. USER
//! defaults to `root`; a DATABASE is asked for at login (CLIENT_CONNECT_WITH_DB).
//!
//! Crates considered: `mysql` (sync driver, with its connection pool, URL options, TLS
//! backends and `mysql_common`'s value types and crypto), estimated at several hundred KB for
//! one greeting and one ping (not built here); `mysql_async` adds tokio on top. The packets are
//! written here by hand: a few KB of code in the release binary.

use crate::check::shared::{Ctx, Timed};
use crate::check::wire::{self, FRAME_LIMIT, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::Target;

const CLIENT_LONG_PASSWORD: u32 = 0x1;
const CLIENT_LONG_FLAG: u32 = 0x4;
const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;

const NATIVE: &str = "mysql_native_password";
const CACHING_SHA2: &str = "caching_sha2_password";

/// What the exchange needs.
#[derive(Debug)]
pub(crate) struct MysqlParams<'a> {
    pub user: &'a str,
    pub password: Option<&'a str>,
    pub database: Option<&'a str>,
}

/// One packet: sequence id and payload.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Packet {
    pub seq: u8,
    pub payload: Vec<u8>,
}

/// Splits off one packet (3-byte little-endian length, sequence id, payload).
pub(crate) fn parse_packet(buf: &[u8]) -> Parsed<Packet> {
    let Some(header) = buf.get(..4) else {
        return Ok(None);
    };
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    if len + 4 > FRAME_LIMIT {
        return Err(format!("a packet of {len} bytes"));
    }
    match buf.get(4..4 + len) {
        Some(payload) => Ok(Some((
            Packet {
                seq: header[3],
                payload: payload.to_vec(),
            },
            4 + len,
        ))),
        None => Ok(None),
    }
}

/// The server's greeting (protocol 10).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Greeting {
    pub version: String,
    pub capabilities: u32,
    pub scramble: Vec<u8>,
    pub plugin: String,
}

/// What a first packet is: a greeting, or an ERR packet (code, message).
pub(crate) fn parse_first(payload: &[u8]) -> Result<Result<Greeting, (u16, String)>, String> {
    match payload.first() {
        Some(0x0a) => parse_greeting(payload).map(Ok),
        Some(0xff) => Ok(Err(parse_err(payload))),
        Some(&other) => Err(format!(
            "not a mysql greeting (protocol {other}, expected 10)"
        )),
        None => Err("an empty first packet".into()),
    }
}

fn parse_greeting(p: &[u8]) -> Result<Greeting, String> {
    let short = || "a greeting cut short".to_string();
    let nul = p[1..].iter().position(|&b| b == 0).ok_or_else(short)? + 1;
    let version = wire::server_text(&p[1..nul]);
    let mut at = nul + 1 + 4; // connection id
    let part1 = p.get(at..at + 8).ok_or_else(short)?;
    at += 8 + 1; // filler
    let low = p.get(at..at + 2).ok_or_else(short)?;
    let mut capabilities = u32::from(u16::from_le_bytes([low[0], low[1]]));
    at += 2;
    let mut scramble = part1.to_vec();
    let mut plugin = String::new();
    if let Some(rest) = p.get(at..at + 16) {
        // charset (1), status (2), capabilities high (2), auth data length (1), reserved (10)
        capabilities |= u32::from(u16::from_le_bytes([rest[3], rest[4]])) << 16;
        let data_len = usize::from(rest[5]);
        at += 16;
        if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let len = data_len.saturating_sub(8).max(13);
            let part2 = p.get(at..at + len).ok_or_else(short)?;
            // The last byte is a NUL terminator, not scramble.
            scramble.extend_from_slice(&part2[..len - 1]);
            at += len;
        }
        if capabilities & CLIENT_PLUGIN_AUTH != 0 {
            let name = p.get(at..).unwrap_or_default();
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            plugin = wire::server_text(&name[..end]);
        }
    }
    Ok(Greeting {
        version: version
            .strip_prefix("5.5.5-")
            .unwrap_or(&version)
            .to_string(),
        capabilities,
        scramble,
        plugin,
    })
}

/// An ERR packet: code, and message (after the optional `#SQLSTATE`).
pub(crate) fn parse_err(payload: &[u8]) -> (u16, String) {
    let code = match payload.get(1..3) {
        Some(c) => u16::from_le_bytes([c[0], c[1]]),
        None => 0,
    };
    let mut message = payload.get(3..).unwrap_or_default();
    if message.first() == Some(&b'#') {
        message = message.get(6..).unwrap_or_default();
    }
    (code, wire::server_text(message))
}

fn err_reason((code, message): (u16, String)) -> Error {
    Error::unhealthy(format!("mysql error {code}: {message}"))
}

fn protocol(what: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("mysql: {what}"))
}

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_le_bytes()[..3].to_vec();
    out.push(seq);
    out.extend_from_slice(payload);
    out
}

/// The user named in a login without a password when the URL names none: the server's log
/// then says who was refused (`Access denied for user 'healthprobe'@…`).
const ANONYMOUS_PROBE: &str = "healthprobe";

/// ERR codes that say "this login is refused", which a login without a password expects:
/// access denied (1045), to this database (1044), to this plugin (1698).
const ACCESS_DENIED: [u16; 3] = [1045, 1044, 1698];

/// The greeting, then a login (with the password, or without one), `COM_PING` and `COM_QUIT`.
///
/// Without a password the probe still finishes the handshake, with a login the server refuses:
/// a client that hangs up after the greeting is a handshake error, and `max_connect_errors` of
/// those (100 by default) block the client's host, the app's included when they share an
/// address. A refused login never blocks a host.
pub(crate) fn exchange(
    stream: &mut impl Timed,
    params: &MysqlParams,
    deadline: &Deadline,
) -> Result<String, Error> {
    let mut wire = Wire::new(stream, deadline, "mysql");
    let first = wire.read(parse_packet)?;
    let greeting = parse_first(&first.payload)
        .map_err(|why| protocol(&why))?
        .map_err(err_reason)?;
    let password = params.password.unwrap_or("");
    match login(&mut wire, &greeting, first.seq, params, password)? {
        None => {}
        Some((code, _)) if params.password.is_none() && ACCESS_DENIED.contains(&code) => {
            return Ok(format!(
                "greeting from {} (login as {} without a password refused: {code})",
                greeting.version, params.user
            ));
        }
        Some(err) => return Err(err_reason(err)),
    }
    wire.send(&packet(0, &[0x0e]))?; // COM_PING
    let pong = wire.read(parse_packet)?;
    match pong.payload.first() {
        Some(0x00) => {}
        Some(0xff) => return Err(err_reason(parse_err(&pong.payload))),
        _ => return Err(protocol("COM_PING answered neither OK nor ERR")),
    }
    // COM_QUIT: the server closes without a line in its log.
    let _ = wire.send(&packet(0, &[0x01]));
    Ok(format!(
        "logged in as {}, ping ok, server {}",
        params.user, greeting.version
    ))
}

/// Logs in: `None` once the server says OK, the ERR packet's code and message when it refuses.
fn login<S: Timed>(
    wire: &mut Wire<'_, S>,
    greeting: &Greeting,
    seq: u8,
    params: &MysqlParams,
    password: &str,
) -> Result<Option<(u16, String)>, Error> {
    let caps = capabilities(greeting, params)?;
    let plugin = if greeting.plugin == CACHING_SHA2 {
        CACHING_SHA2
    } else {
        NATIVE
    };
    let auth = scramble(plugin, password, &greeting.scramble)?;
    let mut seq = seq.wrapping_add(1);
    wire.send(&packet(
        seq,
        &handshake_response(caps, plugin, params, &auth),
    ))?;
    for _ in 0..4 {
        let reply = wire.read(parse_packet)?;
        seq = reply.seq.wrapping_add(1);
        match login_reply(&reply.payload)? {
            LoginReply::Over(refused) => return Ok(refused),
            LoginReply::Switch(plugin, nonce) => {
                wire.send(&packet(seq, &scramble(plugin, password, nonce)?))?;
            }
            LoginReply::FastAuthOk => {}
        }
    }
    Err(protocol("too many authentication rounds"))
}

/// The capabilities the probe logs in with; the server must speak protocol 4.1.
fn capabilities(greeting: &Greeting, params: &MysqlParams) -> Result<u32, Error> {
    let needed = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;
    if greeting.capabilities & needed != needed {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "mysql: the server predates protocol 4.1, which healthprobe needs to log in",
        ));
    }
    let mut caps = CLIENT_LONG_PASSWORD
        | CLIENT_LONG_FLAG
        | CLIENT_PROTOCOL_41
        | CLIENT_TRANSACTIONS
        | CLIENT_SECURE_CONNECTION
        | (greeting.capabilities & CLIENT_PLUGIN_AUTH);
    if params.database.is_some() {
        caps |= CLIENT_CONNECT_WITH_DB;
    }
    Ok(caps)
}

/// HandshakeResponse41: capabilities, max packet, charset, user, auth response, database and
/// auth plugin (the last two when `caps` say so).
fn handshake_response(caps: u32, plugin: &str, params: &MysqlParams, auth: &[u8]) -> Vec<u8> {
    let mut body = caps.to_le_bytes().to_vec();
    body.extend_from_slice(&(16u32 << 20).to_le_bytes()); // max packet
    body.push(45); // utf8mb4_general_ci
    body.extend_from_slice(&[0; 23]);
    body.extend_from_slice(params.user.as_bytes());
    body.push(0);
    body.push(auth.len() as u8);
    body.extend_from_slice(auth);
    if let Some(db) = params.database {
        body.extend_from_slice(db.as_bytes());
        body.push(0);
    }
    if caps & CLIENT_PLUGIN_AUTH != 0 {
        body.extend_from_slice(plugin.as_bytes());
        body.push(0);
    }
    body
}

/// What a packet during the login says.
#[derive(Debug, PartialEq, Eq)]
enum LoginReply<'a> {
    /// OK (`None`) or ERR (its code and message): the login is over.
    Over(Option<(u16, String)>),
    /// AuthSwitchRequest: answer with this plugin's scramble of this nonce.
    Switch(&'static str, &'a [u8]),
    /// caching_sha2_password's "fast auth ok": an OK follows.
    FastAuthOk,
}

fn login_reply(payload: &[u8]) -> Result<LoginReply<'_>, Error> {
    match payload.first() {
        Some(0x00) => Ok(LoginReply::Over(None)),
        Some(0xff) => Ok(LoginReply::Over(Some(parse_err(payload)))),
        Some(0xfe) => auth_switch(&payload[1..]),
        // caching_sha2_password's AuthMoreData: 3 is "fast auth ok" (an OK follows),
        // 4 asks for the password in full, over TLS or RSA.
        Some(0x01) if payload.get(1) == Some(&3) => Ok(LoginReply::FastAuthOk),
        Some(0x01) if payload.get(1) == Some(&4) => Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "mysql: {CACHING_SHA2} wants a full authentication (TLS or RSA), which healthprobe does not do; give the probe user {NATIVE}"
            ),
        )),
        _ => Err(protocol("an unexpected answer to the login")),
    }
}

/// AuthSwitchRequest (after its 0xfe): plugin name, then its scramble.
fn auth_switch(rest: &[u8]) -> Result<LoginReply<'_>, Error> {
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let name = String::from_utf8_lossy(&rest[..end]).into_owned();
    let mut data = rest.get(end + 1..).unwrap_or_default();
    if data.last() == Some(&0) {
        data = &data[..data.len() - 1];
    }
    let plugin = match name.as_str() {
        NATIVE => NATIVE,
        CACHING_SHA2 => CACHING_SHA2,
        _ => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "mysql: the server asks for the {} auth plugin; healthprobe logs in with {NATIVE} or the fast path of {CACHING_SHA2}",
                    wire::server_text(name.as_bytes())
                ),
            ));
        }
    };
    Ok(LoginReply::Switch(plugin, data))
}

/// The auth response of `plugin` for `password` and the server's `nonce`.
#[cfg(feature = "tls")]
fn scramble(plugin: &str, password: &str, nonce: &[u8]) -> Result<Vec<u8>, Error> {
    use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
    if password.is_empty() {
        return Ok(Vec::new());
    }
    let alg = if plugin == CACHING_SHA2 {
        &SHA256
    } else {
        &SHA1_FOR_LEGACY_USE_ONLY
    };
    // native: SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw)));
    // caching_sha2: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce).
    let h1 = digest(alg, password.as_bytes());
    let h2 = digest(alg, h1.as_ref());
    let mut ctx = Context::new(alg);
    if plugin == CACHING_SHA2 {
        ctx.update(h2.as_ref());
        ctx.update(nonce);
    } else {
        ctx.update(nonce);
        ctx.update(h2.as_ref());
    }
    let h3 = ctx.finish();
    Ok(h1
        .as_ref()
        .iter()
        .zip(h3.as_ref())
        .map(|(a, b)| a ^ b)
        .collect())
}

#[cfg(not(feature = "tls"))]
fn scramble(_plugin: &str, password: &str, _nonce: &[u8]) -> Result<Vec<u8>, Error> {
    if password.is_empty() {
        return Ok(Vec::new());
    }
    Err(Error::feature_missing(
        "tls",
        "mysql: a login with a password needs",
        Some("ring, for its hashes"),
    ))
}

/// A check's steps (mod.rs gathers the details into the outcome).
pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let (user, password) = wire::login(ctx, target);
    let params = MysqlParams {
        user: user.unwrap_or(if password.is_some() {
            "root"
        } else {
            ANONYMOUS_PROBE
        }),
        password,
        database: Some(target.path()).filter(|d| !d.is_empty()),
    };
    wire::connect(ctx, target, details)
        .and_then(|mut stream| exchange(&mut stream, &params, ctx.deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MariaDB 10.11's greeting, as sent to a client on loopback.
    const MARIADB: &[u8] = b"\x0a5.5.5-10.11.19-MariaDB-0+deb12u1\0\x03\0\0\0abcdefgh\0\xfe\xf7\x2d\x02\0\xff\x81\x15\0\0\0\0\0\0\x1d\0\0\0ijklmnopqrst\0mysql_native_password\0";

    #[test]
    fn mariadb_greeting() {
        let g = parse_first(MARIADB).unwrap().unwrap();
        assert_eq!(g.version, "10.11.19-MariaDB-0+deb12u1");
        assert_eq!(g.scramble, b"abcdefghijklmnopqrst");
        assert_eq!(g.plugin, NATIVE);
        assert_ne!(g.capabilities & CLIENT_PLUGIN_AUTH, 0);
    }

    #[test]
    fn err_first_packet() {
        let e = parse_first(b"\xff\x10\x04Too many connections").unwrap();
        assert_eq!(e, Err((1040, "Too many connections".into())));
        let e = parse_err(b"\xff\x15\x04#28000Access denied");
        assert_eq!(e, (1045, "Access denied".into()));
    }

    #[test]
    fn garbage_first_packet() {
        assert!(parse_first(b"HTTP/1.1").is_err());
        assert!(parse_first(b"").is_err());
        assert!(parse_first(b"\x0a5.5").is_err());
        assert!(parse_first(b"\x0aX\0\0\0\0\0abc").is_err());
    }

    #[test]
    fn packets() {
        assert_eq!(
            parse_packet(b"\x01\0\0\x02\x00rest"),
            Ok(Some((
                Packet {
                    seq: 2,
                    payload: vec![0]
                },
                5
            )))
        );
        assert_eq!(parse_packet(b"\x05\0\0\0abc"), Ok(None));
        assert!(parse_packet(b"\xff\xff\xff\0").is_err());
        assert_eq!(packet(3, b"ab"), b"\x02\0\0\x03ab");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn native_password_scramble() {
        // The nonce and password of a captured mysql client login.
        let nonce = b"01234567890123456789";
        let auth = scramble(NATIVE, "secret", nonce).unwrap();
        assert_eq!(auth.len(), 20);
        // SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw))) undone with the stored hash:
        // SHA1(auth XOR SHA1(nonce + stored)) == stored.
        use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY as SHA1, digest};
        let stored = digest(&SHA1, digest(&SHA1, b"secret").as_ref());
        let mut ctx = Context::new(&SHA1);
        ctx.update(nonce);
        ctx.update(stored.as_ref());
        let mask = ctx.finish();
        let h1: Vec<u8> = auth.iter().zip(mask.as_ref()).map(|(a, b)| a ^ b).collect();
        assert_eq!(digest(&SHA1, &h1).as_ref(), stored.as_ref());
        assert!(scramble(NATIVE, "", nonce).unwrap().is_empty());
    }
}
