//! Centre panel, Access tab: the vault's permission model and network rules, a principal check with every
//! operation explained (and a copyable least-privilege fix), who can (`who_can_panel.rs`), the access
//! policies, and the role and deny assignments at, above and below the vault.

use egui::{RichText, Ui};

use super::state::{AccessIntent, AccessState, AppState, Intent, LoadStatus};
use crate::access::{
    AccessEvaluation, NetworkExposure, ObjectType, PermissionModel, ScopeLevel, VaultAccessData,
};
use crate::azure::access_models::PrincipalKind;
use crate::worker::PrincipalRef;

pub fn access_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let access = &state.access;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            match &access.data_status {
                LoadStatus::Loading if access.data.is_none() => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Reading access policies, role and deny assignments…");
                    });
                }
                LoadStatus::Failed(message) => {
                    ui.colored_label(ui.visuals().error_fg_color, message);
                    if ui.button("Try again").clicked() {
                        intents.push(Intent::Access(AccessIntent::Refresh));
                    }
                }
                _ => {}
            }
            if let Some(data) = access.data.as_deref() {
                summary_ui(ui, data, intents);
                ui.separator();
            }
            check_ui(ui, state, intents);
            ui.separator();
            super::who_can_panel::who_can_ui(ui, state, intents);
            if let Some(data) = access.data.as_deref() {
                ui.separator();
                policies_ui(ui, data);
                ui.separator();
                assignments_ui(ui, data);
            }
        });
}

fn summary_ui(ui: &mut Ui, data: &VaultAccessData, intents: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        let model = data.model.map_or("unknown", PermissionModel::label);
        ui.label(RichText::new(format!("Permission model: {model}")).strong());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Reload")
                .on_hover_text("Read the policies and assignments again")
                .clicked()
            {
                intents.push(Intent::Access(AccessIntent::Refresh));
            }
        });
    });
    let network = match data.network {
        Some(NetworkExposure::Open) | None => "Network: reachable from all networks".to_owned(),
        Some(NetworkExposure::Restricted) => {
            "Network: firewall denies by default (selected networks only)".to_owned()
        }
        Some(NetworkExposure::PrivateOnly) => {
            "Network: public access disabled (private endpoints only)".to_owned()
        }
    };
    ui.label(network);
    for gap in &data.gaps {
        ui.colored_label(ui.visuals().warn_fg_color, gap);
    }
}

fn check_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let access = &state.access;
    ui.heading("Check a principal");
    principal_search_ui(ui, access, intents);
    target_ui(ui, access, intents);
    match &access.check_status {
        LoadStatus::Loading => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Evaluating…");
            });
        }
        LoadStatus::Failed(message) => {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
        _ => {}
    }
    super::access_change_panel::waiting_ui(ui, state, intents);
    if let Some(evaluation) = access.evaluation.as_deref() {
        evaluation_ui(ui, state, evaluation, intents);
    }
}

/// "Check my access", the directory search with its results, and the object or client id field.
fn principal_search_ui(ui: &mut Ui, access: &AccessState, intents: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        if ui
            .button("Check my access")
            .on_hover_text("Evaluate the signed-in identity")
            .clicked()
        {
            intents.push(Intent::Access(AccessIntent::Check(PrincipalRef::Me)));
        }
        let label = ui.label("Find");
        let mut search = access.search_text.clone();
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut search)
                    .hint_text("user, group, app or managed identity")
                    .desired_width(220.0),
            )
            .labelled_by(label.id);
        if response.changed() {
            intents.push(Intent::Access(AccessIntent::SearchPrincipals(search)));
        }
        if access.search_status.is_loading() {
            ui.spinner();
        }
    });
    if let LoadStatus::Failed(message) = &access.search_status {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
    if !access.search_results.is_empty() {
        ui.horizontal_wrapped(|ui| {
            for object in &access.search_results {
                let caption = format!("{} ({})", object.name(), object.kind().label());
                if ui
                    .button(caption)
                    .on_hover_text(format!("Object id {}", object.id))
                    .clicked()
                {
                    intents.push(Intent::Access(AccessIntent::Check(PrincipalRef::Id(
                        object.id.clone(),
                    ))));
                }
            }
        });
    } else if access.search_status == LoadStatus::Loaded {
        ui.weak("Nobody in the directory matches.");
    }
    ui.horizontal(|ui| {
        let label = ui.label("Object or client id");
        let mut pasted = access.pasted_id.clone();
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut pasted)
                    .hint_text("00000000-0000-0000-0000-000000000000")
                    .desired_width(290.0),
            )
            .labelled_by(label.id);
        if response.changed() {
            intents.push(Intent::Access(AccessIntent::SetPastedId(pasted.clone())));
        }
        let submitted =
            response.lost_focus() && ui.input(|input| input.key_pressed(egui::Key::Enter));
        if (ui.button("Check id").clicked() || submitted) && !pasted.trim().is_empty() {
            intents.push(Intent::Access(AccessIntent::Check(PrincipalRef::Id(
                pasted.trim().to_owned(),
            ))));
        }
    });
}

