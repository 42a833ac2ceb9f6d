//! The service's answers to changes: progress events (a change's result, a bulk item's fate, a value read
//! from a file), queued for the lists once a frame; the end of each request (the dialog closes or shows the
//! service's reason, a 409 offers to recover, a bulk run's unreported items are named, a created object is
//! selected); and the change log's lines.

use super::super::common::Shared;
use super::super::errors::explain;
use super::{Applied, ChangeDialog, ChangeRequest, ChangesState, DialogStatus, LogEntry};
use crate::azure::AzureError;
use crate::azure::identifiers::ObjectKind;
use crate::azure::models::{ListKind, ObjectItem};
use crate::worker::bulk::BulkItemOutcome;
use crate::worker::changes::{Change, ChangeEffect, ChangeResult};
use crate::worker::protocol::FailureReason;
use crate::worker::{EventKind, Outcome, RequestId};

impl ChangesState {
    /// An intermediate event of a changes request.
    pub fn apply_progress(
        &mut self,
        id: RequestId,
        request: &ChangeRequest,
        kind: EventKind,
        shared: &mut Shared,
    ) {
        match (request, kind) {
            (
                ChangeRequest::Dialog(_) | ChangeRequest::RecoverForForm(_),
                EventKind::Changed(result),
            ) => {
                if let Some(note) = &result.reread {
                    shared.set_notice(note.clone(), false);
                }
                if matches!(result.effect, ChangeEffect::Pending(_))
                    && matches!(request, ChangeRequest::Dialog(_))
                    && !self.detached.contains(&id)
                {
                    // The service accepted the creation: the dialog's work is done; the row shows it
                    // pending until it is issued.
                    self.detached.insert(id);
                    self.close_dialog();
                    shared.set_notice(
                        format!("Creating certificate {}: being issued…", result.name),
                        false,
                    );
                }
                self.note_result(&result);
                self.last_result = Some(result);
            }
            (ChangeRequest::Bulk, EventKind::BulkItem { index, outcome }) => {
                if let BulkItemOutcome::Done(result) = &outcome {
                    self.note_result(result);
                }
                if let Some(bulk) = &mut self.bulk
                    && let Some(slot) = bulk.outcomes.get_mut(index)
                {
                    *slot = Some(outcome);
                }
            }
            (ChangeRequest::ValueFile, EventKind::ValueFileRead { file_name, value }) => {
                use secrecy::ExposeSecret;
                if self.value.replace_with(value.expose_secret()) {
                    self.status.message = Some(format!("Value read from {file_name}."));
                    self.status.error = None;
                } else {
                    self.status.error = Some(format!(
                        "{file_name} is larger than Key Vault's 25 KB limit on a secret value."
                    ));
                }
            }
            (ChangeRequest::SaveLog, EventKind::FileSaved { path }) => {
                shared.set_notice(format!("Change log saved to {path}"), false);
            }
            _ => {}
        }
    }

    /// Queues a service answer for the lists.
    pub(crate) fn note_result(&mut self, result: &ChangeResult) {
        let live = ListKind::live(result.kind);
        let deleted = ListKind::deleted(result.kind);
        let key = (
            result.vault.as_str().to_owned(),
            result.name.to_ascii_lowercase(),
        );
        let mut apply = |list: ListKind, removed: Vec<String>, upserts: Vec<ObjectItem>| {
            self.outbox.push(Applied {
                vault: result.vault.clone(),
                list,
                removed,
                upserts,
            });
        };
        match &result.effect {
            ChangeEffect::Live(item) => {
                apply(live, Vec::new(), vec![list_row(item)]);
                apply(deleted, vec![result.name.clone()], Vec::new());
                self.pending_certificates.remove(&key);
            }
            ChangeEffect::VersionChanged(_) => {}
            ChangeEffect::Deleted(item) => {
                apply(live, vec![result.name.clone()], Vec::new());
                apply(deleted, Vec::new(), vec![list_row(item)]);
            }
            ChangeEffect::Purged => apply(deleted, vec![result.name.clone()], Vec::new()),
            ChangeEffect::Pending(_) => {
                // The certificate exists, disabled, while it is issued: a row for it until the answer.
                let placeholder = ObjectItem {
                    id: Some(format!("{}certificates/{}", result.vault, result.name)),
                    attributes: crate::azure::models::ObjectAttributes {
                        enabled: Some(false),
                        ..Default::default()
                    },
                    ..ObjectItem::default()
                };
                if !self.pending_certificates.contains(&key) {
                    apply(live, Vec::new(), vec![placeholder]);
                }
                self.pending_certificates.insert(key);
            }
        }
        if result.kind == ObjectKind::Certificate
            && !matches!(result.effect, ChangeEffect::Pending(_))
        {
            // A certificate's key and secret follow it: read the vault's lists again.
            self.reload.push(result.vault.clone());
        }
        self.touched
            .push((result.vault.clone(), result.kind, result.name.clone()));
    }

