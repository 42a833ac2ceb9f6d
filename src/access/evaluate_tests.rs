//! Table-driven tests of the evaluator: access policies, RBAC inheritance, groups, object scope,
//! notDataActions, deny assignments, wildcards, caveats and least-privilege fixes.

use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::azure::access_models::{
    AccessPolicyEntry, DenyAssignment, DirectoryObject, RoleAssignment, RoleDefinition,
};

pub(super) const SUB: &str = "/subscriptions/s1";
pub(super) const RG: &str = "/subscriptions/s1/resourceGroups/rg-prod";
pub(super) const VAULT: &str =
    "/subscriptions/s1/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv";
const OTHER_VAULT: &str =
    "/subscriptions/s1/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-other";

pub(super) const SECRETS_USER: &str = "4633458b-17de-408a-b874-0445c86b69e6";
pub(super) const SECRETS_OFFICER: &str = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
const READER: &str = "21090545-7ca7-4776-b22c-e363652d74d2";
pub(super) const ADMIN: &str = "00482a5a-887f-4fb3-b363-3b7fe8e74483";
const NO_DELETE: &str = "c0ffee00-0000-0000-0000-000000000001";
const CONDITIONED: &str = "c0ffee00-0000-0000-0000-000000000002";

pub(super) fn role(
    guid: &str,
    name: &str,
    builtin: bool,
    data: &[&str],
    not_data: &[&str],
) -> RoleDefinition {
    serde_json::from_value(json!({
        "id": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        "name": guid,
        "properties": {"roleName": name, "type": if builtin {"BuiltInRole"} else {"CustomRole"},
            "permissions": [{"actions": [], "notActions": [], "dataActions": data, "notDataActions": not_data}]}
    }))
    .expect("role")
}

pub(super) fn roles() -> Vec<RoleDefinition> {
    vec![
        role(
            SECRETS_USER,
            "Key Vault Secrets User",
            true,
            &[
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
            &[],
        ),
        role(
            SECRETS_OFFICER,
            "Key Vault Secrets Officer",
            true,
            &["Microsoft.KeyVault/vaults/secrets/*"],
            &[],
        ),
        role(
            READER,
            "Key Vault Reader",
            true,
            &[
                "microsoft.keyvault/VAULTS/*/read",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
            &[],
        ),
        role(
            ADMIN,
            "Key Vault Administrator",
            true,
            &["Microsoft.KeyVault/vaults/*"],
            &[],
        ),
        role(
            NO_DELETE,
            "Secrets Operator (no delete)",
            false,
            &["Microsoft.KeyVault/vaults/secrets/*"],
            &[
                "Microsoft.KeyVault/vaults/secrets/delete",
                "Microsoft.KeyVault/vaults/secrets/purge/action",
            ],
        ),
        role(
            CONDITIONED,
            "Conditioned",
            false,
            &["Microsoft.KeyVault/vaults/keys/*"],
            &[],
        ),
    ]
}

pub(super) fn assignment(principal: &str, role: &str, scope: &str) -> RoleAssignment {
    serde_json::from_value(json!({
        "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{principal}-{role}"),
        "properties": {"roleDefinitionId": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "principalId": principal, "principalType": "User", "scope": scope,
            "condition": if role == CONDITIONED { json!("@Resource[x] StringEquals 'y'") } else { json!(null) }}
    }))
    .expect("assignment")
}

pub(super) fn deny(
    scope: &str,
    principals: &[&str],
    excluded: &[&str],
    child_scopes: bool,
) -> DenyAssignment {
    let ids = |list: &[&str]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|id| json!({"id": id, "type": "Group"}))
            .collect()
    };
    serde_json::from_value(json!({
        "id": "deny-1",
        "properties": {"denyAssignmentName": "No prod deletes", "scope": scope,
            "doNotApplyToChildScopes": !child_scopes,
            "permissions": [{"dataActions": ["Microsoft.KeyVault/vaults/secrets/delete"]}],
            "principals": ids(principals), "excludePrincipals": ids(excluded)}
    }))
    .expect("deny")
}

