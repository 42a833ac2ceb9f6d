//! What a change is, shared by the commands, the worker that carries changes out and the UI that shows
//! them: a data-plane change and its answer, a bulk run's cancel flag and item outcomes, an access change
//! and the read probed after one. Types only (no I/O), so the protocol can name them without importing the
//! modules that carry them out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::access::{AccessFix, AccessRevocation, ObjectType};
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::keyvault_writes::{
    CertificateDraft, CertificateOperation, KeyDraft, SecretDraft, VersionUpdate,
};
use crate::azure::models::ObjectItem;

/// A secret draft carried by a command. Commands compare equal when they carry the same draft (the value is
/// never compared, printed or copied).
#[derive(Clone)]
pub struct DraftHandle(pub Arc<SecretDraft>);

impl PartialEq for DraftHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for DraftHandle {}

impl std::fmt::Debug for DraftHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One change the person confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new secret, or a new version of one (`PUT /secrets/{name}`).
    SetSecret {
        vault: VaultUri,
        name: String,
        draft: DraftHandle,
    },
    /// A new version carrying the value, content type and tags of `from` (a versioned id); the value is read
    /// by the worker and goes straight back to the service.
    RollBackSecret {
        from: ObjectId,
    },
    /// PATCH of one version (`id.version`) or of the latest (`None`).
    UpdateVersion {
        id: ObjectId,
        update: VersionUpdate,
    },
    Delete {
        vault: VaultUri,
        kind: ObjectKind,
        name: String,
    },
    Recover {
        vault: VaultUri,
        kind: ObjectKind,
        name: String,
    },
    Purge {
        vault: VaultUri,
        kind: ObjectKind,
        name: String,
    },
    CreateKey {
        vault: VaultUri,
        name: String,
        draft: KeyDraft,
    },
    RotateKey {
        vault: VaultUri,
        name: String,
    },
    CreateCertificate {
        vault: VaultUri,
        name: String,
        draft: CertificateDraft,
    },
    /// Several versions written in order (a copy of every enabled version), or one after recovering the
    /// deleted secret that holds the name (an import's conflict).
    SetSecretVersions {
        vault: VaultUri,
        name: String,
        drafts: Vec<DraftHandle>,
        recover_first: bool,
    },
}

impl Change {
    pub fn vault(&self) -> &VaultUri {
        match self {
            Self::SetSecret { vault, .. }
            | Self::Delete { vault, .. }
            | Self::Recover { vault, .. }
            | Self::Purge { vault, .. }
            | Self::CreateKey { vault, .. }
            | Self::RotateKey { vault, .. }
            | Self::CreateCertificate { vault, .. }
            | Self::SetSecretVersions { vault, .. } => vault,
            Self::RollBackSecret { from: id } | Self::UpdateVersion { id, .. } => &id.vault,
        }
    }

    pub fn kind(&self) -> ObjectKind {
        match self {
            Self::SetSecret { .. }
            | Self::RollBackSecret { .. }
            | Self::SetSecretVersions { .. } => ObjectKind::Secret,
            Self::UpdateVersion { id, .. } => id.kind,
            Self::Delete { kind, .. } | Self::Recover { kind, .. } | Self::Purge { kind, .. } => {
                *kind
            }
            Self::CreateKey { .. } | Self::RotateKey { .. } => ObjectKind::Key,
            Self::CreateCertificate { .. } => ObjectKind::Certificate,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::SetSecret { name, .. }
            | Self::Delete { name, .. }
            | Self::Recover { name, .. }
            | Self::Purge { name, .. }
            | Self::CreateKey { name, .. }
            | Self::RotateKey { name, .. }
            | Self::CreateCertificate { name, .. }
            | Self::SetSecretVersions { name, .. } => name,
            Self::RollBackSecret { from: id } | Self::UpdateVersion { id, .. } => &id.name,
        }
    }

    /// The action for the change log and messages ("delete", "new version", …).
    pub fn action(&self) -> String {
        match self {
            Self::SetSecret { .. } => "set (new version)".into(),
            Self::RollBackSecret { from } => format!(
                "roll back to version {}",
                from.version.as_deref().unwrap_or("?")
            ),
            Self::UpdateVersion { id, update } => {
                let what = match update.enabled {
                    Some(true) if update.tags.is_none() => "enable",
                    Some(false) if update.tags.is_none() => "disable",
                    None if update.tags.is_some() && update.not_before.is_none() => "change tags",
                    _ => "edit attributes",
                };
                match &id.version {
                    Some(version) => format!("{what} (version {version})"),
                    None => what.to_owned(),
                }
            }
            Self::Delete { .. } => "delete".into(),
            Self::Recover { .. } => "recover".into(),
            Self::Purge { .. } => "purge".into(),
            Self::CreateKey { draft, .. } => format!("create key ({})", draft.shape.label()),
            Self::RotateKey { .. } => "rotate (new version)".into(),
            Self::CreateCertificate { .. } => "create self-signed certificate".into(),
            Self::SetSecretVersions {
                drafts,
                recover_first,
                ..
            } => {
                let versions = if drafts.len() == 1 {
                    "set (new version)".to_owned()
                } else {
                    format!("set {} versions in order", drafts.len())
                };
                if *recover_first {
                    format!("recover, then {versions}")
                } else {
                    versions
                }
            }
        }
    }

