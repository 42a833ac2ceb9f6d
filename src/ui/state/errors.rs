//! Failures in words: one sentence per worker error, one word for the vault tree, and the permission 403
//! met while browsing, remembered with what the person was trying to do so the Access view can explain it.

use crate::access::{ObjectType, Target};
use crate::azure::AzureError;
use crate::azure::identifiers::VaultUri;
use crate::worker::WorkerError;
use crate::worker::protocol::FailureReason;

/// An operation to point at in the check results (from a 403 in the explorer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HighlightedOperation {
    pub object_type: ObjectType,
    pub permission: &'static str,
}

/// A permission 403 the explorer met, with what the person was trying to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// The vault's ARM id, when ARM listed it.
    pub vault_arm_id: Option<String>,
    pub vault_name: String,
    pub operation: HighlightedOperation,
    pub target: Target,
    pub message: String,
}

/// What was being done when a request failed: the operation the access check should look at.
pub struct Attempt<'a> {
    pub vault: &'a VaultUri,
    /// The vault's ARM id, when ARM lists it.
    pub vault_arm_id: Option<String>,
    pub object_type: ObjectType,
    pub permission: &'static str,
    pub target: Target,
    /// Who tried: the signed-in identity's name.
    pub who: String,
}

/// A permission 403 (not a firewall one, not a disabled secret) as a [`Forbidden`] whose message says who
/// may not do what, where, with the service's words; `None` for any other failure.
pub fn permission_denied(error: &WorkerError, attempt: Attempt<'_>) -> Option<Forbidden> {
    let is_permission_403 = matches!(&error.source, FailureReason::Azure(azure)
        if azure.status() == Some(403) && !azure.is_network_forbidden()
            && !matches!(azure, AzureError::Service { inner_code: Some(inner), .. } if inner == "SecretDisabled"));
    if !is_permission_403 {
        return None;
    }
    let Attempt {
        vault,
        vault_arm_id,
        object_type,
        permission,
        target,
        who,
    } = attempt;
    let what = match &target {
        Target::Object { name, .. } => format!("{} {name}", object_type.singular()),
        Target::Vault => format!("{} in {}", object_type.title().to_lowercase(), vault.name()),
    };
    let service = match &error.source {
        FailureReason::Azure(AzureError::Service {
            message,
            inner_code,
            ..
        }) => match inner_code {
            Some(inner) => format!(" (HTTP 403, {inner}: {message})"),
            None => format!(" (HTTP 403: {message})"),
        },
        _ => String::new(),
    };
    let message = format!(
        "{who} lacks the '{permission}' permission on {what}{service}. \
         \"Why? Check my access\" shows what would grant it."
    );
    Some(Forbidden {
        vault_arm_id,
        vault_name: vault.name().to_owned(),
        operation: HighlightedOperation {
            object_type,
            permission,
        },
        target,
        message,
    })
}

/// One sentence for the person: what failed, why, and what to do where we know it.
pub fn explain(error: &WorkerError) -> String {
    let detail = match &error.source {
        FailureReason::Azure(AzureError::Service {
            status: 403,
            inner_code: Some(inner),
            ..
        }) if inner == "SecretDisabled" => {
            "this version is disabled, and Key Vault never returns the value of a disabled version; enable it first".to_owned()
        }
        FailureReason::Azure(AzureError::Service {
            status: 403,
            message,
            ..
        }) if is_firewall(error) => {
            format!("blocked by the vault's firewall (network rules): {message}")
        }
        FailureReason::Azure(AzureError::Service {
            status: 403,
            message,
            ..
        }) => format!("access denied (HTTP 403): {message}"),
        FailureReason::Azure(AzureError::Service {
            status: 404,
            message,
            ..
        }) => format!("not found (HTTP 404): {message}"),
        FailureReason::Azure(AzureError::Throttled { .. }) => {
            "the service is throttling requests (HTTP 429); wait a moment and refresh".to_owned()
        }
        other => other.to_string(),
    };
    format!("{} failed: {detail}", capitalize(&error.operation))
}
/// One word for a failure, where a sentence does not fit (the vault tree): from the error's kind.
pub fn failure_word(error: &WorkerError) -> &'static str {
    match &error.source {
        FailureReason::Azure(azure) if azure.is_network_forbidden() => "firewall",
        // No token could be had (another tenant without an account there, a sign-in that lapsed).
        FailureReason::Auth(_) | FailureReason::Azure(AzureError::Auth(_)) => "no token",
        FailureReason::Azure(azure) => match azure.status() {
            Some(403) => "denied",
            Some(404) => "not found",
            Some(429) => "throttled",
            _ => "failed",
        },
        _ => "failed",
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn is_firewall(error: &WorkerError) -> bool {
    matches!(&error.source, FailureReason::Azure(azure) if azure.is_network_forbidden())
}
