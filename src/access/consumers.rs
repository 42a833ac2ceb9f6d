//! Apps that use a vault: App Service and Function apps whose settings hold Key Vault references into it,
//! the identity each reference resolves with, whether that identity may `get` the secret now (the
//! evaluator's verdict), whether the reference is pinned, and the platform's own resolution status beside
//! it. Pure: the worker reads the apps, settings and verdicts; this file joins them and says what breaks.

use std::collections::HashMap;

use super::evaluate::AccessEvaluation;
use super::fix::AccessFix;
use super::key_vault_references::KeyVaultReference;
use super::operations::ObjectType;

/// Where a reference sits in the app's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingKind {
    AppSetting,
    ConnectionString,
}

impl SettingKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::AppSetting => "app setting",
            Self::ConnectionString => "connection string",
        }
    }
}

/// The identity an app resolves its Key Vault references with (`keyVaultReferenceIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceIdentitySetting {
    /// The default: the app's system-assigned identity.
    SystemAssigned,
    /// A user-assigned identity, by its resource id.
    UserAssigned(String),
}

impl ReferenceIdentitySetting {
    /// Reads `keyVaultReferenceIdentity`: absent, empty or `SystemAssigned` is the system identity.
    pub fn from_property(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            None | Some("") => Self::SystemAssigned,
            Some(value) if value.eq_ignore_ascii_case("SystemAssigned") => Self::SystemAssigned,
            Some(value) => Self::UserAssigned(value.to_owned()),
        }
    }
}

/// A user-assigned identity attached to an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedIdentity {
    pub resource_id: String,
    pub principal_id: Option<String>,
}

/// An App Service or Function app, as far as references need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebApp {
    pub id: String,
    pub name: String,
    /// ARM `kind`: `functionapp,linux`, `app`, …
    pub kind: String,
    pub system_principal_id: Option<String>,
    pub user_assigned: Vec<AttachedIdentity>,
    pub reference_identity: ReferenceIdentitySetting,
}

impl WebApp {
    pub fn kind_label(&self) -> &'static str {
        if self.kind.to_ascii_lowercase().contains("functionapp") {
            "Function app"
        } else {
            "App Service app"
        }
    }

    /// The identity references resolve with: its words and its object id (`None`: there is none).
    pub fn reference_identity(&self) -> ConsumerIdentity {
        match &self.reference_identity {
            ReferenceIdentitySetting::SystemAssigned => ConsumerIdentity {
                label: "system-assigned identity".into(),
                principal_id: self.system_principal_id.clone(),
                missing: self.system_principal_id.is_none().then(|| {
                    "the app has no system-assigned identity and names no other in keyVaultReferenceIdentity (the platform reports MSINotEnabled)".into()
                }),
            },
            ReferenceIdentitySetting::UserAssigned(resource_id) => {
                let name = resource_id.rsplit('/').next().unwrap_or(resource_id);
                let attached = self
                    .user_assigned
                    .iter()
                    .find(|identity| identity.resource_id.eq_ignore_ascii_case(resource_id));
                ConsumerIdentity {
                    label: format!("user-assigned identity {name}"),
                    principal_id: attached.and_then(|identity| identity.principal_id.clone()),
                    missing: attached.is_none().then(|| {
                        format!("keyVaultReferenceIdentity names {name}, which is not attached to the app")
                    }),
                }
            }
        }
    }
}

/// The identity a reference resolves with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerIdentity {
    pub label: String,
    pub principal_id: Option<String>,
    /// Why there is no identity to resolve with, when there is none.
    pub missing: Option<String>,
}

/// One reference found in an app's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundReference {
    pub setting: String,
    pub setting_kind: SettingKind,
    pub reference: KeyVaultReference,
}

/// The platform's resolution status of one reference (`config/configreferences/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformStatus {
    /// `Resolved`, `AccessToKeyVaultDenied`, `SecretNotFound`, …
    pub status: String,
    pub details: Option<String>,
}

/// Whether the reference's identity may `get` the secret now, by the evaluator.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsumerAccess {
    Allowed {
        path: String,
    },
    Denied {
        why: String,
        fix: Option<Box<AccessFix>>,
    },
    /// No identity to resolve with, or its access could not be evaluated.
    Unknown {
        why: String,
    },
}

