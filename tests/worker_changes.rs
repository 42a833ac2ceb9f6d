//! Writes through the worker against the emulator: each change succeeds and the answer is the service's;
//! a 403 names the missing permission; a create on a deleted name meets 409; purge protection refuses a
//! purge; a lost answer ends with a re-read that says what happened; bulk runs under injected 429s lose and
//! repeat nothing, and cancel between items.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use vaultscope::azure::AzureError;
use vaultscope::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use vaultscope::azure::keyvault_writes::{
    CertificateDraft, EcCurve, KeyDraft, KeyShape, LifetimeAction, SecretDraft, VersionUpdate,
};
use vaultscope::emulator::faults::Faults;
use vaultscope::worker::bulk::{BulkItemOutcome, CancelFlag};
use vaultscope::worker::changes::{Change, ChangeEffect, ChangeResult, DraftHandle};
use vaultscope::worker::protocol::FailureReason;
use vaultscope::worker::{Command, Event, EventKind, Outcome, WorkerHandle};

use common::{TestCloud, wait_for};

fn vault(cloud: &TestCloud, name: &str) -> VaultUri {
    VaultUri::parse(&format!(
        "https://{name}.vault.localhost:{}",
        cloud.emulator.port()
    ))
    .expect("vault uri")
}

fn draft(value: &str) -> DraftHandle {
    DraftHandle(Arc::new(SecretDraft {
        value: SecretString::from(value),
        content_type: Some("text/plain".into()),
        tags: BTreeMap::from([("owner".into(), "team-a".into())]),
        enabled: true,
        not_before: None,
        expires: None,
    }))
}

/// Sends `change` and returns its last `Changed` and the outcome.
fn change(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    change: Change,
) -> (Vec<ChangeResult>, Outcome) {
    let id = worker.send(Command::Change(change));
    let (seen, outcome) = wait_for(events, id);
    let results = seen
        .into_iter()
        .filter_map(|kind| match kind {
            EventKind::Changed(result) => Some(result),
            _ => None,
        })
        .collect();
    (results, outcome)
}

fn done(worker: &WorkerHandle, events: &Receiver<Event>, request: Change) -> ChangeResult {
    let description = request.describe();
    let (results, outcome) = change(worker, events, request);
    assert!(
        matches!(outcome, Outcome::Done),
        "{description}: {outcome:?}"
    );
    results.into_iter().last().expect("a Changed event")
}

fn failure(worker: &WorkerHandle, events: &Receiver<Event>, request: Change) -> FailureReason {
    match change(worker, events, request) {
        (_, Outcome::Failed(error)) => error.source,
        (results, outcome) => panic!("expected a failure, got {outcome:?} after {results:?}"),
    }
}

fn value_of(worker: &WorkerHandle, events: &Receiver<Event>, id: ObjectId) -> String {
    let request = worker.send(Command::GetSecretValue { id });
    let (seen, outcome) = wait_for(events, request);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    seen.into_iter()
        .find_map(|kind| match kind {
            EventKind::SecretValue { value, .. } => Some(value.expose_secret().to_owned()),
            _ => None,
        })
        .expect("a value")
}

fn secret_id(vault: &VaultUri, name: &str, version: Option<String>) -> ObjectId {
    ObjectId {
        vault: vault.clone(),
        kind: ObjectKind::Secret,
        name: name.into(),
        version,
    }
}

fn live_item(result: &ChangeResult) -> &vaultscope::azure::models::ObjectItem {
    match &result.effect {
        ChangeEffect::Live(item) | ChangeEffect::VersionChanged(item) => item,
        other => panic!("expected a live object, got {other:?}"),
    }
}

