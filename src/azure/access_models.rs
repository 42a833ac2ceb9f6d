//! Typed models of who-may-do-what data: vault access policies, ARM role assignments, role definitions and
//! deny assignments (`Microsoft.Authorization`, api-version 2022-04-01), and Graph directory objects.

use serde::Deserialize;

/// One access policy of an access-policy vault (`properties.accessPolicies[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicyEntry {
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default)]
    pub object_id: String,
    /// Set for a compound identity (a user or group acting through this application only).
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub permissions: PolicyPermissions,
}

/// Permission names per object type, as the service spells them (case varies: `get`, `Get`, `all`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PolicyPermissions {
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub certificates: Vec<String>,
    #[serde(default)]
    pub storage: Vec<String>,
}

/// A role assignment (`GET {scope}/providers/Microsoft.Authorization/roleAssignments`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleAssignment {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub properties: RoleAssignmentProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    /// Full id: `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
    pub role_definition_id: String,
    pub principal_id: String,
    #[serde(default)]
    pub principal_type: Option<String>,
    pub scope: String,
    /// ABAC condition; an assignment with a condition is reported, not assumed to apply.
    #[serde(default)]
    pub condition: Option<String>,
}

impl RoleAssignment {
    /// The role definition's GUID (last segment of its id), lower case.
    pub fn role_guid(&self) -> String {
        super::resource_id::resource_name(&self.properties.role_definition_id).to_ascii_lowercase()
    }
}

/// A role definition (`GET {scope}/providers/Microsoft.Authorization/roleDefinitions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleDefinition {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub properties: RoleDefinitionProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    pub role_name: String,
    /// `BuiltInRole` or `CustomRole`.
    #[serde(default, rename = "type")]
    pub role_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<RolePermission>,
    /// Where the role may be assigned (`/` or a subscription for built-in roles; a custom role's own).
    #[serde(default)]
    pub assignable_scopes: Vec<String>,
}

/// One permission block of a role or deny assignment; every list is case-insensitive globs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolePermission {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

impl RoleDefinition {
    /// The GUID (last segment of the id), lower case.
    pub fn guid(&self) -> String {
        super::resource_id::resource_name(&self.id).to_ascii_lowercase()
    }
}

/// A deny assignment (`GET {scope}/providers/Microsoft.Authorization/denyAssignments`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DenyAssignment {
    pub id: String,
    pub properties: DenyAssignmentProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DenyAssignmentProperties {
    #[serde(default)]
    pub deny_assignment_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<RolePermission>,
    pub scope: String,
    #[serde(default)]
    pub do_not_apply_to_child_scopes: bool,
    #[serde(default)]
    pub principals: Vec<DenyPrincipal>,
    #[serde(default)]
    pub exclude_principals: Vec<DenyPrincipal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DenyPrincipal {
    pub id: String,
    #[serde(default, rename = "type")]
    pub principal_type: Option<String>,
}

/// The principal id a deny assignment uses for "everyone" (type `SystemDefined`).
pub const EVERYONE_PRINCIPAL_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A user, group or service principal as Graph returns it (`getByIds`, `$search`, `$filter`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObject {
    pub id: String,
    #[serde(default, rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    /// `Application` or `ManagedIdentity` on service principals.
    #[serde(default)]
    pub service_principal_type: Option<String>,
}

/// What kind of principal an object id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalKind {
    User,
    Group,
    ServicePrincipal,
    ManagedIdentity,
    Unknown,
}

impl PrincipalKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::ServicePrincipal => "service principal",
            Self::ManagedIdentity => "managed identity",
            Self::Unknown => "principal",
        }
    }

    /// The `--assignee-principal-type` of `az role assignment create`.
    pub fn az_principal_type(self) -> Option<&'static str> {
        match self {
            Self::User => Some("User"),
            Self::Group => Some("Group"),
            Self::ServicePrincipal | Self::ManagedIdentity => Some("ServicePrincipal"),
            Self::Unknown => None,
        }
    }

    /// From a role assignment's `principalType`.
    pub fn from_assignment_type(principal_type: Option<&str>) -> Self {
        match principal_type.map(str::to_ascii_lowercase).as_deref() {
            Some("user") => Self::User,
            Some("group") | Some("foreigngroup") => Self::Group,
            Some("serviceprincipal") => Self::ServicePrincipal,
            _ => Self::Unknown,
        }
    }
}

