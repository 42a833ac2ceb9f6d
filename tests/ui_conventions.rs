//! UI: everyday conventions in the real app against the emulator — "Open in Portal" and "Copy Portal link"
//! for a vault and a secret (the Portal's own deep links; greyed out where there is no Portal), and a vault
//! tree that stays put under the pointer when the first vault clicked becomes a recent one.

mod common;

use std::sync::Arc;

use egui::OutputCommand;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use vaultscope::ui::VaultscopeApp;
use vaultscope::worker::spawn_worker;

use common::TestCloud;
use common::ui::{app_harness, click_until_shown, harness_for, step_until, wait_for_vault_tree};

/// The Contoso Demo tenant, where kv-prod-orders lives.
const DEMO_TENANT: &str = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// Clicks `label` and returns what the frame that applied the click put on the clipboard and opened.
fn click_and_collect(
    harness: &mut Harness<'static, VaultscopeApp>,
    label: &str,
) -> (Vec<String>, Vec<String>) {
    harness.get_by_label(label).click();
    harness.step();
    let commands = &harness.output().platform_output.commands;
    let copied = commands
        .iter()
        .filter_map(|command| match command {
            OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    let opened = commands
        .iter()
        .filter_map(|command| match command {
            OutputCommand::OpenUrl(open) => Some(open.url.clone()),
            _ => None,
        })
        .collect();
    (copied, opened)
}

#[test]
fn portal_links_for_a_vault_and_a_secret() {
    let cloud = TestCloud::start();
    let (worker, events) = spawn_worker(cloud.runtime.handle(), cloud.settings(), Arc::new(|| {}));
    let app = VaultscopeApp::new(worker, events, cloud.demo_sign_in(), "AzureCloud")
        .with_portal(Some("https://portal.azure.com"));
    let mut harness = harness_for(app);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-prod-orders", "inventory-ApiKey");
    let vault_link = format!(
        "https://portal.azure.com/#@{DEMO_TENANT}/resource/subscriptions/3f2504e0-4f89-41d3-9a0c-0305e82c3301/resourceGroups/rg-prod-app/providers/Microsoft.KeyVault/vaults/kv-prod-orders/overview"
    );
    let (copied, _) = click_and_collect(&mut harness, "Copy Portal link");
    assert_eq!(
        copied,
        std::slice::from_ref(&vault_link),
        "the vault's blade"
    );
    let (_, opened) = click_and_collect(&mut harness, "Open in Portal");
    assert_eq!(opened, [vault_link]);

    click_until_shown(&mut harness, "inventory-ApiKey", "Versions (3)");
    // The vault header and the details panel both offer the buttons; the details panel is drawn first.
    let port = cloud.emulator.port();
    let secret_link = format!(
        "https://portal.azure.com/#@{DEMO_TENANT}/asset/Microsoft_Azure_KeyVault/Secret/https://kv-prod-orders.vault.localhost:{port}/secrets/inventory-ApiKey"
    );
    let buttons: Vec<_> = harness.query_all_by_label("Copy Portal link").collect();
    assert_eq!(buttons.len(), 2);
    buttons[0].click();
    harness.step();
    let copied: Vec<&String> = harness
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|command| match command {
            OutputCommand::CopyText(text) => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(copied, [&secret_link], "the secret's blade");
}

#[test]
fn the_emulator_has_no_portal_and_the_buttons_say_so() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-prod-orders", "inventory-ApiKey");
    let open = harness.get_by_label("Open in Portal");
    assert!(open.accesskit_node().is_disabled(), "no Portal to open");
}

/// Where the tree shows `vault` (the leftmost control of that name: the vault header repeats it).
fn tree_row(harness: &Harness<'static, VaultscopeApp>, vault: &str) -> egui::Rect {
    harness
        .query_all_by_label(vault)
        .map(|node| node.rect())
        .min_by(|a, b| a.left().total_cmp(&b.left()))
        .expect("the vault is in the tree")
}

#[test]
fn the_tree_stays_put_when_the_first_vault_becomes_recent() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    let clicked = tree_row(&harness, "kv-prod-web");
    let below = tree_row(&harness, "kv-security-fn");
    click_until_shown(&mut harness, "kv-prod-web", "Recent (1)");
    step_until(&mut harness, "the vault's load", |harness| {
        harness.query_by_label("Refresh").is_some()
    });
    assert_eq!(
        clicked,
        tree_row(&harness, "kv-prod-web"),
        "the clicked vault stays under the pointer"
    );
    assert_eq!(
        below,
        tree_row(&harness, "kv-security-fn"),
        "and so do the others"
    );
}
