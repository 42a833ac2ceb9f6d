//! Certificate files: the public certificate as `.cer` (DER) or `.pem`; the certificate with its private key
//! as `.pfx` or `.pem`, made from the certificate's backing secret (Key Vault keeps it as PEM or as a
//! password-less base64 PFX, by the policy's content type); and a PFX or PEM file checked and turned into
//! what Key Vault's certificate import takes. PFX is read and written with p12-keystore; PEM armour is
//! written here (a base64 body in 64-column lines between two marker lines) and read with x509-parser.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Key Vault's content type of a certificate secret kept as PFX.
pub const PKCS12_CONTENT_TYPE: &str = "application/x-pkcs12";
/// Key Vault's content type of a certificate secret kept as PEM.
pub const PEM_CONTENT_TYPE: &str = "application/x-pem-file";

/// Which file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFile {
    /// The public certificate, DER.
    Cer,
    /// The public certificate, PEM.
    Pem,
    /// The certificate with its private key, PKCS#12 without a password (as the Azure Portal downloads it).
    PfxWithKey,
    /// The private key (PKCS#8) and the certificate chain, PEM.
    PemWithKey,
}

impl CertificateFile {
    pub const ALL: [Self; 4] = [Self::Cer, Self::Pem, Self::PfxWithKey, Self::PemWithKey];

    pub fn with_key(self) -> bool {
        matches!(self, Self::PfxWithKey | Self::PemWithKey)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Cer => "cer",
            Self::Pem | Self::PemWithKey => "pem",
            Self::PfxWithKey => "pfx",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Cer => "Public certificate (.cer, DER)",
            Self::Pem => "Public certificate (.pem)",
            Self::PfxWithKey => "With private key (.pfx)",
            Self::PemWithKey => "With private key (.pem)",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertificateFileError {
    #[error("the certificate's secret is neither PEM nor base64 PFX")]
    UnknownSecretFormat,
    #[error("the certificate's secret holds no private key (is the policy exportable?)")]
    NoPrivateKey,
    #[error("the PFX cannot be opened: {0}")]
    Pfx(String),
    #[error("the password does not open this PFX")]
    WrongPassword,
    #[error("the PEM file has no {0}")]
    PemMissing(&'static str),
    #[error("not a certificate file: neither PFX nor PEM")]
    NotACertificate,
}

/// PEM armour of `der` under `label` ("CERTIFICATE", "PRIVATE KEY").
pub fn pem_block(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 64));
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The public certificate file (`Cer` or `Pem`) of a certificate's DER.
pub fn public_file(der: &[u8], format: CertificateFile) -> Vec<u8> {
    match format {
        CertificateFile::Pem => pem_block("CERTIFICATE", der).as_bytes().to_vec(),
        _ => der.to_vec(),
    }
}

/// A private key and its certificate chain (leaf first), DER.
struct KeyAndChain {
    key: Zeroizing<Vec<u8>>,
    chain: Vec<Vec<u8>>,
}

fn from_pem(text: &str) -> Result<KeyAndChain, CertificateFileError> {
    let mut key = None;
    let mut chain = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let Ok(block) = block else {
            break;
        };
        match block.label.as_str() {
            "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" => {
                key = Some(Zeroizing::new(block.contents.clone()));
            }
            "CERTIFICATE" => chain.push(block.contents.clone()),
            _ => {}
        }
    }
    if chain.is_empty() {
        return Err(CertificateFileError::PemMissing("CERTIFICATE block"));
    }
    let key = key.ok_or(CertificateFileError::NoPrivateKey)?;
    Ok(KeyAndChain { key, chain })
}

fn from_pfx(bytes: &[u8], password: &str) -> Result<KeyAndChain, CertificateFileError> {
    let store = p12_keystore::KeyStore::from_pkcs12(
        bytes,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|error| match error {
        p12_keystore::error::Error::MacError(_) => CertificateFileError::WrongPassword,
        other => CertificateFileError::Pfx(other.to_string()),
    })?;
    let (_, chain) = store
        .private_key_chain()
        .ok_or(CertificateFileError::NoPrivateKey)?;
    if chain.certs().is_empty() {
        return Err(CertificateFileError::Pfx("it holds no certificate".into()));
    }
    Ok(KeyAndChain {
        key: Zeroizing::new(chain.key().as_der().to_vec()),
        chain: chain
            .certs()
            .iter()
            .map(|cert| cert.as_der().to_vec())
            .collect(),
    })
}

fn to_pfx(
    material: &KeyAndChain,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, CertificateFileError> {
    let pfx_error =
        |error: p12_keystore::error::Error| CertificateFileError::Pfx(error.to_string());
    let key = p12_keystore::PrivateKey::from_der(&material.key).map_err(pfx_error)?;
    let certs = material
        .chain
        .iter()
        .map(|der| p12_keystore::Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(pfx_error)?;
    let local_key_id = sha1_of(&material.chain[0]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "certificate",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
            local_key_id,
            key,
            certs,
        )),
    );
    store
        .writer(password)
        .write()
        .map(Zeroizing::new)
        .map_err(pfx_error)
}

fn sha1_of(bytes: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(bytes).to_vec()
}

fn to_pem_with_key(material: &KeyAndChain) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    out.extend_from_slice(pem_block("PRIVATE KEY", &material.key).as_bytes());
    for der in &material.chain {
        out.extend_from_slice(pem_block("CERTIFICATE", der).as_bytes());
    }
    out
}

