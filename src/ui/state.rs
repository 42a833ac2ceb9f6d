//! Everything the UI shows, changed only by applying worker `Event`s and the person's `Intent`s.
//!
//! Pure data and logic, no egui: tests drive it with fake command sinks. Events whose request id is no longer
//! awaited (superseded, or for a view the person left) are dropped here.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use super::access_state::{AccessState, CentreView, Forbidden, HighlightedOperation};
use crate::access::{ObjectType, Target};
use crate::auth::SignedInIdentity;
use crate::auth::device_code::DeviceCodePrompt;
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::models::{SecretItem, Subscription, VaultSummary};
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

/// The secrets of one vault, as far as loaded.
#[derive(Debug, Clone, Default)]
pub struct SecretList {
    pub items: Vec<SecretItem>,
    /// Lower-cased names, parallel to `items`, for filtering without allocating per frame.
    pub names_lower: Vec<String>,
    pub status: LoadStatus,
}

/// The versions of the selected secret.
#[derive(Debug, Clone, Default)]
pub struct VersionList {
    pub vault: Option<VaultUri>,
    pub name: String,
    pub items: Vec<SecretItem>,
    pub status: LoadStatus,
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
    SelectSecret(String),
    SelectVersion(Option<String>),
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
    Secrets(VaultUri),
    Versions(VaultUri, String),
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
    pub secret_lists: HashMap<VaultUri, SecretList>,
    pub selected_secret: Option<String>,
    /// `None`: the latest version.
    pub selected_version: Option<String>,
    pub versions: VersionList,
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

