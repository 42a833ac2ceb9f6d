//! The change dialogs: the secret form (a masked multi-line value typed, read from a file or generated),
//! a version's attributes, a key, a self-signed certificate, and the confirmation that shows a change as it
//! will be made (with the `az` equivalent and, where needed, a word to type). The value is edited in place
//! in the state's zeroizing buffer and the text field's undo history is wiped every frame, so the typed
//! value is never copied into an intent, an undo step or a log.

use egui::epaint::text::{ByteIndex, CharIndex};
use egui::{Context, RichText, Ui};

use super::state::change_forms::{CERTIFICATE_CONTENT_TYPES, key_shapes};
use super::state::changes::{ChangeDialog, ChangesIntent, Confirmation, DialogStatus};
use super::state::secret_input::{GeneratorKind, SECRET_VALUE_LIMIT, SecretText};
use super::state::{AppState, Intent};
use crate::azure::keyvault_writes::KEY_OPERATIONS;

/// The value field's id: its widget state is wiped every frame and when the dialog closes.
pub fn value_field_id() -> egui::Id {
    egui::Id::unique("secret-value-field")
}

/// The value buffer as egui's text buffer: edits go straight into the zeroizing buffer.
pub(super) struct SecretBuffer<'a>(pub(super) &'a mut SecretText);

impl egui::TextBuffer for SecretBuffer<'_> {
    fn is_mutable(&self) -> bool {
        true
    }

    fn as_str(&self) -> &str {
        self.0.as_str()
    }

    fn insert_text(&mut self, text: &str, char_index: CharIndex) -> usize {
        let ByteIndex(at) = self.byte_index_from_char_index(char_index);
        if self.0.insert(at, text) == 0 {
            0
        } else {
            text.chars().count()
        }
    }

    fn delete_char_range(&mut self, char_range: std::ops::Range<CharIndex>) {
        let ByteIndex(start) = self.byte_index_from_char_index(char_range.start);
        let ByteIndex(end) = self.byte_index_from_char_index(char_range.end);
        self.0.remove(start..end);
    }

    fn type_id(&self) -> std::any::TypeId {
        std::any::TypeId::of::<SecretBuffer<'static>>()
    }

    /// egui takes the text for a cut; a masked value is never cut out of the field.
    fn take(&mut self) -> String {
        String::new()
    }
}

/// Draws the open change dialog; `value` is the secret form's value buffer (taken out of the state for the
/// frame).
pub fn dialogs_ui(
    ctx: &Context,
    state: &AppState,
    value: &mut SecretText,
    intents: &mut Vec<Intent>,
) {
    let Some(dialog) = &state.changes.dialog else {
        forget_value_field(ctx);
        return;
    };
    let status = &state.changes.status;
    let title = match dialog {
        ChangeDialog::Secret(form) if form.existing.is_some() => {
            format!("New version of {}", form.name)
        }
        ChangeDialog::Secret(_) => "New secret".to_owned(),
        ChangeDialog::Edit(form) => format!(
            "Edit {} {}{}",
            form.id.kind.singular(),
            form.id.name,
            form.id
                .version
                .as_deref()
                .map(|v| format!(" (version {})", &v[..v.len().min(8)]))
                .unwrap_or_default()
        ),
        ChangeDialog::Key(_) => "New key".to_owned(),
        ChangeDialog::Certificate(_) => "New self-signed certificate".to_owned(),
        ChangeDialog::Confirm(confirmation) => confirmation.title.clone(),
    };
    egui::Modal::new(egui::Id::unique("change-dialog")).show(ctx, |ui| {
        ui.set_width(560.0);
        ui.heading(&title);
        ui.add_space(4.0);
        ui.add_enabled_ui(!status.sending, |ui| match dialog {
            ChangeDialog::Secret(form) => secret_form_ui(ui, form, value, intents),
            ChangeDialog::Edit(form) => edit_form_ui(ui, state, form, intents),
            ChangeDialog::Key(form) => key_form_ui(ui, form, intents),
            ChangeDialog::Certificate(form) => certificate_form_ui(ui, form, intents),
            ChangeDialog::Confirm(confirmation) => {
                confirmation_ui(ui, state, confirmation, intents)
            }
        });
        status_ui(ui, status, dialog, intents);
    });
    // The field's undo history holds copies of what was typed: wipe it every frame.
    if let Some(mut field) = egui::text_edit::TextEditState::load(ctx, value_field_id()) {
        field.clear_undoer();
        field.store(ctx, value_field_id());
    }
}

