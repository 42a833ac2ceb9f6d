//! The eframe application: drains worker events in `logic`, draws the panels in `ui`, and applies the frame's
//! intents once at the end of the frame.

use std::sync::mpsc::Receiver;

use egui::Ui;
use secrecy::ExposeSecret;

use super::clipboard::{ClipboardBackend, ClipboardGuard, CopyOutcome, SystemClipboard};
use super::state::ChangesIntent;
use super::state::bookmarks::VaultBookmarks;
use super::state::{
    AccessIntent, AppState, CentreView, Intent, ObjectsIntent, SearchIntent, SignInState,
    ThemeChoice,
};
use super::{
    access_change_panel, access_panel, change_dialogs, details_panel, objects_panel, search_panel,
    sign_in_panel, status_bar, tree_panel,
};
use crate::worker::{Event, SignInMethod, WorkerHandle};

/// What the filtered rows depend on: vault, list, filter text, quick filters, row count and a generation
/// that changes when a reload swaps rows in.
type FilterKey = (
    String,
    usize,
    String,
    super::state::vault_index::QuickFilters,
    usize,
    u64,
);

/// Filtered row indices, recomputed only when what they depend on changes (not per frame: 100,000 rows).
#[derive(Default)]
struct FilterCache {
    key: Option<FilterKey>,
    indices: std::sync::Arc<[usize]>,
}

/// The Vaultscope window.
pub struct VaultscopeApp {
    state: AppState,
    worker: WorkerHandle,
    events: Receiver<Event>,
    cloud_label: String,
    filter_cache: FilterCache,
    started: bool,
    /// Opened at the first secret copy (no clipboard thread until then).
    clipboard: Option<ClipboardGuard>,
    clear_clipboard_after: std::time::Duration,
    /// The first frame is logged (start-up time).
    first_frame_drawn: bool,
    /// The index read at launch (with its identity directory), shown in the first frame.
    preloaded_index: Option<(String, crate::local_index::LoadedIndex)>,
    /// The sign-in waits for the frame after the one that showed the index.
    sign_in_deferred: bool,
}

impl VaultscopeApp {
    /// A new app that signs in with `sign_in` on its first frame.
    pub fn new(
        worker: WorkerHandle,
        events: Receiver<Event>,
        sign_in: impl Into<Option<SignInMethod>>,
        cloud_label: impl Into<String>,
    ) -> Self {
        Self {
            state: AppState::new(sign_in),
            worker,
            events,
            cloud_label: cloud_label.into(),
            filter_cache: FilterCache::default(),
            started: false,
            clipboard: None,
            clear_clipboard_after: super::clipboard::DEFAULT_CLEAR_AFTER,
            first_frame_drawn: false,
            preloaded_index: None,
            sign_in_deferred: false,
        }
    }

    /// Whether the local index is kept (and why not), in `cloud`, and the index read at launch for the
    /// identity that signed in last (shown from the first frame, confirmed once signed in).
    pub fn with_local_index(
        mut self,
        mode: super::state::IndexMode,
        cloud: impl Into<String>,
        preloaded: Option<(String, crate::local_index::LoadedIndex)>,
    ) -> Self {
        self.state.local_index.mode = mode;
        self.state.local_index.cloud = cloud.into();
        self.preloaded_index = preloaded;
        self
    }

    /// Copies values to `backend` instead of the system clipboard (set the delay first).
    pub fn with_clipboard_backend(mut self, backend: Box<dyn ClipboardBackend>) -> Self {
        self.clipboard = Some(ClipboardGuard::new(
            Some(backend),
            self.clear_clipboard_after,
        ));
        self
    }

    /// How long a copied secret value stays on the clipboard.
    pub fn with_clipboard_clear_after(mut self, delay: std::time::Duration) -> Self {
        self.clear_clipboard_after = delay;
        self
    }