#[test]
fn secrets_are_created_versioned_edited_rolled_back_deleted_recovered_and_purged() {
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    let shared = vault(&cloud, "kv-dev-shared");
    let name = "vaultscope-written";

    let first = done(
        &worker,
        &events,
        Change::SetSecret {
            vault: shared.clone(),
            name: name.into(),
            draft: draft("first value"),
        },
    );
    let first_version = live_item(&first).version().expect("versioned answer");
    assert_eq!(
        live_item(&first).content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(
        live_item(&first).tags.get("owner").map(String::as_str),
        Some("team-a")
    );

    let second = done(
        &worker,
        &events,
        Change::SetSecret {
            vault: shared.clone(),
            name: name.into(),
            draft: draft("second value"),
        },
    );
    let second_version = live_item(&second).version().expect("version");
    assert_ne!(first_version, second_version);
    assert_eq!(
        value_of(&worker, &events, secret_id(&shared, name, None)),
        "second value"
    );

    // Disable the first version and retag it: the service's answer is that version's new state.
    let edited = done(
        &worker,
        &events,
        Change::UpdateVersion {
            id: secret_id(&shared, name, Some(first_version.clone())),
            update: VersionUpdate {
                enabled: Some(false),
                tags: Some(BTreeMap::from([("owner".into(), "team-b".into())])),
                ..VersionUpdate::default()
            },
        },
    );
    let ChangeEffect::VersionChanged(edited_item) = &edited.effect else {
        panic!("{edited:?}");
    };
    assert!(!edited_item.enabled());
    assert_eq!(
        edited_item.tags.get("owner").map(String::as_str),
        Some("team-b")
    );
    // Re-enable it so it can be rolled back to (a disabled version's value cannot be read).
    done(
        &worker,
        &events,
        Change::UpdateVersion {
            id: secret_id(&shared, name, Some(first_version.clone())),
            update: VersionUpdate {
                enabled: Some(true),
                ..VersionUpdate::default()
            },
        },
    );

    let rolled = done(
        &worker,
        &events,
        Change::RollBackSecret {
            from: secret_id(&shared, name, Some(first_version.clone())),
        },
    );
    let rolled_version = live_item(&rolled).version().expect("version");
    assert!(rolled_version != first_version && rolled_version != second_version);
    assert_eq!(
        value_of(&worker, &events, secret_id(&shared, name, None)),
        "first value"
    );

    let deleted = done(
        &worker,
        &events,
        Change::Delete {
            vault: shared.clone(),
            kind: ObjectKind::Secret,
            name: name.into(),
        },
    );
    let ChangeEffect::Deleted(deleted_item) = &deleted.effect else {
        panic!("{deleted:?}");
    };
    assert!(deleted_item.recovery_id.is_some());

    // A set on the deleted name meets Key Vault's 409.
    match failure(
        &worker,
        &events,
        Change::SetSecret {
            vault: shared.clone(),
            name: name.into(),
            draft: draft("third"),
        },
    ) {
        FailureReason::Azure(AzureError::Service {
            status: 409,
            inner_code,
            ..
        }) => {
            assert_eq!(inner_code.as_deref(), Some("ObjectIsDeletedButRecoverable"));
        }
        other => panic!("expected 409, got {other:?}"),
    }

    let recovered = done(
        &worker,
        &events,
        Change::Recover {
            vault: shared.clone(),
            kind: ObjectKind::Secret,
            name: name.into(),
        },
    );
    assert!(matches!(recovered.effect, ChangeEffect::Live(_)));
    assert_eq!(
        value_of(&worker, &events, secret_id(&shared, name, None)),
        "first value"
    );

    done(
        &worker,
        &events,
        Change::Delete {
            vault: shared.clone(),
            kind: ObjectKind::Secret,
            name: name.into(),
        },
    );
    let purged = done(
        &worker,
        &events,
        Change::Purge {
            vault: shared.clone(),
            kind: ObjectKind::Secret,
            name: name.into(),
        },
    );
    assert_eq!(purged.effect, ChangeEffect::Purged);
    // Gone for good: the name is free again.
    done(
        &worker,
        &events,
        Change::SetSecret {
            vault: shared,
            name: name.into(),
            draft: draft("after purge"),
        },
    );
}

#[test]
fn a_refused_write_names_the_missing_permission_and_purge_protection_refuses_purge() {
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    // kv-dev-sandbox: Ada's access policy has get, list, set and delete on secrets, not recover.
    let sandbox = vault(&cloud, "kv-dev-sandbox");
    let name = "denied-recover";
    done(
        &worker,
        &events,
        Change::SetSecret {
            vault: sandbox.clone(),
            name: name.into(),
            draft: draft("x"),
        },
    );
    done(
        &worker,
        &events,
        Change::Delete {
            vault: sandbox.clone(),
            kind: ObjectKind::Secret,
            name: name.into(),
        },
    );
    match failure(
        &worker,
        &events,
        Change::Recover {
            vault: sandbox,
            kind: ObjectKind::Secret,
            name: name.into(),
        },
    ) {
        FailureReason::Azure(AzureError::Service {
            status: 403,
            message,
            ..
        }) => {
            assert!(message.contains("recover"), "{message}");
        }
        other => panic!("expected 403, got {other:?}"),
    }

    // kv-prod-orders has purge protection: the delete goes through, the purge is refused.
    let orders = vault(&cloud, "kv-prod-orders");
    done(
        &worker,
        &events,
        Change::Delete {
            vault: orders.clone(),
            kind: ObjectKind::Secret,
            name: "inventory-ApiKey".into(),
        },
    );
    match failure(
        &worker,
        &events,
        Change::Purge {
            vault: orders,
            kind: ObjectKind::Secret,
            name: "inventory-ApiKey".into(),
        },
    ) {
        FailureReason::Azure(AzureError::Service {
            status: 403,
            message,
            ..
        }) => {
            assert!(message.contains("purge protection"), "{message}");
        }
        other => panic!("expected 403, got {other:?}"),
    }
}

#[test]
fn a_write_whose_answer_is_lost_is_re_read_and_reported() {
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    let shared = vault(&cloud, "kv-dev-shared");
    cloud.emulator.set_faults(Faults {
        lost_answer_rate: 1.0,
        ..Faults::default()
    });
    // The client's first request to a vault goes without a token to learn its challenge: losing that
    // answer loses nothing, and the re-read says the write did not happen.
    match failure(
        &worker,
        &events,
        Change::SetSecret {
            vault: shared.clone(),
            name: "lost-answer".into(),
            draft: draft("never written"),
        },
    ) {
        FailureReason::Internal(text) => assert!(text.contains("did not go through"), "{text}"),
        other => panic!("{other:?}"),
    }
    // With the challenge known, the write is carried out and only its answer is lost.
    let result = done(
        &worker,
        &events,
        Change::SetSecret {
            vault: shared.clone(),
            name: "lost-answer".into(),
            draft: draft("written once"),
        },
    );
    cloud.emulator.set_faults(Faults::default());
    let reread = result.reread.as_deref().expect("a re-read note");
    assert!(reread.contains("went through"), "{reread}");
    // The write was sent once: one version, not two.
    let puts = cloud
        .emulator
        .request_log()
        .iter()
        .filter(|request| request.method == "PUT" && request.path.ends_with("/secrets/lost-answer"))
        .filter(|request| request.principal.is_some())
        .count();
    assert_eq!(puts, 1, "a non-idempotent write is never re-sent");
    let versions = worker.send(Command::ListVersions {
        id: secret_id(&shared, "lost-answer", None),
    });
    let (pages, _) = wait_for(&events, versions);
    let count: usize = pages
        .iter()
        .map(|kind| match kind {
            EventKind::VersionsPage { items, .. } => items.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(count, 1);

    // A recovery whose answer is lost: the re-read finds it live again.
    done(
        &worker,
        &events,
        Change::Delete {
            vault: shared.clone(),
            kind: ObjectKind::Secret,
            name: "lost-answer".into(),
        },
    );
    cloud.emulator.set_faults(Faults {
        lost_answer_rate: 1.0,
        ..Faults::default()
    });
    let recovered = done(
        &worker,
        &events,
        Change::Recover {
            vault: shared,
            kind: ObjectKind::Secret,
            name: "lost-answer".into(),
        },
    );
    cloud.emulator.set_faults(Faults::default());
    assert!(matches!(recovered.effect, ChangeEffect::Live(_)));
    assert!(
        recovered
            .reread
            .as_deref()
            .unwrap_or("")
            .contains("recovery went through")
    );
}

#[test]
fn keys_are_created_and_rotated_and_certificates_are_polled_until_issued() {
    let cloud = TestCloud::start();
    cloud
        .emulator
        .set_certificate_issuance(Duration::from_millis(1500));
    let (worker, events) = cloud.signed_in_worker();
    let shared = vault(&cloud, "kv-dev-shared");
    for (name, shape) in [
        ("written-rsa", KeyShape::Rsa(3072)),
        ("written-ec", KeyShape::Ec(EcCurve::P384)),
    ] {
        let created = done(
            &worker,
            &events,
            Change::CreateKey {
                vault: shared.clone(),
                name: name.into(),
                draft: KeyDraft {
                    shape,
                    operations: vec!["sign".into(), "verify".into()],
                    enabled: true,
                    not_before: None,
                    expires: None,
                    tags: BTreeMap::new(),
                },
            },
        );
        let first = live_item(&created).version().expect("version");
        let rotated = done(
            &worker,
            &events,
            Change::RotateKey {
                vault: shared.clone(),
                name: name.into(),
            },
        );
        assert_ne!(live_item(&rotated).version().expect("version"), first);
        let details = worker.send(Command::GetDetails {
            id: ObjectId {
                vault: shared.clone(),
                kind: ObjectKind::Key,
                name: name.into(),
                version: None,
            },
        });
        let (seen, _) = wait_for(&events, details);
        let shown = format!("{seen:?}");
        match shape {
            KeyShape::Rsa(_) => assert!(shown.contains("3072"), "{shown}"),
            KeyShape::Ec(_) => assert!(shown.contains("P-384"), "{shown}"),
        }
    }

    let (results, outcome) = change(
        &worker,
        &events,
        Change::CreateCertificate {
            vault: shared,
            name: "written-cert".into(),
            draft: CertificateDraft {
                subject: "CN=written.contoso.demo".into(),
                dns_names: vec!["written.contoso.demo".into()],
                validity_months: 6,
                key: KeyShape::Rsa(2048),
                exportable: true,
                content_type: "application/x-pkcs12".into(),
                lifetime_action: LifetimeAction::AutoRenew { percentage: 80 },
                enabled: true,
                tags: BTreeMap::new(),
            },
        },
    );
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(
        matches!(&results[0].effect, ChangeEffect::Pending(operation) if operation.in_progress()),
        "first the pending operation: {results:?}"
    );
    let issued = live_item(results.last().expect("issued"));
    assert!(issued.enabled(), "enabled once issued: {issued:?}");
    assert!(issued.x5t.is_some());
}

fn bulk(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    items: Vec<Change>,
    cancel: &CancelFlag,
    cancel_after: Option<usize>,
) -> Vec<(usize, BulkItemOutcome)> {
    let id = worker.send(Command::Bulk {
        items,
        cancel: cancel.clone(),
    });
    let mut reported = Vec::new();
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(60))
            .expect("an event within 60 s");
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::BulkItem { index, outcome } => {
                reported.push((index, outcome));
                if Some(reported.len()) == cancel_after {
                    cancel.cancel();
                }
            }
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                return reported;
            }
            _ => {}
        }
    }
}

