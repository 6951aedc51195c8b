//! The one TLS configuration of a probe: trust (bundled roots, `tls_ca_file`, `SSL_CERT_FILE`),
//! client certificate, verification switch, and the name verified. Built once, then shared by
//! `https://`, `tls://` and `grpcs://` checks, each adding its ALPN protocol.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Setting};
use crate::report::Detail;
use crate::settings::{Settings, TlsSettings};

/// Which ALPN a TLS connection offers; each gets its own config, built once per probe.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TlsUse {
    /// `https://`: ALPN `http/1.1`.
    Https,
    /// `tls://`: no ALPN.
    Plain,
    /// `grpcs://`: ALPN `h2`.
    #[cfg(feature = "grpc")]
    Grpc,
}

/// A probe's rustls configs, one per [`TlsUse`], each built from the settings when a check
/// first needs it (a bad CA file fails that check, before its socket opens) and then shared.
#[derive(Debug, Default)]
pub(crate) struct TlsConfigs {
    https: OnceLock<Result<Arc<ClientConfig>, Error>>,
    plain: OnceLock<Result<Arc<ClientConfig>, Error>>,
    #[cfg(feature = "grpc")]
    grpc: OnceLock<Result<Arc<ClientConfig>, Error>>,
}

impl TlsConfigs {
    pub(crate) fn get(
        &self,
        settings: &TlsSettings,
        usage: TlsUse,
    ) -> Result<Arc<ClientConfig>, Error> {
        let (cell, alpn): (_, &[&[u8]]) = match usage {
            TlsUse::Https => (&self.https, &[b"http/1.1"]),
            TlsUse::Plain => (&self.plain, &[]),
            #[cfg(feature = "grpc")]
            TlsUse::Grpc => (&self.grpc, &[b"h2"]),
        };
        cell.get_or_init(|| build(settings, alpn)).clone()
    }
}

/// The name sent as SNI and verified: the `tls_server_name` setting, else a `Host` header, else
/// the target's host.
pub(crate) fn name_for(settings: &Settings, host: &str) -> String {
    if let Some(name) = &settings.tls.server_name {
        return name.clone();
    }
    match settings
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        Some((_, v)) => v.clone(),
        None => host.to_string(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the client config for one ALPN protocol list (`http/1.1` for https, `h2` for grpcs,
/// none for `tls://`).
fn build(settings: &TlsSettings, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| Error::new(ErrorKind::Tls, format!("tls setup failed: {e}")))?;
    let builder = if settings.insecure {
        let verifier = Arc::new(NoVerifier(provider.signature_verification_algorithms));
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
    } else {
        builder.with_root_certificates(roots(settings)?)
    };
    let mut config = match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert, Source::Setting(Setting::TlsCert))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| pem_error(key, Source::Setting(Setting::TlsKey), e))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                Error::naming(
                    ErrorKind::Usage,
                    "",
                    Setting::TlsCertAndKey,
                    &format!(" do not make a client certificate: {e}"),
                )
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(crate::settings::cert_without_key()),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The trust store, by precedence: `tls_ca_file`, then `SSL_CERT_FILE`, then `SSL_CERT_DIR`
/// (distroless images set these to their CA bundle), then the bundled Mozilla roots.
fn roots(settings: &TlsSettings) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    if let Some(path) = &settings.ca_file {
        add_pem_file(&mut store, path, Source::Setting(Setting::TlsCaFile))?;
        return Ok(store);
    }
    let env = |name| std::env::var_os(name).filter(|p| !p.is_empty() && !settings.ignore_env_roots);
    if let Some(path) = env("SSL_CERT_FILE") {
        add_pem_file(
            &mut store,
            &PathBuf::from(path),
            Source::Env("SSL_CERT_FILE"),
        )?;
        return Ok(store);
    }
    if let Some(dir) = env("SSL_CERT_DIR") {
        // SSL_CERT_DIR may list several directories, as OpenSSL reads it.
        for dir in std::env::split_paths(&dir) {
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| file_error(&dir, Source::Env("SSL_CERT_DIR"), &e))?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_file()
                    && let Ok(iter) = CertificateDer::pem_file_iter(&path)
                {
                    store.add_parsable_certificates(iter.flatten());
                }
            }
        }
        if store.is_empty() {
            return Err(Error::new(
                ErrorKind::File,
                "SSL_CERT_DIR holds no PEM certificates",
            ));
        }
        return Ok(store);
    }
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(store)
}

