//! Typed models of the ARM and Key Vault JSON we read, lenient about absent fields (services add and omit
//! fields across api-versions) and strict about types.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;

use super::identifiers::{ObjectId, ObjectKind, VaultUri};

/// An ARM subscription (`GET /subscriptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    /// The subscription's own tenant.
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub state: String,
    /// Tenants that manage it through Azure Lighthouse.
    #[serde(default)]
    pub managed_by_tenants: Vec<ManagingTenant>,
    /// The tenant whose token listed it (set by the worker, not on the wire). A subscription delegated
    /// through Lighthouse is listed by the managing tenant and must be read with that tenant's token: its
    /// own tenant does not know the operator.
    #[serde(skip)]
    pub listed_in_tenant: Option<String>,
}

/// One entry of `managedByTenants`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagingTenant {
    pub tenant_id: String,
}

impl Subscription {
    /// The tenant whose ARM token reads this subscription: the one that listed it, else its own.
    pub fn arm_tenant(&self) -> Option<String> {
        self.listed_in_tenant
            .clone()
            .or_else(|| Some(self.tenant_id.clone()))
            .filter(|tenant| !tenant.is_empty())
    }

    /// Listed by another tenant than its own: delegated to that tenant through Azure Lighthouse.
    pub fn is_delegated(&self) -> bool {
        self.listed_in_tenant.as_deref().is_some_and(|listed| {
            !self.tenant_id.is_empty() && !listed.eq_ignore_ascii_case(&self.tenant_id)
        })
    }
}

/// A tenant the identity can reach (`GET /tenants`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub tenant_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub default_domain: Option<String>,
    /// `Home`, `ProjectedBy` or `ManagedBy`.
    #[serde(default)]
    pub tenant_category: Option<String>,
}

impl Tenant {
    pub fn name(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.default_domain.clone())
            .unwrap_or_else(|| self.tenant_id.clone())
    }
}

/// A key vault as ARM describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Vault {
    /// The ARM resource id.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub properties: VaultProperties,
}

impl Vault {
    /// The resource group named in the resource id.
    pub fn resource_group(&self) -> Option<&str> {
        super::resource_id::resource_group_of(&self.id)
    }
}

/// The properties of a vault we show and reason about.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultProperties {
    #[serde(default)]
    pub vault_uri: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub sku: Option<VaultSku>,
    /// `None` on older vaults, which use access policies.
    #[serde(default)]
    pub enable_rbac_authorization: Option<bool>,
    #[serde(default)]
    pub enable_soft_delete: Option<bool>,
    #[serde(default)]
    pub soft_delete_retention_in_days: Option<u32>,
    #[serde(default)]
    pub enable_purge_protection: Option<bool>,
    #[serde(default)]
    pub public_network_access: Option<String>,
    #[serde(default)]
    pub access_policies: Vec<super::access_models::AccessPolicyEntry>,
    #[serde(default)]
    pub network_acls: Option<NetworkAcls>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VaultSku {
    #[serde(default)]
    pub family: String,
    pub name: String,
}

/// Firewall rules of a vault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAcls {
    #[serde(default)]
    pub default_action: Option<String>,
    #[serde(default)]
    pub bypass: Option<String>,
    #[serde(default)]
    pub ip_rules: Vec<IpRule>,
    #[serde(default)]
    pub virtual_network_rules: Vec<VirtualNetworkRule>,
}

/// One allowed IPv4 address or CIDR range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IpRule {
    #[serde(default)]
    pub value: String,
}

/// One allowed virtual-network subnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct VirtualNetworkRule {
    #[serde(default)]
    pub id: String,
}

/// Attributes shared by secrets, keys and certificates; times are Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recoverable_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_level: Option<String>,
    /// Keys: whether the private key may be exported (release policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
}