#[test]
fn bulk_runs_lose_and_repeat_nothing_under_throttling_and_cancel_between_items() {
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    let shared = vault(&cloud, "kv-dev-shared");
    let names: Vec<String> = (0..40).map(|i| format!("bulk-{i:02}")).collect();
    let create: Vec<Change> = names
        .iter()
        .map(|name| Change::SetSecret {
            vault: shared.clone(),
            name: name.clone(),
            draft: draft("v"),
        })
        .collect();
    cloud.emulator.set_faults(Faults {
        throttle_rate: 0.3,
        retry_after_seconds: 0,
        ..Faults::default()
    });
    let created = bulk(&worker, &events, create, &CancelFlag::default(), None);
    let mut indices: Vec<usize> = created.iter().map(|(index, _)| *index).collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        (0..40).collect::<Vec<_>>(),
        "each item reported exactly once"
    );
    assert!(
        created
            .iter()
            .all(|(_, outcome)| matches!(outcome, BulkItemOutcome::Done(_))),
        "{created:?}"
    );
    cloud.emulator.set_faults(Faults::default());
    // Every secret has exactly one version: throttled sets were sent again, none twice.
    let counts = cloud.emulator.vault_secret_counts();
    let before = counts
        .iter()
        .find(|(vault, _)| vault == "kv-dev-shared")
        .map(|(_, count)| *count)
        .expect("vault");
    let served_puts = cloud
        .emulator
        .request_log()
        .iter()
        .filter(|r| {
            r.method == "PUT" && r.path.starts_with("/secrets/bulk-") && r.status == Some(200)
        })
        .count();
    assert_eq!(served_puts, 40);

    // Cancel after 5 deletes: items under way finish, the rest are not started.
    let delete: Vec<Change> = names
        .iter()
        .map(|name| Change::Delete {
            vault: shared.clone(),
            kind: ObjectKind::Secret,
            name: name.clone(),
        })
        .collect();
    let cancel = CancelFlag::default();
    let reported = bulk(&worker, &events, delete, &cancel, Some(5));
    assert_eq!(reported.len(), 40, "every item is reported, started or not");
    let deleted = reported
        .iter()
        .filter(|(_, outcome)| matches!(outcome, BulkItemOutcome::Done(_)))
        .count();
    let not_started = reported
        .iter()
        .filter(|(_, outcome)| matches!(outcome, BulkItemOutcome::NotStarted))
        .count();
    assert!(not_started > 0, "cancel stopped the run: {reported:?}");
    assert_eq!(deleted + not_started, 40, "no item failed or was half-done");
    let after = cloud
        .emulator
        .vault_secret_counts()
        .iter()
        .find(|(vault, _)| vault == "kv-dev-shared")
        .map(|(_, count)| *count)
        .expect("vault");
    assert_eq!(
        before - after,
        deleted,
        "the service holds exactly what was reported"
    );
}

