//! UI: "Used by" in a secret's details and the warning before a delete, in the real `VaultscopeApp`
//! against the emulator through AccessKit: the function app's reference with its identity, verdict and
//! the platform's status; a stale platform status flagged; the apps a delete would break, named in the
//! confirmation.

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use vaultscope::ui::VaultscopeApp;

use common::TestCloud;
use common::ui::{app_harness, click_until_shown, step_until, type_into, wait_for_vault_tree};

fn open_secret(harness: &mut Harness<'static, VaultscopeApp>, vault: &str, secret: &str) {
    wait_for_vault_tree(harness);
    click_until_shown(harness, vault, "New secret…");
    type_into(harness, "Filter", secret);
    step_until(harness, "the filtered row", |harness| {
        harness.query_all_by_label(secret).next().is_some()
    });
    harness
        .get_all_by_label(secret)
        .next()
        .expect("the row")
        .click();
}

fn wait_for_text(harness: &mut Harness<'static, VaultscopeApp>, text: &str) {
    step_until(harness, text, |harness| {
        harness.query_all_by_label_contains(text).next().is_some()
    });
}

#[test]
fn a_secrets_details_show_the_apps_that_read_it_and_a_delete_names_them_first() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_secret(&mut harness, "kv-security-fn", "identity-bridge-ApiKey");
    wait_for_text(
        &mut harness,
        "SecurityFunctions (Function app), app setting IdentityBridge__ApiKey",
    );
    wait_for_text(
        &mut harness,
        "Resolves with its system-assigned identity; latest version",
    );
    wait_for_text(
        &mut harness,
        "may get it: Granted by access policy for SecurityFunctions",
    );
    wait_for_text(&mut harness, "Platform's last resolution: Resolved");
    assert!(
        harness
            .query_all_by_label_contains("Disagree:")
            .next()
            .is_none()
    );

    click_until_shown(
        &mut harness,
        "Delete…",
        "Delete secret identity-bridge-ApiKey",
    );
    wait_for_text(&mut harness, "Apps that would break");
    wait_for_text(
        &mut harness,
        "SecurityFunctions (Function app), app setting IdentityBridge__ApiKey reads identity-bridge-ApiKey (latest version) with its system-assigned identity",
    );
}

#[test]
fn a_reference_the_platform_still_calls_resolved_but_access_denies_is_flagged() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_secret(
        &mut harness,
        "kv-prod-payments",
        "PaymentsSvc--DbConnectionString",
    );
    wait_for_text(
        &mut harness,
        "orders-api (App Service app), app setting Payments__Db",
    );
    wait_for_text(
        &mut harness,
        "Resolves with its user-assigned identity id-orders-api",
    );
    wait_for_text(&mut harness, "may NOT get it");
    wait_for_text(&mut harness, "Disagree: the platform last resolved it");
}