/// What names a PEM file: a setting (`tls_ca_file`), or an environment variable
/// (`SSL_CERT_FILE`), which the binary names the same.
#[derive(Clone, Copy)]
enum Source {
    Setting(Setting),
    Env(&'static str),
}

impl Source {
    /// The error `{before}{source}{after}` about the file.
    fn error(self, before: &str, after: &str) -> Error {
        match self {
            Source::Setting(s) => Error::naming(ErrorKind::File, before, s, after),
            Source::Env(name) => Error::new(ErrorKind::File, format!("{before}{name}{after}")),
        }
    }
}

fn add_pem_file(store: &mut RootCertStore, path: &Path, what: Source) -> Result<(), Error> {
    let certs = read_certs(path, what)?;
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        let after = format!(" {} holds no usable CA certificate", path.display());
        return Err(what.error("", &after));
    }
    Ok(())
}

fn read_certs(path: &Path, what: Source) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, what, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, what, e))?;
    if certs.is_empty() {
        return Err(what.error("", &format!(" {} holds no PEM certificate", path.display())));
    }
    Ok(certs)
}

fn pem_error(path: &Path, what: Source, e: rustls::pki_types::pem::Error) -> Error {
    match e {
        rustls::pki_types::pem::Error::Io(io) => file_error(path, what, &io),
        other => what.error(
            "",
            &format!(" {}: not valid PEM ({other:?})", path.display()),
        ),
    }
}

fn file_error(path: &std::path::Path, what: Source, e: &std::io::Error) -> Error {
    let reason = crate::net::io_reason(e);
    what.error("cannot read ", &format!(" {}: {reason}", path.display()))
}

/// `name` (see [`name_for`]) as rustls wants it: without brackets or port. IP addresses verify
/// against the certificate's IP SANs.
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, Error> {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    // A Host header may carry a port.
    let bare = match bare.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => bare,
    };
    ServerName::try_from(bare.to_string())
        .map_err(|_| Error::usage(format!("invalid tls server name {bare:?}")))
}

