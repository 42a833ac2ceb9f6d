//! Files and vault to vault through the worker against the emulator: export → import into an empty vault
//! → compare says all equal; every fate of an import preview; owner-only files; a downloaded `.cer` and
//! `.pfx` parsed back; a PFX import; backup and restore (and the geography rule); and no value in any
//! event of a plan or comparison.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use secrecy::SecretString;
use vaultscope::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use vaultscope::azure::models::{ListKind, ObjectItem};
use vaultscope::transfer::certificate_files::CertificateFile;
use vaultscope::transfer::compare::ValueVerdict;
use vaultscope::transfer::export::ExportFormat;
use vaultscope::transfer::plan::WriteFate;
use vaultscope::worker::changes::Change;
use vaultscope::worker::files::SharedPicker;
use vaultscope::worker::transfer::ExportRequest;
use vaultscope::worker::transfer_model::{SecretHandle, WritePlan};
use vaultscope::worker::{Command, Event, EventKind, Outcome, WorkerHandle};

use common::{SetPicker, TestCloud, temp_dir, wait_for};

struct Setup {
    cloud: TestCloud,
    worker: WorkerHandle,
    events: Receiver<Event>,
    picker: SetPicker,
    dir: PathBuf,
}

fn setup(test: &str) -> Setup {
    let cloud = TestCloud::start();
    let picker = SetPicker::default();
    let mut settings = cloud.settings();
    settings.file_picker = SharedPicker(Arc::new(picker.clone()));
    let (worker, events) =
        vaultscope::worker::spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
    let (_, outcome) = wait_for(&events, worker.send(Command::SignIn(cloud.demo_sign_in())));
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let dir = temp_dir(test);
    Setup {
        cloud,
        worker,
        events,
        picker,
        dir,
    }
}

impl Setup {
    fn vault(&self, name: &str) -> VaultUri {
        VaultUri::parse(&format!(
            "https://{name}.vault.localhost:{}",
            self.cloud.emulator.port()
        ))
        .expect("vault")
    }

    /// Runs `command` to its end; every event's `Debug` text is returned too (to look for values).
    fn run(&self, command: Command) -> (Vec<EventKind>, Outcome, String) {
        let (seen, outcome) = wait_for(&self.events, self.worker.send(command));
        let debug = format!("{seen:?} {outcome:?}");
        (seen, outcome, debug)
    }

    fn done(&self, command: Command) -> (Vec<EventKind>, String) {
        let description = command.describe();
        let (seen, outcome, debug) = self.run(command);
        assert!(
            matches!(outcome, Outcome::Done),
            "{description}: {outcome:?}"
        );
        (seen, debug)
    }

