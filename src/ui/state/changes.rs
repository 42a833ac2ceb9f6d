//! Changing things: the open change dialog (a form, or a confirmation that shows the change as it will be
//! made, with the equivalent `az` command and, for purge and large bulk runs, a word to type), the marked
//! rows a bulk action applies to, the bulk run in progress, the session's change log (never a value), and the
//! service's answers waiting to be applied to the lists. `--read-only` turns every intent that would change
//! something away.

use std::collections::BTreeSet;

use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::keyvault_writes::SecretDraft;
use crate::azure::models::{ListKind, ObjectItem, VaultSummary};
use crate::worker::bulk::{BulkItemOutcome, CancelFlag};
use crate::worker::changes::{Change, ChangeResult, DraftHandle};
use crate::worker::{Command, RequestId};

use super::bulk::{BulkAction, BulkRun, MarkMode, Marks, bulk_change, bulk_confirmation};
use super::change_forms::{CertificateForm, EditForm, KeyForm, SecretForm};
use super::common::{CommandSink, Requests, Shared};
pub use super::confirmation::Confirmation;
use super::confirmation::az_command;
use super::secret_input::SecretText;

mod answers;

#[derive(Debug, Clone, PartialEq)]
pub enum ChangesIntent {
    NewSecret,
    /// A new version of the selected secret.
    NewVersion,
    /// Edit the selected version (or the latest) of the selected object.
    EditVersion,
    NewKey,
    /// A new version of the selected key.
    RotateKey,
    NewCertificate,
    /// Delete, recover, purge, enable, disable or tag the marked rows (else the selected one).
    Bulk(BulkAction),
    /// The same, for the selected object alone (its details pane), whatever is marked.
    Selected(BulkAction),
    /// A new version carrying the value of this older version.
    RollBack(ObjectId),
    SetSecretForm(Box<SecretForm>),
    SetEditForm(Box<EditForm>),
    SetKeyForm(Box<KeyForm>),
    SetCertificateForm(Box<CertificateForm>),
    /// The text typed into a confirmation's "type the name" field.
    SetTyped(String),
    /// Fill the value from the form's generator.
    GenerateValue,
    /// Fill the value from a file the person picks.
    PickValueFile,
    /// Send the open form (after its checks).
    Submit,
    /// Carry out the open confirmation.
    Confirm,
    /// A create met a deleted-but-recoverable secret of that name: recover it.
    RecoverInstead,
    CloseDialog,
    CancelBulk,
    RetryFailed,
    CloseBulk,
    ToggleLog,
    SaveLog,
    Mark {
        name: String,
        mode: MarkMode,
        rows: Vec<String>,
    },
    MarkAll(Vec<String>),
    ClearMarks,
}

/// The open dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeDialog {
    Secret(SecretForm),
    Edit(Box<EditForm>),
    Key(KeyForm),
    Certificate(CertificateForm),
    Confirm(Confirmation),
}

/// How the open dialog's change is going.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DialogStatus {
    pub sending: bool,
    pub error: Option<String>,
    /// A create met 409: a deleted secret holds the name and can be recovered.
    pub conflict: bool,
    pub message: Option<String>,
}

/// One line of the change log. Never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub time: String,
    pub identity: String,
    pub vault: String,
    pub object: String,
    pub action: String,
    pub result: String,
}

impl LogEntry {
    pub fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            self.time, self.identity, self.vault, self.object, self.action, self.result
        )
    }
}

/// What a changes request is for.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeRequest {
    /// The open dialog's change.
    Dialog(Change),
    /// The recovery offered after a 409, for the open secret form.
    RecoverForForm(Change),
    Bulk,
    ValueFile,
    SaveLog,
}

/// A service answer waiting to be applied to the lists (once per frame, in one rebuild per list).
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub vault: VaultUri,
    pub list: ListKind,
    pub removed: Vec<String>,
    pub upserts: Vec<ObjectItem>,
}

/// What the change intents need to know of the rest of the window.
pub struct ChangeContext<'a> {
    pub vault: Option<&'a VaultUri>,
    pub summary: Option<&'a VaultSummary>,
    pub list: ListKind,
    /// The selected object's row.
    pub selected: Option<ObjectItem>,
    /// The selected version's id (versioned) and row, when the selection has a version or versions loaded.
    pub version: Option<(ObjectId, ObjectItem)>,
    /// The rows a bulk action may name: by name, the shown list's row.
    pub row: &'a dyn Fn(&str) -> Option<ObjectItem>,
    pub identity: String,
}