    /// Forgets everything of the signed-in identity: tree, lists, selection, access, pending work.
    fn reset_explorer(&mut self) {
        self.pending
            .retain(|_, pending| matches!(pending, Pending::SignIn | Pending::SignOut));
        self.subscriptions.clear();
        self.tenants.clear();
        self.subscriptions_status = LoadStatus::NotLoaded;
        self.selected_vault = None;
        self.secret_lists.clear();
        self.selected_secret = None;
        self.selected_version = None;
        self.versions = VersionList::default();
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

    pub fn selected_secret_list(&self) -> Option<&SecretList> {
        self.secret_lists.get(self.selected_vault.as_ref()?)
    }

    /// The selected secret's row in the list.
    pub fn selected_secret_item(&self) -> Option<&SecretItem> {
        let name = self.selected_secret.as_ref()?;
        let list = self.selected_secret_list()?;
        let lower = name.to_ascii_lowercase();
        list.names_lower
            .iter()
            .position(|candidate| *candidate == lower)
            .and_then(|index| list.items.get(index))
    }

    /// The identifier of the selected secret at the selected version (latest: versionless).
    pub fn selected_object_id(&self) -> Option<ObjectId> {
        Some(ObjectId {
            vault: self.selected_vault.clone()?,
            kind: ObjectKind::Secret,
            name: self.selected_secret.clone()?,
            version: self.selected_version.clone(),
        })
    }

    /// Indices of the selected vault's secrets matching the filter.
    pub fn filtered_indices(&self) -> Vec<usize> {
        let Some(list) = self.selected_secret_list() else {
            return Vec::new();
        };
        let needle = self.filter.trim().to_ascii_lowercase();
        if needle.is_empty() {
            return (0..list.items.len()).collect();
        }
        list.names_lower
            .iter()
            .enumerate()
            .filter(|(_, name)| name.contains(&needle))
            .map(|(index, _)| index)
            .collect()
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
            (Pending::Secrets(vault), EventKind::SecretsPage { items, .. }) => {
                let list = self.secret_lists.entry(vault).or_default();
                list.names_lower
                    .extend(items.iter().map(|item| item.name().to_ascii_lowercase()));
                list.items.extend(items);
            }
            (Pending::Versions(vault, name), EventKind::VersionsPage { items, .. })
                if self.versions.vault.as_ref() == Some(&vault) && self.versions.name == name =>
            {
                self.versions.items.extend(items);
                // Newest first.
                self.versions
                    .items
                    .sort_by_key(|item| std::cmp::Reverse(item.attributes.created.unwrap_or(0)));
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
            Pending::Secrets(vault) => {
                if let Outcome::Failed(error) = &outcome {
                    self.note_forbidden(error, &vault, ObjectType::Secret, "list", Target::Vault);
                }
                if let Some(list) = self.secret_lists.get_mut(&vault) {
                    list.status = status;
                }
            }
            Pending::VaultAccess(_) => self.access.data_status = status,
            Pending::PrincipalSearch(_) => self.access.search_status = status,
            Pending::AccessCheck(_) => self.access.check_status = status,
            Pending::Versions(vault, name) => {
                if let Outcome::Failed(error) = &outcome {
                    let target = Target::Object {
                        object_type: ObjectType::Secret,
                        name,
                    };
                    self.note_forbidden(error, &vault, ObjectType::Secret, "list versions", target);
                }
                self.versions.status = status;
            }
            Pending::Value(id, purpose) => {
                if let Outcome::Failed(error) = &outcome {
                    let target = Target::Object {
                        object_type: ObjectType::Secret,
                        name: id.name.clone(),
                    };
                    self.note_forbidden(error, &id.vault, ObjectType::Secret, "get", target);
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

    /// Remembers a permission 403 (not a firewall one) so the view can offer to explain it.
    fn note_forbidden(
        &mut self,
        error: &WorkerError,
        vault: &VaultUri,
        object_type: ObjectType,
        permission: &'static str,
        target: Target,
    ) {
        use crate::worker::protocol::FailureReason;
        let is_permission_403 = matches!(&error.source, FailureReason::Azure(azure)
            if azure.status() == Some(403) && !azure.is_network_forbidden()
                && !matches!(azure, crate::azure::AzureError::Service { inner_code: Some(inner), .. } if inner == "SecretDisabled"));
        if !is_permission_403 {
            return;
        }
        let vault_arm_id = self
            .vault_summary(vault)
            .and_then(|summary| summary.arm_id.clone());
        self.forbidden = Some(Forbidden {
            vault_arm_id,
            vault_name: vault.name().to_owned(),
            operation: HighlightedOperation {
                object_type,
                permission,
            },
            target,
            message: explain(error),
        });
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

    fn load_secrets(&mut self, vault: VaultUri, sink: &mut dyn CommandSink) {
        // The worker cancels a superseded listing; mark it incomplete so it is fetched again when revisited.
        let interrupted: Vec<VaultUri> = self
            .pending
            .values()
            .filter_map(|pending| match pending {
                Pending::Secrets(vault) => Some(vault.clone()),
                _ => None,
            })
            .collect();
        for vault in interrupted {
            if let Some(list) = self.secret_lists.get_mut(&vault) {
                list.status = LoadStatus::NotLoaded;
            }
        }
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Secrets(_)));
        let id = sink.send(Command::ListSecrets {
            vault: vault.clone(),
        });
        self.pending.insert(id, Pending::Secrets(vault.clone()));
        self.secret_lists.insert(
            vault,
            SecretList {
                status: LoadStatus::Loading,
                ..Default::default()
            },
        );
    }

    fn load_versions(&mut self, vault: VaultUri, name: String, sink: &mut dyn CommandSink) {
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Versions(..)));
        let id = sink.send(Command::ListSecretVersions {
            vault: vault.clone(),
            name: name.clone(),
        });
        self.pending
            .insert(id, Pending::Versions(vault.clone(), name.clone()));
        self.versions = VersionList {
            vault: Some(vault),
            name,
            items: Vec::new(),
            status: LoadStatus::Loading,
        };
    }

    fn request_value(&mut self, id: ObjectId, purpose: ValuePurpose, sink: &mut dyn CommandSink) {
        self.pending
            .retain(|_, pending| !matches!(pending, Pending::Value(..)));
        let request = sink.send(Command::GetSecretValue { id: id.clone() });
        self.pending.insert(request, Pending::Value(id, purpose));
        self.value_status = LoadStatus::Loading;
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
            Intent::SelectVault(vault) => {
                if self.selected_vault.as_ref() != Some(&vault) {
                    self.selected_vault = Some(vault.clone());
                    self.selected_secret = None;
                    self.selected_version = None;
                    self.versions = VersionList::default();
                    self.forget_value();
                    self.pending.retain(|_, pending| {
                        !matches!(pending, Pending::VaultAccess(_) | Pending::AccessCheck(_))
                    });
                    self.access.reset_for(None);
                    if self.centre == CentreView::Access {
                        self.show_access(sink);
                    }
                }
                let needs_load = self.secret_lists.get(&vault).is_none_or(|list| {
                    matches!(list.status, LoadStatus::NotLoaded | LoadStatus::Failed(_))
                });
                if needs_load {
                    self.load_secrets(vault, sink);
                }
            }
            Intent::RefreshVault => {
                if let Some(vault) = self.selected_vault.clone() {
                    self.load_secrets(vault, sink);
                }
            }
            Intent::SelectSecret(name) => {
                if self.selected_secret.as_deref() == Some(&name) {
                    return;
                }
                self.selected_secret = Some(name.clone());
                self.selected_version = None;
                self.forget_value();
                if let Some(vault) = self.selected_vault.clone() {
                    self.load_versions(vault, name, sink);
                }
            }
            Intent::SelectVersion(version) => {
                if self.selected_version != version {
                    self.selected_version = version;
                    self.forget_value();
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
            Intent::CopyText { what, text } => {
                self.clipboard = Some(ClipboardRequest {
                    text: SecretString::from(text),
                    is_secret: false,
                });
                self.notice = Some(Notice {
                    text: format!("Copied {what}"),
                    is_error: false,
                });
            }
            Intent::SetFilter(filter) => self.filter = filter,
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

    fn item(vault: &str, name: &str) -> SecretItem {
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
        state.handle(Intent::SelectSecret("api-key".into()), &mut sink);
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
        assert_eq!(
            noted.target,
            Target::Object {
                object_type: ObjectType::Secret,
                name: "api-key".into()
            }
        );
        // A firewall 403 is not a permission problem: nothing to check.
        state.forbidden = None;
        state.handle(Intent::SelectSecret("other".into()), &mut sink);
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
        state.handle(Intent::SignOut, &mut sink);
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

    #[test]
    fn stale_pages_of_a_superseded_vault_are_dropped() {
        let mut sink = RecordingSink::default();
        let mut state = signed_in_state(&mut sink);
        let v1 = VaultUri::parse(V1).expect("uri");
        let v2 = VaultUri::parse(V2).expect("uri");
        state.handle(Intent::SelectVault(v1.clone()), &mut sink);
        let first = sink.sent.last().expect("sent").0;
        state.handle(Intent::SelectVault(v2.clone()), &mut sink);
        let second = sink.sent.last().expect("sent").0;
        state.apply(
            event(
                first,
                EventKind::SecretsPage {
                    vault: v1.clone(),
                    items: vec![item(V1, "old")],
                },
            ),
            &mut sink,
        );
        state.apply(
            event(
                second,
                EventKind::SecretsPage {
                    vault: v2.clone(),
                    items: vec![item(V2, "new")],
                },
            ),
            &mut sink,
        );
        state.apply(
            event(first, EventKind::Finished(Outcome::Cancelled)),
            &mut sink,
        );
        state.apply(event(second, EventKind::Finished(Outcome::Done)), &mut sink);
        assert!(
            state.secret_lists[&v1].items.is_empty(),
            "stale page dropped"
        );
        assert_eq!(
            state.secret_lists[&v1].status,
            LoadStatus::NotLoaded,
            "interrupted: incomplete"
        );
        assert_eq!(state.secret_lists[&v2].items.len(), 1);
        assert_eq!(state.secret_lists[&v2].status, LoadStatus::Loaded);
        // Going back to the interrupted vault loads it again.
        state.handle(Intent::SelectVault(v1.clone()), &mut sink);
        assert_eq!(
            sink.sent.last().expect("sent").1,
            Command::ListSecrets { vault: v1 }
        );
        assert_eq!(
            state.requests_in_flight(),
            2,
            "the subscription listing and this vault"
        );
    }

    #[test]
    fn filter_matches_names_case_insensitively() {
        let mut sink = RecordingSink::default();
        let mut state = signed_in_state(&mut sink);
        let v1 = VaultUri::parse(V1).expect("uri");
        state.handle(Intent::SelectVault(v1.clone()), &mut sink);
        let id = sink.sent.last().expect("sent").0;
        state.apply(
            event(
                id,
                EventKind::SecretsPage {
                    vault: v1,
                    items: vec![
                        item(V1, "Orders-DB"),
                        item(V1, "payments-key"),
                        item(V1, "orders-api"),
                    ],
                },
            ),
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
