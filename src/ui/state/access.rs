//! The Access view of the selected vault: who may do what (policies, role and deny assignments), the
//! principal search, and the last check with its evaluation. Pure data, no egui.

use super::common::{CommandSink, LoadStatus, Requests, status_of};
use super::errors::HighlightedOperation;
use super::tree::VaultArm;
use crate::access::{AccessEvaluation, ObjectType, Target, VaultAccessData};
use crate::azure::access_models::DirectoryObject;
use crate::worker::{Command, EventKind, Outcome, PrincipalRef};

/// What the person does in the Access view.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessIntent {
    /// Read the selected vault's policies and assignments again.
    Refresh,
    SearchPrincipals(String),
    SetPastedId(String),
    SetTarget {
        object_type: Option<ObjectType>,
        name: String,
    },
    Check(PrincipalRef),
    /// From a 403: check the signed-in identity for the operation that failed.
    CheckForbidden,
}

/// What an access request is for (by the vault's ARM id, or the search text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessRequest {
    VaultAccess(String),
    PrincipalSearch(String),
    AccessCheck(String),
}

/// Everything the Access view shows.
#[derive(Debug, Default)]
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
    pub(super) requests: Requests<AccessRequest>,
}

impl AccessState {
    /// Forgets everything about the previous vault (the principal search and pasted id stay).
    pub fn reset_for(&mut self, vault_arm_id: Option<String>) {
        *self = Self {
            vault_arm_id,
            search_text: std::mem::take(&mut self.search_text),
            search_results: std::mem::take(&mut self.search_results),
            search_status: std::mem::take(&mut self.search_status),
            pasted_id: std::mem::take(&mut self.pasted_id),
            requests: std::mem::take(&mut self.requests),
            ..Default::default()
        };
    }

    /// Forgets the identity's access data and stops its requests.
    pub fn reset(&mut self, sink: &mut dyn CommandSink) {
        self.requests.cancel_all(sink);
        *self = Self::default();
    }

    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
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

    /// Points the next check at `target`.
    pub fn set_target(&mut self, target: &Target) {
        match target {
            Target::Object { object_type, name } => {
                self.target_type = Some(*object_type);
                self.target_name = name.clone();
            }
            Target::Vault => {
                self.target_type = None;
                self.target_name.clear();
            }
        }
    }

    /// Applies what the person did in the view (all but checking a 403, which is the app's).
    pub fn handle(
        &mut self,
        intent: AccessIntent,
        vault: Option<VaultArm>,
        sink: &mut dyn CommandSink,
    ) {
        match intent {
            AccessIntent::Refresh => self.load(vault, sink),
            AccessIntent::SearchPrincipals(text) => self.search_principals(text, sink),
            AccessIntent::SetPastedId(text) => self.pasted_id = text,
            AccessIntent::SetTarget { object_type, name } => {
                self.target_type = object_type;
                self.target_name = name;
            }
            AccessIntent::Check(principal) => {
                self.highlight = None;
                self.check(principal, vault, sink);
            }
            AccessIntent::CheckForbidden => {}
        }
    }

    /// Another vault was selected: its access is read when the view is shown.
    pub fn vault_changed(&mut self) {
        self.requests.forget(|request| {
            matches!(
                request,
                AccessRequest::VaultAccess(_) | AccessRequest::AccessCheck(_)
            )
        });
        self.reset_for(None);
    }

    /// The view is shown for `vault`: its policies and assignments load unless they are there.
    pub fn show(&mut self, vault: Option<VaultArm>, sink: &mut dyn CommandSink) {
        let arm_id = vault.as_ref().map(|vault| vault.arm_id.clone());
        if self.vault_arm_id != arm_id {
            self.reset_for(arm_id);
        }
        if matches!(
            self.data_status,
            LoadStatus::NotLoaded | LoadStatus::Failed(_)
        ) {
            self.load(vault, sink);
        }
    }

    fn load(&mut self, vault: Option<VaultArm>, sink: &mut dyn CommandSink) {
        let Some(vault) = vault else {
            self.data_status = LoadStatus::Failed(
                "ARM does not list this vault for you, so its access policies and role assignments cannot be read.".into(),
            );
            return;
        };
        self.requests
            .forget(|request| matches!(request, AccessRequest::VaultAccess(_)));
        self.requests.send(
            sink,
            Command::LoadVaultAccess {
                arm_id: vault.arm_id.clone(),
                subscription_name: vault.subscription_name,
                tenant_id: vault.tenant_id,
            },
            AccessRequest::VaultAccess(vault.arm_id),
        );
        self.data_status = LoadStatus::Loading;
    }

    /// Checks what `principal` may do on the vault (or the target object).
    pub fn check(
        &mut self,
        principal: PrincipalRef,
        vault: Option<VaultArm>,
        sink: &mut dyn CommandSink,
    ) {
        let Some(vault) = vault else {
            self.check_status = LoadStatus::Failed(
                "ARM does not list this vault for you, so its access cannot be evaluated.".into(),
            );
            return;
        };
        self.requests
            .forget(|request| matches!(request, AccessRequest::AccessCheck(_)));
        self.requests.send(
            sink,
            Command::CheckAccess {
                arm_id: vault.arm_id.clone(),
                subscription_name: vault.subscription_name,
                tenant_id: vault.tenant_id,
                principal: principal.clone(),
                target: self.target(),
            },
            AccessRequest::AccessCheck(vault.arm_id),
        );
        self.checking = Some(principal);
        self.evaluation = None;
        self.check_status = LoadStatus::Loading;
    }

    fn search_principals(&mut self, text: String, sink: &mut dyn CommandSink) {
        self.search_text = text.clone();
        self.requests
            .forget(|request| matches!(request, AccessRequest::PrincipalSearch(_)));
        if text.trim().chars().count() < 2 {
            self.search_results.clear();
            self.search_status = LoadStatus::NotLoaded;
            return;
        }
        self.requests.send(
            sink,
            Command::SearchPrincipals {
                text: text.trim().to_owned(),
            },
            AccessRequest::PrincipalSearch(text),
        );
        self.search_status = LoadStatus::Loading;
    }

    /// Applies a progress event, unless it is for a vault or a search the view has left.
    pub fn apply_progress(&mut self, request: AccessRequest, kind: EventKind) {
        let current_vault = |arm_id: &str| self.vault_arm_id.as_deref() == Some(arm_id);
        match (request, kind) {
            (AccessRequest::VaultAccess(arm_id), EventKind::VaultAccess { data, .. })
                if current_vault(&arm_id) =>
            {
                self.data = Some(data);
            }
            (
                AccessRequest::PrincipalSearch(text),
                EventKind::PrincipalsFound { principals, .. },
            ) if self.search_text == text => {
                self.search_results = principals;
            }
            (
                AccessRequest::AccessCheck(arm_id),
                EventKind::AccessChecked {
                    data, evaluation, ..
                },
            ) if current_vault(&arm_id) => {
                self.data = Some(data);
                self.data_status = LoadStatus::Loaded;
                self.evaluation = Some(evaluation);
            }
            (request, kind) => {
                tracing::warn!(?request, event = ?std::mem::discriminant(&kind), "event does not match its request");
            }
        }
    }

    pub fn finish(&mut self, request: AccessRequest, outcome: Outcome) {
        let status = status_of(&outcome);
        match request {
            AccessRequest::VaultAccess(_) => self.data_status = status,
            AccessRequest::PrincipalSearch(_) => self.search_status = status,
            AccessRequest::AccessCheck(_) => self.check_status = status,
        }
    }
}