pub(super) fn policy(object_id: &str, secrets: &[&str], keys: &[&str]) -> AccessPolicyEntry {
    serde_json::from_value(json!({"tenantId": "t1", "objectId": object_id,
        "permissions": {"secrets": secrets, "keys": keys, "certificates": []}}))
    .expect("policy")
}

pub(super) fn directory() -> HashMap<String, DirectoryObject> {
    [
        ("ben", "#microsoft.graph.user", "Ben"),
        ("ops", "#microsoft.graph.group", "Ops"),
        ("platform", "#microsoft.graph.group", "Platform"),
        (
            "fn-app",
            "#microsoft.graph.servicePrincipal",
            "SecurityFunctions",
        ),
    ]
    .into_iter()
    .map(|(id, kind, name)| {
        (
            id.to_owned(),
            serde_json::from_value(json!({"id": id, "@odata.type": kind, "displayName": name}))
                .expect("object"),
        )
    })
    .collect()
}

pub(super) fn rbac_vault(
    assignments: Vec<RoleAssignment>,
    denies: Option<Vec<DenyAssignment>>,
) -> VaultAccessData {
    VaultAccessData {
        vault_name: "kv".into(),
        arm_id: VAULT.into(),
        tenant_id: "t1".into(),
        subscription_name: Some("Production".into()),
        model: Some(PermissionModel::Rbac),
        network: Some(NetworkExposure::Open),
        role_assignments: assignments,
        role_definitions: roles(),
        deny_assignments: denies,
        directory: directory(),
        ..Default::default()
    }
}

pub(super) fn policy_vault(policies: Vec<AccessPolicyEntry>) -> VaultAccessData {
    VaultAccessData {
        vault_name: "kv".into(),
        arm_id: VAULT.into(),
        tenant_id: "t1".into(),
        model: Some(PermissionModel::AccessPolicies),
        network: Some(NetworkExposure::Open),
        access_policies: policies,
        directory: directory(),
        ..Default::default()
    }
}

/// Ben, a member of Ops, which is nested in Platform (so transitively in both).
fn ben() -> Subject {
    Subject {
        principal: directory()["ben"].clone(),
        tenant_id: Some("t1".into()),
        group_ids: vec!["ops".into(), "platform".into()],
    }
}

pub(super) fn secret(name: &str) -> Target {
    Target::Object {
        object_type: ObjectType::Secret,
        name: name.into(),
    }
}