    /// Whether sending it twice is the same as sending it once (then the pipeline may retry it).
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self,
            Self::UpdateVersion { .. } | Self::Delete { .. } | Self::Purge { .. }
        )
    }

    /// "delete secret db-password in kv-prod".
    pub fn describe(&self) -> String {
        format!(
            "{} {} {} in {}",
            self.action(),
            self.kind().singular(),
            self.name(),
            self.vault().name()
        )
    }
}

/// What the service holds after a change.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeEffect {
    /// The object is live with this newest state (a versioned row).
    Live(ObjectItem),
    /// A version other than the newest changed (the row of that version).
    VersionChanged(ObjectItem),
    /// The object went to the deleted list.
    Deleted(ObjectItem),
    /// The deleted object is gone for good.
    Purged,
    /// A certificate's creation is under way.
    Pending(CertificateOperation),
}

/// The answer to one change, from the service.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeResult {
    pub vault: VaultUri,
    pub kind: ObjectKind,
    pub name: String,
    pub effect: ChangeEffect,
    /// Set when the write's own answer was lost: what a re-read found.
    pub reread: Option<String>,
}

/// The UI's way to stop a bulk run between items. Equal only to itself.
#[derive(Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl PartialEq for CancelFlag {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for CancelFlag {}

impl std::fmt::Debug for CancelFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CancelFlag({})", self.is_cancelled())
    }
}

/// How one item of a bulk run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkItemOutcome {
    Done(Box<ChangeResult>),
    /// The service refused or the call failed: the service's reason.
    Failed(String),
    /// Cancelled before it started: nothing was sent for it.
    NotStarted,
}

/// A confirmed access change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessChange {
    Grant(Box<AccessFix>),
    Revoke(Box<AccessRevocation>),
}

impl AccessChange {
    /// "grant secret set to Ada (access policy on kv1)".
    pub fn describe(&self) -> String {
        match self {
            Self::Grant(fix) => match fix.as_ref() {
                AccessFix::Policy {
                    vault_name,
                    principal_name,
                    object_type,
                    after,
                    ..
                } => format!(
                    "set the {} permissions of {principal_name} on {vault_name} to {}",
                    object_type.singular(),
                    after.join(", ")
                ),
                AccessFix::Role {
                    role_name,
                    principal_name,
                    scope,
                    ..
                } => format!(
                    "assign {role_name} to {principal_name} at {}",
                    crate::azure::resource_id::resource_name(scope)
                ),
            },
            Self::Revoke(revocation) => match revocation.as_ref() {
                AccessRevocation::Policy {
                    vault_name,
                    principal_name,
                    ..
                } => format!("remove the access policy of {principal_name} from {vault_name}"),
                AccessRevocation::Role {
                    role_name,
                    principal_name,
                    scope,
                    ..
                } => format!(
                    "delete the {role_name} assignment of {principal_name} at {}",
                    crate::azure::resource_id::resource_name(scope)
                ),
            },
        }
    }

    /// The vault the change is about (its name), for the change log.
    pub fn vault_name(&self) -> String {
        match self {
            Self::Grant(fix) => match fix.as_ref() {
                AccessFix::Policy { vault_name, .. } => vault_name.clone(),
                AccessFix::Role { scope, .. } => vault_of_scope(scope),
            },
            Self::Revoke(revocation) => match revocation.as_ref() {
                AccessRevocation::Policy { vault_name, .. } => vault_name.clone(),
                AccessRevocation::Role { scope, .. } => vault_of_scope(scope),
            },
        }
    }
}

/// The vault segment of a scope at or below a vault, else the scope's last name.
fn vault_of_scope(scope: &str) -> String {
    let lower = scope.to_ascii_lowercase();
    match lower.find("/vaults/") {
        Some(at) => scope[at + 8..]
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        None => crate::azure::resource_id::resource_name(scope).to_owned(),
    }
}

/// A read the data plane can be asked about without reading a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessProbe {
    pub vault: VaultUri,
    pub object_type: ObjectType,
    /// `get` or `list`.
    pub permission: String,
    /// The object the check was for (`None`: the vault).
    pub object: Option<String>,
}

impl AccessProbe {
    /// A probe for `permission`, when that operation can be tried without changing or reading anything.
    pub fn for_operation(
        vault: VaultUri,
        object_type: ObjectType,
        permission: &str,
        object: Option<String>,
    ) -> Option<Self> {
        matches!(permission, "get" | "list").then(|| Self {
            vault,
            object_type,
            permission: permission.to_owned(),
            object,
        })
    }

    pub fn kind(&self) -> ObjectKind {
        match self.object_type {
            ObjectType::Secret => ObjectKind::Secret,
            ObjectType::Key => ObjectKind::Key,
            ObjectType::Certificate => ObjectKind::Certificate,
        }
    }
}
