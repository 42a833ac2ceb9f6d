//! The seed file format (`assets/demo-cloud.json`): tenants, users, groups, service principals and managed
//! identities, subscriptions with vaults (secrets, keys, certificates, soft-deleted items), deleted vaults,
//! custom roles and role assignments.
//! Times are relative to the emulator's start (days ago / days from now) so the demo never goes stale, and
//! large vaults are described by rules instead of thousands of written-out secrets.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole seed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    pub tenants: Vec<SeedTenant>,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub service_principals: Vec<SeedServicePrincipal>,
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
    /// The user signed in by `vaultscope demo` (a UPN from `users`).
    pub demo_user: String,
    pub subscriptions: Vec<SeedSubscription>,
    /// Which identities the emulator's managed-identity endpoints (IMDS, App Service) hand out tokens for.
    #[serde(default)]
    pub managed_identity_host: Option<SeedManagedIdentityHost>,
    /// Custom role definitions; the built-in Key Vault roles are part of the emulator.
    #[serde(default)]
    pub custom_roles: Vec<SeedRoleDefinition>,
    #[serde(default)]
    pub role_assignments: Vec<SeedRoleAssignment>,
    /// PIM-eligible role assignments (`roleEligibilityScheduleInstances`): active only once activated.
    #[serde(default)]
    pub role_eligibilities: Vec<SeedRoleAssignment>,
    /// Deny assignments (normally made by managed applications, blueprints or deployment stacks).
    #[serde(default)]
    pub deny_assignments: Vec<SeedDenyAssignment>,
}

/// A deny assignment: blocks `dataActions − notDataActions` for its principals (minus the excluded ones)
/// at its scope and, unless `doNotApplyToChildScopes`, below it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedDenyAssignment {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub scope: String,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
    /// `{"id","type"}`; the id `00000000-0000-0000-0000-000000000000` (type `SystemDefined`) is everyone.
    pub principals: Vec<SeedDenyPrincipal>,
    #[serde(default)]
    pub exclude_principals: Vec<SeedDenyPrincipal>,
    #[serde(default)]
    pub do_not_apply_to_child_scopes: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDenyPrincipal {
    pub id: String,
    #[serde(rename = "type")]
    pub principal_type: String,
}

/// A security group; members are object ids of users, service principals or other groups.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedGroup {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

/// The compute resource the emulator's managed-identity endpoints pretend to run in.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedManagedIdentityHost {
    #[serde(default)]
    pub description: String,
    /// Object id of the system-assigned identity's service principal.
    #[serde(default)]
    pub system_assigned: Option<String>,
    /// Object ids of the attached user-assigned identities' service principals.
    #[serde(default)]
    pub user_assigned: Vec<String>,
}