    /// Puts this frame's copy on the clipboard: identifiers through egui, secret values through the
    /// guard (out of history, cleared later), or not at all when no system clipboard can be opened.
    fn handle_clipboard(&mut self, ctx: &egui::Context) {
        if let Some(request) = self.state.take_clipboard_request() {
            if request.is_secret {
                let delay = self.clear_clipboard_after;
                let guard = self.clipboard.get_or_insert_with(|| {
                    let backend = SystemClipboard::open()
                        .map(|clipboard| Box::new(clipboard) as Box<dyn ClipboardBackend>);
                    ClipboardGuard::new(backend, delay)
                });
                match guard.copy_secret(&request.text, std::time::Instant::now()) {
                    CopyOutcome::WillClear(after) => {
                        if let Some(notice) = &self.state.notice() {
                            let text = format!("{}; clears in {} s", notice.text, after.as_secs());
                            self.state.set_notice(text, false);
                        }
                    }
                    CopyOutcome::NoClipboard => {
                        // egui's clipboard would keep the value in history and never clear it.
                        self.state.set_notice(
                            "The value was not copied: the system clipboard cannot be opened (on Wayland without X \
                             it is not reachable), and Vaultscope copies a value only where it can keep it out of \
                             clipboard history and clear it. Use Reveal value instead.",
                            true,
                        );
                    }
                    CopyOutcome::Failed(error) => {
                        self.state
                            .set_notice(format!("Could not copy the value: {error}"), true);
                    }
                }
            } else {
                ctx.copy_text(request.text.expose_secret().to_owned());
            }
        }
    }

    /// Clears a copied value whose time is up; when one is still waiting, how long until it is. Run from
    /// `logic`, which eframe runs for a minimised or hidden window too (`ui` is skipped then).
    pub fn tick_clipboard(&mut self, now: std::time::Instant) -> Option<std::time::Duration> {
        self.clipboard.as_mut()?.tick(now)
    }

    /// Fills the sign-in screen's rows (what each method needs and whether it looks available).
    pub fn with_sign_in_methods(
        mut self,
        methods: Vec<crate::auth::availability::MethodAvailability>,
    ) -> Self {
        self.state.session.sign_in_methods = methods;
        self
    }

    /// Pre-fills the sign-in screen's fields.
    pub fn with_sign_in_form(mut self, form: super::state::SignInForm) -> Self {
        self.state.session.sign_in_form = form;
        self
    }

    /// The device-code sign-in to remember (tenant, client id), for eframe persistence.
    pub fn remembered_device_code(&self) -> Option<(String, String)> {
        self.state.session.remembered_device_code.clone()
    }

    /// The state, for tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Applies an intent as if the person had asked for it (benchmarks drive the app this way).
    pub fn apply_intent(&mut self, intent: Intent) {
        self.state.handle(intent, &mut self.worker);
    }

    /// Starts with the theme chosen last time ("dark" or "light"; anything else follows the system).
    pub fn with_theme(mut self, theme: Option<&str>) -> Self {
        self.state.theme = match theme {
            Some("dark") => Some(ThemeChoice::Dark),
            Some("light") => Some(ThemeChoice::Light),
            _ => None,
        };
        self
    }

