//! Bottom bar: the signed-in identity (name, UPN, object id, tenant), the cloud, background activity and the
//! latest notice.

use egui::Ui;

use super::state::{AppState, Intent, SessionIntent, SignInState, ThemeChoice};

pub fn status_bar_ui(ui: &mut Ui, state: &AppState, cloud_label: &str, intents: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        match &state.session.sign_in {
            SignInState::SignedIn(identity) => {
                let mut text = format!("Signed in as {}", identity.label());
                if let Some(upn) = &identity.upn
                    && identity.name.is_some()
                {
                    text.push_str(&format!(" ({upn})"));
                }
                ui.label(text).on_hover_text(format!(
                    "object id {}\ntenant {}",
                    identity.oid.as_deref().unwrap_or("?"),
                    identity.tid.as_deref().unwrap_or("?")
                ));
                if let Some(object_id) = &identity.oid {
                    ui.weak(format!("object id {object_id}"));
                }
                if let Some(tenant) = &identity.tid {
                    ui.weak(format!("tenant {tenant}"));
                }
                if let Some(why) = &state.session.not_remembered {
                    ui.weak("not remembered")
                        .on_hover_text(format!("The next launch asks again: {why}."));
                }
                if ui
                    .small_button("Sign out")
                    .on_hover_text(
                        "Sign out (forgetting a saved sign-in) and choose another identity",
                    )
                    .clicked()
                {
                    intents.push(Intent::Session(SessionIntent::SignOut));
                }
            }
            SignInState::InProgress { .. } => {
                ui.spinner();
                if state.local_index.showing_unconfirmed() {
                    ui.label(
                        "Signing in… (showing the local index: nothing here is confirmed yet)",
                    );
                } else {
                    ui.label("Signing in…");
                }
            }
            SignInState::Failed(_) => {
                ui.colored_label(ui.visuals().error_fg_color, "Not signed in");
            }
            SignInState::NotStarted => {
                ui.label("Not signed in");
            }
        }
        ui.separator();
        theme_switch_ui(ui, intents);
        ui.weak(cloud_label);
        if state.changes.read_only {
            ui.colored_label(ui.visuals().warn_fg_color, "read-only");
        }
        super::local_index_panel::index_mode_ui(ui, state);
        let changes = state.changes.log.len();
        if ui
            .small_button(format!("Change log ({changes})"))
            .on_hover_text("This session's changes (never a value)")
            .clicked()
        {
            intents.push(super::state::ChangesIntent::ToggleLog.into());
        }
        let busy = state.requests_in_flight();
        if busy > 0 {
            ui.separator();
            ui.spinner();
            ui.weak(format!("{busy} request(s)"));
        }
        if let Some(notice) = &state.notice() {
            ui.separator();
            if notice.is_error {
                ui.colored_label(ui.visuals().error_fg_color, &notice.text);
            } else {
                ui.label(&notice.text);
            }
        }
    });
}

/// "Light theme" in the dark, "Dark theme" in the light.
fn theme_switch_ui(ui: &mut Ui, intents: &mut Vec<Intent>) {
    let dark = ui.visuals().dark_mode;
    let (label, theme) = if dark {
        ("Light theme", ThemeChoice::Light)
    } else {
        ("Dark theme", ThemeChoice::Dark)
    };
    if ui
        .small_button(label)
        .on_hover_text("Switch between the dark and light themes (remembered)")
        .clicked()
    {
        intents.push(Intent::SetTheme(theme));
    }
}
