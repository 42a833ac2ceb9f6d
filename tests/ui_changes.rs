//! UI: changing things in the real `VaultscopeApp` against the emulator, through AccessKit with
//! `egui_kittest`: create a secret (value typed, generated; name checked before sending), edit a version,
//! roll back, delete → recover → purge with the typed name, purge refused up front under purge protection,
//! a create on a deleted name offering "Recover it", a bulk delete of 10 with the typed count, and
//! `--read-only`.

mod common;

use std::sync::Arc;

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use secrecy::ExposeSecret;
use vaultscope::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use vaultscope::ui::VaultscopeApp;
use vaultscope::worker::{Command, EventKind, spawn_worker};

use common::ui::{
    app_harness, click_until_shown, harness_for, secret_count, step_until, text_field, type_into,
    wait_for_consumers, wait_for_vault_tree,
};
use common::{TestCloud, wait_for};

/// The value of `name` in `vault` as the service holds it now (through a worker of its own).
fn service_value(cloud: &TestCloud, vault: &str, name: &str) -> String {
    let (worker, events) = cloud.signed_in_worker();
    let id = worker.send(Command::GetSecretValue {
        id: ObjectId {
            vault: VaultUri::parse(&format!(
                "https://{vault}.vault.localhost:{}",
                cloud.emulator.port()
            ))
            .expect("vault"),
            kind: ObjectKind::Secret,
            name: name.into(),
            version: None,
        },
    });
    let (seen, _) = wait_for(&events, id);
    seen.into_iter()
        .find_map(|kind| match kind {
            EventKind::SecretValue { value, .. } => Some(value.expose_secret().to_owned()),
            _ => None,
        })
        .expect("the secret's value")
}

/// Clicks the first node labelled `label` (a row; the details pane's heading has the same name), then
/// steps until `shown` is on screen.
fn click_row_until_shown(harness: &mut Harness<'static, VaultscopeApp>, label: &str, shown: &str) {
    harness
        .get_all_by_label(label)
        .next()
        .expect("the row")
        .click();
    step_until(
        harness,
        &format!("'{shown}' after clicking '{label}'"),
        |harness| harness.query_all_by_label(shown).next().is_some(),
    );
}

/// Clicks the control labelled `label`, then steps until some node labelled `shown` is on screen.
fn click_until_any(harness: &mut Harness<'static, VaultscopeApp>, label: &str, shown: &str) {
    harness.get_by_label(label).click();
    step_until(
        harness,
        &format!("'{shown}' after clicking '{label}'"),
        |harness| harness.query_all_by_label(shown).next().is_some(),
    );
}

/// The open dialog's error, for a failure message.
fn dialog_error(harness: &Harness<'static, VaultscopeApp>) -> String {
    let changes = &harness.state().state().changes;
    format!(
        "{:?}, {:?}, log {:?}",
        changes.status, changes.dialog, changes.log
    )
}

fn open_vault(harness: &mut Harness<'static, VaultscopeApp>, vault: &str, shown: &str) {
    wait_for_vault_tree(harness);
    click_until_shown(harness, vault, shown);
}

fn filter(harness: &mut Harness<'static, VaultscopeApp>, text: &str) {
    type_into(harness, "Filter", text);
}

#[test]
fn a_secret_is_created_from_the_dialog_and_its_value_leaves_no_trace_in_the_window() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_vault(&mut harness, "kv-dev-shared", "New secret…");
    let before = secret_count(&cloud, "kv-dev-shared");
    click_until_shown(&mut harness, "New secret…", "Create secret");

    // The name is checked as Key Vault checks it, before anything is sent.
    type_into(&mut harness, "Name", "ui_created");
    harness.get_by_label("'_' is not allowed in a name: only 0-9, a-z, A-Z and '-' are.");
    harness.get_by_label("Create secret").click();
    harness.run_steps(2);
    assert_eq!(
        secret_count(&cloud, "kv-dev-shared"),
        before,
        "nothing sent for a bad name"
    );

    text_field(&harness, "Name").focus();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    text_field(&harness, "Name").type_text("ui-created");
    harness.run_steps(2);
    // A generated value first, then the typed one replaces it.
    harness.get_by_label("Generate value").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().state().changes.value.len(),
        32,
        "a 32-character password"
    );
    harness.get_by_label("Clear").click();
    harness.run_steps(1);
    type_into(&mut harness, "Value", "typed in the window");
    // AccessKit sees a password field, never the value.
    let exposed = format!("{:?}", text_field(&harness, "Value"));
    assert!(exposed.contains("PasswordInput"), "{exposed}");
    assert!(!exposed.contains("typed in the window"), "{exposed}");
    type_into(&mut harness, "Content type", "text/plain");
    type_into(&mut harness, "Tags", "owner=ui");
    harness.get_by_label("Create secret").click();
    step_until(&mut harness, "the created secret, selected", |harness| {
        harness.state().state().changes.dialog.is_none()
            && harness.state().state().objects.selected_object.as_deref() == Some("ui-created")
    });
    assert_eq!(secret_count(&cloud, "kv-dev-shared"), before + 1);
    assert_eq!(
        service_value(&cloud, "kv-dev-shared", "ui-created"),
        "typed in the window"
    );
    // Gone from the window: the buffer is wiped and the field's undo history with it.
    let app = harness.state().state();
    assert!(app.changes.value.is_empty());
    assert_eq!(app.changes.log.len(), 1);
    let logged = app.changes.log[0].line();
    assert!(
        logged.contains("ui-created") && logged.contains("done"),
        "{logged}"
    );
    assert!(!logged.contains("typed in the window"));
    let field_state = harness.ctx.data_mut(|data| {
        data.get_temp::<egui::text_edit::TextEditState>(
            vaultscope::ui::change_dialogs::value_field_id(),
        )
    });
    assert!(
        field_state.is_none(),
        "the value field's state (and undo history) is dropped"
    );
}

