//! UI: files and vault to vault in the real `VaultscopeApp` against the emulator, through AccessKit with
//! `egui_kittest` and a fake file dialog: an export with values needs the warning acknowledged and is
//! written owner-only and logged without values; an import previews each row's fate and writes through the
//! bulk run; two loaded vaults are compared; the expiry calendar lists what expires.

mod common;

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use vaultscope::ui::VaultscopeApp;
use vaultscope::worker::files::SharedPicker;
use vaultscope::worker::spawn_worker;

use common::ui::{
    click_until_shown, harness_for, secret_count, step_until, type_into, wait_for_vault_tree,
};
use common::{SetPicker, TestCloud, temp_dir};

fn harness_with_picker(cloud: &TestCloud, picker: &SetPicker) -> Harness<'static, VaultscopeApp> {
    let mut settings = cloud.settings();
    settings.file_picker = SharedPicker(Arc::new(picker.clone()));
    let (worker, events) = spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
    harness_for(VaultscopeApp::new(
        worker,
        events,
        cloud.demo_sign_in(),
        "Local emulator",
    ))
}

fn menu(harness: &mut Harness<'static, VaultscopeApp>, item: &str) {
    click_until_shown(harness, "Files & vaults", item);
    click_until_shown_any(harness, item);
}

fn click_until_shown_any(harness: &mut Harness<'static, VaultscopeApp>, label: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(3);
}

/// Steps until the bulk run the preview started has finished.
fn wait_for_bulk(harness: &mut Harness<'static, VaultscopeApp>) {
    step_until(harness, "the bulk run", |harness| {
        harness
            .state()
            .state()
            .changes
            .bulk
            .as_ref()
            .is_some_and(|bulk| bulk.finished)
    });
}

fn notice(harness: &Harness<'static, VaultscopeApp>) -> String {
    harness
        .state()
        .state()
        .notice()
        .map(|notice| notice.text.clone())
        .unwrap_or_default()
}

fn label_containing(harness: &Harness<'static, VaultscopeApp>, text: &str) -> bool {
    harness
        .query_all(egui_kittest::kittest::By::new().label_contains(text))
        .next()
        .is_some()
}

fn click_first(harness: &mut Harness<'static, VaultscopeApp>, label: &str) {
    harness
        .get_all_by_label(label)
        .next()
        .unwrap_or_else(|| panic!("no {label}"))
        .click();
    harness.run_steps(2);
}

