//! Left panel: subscriptions → vaults, with loading spinners and errors in place.

use egui::{RichText, Ui};

use super::state::{AppState, Intent, LoadStatus};
use crate::access::PermissionModel;

pub fn tree_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        ui.heading("Vaults");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .small_button("Reload")
                .on_hover_text("Reload subscriptions and vaults")
                .clicked()
            {
                intents.push(Intent::RefreshSubscriptions);
            }
        });
    });
    ui.separator();
    match &state.subscriptions_status {
        LoadStatus::Loading if state.subscriptions.is_empty() => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Loading subscriptions…");
            });
        }
        LoadStatus::Failed(message) => {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
        LoadStatus::Loaded if state.subscriptions.is_empty() => {
            ui.weak("No subscriptions are visible to this identity.");
        }
        _ => {}
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let spans_tenants = state.spans_tenants();
            for node in &state.subscriptions {
                let mut title = format!(
                    "{}  ({})",
                    node.subscription.display_name,
                    node.vaults.len()
                );
                if spans_tenants {
                    let tenant = state
                        .tenant_name(&node.subscription.tenant_id)
                        .unwrap_or_else(|| node.subscription.tenant_id.clone());
                    title.push_str(&format!("  · {tenant}"));
                }
                let header = egui::CollapsingHeader::new(RichText::new(title).strong())
                    .id_salt(&node.subscription.subscription_id)
                    .default_open(true)
                    .show(ui, |ui| {
                        match &node.vaults_status {
                            LoadStatus::Loading => {
                                ui.horizontal(|ui| {
                                    ui.spinner();
                                    ui.label("Loading vaults…");
                                });
                            }
                            LoadStatus::Failed(message) => {
                                ui.colored_label(ui.visuals().error_fg_color, message);
                            }
                            LoadStatus::Loaded if node.vaults.is_empty() => {
                                ui.weak("No key vaults");
                            }
                            _ => {}
                        }
                        for vault in &node.vaults {
                            let selected = state.selected_vault.as_ref() == Some(&vault.uri);
                            let response = ui.selectable_label(selected, &vault.name);
                            let model = PermissionModel::of(&vault.properties).label();
                            let response = response.on_hover_text(format!(
                                "{}\nresource group {}\n{}, {model}",
                                vault.uri,
                                vault.resource_group.as_deref().unwrap_or("?"),
                                vault.location
                            ));
                            if response.clicked() {
                                intents.push(Intent::SelectVault(vault.uri.clone()));
                            }
                        }
                    });
                header.header_response.on_hover_text(format!(
                    "Subscription {}",
                    node.subscription.subscription_id
                ));
            }
        });
}
