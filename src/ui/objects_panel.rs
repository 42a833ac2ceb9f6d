//! Centre panel: the selected vault's secrets, keys, certificates and deleted items as a virtualized table
//! (`ScrollArea::show_rows`: only the rows on screen are laid out, so 5,000 or 100,000 rows cost the same
//! per frame), with a name filter, quick filters, load status and the keyboard cursor.

use egui::{Align, Layout, RichText, Sense, Ui, vec2};

use super::format::{self, ExpiryState};
use super::state::vault_index::QuickFilters;
use super::state::{AppState, Intent, LoadStatus, ObjectsIntent, TreeIntent};
use crate::access::{NetworkExposure, PermissionModel};
use crate::azure::identifiers::ObjectKind;
use crate::azure::models::{ListKind, ObjectItem};

/// Column widths: name takes what is left.
const ENABLED_WIDTH: f32 = 56.0;
const THIRD_WIDTH: f32 = 120.0;
const DATE_WIDTH: f32 = 84.0;
const EXPIRES_WIDTH: f32 = 176.0;

pub fn objects_ui(ui: &mut Ui, state: &AppState, filtered: &[usize], intents: &mut Vec<Intent>) {
    let Some(vault) = state.selected_vault() else {
        ui.centered_and_justified(|ui| {
            ui.weak(
                "Select a vault on the left, paste a URI, or press Ctrl+K to search loaded vaults.",
            );
        });
        return;
    };
    let contents = state.selected_contents();
    vault_header_ui(ui, state, vault, intents);
    list_tabs_ui(ui, state, intents);
    let list = contents.map(|contents| contents.list(state.objects.selected_list));
    filter_row_ui(ui, state, filtered, intents);
    super::change_actions::list_actions_ui(ui, state, intents);
    if let Some(LoadStatus::Failed(message)) = list.map(|list| &list.status) {
        ui.colored_label(ui.visuals().error_fg_color, message);
        if list.is_some_and(|list| !list.is_empty()) {
            ui.weak("Showing what was loaded before.");
        }
    }
    if let Some(list) = list {
        super::local_index_panel::cached_list_banner_ui(ui, list);
    }
    ui.separator();
    let Some(list) = list else {
        return;
    };
    let kind = state.objects.selected_list;
    header_ui(ui, kind);
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let now = format::now_unix();
    let mut scroll = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt(("rows", vault.as_str(), kind.index()));
    // When the keyboard moved the cursor off screen, scroll just enough to show its row; the mouse
    // wheel stays free otherwise.
    let memory_id = egui::Id::unique(("rows-view", kind.index()));
    let (last_cursor, offset) = ui
        .ctx()
        .data(|data| data.get_temp::<(Option<usize>, f32)>(memory_id))
        .unwrap_or((None, 0.0));
    if let Some(cursor) = state.objects.cursor
        && state.objects.cursor != last_cursor
    {
        let pitch = row_height + ui.spacing().item_spacing.y;
        let top = cursor as f32 * pitch;
        let visible = (ui.available_height() - pitch).max(pitch);
        if top < offset {
            scroll = scroll.vertical_scroll_offset(top);
        } else if top > offset + visible {
            scroll = scroll.vertical_scroll_offset(top - visible);
        }
    }
    let marked = state.changes.marked(Some(vault), kind);
    let mut clicked: Option<(String, egui::Modifiers)> = None;
    let output = scroll.show_rows(ui, row_height, filtered.len(), |ui, range| {
        for position in range {
            let Some(item) = filtered.get(position).and_then(|&index| list.item(index)) else {
                continue;
            };
            let is_marked =
                marked.is_some_and(|names| names.contains(&item.name().to_ascii_lowercase()));
            if let Some(click) =
                row_ui(ui, state, &item, kind, position, row_height, now, is_marked)
            {
                clicked = Some(click);
            }
        }
    });
    if let Some((name, modifiers)) = clicked {
        row_clicked(state, list, filtered, name, modifiers, intents);
    }
    let offset = output.state.clamped_offset().y;
    ui.ctx()
        .data_mut(|data| data.insert_temp(memory_id, (state.objects.cursor, offset)));
}