    fn list(&self, vault: &VaultUri) -> Vec<ObjectItem> {
        let (seen, _) = self.done(Command::LoadVault {
            vault: vault.clone(),
        });
        seen.into_iter()
            .filter_map(|kind| match kind {
                EventKind::ObjectsPage { list, items, .. }
                    if list == ListKind::live(ObjectKind::Secret) =>
                {
                    Some(items)
                }
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The value the service holds for `name` (at `version`, else the latest).
    fn value(&self, vault: &VaultUri, name: &str, version: Option<String>) -> String {
        let (seen, _) = self.done(Command::GetSecretValue {
            id: ObjectId {
                vault: vault.clone(),
                kind: ObjectKind::Secret,
                name: name.into(),
                version,
            },
        });
        seen.into_iter()
            .find_map(|kind| match kind {
                EventKind::SecretValue { value, .. } => {
                    Some(secrecy::ExposeSecret::expose_secret(&value).to_owned())
                }
                _ => None,
            })
            .expect("a value")
    }

    /// Every version of secret `name` (metadata only).
    fn versions(&self, vault: &VaultUri, name: &str) -> Vec<ObjectItem> {
        let (seen, _) = self.done(Command::ListVersions {
            id: ObjectId {
                vault: vault.clone(),
                kind: ObjectKind::Secret,
                name: name.into(),
                version: None,
            },
        });
        seen.into_iter()
            .filter_map(|kind| match kind {
                EventKind::VersionsPage { items, .. } => Some(items),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn plan(&self, command: Command) -> (WritePlan, String) {
        let (seen, debug) = self.done(command);
        let plan = seen
            .into_iter()
            .find_map(|kind| match kind {
                EventKind::WritesPlanned(plan) => Some(*plan),
                _ => None,
            })
            .expect("a plan");
        (plan, debug)
    }

    /// Applies a plan's writing rows as a bulk run; every item must succeed.
    fn apply(&self, plan: &WritePlan, recover_conflicts: bool) {
        let items: Vec<Change> = plan
            .rows
            .iter()
            .filter(|row| {
                row.fate.writes() && (recover_conflicts || row.fate != WriteFate::Conflict)
            })
            .map(|row| Change::SetSecretVersions {
                vault: plan.target.clone(),
                name: row.name.clone(),
                drafts: row.drafts.clone(),
                recover_first: row.fate == WriteFate::Conflict,
            })
            .collect();
        let (seen, _) = self.done(Command::Bulk {
            items,
            cancel: Default::default(),
        });
        for kind in seen {
            if let EventKind::BulkItem { outcome, .. } = kind {
                assert!(
                    matches!(outcome, vaultscope::worker::bulk::BulkItemOutcome::Done(_)),
                    "{outcome:?}"
                );
            }
        }
    }
}

fn fate_of<'a>(plan: &'a WritePlan, name: &str) -> &'a WriteFate {
    &plan
        .rows
        .iter()
        .find(|row| row.name == name)
        .unwrap_or_else(|| panic!("{name} in the plan"))
        .fate
}

#[test]
fn export_import_into_an_empty_vault_and_compare_says_all_equal() {
    let log = common::capture_log();
    let setup = setup("round-trip");
    assert!(
        setup
            .cloud
            .emulator
            .add_empty_vault("kv-dev-shared", "kv-dev-empty")
    );
    let source = setup.vault("kv-dev-shared");
    let target = setup.vault("kv-dev-empty");
    let items: Vec<ObjectItem> = setup
        .list(&source)
        .into_iter()
        .filter(ObjectItem::enabled)
        .collect();
    assert!(items.len() > 20);

    // Without values: metadata only, an ordinary file.
    let plain = setup.dir.join("plain.csv");
    setup.picker.answer(&plain);
    setup.done(Command::Export(Box::new(ExportRequest {
        vault: source.clone(),
        kind: ObjectKind::Secret,
        items: items.clone(),
        format: ExportFormat::Csv,
        include_values: false,
    })));
    let text = std::fs::read_to_string(&plain).expect("csv");
    assert!(text.starts_with(
        "name,identifier,enabled,created,updated,not_before,expires,content_type,tags\n"
    ));
    assert_eq!(text.lines().count(), items.len() + 1);

    // With values: owner-only.
    let export = setup.dir.join("export.json");
    setup.picker.answer(&export);
    let (seen, _) = setup.done(Command::Export(Box::new(ExportRequest {
        vault: source.clone(),
        kind: ObjectKind::Secret,
        items: items.clone(),
        format: ExportFormat::Json,
        include_values: true,
    })));
    assert!(
        seen.iter()
            .any(|kind| matches!(kind, EventKind::Progress { done, total } if done == total))
    );
    assert!(seen.iter().any(|kind| matches!(
        kind,
        EventKind::Exported {
            with_values: true,
            ..
        }
    )));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&export)
            .expect("file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "an export with values is owner-only");
        let mode = std::fs::metadata(&plain)
            .expect("file")
            .permissions()
            .mode()
            & 0o777;
        assert_ne!(mode, 0o600);
    }

    let (plan, debug) = setup.plan(Command::PlanImport {
        vault: target.clone(),
    });
    assert_eq!(plan.rows.len(), items.len());
    assert!(
        plan.rows.iter().all(|row| row.fate == WriteFate::Create),
        "{:?}",
        plan.rows
    );
    assert!(!debug.contains("sh-"), "no value in a plan's events");
    setup.apply(&plan, false);

    let (seen, debug) = setup.done(Command::CompareVaults {
        left: source.clone(),
        right: target.clone(),
    });
    let rows = seen
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::VaultsCompared { rows, .. } => Some(rows),
            _ => None,
        })
        .expect("a comparison");
    let enabled: std::collections::BTreeSet<String> = items
        .iter()
        .map(|item| item.name().to_ascii_lowercase())
        .collect();
    for row in rows
        .iter()
        .filter(|row| enabled.contains(&row.name.to_ascii_lowercase()))
    {
        assert!(row.right.is_some(), "{} was imported", row.name);
        assert_eq!(row.value, ValueVerdict::Equal, "{}", row.name);
        assert!(
            row.differences.is_empty(),
            "{}: {:?}",
            row.name,
            row.differences
        );
    }
    // Values never travel in a comparison's events.
    let value_of_one = setup.value(&source, &items[0].name(), None);
    assert!(
        !debug.contains(&value_of_one),
        "a value in a comparison event"
    );
    assert!(!debug.to_ascii_lowercase().contains("fingerprint("));
    let logged = log.text();
    assert!(
        logged.contains("vault.localhost"),
        "the trace log is captured"
    );
    assert!(!logged.contains(&value_of_one), "a value in the trace log");
}

#[test]
fn an_import_preview_names_every_fate_and_a_conflict_can_be_recovered_first() {
    let setup = setup("preview");
    let vault = setup.vault("kv-dev-shared");
    let existing = setup.list(&vault)[0].name();
    let value = setup.value(&vault, &existing, None);
    let deleted = setup.list(&vault)[1].name();
    setup.done(Command::Change(Change::Delete {
        vault: vault.clone(),
        kind: ObjectKind::Secret,
        name: deleted.clone(),
    }));
    let file = setup.dir.join("import.env");
    std::fs::write(
        &file,
        format!(
            "{existing}={value}\nchanged-one=first\nbrand-new=fresh\n{deleted}=again\nbad.name=x\n"
        ),
    )
    .expect("write");
    // `changed-one` exists with another value after this.
    setup.done(Command::Change(Change::SetSecret {
        vault: vault.clone(),
        name: "changed-one".into(),
        draft: vaultscope::worker::changes::DraftHandle(Arc::new(
            vaultscope::azure::keyvault_writes::SecretDraft {
                value: SecretString::from("before"),
                content_type: Some("text/plain".into()),
                tags: [("owner".to_owned(), "team-a".to_owned())].into(),
                enabled: true,
                not_before: None,
                expires: None,
            },
        )),
    }));
    setup.picker.answer(&file);
    let (plan, debug) = setup.plan(Command::PlanImport {
        vault: vault.clone(),
    });
    assert_eq!(fate_of(&plan, &existing), &WriteFate::Unchanged);
    assert_eq!(fate_of(&plan, "changed-one"), &WriteFate::NewVersion);
    assert_eq!(fate_of(&plan, "brand-new"), &WriteFate::Create);
    assert_eq!(fate_of(&plan, &deleted), &WriteFate::Conflict);
    assert!(
        matches!(fate_of(&plan, "bad.name"), WriteFate::Invalid(rule) if rule.contains("'.' is not allowed"))
    );
    assert!(
        !debug.contains(&value) && !debug.contains("fresh"),
        "no value in the plan's events"
    );

    setup.apply(&plan, true);
    // A `.env` line carries no tags or content type: the new version keeps the current version's.
    let versions = setup.versions(&vault, "changed-one");
    assert_eq!(versions.len(), 2);
    for version in &versions {
        assert_eq!(
            version.tags.get("owner").map(String::as_str),
            Some("team-a")
        );
        assert_eq!(version.content_type.as_deref(), Some("text/plain"));
    }
    setup.picker.answer(&file);
    let (again, _) = setup.plan(Command::PlanImport { vault });
    for name in [
        existing.as_str(),
        "changed-one",
        "brand-new",
        deleted.as_str(),
    ] {
        assert_eq!(
            fate_of(&again, name),
            &WriteFate::Unchanged,
            "{name} after applying"
        );
    }
}

#[test]
fn certificates_download_as_cer_and_pfx_and_a_pfx_imports_with_its_password() {
    let setup = setup("certificates");
    let vault = setup.vault("kv-dev-shared");
    let id = ObjectId {
        vault: vault.clone(),
        kind: ObjectKind::Certificate,
        name: "shared-tls".into(),
        version: None,
    };
    let cer = setup.dir.join("shared-tls.cer");
    setup.picker.answer(&cer);
    setup.done(Command::DownloadCertificate {
        id: id.clone(),
        format: CertificateFile::Cer,
    });
    let der = std::fs::read(&cer).expect("cer");
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).expect("a DER certificate");
    assert!(parsed.subject().to_string().contains("CN="));

