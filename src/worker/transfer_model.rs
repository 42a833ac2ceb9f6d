//! What moving data through files and between vaults is made of, shared by the commands, the worker and
//! the UI: a write plan (import or copy) with each row's fate, the comparison of two versions, and the
//! handle a password travels in. Types only.

use std::sync::Arc;

use secrecy::SecretString;

use super::change_model::DraftHandle;
use crate::azure::identifiers::{ObjectKind, VaultUri};
use crate::azure::models::ObjectItem;
use crate::transfer::compare::ValueVerdict;
use crate::transfer::export::ExportFormat;
use crate::transfer::plan::WriteFate;

/// A secret (a PFX password) carried by a command; equal only to itself, never printed.
#[derive(Clone)]
pub struct SecretHandle(pub Arc<SecretString>);

impl PartialEq for SecretHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for SecretHandle {}

impl std::fmt::Debug for SecretHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHandle(<redacted>)")
    }
}

/// One row of a write plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedWrite {
    /// Where it came from: "line 4", "row 12", "kv-dev".
    pub origin: String,
    pub name: String,
    /// The name in the file, when it was changed to fit Key Vault's rule (`DB_PASSWORD` → `DB-PASSWORD`).
    pub source_name: Option<String>,
    pub fate: WriteFate,
    /// What to write, oldest first (one draft, or every enabled version of a copied secret); empty for an
    /// invalid row.
    pub drafts: Vec<DraftHandle>,
}

/// An import or a copy, planned against its target before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct WritePlan {
    /// "prod.env", "copy from kv-dev".
    pub source: String,
    pub target: VaultUri,
    pub rows: Vec<PlannedWrite>,
    /// What could not be learnt about the target (its deleted list unreadable, …).
    pub notes: Vec<String>,
}

/// Two versions of one secret compared.
#[derive(Clone)]
pub struct VersionComparison {
    pub left_version: String,
    pub right_version: String,
    /// Lines like "tags: env=dev → env=prod".
    pub differences: Vec<String>,
    pub value: ValueVerdict,
    /// Both values, only when the person asked to reveal them.
    pub revealed: Option<(SecretString, SecretString)>,
}

impl std::fmt::Debug for VersionComparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionComparison")
            .field("left_version", &self.left_version)
            .field("right_version", &self.right_version)
            .field("differences", &self.differences)
            .field("value", &self.value)
            .field("revealed", &self.revealed.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub vault: VaultUri,
    pub kind: ObjectKind,
    /// The rows as the list shows them (filtered, marked, or all).
    pub items: Vec<ObjectItem>,
    pub format: ExportFormat,
    pub include_values: bool,
}
