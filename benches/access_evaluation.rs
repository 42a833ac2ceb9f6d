//! Benchmark: evaluate one principal that belongs to 200 groups against 2,000 role assignments (at the
//! subscription, resource group, vault and single-object scopes, a third of them to the principal's groups),
//! 30 role definitions and 20 deny assignments, and compare with the bound of the access issue: ≤ 5 ms.
//!
//! Run with `cargo bench --bench access_evaluation`. Prints the figure beside its bound and exits non-zero
//! when the bound is missed.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;
use vaultscope::access::{
    NetworkExposure, PermissionModel, Subject, Target, VaultAccessData, evaluate,
};
use vaultscope::azure::access_models::{
    DenyAssignment, DirectoryObject, RoleAssignment, RoleDefinition,
};

const GROUPS: usize = 200;
const ASSIGNMENTS: usize = 2_000;
const ROLES: usize = 30;
const DENIES: usize = 20;
const RUNS: usize = 200;
const BOUND: Duration = Duration::from_millis(5);

const SUBSCRIPTION: &str = "/subscriptions/00000000-0000-0000-0000-0000000000s1";
const GROUP_SCOPE: &str =
    "/subscriptions/00000000-0000-0000-0000-0000000000s1/resourceGroups/rg-bench";

fn vault_id() -> String {
    format!("{GROUP_SCOPE}/providers/Microsoft.KeyVault/vaults/kv-bench")
}

fn role_definitions() -> Vec<RoleDefinition> {
    let patterns = [
        (vec!["Microsoft.KeyVault/vaults/*"], vec![]),
        (
            vec!["Microsoft.KeyVault/vaults/secrets/*"],
            vec!["Microsoft.KeyVault/vaults/secrets/delete"],
        ),
        (
            vec![
                "Microsoft.KeyVault/vaults/*/read",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
            vec![],
        ),
        (
            vec![
                "Microsoft.KeyVault/vaults/keys/*",
                "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
            ],
            vec![],
        ),
        (
            vec![
                "Microsoft.KeyVault/vaults/certificates/*",
                "Microsoft.KeyVault/vaults/certificatecas/*",
            ],
            vec![],
        ),
        (
            vec!["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
            vec![],
        ),
    ];
    (0..ROLES)
        .map(|index| {
            let (data, not_data) = &patterns[index % patterns.len()];
            serde_json::from_value(json!({
                "id": format!("/providers/Microsoft.Authorization/roleDefinitions/role-{index:04}"),
                "properties": {"roleName": format!("Role {index}"), "type": if index < 15 {"BuiltInRole"} else {"CustomRole"},
                    "permissions": [{"dataActions": data, "notDataActions": not_data}]}
            }))
            .expect("role")
        })
        .collect()
}

fn main() {
    let vault = vault_id();
    let group_ids: Vec<String> = (0..GROUPS)
        .map(|index| format!("group-{index:04}"))
        .collect();
    let scopes = [
        SUBSCRIPTION.to_owned(),
        GROUP_SCOPE.to_owned(),
        vault.clone(),
        format!("{vault}/secrets/app-secret"),
        format!("{GROUP_SCOPE}/providers/Microsoft.KeyVault/vaults/kv-other"),
    ];
    let role_assignments: Vec<RoleAssignment> = (0..ASSIGNMENTS)
        .map(|index| {
            // Every third assignment goes to one of the principal's groups; the rest to strangers.
            let principal = if index % 3 == 0 {
                group_ids[index % GROUPS].clone()
            } else {
                format!("stranger-{index:05}")
            };
            serde_json::from_value(json!({
                "id": format!("assignment-{index:05}"),
                "properties": {
                    "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/role-{:04}", index % ROLES),
                    "principalId": principal, "principalType": "Group",
                    "scope": scopes[index % scopes.len()]
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
                    "permissions": [{"dataActions": ["Microsoft.KeyVault/vaults/secrets/purge/action"]}],
                    "principals": [{"id": format!("group-{:04}", index * 7), "type": "Group"}],
                    "excludePrincipals": [{"id": "group-0001", "type": "Group"}]}
            }))
            .expect("deny")
        })
        .collect();
    let directory: HashMap<String, DirectoryObject> = group_ids
        .iter()
        .map(|id| {
            (
                id.clone(),
                serde_json::from_value(json!({"id": id, "@odata.type": "#microsoft.graph.group", "displayName": format!("Group {id}")}))
                    .expect("group"),
            )
        })
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
    let subject = Subject {
        principal: serde_json::from_value(
            json!({"id": "bench-user", "@odata.type": "#microsoft.graph.user", "displayName": "Bench User"}),
        )
        .expect("user"),
        tenant_id: None,
        group_ids,
    };
    let target = Target::Object {
        object_type: vaultscope::access::ObjectType::Secret,
        name: "app-secret".into(),
    };

    let warm = evaluate(&data, &subject, &target);
    let allowed = warm
        .verdicts
        .iter()
        .filter(|verdict| verdict.allowed)
        .count();
    let grants: usize = warm
        .verdicts
        .iter()
        .map(|verdict| verdict.grants.len())
        .sum();
    let mut timings = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        black_box(evaluate(
            black_box(&data),
            black_box(&subject),
            black_box(&target),
        ));
        timings.push(started.elapsed());
    }
    timings.sort();
    let median = timings[RUNS / 2];
    let worst = timings[RUNS - 1];
    println!(
        "access evaluation: {GROUPS} groups, {ASSIGNMENTS} role assignments, {ROLES} roles, {DENIES} deny assignments, {} operations ({allowed} allowed, {grants} grant paths)",
        warm.verdicts.len()
    );
    println!(
        "  median {:.3} ms, best {:.3} ms, worst {:.3} ms over {RUNS} runs; bound {:.1} ms",
        median.as_secs_f64() * 1e3,
        timings[0].as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        BOUND.as_secs_f64() * 1e3
    );
    if median > BOUND {
        println!("  MISSED: the median evaluation takes longer than the bound");
        std::process::exit(1);
    }
    println!("  met");
}
