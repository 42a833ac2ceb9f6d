//! The access checker against the emulator's own enforcement: for every demo principal × vault × operation
//! (both permission models, nested groups, inherited, object-scoped and deny assignments, notDataActions),
//! the verdict Vaultscope computes equals what Key Vault does when that principal makes the call; and the
//! reverse: who-can lists a principal as allowed exactly when the emulator lets it make the call.

mod common;

use std::collections::BTreeMap;

use reqwest::{Client, Method};
use serde_json::{Value, json};
use vaultscope::access::{AccessEvaluation, AccessFix, ObjectType, Target};
use vaultscope::azure::models::VaultSummary;
use vaultscope::worker::access_changes::AccessChange;
use vaultscope::worker::{Command, EventKind, Outcome, PrincipalRef, WorkerHandle};

use common::{TestCloud, wait_for};

const PRINCIPALS: [(&str, &str); 8] = [
    ("ada", "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61"),
    ("ben", "1e6c8ba2-4d3f-4a22-8b7c-2f3e4d5c6b72"),
    ("chloe", "2f7d9cb3-5e4a-4b33-9c8d-3a4f5e6d7c83"),
    ("dan", "3a8e0dc4-6f5b-4c44-8d9e-4b5a6f7e8d84"),
    ("SecurityFunctions", "5a1e2d3c-6b7a-4c44-8d9e-4b5a6f7e8d94"),
    ("id-orders-api", "6b2f3e4d-7c8b-4d55-9eaf-5c6b7a8f9eb6"),
    ("ci-pipeline", "7c3a4f5e-8d9c-4e66-8fba-6d7c8b9a0fc7"),
    ("eve", "5e7f9a0b-8c1d-4e22-9f3a-6b7c8d9e0a15"),
];

/// (object type, permission, method, path; `{name}` is the object probed, body).
type Probe = (
    ObjectType,
    &'static str,
    Method,
    &'static str,
    Option<Value>,
);

fn vault_probes() -> Vec<Probe> {
    use ObjectType::{Certificate as C, Key as K, Secret as S};
    vec![
        (S, "list", Method::GET, "/secrets", None),
        (S, "get", Method::GET, "/secrets/{name}", None),
        (
            S,
            "list versions",
            Method::GET,
            "/secrets/{name}/versions",
            None,
        ),
        (
            S,
            "set",
            Method::PUT,
            "/secrets/{name}",
            Some(json!({"value": "probe"})),
        ),
        (S, "delete", Method::DELETE, "/secrets/matrix-absent", None),
        (
            S,
            "recover",
            Method::POST,
            "/deletedsecrets/matrix-absent/recover",
            None,
        ),
        (
            S,
            "backup",
            Method::POST,
            "/secrets/matrix-absent/backup",
            None,
        ),
        (
            S,
            "purge",
            Method::DELETE,
            "/deletedsecrets/matrix-absent",
            None,
        ),
        (K, "list", Method::GET, "/keys", None),
        (K, "get", Method::GET, "/keys/matrix-absent", None),
        (
            K,
            "create",
            Method::POST,
            "/keys/matrix-probe-key/create",
            Some(json!({"kty": "EC", "crv": "P-256"})),
        ),
        (K, "delete", Method::DELETE, "/keys/matrix-absent", None),
        (C, "list", Method::GET, "/certificates", None),
        (C, "get", Method::GET, "/certificates/matrix-absent", None),
        (
            C,
            "delete",
            Method::DELETE,
            "/certificates/matrix-absent",
            None,
        ),
    ]
}

struct Matrix {
    cloud: TestCloud,
    worker: WorkerHandle,
    events: std::sync::mpsc::Receiver<vaultscope::worker::Event>,
    http: Client,
}

impl Matrix {
    fn start() -> Self {
        let cloud = TestCloud::start();
        let (worker, events) = cloud.signed_in_worker();
        let http = cloud.http_client();
        Self {
            cloud,
            worker,
            events,
            http,
        }
    }

