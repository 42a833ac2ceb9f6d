//! Everything the UI shows, changed only by applying worker `Event`s and the person's `Intent`s.
//!
//! One module per feature, each owning its state, the intents it handles, its pending requests and the
//! events it applies: `session` (sign-in), `tree` (subscriptions, vaults and loading), `objects` (the list,
//! the selection and the details), `access` (the Access view), `search` (Ctrl+K). `AppState` keeps only what
//! is shared (the selected vault, the notice, the clipboard, the centre view and the theme), routes each
//! event to the feature whose request it answers (events no feature awaits are stale and dropped), and runs
//! the few flows that cross features (selecting a vault, opening a URI or a search hit, Esc, sign-in and
//! sign-out). Pure data and logic, no egui: tests drive it with fake command sinks.

pub mod access;
pub mod access_changes;
pub mod bookmarks;
pub mod bulk;
pub mod change_forms;
pub mod changes;
pub mod common;
pub mod confirmation;
pub mod consumers;
pub mod errors;
pub mod local_index;
mod local_index_flows;
pub mod objects;
pub mod search;
pub mod secret_input;
pub mod session;
pub mod transfer;
mod transfer_flows;
pub mod tree;
pub mod vault_index;
pub mod who_can;

#[cfg(test)]
mod local_index_tests;
#[cfg(test)]
mod tests;

pub use access::{AccessIntent, AccessState};
pub use access_changes::{AccessChangesIntent, AccessChangesState};
pub use changes::{ChangesIntent, ChangesState};
pub use common::{CentreView, ClipboardRequest, CommandSink, LoadStatus, Notice, ThemeChoice};
pub use consumers::{ConsumersIntent, ConsumersState};
pub use errors::{Forbidden, HighlightedOperation, explain, failure_word};
pub use local_index::{IndexMode, LocalIndexIntent, LocalIndexState};
pub use objects::{ObjectsIntent, ObjectsState};
pub use search::{SEARCH_RESULT_LIMIT, SearchIntent, SearchState};
pub use session::{SessionIntent, SessionState, SignInForm, SignInState};
pub use transfer::{TransferIntent, TransferState};
pub use tree::{TreeIntent, TreeState};
pub use who_can::{WhoCanIntent, WhoCanState};

use common::Shared;
use objects::Shown;
use vault_index::{ObjectList, VaultContents};

use crate::azure::identifiers::{ObjectId, VaultUri};
use crate::azure::models::{ListKind, ObjectItem, VaultSummary};
use crate::worker::{Event, EventKind, PrincipalRef, SignInMethod};

/// What the person asked for in this frame, by feature; applied once at the end of the frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Session(SessionIntent),
    Tree(TreeIntent),
    Objects(ObjectsIntent),
    Access(AccessIntent),
    WhoCan(WhoCanIntent),
    Consumers(ConsumersIntent),
    Search(SearchIntent),
    Changes(ChangesIntent),
    AccessChanges(AccessChangesIntent),
    Transfer(TransferIntent),
    LocalIndex(LocalIndexIntent),
    OpenUrl(String),
    /// Copy a non-secret text (identifier, name, reference).
    CopyText {
        what: String,
        text: String,
    },
    /// Dark or light; the app applies it to the context and remembers it.
    SetTheme(ThemeChoice),
    ShowCentre(CentreView),
    /// Keyboard: close what is open (search, then a shown value, then the selected object).
    Close,
}

macro_rules! feature_intents {
    ($($feature:ident => $variant:ident),*) => {
        $(impl From<$feature> for Intent {
            fn from(intent: $feature) -> Self {
                Intent::$variant(intent)
            }
        })*
    };
}
feature_intents!(SessionIntent => Session, TreeIntent => Tree, ObjectsIntent => Objects, AccessIntent => Access, WhoCanIntent => WhoCan, ConsumersIntent => Consumers, SearchIntent => Search, ChangesIntent => Changes, AccessChangesIntent => AccessChanges, TransferIntent => Transfer, LocalIndexIntent => LocalIndex);

