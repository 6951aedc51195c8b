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