    /// A changes request ended.
    pub fn finish(
        &mut self,
        id: RequestId,
        request: ChangeRequest,
        outcome: Outcome,
        identity: &str,
        shared: &mut Shared,
    ) {
        match request {
            ChangeRequest::Dialog(change) if self.detached.remove(&id) => {
                // A certificate whose dialog closed when its creation was accepted.
                self.last_result = None;
                match &outcome {
                    Outcome::Done => {
                        self.log_change(&change, identity, "done");
                        shared.set_notice(format!("Issued certificate {}", change.name()), false);
                        self.select_after = Some((
                            change.vault().clone(),
                            ListKind::live(change.kind()),
                            change.name().to_owned(),
                        ));
                    }
                    Outcome::Failed(error) => {
                        let sentence = explain(error);
                        self.log_change(&change, identity, &format!("failed: {sentence}"));
                        shared.set_notice(
                            format!("Certificate {} was not issued: {sentence}", change.name()),
                            true,
                        );
                        self.pending_certificates.remove(&(
                            change.vault().as_str().to_owned(),
                            change.name().to_ascii_lowercase(),
                        ));
                    }
                    Outcome::Cancelled => {}
                }
            }
            ChangeRequest::Dialog(change) => {
                let result = self.last_result.take();
                self.status.sending = false;
                match &outcome {
                    Outcome::Done => {
                        let text = match result.as_ref().and_then(|r| r.reread.clone()) {
                            Some(note) => format!("outcome re-read: {note}"),
                            None => "done".to_owned(),
                        };
                        self.log_change(&change, identity, &text);
                        shared.set_notice(format!("Done: {}", change.describe()), false);
                        if matches!(
                            change,
                            Change::SetSecret { .. }
                                | Change::CreateKey { .. }
                                | Change::CreateCertificate { .. }
                        ) {
                            self.select_after = Some((
                                change.vault().clone(),
                                ListKind::live(change.kind()),
                                change.name().to_owned(),
                            ));
                        }
                        self.close_dialog();
                    }
                    Outcome::Failed(error) => {
                        let sentence = explain(error);
                        self.log_change(&change, identity, &format!("failed: {sentence}"));
                        self.status.conflict = matches!(&change, Change::SetSecret { .. })
                            && is_deleted_but_recoverable(&error.source);
                        self.status.error = Some(if self.status.conflict {
                            format!(
                                "A deleted secret named {} can still be recovered, so the name cannot be reused until it is recovered or purged.",
                                change.name()
                            )
                        } else {
                            sentence
                        });
                    }
                    Outcome::Cancelled => {
                        self.log_change(
                            &change,
                            identity,
                            "cancelled before an answer (outcome unknown; reload to see)",
                        );
                    }
                }
            }
            ChangeRequest::RecoverForForm(change) => {
                self.last_result = None;
                self.status.sending = false;
                match &outcome {
                    Outcome::Done => {
                        self.log_change(&change, identity, "done");
                        if let Some(ChangeDialog::Secret(form)) = &mut self.dialog {
                            form.existing = Some(form.name.trim().to_owned());
                        }
                        self.status = DialogStatus {
                            message: Some(format!(
                                "Recovered {} with its versions as they were. Add this value as a new version now if you still want it.",
                                change.name()
                            )),
                            ..DialogStatus::default()
                        };
                    }
                    Outcome::Failed(error) => {
                        let sentence = explain(error);
                        self.log_change(&change, identity, &format!("failed: {sentence}"));
                        self.status.error = Some(sentence);
                        self.status.conflict = true;
                    }
                    Outcome::Cancelled => {}
                }
            }
            ChangeRequest::Bulk => {
                if let Some(bulk) = &mut self.bulk
                    && bulk.request == Some(id)
                {
                    bulk.finished = true;
                    // Items the run never reported (it ended as a whole, e.g. signed out) are listed as
                    // failed with that reason rather than dropped.
                    let ended = match &outcome {
                        Outcome::Failed(error) => explain(error),
                        Outcome::Cancelled => {
                            "the run was stopped before this item's answer; reload to see".into()
                        }
                        Outcome::Done => "no answer for this item; reload to see".into(),
                    };
                    for outcome in &mut bulk.outcomes {
                        if outcome.is_none() {
                            *outcome = Some(BulkItemOutcome::Failed(ended.clone()));
                        }
                    }
                    let entries: Vec<(Change, String)> = bulk
                        .items
                        .iter()
                        .zip(&bulk.outcomes)
                        .filter_map(|(change, outcome)| match outcome {
                            Some(BulkItemOutcome::Done(result)) => Some((
                                change.clone(),
                                result.reread.clone().map_or_else(
                                    || "done".to_owned(),
                                    |note| format!("outcome re-read: {note}"),
                                ),
                            )),
                            Some(BulkItemOutcome::Failed(reason)) => {
                                Some((change.clone(), format!("failed: {reason}")))
                            }
                            _ => None,
                        })
                        .collect();
                    let summary = format!(
                        "{}: {} done, {} failed, {} not started",
                        bulk.title,
                        bulk.done(),
                        bulk.failed(),
                        bulk.not_started()
                    );
                    for (change, text) in entries {
                        self.log_change(&change, identity, &text);
                    }
                    shared.set_notice(summary, false);
                }
            }
            ChangeRequest::ValueFile | ChangeRequest::SaveLog => {
                if let Outcome::Failed(error) = outcome {
                    shared.set_notice(explain(&error), true);
                }
            }
        }
    }