    /// `--read-only`: no control that changes anything is shown, and no change is carried out.
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.state.changes.read_only = read_only;
        self
    }

    /// Links secrets, keys, certificates and vaults to this Azure Portal (`None`: the emulator's cloud).
    pub fn with_portal(mut self, portal_host: Option<&str>) -> Self {
        self.state.portal_host = portal_host.map(str::to_owned);
        self
    }

    /// Starts with these recent and pinned vaults (from eframe storage).
    pub fn with_bookmarks(mut self, bookmarks: VaultBookmarks) -> Self {
        self.state.tree.bookmarks = bookmarks;
        self
    }

    /// Applies the events that arrived since the last frame, for at most [`DRAIN_BUDGET`] (a fleet loading
    /// at once must not stall the window), and goes on with a search under way; true when work is left for
    /// the next frame. Never blocks.
    pub fn drain_events(&mut self) -> bool {
        let mut more = false;
        if !self.started {
            self.started = true;
            if let super::state::IndexMode::NoKeyring(reason) = &self.state.local_index.mode {
                // Said once; the status bar keeps the word.
                let text = format!(
                    "No local index: there is no OS keyring to keep its key in, so nothing is written to disk ({reason})"
                );
                self.state.set_notice(text, false);
            }
            match self
                .preloaded_index
                .take()
                .filter(|_| self.state.session.sign_in_method.is_some())
            {
                Some((dir, loaded)) => {
                    // The first frame shows the index alone; the sign-in starts with the next.
                    self.state.local_index.shown_dir = Some(dir);
                    self.state.restore_index(loaded);
                    self.sign_in_deferred = true;
                    more = true;
                }
                None => self.state.start(&mut self.worker),
            }
        } else if self.sign_in_deferred {
            self.sign_in_deferred = false;
            self.state.session.begin_sign_in(&mut self.worker);
        }
        let deadline = std::time::Instant::now() + DRAIN_BUDGET;
        while let Ok(event) = self.events.try_recv() {
            self.state.apply(event, &mut self.worker);
            if std::time::Instant::now() >= deadline {
                more = true;
                break;
            }
        }
        self.state.refresh_changes(&mut self.worker);
        self.state
            .refresh_index(std::time::Instant::now(), false, &mut self.worker);
        self.state.refresh_search();
        more || self.state.search.searching()
    }

    fn filtered_indices(&mut self) -> std::sync::Arc<[usize]> {
        let key = self.state.selected_vault().map(|vault| {
            let rows = self.state.selected_list_rows();
            (
                vault.as_str().to_owned(),
                self.state.objects.selected_list.index(),
                self.state.objects.filter.clone(),
                self.state.objects.list_filters,
                rows.map_or(0, |list| list.len()),
                rows.map_or(0, |list| list.generation),
            )
        });
        if key != self.filter_cache.key {
            self.filter_cache.indices = self.state.filtered_indices().into();
            self.filter_cache.key = key;
        }
        self.filter_cache.indices.clone()
    }

    /// Keyboard: Ctrl+K search; outside text fields, arrows/Page keys move, Enter opens, Esc closes and
    /// Ctrl+C copies the selected object's identifier.
    fn keyboard(&self, ctx: &egui::Context, filtered: &[usize], intents: &mut Vec<Intent>) {
        use egui::{Key, Modifiers};
        let typing = ctx.egui_wants_keyboard_input();
        ctx.input_mut(|input| {
            if self.state.changes.dialog.is_some() || self.state.access_changes.dialog.is_some() {
                // A dialog has the keyboard: Esc closes it (Enter is the form's own).
                if !typing && input.consume_key(Modifiers::NONE, Key::Escape) {
                    intents.push(ChangesIntent::CloseDialog.into());
                    intents.push(super::state::AccessChangesIntent::Close.into());
                }
                return;
            }
            if input.consume_key(Modifiers::COMMAND, Key::K) {
                intents.push(Intent::Search(SearchIntent::Open));
            }
            if self.state.search.open || typing {
                return;
            }
            if !self.state.changes.read_only
                && self.state.centre == CentreView::Secrets
                && input.consume_key(Modifiers::COMMAND, Key::A)
            {
                let names = self
                    .state
                    .selected_list_rows()
                    .map(|rows| {
                        filtered
                            .iter()
                            .map(|&index| rows.name(index).to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                intents.push(ChangesIntent::MarkAll(names).into());
            }
            for (key, delta) in [
                (Key::ArrowDown, 1),
                (Key::ArrowUp, -1),
                (Key::PageDown, 20),
                (Key::PageUp, -20),
                (Key::End, i64::MAX / 2),
                (Key::Home, -(i64::MAX / 2)),
            ] {
                if input.consume_key(Modifiers::NONE, key) {
                    intents.push(Intent::Objects(ObjectsIntent::MoveCursor(delta)));
                }
            }
            if input.consume_key(Modifiers::NONE, Key::Enter) {
                intents.push(Intent::Objects(ObjectsIntent::OpenCursor));
            }
            if input.consume_key(Modifiers::NONE, Key::Escape) {
                intents.push(Intent::Close);
            }
            let copy_event = input
                .events
                .iter()
                .any(|event| matches!(event, egui::Event::Copy));
            if copy_event || input.consume_key(Modifiers::COMMAND, Key::C) {
                intents.push(Intent::Objects(ObjectsIntent::CopySelectedIdentifier));
            }
        });
    }

    /// The explorer is drawn once signed in, and before that while an index read at launch is shown
    /// (a device code to enter comes in a window over it).
    pub fn shows_explorer(&self) -> bool {
        match &self.state.session.sign_in {
            SignInState::SignedIn(_) => true,
            SignInState::InProgress { .. } => self.state.local_index.showing_unconfirmed(),
            SignInState::NotStarted => {
                self.sign_in_deferred && self.state.local_index.showing_unconfirmed()
            }
            _ => false,
        }
    }

    /// Saves what the index has not saved yet and waits (at most `wait`) for the saves to end: the
    /// window is closing.
    pub fn flush_index(&mut self, wait: std::time::Duration) {
        self.state
            .refresh_index(std::time::Instant::now(), true, &mut self.worker);
        let deadline = std::time::Instant::now() + wait;
        while self.state.local_index.requests_in_flight() > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                tracing::warn!("the local index was still being saved as the window closed");
                break;
            }
            match self.events.recv_timeout(left) {
                Ok(event) => self.state.apply(event, &mut self.worker),
                Err(_) => break,
            }
        }
    }

    /// Draws one frame into `ui` and applies its intents.
    pub fn frame_ui(&mut self, ui: &mut Ui) {
        let mut intents = Vec::new();
        egui::Panel::bottom("status-bar").show(ui, |ui| {
            status_bar::status_bar_ui(ui, &self.state, &self.cloud_label, &mut intents);
        });
        if self.shows_explorer() {
            let filtered = self.filtered_indices();
            self.keyboard(ui.ctx(), &filtered, &mut intents);
            egui::Panel::left("tree")
                .resizable(true)
                .default_size(240.0)
                .show(ui, |ui| tree_panel::tree_ui(ui, &self.state, &mut intents));
            egui::Panel::right("details")
                .resizable(true)
                .default_size(330.0)
                .show(ui, |ui| {
                    details_panel::details_ui(ui, &self.state, &mut intents)
                });
            egui::CentralPanel::default().show(ui, |ui| {
                if self.state.selected_vault().is_some() {
                    centre_tabs_ui(ui, &self.state, &mut intents);
                }
                match self.state.centre {
                    CentreView::Access if self.state.selected_vault().is_some() => {
                        access_panel::access_ui(ui, &self.state, &mut intents)
                    }
                    _ => objects_panel::objects_ui(ui, &self.state, &filtered, &mut intents),
                }
            });
            search_panel::search_ui(ui.ctx(), &self.state, &mut intents);
            self.state.search.cursor_moved = false;
            // The value buffer is lent to the secret form for this frame (moved, not copied).
            let mut value = std::mem::take(&mut self.state.changes.value);
            change_dialogs::dialogs_ui(ui.ctx(), &self.state, &mut value, &mut intents);
            self.state.changes.value = value;
            change_dialogs::bulk_ui(ui.ctx(), &self.state, &mut intents);
            change_dialogs::change_log_ui(ui.ctx(), &self.state, &mut intents);
            access_change_panel::access_change_dialog_ui(ui.ctx(), &self.state, &mut intents);
            super::local_index_panel::sign_out_dialog_ui(ui.ctx(), &self.state, &mut intents);
            sign_in_panel::device_code_window_ui(ui.ctx(), &self.state, &mut intents);
            // The PFX password buffer is lent the same way.
            let mut password = std::mem::take(&mut self.state.transfer.password);
            super::transfer_panel::transfer_window_ui(
                ui.ctx(),
                &self.state,
                &mut password,
                &mut intents,
            );
            self.state.transfer.password = password;
        } else {
            egui::CentralPanel::default().show(ui, |ui| {
                sign_in_panel::sign_in_ui(ui, &self.state, &mut intents)
            });
        }
        for intent in intents {
            self.state.handle(intent, &mut self.worker);
        }
        if let Some(url) = self.state.take_url_to_open() {
            ui.ctx().open_url(egui::OpenUrl::new_tab(url));
        }
        let ctx = ui.ctx().clone();
        self.handle_clipboard(&ctx);
        if let Some(choice) = self.state.theme {
            let theme = match choice {
                ThemeChoice::Dark => egui::Theme::Dark,
                ThemeChoice::Light => egui::Theme::Light,
            };
            if ctx.theme() != theme {
                ctx.set_theme(theme);
            }
        }
    }
}

