//! The local index's part of the window: whether it is on (and why not), whose index is shown and whose
//! is written, which vaults changed since they were saved, "Index all" with its progress, and sign-out's
//! offer to delete the identity's index. Saving is debounced (at most one save every two seconds, each
//! carrying whole vaults) and goes through the worker; nothing here touches a disk.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use super::common::{CommandSink, Requests, Shared};
use super::errors::explain;
use super::tree::TreeState;
use super::vault_index::VaultContents;
use crate::auth::claims::SignedInIdentity;
use crate::azure::identifiers::VaultUri;
use crate::local_index::model::{
    IndexManifest, IndexWrite, IndexedSubscription, IndexedTenant, IndexedVault,
    IndexedVaultSummary,
};
use crate::local_index::{IndexIdentity, IndexStore};
use crate::worker::{Command, Outcome};

/// How long changes wait before they are saved together.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(2);

/// Whether the index is kept, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IndexMode {
    /// Kept under this directory.
    On(String),
    /// `--no-index`.
    #[default]
    Disabled,
    /// No OS keyring to keep its key in (the sentence says why).
    NoKeyring(String),
}

impl IndexMode {
    pub fn is_on(&self) -> bool {
        matches!(self, Self::On(_))
    }

    /// The status bar's word for it, and its tooltip.
    pub fn status(&self) -> (&'static str, String) {
        match self {
            Self::On(dir) => (
                "index on",
                format!(
                    "Metadata (never values) is kept encrypted in {dir}, under a key in the OS keyring"
                ),
            ),
            Self::Disabled => (
                "index off",
                "Started with --no-index: nothing is written to disk".to_owned(),
            ),
            Self::NoKeyring(reason) => (
                "index off (no keyring)",
                format!("No OS keyring to keep the index key in, so no index is written: {reason}"),
            ),
        }
    }
}

/// What the person does with the index.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalIndexIntent {
    /// Delete this vault's part of the index and put its cached rows away.
    ForgetVault(VaultUri),
    /// Load every vault the identity can see once (and so index it).
    IndexAll,
    CancelIndexAll,
    /// Sign out; with `delete_index`, delete the identity's index first.
    ConfirmSignOut {
        delete_index: bool,
    },
    CancelSignOut,
}

/// What an index request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexRequest {
    Save,
    Forget,
    DeleteIdentity,
    Open,
}

/// "Index all" under way: the vaults it asked for.
#[derive(Debug, Clone, Default)]
pub struct IndexAllRun {
    pub vaults: Vec<VaultUri>,
}

/// The window's index state.
#[derive(Debug, Default)]
pub struct LocalIndexState {
    pub mode: IndexMode,
    /// The cloud's display name (part of whose index it is).
    pub cloud: String,
    /// The identity signed in, whose index is written.
    pub identity: Option<IndexIdentity>,
    /// The identity directory the launch showed before signing in (checked once signed in).
    pub shown_dir: Option<String>,
    /// What each vault looked like when last saved or read from the index.
    saved: HashMap<VaultUri, u64>,
    last_manifest: Option<IndexManifest>,
    /// When each vault was last opened (Unix seconds): reconciliation goes most recent first.
    pub last_used: HashMap<VaultUri, i64>,
    next_save: Option<Instant>,
    /// A save was put off: when the window must run a frame to make it.
    wake_at: Option<Instant>,
    pub index_all: Option<IndexAllRun>,
    /// The sign-out dialog is open.
    pub sign_out_asked: bool,
    /// Delete this identity's index once the saves in flight have ended.
    delete_after_saves: Option<IndexIdentity>,
    /// A save failed already (said once, not every two seconds).
    save_failure_said: bool,
    pub(super) requests: Requests<IndexRequest>,
}

/// A vault's contents in one number: changes when any list is replaced, edited or confirmed.
pub fn signature(contents: &VaultContents) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for list in &contents.lists {
        (list.generation, list.complete_at, list.cached, list.len()).hash(&mut hasher);
    }
    let mut versions: Vec<(&str, usize, i64)> = contents
        .versions
        .iter()
        .map(|((_, name), fetched)| (name.as_str(), fetched.items.len(), fetched.fetched_at))
        .collect();
    versions.sort_unstable();
    versions.hash(&mut hasher);
    hasher.finish()
}

/// The index identity of `signed_in` in `cloud`, when its token names a tenant and an object id.
pub fn identity_of(cloud: &str, signed_in: &SignedInIdentity) -> Option<IndexIdentity> {
    Some(IndexIdentity {
        cloud: cloud.to_owned(),
        tenant_id: signed_in.tid.clone()?,
        object_id: signed_in.oid.clone()?,
    })
}

