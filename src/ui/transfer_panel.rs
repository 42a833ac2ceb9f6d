//! Files and vault to vault in the window: the "Files & vaults" menu over the list, the selected object's
//! backup, certificate download and version comparison buttons, and the transfer window (export form,
//! import or copy preview, copy form, vault comparison, version comparison, expiry calendar, certificate
//! import). Values are never drawn, except the two of a version comparison after "Reveal both values".

use egui::{Context, RichText, Ui};
use secrecy::ExposeSecret;

use super::change_dialogs::SecretBuffer;
use super::state::secret_input::SecretText;
use super::state::transfer::{
    CompareView, ExportScope, PlanView, TransferDialog, TransferIntent, revealed,
};
use super::state::{AppState, Intent};
use crate::azure::identifiers::ObjectKind;
use crate::transfer::certificate_files::CertificateFile;
use crate::transfer::export::ExportFormat;
use crate::transfer::plan::WriteFate;

fn push(intents: &mut Vec<Intent>, intent: TransferIntent) {
    intents.push(intent.into());
}

/// "Files & vaults": export, import, copy, compare, the calendar, restore, certificate import.
pub fn transfer_menu_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let list = state.objects.selected_list;
    let writable = !state.changes.read_only;
    ui.menu_button("Files & vaults", |ui| {
        let mut item = |ui: &mut Ui, enabled: bool, label: &str, intent: TransferIntent| {
            if ui.add_enabled(enabled, egui::Button::new(label)).clicked() {
                push(intents, intent);
                ui.close();
            }
        };
        item(ui, true, "Export list…", TransferIntent::OpenExport);
        let live_secrets = list.kind == ObjectKind::Secret && !list.deleted;
        item(
            ui,
            writable && live_secrets,
            "Import secrets…",
            TransferIntent::PlanImport,
        );
        item(
            ui,
            writable && live_secrets,
            "Copy to another vault…",
            TransferIntent::OpenCopy,
        );
        item(
            ui,
            true,
            "Compare with another vault…",
            TransferIntent::OpenCompare,
        );
        item(ui, true, "Expiry calendar…", TransferIntent::OpenCalendar);
        ui.separator();
        item(
            ui,
            writable && !list.deleted,
            &format!("Restore a {} backup…", list.kind.singular()),
            TransferIntent::Restore,
        );
        if list.kind == ObjectKind::Certificate && !list.deleted {
            item(
                ui,
                writable,
                "Import certificate (PFX/PEM)…",
                TransferIntent::OpenCertificateImport,
            );
        }
    });
}

/// The selected object's file actions (details pane).
pub fn object_files_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let Some(id) = state.selected_object_id() else {
        return;
    };
    if state.objects.selected_list.deleted {
        return;
    }
    let managed = state
        .selected_item()
        .is_some_and(|item| item.managed == Some(true));
    ui.horizontal_wrapped(|ui| {
        if !managed
            && ui
                .button("Back up to file…")
                .on_hover_text("Key Vault's protected backup blob; restores into a vault of the same subscription and geography")
                .clicked()
        {
            push(intents, TransferIntent::BackupSelected);
        }
        if id.kind == ObjectKind::Certificate {
            ui.menu_button("Download", |ui| {
                for format in CertificateFile::ALL {
                    if ui.button(format.label()).clicked() {
                        push(intents, TransferIntent::DownloadCertificate(format));
                        ui.close();
                    }
                }
            });
        }
        if id.kind == ObjectKind::Secret
            && state.objects.versions.items.len() >= 2
            && ui
                .button("Compare versions")
                .on_hover_text("This version against the latest (or the one before): attributes, tags, and whether the values are equal")
                .clicked()
        {
            push(intents, TransferIntent::CompareVersions);
        }
    });
}