/// The whole UI state.
#[derive(Debug, Default)]
pub struct AppState {
    pub session: SessionState,
    pub tree: TreeState,
    pub objects: ObjectsState,
    pub access: AccessState,
    pub who_can: WhoCanState,
    pub consumers: ConsumersState,
    pub search: SearchState,
    pub changes: ChangesState,
    pub access_changes: AccessChangesState,
    pub transfer: TransferState,
    pub local_index: LocalIndexState,
    /// The vault whose lists, details and access are shown.
    selected_vault: Option<VaultUri>,
    shared: Shared,
    pub centre: CentreView,
    /// The theme the person chose (`None`: follow the system); persisted.
    pub theme: Option<ThemeChoice>,
    /// The cloud's Azure Portal (`None` for the emulator).
    pub portal_host: Option<String>,
}

impl AppState {
    /// A state that signs in with `sign_in_method` at start, or shows the sign-in screen for `None`.
    pub fn new(sign_in_method: impl Into<Option<SignInMethod>>) -> Self {
        let mut state = Self::default();
        state.session.sign_in_method = sign_in_method.into();
        state
    }

    /// The vault whose lists, details and access are shown.
    pub fn selected_vault(&self) -> Option<&VaultUri> {
        self.selected_vault.as_ref()
    }

    pub fn notice(&self) -> Option<&Notice> {
        self.shared.notice.as_ref()
    }

    /// The last permission 403 met while browsing, for the "check my access" help.
    pub fn forbidden(&self) -> Option<&Forbidden> {
        self.shared.forbidden.as_ref()
    }

    /// Replaces the status-bar notice (the app reports what the clipboard did).
    pub fn set_notice(&mut self, text: impl Into<String>, is_error: bool) {
        self.shared.set_notice(text, is_error);
    }

    /// Takes the clipboard request of this frame, if any.
    pub fn take_clipboard_request(&mut self) -> Option<ClipboardRequest> {
        self.shared.clipboard.take()
    }

    /// The URL the person asked to open this frame, if any.
    pub fn take_url_to_open(&mut self) -> Option<String> {
        self.shared.url_to_open.take()
    }

    /// Number of requests still running (for the activity indicator).
    pub fn requests_in_flight(&self) -> usize {
        self.session.requests.len()
            + self.tree.requests_in_flight()
            + self.objects.requests_in_flight()
            + self.access.requests_in_flight()
            + self.who_can.requests_in_flight()
            + self.consumers.requests_in_flight()
            + self.changes.requests_in_flight()
            + self.access_changes.requests_in_flight()
            + self.transfer.requests_in_flight()
            + self.local_index.requests_in_flight()
    }

