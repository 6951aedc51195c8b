//! Test PKI generated at test time with rcgen: a CA and a server certificate it issued.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A fresh CA and a leaf certificate for the given names (DNS names or IP literals), valid
/// from 1975 to 4096 (rcgen's defaults).
pub struct Pki {
    /// The CA certificate, PEM: what a test writes to a file for `--ca-file`.
    pub ca_pem: String,
    /// Leaf first, then the CA.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl Pki {
    pub fn new(names: &[&str]) -> Pki {
        let ca_key = KeyPair::generate().expect("generating the CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "healthprobe test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-signing the CA");
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().expect("generating the leaf key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut leaf_params = CertificateParams::new(names.clone()).expect("leaf names");
        if let Some(first) = names.first() {
            leaf_params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.use_authority_key_identifier_extension = true;
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("issuing the leaf");

        Pki {
            ca_pem: ca_cert.pem(),
            chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
            key_der: leaf_key.serialize_der(),
        }
    }

    /// A rustls server configuration presenting the leaf (ring provider, TLS 1.2 and 1.3).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .expect("server certificate and key");
        Arc::new(config)
    }
}

// ---------------------------------------------------------------------------------------------
// The PKI of the TLS tests: one CA issuing as many certificates as a test needs, with
// the validity it needs (expired and short-lived certificates are made, not waited for), client
// certificates, servers that require them or speak one protocol version, and a non-Rust peer.

/// A test CA that issues server and client certificates on demand.
pub struct TestCa {
    /// The CA certificate, PEM: what a test writes to a file for `--ca-file`.
    pub pem: String,
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// A client certificate (extended key usage clientAuth) and its private key, both PEM.
pub struct ClientCert {
    pub cert_pem: String,
    /// PKCS#8 (`BEGIN PRIVATE KEY`) unless given to [`TestCa::client_for_key`].
    pub key_pem: String,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("generating the CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-signing the CA");
        TestCa {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (DNS names or IP literals), valid from 1975 to 4096.
    pub fn server(&self, names: &[&str]) -> Pki {
        self.issue_server(names, None)
    }

    /// A server certificate for `names` valid from `not_before` to `not_after` (seconds since
    /// the epoch, see [`unix_now`]).
    pub fn server_valid(&self, names: &[&str], not_before: u64, not_after: u64) -> Pki {
        self.issue_server(names, Some((not_before, not_after)))
    }

    fn issue_server(&self, names: &[&str], validity: Option<(u64, u64)>) -> Pki {
        let key = KeyPair::generate().expect("generating a server key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("server names");
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        if let Some((not_before, not_after)) = validity {
            // rcgen's dates are `time` dates; the epoch plus seconds avoids naming the type.
            let epoch = rcgen::date_time_ymd(1970, 1, 1);
            params.not_before = epoch + std::time::Duration::from_secs(not_before);
            params.not_after = epoch + std::time::Duration::from_secs(not_after);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("issuing a server certificate");
        Pki {
            ca_pem: self.pem.clone(),
            chain: vec![cert.der().clone(), self.der.clone()],
            key_der: key.serialize_der(),
        }
    }

    /// A client certificate with a fresh P-256 key (PKCS#8).
    pub fn client(&self, name: &str) -> ClientCert {
        let key = KeyPair::generate().expect("generating a client key");
        ClientCert {
            cert_pem: self.issue_client(name, &key),
            key_pem: key.serialize_pem(),
        }
    }

    /// A client certificate for an existing key: `pkcs8_pem` is the key as PKCS#8 (any
    /// algorithm ring signs with: P-256, P-384, RSA); `key_pem` is what goes in the result, the
    /// same key in any PEM encoding (PKCS#1, SEC1...).
    pub fn client_for_key(&self, name: &str, pkcs8_pem: &str, key_pem: &str) -> ClientCert {
        let key = KeyPair::from_pem(pkcs8_pem)
            .or_else(|_| KeyPair::from_pkcs8_pem_and_sign_algo(pkcs8_pem, &rcgen::PKCS_RSA_SHA256))
            .expect("reading a client key (PKCS#8 PEM)");
        ClientCert {
            cert_pem: self.issue_client(name, &key),
            key_pem: key_pem.to_string(),
        }
    }

    fn issue_client(&self, name: &str, key: &KeyPair) -> String {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params
            .signed_by(key, &self.issuer)
            .expect("issuing a client certificate")
            .pem()
    }

    /// This CA as the only root of a store (for a server verifying client certificates).
    pub fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.der.clone())
            .expect("adding the CA to a root store");
        roots
    }
}

impl Pki {
    /// A rustls server configuration speaking only `versions` (`&[&rustls::version::TLS12]`);
    /// with `client_ca`, a client certificate issued by that CA is required.
    pub fn server_config_with(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        client_ca: Option<&TestCa>,
    ) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .expect("protocol versions");
        let builder = match client_ca {
            Some(ca) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(ca.roots()),
                    provider,
                )
                .build()
                .expect("client certificate verifier");
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(self.chain.clone(), key)
            .expect("server certificate and key");
        Arc::new(config)
    }

    /// [`Pki::server_config_with`] both versions, requiring a client certificate from `ca`.
    pub fn server_config_mtls(&self, ca: &TestCa) -> Arc<rustls::ServerConfig> {
        self.server_config_with(rustls::ALL_VERSIONS, Some(ca))
    }

    /// A server configuration that presents the leaf only to a client sending `sni` as its
    /// server name (and fails the handshake of any other, or of one sending none): proof of
    /// the SNI a client sent.
    pub fn server_config_sni_only(&self, sni: &str) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let signing_key = provider
            .key_provider
            .load_private_key(key)
            .expect("loading the server key");
        let certified = rustls::sign::CertifiedKey::new(self.chain.clone(), signing_key);
        let mut resolver = rustls::server::ResolvesServerCertUsingSni::new();
        resolver
            .add(sni, certified)
            .expect("the leaf is valid for the SNI name");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        Arc::new(config)
    }

    /// The leaf certificate, PEM.
    pub fn leaf_pem(&self) -> String {
        pem("CERTIFICATE", &self.chain[0])
    }

    /// The leaf's private key, PEM (PKCS#8).
    pub fn key_pem(&self) -> String {
        pem("PRIVATE KEY", &self.key_der)
    }
}

/// Seconds since the epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// `YYYY-MM-DD` (UTC) of a time in seconds since the epoch: the date a probe prints.
pub fn ymd(secs: u64) -> String {
    // Howard Hinnant's civil_from_days.
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

/// PEM armour around DER (64-column base64).
fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// `openssl s_server` (Debian's OpenSSL, a non-Rust peer) on `127.0.0.1`, presenting a
/// [`Pki`]'s leaf; killed on drop.
pub struct OpensslServer {
    child: std::process::Child,
    port: u16,
    _dir: super::TempDir,
}

impl OpensslServer {
    /// `openssl s_server -www`, which answers `GET /` with `200 ok` and a status page, plus
    /// `extra` arguments (`-tls1_2`, `-Verify 1 -CAfile ca.pem`...). `None`, with a message,
    /// when `openssl` cannot be run here.
    pub fn www(pki: &Pki, extra: &[&str]) -> Option<OpensslServer> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};

        let dir = super::TempDir::new();
        let cert = dir.write("cert.pem", pki.leaf_pem());
        let key = dir.write("key.pem", pki.key_pem());
        // The port is found free, then bound by openssl: another process may take it in
        // between, so a server that exits before listening is retried on a new port.
        for _ in 0..5 {
            let port = super::dead_port();
            let spawned = Command::new("openssl")
                .arg("s_server")
                .arg("-accept")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                .arg("-www")
                .args(extra)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    super::skip(format!("no openssl to run `openssl s_server` ({e})"));
                    return None;
                }
                Err(e) => panic!("running `openssl s_server`: {e}"),
            };
            // s_server prints `ACCEPT` once it listens; drain its stdout for its whole life
            // (one status line per connection) so it never blocks on a full pipe.
            let stdout = child.stdout.take().expect("piped stdout");
            let (ready_tx, ready) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if line.starts_with("ACCEPT") {
                        let _ = ready_tx.send(());
                    }
                }
            });
            match ready.recv_timeout(std::time::Duration::from_secs(10)) {
                Ok(()) => {
                    return Some(OpensslServer {
                        child,
                        port,
                        _dir: dir,
                    });
                }
                Err(_) => {
                    // Exited (port taken, bad argument) or never got ready.
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        panic!("openssl s_server did not start listening (5 attempts)");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