/// One row of a secret, key or certificate list, version list or deleted list (never a value).
///
/// Key lists carry `kid` where the others carry `id`; deleted lists add the recovery fields. Serialized back
/// (absent fields skipped) for the raw JSON view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectItem {
    /// Versionless in collection lists, versioned in version lists (secrets, certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The identifier of keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default)]
    pub attributes: ObjectAttributes,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// Certificates: the SHA-1 thumbprint, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    /// Deleted items: where to recover from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_purge_date: Option<i64>,
}

impl ObjectItem {
    /// The identifier as sent (`id`, or `kid` for keys).
    pub fn identifier(&self) -> &str {
        self.id.as_deref().or(self.kid.as_deref()).unwrap_or("")
    }

    /// The parsed identifier; `None` when the service sent something that is not an object id.
    pub fn object_id(&self) -> Option<ObjectId> {
        ObjectId::parse(self.identifier()).ok()
    }

    /// The object name (last-but-version path segment).
    pub fn name(&self) -> String {
        self.object_id()
            .map(|id| id.name)
            .unwrap_or_else(|| self.identifier().to_owned())
    }

    /// The version, for rows of a version list.
    pub fn version(&self) -> Option<String> {
        self.object_id().and_then(|id| id.version)
    }

    /// Whether the item is enabled (Key Vault's default when the attribute is absent).
    pub fn enabled(&self) -> bool {
        self.attributes.enabled.unwrap_or(true)
    }

    /// The certificate thumbprint as upper-case hex (how the portal and Windows show it).
    pub fn thumbprint_hex(&self) -> Option<String> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(self.x5t.as_deref()?.trim_end_matches('='))
            .ok()?;
        Some(bytes.iter().map(|byte| format!("{byte:02X}")).collect())
    }
}

/// Which list of a vault: secrets, keys or certificates, live or soft-deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListKind {
    pub kind: ObjectKind,
    pub deleted: bool,
}

impl Default for ListKind {
    /// Live secrets, the list the explorer opens on.
    fn default() -> Self {
        Self::live(ObjectKind::Secret)
    }
}

impl ListKind {
    /// Every list of a vault, in the order the explorer shows them.
    pub const ALL: [ListKind; 6] = [
        ListKind::live(ObjectKind::Secret),
        ListKind::live(ObjectKind::Key),
        ListKind::live(ObjectKind::Certificate),
        ListKind::deleted(ObjectKind::Secret),
        ListKind::deleted(ObjectKind::Key),
        ListKind::deleted(ObjectKind::Certificate),
    ];

    pub const fn live(kind: ObjectKind) -> Self {
        Self {
            kind,
            deleted: false,
        }
    }

    pub const fn deleted(kind: ObjectKind) -> Self {
        Self {
            kind,
            deleted: true,
        }
    }

    /// The URL path of the list (`secrets`, `deletedkeys`, …).
    pub fn collection(self) -> String {
        if self.deleted {
            format!("deleted{}", self.kind.collection())
        } else {
            self.kind.collection().to_owned()
        }
    }

    /// "secrets", "deleted keys".
    pub fn label(self) -> String {
        if self.deleted {
            format!("deleted {}", self.kind.collection())
        } else {
            self.kind.collection().to_owned()
        }
    }

    /// Position in [`ListKind::ALL`].
    pub fn index(self) -> usize {
        let kind = match self.kind {
            ObjectKind::Secret => 0,
            ObjectKind::Key => 1,
            ObjectKind::Certificate => 2,
        };
        if self.deleted { kind + 3 } else { kind }
    }
}

/// A secret with its value. The value is a `SecretString`: redacted in `Debug`, zeroized on drop.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretBundle {
    #[serde(deserialize_with = "deserialize_secret")]
    pub value: SecretString,
    pub id: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub attributes: ObjectAttributes,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub managed: Option<bool>,
}

fn deserialize_secret<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<SecretString, D::Error> {
    let text = zeroize::Zeroizing::new(String::deserialize(deserializer)?);
    Ok(SecretString::from(text.as_str()))
}

