//! UI: the Access tab in the real window's code path, driven with `egui_kittest` against the emulator: the
//! vault's policies and assignments, checking a principal found by search, and the one-click explanation of
//! a 403 met while browsing (with the least-privilege fix), and who can: groups folded and unfolded, a
//! deny assignment's block, a PIM-eligible principal apart.

mod common;

use egui_kittest::kittest::Queryable;
use reqwest::Method;
use serde_json::json;

use common::TestCloud;
use common::ui::{app_harness, step_until, wait_for_vault_tree};

const TENANT: &str = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const PROD: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const ADA: &str = "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61";

#[test]
fn access_tab_shows_assignments_and_checks_a_searched_principal() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label("kv-prod-payments").click();
    step_until(&mut harness, "the centre tabs", |harness| {
        harness.query_by_label("Access").is_some()
    });
    harness.get_by_label("Access").click();
    step_until(&mut harness, "the role assignments", |harness| {
        harness
            .query_by_label_contains("Role assignments (")
            .is_some()
    });
    harness.get_by_label("Permission model: Azure RBAC");
    harness.get_by_label("On single objects (2)");
    harness.get_by_label("secret payments-svc-ApiKey only");
    harness.get_by_label_contains("Deny assignments (1)");

    harness.get_by_label("Find").focus();
    harness.step();
    harness.get_by_label("Find").type_text("Dan");
    step_until(&mut harness, "the search results", |harness| {
        harness.query_by_label("Dan Contractor (user)").is_some()
    });
    harness.get_by_label("Dan Contractor (user)").click();
    step_until(&mut harness, "Dan's verdicts", |harness| {
        harness
            .query_by_label_contains("Secrets: 0 of 9 secret operations allowed")
            .is_some()
    });
    // Dan reads kv-prod-orders through nested groups, but nothing here: every secret operation denied,
    // with a fix to copy.
    harness.get_by_label("Copy fix for get").click();
    step_until(&mut harness, "the copy notice", |harness| {
        harness
            .query_by_label_contains("Copied the az command")
            .is_some()
    });
}

#[test]
fn a_403_while_browsing_opens_the_check_for_me_with_the_fix() {
    let cloud = TestCloud::start();
    // Take list and get away from Ada's access policy on kv-prod-web, as an operator might by mistake.
    let http = cloud.http_client();
    let port = cloud.emulator.port();
    let token = cloud.token(ADA, "management");
    let url = format!(
        "https://management.localhost:{port}/subscriptions/{PROD}/resourceGroups/rg-prod-app/providers/Microsoft.KeyVault/vaults/kv-prod-web/accessPolicies/remove?api-version=2026-04-01"
    );
    let status = cloud.runtime.block_on(async {
        http.request(Method::PUT, &url)
            .bearer_auth(token)
            .json(
                &json!({"properties": {"accessPolicies": [{"tenantId": TENANT, "objectId": ADA,
                "permissions": {"secrets": ["get", "list"]}}]}}),
            )
            .send()
            .await
            .expect("response")
            .status()
    });
    assert!(status.is_success(), "{status}");

    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label("kv-prod-web").click();
    step_until(&mut harness, "the 403 help", |harness| {
        harness.query_by_label("Why? Check my access").is_some()
    });
    harness.get_by_label("You were denied secret list here.");
    harness.get_by_label("Why? Check my access").click();
    step_until(&mut harness, "my verdicts", |harness| {
        harness
            .query_by_label_contains("Secrets: 5 of 9 secret operations allowed")
            .is_some()
    });
    harness.get_by_label_contains("Ada Operator (user, 0d5b7a91");
    // Listing the vault and listing versions both need `list`: both denied, both fixed the same way.
    assert_eq!(
        harness
            .query_all_by_label(
                // An access-policy vault: the denial names the policy permission, not an RBAC action.
                "No access policy gives Ada Operator or its groups secret `list`"
            )
            .count(),
        2
    );
    assert_eq!(
        harness
            .query_all_by_label(
                "az keyvault set-policy --name 'kv-prod-web' --resource-group 'rg-prod-app' --object-id '0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61' --secret-permissions backup delete list recover restore set"
            )
            .count(),
        2
    );
    harness.get_by_label("Copy fix for list").click();
    step_until(&mut harness, "the copy notice", |harness| {
        harness
            .query_by_label_contains("Copied the az command")
            .is_some()
    });
}

#[test]
fn snapshot_of_the_access_check() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label("kv-prod-orders").click();
    step_until(&mut harness, "the centre tabs", |harness| {
        harness.query_by_label("Access").is_some()
    });
    harness.get_by_label("Access").click();
    step_until(&mut harness, "the access data", |harness| {
        harness
            .query_by_label_contains("Role assignments (")
            .is_some()
    });
    harness.get_by_label("Object or client id").focus();
    harness.step();
    // Ben, by object id.
    harness
        .get_by_label("Object or client id")
        .type_text("1e6c8ba2-4d3f-4a22-8b7c-2f3e4d5c6b72");
    harness.step();
    harness.get_by_label("Check id").click();
    step_until(&mut harness, "Ben's verdicts", |harness| {
        harness
            .query_by_label_contains("Ben Developer (user")
            .is_some()
    });
    // Delete and purge, both blocked by the deny assignment on Ops On-Call.
    assert_eq!(
        harness
            .query_all_by_label_contains(
                "Blocked by deny assignment 'On-call may not delete or purge prod secrets'"
            )
            .count(),
        2
    );
    harness.run_steps(30);
    harness.snapshot("access_check_ben_on_kv_prod_orders");
}

#[test]
fn who_can_delete_folds_groups_and_shows_blocks_and_eligibility() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label("kv-prod-orders").click();
    step_until(&mut harness, "the centre tabs", |harness| {
        harness.query_by_label("Access").is_some()
    });
    harness.get_by_label("Access").click();
    // The vault's access data arrives after the buttons and pushes them down: wait for it before clicking.
    step_until(
        &mut harness,
        "the who-can buttons below the access data",
        |harness| {
            harness.query_by_label("secret delete").is_some()
                && harness
                    .query_by_label_contains("Role assignments (")
                    .is_some()
        },
    );
    harness.get_by_label("secret delete").click();
    step_until(&mut harness, "the answer", |harness| {
        harness.query_by_label_contains("secret delete: ").is_some()
    });
    harness.get_by_label_contains("Blocked: Ben Developer (user) by deny assignment");
    harness.get_by_label_contains("Eligible, not active: Chloe Auditor (user)");
    // Ada holds delete only through Platform Operators: folded, the group's row stands for her.
    let group = "[+] group Platform Operators (3 members): Key Vault Secrets Officer at resource group rg-prod-app";
    harness.get_by_label(group);
    assert!(harness.query_by_label("Ada Operator (user)").is_none());
    harness.get_by_label(group).click();
    // Unfolded, the row says so.

    step_until(&mut harness, "the group unfolded", |harness| {
        harness.query_by_label("Ada Operator (user)").is_some()
    });
    harness.get_by_label_contains(
        "Key Vault Secrets Officer at resource group rg-prod-app, via group Platform Operators",
    );
}
