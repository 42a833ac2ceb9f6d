//! Everything the UI shows, changed only by applying worker `Event`s and the person's `Intent`s.
//!
//! Pure data and logic, no egui: tests drive it with fake command sinks. Events whose request id is no longer
//! awaited (superseded, or for a view the person left) are dropped here.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use super::access_state::{AccessState, CentreView, Forbidden, HighlightedOperation};
use super::explorer_state::{
    DetailsState, QuickFilters, SearchHit, SearchResults, VaultBookmarks, VaultContents,
    VersionList, filter_list,
};
use crate::access::{ObjectType, Target};
use crate::auth::SignedInIdentity;
use crate::auth::device_code::DeviceCodePrompt;
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::models::{ListKind, ObjectItem, Subscription, VaultSummary};
use crate::worker::{
    Command, Event, EventKind, Outcome, PrincipalRef, RequestId, SignInMethod, WorkerError,
};

/// Where commands go: the worker in the app, a recorder in tests.
pub trait CommandSink {
    fn send(&mut self, command: Command) -> RequestId;
    /// Cancels a running command; it still ends with one terminal event.
    fn cancel(&mut self, request_id: RequestId);
}

impl CommandSink for crate::worker::WorkerHandle {
    fn send(&mut self, command: Command) -> RequestId {
        crate::worker::WorkerHandle::send(self, command)
    }

    fn cancel(&mut self, request_id: RequestId) {
        crate::worker::WorkerHandle::cancel(self, request_id);
    }
}

/// The editable fields of the sign-in screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInForm {
    /// Device code: tenant id or domain (`organizations` for any work account).
    pub tenant: String,
    /// Device code: the public client id.
    pub client_id: String,
    /// Managed identity: empty for system-assigned; a client id, `object:<id>` or a resource id.
    pub identity: String,
    /// Azure CLI: empty for the CLI's current tenant.
    pub cli_tenant: String,
}

impl Default for SignInForm {
    fn default() -> Self {
        Self {
            tenant: "organizations".into(),
            client_id: crate::auth::device_code::AZURE_CLI_CLIENT_ID.into(),
            identity: String::new(),
            cli_tenant: String::new(),
        }
    }
}

/// The life of something loaded from the worker.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LoadStatus {
    #[default]
    NotLoaded,
    Loading,
    Loaded,
    Failed(String),
}

impl LoadStatus {
    pub fn is_loading(&self) -> bool {
        matches!(self, Self::Loading)
    }
}

/// Sign-in progress.
#[derive(Debug, Clone, Default)]
pub enum SignInState {
    #[default]
    NotStarted,
    InProgress {
        prompt: Option<DeviceCodePrompt>,
    },
    SignedIn(SignedInIdentity),
    Failed(String),
}

/// A subscription in the tree with its vaults.
#[derive(Debug, Clone)]
pub struct SubscriptionNode {
    pub subscription: Subscription,
    pub vaults: Vec<VaultSummary>,
    pub vaults_status: LoadStatus,
}

/// A value fetched after the person asked for it. Shown only while `visible`.
pub struct FetchedValue {
    pub id: ObjectId,
    pub value: SecretString,
    pub visible: bool,
}

impl std::fmt::Debug for FetchedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchedValue")
            .field("id", &self.id)
            .field("visible", &self.visible)
            .finish_non_exhaustive()
    }
}

/// What the person asked for in this frame; applied once at the end of the frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    RetrySignIn,
    SignInWith(SignInMethod),
    SetSignInForm(SignInForm),
    CancelSignIn,
    /// Sign out (forgetting a saved sign-in) and go back to the sign-in screen.
    SignOut,
    OpenUrl(String),
    RefreshSubscriptions,
    SelectVault(VaultUri),
    RefreshVault,
    /// Load every vault in the tree (and opened by URI) that is not loaded yet, or all again.
    LoadAllVaults,
    /// Show secrets, keys, certificates or one of the deleted lists of the selected vault.
    SelectList(ListKind),
    /// Select an object of the shown list by name.
    SelectObject(String),
    SelectVersion(Option<String>),
    /// Go to a vault, secret, key or certificate URI (versioned or not).
    OpenUri(String),
    SetUriInput(String),
    TogglePin(VaultUri),
    /// Keyboard: move the highlighted row by this many rows (negative: up).
    MoveCursor(i64),
    /// Keyboard: open the highlighted row.
    OpenCursor,
    /// Keyboard: close what is open (search, then the selected object).
    Close,
    /// Copy the selected object's identifier (versioned when a version is selected).
    CopySelectedIdentifier,
    OpenSearch,
    /// The search field took the focus the opening asked for.
    SearchFocused,
    SetSearchCursor(usize),
    SetSearch(String),
    SetSearchFilters(QuickFilters),
    /// Go to a search result.
    OpenSearchHit(SearchHit),
    SetListFilters(QuickFilters),
    ToggleRawJson,
    /// Dark or light; the app applies it to the context and remembers it.
    SetTheme(ThemeChoice),
    /// Fetch (if needed) and show the value of this secret version.
    RevealValue(ObjectId),
    HideValue,
    /// Fetch (if needed) and copy the value of this secret version.
    CopyValue(ObjectId),
    /// Copy a non-secret text (identifier, name, reference).
    CopyText {
        what: String,
        text: String,
    },
    SetFilter(String),
    ShowCentre(CentreView),
    /// Read the selected vault's policies and assignments again.
    RefreshAccess,
    SearchPrincipals(String),
    SetPastedId(String),
    SetAccessTarget {
        object_type: Option<ObjectType>,
        name: String,
    },
    CheckAccess(PrincipalRef),
    /// From a 403: check the signed-in identity for the operation that failed.
    CheckForbidden,
}

/// What the value request is for, so its result lands in the right place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValuePurpose {
    Reveal,
    Copy,
}

/// What a request id is for.
#[derive(Debug, Clone)]
enum Pending {
    SignIn,
    SignOut,
    Subscriptions,
    Vaults(String),
    LoadVault(VaultUri),
    Versions(ObjectId),
    Details(ObjectId),
    Value(ObjectId, ValuePurpose),
    VaultAccess(String),
    PrincipalSearch(String),
    AccessCheck(String),
}

/// A transient message in the status bar (copy confirmations, errors of background work).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// Text to put on the clipboard this frame; the app hands it to egui.
pub struct ClipboardRequest {
    pub text: SecretString,
    /// A secret value: kept out of clipboard history and cleared after a delay.
    pub is_secret: bool,
}

/// The colour theme the person picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeChoice {
    Dark,
    Light,
}

/// The Ctrl+K search box.
#[derive(Debug, Clone, Default)]
pub struct SearchState {
    pub open: bool,
    pub query: String,
    pub filters: QuickFilters,
    pub results: SearchResults,
    /// The highlighted result.
    pub cursor: usize,
    /// Set when the box opens, so the view focuses its text field once.
    pub focus_requested: bool,
    /// The keyboard moved the cursor this frame: the view scrolls it into sight once.
    pub cursor_moved: bool,
    /// New rows arrived since the results were computed.
    pub stale: bool,
}

/// How many search results are listed (the count says how many matched in all).
pub const SEARCH_RESULT_LIMIT: usize = 500;

