//! The local index on screen: its mode in the status bar, each vault's and the tree's age ("as of 3 h
//! ago") while its rows are cached, the banner over a cached list, "Forget this vault", "Index all" with
//! its progress and Cancel, and the sign-out dialog's offer to delete the identity's index.

use egui::{RichText, Ui};

use super::format;
use super::state::vault_index::{ObjectList, VaultContents};
use super::state::{AppState, Intent, LoadStatus, LocalIndexIntent};
use crate::azure::identifiers::VaultUri;

/// "index on" / "index off" in the status bar, with what it means.
pub fn index_mode_ui(ui: &mut Ui, state: &AppState) {
    let (word, detail) = state.local_index.mode.status();
    ui.weak(word).on_hover_text(detail);
}

/// The tree's age while its subscriptions come from the index.
pub fn tree_age_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    if state.tree.subscriptions_cached
        && let Some(as_of) = state.tree.subscriptions_as_of
    {
        ui.weak(format!(
            "Tree from the local index, {}",
            format::as_of(as_of, format::now_unix())
        ))
        .on_hover_text(
            "Subscriptions and vaults as last listed; replaced once this run's listing is whole",
        );
    }
    if let Some((ended, total)) = state.local_index.index_all_progress(&state.tree) {
        ui.horizontal(|ui| {
            ui.add(egui::ProgressBar::new(ended as f32 / total.max(1) as f32).desired_width(110.0));
            ui.weak(format!("Indexing {ended} of {total} vaults"));
            if ui.small_button("Cancel").clicked() {
                intents.push(LocalIndexIntent::CancelIndexAll.into());
            }
        });
    }
}

/// "Index all": every vault the identity can see, loaded once (and so indexed).
pub fn index_all_button_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let running = state.local_index.index_all.is_some();
    if ui
        .add_enabled(!running, egui::Button::new("Index all").small())
        .on_hover_text(
            "Load every vault this identity can see once, under the service's throttling, so Ctrl+K and the \
             expiry calendar cover them all from the next launch on",
        )
        .clicked()
    {
        intents.push(LocalIndexIntent::IndexAll.into());
    }
}

/// The vault's age in the tree while its rows are cached.
pub fn vault_age_ui(ui: &mut Ui, contents: &VaultContents) {
    if let Some(as_of) = contents.cached_as_of() {
        ui.weak(format::as_of(as_of, format::now_unix()))
            .on_hover_text(format!(
                "{} items from the local index, not confirmed in this run yet",
                contents.item_count()
            ));
    }
}

/// The vault row's context menu: "Forget this vault".
pub fn forget_vault_menu(
    response: &egui::Response,
    state: &AppState,
    vault: &VaultUri,
    intents: &mut Vec<Intent>,
) {
    if !state.local_index.mode.is_on() {
        return;
    }
    response.context_menu(|ui| {
        if ui
            .button("Forget this vault")
            .on_hover_text("Delete this vault's part of the local index and put its rows away")
            .clicked()
        {
            intents.push(LocalIndexIntent::ForgetVault(vault.clone()).into());
            ui.close();
        }
    });
}

/// The line over a cached list: how old it is and whether a reload is confirming it.
pub fn cached_list_banner_ui(ui: &mut Ui, list: &ObjectList) {
    if !list.cached {
        return;
    }
    let age = list
        .complete_at
        .map(|at| format::as_of(at, format::now_unix()))
        .unwrap_or_default();
    let state = match &list.status {
        LoadStatus::Loading => "reconciling…".to_owned(),
        LoadStatus::Failed(message) => format!("could not be confirmed: {message}"),
        _ => "not confirmed in this run".to_owned(),
    };
    ui.colored_label(
        ui.visuals().warn_fg_color,
        format!("Cached rows from the local index, {age}: {state}"),
    )
    .on_hover_text(
        "Rows appear, change and disappear once this run's listing arrives whole; values, reveal and copy always ask the service",
    );
}

/// Sign out: keep this identity's local index, or delete it.
pub fn sign_out_dialog_ui(ctx: &egui::Context, state: &AppState, intents: &mut Vec<Intent>) {
    if !state.local_index.sign_out_asked {
        return;
    }
    let indexed = state.tree.vaults.len();
    egui::Window::new("Sign out")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.label(format!(
                "This identity's local index holds the metadata of {indexed} vault(s) (never values)."
            ));
            ui.label(RichText::new("Keep it for the next sign-in, or delete it now?").strong());
            ui.horizontal(|ui| {
                if ui.button("Sign out and delete the index").clicked() {
                    intents.push(LocalIndexIntent::ConfirmSignOut { delete_index: true }.into());
                }
                if ui.button("Sign out and keep it").clicked() {
                    intents.push(LocalIndexIntent::ConfirmSignOut { delete_index: false }.into());
                }
                if ui.button("Cancel").clicked() {
                    intents.push(LocalIndexIntent::CancelSignOut.into());
                }
            });
        });
}
