//! Typed errors of the REST layer, built from ARM (`CloudError`) and Key Vault (`KeyVaultError`) bodies.

use serde::Deserialize;

use crate::auth::AuthError;

/// Which service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    ResourceManager,
    KeyVault,
    Graph,
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ResourceManager => "Azure Resource Manager",
            Self::KeyVault => "Key Vault",
            Self::Graph => "Microsoft Graph",
        })
    }
}

/// A REST call failed; each variant carries what the UI needs to explain it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AzureError {
    /// The service answered with an error status and (usually) an error body.
    #[error("{service} answered HTTP {status} {code}: {message}")]
    Service {
        service: Service,
        status: u16,
        code: String,
        message: String,
        inner_code: Option<String>,
    },
    /// Still throttled (429) after every retry.
    #[error("{service} is throttling requests (HTTP 429); gave up after {attempts} attempts")]
    Throttled { service: Service, attempts: u32 },
    /// The connection failed or broke.
    #[error("network error talking to {host}: {detail}")]
    Network { host: String, detail: String },
    /// No answer in time.
    #[error("{host} did not answer in time")]
    Timeout { host: String },
    /// The answer could not be read as the expected JSON.
    #[error("unexpected answer from {host}: {detail}")]
    InvalidResponse { host: String, detail: String },
    /// No token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// We refused to send a token (non-HTTPS URL, challenge or next link for another domain).
    #[error("refused to send a token: {0}")]
    TokenRefused(String),
    /// The URI is not one we can use.
    #[error("not a valid URI: {0}")]
    InvalidUri(String),
    /// A Continuous Access Evaluation challenge (`insufficient_claims`): the service revoked the session's
    /// tokens (a password reset, a disabled account, a new location policy). The credentials Vaultscope
    /// uses (azure_identity 1.x) cannot ask for a token with extra claims, so a new sign-in is needed.
    #[error(
        "{service} revoked this session's token (Continuous Access Evaluation: {reason}); sign out and sign in again to get a new one"
    )]
    ClaimsChallenge { service: Service, reason: String },
}

impl AzureError {
    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Service { status, .. } => Some(*status),
            Self::Throttled { .. } => Some(429),
            _ => None,
        }
    }

    /// A Key Vault firewall rejection, as opposed to a permission 403.
    pub fn is_network_forbidden(&self) -> bool {
        match self {
            Self::Service {
                status: 403,
                code,
                message,
                inner_code,
                ..
            } => {
                inner_code.as_deref() == Some("ForbiddenByFirewall")
                    || code == "ForbiddenByFirewall"
                    || message.contains("is not authorized and caller is not a trusted service")
            }
            _ => false,
        }
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    innererror: Option<InnerError>,
}

#[derive(Deserialize)]
struct InnerError {
    #[serde(default)]
    code: Option<String>,
}

/// Builds a `Service` error from a status and a body in the `{"error":{"code","message"}}` shape shared by
/// ARM, Key Vault and Graph; falls back to the status text when the body is something else.
pub fn service_error(service: Service, status: u16, body: &[u8]) -> AzureError {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("error");
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) => AzureError::Service {
            service,
            status,
            code: envelope.error.code.unwrap_or_else(|| reason.to_owned()),
            message: envelope.error.message.unwrap_or_default(),
            inner_code: envelope.error.innererror.and_then(|inner| inner.code),
        },
        // Text that is not Azure's error shape (a proxy's HTML page) is quoted, briefly, to tell what
        // answered; JSON of another shape is not, since it may carry a value.
        Err(_) if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() => {
            AzureError::Service {
                service,
                status,
                code: reason.to_owned(),
                message: "the error body is JSON of an unexpected shape".to_owned(),
                inner_code: None,
            }
        }
        Err(_) => AzureError::Service {
            service,
            status,
            code: reason.to_owned(),
            message: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            inner_code: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_vault_error_body() {
        let body = br#"{"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"ForbiddenByRbac"}}}"#;
        match service_error(Service::KeyVault, 403, body) {
            AzureError::Service {
                code, inner_code, ..
            } => {
                assert_eq!(code, "Forbidden");
                assert_eq!(inner_code.as_deref(), Some("ForbiddenByRbac"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn firewall_is_told_apart() {
        let body = br#"{"error":{"code":"Forbidden","message":"Client address is not authorized and caller is not a trusted service.","innererror":{"code":"ForbiddenByFirewall"}}}"#;
        assert!(service_error(Service::KeyVault, 403, body).is_network_forbidden());
        let rbac = br#"{"error":{"code":"Forbidden","message":"no","innererror":{"code":"ForbiddenByRbac"}}}"#;
        assert!(!service_error(Service::KeyVault, 403, rbac).is_network_forbidden());
    }

    #[test]
    fn non_json_body_falls_back_to_status_text() {
        match service_error(Service::ResourceManager, 502, b"<html>bad gateway</html>") {
            AzureError::Service { code, message, .. } => {
                assert_eq!(code, "Bad Gateway");
                assert!(message.contains("bad gateway"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
