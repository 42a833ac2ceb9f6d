//! Changing access from the check: "Apply fix" for a denied operation and "Revoke" for one of the
//! principal's own grants. A dialog shows the change as it will be made (principal, permissions before →
//! after or role and scope, what they lose, the `az` equivalent); after it is made the check runs again, and
//! for the signed-in identity the granted read is probed until Key Vault's data plane allows it, with the
//! elapsed time (propagation takes minutes in Azure). Pure data, no egui.

use std::time::Duration;

use super::common::{CommandSink, Requests, Shared};
use super::errors::explain;
use crate::access::{
    AccessEvaluation, AccessFix, AccessRevocation, Grant, Holder, Operation, VaultAccessData,
};
use crate::worker::access_changes::{AccessChange, AccessProbe};
use crate::worker::{Command, EventKind, Outcome};

#[derive(Debug, Clone, PartialEq)]
pub enum AccessChangesIntent {
    /// Apply the check's fix for `operation`.
    ApplyFix {
        fix: Box<AccessFix>,
        operation: Operation,
    },
    /// Take one of the checked principal's own grants away.
    Revoke(Box<AccessRevocation>),
    Confirm,
    Close,
    StopWaiting,
}

/// The open access-change dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessChangeDialog {
    pub change: AccessChange,
    pub title: String,
    pub lines: Vec<String>,
    pub az: String,
    pub sending: bool,
    pub error: Option<String>,
    /// What to probe afterwards (a read granted to the signed-in identity).
    probe: Option<AccessProbe>,
}

/// Waiting for the data plane to allow a granted read.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessWait {
    /// "secret get on kv-security-fn".
    pub what: String,
    pub elapsed: Duration,
    pub allowed: bool,
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AccessChangeRequest {
    Apply {
        change: AccessChange,
        probe: Option<AccessProbe>,
    },
    Await,
}

/// What the rest of the window does after a change was made.
pub struct Applied {
    pub change: AccessChange,
    /// `Ok`: made; `Err`: the sentence why not.
    pub result: Result<(), String>,
}

#[derive(Debug, Default)]
pub struct AccessChangesState {
    pub dialog: Option<AccessChangeDialog>,
    pub waiting: Option<AccessWait>,
    pub(super) requests: Requests<AccessChangeRequest>,
}

impl AccessChangesState {
    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// Leaving the identity: the dialog closes, a wait stops (a change under way is let go, not aborted).
    pub fn reset(&mut self, sink: &mut dyn CommandSink) {
        for id in self
            .requests
            .ids(|request| matches!(request, AccessChangeRequest::Await))
        {
            sink.cancel(id);
        }
        self.requests.stop_waiting(|_| true);
        *self = Self::default();
    }

    /// Opens the dialog for the fix of `operation`; `probe` when the principal is the signed-in identity.
    pub fn ask_fix(&mut self, fix: AccessFix, operation: Operation, probe: Option<AccessProbe>) {
        let title = format!(
            "Apply the fix for {}",
            crate::access::fix::operation_words(operation)
        );
        let mut lines = fix.lines();
        if probe.is_some() {
            lines.push(
                "Afterwards Vaultscope retries the operation until Key Vault allows it (changes take time to reach the data plane).".into(),
            );
        }
        self.dialog = Some(AccessChangeDialog {
            az: fix.az_command(),
            change: AccessChange::Grant(Box::new(fix)),
            title,
            lines,
            sending: false,
            error: None,
            probe,
        });
    }

    pub fn ask_revoke(&mut self, revocation: AccessRevocation) {
        self.dialog = Some(AccessChangeDialog {
            title: format!("Revoke access of {}", revocation.principal_name()),
            lines: revocation.lines(),
            az: revocation.az_command(),
            change: AccessChange::Revoke(Box::new(revocation)),
            sending: false,
            error: None,
            probe: None,
        });
    }

    pub fn confirm(&mut self, tenant_id: Option<String>, sink: &mut dyn CommandSink) {
        let Some(dialog) = &mut self.dialog else {
            return;
        };
        if dialog.sending {
            return;
        }
        dialog.sending = true;
        dialog.error = None;
        let request = AccessChangeRequest::Apply {
            change: dialog.change.clone(),
            probe: dialog.probe.clone(),
        };
        self.requests.send(
            sink,
            Command::ChangeAccess {
                change: dialog.change.clone(),
                tenant_id,
            },
            request,
        );
    }

    pub fn close(&mut self) {
        if self.dialog.as_ref().is_some_and(|dialog| !dialog.sending) {
            self.dialog = None;
        }
    }

    pub fn stop_waiting(&mut self, sink: &mut dyn CommandSink) {
        for id in self
            .requests
            .ids(|request| matches!(request, AccessChangeRequest::Await))
        {
            sink.cancel(id);
        }
        self.requests
            .forget(|request| matches!(request, AccessChangeRequest::Await));
        self.waiting = None;
    }

