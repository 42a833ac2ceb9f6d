//! The emulator's in-memory cloud: the directory (users, groups, service principals), subscriptions, vaults
//! with their secrets, keys and certificates (live and soft-deleted), deleted vaults, role definitions and
//! assignments, and the sign-in grants in flight (device codes, refresh tokens). Built from a `Seed` at start
//! (`seeding.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::material::{CertificateVersion, KeyMaterial};
use super::roles::RoleDefinition;
use super::seed::{SeedGroup, SeedServicePrincipal, SeedTenant, SeedUser};

/// Who a token is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub object_id: String,
    pub tenant_id: String,
    pub upn: Option<String>,
    pub display_name: String,
    /// Set for service principals (the app id) and for user tokens (the client app).
    pub app_id: Option<String>,
    pub is_user: bool,
}

#[derive(Debug, Clone)]
pub struct SubscriptionState {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// Tenants it is delegated to through Azure Lighthouse: their principals read it with their own
    /// tenant's tokens.
    pub managed_by_tenants: Vec<String>,
}

impl SubscriptionState {
    /// Whether a token of `tenant` may be used on this subscription: its own, or one it is delegated to.
    pub fn accepts_tenant(&self, tenant: &str) -> bool {
        self.tenant_id.eq_ignore_ascii_case(tenant)
            || self
                .managed_by_tenants
                .iter()
                .any(|managing| managing.eq_ignore_ascii_case(tenant))
    }
}

/// The three object collections of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ObjectKind {
    Secret,
    Key,
    Certificate,
}

impl ObjectKind {
    pub const ALL: [Self; 3] = [Self::Secret, Self::Key, Self::Certificate];

    fn index(self) -> usize {
        match self {
            Self::Secret => 0,
            Self::Key => 1,
            Self::Certificate => 2,
        }
    }

    /// The URL collection: `secrets`, `keys`, `certificates`.
    pub fn collection(self) -> &'static str {
        match self {
            Self::Secret => "secrets",
            Self::Key => "keys",
            Self::Certificate => "certificates",
        }
    }

    /// `deletedsecrets`, `deletedkeys`, `deletedcertificates`.
    pub fn deleted_collection(self) -> &'static str {
        match self {
            Self::Secret => "deletedsecrets",
            Self::Key => "deletedkeys",
            Self::Certificate => "deletedcertificates",
        }
    }

    /// `Secret`, `Key`, `Certificate`, as Key Vault's messages name them.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Secret => "Secret",
            Self::Key => "Key",
            Self::Certificate => "Certificate",
        }
    }

    /// Lower-case, as access-policy permission lists name them.
    pub fn lower(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Key => "key",
            Self::Certificate => "certificate",
        }
    }
}

/// What a version holds besides its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Payload {
    Secret { value: String },
    Key(KeyMaterial),
    Certificate(CertificateVersion),
}

/// One version of a secret, key or certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionState {
    pub version: String,
    pub enabled: bool,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub tags: BTreeMap<String, String>,
    /// Secrets only.
    pub content_type: Option<String>,
    pub payload: Payload,
}

/// A secret, key or certificate and its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectState {
    pub name: String,
    pub versions: Vec<VersionState>,
    /// True for the key and secret that back a certificate.
    pub managed: bool,
    /// Certificates only: the issuance policy (Key Vault's JSON shape, without `id`).
    pub policy: Option<Value>,
}

impl ObjectState {
    pub fn current(&self) -> Option<&VersionState> {
        self.versions.last()
    }

    pub fn version(&self, version: &str) -> Option<&VersionState> {
        self.versions
            .iter()
            .find(|v| v.version.eq_ignore_ascii_case(version))
    }

    pub fn version_mut(&mut self, version: &str) -> Option<&mut VersionState> {
        self.versions
            .iter_mut()
            .find(|v| v.version.eq_ignore_ascii_case(version))
    }
}

