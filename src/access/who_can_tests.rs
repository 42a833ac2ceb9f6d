//! Tests of the reverse check: group expansion with paths, deny assignments with exclusions, PIM
//! eligibility apart, object scope, access policies, and self-granters.

use std::collections::HashMap;

use serde_json::json;

use super::evaluate_tests::*;
use super::who_can::*;
use super::*;
use crate::azure::access_models::{DirectoryObject, RoleAssignment, RoleDefinition};

fn object(id: &str, kind: &str, name: &str) -> DirectoryObject {
    serde_json::from_value(
        json!({"id": id, "@odata.type": format!("#microsoft.graph.{kind}"), "displayName": name}),
    )
    .expect("object")
}

/// Ops (Ben, and the nested group Night shift with Nia) and Platform (Ops inside it).
fn members() -> HashMap<String, Vec<DirectoryObject>> {
    let ben = object("ben", "user", "Ben");
    let night = object("night", "group", "Night shift");
    let nia = object("nia", "user", "Nia");
    let ops = object("ops", "group", "Ops");
    HashMap::from([
        ("night".to_owned(), vec![nia.clone()]),
        (
            "ops".to_owned(),
            vec![ben.clone(), night.clone(), nia.clone()],
        ),
        ("platform".to_owned(), vec![ops, ben, night, nia]),
    ])
}

fn op(object_type: ObjectType, name: &str) -> Operation {
    *object_type
        .operations()
        .iter()
        .find(|operation| operation.name == name)
        .expect("operation")
}

fn names(principals: &[PrincipalAccess]) -> Vec<&str> {
    principals
        .iter()
        .map(|principal| principal.name.as_str())
        .collect()
}

#[test]
fn groups_expand_transitively_and_each_member_keeps_its_path() {
    let data = rbac_vault(
        vec![
            assignment("platform", SECRETS_USER, RG),
            assignment("fn-app", SECRETS_OFFICER, VAULT),
        ],
        Some(vec![]),
    );
    let inputs = WhoCanInputs {
        group_members: members(),
        eligible: Some(vec![]),
    };
    let answer = who_can(
        &data,
        &inputs,
        &Target::Vault,
        Some(op(ObjectType::Secret, "get")),
    );
    let get = &answer.operations[0];
    assert_eq!(
        names(&get.allowed),
        vec![
            "Ben",
            "Nia",
            "Night shift",
            "Ops",
            "Platform",
            "SecurityFunctions"
        ]
    );
    let nia = get.allowed.iter().find(|p| p.name == "Nia").expect("Nia");
    assert_eq!(
        nia.paths[0].describe(),
        "Key Vault Secrets User at resource group rg-prod, via group Platform"
    );
    assert_eq!(get.groups.len(), 1);
    assert_eq!(get.groups[0].name, "Platform");
    assert_eq!(get.groups[0].member_count, Some(4));
    // Secrets User cannot delete: only SecurityFunctions (Secrets Officer) may.
    let delete = who_can(
        &data,
        &inputs,
        &Target::Vault,
        Some(op(ObjectType::Secret, "delete")),
    );
    assert_eq!(
        names(&delete.operations[0].allowed),
        vec!["SecurityFunctions"]
    );
}

#[test]
fn a_deny_assignment_blocks_a_groups_members_but_spares_the_excluded() {
    let data = rbac_vault(
        vec![assignment("platform", SECRETS_OFFICER, RG)],
        Some(vec![deny(VAULT, &["ops"], &["night"], true)]),
    );
    let inputs = WhoCanInputs {
        group_members: members(),
        eligible: Some(vec![]),
    };
    let answer = who_can(
        &data,
        &inputs,
        &Target::Vault,
        Some(op(ObjectType::Secret, "delete")),
    );
    let delete = &answer.operations[0];
    // Ops and Ben are blocked; Night shift and Nia are excluded from the deny; Platform holds the grant.
    assert_eq!(names(&delete.blocked), vec!["Ben", "Ops"]);
    assert_eq!(
        names(&delete.allowed),
        vec!["Nia", "Night shift", "Platform"]
    );
    assert!(delete.blocked[0].blocked_by[0].contains("No prod deletes"));
    // get is not denied.
    let get = who_can(
        &data,
        &inputs,
        &Target::Vault,
        Some(op(ObjectType::Secret, "get")),
    );
    assert!(get.operations[0].blocked.is_empty());
}