/// The whole UI state.
#[derive(Default)]
pub struct AppState {
    pub sign_in_method: Option<SignInMethod>,
    pub sign_in: SignInState,
    /// The sign-in screen's rows: what each method needs and whether it looks available.
    pub sign_in_methods: Vec<crate::auth::availability::MethodAvailability>,
    pub sign_in_form: SignInForm,
    /// A device-code sign-in to remember across launches (tenant, client id); never secrets.
    pub remembered_device_code: Option<(String, String)>,
    url_to_open: Option<String>,
    pub subscriptions: Vec<SubscriptionNode>,
    /// The tenants the identity can reach (names for the tree).
    pub tenants: Vec<crate::azure::models::Tenant>,
    pub subscriptions_status: LoadStatus,
    pub selected_vault: Option<VaultUri>,
    /// Everything loaded, per vault.
    pub vaults: HashMap<VaultUri, VaultContents>,
    /// Vaults opened by URI that ARM does not list (data-plane access only), in opening order.
    pub opened_vaults: Vec<VaultUri>,
    pub bookmarks: VaultBookmarks,
    /// The "open by URI" field.
    pub uri_input: String,
    /// Which list of the selected vault is shown.
    pub selected_list: ListKind,
    /// The selected object's name in that list.
    pub selected_object: Option<String>,
    /// `None`: the latest version.
    pub selected_version: Option<String>,
    /// The keyboard's row in the filtered list.
    pub cursor: Option<usize>,
    /// Where the selected object's row was when it was selected (checked before use).
    selected_row: Option<usize>,
    pub versions: VersionList,
    pub details: DetailsState,
    pub show_raw_json: bool,
    pub list_filters: QuickFilters,
    pub search: SearchState,
    /// The theme the person chose (`None`: follow the system); persisted.
    pub theme: Option<ThemeChoice>,
    pub value: Option<FetchedValue>,
    pub value_status: LoadStatus,
    pub filter: String,
    pub notice: Option<Notice>,
    pub centre: CentreView,
    pub access: AccessState,
    /// The last permission 403 met while browsing, for the "check my access" help.
    pub forbidden: Option<Forbidden>,
    pending: HashMap<RequestId, Pending>,
    clipboard: Option<ClipboardRequest>,
}

impl AppState {
    /// A state that signs in with `sign_in_method` at start, or shows the sign-in screen for `None`.
    pub fn new(sign_in_method: impl Into<Option<SignInMethod>>) -> Self {
        Self {
            sign_in_method: sign_in_method.into(),
            ..Default::default()
        }
    }

    /// The URL the person asked to open this frame, if any.
    pub fn take_url_to_open(&mut self) -> Option<String> {
        self.url_to_open.take()
    }

    /// Stops the work still running for the identity being left (vault loads, versions, searches…), so a
    /// "Load all" does not go on in the background after a sign-out or a switch.
    fn cancel_explorer_requests(&mut self, sink: &mut dyn CommandSink) {
        for (id, pending) in &self.pending {
            if !matches!(pending, Pending::SignIn | Pending::SignOut) {
                sink.cancel(*id);
            }
        }
    }

    /// Forgets everything of the signed-in identity: tree, lists, selection, access, pending work.
    fn reset_explorer(&mut self) {
        self.pending
            .retain(|_, pending| matches!(pending, Pending::SignIn | Pending::SignOut));
        self.subscriptions.clear();
        self.tenants.clear();
        self.subscriptions_status = LoadStatus::NotLoaded;
        self.selected_vault = None;
        self.vaults.clear();
        self.opened_vaults.clear();
        self.selected_list = ListKind::live(ObjectKind::Secret);
        self.selected_object = None;
        self.selected_version = None;
        self.cursor = None;
        self.versions = VersionList::default();
        self.details = DetailsState::default();
        self.search = SearchState::default();
        self.value = None;
        self.value_status = LoadStatus::NotLoaded;
        self.filter.clear();
        self.centre = CentreView::Secrets;
        self.access = AccessState::default();
        self.forbidden = None;
    }

    /// Starts signing in with the configured method.
    pub fn start(&mut self, sink: &mut dyn CommandSink) {
        if let Some(method) = self.sign_in_method.clone() {
            self.cancel_explorer_requests(sink);
            self.reset_explorer();
            self.pending
                .retain(|_, pending| !matches!(pending, Pending::SignIn));
            let id = sink.send(Command::SignIn(method));
            self.pending.insert(id, Pending::SignIn);
            self.sign_in = SignInState::InProgress { prompt: None };
        }
    }

