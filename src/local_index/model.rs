//! The index's snapshots: plain data written with postcard, free of UI and wire types so the format is
//! stable on its own. A list is kept in the compact shape the explorer holds it in (names in one arena,
//! tags and texts interned), so a million rows load in a few hundred milliseconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Whose index it is: one per (cloud, tenant, identity).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IndexIdentity {
    /// The cloud's display name ("Azure", "Local emulator", …).
    pub cloud: String,
    pub tenant_id: String,
    /// The signed-in principal's object id.
    pub object_id: String,
}

/// A subscription as the tree shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedSubscription {
    pub subscription_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub state: String,
    /// The tenant whose token listed it (a Lighthouse-delegated subscription: the managing tenant).
    #[serde(default)]
    pub listed_in_tenant: Option<String>,
    pub vaults: Vec<IndexedVaultSummary>,
}

/// What ARM said of a vault (no access policies: the Access view always reads those fresh).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedVaultSummary {
    pub name: String,
    pub uri: String,
    pub subscription_id: Option<String>,
    pub resource_group: Option<String>,
    pub location: String,
    pub arm_id: Option<String>,
    pub tenant_id: Option<String>,
    pub sku: Option<String>,
    pub rbac: Option<bool>,
    pub soft_delete: Option<bool>,
    pub retention_days: Option<u32>,
    pub purge_protection: Option<bool>,
    pub public_network_access: Option<String>,
}

/// A tenant's name for the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedTenant {
    pub tenant_id: String,
    pub display_name: Option<String>,
    pub default_domain: Option<String>,
    pub category: Option<String>,
}

/// The identity's tree and where it was: one small file, rewritten when the tree or selection changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexManifest {
    pub saved_at: i64,
    pub tenants: Vec<IndexedTenant>,
    pub subscriptions: Vec<IndexedSubscription>,
    /// When the subscription list was last complete.
    pub subscriptions_as_of: Option<i64>,
    /// Vaults opened by URI.
    pub opened_vaults: Vec<String>,
    pub selected_vault: Option<String>,
    /// The list shown (`ListKind::index`).
    pub selected_list: u8,
}

/// One row in the explorer's compact shape; strings are indices into the list's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedRow {
    pub name_len: u32,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: Option<i64>,
    pub updated: Option<i64>,
    /// Index into `tags`, or `u32::MAX`.
    pub tags: u32,
    /// Index into `strings`, or `u32::MAX`.
    pub content_type: u32,
    pub recovery_level: u32,
    /// Index into `extras`, or `u32::MAX`.
    pub extras: u32,
    pub recoverable_days: Option<u32>,
    pub enabled: Option<bool>,
    pub managed: Option<bool>,
}

/// A row's rare fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedExtras {
    pub identifier: Option<String>,
    pub recovery_id: Option<String>,
    pub x5t: Option<String>,
    pub deleted_date: Option<i64>,
    pub scheduled_purge_date: Option<i64>,
    pub exportable: Option<bool>,
}

/// One of a vault's six lists, as it was when last complete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedList {
    /// When this list last arrived whole (`None`: never; the list has no rows then).
    pub complete_at: Option<i64>,
    pub identifier_prefix: Option<String>,
    pub identifier_is_kid: bool,
    /// Every name as sent, back to back (each row says its length).
    pub names: String,
    pub rows: Vec<IndexedRow>,
    pub tags: Vec<BTreeMap<String, String>>,
    pub strings: Vec<String>,
    pub extras: Vec<IndexedExtras>,
}

/// The versions of one object, as last fetched (rows in the same compact shape).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedVersions {
    /// `ListKind::index` of the list the object is in.
    pub list: u8,
    pub name: String,
    pub fetched_at: i64,
    pub versions: IndexedList,
}

/// One vault's part of the index: a file of its own, rewritten when one of its lists arrives whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedVault {
    pub uri: String,
    /// When the person last opened it (reconciliation goes most recent first).
    pub last_used: i64,
    /// Indexed by `ListKind::index`.
    pub lists: Vec<IndexedList>,
    pub versions: Vec<IndexedVersions>,
}

impl IndexedVault {
    /// The oldest complete list's time: how old what is shown may be.
    pub fn as_of(&self) -> Option<i64> {
        self.lists.iter().filter_map(|list| list.complete_at).min()
    }

    /// Rows in all lists.
    pub fn row_count(&self) -> usize {
        self.lists.iter().map(|list| list.rows.len()).sum()
    }
}

/// An identity's whole index as read at launch, with what could not be read.
#[derive(Debug, Clone, Default)]
pub struct LoadedIndex {
    pub manifest: Option<IndexManifest>,
    pub vaults: Vec<IndexedVault>,
    /// One sentence per file set aside (damaged, truncated, foreign, another version).
    pub set_aside: Vec<String>,
}

/// What one save writes: the manifest, some vaults, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexWrite {
    pub identity: IndexIdentity,
    pub manifest: Option<IndexManifest>,
    pub vaults: Vec<IndexedVault>,
}