    /// The vaults of the demo tenant (Contoso): the principals of the matrix live there.
    fn vaults(&self) -> Vec<VaultSummary> {
        let id = self.worker.send(Command::ListSubscriptions);
        let (seen, outcome) = wait_for(&self.events, id);
        assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
        let home = self.cloud.emulator.demo_tenant_id();
        let subscriptions: Vec<String> = seen
            .into_iter()
            .flat_map(|kind| match kind {
                EventKind::SubscriptionsPage(page) => page,
                _ => Vec::new(),
            })
            .filter(|subscription| subscription.tenant_id.eq_ignore_ascii_case(&home))
            .map(|subscription| subscription.subscription_id)
            .collect();
        let mut vaults = Vec::new();
        for subscription_id in subscriptions {
            let id = self.worker.send(Command::ListVaults {
                subscription_id,
                tenant_id: None,
            });
            let (seen, outcome) = wait_for(&self.events, id);
            assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
            for kind in seen {
                if let EventKind::VaultsPage { vaults: page, .. } = kind {
                    vaults.extend(page);
                }
            }
        }
        vaults
    }

    fn check(&self, vault: &VaultSummary, object_id: &str, target: Target) -> AccessEvaluation {
        let id = self.worker.send(Command::CheckAccess {
            arm_id: vault.arm_id.clone().expect("ARM id"),
            subscription_name: None,
            tenant_id: None,
            principal: PrincipalRef::Id(object_id.to_owned()),
            target,
        });
        let (seen, outcome) = wait_for(&self.events, id);
        assert!(
            matches!(outcome, Outcome::Done),
            "check {}: {outcome:?}",
            vault.name
        );
        seen.into_iter()
            .find_map(|kind| match kind {
                EventKind::AccessChecked { evaluation, .. } => Some(*evaluation),
                _ => None,
            })
            .expect("an evaluation")
    }

    /// Whether the emulator lets `object_id` make the call: a 403 naming a permission means no.
    fn enforced(&self, vault: &VaultSummary, object_id: &str, probe: &Probe, name: &str) -> bool {
        let token = self.cloud.token(object_id, "vault");
        let (_, _, method, path, body) = probe;
        let url = format!(
            "{}{}?api-version=7.6",
            vault.uri.as_str().trim_end_matches('/'),
            path.replace("{name}", name)
        );
        self.cloud.runtime.block_on(async {
            let mut request = self.http.request(method.clone(), &url).bearer_auth(token);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.expect("response");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let inner = body
                .pointer("/error/innererror/code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            assert_ne!(inner, "ForbiddenByFirewall", "{url}: firewall");
            !(status == 403 && (inner == "ForbiddenByRbac" || inner == "AccessDenied"))
        })
    }
}

impl Matrix {
    /// Makes an access change as Ada (the signed-in operator).
    fn change(&self, change: AccessChange) {
        let description = change.describe();
        let id = self.worker.send(Command::ChangeAccess {
            change,
            tenant_id: None,
        });
        let (_, outcome) = wait_for(&self.events, id);
        assert!(
            matches!(outcome, Outcome::Done),
            "{description}: {outcome:?}"
        );
    }

