//! The least-privilege fix the check names for a denied operation, as the change it is: an access-policy
//! `add` that keeps the principal's permissions of that type and adds the missing one, or a role
//! assignment of the least privileged role at the vault (or the one object). Each can show itself as
//! before → after lines and as the equivalent `az` command, written the way Microsoft's guide writes it
//! (`set-policy … --object-id`, the role by its definition id, every value single-quoted for a POSIX shell).
//! And the reverse: what revoking an access-policy entry or a role assignment takes away.

use super::operations::{ObjectType, Operation};

/// A change to who may do what, as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessFix {
    /// `PUT {vault}/accessPolicies/add` for one principal and one object type.
    Policy {
        vault_name: String,
        resource_group: Option<String>,
        vault_arm_id: String,
        tenant_id: String,
        object_id: String,
        principal_name: String,
        object_type: ObjectType,
        /// The principal's own permissions of that type now (its groups' are not changed).
        before: Vec<String>,
        after: Vec<String>,
    },
    /// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{new guid}`.
    Role {
        scope: String,
        /// The role's full definition id (`/subscriptions/…/roleDefinitions/{guid}` or `/providers/…`).
        role_definition_id: String,
        role_name: String,
        principal_id: String,
        principal_name: String,
        /// `User`, `Group` or `ServicePrincipal`, when known.
        principal_type: Option<&'static str>,
        /// The operation the check found denied.
        operation: String,
    },
}

/// A word as a POSIX shell reads it literally: bare when it is only ASCII letters (`get`, `list`), else
/// single-quoted.
pub fn shell_word(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        text.to_owned()
    } else {
        shell_quoted(text)
    }
}

