//! "Used by": the apps whose settings reference the selected vault's secrets (loaded once per vault, on
//! the first secret's details or the first risky confirmation), and the consumers a delete, a disable or a
//! revocation would break. Pure data, no egui.

use super::common::{CommandSink, LoadStatus, Requests, status_of};
use super::tree::VaultArm;
use crate::access::consumers::{RiskyChange, SecretConsumer, VaultConsumers};
use crate::azure::identifiers::VaultUri;
use crate::worker::{Command, EventKind, Outcome};

/// What the person (or a panel that needs the answer) asks of "Used by".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumersIntent {
    /// Load the selected vault's consumers unless they are loaded or loading.
    Load,
    /// Load them again (the apps or their settings changed).
    Refresh,
}

/// The one request kind: the consumers of a vault (its ARM id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumersRequest(pub String);

#[derive(Debug, Default)]
pub struct ConsumersState {
    /// The vault the answer is for.
    pub vault_arm_id: Option<String>,
    pub answer: Option<Box<VaultConsumers>>,
    pub status: LoadStatus,
    pub(super) requests: Requests<ConsumersRequest>,
}

impl ConsumersState {
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
        intent: ConsumersIntent,
        vault: Option<VaultArm>,
        vault_uri: Option<VaultUri>,
        sink: &mut dyn CommandSink,
    ) {
        let (Some(vault), Some(uri)) = (vault, vault_uri) else {
            self.status = LoadStatus::Failed(
                "ARM does not list this vault for you, so the apps that use it cannot be found."
                    .into(),
            );
            return;
        };
        let same_vault = self.vault_arm_id.as_deref() == Some(vault.arm_id.as_str());
        if intent == ConsumersIntent::Load
            && same_vault
            && matches!(self.status, LoadStatus::Loading | LoadStatus::Loaded)
        {
            return;
        }
        self.requests.forget(|_| true);
        self.requests.send(
            sink,
            Command::FindConsumers {
                arm_id: vault.arm_id.clone(),
                vault: uri,
                subscription_name: vault.subscription_name,
                tenant_id: vault.tenant_id,
            },
            ConsumersRequest(vault.arm_id.clone()),
        );
        self.vault_arm_id = Some(vault.arm_id);
        self.status = LoadStatus::Loading;
    }

    pub fn apply_progress(&mut self, request: ConsumersRequest, kind: EventKind) {
        match kind {
            EventKind::Consumers { arm_id, consumers }
                if request.0 == arm_id && self.vault_arm_id.as_deref() == Some(arm_id.as_str()) =>
            {
                self.answer = Some(consumers);
            }
            kind => {
                tracing::warn!(event = ?std::mem::discriminant(&kind), "event does not match its request");
            }
        }
    }

    pub fn finish(&mut self, _request: ConsumersRequest, outcome: Outcome) {
        self.status = status_of(&outcome);
    }

    /// The loaded answer, when it is for `arm_id`.
    pub fn for_vault(&self, arm_id: Option<&str>) -> Option<&VaultConsumers> {
        self.answer.as_deref().filter(|answer| {
            arm_id.is_some()
                && self.vault_arm_id.as_deref() == arm_id
                && !answer.vault_name.is_empty()
        })
    }

    /// What `changes` would break, in lines for a confirmation: `None` while the apps are not known yet.
    pub fn warnings(
        &self,
        arm_id: Option<&str>,
        changes: &[RiskyChange<'_>],
    ) -> Option<Vec<String>> {
        let answer = self.for_vault(arm_id)?;
        let mut seen: Vec<&SecretConsumer> = Vec::new();
        for change in changes {
            for consumer in answer.breaking(change) {
                if !seen.iter().any(|known| std::ptr::eq(*known, consumer)) {
                    seen.push(consumer);
                }
            }
        }
        let mut lines: Vec<String> = seen
            .iter()
            .map(|consumer| {
                format!(
                    "{} reads {} ({}) with its {}",
                    consumer.where_label(),
                    consumer.secret_name,
                    consumer.version_label(),
                    consumer.identity.label
                )
            })
            .collect();
        if !answer.unread_apps.is_empty() {
            lines.push(format!(
                "{} more app(s) could not be checked (their settings cannot be read): {}",
                answer.unread_apps.len(),
                answer
                    .unread_apps
                    .iter()
                    .map(|app| app.app_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Some(lines)
    }
}

/// The changes among `changes` that can break an app reading a secret: a secret's deletion, a secret
/// version's disabling (`latest`: the current version of that secret, when the versions are loaded).
pub fn risky_changes<'a>(
    changes: &'a [crate::worker::changes::Change],
    latest: Option<&'a str>,
) -> Vec<RiskyChange<'a>> {
    use crate::azure::identifiers::ObjectKind;
    use crate::worker::changes::Change;
    changes
        .iter()
        .filter_map(|change| match change {
            Change::Delete {
                kind: ObjectKind::Secret,
                name,
                ..
            } => Some(RiskyChange::DeleteSecret { name }),
            Change::UpdateVersion { id, update }
                if id.kind == ObjectKind::Secret && update.enabled == Some(false) =>
            {
                Some(RiskyChange::DisableVersion {
                    name: &id.name,
                    version: id.version.as_deref(),
                    latest,
                })
            }
            _ => None,
        })
        .collect()
}

/// What a revocation takes from apps: `get` on secrets, when the principal loses it (`checked`: the object
/// id of the principal the Access view checked, whose grant a role revocation removes).
pub fn revocation_risk<'a>(
    revocation: &'a crate::access::AccessRevocation,
    checked: Option<&'a str>,
) -> Option<RiskyChange<'a>> {
    use crate::access::AccessRevocation;
    let (principal_id, losing, secret) = match revocation {
        AccessRevocation::Policy {
            object_id, losing, ..
        } => (object_id.as_str(), losing, None),
        AccessRevocation::Role { losing, scope, .. } => {
            let secret = scope
                .to_ascii_lowercase()
                .rfind("/secrets/")
                .map(|at| &scope[at + "/secrets/".len()..]);
            (checked?, losing, secret)
        }
    };
    let get = crate::access::ObjectType::Secret
        .operations()
        .iter()
        .find(|operation| operation.name == "get")
        .map(|operation| crate::access::fix::operation_words(*operation))?;
    losing.contains(&get).then_some(RiskyChange::RevokeGet {
        principal_id,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::AccessRevocation;

    #[test]
    fn a_revocation_risks_apps_only_when_get_on_secrets_goes() {
        let policy = |losing: &[&str]| AccessRevocation::Policy {
            vault_name: "kv".into(),
            vault_arm_id: "/x".into(),
            tenant_id: "t".into(),
            object_id: "oid".into(),
            application_id: None,
            principal_name: "app".into(),
            permissions: Default::default(),
            losing: losing.iter().map(|words| (*words).to_owned()).collect(),
        };
        assert_eq!(
            revocation_risk(&policy(&["secret list", "secret get"]), None),
            Some(RiskyChange::RevokeGet {
                principal_id: "oid",
                secret: None
            })
        );
        assert_eq!(revocation_risk(&policy(&["secret list"]), None), None);
        let role = AccessRevocation::Role {
            assignment_id: "/a".into(),
            role_name: "Key Vault Secrets User".into(),
            scope: "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv/secrets/db".into(),
            principal_name: "app".into(),
            losing: vec!["secret get".into()],
        };
        assert_eq!(
            revocation_risk(&role, Some("checked")),
            Some(RiskyChange::RevokeGet {
                principal_id: "checked",
                secret: Some("db")
            })
        );
        assert_eq!(revocation_risk(&role, None), None);
    }
}
