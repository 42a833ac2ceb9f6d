//! "Used by" in a secret's details: the apps whose settings reference it, each with the identity the
//! reference resolves with, whether that identity may `get` it now and why, the pin, and the platform's
//! last resolution status (flagged where the two disagree); plus the apps whose settings could not be read.

use egui::{RichText, Ui};

use super::format::untrusted;
use super::state::{AppState, ConsumersIntent, Intent, LoadStatus};
use crate::access::consumers::{ConsumerAccess, SecretConsumer};

pub fn used_by_ui(ui: &mut Ui, state: &AppState, secret_name: &str, intents: &mut Vec<Intent>) {
    let arm_id = state
        .selected_vault_summary()
        .and_then(|vault| vault.arm_id.clone());
    let consumers = &state.consumers;
    let current = consumers.vault_arm_id.is_some() && consumers.vault_arm_id == arm_id;
    ui.horizontal(|ui| {
        ui.strong("Used by");
        if current && !consumers.status.is_loading() && ui.small_button("Refresh").clicked() {
            intents.push(ConsumersIntent::Refresh.into());
        }
    });
    if arm_id.is_none() {
        ui.weak("ARM does not list this vault for you, so the apps that use it cannot be found.");
        return;
    }
    if !current || consumers.status == LoadStatus::NotLoaded {
        intents.push(ConsumersIntent::Load.into());
    }
    if let LoadStatus::Failed(message) = &consumers.status {
        ui.colored_label(ui.visuals().error_fg_color, message);
        if ui.small_button("Try again").clicked() {
            intents.push(ConsumersIntent::Refresh.into());
        }
        return;
    }
    let Some(answer) = consumers.for_vault(arm_id.as_deref()) else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.weak("finding the App Service and Function apps that reference this vault…");
        });
        return;
    };
    let found: Vec<&SecretConsumer> = answer.of_secret(secret_name).collect();
    if found.is_empty() {
        ui.weak(format!(
            "No app setting or connection string references this secret ({} apps in {} subscriptions looked at).",
            answer.apps_seen, answer.subscriptions_seen
        ));
    }
    for consumer in found {
        consumer_ui(ui, consumer);
    }
    if !answer.unread_apps.is_empty() {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "{} app(s) not checked: their settings cannot be read",
                answer.unread_apps.len()
            ),
        );
        for app in &answer.unread_apps {
            ui.label(format!(
                "  {} ({}): {}",
                untrusted(&app.app_name),
                app.app_kind,
                app.why
            ));
        }
    }
    for gap in &answer.gaps {
        ui.colored_label(ui.visuals().warn_fg_color, gap);
    }
}

fn consumer_ui(ui: &mut Ui, consumer: &SecretConsumer) {
    ui.group(|ui| {
        ui.label(RichText::new(untrusted(&consumer.where_label())).strong());
        ui.label(format!(
            "Resolves with its {}; {}",
            consumer.identity.label,
            consumer.version_label()
        ));
        if consumer.version.is_some() {
            ui.weak("Pinned: it breaks when that version is disabled, and does not follow new versions.");
        }
        let color = match consumer.access {
            ConsumerAccess::Allowed { .. } => super::format::allowed_color(ui),
            ConsumerAccess::Denied { .. } => ui.visuals().error_fg_color,
            ConsumerAccess::Unknown { .. } => ui.visuals().warn_fg_color,
        };
        ui.colored_label(color, untrusted(&consumer.access.sentence()));
        match &consumer.platform {
            Some(platform) => {
                let mut line = format!("Platform's last resolution: {}", platform.status);
                if let Some(details) = &platform.details {
                    line.push_str(&format!(" ({})", untrusted(details)));
                }
                ui.label(line);
            }
            None => {
                ui.weak("Platform's resolution status: not readable");
            }
        }
        if let Some(disagreement) = consumer.disagreement() {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Disagree: {disagreement}"));
        }
    });
}

/// Before a delete, a disable or a revocation: the apps it would break (loading them when not known yet).
pub fn breaking_ui(
    ui: &mut Ui,
    state: &AppState,
    risks: &[crate::access::consumers::RiskyChange<'_>],
    intents: &mut Vec<Intent>,
) {
    if risks.is_empty() {
        return;
    }
    let arm_id = state
        .selected_vault_summary()
        .and_then(|vault| vault.arm_id.clone());
    if arm_id.is_none() {
        return;
    }
    let consumers = &state.consumers;
    if consumers.vault_arm_id != arm_id || consumers.status == LoadStatus::NotLoaded {
        intents.push(ConsumersIntent::Load.into());
    }
    ui.add_space(4.0);
    match consumers.warnings(arm_id.as_deref(), risks) {
        Some(lines) if lines.is_empty() => {
            ui.weak("No app setting or connection string that reads it would break.");
        }
        Some(lines) => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                RichText::new("Apps that would break").strong(),
            );
            for line in lines {
                ui.colored_label(ui.visuals().warn_fg_color, untrusted(&line));
            }
        }
        None => match &consumers.status {
            LoadStatus::Failed(message) => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Which apps use it could not be found: {message}"),
                );
            }
            _ => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.weak("checking which apps read it…");
                });
            }
        },
    }
}