#[derive(Debug, Default)]
pub struct ChangesState {
    /// `--read-only`: nothing that changes anything is shown or carried out.
    pub read_only: bool,
    pub dialog: Option<ChangeDialog>,
    pub status: DialogStatus,
    /// The value of the open secret form (the panel edits it in place; never copied into an intent).
    pub value: SecretText,
    pub marks: Marks,
    pub bulk: Option<BulkRun>,
    pub log: Vec<LogEntry>,
    pub show_log: bool,
    /// Certificates whose creation is under way, by vault and name.
    pub pending_certificates: BTreeSet<(String, String)>,
    pub(super) requests: Requests<ChangeRequest>,
    pub(super) outbox: Vec<Applied>,
    /// Vaults to reload because a change touched more than its own row (a certificate's key and secret).
    pub(super) reload: Vec<VaultUri>,
    /// Objects whose versions should be read again (a change to the selected object).
    pub(super) touched: Vec<(VaultUri, ObjectKind, String)>,
    /// The dialog request's last answer, for its log line.
    last_result: Option<ChangeResult>,
    /// What a create made, to select once its row is in the list.
    pub(super) select_after: Option<(VaultUri, ListKind, String)>,
    /// Dialog requests that closed their dialog early (a certificate accepted and being issued).
    detached: std::collections::HashSet<RequestId>,
}

impl ChangesState {
    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// Leaving the identity: the dialog closes, a bulk run stops between items, marks go; the log stays
    /// (it is the session's record) and answers still coming are applied no more.
    pub fn reset(&mut self, sink: &mut dyn CommandSink) {
        if let Some(bulk) = &self.bulk {
            bulk.cancel.cancel();
        }
        // A write under way is not aborted (that would leave its outcome unknown): its answer is let go.
        let _ = sink;
        self.requests.stop_waiting(|_| true);
        self.close_dialog();
        self.bulk = None;
        self.marks.clear();
        self.pending_certificates.clear();
        self.outbox.clear();
        self.reload.clear();
        self.touched.clear();
    }

    /// The marked names, when they belong to `vault`'s `list`.
    pub fn marked(&self, vault: Option<&VaultUri>, list: ListKind) -> Option<&BTreeSet<String>> {
        self.marks.of(vault, list)
    }

    pub fn is_marked(&self, vault: Option<&VaultUri>, list: ListKind, name: &str) -> bool {
        self.marked(vault, list)
            .is_some_and(|names| names.contains(&name.to_ascii_lowercase()))
    }

    /// Closes the dialog and wipes what was typed into it.
    pub fn close_dialog(&mut self) {
        self.dialog = None;
        self.status = DialogStatus::default();
        self.value.clear();
        self.requests.stop_waiting(|request| {
            matches!(
                request,
                ChangeRequest::ValueFile | ChangeRequest::RecoverForForm(_)
            )
        });
    }

    /// Whether the dialog's change is being sent (the app keeps it open, its controls off).
    pub fn sending(&self) -> bool {
        self.status.sending
    }