impl ConsumerAccess {
    /// From the evaluation of the identity on the secret.
    pub fn from_evaluation(evaluation: &AccessEvaluation) -> Self {
        let name = evaluation.principal_name();
        match evaluation.verdict(ObjectType::Secret, "get") {
            Some(verdict) if verdict.allowed => Self::Allowed {
                path: verdict.explanation(&name),
            },
            Some(verdict) => Self::Denied {
                why: verdict.explanation(&name),
                fix: verdict.fix.clone().map(Box::new),
            },
            None => Self::Unknown {
                why: "the check has no verdict for secret get".into(),
            },
        }
    }

    pub fn allowed(&self) -> Option<bool> {
        match self {
            Self::Allowed { .. } => Some(true),
            Self::Denied { .. } => Some(false),
            Self::Unknown { .. } => None,
        }
    }

    /// "may get it: Granted by …" / "may not get it: …" / "unknown: …".
    pub fn sentence(&self) -> String {
        match self {
            Self::Allowed { path } => format!("may get it: {path}"),
            Self::Denied { why, .. } => format!("may NOT get it: {why}"),
            Self::Unknown { why } => format!("cannot tell: {why}"),
        }
    }
}

/// One app setting or connection string that reads a secret of the vault.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretConsumer {
    pub app_id: String,
    pub app_name: String,
    pub app_kind: &'static str,
    pub setting: String,
    pub setting_kind: SettingKind,
    pub secret_name: String,
    /// `Some`: pinned to this version (it breaks when that version is disabled).
    pub version: Option<String>,
    pub identity: ConsumerIdentity,
    pub access: ConsumerAccess,
    /// `None`: the platform's status could not be read.
    pub platform: Option<PlatformStatus>,
}

/// Statuses that mean the platform could not read the secret for lack of access.
const ACCESS_FAILURES: [&str; 3] = [
    "AccessToKeyVaultDenied",
    "UnauthorizedClient",
    "MSINotEnabled",
];

impl SecretConsumer {
    /// Where Vaultscope's verdict and the platform's last resolution disagree, in words. The platform
    /// refreshes references about every 24 hours (or on a config change), so a fix or a revocation shows
    /// there late.
    pub fn disagreement(&self) -> Option<String> {
        let platform = self.platform.as_ref()?;
        let resolved = platform.status.eq_ignore_ascii_case("Resolved");
        let refused = ACCESS_FAILURES
            .iter()
            .any(|status| platform.status.eq_ignore_ascii_case(status));
        match self.access.allowed()? {
            true if refused => Some(format!(
                "the platform last reported {} although access is granted now: it re-reads references about every 24 hours (or on a config change), so a recent grant shows there late",
                platform.status
            )),
            false if resolved => Some(
                "the platform last resolved it, but access is not granted now: the app keeps the value it read until its next refresh (about every 24 hours, or on a config change or restart), then breaks".into(),
            ),
            _ => None,
        }
    }

    /// "pinned to 3f2a…" or "latest version".
    pub fn version_label(&self) -> String {
        match &self.version {
            Some(version) => format!("pinned to {version}"),
            None => "latest version".into(),
        }
    }

    /// "SecurityFunctions (Function app), app setting ApiKey".
    pub fn where_label(&self) -> String {
        format!(
            "{} ({}), {} {}",
            self.app_name,
            self.app_kind,
            self.setting_kind.label(),
            self.setting
        )
    }
}

/// An app whose settings could not be read (no `Microsoft.Web/sites/config/list/action`), still listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadApp {
    pub app_name: String,
    pub app_kind: &'static str,
    pub why: String,
}

/// Everything known about the apps that use one vault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VaultConsumers {
    pub vault_name: String,
    pub consumers: Vec<SecretConsumer>,
    /// How many apps were looked at, in how many subscriptions.
    pub apps_seen: usize,
    pub subscriptions_seen: usize,
    pub unread_apps: Vec<UnreadApp>,
    /// What could not be read (a subscription's apps, an identity's groups), in words.
    pub gaps: Vec<String>,
}