fn forget_value_field(ctx: &Context) {
    ctx.data_mut(|data| data.remove::<egui::text_edit::TextEditState>(value_field_id()));
}

fn status_ui(ui: &mut Ui, status: &DialogStatus, dialog: &ChangeDialog, intents: &mut Vec<Intent>) {
    ui.add_space(6.0);
    if let Some(message) = &status.message {
        ui.label(message);
    }
    if let Some(error) = &status.error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
    ui.separator();
    ui.horizontal(|ui| {
        if status.sending {
            ui.spinner();
            ui.label("Sending… (the view changes when the service answers)");
            return;
        }
        let (label, intent, allowed) = match dialog {
            ChangeDialog::Secret(form) if form.existing.is_some() => {
                ("Add version", ChangesIntent::Submit, true)
            }
            ChangeDialog::Secret(_) => ("Create secret", ChangesIntent::Submit, true),
            ChangeDialog::Edit(_) => ("Save changes", ChangesIntent::Submit, true),
            ChangeDialog::Key(_) => ("Create key", ChangesIntent::Submit, true),
            ChangeDialog::Certificate(_) => ("Create certificate", ChangesIntent::Submit, true),
            ChangeDialog::Confirm(confirmation) => (
                confirmation.button.as_str(),
                ChangesIntent::Confirm,
                confirmation.may_confirm(),
            ),
        };
        if ui.add_enabled(allowed, egui::Button::new(label)).clicked() {
            intents.push(intent.into());
        }
        if status.conflict && ui.button("Recover it").clicked() {
            intents.push(ChangesIntent::RecoverInstead.into());
        }
        if ui.button("Cancel").clicked() {
            intents.push(ChangesIntent::CloseDialog.into());
        }
    });
}

fn field(ui: &mut Ui, label: &str, text: &mut String, hint: &str) -> bool {
    let label = ui.label(label);
    let changed = ui
        .add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id)
        .changed();
    ui.end_row();
    changed
}

fn enabled_field(ui: &mut Ui, enabled: &mut bool, label: &str) -> bool {
    ui.label("");
    let changed = ui.checkbox(enabled, label).changed();
    ui.end_row();
    changed
}

fn tags_field(ui: &mut Ui, text: &mut String) -> bool {
    let label = ui.label("Tags");
    let changed = ui
        .add(
            egui::TextEdit::multiline(text)
                .hint_text("key=value, one per line")
                .desired_rows(2)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id)
        .changed();
    ui.end_row();
    changed
}

fn dates_fields(ui: &mut Ui, not_before: &mut String, expires: &mut String) -> bool {
    let hint = "YYYY-MM-DD [HH:MM] UTC, or empty";
    field(ui, "Not before", not_before, hint) | field(ui, "Expires", expires, hint)
}