/// Reads a certificate's backing secret (PEM, or base64 PFX when `content_type` says so or the text is
/// not PEM).
fn read_secret(
    value: &SecretString,
    content_type: Option<&str>,
) -> Result<KeyAndChain, CertificateFileError> {
    let text = value.expose_secret().trim();
    if content_type != Some(PKCS12_CONTENT_TYPE) && text.starts_with("-----BEGIN") {
        return from_pem(text);
    }
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text)
            .map_err(|_| CertificateFileError::UnknownSecretFormat)?,
    );
    from_pfx(&bytes, "")
}

/// The file with the private key (`PfxWithKey` or `PemWithKey`) from the certificate's secret.
pub fn private_file(
    value: &SecretString,
    content_type: Option<&str>,
    format: CertificateFile,
) -> Result<Zeroizing<Vec<u8>>, CertificateFileError> {
    let material = read_secret(value, content_type)?;
    match format {
        CertificateFile::PemWithKey => Ok(to_pem_with_key(&material)),
        _ => to_pfx(&material, ""),
    }
}

/// What Key Vault's `POST /certificates/{name}/import` takes: the value (base64 PFX or PEM text), its
/// content type and the PFX's password.
pub struct CertificateUpload {
    pub value: SecretString,
    pub content_type: &'static str,
    pub password: Option<SecretString>,
    /// The leaf certificate's DER (for the preview: subject, expiry).
    pub leaf_der: Vec<u8>,
}

impl std::fmt::Debug for CertificateUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateUpload")
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// Checks a PFX (opened with `password`) or PEM file (a key and a certificate) before it is sent.
pub fn prepare_upload(
    bytes: &[u8],
    password: &SecretString,
) -> Result<CertificateUpload, CertificateFileError> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.trim_start().starts_with("-----BEGIN")
    {
        let material = from_pem(text)?;
        return Ok(CertificateUpload {
            value: SecretString::from(text.to_owned()),
            content_type: PEM_CONTENT_TYPE,
            password: None,
            leaf_der: material.chain[0].clone(),
        });
    }
    // DER PFX starts with a SEQUENCE; anything else is not a certificate file.
    if bytes.first() != Some(&0x30) {
        return Err(CertificateFileError::NotACertificate);
    }
    let material = from_pfx(bytes, password.expose_secret())?;
    Ok(CertificateUpload {
        value: SecretString::from(STANDARD.encode(bytes)),
        content_type: PKCS12_CONTENT_TYPE,
        password: (!password.expose_secret().is_empty()).then(|| password.clone()),
        leaf_der: material.chain[0].clone(),
    })
}

