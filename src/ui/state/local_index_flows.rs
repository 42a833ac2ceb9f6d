//! The local index's flows through the rest of the window: showing an index read at launch (the tree,
//! the last vault's rows, Ctrl+K over every indexed vault) before sign-in, checking once signed in that
//! it is this identity's, reconciling the indexed vaults most recently used first, saving what changed,
//! forgetting a vault, "Index all", and sign-out's offer to delete the identity's index.

use super::AppState;
use super::common::{CommandSink, LoadStatus};
use super::local_index::{IndexRequest, LocalIndexIntent, identity_of, manifest_of};
use super::tree::{SubscriptionNode, TreeRequest};
use super::vault_index::VaultContents;
use crate::azure::identifiers::VaultUri;
use crate::azure::models::{
    ListKind, Subscription, Tenant, VaultProperties, VaultSku, VaultSummary,
};
use crate::local_index::model::IndexManifest;
use crate::local_index::{IndexedVault, LoadedIndex};
use crate::ui::format::now_unix;
use crate::worker::{Command, EventKind, RequestId};

impl AppState {
    /// Shows an index read from disk (at launch, before sign-in, or for the identity that signed in):
    /// its tree when none is shown, every vault's rows marked cached, and its selection when none is
    /// made. Files that did not open are named in the notice.
    pub fn restore_index(&mut self, loaded: LoadedIndex) {
        let LoadedIndex {
            manifest,
            vaults,
            set_aside,
        } = loaded;
        let mut problems = set_aside;
        // The tree only when none is shown or being listed (an index read after sign-in comes second).
        if let Some(manifest) = manifest
            && self.tree.subscriptions.is_empty()
            && !self.tree.subscriptions_status.is_loading()
        {
            self.restore_manifest(manifest);
        }
        for (uri, last_used, contents) in contents_of(vaults) {
            match contents {
                Ok(contents) => {
                    if self.tree.vaults.contains_key(&uri) {
                        continue;
                    }
                    self.local_index.note_restored(&uri, &contents, last_used);
                    self.tree.vaults.insert(uri, contents);
                }
                Err(reason) => problems.push(reason),
            }
        }
        self.search.stale = true;
        if let Some(first) = problems.first() {
            let more = match problems.len() {
                1 => String::new(),
                count => format!(" (and {} more)", count - 1),
            };
            self.shared
                .set_notice(format!("Local index: {first}{more}"), true);
        }
    }

    fn restore_manifest(&mut self, manifest: IndexManifest) {
        self.tree.tenants = manifest
            .tenants
            .into_iter()
            .map(|tenant| Tenant {
                tenant_id: tenant.tenant_id,
                display_name: tenant.display_name,
                default_domain: tenant.default_domain,
                tenant_category: tenant.category,
            })
            .collect();
        self.tree.subscriptions = manifest
            .subscriptions
            .into_iter()
            .map(|subscription| SubscriptionNode {
                vaults: subscription
                    .vaults
                    .into_iter()
                    .filter_map(|vault| {
                        Some(VaultSummary {
                            uri: VaultUri::parse(&vault.uri).ok()?,
                            name: vault.name,
                            subscription_id: vault.subscription_id,
                            resource_group: vault.resource_group,
                            location: vault.location,
                            arm_id: vault.arm_id,
                            properties: VaultProperties {
                                vault_uri: Some(vault.uri),
                                tenant_id: vault.tenant_id,
                                sku: vault.sku.map(|name| VaultSku {
                                    family: "A".to_owned(),
                                    name,
                                }),
                                enable_rbac_authorization: vault.rbac,
                                enable_soft_delete: vault.soft_delete,
                                soft_delete_retention_in_days: vault.retention_days,
                                enable_purge_protection: vault.purge_protection,
                                public_network_access: vault.public_network_access,
                                ..VaultProperties::default()
                            },
                        })
                    })
                    .collect(),
                subscription: Subscription {
                    subscription_id: subscription.subscription_id,
                    tenant_id: subscription.tenant_id,
                    display_name: subscription.display_name,
                    state: subscription.state,
                    listed_in_tenant: subscription.listed_in_tenant,
                    ..Subscription::default()
                },
                vaults_status: LoadStatus::Loaded,
            })
            .collect();
        self.tree.subscriptions_as_of = manifest.subscriptions_as_of;
        self.tree.subscriptions_cached = !self.tree.subscriptions.is_empty();
        self.tree.subscriptions_status = LoadStatus::Loaded;
        self.tree.opened_vaults = manifest
            .opened_vaults
            .iter()
            .filter_map(|uri| VaultUri::parse(uri).ok())
            .collect();
        if self.selected_vault.is_none()
            && let Some(vault) = manifest
                .selected_vault
                .as_deref()
                .and_then(|uri| VaultUri::parse(uri).ok())
        {
            self.selected_vault = Some(vault);
            self.objects.vault_changed();
            if let Some(&list) = ListKind::ALL.get(usize::from(manifest.selected_list)) {
                self.objects.set_list(list);
            }
        }
    }

