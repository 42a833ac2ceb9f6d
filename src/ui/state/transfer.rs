//! Files and vault to vault: the open transfer window (export, an import or copy preview, the copy form,
//! a vault comparison, two versions compared, the expiry calendar, a certificate import), its requests and
//! the events answering them. Applying a preview hands its writes to the bulk machinery (`changes`);
//! restored and imported objects go to the lists through it too. Values never live here except the two a
//! version comparison was asked to reveal and a PFX password being typed (both wiped on close).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

use super::common::{CommandSink, Requests, Shared};
use super::errors::explain;
use super::secret_input::SecretText;
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::models::ObjectItem;
use crate::transfer::calendar::{Expiry, to_icalendar};
use crate::transfer::certificate_files::CertificateFile;
use crate::transfer::compare::{ComparedName, differences_csv};
use crate::transfer::export::ExportFormat;
use crate::transfer::plan::WriteFate;
use crate::worker::changes::{Change, ChangeResult};
use crate::worker::transfer::ExportRequest;
use crate::worker::transfer_model::{SecretHandle, VersionComparison, WritePlan};
use crate::worker::{Command, EventKind, Outcome};

/// Which rows an export takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportScope {
    /// The rows the filter shows (the marked ones, when rows are marked).
    Shown,
    /// Every row of the list.
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportForm {
    pub vault: VaultUri,
    pub kind: ObjectKind,
    pub scope: ExportScope,
    pub format: ExportFormat,
    pub include_values: bool,
    /// The person read the warning about values and ticked that they understand.
    pub values_acknowledged: bool,
    pub shown_count: usize,
    pub all_count: usize,
}

/// A plan with the person's choices.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    pub plan: WritePlan,
    /// Per row: whether it is written when applied (writing rows start ticked, conflicts not).
    pub included: Vec<bool>,
}

impl PlanView {
    fn new(plan: WritePlan) -> Self {
        let included = plan
            .rows
            .iter()
            .map(|row| matches!(row.fate, WriteFate::Create | WriteFate::NewVersion))
            .collect();
        Self { plan, included }
    }

    /// How many rows have each fate: create, new version, unchanged, conflict, invalid.
    pub fn counts(&self) -> [usize; 5] {
        let mut counts = [0; 5];
        for row in &self.plan.rows {
            counts[match row.fate {
                WriteFate::Create => 0,
                WriteFate::NewVersion => 1,
                WriteFate::Unchanged => 2,
                WriteFate::Conflict => 3,
                WriteFate::Invalid(_) => 4,
            }] += 1;
        }
        counts
    }