/// A private key (PKCS#8 DER) and its certificate chain's DER, leaf first.
pub type KeyWithChain = (Zeroizing<Vec<u8>>, Vec<Vec<u8>>);

/// Reads an uploaded certificate the way Key Vault does (for the emulator): the key (PKCS#8 DER) and the
/// chain's DER, from base64 PFX with `password` or PEM text.
pub fn open_upload(value: &str, password: &str) -> Result<KeyWithChain, CertificateFileError> {
    let material = if value.trim_start().starts_with("-----BEGIN") {
        from_pem(value)?
    } else {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(value.trim())
                .map_err(|_| CertificateFileError::NotACertificate)?,
        );
        from_pfx(&bytes, password)?
    };
    Ok((material.key, material.chain))
}

/// A key and chain as the value of a certificate secret of `content_type` (for the emulator).
pub fn secret_value(
    key: &[u8],
    chain: &[Vec<u8>],
    content_type: &str,
) -> Result<Zeroizing<String>, CertificateFileError> {
    let material = KeyAndChain {
        key: Zeroizing::new(key.to_vec()),
        chain: chain.to_vec(),
    };
    if content_type == PKCS12_CONTENT_TYPE {
        let pfx = to_pfx(&material, "")?;
        Ok(Zeroizing::new(STANDARD.encode(&*pfx)))
    } else {
        let pem = to_pem_with_key(&material);
        Ok(Zeroizing::new(String::from_utf8_lossy(&pem).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (
            format!("{}{}", key.serialize_pem(), cert.pem()),
            cert.der().to_vec(),
        )
    }

    #[test]
    fn pem_secret_becomes_pfx_and_back_and_keeps_the_certificate() {
        let (pem, der) = self_signed();
        let value = SecretString::from(pem);
        let pfx =
            private_file(&value, Some(PEM_CONTENT_TYPE), CertificateFile::PfxWithKey).unwrap();
        let reopened = from_pfx(&pfx, "").unwrap();
        assert_eq!(reopened.chain[0], der);
        let as_secret = SecretString::from(STANDARD.encode(&*pfx));
        let pem_again = private_file(
            &as_secret,
            Some(PKCS12_CONTENT_TYPE),
            CertificateFile::PemWithKey,
        )
        .unwrap();
        let text = String::from_utf8(pem_again.to_vec()).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(from_pem(&text).unwrap().chain[0], der);
        assert!(
            public_file(&der, CertificateFile::Pem).starts_with(b"-----BEGIN CERTIFICATE-----\n")
        );
    }

    #[test]
    fn an_upload_is_checked_before_it_is_sent() {
        let (pem, der) = self_signed();
        let material = from_pem(&pem).unwrap();
        let pfx = to_pfx(&material, "pw").unwrap();
        let upload = prepare_upload(&pfx, &SecretString::from("pw")).unwrap();
        assert_eq!(upload.content_type, PKCS12_CONTENT_TYPE);
        assert_eq!(upload.leaf_der, der);
        assert_eq!(
            prepare_upload(&pfx, &SecretString::from("wrong")).err(),
            Some(CertificateFileError::WrongPassword)
        );
        assert_eq!(
            prepare_upload(b"hello", &SecretString::from("")).err(),
            Some(CertificateFileError::NotACertificate)
        );
        let cert_only = pem[pem.find("-----BEGIN CERTIFICATE").unwrap()..].to_owned();
        assert_eq!(
            prepare_upload(cert_only.as_bytes(), &SecretString::from("")).err(),
            Some(CertificateFileError::NoPrivateKey)
        );
        let (key, chain) = open_upload(upload.value.expose_secret(), "pw").unwrap();
        assert_eq!(chain[0], der);
        assert!(!key.is_empty());
    }
}