/// A file picker that answers with a fixed path (or none: the person cancelled).
struct FakePicker(Option<std::path::PathBuf>);

impl vaultscope::worker::files::FilePicker for FakePicker {
    fn open(&self, _title: &str) -> vaultscope::worker::files::Picked {
        let path = self.0.clone();
        Box::pin(async move { path })
    }

    fn save(&self, _title: &str, _suggested_name: &str) -> vaultscope::worker::files::Picked {
        let path = self.0.clone();
        Box::pin(async move { path })
    }
}

fn worker_with_picker(
    cloud: &TestCloud,
    path: Option<std::path::PathBuf>,
) -> (WorkerHandle, Receiver<Event>) {
    let mut settings = cloud.settings();
    settings.file_picker = vaultscope::worker::files::SharedPicker(Arc::new(FakePicker(path)));
    vaultscope::worker::spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}))
}

#[test]
fn a_value_is_read_from_the_picked_file_and_the_log_saved_where_asked() {
    let cloud = TestCloud::start();
    let dir = std::env::temp_dir().join(format!("vaultscope-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let value_file = dir.join("value.txt");
    std::fs::write(&value_file, "line one\nline two\n").expect("write");
    let (worker, events) = worker_with_picker(&cloud, Some(value_file.clone()));
    let (seen, outcome) = wait_for(&events, worker.send(Command::ReadValueFile));
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let value = seen
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::ValueFileRead { file_name, value } => Some((file_name, value)),
            _ => None,
        })
        .expect("the value");
    assert_eq!(value.0, "value.txt");
    assert_eq!(value.1.expose_secret(), "line one\nline two\n");

    // Over Key Vault's 25 KB, or not UTF-8: a sentence, no value.
    std::fs::write(&value_file, vec![b'x'; 25 * 1024 + 1]).expect("write");
    let (seen, outcome) = wait_for(&events, worker.send(Command::ReadValueFile));
    assert!(seen.is_empty());
    assert!(
        matches!(&outcome, Outcome::Failed(error) if error.to_string().contains("25 KB")),
        "{outcome:?}"
    );
    std::fs::write(&value_file, [0xff, 0xfe, 0x00]).expect("write");
    let (_, outcome) = wait_for(&events, worker.send(Command::ReadValueFile));
    assert!(
        matches!(&outcome, Outcome::Failed(error) if error.to_string().contains("not UTF-8")),
        "{outcome:?}"
    );

    // Saving the change log writes the text where the person pointed.
    let log_file = dir.join("changes.tsv");
    let (worker, events) = worker_with_picker(&cloud, Some(log_file.clone()));
    let (seen, outcome) = wait_for(
        &events,
        worker.send(Command::SaveTextFile {
            title: "Save".into(),
            suggested_name: "changes.tsv".into(),
            contents: "time\tidentity\n".into(),
        }),
    );
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(
        seen.iter()
            .any(|kind| matches!(kind, EventKind::FileSaved { .. }))
    );
    assert_eq!(
        std::fs::read_to_string(&log_file).expect("saved"),
        "time\tidentity\n"
    );

    // A cancelled dialog: nothing read, nothing written, the command still ends.
    let (worker, events) = worker_with_picker(&cloud, None);
    let (seen, outcome) = wait_for(&events, worker.send(Command::ReadValueFile));
    assert!(seen.is_empty() && matches!(outcome, Outcome::Done));
    let _ = std::fs::remove_dir_all(&dir);
}
