//! Right panel: the selected secret's, key's or certificate's attributes, tags, kind-specific details (key
//! type, size or curve and operations; certificate subject, SANs, issuer, validity, thumbprint and policy),
//! identifiers to copy, a secret's value (masked until an explicit reveal), its versions newest first, and
//! the raw JSON with any value redacted.

use super::format::untrusted;
use egui::{RichText, Ui};
use secrecy::ExposeSecret;

use super::format;
use super::state::{AppState, Intent, LoadStatus, ObjectsIntent};
use crate::azure::identifiers::{ObjectId, ObjectKind};
use crate::azure::models::ObjectItem;
use crate::azure::object_details::{CertificateDetails, KeyDetails, ObjectDetails, redacted_json};

const MASK: &str = "••••••••••••";

pub fn details_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let Some(id) = state.selected_object_id() else {
        ui.weak("Select a secret, key or certificate to see its details, versions and value.");
        return;
    };
    let deleted = state.objects.selected_list.deleted;
    let shown_item = state.selected_version_item();
    let shown = shown_item.as_ref();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading(untrusted(&id.name));
                ui.weak(if deleted {
                    format!("deleted {}", id.kind.singular())
                } else {
                    id.kind.singular().to_owned()
                });
            });
            ui.label(match &id.version {
                Some(version) => format!("Version {version}"),
                None => "Latest version".to_owned(),
            });
            ui.add_space(4.0);
            copy_buttons_ui(ui, &id, state.latest_version(), shown, deleted, intents);
            super::change_actions::object_actions_ui(ui, state, intents);
            super::transfer_panel::object_files_ui(ui, state, intents);
            ui.horizontal_wrapped(|ui| {
                super::portal_buttons::portal_buttons_ui(ui, state.object_portal_link(&id), intents);
            });
            ui.add_space(6.0);
            if id.kind == ObjectKind::Secret && !deleted {
                value_ui(ui, state, &id, intents);
                ui.add_space(6.0);
            }
            ui.separator();
            if let Some(rows) = state.selected_list_rows()
                && rows.cached
                && state.objects.selected_version.is_none()
            {
                let age = rows
                    .complete_at
                    .map(|at| super::format::as_of(at, super::format::now_unix()))
                    .unwrap_or_default();
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Attributes from the local index, {age}: not confirmed yet"),
                );
            }
            match shown {
                Some(item) => attributes_ui(ui, item),
                None if state
                    .selected_list_rows()
                    .is_some_and(|rows| rows.status.is_loading()) =>
                {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.weak("loading…");
                    });
                }
                None => {
                    ui.weak("Not in the loaded list (opened by URI before the list arrived, or no longer there).");
                }
            }
            kind_details_ui(ui, state);
            if !deleted {
                ui.separator();
                versions_ui(ui, state, intents);
            }
            // Below the versions: it arrives later, and must not move what is above it.
            if id.kind == ObjectKind::Secret && !deleted {
                ui.separator();
                super::used_by_panel::used_by_ui(ui, state, &id.name, intents);
            }
            ui.separator();
            raw_json_ui(ui, state, shown, intents);
        });
}

fn copy_buttons_ui(
    ui: &mut Ui,
    id: &ObjectId,
    latest: Option<String>,
    shown: Option<&ObjectItem>,
    deleted: bool,
    intents: &mut Vec<Intent>,
) {
    let mut versioned = id.clone();
    if versioned.version.is_none() {
        versioned.version = latest;
    }
    let mut copy = |ui: &mut Ui, label: &str, what: &str, text: String| {
        if ui.button(label).on_hover_text(&text).clicked() {
            intents.push(Intent::CopyText {
                what: what.to_owned(),
                text,
            });
        }
    };
    ui.horizontal_wrapped(|ui| {
        copy(
            ui,
            "Copy URI",
            "the versionless identifier",
            id.versionless(),
        );
        if versioned.version.is_some() {
            copy(
                ui,
                "Copy versioned URI",
                "the versioned identifier",
                versioned.versioned(),
            );
        } else {
            ui.add_enabled(false, egui::Button::new("Copy versioned URI"))
                .on_disabled_hover_text("The versions have not arrived yet");
        }
        copy(ui, "Copy name", "the name", id.name.clone());
        let singular = id.kind.singular();
        if deleted {
            if let Some(recovery_id) = shown.and_then(|item| item.recovery_id.clone()) {
                copy(
                    ui,
                    "Copy recovery id",
                    "the recovery id",
                    recovery_id.clone(),
                );
                copy(
                    ui,
                    "Copy az command",
                    "the az command",
                    format!("az keyvault {singular} show-deleted --id {recovery_id}"),
                );
            }
        } else {
            copy(
                ui,
                "Copy az command",
                "the az command",
                format!("az keyvault {singular} show --id {}", versioned.versioned()),
            );
        }
        if id.kind == ObjectKind::Secret && !deleted {
            copy(
                ui,
                "Copy App Service reference",
                "the App Service reference",
                id.app_service_reference(id.version.is_some()),
            );
        }
    });
}