/// (what, data, target, [(type, permission, allowed)]).
type Case = (
    &'static str,
    VaultAccessData,
    Target,
    Vec<(ObjectType, &'static str, bool)>,
);

#[test]
fn verdicts_table() {
    use ObjectType::{Certificate as C, Key as K, Secret as S};
    let cases: Vec<Case> = vec![
        (
            "direct Secrets User at the vault",
            rbac_vault(vec![assignment("ben", SECRETS_USER, VAULT)], Some(vec![])),
            Target::Vault,
            vec![
                (S, "get", true),
                (S, "list", true),
                (S, "set", false),
                (K, "get", false),
            ],
        ),
        (
            "Officer via nested group at the resource group",
            rbac_vault(
                vec![assignment("platform", SECRETS_OFFICER, RG)],
                Some(vec![]),
            ),
            Target::Vault,
            vec![
                (S, "set", true),
                (S, "purge", true),
                (K, "list", false),
                (C, "get", false),
            ],
        ),
        (
            "Administrator inherited from the subscription",
            rbac_vault(vec![assignment("ops", ADMIN, SUB)], Some(vec![])),
            Target::Vault,
            vec![
                (K, "wrapkey", true),
                (C, "manageissuers", true),
                (S, "delete", true),
            ],
        ),
        (
            "management group assignments count",
            rbac_vault(
                vec![assignment(
                    "ben",
                    SECRETS_USER,
                    "/providers/Microsoft.Management/managementGroups/contoso",
                )],
                Some(vec![]),
            ),
            Target::Vault,
            vec![(S, "get", true)],
        ),
        (
            "an assignment on another vault does not count",
            rbac_vault(vec![assignment("ben", ADMIN, OTHER_VAULT)], Some(vec![])),
            Target::Vault,
            vec![(S, "get", false), (S, "list", false)],
        ),
        (
            "someone else's assignment does not count",
            rbac_vault(vec![assignment("fn-app", ADMIN, VAULT)], Some(vec![])),
            Target::Vault,
            vec![(S, "get", false)],
        ),
        (
            "object scope, vault target: not granted",
            rbac_vault(
                vec![assignment(
                    "ben",
                    SECRETS_USER,
                    &format!("{VAULT}/secrets/api-key"),
                )],
                Some(vec![]),
            ),
            Target::Vault,
            vec![(S, "get", false), (S, "list", false)],
        ),
        (
            "object scope, that object: granted, except listing",
            rbac_vault(
                vec![assignment(
                    "ben",
                    SECRETS_USER,
                    &format!("{VAULT}/secrets/api-key"),
                )],
                Some(vec![]),
            ),
            secret("API-KEY"),
            vec![
                (S, "get", true),
                (S, "list", false),
                (S, "list versions", true),
                (S, "set", false),
            ],
        ),
        (
            "object scope, another object: not granted",
            rbac_vault(
                vec![assignment(
                    "ben",
                    SECRETS_USER,
                    &format!("{VAULT}/secrets/api-key"),
                )],
                Some(vec![]),
            ),
            secret("db-password"),
            vec![(S, "get", false)],
        ),
        (
            "vault assignment applies to an object target",
            rbac_vault(vec![assignment("ben", SECRETS_USER, VAULT)], Some(vec![])),
            secret("db-password"),
            vec![(S, "get", true), (S, "list", true)],
        ),
        (
            "notDataActions remove delete and purge",
            rbac_vault(vec![assignment("ben", NO_DELETE, VAULT)], Some(vec![])),
            Target::Vault,
            vec![
                (S, "set", true),
                (S, "recover", true),
                (S, "delete", false),
                (S, "purge", false),
            ],
        ),
        (
            "notDataActions are not a deny: another role still grants",
            rbac_vault(
                vec![
                    assignment("ben", NO_DELETE, VAULT),
                    assignment("ops", SECRETS_OFFICER, RG),
                ],
                Some(vec![]),
            ),
            Target::Vault,
            vec![(S, "delete", true)],
        ),
        (
            "case-insensitive mid-string wildcard",
            rbac_vault(vec![assignment("ben", READER, VAULT)], Some(vec![])),
            Target::Vault,
            vec![
                (K, "get", true),
                (C, "list", true),
                (S, "list", true),
                (S, "get", false),
                (K, "sign", false),
            ],
        ),
        (
            "a deny for everyone at the resource group wins",
            rbac_vault(
                vec![assignment("ben", SECRETS_OFFICER, VAULT)],
                Some(vec![deny(
                    RG,
                    &["00000000-0000-0000-0000-000000000000"],
                    &[],
                    true,
                )]),
            ),
            Target::Vault,
            vec![(S, "delete", false), (S, "set", true)],
        ),
        (
            "a deny that excludes one of the principal's groups does not apply",
            rbac_vault(
                vec![assignment("ben", SECRETS_OFFICER, VAULT)],
                Some(vec![deny(
                    RG,
                    &["00000000-0000-0000-0000-000000000000"],
                    &["platform"],
                    true,
                )]),
            ),
            Target::Vault,
            vec![(S, "delete", true)],
        ),
        (
            "a deny on the group at the resource group only, not its children",
            rbac_vault(
                vec![assignment("ben", SECRETS_OFFICER, VAULT)],
                Some(vec![deny(RG, &["ops"], &[], false)]),
            ),
            Target::Vault,
            vec![(S, "delete", true)],
        ),
        (
            "a conditioned assignment is not counted",
            rbac_vault(vec![assignment("ben", CONDITIONED, VAULT)], Some(vec![])),
            Target::Vault,
            vec![(K, "get", false)],
        ),
        (
            "access policy, direct get/list",
            policy_vault(vec![policy("ben", &["Get", "List"], &[])]),
            Target::Vault,
            vec![
                (S, "get", true),
                (S, "list", true),
                (S, "set", false),
                (K, "get", false),
            ],
        ),
        (
            "access policy of a group, all expanded",
            policy_vault(vec![policy("platform", &[], &["all"])]),
            Target::Vault,
            vec![
                (K, "wrapkey", true),
                (K, "getrotationpolicy", true),
                (S, "get", false),
            ],
        ),
        (
            "access policies ignore RBAC assignments",
            {
                let mut data = policy_vault(vec![]);
                data.role_assignments = vec![assignment("ben", ADMIN, VAULT)];
                data.role_definitions = roles();
                data
            },
            Target::Vault,
            vec![(S, "get", false)],
        ),
        (
            "access policy of another tenant does not apply",
            policy_vault(vec![{
                let mut foreign = policy("ben", &["get"], &[]);
                foreign.tenant_id = "t2".into();
                foreign
            }]),
            Target::Vault,
            vec![(S, "get", false)],
        ),
        (
            "a compound identity policy is not counted",
            policy_vault(vec![{
                let mut compound = policy("ben", &["get"], &[]);
                compound.application_id = Some("app-1".into());
                compound
            }]),
            Target::Vault,
            vec![(S, "get", false)],
        ),
    ];
    for (what, data, target, expectations) in cases {
        let evaluation = evaluate(&data, &ben(), &target);
        assert_eq!(evaluation.verdicts.len(), 47, "{what}");
        for (object_type, permission, allowed) in expectations {
            let verdict = evaluation
                .verdict(object_type, permission)
                .unwrap_or_else(|| panic!("{what}: no verdict for {permission}"));
            assert_eq!(
                verdict.allowed,
                allowed,
                "{what}: {object_type:?} {permission}: {}",
                verdict.explanation("Ben")
            );
            assert_eq!(
                verdict.fix.is_some(),
                !allowed && verdict.denied_by.is_empty(),
                "{what}: fix for {permission}"
            );
        }
    }
}

#[test]
fn explanations_name_the_path() {
    let data = rbac_vault(vec![assignment("ops", SECRETS_USER, RG)], Some(vec![]));
    let evaluation = evaluate(&data, &ben(), &Target::Vault);
    let get = evaluation.verdict(ObjectType::Secret, "get").expect("get");
    assert_eq!(
        get.explanation("Ben"),
        "Granted by Key Vault Secrets User, assigned to group Ops at resource group rg-prod"
    );
    let set = evaluation.verdict(ObjectType::Secret, "set").expect("set");
    assert_eq!(
        set.explanation("Ben"),
        "Nothing grants Microsoft.KeyVault/vaults/secrets/setSecret/action to Ben or its groups"
    );
    // The least privileged role that grants set: the custom role (no delete, no purge) beats Secrets Officer.
    let fix = set.fix.as_ref().expect("a fix");
    assert!(
        matches!(fix, crate::access::AccessFix::Role { role_name, .. } if role_name == "Secrets Operator (no delete)"),
        "{fix:?}"
    );
    let command = fix.az_command();
    assert!(
        command.starts_with("az role assignment create --role '")
            && command.ends_with(
                " --assignee-object-id 'ben' --assignee-principal-type User --scope '/subscriptions/s1/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv'"
            ),
        "{command}"
    );
    // Listing is fixed with Key Vault Reader (metadata only), not Secrets User (which reads values).
    let data = rbac_vault(vec![], Some(vec![]));
    let evaluation = evaluate(&data, &ben(), &Target::Vault);
    assert!(
        evaluation
            .verdict(ObjectType::Secret, "list")
            .and_then(|verdict| verdict.fix.clone())
            .is_some_and(|fix| matches!(fix, crate::access::AccessFix::Role { role_name, .. } if role_name == "Key Vault Reader")),
    );
    assert!(
        evaluation
            .verdict(ObjectType::Secret, "get")
            .and_then(|verdict| verdict.fix.clone())
            .is_some_and(|fix| matches!(fix, crate::access::AccessFix::Role { role_name, .. } if role_name == "Key Vault Secrets User")),
    );
    // Subscription level names the subscription.
    let data = rbac_vault(vec![assignment("ben", READER, SUB)], Some(vec![]));
    let evaluation = evaluate(&data, &ben(), &Target::Vault);
    assert_eq!(
        evaluation
            .verdict(ObjectType::Key, "list")
            .expect("list")
            .explanation("Ben"),
        "Granted by Key Vault Reader, assigned to Ben directly at subscription Production"
    );
}

#[test]
fn object_only_grants_and_excluded_actions_are_noted() {
    let data = rbac_vault(
        vec![
            assignment("ben", SECRETS_USER, &format!("{VAULT}/secrets/api-key")),
            assignment("ops", NO_DELETE, VAULT),
        ],
        Some(vec![]),
    );
    let evaluation = evaluate(&data, &ben(), &Target::Vault);
    let get = evaluation.verdict(ObjectType::Secret, "get").expect("get");
    assert!(get.allowed, "NO_DELETE grants get at the vault");
    assert!(
        get.notes.iter().any(|note| note.contains("secret api-key")),
        "{:?}",
        get.notes
    );
    let delete = evaluation
        .verdict(ObjectType::Secret, "delete")
        .expect("delete");
    assert!(
        delete
            .notes
            .iter()
            .any(|note| note.contains("notDataActions")),
        "{:?}",
        delete.notes
    );
    // The object-scoped fix for an object target.
    let evaluation = evaluate(&data, &ben(), &secret("api-key"));
    let delete = evaluation
        .verdict(ObjectType::Secret, "delete")
        .expect("delete");
    assert!(
        delete
            .fix
            .as_ref()
            .is_some_and(|fix| fix.az_command().ends_with("/vaults/kv/secrets/api-key'")),
        "{:?}",
        delete.fix
    );
}

#[test]
fn deny_explains_and_offers_no_fix() {
    let data = rbac_vault(
        vec![assignment("ben", SECRETS_OFFICER, VAULT)],
        Some(vec![deny(RG, &["ops"], &[], true)]),
    );
    let evaluation = evaluate(&data, &ben(), &Target::Vault);
    let delete = evaluation
        .verdict(ObjectType::Secret, "delete")
        .expect("delete");
    assert!(!delete.allowed);
    assert!(delete.fix.is_none());
    assert_eq!(
        delete.explanation("Ben"),
        "Blocked by deny assignment 'No prod deletes' to group Ops at resource group rg-prod"
    );
}

#[test]
fn policy_fix_keeps_existing_permissions() {
    let data = policy_vault(vec![policy("ben", &["Get", "List"], &["get"])]);
    let evaluation = evaluate(&data, &ben(), &Target::Vault);
    assert_eq!(
        evaluation
            .verdict(ObjectType::Secret, "set")
            .and_then(|v| v.fix.clone())
            .map(|fix| fix.az_command())
            .as_deref(),
        Some(
            "az keyvault set-policy --name 'kv' --resource-group 'rg-prod' --object-id 'ben' --secret-permissions get list set"
        )
    );
    let grant = evaluation.verdict(ObjectType::Secret, "get").expect("get");
    assert_eq!(
        grant.explanation("Ben"),
        "Granted by access policy for Ben: Get, List"
    );
    // A service principal is named by its object id too, as Microsoft's guide writes it (not --spn).
    let mut app = Subject {
        principal: directory()["fn-app"].clone(),
        ..Default::default()
    };
    app.principal.app_id = Some("9c3f".into());
    let evaluation = evaluate(&data, &app, &Target::Vault);
    assert!(
        evaluation
            .verdict(ObjectType::Key, "wrapkey")
            .and_then(|v| v.fix.clone())
            .is_some_and(|fix| fix
                .az_command()
                .ends_with("--object-id 'fn-app' --key-permissions wrapKey")),
    );
}

#[test]
fn caveats_for_network_and_unreadable_deny_assignments() {
    let mut data = rbac_vault(vec![], None);
    data.network = Some(NetworkExposure::Restricted);
    data.role_assignments = vec![assignment(
        "ben",
        "ffffffff-0000-0000-0000-000000000000",
        VAULT,
    )];
    let evaluation = evaluate(&data, &ben(), &Target::Vault);
    let caveats = evaluation.caveats.join("\n");
    assert!(caveats.contains("firewall"), "{caveats}");
    assert!(
        caveats.contains("Deny assignments could not be read"),
        "{caveats}"
    );
    assert!(
        caveats.contains("ffffffff-0000-0000-0000-000000000000"),
        "{caveats}"
    );
    assert_eq!(
        evaluation.summary(ObjectType::Secret),
        "0 of 9 secret operations allowed"
    );
}

#[test]
fn glob_matching() {
    let cases = [
        ("*", "anything/at/all", true),
        (
            "Microsoft.KeyVault/vaults/*",
            "microsoft.keyvault/VAULTS/secrets/getSecret/action",
            true,
        ),
        (
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/keys/read",
            true,
        ),
        (
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/keys/read/extra",
            false,
        ),
        (
            "Microsoft.KeyVault/vaults/secrets/*",
            "Microsoft.KeyVault/vaults/keys/read",
            false,
        ),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false),
        ("exact", "EXACT", true),
        ("", "x", false),
    ];
    for (pattern, action, expect) in cases {
        assert_eq!(
            action_matches(pattern, action),
            expect,
            "{pattern} ~ {action}"
        );
    }
}

