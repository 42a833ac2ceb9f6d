//! UI: the explorer's flows in the real `VaultscopeApp` against the emulator, driven through AccessKit with
//! `egui_kittest`: keys, certificates and deleted items with their details; open by URI; Load all with
//! per-vault state; Ctrl+K search with quick filters; keyboard navigation and Ctrl+C; pin; theme; a snapshot.

mod common;

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use vaultscope::azure::models::ListKind;
use vaultscope::ui::VaultscopeApp;

use common::TestCloud;
use common::ui::{app_harness, click_until_shown, step_until, wait_for_vault_tree};

#[test]
fn keys_certificates_and_deleted_items_show_their_details() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-dev-shared", "Keys (5)");

    click_until_shown(&mut harness, "Keys (5)", "shared-data-encryption");
    click_until_shown(&mut harness, "shared-data-encryption", "2048 bits");
    harness.get_by_label("encrypt, decrypt, wrapKey, unwrapKey");
    harness.get_by_label("Versions (2)");
    assert!(
        harness.query_by_label("Reveal value").is_none(),
        "keys have no value to reveal"
    );

    harness.get_by_label("Certificates (2)").click();
    // The key list also holds a "shared-tls": the certificate's own key.
    step_until(&mut harness, "the certificates", |harness| {
        harness.state().state().objects.selected_list
            == ListKind::live(vaultscope::azure::identifiers::ObjectKind::Certificate)
    });
    harness.get_by_label("shared-tls").click();
    step_until(&mut harness, "the certificate's details", |harness| {
        harness
            .query_by_label("DNS:shared.contoso.demo, DNS:www.shared.contoso.demo")
            .is_some()
    });
    assert!(
        harness.query_all_by_label("CN=shared.contoso.demo").count() >= 3,
        "subject, issuer (self-signed) and the policy's subject"
    );
    harness.get_by_label("AutoRenew at 80 % of lifetime");
    // Below the fold of the details panel: through AccessKit's click action.
    harness.get_by_label("Show raw JSON").click_accesskit();
    step_until(&mut harness, "the raw JSON", |harness| {
        harness.query_by_label("Hide raw JSON").is_some()
    });

    // Deleted keys: the soft-deleted one with its purge date and recovery id.
    click_until_shown(&mut harness, "Keys (5)", "Deleted (1)");
    click_until_shown(&mut harness, "Deleted (1)", "shared-sops");
    click_until_shown(&mut harness, "shared-sops", "Copy recovery id");
    harness.get_by_label("Scheduled purge");
    click_until_shown(&mut harness, "Copy recovery id", "Copied the recovery id");
}

#[test]
fn open_by_uri_goes_straight_to_the_secret_and_explains_a_missing_vault() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    let port = cloud.emulator.port();
    harness.get_by_label("Open URI").focus();
    harness.step();
    harness.get_by_label("Open URI").type_text(&format!(
        "https://kv-prod-orders.vault.localhost:{port}/secrets/inventory-ApiKey"
    ));
    harness.key_press(Key::Enter);
    step_until(&mut harness, "the secret opened by URI", |harness| {
        harness
            .query_by_label("Copy App Service reference")
            .is_some()
            && harness.query_by_label("Versions (3)").is_some()
    });
    assert_eq!(
        harness.query_all_by_label("inventory-ApiKey").count(),
        2,
        "its row, selected, and the details heading"
    );

    // A vault ARM does not list (here: none at all) is opened on the data plane and its error explained.
    harness.get_by_label("Open URI").focus();
    harness.step();
    harness
        .get_by_label("Open URI")
        .type_text(&format!("https://kv-nowhere.vault.localhost:{port}/"));
    harness.key_press(Key::Enter);
    step_until(&mut harness, "the vault under Opened by URI", |harness| {
        harness.query_by_label("Opened by URI").is_some()
            && harness.query_by_label("not found").is_some()
    });
    harness.get_by_label("opened by URI (not listed by ARM for you)");
}

#[test]
fn load_all_then_search_with_ctrl_k_and_open_a_result() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    load_all(&mut harness);
    // Per-vault state in the tree: the firewall one says so, the big one its count.
    harness.get_by_label("firewall");
    harness.get_by_label("5000 items");

    search_for(&mut harness, "tls");
    harness.get_by_label_contains("sandbox-tls   ·  keys in kv-dev-sandbox");
    // Tag values match too: the client-auth certificates are tagged usage=mtls, not named "tls"; they
    // come after the name matches.
    let hits = &harness.state().state().search.results.hits;
    assert!(hits.iter().any(|hit| !hit.by_name));
    assert!(
        hits.iter()
            .skip_while(|hit| hit.by_name)
            .all(|hit| !hit.by_name)
    );
    // Quick filter: expiring within 30 days (the demo's TLS certificates renew in under three weeks).
    let all = harness.state().state().search.results.total;
    harness.get_by_label("Expiring within").click_accesskit();
    step_until(&mut harness, "the filtered results", |harness| {
        harness.state().state().search.filters.expiring_within_days == Some(30)
    });
    let expiring = harness.state().state().search.results.total;
    assert!(
        expiring > 0 && expiring < all,
        "{expiring} expiring of {all}"
    );
    harness.get_by_label("Expiring within").click_accesskit();
    step_until(&mut harness, "the filter off again", |harness| {
        harness
            .state()
            .state()
            .search
            .filters
            .expiring_within_days
            .is_none()
    });
    assert_eq!(harness.state().state().search.results.total, all);

    harness.key_press(Key::ArrowDown);
    harness.step();
    harness.key_press(Key::Enter);
    step_until(&mut harness, "the chosen key", |harness| {
        harness.query_by_label("P-256").is_some()
    });
    assert!(
        harness.query_by_label("Search loaded vaults").is_none(),
        "closed"
    );
    assert_eq!(
        harness.query_all_by_label("sandbox-tls").count(),
        2,
        "row and heading"
    );
    assert_eq!(
        harness.state().state().objects.selected_list,
        ListKind::live(vaultscope::azure::identifiers::ObjectKind::Key)
    );
}

