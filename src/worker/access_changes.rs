//! Carrying out an access change the person confirmed (the check's fix: an access-policy `add` or a role
//! assignment with a new GUID; a revocation: an access-policy `remove` or a role-assignment `DELETE`), and
//! waiting, for the signed-in identity, until Key Vault's data plane allows what was granted: changes take
//! time to propagate (Azure RBAC: minutes), so a read is probed every few seconds with the elapsed time
//! reported. Probes never read a value: `get` asks for a version that does not exist (404 means allowed,
//! 403 not yet), `list` asks for one page.

use std::time::{Duration, Instant};

pub use super::change_model::{AccessChange, AccessProbe};
use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use super::session::Session;
use crate::access::{AccessFix, AccessRevocation, ObjectType};
use crate::azure::AzureError;
use crate::azure::access_models::{AccessPolicyEntry, PolicyPermissions};
use crate::azure::arm_writes::PolicyUpdate;
use crate::azure::identifiers::{ObjectId, ObjectKind};
use crate::azure::models::ListKind;

fn permissions_of(object_type: ObjectType, permissions: &[String]) -> PolicyPermissions {
    let mut all = PolicyPermissions::default();
    let list = permissions.to_vec();
    match object_type {
        ObjectType::Secret => all.secrets = list,
        ObjectType::Key => all.keys = list,
        ObjectType::Certificate => all.certificates = list,
    }
    all
}

/// Carries out `change` through Resource Manager (with the vault tenant's token).
pub async fn apply_access_change(
    session: &Session,
    change: &AccessChange,
    reply: &Reply,
) -> Result<(), FailureReason> {
    match change {
        AccessChange::Grant(fix) => match fix.as_ref() {
            AccessFix::Policy {
                vault_arm_id,
                tenant_id,
                object_id,
                object_type,
                after,
                ..
            } => {
                let entry = AccessPolicyEntry {
                    tenant_id: tenant_id.clone(),
                    object_id: object_id.clone(),
                    application_id: None,
                    permissions: permissions_of(*object_type, after),
                };
                session
                    .arm
                    .update_access_policy(vault_arm_id, PolicyUpdate::Add, &entry)
                    .await?;
            }
            AccessFix::Role {
                scope,
                role_definition_id,
                principal_id,
                principal_type,
                ..
            } => {
                // A new GUID per change; the same GUID is what makes a retried PUT idempotent.
                let guid = uuid::Uuid::new_v4().to_string();
                session
                    .arm
                    .create_role_assignment(
                        scope,
                        &guid,
                        role_definition_id,
                        principal_id,
                        *principal_type,
                    )
                    .await?;
            }
        },
        AccessChange::Revoke(revocation) => match revocation.as_ref() {
            AccessRevocation::Policy {
                vault_arm_id,
                tenant_id,
                object_id,
                application_id,
                permissions,
                ..
            } => {
                let entry = AccessPolicyEntry {
                    tenant_id: tenant_id.clone(),
                    object_id: object_id.clone(),
                    application_id: application_id.clone(),
                    permissions: permissions.clone(),
                };
                session
                    .arm
                    .update_access_policy(vault_arm_id, PolicyUpdate::Remove, &entry)
                    .await?;
            }
            AccessRevocation::Role { assignment_id, .. } => {
                session.arm.delete_role_assignment(assignment_id).await?;
            }
        },
    }
    reply.send(EventKind::AccessChanged {
        summary: change.describe(),
    });
    Ok(())
}

impl AccessProbe {
    /// `Ok(true)`: allowed; `Ok(false)`: still 403.
    async fn try_once(&self, session: &Session) -> Result<bool, AzureError> {
        let kind = self.kind();
        let result = if self.permission == "list" {
            session
                .keyvault
                .list_page(&self.vault, ListKind::live(kind), None)
                .await
                .map(|_| ())
        } else {
            // A version that cannot exist: 404 once the read is allowed, 403 until then; no value is read.
            let id = ObjectId {
                vault: self.vault.clone(),
                kind,
                name: self
                    .object
                    .clone()
                    .unwrap_or_else(|| "vaultscope-access-probe".to_owned()),
                version: Some("00000000000000000000000000000000".to_owned()),
            };
            match kind {
                ObjectKind::Secret => session
                    .keyvault
                    .get_secret(&id.vault, &id.name, id.version.as_deref())
                    .await
                    .map(|_| ()),
                _ => session.keyvault.get_bundle(&id).await.map(|_| ()),
            }
        };
        match result {
            Ok(()) | Err(AzureError::Service { status: 404, .. }) => Ok(true),
            Err(AzureError::Service { status: 403, .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }
}

/// How often the data plane is asked again, and for how long at most.
const PROBE_EVERY: Duration = Duration::from_secs(2);
const PROBE_FOR: Duration = Duration::from_secs(15 * 60);

/// Probes until the data plane allows the read, reporting each try's elapsed time (`AccessProbed`).
pub async fn await_access(
    session: &Session,
    probe: &AccessProbe,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let started = Instant::now();
    loop {
        let allowed = probe.try_once(session).await?;
        reply.send(EventKind::AccessProbed {
            elapsed: started.elapsed(),
            allowed,
        });
        if allowed {
            return Ok(());
        }
        if started.elapsed() >= PROBE_FOR {
            return Err(FailureReason::Internal(format!(
                "still denied after {} minutes: the change is in place in Resource Manager, but Key Vault has not applied it yet; check again later",
                PROBE_FOR.as_secs() / 60
            )));
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
