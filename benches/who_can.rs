//! Benchmark: who may `get` one secret on a vault whose directory holds 10,000 principals in 500 groups
//! nested 4 deep, with 2,000 role assignments (subscription, resource group, vault, the secret, another
//! vault; to groups and to principals) over 30 roles and 20 deny assignments — the bound of the who-can
//! issue: ≤ 50 ms.
//!
//! Run with `cargo bench --bench who_can`. Prints the figure beside its bound and exits non-zero when the
//! bound is missed.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;
use vaultscope::access::{
    NetworkExposure, ObjectType, PermissionModel, Target, VaultAccessData, WhoCanInputs, who_can,
};
use vaultscope::azure::access_models::{
    DenyAssignment, DirectoryObject, RoleAssignment, RoleDefinition,
};

const PRINCIPALS: usize = 10_000;
const GROUPS: usize = 500;
const DEPTH: usize = 4;
const ASSIGNMENTS: usize = 2_000;
const ROLES: usize = 30;
const DENIES: usize = 20;
const RUNS: usize = 50;
const BOUND: Duration = Duration::from_millis(50);

const SUBSCRIPTION: &str = "/subscriptions/00000000-0000-0000-0000-0000000000s1";
const GROUP_SCOPE: &str =
    "/subscriptions/00000000-0000-0000-0000-0000000000s1/resourceGroups/rg-bench";

fn object(id: &str, kind: &str) -> DirectoryObject {
    serde_json::from_value(
        json!({"id": id, "@odata.type": format!("#microsoft.graph.{kind}"),
        "displayName": format!("{kind} {id}")}),
    )
    .expect("object")
}

fn role_definitions() -> Vec<RoleDefinition> {
    let patterns = [
        vec!["Microsoft.KeyVault/vaults/*"],
        vec!["Microsoft.KeyVault/vaults/secrets/*"],
        vec!["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
        vec!["Microsoft.KeyVault/vaults/keys/*"],
        vec!["Microsoft.KeyVault/vaults/*/read"],
    ];
    (0..ROLES)
        .map(|index| {
            serde_json::from_value(json!({
                "id": format!("/providers/Microsoft.Authorization/roleDefinitions/role-{index:04}"),
                "properties": {"roleName": format!("Role {index}"), "type": "BuiltInRole",
                    "permissions": [{"actions": if index == 0 {vec!["*"]} else {vec![]},
                        "dataActions": patterns[index % patterns.len()]}]}
            }))
            .expect("role")
        })
        .collect()
}

/// 500 groups in 4 levels (group g's parent is g / 5 on the level above); each principal in one group of
/// the deepest level; transitive members computed as Graph's `transitiveMembers` returns them.
fn directory() -> (HashMap<String, Vec<DirectoryObject>>, Vec<String>) {
    let group_id = |index: usize| format!("group-{index:04}");
    let per_level = GROUPS / DEPTH;
    let parent = |index: usize| (index >= per_level).then(|| index - per_level);
    let mut members: HashMap<String, Vec<DirectoryObject>> = HashMap::new();
    let deepest_first = GROUPS - per_level;
    for principal in 0..PRINCIPALS {
        let id = format!("principal-{principal:05}");
        let kind = if principal % 10 == 0 {
            "servicePrincipal"
        } else {
            "user"
        };
        let mut group = Some(deepest_first + principal % per_level);
        while let Some(index) = group {
            members
                .entry(group_id(index))
                .or_default()
                .push(object(&id, kind));
            group = parent(index);
        }
    }
    for index in per_level..GROUPS {
        let mut ancestor = parent(index);
        while let Some(above) = ancestor {
            members
                .entry(group_id(above))
                .or_default()
                .push(object(&group_id(index), "group"));
            ancestor = parent(above);
        }
    }
    (members, (0..GROUPS).map(group_id).collect())
}

fn main() {
    let vault = format!("{GROUP_SCOPE}/providers/Microsoft.KeyVault/vaults/kv-bench");
    let (group_members, group_ids) = directory();
    let scopes = [
        SUBSCRIPTION.to_owned(),
        GROUP_SCOPE.to_owned(),
        vault.clone(),
        format!("{vault}/secrets/app-secret"),
        format!("{GROUP_SCOPE}/providers/Microsoft.KeyVault/vaults/kv-other"),
    ];
    let role_assignments: Vec<RoleAssignment> = (0..ASSIGNMENTS)
        .map(|index| {
            let principal = if index % 2 == 0 {
                group_ids[index % GROUPS].clone()
            } else {
                format!("principal-{:05}", (index * 7) % PRINCIPALS)
            };
            serde_json::from_value(json!({
                "id": format!("assignment-{index:05}"),
                "properties": {
                    "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/role-{:04}", index % ROLES),
                    "principalId": principal, "scope": scopes[index % scopes.len()]
                }
            }))
            .expect("assignment")
        })
        .collect();
    let deny_assignments: Vec<DenyAssignment> = (0..DENIES)
        .map(|index| {
            serde_json::from_value(json!({
                "id": format!("deny-{index}"),
                "properties": {"denyAssignmentName": format!("Deny {index}"), "scope": GROUP_SCOPE,
                    "permissions": [{"dataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"]}],
                    "principals": [{"id": format!("group-{:04}", 300 + index * 7), "type": "Group"}],
                    "excludePrincipals": [{"id": "group-0499", "type": "Group"}]}
            }))
            .expect("deny")
        })
        .collect();
    let directory: HashMap<String, DirectoryObject> = group_ids
        .iter()
        .map(|id| (id.clone(), object(id, "group")))
        .collect();
    let data = VaultAccessData {
        vault_name: "kv-bench".into(),
        arm_id: vault.clone(),
        tenant_id: "tenant".into(),
        model: Some(PermissionModel::Rbac),
        network: Some(NetworkExposure::Open),
        role_assignments,
        role_definitions: role_definitions(),
        deny_assignments: Some(deny_assignments),
        directory,
        ..Default::default()
    };
    let inputs = WhoCanInputs {
        group_members,
        eligible: Some(Vec::new()),
    };
    let target = Target::Object {
        object_type: ObjectType::Secret,
        name: "app-secret".into(),
    };
    let get = ObjectType::Secret.operations()[0];

    let warm = who_can(&data, &inputs, &target, Some(get));
    let answer = &warm.operations[0];
    let mut timings = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        black_box(who_can(
            black_box(&data),
            black_box(&inputs),
            black_box(&target),
            Some(get),
        ));
        timings.push(started.elapsed());
    }
    timings.sort();
    let median = timings[RUNS / 2];
    println!(
        "who can {} {}: {PRINCIPALS} principals, {GROUPS} groups nested {DEPTH} deep, {ASSIGNMENTS} role assignments, {ROLES} roles, {DENIES} deny assignments",
        get.object_type.singular(),
        get.name
    );
    println!(
        "  answer: {} allowed, {} blocked by deny assignments, {} granting groups, {} self-granters",
        answer.allowed.len(),
        answer.blocked.len(),
        answer.groups.len(),
        warm.self_granters.len()
    );
    println!(
        "  median {:.2} ms, best {:.2} ms, worst {:.2} ms over {RUNS} runs; bound {:.0} ms",
        median.as_secs_f64() * 1e3,
        timings[0].as_secs_f64() * 1e3,
        timings[RUNS - 1].as_secs_f64() * 1e3,
        BOUND.as_secs_f64() * 1e3
    );
    if median > BOUND {
        println!("  MISSED: the median answer takes longer than the bound");
        std::process::exit(1);
    }
    println!("  met");
}
