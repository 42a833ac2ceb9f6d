//! Credential sources and the token cache: everything that turns "who am I" into bearer tokens.
//!
//! Every source implements `azure_core::credentials::TokenCredential`; `TokenCache` sits in front of one and
//! hands out tokens per (tenant, scope), refreshing them shortly before they expire.

pub mod availability;
pub mod azure_cli;
pub mod claims;
pub mod device_code;
pub mod environment;
pub mod environment_snapshot;
pub mod managed_identity;
pub mod refresh_store;
pub mod token_cache;

pub use claims::SignedInIdentity;

/// The longest lifetime an access token or a device code is taken to have: a service's `expires_in` or
/// `expires_on` beyond it (or garbage) is read as this, so no arithmetic on outside numbers can overflow.
pub const LONGEST_LIFETIME_SECONDS: i64 = 86_400;

/// When something lasting `seconds` from `now` ends, clamped to `[now, now + 1 day]` (negative: now).
pub fn expiry_after(now: time::OffsetDateTime, seconds: i64) -> time::OffsetDateTime {
    let seconds = seconds.clamp(0, LONGEST_LIFETIME_SECONDS);
    now.checked_add(time::Duration::seconds(seconds))
        .unwrap_or(now)
}
pub use token_cache::TokenCache;

/// The most a token endpoint's answer may hold (real ones are a few KiB).
pub const MAX_TOKEN_ANSWER_BYTES: usize = 1024 * 1024;

/// A token endpoint's body, capped at [`MAX_TOKEN_ANSWER_BYTES`] after decompression.
pub(crate) async fn read_token_answer(
    response: reqwest::Response,
) -> Result<bytes::Bytes, AuthError> {
    crate::http_body::read_capped(response, MAX_TOKEN_ANSWER_BYTES)
        .await
        .map_err(|error| match error {
            crate::http_body::CappedReadError::Transport(_) => {
                AuthError::Unavailable(error.to_string())
            }
            too_large => AuthError::Transport(too_large.to_string()),
        })
}

/// Refuses a tenant that is not an id or a domain before it is joined into an authority URL, as
/// azure_identity's `validate_tenant_id` does (letters, digits, `.` and `-`): a tenant typed as a URL, or
/// sent by a vault's challenge as `evil.example/x`, must never change the sign-in host or path.
pub fn check_tenant(tenant: &str) -> Result<(), AuthError> {
    let valid = !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !tenant.starts_with('.')
        && !tenant.contains("..");
    if valid {
        Ok(())
    } else {
        Err(AuthError::Credential(
            "the tenant is not a tenant id or domain (letters, digits, '.' and '-' only); find yours at \
             https://learn.microsoft.com/partner-center/find-ids-and-domain-names"
                .to_owned(),
        ))
    }
}

/// Why a token could not be had.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Entra answered with an OAuth error (`invalid_client`, `expired_token`, …).
    #[error("sign-in failed: {error}: {description}")]
    Entra { error: String, description: String },
    /// The person declined the device-code sign-in.
    #[error("the sign-in was declined")]
    Declined,
    /// The device code expired before anyone approved it.
    #[error("the sign-in code expired before it was used; start again")]
    CodeExpired,
    /// `az` is not on PATH.
    #[error("the Azure CLI (az) is not installed or not on PATH")]
    CliNotInstalled,
    /// `az` has no signed-in account.
    #[error("the Azure CLI is not signed in: run `az login`")]
    CliNotLoggedIn,
    /// `az` gives no `expires_on` (older than 2.54.0).
    #[error(
        "the Azure CLI is too old: it gives no token expiry (expires_on); run `az upgrade` (2.54.0 or newer)"
    )]
    CliTooOld,
    /// Any other failure of a credential source, with its message.
    #[error("could not get a token: {0}")]
    Credential(String),
    /// The token endpoint could not be reached or answered garbage.
    #[error("token endpoint unreachable or invalid: {0}")]
    Transport(String),
    /// The token endpoint is unreachable or failing for now (a network error, HTTP 5xx): worth asking
    /// again later, as device-code polling does until the code expires.
    #[error("token endpoint unavailable: {0}")]
    Unavailable(String),
    /// A credential gave no answer in time (a hung `az`, an endpoint that never answers).
    #[error("{source_name} gave no token within {seconds} s; it was stopped")]
    TimedOut { source_name: String, seconds: u64 },
}

impl AuthError {
    /// Maps an `azure_core` error from a credential into the most specific variant.
    pub fn from_azure_core(error: &azure_core::Error) -> Self {
        let text = error.to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("az login") || lower.contains("az account set") {
            Self::CliNotLoggedIn
        } else if lower.contains("expires_on field not found") {
            Self::CliTooOld
        } else if lower.contains("not installed")
            || lower.contains("not recognized")
            || lower.contains("command not found")
            || lower.contains("not found on path")
            || lower.contains("wasn't found on path")
        {
            Self::CliNotInstalled
        } else {
            Self::Credential(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_is_an_id_or_a_domain_never_a_url_or_a_path() {
        for good in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "contoso.onmicrosoft.com",
            "organizations",
            "common",
        ] {
            assert!(check_tenant(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "https://evil.example",
            "evil.example/x",
            "evil.example:443",
            "a@evil.example",
            "..",
            "../other",
            "tenant?x=1",
            "tenant#x",
            "te nant",
            "ten%2fant",
        ] {
            assert!(check_tenant(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_device_code_sign_in_to_a_tenant_typed_as_a_url_sends_nothing() {
        let client = device_code::EntraClient::new(
            reqwest::Client::new(),
            url::Url::parse("https://login.microsoftonline.com").expect("url"),
            "https://evil.example",
            device_code::AZURE_CLI_CLIENT_ID,
        );
        let error = client
            .start_device_code("https://management.azure.com/.default")
            .await
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("not a tenant id or domain"), "{error}");
    }

    #[test]
    fn an_outside_lifetime_is_clamped_to_a_day_and_never_overflows() {
        let now = time::OffsetDateTime::now_utc();
        assert_eq!(expiry_after(now, 3_600), now + time::Duration::hours(1));
        assert_eq!(expiry_after(now, i64::MAX), now + time::Duration::days(1));
        assert_eq!(expiry_after(now, i64::MIN), now);
        let edge = time::PrimitiveDateTime::MAX.assume_utc();
        assert_eq!(expiry_after(edge, 60), edge, "past the clock's range: now");
    }
}