/// The open transfer window; `password` is the PFX password buffer, lent for the frame.
pub fn transfer_window_ui(
    ctx: &Context,
    state: &AppState,
    password: &mut SecretText,
    intents: &mut Vec<Intent>,
) {
    let transfer = &state.transfer;
    let Some(dialog) = &transfer.dialog else {
        return;
    };
    let title = match dialog {
        TransferDialog::Export(form) => {
            format!("Export {}s of {}", form.kind.singular(), form.vault.name())
        }
        TransferDialog::Plan(view) => format!(
            "{} -> {}: preview",
            view.plan.source,
            view.plan.target.name()
        ),
        TransferDialog::Copy(_) => "Copy secrets to another vault".into(),
        TransferDialog::Compare(view) => format!("Compare {}", view.left.name()),
        TransferDialog::Versions(view) => format!("Versions of {}", view.left.name),
        TransferDialog::Calendar(_) => "Expiry calendar".into(),
        TransferDialog::CertificateImport(form) => {
            format!("Import a certificate into {}", form.vault.name())
        }
        TransferDialog::Working { title } => title.clone(),
    };
    let mut open = true;
    egui::Window::new(title)
        .id(egui::Id::unique("transfer-window"))
        .open(&mut open)
        .collapsible(false)
        .resizable(true)
        .default_width(720.0)
        .show(ctx, |ui| {
            match dialog {
                TransferDialog::Export(form) => export_ui(ui, form, intents),
                TransferDialog::Plan(view) => plan_ui(ui, view, intents),
                TransferDialog::Copy(form) => {
                    let mut edited = form.clone();
                    ui.label(format!(
                        "{} secrets from {}: {}",
                        form.sources.len(),
                        form.sources.first().map_or("", |id| id.vault.name()),
                        form.sources.iter().take(6).map(|id| id.name.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                    if form.targets.is_empty() {
                        ui.colored_label(ui.visuals().warn_fg_color, "Load another vault first (it may be in another tenant).");
                    }
                    ui.label("To vault");
                    egui::ComboBox::from_id_salt("copy-to")
                        .selected_text(edited.target.as_ref().map_or("(choose)", |uri| uri.name()))
                        .show_ui(ui, |ui| {
                            for (name, uri) in &form.targets {
                                ui.selectable_value(&mut edited.target, Some(uri.clone()), name);
                            }
                        });
                    ui.checkbox(&mut edited.all_versions, "Every enabled version, oldest first (else the latest only)");
                    ui.checkbox(&mut edited.keep_expiry, "Keep not-before and expiry dates");
                    ui.weak("Tags and content type are kept. Nothing is written before the preview is confirmed.");
                    if edited != *form {
                        push(intents, TransferIntent::SetCopy(edited));
                    }
                    if ui.add_enabled(!transfer.busy, egui::Button::new("Preview copy")).clicked() {
                        push(intents, TransferIntent::PlanCopy);
                    }
                }
                TransferDialog::Compare(view) => compare_ui(ui, view, state.changes.read_only, intents),
                TransferDialog::Versions(view) => {
                    ui.label(format!("older {} · newer {}", short(&view.left), short(&view.right)));
                    match &view.result {
                        None => {
                            ui.spinner();
                        }
                        Some(result) => {
                            ui.label(RichText::new(format!("Values: {}", result.value.label())).strong());
                            if result.differences.is_empty() {
                                ui.label("Attributes and tags: the same.");
                            }
                            for line in &result.differences {
                                ui.label(line);
                            }
                            match revealed(view) {
                                Some((left, right)) => {
                                    ui.separator();
                                    ui.columns(2, |columns| {
                                        columns[0].monospace(left.expose_secret());
                                        columns[1].monospace(right.expose_secret());
                                    });
                                }
                                None => {
                                    if ui
                                        .button("Reveal both values")
                                        .on_hover_text("Reads both values again and shows them side by side")
                                        .clicked()
                                    {
                                        push(intents, TransferIntent::RevealVersions);
                                    }
                                }
                            }
                        }
                    }
                }
                TransferDialog::Calendar(view) => {
                    ui.horizontal(|ui| {
                        let label = ui.label("Expiring within (days)");
                        let mut days = view.days;
                        if ui
                            .add(egui::DragValue::new(&mut days).range(1..=3650))
                            .labelled_by(label.id)
                            .changed()
                        {
                            push(intents, TransferIntent::SetCalendarDays(days));
                        }
                        if ui.add_enabled(!view.expiries.is_empty(), egui::Button::new("Export .ics…")).clicked() {
                            push(intents, TransferIntent::ExportCalendar);
                        }
                    });
                    ui.weak(format!("{} across every loaded and indexed vault (expired ones first)", view.expiries.len()));
                    egui::ScrollArea::vertical().max_height(420.0).show_rows(
                        ui,
                        18.0,
                        view.expiries.len(),
                        |ui, range| {
                            egui::Grid::new("calendar-grid").striped(true).show(ui, |ui| {
                                for expiry in &view.expiries[range] {
                                    let when = expiry.when(view.now);
                                    if when.starts_with("expired") {
                                        ui.colored_label(ui.visuals().error_fg_color, when);
                                    } else {
                                        ui.label(when);
                                    }
                                    ui.label(super::format::timestamp(Some(expiry.expires)));
                                    match expiry.as_of {
                                        Some(at) => ui.label(format!(
                                            "{} ({})",
                                            expiry.vault_name,
                                            super::format::as_of(at, view.now)
                                        )),
                                        None => ui.label(&expiry.vault_name),
                                    };
                                    ui.label(expiry.kind.singular());
                                    ui.label(&expiry.name);
                                    ui.end_row();
                                }
                            });
                        },
                    );
                }
                TransferDialog::Working { .. } => {
                    ui.label("Reading the file and the vault's current secrets (values are compared by fingerprint, never shown)…");
                }
                TransferDialog::CertificateImport(form) => {
                    ui.horizontal(|ui| {
                        if ui.button("Choose file…").clicked() {
                            push(intents, TransferIntent::PickCertificateFile);
                        }
                        ui.label(form.path.as_ref().map_or_else(
                            || "no file chosen (.pfx, .p12 or .pem with its private key)".to_owned(),
                            |path| path.display().to_string(),
                        ));
                    });
                    let mut name = form.name.clone();
                    let label = ui.label("Certificate name (new, or a new version of an existing one)");
                    if ui.text_edit_singleline(&mut name).labelled_by(label.id).changed() {
                        push(intents, TransferIntent::SetCertificateName(name));
                    }
                    let label = ui.label("PFX password (empty for none or for PEM)");
                    ui.add(
                        egui::TextEdit::singleline(&mut SecretBuffer(password))
                            .password(true)
                            .id(password_field_id()),
                    )
                    .labelled_by(label.id);
                    if ui.add_enabled(!transfer.busy, egui::Button::new("Import")).clicked() {
                        push(intents, TransferIntent::ImportCertificate);
                    }
                }
            }
            if let Some((done, total)) = transfer.progress {
                let fraction = if total == 0 { 1.0 } else { done as f32 / total as f32 };
                ui.add(egui::ProgressBar::new(fraction).text(format!("{done} / {total}")));
            } else if transfer.busy {
                ui.spinner();
            }
            if let Some(error) = &transfer.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            if !matches!(dialog, TransferDialog::Plan(_)) && ui.button("Close").clicked() {
                push(intents, TransferIntent::Close);
            }
        });
    // The password field keeps no undo history of what was typed.
    if let Some(mut field) = egui::text_edit::TextEditState::load(ctx, password_field_id()) {
        field.clear_undoer();
        field.store(ctx, password_field_id());
    }
    if !open {
        push(intents, TransferIntent::Close);
        ctx.data_mut(|data| data.remove::<egui::text_edit::TextEditState>(password_field_id()));
    }
}

fn password_field_id() -> egui::Id {
    egui::Id::unique("pfx-password-field")
}

fn short(id: &crate::azure::identifiers::ObjectId) -> String {
    id.version.as_deref().map_or_else(
        || "latest".to_owned(),
        |version| version.chars().take(8).collect(),
    )
}

fn export_ui(ui: &mut Ui, form: &super::state::transfer::ExportForm, intents: &mut Vec<Intent>) {
    let mut edited = form.clone();
    ui.horizontal(|ui| {
        ui.radio_value(
            &mut edited.scope,
            ExportScope::Shown,
            format!("Shown or marked rows ({})", form.shown_count),
        );
        ui.radio_value(
            &mut edited.scope,
            ExportScope::All,
            format!("The whole list ({})", form.all_count),
        );
    });
    ui.horizontal(|ui| {
        ui.radio_value(&mut edited.format, ExportFormat::Csv, "CSV");
        ui.radio_value(&mut edited.format, ExportFormat::Json, "JSON");
    });
    ui.weak(
        "Name, identifier, enabled, created, updated, not-before, expiry, content type and tags.",
    );
    if form.kind == ObjectKind::Secret {
        ui.checkbox(&mut edited.include_values, "Include values");
        if edited.include_values {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "The file will hold every exported secret's value in clear text. It is written readable by you alone (0600), and the change log records the export (never the values).",
            );
            ui.checkbox(
                &mut edited.values_acknowledged,
                "I understand: write the values to the file",
            );
        }
    }
    if edited != *form {
        push(intents, TransferIntent::SetExport(edited));
    }
    if ui.button("Export…").clicked() {
        push(intents, TransferIntent::RunExport);
    }
}

fn plan_ui(ui: &mut Ui, view: &PlanView, intents: &mut Vec<Intent>) {
    let [create, version, unchanged, conflict, invalid] = view.counts();
    ui.label(format!(
        "{create} create · {version} new version · {unchanged} unchanged · {conflict} conflict · {invalid} invalid"
    ));
    for note in &view.plan.notes {
        ui.colored_label(ui.visuals().warn_fg_color, note);
    }
    if conflict > 0 {
        ui.horizontal(|ui| {
            ui.label("Conflicts are deleted secrets that can be recovered first:");
            if ui.button("Recover them first").clicked() {
                push(
                    intents,
                    TransferIntent::IncludeFate {
                        conflicts: true,
                        included: true,
                    },
                );
            }
            if ui.button("Skip them").clicked() {
                push(
                    intents,
                    TransferIntent::IncludeFate {
                        conflicts: true,
                        included: false,
                    },
                );
            }
        });
    }
    egui::ScrollArea::vertical().max_height(380.0).show_rows(
        ui,
        20.0,
        view.plan.rows.len(),
        |ui, range| {
            egui::Grid::new("plan-grid")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for index in range {
                        let row = &view.plan.rows[index];
                        let mut included = view.included[index];
                        if ui
                            .add_enabled(
                                row.fate.writes(),
                                egui::Checkbox::without_text(&mut included),
                            )
                            .changed()
                        {
                            push(intents, TransferIntent::SetIncluded { index, included });
                        }
                        ui.label(&row.name);
                        match &row.fate {
                            WriteFate::Invalid(why) => ui.colored_label(
                                ui.visuals().error_fg_color,
                                format!("invalid: {why}"),
                            ),
                            WriteFate::Conflict => {
                                ui.colored_label(ui.visuals().warn_fg_color, row.fate.label())
                            }
                            fate => ui.label(fate.label()),
                        };
                        ui.weak(match (&row.source_name, row.drafts.len()) {
                            (Some(original), _) => format!("{} (was {original})", row.origin),
                            (None, n) if n > 1 => format!("{} ({n} versions)", row.origin),
                            _ => row.origin.clone(),
                        });
                        ui.end_row();
                    }
                });
        },
    );
    let count = view.changes().len();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                count > 0,
                egui::Button::new(format!(
                    "Write {count} secrets to {}",
                    view.plan.target.name()
                )),
            )
            .clicked()
        {
            push(intents, TransferIntent::ApplyPlan);
        }
        if ui.button("Cancel").clicked() {
            push(intents, TransferIntent::Close);
        }
    });
}

