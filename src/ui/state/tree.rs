//! The vault tree and loading: tenants, subscriptions and their vaults, vaults opened by URI, recent and
//! pinned vaults, and each vault's contents as its `LoadVault` streams them in (side by side, a reload
//! superseding the earlier one).

use std::collections::{HashMap, HashSet};

use super::bookmarks::VaultBookmarks;
use super::common::{CommandSink, LoadStatus, Requests, Shared, status_of};
use super::errors::{Attempt, explain, failure_word};
use super::session::SessionState;
use super::vault_index::VaultContents;
use crate::access::{ObjectType, Target};
use crate::azure::AzureError;
use crate::azure::identifiers::VaultUri;
use crate::azure::models::{Subscription, Tenant, VaultSummary};
use crate::worker::protocol::FailureReason;
use crate::worker::{Command, EventKind, Outcome, SubscriptionScope, WorkerError};

/// What the person does in the tree (selecting a vault and opening a URI are the app's: they reach the
/// lists, details and access too).
#[derive(Debug, Clone, PartialEq)]
pub enum TreeIntent {
    RefreshSubscriptions,
    SelectVault(VaultUri),
    /// Load the selected vault again.
    RefreshVault,
    /// Load every vault in the tree (and opened by URI) that is not loaded yet, or all again.
    LoadAllVaults,
    /// Go to a vault, secret, key or certificate URI (versioned or not).
    OpenUri(String),
    SetUriInput(String),
    TogglePin(VaultUri),
}

/// What a tree request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeRequest {
    Subscriptions,
    /// The vaults of these subscriptions (lower-case ids; `DiscoverVaults`: Resource Graph, else one by
    /// one).
    Vaults(Vec<String>),
    LoadVault(VaultUri),
}

/// A subscription in the tree with its vaults.
#[derive(Debug, Clone)]
pub struct SubscriptionNode {
    pub subscription: Subscription,
    pub vaults: Vec<VaultSummary>,
    pub vaults_status: LoadStatus,
}

/// Where a vault sits in Resource Manager: what the Access view needs to read its policies and assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultArm {
    pub arm_id: String,
    pub subscription_name: Option<String>,
    pub tenant_id: Option<String>,
}

/// The tree and every vault's loaded contents.
#[derive(Debug, Default)]
pub struct TreeState {
    pub subscriptions: Vec<SubscriptionNode>,
    /// The tenants the identity can reach (names for the tree).
    pub tenants: Vec<Tenant>,
    pub subscriptions_status: LoadStatus,
    /// When the shown subscriptions and their vault lists were last complete (Unix seconds).
    pub subscriptions_as_of: Option<i64>,
    /// The shown subscriptions came from the local index; a listing in this run collects into
    /// `incoming` and replaces them only once it and every subscription's vault list ended.
    pub subscriptions_cached: bool,
    incoming: Option<Vec<SubscriptionNode>>,
    /// The subscriptions of this listing whose vaults were asked for already (lower-case ids).
    discovery_asked: HashSet<String>,
    /// Everything loaded, per vault.
    pub vaults: HashMap<VaultUri, VaultContents>,
    /// Vaults opened by URI that ARM does not list (data-plane access only), in opening order.
    pub opened_vaults: Vec<VaultUri>,
    pub bookmarks: VaultBookmarks,
    /// The "open by URI" field.
    pub uri_input: String,
    pub(super) requests: Requests<TreeRequest>,
}

impl TreeState {
    /// Forgets the identity's tree and contents (recent and pinned vaults stay).
    pub fn reset(&mut self, sink: &mut dyn CommandSink) {
        self.requests.cancel_all(sink);
        *self = Self {
            bookmarks: std::mem::take(&mut self.bookmarks),
            uri_input: std::mem::take(&mut self.uri_input),
            ..Self::default()
        };
    }

    /// What ARM said about the vault at `uri`, if it is in the tree.
    /// The summary of `uri`, when there is one.
    pub fn vault_summary_of(&self, uri: Option<&VaultUri>) -> Option<&VaultSummary> {
        self.vault_summary(uri?)
    }

    pub fn vault_summary(&self, uri: &VaultUri) -> Option<&VaultSummary> {
        self.subscriptions
            .iter()
            .flat_map(|node| &node.vaults)
            .find(|vault| &vault.uri == uri)
    }

    /// The vault's ARM id, its subscription's name and its tenant, when ARM lists it.
    pub fn vault_arm(&self, uri: &VaultUri) -> Option<VaultArm> {
        let summary = self.vault_summary(uri)?;
        let arm_id = summary.arm_id.clone()?;
        let subscription = self.subscriptions.iter().find(|node| {
            Some(&node.subscription.subscription_id) == summary.subscription_id.as_ref()
        });
        Some(VaultArm {
            arm_id,
            subscription_name: subscription.map(|node| node.subscription.display_name.clone()),
            // The tenant whose token reads it in ARM (a Lighthouse-delegated one: the managing tenant).
            tenant_id: subscription.and_then(|node| node.subscription.arm_tenant()),
        })
    }

