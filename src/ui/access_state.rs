//! The state of the Access view for the selected vault: who may do what (policies, role and deny
//! assignments), the principal search, and the last check with its evaluation. Pure data, no egui.

use crate::access::{AccessEvaluation, ObjectType, Target, VaultAccessData};
use crate::azure::access_models::DirectoryObject;
use crate::worker::PrincipalRef;

use super::state::LoadStatus;

/// Which view fills the centre of the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CentreView {
    #[default]
    Secrets,
    Access,
}

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

/// Everything the Access view shows.
#[derive(Debug, Clone, Default)]
pub struct AccessState {
    /// The vault the data below belongs to.
    pub vault_arm_id: Option<String>,
    pub data: Option<Box<VaultAccessData>>,
    pub data_status: LoadStatus,
    pub search_text: String,
    pub search_results: Vec<DirectoryObject>,
    pub search_status: LoadStatus,
    /// The object id or client id field.
    pub pasted_id: String,
    /// Which object type the check targets when `target_name` is set.
    pub target_type: Option<ObjectType>,
    pub target_name: String,
    pub checking: Option<PrincipalRef>,
    pub evaluation: Option<Box<AccessEvaluation>>,
    pub check_status: LoadStatus,
    pub highlight: Option<HighlightedOperation>,
}

impl AccessState {
    /// Forgets everything about the previous vault.
    pub fn reset_for(&mut self, vault_arm_id: Option<String>) {
        *self = Self {
            vault_arm_id,
            search_text: std::mem::take(&mut self.search_text),
            search_results: std::mem::take(&mut self.search_results),
            search_status: std::mem::take(&mut self.search_status),
            pasted_id: std::mem::take(&mut self.pasted_id),
            ..Default::default()
        };
    }

    /// The target of the next check: one object when a type and name are set, else the vault.
    pub fn target(&self) -> Target {
        match self.target_type {
            Some(object_type) if !self.target_name.trim().is_empty() => Target::Object {
                object_type,
                name: self.target_name.trim().to_owned(),
            },
            _ => Target::Vault,
        }
    }
}