impl DirectoryObject {
    pub fn kind(&self) -> PrincipalKind {
        match self.odata_type.as_deref() {
            Some("#microsoft.graph.user") => PrincipalKind::User,
            Some("#microsoft.graph.group") => PrincipalKind::Group,
            Some("#microsoft.graph.servicePrincipal") => {
                // UNVERIFIED in the protocol reference; servicePrincipalType "ManagedIdentity" is what Graph
                // documents for managed identities and what the Azure CLI's `az ad sp show` prints.
                if self
                    .service_principal_type
                    .as_deref()
                    .is_some_and(|kind| kind.eq_ignore_ascii_case("ManagedIdentity"))
                {
                    PrincipalKind::ManagedIdentity
                } else {
                    PrincipalKind::ServicePrincipal
                }
            }
            _ => PrincipalKind::Unknown,
        }
    }

    /// The best name to show: display name, else UPN, else the id.
    /// The name to show: display name, else UPN, else the object id; bidi controls, zero-width and
    /// control characters a directory name may hold are shown escaped (`\u{202E}`), never drawn.
    pub fn name(&self) -> String {
        let name = self
            .display_name
            .as_deref()
            .or(self.user_principal_name.as_deref())
            .unwrap_or(&self.id);
        crate::untrusted_text::escape_deceptive(name).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_name_with_a_bidi_override_is_shown_escaped() {
        let object: DirectoryObject = serde_json::from_value(serde_json::json!({
            "id": "o1",
            "displayName": "Admins\u{202E}snimda"
        }))
        .expect("object");
        assert_eq!(object.name(), "Admins\\u{202E}snimda");
    }

    #[test]
    fn parses_assignment_definition_and_deny() {
        let assignment: RoleAssignment = serde_json::from_str(
            r#"{"id":"/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a1","name":"a1",
            "properties":{"roleDefinitionId":"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4633458B-17de-408a-b874-0445c86b69e6",
            "principalId":"p","principalType":"Group","scope":"/subscriptions/s","condition":null}}"#,
        )
        .expect("assignment");
        assert_eq!(
            assignment.role_guid(),
            "4633458b-17de-408a-b874-0445c86b69e6"
        );
        let role: RoleDefinition = serde_json::from_str(
            r#"{"id":"/providers/Microsoft.Authorization/roleDefinitions/abc","name":"abc","properties":{"roleName":"R","type":"CustomRole",
            "permissions":[{"actions":[],"notActions":[],"dataActions":["x/*"],"notDataActions":["x/delete"]}]}}"#,
        )
        .expect("role");
        assert_eq!(role.guid(), "abc");
        assert_eq!(
            role.properties.permissions[0].not_data_actions,
            ["x/delete"]
        );
        let deny: DenyAssignment = serde_json::from_str(
            r#"{"id":"d","properties":{"denyAssignmentName":"n","scope":"/subscriptions/s","permissions":[{"dataActions":["*"]}],
            "principals":[{"id":"00000000-0000-0000-0000-000000000000","type":"SystemDefined"}]}}"#,
        )
        .expect("deny");
        assert_eq!(deny.properties.principals[0].id, EVERYONE_PRINCIPAL_ID);
        assert!(!deny.properties.do_not_apply_to_child_scopes);
    }

    #[test]
    fn directory_object_kinds() {
        let cases = [
            (
                r##"{"id":"1","@odata.type":"#microsoft.graph.user"}"##,
                PrincipalKind::User,
            ),
            (
                r##"{"id":"1","@odata.type":"#microsoft.graph.group"}"##,
                PrincipalKind::Group,
            ),
            (
                r##"{"id":"1","@odata.type":"#microsoft.graph.servicePrincipal","servicePrincipalType":"ManagedIdentity"}"##,
                PrincipalKind::ManagedIdentity,
            ),
            (
                r##"{"id":"1","@odata.type":"#microsoft.graph.servicePrincipal","servicePrincipalType":"Application"}"##,
                PrincipalKind::ServicePrincipal,
            ),
            (r#"{"id":"1"}"#, PrincipalKind::Unknown),
        ];
        for (json, expect) in cases {
            let object: DirectoryObject = serde_json::from_str(json).expect(json);
            assert_eq!(object.kind(), expect, "{json}");
        }
    }
}