/// "Secrets | Access" above the centre panel, and the 403 help when the explorer met one in this vault.
fn centre_tabs_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        for (view, label) in [
            (CentreView::Secrets, "Contents"),
            (CentreView::Access, "Access"),
        ] {
            if ui.selectable_label(state.centre == view, label).clicked() && state.centre != view {
                intents.push(Intent::ShowCentre(view));
            }
        }
    });
    if let Some(forbidden) = state.forbidden_here()
        && state.centre == CentreView::Secrets
    {
        ui.horizontal(|ui| {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "You were denied {} {} here.",
                    forbidden.operation.object_type.singular(),
                    forbidden.operation.permission
                ),
            );
            if ui
                .button("Why? Check my access")
                .on_hover_text(&forbidden.message)
                .clicked()
            {
                intents.push(Intent::Access(AccessIntent::CheckForbidden));
            }
        });
    }
    ui.separator();
}

/// How long one frame may spend applying worker events; the rest wait for the next frame.
pub const DRAIN_BUDGET: std::time::Duration = std::time::Duration::from_millis(8);

/// The eframe storage key of the remembered device-code sign-in (tenant and client id only).
pub const REMEMBERED_SIGN_IN_KEY: &str = "remembered_device_code";
/// The eframe storage key of the chosen theme ("dark" or "light").
pub const THEME_KEY: &str = "theme";
/// The eframe storage key of recent and pinned vaults (URIs only).
pub const VAULT_BOOKMARKS_KEY: &str = "vault_bookmarks";

impl eframe::App for VaultscopeApp {
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(
            storage,
            REMEMBERED_SIGN_IN_KEY,
            &self.remembered_device_code(),
        );
        eframe::set_value(storage, VAULT_BOOKMARKS_KEY, &self.state.tree.bookmarks);
        let theme = self.state.theme.map(|theme| match theme {
            ThemeChoice::Dark => "dark",
            ThemeChoice::Light => "light",
        });
        eframe::set_value(storage, THEME_KEY, &theme);
    }

    fn on_exit(&mut self) {
        // A value still on the clipboard goes with the window.
        if let Some(guard) = self.clipboard.as_mut() {
            guard.clear_now();
        }
        self.flush_index(std::time::Duration::from_secs(3));
    }

    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.drain_events() {
            ctx.request_repaint();
        }
        if let Some(remaining) = self.tick_clipboard(std::time::Instant::now()) {
            ctx.request_repaint_after(remaining);
        }
        if let Some(at) = self.state.local_index.wake_at() {
            ctx.request_repaint_after(at.saturating_duration_since(std::time::Instant::now()));
        }
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
        if !self.first_frame_drawn {
            self.first_frame_drawn = true;
            tracing::info!("first frame drawn");
        }
    }
}