    let pfx = setup.dir.join("shared-tls.pfx");
    setup.picker.answer(&pfx);
    setup.done(Command::DownloadCertificate {
        id: id.clone(),
        format: CertificateFile::PfxWithKey,
    });
    let bytes = std::fs::read(&pfx).expect("pfx");
    let store =
        p12_keystore::KeyStore::from_pkcs12(&bytes, "", p12_keystore::Pkcs12ImportPolicy::Relaxed)
            .expect("a PFX without password");
    let (_, chain) = store.private_key_chain().expect("with its private key");
    assert_eq!(chain.certs()[0].as_der(), der.as_slice());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pfx).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a file with a private key is owner-only");
    }

    // The same PFX, protected by a password, imported as a new certificate.
    let protected = store
        .writer("s3cret-pw")
        .write()
        .expect("pfx with password");
    let upload = setup.dir.join("imported.pfx");
    std::fs::write(&upload, &protected).expect("write");
    let (_, outcome, _) = setup.run(Command::ImportCertificate {
        vault: vault.clone(),
        name: "imported-tls".into(),
        path: upload.clone(),
        password: SecretHandle(Arc::new(SecretString::from("wrong"))),
    });
    assert!(
        matches!(&outcome, Outcome::Failed(error) if error.to_string().contains("password does not open")),
        "{outcome:?}"
    );
    let (seen, _) = setup.done(Command::ImportCertificate {
        vault: vault.clone(),
        name: "imported-tls".into(),
        path: upload,
        password: SecretHandle(Arc::new(SecretString::from("s3cret-pw"))),
    });
    assert!(
        seen.iter().any(
            |kind| matches!(kind, EventKind::Changed(result) if result.name == "imported-tls")
        )
    );
    let cer_again = setup.dir.join("imported.cer");
    setup.picker.answer(&cer_again);
    setup.done(Command::DownloadCertificate {
        id: ObjectId {
            name: "imported-tls".into(),
            ..id
        },
        format: CertificateFile::Cer,
    });
    assert_eq!(
        std::fs::read(&cer_again).expect("cer"),
        der,
        "the imported certificate is the one in the file"
    );
}

