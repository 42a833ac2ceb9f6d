//! Typed models of the ARM and Key Vault JSON we read, lenient about absent fields (services add and omit
//! fields across api-versions) and strict about types.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;

use super::identifiers::{ObjectId, ObjectKind, VaultUri};

/// An ARM subscription (`GET /subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub state: String,
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

/// The last segment of a resource id: a resource's name, or a role definition's GUID.
pub fn resource_name(resource_id: &str) -> &str {
    resource_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(resource_id)
}

/// `/subscriptions/{id}` of a resource id.
pub fn subscription_scope(resource_id: &str) -> Option<String> {
    let mut parts = resource_id.split('/').filter(|part| !part.is_empty());
    match (parts.next(), parts.next()) {
        (Some(word), Some(id)) if word.eq_ignore_ascii_case("subscriptions") => {
            Some(format!("/subscriptions/{id}"))
        }
        _ => None,
    }
}

/// The resource group segment of an ARM resource id.
pub fn resource_group_of(resource_id: &str) -> Option<&str> {
    let mut parts = resource_id.split('/');
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case("resourceGroups") {
            return parts.next();
        }
    }
    None
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
        resource_group_of(&self.id)
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttributes {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub updated: Option<i64>,
    #[serde(default)]
    pub recoverable_days: Option<u32>,
    #[serde(default)]
    pub recovery_level: Option<String>,
}

/// One row of a secret list or version list (no value).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretItem {
    /// Versionless in `/secrets`, versioned in `/secrets/{name}/versions`.
    pub id: String,
    #[serde(default)]
    pub attributes: ObjectAttributes,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub managed: Option<bool>,
}

impl SecretItem {
    /// The parsed identifier; `None` when the service sent something that is not a secret id.
    pub fn object_id(&self) -> Option<ObjectId> {
        ObjectId::parse(&self.id)
            .ok()
            .filter(|id| id.kind == ObjectKind::Secret)
    }

    /// The secret name (last-but-version path segment).
    pub fn name(&self) -> String {
        self.object_id()
            .map(|id| id.name)
            .unwrap_or_else(|| self.id.clone())
    }

    /// The version, for rows of a version list.
    pub fn version(&self) -> Option<String> {
        self.object_id().and_then(|id| id.version)
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
    fn resource_id_parts() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/";
        assert_eq!(resource_name(id), "kv1");
        assert_eq!(subscription_scope(id).as_deref(), Some("/subscriptions/s1"));
        assert_eq!(resource_group_of(id), Some("rg"));
        assert_eq!(
            subscription_scope("/providers/Microsoft.Management/managementGroups/m"),
            None
        );
    }

    #[test]
    fn secret_item_name_and_version() {
        let item: SecretItem = serde_json::from_str(
            r#"{"id":"https://kv.vault.azure.net/secrets/api-key/0123","attributes":{"enabled":false,"updated":5}}"#,
        )
        .expect("item");
        assert_eq!(item.name(), "api-key");
        assert_eq!(item.version().as_deref(), Some("0123"));
        assert_eq!(item.attributes.enabled, Some(false));
    }
}
