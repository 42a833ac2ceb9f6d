//! The emulator's TLS: a CA made at start with rcgen, a server certificate for every emulator host, and the
//! rustls server configuration (HTTP/2 and HTTP/1.1 by ALPN).

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

pub fn make_tls() -> Result<EmulatorTls, TlsSetupError> {
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

    let chain = vec![
        CertificateDer::from(server_cert.der().to_vec()),
        CertificateDer::from(ca_cert.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsSetupError(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| TlsSetupError(error.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(EmulatorTls {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
    })
}