fn secret_form_ui(
    ui: &mut Ui,
    form: &super::state::change_forms::SecretForm,
    value: &mut SecretText,
    intents: &mut Vec<Intent>,
) {
    let mut edited = form.clone();
    let mut changed = false;
    ui.weak(format!("In {}", form.vault.name()));
    egui::Grid::new("secret-form")
        .num_columns(2)
        .show(ui, |ui| {
            if form.existing.is_none() {
                changed |= field(ui, "Name", &mut edited.name, "letters, digits and -");
            }
            let value_label = ui.label("Value");
            ui.vertical(|ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut SecretBuffer(value))
                        .id(value_field_id())
                        .password(!edited.show_value)
                        .desired_rows(3)
                        .desired_width(f32::INFINITY)
                        .hint_text("typed, pasted, from a file or generated"),
                )
                .labelled_by(value_label.id);
                ui.horizontal(|ui| {
                    changed |= ui.checkbox(&mut edited.show_value, "Show").changed();
                    ui.weak(format!("{} of {} bytes", value.len(), SECRET_VALUE_LIMIT));
                    if ui.button("From file…").clicked() {
                        intents.push(ChangesIntent::PickValueFile.into());
                    }
                    if ui.button("Clear").clicked() {
                        value.clear();
                    }
                });
                ui.horizontal(|ui| {
                    egui::ComboBox::from_label("Generate")
                        .selected_text(match edited.generator.kind {
                            GeneratorKind::Password => "Password",
                            GeneratorKind::Guid => "GUID",
                            GeneratorKind::Base64Key => "32-byte base64 key",
                        })
                        .show_ui(ui, |ui| {
                            for (kind, label) in [
                                (GeneratorKind::Password, "Password"),
                                (GeneratorKind::Guid, "GUID"),
                                (GeneratorKind::Base64Key, "32-byte base64 key"),
                            ] {
                                changed |= ui
                                    .selectable_value(&mut edited.generator.kind, kind, label)
                                    .changed();
                            }
                        });
                    if edited.generator.kind == GeneratorKind::Password {
                        let length = ui.label("length");
                        changed |= ui
                            .add(egui::DragValue::new(&mut edited.generator.length).range(4..=1024))
                            .labelled_by(length.id)
                            .changed();
                        changed |= ui.checkbox(&mut edited.generator.upper, "A-Z").changed();
                        changed |= ui.checkbox(&mut edited.generator.lower, "a-z").changed();
                        changed |= ui.checkbox(&mut edited.generator.digits, "0-9").changed();
                        changed |= ui.checkbox(&mut edited.generator.symbols, "!#%").changed();
                    }
                    if ui.button("Generate value").clicked() {
                        intents.push(ChangesIntent::GenerateValue.into());
                    }
                });
            });
            ui.end_row();
            changed |= field(
                ui,
                "Content type",
                &mut edited.content_type,
                "text/plain, application/json, …",
            );
            changed |= tags_field(ui, &mut edited.tags);
            changed |= enabled_field(ui, &mut edited.enabled, "Create enabled");
            changed |= dates_fields(ui, &mut edited.not_before, &mut edited.expires);
        });
    if form.existing.is_none()
        && !edited.name.is_empty()
        && let Some(problem) = edited.name_problem()
    {
        ui.colored_label(ui.visuals().warn_fg_color, problem);
    }
    ui.weak(format!(
        "az keyvault secret set --vault-name '{}' --name '{}' --file <value>",
        form.vault.name(),
        edited.name.trim()
    ));
    if changed {
        intents.push(ChangesIntent::SetSecretForm(Box::new(edited)).into());
    }
}

fn edit_form_ui(
    ui: &mut Ui,
    state: &AppState,
    form: &super::state::change_forms::EditForm,
    intents: &mut Vec<Intent>,
) {
    let mut edited = form.clone();
    let mut changed = false;
    ui.weak(format!(
        "In {}; only what you change is sent (PATCH).",
        form.id.vault.name()
    ));
    egui::Grid::new("edit-form").num_columns(2).show(ui, |ui| {
        changed |= enabled_field(ui, &mut edited.enabled, "Version enabled");
        changed |= dates_fields(ui, &mut edited.not_before, &mut edited.expires);
        if form.id.kind == crate::azure::identifiers::ObjectKind::Secret {
            changed |= field(ui, "Content type", &mut edited.content_type, "");
        }
        changed |= tags_field(ui, &mut edited.tags);
    });
    if form.id.kind == crate::azure::identifiers::ObjectKind::Secret
        && form.original.enabled()
        && !form.enabled
    {
        let latest = state.latest_version();
        let risks = [crate::access::consumers::RiskyChange::DisableVersion {
            name: &form.id.name,
            version: form.id.version.as_deref(),
            latest: latest.as_deref(),
        }];
        super::used_by_panel::breaking_ui(ui, state, &risks, intents);
    }
    if changed {
        intents.push(ChangesIntent::SetEditForm(Box::new(edited)).into());
    }
}

fn key_form_ui(ui: &mut Ui, form: &super::state::change_forms::KeyForm, intents: &mut Vec<Intent>) {
    let mut edited = form.clone();
    let mut changed = false;
    ui.weak(format!("In {}", form.vault.name()));
    egui::Grid::new("key-form").num_columns(2).show(ui, |ui| {
        changed |= field(ui, "Name", &mut edited.name, "letters, digits and -");
        ui.label("");
        egui::ComboBox::from_label("Key type")
            .selected_text(edited.shape.label())
            .show_ui(ui, |ui| {
                for shape in key_shapes() {
                    changed |= ui
                        .selectable_value(&mut edited.shape, shape, shape.label())
                        .changed();
                }
            });
        ui.end_row();
        ui.label("Operations");
        ui.horizontal_wrapped(|ui| {
            for (index, operation) in KEY_OPERATIONS.iter().enumerate() {
                let allowed = edited.allowed(index);
                changed |= ui
                    .add_enabled(
                        allowed,
                        egui::Checkbox::new(&mut edited.operations[index], *operation),
                    )
                    .changed();
            }
        });
        ui.end_row();
        changed |= enabled_field(ui, &mut edited.enabled, "Create enabled");
        changed |= dates_fields(ui, &mut edited.not_before, &mut edited.expires);
        changed |= tags_field(ui, &mut edited.tags);
    });
    if changed {
        intents.push(ChangesIntent::SetKeyForm(Box::new(edited)).into());
    }
}