    pub fn apply_progress(&mut self, request: &AccessChangeRequest, kind: EventKind) {
        if let (AccessChangeRequest::Await, EventKind::AccessProbed { elapsed, allowed }) =
            (request, kind)
            && let Some(waiting) = &mut self.waiting
        {
            waiting.elapsed = elapsed;
            waiting.allowed = allowed;
        }
    }

    /// A request ended; for a change, what the rest of the window should do about it.
    pub fn finish(
        &mut self,
        request: AccessChangeRequest,
        outcome: Outcome,
        shared: &mut Shared,
        sink: &mut dyn CommandSink,
    ) -> Option<Applied> {
        match request {
            AccessChangeRequest::Apply { change, probe } => {
                let result = match &outcome {
                    Outcome::Done => Ok(()),
                    Outcome::Failed(error) => Err(explain(error)),
                    Outcome::Cancelled => Err("cancelled before an answer".to_owned()),
                };
                match &result {
                    Ok(()) => {
                        self.dialog = None;
                        shared.set_notice(
                            format!(
                                "Done: {}. Key Vault can take a few minutes to apply an access change.",
                                change.describe()
                            ),
                            false,
                        );
                        if let Some(probe) = probe {
                            self.stop_waiting(sink);
                            self.waiting = Some(AccessWait {
                                what: format!(
                                    "{} {} on {}",
                                    probe.object_type.singular(),
                                    probe.permission,
                                    probe.vault.name()
                                ),
                                elapsed: Duration::ZERO,
                                allowed: false,
                                failed: None,
                            });
                            self.requests.send(
                                sink,
                                Command::AwaitAccess { probe },
                                AccessChangeRequest::Await,
                            );
                        }
                    }
                    Err(sentence) => {
                        if let Some(dialog) = &mut self.dialog {
                            dialog.sending = false;
                            dialog.error = Some(sentence.clone());
                        }
                    }
                }
                Some(Applied { change, result })
            }
            AccessChangeRequest::Await => {
                if let (Some(waiting), Outcome::Failed(error)) = (&mut self.waiting, &outcome) {
                    waiting.failed = Some(explain(error));
                }
                None
            }
        }
    }
}

/// The operations `evaluation` allows only through grants `is_this` picks: what revoking them takes away.
pub fn losing(evaluation: &AccessEvaluation, is_this: impl Fn(&Grant) -> bool) -> Vec<String> {
    evaluation
        .verdicts
        .iter()
        .filter(|verdict| {
            verdict.allowed && !verdict.grants.is_empty() && verdict.grants.iter().all(&is_this)
        })
        .map(|verdict| crate::access::fix::operation_words(verdict.operation))
        .collect()
}

/// The checked principal's own access-policy entry (not a group's), as a revocation.
pub fn policy_revocation(
    data: &VaultAccessData,
    evaluation: &AccessEvaluation,
) -> Option<AccessRevocation> {
    let principal = &evaluation.principal;
    let entry = data.access_policies.iter().find(|entry| {
        entry.object_id.eq_ignore_ascii_case(&principal.id)
            && entry.application_id.as_deref().unwrap_or("").is_empty()
    })?;
    Some(AccessRevocation::Policy {
        vault_name: data.vault_name.clone(),
        vault_arm_id: data.arm_id.clone(),
        tenant_id: entry.tenant_id.clone(),
        object_id: entry.object_id.clone(),
        application_id: None,
        principal_name: principal.name(),
        permissions: entry.permissions.clone(),
        losing: losing(
            evaluation,
            |grant| matches!(grant, Grant::Policy(policy) if policy.holder == Holder::Direct),
        ),
    })
}

/// The checked principal's own role assignments that grant something here, as revocations.
pub fn role_revocations(evaluation: &AccessEvaluation) -> Vec<AccessRevocation> {
    let mut seen: Vec<String> = Vec::new();
    let mut revocations = Vec::new();
    for verdict in &evaluation.verdicts {
        for grant in &verdict.grants {
            let Grant::Role(role) = grant else {
                continue;
            };
            if role.holder != Holder::Direct || seen.contains(&role.assignment_id) {
                continue;
            }
            seen.push(role.assignment_id.clone());
            let assignment_id = role.assignment_id.clone();
            revocations.push(AccessRevocation::Role {
                assignment_id: assignment_id.clone(),
                role_name: role.role_name.clone(),
                scope: role.level.describe(),
                principal_name: evaluation.principal.name(),
                losing: losing(evaluation, |grant| {
                    matches!(grant, Grant::Role(other) if other.assignment_id == assignment_id)
                }),
            });
        }
    }
    revocations
}