/// A soft-deleted object, recoverable until its scheduled purge date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedObject {
    pub object: ObjectState,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultState {
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    pub tenant_id: String,
    pub tags: BTreeMap<String, String>,
    pub enable_rbac_authorization: bool,
    pub soft_delete_retention_in_days: u32,
    pub enable_purge_protection: bool,
    pub sku: String,
    pub public_network_access: String,
    pub network_acls: Option<Value>,
    pub access_policies: Vec<Value>,
    /// Per kind, keyed by lower-case name (Key Vault names compare case-insensitively); map order is list order.
    pub(super) objects: [BTreeMap<String, ObjectState>; 3],
    pub(super) deleted: [BTreeMap<String, DeletedObject>; 3],
    /// Certificates being created, by lower-case name: the pending GET completes them once ready.
    pub pending_certificates: BTreeMap<String, PendingCertificate>,
    /// The PKCS#10 request of each certificate's last creation, by lower-case name: Key Vault keeps the
    /// completed operation, `csr` included.
    pub certificate_requests: BTreeMap<String, Vec<u8>>,
}

/// A certificate whose creation is under way: its version exists, disabled, until `ready_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingCertificate {
    pub version: String,
    /// Whether the version is enabled once issued (what the create asked for).
    pub enable: bool,
    /// Not saved by `--state-dir`: a creation pending at a restart completes at its next poll.
    #[serde(skip, default = "std::time::Instant::now")]
    pub ready_at: std::time::Instant,
    pub request_id: String,
    pub csr: Vec<u8>,
}

/// Ends a certificate's creation: its version and the managed key and secret versions take the enabled
/// state the create asked for.
pub fn complete_certificate(vault: &mut VaultState, name: &str, version: &str, enable: bool) {
    let key = name.to_ascii_lowercase();
    for kind in [ObjectKind::Certificate, ObjectKind::Key, ObjectKind::Secret] {
        if let Some(found) = vault
            .objects_mut(kind)
            .get_mut(&key)
            .and_then(|object| object.version_mut(version))
        {
            found.enabled = enable;
        }
    }
}

impl VaultState {
    /// The same vault under another name, with no secrets, keys or certificates.
    pub fn emptied_copy(&self, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            objects: Default::default(),
            deleted: Default::default(),
            pending_certificates: BTreeMap::new(),
            certificate_requests: BTreeMap::new(),
            ..self.clone()
        }
    }

    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    /// Key Vault's recovery level for this vault's soft-delete settings.
    pub fn recovery_level(&self) -> &'static str {
        match (
            self.enable_purge_protection,
            self.soft_delete_retention_in_days == 90,
        ) {
            (true, true) => "Recoverable",
            (true, false) => "CustomizedRecoverable",
            (false, true) => "Recoverable+Purgeable",
            (false, false) => "CustomizedRecoverable+Purgeable",
        }
    }

    pub fn objects(&self, kind: ObjectKind) -> &BTreeMap<String, ObjectState> {
        &self.objects[kind.index()]
    }

    pub fn objects_mut(&mut self, kind: ObjectKind) -> &mut BTreeMap<String, ObjectState> {
        &mut self.objects[kind.index()]
    }

    pub fn deleted(&self, kind: ObjectKind) -> &BTreeMap<String, DeletedObject> {
        &self.deleted[kind.index()]
    }

    pub fn deleted_mut(&mut self, kind: ObjectKind) -> &mut BTreeMap<String, DeletedObject> {
        &mut self.deleted[kind.index()]
    }

    /// Soft-deletes `name` of `kind` at `now`; returns the deleted entry.
    pub fn soft_delete(&mut self, kind: ObjectKind, name: &str, now: i64) -> Option<DeletedObject> {
        let key = name.to_ascii_lowercase();
        let object = self.objects_mut(kind).remove(&key)?;
        let deleted = DeletedObject {
            object,
            deleted_date: now,
            scheduled_purge_date: now + i64::from(self.soft_delete_retention_in_days) * 86_400,
        };
        self.deleted_mut(kind).insert(key, deleted.clone());
        Some(deleted)
    }
}

/// A vault deleted (soft) at the ARM level.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeletedVaultState {
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    pub deletion_date: i64,
    pub scheduled_purge_date: i64,
    pub purge_protection_enabled: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleAssignmentState {
    pub id: String,
    pub principal_id: String,
    pub principal_type: String,
    pub role_definition_id: String,
    pub scope: String,
    pub created: i64,
}

/// A device code waiting to be approved.
#[derive(Debug, Clone)]
pub struct DeviceCodeState {
    pub user_code: String,
    pub tenant: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: i64,
    pub approved_for: Option<Principal>,
    pub declined: bool,
    pub last_poll: Option<std::time::Instant>,
}

/// What a refresh token stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub principal: Principal,
    pub client_id: String,
    /// When it was issued (Unix seconds): the oldest go first when the store is full.
    pub issued_at: i64,
}