fn certificate_form_ui(
    ui: &mut Ui,
    form: &super::state::change_forms::CertificateForm,
    intents: &mut Vec<Intent>,
) {
    let mut edited = form.clone();
    let mut changed = false;
    ui.weak(format!(
        "In {}; issued by Key Vault itself (issuer Self).",
        form.vault.name()
    ));
    egui::Grid::new("certificate-form")
        .num_columns(2)
        .show(ui, |ui| {
            changed |= field(ui, "Name", &mut edited.name, "letters, digits and -");
            changed |= field(ui, "Subject", &mut edited.subject, "CN=api.contoso.com");
            changed |= field(
                ui,
                "DNS names",
                &mut edited.dns_names,
                "api.contoso.com, www.contoso.com",
            );
            changed |= field(ui, "Validity (months)", &mut edited.validity_months, "12");
            ui.label("");
            egui::ComboBox::from_label("Key type")
                .selected_text(edited.key.label())
                .show_ui(ui, |ui| {
                    for shape in key_shapes() {
                        changed |= ui
                            .selectable_value(&mut edited.key, shape, shape.label())
                            .changed();
                    }
                });
            ui.end_row();
            ui.label("Private key");
            changed |= ui
                .checkbox(
                    &mut edited.exportable,
                    "exportable (downloadable as PFX/PEM)",
                )
                .changed();
            ui.end_row();
            ui.label("");
            egui::ComboBox::from_label("Content type")
                .selected_text(edited.content_type.clone())
                .show_ui(ui, |ui| {
                    for content_type in CERTIFICATE_CONTENT_TYPES {
                        changed |= ui
                            .selectable_value(
                                &mut edited.content_type,
                                content_type.to_owned(),
                                content_type,
                            )
                            .changed();
                    }
                });
            ui.end_row();
            ui.label("Near the end");
            ui.horizontal(|ui| {
                changed |= ui
                    .radio_value(&mut edited.auto_renew, true, "renew")
                    .changed();
                changed |= ui
                    .radio_value(&mut edited.auto_renew, false, "email contacts")
                    .changed();
                let at = ui.label("at");
                changed |= ui
                    .add(
                        egui::TextEdit::singleline(&mut edited.lifetime_percentage)
                            .desired_width(32.0),
                    )
                    .labelled_by(at.id)
                    .changed();
                ui.label("% of its life");
            });
            ui.end_row();
            changed |= enabled_field(ui, &mut edited.enabled, "Create enabled");
            changed |= tags_field(ui, &mut edited.tags);
        });
    if changed {
        intents.push(ChangesIntent::SetCertificateForm(Box::new(edited)).into());
    }
}

fn confirmation_ui(
    ui: &mut Ui,
    state: &AppState,
    confirmation: &Confirmation,
    intents: &mut Vec<Intent>,
) {
    for line in &confirmation.lines {
        ui.label(line);
    }
    let latest = state.latest_version();
    let risks =
        crate::ui::state::consumers::risky_changes(&confirmation.changes, latest.as_deref());
    super::used_by_panel::breaking_ui(ui, state, &risks, intents);
    if let Some(az) = &confirmation.az {
        ui.add_space(4.0);
        ui.label(RichText::new("Equivalent Azure CLI command").weak());
        ui.horizontal(|ui| {
            ui.add(egui::Label::new(RichText::new(az).monospace()).wrap());
            if ui.small_button("Copy").clicked() {
                intents.push(Intent::CopyText {
                    what: "the az command".into(),
                    text: az.clone(),
                });
            }
        });
    }
    if let Some(word) = &confirmation.typed_word {
        let mut typed = confirmation.typed.clone();
        ui.horizontal(|ui| {
            let label = ui.label(format!("Type {word}:"));
            if ui
                .add(egui::TextEdit::singleline(&mut typed).desired_width(200.0))
                .labelled_by(label.id)
                .changed()
            {
                intents.push(ChangesIntent::SetTyped(typed.clone()).into());
            }
        });
    }
}