fn vault_header_ui(
    ui: &mut Ui,
    state: &AppState,
    vault: &crate::azure::identifiers::VaultUri,
    intents: &mut Vec<Intent>,
) {
    let summary = state.selected_vault_summary();
    let contents = state.selected_contents();
    ui.horizontal(|ui| {
        ui.heading(vault.name());
        match summary {
            Some(summary) => {
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
            None => {
                ui.weak("opened by URI (not listed by ARM for you)");
            }
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui
                .button("Refresh")
                .on_hover_text(
                    "Load this vault's lists again (what is shown stays until they arrive)",
                )
                .clicked()
            {
                intents.push(Intent::Tree(TreeIntent::RefreshVault));
            }
            super::portal_buttons::portal_buttons_ui(ui, state.vault_portal_link(vault), intents);
            let pinned = state.tree.bookmarks.is_pinned(vault);
            if ui
                .button(if pinned { "Unpin" } else { "Pin" })
                .on_hover_text("Pinned vaults stay at the top of the tree across restarts")
                .clicked()
            {
                intents.push(Intent::Tree(TreeIntent::TogglePin(vault.clone())));
            }
            if let Some(contents) = contents {
                if contents.status.is_loading() {
                    ui.spinner();
                    ui.weak(if contents.started {
                        "loading…"
                    } else {
                        "queued…"
                    });
                } else if let Some(at) = contents.loaded_at {
                    ui.weak(format!("loaded {}", format::age(at.elapsed())));
                }
            }
        });
    });
}

/// Secrets | Keys | Certificates, and the "Deleted" switch that shows the soft-deleted ones of that kind.
fn list_tabs_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let contents = state.selected_contents();
    let shown = state.objects.selected_list;
    let failed = |list: ListKind| {
        contents.and_then(|contents| match &contents.list(list).status {
            LoadStatus::Failed(message) => Some(message.clone()),
            _ => None,
        })
    };
    let count = |list: ListKind| contents.map_or(0, |contents| contents.list(list).len());
    ui.horizontal(|ui| {
        for kind in [ObjectKind::Secret, ObjectKind::Key, ObjectKind::Certificate] {
            let list = ListKind {
                kind,
                deleted: shown.deleted,
            };
            let mut label = format!("{} ({})", kind.title(), count(list));
            let error = failed(list);
            if error.is_some() {
                label.push_str(" (!)");
            }
            let response = ui.selectable_label(shown.kind == kind, label);
            let response = match &error {
                Some(message) => response.on_hover_text(message),
                None => response,
            };
            if response.clicked() {
                intents.push(Intent::Objects(ObjectsIntent::SelectList(list)));
            }
        }
        ui.separator();
        let deleted = ListKind::deleted(shown.kind);
        let mut label = format!("Deleted ({})", count(deleted));
        if failed(deleted).is_some() {
            label.push_str(" (!)");
        }
        let response = ui
            .selectable_label(shown.deleted, label)
            .on_hover_text(format!(
                "Soft-deleted {}: deleted date, scheduled purge date, recovery id{}",
                shown.kind.collection(),
                failed(deleted)
                    .map(|message| format!("\n{message}"))
                    .unwrap_or_default()
            ));
        if response.clicked() {
            intents.push(Intent::Objects(ObjectsIntent::SelectList(ListKind {
                kind: shown.kind,
                deleted: !shown.deleted,
            })));
        }
    });
}

/// The list filter's widget id (the benchmark focuses it to time keystrokes).
pub fn filter_field_id() -> egui::Id {
    egui::Id::unique("list-filter")
}

fn filter_row_ui(ui: &mut Ui, state: &AppState, filtered: &[usize], intents: &mut Vec<Intent>) {
    let list = state.selected_list_rows();
    ui.horizontal_wrapped(|ui| {
        let mut filter = state.objects.filter.clone();
        let label = ui.label("Filter");
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut filter)
                    .id(filter_field_id())
                    .hint_text("part of a name")
                    .desired_width(160.0),
            )
            .labelled_by(label.id);
        if response.changed() {
            intents.push(Intent::Objects(ObjectsIntent::SetFilter(filter)));
        }
        if let Some(list) = list {
            let total = list.len();
            let noun = state.objects.selected_list.label();
            let text = if state.objects.filter.trim().is_empty()
                && state.objects.list_filters.is_empty()
            {
                format!("{total} {noun}")
            } else {
                format!("{} of {total} {noun}", filtered.len())
            };
            ui.label(text);
            match &list.status {
                LoadStatus::Loading => {
                    ui.spinner();
                }
                LoadStatus::NotLoaded => {
                    ui.weak("(incomplete: refresh to load)");
                }
                _ => {}
            }
        }
        ui.separator();
        if let Some(filters) = quick_filters_ui(ui, &state.objects.list_filters) {
            intents.push(Intent::Objects(ObjectsIntent::SetListFilters(filters)));
        }
    });
}