/// A role definition in ARM's shape (`properties` flattened).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedRoleDefinition {
    /// The role's GUID.
    pub id: String,
    pub role_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub assignable_scopes: Vec<String>,
    pub permissions: Vec<SeedRolePermission>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedRolePermission {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedRoleAssignment {
    /// The assignment's GUID.
    pub id: String,
    pub principal_id: String,
    /// `User`, `Group` or `ServicePrincipal`.
    pub principal_type: String,
    /// The role definition's GUID.
    pub role_definition_id: String,
    /// Full ARM scope: `/subscriptions/…`, a resource group, a vault, or `{vault}/secrets/{name}`.
    pub scope: String,
    #[serde(default)]
    pub created_days_ago: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedTenant {
    pub id: String,
    pub display_name: String,
    pub default_domain: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedUser {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub user_principal_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedServicePrincipal {
    /// Object id.
    pub id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// A client secret accepted by the client-credentials grant; demo data only.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Set when this service principal is a managed identity.
    #[serde(default)]
    pub managed_identity: Option<SeedManagedIdentity>,
    /// Federated identity credentials: external tokens this app accepts as client assertions.
    #[serde(default)]
    pub federated_credentials: Vec<SeedFederatedCredential>,
}

/// A federated identity credential (workload identity federation).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedFederatedCredential {
    pub issuer: String,
    pub subject: String,
    #[serde(default = "token_exchange_audience")]
    pub audiences: Vec<String>,
}

fn token_exchange_audience() -> Vec<String> {
    vec!["api://AzureADTokenExchange".to_owned()]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedManagedIdentity {
    /// `SystemAssigned` or `UserAssigned`.
    pub kind: String,
    /// The ARM id of the app (system-assigned) or of the identity resource (user-assigned).
    pub resource_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedSubscription {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// Tenants it is delegated to through Azure Lighthouse (`managedByTenants`).
    #[serde(default)]
    pub managed_by_tenants: Vec<String>,
    pub resource_groups: Vec<SeedResourceGroup>,
    #[serde(default)]
    pub deleted_vaults: Vec<SeedDeletedVault>,
}

/// A soft-deleted vault (listed by ARM's `deletedVaults`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedDeletedVault {
    pub name: String,
    pub resource_group: String,
    pub location: String,
    pub deleted_days_ago: f64,
    #[serde(default)]
    pub purge_protection_enabled: bool,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedResourceGroup {
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub vaults: Vec<SeedVault>,
    /// App Service and Function apps (`Microsoft.Web/sites`).
    #[serde(default)]
    pub sites: Vec<SeedSite>,
}

/// An App Service or Function app: its identities, the identity its Key Vault references resolve with,
/// and its settings (references among them).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedSite {
    pub name: String,
    /// ARM `kind`: `functionapp,linux`, `app,linux`, …
    pub kind: String,
    /// The object id of the system-assigned identity (a managed-identity service principal), if any.
    #[serde(default)]
    pub system_assigned: Option<String>,
    /// Resource ids of attached user-assigned identities (service principals with that `resourceId`).
    #[serde(default)]
    pub user_assigned: Vec<String>,
    /// `SystemAssigned` (absent) or a user-assigned identity's resource id.
    #[serde(default)]
    pub key_vault_reference_identity: Option<String>,
    #[serde(default)]
    pub app_settings: BTreeMap<String, String>,
    /// Name → `{value, type}`.
    #[serde(default)]
    pub connection_strings: BTreeMap<String, SeedConnectionString>,
    /// Statuses the platform last reported that differ from what a resolution now would give (it
    /// re-reads references about every 24 hours), by setting name.
    #[serde(default)]
    pub stale_reference_statuses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedConnectionString {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedVault {
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enable_rbac_authorization: bool,
    #[serde(default = "default_retention")]
    pub soft_delete_retention_in_days: u32,
    #[serde(default)]
    pub enable_purge_protection: bool,
    #[serde(default = "default_sku")]
    pub sku: String,
    #[serde(default = "enabled")]
    pub public_network_access: String,
    #[serde(default)]
    pub network_acls: Option<serde_json::Value>,
    #[serde(default)]
    pub access_policies: Vec<serde_json::Value>,
    #[serde(default)]
    pub secrets: Vec<SeedSecret>,
    /// Rules that expand to many secrets.
    #[serde(default)]
    pub generated_secrets: Vec<SeedSecretRule>,
    #[serde(default)]
    pub keys: Vec<SeedKey>,
    #[serde(default)]
    pub certificates: Vec<SeedCertificate>,
}

/// A key. Its material is generated at start (random bytes of the right length for RSA; a real EC point);
/// the emulator performs no cryptographic operations with it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedKey {
    pub name: String,
    /// `RSA`, `RSA-HSM`, `EC`, `EC-HSM` or `oct-HSM`.
    pub kty: String,
    #[serde(default)]
    pub key_size: Option<u32>,
    /// `P-256`, `P-384`, `P-521` or `P-256K` for EC keys.
    #[serde(default)]
    pub curve: Option<String>,
    #[serde(default)]
    pub key_ops: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    pub versions: Vec<SeedAge>,
    /// Soft-deleted this many days ago.
    #[serde(default)]
    pub deleted_days_ago: Option<f64>,
}

/// A self-signed certificate, made at start with rcgen (EC P-256 keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedCertificate {
    pub name: String,
    /// Distinguished name, e.g. `CN=orders.contoso.demo, O=Contoso`.
    pub subject: String,
    #[serde(default)]
    pub dns_names: Vec<String>,
    pub validity_months: u32,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub versions: Vec<SeedAge>,
    #[serde(default)]
    pub deleted_days_ago: Option<f64>,
}

/// When a key or certificate version was made.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedAge {
    pub created_days_ago: f64,
}

fn yes() -> bool {
    true
}
fn default_retention() -> u32 {
    90
}
fn default_sku() -> String {
    "standard".into()
}
fn enabled() -> String {
    "Enabled".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedSecret {
    pub name: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Expiry of the latest version, in days from now (negative: already expired).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// Not-before of the latest version, in days from now.
    #[serde(default)]
    pub not_before_in_days: Option<i64>,
    /// Oldest first; the last one is current.
    pub versions: Vec<SeedSecretVersion>,
    /// Soft-deleted this many days ago (listed under `deletedsecrets`).
    #[serde(default)]
    pub deleted_days_ago: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedSecretVersion {
    pub value: String,
    pub created_days_ago: f64,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `count` secrets named by `namePattern`, where `{n}` is the index (zero-padded to `{n:WIDTH}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedSecretRule {
    pub name_pattern: String,
    pub count: usize,
    #[serde(default = "one")]
    pub versions: usize,
    pub value_pattern: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Every n-th generated secret is disabled (0: none).
    #[serde(default)]
    pub disable_every: usize,
    /// Age of the newest version of the first secret; later ones are spread over `spreadDays`.
    #[serde(default)]
    pub spread_days: f64,
}

fn one() -> usize {
    1
}

impl SeedSecretRule {
    /// Expands `{n}` / `{n:4}` in `pattern` with `index`.
    pub fn expand(pattern: &str, index: usize) -> String {
        let mut out = String::with_capacity(pattern.len() + 8);
        let mut rest = pattern;
        while let Some(start) = rest.find("{n") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let width: usize = after[..end].trim_start_matches(':').parse().unwrap_or(0);
            out.push_str(&format!("{index:0width$}"));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The seed bundled with the binary.
pub const DEMO_SEED_JSON: &str = include_str!("../../assets/demo-cloud.json");

/// Reads a seed from JSON text.
pub fn parse_seed(json: &str) -> Result<Seed, serde_json::Error> {
    serde_json::from_str(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_name_patterns() {
        assert_eq!(SeedSecretRule::expand("app-{n:4}", 7), "app-0007");
        assert_eq!(SeedSecretRule::expand("x{n}y{n:2}", 3), "x3y03");
        assert_eq!(SeedSecretRule::expand("plain", 3), "plain");
    }

    #[test]
    fn bundled_seed_parses_and_meets_the_demo_minimums() {
        let seed = parse_seed(DEMO_SEED_JSON).expect("demo seed parses");
        assert!(seed.subscriptions.len() >= 2);
        let vaults: Vec<&SeedVault> = seed
            .subscriptions
            .iter()
            .flat_map(|s| &s.resource_groups)
            .flat_map(|g| &g.vaults)
            .collect();
        assert!(vaults.len() >= 6, "{} vaults", vaults.len());
        let written: usize = vaults.iter().map(|v| v.secrets.len()).sum();
        assert!(written >= 300, "{written} written-out secrets");
        let multi_version = vaults
            .iter()
            .flat_map(|v| &v.secrets)
            .filter(|s| s.versions.len() >= 2)
            .count();
        assert!(
            multi_version * 10 >= written * 8,
            "most secrets have several versions"
        );
        assert!(
            vaults
                .iter()
                .any(|v| v.generated_secrets.iter().map(|r| r.count).sum::<usize>() >= 5000)
        );
        assert!(
            seed.users
                .iter()
                .any(|u| u.user_principal_name == seed.demo_user)
        );
    }
}