    /// Signed in: the index shown is kept and reconciled when it is this identity's; else it is put away
    /// and this identity's own is read (also when none was shown).
    pub(super) fn index_signed_in(&mut self, sink: &mut dyn CommandSink) {
        let identity = match &self.session.sign_in {
            super::SignInState::SignedIn(signed_in) => {
                identity_of(&self.local_index.cloud, signed_in)
            }
            _ => None,
        };
        let index_was_shown = self.local_index.shown_dir.is_some();
        let matches = self.local_index.signed_in(identity.clone());
        if !matches {
            // Someone else's rows must not stay on screen.
            self.leave_identity(sink);
            self.local_index.clear_shown();
            self.local_index.shown_dir = identity
                .as_ref()
                .map(crate::local_index::IndexStore::identity_dir_name);
        }
        match identity.filter(|_| self.local_index.mode.is_on()) {
            // Someone else's was shown, or none (a sign-in after sign-out, or from the sign-in screen):
            // this identity's own is read and shown as it arrives.
            Some(identity) if !matches || !index_was_shown => {
                self.local_index.requests.send(
                    sink,
                    Command::OpenIndex { identity },
                    IndexRequest::Open,
                );
            }
            _ => {
                self.reconcile_indexed(sink);
                // What was browsed before sign-in is read again now it can be.
                let shown = super::objects::Shown::of(self.selected_vault.as_ref(), &self.tree);
                if self.objects.selected_object.is_some() {
                    self.objects.reload_selected(shown, sink);
                }
            }
        }
    }

    /// Loads every vault showing cached rows again, the most recently used first (the worker's adaptive
    /// bound takes them in that order).
    fn reconcile_indexed(&mut self, sink: &mut dyn CommandSink) {
        let mut cached: Vec<VaultUri> = self
            .tree
            .vaults
            .iter()
            .filter(|(_, contents)| contents.is_cached() && !contents.status.is_loading())
            .map(|(uri, _)| uri.clone())
            .collect();
        let selected = self.selected_vault.clone();
        cached.sort_by_key(|uri| {
            (
                Some(uri) != selected.as_ref(),
                std::cmp::Reverse(self.local_index.last_used.get(uri).copied().unwrap_or(0)),
                uri.as_str().to_owned(),
            )
        });
        for vault in cached {
            self.tree.load_vault(vault, sink);
        }
    }

    /// The selected object's versions arrived whole: kept with its vault (and so in the index).
    pub(super) fn remember_versions(&mut self, id: &crate::azure::identifiers::ObjectId) {
        if self.objects.versions.id.as_ref() != Some(id) {
            return;
        }
        if self.objects.versions.cached_as_of.take().is_some() {
            // The list arrived whole without a page: the object has no versions now.
            self.objects.versions.items.clear();
        }
        let versions = &self.objects.versions;
        let list = ListKind::live(id.kind);
        if let Some(contents) = self.tree.vaults.get_mut(&id.vault) {
            contents.versions.insert(
                (list, id.name.to_ascii_lowercase()),
                super::vault_index::FetchedVersions {
                    fetched_at: now_unix(),
                    items: versions.items.clone(),
                    cached: false,
                },
            );
        }
    }

    /// While the selected object's versions are being read (or could not be), the ones fetched before
    /// show, marked with their age.
    pub(super) fn show_cached_versions(&mut self) {
        let versions = &self.objects.versions;
        let Some(id) = versions.id.clone() else {
            return;
        };
        if !versions.items.is_empty() || versions.status == LoadStatus::Loaded {
            return;
        }
        let cached = self
            .tree
            .vaults
            .get(&id.vault)
            .and_then(|contents| {
                contents
                    .versions
                    .get(&(ListKind::live(id.kind), id.name.to_ascii_lowercase()))
            })
            .cloned();
        if let Some(cached) = cached {
            self.objects.versions.items = cached.items;
            self.objects.versions.cached_as_of = Some(cached.fetched_at);
        }
    }