    /// A tenant's display name, when `/tenants` named it.
    pub fn tenant_name(&self, tenant_id: &str) -> Option<String> {
        self.tenants
            .iter()
            .find(|tenant| tenant.tenant_id.eq_ignore_ascii_case(tenant_id))
            .map(Tenant::name)
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

    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// Applies what the person did in the tree (all but selecting a vault and opening a URI).
    pub fn handle(
        &mut self,
        intent: TreeIntent,
        selected_vault: Option<&VaultUri>,
        sink: &mut dyn CommandSink,
    ) {
        match intent {
            TreeIntent::RefreshSubscriptions => self.load_subscriptions(sink),
            TreeIntent::RefreshVault => {
                if let Some(vault) = selected_vault {
                    self.load_vault(vault.clone(), sink);
                }
            }
            TreeIntent::LoadAllVaults => self.load_all(sink),
            TreeIntent::SetUriInput(text) => self.uri_input = text,
            TreeIntent::TogglePin(vault) => self.bookmarks.toggle_pin(&vault),
            TreeIntent::SelectVault(_) | TreeIntent::OpenUri(_) => {}
        }
    }

    pub fn load_subscriptions(&mut self, sink: &mut dyn CommandSink) {
        self.requests.forget(|request| {
            matches!(request, TreeRequest::Subscriptions | TreeRequest::Vaults(_))
        });
        self.discovery_asked.clear();
        if self.subscriptions_cached {
            self.incoming = Some(Vec::new());
        } else {
            self.subscriptions.clear();
        }
        self.requests
            .send(sink, Command::ListSubscriptions, TreeRequest::Subscriptions);
        self.subscriptions_status = LoadStatus::Loading;
    }

    /// Loads (or reloads) a vault; what it showed stays until each list arrives whole.
    pub fn load_vault(&mut self, vault: VaultUri, sink: &mut dyn CommandSink) {
        // The worker cancels an earlier load of the same vault; its terminal event is dropped here.
        self.requests
            .forget(|request| matches!(request, TreeRequest::LoadVault(v) if *v == vault));
        self.requests.send(
            sink,
            Command::LoadVault {
                vault: vault.clone(),
            },
            TreeRequest::LoadVault(vault.clone()),
        );
        self.vaults.entry(vault).or_default().begin_load();
    }

    /// Stops loading `vault`: what it showed stays (cached rows stay cached).
    pub fn cancel_load(&mut self, vault: &VaultUri, sink: &mut dyn CommandSink) {
        let is_load =
            |request: &TreeRequest| matches!(request, TreeRequest::LoadVault(v) if v == vault);
        for id in self.requests.ids(is_load) {
            sink.cancel(id);
        }
        self.requests.stop_waiting(is_load);
        if let Some(contents) = self.vaults.get_mut(vault)
            && contents.status.is_loading()
        {
            contents.end_load(LoadStatus::NotLoaded);
        }
    }

    /// Everything loaded already: loads it all again; else loads what is missing.
    fn load_all(&mut self, sink: &mut dyn CommandSink) {
        let known = self.known_vaults();
        let loaded = |vault: &VaultUri| {
            self.vaults
                .get(vault)
                .is_some_and(|contents| contents.loaded_at.is_some())
        };
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

    /// The tree's part of selecting a vault: remembered as recent, listed under "Opened by URI" when ARM
    /// does not list it, and loaded when it has not been.
    pub fn open_vault(&mut self, vault: &VaultUri, sink: &mut dyn CommandSink) {
        self.bookmarks.touch(vault);
        if self.vault_summary(vault).is_none() && !self.opened_vaults.contains(vault) {
            self.opened_vaults.push(vault.clone());
        }
        let needs_load = self
            .vaults
            .get(vault)
            .is_none_or(|contents| contents.loaded_at.is_none() && !contents.status.is_loading());
        if needs_load {
            self.load_vault(vault.clone(), sink);
        }
    }

    /// Applies a progress event; true when rows arrived (an open search looks again).
    pub fn apply_progress(
        &mut self,
        request: TreeRequest,
        kind: EventKind,
        session: &SessionState,
        shared: &mut Shared,
        sink: &mut dyn CommandSink,
    ) -> bool {
        match (request, kind) {
            (TreeRequest::Subscriptions, EventKind::Tenants(tenants)) => self.tenants = tenants,
            (TreeRequest::Subscriptions, EventKind::TenantUnavailable { tenant_id, reason }) => {
                let name = self
                    .tenant_name(&tenant_id)
                    .unwrap_or_else(|| tenant_id.clone());
                shared.set_notice(format!("Tenant {name} was skipped: {reason}"), true);
                // What it listed before it refused still gets its vaults.
                self.discover_vaults(sink);
            }
            (TreeRequest::Subscriptions, EventKind::TenantSubscriptionsListed { .. }) => {
                // Each tenant's vaults are asked for as soon as its subscriptions are all in, so a slow
                // tenant does not hold up the others.
                self.discover_vaults(sink);
            }
            (TreeRequest::Subscriptions, EventKind::SubscriptionsPage(page)) => {
                self.add_subscriptions(page);
            }
            (
                TreeRequest::Vaults(_),
                EventKind::VaultsPage {
                    subscription_id,
                    vaults,
                },
            ) => {
                if let Some(node) = self.subscription_mut(&subscription_id) {
                    node.vaults.extend(vaults);
                    node.vaults.sort_by_key(|vault| vault.name.to_lowercase());
                }
            }
            (
                TreeRequest::Vaults(_),
                EventKind::SubscriptionVaultsListed {
                    subscription_id,
                    error,
                },
            ) => {
                if let Some(node) = self.subscription_mut(&subscription_id) {
                    node.vaults_status = error.map_or(LoadStatus::Loaded, LoadStatus::Failed);
                }
                self.swap_in_subscriptions();
            }
            (TreeRequest::Vaults(_), EventKind::ResourceGraphRefused { reason }) => {
                shared.set_notice(
                    format!(
                        "Resource Graph refused the vault query, so each subscription is listed on its own (slower): {reason}"
                    ),
                    false,
                );
            }
            (TreeRequest::LoadVault(vault), EventKind::ObjectsPage { list, items, .. }) => {
                if let Some(contents) = self.vaults.get_mut(&vault) {
                    contents.started = true;
                    contents.add_page(list, items);
                }
                return true;
            }
            (TreeRequest::LoadVault(vault), EventKind::ListEnded { list, error, .. }) => {
                // Listing deleted items needs the same `list` permission (access policies).
                let message = error.as_ref().map(|error| {
                    let attempt = Attempt {
                        vault: &vault,
                        vault_arm_id: self.arm_id(&vault),
                        object_type: ObjectType::from(list.kind),
                        permission: "list",
                        target: Target::Vault,
                        who: session.who(),
                    };
                    shared
                        .note_denied(error, attempt)
                        .unwrap_or_else(|| explain(error))
                });
                let message =
                    message.map(
                        |message| match self.lighthouse_note(&vault, error.as_ref()) {
                            Some(note) => format!("{message} — {note}"),
                            None => message,
                        },
                    );
                if let Some(contents) = self.vaults.get_mut(&vault) {
                    contents.started = true;
                    contents.end_list(list, message);
                }
            }
            (request, kind) => {
                tracing::warn!(?request, event = ?std::mem::discriminant(&kind), "event does not match its request");
            }
        }
        false
    }

    /// A page of subscriptions: each goes into the tree (sorted by name); their vaults are found together
    /// once the listing ends (`discover_vaults`).
    fn add_subscriptions(&mut self, page: Vec<Subscription>) {
        for subscription in page {
            let nodes = self.incoming.as_mut().unwrap_or(&mut self.subscriptions);
            nodes.push(SubscriptionNode {
                subscription,
                vaults: Vec::new(),
                vaults_status: LoadStatus::Loading,
            });
        }
        let nodes = self.incoming.as_mut().unwrap_or(&mut self.subscriptions);
        nodes.sort_by(|a, b| {
            a.subscription
                .display_name
                .to_lowercase()
                .cmp(&b.subscription.display_name.to_lowercase())
        });
    }

    /// Asks, in one command, for the vaults of every listed subscription not asked for yet, each read with
    /// the token of the tenant that listed it (a Lighthouse-delegated subscription: the managing tenant's).
    fn discover_vaults(&mut self, sink: &mut dyn CommandSink) {
        let asked = &mut self.discovery_asked;
        let subscriptions: Vec<SubscriptionScope> = self
            .incoming
            .as_ref()
            .unwrap_or(&self.subscriptions)
            .iter()
            .filter(|node| node.vaults_status.is_loading())
            .filter(|node| asked.insert(node.subscription.subscription_id.to_ascii_lowercase()))
            .map(|node| SubscriptionScope::of(&node.subscription))
            .collect();
        if subscriptions.is_empty() {
            return;
        }
        let asked = subscriptions
            .iter()
            .map(|scope| scope.subscription_id.to_ascii_lowercase())
            .collect();
        self.requests.send(
            sink,
            Command::DiscoverVaults { subscriptions },
            TreeRequest::Vaults(asked),
        );
    }

    /// Applies a terminal event; true when a vault's load ended (an open search looks again).
    pub fn finish(
        &mut self,
        request: TreeRequest,
        outcome: Outcome,
        sink: &mut dyn CommandSink,
    ) -> bool {
        let status = status_of(&outcome);
        match request {
            TreeRequest::Subscriptions => {
                if status != LoadStatus::Loaded && self.incoming.take().is_some() {
                    // The cached tree stays; the partial listing goes, and the vaults asked for it.
                    self.requests
                        .forget(|request| matches!(request, TreeRequest::Vaults(_)));
                }
                self.subscriptions_status = status;
                // What is listed and not asked for yet (all of it when no tenant said it ended; after
                // a failure, what arrived before it).
                self.discover_vaults(sink);
                self.swap_in_subscriptions();
            }
            TreeRequest::Vaults(asked) => {
                // A subscription the discovery did not answer for ends with the discovery's outcome.
                let unanswered = match status {
                    LoadStatus::Loaded => LoadStatus::Failed("no answer for its vaults".into()),
                    other => other,
                };
                for node in self.incoming.as_mut().unwrap_or(&mut self.subscriptions) {
                    let id = node.subscription.subscription_id.to_ascii_lowercase();
                    if node.vaults_status.is_loading() && asked.contains(&id) {
                        node.vaults_status = unanswered.clone();
                    }
                }
                self.swap_in_subscriptions();
            }
            TreeRequest::LoadVault(vault) => {
                if let Some(contents) = self.vaults.get_mut(&vault) {
                    contents.failure = match &outcome {
                        Outcome::Failed(error) => Some(failure_word(error)),
                        _ => None,
                    };
                    contents.end_load(status);
                }
                return true;
            }
        }
        false
    }

    fn subscription_mut(&mut self, subscription_id: &str) -> Option<&mut SubscriptionNode> {
        self.incoming
            .as_mut()
            .unwrap_or(&mut self.subscriptions)
            .iter_mut()
            .find(|node| node.subscription.subscription_id == subscription_id)
    }

    /// Once the subscription listing and every vault list of it ended, its tree replaces the shown one
    /// (a subscription whose vaults could not be listed keeps the vaults it showed, with the failure).
    fn swap_in_subscriptions(&mut self) {
        let listing_done = self.subscriptions_status == LoadStatus::Loaded
            && self
                .requests
                .ids(|request| *request == TreeRequest::Subscriptions)
                .is_empty();
        if !listing_done {
            return;
        }
        let all_ended = self
            .incoming
            .as_ref()
            .unwrap_or(&self.subscriptions)
            .iter()
            .all(|node| !node.vaults_status.is_loading());
        if !all_ended {
            return;
        }
        if let Some(mut incoming) = self.incoming.take() {
            for node in &mut incoming {
                if matches!(node.vaults_status, LoadStatus::Failed(_))
                    && let Some(old) = self.subscriptions.iter().find(|old| {
                        old.subscription.subscription_id == node.subscription.subscription_id
                    })
                {
                    node.vaults = old.vaults.clone();
                }
            }
            self.subscriptions = incoming;
        }
        self.subscriptions_cached = false;
        self.subscriptions_as_of = Some(crate::ui::format::now_unix());
    }

    /// Why a delegated vault's data plane refuses a token: Lighthouse covers Resource Manager only, and Key
    /// Vault takes tokens of the vault's own tenant, where the operator may have no account.
    fn lighthouse_note(&self, vault: &VaultUri, error: Option<&WorkerError>) -> Option<String> {
        let no_token = matches!(
            error.map(|error| &error.source),
            Some(FailureReason::Auth(_) | FailureReason::Azure(AzureError::Auth(_)))
        );
        let summary = self.vault_summary(vault)?;
        let node = self.subscriptions.iter().find(|node| {
            Some(&node.subscription.subscription_id) == summary.subscription_id.as_ref()
        })?;
        (no_token && node.subscription.is_delegated()).then(|| {
            let tenant = self
                .tenant_name(&node.subscription.tenant_id)
                .unwrap_or_else(|| node.subscription.tenant_id.clone());
            format!(
                "its subscription is delegated to you through Azure Lighthouse, which covers Resource Manager (the Access tab) but not Key Vault's data plane: reading its items needs an account in {tenant}"
            )
        })
    }

    fn arm_id(&self, vault: &VaultUri) -> Option<String> {
        self.vault_summary(vault)
            .and_then(|summary| summary.arm_id.clone())
    }
}
