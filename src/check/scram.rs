//! SCRAM-SHA-256 (RFC 5802, RFC 7677), the client side, without channel binding (`n,,`): the
//! one core that postgres:// (SASL inside its authentication messages) and mongodb://
//! (`saslStart`/`saslContinue` commands) wrap in their own framing. ring does the hashing.
//!
//! The password is used as given: SASLprep (RFC 4013) leaves ASCII passwords unchanged, and
//! the stringprep tables it needs for the rest would cost more than the rest of this file.

use ring::{digest, hmac, rand::SecureRandom};

use crate::check::base64;
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};

/// More iterations than any server is configured with (PostgreSQL's default is 4096, MongoDB's
/// 15000). PBKDF2 also stops at the deadline, checked every [`DEADLINE_EVERY`] iterations: 256
/// HMACs are well under a millisecond, a few even on a starved share of a loaded CPU (checked
/// every 4096, a debug probe on a machine at load 16 ended 107 ms late).
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

/// One SCRAM-SHA-256 conversation.
pub(crate) struct Client {
    /// `postgres`, `mongodb`: opens every error message.
    proto: &'static str,
    /// The `n=` attribute, already escaped (`=` as `=3D`, `,` as `=2C`).
    user: String,
    password: String,
    nonce: String,
    auth_message: String,
    server_key: Option<[u8; 32]>,
}

impl Client {
    /// A conversation for `user` (empty for PostgreSQL, which takes the startup message's),
    /// with a fresh random nonce.
    pub(crate) fn new(proto: &'static str, user: &str, password: &str) -> Result<Client, Error> {
        let mut raw = [0u8; 18];
        ring::rand::SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| protocol(proto, "no randomness for the SCRAM nonce"))?;
        Ok(Client::with_nonce(
            proto,
            user,
            password,
            &base64::encode(&raw),
        ))
    }

    pub(crate) fn with_nonce(
        proto: &'static str,
        user: &str,
        password: &str,
        nonce: &str,
    ) -> Client {
        Client {
            proto,
            user: user.replace('=', "=3D").replace(',', "=2C"),
            password: password.to_string(),
            nonce: nonce.to_string(),
            auth_message: String::new(),
            server_key: None,
        }
    }

    fn first_bare(&self) -> String {
        format!("n={},r={}", self.user, self.nonce)
    }

    /// The client-first message: `n,,n=USER,r=NONCE`.
    pub(crate) fn client_first(&self) -> String {
        format!("n,,{}", self.first_bare())
    }

    /// The client-final message for the server-first message `server_first`.
    pub(crate) fn final_message(
        &mut self,
        server_first: &[u8],
        deadline: &Deadline,
    ) -> Result<String, Error> {
        let proto = self.proto;
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| protocol(proto, "a SCRAM message that is not UTF-8"))?;
        let (nonce, salt, iterations) = parse_server_first(server_first, &self.nonce)
            .map_err(|why| protocol(proto, &format!("SCRAM: {why}")))?;
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
        let proto = self.proto;
        let key = self
            .server_key
            .ok_or_else(|| protocol(proto, "a SCRAM server-final message out of turn"))?;
        let text = String::from_utf8_lossy(server_final);
        if let Some(e) = text.strip_prefix("e=") {
            return Err(Error::unhealthy(format!("{proto}: SCRAM error {e}")));
        }
        let claimed = text
            .strip_prefix("v=")
            .and_then(|v| base64::decode(v.split(',').next().unwrap_or(v)))
            .ok_or_else(|| protocol(proto, "SCRAM: a server-final message without v="))?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
        hmac::verify(&key, self.auth_message.as_bytes(), &claimed).map_err(|_| {
            Error::unhealthy(format!(
                "{proto}: the server's SCRAM signature does not verify (not the server that holds this password)"
            ))
        })
    }
}

fn protocol(proto: &str, what: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("{proto}: {what}"))
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

    #[test]
    fn the_stoppable_pbkdf2_is_rings() {
        let mut expected = [0u8; 32];
        let n = std::num::NonZeroU32::new(4096).unwrap();
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            n,
            b"salt",
            b"pencil",
            &mut expected,
        );
        assert_eq!(
            salted_password(b"pencil", b"salt", 4096, None).unwrap(),
            expected
        );
    }

    /// RFC 7677's example exchange (user `user`, password `pencil`): our client-final message
    /// is the RFC's byte for byte, and the RFC's server signature verifies.
    #[test]
    fn rfc7677_example() {
        let mut c = Client::with_nonce("test", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let last = c
            .final_message(server_first.as_bytes(), &deadline())
            .unwrap();
        assert_eq!(
            last,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(c.verify_server(b"v=AAAA").is_err());
    }

    #[test]
    fn user_names_are_escaped() {
        let c = Client::with_nonce("test", "a=b,c", "pw", "N");
        assert_eq!(c.client_first(), "n,,n=a=3Db=2Cc,r=N");
        assert_eq!(
            Client::with_nonce("test", "", "pw", "N").client_first(),
            "n,,n=,r=N"
        );
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
        let mut c = Client::with_nonce("test", "", "pencil", "abc");
        assert!(
            c.verify_server(b"v=AAAA").is_err(),
            "before the final message"
        );
        c.final_message(b"r=abcd,s=AAAA,i=1", &deadline()).unwrap();
        assert!(c.verify_server(b"v=AAAA").is_err());
        let e = c.verify_server(b"e=invalid-proof").unwrap_err();
        assert_eq!(e.to_string(), "test: SCRAM error invalid-proof");
    }
}