    /// Adds a line to the change log (access changes come from their own feature).
    pub fn log_entry(
        &mut self,
        identity: &str,
        vault: &str,
        object: &str,
        action: &str,
        result: &str,
    ) {
        self.log.push(LogEntry {
            time: now_text(),
            identity: identity.to_owned(),
            vault: vault.to_owned(),
            object: object.to_owned(),
            action: action.to_owned(),
            result: result.to_owned(),
        });
    }

    fn log_change(&mut self, change: &Change, identity: &str, result: &str) {
        self.log.push(LogEntry {
            time: now_text(),
            identity: identity.to_owned(),
            vault: change.vault().name().to_owned(),
            object: format!("{} {}", change.kind().singular(), change.name()),
            action: change.action(),
            result: result.to_owned(),
        });
    }
}

fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// A service row as its list holds it: a versionless identifier.
fn list_row(item: &ObjectItem) -> ObjectItem {
    let mut row = item.clone();
    if let Some(id) = item.object_id() {
        let versionless = id.versionless();
        if row.kid.is_some() {
            row.kid = Some(versionless);
        } else {
            row.id = Some(versionless);
        }
    }
    row
}

fn is_deleted_but_recoverable(reason: &FailureReason) -> bool {
    matches!(
        reason,
        FailureReason::Azure(AzureError::Service { status: 409, inner_code, code, .. })
            if inner_code.as_deref() == Some("ObjectIsDeletedButRecoverable")
                || code == "ObjectIsDeletedButRecoverable"
    )
}