    /// The selected vault as the list sees it.
    fn shown(&self) -> Shown<'_> {
        Shown::of(self.selected_vault.as_ref(), &self.tree)
    }

    pub fn selected_vault_summary(&self) -> Option<&VaultSummary> {
        self.tree.vault_summary(self.selected_vault()?)
    }

    /// The selected vault's loaded contents.
    pub fn selected_contents(&self) -> Option<&VaultContents> {
        self.shown().contents
    }

    /// The shown list of the selected vault.
    pub fn selected_list_rows(&self) -> Option<&ObjectList> {
        self.objects.rows(self.shown())
    }

    /// The selected object's row in the shown list.
    pub fn selected_item(&self) -> Option<ObjectItem> {
        self.objects.selected_item(self.shown())
    }

    /// The row of the selected version: from the version list, else the list row (latest).
    pub fn selected_version_item(&self) -> Option<ObjectItem> {
        self.objects.selected_version_item(self.shown())
    }

    /// The id of the selected object's newest version (when its versions are loaded).
    pub fn latest_version(&self) -> Option<String> {
        self.objects
            .versions
            .items
            .first()
            .and_then(ObjectItem::version)
    }

    /// The identifier of the selected object at the selected version (latest: versionless).
    pub fn selected_object_id(&self) -> Option<ObjectId> {
        self.objects.selected_object_id(self.selected_vault())
    }

    /// Indices of the shown list's rows matching the filter and quick filters.
    pub fn filtered_indices(&self) -> Vec<usize> {
        self.objects.filtered_indices(self.shown())
    }

    /// Starts signing in with the configured method, forgetting the previous identity's work.
    pub fn start(&mut self, sink: &mut dyn CommandSink) {
        if self.session.sign_in_method.is_some() {
            self.leave_identity(sink);
            self.session.begin_sign_in(sink);
        }
    }

    /// Stops the work still running for the identity being left (vault loads, versions, searches…), so a
    /// "Load all" does not go on in the background, and forgets its tree, lists, selection and access.
    fn leave_identity(&mut self, sink: &mut dyn CommandSink) {
        self.tree.reset(sink);
        self.objects.reset(sink);
        self.access.reset(sink);
        self.who_can.reset(sink);
        self.consumers.reset(sink);
        self.changes.reset(sink);
        self.access_changes.reset(sink);
        self.transfer.reset();
        self.search = SearchState::default();
        self.selected_vault = None;
        self.shared.forbidden = None;
        self.centre = CentreView::Secrets;
    }

    /// Runs the open search again if rows arrived since; the app calls this once per frame.
    pub fn refresh_search(&mut self) {
        self.search.refresh(&self.tree.vaults);
    }

    /// Applies the service's answers to changes that arrived this frame to the lists (one rebuild per
    /// list), reloads vaults a change touched beyond its own row, and reads the selected object's versions
    /// again when a change touched it. The app calls this once per frame, before the search.
    pub fn refresh_changes(&mut self, sink: &mut dyn CommandSink) {
        // Per vault and list, the last answer for each name wins; one rebuild applies them all.
        let mut grouped: Vec<ListEdits> = Vec::new();
        for applied in self.changes.take_outbox() {
            let index = match grouped
                .iter()
                .position(|(vault, list, _)| *vault == applied.vault && *list == applied.list)
            {
                Some(index) => index,
                None => {
                    grouped.push((applied.vault.clone(), applied.list, Vec::new()));
                    grouped.len() - 1
                }
            };
            let names = &mut grouped[index].2;
            let updates = applied.removed.into_iter().map(|name| (name, None)).chain(
                applied
                    .upserts
                    .into_iter()
                    .map(|item| (item.name(), Some(item))),
            );
            for (name, item) in updates {
                names.retain(|(known, _)| !known.eq_ignore_ascii_case(&name));
                names.push((name, item));
            }
        }
        for (vault, list, names) in grouped {
            if let Some(contents) = self.tree.vaults.get_mut(&vault) {
                let removed: Vec<String> = names
                    .iter()
                    .filter(|(_, item)| item.is_none())
                    .map(|(name, _)| name.clone())
                    .collect();
                let upserts: Vec<ObjectItem> =
                    names.into_iter().filter_map(|(_, item)| item).collect();
                contents.apply_changes(list, &removed, &upserts);
                self.search.stale = true;
            }
        }
        for vault in std::mem::take(&mut self.changes.reload) {
            self.tree.load_vault(vault, sink);
        }
        if let Some((vault, list, name)) = self.changes.select_after.take()
            && self.selected_vault.as_ref() == Some(&vault)
        {
            self.centre = CentreView::Secrets;
            self.objects.set_list(list);
            let shown = Shown::of(self.selected_vault.as_ref(), &self.tree);
            self.objects.select_object(name, shown, sink);
            self.objects.cursor_on_selected(shown);
        }
        let touched = std::mem::take(&mut self.changes.touched);
        let selected = self.selected_object_id();
        if let Some(selected) = selected
            && touched.iter().any(|(vault, kind, name)| {
                *vault == selected.vault
                    && *kind == selected.kind
                    && name.eq_ignore_ascii_case(&selected.name)
            })
        {
            let shown = Shown::of(self.selected_vault.as_ref(), &self.tree);
            if self.objects.selected_item(shown).is_none() {
                // The row left this list (deleted, recovered, purged).
                self.objects.close_selection();
            } else {
                self.objects.reload_selected(shown, sink);
            }
        }
    }

    /// Applies one worker event: the feature whose request it answers takes it; stale events are dropped.
    pub fn apply(&mut self, event: Event, sink: &mut dyn CommandSink) {
        self.apply_event(event, sink);
        self.cancel_forgotten(sink);
    }

    /// Cancels in the worker every read a feature stopped waiting for (a value hidden, an access load
    /// of a vault left), so nothing keeps fetching what nobody will see.
    fn cancel_forgotten(&mut self, sink: &mut dyn CommandSink) {
        let forgotten = [
            self.tree.requests.take_forgotten(),
            self.objects.requests.take_forgotten(),
            self.access.requests.take_forgotten(),
            self.who_can.requests.take_forgotten(),
            self.consumers.requests.take_forgotten(),
            self.access_changes.requests.take_forgotten(),
            self.local_index.requests.take_forgotten(),
        ];
        for id in forgotten.into_iter().flatten() {
            sink.cancel(id);
        }
    }

    fn apply_event(&mut self, event: Event, sink: &mut dyn CommandSink) {
        let id = event.request_id;
        if let Some(&request) = self.session.requests.get(id) {
            self.apply_session(id, request, event.kind, sink);
        } else if let Some(request) = self.tree.requests.get(id).cloned() {
            let rows_changed = match event.kind {
                EventKind::Finished(outcome) => {
                    self.tree.requests.finish(id);
                    self.tree.finish(request, outcome, sink)
                }
                kind => {
                    let (session, shared) = (&self.session, &mut self.shared);
                    self.tree
                        .apply_progress(request, kind, session, shared, sink)
                }
            };
            // Searched again once per frame, not once per page (a big load brings thousands).
            self.search.stale |= rows_changed;
        } else if let Some(request) = self.objects.requests.get(id).cloned() {
            match event.kind {
                EventKind::Finished(outcome) => {
                    self.objects.requests.finish(id);
                    let done = matches!(outcome, crate::worker::Outcome::Done);
                    let (tree, session) = (&self.tree, &self.session);
                    self.objects
                        .finish(request.clone(), outcome, tree, session, &mut self.shared);
                    if let (true, objects::ObjectsRequest::Versions(versions)) = (done, request) {
                        self.remember_versions(&versions);
                    }
                }
                kind => self.objects.apply_progress(request, kind, &mut self.shared),
            }
        } else if let Some(request) = self.changes.requests.get(id).cloned() {
            match event.kind {
                EventKind::Finished(outcome) => {
                    self.changes.requests.finish(id);
                    let identity = self.session.audit_identity();
                    self.changes
                        .finish(id, request, outcome, &identity, &mut self.shared);
                }
                kind => self
                    .changes
                    .apply_progress(id, &request, kind, &mut self.shared),
            }
        } else if let Some(request) = self.access_changes.requests.get(id).cloned() {
            match event.kind {
                EventKind::Finished(outcome) => {
                    self.access_changes.requests.finish(id);
                    let applied =
                        self.access_changes
                            .finish(request, outcome, &mut self.shared, sink);
                    if let Some(applied) = applied {
                        self.access_changed(applied, sink);
                    }
                }
                kind => self.access_changes.apply_progress(&request, kind),
            }
        } else if let Some(request) = self.transfer.requests.get(id).cloned() {
            match event.kind {
                EventKind::Finished(outcome) => {
                    self.transfer.requests.finish(id);
                    self.transfer.finish(request, outcome, &mut self.shared);
                }
                kind => self
                    .transfer
                    .apply_progress(&request, kind, &mut self.shared),
            }
            self.apply_transfer_effects(sink);
        } else if let Some(request) = self.local_index.requests.get(id).cloned() {
            self.apply_index_event(id, request, event.kind, sink);
        } else if let Some(request) = self.access.requests.get(id).cloned() {
            match event.kind {
                EventKind::Finished(outcome) => {
                    self.access.requests.finish(id);
                    self.access.finish(request, outcome);
                }
                kind => self.access.apply_progress(request, kind),
            }
        } else if let Some(request) = self.who_can.requests.get(id).cloned() {
            match event.kind {
                EventKind::Finished(outcome) => {
                    self.who_can.requests.finish(id);
                    self.who_can.finish(request, outcome);
                }
                kind => self.who_can.apply_progress(request, kind),
            }
        } else if let Some(request) = self.consumers.requests.get(id).cloned() {
            match event.kind {
                EventKind::Finished(outcome) => {
                    self.consumers.requests.finish(id);
                    self.consumers.finish(request, outcome);
                }
                kind => self.consumers.apply_progress(request, kind),
            }
        }
    }

    fn apply_session(
        &mut self,
        id: crate::worker::RequestId,
        request: session::SessionRequest,
        kind: EventKind,
        sink: &mut dyn CommandSink,
    ) {
        match kind {
            EventKind::Finished(outcome) => {
                self.session.requests.finish(id);
                self.session.finish(request, outcome, &mut self.shared);
            }
            kind => {
                if self.session.apply_progress(request, kind) {
                    self.shared.notice = None;
                    self.index_signed_in(sink);
                    self.tree.load_subscriptions(sink);
                }
            }
        }
    }

    /// Applies what the person asked for: the feature's own intents go to it, the rest are run here.
    pub fn handle(&mut self, intent: Intent, sink: &mut dyn CommandSink) {
        self.handle_intent(intent, sink);
        self.cancel_forgotten(sink);
    }

    fn handle_intent(&mut self, intent: Intent, sink: &mut dyn CommandSink) {
        match intent {
            Intent::Session(intent) => self.handle_session(intent, sink),
            Intent::Tree(TreeIntent::SelectVault(vault)) => self.select_vault(vault, sink),
            Intent::Tree(TreeIntent::OpenUri(text)) => self.open_uri(&text, sink),
            Intent::Tree(intent) => {
                self.tree.handle(intent, self.selected_vault.as_ref(), sink);
            }
            Intent::Objects(intent) => {
                let shown = Shown::of(self.selected_vault.as_ref(), &self.tree);
                self.objects.handle(intent, shown, &mut self.shared, sink);
            }
            Intent::Access(AccessIntent::CheckForbidden) => self.check_forbidden(sink),
            Intent::Access(intent) => {
                let vault = self.selected_vault_arm();
                self.access.handle(intent, vault, sink);
            }
            Intent::WhoCan(intent) => {
                let vault = self.selected_vault_arm();
                let uri = self.selected_vault().cloned();
                self.who_can.handle(intent, vault, uri, sink);
            }
            Intent::Consumers(intent) => {
                let vault = self.selected_vault_arm();
                let uri = self.selected_vault().cloned();
                self.consumers.handle(intent, vault, uri, sink);
            }
            Intent::Search(SearchIntent::OpenHit(hit)) => self.open_search_hit(hit, sink),
            Intent::Search(intent) => self.search.handle(intent, &self.tree.vaults),
            Intent::AccessChanges(intent) => self.handle_access_change(intent, sink),
            Intent::Transfer(intent) => self.handle_transfer(intent, sink),
            Intent::LocalIndex(intent) => self.handle_local_index(intent, sink),
            Intent::Changes(intent) => {
                let shown = Shown::of(self.selected_vault.as_ref(), &self.tree);
                let rows = self.objects.rows(shown);
                let row = |name: &str| rows.and_then(|rows| rows.item(rows.position(name)?));
                let context = change_context(
                    shown,
                    &self.objects,
                    self.tree.vault_summary_of(self.selected_vault.as_ref()),
                    self.session.who(),
                    &row,
                );
                self.changes
                    .handle(intent, &context, &mut self.shared, sink);
            }
            Intent::OpenUrl(url) => self.shared.url_to_open = Some(url),
            Intent::CopyText { what, text } => self.shared.copy_text(&what, text),
            Intent::SetTheme(theme) => self.theme = Some(theme),
            Intent::ShowCentre(CentreView::Secrets) => self.centre = CentreView::Secrets,
            Intent::ShowCentre(CentreView::Access) => self.show_access(sink),
            Intent::Close => {
                if self.search.open {
                    self.search.open = false;
                } else {
                    self.objects.close();
                }
            }
        }
    }

    fn handle_session(&mut self, intent: SessionIntent, sink: &mut dyn CommandSink) {
        match intent {
            SessionIntent::RetrySignIn => self.start(sink),
            SessionIntent::SignInWith(method) => {
                self.session.sign_in_method = Some(method);
                self.start(sink);
            }
            SessionIntent::SetSignInForm(form) => self.session.sign_in_form = form,
            SessionIntent::CancelSignIn => self.session.cancel_sign_in(sink),
            SessionIntent::SignOut => {
                if self.local_index.identity.is_some() {
                    // Asked first: keep or delete this identity's local index.
                    self.local_index.sign_out_asked = true;
                } else {
                    self.sign_out(sink);
                }
            }
        }
    }

    fn sign_out(&mut self, sink: &mut dyn CommandSink) {
        self.leave_identity(sink);
        self.local_index.leave();
        self.session.sign_out(&mut self.shared, sink);
    }

    fn handle_access_change(&mut self, intent: AccessChangesIntent, sink: &mut dyn CommandSink) {
        if self.changes.read_only {
            self.shared.set_notice(
                "Vaultscope was started with --read-only: nothing can be changed.",
                true,
            );
            return;
        }
        match intent {
            AccessChangesIntent::ApplyFix { fix, operation } => {
                // The signed-in identity's granted read is probed on the data plane afterwards.
                let probe = (self.access.checking == Some(PrincipalRef::Me))
                    .then(|| self.selected_vault.clone())
                    .flatten()
                    .and_then(|vault| {
                        let object = match self.access.target() {
                            crate::access::Target::Object { name, .. } => Some(name),
                            crate::access::Target::Vault => None,
                        };
                        crate::worker::access_changes::AccessProbe::for_operation(
                            vault,
                            operation.object_type,
                            operation.permission,
                            object,
                        )
                    });
                self.access_changes.ask_fix(*fix, operation, probe);
            }
            AccessChangesIntent::Revoke(revocation) => {
                self.access_changes.ask_revoke(*revocation);
            }
            AccessChangesIntent::Confirm => {
                let tenant = self.selected_vault_arm().and_then(|arm| arm.tenant_id);
                self.access_changes.confirm(tenant, sink);
            }
            AccessChangesIntent::Close => self.access_changes.close(),
            AccessChangesIntent::StopWaiting => self.access_changes.stop_waiting(sink),
        }
    }

    /// After an access change: into the change log, and the check runs again (and the policies and
    /// assignments are read again).
    fn access_changed(&mut self, applied: access_changes::Applied, sink: &mut dyn CommandSink) {
        let result = match &applied.result {
            Ok(()) => "done".to_owned(),
            Err(sentence) => format!("failed: {sentence}"),
        };
        let identity = self.session.audit_identity();
        self.changes.log_entry(
            &identity,
            &applied.change.vault_name(),
            "access",
            &applied.change.describe(),
            &result,
        );
        if applied.result.is_ok() {
            let vault = self.selected_vault_arm();
            if let Some(principal) = self.access.checking.clone() {
                self.access.check(principal, vault.clone(), sink);
            }
            self.access.handle(AccessIntent::Refresh, vault, sink);
        }
    }

    fn selected_vault_arm(&self) -> Option<tree::VaultArm> {
        self.tree.vault_arm(self.selected_vault()?)
    }

    fn show_access(&mut self, sink: &mut dyn CommandSink) {
        self.centre = CentreView::Access;
        let vault = self.selected_vault_arm();
        self.access.show(vault, sink);
    }

    /// From a 403: the Access view checks the signed-in identity for the operation that failed.
    fn check_forbidden(&mut self, sink: &mut dyn CommandSink) {
        let Some(forbidden) = self.shared.forbidden.clone() else {
            return;
        };
        self.show_access(sink);
        self.access.set_target(&forbidden.target);
        let vault = self.selected_vault_arm();
        self.access.check(PrincipalRef::Me, vault, sink);
        self.access.highlight = Some(forbidden.operation);
    }

    /// Selects a vault (loading it when it has not been), keeping the shown list kind.
    fn select_vault(&mut self, vault: VaultUri, sink: &mut dyn CommandSink) {
        if self.selected_vault.as_ref() != Some(&vault) {
            self.selected_vault = Some(vault.clone());
            self.objects.vault_changed();
            self.access.vault_changed();
            self.who_can.vault_changed();
            self.consumers.vault_changed();
            if self.centre == CentreView::Access {
                self.show_access(sink);
            }
        }
        self.local_index
            .touch(&vault, crate::ui::format::now_unix());
        if self.session.is_signed_in() {
            self.tree.open_vault(&vault, sink);
        } else {
            // The index shown before sign-in: browsing it waits for the sign-in to load anything.
            self.tree.bookmarks.touch(&vault);
        }
    }

    /// Goes to a vault or object URI: selects the vault (opening it when ARM does not list it), the list
    /// of the object's kind, the object and its version.
    fn open_uri(&mut self, text: &str, sink: &mut dyn CommandSink) {
        let text = text.trim();
        if let Ok(id) = ObjectId::parse(text) {
            let deleted = text.to_ascii_lowercase().contains("/deleted");
            self.select_vault(id.vault.clone(), sink);
            self.centre = CentreView::Secrets;
            self.objects.set_list(ListKind {
                kind: id.kind,
                deleted,
            });
            let shown = Shown::of(self.selected_vault.as_ref(), &self.tree);
            self.objects.select_object(id.name.clone(), shown, sink);
            if let Some(version) = id.version {
                self.objects.select_version(version, Some(&id.vault), sink);
            }
            self.tree.uri_input.clear();
        } else {
            match VaultUri::parse(text) {
                Ok(vault) if is_vault_root(text) => {
                    self.select_vault(vault, sink);
                    self.tree.uri_input.clear();
                }
                Ok(_) | Err(_) => self.shared.set_notice(
                    format!(
                        "Not a vault, secret, key or certificate URI: {text} (expected https://<vault>.vault.azure.net[/secrets|keys|certificates/<name>[/<version>]])"
                    ),
                    true,
                ),
            }
        }
    }

    fn open_search_hit(&mut self, hit: search::SearchHit, sink: &mut dyn CommandSink) {
        let Some(name) = self
            .tree
            .vaults
            .get(&hit.vault)
            .map(|contents| contents.list(hit.list).name(hit.index).to_owned())
            .filter(|name| !name.is_empty())
        else {
            return;
        };
        self.search.open = false;
        self.centre = CentreView::Secrets;
        self.select_vault(hit.vault, sink);
        self.objects.set_list(hit.list);
        self.objects.clear_filters();
        let shown = Shown::of(self.selected_vault.as_ref(), &self.tree);
        self.objects.select_object(name, shown, sink);
        self.objects.cursor_on_selected(shown);
    }

    fn portal(&self) -> Result<&str, &'static str> {
        self.portal_host
            .as_deref()
            .ok_or("The emulator has no Azure Portal")
    }

    /// The Azure Portal's page of `vault`, or why there is none.
    pub fn vault_portal_link(&self, vault: &VaultUri) -> Result<String, &'static str> {
        let portal = self.portal()?;
        let arm = self
            .tree
            .vault_arm(vault)
            .ok_or("ARM does not list this vault for you, so the Portal cannot be pointed at it")?;
        let tenant = arm.tenant_id.or_else(|| self.session.tenant_id());
        Ok(crate::azure::portal::vault_link(
            portal,
            tenant.as_deref(),
            &arm.arm_id,
        ))
    }

    /// The Azure Portal's page of a secret, key or certificate, or why there is none.
    pub fn object_portal_link(&self, id: &ObjectId) -> Result<String, &'static str> {
        let portal = self.portal()?;
        let tenant = self
            .tree
            .vault_arm(&id.vault)
            .and_then(|arm| arm.tenant_id)
            .or_else(|| self.session.tenant_id());
        Ok(crate::azure::portal::object_link(
            portal,
            tenant.as_deref(),
            id,
        ))
    }

    /// Whether the centre shows the 403 help for the selected vault (the explorer met one there).
    pub fn forbidden_here(&self) -> Option<&Forbidden> {
        self.forbidden().filter(|forbidden| {
            self.selected_vault()
                .is_some_and(|vault| vault.name() == forbidden.vault_name)
        })
    }
}