/// A rustls error in words a user can act on.
pub(crate) fn describe(e: &rustls::Error, name: &str) -> Error {
    use rustls::AlertDescription as A;
    let message = match e {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                let before = format!(
                    "certificate for {name} is signed by an unknown issuer (trust its CA with "
                );
                return Error::naming(ErrorKind::Tls, &before, Setting::TlsCaFile, ")");
            }
            CertificateError::ExpiredContext { not_after, .. } => {
                format!(
                    "certificate for {name} expired {}",
                    format_date(not_after.as_secs())
                )
            }
            CertificateError::Expired => format!("certificate for {name} has expired"),
            CertificateError::NotValidYetContext { not_before, .. } => {
                format!(
                    "certificate for {name} is not valid before {}",
                    format_date(not_before.as_secs())
                )
            }
            CertificateError::NotValidYet => format!("certificate for {name} is not valid yet"),
            CertificateError::NotValidForNameContext { presented, .. } => {
                let valid: Vec<&str> = presented
                    .iter()
                    .map(|s| s.trim_start_matches("DnsName(\"").trim_end_matches("\")"))
                    .collect();
                format!(
                    "certificate is not valid for {name} (valid for {})",
                    valid.join(", ")
                )
            }
            CertificateError::NotValidForName => format!("certificate is not valid for {name}"),
            CertificateError::BadSignature => format!("certificate for {name} has a bad signature"),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                format!("certificate for {name} is not for server authentication")
            }
            // `openssl req -x509` makes a self-signed certificate with CA:TRUE; webpki will
            // not accept a CA certificate as the server's own. rustls passes webpki's
            // `Error::CaUsedAsEndEntity` on inside `CertificateError::Other`, and its type is
            // rustls-webpki's, which this crate does not depend on (a dependency only to name
            // one variant): its Debug name is the one handle. Guarded by the test
            // `self_signed_ca_certificate_as_server_certificate_is_explained` (tests/tls.rs).
            CertificateError::Other(e) if format!("{e:?}").contains("CaUsedAsEndEntity") => {
                let before = format!(
                    "certificate for {name} is a CA certificate (CA:TRUE) used as the server's own; \
                 serve a leaf certificate issued by that CA, or skip verification with "
                );
                return Error::naming(ErrorKind::Tls, &before, Setting::TlsInsecure, "");
            }
            CertificateError::Other(e) => format!("certificate for {name} was rejected: {e}"),
            other => format!("certificate for {name} was rejected: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => match alert {
            A::CertificateRequired
            | A::HandshakeFailure
            | A::BadCertificate
            | A::UnknownCA
            | A::AccessDenied => {
                format!(
                    "tls handshake refused by the server ({}; client certificate required?)",
                    alert_name(*alert)
                )
            }
            other => format!(
                "tls handshake refused by the server ({})",
                alert_name(*other)
            ),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "tls handshake failed: the peer does not speak TLS (a plaintext server?)".to_string()
        }
        rustls::Error::NoApplicationProtocol => {
            "tls handshake failed: no common ALPN protocol".to_string()
        }
        other => format!("tls handshake failed: {other}"),
    };
    Error::new(ErrorKind::Tls, message)
}