    /// The writes the ticked rows make (a conflict recovers first).
    pub fn changes(&self) -> Vec<Change> {
        self.plan
            .rows
            .iter()
            .zip(&self.included)
            .filter(|(row, included)| **included && row.fate.writes() && !row.drafts.is_empty())
            .map(|(row, _)| {
                let recover_first = row.fate == WriteFate::Conflict;
                if row.drafts.len() == 1 && !recover_first {
                    Change::SetSecret {
                        vault: self.plan.target.clone(),
                        name: row.name.clone(),
                        draft: row.drafts[0].clone(),
                    }
                } else {
                    Change::SetSecretVersions {
                        vault: self.plan.target.clone(),
                        name: row.name.clone(),
                        drafts: row.drafts.clone(),
                        recover_first,
                    }
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CopyForm {
    pub sources: Vec<ObjectId>,
    /// The loaded vaults it may go to (name, uri), the source's own left out.
    pub targets: Vec<(String, VaultUri)>,
    pub target: Option<VaultUri>,
    pub all_versions: bool,
    pub keep_expiry: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompareView {
    pub left: VaultUri,
    pub targets: Vec<(String, VaultUri)>,
    pub right: Option<VaultUri>,
    /// The comparison, once made: (left, right, rows).
    pub result: Option<(VaultUri, VaultUri, Vec<ComparedName>)>,
    /// Show equal names too (else only differences).
    pub show_equal: bool,
    /// Names ticked for "make the right side match" (lower-case).
    pub ticked: BTreeSet<String>,
}

#[derive(Debug)]
pub struct VersionsView {
    pub left: ObjectId,
    pub right: ObjectId,
    pub result: Option<VersionComparison>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalendarView {
    pub days: u32,
    pub now: i64,
    pub expiries: Vec<Expiry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CertificateImportForm {
    pub vault: VaultUri,
    pub name: String,
    pub path: Option<PathBuf>,
}

/// The open transfer window.
#[derive(Debug)]
pub enum TransferDialog {
    Export(ExportForm),
    Plan(PlanView),
    Copy(CopyForm),
    Compare(CompareView),
    Versions(VersionsView),
    Calendar(CalendarView),
    CertificateImport(CertificateImportForm),
    /// A read under way with nothing to show yet but its progress (an import being checked).
    Working {
        title: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum TransferIntent {
    /// Export the selected vault's shown list.
    OpenExport,
    /// Copy the marked secrets (else the selected one) to another loaded vault.
    OpenCopy,
    /// Compare the selected vault with another loaded vault.
    OpenCompare,
    /// Compare the selected version of the selected secret with its latest (or the one before).
    CompareVersions,
    OpenCalendar,
    OpenCertificateImport,
    SetExport(ExportForm),
    RunExport,
    /// Pick an import file for the selected vault and preview it.
    PlanImport,
    SetIncluded {
        index: usize,
        included: bool,
    },
    /// Tick or untick every row of one fate.
    IncludeFate {
        conflicts: bool,
        included: bool,
    },
    ApplyPlan,
    SetCopy(CopyForm),
    PlanCopy,
    SetCompare {
        right: Option<VaultUri>,
        show_equal: bool,
    },
    RunCompare,
    TickCompared {
        name: String,
        ticked: bool,
    },
    ExportDifferences,
    MakeRightMatch,
    RevealVersions,
    SetCalendarDays(u32),
    ExportCalendar,
    BackupSelected,
    Restore,
    DownloadCertificate(CertificateFile),
    SetCertificateName(String),
    PickCertificateFile,
    ImportCertificate,
    Close,
}

/// What a transfer request is for.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferRequest {
    Export {
        rows: usize,
        with_values: bool,
        vault: String,
    },
    Plan,
    Compare,
    Versions,
    Save(String),
    Restore,
    CertificatePick,
    CertificateImport,
}

/// What the rest of the window must do after a transfer event.
#[derive(Debug)]
pub enum TransferEffect {
    /// Start a bulk run (a confirmed preview).
    Bulk { title: String, changes: Vec<Change> },
    /// A restored or imported object: to the lists and the change log.
    Changed {
        result: Box<ChangeResult>,
        action: String,
    },
    /// A line for the change log: (vault, object, action, result).
    Log {
        vault: String,
        object: String,
        action: String,
        result: String,
    },
}

#[derive(Debug, Default)]
pub struct TransferState {
    pub dialog: Option<TransferDialog>,
    /// A long read under way: (done, total).
    pub progress: Option<(usize, usize)>,
    pub busy: bool,
    pub error: Option<String>,
    /// The PFX password being typed (the panel edits it in place).
    pub password: SecretText,
    pub(super) requests: Requests<TransferRequest>,
    pub(super) effects: Vec<TransferEffect>,
}

impl TransferState {
    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    pub fn reset(&mut self) {
        self.requests.stop_waiting(|_| true);
        self.close();
    }

    pub fn close(&mut self) {
        self.dialog = None;
        self.progress = None;
        self.busy = false;
        self.error = None;
        self.password.clear();
    }

    pub(super) fn take_effects(&mut self) -> Vec<TransferEffect> {
        std::mem::take(&mut self.effects)
    }

    pub fn open(&mut self, dialog: TransferDialog) {
        self.close();
        self.dialog = Some(dialog);
    }

    fn send(&mut self, sink: &mut dyn CommandSink, command: Command, purpose: TransferRequest) {
        self.busy = true;
        self.error = None;
        self.progress = None;
        self.requests.send(sink, command, purpose);
    }

    /// Sends a command whose end is only a notice (a file saved, a certificate downloaded).
    pub fn save(&mut self, sink: &mut dyn CommandSink, command: Command, what: String) {
        self.requests
            .send(sink, command, TransferRequest::Save(what));
    }

    /// The scope of the open export form, if one is open.
    pub fn export_scope(&self) -> Option<ExportScope> {
        match &self.dialog {
            Some(TransferDialog::Export(form)) => Some(form.scope),
            _ => None,
        }
    }

    /// Handles an intent; `export_rows` are the rows an export takes (the form's scope), `selected` the
    /// selected object (or, for an import or restore, the selected vault and list).
    pub fn handle(
        &mut self,
        intent: TransferIntent,
        export_rows: Vec<ObjectItem>,
        selected: Option<ObjectId>,
        sink: &mut dyn CommandSink,
    ) {
        match intent {
            TransferIntent::SetExport(form) => {
                if let Some(TransferDialog::Export(open)) = &mut self.dialog {
                    *open = form;
                }
            }
            TransferIntent::RunExport => {
                let Some(TransferDialog::Export(form)) = &self.dialog else {
                    return;
                };
                if form.include_values && !form.values_acknowledged {
                    self.error =
                        Some("Tick that you understand the file will hold the values.".into());
                    return;
                }
                let items = export_rows;
                let request = ExportRequest {
                    vault: form.vault.clone(),
                    kind: form.kind,
                    items,
                    format: form.format,
                    include_values: form.include_values && form.kind == ObjectKind::Secret,
                };
                let purpose = TransferRequest::Export {
                    rows: request.items.len(),
                    with_values: request.include_values,
                    vault: form.vault.name().to_owned(),
                };
                self.send(sink, Command::Export(Box::new(request)), purpose);
            }
            TransferIntent::PlanImport => {
                let Some(vault) = selected.map(|id| id.vault) else {
                    return;
                };
                self.open(TransferDialog::Working {
                    title: format!("Checking an import against {}", vault.name()),
                });
                self.send(sink, Command::PlanImport { vault }, TransferRequest::Plan);
            }
            TransferIntent::SetIncluded { index, included } => {
                if let Some(TransferDialog::Plan(view)) = &mut self.dialog
                    && let Some(slot) = view.included.get_mut(index)
                    && view.plan.rows[index].fate.writes()
                {
                    *slot = included;
                }
            }
            TransferIntent::IncludeFate {
                conflicts,
                included,
            } => {
                if let Some(TransferDialog::Plan(view)) = &mut self.dialog {
                    for (row, slot) in view.plan.rows.iter().zip(view.included.iter_mut()) {
                        let is_conflict = row.fate == WriteFate::Conflict;
                        if row.fate.writes() && is_conflict == conflicts {
                            *slot = included;
                        }
                    }
                }
            }
            TransferIntent::ApplyPlan => {
                let Some(TransferDialog::Plan(view)) = &self.dialog else {
                    return;
                };
                let changes = view.changes();
                if changes.is_empty() {
                    self.error = Some("No row is ticked to be written.".into());
                    return;
                }
                let title = format!(
                    "{} -> {} ({} secrets)",
                    view.plan.source,
                    view.plan.target.name(),
                    changes.len()
                );
                self.close();
                self.effects.push(TransferEffect::Bulk { title, changes });
            }
            TransferIntent::SetCopy(form) => {
                if let Some(TransferDialog::Copy(open)) = &mut self.dialog {
                    *open = form;
                }
            }
            TransferIntent::PlanCopy => {
                let Some(TransferDialog::Copy(form)) = &self.dialog else {
                    return;
                };
                let Some(target) = form.target.clone() else {
                    self.error = Some("Choose the vault to copy to.".into());
                    return;
                };
                let command = Command::PlanCopy {
                    sources: form.sources.clone(),
                    target,
                    all_versions: form.all_versions,
                    keep_expiry: form.keep_expiry,
                };
                self.send(sink, command, TransferRequest::Plan);
            }
            TransferIntent::SetCompare { right, show_equal } => {
                if let Some(TransferDialog::Compare(view)) = &mut self.dialog {
                    view.right = right;
                    view.show_equal = show_equal;
                }
            }
            TransferIntent::RunCompare => {
                let Some(TransferDialog::Compare(view)) = &self.dialog else {
                    return;
                };
                let Some(right) = view.right.clone() else {
                    self.error = Some("Choose the vault to compare with.".into());
                    return;
                };
                let command = Command::CompareVaults {
                    left: view.left.clone(),
                    right,
                };
                self.send(sink, command, TransferRequest::Compare);
            }
            TransferIntent::TickCompared { name, ticked } => {
                if let Some(TransferDialog::Compare(view)) = &mut self.dialog {
                    let lower = name.to_ascii_lowercase();
                    if ticked {
                        view.ticked.insert(lower);
                    } else {
                        view.ticked.remove(&lower);
                    }
                }
            }
            TransferIntent::ExportDifferences => {
                let Some(TransferDialog::Compare(CompareView {
                    result: Some((left, right, rows)),
                    ..
                })) = &self.dialog
                else {
                    return;
                };
                let contents = differences_csv(rows, left.name(), right.name());
                let suggested = format!("{}-vs-{}.csv", left.name(), right.name());
                self.save(
                    sink,
                    Command::SaveTextFile {
                        title: "Save the differences".into(),
                        suggested_name: suggested,
                        contents,
                    },
                    "the differences".into(),
                );
            }
            TransferIntent::MakeRightMatch => {
                let Some(TransferDialog::Compare(CompareView {
                    result: Some((left, right, rows)),
                    ticked,
                    ..
                })) = &self.dialog
                else {
                    return;
                };
                let sources: Vec<ObjectId> = rows
                    .iter()
                    .filter(|row| {
                        row.left.is_some() && ticked.contains(&row.name.to_ascii_lowercase())
                    })
                    .map(|row| ObjectId {
                        vault: left.clone(),
                        kind: ObjectKind::Secret,
                        name: row.name.clone(),
                        version: None,
                    })
                    .collect();
                if sources.is_empty() {
                    self.error = Some(
                        "Tick rows that exist on the left; a name only on the right is not deleted by this.".into(),
                    );
                    return;
                }
                let command = Command::PlanCopy {
                    sources,
                    target: right.clone(),
                    all_versions: false,
                    keep_expiry: true,
                };
                self.send(sink, command, TransferRequest::Plan);
            }
            TransferIntent::RevealVersions => {
                let Some(TransferDialog::Versions(view)) = &self.dialog else {
                    return;
                };
                let command = Command::CompareVersions {
                    left: view.left.clone(),
                    right: view.right.clone(),
                    reveal: true,
                };
                self.send(sink, command, TransferRequest::Versions);
            }
            TransferIntent::SetCalendarDays(days) => {
                if let Some(TransferDialog::Calendar(view)) = &mut self.dialog {
                    view.days = days.clamp(1, 3650);
                }
            }
            TransferIntent::ExportCalendar => {
                let Some(TransferDialog::Calendar(view)) = &self.dialog else {
                    return;
                };
                let contents = to_icalendar(&view.expiries, view.now);
                self.save(
                    sink,
                    Command::SaveTextFile {
                        title: "Save the expiry calendar".into(),
                        suggested_name: "key-vault-expiries.ics".into(),
                        contents,
                    },
                    "the expiry calendar".into(),
                );
            }
            TransferIntent::BackupSelected => {
                if let Some(id) = selected {
                    let what = format!("the backup of {}", id.name);
                    let id = ObjectId {
                        version: None,
                        ..id
                    };
                    self.save(sink, Command::Backup { id }, what);
                }
            }
            TransferIntent::Restore => {
                if let Some(id) = selected {
                    let command = Command::Restore {
                        vault: id.vault,
                        kind: id.kind,
                    };
                    self.requests.send(sink, command, TransferRequest::Restore);
                }
            }
            TransferIntent::DownloadCertificate(format) => {
                if let Some(id) = selected.filter(|id| id.kind == ObjectKind::Certificate) {
                    let what = format!("{} ({})", id.name, format.label());
                    self.save(sink, Command::DownloadCertificate { id, format }, what);
                }
            }
            TransferIntent::SetCertificateName(name) => {
                if let Some(TransferDialog::CertificateImport(form)) = &mut self.dialog {
                    form.name = name;
                }
            }
            TransferIntent::PickCertificateFile => {
                self.requests.send(
                    sink,
                    Command::PickFile {
                        title: "Choose a PFX or PEM certificate with its private key".into(),
                    },
                    TransferRequest::CertificatePick,
                );
            }
            TransferIntent::ImportCertificate => {
                let Some(TransferDialog::CertificateImport(form)) = &self.dialog else {
                    return;
                };
                let name = form.name.trim().to_owned();
                if let Err(rule) = crate::azure::identifiers::check_object_name(&name) {
                    self.error = Some(rule);
                    return;
                }
                let Some(path) = form.path.clone() else {
                    self.error = Some("Choose the file to import.".into());
                    return;
                };
                let command = Command::ImportCertificate {
                    vault: form.vault.clone(),
                    name,
                    path,
                    password: SecretHandle(Arc::new(self.password.to_secret())),
                };
                self.send(sink, command, TransferRequest::CertificateImport);
            }
            TransferIntent::Close => self.close(),
            // Opening needs the rest of the window: `AppState::handle_transfer` does it.
            TransferIntent::OpenExport
            | TransferIntent::OpenCopy
            | TransferIntent::OpenCompare
            | TransferIntent::CompareVersions
            | TransferIntent::OpenCalendar
            | TransferIntent::OpenCertificateImport => {}
        }
    }

    /// An intermediate event of a transfer request.
    pub fn apply_progress(
        &mut self,
        request: &TransferRequest,
        kind: EventKind,
        shared: &mut Shared,
    ) {
        match (request, kind) {
            (_, EventKind::Progress { done, total }) => self.progress = Some((done, total)),
            (TransferRequest::Plan, EventKind::WritesPlanned(plan)) => {
                self.open(TransferDialog::Plan(PlanView::new(*plan)));
            }
            (TransferRequest::Compare, EventKind::VaultsCompared { left, right, rows }) => {
                if let Some(TransferDialog::Compare(view)) = &mut self.dialog {
                    view.ticked.clear();
                    view.result = Some((left, right, rows));
                }
            }
            (TransferRequest::Versions, EventKind::VersionsCompared(comparison)) => {
                if let Some(TransferDialog::Versions(view)) = &mut self.dialog {
                    view.result = Some(*comparison);
                }
            }
            (
                TransferRequest::Export {
                    rows,
                    with_values,
                    vault,
                },
                EventKind::Exported {
                    path,
                    without_value,
                    ..
                },
            ) => {
                let mut text = format!("Exported {rows} rows of {vault} to {path}");
                if *with_values {
                    text.push_str(" with values (the file is readable by you alone)");
                }
                if !without_value.is_empty() {
                    text.push_str(&format!(
                        "; {} disabled secrets without their value ({})",
                        without_value.len(),
                        without_value.join(", ")
                    ));
                }
                shared.set_notice(text, false);
                self.effects.push(TransferEffect::Log {
                    vault: vault.clone(),
                    object: format!("{rows} rows"),
                    action: if *with_values {
                        "export with values".into()
                    } else {
                        "export (metadata)".into()
                    },
                    result: format!("written to {path}"),
                });
                self.close();
            }
            (TransferRequest::Save(what), EventKind::FileSaved { path }) => {
                shared.set_notice(format!("Saved {what} to {path}"), false);
            }
            (
                TransferRequest::Restore | TransferRequest::CertificateImport,
                EventKind::Changed(result),
            ) => {
                let action = if *request == TransferRequest::Restore {
                    "restore from backup"
                } else {
                    "import certificate"
                };
                shared.set_notice(
                    format!(
                        "{action}: {} {} in {}",
                        result.kind.singular(),
                        result.name,
                        result.vault.name()
                    ),
                    false,
                );
                self.effects.push(TransferEffect::Changed {
                    result: Box::new(result),
                    action: action.into(),
                });
                if *request == TransferRequest::CertificateImport {
                    self.close();
                }
            }
            (TransferRequest::CertificatePick, EventKind::FilePicked { path }) => {
                if let Some(TransferDialog::CertificateImport(form)) = &mut self.dialog {
                    if form.name.is_empty()
                        && let Some(stem) = path.file_stem()
                    {
                        form.name = stem
                            .to_string_lossy()
                            .chars()
                            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                            .collect();
                    }
                    form.path = Some(path);
                }
            }
            _ => {}
        }
    }

    /// A transfer request ended.
    pub fn finish(&mut self, request: TransferRequest, outcome: Outcome, shared: &mut Shared) {
        if !matches!(
            request,
            TransferRequest::Save(_) | TransferRequest::Restore | TransferRequest::CertificatePick
        ) {
            self.busy = false;
            self.progress = None;
        }
        if request == TransferRequest::Plan
            && matches!(outcome, Outcome::Done)
            && matches!(self.dialog, Some(TransferDialog::Working { .. }))
        {
            // The file dialog was cancelled: nothing to preview.
            self.close();
        }
        if let Outcome::Failed(error) = outcome {
            let text = explain(&error);
            match (&request, &self.dialog) {
                (TransferRequest::Save(_) | TransferRequest::Restore, _) | (_, None) => {
                    shared.set_notice(text, true);
                }
                _ => self.error = Some(text),
            }
        }
    }
}

/// The two values of a revealed version comparison (for the panel).
pub fn revealed(view: &VersionsView) -> Option<&(SecretString, SecretString)> {
    view.result.as_ref()?.revealed.as_ref()
}