/// The bulk run's progress window: done, failed, remaining; cancel; failures with reasons; retry.
pub fn bulk_ui(ctx: &Context, state: &AppState, intents: &mut Vec<Intent>) {
    let Some(bulk) = &state.changes.bulk else {
        return;
    };
    egui::Window::new("Bulk change")
        .id(egui::Id::unique("bulk-window"))
        .collapsible(false)
        .resizable(true)
        .default_width(460.0)
        .show(ctx, |ui| {
            ui.strong(&bulk.title);
            let total = bulk.items.len().max(1);
            let ended = bulk.items.len() - bulk.remaining();
            ui.add(
                egui::ProgressBar::new(ended as f32 / total as f32)
                    .show_percentage()
                    .desired_width(420.0),
            );
            ui.label(format!(
                "{} done · {} failed · {} remaining{}",
                bulk.done(),
                bulk.failed(),
                bulk.remaining(),
                if bulk.not_started() > 0 {
                    format!(" · {} not started (cancelled)", bulk.not_started())
                } else {
                    String::new()
                }
            ));
            let failures = bulk.failures();
            if !failures.is_empty() {
                ui.label(RichText::new("Failures").strong());
                egui::ScrollArea::vertical()
                    .max_height(160.0)
                    .show(ui, |ui| {
                        for (name, reason) in &failures {
                            ui.horizontal_wrapped(|ui| {
                                ui.strong(name);
                                ui.colored_label(ui.visuals().error_fg_color, reason);
                            });
                        }
                    });
            }
            ui.horizontal(|ui| {
                if bulk.finished {
                    if (bulk.failed() > 0 || bulk.not_started() > 0)
                        && ui.button("Retry failed").clicked()
                    {
                        intents.push(ChangesIntent::RetryFailed.into());
                    }
                    if ui.button("Close").clicked() {
                        intents.push(ChangesIntent::CloseBulk.into());
                    }
                } else if bulk.cancel.is_cancelled() {
                    ui.spinner();
                    ui.label("Stopping after the items under way…");
                } else if ui.button("Cancel").clicked() {
                    intents.push(ChangesIntent::CancelBulk.into());
                }
            });
        });
}

/// The session's change log: time, identity, vault, object, action, result (never a value).
pub fn change_log_ui(ctx: &Context, state: &AppState, intents: &mut Vec<Intent>) {
    if !state.changes.show_log {
        return;
    }
    let mut open = true;
    egui::Window::new("Change log")
        .id(egui::Id::unique("change-log-window"))
        .open(&mut open)
        .default_width(720.0)
        .default_height(260.0)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.weak("This session's changes; kept in memory only, never a value.");
                if ui.button("Save…").clicked() {
                    intents.push(ChangesIntent::SaveLog.into());
                }
            });
            // Virtualized: a bulk run writes one line per item, so the log can hold thousands.
            const WIDTHS: [f32; 6] = [150.0, 110.0, 120.0, 220.0, 180.0, 260.0];
            let columns = |ui: &mut Ui, texts: [&str; 6], strong: bool| {
                ui.horizontal(|ui| {
                    for (text, width) in texts.into_iter().zip(WIDTHS) {
                        ui.allocate_ui(egui::vec2(width, ui.spacing().interact_size.y), |ui| {
                            ui.set_width(width);
                            let text = if strong {
                                RichText::new(text).strong()
                            } else {
                                RichText::new(text)
                            };
                            ui.add(egui::Label::new(text).truncate());
                        });
                    }
                });
            };
            columns(
                ui,
                ["Time", "Identity", "Vault", "Object", "Action", "Result"],
                true,
            );
            let log = &state.changes.log;
            if log.is_empty() {
                ui.weak("No changes yet.");
            }
            let row_height = ui.spacing().interact_size.y;
            egui::ScrollArea::both()
                .auto_shrink([false, false])
                .show_rows(ui, row_height, log.len(), |ui, range| {
                    for index in range {
                        // Newest first.
                        let entry = &log[log.len() - 1 - index];
                        columns(
                            ui,
                            [
                                &entry.time,
                                &entry.identity,
                                &entry.vault,
                                &entry.object,
                                &entry.action,
                                &entry.result,
                            ],
                            false,
                        );
                    }
                });
        });
    if !open {
        intents.push(ChangesIntent::ToggleLog.into());
    }
}