    pub fn handle(
        &mut self,
        intent: ChangesIntent,
        context: &ChangeContext<'_>,
        shared: &mut Shared,
        sink: &mut dyn CommandSink,
    ) {
        if self.read_only && !matches!(intent, ChangesIntent::ToggleLog | ChangesIntent::SaveLog) {
            shared.set_notice(
                "Vaultscope was started with --read-only: nothing can be changed.",
                true,
            );
            return;
        }
        match intent {
            ChangesIntent::NewSecret => {
                if let Some(vault) = context.vault {
                    self.open(ChangeDialog::Secret(SecretForm::new(vault.clone())));
                }
            }
            ChangesIntent::NewVersion => {
                if let (Some(vault), Some(item)) = (context.vault, &context.selected)
                    && context.list == ListKind::live(ObjectKind::Secret)
                {
                    self.open(ChangeDialog::Secret(SecretForm::new_version(
                        vault.clone(),
                        item,
                    )));
                }
            }
            ChangesIntent::EditVersion => self.open_edit(context, shared),
            ChangesIntent::NewKey => {
                if let Some(vault) = context.vault {
                    self.open(ChangeDialog::Key(KeyForm::new(vault.clone())));
                }
            }
            ChangesIntent::RotateKey => self.ask_rotate(context),
            ChangesIntent::NewCertificate => {
                if let Some(vault) = context.vault {
                    self.open(ChangeDialog::Certificate(CertificateForm::new(
                        vault.clone(),
                    )));
                }
            }
            ChangesIntent::Bulk(action) => self.ask_bulk(action, context, shared, false),
            ChangesIntent::Selected(action) => self.ask_bulk(action, context, shared, true),
            ChangesIntent::RollBack(from) => self.ask_roll_back(from),
            ChangesIntent::SetSecretForm(form) => self.replace_form(ChangeDialog::Secret(*form)),
            ChangesIntent::SetEditForm(form) => self.replace_form(ChangeDialog::Edit(form)),
            ChangesIntent::SetKeyForm(form) => self.replace_form(ChangeDialog::Key(*form)),
            ChangesIntent::SetCertificateForm(form) => {
                self.replace_form(ChangeDialog::Certificate(*form));
            }
            ChangesIntent::SetTyped(text) => {
                if let Some(ChangeDialog::Confirm(confirmation)) = &mut self.dialog {
                    confirmation.typed = text;
                }
            }
            ChangesIntent::GenerateValue => {
                if let Some(ChangeDialog::Secret(form)) = &self.dialog {
                    match form.generator.generate() {
                        Ok(value) => {
                            use secrecy::ExposeSecret;
                            self.value.replace_with(value.expose_secret());
                            self.status.error = None;
                        }
                        Err(problem) => self.status.error = Some(problem),
                    }
                }
            }
            ChangesIntent::PickValueFile => {
                if matches!(self.dialog, Some(ChangeDialog::Secret(_))) {
                    self.requests
                        .send(sink, Command::ReadValueFile, ChangeRequest::ValueFile);
                }
            }
            ChangesIntent::Submit => self.submit(sink),
            ChangesIntent::Confirm => self.confirm(sink),
            ChangesIntent::RecoverInstead => self.recover_instead(sink),
            ChangesIntent::CloseDialog => {
                if !self.status.sending {
                    self.close_dialog();
                }
            }
            ChangesIntent::CancelBulk => {
                if let Some(bulk) = &self.bulk {
                    bulk.cancel.cancel();
                }
            }
            ChangesIntent::RetryFailed => self.retry_failed(sink),
            ChangesIntent::CloseBulk => {
                if self.bulk.as_ref().is_some_and(|bulk| bulk.finished) {
                    self.bulk = None;
                }
            }
            ChangesIntent::ToggleLog => self.show_log = !self.show_log,
            ChangesIntent::SaveLog => {
                let mut contents = String::from("time\tidentity\tvault\tobject\taction\tresult\n");
                for entry in &self.log {
                    contents.push_str(&entry.line());
                    contents.push('\n');
                }
                self.requests.send(
                    sink,
                    Command::SaveTextFile {
                        title: "Save the change log".into(),
                        suggested_name: "vaultscope-changes.tsv".into(),
                        contents,
                    },
                    ChangeRequest::SaveLog,
                );
            }
            ChangesIntent::Mark { name, mode, rows } => {
                if let Some(vault) = context.vault {
                    self.marks.mark(vault, context.list, &name, mode, &rows);
                }
            }
            ChangesIntent::MarkAll(names) => {
                if let Some(vault) = context.vault {
                    self.marks.mark_all(vault, context.list, &names);
                }
            }
            ChangesIntent::ClearMarks => self.marks.clear(),
        }
    }

    fn open(&mut self, dialog: ChangeDialog) {
        if self.status.sending {
            return;
        }
        self.close_dialog();
        self.dialog = Some(dialog);
    }

    /// A form's new contents from the panel (ignored while its change is being sent).
    fn replace_form(&mut self, dialog: ChangeDialog) {
        if self.status.sending {
            return;
        }
        if std::mem::discriminant(&dialog)
            == std::mem::discriminant(self.dialog.as_ref().unwrap_or(&dialog))
            && self.dialog.is_some()
        {
            self.dialog = Some(dialog);
        }
    }