    /// An index request's event.
    pub(super) fn apply_index_event(
        &mut self,
        id: RequestId,
        request: IndexRequest,
        kind: EventKind,
        sink: &mut dyn CommandSink,
    ) {
        match kind {
            EventKind::Finished(outcome) => {
                self.local_index.requests.finish(id);
                self.local_index
                    .finish(request, outcome, &mut self.shared, sink);
            }
            EventKind::IndexOpened(loaded) => {
                self.restore_index(*loaded);
                self.reconcile_indexed(sink);
            }
            other => {
                tracing::warn!(event = ?std::mem::discriminant(&other), "event does not match its index request");
            }
        }
    }

    /// Once a frame: cached versions for a selected object still waiting for its own, and the save of
    /// what changed (at most every two seconds; `force`: now, as the window closes).
    pub fn refresh_index(
        &mut self,
        now: std::time::Instant,
        force: bool,
        sink: &mut dyn CommandSink,
    ) {
        self.show_cached_versions();
        let (tree, selected, list) = (
            &self.tree,
            self.selected_vault.as_ref(),
            self.objects.selected_list.index() as u8,
        );
        self.local_index.save_changes(
            now,
            force,
            tree,
            || manifest_of(tree, selected, list, now_unix()),
            sink,
        );
        if self.local_index.index_all.is_some()
            && let Some((ended, total)) = self.local_index.index_all_progress(&self.tree)
            && ended == total
        {
            self.local_index.index_all = None;
            self.shared
                .set_notice(format!("Indexed {total} vaults"), false);
        }
    }

    pub(super) fn handle_local_index(
        &mut self,
        intent: LocalIndexIntent,
        sink: &mut dyn CommandSink,
    ) {
        match intent {
            LocalIndexIntent::ForgetVault(vault) => {
                self.tree
                    .requests
                    .ids(|request| matches!(request, TreeRequest::LoadVault(v) if *v == vault))
                    .into_iter()
                    .for_each(|id| sink.cancel(id));
                self.tree
                    .requests
                    .forget(|request| matches!(request, TreeRequest::LoadVault(v) if *v == vault));
                self.tree.vaults.remove(&vault);
                self.local_index.forget_vault(&vault, sink);
                self.search.stale = true;
            }
            LocalIndexIntent::IndexAll => {
                let vaults = self.tree.known_vaults();
                for vault in &vaults {
                    let busy = self
                        .tree
                        .vaults
                        .get(vault)
                        .is_some_and(|contents| contents.status.is_loading());
                    if !busy {
                        self.tree.load_vault(vault.clone(), sink);
                    }
                }
                self.local_index.index_all = Some(super::local_index::IndexAllRun { vaults });
            }
            LocalIndexIntent::CancelIndexAll => {
                if let Some(run) = self.local_index.index_all.take() {
                    for vault in &run.vaults {
                        self.tree.cancel_load(vault, sink);
                    }
                    self.shared.set_notice("Index all was cancelled", false);
                }
            }
            LocalIndexIntent::ConfirmSignOut { delete_index } => {
                self.local_index.sign_out_asked = false;
                if delete_index {
                    self.local_index.delete_identity(sink);
                }
                self.sign_out(sink);
            }
            LocalIndexIntent::CancelSignOut => self.local_index.sign_out_asked = false,
        }
    }
}

/// Each indexed vault's lists rebuilt (a million rows take a while: on every core, at launch), with its
/// URI and when it was last used, or why it was not used.
fn contents_of(vaults: Vec<IndexedVault>) -> Vec<(VaultUri, i64, Result<VaultContents, String>)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 8);
    let chunk = vaults.len().div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<IndexedVault>> = Vec::new();
    let mut vaults = vaults.into_iter().peekable();
    while vaults.peek().is_some() {
        chunks.push(vaults.by_ref().take(chunk).collect());
    }
    let convert = |vault: IndexedVault| {
        let Ok(uri) = VaultUri::parse(&vault.uri) else {
            return None;
        };
        let last_used = vault.last_used;
        let name = uri.name().to_owned();
        let contents = VaultContents::from_indexed(vault)
            .map_err(|reason| format!("the index of {name} was not used: {}", reason.0));
        Some((uri, last_used, contents))
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || chunk.into_iter().filter_map(convert).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    })
}