#[test]
fn a_version_is_edited_and_an_older_one_rolled_back_to() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_vault(&mut harness, "kv-dev-shared", "New secret…");
    filter(&mut harness, "Catalog--DbConnectionString");
    click_row_until_shown(&mut harness, "Catalog--DbConnectionString", "Versions (3)");
    click_until_shown(&mut harness, "Edit…", "Save changes");
    harness.get_by_label("Version enabled").click();
    wait_for_consumers(&mut harness);
    type_into(&mut harness, "Tags", "\nreviewed=yes");
    harness.get_by_label("Save changes").click();
    harness.run_steps(5);
    let status = dialog_error(&harness);
    step_until(
        &mut harness,
        &format!("the edit applied ({status})"),
        |harness| {
            harness.state().state().changes.dialog.is_none()
                && harness.query_by_label("reviewed").is_some()
        },
    );
    let row = harness.state().state().selected_item().expect("row");
    assert!(!row.enabled(), "the latest version is disabled now");

    // Enable it again, then roll back to the oldest version.
    click_until_shown(&mut harness, "Edit…", "Save changes");
    harness.get_by_label("Version enabled").click();
    harness.run_steps(1);
    harness.get_by_label("Save changes").click();
    step_until(&mut harness, "enabled again", |harness| {
        harness.state().state().changes.dialog.is_none()
            && harness
                .state()
                .state()
                .selected_item()
                .is_some_and(|row| row.enabled())
    });
    step_until(&mut harness, "the versions again", |harness| {
        let versions = &harness.state().state().objects.versions;
        !versions.status.is_loading() && versions.items.len() == 3
    });
    let oldest = harness
        .state()
        .state()
        .objects
        .versions
        .items
        .iter()
        .min_by_key(|item| item.attributes.created)
        .and_then(|item| item.version())
        .expect("oldest version");
    let old_value = {
        let (worker, events) = cloud.signed_in_worker();
        let id = worker.send(Command::GetSecretValue {
            id: ObjectId {
                vault: harness
                    .state()
                    .state()
                    .selected_vault()
                    .expect("vault")
                    .clone(),
                kind: ObjectKind::Secret,
                name: "Catalog--DbConnectionString".into(),
                version: Some(oldest.clone()),
            },
        });
        let (seen, _) = wait_for(&events, id);
        seen.into_iter()
            .find_map(|kind| match kind {
                EventKind::SecretValue { value, .. } => Some(value.expose_secret().to_owned()),
                _ => None,
            })
            .expect("value")
    };
    harness.get_by_label_contains(&oldest[..12]).click();
    step_until(&mut harness, "the roll-back button", |harness| {
        harness
            .query_by_label("Roll back to this version…")
            .is_some()
    });
    click_until_shown(&mut harness, "Roll back to this version…", "Roll back");
    harness.get_by_label("Roll back").click();
    step_until(&mut harness, "a fourth version", |harness| {
        harness.query_by_label("Versions (4)").is_some()
    });
    assert_eq!(
        service_value(&cloud, "kv-dev-shared", "Catalog--DbConnectionString"),
        old_value
    );
}