fn compare_ui(ui: &mut Ui, view: &CompareView, read_only: bool, intents: &mut Vec<Intent>) {
    let mut right = view.right.clone();
    let mut show_equal = view.show_equal;
    ui.horizontal(|ui| {
        ui.label("with");
        egui::ComboBox::from_id_salt("compare-with")
            .selected_text(
                right
                    .as_ref()
                    .map_or("(choose a loaded vault)", |uri| uri.name()),
            )
            .show_ui(ui, |ui| {
                for (name, uri) in &view.targets {
                    ui.selectable_value(&mut right, Some(uri.clone()), name);
                }
            });
        ui.checkbox(&mut show_equal, "Show equal names");
        if ui.button("Compare").clicked() {
            push(intents, TransferIntent::RunCompare);
        }
    });
    if right != view.right || show_equal != view.show_equal {
        push(intents, TransferIntent::SetCompare { right, show_equal });
    }
    ui.weak("Values are compared by keyed fingerprints made for this comparison; no value is shown or kept.");
    let Some((left, right, rows)) = &view.result else {
        return;
    };
    let shown: Vec<_> = rows
        .iter()
        .filter(|row| show_equal || row.differs())
        .collect();
    let differing = rows.iter().filter(|row| row.differs()).count();
    let only_left = rows.iter().filter(|row| row.right.is_none()).count();
    let only_right = rows.iter().filter(|row| row.left.is_none()).count();
    ui.label(if differing == 0 {
        format!(
            "All {} names are equal in {} and {}.",
            rows.len(),
            left.name(),
            right.name()
        )
    } else {
        format!(
            "{differing} of {} names differ: {only_left} only in {}, {only_right} only in {}, {} in both but not equal.",
            rows.len(),
            left.name(),
            right.name(),
            differing - only_left - only_right
        )
    });
    egui::ScrollArea::vertical()
        .max_height(380.0)
        .show_rows(ui, 20.0, shown.len(), |ui, range| {
            egui::Grid::new("compare-grid")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for row in &shown[range] {
                        let mut ticked = view.ticked.contains(&row.name.to_ascii_lowercase());
                        if ui
                            .add_enabled(
                                row.left.is_some() && row.differs(),
                                egui::Checkbox::without_text(&mut ticked),
                            )
                            .changed()
                        {
                            push(
                                intents,
                                TransferIntent::TickCompared {
                                    name: row.name.clone(),
                                    ticked,
                                },
                            );
                        }
                        ui.label(&row.name);
                        ui.label(row.status(left.name(), right.name()));
                        if row.left.is_some() && row.right.is_some() {
                            ui.label(format!("values {}", row.value.label()));
                        } else {
                            ui.label("");
                        }
                        ui.weak(row.differences.join("; "));
                        ui.end_row();
                    }
                });
        });
    ui.horizontal(|ui| {
        if ui.button("Export differences…").clicked() {
            push(intents, TransferIntent::ExportDifferences);
        }
        if !read_only
            && ui
                .add_enabled(!view.ticked.is_empty(), egui::Button::new(format!("Make {} match for ticked rows…", right.name())))
                .on_hover_text("Copies the left side's latest value, tags and content type over; previewed before anything is written")
                .clicked()
        {
            push(intents, TransferIntent::MakeRightMatch);
        }
    });
}