#[test]
fn a_backup_restores_in_its_geography_and_is_refused_elsewhere_with_the_reason() {
    let setup = setup("backup");
    let vault = setup.vault("kv-dev-shared");
    let name = setup.list(&vault)[2].name();
    let id = ObjectId {
        vault: vault.clone(),
        kind: ObjectKind::Secret,
        name: name.clone(),
        version: None,
    };
    let blob = setup.dir.join("secret.backup");
    setup.picker.answer(&blob);
    setup.done(Command::Backup { id });
    assert!(std::fs::metadata(&blob).expect("blob").len() > 10);

    assert!(
        setup
            .cloud
            .emulator
            .add_empty_vault("kv-dev-shared", "kv-dev-sweden")
    );
    setup
        .cloud
        .emulator
        .set_vault_location("kv-dev-sweden", "swedencentral");
    let (_, outcome, _) = setup.run(Command::Restore {
        vault: setup.vault("kv-dev-sweden"),
        kind: ObjectKind::Secret,
    });
    let message = match outcome {
        Outcome::Failed(error) => error.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(message.contains("Cannot decrypt backup blob"), "{message}");
    assert!(message.contains("geography"), "{message}");

    setup.done(Command::Change(Change::Delete {
        vault: vault.clone(),
        kind: ObjectKind::Secret,
        name: name.clone(),
    }));
    setup.done(Command::Change(Change::Purge {
        vault: vault.clone(),
        kind: ObjectKind::Secret,
        name: name.clone(),
    }));
    let (seen, _) = setup.done(Command::Restore {
        vault: vault.clone(),
        kind: ObjectKind::Secret,
    });
    assert!(
        seen.iter()
            .any(|kind| matches!(kind, EventKind::Changed(result) if result.name == name))
    );
}

fn certificate_draft(exportable: bool) -> vaultscope::azure::keyvault_writes::CertificateDraft {
    use vaultscope::azure::keyvault_writes::{CertificateDraft, KeyShape, LifetimeAction};
    CertificateDraft {
        subject: "CN=files.contoso.demo".into(),
        dns_names: vec!["files.contoso.demo".into()],
        validity_months: 6,
        key: KeyShape::Rsa(2048),
        exportable,
        content_type: vaultscope::transfer::certificate_files::PKCS12_CONTENT_TYPE.into(),
        lifetime_action: LifetimeAction::AutoRenew { percentage: 80 },
        enabled: true,
        tags: Default::default(),
    }
}

#[test]
fn a_private_key_downloads_only_from_an_exportable_policy_and_converts_from_pfx_to_pem() {
    let setup = setup("exportable");
    setup
        .cloud
        .emulator
        .set_certificate_issuance(std::time::Duration::ZERO);
    let vault = setup.vault("kv-dev-shared");
    for (name, exportable) in [("kept-key", false), ("shared-key", true)] {
        setup.done(Command::Change(Change::CreateCertificate {
            vault: vault.clone(),
            name: name.into(),
            draft: certificate_draft(exportable),
        }));
    }
    let id = |name: &str| ObjectId {
        vault: vault.clone(),
        kind: ObjectKind::Certificate,
        name: name.into(),
        version: None,
    };
    let file = setup.dir.join("key.pem");
    setup.picker.answer(&file);
    let (_, outcome, _) = setup.run(Command::DownloadCertificate {
        id: id("kept-key"),
        format: CertificateFile::PemWithKey,
    });
    assert!(
        matches!(&outcome, Outcome::Failed(error) if error.to_string().contains("not exportable")),
        "{outcome:?}"
    );
    assert!(!file.exists(), "nothing written");
    // The public certificate is still there for the taking.
    setup.done(Command::DownloadCertificate {
        id: id("kept-key"),
        format: CertificateFile::Pem,
    });
    let text = std::fs::read_to_string(&file).expect("pem");
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----") && !text.contains("PRIVATE KEY"));

    // A PKCS#12 secret becomes a PEM with its key.
    std::fs::remove_file(&file).expect("remove");
    setup.done(Command::DownloadCertificate {
        id: id("shared-key"),
        format: CertificateFile::PemWithKey,
    });
    let text = std::fs::read_to_string(&file).expect("pem");
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 1);
}