#[test]
fn delete_recover_and_purge_with_the_typed_name_and_purge_protection_refused_up_front() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_vault(&mut harness, "kv-dev-shared", "New secret…");
    filter(&mut harness, "billing-ApiKey");
    click_row_until_shown(&mut harness, "billing-ApiKey", "Delete…");
    click_until_shown(&mut harness, "Delete…", "Delete secret billing-ApiKey");
    wait_for_consumers(&mut harness);
    harness.get_by_label("Delete").click();
    step_until(
        &mut harness,
        "the row gone and the deleted list grown",
        |harness| {
            harness
                .query_all_by_label("billing-ApiKey")
                .next()
                .is_none()
                && harness.query_by_label("Deleted (4)").is_some()
        },
    );
    click_until_any(&mut harness, "Deleted (4)", "billing-ApiKey");
    click_row_until_shown(&mut harness, "billing-ApiKey", "Recover");
    click_until_shown(&mut harness, "Recover", "Recover secret billing-ApiKey");
    // The confirmation's button (the details pane has one of the same name).
    harness
        .get_all_by_label("Recover")
        .last()
        .expect("confirm")
        .click();
    step_until(&mut harness, "recovered", |harness| {
        harness.query_by_label("Deleted (3)").is_some()
    });

    // Delete again, then purge: the button works only once the name is typed.
    // Off the Deleted list (a switch), back to the live secrets.
    click_until_shown(&mut harness, "Deleted (3)", "New secret…");
    click_row_until_shown(&mut harness, "billing-ApiKey", "Delete…");
    click_row_until_shown(&mut harness, "billing-ApiKey", "Delete…");
    click_until_shown(&mut harness, "Delete…", "Delete secret billing-ApiKey");
    wait_for_consumers(&mut harness);
    harness.get_by_label("Delete").click();
    step_until(&mut harness, "deleted", |harness| {
        harness.query_by_label("Deleted (4)").is_some()
    });
    click_until_any(&mut harness, "Deleted (4)", "billing-ApiKey");
    click_row_until_shown(&mut harness, "billing-ApiKey", "Purge…");
    click_until_shown(&mut harness, "Purge…", "Type billing-ApiKey:");
    harness.get_by_label("Purge").click();
    harness.run_steps(2);
    assert!(
        harness.state().state().changes.dialog.is_some(),
        "not purged without the typed name"
    );
    type_into(&mut harness, "Type billing-ApiKey:", "billing-ApiKey");
    harness.get_by_label("Purge").click();
    step_until(&mut harness, "purged", |harness| {
        harness.query_by_label("Deleted (3)").is_some()
    });
    let log: Vec<String> = harness
        .state()
        .state()
        .changes
        .log
        .iter()
        .map(|entry| entry.action.clone())
        .collect();
    assert_eq!(log, ["delete", "recover", "delete", "purge"]);

    // kv-prod-orders has purge protection: the purge is refused before anything is sent.
    text_field(&harness, "Filter").focus();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.key_press(Key::Backspace);
    harness.run_steps(2);
    harness.get_by_label("kv-prod-orders").click();
    step_until(&mut harness, "kv-prod-orders loaded", |harness| {
        let app = harness.state().state();
        app.selected_vault()
            .is_some_and(|vault| vault.name() == "kv-prod-orders")
            && app
                .selected_contents()
                .is_some_and(|contents| !contents.status.is_loading())
    });
    assert!(
        harness.state().state().objects.selected_list.deleted,
        "still on the Deleted list"
    );
    click_row_until_shown(&mut harness, "orders-api-DbConnectionString", "Purge…");
    let requests = cloud.emulator.request_log().len();
    harness.get_by_label("Purge…").click();
    step_until(&mut harness, "the refusal", |harness| {
        harness
            .query_by_label_contains("Purge is refused: kv-prod-orders has purge protection on")
            .is_some()
    });
    assert!(harness.state().state().changes.dialog.is_none());
    assert!(
        cloud.emulator.request_log()[requests..]
            .iter()
            .all(|request| request.method != "DELETE"),
        "no purge was sent"
    );
}

#[test]
fn a_create_on_a_deleted_name_offers_to_recover_it() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_vault(&mut harness, "kv-dev-shared", "Deleted (3)");
    harness.get_by_label("Deleted (3)").click();
    step_until(&mut harness, "the deleted list", |harness| {
        harness.state().state().objects.selected_list.deleted
    });
    let deleted = harness
        .state()
        .state()
        .selected_list_rows()
        .map(|rows| rows.name(0).to_owned())
        .expect("a deleted secret");
    click_until_shown(&mut harness, "Deleted (3)", "New secret…");
    click_until_shown(&mut harness, "New secret…", "Create secret");
    type_into(&mut harness, "Name", &deleted);
    type_into(&mut harness, "Value", "replacement");
    harness.get_by_label("Create secret").click();
    step_until(&mut harness, "the 409 offer", |harness| {
        harness.query_by_label("Recover it").is_some()
    });
    harness.get_by_label_contains("can still be recovered");
    harness.get_by_label("Recover it").click();
    step_until(
        &mut harness,
        "recovered, the form now a new version",
        |harness| harness.query_by_label("Add version").is_some(),
    );
    harness.get_by_label_contains("Recovered");
    // The typed value is still there: adding it as a new version now.
    harness.get_by_label("Add version").click();
    step_until(&mut harness, "the new version", |harness| {
        harness.state().state().changes.dialog.is_none()
    });
    assert_eq!(
        service_value(&cloud, "kv-dev-shared", &deleted),
        "replacement"
    );
}