/// One list's answers of a frame: each name's last answer (`None`: the row goes).
type ListEdits = (VaultUri, ListKind, Vec<(String, Option<ObjectItem>)>);

/// What the change intents need of the rest of the window: the selected vault, list, object and version.
fn change_context<'a>(
    shown: Shown<'a>,
    objects: &ObjectsState,
    summary: Option<&'a VaultSummary>,
    identity: String,
    row: &'a dyn Fn(&str) -> Option<ObjectItem>,
) -> changes::ChangeContext<'a> {
    let selected = objects.selected_item(shown);
    // The selected version, or the newest of the loaded versions (else the row: the latest, versionless).
    let version = objects.selected_version_item(shown).and_then(|item| {
        let newest = objects
            .selected_version
            .is_none()
            .then(|| {
                objects
                    .versions
                    .items
                    .iter()
                    .max_by_key(|item| item.attributes.created)
                    .cloned()
            })
            .flatten();
        let item = newest.unwrap_or(item);
        // "Latest" is edited as the latest (`PATCH /{kind}/{name}/`), whichever version that is by then.
        let latest = objects.selected_version.is_none();
        item.object_id().map(|mut id| {
            if latest {
                id.version = None;
            }
            (id, item)
        })
    });
    changes::ChangeContext {
        vault: shown.vault,
        summary,
        list: objects.selected_list,
        selected,
        version,
        row,
        identity,
    }
}

/// Whether `text` names a vault root (`https://host[:port][/]`), not some other path on it.
fn is_vault_root(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| url.path().trim_matches('/').is_empty())
}
