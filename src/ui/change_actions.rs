//! The controls that start a change: "New secret/key/certificate" and the bulk bar over the list (what the
//! marked rows can have done to them), and the selected object's own actions in the details pane (new
//! version, edit, rotate, roll back, delete, recover, purge). None is drawn under `--read-only`.

use egui::Ui;

use super::state::bulk::BulkAction;
use super::state::changes::ChangesIntent;
use super::state::{AppState, Intent};
use crate::azure::identifiers::ObjectKind;

/// The list's change controls: create, and the bulk bar when rows are marked.
pub fn list_actions_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    if state.changes.read_only {
        ui.horizontal(|ui| super::transfer_panel::transfer_menu_ui(ui, state, intents));
        return;
    }
    let list = state.objects.selected_list;
    ui.horizontal_wrapped(|ui| {
        super::transfer_panel::transfer_menu_ui(ui, state, intents);
        if !list.deleted {
            let (label, intent) = match list.kind {
                ObjectKind::Secret => ("New secret…", ChangesIntent::NewSecret),
                ObjectKind::Key => ("New key…", ChangesIntent::NewKey),
                ObjectKind::Certificate => ("New certificate…", ChangesIntent::NewCertificate),
            };
            if ui.button(label).clicked() {
                intents.push(intent.into());
            }
        }
        let Some(marked) = state.changes.marked(state.selected_vault(), list) else {
            ui.weak(
                "Ctrl-click or Shift-click rows (Ctrl+A: all shown) to change several at once.",
            );
            return;
        };
        ui.separator();
        ui.strong(format!("{} marked", marked.len()));
        let mut bulk = |ui: &mut Ui, label: &str, action: BulkAction| {
            if ui.button(label).clicked() {
                intents.push(ChangesIntent::Bulk(action).into());
            }
        };
        if list.deleted {
            bulk(ui, "Recover", BulkAction::Recover);
            bulk(ui, "Purge", BulkAction::Purge);
        } else {
            bulk(ui, "Delete", BulkAction::Delete);
            bulk(ui, "Enable", BulkAction::Enable);
            bulk(ui, "Disable", BulkAction::Disable);
            tag_menu_ui(ui, intents);
        }
        if ui.button("Clear marks").clicked() {
            intents.push(ChangesIntent::ClearMarks.into());
        }
    });
}

/// "Tag…": add or remove one tag on every marked row.
fn tag_menu_ui(ui: &mut Ui, intents: &mut Vec<Intent>) {
    let id = egui::Id::unique("bulk-tag-text");
    let mut text: String = ui.data(|data| data.get_temp(id)).unwrap_or_default();
    ui.menu_button("Tag…", |ui| {
        let label = ui.label("key=value (remove: key only)");
        ui.add(egui::TextEdit::singleline(&mut text).desired_width(180.0))
            .labelled_by(label.id);
        ui.horizontal(|ui| {
            let trimmed = text.trim();
            let pair = trimmed.split_once('=');
            if ui
                .add_enabled(
                    pair.is_some_and(|(key, _)| !key.trim().is_empty()),
                    egui::Button::new("Add tag"),
                )
                .clicked()
                && let Some((key, value)) = pair
            {
                intents.push(
                    ChangesIntent::Bulk(BulkAction::AddTag {
                        key: key.trim().to_owned(),
                        value: value.trim().to_owned(),
                    })
                    .into(),
                );
                ui.close();
            }
            let key = pair.map_or(trimmed, |(key, _)| key.trim());
            if ui
                .add_enabled(!key.is_empty(), egui::Button::new("Remove tag"))
                .clicked()
            {
                intents.push(
                    ChangesIntent::Bulk(BulkAction::RemoveTag {
                        key: key.to_owned(),
                    })
                    .into(),
                );
                ui.close();
            }
        });
    });
    ui.data_mut(|data| data.insert_temp(id, text));
}

/// The selected object's change buttons (details pane).
pub fn object_actions_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    if state.changes.read_only {
        return;
    }
    let Some(id) = state.selected_object_id() else {
        return;
    };
    let list = state.objects.selected_list;
    let managed = state
        .selected_item()
        .is_some_and(|item| item.managed == Some(true));
    let pending = state
        .changes
        .pending_certificates
        .contains(&(id.vault.as_str().to_owned(), id.name.to_ascii_lowercase()));
    ui.horizontal_wrapped(|ui| {
        let mut action = |ui: &mut Ui, label: &str, hover: &str, intent: ChangesIntent| {
            if ui.button(label).on_hover_text(hover).clicked() {
                intents.push(intent.into());
            }
        };
        if list.deleted {
            action(
                ui,
                "Recover",
                "Bring every version back",
                ChangesIntent::Selected(BulkAction::Recover),
            );
            action(
                ui,
                "Purge…",
                "Delete for good (type the name to confirm)",
                ChangesIntent::Selected(BulkAction::Purge),
            );
            return;
        }
        if managed {
            ui.weak("Managed by its certificate: change the certificate instead.");
            return;
        }
        if pending {
            ui.spinner();
            ui.weak("being issued…");
        }
        match id.kind {
            ObjectKind::Secret => action(
                ui,
                "New version…",
                "Set a new value; older versions stay",
                ChangesIntent::NewVersion,
            ),
            ObjectKind::Key => action(
                ui,
                "Rotate…",
                "A new version of the same type and operations",
                ChangesIntent::RotateKey,
            ),
            ObjectKind::Certificate => {}
        }
        action(
            ui,
            "Edit…",
            "Enabled, dates, tags (and a secret's content type) of this version",
            ChangesIntent::EditVersion,
        );
        if id.kind == ObjectKind::Secret
            && let Some(version) = &id.version
            && state
                .objects
                .versions
                .items
                .iter()
                .max_by_key(|item| item.attributes.created)
                .and_then(|newest| newest.version())
                .is_some_and(|newest| newest != *version)
        {
            action(
                ui,
                "Roll back to this version…",
                "A new version carrying this version's value",
                ChangesIntent::RollBack(id.clone()),
            );
        }
        action(
            ui,
            "Delete…",
            "Every version goes to the Deleted list",
            ChangesIntent::Selected(BulkAction::Delete),
        );
    });
}