#[test]
fn a_bulk_delete_of_ten_needs_the_typed_count_and_reports_each_item() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_vault(&mut harness, "kv-dev-shared", "New secret…");
    filter(&mut harness, "password");
    step_until(&mut harness, "the filtered list", |harness| {
        harness.query_by_label("10 of 49 secrets").is_some()
    });
    // Off the filter field (it would take Ctrl+A), then mark every shown row.
    let first = {
        let app = harness.state().state();
        let index = app.filtered_indices()[0];
        app.selected_list_rows()
            .expect("rows")
            .name(index)
            .to_owned()
    };
    harness
        .get_all_by_label(&first)
        .next()
        .expect("row")
        .click();
    harness.run_steps(2);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    step_until(&mut harness, "ten marked", |harness| {
        harness.query_by_label("10 marked").is_some()
    });
    let before = secret_count(&cloud, "kv-dev-shared");
    click_until_shown(&mut harness, "Delete", "Type 10:");
    wait_for_consumers(&mut harness);
    // The confirmation's button (the bulk bar's "Delete" is behind it).
    harness
        .get_all_by_label("Delete")
        .last()
        .expect("confirm")
        .click();
    harness.run_steps(2);
    assert!(
        harness.state().state().changes.bulk.is_none(),
        "not without the typed count"
    );
    type_into(&mut harness, "Type 10:", "10");
    harness
        .get_all_by_label("Delete")
        .last()
        .expect("confirm")
        .click();
    step_until(&mut harness, "the bulk run done", |harness| {
        harness
            .query_by_label("10 done · 0 failed · 0 remaining")
            .is_some()
    });
    assert_eq!(secret_count(&cloud, "kv-dev-shared"), before - 10);
    assert_eq!(
        harness.state().state().changes.log.len(),
        10,
        "one log line per item"
    );
    harness.get_by_label("Close").click();
    step_until(&mut harness, "the list without them", |harness| {
        harness.query_by_label("0 of 39 secrets").is_some()
    });
}

#[test]
fn read_only_hides_every_control_that_changes_anything() {
    let cloud = TestCloud::start();
    let (worker, events) = spawn_worker(cloud.runtime.handle(), cloud.settings(), Arc::new(|| {}));
    let app = VaultscopeApp::new(worker, events, cloud.demo_sign_in(), "Local emulator")
        .with_read_only(true);
    let mut harness = harness_for(app);
    open_vault(&mut harness, "kv-dev-shared", "Secrets (49)");
    click_until_shown(&mut harness, "billing-ApiKey", "Reveal value");
    harness.get_by_label("read-only");
    for control in ["New secret…", "New version…", "Edit…", "Delete…"] {
        assert!(
            harness.query_by_label(control).is_none(),
            "{control} is shown"
        );
    }
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("marked").is_none());
}

#[test]
fn a_certificate_shows_as_pending_until_it_is_issued() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    open_vault(&mut harness, "kv-dev-shared", "Certificates (2)");
    click_until_shown(&mut harness, "Certificates (2)", "New certificate…");
    click_until_shown(&mut harness, "New certificate…", "Create certificate");
    type_into(&mut harness, "Name", "ui-issued");
    type_into(&mut harness, "Subject", "ui.contoso.demo");
    type_into(&mut harness, "DNS names", "ui.contoso.demo");
    harness.get_by_label("Create certificate").click();
    // Accepted: the dialog closes and the row shows the creation under way.
    step_until(&mut harness, "the pending row", |harness| {
        harness.state().state().changes.dialog.is_none()
            && harness.query_by_label("pending (being issued)").is_some()
    });
    step_until(
        &mut harness,
        "the issued certificate, selected",
        |harness| {
            harness.query_by_label("pending (being issued)").is_none()
                && harness.state().state().objects.selected_object.as_deref() == Some("ui-issued")
                && harness
                    .query_all_by_label("CN=ui.contoso.demo")
                    .next()
                    .is_some()
        },
    );
    let line = harness
        .state()
        .state()
        .changes
        .log
        .last()
        .expect("logged")
        .line();
    assert!(
        line.contains("create self-signed certificate") && line.contains("done"),
        "{line}"
    );
}
