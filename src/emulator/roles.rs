//! Azure RBAC role definitions for the emulator: every built-in Key Vault role with its real GUID, actions and
//! dataActions (from Microsoft's built-in roles reference, security section), the general Owner, Contributor
//! and Reader roles, and the seed's custom roles; plus the wildcard matching Azure applies to permission strings.

use serde_json::{Value, json};

use super::seed::{SeedRoleDefinition, SeedRolePermission};

/// A role definition as ARM returns it (`properties` flattened).
#[derive(Debug, Clone)]
pub struct RoleDefinition {
    /// The GUID.
    pub id: String,
    pub role_name: String,
    pub description: String,
    /// `BuiltInRole` or `CustomRole`.
    pub role_type: &'static str,
    pub assignable_scopes: Vec<String>,
    pub permissions: Vec<SeedRolePermission>,
}

impl RoleDefinition {
    pub fn custom(seed: SeedRoleDefinition) -> Self {
        Self {
            id: seed.id,
            role_name: seed.role_name,
            description: seed.description,
            role_type: "CustomRole",
            assignable_scopes: seed.assignable_scopes,
            permissions: seed.permissions,
        }
    }

    /// ARM JSON with the id under `scope` (`/subscriptions/{s}` or empty for the tenant-level form).
    pub fn to_json(&self, scope: &str) -> Value {
        json!({
            "id": format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{}", self.id),
            "name": self.id,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": self.role_name,
                "type": self.role_type,
                "description": self.description,
                "assignableScopes": self.assignable_scopes,
                "permissions": self.permissions,
                "createdOn": "2020-08-12T17:00:00.0000000Z",
                "updatedOn": "2025-02-03T10:00:00.0000000Z",
            }
        })
    }

    /// Whether this role grants the data action `action` (`dataActions − notDataActions`, per block).
    pub fn grants_data_action(&self, action: &str) -> bool {
        self.permissions.iter().any(|block| {
            block
                .data_actions
                .iter()
                .any(|pattern| permission_matches(pattern, action))
                && !block
                    .not_data_actions
                    .iter()
                    .any(|pattern| permission_matches(pattern, action))
        })
    }

    /// Whether this role grants the control-plane action `action` (`actions − notActions`, per block).
    pub fn grants_action(&self, action: &str) -> bool {
        self.permissions.iter().any(|block| {
            block
                .actions
                .iter()
                .any(|pattern| permission_matches(pattern, action))
                && !block
                    .not_actions
                    .iter()
                    .any(|pattern| permission_matches(pattern, action))
        })
    }
}