#[test]
fn an_export_with_values_needs_the_warning_acknowledged_and_is_owner_only_and_logged() {
    let cloud = TestCloud::start();
    let picker = SetPicker::default();
    let dir = temp_dir("ui-export");
    let file = dir.join("export.csv");
    picker.answer(&file);
    let mut harness = harness_with_picker(&cloud, &picker);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-dev-shared", "New secret…");
    step_until(&mut harness, "the secrets listed", |harness| {
        harness
            .state()
            .state()
            .selected_list_rows()
            .is_some_and(|rows| rows.len() > 20)
    });
    menu(&mut harness, "Export list…");
    harness.get_by_label("Include values").click();
    harness.run_steps(2);
    harness.get_by_label("Export…").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("Tick that you understand the file will hold the values.")
            .is_some(),
        "values need the acknowledgement"
    );
    assert!(!file.exists(), "nothing written before it");
    harness
        .get_by_label("I understand: write the values to the file")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Export…").click();
    step_until(&mut harness, "the export written", |harness| {
        notice(harness).starts_with("Exported")
    });
    assert!(notice(&harness).contains("readable by you alone"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let text = std::fs::read_to_string(&file).expect("csv");
    assert!(
        text.lines()
            .next()
            .is_some_and(|header| header.ends_with(",value"))
    );
    let log = &harness.state().state().changes.log;
    let entry = log.last().expect("a log line");
    assert_eq!(entry.action, "export with values");
    let second_line = text.lines().nth(1).expect("a row");
    let value = second_line.rsplit(',').next().expect("value");
    assert!(
        !log.iter().any(|entry| entry.line().contains(value)),
        "the log holds no value"
    );
    assert!(
        harness.state().state().transfer.dialog.is_none(),
        "the window closes once written"
    );
}

#[test]
fn an_import_previews_each_fate_and_writes_through_the_bulk_run() {
    let cloud = TestCloud::start();
    let picker = SetPicker::default();
    let dir = temp_dir("ui-import");
    let file = dir.join("new.env");
    std::fs::write(
        &file,
        "IMPORTED_ONE=alpha\nimported-two=\"beta gamma\"\nbad.name=x\n",
    )
    .expect("env");
    picker.answer(&file);
    let mut harness = harness_with_picker(&cloud, &picker);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-dev-shared", "New secret…");
    let before = secret_count(&cloud, "kv-dev-shared");
    menu(&mut harness, "Import secrets…");
    step_until(&mut harness, "the preview", |harness| {
        harness
            .query_by_label("2 create · 0 new version · 0 unchanged · 0 conflict · 1 invalid")
            .is_some()
    });
    assert!(harness.query_by_label("IMPORTED-ONE").is_some());
    assert!(
        harness
            .query_by_label("line 1 (was IMPORTED_ONE)")
            .is_some()
    );
    assert!(
        harness
            .query_all(
                egui_kittest::kittest::By::new().label_contains("invalid: '.' is not allowed")
            )
            .next()
            .is_some()
    );
    assert_eq!(
        secret_count(&cloud, "kv-dev-shared"),
        before,
        "nothing sent before confirming"
    );
    harness
        .get_by_label("Write 2 secrets to kv-dev-shared")
        .click();
    wait_for_bulk(&mut harness);
    assert_eq!(secret_count(&cloud, "kv-dev-shared"), before + 2);
    let bulk = harness.state().state().changes.bulk.as_ref().expect("bulk");
    assert_eq!(bulk.done(), 2);
}

#[test]
fn two_loaded_vaults_are_compared_and_the_calendar_lists_what_expires() {
    let cloud = TestCloud::start();
    let picker = SetPicker::default();
    let mut harness = harness_with_picker(&cloud, &picker);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-dev-sandbox", "New secret…");
    click_until_shown(&mut harness, "kv-dev-shared", "New secret…");
    step_until(&mut harness, "both vaults loaded", |harness| {
        harness.state().state().tree.vaults.len() >= 2
    });
    menu(&mut harness, "Compare with another vault…");
    harness.get_by_label("Compare").click();
    step_until(&mut harness, "the comparison", |harness| {
        harness
            .query_all(egui_kittest::kittest::By::new().label_contains("names differ"))
            .next()
            .is_some()
    });
    let debug = format!("{:?}", harness.state().state().transfer.dialog);
    assert!(
        !debug.to_ascii_lowercase().contains("fingerprint("),
        "no fingerprint in the state"
    );
    harness.get_by_label("Show equal names").click();
    harness.run_steps(2);
    harness
        .get_all_by_label("Close")
        .next()
        .expect("the window's Close")
        .click();
    harness.run_steps(2);
    assert!(harness.state().state().transfer.dialog.is_none());
    menu(&mut harness, "Expiry calendar…");
    let expiries = match &harness.state().state().transfer.dialog {
        Some(vaultscope::ui::state::transfer::TransferDialog::Calendar(view)) => {
            view.expiries.len()
        }
        other => panic!("the calendar, not {other:?}"),
    };
    assert!(
        harness
            .query_all(
                egui_kittest::kittest::By::new()
                    .label_contains("across every loaded and indexed vault")
            )
            .next()
            .is_some()
    );
    assert!(
        expiries > 0,
        "the demo vaults hold secrets expiring within 30 days"
    );
    let ics = temp_dir("ui-calendar").join("expiries.ics");
    picker.answer(&ics);
    harness.get_by_label("Export .ics…").click();
    step_until(&mut harness, "the calendar saved", |harness| {
        notice(harness).starts_with("Saved the expiry calendar")
    });
    let text = std::fs::read_to_string(&ics).expect("ics");
    assert_eq!(text.matches("BEGIN:VEVENT").count(), expiries);
    assert!(text.contains("kv-dev-shared") || text.contains("kv-dev-sandbox"));
}

#[test]
fn two_versions_are_compared_and_revealed_and_a_secret_copied_to_another_vault() {
    use vaultscope::azure::identifiers::VaultUri;
    use vaultscope::azure::keyvault_writes::SecretDraft;
    use vaultscope::worker::changes::{Change, DraftHandle};
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    let vault = VaultUri::parse(&format!(
        "https://kv-dev-shared.vault.localhost:{}",
        cloud.emulator.port()
    ))
    .expect("vault");
    let draft = |value: &str| {
        DraftHandle(Arc::new(SecretDraft {
            value: secrecy::SecretString::from(value),
            content_type: None,
            tags: Default::default(),
            enabled: true,
            not_before: None,
            expires: None,
        }))
    };
    let id = worker.send(vaultscope::worker::Command::Change(
        Change::SetSecretVersions {
            vault,
            name: "ui-versioned".into(),
            drafts: vec![draft("first-value"), draft("second-value")],
            recover_first: false,
        },
    ));
    let (_, outcome) = common::wait_for(&events, id);
    assert!(
        matches!(outcome, vaultscope::worker::Outcome::Done),
        "{outcome:?}"
    );

    let picker = SetPicker::default();
    let mut harness = harness_with_picker(&cloud, &picker);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-dev-sandbox", "New secret…");
    click_until_shown(&mut harness, "kv-dev-shared", "New secret…");
    type_into(&mut harness, "Filter", "ui-versioned");
    step_until(&mut harness, "the row", |harness| {
        harness.query_all_by_label("ui-versioned").next().is_some()
    });
    click_first(&mut harness, "ui-versioned");
    step_until(&mut harness, "its two versions", |harness| {
        harness.query_by_label("Compare versions").is_some()
    });
    harness.get_by_label("Compare versions").click();
    step_until(&mut harness, "the version comparison", |harness| {
        harness.query_by_label("Values: different").is_some()
    });
    assert!(
        !label_containing(&harness, "first-value"),
        "no value before the reveal"
    );
    harness.get_by_label("Reveal both values").click();
    step_until(&mut harness, "both values", |harness| {
        harness.query_by_label("first-value").is_some()
            && harness.query_by_label("second-value").is_some()
    });
    click_first(&mut harness, "Close");
    assert!(harness.state().state().transfer.dialog.is_none());

    let before = secret_count(&cloud, "kv-dev-sandbox");
    menu(&mut harness, "Copy to another vault…");
    assert!(label_containing(
        &harness,
        "1 secrets from kv-dev-shared: ui-versioned"
    ));
    harness
        .get_by_label("Every enabled version, oldest first (else the latest only)")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Preview copy").click();
    step_until(&mut harness, "the copy preview", |harness| {
        harness
            .query_by_label("1 create · 0 new version · 0 unchanged · 0 conflict · 0 invalid")
            .is_some()
    });
    assert!(
        harness
            .query_by_label("kv-dev-shared (2 versions)")
            .is_some()
    );
    harness
        .get_by_label("Write 1 secrets to kv-dev-sandbox")
        .click();
    wait_for_bulk(&mut harness);
    assert_eq!(secret_count(&cloud, "kv-dev-sandbox"), before + 1);
}

#[test]
fn a_pfx_is_imported_with_its_password_then_downloaded_and_backed_up() {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["ui.contoso.demo".into()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "ui",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
            vec![1_u8, 2, 3],
            p12_keystore::PrivateKey::from_der(&key.serialize_der()).expect("pkcs8"),
            [p12_keystore::Certificate::from_der(cert.der()).expect("der")],
        )),
    );
    let dir = temp_dir("ui-pfx");
    let pfx = dir.join("ui-imported.pfx");
    std::fs::write(&pfx, store.writer("pfx-pw").write().expect("pfx")).expect("write");

    let cloud = TestCloud::start();
    let picker = SetPicker::default();
    picker.answer(&pfx);
    let mut harness = harness_with_picker(&cloud, &picker);
    wait_for_vault_tree(&mut harness);
    click_until_shown(&mut harness, "kv-dev-shared", "New secret…");
    let tab = harness
        .get_all(egui_kittest::kittest::By::new().label_contains("Certificates ("))
        .next()
        .expect("the certificates tab");
    tab.click();
    harness.run_steps(3);
    menu(&mut harness, "Import certificate (PFX/PEM)…");
    harness.get_by_label("Choose file…").click();
    step_until(&mut harness, "the chosen file", |harness| {
        label_containing(harness, "ui-imported.pfx")
    });
    type_into(
        &mut harness,
        "PFX password (empty for none or for PEM)",
        "pfx-pw",
    );
    let debug = format!("{:?}", harness.state().state().transfer.dialog);
    assert!(
        !debug.contains("pfx-pw"),
        "the password is in no state Debug"
    );
    harness.get_by_label("Import").click();
    step_until(&mut harness, "the import", |harness| {
        notice(harness).starts_with("import certificate: certificate ui-imported")
    });
    assert!(
        harness.state().state().transfer.password.is_empty(),
        "the password is wiped"
    );
    let log = &harness.state().state().changes.log;
    assert_eq!(log.last().expect("log").action, "import certificate");

    step_until(&mut harness, "the imported row", |harness| {
        harness.query_all_by_label("ui-imported").next().is_some()
    });
    click_first(&mut harness, "ui-imported");
    step_until(&mut harness, "its details", |harness| {
        harness.query_by_label("Download").is_some()
    });
    let cer = dir.join("ui-imported.cer");
    picker.answer(&cer);
    click_until_shown(&mut harness, "Download", "Public certificate (.cer, DER)");
    harness
        .get_by_label("Public certificate (.cer, DER)")
        .click();
    step_until(&mut harness, "the .cer saved", |harness| {
        notice(harness).starts_with("Saved ui-imported")
    });
    assert_eq!(std::fs::read(&cer).expect("cer"), cert.der().to_vec());

    let backup = dir.join("ui-imported.backup");
    picker.answer(&backup);
    harness.get_by_label("Back up to file…").click();
    step_until(&mut harness, "the backup saved", |harness| {
        notice(harness).starts_with("Saved the backup of ui-imported")
    });
    assert!(std::fs::metadata(&backup).expect("backup").len() > 0);
}
