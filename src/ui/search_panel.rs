//! The Ctrl+K search box: one field across every loaded vault (names, tag keys and values, content types;
//! never values), quick filters, results updated on every keystroke; arrows move, Enter opens, Esc closes.

use egui::{Key, Modifiers, RichText, Ui};

use super::objects_panel::quick_filters_ui;
use super::state::{AppState, Intent, SearchIntent};

/// The accessible name of the search field (tests find it by this label).
pub const SEARCH_LABEL: &str = "Search loaded vaults";

pub fn search_ui(ctx: &egui::Context, state: &AppState, intents: &mut Vec<Intent>) {
    if !state.search.open {
        return;
    }
    let modal = egui::Modal::new(egui::Id::unique("search")).show(ctx, |ui| {
        ui.set_width(720.0_f32.min(ctx.content_rect().width() - 40.0));
        let hits = &state.search.results.hits;
        // Arrows and Enter belong to the result list, not to the text field.
        let (down, up, enter) = ui.input_mut(|input| {
            (
                input.consume_key(Modifiers::NONE, Key::ArrowDown),
                input.consume_key(Modifiers::NONE, Key::ArrowUp),
                input.consume_key(Modifiers::NONE, Key::Enter),
            )
        });
        let cursor = state.search.cursor;
        if down && cursor + 1 < hits.len() {
            intents.push(Intent::Search(SearchIntent::SetCursor(cursor + 1)));
        }
        if up && cursor > 0 {
            intents.push(Intent::Search(SearchIntent::SetCursor(cursor - 1)));
        }
        if enter && let Some(hit) = hits.get(cursor) {
            intents.push(Intent::Search(SearchIntent::OpenHit(hit.clone())));
        }
        let label = ui.label(RichText::new(SEARCH_LABEL).strong());
        let mut query = state.search.query.clone();
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut query)
                    .hint_text("name, tag key or value, content type")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        if state.search.focus_requested {
            response.request_focus();
            intents.push(Intent::Search(SearchIntent::Focused));
        }
        if response.changed() {
            intents.push(Intent::Search(SearchIntent::SetQuery(query)));
        }
        ui.horizontal_wrapped(|ui| {
            if let Some(filters) = quick_filters_ui(ui, &state.search.filters) {
                intents.push(Intent::Search(SearchIntent::SetFilters(filters)));
            }
        });
        results_ui(ui, state, intents);
    });
    if modal.should_close() {
        intents.push(Intent::Close);
    }
}

fn results_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let now = super::format::now_unix();
    let results = &state.search.results;
    let loaded = state
        .tree
        .vaults
        .values()
        .filter(|contents| contents.loaded_at.is_some() || contents.status.is_loading())
        .count();
    let mut summary = if results.total > results.hits.len() {
        format!(
            "{} matches in {loaded} loaded vaults (first {} shown)",
            results.total,
            results.hits.len()
        )
    } else {
        format!("{} matches in {loaded} loaded vaults", results.total)
    };
    if results.searching {
        summary = format!("Searching… {summary} so far");
    }
    ui.horizontal(|ui| {
        if results.searching {
            ui.spinner();
        }
        ui.weak(summary);
    });
    if loaded == 0 {
        ui.weak("No vault is loaded yet: open one, or use \"Load all\" in the vault tree.");
    }
    ui.separator();
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    egui::ScrollArea::vertical()
        .max_height(380.0)
        .min_scrolled_height(380.0)
        .auto_shrink([false, true])
        .show_rows(ui, row_height, results.hits.len(), |ui, range| {
            for position in range {
                let Some(hit) = results.hits.get(position) else {
                    continue;
                };
                let Some(list) = state
                    .tree
                    .vaults
                    .get(&hit.vault)
                    .map(|contents| contents.list(hit.list))
                else {
                    continue;
                };
                let Some(item) = list.item(hit.index) else {
                    continue;
                };
                let mut text = format!(
                    "{}   ·  {} in {}",
                    item.name(),
                    hit.list.label(),
                    hit.vault.name()
                );
                // A hit from the local index says how old it is.
                if list.cached
                    && let Some(at) = list.complete_at
                {
                    text.push_str(&format!("   [{}]", super::format::as_of(at, now)));
                }
                if !hit.by_name {
                    let tags: Vec<String> = item
                        .tags
                        .iter()
                        .map(|(key, value)| format!("{key}={value}"))
                        .chain(item.content_type.clone())
                        .collect();
                    text.push_str(&format!("   ({})", tags.join(", ")));
                }
                let selected = position == state.search.cursor;
                let text = super::format::untrusted(&text).into_owned();
                let response = ui.add(
                    egui::Button::selectable(selected, text)
                        .truncate()
                        .min_size(egui::vec2(ui.available_width(), row_height)),
                );
                if selected && state.search.cursor_moved {
                    response.scroll_to_me(None);
                }
                if response.clicked() {
                    intents.push(Intent::Search(SearchIntent::OpenHit(hit.clone())));
                }
            }
        });
}
