//! The emulator's in-memory cloud: identities, subscriptions, vaults with their secrets, and the sign-in
//! grants in flight (device codes, refresh tokens). Built from a `Seed` at start.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::seed::{Seed, SeedSecretRule, SeedServicePrincipal, SeedTenant, SeedUser};

/// Who a token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// One version of a secret.
#[derive(Debug, Clone)]
pub struct SecretVersionState {
    pub version: String,
    pub value: String,
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

/// A secret and its versions, oldest first.
#[derive(Debug, Clone)]
pub struct SecretState {
    pub name: String,
    pub versions: Vec<SecretVersionState>,
}

impl SecretState {
    pub fn current(&self) -> Option<&SecretVersionState> {
        self.versions.last()
    }
}

#[derive(Debug, Clone)]
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
    pub network_acls: Option<serde_json::Value>,
    pub access_policies: Vec<serde_json::Value>,
    /// Keyed by lower-case name: Key Vault names compare case-insensitively; the map order is list order.
    pub secrets: BTreeMap<String, SecretState>,
}

impl VaultState {
    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    /// `Recoverable+Purgeable`, or `Recoverable` with purge protection (Key Vault's levels).
    pub fn recovery_level(&self) -> &'static str {
        if self.enable_purge_protection {
            "Recoverable"
        } else if self.soft_delete_retention_in_days == 90 {
            "Recoverable+Purgeable"
        } else {
            "CustomizedRecoverable+Purgeable"
        }
    }
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
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub principal: Principal,
    pub client_id: String,
}

/// The whole emulated cloud.
#[derive(Debug)]
pub struct CloudState {
    pub tenants: Vec<SeedTenant>,
    pub users: Vec<SeedUser>,
    pub service_principals: Vec<SeedServicePrincipal>,
    pub demo_user: String,
    pub subscriptions: Vec<SubscriptionState>,
    /// Keyed by lower-case vault name.
    pub vaults: BTreeMap<String, VaultState>,
    pub device_codes: HashMap<String, DeviceCodeState>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
}

