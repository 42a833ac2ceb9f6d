//! The transfer flows that need the rest of the window: opening an export of the shown list, a copy of
//! the marked secrets, a comparison with another loaded vault, two versions of the selected secret, the
//! expiry calendar over every loaded vault and a certificate import; and carrying out what a transfer
//! event asks of the other features (a bulk run, rows for the lists, lines for the change log).

use super::AppState;
use super::common::CommandSink;
use super::transfer::{
    CalendarView, CertificateImportForm, CompareView, CopyForm, ExportForm, ExportScope,
    TransferDialog, TransferEffect, TransferIntent, VersionsView,
};
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::models::{ListKind, ObjectItem};
use crate::transfer::calendar::expiring_within;
use crate::transfer::export::ExportFormat;
use crate::worker::Command;

/// The expiry calendar's default horizon.
pub const CALENDAR_DAYS: u32 = 30;

impl AppState {
    /// Loaded vaults other than `except`, by name.
    fn other_loaded_vaults(&self, except: &VaultUri) -> Vec<(String, VaultUri)> {
        let mut vaults: Vec<(String, VaultUri)> = self
            .tree
            .vaults
            .keys()
            .filter(|uri| *uri != except)
            .map(|uri| (uri.name().to_owned(), uri.clone()))
            .collect();
        vaults.sort_by(|a, b| (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str())));
        vaults
    }

    /// The rows an export takes: the marked ones or the filter's (`Shown`), or the whole list.
    fn export_rows(&self, scope: ExportScope) -> Vec<ObjectItem> {
        let shown = self.shown();
        let list = self.objects.selected_list;
        let Some(rows) = self.objects.rows(shown) else {
            return Vec::new();
        };
        let marked = self.changes.marked(self.selected_vault(), list);
        let indices: Vec<usize> = match (scope, marked) {
            (ExportScope::All, _) => (0..rows.len()).collect(),
            (ExportScope::Shown, Some(marked)) => (0..rows.len())
                .filter(|index| marked.contains(rows.name_lower(*index)))
                .collect(),
            (ExportScope::Shown, None) => self.objects.filtered_indices(shown),
        };
        indices
            .into_iter()
            .filter_map(|index| rows.item(index))
            .collect()
    }

    /// Runs a transfer intent.
    pub(super) fn handle_transfer(&mut self, intent: TransferIntent, sink: &mut dyn CommandSink) {
        let writes = matches!(
            intent,
            TransferIntent::ApplyPlan
                | TransferIntent::Restore
                | TransferIntent::ImportCertificate
                | TransferIntent::OpenCertificateImport
                | TransferIntent::PlanImport
                | TransferIntent::OpenCopy
                | TransferIntent::MakeRightMatch
        );
        if writes && self.changes.read_only {
            self.shared.set_notice(
                "Vaultscope was started with --read-only: nothing can be changed.",
                true,
            );
            return;
        }
        let vault = self.selected_vault().cloned();
        match intent {
            TransferIntent::OpenExport => {
                let Some(vault) = vault else { return };
                let list = self.objects.selected_list;
                let shown_count = self.export_rows(ExportScope::Shown).len();
                let all_count = self.objects.rows(self.shown()).map_or(0, |rows| rows.len());
                self.transfer.open(TransferDialog::Export(ExportForm {
                    vault,
                    kind: list.kind,
                    scope: ExportScope::Shown,
                    format: ExportFormat::Csv,
                    include_values: false,
                    values_acknowledged: false,
                    shown_count,
                    all_count,
                }));
            }
            TransferIntent::OpenCopy => {
                let Some(vault) = vault else { return };
                if self.objects.selected_list != ListKind::live(ObjectKind::Secret) {
                    self.shared.set_notice(
                        "Copying works on live secrets: open the Secrets list.",
                        true,
                    );
                    return;
                }
                let mut names: Vec<String> = self
                    .changes
                    .marked(Some(&vault), ListKind::live(ObjectKind::Secret))
                    .map(|marked| {
                        self.export_rows(ExportScope::Shown)
                            .iter()
                            .map(ObjectItem::name)
                            .filter(|name| marked.contains(&name.to_ascii_lowercase()))
                            .collect()
                    })
                    .unwrap_or_default();
                if names.is_empty()
                    && let Some(item) = self.selected_item()
                {
                    names.push(item.name());
                }
                if names.is_empty() {
                    self.shared
                        .set_notice("Mark the secrets to copy (or select one).", true);
                    return;
                }
                let sources = names
                    .into_iter()
                    .map(|name| ObjectId {
                        vault: vault.clone(),
                        kind: ObjectKind::Secret,
                        name,
                        version: None,
                    })
                    .collect();
                let targets = self.other_loaded_vaults(&vault);
                self.transfer.open(TransferDialog::Copy(CopyForm {
                    sources,
                    target: targets.first().map(|(_, uri)| uri.clone()),
                    targets,
                    all_versions: false,
                    keep_expiry: true,
                }));
            }
            TransferIntent::OpenCompare => {
                let Some(vault) = vault else { return };
                let targets = self.other_loaded_vaults(&vault);
                self.transfer.open(TransferDialog::Compare(CompareView {
                    left: vault,
                    right: targets.first().map(|(_, uri)| uri.clone()),
                    targets,
                    result: None,
                    show_equal: false,
                    ticked: Default::default(),
                }));
            }
            TransferIntent::CompareVersions => self.open_version_comparison(sink),
            TransferIntent::OpenCalendar => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                self.transfer.open(TransferDialog::Calendar(CalendarView {
                    days: CALENDAR_DAYS,
                    now,
                    expiries: Vec::new(),
                }));
                self.refresh_calendar();
            }
            TransferIntent::OpenCertificateImport => {
                let Some(vault) = vault else { return };
                self.transfer
                    .open(TransferDialog::CertificateImport(CertificateImportForm {
                        vault,
                        name: String::new(),
                        path: None,
                    }));
            }
            TransferIntent::SetCalendarDays(days) => {
                self.transfer.handle(
                    TransferIntent::SetCalendarDays(days),
                    Vec::new(),
                    None,
                    sink,
                );
                self.refresh_calendar();
            }
            intent => {
                let selected = match &intent {
                    TransferIntent::PlanImport | TransferIntent::Restore => {
                        vault.map(|vault| ObjectId {
                            vault,
                            kind: self.objects.selected_list.kind,
                            name: String::new(),
                            version: None,
                        })
                    }
                    _ => self.selected_object_id(),
                };
                let rows = match (&intent, self.transfer.export_scope()) {
                    (TransferIntent::RunExport, Some(scope)) => self.export_rows(scope),
                    _ => Vec::new(),
                };
                self.transfer.handle(intent, rows, selected, sink);
            }
        }
        self.apply_transfer_effects(sink);
    }

    /// Compares the selected version with the latest (or, when the latest is selected, the one before).
    fn open_version_comparison(&mut self, sink: &mut dyn CommandSink) {
        let Some(selected) = self.selected_object_id() else {
            return;
        };
        let versions = &self.objects.versions;
        // Oldest first by creation time (versions made in the same second keep the list's order).
        let mut dated: Vec<(Option<i64>, String)> = versions
            .items
            .iter()
            .filter_map(|item| item.version().map(|v| (item.attributes.created, v)))
            .collect();
        dated.sort_by_key(|(created, _)| *created);
        let ordered: Vec<String> = dated.into_iter().map(|(_, version)| version).collect();
        if selected.kind != ObjectKind::Secret || ordered.len() < 2 {
            self.shared.set_notice(
                "Comparing versions needs a secret with at least two versions (its versions loaded).",
                true,
            );
            return;
        }
        let latest = ordered.last().cloned().unwrap_or_default();
        let chosen = selected.version.clone().unwrap_or_else(|| latest.clone());
        let other = if chosen.eq_ignore_ascii_case(&latest) {
            ordered[ordered.len() - 2].clone()
        } else {
            latest
        };
        let id = |version: String| ObjectId {
            version: Some(version),
            ..selected.clone()
        };
        let (left, right) = (id(other), id(chosen));
        self.transfer.open(TransferDialog::Versions(VersionsView {
            left: left.clone(),
            right: right.clone(),
            result: None,
        }));
        self.transfer.busy = true;
        self.transfer.requests.send(
            sink,
            Command::CompareVersions {
                left,
                right,
                reveal: false,
            },
            super::transfer::TransferRequest::Versions,
        );
    }

    /// Recomputes the open calendar from every loaded vault's live lists.
    fn refresh_calendar(&mut self) {
        let Some(TransferDialog::Calendar(view)) = &self.transfer.dialog else {
            return;
        };
        let (now, days) = (view.now, view.days);
        let mut rows: Vec<(String, ObjectKind, ObjectItem)> = Vec::new();
        // Indexed vaults count too; a row from the index says how old it is.
        let mut ages: std::collections::HashMap<(String, ObjectKind), i64> = Default::default();
        for (uri, contents) in &self.tree.vaults {
            for kind in [ObjectKind::Secret, ObjectKind::Key, ObjectKind::Certificate] {
                let list = contents.list(ListKind::live(kind));
                if list.cached
                    && let Some(at) = list.complete_at
                {
                    ages.insert((uri.name().to_owned(), kind), at);
                }
                for index in 0..list.len() {
                    if let Some(item) = list.item(index)
                        && item.attributes.exp.is_some()
                    {
                        rows.push((uri.name().to_owned(), kind, item));
                    }
                }
            }
        }
        let mut expiries = expiring_within(
            rows.iter()
                .map(|(vault, kind, item)| (vault.as_str(), *kind, item)),
            now,
            days,
        );
        for expiry in &mut expiries {
            expiry.as_of = ages.get(&(expiry.vault_name.clone(), expiry.kind)).copied();
        }
        if let Some(TransferDialog::Calendar(view)) = &mut self.transfer.dialog {
            view.expiries = expiries;
        }
    }

    /// What transfer events asked of the other features.
    pub(super) fn apply_transfer_effects(&mut self, sink: &mut dyn CommandSink) {
        let identity = self.session.audit_identity();
        for effect in self.transfer.take_effects() {
            match effect {
                TransferEffect::Bulk { title, changes } => {
                    self.changes.start_bulk(title, changes, sink);
                }
                TransferEffect::Changed { result, action } => {
                    self.changes.log_entry(
                        &identity,
                        result.vault.name(),
                        &format!("{} {}", result.kind.singular(), result.name),
                        &action,
                        "done",
                    );
                    self.changes.note_result(&result);
                }
                TransferEffect::Log {
                    vault,
                    object,
                    action,
                    result,
                } => self
                    .changes
                    .log_entry(&identity, &vault, &object, &action, &result),
            }
        }
    }
}