fn target_ui(ui: &mut Ui, access: &AccessState, intents: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        let label = ui.label("Check on");
        let mut object_type = access.target_type;
        let caption = object_type.map_or("the whole vault", ObjectType::singular);
        egui::ComboBox::from_id_salt("access-target-type")
            .selected_text(caption)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut object_type, None, "the whole vault");
                for kind in ObjectType::ALL {
                    ui.selectable_value(&mut object_type, Some(kind), kind.singular());
                }
            })
            .response
            .labelled_by(label.id);
        let mut name = access.target_name.clone();
        let mut changed = object_type != access.target_type;
        if object_type.is_some() {
            let label = ui.label("named");
            changed |= ui
                .add(egui::TextEdit::singleline(&mut name).desired_width(200.0))
                .labelled_by(label.id)
                .changed();
        }
        if changed {
            intents.push(Intent::Access(AccessIntent::SetTarget {
                object_type,
                name,
            }));
        }
    });
}

fn evaluation_ui(
    ui: &mut Ui,
    state: &AppState,
    evaluation: &AccessEvaluation,
    intents: &mut Vec<Intent>,
) {
    let access = &state.access;
    let principal_name = evaluation.principal_name();
    ui.add_space(6.0);
    ui.label(
        RichText::new(format!(
            "{principal_name} ({}, {}) on {}",
            evaluation.principal.kind().label(),
            evaluation.principal.id,
            match &evaluation.target {
                crate::access::Target::Vault => "the whole vault".to_owned(),
                crate::access::Target::Object { object_type, name } =>
                    format!("{} {name}", object_type.singular()),
            }
        ))
        .strong(),
    );
    for caveat in &evaluation.caveats {
        ui.colored_label(ui.visuals().warn_fg_color, caveat);
    }
    super::access_change_panel::revoke_ui(ui, state, evaluation, intents);
    for object_type in ObjectType::ALL {
        let highlighted = access
            .highlight
            .as_ref()
            .is_some_and(|highlight| highlight.object_type == object_type);
        egui::CollapsingHeader::new(format!(
            "{}: {}",
            object_type.title(),
            evaluation.summary(object_type)
        ))
        .id_salt(("verdicts", object_type))
        .default_open(object_type == ObjectType::Secret || highlighted)
        .show(ui, |ui| {
            egui::Grid::new(("verdict-grid", object_type))
                .num_columns(3)
                .striped(true)
                .spacing([12.0, 4.0])
                .show(ui, |ui| {
                    for verdict in evaluation
                        .verdicts
                        .iter()
                        .filter(|verdict| verdict.operation.object_type == object_type)
                    {
                        verdict_row_ui(ui, state, verdict, &principal_name, intents);
                        ui.end_row();
                    }
                });
        });
    }
}

/// One operation's verdict: its name (underlined when a 403 pointed at it), allowed or denied, the
/// explanation with notes, and the fix with its copy button.
fn verdict_row_ui(
    ui: &mut Ui,
    state: &AppState,
    verdict: &crate::access::Verdict,
    principal_name: &str,
    intents: &mut Vec<Intent>,
) {
    let access = &state.access;
    let object_type = verdict.operation.object_type;
    let is_highlight = access.highlight.as_ref().is_some_and(|highlight| {
        highlight.object_type == object_type && highlight.permission == verdict.operation.name
    });
    let name = RichText::new(verdict.operation.label()).monospace();
    ui.label(if is_highlight {
        name.strong().underline()
    } else {
        name
    });
    if verdict.allowed {
        ui.colored_label(super::format::allowed_color(ui), "Allowed");
    } else {
        ui.colored_label(ui.visuals().error_fg_color, "Denied");
    }
    ui.vertical(|ui| {
        ui.label(verdict.explanation(principal_name));
        for note in &verdict.notes {
            ui.weak(note);
        }
        if let Some(fix) = &verdict.fix {
            super::access_change_panel::fix_ui(ui, state, verdict.operation, fix, intents);
        }
    });
}