/// A stable 32-hex-digit version id derived from where the version sits, so URIs survive restarts.
pub fn version_id(vault: &str, name: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{vault}/{name}/{index}").as_bytes());
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

const DAY: f64 = 86_400.0;

impl CloudState {
    /// Expands the seed with times relative to `now` (Unix seconds).
    pub fn from_seed(seed: &Seed, now: i64) -> Self {
        let mut vaults = BTreeMap::new();
        let mut subscriptions = Vec::new();
        for subscription in &seed.subscriptions {
            subscriptions.push(SubscriptionState {
                id: subscription.id.clone(),
                tenant_id: subscription.tenant_id.clone(),
                display_name: subscription.display_name.clone(),
            });
            for group in &subscription.resource_groups {
                for vault in &group.vaults {
                    let mut state = VaultState {
                        name: vault.name.clone(),
                        subscription_id: subscription.id.clone(),
                        resource_group: group.name.clone(),
                        location: vault
                            .location
                            .clone()
                            .unwrap_or_else(|| group.location.clone()),
                        tenant_id: subscription.tenant_id.clone(),
                        tags: vault.tags.clone(),
                        enable_rbac_authorization: vault.enable_rbac_authorization,
                        soft_delete_retention_in_days: vault.soft_delete_retention_in_days,
                        enable_purge_protection: vault.enable_purge_protection,
                        sku: vault.sku.clone(),
                        public_network_access: vault.public_network_access.clone(),
                        network_acls: vault.network_acls.clone(),
                        access_policies: vault.access_policies.clone(),
                        secrets: BTreeMap::new(),
                    };
                    for secret in &vault.secrets {
                        let count = secret.versions.len();
                        let versions = secret
                            .versions
                            .iter()
                            .enumerate()
                            .map(|(index, version)| {
                                let created = now - (version.created_days_ago * DAY) as i64;
                                let is_current = index + 1 == count;
                                SecretVersionState {
                                    version: version_id(&vault.name, &secret.name, index),
                                    value: version.value.clone(),
                                    content_type: secret.content_type.clone(),
                                    tags: secret.tags.clone(),
                                    enabled: version
                                        .enabled
                                        .unwrap_or(!is_current || secret.enabled),
                                    not_before: secret
                                        .not_before_in_days
                                        .filter(|_| is_current)
                                        .map(|days| now + days * DAY as i64),
                                    expires: secret
                                        .expires_in_days
                                        .filter(|_| is_current)
                                        .map(|days| now + days * DAY as i64),
                                    created,
                                    updated: created,
                                }
                            })
                            .collect();
                        state.secrets.insert(
                            secret.name.to_ascii_lowercase(),
                            SecretState {
                                name: secret.name.clone(),
                                versions,
                            },
                        );
                    }
                    for rule in &vault.generated_secrets {
                        expand_rule(&mut state, rule, now);
                    }
                    vaults.insert(vault.name.to_ascii_lowercase(), state);
                }
            }
        }
        Self {
            tenants: seed.tenants.clone(),
            users: seed.users.clone(),
            service_principals: seed.service_principals.clone(),
            demo_user: seed.demo_user.clone(),
            subscriptions,
            vaults,
            device_codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
        }
    }

    /// The principal of a user by UPN (case-insensitive).
    pub fn user_principal(&self, upn: &str) -> Option<Principal> {
        self.users
            .iter()
            .find(|user| user.user_principal_name.eq_ignore_ascii_case(upn))
            .map(|user| Principal {
                object_id: user.id.clone(),
                tenant_id: user.tenant_id.clone(),
                upn: Some(user.user_principal_name.clone()),
                display_name: user.display_name.clone(),
                app_id: None,
                is_user: true,
            })
    }

    /// The principal of a service principal by app (client) id.
    pub fn app_principal(&self, app_id: &str) -> Option<(Principal, Option<String>)> {
        self.service_principals
            .iter()
            .find(|sp| sp.app_id.eq_ignore_ascii_case(app_id))
            .map(|sp| {
                (
                    Principal {
                        object_id: sp.id.clone(),
                        tenant_id: sp.tenant_id.clone(),
                        upn: None,
                        display_name: sp.display_name.clone(),
                        app_id: Some(sp.app_id.clone()),
                        is_user: false,
                    },
                    sp.client_secret.clone(),
                )
            })
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
}

fn expand_rule(vault: &mut VaultState, rule: &SeedSecretRule, now: i64) {
    let versions = rule.versions.max(1);
    for index in 0..rule.count {
        let name = SeedSecretRule::expand(&rule.name_pattern, index);
        let age_days = if rule.count > 1 {
            rule.spread_days * index as f64 / (rule.count - 1) as f64
        } else {
            0.0
        };
        let disabled =
            rule.disable_every > 0 && index % rule.disable_every == rule.disable_every - 1;
        let version_states = (0..versions)
            .map(|v| {
                // Older versions are 7 days apart.
                let created = now - ((age_days + 7.0 * (versions - 1 - v) as f64) * DAY) as i64;
                SecretVersionState {
                    version: version_id(&vault.name, &name, v),
                    value: format!(
                        "{}#v{}",
                        SeedSecretRule::expand(&rule.value_pattern, index),
                        v + 1
                    ),
                    content_type: rule.content_type.clone(),
                    tags: rule.tags.clone(),
                    enabled: !(disabled && v + 1 == versions),
                    not_before: None,
                    expires: None,
                    created,
                    updated: created,
                }
            })
            .collect();
        vault.secrets.insert(
            name.to_ascii_lowercase(),
            SecretState {
                name,
                versions: version_states,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::seed::{DEMO_SEED_JSON, parse_seed};

    #[test]
    fn demo_seed_expands() {
        let seed = parse_seed(DEMO_SEED_JSON).expect("seed");
        let state = CloudState::from_seed(&seed, 1_800_000_000);
        let total: usize = state.vaults.values().map(|v| v.secrets.len()).sum();
        assert!(total >= 5300, "{total} secrets");
        let big = state
            .vaults
            .values()
            .map(|v| v.secrets.len())
            .max()
            .unwrap_or(0);
        assert!(big >= 5000);
        assert!(state.user_principal(&state.demo_user).is_some());
        for vault in state.vaults.values() {
            for secret in vault.secrets.values() {
                assert!(!secret.versions.is_empty());
                assert!(
                    secret
                        .versions
                        .windows(2)
                        .all(|w| w[0].created <= w[1].created)
                );
            }
        }
    }

    #[test]
    fn version_ids_are_stable_hex() {
        let id = version_id("kv", "name", 0);
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(id, version_id("kv", "name", 0));
        assert_ne!(id, version_id("kv", "name", 1));
    }
}
