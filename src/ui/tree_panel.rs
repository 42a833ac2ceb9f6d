//! Left panel: open by URI, pinned and recent vaults, subscriptions → vaults (each with its load state:
//! queued, loading with a count, loaded with its age, or the error), vaults opened by URI, and "Load all".

use egui::{RichText, Ui};

use super::format;
use super::state::bookmarks::VaultBookmarks;
use super::state::{AppState, Intent, LoadStatus, TreeIntent};
use crate::access::PermissionModel;
use crate::azure::identifiers::VaultUri;

pub fn tree_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    open_uri_ui(ui, state, intents);
    ui.separator();
    ui.horizontal(|ui| {
        ui.heading("Vaults");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .small_button("Reload")
                .on_hover_text("Reload subscriptions and vaults")
                .clicked()
            {
                intents.push(Intent::Tree(TreeIntent::RefreshSubscriptions));
            }
            if state.local_index.mode.is_on() {
                super::local_index_panel::index_all_button_ui(ui, state, intents);
            } else if ui
                .small_button("Load all")
                .on_hover_text(
                    "Load every vault's secrets, keys and certificates (many at once, fewer when the service throttles) for Ctrl+K search; \
                     when all are loaded, load them all again",
                )
                .clicked()
            {
                intents.push(Intent::Tree(TreeIntent::LoadAllVaults));
            }
        });
    });
    super::local_index_panel::tree_age_ui(ui, state, intents);
    let (loading, loaded) = state.tree.load_progress();
    if loading > 0 {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.weak(format!("{loading} loading, {loaded} loaded"));
        });
    }
    ui.separator();
    load_status_ui(
        ui,
        &state.tree.subscriptions_status,
        state.tree.subscriptions.is_empty(),
        "Loading subscriptions…",
        "No subscriptions are visible to this identity.",
    );
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            bookmarks_ui(ui, state, intents);
            subscriptions_ui(ui, state, intents);
            if !state.tree.opened_vaults.is_empty() {
                egui::CollapsingHeader::new(RichText::new("Opened by URI").strong())
                    .id_salt("opened-by-uri")
                    .default_open(true)
                    .show(ui, |ui| {
                        for vault in &state.tree.opened_vaults {
                            vault_row_ui(ui, state, vault, vault.name(), intents);
                        }
                    });
            }
        });
}

fn open_uri_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let label = ui.label("Open URI");
    let mut text = state.tree.uri_input.clone();
    let response = ui
        .add(
            egui::TextEdit::singleline(&mut text)
                .hint_text("https://…vault.azure.net/secrets/…")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id)
        .on_hover_text(
            "Paste a vault, secret, key or certificate URI (versioned or not) and press Enter; \
             works for vaults ARM does not list for you",
        );
    if response.changed() {
        intents.push(Intent::Tree(TreeIntent::SetUriInput(text.clone())));
    }
    if response.lost_focus()
        && ui.input(|input| input.key_pressed(egui::Key::Enter))
        && !text.trim().is_empty()
    {
        intents.push(Intent::Tree(TreeIntent::OpenUri(text)));
    }
}

/// Pinned (open) and Recent (folded) vaults. Both headers are always there, so the tree below never
/// shifts under the pointer when the first vault clicked becomes a recent one.
fn bookmarks_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    // Pinned and recent rows carry a mark (from the default font) so that a vault's name names one control.
    for (title, list, open, prefix, empty) in [
        (
            "Pinned",
            &state.tree.bookmarks.pinned,
            true,
            "» ",
            "Pin a vault to keep it here",
        ),
        (
            "Recent",
            &state.tree.bookmarks.recent,
            false,
            "· ",
            "Vaults you open appear here",
        ),
    ] {
        let vaults = VaultBookmarks::uris(list);
        egui::CollapsingHeader::new(RichText::new(format!("{title} ({})", vaults.len())).strong())
            .id_salt(title)
            .default_open(open)
            .show(ui, |ui| {
                if vaults.is_empty() {
                    ui.weak(empty);
                }
                for vault in &vaults {
                    let label = format!("{prefix}{}", vault.name());
                    vault_row_ui(ui, state, vault, &label, intents).on_hover_text(vault.as_str());
                }
            });
    }
}