#[test]
fn eligible_assignments_are_apart_and_object_scope_counts_only_for_that_object() {
    let data = rbac_vault(
        vec![assignment(
            "ben",
            SECRETS_USER,
            &format!("{VAULT}/secrets/db-password"),
        )],
        Some(vec![]),
    );
    let inputs = WhoCanInputs {
        group_members: members(),
        eligible: Some(vec![assignment("nia", SECRETS_OFFICER, VAULT)]),
    };
    let get = op(ObjectType::Secret, "get");
    let on_vault = who_can(&data, &inputs, &Target::Vault, Some(get));
    assert!(
        on_vault.operations[0].allowed.is_empty(),
        "an object-scoped grant is not vault-wide"
    );
    assert_eq!(names(&on_vault.operations[0].eligible), vec!["Nia"]);
    let on_secret = who_can(&data, &inputs, &secret("db-password"), Some(get));
    assert_eq!(names(&on_secret.operations[0].allowed), vec!["Ben"]);
    let elsewhere = who_can(&data, &inputs, &secret("other"), Some(get));
    assert!(elsewhere.operations[0].allowed.is_empty());
    // Unreadable eligibility is said, not hidden.
    let unknown = who_can(
        &data,
        &WhoCanInputs {
            group_members: members(),
            eligible: None,
        },
        &Target::Vault,
        Some(get),
    );
    assert!(
        unknown
            .caveats
            .iter()
            .any(|c| c.contains("PIM eligibility"))
    );
}

fn control_role(guid: &str, name: &str, actions: &[&str]) -> RoleDefinition {
    serde_json::from_value(json!({
        "id": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        "name": guid,
        "properties": {"roleName": name, "type": "BuiltInRole",
            "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}]}
    }))
    .expect("role")
}

fn with_roles(
    mut data: VaultAccessData,
    extra: Vec<RoleDefinition>,
    assignments: Vec<RoleAssignment>,
) -> VaultAccessData {
    data.role_definitions.extend(extra);
    data.role_assignments.extend(assignments);
    data
}

#[test]
fn self_granters_are_flagged_by_the_control_plane_action_the_model_needs() {
    const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    const KV_CONTRIBUTOR: &str = "f25e0fa2-a7c8-4377-a976-54943a77a395";
    let roles = vec![
        control_role(OWNER, "Owner", &["*"]),
        control_role(
            KV_CONTRIBUTOR,
            "Key Vault Contributor",
            &["Microsoft.KeyVault/*"],
        ),
    ];
    let assignments = vec![
        assignment("ops", OWNER, SUB),
        assignment("ben", KV_CONTRIBUTOR, RG),
        assignment("fn-app", OWNER, OTHER_VAULT_FOR_TESTS),
    ];
    let inputs = WhoCanInputs {
        group_members: members(),
        eligible: Some(vec![]),
    };
    let rbac = with_roles(
        rbac_vault(vec![], Some(vec![])),
        roles.clone(),
        assignments.clone(),
    );
    let answer = who_can(
        &rbac,
        &inputs,
        &Target::Vault,
        Some(op(ObjectType::Secret, "get")),
    );
    let granters: Vec<(&str, &str)> = answer
        .self_granters
        .iter()
        .map(|granter| (granter.name.as_str(), granter.action))
        .collect();
    // On an RBAC vault only role-assignment write counts: Owner (through Ops), not Key Vault Contributor;
    // an Owner of another vault is nothing here.
    assert_eq!(
        granters,
        vec![
            ("Ben", "Microsoft.Authorization/roleAssignments/write"),
            ("Nia", "Microsoft.Authorization/roleAssignments/write"),
        ]
    );
    assert_eq!(
        answer.self_granters[0].path.via_group.as_deref(),
        Some("Ops")
    );
    // On an access-policy vault, Key Vault Contributor can write the policies: Ben directly too.
    let policies = with_roles(
        policy_vault(vec![policy("ben", &["get"], &[])]),
        roles,
        assignments,
    );
    let answer = who_can(
        &policies,
        &inputs,
        &Target::Vault,
        Some(op(ObjectType::Secret, "get")),
    );
    assert!(
        answer
            .self_granters
            .iter()
            .any(|granter| granter.name == "Ben"
                && granter.path.via_group.is_none()
                && granter.action == "Microsoft.KeyVault/vaults/write")
    );
    assert_eq!(names(&answer.operations[0].allowed), vec!["Ben"]);
}

const OTHER_VAULT_FOR_TESTS: &str =
    "/subscriptions/s1/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-other";

#[test]
fn access_policies_name_their_permissions_and_skip_compound_identities() {
    let mut compound = policy("ops", &["get"], &[]);
    compound.application_id = Some("app".into());
    let data = policy_vault(vec![policy("platform", &["all"], &[]), compound]);
    let inputs = WhoCanInputs {
        group_members: members(),
        eligible: None,
    };
    let answer = who_can(
        &data,
        &inputs,
        &Target::Vault,
        Some(op(ObjectType::Secret, "purge")),
    );
    let purge = &answer.operations[0];
    assert_eq!(
        names(&purge.allowed),
        vec!["Ben", "Nia", "Night shift", "Ops", "Platform"]
    );
    assert!(
        purge.allowed[0].paths[0]
            .grant
            .starts_with("access policy: all")
    );
    assert!(
        answer.caveats.iter().all(|c| !c.contains("PIM")),
        "no PIM on policy vaults"
    );
}
