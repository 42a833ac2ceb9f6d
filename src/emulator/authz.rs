//! The emulator's own enforcement of Key Vault data-plane authorization for the token's principal: the
//! vault firewall (`networkAcls`, `publicNetworkAccess`), then access policies (access-policy vaults) or RBAC
//! role assignments (RBAC vaults), groups included, with Key Vault-shaped 403 errors naming what is missing.
//!
//! This is deliberately an independent implementation from `crate::access` (the explorer's evaluator), so the
//! integration tests that compare the two mean something.

use std::collections::BTreeSet;
use std::net::IpAddr;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::responses::keyvault_error;
use super::roles::{permission_matches, scope_covers};
use super::state::{CloudState, ObjectKind, VaultState};

/// Who is calling, from the verified token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub object_id: String,
    pub tenant_id: String,
    pub app_id: Option<String>,
}

impl Caller {
    /// `appid=…;oid=…;iss=…`, as Key Vault names the caller in its errors.
    fn describe(&self) -> String {
        format!(
            "appid={};oid={};iss=https://sts.windows.net/{}/",
            self.app_id.as_deref().unwrap_or(""),
            self.object_id,
            self.tenant_id
        )
    }
}

/// A data-plane operation, as far as authorization is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    List,
    Get,
    /// Set a secret; create a key or certificate.
    Create,
    Import,
    Update,
    Delete,
    Recover,
    Backup,
    Restore,
    Purge,
    ListDeleted,
    GetDeleted,
    /// Keys: a new version of the same shape.
    Rotate,
}

/// What an operation needs: the access-policy permission and the RBAC data action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub permission: &'static str,
    pub data_action: String,
}

pub fn requirement(kind: ObjectKind, operation: Operation) -> Requirement {
    use Operation::*;
    let permission = match (kind, operation) {
        (_, List | ListDeleted) => "list",
        (_, Get | GetDeleted) => "get",
        (ObjectKind::Secret, Create | Update) => "set",
        (_, Create) => "create",
        (_, Import) => "import",
        (_, Update) => "update",
        (_, Delete) => "delete",
        (_, Recover) => "recover",
        (_, Backup) => "backup",
        (_, Restore) => "restore",
        (_, Purge) => "purge",
        (_, Rotate) => "rotate",
    };
    let prefix = "Microsoft.KeyVault/vaults";
    let data_action = match (kind, operation) {
        (ObjectKind::Secret, List | ListDeleted | GetDeleted) => {
            format!("{prefix}/secrets/readMetadata/action")
        }
        (ObjectKind::Secret, Get) => format!("{prefix}/secrets/getSecret/action"),
        (ObjectKind::Secret, Create | Import) => format!("{prefix}/secrets/setSecret/action"),
        (ObjectKind::Secret, Update) => format!("{prefix}/secrets/update/action"),
        (_, List | Get | ListDeleted | GetDeleted) => {
            format!("{prefix}/{}/read", kind.collection())
        }
        (_, Delete) => format!("{prefix}/{}/delete", kind.collection()),
        (_, op) => format!(
            "{prefix}/{}/{}/action",
            kind.collection(),
            match op {
                Create => "create",
                Import => "import",
                Update => "update",
                Recover => "recover",
                Backup => "backup",
                Restore => "restore",
                Rotate => "rotate",
                _ => "purge",
            }
        ),
    };
    Requirement {
        permission,
        data_action,
    }
}

/// The firewall check: a vault with `publicNetworkAccess: Disabled`, or `networkAcls.defaultAction: Deny`
/// without an IP rule covering `client`, refuses the call.
pub fn check_firewall(vault: &VaultState, caller: &Caller, client: IpAddr) -> Result<(), Response> {
    let public_disabled = vault.public_network_access.eq_ignore_ascii_case("disabled");
    let acls = vault.network_acls.as_ref();
    let default_deny = acls
        .and_then(|acls| acls.get("defaultAction"))
        .and_then(Value::as_str)
        .is_some_and(|action| action.eq_ignore_ascii_case("deny"));
    if !public_disabled && !default_deny {
        return Ok(());
    }
    let allowed_by_rule = !public_disabled
        && acls
            .and_then(|acls| acls.get("ipRules"))
            .and_then(Value::as_array)
            .is_some_and(|rules| {
                rules
                    .iter()
                    .filter_map(|rule| rule.get("value").and_then(Value::as_str))
                    .any(|rule| ip_in_rule(client, rule))
            });
    if allowed_by_rule {
        return Ok(());
    }
    Err(keyvault_error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "Client address is not authorized and caller is not a trusted service.\r\nClient address: {client}\r\nCaller: {}\r\nVault: {};location={}",
            caller.describe(),
            vault.name,
            vault.location
        ),
        Some("ForbiddenByFirewall"),
    ))
}