    /// Every probe's verdict for `object_id` on `vault` equals what the emulator enforces; returns the
    /// evaluation.
    fn assert_check_matches_enforcement(
        &self,
        vault: &VaultSummary,
        object_id: &str,
    ) -> AccessEvaluation {
        let evaluation = self.check(vault, object_id, Target::Vault);
        let mut mismatches = Vec::new();
        for probe in vault_probes() {
            let (object_type, permission, ..) = &probe;
            let verdict = evaluation
                .verdict(*object_type, permission)
                .expect("verdict");
            let enforced = self.enforced(vault, object_id, &probe, "matrix-absent");
            if verdict.allowed != enforced {
                mismatches.push(format!(
                    "{object_type:?} {permission}: checker {}, emulator {enforced}",
                    verdict.allowed
                ));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} on {}: {}",
            object_id,
            vault.name,
            mismatches.join("; ")
        );
        evaluation
    }
}

fn denied_fix(
    evaluation: &AccessEvaluation,
    object_type: ObjectType,
    permission: &str,
) -> AccessFix {
    let verdict = evaluation
        .verdict(object_type, permission)
        .expect("verdict");
    assert!(
        !verdict.allowed,
        "{object_type:?} {permission} is denied before the fix"
    );
    verdict.fix.clone().expect("a fix")
}

/// After each applied fix (an access-policy add, a role assignment) and each revocation, the emulator
/// allows exactly what the check says, and nothing more.
#[test]
fn applied_fixes_and_revocations_leave_the_check_equal_to_enforcement() {
    let matrix = Matrix::start();
    let vaults = matrix.vaults();
    let vault = |name: &str| {
        vaults
            .iter()
            .find(|v| v.name == name)
            .expect("vault")
            .clone()
    };
    let (ben, dan, functions) = (PRINCIPALS[1].1, PRINCIPALS[3].1, PRINCIPALS[4].1);

    // Access policies: Ben may read secrets on kv-prod-web through a group; the fix adds set to his own
    // entry, keeping what it had.
    let web = vault("kv-prod-web");
    let before = matrix.assert_check_matches_enforcement(&web, ben);
    let fix = denied_fix(&before, ObjectType::Secret, "set");
    let AccessFix::Policy { after, .. } = &fix else {
        panic!("{fix:?}")
    };
    assert!(after.contains(&"set".to_owned()));
    matrix.change(AccessChange::Grant(Box::new(fix)));
    let after_fix = matrix.assert_check_matches_enforcement(&web, ben);
    assert!(
        after_fix
            .verdict(ObjectType::Secret, "set")
            .expect("set")
            .allowed
    );
    let newly: Vec<String> = after_fix
        .verdicts
        .iter()
        .zip(&before.verdicts)
        .filter(|(now, then)| now.allowed && !then.allowed)
        .map(|(now, _)| format!("{:?} {}", now.operation.object_type, now.operation.name))
        .collect();
    assert_eq!(
        newly,
        ["Secret set"],
        "exactly the fixed operation, nothing more"
    );

    // Azure RBAC: Dan may not read secrets on kv-dev-shared; the fix assigns Key Vault Secrets User there.
    let shared = vault("kv-dev-shared");
    let before = matrix.assert_check_matches_enforcement(&shared, dan);
    let fix = denied_fix(&before, ObjectType::Secret, "get");
    assert!(
        matches!(&fix, AccessFix::Role { role_name, .. } if role_name == "Key Vault Secrets User"),
        "{fix:?}"
    );
    matrix.change(AccessChange::Grant(Box::new(fix)));
    let after_fix = matrix.assert_check_matches_enforcement(&shared, dan);
    assert!(
        after_fix
            .verdict(ObjectType::Secret, "get")
            .expect("get")
            .allowed
    );

    // Revoke that assignment: back to denied.
    let revocation = after_fix
        .verdicts
        .iter()
        .flat_map(|verdict| &verdict.grants)
        .find_map(|grant| match grant {
            vaultscope::access::Grant::Role(role) if role.role_name == "Key Vault Secrets User" => {
                Some(vaultscope::access::AccessRevocation::Role {
                    assignment_id: role.assignment_id.clone(),
                    role_name: role.role_name.clone(),
                    scope: role.level.describe(),
                    principal_name: "Dan".into(),
                    losing: Vec::new(),
                })
            }
            _ => None,
        })
        .expect("the new assignment");
    matrix.change(AccessChange::Revoke(Box::new(revocation)));
    let revoked = matrix.assert_check_matches_enforcement(&shared, dan);
    assert!(
        !revoked
            .verdict(ObjectType::Secret, "get")
            .expect("get")
            .allowed
    );

    // The seeds' story: remove the Function app's access policy on kv-security-fn; it loses get and list.
    let security = vault("kv-security-fn");
    let before = matrix.assert_check_matches_enforcement(&security, functions);
    assert!(
        before
            .verdict(ObjectType::Secret, "get")
            .expect("get")
            .allowed
    );
    let data = {
        let id = matrix.worker.send(Command::LoadVaultAccess {
            arm_id: security.arm_id.clone().expect("arm id"),
            subscription_name: None,
            tenant_id: None,
        });
        let (seen, _) = wait_for(&matrix.events, id);
        seen.into_iter()
            .find_map(|kind| match kind {
                EventKind::VaultAccess { data, .. } => Some(*data),
                _ => None,
            })
            .expect("access data")
    };
    let entry = data
        .access_policies
        .iter()
        .find(|entry| entry.object_id.eq_ignore_ascii_case(functions))
        .expect("the app's policy")
        .clone();
    matrix.change(AccessChange::Revoke(Box::new(
        vaultscope::access::AccessRevocation::Policy {
            vault_name: security.name.clone(),
            vault_arm_id: security.arm_id.clone().expect("arm id"),
            tenant_id: entry.tenant_id.clone(),
            object_id: entry.object_id.clone(),
            application_id: None,
            principal_name: "SecurityFunctions".into(),
            permissions: entry.permissions.clone(),
            losing: Vec::new(),
        },
    )));
    let after = matrix.assert_check_matches_enforcement(&security, functions);
    assert!(
        !after
            .verdict(ObjectType::Secret, "get")
            .expect("get")
            .allowed
    );
    assert!(
        after
            .verdict(ObjectType::Secret, "get")
            .expect("get")
            .explanation("SecurityFunctions")
            .starts_with("No access policy gives SecurityFunctions or its groups secret `get`"),
    );
}

impl Matrix {
    fn who_can(&self, vault: &VaultSummary, target: Target) -> vaultscope::access::WhoCan {
        let id = self.worker.send(Command::WhoCan {
            arm_id: vault.arm_id.clone().expect("ARM id"),
            subscription_name: None,
            tenant_id: None,
            target,
            operation: None,
        });
        let (seen, outcome) = wait_for(&self.events, id);
        assert!(
            matches!(outcome, Outcome::Done),
            "who-can {}: {outcome:?}",
            vault.name
        );
        seen.into_iter()
            .find_map(|kind| match kind {
                EventKind::WhoCan { answer, .. } => Some(*answer),
                _ => None,
            })
            .expect("an answer")
    }
}

#[test]
fn who_can_equals_emulator_enforcement_for_every_demo_principal() {
    let matrix = Matrix::start();
    let (mut compared, mut allowed_seen, mut mismatches) = (0, 0, Vec::new());
    for vault in matrix.vaults() {
        let firewalled = vault
            .properties
            .network_acls
            .as_ref()
            .and_then(|acls| acls.default_action.as_deref())
            == Some("Deny");
        if firewalled {
            continue;
        }
        let mut targets = vec![(Target::Vault, "matrix-absent".to_owned())];
        if vault.name == "kv-prod-payments" {
            let name = "payments-svc-ApiKey".to_owned();
            targets.push((
                Target::Object {
                    object_type: ObjectType::Secret,
                    name: name.clone(),
                },
                name,
            ));
        }
        for (target, name) in targets {
            let answer = matrix.who_can(&vault, target.clone());
            for probe in vault_probes() {
                let (object_type, permission, ..) = &probe;
                let Some(operation) = answer.operations.iter().find(|o| {
                    o.operation.object_type == *object_type
                        && o.operation.name.eq_ignore_ascii_case(permission)
                }) else {
                    // An object target answers its own type's operations only.
                    assert!(
                        matches!(target, Target::Object { .. }),
                        "{permission} unanswered"
                    );
                    continue;
                };
                for (label, object_id) in PRINCIPALS {
                    let listed = operation
                        .allowed
                        .iter()
                        .any(|p| p.id.eq_ignore_ascii_case(object_id));
                    let enforced = matrix.enforced(&vault, object_id, &probe, &name);
                    compared += 1;
                    allowed_seen += usize::from(enforced);
                    if listed != enforced {
                        mismatches.push(format!(
                            "{label} {object_type:?} {permission} on {} ({target:?}): who-can {listed}, emulator {enforced}",
                            vault.name
                        ));
                    }
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared}:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        allowed_seen > 50 && allowed_seen < compared,
        "{allowed_seen} of {compared} allowed"
    );
}

#[test]
fn checker_verdicts_equal_emulator_enforcement() {
    let matrix = Matrix::start();
    let vaults = matrix.vaults();
    assert!(vaults.len() >= 6, "{} vaults", vaults.len());
    let mut compared = 0;
    let mut allowed_seen = 0;
    let mut mismatches = Vec::new();
    let mut evaluations: BTreeMap<(String, String, String), AccessEvaluation> = BTreeMap::new();
    for vault in &vaults {
        let firewalled = vault
            .properties
            .network_acls
            .as_ref()
            .and_then(|acls| acls.default_action.as_deref())
            == Some("Deny");
        // Object targets: the secrets with object-scoped assignments in the demo story, and a plain one.
        let mut targets = vec![(Target::Vault, "matrix-absent".to_owned())];
        if vault.name == "kv-prod-payments" {
            for name in ["payments-svc-ApiKey", "payments-svc-FeatureFlags"] {
                targets.push((
                    Target::Object {
                        object_type: ObjectType::Secret,
                        name: name.to_owned(),
                    },
                    name.to_owned(),
                ));
            }
        }
        for (label, object_id) in PRINCIPALS {
            for (target, name) in &targets {
                let evaluation = matrix.check(vault, object_id, target.clone());
                if firewalled {
                    assert!(
                        evaluation
                            .caveats
                            .iter()
                            .any(|caveat| caveat.contains("firewall")),
                        "{}: {:?}",
                        vault.name,
                        evaluation.caveats
                    );
                    continue;
                }
                for probe in vault_probes() {
                    let (object_type, permission, ..) = &probe;
                    let verdict = evaluation
                        .verdict(*object_type, permission)
                        .expect("verdict");
                    let enforced = matrix.enforced(vault, object_id, &probe, name);
                    compared += 1;
                    allowed_seen += usize::from(enforced);
                    if verdict.allowed != enforced {
                        mismatches.push(format!(
                            "{label} {object_type:?} {permission} on {} ({target:?}): checker {} ({}), emulator {}",
                            vault.name,
                            verdict.allowed,
                            verdict.explanation(label),
                            enforced
                        ));
                    }
                }
                evaluations.insert(
                    (vault.name.clone(), label.to_owned(), name.clone()),
                    evaluation,
                );
            }
        }
    }
    eprintln!(
        "compared {compared} verdicts with enforcement ({allowed_seen} allowed) over {} vaults",
        vaults.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(compared >= 500, "compared {compared}");
    assert!(
        allowed_seen > 50 && allowed_seen < compared - 50,
        "a matrix with both answers: {allowed_seen} of {compared} allowed"
    );

    // The matrix covers each way of being granted or denied, and explains it.
    let explain = |vault: &str, who: &str, name: &str, object_type, permission: &str| {
        let evaluation = &evaluations[&(vault.to_owned(), who.to_owned(), name.to_owned())];
        let verdict = evaluation
            .verdict(object_type, permission)
            .expect("verdict");
        (
            verdict.allowed,
            verdict.explanation(who),
            verdict.notes.join(" | "),
            verdict.fix.clone(),
        )
    };
    use ObjectType::Secret as S;
    // Nested groups at resource-group scope (ben: Ops On-Call ⊂ Platform Operators).
    let (allowed, why, ..) = explain("kv-prod-orders", "ben", "matrix-absent", S, "set");
    assert!(
        allowed && why.contains("group Platform Operators at resource group rg-prod-app"),
        "{why}"
    );
    // The deny assignment on Ops On-Call wins over the role.
    let (allowed, why, _, fix) = explain("kv-prod-orders", "ben", "matrix-absent", S, "delete");
    assert!(
        !allowed && why.starts_with("Blocked by deny assignment"),
        "{why}"
    );
    assert!(fix.is_none());
    // Group at vault scope (dan: Payments Developers ⊂ Prod Secret Readers).
    let (allowed, why, ..) = explain("kv-prod-orders", "dan", "matrix-absent", S, "get");
    assert!(
        allowed && why.contains("group Prod Secret Readers at this vault"),
        "{why}"
    );
    // Object-scoped: only on that secret, and listing never.
    let (allowed, _, notes, fix) = explain(
        "kv-prod-payments",
        "id-orders-api",
        "matrix-absent",
        S,
        "get",
    );
    assert!(
        !allowed && notes.contains("secret payments-svc-ApiKey"),
        "{notes}"
    );
    assert!(fix.is_some_and(|fix| {
        matches!(&fix, AccessFix::Role { role_name, .. } if role_name == "Key Vault Secrets User")
            && fix
                .az_command()
                .starts_with("az role assignment create --role '4633458b-")
    }));
    let (allowed, why, ..) = explain(
        "kv-prod-payments",
        "id-orders-api",
        "payments-svc-ApiKey",
        S,
        "get",
    );
    assert!(
        allowed && why.contains("secret payments-svc-ApiKey only"),
        "{why}"
    );
    // A custom role's notDataActions.
    let (allowed, _, notes, _) =
        explain("kv-dev-shared", "ci-pipeline", "matrix-absent", S, "delete");
    assert!(!allowed && notes.contains("notDataActions"), "{notes}");
    // Access policies via a group, and the set-policy fix.
    let (allowed, why, ..) = explain("kv-prod-web", "ben", "matrix-absent", S, "get");
    assert!(allowed && why.contains("access policy for group"), "{why}");
    let (allowed, _, _, fix) = explain("kv-prod-web", "ben", "matrix-absent", S, "set");
    assert!(
        !allowed
            && fix.is_some_and(|fix| fix
                .az_command()
                .starts_with("az keyvault set-policy --name 'kv-prod-web'"))
    );
}

#[test]
fn vault_access_view_data_and_principal_search() {
    let matrix = Matrix::start();
    let vaults = matrix.vaults();
    let payments = vaults
        .iter()
        .find(|vault| vault.name == "kv-prod-payments")
        .expect("kv-prod-payments");
    let id = matrix.worker.send(Command::LoadVaultAccess {
        arm_id: payments.arm_id.clone().expect("id"),
        subscription_name: Some("Contoso Production".into()),
        tenant_id: None,
    });
    let (seen, outcome) = wait_for(&matrix.events, id);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let data = seen
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::VaultAccess { data, .. } => Some(data),
            _ => None,
        })
        .expect("data");
    assert!(data.gaps.is_empty(), "{:?}", data.gaps);
    let levels: Vec<String> = data
        .role_assignments
        .iter()
        .map(|assignment| {
            format!(
                "{} -> {} @ {}",
                data.role(&assignment.role_guid())
                    .map(|role| role.properties.role_name.clone())
                    .unwrap_or_default(),
                data.principal_name(&assignment.properties.principal_id),
                data.scope_level(&assignment.properties.scope).describe()
            )
        })
        .collect();
    let all = levels.join("\n");
    for expected in [
        "Key Vault Secrets Officer -> Platform Operators @ resource group rg-prod-app",
        "Key Vault Certificates Officer -> Ada Operator @ this vault",
        "Key Vault Secrets User -> id-orders-api @ secret payments-svc-ApiKey only",
        "Reader -> Platform Operators @ subscription Contoso Production",
    ] {
        assert!(all.contains(expected), "missing {expected} in\n{all}");
    }
    let denies = data
        .deny_assignments
        .as_ref()
        .expect("deny assignments readable");
    assert_eq!(denies.len(), 1);

    // Search finds users, groups and managed identities by name.
    let id = matrix
        .worker
        .send(Command::SearchPrincipals { text: "ops".into() });
    let (seen, outcome) = wait_for(&matrix.events, id);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let found: Vec<String> = seen
        .into_iter()
        .flat_map(|kind| match kind {
            EventKind::PrincipalsFound { principals, .. } => principals,
            _ => Vec::new(),
        })
        .map(|object| format!("{} ({})", object.name(), object.kind().label()))
        .collect();
    assert!(
        found.contains(&"Ops On-Call (group)".to_owned()),
        "{found:?}"
    );
    let id = matrix.worker.send(Command::SearchPrincipals {
        text: "Security".into(),
    });
    let (seen, _) = wait_for(&matrix.events, id);
    let found: Vec<String> = seen
        .into_iter()
        .flat_map(|kind| match kind {
            EventKind::PrincipalsFound { principals, .. } => principals,
            _ => Vec::new(),
        })
        .map(|object| format!("{} ({})", object.name(), object.kind().label()))
        .collect();
    assert!(
        found.contains(&"SecurityFunctions (managed identity)".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"Security Auditors (group)".to_owned()),
        "{found:?}"
    );

    // A client id resolves to its service principal; "me" is the signed-in demo user; junk is explained.
    let check = |principal| {
        let id = matrix.worker.send(Command::CheckAccess {
            arm_id: payments.arm_id.clone().expect("id"),
            subscription_name: None,
            tenant_id: None,
            principal,
            target: Target::Vault,
        });
        wait_for(&matrix.events, id)
    };
    let (seen, outcome) = check(PrincipalRef::Id(
        "ad4a2f3e-8b7c-4e66-8f1a-6d7c8b9a0fb7".into(),
    ));
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(seen.iter().any(|kind| matches!(kind, EventKind::AccessChecked { evaluation, .. } if evaluation.principal.name() == "id-orders-api")));
    let (seen, outcome) = check(PrincipalRef::Me);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(seen.iter().any(|kind| matches!(kind, EventKind::AccessChecked { evaluation, .. } if evaluation.principal.name() == "Ada Operator")));
    let (_, outcome) = check(PrincipalRef::Id("not-a-guid".into()));
    assert!(
        matches!(&outcome, Outcome::Failed(error) if error.to_string().contains("not an object id")),
        "{outcome:?}"
    );
    let (_, outcome) = check(PrincipalRef::Id(
        "99999999-9999-4999-8999-999999999999".into(),
    ));
    assert!(
        matches!(&outcome, Outcome::Failed(error) if error.to_string().contains("no user, group or service principal")),
        "{outcome:?}"
    );
}

/// With the emulator's propagation delay, a read granted to the signed-in identity is refused by the data
/// plane at first and allowed once the change has propagated; the wait reports the elapsed time.
#[test]
fn a_granted_read_is_probed_until_the_data_plane_allows_it() {
    let matrix = Matrix::start();
    let vaults = matrix.vaults();
    let web = vaults
        .iter()
        .find(|v| v.name == "kv-prod-web")
        .expect("vault");
    // Ada's own policy lists keys; take that away first (at once), then grant it back with a delay.
    let ada = PRINCIPALS[0].1;
    matrix.change(AccessChange::Revoke(Box::new(
        vaultscope::access::AccessRevocation::Policy {
            vault_name: web.name.clone(),
            vault_arm_id: web.arm_id.clone().expect("arm id"),
            tenant_id: matrix.cloud.emulator.demo_tenant_id(),
            object_id: ada.into(),
            application_id: None,
            principal_name: "Ada".into(),
            permissions: vaultscope::azure::access_models::PolicyPermissions {
                keys: vec!["list".into()],
                ..Default::default()
            },
            losing: Vec::new(),
        },
    )));
    matrix
        .cloud
        .emulator
        .set_access_propagation(std::time::Duration::from_millis(2500));
    let id = matrix.worker.send(Command::CheckAccess {
        arm_id: web.arm_id.clone().expect("arm id"),
        subscription_name: None,
        tenant_id: None,
        principal: PrincipalRef::Me,
        target: Target::Vault,
    });
    let (seen, _) = wait_for(&matrix.events, id);
    let evaluation = seen
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::AccessChecked { evaluation, .. } => Some(*evaluation),
            _ => None,
        })
        .expect("evaluation");
    let fix = denied_fix(&evaluation, ObjectType::Key, "list");
    matrix.change(AccessChange::Grant(Box::new(fix)));
    let probe = vaultscope::worker::access_changes::AccessProbe::for_operation(
        web.uri.clone(),
        ObjectType::Key,
        "list",
        None,
    )
    .expect("list can be probed");
    let id = matrix.worker.send(Command::AwaitAccess { probe });
    let (seen, outcome) = wait_for(&matrix.events, id);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let tries: Vec<(std::time::Duration, bool)> = seen
        .into_iter()
        .filter_map(|kind| match kind {
            EventKind::AccessProbed { elapsed, allowed } => Some((elapsed, allowed)),
            _ => None,
        })
        .collect();
    assert!(
        !tries[0].1,
        "refused before the change propagated: {tries:?}"
    );
    let (elapsed, allowed) = *tries.last().expect("a last try");
    assert!(allowed, "{tries:?}");
    assert!(
        elapsed >= std::time::Duration::from_millis(1500),
        "{tries:?}"
    );
    // The `get` probe reads no value: it asks for a version that cannot exist.
    assert!(
        vaultscope::worker::access_changes::AccessProbe::for_operation(
            web.uri.clone(),
            ObjectType::Secret,
            "set",
            None
        )
        .is_none(),
        "a write is never probed"
    );
}
