//! Centre panel: the selected vault's secrets as a virtualized table (`ScrollArea::show_rows`): only the rows
//! on screen are laid out, so 5,000 or 100,000 secrets cost the same per frame.

use egui::{Align, Layout, RichText, Sense, Ui, vec2};

use super::format::{self, ExpiryState};
use super::state::{AppState, Intent, LoadStatus};
use crate::access::{NetworkExposure, PermissionModel};

/// Column widths: name takes what is left.
const ENABLED_WIDTH: f32 = 56.0;
const CONTENT_TYPE_WIDTH: f32 = 112.0;
const UPDATED_WIDTH: f32 = 150.0;
const EXPIRES_WIDTH: f32 = 180.0;

pub fn secrets_ui(ui: &mut Ui, state: &AppState, filtered: &[usize], intents: &mut Vec<Intent>) {
    let Some(vault) = state.selected_vault.as_ref() else {
        ui.centered_and_justified(|ui| {
            ui.weak("Select a vault on the left to list its secrets.");
        });
        return;
    };
    let summary = state.selected_vault_summary();
    let list = state.selected_secret_list();
    ui.horizontal(|ui| {
        ui.heading(vault.name());
        if let Some(summary) = summary {
            ui.weak(PermissionModel::of(&summary.properties).label());
            match NetworkExposure::of(&summary.properties) {
                NetworkExposure::Open => {}
                NetworkExposure::Restricted => {
                    ui.colored_label(ui.visuals().warn_fg_color, "firewall: selected networks");
                }
                NetworkExposure::PrivateOnly => {
                    ui.colored_label(ui.visuals().warn_fg_color, "private endpoints only");
                }
            }
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui
                .button("Refresh")
                .on_hover_text("List the secrets again")
                .clicked()
            {
                intents.push(Intent::RefreshVault);
            }
        });
    });
    ui.horizontal(|ui| {
        let mut filter = state.filter.clone();
        let label = ui.label("Filter");
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut filter)
                    .hint_text("part of a secret name")
                    .desired_width(240.0),
            )
            .labelled_by(label.id);
        if response.changed() {
            intents.push(Intent::SetFilter(filter));
        }
        if let Some(list) = list {
            let total = list.items.len();
            let text = if state.filter.trim().is_empty() {
                format!("{total} secrets")
            } else {
                format!("{} of {total} secrets", filtered.len())
            };
            ui.label(text);
            match &list.status {
                LoadStatus::Loading => {
                    ui.spinner();
                    ui.weak("loading…");
                }
                LoadStatus::NotLoaded => {
                    ui.weak("(incomplete: refresh to load)");
                }
                _ => {}
            }
        }
    });
    if let Some(LoadStatus::Failed(message)) = list.map(|list| &list.status) {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
    ui.separator();
    let Some(list) = list else {
        return;
    };
    header_ui(ui);
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let now = format::now_unix();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, filtered.len(), |ui, range| {
            for &index in &filtered[range] {
                let Some(item) = list.items.get(index) else {
                    continue;
                };
                let name = item.name();
                let selected = state.selected_secret.as_deref() == Some(name.as_str());
                let name_width = name_column_width(ui);
                ui.horizontal(|ui| {
                    ui.set_height(row_height);
                    let clicked = ui
                        .allocate_ui_with_layout(
                            vec2(name_width, row_height),
                            Layout::left_to_right(Align::Center),
                            |ui| {
                                ui.set_width(name_width);
                                // The trailing grow atom keeps the name left-aligned in a
                                // full-width, clickable cell.
                                ui.add(
                                    egui::Button::selectable(
                                        selected,
                                        (name.as_str(), egui::Atom::grow()),
                                    )
                                    .truncate()
                                    .min_size(vec2(name_width, row_height)),
                                )
                                .on_hover_text(name.as_str())
                            },
                        )
                        .inner
                        .clicked();
                    if clicked {
                        intents.push(Intent::SelectSecret(name.clone()));
                    }
                    let enabled = item.attributes.enabled.unwrap_or(true);
                    cell(
                        ui,
                        ENABLED_WIDTH,
                        if enabled {
                            RichText::new("yes")
                        } else {
                            RichText::new("no").color(ui.visuals().warn_fg_color)
                        },
                    );
                    cell(
                        ui,
                        CONTENT_TYPE_WIDTH,
                        RichText::new(item.content_type.as_deref().unwrap_or("")),
                    );
                    cell(
                        ui,
                        UPDATED_WIDTH,
                        RichText::new(format::timestamp(item.attributes.updated)),
                    );
                    let (expires, expiry_state) = format::expiry(item.attributes.exp, now);
                    let color = match expiry_state {
                        ExpiryState::Expired => ui.visuals().error_fg_color,
                        ExpiryState::Soon => ui.visuals().warn_fg_color,
                        _ => ui.visuals().text_color(),
                    };
                    cell(ui, EXPIRES_WIDTH, RichText::new(expires).color(color));
                });
            }
        });
}

fn name_column_width(ui: &Ui) -> f32 {
    let spacing = ui.spacing().item_spacing.x * 5.0;
    (ui.available_width()
        - ENABLED_WIDTH
        - CONTENT_TYPE_WIDTH
        - UPDATED_WIDTH
        - EXPIRES_WIDTH
        - spacing)
        .max(120.0)
}

fn cell(ui: &mut Ui, width: f32, text: RichText) {
    ui.allocate_ui_with_layout(
        vec2(width, ui.available_height()),
        Layout::left_to_right(Align::Center),
        |ui| {
            ui.set_width(width);
            ui.add(egui::Label::new(text).truncate().sense(Sense::hover()));
        },
    );
}

fn header_ui(ui: &mut Ui) {
    let color = ui.visuals().strong_text_color();
    let strong = |text: &str| RichText::new(text).strong().color(color);
    let name_width = name_column_width(ui);
    ui.horizontal(|ui| {
        cell(ui, name_width, strong("Name"));
        cell(ui, ENABLED_WIDTH, strong("Enabled"));
        cell(ui, CONTENT_TYPE_WIDTH, strong("Content type"));
        cell(ui, UPDATED_WIDTH, strong("Updated"));
        cell(ui, EXPIRES_WIDTH, strong("Expires"));
    });
}