fn subscriptions_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let spans_tenants = state.tree.spans_tenants();
    for node in &state.tree.subscriptions {
        let mut title = format!(
            "{}  ({})",
            node.subscription.display_name,
            node.vaults.len()
        );
        let tenant_name = |tenant: &str| {
            state
                .tree
                .tenant_name(tenant)
                .unwrap_or_else(|| tenant.to_owned())
        };
        if spans_tenants {
            title.push_str(&format!(
                "  · {}",
                tenant_name(&node.subscription.tenant_id)
            ));
        }
        let mut hover = format!(
            "Subscription {}",
            super::format::untrusted(&node.subscription.subscription_id)
        );
        if node.subscription.is_delegated() {
            title.push_str("  · delegated");
            let managing = node
                .subscription
                .listed_in_tenant
                .as_deref()
                .map(tenant_name)
                .unwrap_or_default();
            let managing = super::format::untrusted(&managing);
            hover.push_str(&format!(
                "\nDelegated to {managing} through Azure Lighthouse: read with {managing}'s token"
            ));
        }
        let title = super::format::untrusted(&title).into_owned();
        let header = egui::CollapsingHeader::new(RichText::new(title).strong())
            .id_salt(&node.subscription.subscription_id)
            .default_open(true)
            .show(ui, |ui| {
                load_status_ui(
                    ui,
                    &node.vaults_status,
                    node.vaults.is_empty(),
                    "Loading vaults…",
                    "No key vaults",
                );
                for vault in &node.vaults {
                    let model = PermissionModel::of(&vault.properties).label();
                    let hover = format!(
                        "{}\nresource group {}\n{}, {model}",
                        vault.uri,
                        vault.resource_group.as_deref().unwrap_or("?"),
                        vault.location
                    );
                    vault_row_ui(ui, state, &vault.uri, &vault.name, intents).on_hover_text(hover);
                }
            });
        // Each part escaped where it was added, so the line break stays a line break.
        header.header_response.on_hover_text(hover);
    }
}

/// A list's state in place: a spinner while it loads (and nothing shows yet), the error, or that it is
/// empty.
fn load_status_ui(ui: &mut Ui, status: &LoadStatus, empty: bool, loading: &str, nothing: &str) {
    match status {
        LoadStatus::Loading if empty => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(loading);
            });
        }
        LoadStatus::Failed(message) => {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
        LoadStatus::Loaded if empty => {
            ui.weak(nothing);
        }
        _ => {}
    }
}

/// One vault: its name (click to open) and its load state.
fn vault_row_ui(
    ui: &mut Ui,
    state: &AppState,
    vault: &VaultUri,
    name: &str,
    intents: &mut Vec<Intent>,
) -> egui::Response {
    let selected = state.selected_vault() == Some(vault);
    // A fleet's tree holds thousands of rows: one out of sight takes its place without being laid out.
    let height_id = egui::Id::unique("vault-row-height");
    let height = ui
        .data(|data| data.get_temp::<f32>(height_id))
        .unwrap_or(ui.spacing().interact_size.y);
    let place =
        egui::Rect::from_min_size(ui.cursor().min, egui::vec2(ui.available_width(), height));
    if !ui.is_rect_visible(place) {
        return ui.allocate_rect(place, egui::Sense::hover());
    }
    let row = ui.horizontal(|ui| {
        let response = ui.selectable_label(selected, name);
        if response.clicked() {
            intents.push(Intent::Tree(TreeIntent::SelectVault(vault.clone())));
        }
        super::local_index_panel::forget_vault_menu(&response, state, vault, intents);
        if let Some(contents) = state.tree.vaults.get(vault) {
            let errors = contents.list_errors();
            match &contents.status {
                LoadStatus::Loading if !contents.started => {
                    ui.weak("queued");
                }
                LoadStatus::Loading => {
                    ui.spinner();
                    ui.weak(contents.item_count().to_string());
                }
                LoadStatus::Failed(message) => {
                    let word = contents.failure.unwrap_or("failed");
                    ui.colored_label(ui.visuals().error_fg_color, word)
                        .on_hover_text(message);
                }
                _ => {
                    super::local_index_panel::vault_age_ui(ui, contents);
                    if let Some(at) = contents.loaded_at {
                        ui.weak(format!("{} items", contents.item_count()))
                            .on_hover_text(format!("loaded {}", format::age(at.elapsed())));
                    }
                    if !errors.is_empty() {
                        ui.colored_label(ui.visuals().warn_fg_color, "(!)")
                            .on_hover_text(errors.join("\n"));
                    }
                }
            }
        }
        response
    });
    let drawn = row.response.rect.height();
    ui.data_mut(|data| data.insert_temp(height_id, drawn));
    row.inner
}