/// The most device codes, refresh tokens and backups the emulator keeps: a client that keeps asking
/// (a loop, a fuzzer) must not grow it without bound. The oldest go first; an evicted refresh token or
/// backup answers as an expired or unknown one would.
pub const MAX_KEPT_GRANTS: usize = 10_000;

/// Makes room for one more entry in `map`: past `cap`, the oldest tenth (by `age`, smaller is older)
/// goes, and whatever `expired` picks goes first.
pub fn make_room<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    cap: usize,
    age: impl Fn(&V) -> i64,
    expired: impl Fn(&V) -> bool,
) {
    if map.len() < cap {
        return;
    }
    map.retain(|_, value| !expired(value));
    if map.len() < cap {
        return;
    }
    let mut ages: Vec<(i64, K)> = map
        .iter()
        .map(|(key, value)| (age(value), key.clone()))
        .collect();
    ages.sort_by_key(|(age, _)| *age);
    for (_, key) in ages.into_iter().take((cap / 10).max(1)) {
        map.remove(&key);
    }
}

/// The compute resource the managed-identity endpoints answer for.
#[derive(Debug, Clone, Default)]
pub struct ManagedIdentityHost {
    pub system_assigned: Option<String>,
    pub user_assigned: Vec<String>,
}

/// The whole emulated cloud.
#[derive(Debug)]
pub struct CloudState {
    pub tenants: Vec<SeedTenant>,
    pub users: Vec<SeedUser>,
    pub groups: Vec<SeedGroup>,
    pub service_principals: Vec<SeedServicePrincipal>,
    pub demo_user: String,
    pub subscriptions: Vec<SubscriptionState>,
    /// Keyed by lower-case vault name.
    pub vaults: BTreeMap<String, VaultState>,
    pub deleted_vaults: Vec<DeletedVaultState>,
    pub role_definitions: Vec<RoleDefinition>,
    pub role_assignments: Vec<RoleAssignmentState>,
    /// PIM-eligible assignments: listed by Resource Manager, never authorizing the data plane.
    pub role_eligibilities: Vec<RoleAssignmentState>,
    pub deny_assignments: Vec<super::seed::SeedDenyAssignment>,
    /// App Service and Function apps.
    pub sites: Vec<super::site_state::SiteState>,
    pub managed_identity_host: ManagedIdentityHost,
    pub device_codes: HashMap<String, DeviceCodeState>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    /// Backup blobs handed out by `…/backup`, by blob; valid for this emulator's lifetime.
    pub backups: HashMap<String, Backup>,
    /// What the data plane saw before recent access changes (`--propagation-ms`).
    pub access_history: AccessHistory,
    /// Resource Graph answers every query with a refusal (tests of the per-subscription fallback).
    pub resource_graph_refused: bool,
}

/// Access changes take time to reach Key Vault's data plane (Azure RBAC: minutes). Resource Manager shows a
/// change at once; the data plane authorizes with what held `propagation` ago. So each change records what
/// held just before it: the data plane's view is the state before the oldest change still inside the
/// window, or the current state when there is none.
#[derive(Debug, Clone, Default)]
pub struct AccessHistory {
    pub propagation: std::time::Duration,
    /// When each change to role assignments was made, and the assignments just before it.
    role_assignments: Vec<(std::time::Instant, Vec<RoleAssignmentState>)>,
    /// Per vault (lower-case name): when each access-policy change was made, and the policies before it.
    policies: HashMap<String, Vec<(std::time::Instant, Vec<Value>)>>,
}

impl AccessHistory {
    fn horizon(&self) -> Option<std::time::Instant> {
        std::time::Instant::now().checked_sub(self.propagation)
    }

    /// Notes that role assignments are about to change from `before`.
    pub fn role_assignments_changing(&mut self, before: &[RoleAssignmentState]) {
        if self.propagation.is_zero() {
            return;
        }
        let horizon = self.horizon();
        self.role_assignments
            .retain(|(at, _)| horizon.is_none_or(|horizon| *at > horizon));
        self.role_assignments
            .push((std::time::Instant::now(), before.to_vec()));
    }

    /// Notes that `vault`'s access policies are about to change from `before`.
    pub fn policies_changing(&mut self, vault: &str, before: &[Value]) {
        if self.propagation.is_zero() {
            return;
        }
        let horizon = self.horizon();
        let history = self.policies.entry(vault.to_ascii_lowercase()).or_default();
        history.retain(|(at, _)| horizon.is_none_or(|horizon| *at > horizon));
        history.push((std::time::Instant::now(), before.to_vec()));
    }

