//! Right panel: the selected secret's attributes, tags, identifiers to copy, its value (masked until an
//! explicit reveal) and its versions, newest first.

use egui::{RichText, Ui};
use secrecy::ExposeSecret;

use super::format;
use super::state::{AppState, Intent, LoadStatus};
use crate::azure::identifiers::ObjectId;
use crate::azure::models::SecretItem;

const MASK: &str = "••••••••••••";

pub fn details_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let (Some(item), Some(id)) = (state.selected_secret_item(), state.selected_object_id()) else {
        ui.weak("Select a secret to see its details, versions and value.");
        return;
    };
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.heading(&id.name);
            // Attributes of the selected version when it is in the version list, else of the latest.
            let shown: &SecretItem = id
                .version
                .as_ref()
                .and_then(|version| {
                    state
                        .versions
                        .items
                        .iter()
                        .find(|v| v.version().as_deref() == Some(version.as_str()))
                })
                .unwrap_or(item);
            ui.label(match &id.version {
                Some(version) => format!("Version {version}"),
                None => "Latest version".to_owned(),
            });
            ui.add_space(4.0);
            copy_buttons_ui(ui, &id, latest_version(state), intents);
            ui.add_space(6.0);
            value_ui(ui, state, &id, intents);
            ui.add_space(6.0);
            ui.separator();
            attributes_ui(ui, shown);
            ui.separator();
            versions_ui(ui, state, intents);
        });
}

/// The id of the newest version, for the versioned identifier when "latest" is selected.
fn latest_version(state: &AppState) -> Option<String> {
    state.versions.items.first().and_then(SecretItem::version)
}

fn copy_buttons_ui(ui: &mut Ui, id: &ObjectId, latest: Option<String>, intents: &mut Vec<Intent>) {
    let mut versioned = id.clone();
    if versioned.version.is_none() {
        versioned.version = latest;
    }
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Copy URI")
            .on_hover_text(id.versionless())
            .clicked()
        {
            intents.push(Intent::CopyText {
                what: "the versionless identifier".into(),
                text: id.versionless(),
            });
        }
        let versioned_button = ui.add_enabled(
            versioned.version.is_some(),
            egui::Button::new("Copy versioned URI"),
        );
        if versioned_button
            .on_hover_text(versioned.versioned())
            .clicked()
        {
            intents.push(Intent::CopyText {
                what: "the versioned identifier".into(),
                text: versioned.versioned(),
            });
        }
        if ui.button("Copy name").clicked() {
            intents.push(Intent::CopyText {
                what: "the name".into(),
                text: id.name.clone(),
            });
        }
        let show = format!("az keyvault secret show --id {}", versioned.versioned());
        if ui.button("Copy az command").on_hover_text(&show).clicked() {
            intents.push(Intent::CopyText {
                what: "the az command".into(),
                text: show,
            });
        }
        let reference = id.app_service_reference(id.version.is_some());
        if ui
            .button("Copy App Service reference")
            .on_hover_text(&reference)
            .clicked()
        {
            intents.push(Intent::CopyText {
                what: "the App Service reference".into(),
                text: reference,
            });
        }
    });
}

fn value_ui(ui: &mut Ui, state: &AppState, id: &ObjectId, intents: &mut Vec<Intent>) {
    ui.label(RichText::new("Value").strong());
    let fetched = state.value.as_ref().filter(|value| &value.id == id);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        match fetched {
            Some(value) if value.visible => {
                let mut text = value.value.expose_secret().to_owned();
                // Read-only view: the buffer is a throwaway copy, never kept in widget state.
                ui.add(
                    egui::TextEdit::multiline(&mut text)
                        .desired_rows(2)
                        .desired_width(f32::INFINITY)
                        .font(egui::TextStyle::Monospace)
                        .interactive(false),
                );
            }
            _ => {
                ui.monospace(MASK);
            }
        }
    });
    ui.horizontal(|ui| {
        let visible = fetched.is_some_and(|value| value.visible);
        if visible {
            if ui.button("Hide value").clicked() {
                intents.push(Intent::HideValue);
            }
        } else if ui
            .button("Reveal value")
            .on_hover_text("Read the value from the vault and show it")
            .clicked()
        {
            intents.push(Intent::RevealValue(id.clone()));
        }
        if ui
            .button("Copy value")
            .on_hover_text("Read the value from the vault and copy it without showing it")
            .clicked()
        {
            intents.push(Intent::CopyValue(id.clone()));
        }
        if state.value_status.is_loading() {
            ui.spinner();
        }
    });
    if let LoadStatus::Failed(message) = &state.value_status {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
}

fn attributes_ui(ui: &mut Ui, item: &SecretItem) {
    let now = format::now_unix();
    egui::Grid::new("secret-attributes")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            let attributes = &item.attributes;
            let row = |ui: &mut Ui, key: &str, value: String| {
                ui.label(key);
                ui.label(value);
                ui.end_row();
            };
            row(ui, "Enabled", yes_no(attributes.enabled.unwrap_or(true)));
            row(
                ui,
                "Content type",
                item.content_type.clone().unwrap_or_default(),
            );
            row(ui, "Created", format::timestamp(attributes.created));
            row(ui, "Updated", format::timestamp(attributes.updated));
            row(ui, "Not before", format::timestamp(attributes.nbf));
            row(ui, "Expires", format::expiry(attributes.exp, now).0);
            row(
                ui,
                "Recovery level",
                attributes.recovery_level.clone().unwrap_or_default(),
            );
            row(
                ui,
                "Recoverable days",
                attributes
                    .recoverable_days
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            );
            row(ui, "Managed", yes_no(item.managed.unwrap_or(false)));
        });
    if !item.tags.is_empty() {
        ui.add_space(4.0);
        ui.label(RichText::new("Tags").strong());
        egui::Grid::new("secret-tags")
            .num_columns(2)
            .show(ui, |ui| {
                for (key, value) in &item.tags {
                    ui.monospace(key);
                    ui.monospace(value);
                    ui.end_row();
                }
            });
    }
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

fn versions_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Versions ({})", state.versions.items.len())).strong());
        if state.versions.status.is_loading() {
            ui.spinner();
        }
    });
    if let LoadStatus::Failed(message) = &state.versions.status {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
    if ui
        .selectable_label(state.selected_version.is_none(), "Latest")
        .clicked()
    {
        intents.push(Intent::SelectVersion(None));
    }
    for version_item in &state.versions.items {
        let Some(version) = version_item.version() else {
            continue;
        };
        let selected = state.selected_version.as_deref() == Some(version.as_str());
        let enabled = version_item.attributes.enabled.unwrap_or(true);
        let label = format!(
            "{}  {}{}",
            &version[..version.len().min(12)],
            format::timestamp(version_item.attributes.created),
            if enabled { "" } else { "  (disabled)" }
        );
        if ui
            .selectable_label(selected, RichText::new(label).monospace())
            .on_hover_text(&version)
            .clicked()
        {
            intents.push(Intent::SelectVersion(Some(version)));
        }
    }
}