#[test]
fn keyboard_moves_opens_copies_and_closes() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-prod-orders", "inventory-ApiKey");
    harness.key_press(Key::ArrowDown);
    harness.key_press(Key::ArrowDown);
    harness.step();
    harness.key_press(Key::Enter);
    step_until(&mut harness, "the second secret's details", |harness| {
        harness.state().state().objects.selected_object.as_deref() == Some("inventory-CosmosKey")
    });
    harness.key_press_modifiers(Modifiers::COMMAND, Key::C);
    step_until(&mut harness, "the copy", |harness| {
        harness.query_by_label("Copied the identifier").is_some()
    });
    harness.key_press(Key::Escape);
    step_until(&mut harness, "the details closed", |harness| {
        harness
            .query_by_label(
                "Select a secret, key or certificate to see its details, versions and value.",
            )
            .is_some()
    });
}

#[test]
fn pin_and_theme() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-prod-web", "Pin");
    click_until_shown(&mut harness, "Pin", "Pinned (1)");
    harness.get_by_label("» kv-prod-web");
    harness.get_by_label("Unpin").click();
    harness.step();
    harness.step();
    assert!(harness.query_by_label("Pinned (1)").is_none());
    assert_eq!(
        harness
            .state()
            .state()
            .tree
            .bookmarks
            .recent
            .first()
            .map(String::as_str),
        Some(
            format!(
                "https://kv-prod-web.vault.localhost:{}/",
                cloud.emulator.port()
            )
            .as_str()
        )
    );

    let dark = harness.ctx.theme() == egui::Theme::Dark;
    let switch = if dark { "Light theme" } else { "Dark theme" };
    harness.get_by_label(switch).click();
    harness.step();
    harness.step();
    assert_ne!((harness.ctx.theme() == egui::Theme::Dark), dark);
}

/// No dates in the picture: the emulator's seed is relative to today, so a date would change daily.
#[test]
fn snapshot_of_the_loaded_tree_and_the_search() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    load_all(&mut harness);
    search_for(&mut harness, "payments-svc");
    harness.run_steps(30);
    harness.snapshot("search_results");
}

/// Every interactive node in the AccessKit tree has a name, in the states the explorer goes through.
#[test]
fn every_control_has_an_accessible_name() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    let mut checked = 0;
    let mut check = |harness: &Harness<'static, VaultscopeApp>, state: &str| {
        use egui::accesskit::Role;
        let interactive = [
            Role::Button,
            Role::TextInput,
            Role::MultilineTextInput,
            Role::CheckBox,
            Role::Switch,
            Role::SpinButton,
            Role::Slider,
            Role::ComboBox,
            Role::Link,
        ];
        let controls: Vec<_> = harness
            .query_all(
                egui_kittest::kittest::By::new()
                    .predicate(move |node| interactive.contains(&node.role())),
            )
            .collect();
        for control in &controls {
            let node = control.accesskit_node();
            assert!(
                node.label().is_some_and(|label| !label.trim().is_empty()),
                "{state}: a {:?} without a name: {node:?}",
                node.role()
            );
            // Fields are named by the visible label next to them, not by a tooltip or a hint.
            if matches!(
                node.role(),
                Role::TextInput | Role::MultilineTextInput | Role::SpinButton
            ) {
                assert!(
                    node.labelled_by().next().is_some(),
                    "{state}: a field not labelled by a visible label: {:?}",
                    node.label()
                );
            }
        }
        checked += controls.len();
    };
    check(&harness, "the vault tree");
    click_until_shown(&mut harness, "kv-prod-orders", "inventory-ApiKey");
    click_until_shown(&mut harness, "inventory-ApiKey", "Versions (3)");
    click_until_shown(&mut harness, "Reveal value", "Hide value");
    harness.get_by_label("Show raw JSON").click_accesskit();
    step_until(&mut harness, "the raw JSON", |harness| {
        harness.query_by_label("Hide raw JSON").is_some()
    });
    check(&harness, "a secret's details, value shown, raw JSON open");
    click_until_shown(&mut harness, "Access", "Check my access");
    check(&harness, "the access view");
    click_until_shown(&mut harness, "Contents", "New secret…");
    click_until_shown(&mut harness, "New secret…", "Create secret");
    check(&harness, "the new-secret dialog");
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    harness.step();
    harness
        .get_by_label("Search loaded vaults")
        .type_text("orders");
    harness.run_steps(3);
    check(&harness, "the search");
    assert!(checked > 60, "{checked} controls checked");
}

/// Loads every vault and waits until all but the firewalled one have arrived.
fn load_all(harness: &mut Harness<'static, VaultscopeApp>) {
    harness.get_by_label("Load all").click();
    step_until(harness, "every vault loaded", |harness| {
        let (loading, loaded) = harness.state().state().tree.load_progress();
        loading == 0 && loaded >= 8
    });
}

/// Opens Ctrl+K, types `text` and waits for its results over the eight loaded vaults.
fn search_for(harness: &mut Harness<'static, VaultscopeApp>, text: &str) {
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    harness.step();
    harness.get_by_label("Search loaded vaults").type_text(text);
    step_until(harness, "the results", |harness| {
        let total = harness.state().state().search.results.total;
        total > 0
            && harness
                .query_by_label_contains(&format!("{total} matches in 8 loaded vaults"))
                .is_some()
    });
}
