//! Access changes in the Access view: under each denied operation its fix (the `az` command, Copy and
//! "Apply fix…"), the checked principal's own grants with "Revoke…", the wait for the data plane after a
//! grant to the signed-in identity, and the dialog that shows an access change before it is made.

use egui::{Context, RichText, Ui};

use super::state::access_changes::{AccessChangesIntent, policy_revocation, role_revocations};
use super::state::{AppState, Intent};
use crate::access::{AccessEvaluation, AccessFix, Operation};

/// A denied operation's fix: the command, Copy, and (unless read-only) Apply.
pub fn fix_ui(
    ui: &mut Ui,
    state: &AppState,
    operation: Operation,
    fix: &AccessFix,
    intents: &mut Vec<Intent>,
) {
    let command = fix.az_command();
    ui.add(egui::Label::new(RichText::new(&command).monospace().small()).wrap());
    ui.horizontal(|ui| {
        if ui
            .small_button(format!("Copy fix for {}", operation.label()))
            .on_hover_text("Copy this az command")
            .clicked()
        {
            intents.push(Intent::CopyText {
                what: "the az command".into(),
                text: command.clone(),
            });
        }
        if !state.changes.read_only
            && ui
                .small_button(format!("Apply fix for {}…", operation.label()))
                .on_hover_text("Make exactly this change (a dialog shows it first)")
                .clicked()
        {
            intents.push(
                AccessChangesIntent::ApplyFix {
                    fix: Box::new(fix.clone()),
                    operation,
                }
                .into(),
            );
        }
    });
}

/// The checked principal's own grants here, each with "Revoke…" (grants through a group are changed in
/// Entra, not here).
pub fn revoke_ui(
    ui: &mut Ui,
    state: &AppState,
    evaluation: &AccessEvaluation,
    intents: &mut Vec<Intent>,
) {
    if state.changes.read_only {
        return;
    }
    let Some(data) = state.access.data.as_deref() else {
        return;
    };
    let mut revocations: Vec<_> = policy_revocation(data, evaluation).into_iter().collect();
    revocations.extend(role_revocations(evaluation));
    if revocations.is_empty() {
        return;
    }
    ui.label(RichText::new("Their own grants here").strong());
    for revocation in revocations {
        ui.horizontal_wrapped(|ui| {
            ui.label(revocation.lines().first().cloned().unwrap_or_default());
            if ui.small_button("Revoke…").clicked() {
                intents.push(AccessChangesIntent::Revoke(Box::new(revocation.clone())).into());
            }
        });
    }
}

/// After a grant to the signed-in identity: how long Key Vault has been asked, and whether it allows it yet.
pub fn waiting_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let Some(waiting) = &state.access_changes.waiting else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        let seconds = waiting.elapsed.as_secs_f32();
        if let Some(failed) = &waiting.failed {
            ui.colored_label(ui.visuals().error_fg_color, failed);
        } else if waiting.allowed {
            ui.label(format!("Key Vault allows {} now (after {seconds:.0} s).", waiting.what));
        } else {
            ui.spinner();
            ui.label(format!(
                "Waiting for Key Vault to allow {}: {seconds:.0} s so far (Azure RBAC changes can take minutes).",
                waiting.what
            ));
        }
        if ui.small_button("Stop waiting").clicked() {
            intents.push(AccessChangesIntent::StopWaiting.into());
        }
    });
}

/// The access change as it will be made, with the `az` equivalent.
pub fn access_change_dialog_ui(ctx: &Context, state: &AppState, intents: &mut Vec<Intent>) {
    let Some(dialog) = &state.access_changes.dialog else {
        return;
    };
    egui::Modal::new(egui::Id::unique("access-change-dialog")).show(ctx, |ui| {
        ui.set_width(600.0);
        ui.heading(&dialog.title);
        ui.add_space(4.0);
        for line in &dialog.lines {
            ui.label(RichText::new(line).monospace());
        }
        ui.add_space(4.0);
        ui.label(RichText::new("Equivalent Azure CLI command").weak());
        ui.horizontal(|ui| {
            ui.add(egui::Label::new(RichText::new(&dialog.az).monospace()).wrap());
            if ui.small_button("Copy").clicked() {
                intents.push(Intent::CopyText {
                    what: "the az command".into(),
                    text: dialog.az.clone(),
                });
            }
        });
        if let crate::worker::access_changes::AccessChange::Revoke(revocation) = &dialog.change {
            let checked = state
                .access
                .evaluation
                .as_ref()
                .map(|evaluation| evaluation.principal.id.as_str());
            let risks: Vec<_> = crate::ui::state::consumers::revocation_risk(revocation, checked)
                .into_iter()
                .collect();
            super::used_by_panel::breaking_ui(ui, state, &risks, intents);
        }
        if let Some(error) = &dialog.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        ui.separator();
        ui.horizontal(|ui| {
            if dialog.sending {
                ui.spinner();
                ui.label("Sending…");
                return;
            }
            let label = match dialog.change {
                crate::worker::access_changes::AccessChange::Grant(_) => "Apply",
                crate::worker::access_changes::AccessChange::Revoke(_) => "Revoke",
            };
            if ui.button(label).clicked() {
                intents.push(AccessChangesIntent::Confirm.into());
            }
            if ui.button("Cancel").clicked() {
                intents.push(AccessChangesIntent::Close.into());
            }
        });
    });
}