/// `rule` is an IPv4 address or CIDR range (`203.0.113.0/24`).
fn ip_in_rule(client: IpAddr, rule: &str) -> bool {
    let (address, bits) = match rule.split_once('/') {
        Some((address, bits)) => (address, bits.parse::<u32>().unwrap_or(32)),
        None => (rule, 32),
    };
    match (client, address.parse::<IpAddr>()) {
        (IpAddr::V4(client), Ok(IpAddr::V4(network))) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(client) & mask == u32::from(network) & mask
        }
        _ => false,
    }
}

/// Authorizes `operation` on `kind` (on the object `name`, when there is one) for `caller`.
pub fn authorize(
    cloud: &CloudState,
    vault: &VaultState,
    caller: &Caller,
    kind: ObjectKind,
    operation: Operation,
    name: Option<&str>,
) -> Result<(), Response> {
    let requirement = requirement(kind, operation);
    let mut identities: BTreeSet<String> = cloud.transitive_groups(&caller.object_id);
    identities.insert(caller.object_id.to_ascii_lowercase());
    if vault.enable_rbac_authorization
        && let Some(deny) = blocking_deny(cloud, vault, &identities, &requirement, kind, name)
    {
        return Err(keyvault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Caller is not authorized to perform action on resource.\r\nCaller: {}\r\nAction: '{}'\r\nResource: '{}'\r\nAssignment: (not found)\r\nDenyAssignmentId: {}/providers/Microsoft.Authorization/denyAssignments/{}\r\nDecisionReason: 'DeniedWithDenyAssignment' \r\nVault: {};location={}\r\n",
                caller.describe(),
                requirement.data_action,
                target_resource(vault, kind, name).to_ascii_lowercase(),
                deny.scope,
                deny.id,
                vault.name,
                vault.location
            ),
            Some("ForbiddenByRbac"),
        ));
    }
    let allowed = if vault.enable_rbac_authorization {
        rbac_allows(cloud, vault, &identities, &requirement, kind, name)
    } else {
        access_policies_allow(
            cloud,
            vault,
            caller,
            &identities,
            kind,
            requirement.permission,
        )
    };
    if allowed {
        return Ok(());
    }
    Err(if vault.enable_rbac_authorization {
        let resource = match name {
            Some(name) => format!("{}/{}/{name}", vault.arm_id(), kind.collection()),
            None => vault.arm_id(),
        };
        keyvault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: {}\r\nAction: '{}'\r\nResource: '{}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: {};location={}\r\n",
                caller.describe(),
                requirement.data_action,
                resource.to_ascii_lowercase(),
                vault.name,
                vault.location
            ),
            Some("ForbiddenByRbac"),
        )
    } else {
        // UNVERIFIED inner code; "AccessDenied" is what production logs show for access-policy denials.
        keyvault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "The user, group or application '{}' does not have {} {} permission on key vault '{};location={}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                caller.describe(),
                kind.collection(),
                requirement.permission,
                vault.name,
                vault.location
            ),
            Some("AccessDenied"),
        )
    })
}

fn target_resource(vault: &VaultState, kind: ObjectKind, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{}/{}/{name}", vault.arm_id(), kind.collection()),
        None => vault.arm_id(),
    }
}

/// The first deny assignment that blocks the action for one of `identities` (or everyone), unless one of
/// them is excluded. Deny assignments win over any role assignment.
fn blocking_deny<'a>(
    cloud: &'a CloudState,
    vault: &VaultState,
    identities: &BTreeSet<String>,
    requirement: &Requirement,
    kind: ObjectKind,
    name: Option<&str>,
) -> Option<&'a super::seed::SeedDenyAssignment> {
    let target = target_resource(vault, kind, name);
    cloud.deny_assignments.iter().find(|deny| {
        let applies_to_caller = deny.principals.iter().any(|principal| {
            principal.id == "00000000-0000-0000-0000-000000000000"
                || identities.contains(&principal.id.to_ascii_lowercase())
        });
        let excluded = deny
            .exclude_principals
            .iter()
            .any(|principal| identities.contains(&principal.id.to_ascii_lowercase()));
        let in_scope = if deny.do_not_apply_to_child_scopes {
            deny.scope
                .trim_end_matches('/')
                .eq_ignore_ascii_case(target.trim_end_matches('/'))
        } else {
            scope_covers(&deny.scope, &target)
        };
        let blocks = deny
            .data_actions
            .iter()
            .any(|pattern| permission_matches(pattern, &requirement.data_action))
            && !deny
                .not_data_actions
                .iter()
                .any(|pattern| permission_matches(pattern, &requirement.data_action));
        applies_to_caller && !excluded && in_scope && blocks
    })
}