/// A custom role with control-plane writes (`*`, or `Microsoft.Authorization/*`) or assignable only
/// elsewhere is never the least-privilege fix while a narrower role grants the operation.
#[test]
fn least_privilege_counts_control_plane_actions_and_assignable_scopes() {
    let custom = |guid: &str, name: &str, actions: &[&str], scopes: &[&str]| -> RoleDefinition {
        serde_json::from_value(json!({
            "id": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            "name": guid,
            "properties": {"roleName": name, "type": "CustomRole",
                "assignableScopes": scopes,
                "permissions": [{"actions": actions, "notActions": [],
                    "dataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"], "notDataActions": []}]}
        }))
        .expect("role")
    };
    let fix_for_get = |extra: Vec<RoleDefinition>| -> String {
        let mut data = rbac_vault(vec![], Some(vec![]));
        data.role_definitions.extend(extra);
        let evaluation = evaluate(&data, &ben(), &Target::Vault);
        match evaluation
            .verdict(ObjectType::Secret, "get")
            .and_then(|verdict| verdict.fix.clone())
        {
            Some(crate::access::AccessFix::Role { role_name, .. }) => role_name,
            other => panic!("{other:?}"),
        }
    };
    // Getting a value only, no metadata read: fewer data actions than Secrets User, so a data-only
    // ranking would pick each of these.
    assert_eq!(
        fix_for_get(vec![custom(
            "c0ffee00-0000-0000-0000-0000000000a1",
            "Get and everything",
            &["*"],
            &["/subscriptions/s1"]
        )]),
        "Key Vault Secrets User"
    );
    assert_eq!(
        fix_for_get(vec![custom(
            "c0ffee00-0000-0000-0000-0000000000a2",
            "Get and grant",
            &["Microsoft.Authorization/*"],
            &["/subscriptions/s1"]
        )]),
        "Key Vault Secrets User"
    );
    assert_eq!(
        fix_for_get(vec![custom(
            "c0ffee00-0000-0000-0000-0000000000a3",
            "Get, other subscription",
            &[],
            &["/subscriptions/s2"]
        )]),
        "Key Vault Secrets User",
        "a role not assignable at this vault is never suggested"
    );
    // Narrow, read-only control plane, assignable here: it is the least privileged.
    assert_eq!(
        fix_for_get(vec![custom(
            "c0ffee00-0000-0000-0000-0000000000a4",
            "Get only",
            &["Microsoft.KeyVault/vaults/read"],
            &["/subscriptions/s1/resourceGroups/rg-prod"]
        )]),
        "Get only"
    );
}