fn value_ui(ui: &mut Ui, state: &AppState, id: &ObjectId, intents: &mut Vec<Intent>) {
    let label = ui.label(RichText::new("Value").strong());
    let fetched = state.objects.value.as_ref().filter(|value| &value.id == id);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        match fetched {
            Some(value) if value.visible => {
                // Read-only view straight over the SecretString's own buffer (`&str` is a read-only
                // text buffer): no copy of the value is made per frame, none is kept in widget state.
                let mut text: &str = value.value.expose_secret();
                ui.add(
                    egui::TextEdit::multiline(&mut text)
                        .desired_rows(2)
                        .desired_width(f32::INFINITY)
                        .font(egui::TextStyle::Monospace)
                        .interactive(false),
                )
                .labelled_by(label.id);
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
                intents.push(Intent::Objects(ObjectsIntent::HideValue));
            }
        } else if ui
            .button("Reveal value")
            .on_hover_text("Read the value from the vault and show it")
            .clicked()
        {
            intents.push(Intent::Objects(ObjectsIntent::RevealValue(id.clone())));
        }
        if ui
            .button("Copy value")
            .on_hover_text("Read the value from the vault and copy it without showing it")
            .clicked()
        {
            intents.push(Intent::Objects(ObjectsIntent::CopyValue(id.clone())));
        }
        if state.objects.value_status.is_loading() {
            ui.spinner();
        }
    });
    if let LoadStatus::Failed(message) = &state.objects.value_status {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
}

fn attributes_ui(ui: &mut Ui, item: &ObjectItem) {
    let now = format::now_unix();
    egui::Grid::new("object-attributes")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            let attributes = &item.attributes;
            let row = |ui: &mut Ui, key: &str, value: String| {
                ui.label(key);
                ui.add(egui::Label::new(untrusted(&value)).wrap());
                ui.end_row();
            };
            row(ui, "Enabled", yes_no(item.enabled()));
            if let Some(content_type) = &item.content_type {
                row(ui, "Content type", content_type.clone());
            }
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
            if let Some(exportable) = attributes.exportable {
                row(ui, "Exportable", yes_no(exportable));
            }
            if let Some(thumbprint) = item.thumbprint_hex() {
                row(ui, "Thumbprint (SHA-1)", thumbprint);
            }
            if item.deleted_date.is_some() || item.recovery_id.is_some() {
                row(ui, "Deleted", format::timestamp(item.deleted_date));
                row(
                    ui,
                    "Scheduled purge",
                    format::timestamp(item.scheduled_purge_date),
                );
                row(
                    ui,
                    "Recovery id",
                    item.recovery_id.clone().unwrap_or_default(),
                );
            }
        });
    ui.add_space(4.0);
    ui.label(RichText::new(format!("Tags ({})", item.tags.len())).strong());
    if !item.tags.is_empty() {
        egui::Grid::new("object-tags")
            .num_columns(2)
            .show(ui, |ui| {
                for (key, value) in &item.tags {
                    ui.monospace(untrusted(key));
                    ui.monospace(untrusted(value));
                    ui.end_row();
                }
            });
    }
}

/// The key's or certificate's details read for the selected version.
fn kind_details_ui(ui: &mut Ui, state: &AppState) {
    let details = &state.objects.details;
    if details.id.is_none() {
        return;
    }
    ui.separator();
    match (&details.status, &details.details) {
        (LoadStatus::Failed(message), _) => {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
        (_, Some(ObjectDetails::Key(key))) => key_ui(ui, key),
        (_, Some(ObjectDetails::Certificate(certificate))) => certificate_ui(ui, certificate),
        (LoadStatus::Loading, _) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak("reading details…");
            });
        }
        _ => {}
    }
}

fn grid_row(ui: &mut Ui, key: &str, value: impl Into<String>) {
    ui.label(key);
    ui.add(egui::Label::new(untrusted(&value.into())).wrap());
    ui.end_row();
}

fn key_ui(ui: &mut Ui, key: &KeyDetails) {
    ui.label(RichText::new("Key").strong());
    egui::Grid::new("key-details")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            grid_row(ui, "Type", key.key_type.clone());
            if let Some(bits) = key.size_bits {
                grid_row(ui, "Size", format!("{bits} bits"));
            }
            if let Some(curve) = &key.curve {
                grid_row(ui, "Curve", curve.clone());
            }
            grid_row(ui, "Operations", key.operations.join(", "));
        });
}