/// A change whose effect on consumers is asked for before it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RiskyChange<'a> {
    /// The secret is deleted: every reference to it breaks.
    DeleteSecret { name: &'a str },
    /// One version is disabled (`version` `None`: the latest); `latest` is the current version when known.
    DisableVersion {
        name: &'a str,
        version: Option<&'a str>,
        latest: Option<&'a str>,
    },
    /// The principal loses `get` on the vault's secrets (`secret`: only on that one).
    RevokeGet {
        principal_id: &'a str,
        secret: Option<&'a str>,
    },
}

impl VaultConsumers {
    /// The consumers of one secret (names compare case-insensitively, as Key Vault's do).
    pub fn of_secret<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a SecretConsumer> {
        self.consumers
            .iter()
            .filter(move |consumer| consumer.secret_name.eq_ignore_ascii_case(name))
    }

    /// The consumers that break if `change` is made (only those that work now, or cannot be told).
    pub fn breaking(&self, change: &RiskyChange<'_>) -> Vec<&SecretConsumer> {
        self.consumers
            .iter()
            .filter(|consumer| consumer.access.allowed() != Some(false))
            .filter(|consumer| match change {
                RiskyChange::DeleteSecret { name } => {
                    consumer.secret_name.eq_ignore_ascii_case(name)
                }
                RiskyChange::DisableVersion {
                    name,
                    version,
                    latest,
                } => {
                    let disables_latest = match (version, latest) {
                        (None, _) => true,
                        (Some(version), Some(latest)) => version.eq_ignore_ascii_case(latest),
                        (Some(_), None) => false,
                    };
                    consumer.secret_name.eq_ignore_ascii_case(name)
                        && match (&consumer.version, version.or(*latest)) {
                            (Some(pinned), Some(disabled)) => pinned.eq_ignore_ascii_case(disabled),
                            (Some(_), None) => false,
                            (None, _) => disables_latest,
                        }
                }
                RiskyChange::RevokeGet {
                    principal_id,
                    secret,
                } => {
                    consumer
                        .identity
                        .principal_id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(principal_id))
                        && secret.is_none_or(|name| consumer.secret_name.eq_ignore_ascii_case(name))
                }
            })
            .collect()
    }
}

/// Joins one app's references into this vault with the verdicts of their identities and the platform's
/// statuses (by setting name, lower-case, per kind).
pub fn consumers_of_app(
    app: &WebApp,
    references: &[FoundReference],
    evaluations: &HashMap<String, Result<AccessEvaluation, String>>,
    platform: &HashMap<(SettingKind, String), PlatformStatus>,
) -> Vec<SecretConsumer> {
    let identity = app.reference_identity();
    references
        .iter()
        .map(|found| {
            let access = match (&identity.missing, &identity.principal_id) {
                (Some(why), _) => ConsumerAccess::Unknown { why: why.clone() },
                (None, None) => ConsumerAccess::Unknown {
                    why: format!("ARM did not say the object id of the {}", identity.label),
                },
                (None, Some(principal)) => {
                    match evaluations.get(&evaluation_key(principal, &found.reference.secret_name))
                    {
                        Some(Ok(evaluation)) => ConsumerAccess::from_evaluation(evaluation),
                        Some(Err(why)) => ConsumerAccess::Unknown { why: why.clone() },
                        None => ConsumerAccess::Unknown {
                            why: "its access was not evaluated".into(),
                        },
                    }
                }
            };
            SecretConsumer {
                app_id: app.id.clone(),
                app_name: app.name.clone(),
                app_kind: app.kind_label(),
                setting: found.setting.clone(),
                setting_kind: found.setting_kind,
                secret_name: found.reference.secret_name.clone(),
                version: found.reference.version.clone(),
                identity: identity.clone(),
                access,
                platform: platform
                    .get(&(found.setting_kind, found.setting.to_ascii_lowercase()))
                    .cloned(),
            }
        })
        .collect()
}

/// The key of an identity's evaluation on one secret: `principal/secret`, lower-case.
pub fn evaluation_key(principal_id: &str, secret_name: &str) -> String {
    format!(
        "{}/{}",
        principal_id.to_ascii_lowercase(),
        secret_name.to_ascii_lowercase()
    )
}

#[cfg(test)]
#[path = "consumers_tests.rs"]
mod tests;