    /// Number of requests still running (for the activity indicator).
    pub fn requests_in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Replaces the status-bar notice (the app reports what the clipboard did).
    pub fn set_notice(&mut self, text: impl Into<String>, is_error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            is_error,
        });
    }

    /// Takes the clipboard request of this frame, if any.
    pub fn take_clipboard_request(&mut self) -> Option<ClipboardRequest> {
        self.clipboard.take()
    }

    pub fn selected_vault_summary(&self) -> Option<&VaultSummary> {
        self.vault_summary(self.selected_vault.as_ref()?)
    }

    /// What ARM said about the vault at `uri`, if it is in the tree.
    pub fn vault_summary(&self, uri: &VaultUri) -> Option<&VaultSummary> {
        self.subscriptions
            .iter()
            .flat_map(|node| &node.vaults)
            .find(|vault| &vault.uri == uri)
    }

    /// The selected vault's loaded contents.
    pub fn selected_contents(&self) -> Option<&VaultContents> {
        self.vaults.get(self.selected_vault.as_ref()?)
    }

    /// The shown list of the selected vault.
    pub fn selected_list_rows(&self) -> Option<&super::explorer_state::ObjectList> {
        Some(self.selected_contents()?.list(self.selected_list))
    }

    /// The selected object's row in the shown list.
    pub fn selected_item(&self) -> Option<&ObjectItem> {
        let list = self.selected_list_rows()?;
        let name = self.selected_object.as_ref()?;
        // The row found at selection time, while it still holds that name; else a search (after a reload).
        let index = self
            .selected_row
            .filter(|&row| {
                list.names_lower
                    .get(row)
                    .is_some_and(|lower| lower.eq_ignore_ascii_case(name))
            })
            .or_else(|| list.position(name))?;
        list.items.get(index)
    }

    /// The row of the selected version: from the version list, else the list row (latest).
    pub fn selected_version_item(&self) -> Option<&ObjectItem> {
        if let Some(version) = &self.selected_version
            && let Some(item) = self
                .versions
                .items
                .iter()
                .find(|item| item.version().as_deref() == Some(version.as_str()))
        {
            return Some(item);
        }
        self.selected_item()
    }

    /// The identifier of the selected object at the selected version (latest: versionless).
    pub fn selected_object_id(&self) -> Option<ObjectId> {
        Some(ObjectId {
            vault: self.selected_vault.clone()?,
            kind: self.selected_list.kind,
            name: self.selected_object.clone()?,
            version: self.selected_version.clone(),
        })
    }

    /// Indices of the shown list's rows matching the filter and quick filters.
    pub fn filtered_indices(&self) -> Vec<usize> {
        let Some(list) = self.selected_list_rows() else {
            return Vec::new();
        };
        filter_list(
            list,
            &self.filter.trim().to_lowercase(),
            &self.list_filters,
            super::format::now_unix(),
        )
    }

    /// Every vault the explorer knows: the tree's, then those opened by URI.
    pub fn known_vaults(&self) -> Vec<VaultUri> {
        let mut vaults: Vec<VaultUri> = self
            .subscriptions
            .iter()
            .flat_map(|node| node.vaults.iter().map(|vault| vault.uri.clone()))
            .collect();
        for uri in &self.opened_vaults {
            if !vaults.contains(uri) {
                vaults.push(uri.clone());
            }
        }
        vaults
    }

    /// Vaults still loading (queued or running) and loaded, for the progress line.
    pub fn load_progress(&self) -> (usize, usize) {
        let loading = self
            .vaults
            .values()
            .filter(|contents| contents.status.is_loading())
            .count();
        let loaded = self
            .vaults
            .values()
            .filter(|contents| contents.loaded_at.is_some())
            .count();
        (loading, loaded)
    }

    /// Applies one worker event.
    pub fn apply(&mut self, event: Event, sink: &mut dyn CommandSink) {
        let Some(pending) = self.pending.get(&event.request_id).cloned() else {
            // Stale: superseded, or for a view that was left.
            return;
        };
        match event.kind {
            EventKind::Finished(outcome) => {
                self.pending.remove(&event.request_id);
                self.finish(pending, outcome);
            }
            kind => self.apply_progress(pending, kind, sink),
        }
    }

    fn apply_progress(&mut self, pending: Pending, kind: EventKind, sink: &mut dyn CommandSink) {
        match (pending, kind) {
            (Pending::SignIn, EventKind::DeviceCode(prompt)) => {
                self.sign_in = SignInState::InProgress {
                    prompt: Some(prompt),
                };
            }
            (Pending::SignIn, EventKind::SignedIn(identity)) => {
                self.remembered_device_code = match &self.sign_in_method {
                    Some(SignInMethod::DeviceCode { tenant, client_id })
                    | Some(SignInMethod::SavedDeviceCode { tenant, client_id }) => {
                        Some((tenant.clone(), client_id.clone()))
                    }
                    _ => None,
                };
                self.sign_in = SignInState::SignedIn(identity);
                self.notice = None;
                self.load_subscriptions(sink);
            }
            (Pending::Subscriptions, EventKind::Tenants(tenants)) => self.tenants = tenants,
            (Pending::Subscriptions, EventKind::TenantUnavailable { tenant_id, reason }) => {
                let name = self
                    .tenant_name(&tenant_id)
                    .unwrap_or_else(|| tenant_id.clone());
                self.notice = Some(Notice {
                    text: format!("Tenant {name} was skipped: {reason}"),
                    is_error: true,
                });
            }
            (Pending::Subscriptions, EventKind::SubscriptionsPage(page)) => {
                for subscription in page {
                    let id = sink.send(Command::ListVaults {
                        subscription_id: subscription.subscription_id.clone(),
                        tenant_id: Some(subscription.tenant_id.clone())
                            .filter(|tenant| !tenant.is_empty()),
                    });
                    self.pending
                        .insert(id, Pending::Vaults(subscription.subscription_id.clone()));
                    self.subscriptions.push(SubscriptionNode {
                        subscription,
                        vaults: Vec::new(),
                        vaults_status: LoadStatus::Loading,
                    });
                }
                self.subscriptions.sort_by(|a, b| {
                    a.subscription
                        .display_name
                        .to_lowercase()
                        .cmp(&b.subscription.display_name.to_lowercase())
                });
            }
            (Pending::Vaults(subscription_id), EventKind::VaultsPage { vaults, .. }) => {
                if let Some(node) = self
                    .subscriptions
                    .iter_mut()
                    .find(|node| node.subscription.subscription_id == subscription_id)
                {
                    node.vaults.extend(vaults);
                    node.vaults.sort_by_key(|vault| vault.name.to_lowercase());
                }
            }
            (Pending::LoadVault(vault), EventKind::ObjectsPage { list, items, .. }) => {
                if let Some(contents) = self.vaults.get_mut(&vault) {
                    contents.started = true;
                    contents.add_page(list, items);
                }
                // Searched again once per frame, not once per page (a big load brings thousands).
                self.search.stale = true;
            }
            (Pending::LoadVault(vault), EventKind::ListEnded { list, error, .. }) => {
                // Listing deleted items needs the same `list` permission (access policies).
                let message = error.as_ref().map(|error| {
                    self.note_forbidden(
                        error,
                        &vault,
                        ObjectType::from(list.kind),
                        "list",
                        Target::Vault,
                    )
                    .unwrap_or_else(|| explain(error))
                });
                if let Some(contents) = self.vaults.get_mut(&vault) {
                    contents.started = true;
                    contents.end_list(list, message);
                }
            }
            (Pending::Versions(id), EventKind::VersionsPage { items, .. })
                if self.versions.id.as_ref() == Some(&id) =>
            {
                self.versions.items.extend(items);
                // Newest first.
                self.versions
                    .items
                    .sort_by_key(|item| std::cmp::Reverse(item.attributes.created.unwrap_or(0)));
            }
            (Pending::Details(requested), EventKind::Details { details, raw, .. })
                if self.details.id.as_ref() == Some(&requested) =>
            {
                self.details.details = Some(details);
                self.details.raw = Some(*raw);
            }
            (Pending::Value(requested, purpose), EventKind::SecretValue { id, value }) => {
                if purpose == ValuePurpose::Copy {
                    self.clipboard = Some(ClipboardRequest {
                        text: SecretString::from(value.expose_secret()),
                        is_secret: true,
                    });
                    self.notice = Some(Notice {
                        text: format!("Copied the value of {}", id.name),
                        is_error: false,
                    });
                }
                let visible = purpose == ValuePurpose::Reveal
                    || self
                        .value
                        .as_ref()
                        .is_some_and(|v| v.visible && v.id == requested);
                self.value = Some(FetchedValue {
                    id: requested,
                    value,
                    visible,
                });
            }
            (Pending::VaultAccess(arm_id), EventKind::VaultAccess { data, .. })
                if self.access.vault_arm_id.as_deref() == Some(arm_id.as_str()) =>
            {
                self.access.data = Some(data);
            }
            (Pending::PrincipalSearch(text), EventKind::PrincipalsFound { principals, .. })
                if self.access.search_text == text =>
            {
                self.access.search_results = principals;
            }
            (
                Pending::AccessCheck(arm_id),
                EventKind::AccessChecked {
                    data, evaluation, ..
                },
            ) if self.access.vault_arm_id.as_deref() == Some(arm_id.as_str()) => {
                self.access.data = Some(data);
                self.access.data_status = LoadStatus::Loaded;
                self.access.evaluation = Some(evaluation);
            }
            (pending, kind) => {
                tracing::warn!(?pending, event = ?std::mem::discriminant(&kind), "event does not match its request");
            }
        }
    }

    fn finish(&mut self, pending: Pending, outcome: Outcome) {
        let status = match &outcome {
            Outcome::Done => LoadStatus::Loaded,
            Outcome::Failed(error) => LoadStatus::Failed(explain(error)),
            // A cancelled load is incomplete: show it as not loaded so it is fetched again when needed.
            Outcome::Cancelled => LoadStatus::NotLoaded,
        };
        match pending {
            Pending::SignIn => {
                if let Outcome::Failed(error) = outcome {
                    if matches!(
                        self.sign_in_method,
                        Some(SignInMethod::SavedDeviceCode { .. })
                    ) {
                        self.remembered_device_code = None;
                    }
                    self.sign_in = SignInState::Failed(explain(&error));
                } else if let SignInState::InProgress { .. } = self.sign_in {
                    self.sign_in = SignInState::NotStarted;
                }
            }
            Pending::SignOut => {
                if let Outcome::Failed(error) = outcome {
                    self.notice = Some(Notice {
                        text: explain(&error),
                        is_error: true,
                    });
                }
            }
            Pending::Subscriptions => self.subscriptions_status = status,
            Pending::Vaults(subscription_id) => {
                if let Some(node) = self
                    .subscriptions
                    .iter_mut()
                    .find(|node| node.subscription.subscription_id == subscription_id)
                {
                    node.vaults_status = status;
                }
            }
            Pending::LoadVault(vault) => {
                if let Some(contents) = self.vaults.get_mut(&vault) {
                    contents.failure = match &outcome {
                        Outcome::Failed(error) => Some(failure_word(error)),
                        _ => None,
                    };
                    contents.end_load(status);
                }
                // Searched again once per frame, not once per page (a big load brings thousands).
                self.search.stale = true;
            }
            Pending::Details(_) => self.details.status = status,
            Pending::VaultAccess(_) => self.access.data_status = status,
            Pending::PrincipalSearch(_) => self.access.search_status = status,
            Pending::AccessCheck(_) => self.access.check_status = status,
            Pending::Versions(id) => {
                if let Outcome::Failed(error) = &outcome {
                    let object_type = ObjectType::from(id.kind);
                    let target = Target::Object {
                        object_type,
                        name: id.name,
                    };
                    // Secrets have their own "list versions" operation; keys and certificates list
                    // versions with their `list` permission.
                    let permission = if id.kind == ObjectKind::Secret {
                        "list versions"
                    } else {
                        "list"
                    };
                    if let Some(message) =
                        self.note_forbidden(error, &id.vault, object_type, permission, target)
                    {
                        self.versions.status = LoadStatus::Failed(message);
                        return;
                    }
                }
                self.versions.status = status;
            }
            Pending::Value(id, purpose) => {
                if let Outcome::Failed(error) = &outcome {
                    let target = Target::Object {
                        object_type: ObjectType::Secret,
                        name: id.name.clone(),
                    };
                    if let Some(message) =
                        self.note_forbidden(error, &id.vault, ObjectType::Secret, "get", target)
                    {
                        self.value_status = LoadStatus::Failed(message);
                        if purpose == ValuePurpose::Copy {
                            self.notice = Some(Notice {
                                text: format!(
                                    "Did not copy the value of {}: access denied",
                                    id.name
                                ),
                                is_error: true,
                            });
                        }
                        return;
                    }
                }
                // The full reason is shown in place, in the details panel; a failed copy
                // also says so in the status bar, where the user looks for "Copied".
                if matches!(status, LoadStatus::Failed(_)) && purpose == ValuePurpose::Copy {
                    self.notice = Some(Notice {
                        text: format!(
                            "Did not copy the value of {}: see the details panel",
                            id.name
                        ),
                        is_error: true,
                    });
                }
                self.value_status = status;
            }
        }
    }

    /// Remembers a permission 403 (not a firewall one) so the view can offer to explain it, and returns
    /// the sentence to show: who may not do what, where, with the service's words.
    fn note_forbidden(
        &mut self,
        error: &WorkerError,
        vault: &VaultUri,
        object_type: ObjectType,
        permission: &'static str,
        target: Target,
    ) -> Option<String> {
        use crate::worker::protocol::FailureReason;
        let is_permission_403 = matches!(&error.source, FailureReason::Azure(azure)
            if azure.status() == Some(403) && !azure.is_network_forbidden()
                && !matches!(azure, crate::azure::AzureError::Service { inner_code: Some(inner), .. } if inner == "SecretDisabled"));
        if !is_permission_403 {
            return None;
        }
        let vault_arm_id = self
            .vault_summary(vault)
            .and_then(|summary| summary.arm_id.clone());
        let who = match &self.sign_in {
            SignInState::SignedIn(identity) => identity.label(),
            _ => "This identity".to_owned(),
        };
        let what = match &target {
            Target::Object { name, .. } => format!("{} {name}", object_type.singular()),
            Target::Vault => format!("{} in {}", object_type.title().to_lowercase(), vault.name()),
        };
        let service = match &error.source {
            FailureReason::Azure(crate::azure::AzureError::Service {
                message,
                inner_code,
                ..
            }) => match inner_code {
                Some(inner) => format!(" (HTTP 403, {inner}: {message})"),
                None => format!(" (HTTP 403: {message})"),
            },
            _ => String::new(),
        };
        let message = format!(
            "{who} lacks the '{permission}' permission on {what}{service}. \
             \"Why? Check my access\" shows what would grant it."
        );
        self.forbidden = Some(Forbidden {
            vault_arm_id,
            vault_name: vault.name().to_owned(),
            operation: HighlightedOperation {
                object_type,
                permission,
            },
            target,
            message: message.clone(),
        });
        Some(message)
    }

    /// The selected vault's ARM id and its subscription's name.
    /// The selected vault's ARM id, its subscription's name and its tenant.
    fn selected_vault_arm(&self) -> Option<(String, Option<String>, Option<String>)> {
        let summary = self.selected_vault_summary()?;
        let arm_id = summary.arm_id.clone()?;
        let subscription = self.subscriptions.iter().find(|node| {
            Some(&node.subscription.subscription_id) == summary.subscription_id.as_ref()
        });
        let subscription_name = subscription.map(|node| node.subscription.display_name.clone());
        let tenant = subscription
            .map(|node| node.subscription.tenant_id.clone())
            .filter(|tenant| !tenant.is_empty());
        Some((arm_id, subscription_name, tenant))
    }

    /// A tenant's display name, when `/tenants` named it.
    pub fn tenant_name(&self, tenant_id: &str) -> Option<String> {
        self.tenants
            .iter()
            .find(|tenant| tenant.tenant_id.eq_ignore_ascii_case(tenant_id))
            .map(crate::azure::models::Tenant::name)
    }

    /// Whether the tree holds subscriptions of more than one tenant.
    pub fn spans_tenants(&self) -> bool {
        let mut tenants = self
            .subscriptions
            .iter()
            .map(|node| node.subscription.tenant_id.to_ascii_lowercase());
        tenants
            .next()
            .is_some_and(|first| tenants.any(|other| other != first))
    }

    fn load_access(&mut self, sink: &mut dyn CommandSink) {
        let Some((arm_id, subscription_name, tenant_id)) = self.selected_vault_arm() else {
            self.access.data_status = LoadStatus::Failed(
                "ARM does not list this vault for you, so its access policies and role assignments cannot be read.".into(),
            );
            return;
        };
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::VaultAccess(_)));
        let id = sink.send(Command::LoadVaultAccess {
            arm_id: arm_id.clone(),
            subscription_name,
            tenant_id,
        });
        self.pending.insert(id, Pending::VaultAccess(arm_id));
        self.access.data_status = LoadStatus::Loading;
    }

    fn check_access(&mut self, principal: PrincipalRef, sink: &mut dyn CommandSink) {
        let Some((arm_id, subscription_name, tenant_id)) = self.selected_vault_arm() else {
            self.access.check_status = LoadStatus::Failed(
                "ARM does not list this vault for you, so its access cannot be evaluated.".into(),
            );
            return;
        };
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::AccessCheck(_)));
        let id = sink.send(Command::CheckAccess {
            arm_id: arm_id.clone(),
            subscription_name,
            tenant_id,
            principal: principal.clone(),
            target: self.access.target(),
        });
        self.pending.insert(id, Pending::AccessCheck(arm_id));
        self.access.checking = Some(principal);
        self.access.evaluation = None;
        self.access.check_status = LoadStatus::Loading;
    }

    fn show_access(&mut self, sink: &mut dyn CommandSink) {
        self.centre = CentreView::Access;
        let arm_id = self.selected_vault_arm().map(|(arm_id, ..)| arm_id);
        if self.access.vault_arm_id != arm_id {
            self.access.reset_for(arm_id);
        }
        if matches!(
            self.access.data_status,
            LoadStatus::NotLoaded | LoadStatus::Failed(_)
        ) {
            self.load_access(sink);
        }
    }

    fn load_subscriptions(&mut self, sink: &mut dyn CommandSink) {
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Subscriptions | Pending::Vaults(_)));
        self.subscriptions.clear();
        let id = sink.send(Command::ListSubscriptions);
        self.pending.insert(id, Pending::Subscriptions);
        self.subscriptions_status = LoadStatus::Loading;
    }

    /// Loads (or reloads) a vault; what it showed stays until each list arrives whole.
    fn load_vault(&mut self, vault: VaultUri, sink: &mut dyn CommandSink) {
        // The worker cancels an earlier load of the same vault; its terminal event is dropped here.
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::LoadVault(v) if *v == vault));
        let id = sink.send(Command::LoadVault {
            vault: vault.clone(),
        });
        self.pending.insert(id, Pending::LoadVault(vault.clone()));
        self.vaults.entry(vault).or_default().begin_load();
    }

    fn load_versions(&mut self, id: ObjectId, sink: &mut dyn CommandSink) {
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Versions(..)));
        let request = sink.send(Command::ListVersions { id: id.clone() });
        self.pending.insert(request, Pending::Versions(id.clone()));
        self.versions = VersionList {
            id: Some(id),
            items: Vec::new(),
            status: LoadStatus::Loading,
        };
    }

    /// Reads the key's or certificate's bundle for the selected version (secrets need no second read).
    fn load_details(&mut self, sink: &mut dyn CommandSink) {
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Details(..)));
        self.details = DetailsState::default();
        let Some(id) = self.selected_object_id() else {
            return;
        };
        if id.kind == ObjectKind::Secret || self.selected_list.deleted {
            return;
        }
        let request = sink.send(Command::GetDetails { id: id.clone() });
        self.pending.insert(request, Pending::Details(id.clone()));
        self.details = DetailsState {
            id: Some(id),
            status: LoadStatus::Loading,
            ..DetailsState::default()
        };
    }

    /// Selects an object of the shown list: its versions and details load, its value is forgotten.
    fn select_object(&mut self, name: String, sink: &mut dyn CommandSink) {
        if self.selected_object.as_deref() == Some(&name) {
            return;
        }
        self.selected_object = Some(name.clone());
        self.selected_row = self
            .selected_list_rows()
            .and_then(|rows| rows.position(&name));
        self.selected_version = None;
        self.forget_value();
        if let Some(vault) = self.selected_vault.clone() {
            if self.selected_list.deleted {
                // Deleted objects have no version list; their row says everything.
                self.pending
                    .retain(|_, pending| !matches!(pending, Pending::Versions(..)));
                self.versions = VersionList::default();
            } else {
                self.load_versions(
                    ObjectId {
                        vault,
                        kind: self.selected_list.kind,
                        name,
                        version: None,
                    },
                    sink,
                );
            }
        }
        self.load_details(sink);
    }

    /// Selects a vault (loading it when it has not been), keeping the shown list kind.
    fn select_vault(&mut self, vault: VaultUri, sink: &mut dyn CommandSink) {
        if self.selected_vault.as_ref() != Some(&vault) {
            self.selected_vault = Some(vault.clone());
            self.clear_object_selection();
            self.cursor = None;
            self.pending.retain(|_, pending| {
                !matches!(pending, Pending::VaultAccess(_) | Pending::AccessCheck(_))
            });
            self.access.reset_for(None);
            if self.centre == CentreView::Access {
                self.show_access(sink);
            }
        }
        self.bookmarks.touch(&vault);
        if self.vault_summary(&vault).is_none() && !self.opened_vaults.contains(&vault) {
            self.opened_vaults.push(vault.clone());
        }
        let needs_load = self
            .vaults
            .get(&vault)
            .is_none_or(|contents| contents.loaded_at.is_none() && !contents.status.is_loading());
        if needs_load {
            self.load_vault(vault, sink);
        }
    }

    fn clear_object_selection(&mut self) {
        self.selected_object = None;
        self.selected_version = None;
        self.versions = VersionList::default();
        self.details = DetailsState::default();
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Versions(..) | Pending::Details(..)));
        self.forget_value();
    }

    /// Goes to a vault or object URI: selects the vault (opening it when ARM does not list it), the list
    /// of the object's kind, the object and its version.
    fn open_uri(&mut self, text: &str, sink: &mut dyn CommandSink) {
        let text = text.trim();
        if let Ok(id) = ObjectId::parse(text) {
            let deleted = text.to_ascii_lowercase().contains("/deleted");
            self.select_vault(id.vault.clone(), sink);
            self.centre = CentreView::Secrets;
            self.set_list(ListKind {
                kind: id.kind,
                deleted,
            });
            self.select_object(id.name.clone(), sink);
            if id.version.is_some() {
                self.selected_version = id.version.clone();
                self.load_details(sink);
            }
            self.uri_input.clear();
        } else {
            match VaultUri::parse(text) {
                Ok(vault) if Self::is_vault_root(text) => {
                    self.select_vault(vault, sink);
                    self.uri_input.clear();
                }
                Ok(_) | Err(_) => {
                    self.notice = Some(Notice {
                        text: format!(
                            "Not a vault, secret, key or certificate URI: {text} (expected https://<vault>.vault.azure.net[/secrets|keys|certificates/<name>[/<version>]])"
                        ),
                        is_error: true,
                    });
                }
            }
        }
    }

    /// Whether `text` names a vault root (`https://host[:port][/]`), not some other path on it.
    fn is_vault_root(text: &str) -> bool {
        url::Url::parse(text).is_ok_and(|url| url.path().trim_matches('/').is_empty())
    }

    /// Puts the keyboard cursor on the selected object's row (none when the filter hides it).
    fn cursor_on_selected(&mut self) {
        self.cursor = self.selected_row.and_then(|row| {
            self.filtered_indices()
                .iter()
                .position(|&index| index == row)
        });
    }

    fn set_list(&mut self, list: ListKind) {
        if self.selected_list != list {
            self.selected_list = list;
            self.clear_object_selection();
            self.cursor = None;
        }
    }

    /// Runs the open search again if rows arrived since; the app calls this once per frame.
    pub fn refresh_search(&mut self) {
        if self.search.open && self.search.stale {
            self.run_search();
        }
    }

    /// Runs the Ctrl+K search again (after typing, filter changes, or new pages).
    fn run_search(&mut self) {
        self.search.stale = false;
        self.search.results = super::explorer_state::search(
            &self.vaults,
            &self.search.query,
            &self.search.filters,
            super::format::now_unix(),
            SEARCH_RESULT_LIMIT,
        );
        self.search.cursor = self
            .search
            .cursor
            .min(self.search.results.hits.len().saturating_sub(1));
    }

    fn open_search_hit(&mut self, hit: SearchHit, sink: &mut dyn CommandSink) {
        let Some(name) = self
            .vaults
            .get(&hit.vault)
            .and_then(|contents| contents.list(hit.list).items.get(hit.index))
            .map(ObjectItem::name)
        else {
            return;
        };
        self.search.open = false;
        self.centre = CentreView::Secrets;
        self.select_vault(hit.vault, sink);
        self.set_list(hit.list);
        self.filter.clear();
        self.list_filters = QuickFilters::default();
        self.select_object(name, sink);
        self.cursor_on_selected();
    }

    fn request_value(&mut self, id: ObjectId, purpose: ValuePurpose, sink: &mut dyn CommandSink) {
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Value(..)));
        let request = sink.send(Command::GetSecretValue { id: id.clone() });
        self.pending.insert(request, Pending::Value(id, purpose));
        self.value_status = LoadStatus::Loading;
    }

    /// Puts a non-secret text (identifier, name, reference) on the clipboard and says so.
    fn copy_text(&mut self, what: &str, text: String) {
        self.clipboard = Some(ClipboardRequest {
            text: SecretString::from(text),
            is_secret: false,
        });
        self.notice = Some(Notice {
            text: format!("Copied {what}"),
            is_error: false,
        });
    }

    fn forget_value(&mut self) {
        self.value = None;
        self.value_status = LoadStatus::NotLoaded;
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Value(..)));
    }

    /// Applies what the person asked for.
    pub fn handle(&mut self, intent: Intent, sink: &mut dyn CommandSink) {
        match intent {
            Intent::RetrySignIn => self.start(sink),
            Intent::SignInWith(method) => {
                self.sign_in_method = Some(method);
                self.start(sink);
            }
            Intent::SetSignInForm(form) => self.sign_in_form = form,
            Intent::CancelSignIn => {
                let running: Vec<RequestId> = self
                    .pending
                    .iter()
                    .filter(|(_, pending)| matches!(pending, Pending::SignIn))
                    .map(|(id, _)| *id)
                    .collect();
                for id in running {
                    sink.cancel(id);
                }
                self.sign_in = SignInState::NotStarted;
            }
            Intent::SignOut => {
                self.cancel_explorer_requests(sink);
                self.reset_explorer();
                self.remembered_device_code = None;
                self.sign_in_method = None;
                self.sign_in = SignInState::NotStarted;
                let id = sink.send(Command::SignOut);
                self.pending.insert(id, Pending::SignOut);
                self.notice = Some(Notice {
                    text: "Signed out".into(),
                    is_error: false,
                });
            }
            Intent::OpenUrl(url) => self.url_to_open = Some(url),
            Intent::RefreshSubscriptions => self.load_subscriptions(sink),
            Intent::SelectVault(vault) => self.select_vault(vault, sink),
            Intent::RefreshVault => {
                if let Some(vault) = self.selected_vault.clone() {
                    self.load_vault(vault, sink);
                }
            }
            Intent::LoadAllVaults => {
                let known = self.known_vaults();
                let loaded = |vault: &VaultUri| {
                    self.vaults
                        .get(vault)
                        .is_some_and(|contents| contents.loaded_at.is_some())
                };
                // Everything loaded already: load it all again; else load what is missing.
                let again = known.iter().all(loaded);
                let to_load: Vec<VaultUri> = known
                    .iter()
                    .filter(|vault| {
                        let busy = self
                            .vaults
                            .get(*vault)
                            .is_some_and(|contents| contents.status.is_loading());
                        !busy && (again || !loaded(vault))
                    })
                    .cloned()
                    .collect();
                for vault in to_load {
                    self.load_vault(vault, sink);
                }
            }
            Intent::SelectList(list) => self.set_list(list),
            Intent::SelectObject(name) => {
                self.select_object(name, sink);
                self.cursor_on_selected();
            }
            Intent::OpenUri(text) => self.open_uri(&text, sink),
            Intent::SetUriInput(text) => self.uri_input = text,
            Intent::TogglePin(vault) => self.bookmarks.toggle_pin(&vault),
            Intent::MoveCursor(delta) => {
                let rows = self.filtered_indices().len();
                if rows > 0 {
                    let current = self.cursor.map_or(-1, |cursor| cursor as i64);
                    let start = if self.cursor.is_none() && delta < 0 {
                        rows as i64
                    } else {
                        current
                    };
                    self.cursor = Some((start + delta).clamp(0, rows as i64 - 1) as usize);
                }
            }
            Intent::OpenCursor => {
                let name = self.cursor.and_then(|cursor| {
                    let index = *self.filtered_indices().get(cursor)?;
                    self.selected_list_rows()?
                        .items
                        .get(index)
                        .map(ObjectItem::name)
                });
                if let Some(name) = name {
                    self.select_object(name, sink);
                }
            }
            Intent::Close => {
                if self.search.open {
                    self.search.open = false;
                } else if self.value.as_ref().is_some_and(|value| value.visible) {
                    self.forget_value();
                } else {
                    self.clear_object_selection();
                }
            }
            Intent::CopySelectedIdentifier => {
                if let Some(id) = self.selected_object_id() {
                    let (what, text) = if id.version.is_some() {
                        ("the versioned identifier", id.versioned())
                    } else {
                        ("the identifier", id.versionless())
                    };
                    self.copy_text(what, text);
                }
            }
            Intent::OpenSearch => {
                self.search.open = true;
                self.search.focus_requested = true;
                self.run_search();
            }
            Intent::SearchFocused => self.search.focus_requested = false,
            Intent::SetSearchCursor(cursor) => {
                self.search.cursor = cursor;
                self.search.cursor_moved = true;
            }
            Intent::SetSearch(query) => {
                self.search.query = query;
                self.search.cursor = 0;
                self.run_search();
            }
            Intent::SetSearchFilters(filters) => {
                self.search.filters = filters;
                self.search.cursor = 0;
                self.run_search();
            }
            Intent::OpenSearchHit(hit) => self.open_search_hit(hit, sink),
            Intent::SetListFilters(filters) => {
                self.list_filters = filters;
                self.cursor = None;
            }
            Intent::ToggleRawJson => self.show_raw_json = !self.show_raw_json,
            Intent::SetTheme(theme) => self.theme = Some(theme),
            Intent::SelectVersion(version) => {
                if self.selected_version != version {
                    self.selected_version = version;
                    self.forget_value();
                    self.load_details(sink);
                }
            }
            Intent::RevealValue(id) => match &mut self.value {
                Some(value) if value.id == id => value.visible = true,
                _ => self.request_value(id, ValuePurpose::Reveal, sink),
            },
            Intent::HideValue => self.forget_value(),
            Intent::CopyValue(id) => match &self.value {
                Some(value) if value.id == id => {
                    self.clipboard = Some(ClipboardRequest {
                        text: SecretString::from(value.value.expose_secret()),
                        is_secret: true,
                    });
                    self.notice = Some(Notice {
                        text: format!("Copied the value of {}", id.name),
                        is_error: false,
                    });
                }
                _ => self.request_value(id, ValuePurpose::Copy, sink),
            },
            Intent::CopyText { what, text } => self.copy_text(&what, text),
            Intent::SetFilter(filter) => {
                self.filter = filter;
                self.cursor = None;
            }
            Intent::ShowCentre(CentreView::Secrets) => self.centre = CentreView::Secrets,
            Intent::ShowCentre(CentreView::Access) => self.show_access(sink),
            Intent::RefreshAccess => self.load_access(sink),
            Intent::SearchPrincipals(text) => {
                self.access.search_text = text.clone();
                self.pending
                    .retain(|_, pending| !matches!(pending, Pending::PrincipalSearch(_)));
                if text.trim().chars().count() < 2 {
                    self.access.search_results.clear();
                    self.access.search_status = LoadStatus::NotLoaded;
                    return;
                }
                let id = sink.send(Command::SearchPrincipals {
                    text: text.trim().to_owned(),
                });
                self.pending.insert(id, Pending::PrincipalSearch(text));
                self.access.search_status = LoadStatus::Loading;
            }
            Intent::SetPastedId(text) => self.access.pasted_id = text,
            Intent::SetAccessTarget { object_type, name } => {
                self.access.target_type = object_type;
                self.access.target_name = name;
            }
            Intent::CheckAccess(principal) => {
                self.access.highlight = None;
                self.check_access(principal, sink);
            }
            Intent::CheckForbidden => {
                let Some(forbidden) = self.forbidden.clone() else {
                    return;
                };
                self.show_access(sink);
                match &forbidden.target {
                    Target::Object { object_type, name } => {
                        self.access.target_type = Some(*object_type);
                        self.access.target_name = name.clone();
                    }
                    Target::Vault => {
                        self.access.target_type = None;
                        self.access.target_name.clear();
                    }
                }
                self.check_access(PrincipalRef::Me, sink);
                self.access.highlight = Some(forbidden.operation);
            }
        }
    }
}