fn certificate_ui(ui: &mut Ui, certificate: &CertificateDetails) {
    ui.label(RichText::new("Certificate").strong());
    if let Some(error) = &certificate.parse_error {
        ui.colored_label(ui.visuals().warn_fg_color, error);
    }
    let now = format::now_unix();
    egui::Grid::new("certificate-details")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            grid_row(ui, "Subject", certificate.subject.clone());
            grid_row(ui, "Issuer", certificate.issuer.clone());
            grid_row(ui, "SANs", certificate.subject_alternative_names.join(", "));
            grid_row(ui, "Valid from", format::timestamp(certificate.not_before));
            grid_row(ui, "Valid to", format::expiry(certificate.not_after, now).0);
            grid_row(ui, "Serial", certificate.serial_hex.clone());
        });
    if let Some(policy) = &certificate.policy {
        ui.add_space(4.0);
        ui.label(RichText::new("Policy").strong());
        egui::Grid::new("certificate-policy")
            .num_columns(2)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                let text = |value: &Option<String>| value.clone().unwrap_or_default();
                grid_row(ui, "Issuer", text(&policy.issuer_name));
                grid_row(ui, "Subject", text(&policy.subject));
                grid_row(
                    ui,
                    "Validity",
                    policy
                        .validity_months
                        .map(|months| format!("{months} months"))
                        .unwrap_or_default(),
                );
                grid_row(ui, "Key", text(&policy.key));
                grid_row(
                    ui,
                    "Exportable",
                    policy.exportable.map(yes_no).unwrap_or_default(),
                );
                grid_row(
                    ui,
                    "Reuse key",
                    policy.reuse_key.map(yes_no).unwrap_or_default(),
                );
                grid_row(ui, "Content type", text(&policy.content_type));
                grid_row(ui, "Lifetime actions", policy.lifetime_actions.join("; "));
            });
    }
}

/// The bundle JSON for keys and certificates, else the list row's JSON; never a value.
fn raw_json_ui(
    ui: &mut Ui,
    state: &AppState,
    shown: Option<&ObjectItem>,
    intents: &mut Vec<Intent>,
) {
    let label = if state.objects.show_raw_json {
        "Hide raw JSON"
    } else {
        "Show raw JSON"
    };
    if ui
        .button(label)
        .on_hover_text("The JSON Key Vault returned, with any value redacted")
        .clicked()
    {
        intents.push(Intent::Objects(ObjectsIntent::ToggleRawJson));
    }
    if !state.objects.show_raw_json {
        return;
    }
    let json = match (&state.objects.details.raw, shown) {
        (Some(raw), _) => redacted_json(raw),
        (None, Some(item)) => serde_json::to_value(item)
            .map(|value| redacted_json(&value))
            .unwrap_or_default(),
        (None, None) => String::new(),
    };
    // Outside text inside the JSON (a content type, a tag) is escaped like everywhere else.
    let json = crate::untrusted_text::escape_deceptive_keeping_lines(&json);
    let mut text: &str = &json;
    let label = ui.weak("Raw JSON (values redacted)");
    ui.add(
        egui::TextEdit::multiline(&mut text)
            .font(egui::TextStyle::Monospace)
            .desired_width(f32::INFINITY)
            .desired_rows(8),
    )
    .labelled_by(label.id);
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

fn versions_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    if state.objects.versions.id.is_none() {
        return;
    }
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!("Versions ({})", state.objects.versions.items.len())).strong(),
        );
        if state.objects.versions.status.is_loading() {
            ui.spinner();
        }
        if let Some(at) = state.objects.versions.cached_as_of {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "cached, {}",
                    super::format::as_of(at, super::format::now_unix())
                ),
            )
            .on_hover_text("Fetched in an earlier run; replaced when this run's list arrives");
        }
    });
    if let LoadStatus::Failed(message) = &state.objects.versions.status {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
    if ui
        .selectable_label(state.objects.selected_version.is_none(), "Latest")
        .clicked()
    {
        intents.push(Intent::Objects(ObjectsIntent::SelectVersion(None)));
    }
    for version_item in &state.objects.versions.items {
        let Some(version) = version_item.version() else {
            continue;
        };
        let selected = state.objects.selected_version.as_deref() == Some(version.as_str());
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
            intents.push(Intent::Objects(ObjectsIntent::SelectVersion(Some(version))));
        }
    }
}
