//! The emulator's TLS: a CA made at start with rcgen (or read back from `--state-dir`), a server certificate
//! for every emulator host, and the rustls server configuration (HTTP/2 and HTTP/1.1 by ALPN).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The certificate names the emulator answers to.
pub const SERVER_NAMES: &[&str] = &[
    "localhost",
    "login.localhost",
    "management.localhost",
    "graph.localhost",
    "vault.localhost",
    "*.vault.localhost",
];

/// Could not make certificates or the TLS configuration.
#[derive(Debug, thiserror::Error)]
#[error("emulator TLS setup failed: {0}")]
pub struct TlsSetupError(String);

/// The CA (PEM, for clients to trust) and the server's rustls configuration.
pub struct EmulatorTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

/// What a restart needs to present the same certificates: the CA (PEM), and the server's chain and key
/// (DER).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct TlsMaterial {
    pub ca_pem: String,
    pub chain: Vec<Vec<u8>>,
    pub server_key_pkcs8: Vec<u8>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// A new CA and a server certificate signed by it.
pub fn make_tls_material() -> Result<TlsMaterial, TlsSetupError> {
    let fail = |error: rcgen::Error| TlsSetupError(error.to_string());
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Vaultscope emulator CA");
    ca_params
        .distinguished_name
        .push(DnType::OrganizationName, "Vaultscope");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(fail)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(fail)?;
    let mut server_params = CertificateParams::new(
        SERVER_NAMES
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )
    .map_err(fail)?;
    server_params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V4(
            std::net::Ipv4Addr::LOCALHOST,
        )));
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(fail)?;

    Ok(TlsMaterial {
        ca_pem: ca_cert.pem(),
        chain: vec![server_cert.der().to_vec(), ca_cert.der().to_vec()],
        server_key_pkcs8: server_key.serialize_der(),
    })
}

/// The CA and the rustls configuration presenting `material`.
pub fn make_tls(material: TlsMaterial) -> Result<EmulatorTls, TlsSetupError> {
    let chain = material
        .chain
        .into_iter()
        .map(CertificateDer::from)
        .collect::<Vec<_>>();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(material.server_key_pkcs8));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsSetupError(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| TlsSetupError(error.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(EmulatorTls {
        ca_pem: material.ca_pem,
        server_config: Arc::new(config),
    })
}