    /// The role assignments the data plane authorizes with now.
    pub fn role_assignments<'a>(
        &'a self,
        current: &'a [RoleAssignmentState],
    ) -> &'a [RoleAssignmentState] {
        let horizon = self.horizon();
        self.role_assignments
            .iter()
            .find(|(at, _)| horizon.is_none_or(|horizon| *at > horizon))
            .map_or(current, |(_, before)| before.as_slice())
    }

    /// The access policies of `vault` the data plane authorizes with now.
    pub fn policies<'a>(&'a self, vault: &str, current: &'a [Value]) -> &'a [Value] {
        let horizon = self.horizon();
        self.policies
            .get(&vault.to_ascii_lowercase())
            .and_then(|history| {
                history
                    .iter()
                    .find(|(at, _)| horizon.is_none_or(|horizon| *at > horizon))
            })
            .map_or(current, |(_, before)| before.as_slice())
    }
}

/// What a backup blob stands for: the object (and, for a certificate, its managed key and secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backup {
    pub kind: ObjectKind,
    pub subscription_id: String,
    /// The Azure geography of the vault it was taken from (a backup restores only within one).
    pub geography: String,
    pub objects: Vec<(ObjectKind, ObjectState)>,
    /// When it was taken (Unix seconds).
    pub taken_at: i64,
}

/// The Azure geography of a region (Key Vault restores a backup only within the geography it was taken
/// in; LEARN "Azure Key Vault backup": same subscription, same geography). Regions not listed are their
/// own geography.
pub fn geography_of(location: &str) -> &'static str {
    let location = location.to_ascii_lowercase().replace(' ', "");
    const GEOGRAPHIES: &[(&str, &[&str])] = &[
        (
            "United States",
            &[
                "eastus",
                "eastus2",
                "westus",
                "westus2",
                "westus3",
                "centralus",
                "northcentralus",
                "southcentralus",
                "westcentralus",
            ],
        ),
        ("Europe", &["northeurope", "westeurope"]),
        ("United Kingdom", &["uksouth", "ukwest"]),
        ("Germany", &["germanywestcentral", "germanynorth"]),
        ("France", &["francecentral", "francesouth"]),
        ("Switzerland", &["switzerlandnorth", "switzerlandwest"]),
        ("Norway", &["norwayeast", "norwaywest"]),
        ("Sweden", &["swedencentral", "swedensouth"]),
        ("Canada", &["canadacentral", "canadaeast"]),
        ("Brazil", &["brazilsouth", "brazilsoutheast"]),
        ("Asia Pacific", &["eastasia", "southeastasia"]),
        (
            "Australia",
            &[
                "australiaeast",
                "australiasoutheast",
                "australiacentral",
                "australiacentral2",
            ],
        ),
        ("Japan", &["japaneast", "japanwest"]),
        ("Korea", &["koreacentral", "koreasouth"]),
        ("India", &["centralindia", "southindia", "westindia"]),
        ("UAE", &["uaenorth", "uaecentral"]),
        ("South Africa", &["southafricanorth", "southafricawest"]),
    ];
    GEOGRAPHIES
        .iter()
        .find(|(_, regions)| regions.contains(&location.as_str()))
        .map_or("its own region", |(geography, _)| geography)
}

/// A stable 32-hex-digit version id derived from where the version sits, so URIs survive restarts.
pub fn version_id(vault: &str, name: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{vault}/{name}/{index}").as_bytes());
    hex(&digest[..16])
}

