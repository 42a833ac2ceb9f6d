//! The "Who can…" part of the Access view: the operation asked about (for the vault or the check's target
//! object), the answer with groups folded or unfolded, and the export of the list. Pure data, no egui.

use std::collections::BTreeSet;

use super::common::{CommandSink, LoadStatus, Requests, status_of};
use super::tree::VaultArm;
use crate::access::{ObjectType, Operation, Target, WhoCan};
use crate::azure::identifiers::VaultUri;
use crate::pipeline_check::WhoCanReport;
use crate::worker::{Command, EventKind, Outcome};

/// What the person does in the Who-can part.
#[derive(Debug, Clone, PartialEq)]
pub enum WhoCanIntent {
    /// Ask who may perform `operation` on `target`.
    Ask {
        target: Target,
        operation: Operation,
    },
    /// Show or hide a granting group's members among the principals.
    ToggleGroup(String),
    /// Save the answer as CSV or JSON through the file dialog.
    Export { json: bool },
}

/// What a who-can request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhoCanRequest {
    /// The answer for a vault (its ARM id).
    Answer(String),
    /// Saving the exported list.
    Save,
}

#[derive(Debug, Default)]
pub struct WhoCanState {
    pub vault_arm_id: Option<String>,
    pub answer: Option<Box<WhoCan>>,
    pub status: LoadStatus,
    /// Groups whose members are listed one by one (the others are folded into one row).
    pub unfolded: BTreeSet<String>,
    /// The last export: saved, cancelled or failed.
    pub export_status: LoadStatus,
    pub(super) requests: Requests<WhoCanRequest>,
}

impl WhoCanState {
    /// The operations a person picks from for `target` (its type's, or secrets' for the vault).
    pub fn operations_for(target: &Target) -> &'static [Operation] {
        match target {
            Target::Object { object_type, .. } => object_type.operations(),
            Target::Vault => ObjectType::Secret.operations(),
        }
    }

    /// Another vault: the answer goes, its request is forgotten.
    pub fn vault_changed(&mut self) {
        self.requests.forget(|_| true);
        let requests = std::mem::take(&mut self.requests);
        *self = Self {
            requests,
            ..Self::default()
        };
    }

    pub fn reset(&mut self, sink: &mut dyn CommandSink) {
        self.requests.cancel_all(sink);
        *self = Self::default();
    }

    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    pub fn handle(
        &mut self,
        intent: WhoCanIntent,
        vault: Option<VaultArm>,
        vault_uri: Option<VaultUri>,
        sink: &mut dyn CommandSink,
    ) {
        match intent {
            WhoCanIntent::Ask { target, operation } => {
                let Some(vault) = vault else {
                    self.status = LoadStatus::Failed(
                        "ARM does not list this vault for you, so who may access it cannot be read."
                            .into(),
                    );
                    return;
                };
                self.requests
                    .forget(|request| matches!(request, WhoCanRequest::Answer(_)));
                self.requests.send(
                    sink,
                    Command::WhoCan {
                        arm_id: vault.arm_id.clone(),
                        subscription_name: vault.subscription_name,
                        tenant_id: vault.tenant_id,
                        target,
                        operation: Some(operation),
                    },
                    WhoCanRequest::Answer(vault.arm_id.clone()),
                );
                self.vault_arm_id = Some(vault.arm_id);
                self.answer = None;
                self.unfolded.clear();
                self.status = LoadStatus::Loading;
            }
            WhoCanIntent::ToggleGroup(id) => {
                if !self.unfolded.remove(&id) {
                    self.unfolded.insert(id);
                }
            }
            WhoCanIntent::Export { json } => self.export(json, vault_uri, sink),
        }
    }

    fn export(&mut self, json: bool, vault_uri: Option<VaultUri>, sink: &mut dyn CommandSink) {
        let (Some(answer), Some(arm_id), Some(vault)) =
            (self.answer.as_deref(), self.vault_arm_id.clone(), vault_uri)
        else {
            return;
        };
        let report = WhoCanReport {
            vault,
            arm_id,
            answer: answer.clone(),
        };
        let (contents, extension) = if json {
            (
                format!(
                    "{:#}\n",
                    crate::pipeline_check::who_can_report::to_json(&report)
                ),
                "json",
            )
        } else {
            match crate::pipeline_check::who_can_report::to_csv(&report) {
                Ok(text) => (text, "csv"),
                Err(error) => {
                    tracing::warn!(%error, "who-can CSV could not be written");
                    return;
                }
            }
        };
        let name = crate::azure::resource_id::resource_name(&report.arm_id);
        self.requests.send(
            sink,
            Command::SaveTextFile {
                title: "Save who can access this vault".into(),
                suggested_name: format!("who-can-{name}.{extension}"),
                contents,
            },
            WhoCanRequest::Save,
        );
        self.export_status = LoadStatus::Loading;
    }

    pub fn apply_progress(&mut self, request: WhoCanRequest, kind: EventKind) {
        match kind {
            EventKind::WhoCan { arm_id, answer, .. }
                if self.vault_arm_id.as_deref() == Some(arm_id.as_str())
                    && request == WhoCanRequest::Answer(arm_id.clone()) =>
            {
                self.answer = Some(answer);
            }
            kind => {
                tracing::warn!(event = ?std::mem::discriminant(&kind), "event does not match its request");
            }
        }
    }

    pub fn finish(&mut self, request: WhoCanRequest, outcome: Outcome) {
        match request {
            WhoCanRequest::Answer(_) => self.status = status_of(&outcome),
            WhoCanRequest::Save => self.export_status = status_of(&outcome),
        }
    }
}