/// The three quick-filter toggles and the day count; returns the new filters when one changed.
pub fn quick_filters_ui(ui: &mut Ui, current: &QuickFilters) -> Option<QuickFilters> {
    let mut filters = *current;
    let mut changed = false;
    changed |= ui.toggle_value(&mut filters.disabled, "Disabled").changed();
    changed |= ui.toggle_value(&mut filters.expired, "Expired").changed();
    let mut expiring = filters.expiring_within_days.is_some();
    let mut days = filters.expiring_within_days.unwrap_or(30);
    let toggle = ui.toggle_value(&mut expiring, "Expiring within");
    changed |= toggle.changed();
    // The field is named by the "days" after it; naming it by the toggle would make the toggle its
    // label node, which AccessKit queries then skip.
    let days_field = ui.add(egui::DragValue::new(&mut days).range(1..=3650));
    let days_label = ui.label("days");
    let days_response = days_field
        .labelled_by(days_label.id)
        .on_hover_text("How many days ahead \"Expiring within\" looks");
    if days_response.changed() {
        expiring = true;
        changed = true;
    }
    filters.expiring_within_days = expiring.then_some(days);
    changed.then_some(filters)
}

/// A click on a row: plain selects it; Ctrl (Cmd) toggles its mark, Shift marks the range from the last
/// marked row (both only when changes are allowed).
fn row_clicked(
    state: &AppState,
    list: &super::state::vault_index::ObjectList,
    filtered: &[usize],
    name: String,
    modifiers: egui::Modifiers,
    intents: &mut Vec<Intent>,
) {
    use super::state::bulk::MarkMode;
    use super::state::changes::ChangesIntent;
    let mode = if modifiers.shift {
        Some(MarkMode::Range)
    } else if modifiers.command {
        Some(MarkMode::Toggle)
    } else {
        None
    };
    match mode {
        Some(mode) if !state.changes.read_only => {
            let rows = if mode == MarkMode::Range {
                filtered
                    .iter()
                    .map(|&index| list.name(index).to_owned())
                    .collect()
            } else {
                Vec::new()
            };
            intents.push(ChangesIntent::Mark { name, mode, rows }.into());
        }
        _ => intents.push(Intent::Objects(ObjectsIntent::SelectObject(name))),
    }
}

/// One row; answers the click on its name with the modifiers held.
#[allow(clippy::too_many_arguments)]
fn row_ui(
    ui: &mut Ui,
    state: &AppState,
    item: &ObjectItem,
    kind: ListKind,
    position: usize,
    row_height: f32,
    now: i64,
    marked: bool,
) -> Option<(String, egui::Modifiers)> {
    let name = item.name();
    let selected = marked
        || state
            .objects
            .selected_object
            .as_deref()
            .is_some_and(|selected| selected.eq_ignore_ascii_case(&name));
    let mut clicked = None;
    let highlighted = state.objects.cursor == Some(position);
    let name_width = name_column_width(ui, kind);
    let show_date = shows_date(ui, kind);
    ui.horizontal(|ui| {
        ui.set_height(row_height);
        let response = name_cell_ui(
            ui,
            &super::format::untrusted(&name),
            selected,
            highlighted,
            name_width,
            row_height,
        );
        if response.clicked() {
            clicked = Some((name.clone(), ui.input(|input| input.modifiers)));
        }
        let enabled = item.enabled();
        cell(
            ui,
            ENABLED_WIDTH,
            if enabled {
                RichText::new("yes")
            } else {
                RichText::new("no").color(ui.visuals().warn_fg_color)
            },
        );
        let pending = state.changes.pending_certificates.contains(&(
            item.object_id()
                .map(|id| id.vault.as_str().to_owned())
                .unwrap_or_default(),
            name.to_ascii_lowercase(),
        ));
        let third = if pending && kind.kind == ObjectKind::Certificate {
            "pending (being issued)".to_owned()
        } else {
            third_column(item, kind)
        };
        cell(ui, THIRD_WIDTH, RichText::new(third));
        dates_ui(ui, item, kind, show_date, now);
    });
    clicked
}