/// A fresh random 32-hex-digit version id, for versions made at run time.
pub fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl CloudState {
    /// The principal of a user by UPN (case-insensitive).
    pub fn user_principal(&self, upn: &str) -> Option<Principal> {
        self.users
            .iter()
            .find(|user| user.user_principal_name.eq_ignore_ascii_case(upn))
            .map(user_to_principal)
    }

    /// The principal of a user by object id.
    pub fn user_by_id(&self, object_id: &str) -> Option<Principal> {
        self.users
            .iter()
            .find(|user| user.id.eq_ignore_ascii_case(object_id))
            .map(user_to_principal)
    }

    /// The principal of a service principal by app (client) id, with its client secret if it has one.
    pub fn app_principal(&self, app_id: &str) -> Option<(Principal, Option<String>)> {
        self.service_principals
            .iter()
            .find(|sp| sp.app_id.eq_ignore_ascii_case(app_id))
            .map(|sp| (sp_to_principal(sp), sp.client_secret.clone()))
    }

    /// The principal of a service principal by object id.
    pub fn service_principal_by_id(&self, object_id: &str) -> Option<Principal> {
        self.service_principals
            .iter()
            .find(|sp| sp.id.eq_ignore_ascii_case(object_id))
            .map(sp_to_principal)
    }

    /// Resolves a tenant path segment (GUID, default domain, `common`, `organizations`).
    pub fn resolve_tenant(&self, segment: &str) -> Option<&SeedTenant> {
        match segment.to_ascii_lowercase().as_str() {
            "common" | "organizations" => self.tenants.first(),
            lower => self.tenants.iter().find(|t| {
                t.id.eq_ignore_ascii_case(lower) || t.default_domain.eq_ignore_ascii_case(lower)
            }),
        }
    }

    /// Every group `object_id` belongs to, directly or through other groups (lower-case ids).
    pub fn transitive_groups(&self, object_id: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut frontier = vec![object_id.to_ascii_lowercase()];
        while let Some(member) = frontier.pop() {
            for group in &self.groups {
                let id = group.id.to_ascii_lowercase();
                if !found.contains(&id)
                    && group
                        .members
                        .iter()
                        .any(|candidate| candidate.eq_ignore_ascii_case(&member))
                {
                    found.insert(id.clone());
                    frontier.push(id);
                }
            }
        }
        found
    }

    pub fn role_definition(&self, id_or_guid: &str) -> Option<&RoleDefinition> {
        let guid = id_or_guid.rsplit('/').next().unwrap_or(id_or_guid);
        self.role_definitions
            .iter()
            .find(|role| role.id.eq_ignore_ascii_case(guid))
    }
}

fn user_to_principal(user: &SeedUser) -> Principal {
    Principal {
        object_id: user.id.clone(),
        tenant_id: user.tenant_id.clone(),
        upn: Some(user.user_principal_name.clone()),
        display_name: user.display_name.clone(),
        app_id: None,
        is_user: true,
    }
}

fn sp_to_principal(sp: &SeedServicePrincipal) -> Principal {
    Principal {
        object_id: sp.id.clone(),
        tenant_id: sp.tenant_id.clone(),
        upn: None,
        display_name: sp.display_name.clone(),
        app_id: Some(sp.app_id.clone()),
        is_user: false,
    }
}

/// A certificate version about to be added, with its managed key.
pub struct NewCertificateVersion<'a> {
    pub name: &'a str,
    pub version: String,
    pub certificate: CertificateVersion,
    pub key: KeyMaterial,
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    pub created: i64,
    pub policy: Option<Value>,
}