#[test]
fn a_copy_of_every_enabled_version_writes_them_in_order_with_tags_and_content_type() {
    let setup = setup("copy");
    assert!(
        setup
            .cloud
            .emulator
            .add_empty_vault("kv-dev-shared", "kv-dev-copy")
    );
    let source = setup.vault("kv-dev-shared");
    let target = setup.vault("kv-dev-copy");
    let draft = |value: &str, enabled: bool| {
        vaultscope::worker::changes::DraftHandle(Arc::new(
            vaultscope::azure::keyvault_writes::SecretDraft {
                value: SecretString::from(value),
                content_type: Some("text/plain".into()),
                tags: [("owner".to_owned(), "team-a".to_owned())].into(),
                enabled,
                not_before: None,
                expires: Some(1_900_000_000),
            },
        ))
    };
    setup.done(Command::Change(Change::SetSecretVersions {
        vault: source.clone(),
        name: "versioned".into(),
        drafts: vec![
            draft("one", true),
            draft("two", false),
            draft("three", true),
        ],
        recover_first: false,
    }));
    let (plan, _) = setup.plan(Command::PlanCopy {
        sources: vec![ObjectId {
            vault: source.clone(),
            kind: ObjectKind::Secret,
            name: "versioned".into(),
            version: None,
        }],
        target: target.clone(),
        all_versions: true,
        keep_expiry: false,
    });
    assert_eq!(fate_of(&plan, "versioned"), &WriteFate::Create);
    assert_eq!(
        plan.rows[0].drafts.len(),
        2,
        "the disabled version is not copied"
    );
    setup.apply(&plan, false);
    let mut versions = setup.versions(&target, "versioned");
    versions.sort_by_key(|item| item.attributes.created);
    assert_eq!(versions.len(), 2);
    for item in &versions {
        assert_eq!(item.content_type.as_deref(), Some("text/plain"));
        assert_eq!(item.tags.get("owner").map(String::as_str), Some("team-a"));
        assert_eq!(
            item.attributes.exp, None,
            "expiry left behind when not kept"
        );
    }
    let value = |version: Option<String>| setup.value(&target, "versioned", version);
    assert_eq!(value(None), "three", "the newest is the source's newest");
    let oldest = versions[0].version();
    assert_eq!(value(oldest), "one");
}