/// The name as a full-width selectable cell, outlined when the keyboard cursor is on it.
fn name_cell_ui(
    ui: &mut Ui,
    name: &str,
    selected: bool,
    highlighted: bool,
    name_width: f32,
    row_height: f32,
) -> egui::Response {
    ui.allocate_ui_with_layout(
        vec2(name_width, row_height),
        Layout::left_to_right(Align::Center),
        |ui| {
            ui.set_width(name_width);
            // The trailing grow atom keeps the name left-aligned in a full-width, clickable cell.
            let button = egui::Button::selectable(selected, (name, egui::Atom::grow()))
                .truncate()
                .min_size(vec2(name_width, row_height));
            let button = if highlighted && !selected {
                button.stroke(ui.visuals().selection.stroke)
            } else {
                button
            };
            ui.add(button).on_hover_text(name)
        },
    )
    .inner
}

/// Updated (or deleted) and expires (or scheduled purge), coloured by how close expiry is.
fn dates_ui(ui: &mut Ui, item: &ObjectItem, kind: ListKind, show_date: bool, now: i64) {
    let date = if kind.deleted {
        item.deleted_date
    } else {
        item.attributes.updated
    };
    if show_date {
        cell(ui, DATE_WIDTH, RichText::new(format::date(date)))
            .on_hover_text(format::timestamp(date));
    }
    if kind.deleted {
        cell(
            ui,
            EXPIRES_WIDTH,
            RichText::new(format::timestamp(item.scheduled_purge_date)),
        );
    } else {
        let (expires, expiry_state) = format::expiry(item.attributes.exp, now);
        let color = match expiry_state {
            ExpiryState::Expired => ui.visuals().error_fg_color,
            ExpiryState::Soon => ui.visuals().warn_fg_color,
            _ => ui.visuals().text_color(),
        };
        cell(ui, EXPIRES_WIDTH, RichText::new(expires).color(color));
    }
}

/// Content type for secrets, "managed" or tags for keys, the thumbprint for certificates.
fn third_column(item: &ObjectItem, kind: ListKind) -> String {
    let text = match kind.kind {
        ObjectKind::Secret => item.content_type.clone().unwrap_or_default(),
        ObjectKind::Key if item.managed == Some(true) => "certificate's key".into(),
        ObjectKind::Key => tags_text(item),
        ObjectKind::Certificate => item
            .thumbprint_hex()
            .map(|hex| hex.chars().take(12).collect::<String>() + "…")
            .unwrap_or_default(),
    };
    super::format::untrusted(&text).into_owned()
}

fn tags_text(item: &ObjectItem) -> String {
    item.tags
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn third_title(kind: ListKind) -> &'static str {
    match kind.kind {
        ObjectKind::Secret => "Content type",
        ObjectKind::Key => "Tags",
        ObjectKind::Certificate => "Thumbprint",
    }
}

/// Below this table width the date column (updated / deleted) is left out, so names keep their room.
const NARROW_TABLE: f32 = 760.0;

/// Whether the date column shows: always for deleted items (when they were deleted), else when it fits.
fn shows_date(ui: &Ui, kind: ListKind) -> bool {
    kind.deleted || ui.available_width() >= NARROW_TABLE
}

fn name_column_width(ui: &Ui, kind: ListKind) -> f32 {
    let date = if shows_date(ui, kind) {
        DATE_WIDTH
    } else {
        0.0
    };
    let spacing = ui.spacing().item_spacing.x * 5.0;
    (ui.available_width() - ENABLED_WIDTH - THIRD_WIDTH - date - EXPIRES_WIDTH - spacing).max(120.0)
}

fn cell(ui: &mut Ui, width: f32, text: RichText) -> egui::Response {
    ui.allocate_ui_with_layout(
        vec2(width, ui.available_height()),
        Layout::left_to_right(Align::Center),
        |ui| {
            ui.set_width(width);
            ui.add(egui::Label::new(text).truncate().sense(Sense::hover()))
        },
    )
    .inner
}

fn header_ui(ui: &mut Ui, kind: ListKind) {
    let color = ui.visuals().strong_text_color();
    let strong = |text: &str| RichText::new(text).strong().color(color);
    let name_width = name_column_width(ui, kind);
    let show_date = shows_date(ui, kind);
    ui.horizontal(|ui| {
        cell(ui, name_width, strong("Name"));
        cell(ui, ENABLED_WIDTH, strong("Enabled"));
        cell(ui, THIRD_WIDTH, strong(third_title(kind)));
        if kind.deleted {
            cell(ui, DATE_WIDTH, strong("Deleted"));
            cell(ui, EXPIRES_WIDTH, strong("Purged on"));
        } else {
            if show_date {
                cell(ui, DATE_WIDTH, strong("Updated"));
            }
            cell(ui, EXPIRES_WIDTH, strong("Expires"));
        }
    });
}