/// A vault known to the explorer: from ARM, or opened by URI (data-plane only).
#[derive(Debug, Clone, PartialEq)]
pub struct VaultSummary {
    pub name: String,
    pub uri: VaultUri,
    pub subscription_id: Option<String>,
    pub resource_group: Option<String>,
    pub location: String,
    pub arm_id: Option<String>,
    /// ARM properties; default (unknown) for vaults opened by URI without ARM access.
    pub properties: VaultProperties,
}

impl VaultSummary {
    /// Builds the summary from an ARM vault; the URI falls back to the cloud's naming rule.
    pub fn from_arm(vault: &Vault, subscription_id: &str, fallback_uri: &str) -> Option<Self> {
        let uri_text = vault
            .properties
            .vault_uri
            .as_deref()
            .unwrap_or(fallback_uri);
        let uri = VaultUri::parse(uri_text).ok()?;
        Some(Self {
            name: vault.name.clone(),
            uri,
            subscription_id: Some(subscription_id.to_owned()),
            resource_group: vault.resource_group().map(str::to_owned),
            location: vault.location.clone(),
            arm_id: Some(vault.id.clone()),
            properties: vault.properties.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn secret_bundle_keeps_value_out_of_debug() {
        let bundle: SecretBundle = serde_json::from_str(
            r#"{"value":"hunter2","id":"https://kv.vault.azure.net/secrets/a/v1","attributes":{"enabled":true,"created":1}}"#,
        )
        .expect("bundle");
        assert_eq!(bundle.value.expose_secret(), "hunter2");
        assert!(!format!("{bundle:?}").contains("hunter2"));
    }

    #[test]
    fn vault_resource_group_and_summary() {
        let vault: Vault = serde_json::from_str(
            r#"{"id":"/subscriptions/s1/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv1","name":"kv1",
                "location":"westeurope","properties":{"vaultUri":"https://kv1.vault.azure.net/","enableRbacAuthorization":true}}"#,
        )
        .expect("vault");
        assert_eq!(vault.resource_group(), Some("rg-prod"));
        let summary = VaultSummary::from_arm(&vault, "s1", "unused").expect("summary");
        assert_eq!(summary.uri.as_str(), "https://kv1.vault.azure.net/");
        assert_eq!(summary.properties.enable_rbac_authorization, Some(true));
    }

    #[test]
    fn object_item_name_and_version() {
        let item: ObjectItem = serde_json::from_str(
            r#"{"id":"https://kv.vault.azure.net/secrets/api-key/0123","attributes":{"enabled":false,"updated":5}}"#,
        )
        .expect("item");
        assert_eq!(item.name(), "api-key");
        assert_eq!(item.version().as_deref(), Some("0123"));
        assert_eq!(item.attributes.enabled, Some(false));
        let key: ObjectItem = serde_json::from_str(
            r#"{"kid":"https://kv.vault.azure.net/keys/signing","attributes":{}}"#,
        )
        .expect("key item");
        assert_eq!(key.name(), "signing");
        assert_eq!(key.object_id().map(|id| id.kind), Some(ObjectKind::Key));
        let cert: ObjectItem = serde_json::from_str(
            r#"{"id":"https://kv.vault.azure.net/certificates/web","x5t":"3q2-7w"}"#,
        )
        .expect("certificate item");
        assert_eq!(cert.thumbprint_hex().as_deref(), Some("DEADBEEF"));
        assert_eq!(
            serde_json::to_value(&key).expect("json"),
            serde_json::json!({"kid":"https://kv.vault.azure.net/keys/signing","attributes":{}})
        );
    }

    #[test]
    fn list_kinds_name_their_collections() {
        for (index, list) in ListKind::ALL.iter().enumerate() {
            assert_eq!(list.index(), index);
        }
        assert_eq!(
            ListKind::deleted(ObjectKind::Key).collection(),
            "deletedkeys"
        );
        assert_eq!(
            ListKind::live(ObjectKind::Certificate).label(),
            "certificates"
        );
    }
}
