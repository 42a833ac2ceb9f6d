//! Access changes through Resource Manager: an access-policy `add` or `remove` on a vault (what
//! `az keyvault set-policy` and `delete-policy` send), and a role assignment created with a new GUID or
//! deleted. All four are idempotent (the writes reference, §1.6 and §3.2–3.3: the same policy change or the
//! same assignment GUID and body give the same result), so the pipeline may send them again.

use reqwest::Method;
use serde_json::{Value, json};

use super::access_models::{AccessPolicyEntry, RoleAssignment};
use super::arm::{AUTHORIZATION_API_VERSION, ArmClient, KEYVAULT_ARM_API_VERSION};
use super::error::{AzureError, Service};
use super::pipeline::Outgoing;

/// Which way an access-policy change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyUpdate {
    /// Unions the permissions into the principal's entry (or adds one).
    Add,
    /// Takes the listed permissions away; an entry left with none goes.
    Remove,
}

impl PolicyUpdate {
    fn path(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
        }
    }
}

fn policy_json(entry: &AccessPolicyEntry) -> Value {
    let mut policy = json!({
        "tenantId": entry.tenant_id,
        "objectId": entry.object_id,
        "permissions": {
            "keys": entry.permissions.keys,
            "secrets": entry.permissions.secrets,
            "certificates": entry.permissions.certificates,
            "storage": entry.permissions.storage,
        },
    });
    if let Some(application) = entry.application_id.as_deref().filter(|a| !a.is_empty()) {
        policy["applicationId"] = json!(application);
    }
    policy
}

impl ArmClient {
    /// `PUT {vault}/accessPolicies/{add|remove}`: the vault's access policies after the change.
    pub async fn update_access_policy(
        &self,
        vault_arm_id: &str,
        update: PolicyUpdate,
        entry: &AccessPolicyEntry,
    ) -> Result<Vec<AccessPolicyEntry>, AzureError> {
        let url = self.url(
            &format!(
                "{}/accessPolicies/{}",
                vault_arm_id.trim_end_matches('/'),
                update.path()
            ),
            KEYVAULT_ARM_API_VERSION,
        )?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let body = json!({"properties": {"accessPolicies": [policy_json(entry)]}});
        let received = self
            .send_write(Outgoing::new(
                Method::PUT,
                url,
                Some(bytes::Bytes::from(body.to_string())),
                true,
            ))
            .await?;
        let answer: Value = received.json(Service::ResourceManager, &host)?;
        let policies = answer
            .pointer("/properties/accessPolicies")
            .cloned()
            .unwrap_or_else(|| json!([]));
        serde_json::from_value(policies).map_err(|error| AzureError::InvalidResponse {
            host,
            detail: crate::untrusted_text::json_error_detail(&error),
        })
    }

    /// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`.
    pub async fn create_role_assignment(
        &self,
        scope: &str,
        assignment_guid: &str,
        role_definition_id: &str,
        principal_id: &str,
        principal_type: Option<&str>,
    ) -> Result<RoleAssignment, AzureError> {
        let url = self.url(
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{assignment_guid}",
                scope.trim_end_matches('/')
            ),
            AUTHORIZATION_API_VERSION,
        )?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut properties = json!({
            "roleDefinitionId": role_definition_id,
            "principalId": principal_id,
        });
        if let Some(kind) = principal_type {
            properties["principalType"] = json!(kind);
        }
        let body = json!({ "properties": properties });
        let received = self
            .send_write(Outgoing::new(
                Method::PUT,
                url,
                Some(bytes::Bytes::from(body.to_string())),
                true,
            ))
            .await?;
        received.json(Service::ResourceManager, &host)
    }

    /// `DELETE {assignment id}`: the assignment that was deleted (`None`: there was none).
    pub async fn delete_role_assignment(
        &self,
        assignment_id: &str,
    ) -> Result<Option<RoleAssignment>, AzureError> {
        let url = self.url(assignment_id, AUTHORIZATION_API_VERSION)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let received = self
            .send_write(Outgoing::new(Method::DELETE, url, None, true))
            .await?;
        if received.status == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        received.json(Service::ResourceManager, &host).map(Some)
    }
}