/// Adds a certificate version and its managed key and secret versions (same name, same version id).
pub fn add_certificate_version(vault: &mut VaultState, new: NewCertificateVersion<'_>) {
    let NewCertificateVersion {
        name,
        version,
        certificate,
        key,
        tags,
        enabled,
        created,
        policy,
    } = new;
    let (not_before, not_after) = (certificate.not_before, certificate.not_after);
    let attributes = |payload: Payload, content_type: Option<String>| VersionState {
        version: version.clone(),
        enabled,
        not_before: Some(not_before),
        expires: Some(not_after),
        created,
        updated: created,
        tags: tags.clone(),
        content_type,
        payload,
    };
    // The backing secret takes the policy's content type, and the private key only when it is exportable.
    let key_name = name.to_ascii_lowercase();
    let effective_policy = policy.clone().or_else(|| {
        vault
            .objects(ObjectKind::Certificate)
            .get(&key_name)
            .and_then(|object| object.policy.clone())
    });
    let (secret_value, secret_content_type) =
        super::material::certificate_secret(&certificate, effective_policy.as_ref());
    let secret_version = attributes(
        Payload::Secret {
            value: secret_value,
        },
        Some(secret_content_type),
    );
    let key_version = attributes(Payload::Key(key), None);
    let certificate_version = attributes(Payload::Certificate(certificate), None);
    for (kind, version_state, managed) in [
        (ObjectKind::Certificate, certificate_version, false),
        (ObjectKind::Key, key_version, true),
        (ObjectKind::Secret, secret_version, true),
    ] {
        let objects = vault.objects_mut(kind);
        let object = objects
            .entry(key_name.clone())
            .or_insert_with(|| ObjectState {
                name: name.to_owned(),
                versions: Vec::new(),
                managed,
                policy: None,
            });
        object.versions.push(version_state);
        if kind == ObjectKind::Certificate
            && let Some(policy) = &policy
        {
            object.policy = Some(policy.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_store_lets_the_oldest_tenth_go_and_the_expired_first() {
        let mut map: HashMap<u32, i64> = (0..100).map(|key| (key, i64::from(key))).collect();
        make_room(&mut map, 100, |age| *age, |_| false);
        assert_eq!(map.len(), 90);
        assert!(!map.contains_key(&0) && !map.contains_key(&9) && map.contains_key(&10));
        let mut map: HashMap<u32, i64> = (0..100).map(|key| (key, i64::from(key))).collect();
        make_room(&mut map, 100, |age| *age, |age| *age >= 95);
        assert_eq!(map.len(), 95, "the expired went; room enough");
        let mut small: HashMap<u32, i64> = (0..5).map(|key| (key, 0)).collect();
        make_room(&mut small, 100, |age| *age, |_| true);
        assert_eq!(small.len(), 5, "under the cap nothing goes");
    }
    use crate::emulator::seed::{DEMO_SEED_JSON, parse_seed};

    fn demo() -> CloudState {
        let seed = parse_seed(DEMO_SEED_JSON).expect("seed");
        CloudState::from_seed(&seed, 1_800_000_000).expect("demo state")
    }

    #[test]
    fn demo_seed_expands() {
        let state = demo();
        let total: usize = state
            .vaults
            .values()
            .map(|v| v.objects(ObjectKind::Secret).len())
            .sum();
        assert!(total >= 5300, "{total} secrets");
        let big = state
            .vaults
            .values()
            .map(|v| v.objects(ObjectKind::Secret).len())
            .max()
            .unwrap_or(0);
        assert!(big >= 5000);
        assert!(state.user_principal(&state.demo_user).is_some());
        for vault in state.vaults.values() {
            for kind in ObjectKind::ALL {
                for object in vault.objects(kind).values() {
                    assert!(!object.versions.is_empty());
                    assert!(
                        object
                            .versions
                            .windows(2)
                            .all(|w| w[0].created <= w[1].created)
                    );
                }
            }
        }
        let orders = &state.vaults["kv-prod-orders"];
        assert!(!orders.objects(ObjectKind::Key).is_empty());
        assert!(!orders.objects(ObjectKind::Certificate).is_empty());
        assert!(!orders.deleted(ObjectKind::Secret).is_empty());
        assert!(!state.deleted_vaults.is_empty());
    }

    #[test]
    fn certificates_have_managed_key_and_secret_with_the_same_version() {
        let state = demo();
        let vault = &state.vaults["kv-prod-orders"];
        let (name, certificate) = vault
            .objects(ObjectKind::Certificate)
            .iter()
            .next()
            .expect("a certificate");
        let version = &certificate.current().expect("version").version;
        for kind in [ObjectKind::Key, ObjectKind::Secret] {
            let backing = &vault.objects(kind)[name];
            assert!(backing.managed);
            assert_eq!(&backing.current().expect("version").version, version);
        }
        let Payload::Certificate(cert) = &certificate.current().expect("v").payload else {
            panic!("certificate payload");
        };
        assert_eq!(cert.x5t.len(), 27, "base64url of 20 bytes");
        assert!(cert.not_after > cert.not_before);
    }

    #[test]
    fn groups_are_transitive() {
        let state = demo();
        let ben = state.user_principal("ben@contoso.demo").expect("ben");
        let groups = state.transitive_groups(&ben.object_id);
        let names: Vec<&str> = state
            .groups
            .iter()
            .filter(|g| groups.contains(&g.id.to_ascii_lowercase()))
            .map(|g| g.display_name.as_str())
            .collect();
        assert!(names.contains(&"Ops On-Call"), "{names:?}");
        assert!(names.contains(&"Platform Operators"), "nested: {names:?}");
        assert!(names.contains(&"Prod Secret Readers"), "nested: {names:?}");
    }

    #[test]
    fn version_ids_are_stable_hex() {
        let id = version_id("kv", "name", 0);
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(id, version_id("kv", "name", 0));
        assert_ne!(id, version_id("kv", "name", 1));
        assert_eq!(new_version_id().len(), 32);
    }
}