/// Azure's permission wildcard: `*` matches any run of characters, `/` included, anywhere in the pattern;
/// comparison is case-insensitive.
pub fn permission_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let action = action.to_ascii_lowercase();
    glob(pattern.as_bytes(), action.as_bytes())
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative wildcard matching with backtracking to the last star.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Whether `scope` is `target` or one of its ancestors (case-insensitive, on `/` boundaries).
pub fn scope_covers(scope: &str, target: &str) -> bool {
    // Compared in place, without lower-cased copies: this runs for every assignment of every vault a
    // listing or a Resource Graph query looks at.
    let scope = scope.trim_end_matches('/').as_bytes();
    let target = target.trim_end_matches('/').as_bytes();
    target.len() >= scope.len()
        && target[..scope.len()].eq_ignore_ascii_case(scope)
        && (target.len() == scope.len() || target[scope.len()] == b'/')
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn built_in(
    id: &str,
    role_name: &str,
    description: &str,
    actions: &[&str],
    not_actions: &[&str],
    data_actions: &[&str],
) -> RoleDefinition {
    RoleDefinition {
        id: id.to_owned(),
        role_name: role_name.to_owned(),
        description: description.to_owned(),
        role_type: "BuiltInRole",
        assignable_scopes: vec!["/".to_owned()],
        permissions: vec![SeedRolePermission {
            actions: strings(actions),
            not_actions: strings(not_actions),
            data_actions: strings(data_actions),
            not_data_actions: Vec::new(),
        }],
    }
}

/// The control-plane actions shared by the Key Vault data roles that can see the vault.
const KEY_VAULT_READ_ACTIONS: &[&str] = &[
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Support/*",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
];

pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

/// Every built-in role the emulator knows.
pub fn built_in_roles() -> Vec<RoleDefinition> {
    vec![
        built_in(
            OWNER,
            "Owner",
            "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
            &["*"],
            &[],
            &[],
        ),
        built_in(
            CONTRIBUTOR,
            "Contributor",
            "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
            &["*"],
            &[
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write",
                "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action",
            ],
            &[],
        ),
        built_in(
            READER,
            "Reader",
            "View all resources, but does not allow you to make any changes.",
            &["*/read"],
            &[],
            &[],
        ),
        built_in(
            "00482a5a-887f-4fb3-b363-3b7fe8e74483",
            "Key Vault Administrator",
            "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            KEY_VAULT_READ_ACTIONS,
            &[],
            &["Microsoft.KeyVault/vaults/*"],
        ),
        built_in(
            "21090545-7ca7-4776-b22c-e363652d74d2",
            "Key Vault Reader",
            "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            KEY_VAULT_READ_ACTIONS,
            &[],
            &[
                "Microsoft.KeyVault/vaults/*/read",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
        ),
        built_in(
            "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
            "Key Vault Secrets Officer",
            "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            KEY_VAULT_READ_ACTIONS,
            &[],
            &["Microsoft.KeyVault/vaults/secrets/*"],
        ),
        built_in(
            "4633458b-17de-408a-b874-0445c86b69e6",
            "Key Vault Secrets User",
            "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            &[],
            &[],
            &[
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
        ),
        built_in(
            "a4417e6f-fecd-4de8-b567-7b0420556985",
            "Key Vault Certificates Officer",
            "Perform any action on the certificates of a key vault, excluding reading the secret and key portions, and managing permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            KEY_VAULT_READ_ACTIONS,
            &[],
            &[
                "Microsoft.KeyVault/vaults/certificatecas/*",
                "Microsoft.KeyVault/vaults/certificates/*",
                "Microsoft.KeyVault/vaults/certificatecontacts/write",
            ],
        ),
        built_in(
            "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
            "Key Vault Certificate User",
            "Read entire certificate contents including secret and key portion. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            &[],
            &[],
            &[
                "Microsoft.KeyVault/vaults/certificates/read",
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                "Microsoft.KeyVault/vaults/keys/read",
            ],
        ),
        built_in(
            "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
            "Key Vault Crypto Officer",
            "Perform any action on the keys of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            KEY_VAULT_READ_ACTIONS,
            &[],
            &[
                "Microsoft.KeyVault/vaults/keys/*",
                "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
            ],
        ),
        built_in(
            "12338af0-0e69-4776-bea7-57ae8d297424",
            "Key Vault Crypto User",
            "Perform cryptographic operations using keys. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            &[],
            &[],
            &[
                "Microsoft.KeyVault/vaults/keys/read",
                "Microsoft.KeyVault/vaults/keys/update/action",
                "Microsoft.KeyVault/vaults/keys/backup/action",
                "Microsoft.KeyVault/vaults/keys/encrypt/action",
                "Microsoft.KeyVault/vaults/keys/decrypt/action",
                "Microsoft.KeyVault/vaults/keys/wrap/action",
                "Microsoft.KeyVault/vaults/keys/unwrap/action",
                "Microsoft.KeyVault/vaults/keys/sign/action",
                "Microsoft.KeyVault/vaults/keys/verify/action",
            ],
        ),
        built_in(
            "e147488a-f6f5-4113-8e2d-b22465e65bf6",
            "Key Vault Crypto Service Encryption User",
            "Read metadata of keys and perform wrap/unwrap operations. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            &[
                "Microsoft.EventGrid/eventSubscriptions/write",
                "Microsoft.EventGrid/eventSubscriptions/read",
                "Microsoft.EventGrid/eventSubscriptions/delete",
            ],
            &[],
            &[
                "Microsoft.KeyVault/vaults/keys/read",
                "Microsoft.KeyVault/vaults/keys/wrap/action",
                "Microsoft.KeyVault/vaults/keys/unwrap/action",
            ],
        ),
        built_in(
            "08bbd89e-9f13-488c-ac41-acfcb10c90ab",
            "Key Vault Crypto Service Release User",
            "Release keys. Only works for key vaults that use the 'Azure role-based access control' permission model.",
            &[],
            &[],
            &["Microsoft.KeyVault/vaults/keys/release/action"],
        ),
        built_in(
            "8b54135c-b56d-4d72-a534-26097cfdc8d8",
            "Key Vault Data Access Administrator",
            "Manage access to Azure Key Vault by adding or removing role assignments for the Key Vault Administrator, Key Vault Certificates Officer, Key Vault Crypto Officer, Key Vault Crypto Service Encryption User, Key Vault Crypto User, Key Vault Reader, Key Vault Secrets Officer, or Key Vault Secrets User roles. Includes an ABAC condition to constrain role assignments.",
            &[
                "Microsoft.Authorization/roleAssignments/write",
                "Microsoft.Authorization/roleAssignments/delete",
                "Microsoft.Authorization/*/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Resources/subscriptions/read",
                "Microsoft.Management/managementGroups/read",
                "Microsoft.Support/*",
                "Microsoft.KeyVault/vaults/*/read",
            ],
            &[],
            &[],
        ),
        built_in(
            "f25e0fa2-a7c8-4377-a976-54943a77a395",
            "Key Vault Contributor",
            "Manage key vaults, but does not allow you to assign roles in Azure RBAC, and does not allow you to access secrets, keys, or certificates.",
            &[
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.KeyVault/*",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Support/*",
            ],
            &[
                "Microsoft.KeyVault/locations/deletedVaults/purge/action",
                "Microsoft.KeyVault/hsmPools/*",
                "Microsoft.KeyVault/managedHsms/*",
            ],
            &[],
        ),
        built_in(
            "de139f84-1756-47ae-9be6-808fbbe84772",
            "Website Contributor",
            "Manage websites, but not web plans. Does not allow you to assign roles in Azure RBAC.",
            &[
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Insights/components/*",
                "Microsoft.ResourceHealth/availabilityStatuses/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Support/*",
                "Microsoft.Web/certificates/*",
                "Microsoft.Web/listSitesAssignedToHostName/read",
                "Microsoft.Web/serverFarms/join/action",
                "Microsoft.Web/serverFarms/read",
                "Microsoft.Web/sites/*",
            ],
            &[],
            &[],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_covers_itself_and_what_is_below_it_on_segment_boundaries_in_any_case() {
        let vault = "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/kv";
        assert!(scope_covers("/subscriptions/s1", vault));
        assert!(scope_covers("/SUBSCRIPTIONS/S1/resourcegroups/rg/", vault));
        assert!(scope_covers(vault, &format!("{vault}/")));
        assert!(scope_covers("/", vault), "the root covers everything");
        assert!(
            !scope_covers("/subscriptions/s", vault),
            "not half a segment"
        );
        assert!(
            !scope_covers(&format!("{vault}/secrets/a"), vault),
            "not upwards"
        );
        assert!(!scope_covers("/subscriptions/s2", vault));
    }

    #[test]
    fn wildcards_match_like_azure() {
        assert!(permission_matches(
            "Microsoft.KeyVault/vaults/*",
            "microsoft.keyvault/vaults/secrets/getSecret/action"
        ));
        assert!(permission_matches(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/keys/read"
        ));
        assert!(!permission_matches(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/read"
        ));
        assert!(permission_matches("*", "anything/at/all"));
        assert!(permission_matches(
            "*/read",
            "Microsoft.KeyVault/vaults/read"
        ));
        assert!(!permission_matches(
            "Microsoft.KeyVault/vaults/secrets/*",
            "Microsoft.KeyVault/vaults/keys/read"
        ));
    }

    #[test]
    fn not_data_actions_subtract() {
        let role = RoleDefinition::custom(SeedRoleDefinition {
            id: "x".into(),
            role_name: "r".into(),
            description: String::new(),
            assignable_scopes: vec![],
            permissions: vec![SeedRolePermission {
                data_actions: vec!["Microsoft.KeyVault/vaults/secrets/*".into()],
                not_data_actions: vec!["Microsoft.KeyVault/vaults/secrets/purge/action".into()],
                ..Default::default()
            }],
        });
        assert!(role.grants_data_action("Microsoft.KeyVault/vaults/secrets/getSecret/action"));
        assert!(!role.grants_data_action("Microsoft.KeyVault/vaults/secrets/purge/action"));
    }

    #[test]
    fn scopes_cover_their_descendants_only() {
        let vault = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv";
        assert!(scope_covers("/subscriptions/s", vault));
        assert!(scope_covers("/subscriptions/S/resourcegroups/RG", vault));
        assert!(scope_covers(vault, vault));
        assert!(scope_covers(vault, &format!("{vault}/secrets/a")));
        assert!(!scope_covers(&format!("{vault}/secrets/a"), vault));
        assert!(!scope_covers(&format!("{vault}2"), vault));
        assert!(!scope_covers("/subscriptions/s/resourceGroups/r", vault));
    }

    #[test]
    fn built_in_guids_are_unique() {
        let roles = built_in_roles();
        let mut ids: Vec<_> = roles.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), roles.len());
        assert_eq!(roles.len(), 16);
    }
}