fn policies_ui(ui: &mut Ui, data: &VaultAccessData) {
    let counted = data.model == Some(PermissionModel::AccessPolicies);
    ui.heading(format!("Access policies ({})", data.access_policies.len()));
    if !counted && !data.access_policies.is_empty() {
        ui.weak("This vault uses Azure RBAC: these policies are kept but not enforced.");
    }
    if data.access_policies.is_empty() {
        ui.weak("None.");
        return;
    }
    egui::Grid::new("policies-grid")
        .num_columns(5)
        .striped(true)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            for header in ["Principal", "Kind", "Secrets", "Keys", "Certificates"] {
                ui.label(RichText::new(header).strong());
            }
            ui.end_row();
            for policy in &data.access_policies {
                let name = data.principal_name(&policy.object_id);
                let mut caption = name;
                if let Some(app) = policy
                    .application_id
                    .as_deref()
                    .filter(|app| !app.is_empty())
                {
                    caption.push_str(&format!(" (through app {app})"));
                }
                ui.label(caption).on_hover_text(&policy.object_id);
                ui.label(data.principal_kind(&policy.object_id).label());
                for permissions in [
                    &policy.permissions.secrets,
                    &policy.permissions.keys,
                    &policy.permissions.certificates,
                ] {
                    ui.label(if permissions.is_empty() {
                        "-".to_owned()
                    } else {
                        permissions.join(", ")
                    });
                }
                ui.end_row();
            }
        });
}

fn assignments_ui(ui: &mut Ui, data: &VaultAccessData) {
    let related: Vec<_> = data
        .role_assignments
        .iter()
        .map(|assignment| (data.scope_level(&assignment.properties.scope), assignment))
        .filter(|(level, _)| !matches!(level, ScopeLevel::Elsewhere(_)))
        .collect();
    ui.heading(format!("Role assignments ({})", related.len()));
    if data.model == Some(PermissionModel::AccessPolicies) {
        ui.weak("This vault uses access policies: roles here govern management (ARM), not secrets, keys or certificates.");
    }
    type BelongsTo = fn(&ScopeLevel) -> bool;
    let groups: [(&str, BelongsTo); 3] = [
        ("At this vault", |level| matches!(level, ScopeLevel::Vault)),
        ("Inherited", |level| {
            matches!(
                level,
                ScopeLevel::ManagementGroup(_)
                    | ScopeLevel::Subscription(_)
                    | ScopeLevel::ResourceGroup(_)
            )
        }),
        ("On single objects", |level| {
            matches!(level, ScopeLevel::Object { .. })
        }),
    ];
    for (title, belongs) in groups {
        let rows: Vec<_> = related.iter().filter(|(level, _)| belongs(level)).collect();
        ui.label(RichText::new(format!("{title} ({})", rows.len())).strong());
        if rows.is_empty() {
            continue;
        }
        egui::Grid::new(("assignments-grid", title))
            .num_columns(4)
            .striped(true)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                for (level, assignment) in rows {
                    let role = data.role(&assignment.role_guid()).map_or_else(
                        || assignment.role_guid(),
                        |role| role.properties.role_name.clone(),
                    );
                    ui.label(super::format::untrusted(&role));
                    ui.label(super::format::untrusted(
                        &data.principal_name(&assignment.properties.principal_id),
                    ))
                    .on_hover_text(&assignment.properties.principal_id);
                    let kind = match data.principal_kind(&assignment.properties.principal_id) {
                        PrincipalKind::Unknown => PrincipalKind::from_assignment_type(
                            assignment.properties.principal_type.as_deref(),
                        ),
                        known => known,
                    };
                    ui.label(kind.label());
                    ui.label(level.describe())
                        .on_hover_text(&assignment.properties.scope);
                    ui.end_row();
                }
            });
    }
    deny_assignments_ui(ui, data);
}

/// The deny assignments at or above the vault: what each blocks, for whom, where.
fn deny_assignments_ui(ui: &mut Ui, data: &VaultAccessData) {
    match &data.deny_assignments {
        None => {
            ui.weak("Deny assignments: could not be read.");
        }
        Some(denies) => {
            ui.label(RichText::new(format!("Deny assignments ({})", denies.len())).strong());
            for deny in denies {
                let principals: Vec<String> = deny
                    .properties
                    .principals
                    .iter()
                    .map(|principal| {
                        if principal.id == crate::azure::access_models::EVERYONE_PRINCIPAL_ID {
                            "everyone".to_owned()
                        } else {
                            data.principal_name(&principal.id)
                        }
                    })
                    .collect();
                let blocked: Vec<&str> = deny
                    .properties
                    .permissions
                    .iter()
                    .flat_map(|block| block.data_actions.iter().chain(&block.actions))
                    .map(String::as_str)
                    .collect();
                ui.label(format!(
                    "{}: blocks {} for {} at {}",
                    deny.properties.deny_assignment_name,
                    blocked.join(", "),
                    principals.join(", "),
                    data.scope_level(&deny.properties.scope).describe()
                ));
            }
        }
    }
}
