//! UI: the real `VaultscopeApp`, its worker talking to the emulator, driven through AccessKit with
//! `egui_kittest`: sign in as the demo user, click a vault, find its secrets in the table, open one.

mod common;

use egui_kittest::kittest::Queryable;

use common::TestCloud;
use common::ui::{app_harness, click_until_shown, secret_count, step_until, wait_for_vault_tree};

#[test]
fn clicking_a_vault_lists_its_secrets_and_a_secret_shows_its_details() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);

    wait_for_vault_tree(&mut harness);
    harness.get_by_label_contains("Signed in as Ada Operator");
    harness.get_by_label(
        "Select a vault on the left, paste a URI, or press Ctrl+K to search loaded vaults.",
    );

    harness.get_by_label("kv-prod-orders").click();
    step_until(&mut harness, "the secrets of kv-prod-orders", |harness| {
        harness.query_by_label("inventory-ApiKey").is_some()
    });
    let expected = format!("{} secrets", secret_count(&cloud, "kv-prod-orders"));
    harness.get_by_label(&expected);
    // Secrets of another vault never leak into this table.
    assert!(harness.query_by_label("billing-ClientSecret").is_none());

    harness.get_by_label("inventory-ApiKey").click();
    step_until(
        &mut harness,
        "the versions of inventory-ApiKey",
        |harness| harness.query_by_label_contains("Versions (").is_some(),
    );
    harness.get_by_label("Copy URI");
    harness.get_by_label("Copy versioned URI");
    harness.get_by_label("Reveal value");
    harness.get_by_label("Copy az command").click();
    step_until(&mut harness, "the copy notice", |harness| {
        harness.query_by_label("Copied the az command").is_some()
    });
}

#[test]
fn filtering_narrows_the_table() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label("kv-prod-payments").click();
    let total = secret_count(&cloud, "kv-prod-payments");
    let all = format!("{total} secrets");
    step_until(&mut harness, "the secrets", |harness| {
        harness.query_by_label(&all).is_some()
    });
    harness.get_by_label("Filter").focus();
    harness.step();
    harness.get_by_label("Filter").type_text("catalog-Api");
    step_until(&mut harness, "the filtered count", |harness| {
        harness
            .query_by_label(&format!("1 of {total} secrets"))
            .is_some()
    });
    harness.get_by_label("catalog-ApiKey");
    assert!(harness.query_by_label("billing-CosmosKey").is_none());
}

#[test]
fn snapshot_of_the_signed_in_window() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    // Let the spinners and collapsing animations settle before the picture.
    harness.run_steps(30);
    harness.snapshot("signed_in_vault_tree");
}

/// A content type and a tag holding a bidi override and a zero-width space are drawn with those
/// characters escaped, never as-is, in the table and in the details.
#[test]
fn untrusted_text_is_drawn_escaped() {
    let cloud = TestCloud::start();
    let ada = "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61";
    let token = cloud.token(ada, "vault");
    let url = format!(
        "https://kv-dev-sandbox.vault.localhost:{}/secrets/bidi-test?api-version=7.5",
        cloud.emulator.port()
    );
    let body = serde_json::json!({
        "value": "x",
        "contentType": "invoice\u{202E}txt.exe",
        "tags": {"owner": "ops\u{200B}team"}
    });
    let client = cloud.http_client();
    let status = cloud.runtime.block_on(async {
        client
            .put(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("put")
            .status()
    });
    assert!(status.is_success(), "{status}");

    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label("kv-dev-sandbox").click();
    // Every page in, so no row moves under the click.
    let all = format!("{} secrets", secret_count(&cloud, "kv-dev-sandbox"));
    step_until(&mut harness, "the whole list", |harness| {
        harness.query_by_label(&all).is_some() && harness.query_by_label("bidi-test").is_some()
    });
    harness.get_by_label("invoice\\u{202E}txt.exe");
    // Clicked again if a page arriving moved the row under the first click.
    click_until_shown(&mut harness, "bidi-test", "ops\\u{200B}team");
    assert_eq!(
        harness.query_all_by_label_contains("\u{202E}").count(),
        0,
        "the override itself is drawn nowhere"
    );
    assert_eq!(harness.query_all_by_label_contains("\u{200B}").count(), 0);
}