impl LocalIndexState {
    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// When the window must run a frame for a save that was put off, if one was.
    pub fn wake_at(&self) -> Option<Instant> {
        self.wake_at.filter(|_| self.identity.is_some())
    }

    /// Whether the window shows an index read before sign-in confirmed whose it is.
    pub fn showing_unconfirmed(&self) -> bool {
        self.shown_dir.is_some() && self.identity.is_none()
    }

    /// Remembers what was read from the index as saved (so it is not written straight back).
    pub fn note_restored(&mut self, vault: &VaultUri, contents: &VaultContents, last_used: i64) {
        self.saved.insert(vault.clone(), signature(contents));
        self.last_used.insert(vault.clone(), last_used);
    }

    pub fn touch(&mut self, vault: &VaultUri, now: i64) {
        self.last_used.insert(vault.clone(), now);
    }

    /// The signed-in identity: true when it is the one whose index the window shows (or nothing was
    /// shown), false when the shown index was someone else's.
    pub fn signed_in(&mut self, identity: Option<IndexIdentity>) -> bool {
        let matches = match (&identity, &self.shown_dir) {
            (Some(identity), Some(dir)) => IndexStore::identity_dir_name(identity) == *dir,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        if let Some(identity) = &identity {
            self.shown_dir = Some(IndexStore::identity_dir_name(identity));
        }
        self.identity = identity.filter(|_| self.mode.is_on());
        self.next_save = None;
        matches
    }

    /// Forgets whose index this is (sign-out); what was shown is put away by the app.
    pub fn leave(&mut self) {
        self.identity = None;
        self.shown_dir = None;
        self.clear_shown();
    }

    /// Forgets what was shown of an index (put away by the app), keeping whose index is written.
    pub fn clear_shown(&mut self) {
        self.saved.clear();
        self.last_manifest = None;
        self.last_used.clear();
        self.index_all = None;
        self.next_save = None;
        self.requests
            .forget(|request| *request == IndexRequest::Open);
    }

    /// Saves what changed since the last save, at most once per [`SAVE_INTERVAL`]: the vaults whose
    /// lists changed and are not loading, and the manifest when the tree or selection changed.
    pub fn save_changes(
        &mut self,
        now: Instant,
        force: bool,
        tree: &TreeState,
        manifest: impl FnOnce() -> IndexManifest,
        sink: &mut dyn CommandSink,
    ) {
        let Some(identity) = self.identity.clone() else {
            return;
        };
        if !force && let Some(next) = self.next_save.filter(|next| now < *next) {
            // Something may have changed: the window wakes to save it even when nothing else happens.
            self.wake_at = Some(next);
            return;
        }
        self.wake_at = None;
        self.next_save = Some(now + SAVE_INTERVAL);
        let mut vaults = Vec::new();
        for (uri, contents) in &tree.vaults {
            // A vault none of whose lists ever arrived whole (a firewall, a 403) has nothing to keep.
            if contents.status.is_loading()
                || contents.lists.iter().all(|list| list.complete_at.is_none())
            {
                continue;
            }
            let signature = signature(contents);
            if self.saved.get(uri) == Some(&signature) {
                continue;
            }
            self.saved.insert(uri.clone(), signature);
            vaults.push(IndexedVault {
                uri: uri.as_str().to_owned(),
                last_used: self.last_used.get(uri).copied().unwrap_or(0),
                lists: contents
                    .lists
                    .iter()
                    .map(|list| list.to_indexed())
                    .collect(),
                versions: contents.indexed_versions(),
            });
        }
        let manifest = manifest();
        let unchanged = self.last_manifest.as_ref().is_some_and(|last| {
            IndexManifest {
                saved_at: manifest.saved_at,
                ..last.clone()
            } == manifest
        });
        let manifest = (!unchanged).then(|| {
            self.last_manifest = Some(manifest.clone());
            manifest
        });
        if vaults.is_empty() && manifest.is_none() {
            return;
        }
        self.requests.send(
            sink,
            Command::SaveIndex(Box::new(IndexWrite {
                identity,
                manifest,
                vaults,
            })),
            IndexRequest::Save,
        );
    }

    /// Deletes a vault's part; the app puts its rows away.
    pub fn forget_vault(&mut self, vault: &VaultUri, sink: &mut dyn CommandSink) {
        self.saved.remove(vault);
        self.last_used.remove(vault);
        if let Some(identity) = self.identity.clone() {
            self.requests.send(
                sink,
                Command::ForgetIndexedVault {
                    identity,
                    uri: vault.clone(),
                },
                IndexRequest::Forget,
            );
        }
    }

    /// Deletes the identity's index once no save of it is in flight (a save ending later would bring
    /// files back); nothing more is saved for it.
    pub fn delete_identity(&mut self, sink: &mut dyn CommandSink) {
        let Some(identity) = self.identity.take() else {
            return;
        };
        if self
            .requests
            .ids(|request| *request == IndexRequest::Save)
            .is_empty()
        {
            self.requests.send(
                sink,
                Command::DeleteIdentityIndex { identity },
                IndexRequest::DeleteIdentity,
            );
        } else {
            self.delete_after_saves = Some(identity);
        }
    }

    /// An index request ended.
    pub fn finish(
        &mut self,
        request: IndexRequest,
        outcome: Outcome,
        shared: &mut Shared,
        sink: &mut dyn CommandSink,
    ) {
        if let Outcome::Failed(error) = &outcome {
            let said = request == IndexRequest::Save && self.save_failure_said;
            if !said {
                shared.set_notice(explain(error), true);
            }
            if request == IndexRequest::Save {
                self.save_failure_said = true;
                // What failed to save is saved again next time.
                self.saved.clear();
                self.last_manifest = None;
            }
        }
        match request {
            IndexRequest::Save
                if self
                    .requests
                    .ids(|request| *request == IndexRequest::Save)
                    .is_empty() =>
            {
                if let Some(identity) = self.delete_after_saves.take() {
                    self.requests.send(
                        sink,
                        Command::DeleteIdentityIndex { identity },
                        IndexRequest::DeleteIdentity,
                    );
                }
            }
            IndexRequest::DeleteIdentity if matches!(outcome, Outcome::Done) => {
                shared.set_notice("Signed out; this identity's local index was deleted", false);
            }
            IndexRequest::Forget if matches!(outcome, Outcome::Done) => {
                shared.set_notice("The vault was removed from the local index", false);
            }
            _ => {}
        }
    }

    /// "Index all": how many of its vaults have ended (loaded or failed), of how many.
    pub fn index_all_progress(&self, tree: &TreeState) -> Option<(usize, usize)> {
        let run = self.index_all.as_ref()?;
        let ended = run
            .vaults
            .iter()
            .filter(|vault| {
                tree.vaults
                    .get(*vault)
                    .is_some_and(|contents| !contents.status.is_loading())
            })
            .count();
        Some((ended, run.vaults.len()))
    }
}

/// The manifest of the tree as it is now.
pub fn manifest_of(
    tree: &TreeState,
    selected_vault: Option<&VaultUri>,
    selected_list: u8,
    now: i64,
) -> IndexManifest {
    IndexManifest {
        saved_at: now,
        tenants: tree
            .tenants
            .iter()
            .map(|tenant| IndexedTenant {
                tenant_id: tenant.tenant_id.clone(),
                display_name: tenant.display_name.clone(),
                default_domain: tenant.default_domain.clone(),
                category: tenant.tenant_category.clone(),
            })
            .collect(),
        subscriptions: tree
            .subscriptions
            .iter()
            .map(|node| IndexedSubscription {
                subscription_id: node.subscription.subscription_id.clone(),
                tenant_id: node.subscription.tenant_id.clone(),
                display_name: node.subscription.display_name.clone(),
                state: node.subscription.state.clone(),
                listed_in_tenant: node.subscription.listed_in_tenant.clone(),
                vaults: node
                    .vaults
                    .iter()
                    .map(|vault| IndexedVaultSummary {
                        name: vault.name.clone(),
                        uri: vault.uri.as_str().to_owned(),
                        subscription_id: vault.subscription_id.clone(),
                        resource_group: vault.resource_group.clone(),
                        location: vault.location.clone(),
                        arm_id: vault.arm_id.clone(),
                        tenant_id: vault.properties.tenant_id.clone(),
                        sku: vault.properties.sku.as_ref().map(|sku| sku.name.clone()),
                        rbac: vault.properties.enable_rbac_authorization,
                        soft_delete: vault.properties.enable_soft_delete,
                        retention_days: vault.properties.soft_delete_retention_in_days,
                        purge_protection: vault.properties.enable_purge_protection,
                        public_network_access: vault.properties.public_network_access.clone(),
                    })
                    .collect(),
            })
            .collect(),
        subscriptions_as_of: tree.subscriptions_as_of,
        opened_vaults: tree
            .opened_vaults
            .iter()
            .map(|vault| vault.as_str().to_owned())
            .collect(),
        selected_vault: selected_vault.map(|vault| vault.as_str().to_owned()),
        selected_list,
    }
}