fn alert_name(alert: rustls::AlertDescription) -> String {
    // `CertificateRequired` → `certificate required`.
    let raw = format!("{alert:?}");
    let mut out = String::new();
    for (i, c) in raw.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Checks `tls_cert_min_days` against the server's leaf certificate.
pub(crate) fn check_min_days(
    leaf: &CertificateDer<'_>,
    min_days: u32,
    name: &str,
) -> Result<(), Error> {
    let not_after = not_after(leaf).ok_or_else(|| {
        Error::new(
            ErrorKind::Tls,
            "cannot read the expiry date of the server certificate",
        )
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let left_days = (not_after.saturating_sub(now)) / 86_400;
    if not_after < now + u64::from(min_days) * 86_400 {
        return Err(Error::new(
            ErrorKind::Tls,
            format!(
                "certificate for {name} expires {} (in {left_days} days), expected at least {min_days} days",
                format_date(not_after)
            ),
        ));
    }
    Ok(())
}

/// Reads `notAfter` (seconds since the epoch) from a DER certificate: the validity is the fifth
/// field of the TBSCertificate (RFC 5280 §4.1). A short walk rather than an X.509 crate: this is
/// all the probe needs from the certificate, and the parser would cost more bytes than it saves.
pub(crate) fn not_after(cert: &[u8]) -> Option<u64> {
    let (_, cert_body, _) = der(cert)?;
    let (_, tbs, _) = der(cert_body)?;
    let mut rest = tbs;
    let (tag, _, after) = der(rest)?;
    if tag == 0xa0 {
        rest = after; // [0] EXPLICIT version
    }
    for _ in 0..3 {
        rest = der(rest)?.2; // serialNumber, signature, issuer
    }
    let (_, validity, _) = der(rest)?;
    let (_, _, after_not_before) = der(validity)?;
    let (tag, time, _) = der(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: u64 = text.get(0..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(0..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<u64> { rest.get(i..i + 2)?.parse().ok() };
    let days = days_from_civil(year as i64, field(0)?, field(2)?);
    Some(days as u64 * 86_400 + field(4)? * 3600 + field(6)? * 60 + field(8)?)
}

/// One DER element: (tag, contents, what follows).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, input.get(header..end)?, input.get(end..)?))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a time in seconds since the epoch.
pub(crate) fn format_date(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `tls_insecure`: accepts any certificate, still checks the handshake signatures.
#[derive(Debug)]
struct NoVerifier(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// Runs the handshake to completion over `io`, whose timeouts the caller has set.
pub(crate) fn handshake(
    conn: &mut rustls::ClientConnection,
    io: &mut (impl std::io::Read + std::io::Write),
    name: &str,
    deadline: &Deadline,
) -> Result<(), Error> {
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(io) {
            // A server that refuses the handshake sends an alert and closes; our next write
            // may fail (EPIPE) before the alert is read. Read it, for the better reason.
            let closed = matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            );
            if closed
                && conn.read_tls(io).is_ok()
                && let Err(tls) = conn.process_new_packets()
            {
                return Err(describe(&tls, name));
            }
            return Err(io_error(&e, name, deadline));
        }
    }
    Ok(())
}

/// An I/O error met during or after a handshake: a rustls error inside it is described; a
/// timeout names the phase.
pub(crate) fn io_error(e: &std::io::Error, name: &str, deadline: &Deadline) -> Error {
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return describe(tls, name);
    }
    // A timeout: over ureq's transport adapter (https), ureq's own timeout error.
    if crate::deadline::is_timeout(e) {
        return deadline.expired();
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted
        | std::io::ErrorKind::BrokenPipe => Error::new(
            ErrorKind::Tls,
            "tls handshake failed: the peer closed the connection (client certificate required?)",
        ),
        _ => Error::new(
            ErrorKind::Tls,
            format!("tls handshake failed: {}", crate::net::io_reason(e)),
        ),
    }
}

/// After the handshake: `tls_cert_min_days`, and the [`Detail`] a verbose listing shows.
pub(crate) fn after_handshake(
    conn: &rustls::ClientConnection,
    cert_min_days: Option<u32>,
    name: &str,
    details: &mut Vec<Detail>,
) -> Result<(), Error> {
    let leaf = conn.peer_certificates().and_then(|c| c.first());
    if let Some(version) = conn.protocol_version() {
        details.push(Detail::Tls {
            version: version_name(version),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            valid_until: leaf.and_then(|l| not_after(l)).map(format_date),
        });
    }
    if let Some(days) = cert_min_days {
        let leaf =
            leaf.ok_or_else(|| Error::new(ErrorKind::Tls, "the server sent no certificate"))?;
        check_min_days(leaf, days, name)?;
    }
    Ok(())
}

pub(crate) fn version_name(v: rustls::ProtocolVersion) -> &'static str {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "1.3",
        rustls::ProtocolVersion::TLSv1_2 => "1.2",
        _ => "(old version)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(1_767_225_600), "2026-01-01");
        assert_eq!(days_from_civil(2026, 1, 1) * 86_400, 1_767_225_600);
    }

    #[test]
    fn server_name_strips_port_and_brackets() {
        assert_eq!(
            server_name("api.example.com:8443").unwrap().to_str(),
            "api.example.com"
        );
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
    }

    #[test]
    fn not_after_of_a_generated_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["a.test".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 7, 4);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let secs = not_after(cert.der()).unwrap();
        assert_eq!(format_date(secs), "2031-07-04");
    }

    #[test]
    fn not_after_of_garbage_is_none() {
        assert_eq!(not_after(&[0x30, 0x82, 0xff]), None);
        assert_eq!(not_after(&[]), None);
    }

    #[test]
    fn alert_names_are_words() {
        assert_eq!(
            alert_name(rustls::AlertDescription::CertificateRequired),
            "certificate required"
        );
    }
}