/// One sentence for the person: what failed, why, and what to do where we know it.
pub fn explain(error: &WorkerError) -> String {
    use crate::azure::AzureError;
    use crate::worker::protocol::FailureReason;
    let detail = match &error.source {
        FailureReason::Azure(AzureError::Service {
            status: 403,
            inner_code: Some(inner),
            ..
        }) if inner == "SecretDisabled" => {
            "this version is disabled, and Key Vault never returns the value of a disabled version; enable it first".to_owned()
        }
        FailureReason::Azure(AzureError::Service {
            status: 403,
            message,
            ..
        }) if error.source_is_firewall() => {
            format!("blocked by the vault's firewall (network rules): {message}")
        }
        FailureReason::Azure(AzureError::Service {
            status: 403,
            message,
            ..
        }) => format!("access denied (HTTP 403): {message}"),
        FailureReason::Azure(AzureError::Service {
            status: 404,
            message,
            ..
        }) => format!("not found (HTTP 404): {message}"),
        FailureReason::Azure(AzureError::Throttled { .. }) => {
            "the service is throttling requests (HTTP 429); wait a moment and refresh".to_owned()
        }
        other => other.to_string(),
    };
    format!("{} failed: {detail}", capitalize(&error.operation))
}

/// One word for a failure, where a sentence does not fit (the vault tree): from the error's kind.
pub fn failure_word(error: &WorkerError) -> &'static str {
    use crate::worker::protocol::FailureReason;
    match &error.source {
        FailureReason::Azure(azure) if azure.is_network_forbidden() => "firewall",
        FailureReason::Azure(azure) => match azure.status() {
            Some(403) => "denied",
            Some(404) => "not found",
            Some(429) => "throttled",
            _ => "failed",
        },
        _ => "failed",
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl WorkerError {
    fn source_is_firewall(&self) -> bool {
        matches!(&self.source, crate::worker::protocol::FailureReason::Azure(error) if error.is_network_forbidden())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::protocol::FailureReason;

    #[derive(Default)]
    struct RecordingSink {
        next: u64,
        sent: Vec<(RequestId, Command)>,
        cancelled: Vec<RequestId>,
    }

    impl CommandSink for RecordingSink {
        fn send(&mut self, command: Command) -> RequestId {
            self.next += 1;
            let id = RequestId(self.next);
            self.sent.push((id, command));
            id
        }

        fn cancel(&mut self, request_id: RequestId) {
            self.cancelled.push(request_id);
        }
    }

    fn item(vault: &str, name: &str) -> ObjectItem {
        serde_json::from_value(serde_json::json!({"id": format!("{vault}secrets/{name}")}))
            .expect("item")
    }

    fn event(request_id: RequestId, kind: EventKind) -> Event {
        Event { request_id, kind }
    }

    const V1: &str = "https://kv1.vault.azure.net/";
    const V2: &str = "https://kv2.vault.azure.net/";

    fn signed_in_state(sink: &mut RecordingSink) -> AppState {
        let mut state = AppState::new(SignInMethod::AzureCli { tenant_id: None });
        state.start(sink);
        let sign_in = sink.sent[0].0;
        state.apply(
            event(sign_in, EventKind::SignedIn(SignedInIdentity::default())),
            sink,
        );
        state.apply(event(sign_in, EventKind::Finished(Outcome::Done)), sink);
        state
    }

    /// A signed-in state with `V1` selected; its load's request id.
    fn loading_vault(sink: &mut RecordingSink) -> (AppState, VaultUri, RequestId) {
        let mut state = signed_in_state(sink);
        let v1 = VaultUri::parse(V1).expect("uri");
        state.handle(Intent::SelectVault(v1.clone()), sink);
        let id = sink.sent.last().expect("sent").0;
        (state, v1, id)
    }

    #[test]
    fn a_permission_403_offers_the_access_check_for_that_operation() {
        let mut sink = RecordingSink::default();
        let mut state = signed_in_state(&mut sink);
        let vault = VaultUri::parse(V1).expect("uri");
        state.handle(Intent::SelectVault(vault.clone()), &mut sink);
        let (list_id, _) = sink.sent.last().cloned().expect("list");
        state.apply(
            event(list_id, EventKind::Finished(Outcome::Done)),
            &mut sink,
        );
        state.handle(Intent::SelectObject("api-key".into()), &mut sink);
        let (versions_id, _) = sink.sent.last().cloned().expect("versions");
        let forbidden = |inner: &str| WorkerError {
            operation: "listing versions".into(),
            source: FailureReason::Azure(crate::azure::AzureError::Service {
                service: crate::azure::Service::KeyVault,
                status: 403,
                code: "Forbidden".into(),
                message: "Caller is not authorized".into(),
                inner_code: Some(inner.into()),
            }),
        };
        state.apply(
            event(
                versions_id,
                EventKind::Finished(Outcome::Failed(forbidden("ForbiddenByRbac"))),
            ),
            &mut sink,
        );
        let noted = state.forbidden.clone().expect("noted");
        assert_eq!(noted.operation.permission, "list versions");
        match &state.versions.status {
            LoadStatus::Failed(message) => assert!(
                message.starts_with("unknown identity lacks the 'list versions' permission on secret api-key (HTTP 403, ForbiddenByRbac: Caller is not authorized)"),
                "{message}"
            ),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            noted.target,
            Target::Object {
                object_type: ObjectType::Secret,
                name: "api-key".into()
            }
        );
        // A firewall 403 is not a permission problem: nothing to check.
        state.forbidden = None;
        state.handle(Intent::SelectObject("other".into()), &mut sink);
        let (versions_id, _) = sink.sent.last().cloned().expect("versions");
        state.apply(
            event(
                versions_id,
                EventKind::Finished(Outcome::Failed(forbidden("ForbiddenByFirewall"))),
            ),
            &mut sink,
        );
        assert!(state.forbidden.is_none());
    }

    #[test]
    fn list_errors_say_what_happened_and_keep_the_rows() {
        use crate::azure::{AzureError, Service};
        let mut sink = RecordingSink::default();
        let (mut state, v1, id) = loading_vault(&mut sink);
        let failed = |list: ListKind, source: AzureError| {
            event(
                id,
                EventKind::ListEnded {
                    vault: v1.clone(),
                    list,
                    error: Some(WorkerError {
                        operation: format!("listing {} of kv1", list.label()),
                        source: FailureReason::Azure(source),
                    }),
                },
            )
        };
        let service = |status: u16, inner: &str, message: &str| AzureError::Service {
            service: Service::KeyVault,
            status,
            code: "x".into(),
            message: message.into(),
            inner_code: Some(inner.into()),
        };
        state.apply(page(id, &v1, &["a"]), &mut sink);
        state.apply(ended(id, &v1), &mut sink);
        state.apply(
            failed(
                ListKind::live(ObjectKind::Key),
                service(403, "ForbiddenByPolicy", "no keys/list"),
            ),
            &mut sink,
        );
        state.apply(
            failed(
                ListKind::live(ObjectKind::Certificate),
                service(404, "VaultNotFound", "gone"),
            ),
            &mut sink,
        );
        state.apply(
            failed(
                ListKind::deleted(ObjectKind::Secret),
                AzureError::Throttled {
                    service: Service::KeyVault,
                    attempts: 4,
                },
            ),
            &mut sink,
        );
        let contents = &state.vaults[&v1];
        let message = |list: ListKind| match &contents.list(list).status {
            LoadStatus::Failed(message) => message.clone(),
            other => panic!("{other:?}"),
        };
        assert!(message(ListKind::live(ObjectKind::Key)).starts_with(
            "unknown identity lacks the 'list' permission on keys in kv1 (HTTP 403, ForbiddenByPolicy: no keys/list)"
        ));
        assert!(
            message(ListKind::live(ObjectKind::Certificate)).contains("not found (HTTP 404): gone")
        );
        assert!(message(ListKind::deleted(ObjectKind::Secret)).contains("throttling"));
        assert_eq!(
            contents
                .list(ListKind::live(ObjectKind::Secret))
                .items
                .len(),
            1,
            "the lists that arrived stay"
        );
        let denied = state.forbidden.as_ref().expect("noted");
        assert_eq!(denied.operation.object_type, ObjectType::Key);
    }

    #[test]
    fn the_sign_in_screen_cancels_signs_in_and_signs_out() {
        let mut sink = RecordingSink::default();
        let mut state = AppState::new(None);
        state.start(&mut sink);
        assert!(sink.sent.is_empty(), "no method: the sign-in screen waits");
        let method = SignInMethod::DeviceCode {
            tenant: "t".into(),
            client_id: "c".into(),
        };
        state.handle(Intent::SignInWith(method.clone()), &mut sink);
        let (sign_in, command) = sink.sent[0].clone();
        assert_eq!(command, Command::SignIn(method));
        state.handle(Intent::CancelSignIn, &mut sink);
        assert_eq!(sink.cancelled, [sign_in]);
        assert!(matches!(state.sign_in, SignInState::NotStarted));
        state.apply(
            event(sign_in, EventKind::Finished(Outcome::Cancelled)),
            &mut sink,
        );
        assert!(matches!(state.sign_in, SignInState::NotStarted));

        let mut state = signed_in_state(&mut sink);
        let vault = VaultUri::parse(V1).expect("uri");
        state.handle(Intent::SelectVault(vault), &mut sink);
        let load = sink.sent.last().expect("sent").0;
        state.handle(Intent::SignOut, &mut sink);
        assert!(sink.cancelled.contains(&load), "the vault load stops");
        assert_eq!(
            sink.sent.last().map(|(_, command)| command),
            Some(&Command::SignOut)
        );
        assert!(matches!(state.sign_in, SignInState::NotStarted));
        assert!(state.subscriptions.is_empty() && state.sign_in_method.is_none());
    }

    #[test]
    fn sign_in_loads_subscriptions_then_vaults_of_each() {
        let mut sink = RecordingSink::default();
        let mut state = signed_in_state(&mut sink);
        assert!(matches!(state.sign_in, SignInState::SignedIn(_)));
        let (subs_id, command) = sink.sent[1].clone();
        assert_eq!(command, Command::ListSubscriptions);
        let subscription: Subscription = serde_json::from_value(serde_json::json!({
            "subscriptionId": "s1", "displayName": "Prod", "tenantId": "t1"
        }))
        .expect("sub");
        state.apply(
            event(subs_id, EventKind::SubscriptionsPage(vec![subscription])),
            &mut sink,
        );
        assert_eq!(
            sink.sent[2].1,
            Command::ListVaults {
                subscription_id: "s1".into(),
                tenant_id: Some("t1".into()),
            }
        );
        state.apply(
            event(subs_id, EventKind::Finished(Outcome::Done)),
            &mut sink,
        );
        assert_eq!(state.subscriptions_status, LoadStatus::Loaded);
        assert_eq!(state.subscriptions[0].vaults_status, LoadStatus::Loading);
    }

    fn page(request: RequestId, vault: &VaultUri, names: &[&str]) -> Event {
        event(
            request,
            EventKind::ObjectsPage {
                vault: vault.clone(),
                list: ListKind::live(ObjectKind::Secret),
                items: names
                    .iter()
                    .map(|name| item(vault.as_str(), name))
                    .collect(),
            },
        )
    }

    fn ended(request: RequestId, vault: &VaultUri) -> Event {
        event(
            request,
            EventKind::ListEnded {
                vault: vault.clone(),
                list: ListKind::live(ObjectKind::Secret),
                error: None,
            },
        )
    }

    #[test]
    fn vaults_load_side_by_side_and_a_reload_drops_the_old_load() {
        let mut sink = RecordingSink::default();
        let mut state = signed_in_state(&mut sink);
        let v1 = VaultUri::parse(V1).expect("uri");
        let v2 = VaultUri::parse(V2).expect("uri");
        state.handle(Intent::SelectVault(v1.clone()), &mut sink);
        let first = sink.sent.last().expect("sent").0;
        state.handle(Intent::SelectVault(v2.clone()), &mut sink);
        let second = sink.sent.last().expect("sent").0;
        // Moving on to another vault does not stop the first one's load.
        state.apply(page(first, &v1, &["one"]), &mut sink);
        state.apply(page(second, &v2, &["two"]), &mut sink);
        state.apply(ended(first, &v1), &mut sink);
        state.apply(event(first, EventKind::Finished(Outcome::Done)), &mut sink);
        state.apply(event(second, EventKind::Finished(Outcome::Done)), &mut sink);
        let secrets = ListKind::live(ObjectKind::Secret);
        assert_eq!(state.vaults[&v1].list(secrets).names_lower, ["one"]);
        assert_eq!(state.vaults[&v2].list(secrets).names_lower, ["two"]);
        assert!(state.vaults[&v1].loaded_at.is_some());
        // Going back to a loaded vault does not load it again; Refresh does, and a page of the older
        // load arriving late is dropped.
        let before = sink.sent.len();
        state.handle(Intent::SelectVault(v1.clone()), &mut sink);
        assert_eq!(sink.sent.len(), before);
        state.handle(Intent::RefreshVault, &mut sink);
        let reload = sink.sent.last().expect("sent").0;
        state.handle(Intent::RefreshVault, &mut sink);
        let newest = sink.sent.last().expect("sent").0;
        state.apply(page(reload, &v1, &["stale"]), &mut sink);
        state.apply(page(newest, &v1, &["fresh"]), &mut sink);
        assert_eq!(
            state.vaults[&v1].list(secrets).names_lower,
            ["one"],
            "kept until whole"
        );
        state.apply(ended(newest, &v1), &mut sink);
        assert_eq!(state.vaults[&v1].list(secrets).names_lower, ["fresh"]);
        assert_eq!(
            sink.sent.last().expect("sent").1,
            Command::LoadVault { vault: v1 }
        );
    }

    #[test]
    fn open_by_uri_goes_to_the_object_and_remembers_the_vault() {
        let mut sink = RecordingSink::default();
        let mut state = signed_in_state(&mut sink);
        state.handle(
            Intent::OpenUri("https://kv9.vault.azure.net/keys/signing/abc123".into()),
            &mut sink,
        );
        let vault = VaultUri::parse("https://kv9.vault.azure.net").expect("uri");
        assert_eq!(state.selected_vault.as_ref(), Some(&vault));
        assert_eq!(
            state.opened_vaults,
            std::slice::from_ref(&vault),
            "ARM does not list it"
        );
        assert_eq!(state.selected_list, ListKind::live(ObjectKind::Key));
        assert_eq!(state.selected_object.as_deref(), Some("signing"));
        assert_eq!(state.selected_version.as_deref(), Some("abc123"));
        let commands: Vec<&Command> = sink.sent.iter().map(|(_, command)| command).collect();
        assert!(commands.contains(&&Command::LoadVault {
            vault: vault.clone()
        }));
        assert!(commands.iter().any(|command| matches!(command,
            Command::GetDetails { id } if id.version.as_deref() == Some("abc123"))));
        assert_eq!(state.bookmarks.recent, [vault.as_str().to_owned()]);
        state.handle(
            Intent::OpenUri("https://kv9.vault.azure.net/storage/x".into()),
            &mut sink,
        );
        assert!(state.notice.as_ref().is_some_and(|notice| notice.is_error));
        state.handle(
            Intent::OpenUri("https://kv8.vault.azure.net/".into()),
            &mut sink,
        );
        assert_eq!(
            state.selected_vault.as_ref().map(VaultUri::name),
            Some("kv8")
        );
    }

    #[test]
    fn an_open_search_takes_in_new_pages_once_per_frame() {
        let mut sink = RecordingSink::default();
        let (mut state, v1, id) = loading_vault(&mut sink);
        state.handle(Intent::OpenSearch, &mut sink);
        state.handle(Intent::SetSearch("orders".into()), &mut sink);
        assert_eq!(state.search.results.total, 0);
        state.apply(page(id, &v1, &["orders-db"]), &mut sink);
        state.apply(page(id, &v1, &["orders-api", "billing"]), &mut sink);
        assert_eq!(state.search.results.total, 0, "not per page");
        state.refresh_search();
        assert_eq!(state.search.results.total, 2);
        assert!(!state.search.stale);
        state.handle(
            Intent::OpenSearchHit(state.search.results.hits[1].clone()),
            &mut sink,
        );
        assert!(!state.search.open);
        assert_eq!(state.selected_object.as_deref(), Some("orders-api"));
    }

    #[test]
    fn keyboard_moves_opens_copies_and_closes() {
        let mut sink = RecordingSink::default();
        let (mut state, v1, id) = loading_vault(&mut sink);
        state.apply(page(id, &v1, &["a", "b", "c"]), &mut sink);
        state.handle(Intent::MoveCursor(1), &mut sink);
        state.handle(Intent::MoveCursor(1), &mut sink);
        assert_eq!(state.cursor, Some(1));
        state.handle(Intent::MoveCursor(99), &mut sink);
        assert_eq!(state.cursor, Some(2), "clamped");
        state.handle(Intent::OpenCursor, &mut sink);
        assert_eq!(state.selected_object.as_deref(), Some("c"));
        state.handle(Intent::CopySelectedIdentifier, &mut sink);
        let copied = state.take_clipboard_request().expect("copied");
        assert_eq!(
            copied.text.expose_secret(),
            "https://kv1.vault.azure.net/secrets/c"
        );
        assert!(!copied.is_secret);
        state.handle(Intent::Close, &mut sink);
        assert!(state.selected_object.is_none());
    }

    #[test]
    fn filter_matches_names_case_insensitively() {
        let mut sink = RecordingSink::default();
        let (mut state, v1, id) = loading_vault(&mut sink);
        state.apply(
            page(id, &v1, &["Orders-DB", "payments-key", "orders-api"]),
            &mut sink,
        );
        state.handle(Intent::SetFilter("ORDERS".into()), &mut sink);
        assert_eq!(state.filtered_indices(), vec![0, 2]);
        state.handle(Intent::SetFilter(String::new()), &mut sink);
        assert_eq!(state.filtered_indices().len(), 3);
    }

    #[test]
    fn value_is_fetched_on_reveal_and_copied_on_copy() {
        let mut sink = RecordingSink::default();
        let mut state = signed_in_state(&mut sink);
        let id = ObjectId::parse("https://kv1.vault.azure.net/secrets/a").expect("id");
        state.handle(Intent::CopyValue(id.clone()), &mut sink);
        let request = sink.sent.last().expect("sent").0;
        state.apply(
            event(
                request,
                EventKind::SecretValue {
                    id: id.clone(),
                    value: SecretString::from("s3cret"),
                },
            ),
            &mut sink,
        );
        state.apply(
            event(request, EventKind::Finished(Outcome::Done)),
            &mut sink,
        );
        let clip = state.take_clipboard_request().expect("copied");
        assert_eq!(clip.text.expose_secret(), "s3cret");
        assert!(
            !state.value.as_ref().expect("kept").visible,
            "copy does not reveal"
        );
        let before = sink.sent.len();
        state.handle(Intent::RevealValue(id), &mut sink);
        assert_eq!(sink.sent.len(), before, "no second fetch");
        assert!(state.value.as_ref().expect("kept").visible);
        state.handle(Intent::HideValue, &mut sink);
        assert!(state.value.is_none());
    }

    #[test]
    fn failures_are_explained() {
        let mut sink = RecordingSink::default();
        let mut state = AppState::new(SignInMethod::AzureCli { tenant_id: None });
        state.start(&mut sink);
        let id = sink.sent[0].0;
        let error = WorkerError {
            operation: "signing in with the Azure CLI".into(),
            source: FailureReason::Auth(crate::auth::AuthError::CliNotLoggedIn),
        };
        state.apply(
            event(id, EventKind::Finished(Outcome::Failed(error))),
            &mut sink,
        );
        match &state.sign_in {
            SignInState::Failed(message) => assert!(message.contains("az login"), "{message}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
