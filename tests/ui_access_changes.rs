//! UI: access changes from the check in the real `VaultscopeApp` against the emulator: "Apply fix" for a
//! denied read of the signed-in identity (the dialog shows the change and its `az` equivalent; afterwards
//! the read is probed until the data plane allows it, with the emulator's propagation delay), and "Revoke"
//! of the Function app's access policy (the dialog names what it loses; the check then shows the 403).

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use vaultscope::access::{AccessRevocation, ObjectType};
use vaultscope::azure::access_models::PolicyPermissions;
use vaultscope::ui::VaultscopeApp;
use vaultscope::worker::access_changes::AccessChange;
use vaultscope::worker::{Command, Outcome};

use common::ui::{app_harness, click_until_shown, step_until, wait_for_vault_tree};
use common::{TestCloud, wait_for};

const ADA: &str = "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61";
const SECURITY_FUNCTIONS: &str = "5a1e2d3c-6b7a-4c44-8d9e-4b5a6f7e8d94";

fn arm_id(cloud: &TestCloud, vault: &str) -> String {
    let _ = cloud;
    let group = if vault == "kv-security-fn" {
        "rg-prod-security"
    } else {
        "rg-prod-app"
    };
    format!(
        "/subscriptions/3f2504e0-4f89-41d3-9a0c-0305e82c3301/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}"
    )
}

fn open_access_view(harness: &mut Harness<'static, VaultscopeApp>, vault: &str) {
    wait_for_vault_tree(harness);
    harness.get_by_label(vault).click();
    step_until(harness, "the vault selected", |harness| {
        harness
            .state()
            .state()
            .selected_vault()
            .is_some_and(|selected| selected.name() == vault)
    });
    click_until_shown(harness, "Access", "Check my access");
    step_until(harness, "the vault's access data", |harness| {
        harness.state().state().access.data.is_some()
    });
}

fn wait_for_evaluation(harness: &mut Harness<'static, VaultscopeApp>) {
    step_until(harness, "the evaluation", |harness| {
        let access = &harness.state().state().access;
        access.evaluation.is_some() && !access.check_status.is_loading()
    });
}

#[test]
fn apply_fix_grants_my_denied_read_and_waits_until_key_vault_allows_it() {
    let cloud = TestCloud::start();
    // Ada's own policy on kv-prod-web lists keys: take that away first, at once.
    let (worker, events) = cloud.signed_in_worker();
    let id = worker.send(Command::ChangeAccess {
        change: AccessChange::Revoke(Box::new(AccessRevocation::Policy {
            vault_name: "kv-prod-web".into(),
            vault_arm_id: arm_id(&cloud, "kv-prod-web"),
            tenant_id: cloud.emulator.demo_tenant_id(),
            object_id: ADA.into(),
            application_id: None,
            principal_name: "Ada".into(),
            permissions: PolicyPermissions {
                keys: vec!["list".into()],
                ..Default::default()
            },
            losing: Vec::new(),
        })),
        tenant_id: None,
    });
    assert!(matches!(wait_for(&events, id).1, Outcome::Done));
    cloud
        .emulator
        .set_access_propagation(std::time::Duration::from_millis(1500));

    let mut harness = app_harness(&cloud);
    open_access_view(&mut harness, "kv-prod-web");
    harness.get_by_label("Check my access").click();
    wait_for_evaluation(&mut harness);
    harness.get_by_label_contains("Keys: ").click();
    step_until(&mut harness, "the keys' verdicts", |harness| {
        harness.query_by_label("Apply fix for list…").is_some()
    });
    // The keys' verdicts open below the secrets', under the fold: scroll the button into view first.
    harness.get_by_label("Apply fix for list…").scroll_to_me();
    harness.run_steps(3);
    harness.get_by_label("Apply fix for list…").click();
    step_until(&mut harness, "the dialog", |harness| {
        harness.query_by_label("Apply").is_some()
    });
    // The change as it will be made: who, before → after, and the az command (by object id).
    harness.get_by_label_contains("Principal: Ada Operator (object id 0d5b7a91");
    harness.get_by_label("after:  create, get, list, update");
    // The dialog's command, and the same under the two verdicts behind it (list, and list versions).
    assert_eq!(
        harness
            .query_all_by_label(
                "az keyvault set-policy --name 'kv-prod-web' --resource-group 'rg-prod-app' --object-id '0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61' --key-permissions create get list update",
            )
            .count(),
        3
    );
    harness.get_by_label("Apply").click();
    step_until(&mut harness, "the wait for the data plane", |harness| {
        harness
            .query_by_label_contains("Waiting for Key Vault to allow key list on kv-prod-web")
            .is_some()
    });
    step_until(&mut harness, "the data plane allowing it", |harness| {
        harness
            .query_by_label_contains("Key Vault allows key list on kv-prod-web now")
            .is_some()
    });
    // The check ran again and says so too; the change log has the change.
    wait_for_evaluation(&mut harness);
    let app = harness.state().state();
    let evaluation = app.access.evaluation.as_deref().expect("evaluation");
    assert!(
        evaluation
            .verdict(ObjectType::Key, "list")
            .expect("list")
            .allowed
    );
    let logged = app.changes.log.last().expect("a log line").line();
    assert!(
        logged.contains("kv-prod-web") && logged.contains("done"),
        "{logged}"
    );
}

#[test]
fn revoke_names_what_the_app_loses_and_the_check_then_shows_the_denial() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_access_view(&mut harness, "kv-security-fn");
    harness.get_by_label("Object or client id").focus();
    harness.step();
    harness
        .get_by_label("Object or client id")
        .type_text(SECURITY_FUNCTIONS);
    harness.run_steps(2);
    harness.get_by_label("Check id").click();
    wait_for_evaluation(&mut harness);
    harness.get_by_label("Revoke…").click();
    step_until(&mut harness, "the revoke dialog", |harness| {
        harness.query_by_label("Revoke").is_some()
    });
    common::ui::wait_for_consumers(&mut harness);
    harness.get_by_label_contains(
        "SecurityFunctions (Function app), app setting IdentityBridge__ApiKey reads identity-bridge-ApiKey",
    );
    harness.get_by_label_contains("They lose: secret get, secret list");
    harness.get_by_label_contains(
        "az keyvault delete-policy --name 'kv-security-fn' --object-id '5a1e2d3c",
    );
    harness.get_by_label("Revoke").click();
    step_until(&mut harness, "the check again, denied", |harness| {
        let access = &harness.state().state().access;
        !access.check_status.is_loading()
            && access.evaluation.as_deref().is_some_and(|evaluation| {
                !evaluation
                    .verdict(ObjectType::Secret, "get")
                    .expect("get")
                    .allowed
            })
    });
    harness.get_by_label_contains(
        "No access policy gives SecurityFunctions or its groups secret `get`",
    );
}
