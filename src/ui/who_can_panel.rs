//! Access tab, "Who can…": who may perform one operation on the vault (or on the check's target object),
//! each with the path that grants it; granting groups folded into one row with their member count (click
//! to list the members); blocked by deny assignments, PIM-eligible and self-granters apart; saved as CSV
//! or JSON.

use egui::{RichText, Ui};

use super::format::untrusted;
use super::state::{AppState, Intent, LoadStatus, WhoCanIntent, WhoCanState};
use crate::access::who_can::{OperationAccess, PrincipalAccess};
use crate::access::{Operation, Target};

pub fn who_can_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let who = &state.who_can;
    let target = state.access.target();
    ui.heading("Who can…");
    let on = match &target {
        Target::Vault => "this vault".to_owned(),
        Target::Object { object_type, name } => {
            format!("{} {}", object_type.singular(), untrusted(name))
        }
    };
    ui.horizontal_wrapped(|ui| {
        for operation in WhoCanState::operations_for(&target) {
            let label = format!("{} {}", operation.object_type.singular(), operation.name);
            if ui
                .button(&label)
                .on_hover_text(format!("Who may {} on {on}", operation.data_action()))
                .clicked()
            {
                intents.push(Intent::WhoCan(WhoCanIntent::Ask {
                    target: target.clone(),
                    operation: *operation,
                }));
            }
        }
    });
    ui.label(
        RichText::new(format!(
            "On {on} (set \"Check on\" above for one object). Groups are expanded into their members."
        ))
        .weak(),
    );
    match &who.status {
        LoadStatus::Loading => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading assignments, policies and group members…");
            });
        }
        LoadStatus::Failed(message) => {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
        _ => {}
    }
    let Some(answer) = who.answer.as_deref() else {
        return;
    };
    for operation in &answer.operations {
        operation_ui(ui, who, operation, intents);
    }
    if !answer.self_granters.is_empty() {
        ui.label(RichText::new("Can grant themselves access").strong())
            .on_hover_text(
                "They may change the vault's access policies or role assignments at or above it",
            );
        for granter in &answer.self_granters {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{} ({}): {} — {}",
                    untrusted(&granter.name),
                    granter.kind.label(),
                    untrusted(&granter.path.describe()),
                    granter.action
                ),
            );
        }
    }
    for caveat in &answer.caveats {
        ui.colored_label(ui.visuals().warn_fg_color, untrusted(caveat));
    }
    ui.horizontal(|ui| {
        if ui.button("Save as CSV…").clicked() {
            intents.push(Intent::WhoCan(WhoCanIntent::Export { json: false }));
        }
        if ui.button("Save as JSON…").clicked() {
            intents.push(Intent::WhoCan(WhoCanIntent::Export { json: true }));
        }
        match &who.export_status {
            LoadStatus::Loading => {
                ui.spinner();
            }
            LoadStatus::Failed(message) => {
                ui.colored_label(ui.visuals().error_fg_color, message);
            }
            LoadStatus::Loaded => {
                ui.label("Saved.");
            }
            LoadStatus::NotLoaded => {}
        }
    });
}

fn operation_words(operation: Operation) -> String {
    format!("{} {}", operation.object_type.singular(), operation.name)
}

/// Whether the principal's row is left out: a granting group (its own row above stands for it), or a
/// principal whose every path runs through a folded group.
fn hidden_by_fold(
    who: &WhoCanState,
    operation: &OperationAccess,
    principal: &PrincipalAccess,
) -> bool {
    if operation
        .groups
        .iter()
        .any(|group| group.id == principal.id)
    {
        return true;
    }
    let folded: Vec<&str> = operation
        .groups
        .iter()
        .filter(|group| !who.unfolded.contains(&group.id))
        .map(|group| group.name.as_str())
        .collect();
    !principal.paths.is_empty()
        && principal.paths.iter().all(|path| {
            path.via_group
                .as_deref()
                .is_some_and(|group| folded.contains(&group))
        })
}

fn operation_ui(
    ui: &mut Ui,
    who: &WhoCanState,
    operation: &OperationAccess,
    intents: &mut Vec<Intent>,
) {
    ui.label(
        RichText::new(format!(
            "{}: {} allowed, {} blocked, {} eligible",
            operation_words(operation.operation),
            operation.allowed.len(),
            operation.blocked.len(),
            operation.eligible.len()
        ))
        .strong(),
    );
    for group in &operation.groups {
        let open = who.unfolded.contains(&group.id);
        let members = group
            .member_count
            .map_or("members unknown".to_owned(), |count| {
                format!("{count} members")
            });
        let caption = format!(
            "{} group {} ({members}): {}",
            if open { "[-]" } else { "[+]" },
            untrusted(&group.name),
            untrusted(&group.grant)
        );
        if ui
            .selectable_label(open, caption)
            .on_hover_text(if open {
                "Fold its members"
            } else {
                "List its members"
            })
            .clicked()
        {
            intents.push(Intent::WhoCan(WhoCanIntent::ToggleGroup(group.id.clone())));
        }
    }
    egui::Grid::new(("who-can-allowed", operation.operation))
        .striped(true)
        .num_columns(2)
        .show(ui, |ui| {
            for principal in &operation.allowed {
                if hidden_by_fold(who, operation, principal) {
                    continue;
                }
                ui.label(format!(
                    "{} ({})",
                    untrusted(&principal.name),
                    principal.kind.label()
                ));
                let paths: Vec<String> =
                    principal.paths.iter().map(|path| path.describe()).collect();
                ui.label(untrusted(&paths.join("; ")));
                ui.end_row();
            }
        });
    for principal in &operation.blocked {
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!(
                "Blocked: {} ({}) by {}",
                untrusted(&principal.name),
                principal.kind.label(),
                untrusted(&principal.blocked_by.join("; "))
            ),
        );
    }
    for principal in &operation.eligible {
        let paths: Vec<String> = principal.paths.iter().map(|path| path.describe()).collect();
        ui.label(format!(
            "Eligible, not active: {} ({}) — {}",
            untrusted(&principal.name),
            principal.kind.label(),
            untrusted(&paths.join("; "))
        ));
    }
    ui.separator();
}
