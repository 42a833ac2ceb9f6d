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
    fn an_outside_lifetime_is_clamped_to_a_day_and_never_overflows() {
        let now = time::OffsetDateTime::now_utc();
        assert_eq!(expiry_after(now, 3_600), now + time::Duration::hours(1));
        assert_eq!(expiry_after(now, i64::MAX), now + time::Duration::days(1));
        assert_eq!(expiry_after(now, i64::MIN), now);
        let edge = time::PrimitiveDateTime::MAX.assume_utc();
        assert_eq!(expiry_after(edge, 60), edge, "past the clock's range: now");
    }
}