/// Single quotes for a POSIX shell: nothing inside is expanded.
pub fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl AccessFix {
    /// The equivalent Azure CLI command.
    pub fn az_command(&self) -> String {
        match self {
            Self::Policy {
                vault_name,
                resource_group,
                object_id,
                object_type,
                after,
                ..
            } => {
                let mut command =
                    format!("az keyvault set-policy --name {}", shell_quoted(vault_name));
                if let Some(group) = resource_group {
                    command.push_str(&format!(" --resource-group {}", shell_quoted(group)));
                }
                command.push_str(&format!(
                    " --object-id {} --{}-permissions {}",
                    shell_quoted(object_id),
                    object_type.singular(),
                    // The permissions kept come from the vault's own policy: outside text, quoted too.
                    after
                        .iter()
                        .map(|permission| shell_word(permission))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
                command
            }
            Self::Role {
                scope,
                role_definition_id,
                principal_id,
                principal_type,
                ..
            } => {
                let role_guid = role_definition_id
                    .rsplit('/')
                    .next()
                    .unwrap_or(role_definition_id);
                let mut command = format!(
                    "az role assignment create --role {} --assignee-object-id {}",
                    shell_quoted(role_guid),
                    shell_quoted(principal_id)
                );
                if let Some(kind) = principal_type {
                    command.push_str(&format!(" --assignee-principal-type {kind}"));
                }
                command.push_str(&format!(" --scope {}", shell_quoted(scope)));
                command
            }
        }
    }

    /// The change in words, for the dialog: who, and before → after (or the role and scope).
    pub fn lines(&self) -> Vec<String> {
        match self {
            Self::Policy {
                vault_name,
                principal_name,
                object_id,
                object_type,
                before,
                after,
                ..
            } => vec![
                format!("Principal: {principal_name} (object id {object_id})"),
                format!(
                    "Access policy on {vault_name}, {} permissions:",
                    object_type.singular()
                ),
                format!(
                    "before: {}",
                    if before.is_empty() {
                        "none".to_owned()
                    } else {
                        before.join(", ")
                    }
                ),
                format!("after:  {}", after.join(", ")),
            ],
            Self::Role {
                scope,
                role_name,
                role_definition_id,
                principal_name,
                principal_id,
                operation,
                ..
            } => vec![
                format!("Principal: {principal_name} (object id {principal_id})"),
                format!("Role: {role_name} (the least privileged role that grants {operation})"),
                format!("Role definition: {role_definition_id}"),
                format!("Scope: {scope}"),
                "A new role assignment with a new id; nothing else changes.".to_owned(),
            ],
        }
    }
}

/// Taking access away, as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessRevocation {
    /// `PUT {vault}/accessPolicies/remove` with every permission of the entry: the entry goes.
    Policy {
        vault_name: String,
        vault_arm_id: String,
        tenant_id: String,
        object_id: String,
        application_id: Option<String>,
        principal_name: String,
        permissions: crate::azure::access_models::PolicyPermissions,
        /// The operations the principal holds only through this entry, in words ("secret get").
        losing: Vec<String>,
    },
    /// `DELETE` of one role assignment.
    Role {
        assignment_id: String,
        role_name: String,
        scope: String,
        principal_name: String,
        losing: Vec<String>,
    },
}

impl AccessRevocation {
    pub fn az_command(&self) -> String {
        match self {
            Self::Policy {
                vault_name,
                object_id,
                ..
            } => format!(
                "az keyvault delete-policy --name {} --object-id {}",
                shell_quoted(vault_name),
                shell_quoted(object_id)
            ),
            Self::Role { assignment_id, .. } => {
                format!(
                    "az role assignment delete --ids {}",
                    shell_quoted(assignment_id)
                )
            }
        }
    }

    pub fn lines(&self) -> Vec<String> {
        let (head, losing) = match self {
            Self::Policy {
                vault_name,
                principal_name,
                object_id,
                losing,
                ..
            } => (
                format!(
                    "Remove the access policy of {principal_name} (object id {object_id}) from {vault_name}."
                ),
                losing,
            ),
            Self::Role {
                role_name,
                scope,
                principal_name,
                losing,
                ..
            } => (
                format!("Delete the {role_name} assignment of {principal_name} at {scope}."),
                losing,
            ),
        };
        let mut lines = vec![head];
        if losing.is_empty() {
            lines.push("They keep every operation through other grants.".into());
        } else {
            lines.push(format!("They lose: {}.", losing.join(", ")));
        }
        lines
    }

    pub fn principal_name(&self) -> &str {
        match self {
            Self::Policy { principal_name, .. } | Self::Role { principal_name, .. } => {
                principal_name
            }
        }
    }
}

/// "secret get" for an operation.
pub fn operation_words(operation: Operation) -> String {
    format!("{} {}", operation.object_type.singular(), operation.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_every_value_and_name_the_role_by_its_id() {
        let role = AccessFix::Role {
            scope: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv".into(),
            role_definition_id: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6".into(),
            role_name: "Key Vault Secrets User $(rm -rf /)".into(),
            principal_id: "o1".into(),
            principal_name: "Ada".into(),
            principal_type: Some("User"),
            operation: "secret get".into(),
        };
        let command = role.az_command();
        assert_eq!(
            command,
            "az role assignment create --role '4633458b-17de-408a-b874-0445c86b69e6' --assignee-object-id 'o1' --assignee-principal-type User --scope '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv'"
        );
        assert!(!command.contains("$("));
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
        let policy = AccessFix::Policy {
            vault_name: "kv".into(),
            resource_group: Some("rg".into()),
            vault_arm_id:
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv".into(),
            tenant_id: "t".into(),
            object_id: "o1".into(),
            principal_name: "Ada".into(),
            object_type: ObjectType::Secret,
            before: vec!["list;$(touch x)".into()],
            after: vec!["get".into(), "list;$(touch x)".into()],
        };
        assert_eq!(
            policy.az_command(),
            "az keyvault set-policy --name 'kv' --resource-group 'rg' --object-id 'o1' --secret-permissions get 'list;$(touch x)'"
        );
    }
}