    fn open_edit(&mut self, context: &ChangeContext<'_>, shared: &mut Shared) {
        if context.list.deleted {
            shared.set_notice("A deleted object cannot be edited; recover it first.", true);
            return;
        }
        if let Some((id, item)) = &context.version {
            self.open(ChangeDialog::Edit(Box::new(EditForm::of(id.clone(), item))));
        } else {
            shared.set_notice(
                "Its versions are still loading; try again in a moment.",
                true,
            );
        }
    }

    fn ask_rotate(&mut self, context: &ChangeContext<'_>) {
        let (Some(vault), Some(item)) = (context.vault, &context.selected) else {
            return;
        };
        let change = Change::RotateKey {
            vault: vault.clone(),
            name: item.name(),
        };
        self.open(ChangeDialog::Confirm(Confirmation {
            title: format!("Rotate key {}", item.name()),
            lines: vec![
                format!("A new version of {} in {}, with the same type and operations.", item.name(), vault.name()),
                "Clients that name no version use the new one at once; pinned versions are unchanged.".into(),
            ],
            az: az_command(&change),
            typed_word: None,
            typed: String::new(),
            button: "Rotate".into(),
            changes: vec![change],
        }));
    }

    fn ask_roll_back(&mut self, from: ObjectId) {
        let version = from.version.clone().unwrap_or_default();
        let change = Change::RollBackSecret { from: from.clone() };
        self.open(ChangeDialog::Confirm(Confirmation {
            title: format!("Roll back {} to version {version}", from.name),
            lines: vec![
                format!(
                    "A new version of {} in {} carrying the value, content type and tags of version {version}.",
                    from.name,
                    from.vault.name()
                ),
                "The older value is read only when you confirm, and goes straight back to the vault; it is not shown.".into(),
                "Every version stays as it is; the new one becomes the latest.".into(),
            ],
            az: az_command(&change),
            typed_word: None,
            typed: String::new(),
            button: "Roll back".into(),
            changes: vec![change],
        }));
    }

    fn ask_bulk(
        &mut self,
        action: BulkAction,
        context: &ChangeContext<'_>,
        shared: &mut Shared,
        selected_only: bool,
    ) {
        let Some(vault) = context.vault else {
            return;
        };
        if action.on_deleted() != context.list.deleted {
            shared.set_notice(
                if action.on_deleted() {
                    "Recover and purge work on the Deleted list: switch to it first."
                } else {
                    "That works on live objects: switch off the Deleted list first."
                },
                true,
            );
            return;
        }
        if action == BulkAction::Purge
            && let Some(summary) = context.summary
            && summary.properties.enable_purge_protection == Some(true)
        {
            shared.set_notice(
                format!(
                    "Purge is refused: {} has purge protection on, so Key Vault alone purges deleted items, after the {}-day retention period. Recover them instead, or wait.",
                    vault.name(),
                    summary.properties.soft_delete_retention_in_days.unwrap_or(90)
                ),
                true,
            );
            return;
        }
        let names: Vec<String> = match self.marked(Some(vault), context.list) {
            Some(names) if !selected_only => names.iter().cloned().collect(),
            _ => context.selected.iter().map(ObjectItem::name).collect(),
        };
        let kind = context.list.kind;
        let changes: Vec<Change> = names
            .iter()
            .filter_map(|name| {
                let row = (context.row)(name);
                let name = row.as_ref().map_or_else(|| name.clone(), ObjectItem::name);
                bulk_change(&action, vault, kind, name, row.as_ref())
            })
            .collect();
        if changes.is_empty() {
            shared.set_notice(
                "Nothing to change: mark rows with Ctrl-click, Shift-click or Ctrl+A.",
                true,
            );
            return;
        }
        self.open(ChangeDialog::Confirm(bulk_confirmation(
            &action, vault, kind, changes,
        )));
    }

