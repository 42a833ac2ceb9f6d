//! Signed JWT access tokens for the emulator: RS256 with a `kid`, as Entra signs them, so a third party
//! can validate them against the keys at the tenant's `jwks_uri`.
//!
//! The JWT layer is hand-rolled (base64url and JSON around aws-lc-rs, which rustls and rcgen already
//! bring): the emulator signs one claim set and checks its own tokens, and a JWT crate would add a second
//! crypto stack to the build for that.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::Digest;

/// The claims the emulator puts in and checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub oid: String,
    pub sub: String,
    pub tid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// `user` or `app`.
    pub idtyp: String,
    /// Entra's unique token identifier; the emulator numbers its tokens, so a revocation can name "every
    /// token issued so far".
    #[serde(default)]
    pub uti: u64,
}

/// Why a presented token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token is expired")]
    Expired,
    #[error("the token is not yet valid")]
    NotYetValid,
    #[error("the token audience {0} is not accepted here")]
    WrongAudience(String),
}

/// The signing key could not be made or read back.
#[derive(Debug, thiserror::Error)]
#[error("the token signing key {0}")]
pub struct SigningKeyError(&'static str);

/// Signs and verifies tokens with one RSA-2048 key (Entra's size), named by its `kid`.
pub struct TokenSigner {
    key: KeyPair,
    kid: String,
}

impl TokenSigner {
    /// A fresh key, as at every start without a state directory.
    pub fn new_random() -> Result<Self, SigningKeyError> {
        let key =
            KeyPair::generate(KeySize::Rsa2048).map_err(|_| SigningKeyError("cannot be made"))?;
        Ok(Self::from_key(key))
    }

    /// The key from its PKCS#8 DER (`--state-dir` keeps it, so tokens survive a restart).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SigningKeyError> {
        let key = KeyPair::from_pkcs8(der).map_err(|_| SigningKeyError("is not an RSA key"))?;
        Ok(Self::from_key(key))
    }

    /// The key as PKCS#8 DER, for the state directory.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, SigningKeyError> {
        self.key
            .as_der()
            .map(|der| der.as_ref().to_vec())
            .map_err(|_| SigningKeyError("cannot be written"))
    }

    fn from_key(key: KeyPair) -> Self {
        // Entra's `kid` (and `x5t`) is the base64url SHA-1 thumbprint of the key's certificate; the
        // emulator has no certificate for it and takes the thumbprint of the public key instead.
        let kid = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(key.public_key().as_ref()));
        Self { key, kid }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as Entra's `jwks_uri` serves it.
    pub fn jwk(&self, issuer: &str) -> Value {
        let public = self.key.public_key();
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            "issuer": issuer,
        })
    }

    /// A compact JWS of `claims` (any serialisable claim set: access or ID token).
    pub fn sign(&self, claims: &impl Serialize) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid});
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut signature_bytes = vec![0; self.key.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        if self
            .key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                signing_input.as_bytes(),
                &mut signature_bytes,
            )
            .is_err()
        {
            // Signing with a valid key into a buffer of the modulus' length does not fail; were it to,
            // the token carries no valid signature and every service refuses it.
            signature_bytes.clear();
        }
        let signature = URL_SAFE_NO_PAD.encode(signature_bytes);
        format!("{signing_input}.{signature}")
    }

    /// Checks signature, time window and that `aud` is one of `audiences` (compared without trailing `/`).
    pub fn verify(&self, token: &str, audiences: &[&str], now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let signing_input = format!("{header}.{payload}");
        signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            self.key.public_key().as_ref(),
        )
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| TokenError::BadSignature)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now + 300 {
            return Err(TokenError::NotYetValid);
        }
        let audience = claims.aud.trim_end_matches('/');
        if !audiences.iter().any(|accepted| {
            accepted
                .trim_end_matches('/')
                .eq_ignore_ascii_case(audience)
        }) {
            return Err(TokenError::WrongAudience(claims.aud.clone()));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(aud: &str, exp: i64) -> Claims {
        Claims {
            aud: aud.into(),
            iss: "https://login.localhost/t/v2.0".into(),
            iat: 0,
            nbf: 0,
            exp,
            oid: "o".into(),
            sub: "o".into(),
            tid: "t".into(),
            upn: Some("ada@contoso.demo".into()),
            name: None,
            appid: None,
            idtyp: "user".into(),
            uti: 1,
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let signer = TokenSigner::new_random().expect("key");
        let token = signer.sign(&claims("https://vault.localhost:1", 100));
        assert!(
            signer
                .verify(&token, &["https://vault.localhost:1/"], 50)
                .is_ok()
        );
        assert_eq!(
            signer.verify(&token, &["https://vault.localhost:1"], 100),
            Err(TokenError::Expired)
        );
        assert!(matches!(
            signer.verify(&token, &["https://management.localhost:1"], 50),
            Err(TokenError::WrongAudience(_))
        ));
        let other = TokenSigner::new_random().expect("key");
        assert_eq!(
            other.verify(&token, &["https://vault.localhost:1"], 50),
            Err(TokenError::BadSignature)
        );
        assert_eq!(signer.verify("a.b", &["x"], 50), Err(TokenError::Malformed));
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap_or_default())
                .expect("base64"),
        )
        .expect("json");
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], signer.kid());
        let restored = TokenSigner::from_pkcs8(&signer.to_pkcs8().expect("der")).expect("key");
        assert_eq!(restored.kid(), signer.kid());
        assert!(
            restored
                .verify(&token, &["https://vault.localhost:1"], 50)
                .is_ok(),
            "a key read back from its PKCS#8 verifies what it signed before"
        );
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap_or(0) + 2, 'x');
        assert!(
            signer
                .verify(&tampered, &["https://vault.localhost:1"], 50)
                .is_err()
        );
    }
}
