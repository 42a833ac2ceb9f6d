//! Signed JWT access tokens for the emulator: HS256 with a key made at start.
//!
//! Hand-rolled (about 60 lines with hmac + sha2) rather than a JWT crate: clients treat tokens as opaque,
//! only the emulator itself verifies them, and this keeps a second crypto stack out of the build.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

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

/// Signs and verifies tokens with one key.
pub struct TokenSigner {
    key: [u8; 32],
}

impl TokenSigner {
    pub fn new_random() -> Self {
        Self {
            key: rand::random(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; 32 bytes cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC key length"))
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
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
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
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
        let signer = TokenSigner::new_random();
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
        let other = TokenSigner::new_random();
        assert_eq!(
            other.verify(&token, &["https://vault.localhost:1"], 50),
            Err(TokenError::BadSignature)
        );
        assert_eq!(signer.verify("a.b", &["x"], 50), Err(TokenError::Malformed));
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap_or(0) + 2, 'x');
        assert!(
            signer
                .verify(&tampered, &["https://vault.localhost:1"], 50)
                .is_err()
        );
    }
}