fn rbac_allows(
    cloud: &CloudState,
    vault: &VaultState,
    identities: &BTreeSet<String>,
    requirement: &Requirement,
    kind: ObjectKind,
    name: Option<&str>,
) -> bool {
    let target = match name {
        Some(name) => format!("{}/{}/{name}", vault.arm_id(), kind.collection()),
        None => vault.arm_id(),
    };
    // What the data plane sees: changes made within the propagation time are not there yet.
    let assignments = cloud
        .access_history
        .role_assignments(&cloud.role_assignments);
    assignments.iter().any(|assignment| {
        identities.contains(&assignment.principal_id.to_ascii_lowercase())
            && scope_covers(&assignment.scope, &target)
            && cloud
                .role_definition(&assignment.role_definition_id)
                .is_some_and(|role| role.grants_data_action(&requirement.data_action))
    })
}

fn access_policies_allow(
    cloud: &CloudState,
    vault: &VaultState,
    caller: &Caller,
    identities: &BTreeSet<String>,
    kind: ObjectKind,
    permission: &str,
) -> bool {
    let policies = cloud
        .access_history
        .policies(&vault.name, &vault.access_policies);
    policies.iter().any(|policy| {
        let object_id = policy
            .get("objectId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let tenant_matches = policy
            .get("tenantId")
            .and_then(Value::as_str)
            .is_none_or(|tenant| tenant.eq_ignore_ascii_case(&caller.tenant_id));
        // A compound identity (objectId + applicationId) applies only when the call comes through that app.
        let application_matches = match policy.get("applicationId").and_then(Value::as_str) {
            None | Some("") => true,
            Some(app) => caller
                .app_id
                .as_deref()
                .is_some_and(|caller_app| caller_app.eq_ignore_ascii_case(app)),
        };
        tenant_matches
            && application_matches
            && identities.contains(&object_id)
            && policy
                .pointer(&format!("/permissions/{}", kind.collection()))
                .and_then(Value::as_array)
                .is_some_and(|granted| {
                    granted.iter().filter_map(Value::as_str).any(|granted| {
                        granted.eq_ignore_ascii_case(permission)
                            || granted.eq_ignore_ascii_case("all")
                    })
                })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::seed::{DEMO_SEED_JSON, parse_seed};

    fn demo() -> CloudState {
        CloudState::from_seed(&parse_seed(DEMO_SEED_JSON).expect("seed"), 1_800_000_000)
            .expect("state")
    }

    fn caller(cloud: &CloudState, upn: &str) -> Caller {
        let user = cloud.user_principal(upn).expect("user");
        Caller {
            object_id: user.object_id,
            tenant_id: user.tenant_id,
            app_id: None,
        }
    }

    #[test]
    fn requirements_follow_the_published_mapping() {
        let get = requirement(ObjectKind::Secret, Operation::Get);
        assert_eq!(get.permission, "get");
        assert_eq!(
            get.data_action,
            "Microsoft.KeyVault/vaults/secrets/getSecret/action"
        );
        assert_eq!(
            requirement(ObjectKind::Key, Operation::List).data_action,
            "Microsoft.KeyVault/vaults/keys/read"
        );
        assert_eq!(
            requirement(ObjectKind::Certificate, Operation::Purge).data_action,
            "Microsoft.KeyVault/vaults/certificates/purge/action"
        );
        assert_eq!(
            requirement(ObjectKind::Secret, Operation::Create).permission,
            "set"
        );
        assert_eq!(
            requirement(ObjectKind::Secret, Operation::Delete).data_action,
            "Microsoft.KeyVault/vaults/secrets/delete"
        );
    }

    #[test]
    fn rbac_through_nested_groups_and_object_scope() {
        let cloud = demo();
        let orders = &cloud.vaults["kv-prod-orders"];
        let ada = caller(&cloud, "ada@contoso.demo");
        // Secrets Officer via Platform Operators at the resource group.
        assert!(
            authorize(
                &cloud,
                orders,
                &ada,
                ObjectKind::Secret,
                Operation::Create,
                Some("x")
            )
            .is_ok()
        );
        // Ben: Ops On-Call ⊂ Platform Operators, so the same.
        let ben = caller(&cloud, "ben@contoso.demo");
        assert!(
            authorize(
                &cloud,
                orders,
                &ben,
                ObjectKind::Secret,
                Operation::Get,
                Some("x")
            )
            .is_ok()
        );
        // Dan: only "Prod Secret Readers" via "Payments Developers": Secrets User on kv-prod-orders.
        let dan = caller(&cloud, "dan@contoso.demo");
        assert!(
            authorize(
                &cloud,
                orders,
                &dan,
                ObjectKind::Secret,
                Operation::Get,
                Some("x")
            )
            .is_ok()
        );
        assert!(
            authorize(
                &cloud,
                orders,
                &dan,
                ObjectKind::Secret,
                Operation::Create,
                Some("x")
            )
            .is_err()
        );
        // Ben has Secrets User on one secret of kv-prod-payments only.
        let payments = &cloud.vaults["kv-prod-payments"];
        assert!(
            authorize(
                &cloud,
                payments,
                &dan,
                ObjectKind::Secret,
                Operation::Get,
                Some("payments-svc-FeatureFlags")
            )
            .is_err()
        );
        assert!(
            authorize(
                &cloud,
                payments,
                &ben,
                ObjectKind::Secret,
                Operation::Get,
                Some("payments-svc-FeatureFlags")
            )
            .is_ok()
        );
    }

    #[test]
    fn access_policies_with_groups_and_all() {
        let cloud = demo();
        let web = &cloud.vaults["kv-prod-web"];
        let ben = caller(&cloud, "ben@contoso.demo");
        // Ops On-Call has get/list on kv-prod-web.
        assert!(
            authorize(
                &cloud,
                web,
                &ben,
                ObjectKind::Secret,
                Operation::Get,
                Some("x")
            )
            .is_ok()
        );
        let denied = authorize(
            &cloud,
            web,
            &ben,
            ObjectKind::Secret,
            Operation::Create,
            Some("x"),
        );
        assert!(denied.is_err());
        let security = &cloud.vaults["kv-security-fn"];
        let ada = caller(&cloud, "ada@contoso.demo");
        assert!(
            authorize(
                &cloud,
                security,
                &ada,
                ObjectKind::Secret,
                Operation::Purge,
                Some("x")
            )
            .is_ok()
        );
        let chloe = caller(&cloud, "chloe@contoso.demo");
        assert!(
            authorize(
                &cloud,
                security,
                &chloe,
                ObjectKind::Secret,
                Operation::List,
                None
            )
            .is_ok()
        );
        assert!(
            authorize(
                &cloud,
                security,
                &chloe,
                ObjectKind::Secret,
                Operation::Get,
                Some("x")
            )
            .is_err()
        );
    }

    #[test]
    fn custom_role_not_data_actions_deny_delete() {
        let cloud = demo();
        let shared = &cloud.vaults["kv-dev-shared"];
        let (ci, _) = cloud
            .app_principal("be5b3a4f-9c8d-4f77-9a2b-7e8d9cab1ac8")
            .expect("ci-pipeline");
        let ci = Caller {
            object_id: ci.object_id,
            tenant_id: ci.tenant_id,
            app_id: ci.app_id,
        };
        assert!(
            authorize(
                &cloud,
                shared,
                &ci,
                ObjectKind::Secret,
                Operation::Create,
                Some("x")
            )
            .is_ok()
        );
        assert!(
            authorize(
                &cloud,
                shared,
                &ci,
                ObjectKind::Secret,
                Operation::Delete,
                Some("x")
            )
            .is_err()
        );
        assert!(authorize(&cloud, shared, &ci, ObjectKind::Key, Operation::List, None).is_err());
    }

    #[test]
    fn firewall_rules() {
        let cloud = demo();
        let restricted = &cloud.vaults["kv-prod-restricted"];
        let ada = caller(&cloud, "ada@contoso.demo");
        let loopback: IpAddr = "127.0.0.1".parse().expect("ip");
        assert!(check_firewall(restricted, &ada, loopback).is_err());
        assert!(check_firewall(restricted, &ada, "203.0.113.9".parse().expect("ip")).is_ok());
        assert!(check_firewall(&cloud.vaults["kv-prod-orders"], &ada, loopback).is_ok());
    }
}