    fn submit(&mut self, sink: &mut dyn CommandSink) {
        if self.status.sending {
            return;
        }
        let change = match &self.dialog {
            Some(ChangeDialog::Secret(form)) => match form.checked() {
                Ok(checked) if self.value.is_empty() => {
                    let _ = checked;
                    Err("The value is empty: type it, pick a file or generate one.".to_owned())
                }
                Ok(checked) => Ok(Change::SetSecret {
                    vault: form.vault.clone(),
                    name: checked.name,
                    draft: DraftHandle(std::sync::Arc::new(SecretDraft {
                        value: self.value.to_secret(),
                        content_type: checked.content_type,
                        tags: checked.tags,
                        enabled: form.enabled,
                        not_before: checked.not_before,
                        expires: checked.expires,
                    })),
                }),
                Err(problem) => Err(problem),
            },
            Some(ChangeDialog::Edit(form)) => match form.update() {
                Ok(Some(update)) => Ok(Change::UpdateVersion {
                    id: form.id.clone(),
                    update,
                }),
                Ok(None) => Err("Nothing changed.".to_owned()),
                Err(problem) => Err(problem),
            },
            Some(ChangeDialog::Key(form)) => form.draft().map(|(name, draft)| Change::CreateKey {
                vault: form.vault.clone(),
                name,
                draft,
            }),
            Some(ChangeDialog::Certificate(form)) => {
                form.draft().map(|(name, draft)| Change::CreateCertificate {
                    vault: form.vault.clone(),
                    name,
                    draft,
                })
            }
            Some(ChangeDialog::Confirm(_)) | None => return,
        };
        match change {
            Ok(change) => self.send_dialog_change(change, sink),
            Err(problem) => self.status.error = Some(problem),
        }
    }

    fn send_dialog_change(&mut self, change: Change, sink: &mut dyn CommandSink) {
        self.status = DialogStatus {
            sending: true,
            ..DialogStatus::default()
        };
        self.requests.send(
            sink,
            Command::Change(change.clone()),
            ChangeRequest::Dialog(change),
        );
    }

    fn confirm(&mut self, sink: &mut dyn CommandSink) {
        let Some(ChangeDialog::Confirm(confirmation)) = &self.dialog else {
            return;
        };
        if !confirmation.may_confirm() || self.status.sending {
            return;
        }
        let changes = confirmation.changes.clone();
        let title = confirmation.title.clone();
        if changes.len() == 1 {
            let change = changes.into_iter().next().expect("one change");
            self.send_dialog_change(change, sink);
        } else {
            self.close_dialog();
            self.start_bulk(title, changes, sink);
        }
    }

    pub(crate) fn start_bulk(
        &mut self,
        title: String,
        items: Vec<Change>,
        sink: &mut dyn CommandSink,
    ) {
        let cancel = CancelFlag::default();
        let request = self.requests.send(
            sink,
            Command::Bulk {
                items: items.clone(),
                cancel: cancel.clone(),
            },
            ChangeRequest::Bulk,
        );
        self.bulk = Some(BulkRun {
            title,
            outcomes: vec![None; items.len()],
            items,
            cancel,
            finished: false,
            request: Some(request),
        });
        self.marks.clear();
    }

    fn retry_failed(&mut self, sink: &mut dyn CommandSink) {
        let Some(bulk) = &self.bulk else {
            return;
        };
        if !bulk.finished {
            return;
        }
        let again: Vec<Change> = bulk
            .items
            .iter()
            .zip(&bulk.outcomes)
            .filter(|(_, outcome)| {
                matches!(
                    outcome,
                    Some(BulkItemOutcome::Failed(_) | BulkItemOutcome::NotStarted)
                )
            })
            .map(|(change, _)| change.clone())
            .collect();
        if again.is_empty() {
            return;
        }
        let title = format!("{} (again, {} items)", bulk.title, again.len());
        self.start_bulk(title, again, sink);
    }

    fn recover_instead(&mut self, sink: &mut dyn CommandSink) {
        let Some(ChangeDialog::Secret(form)) = &self.dialog else {
            return;
        };
        if !self.status.conflict || self.status.sending {
            return;
        }
        let change = Change::Recover {
            vault: form.vault.clone(),
            kind: ObjectKind::Secret,
            name: form.name.trim().to_owned(),
        };
        self.status = DialogStatus {
            sending: true,
            ..DialogStatus::default()
        };
        self.requests.send(
            sink,
            Command::Change(change.clone()),
            ChangeRequest::RecoverForForm(change),
        );
    }

    /// Takes the answers waiting for the lists.
    pub(super) fn take_outbox(&mut self) -> Vec<Applied> {
        std::mem::take(&mut self.outbox)
    }
}
