//! ARM subscriptions, tenants and `Microsoft.KeyVault` vaults: list by subscription, by resource group and
//! through `resources?$filter=resourceType eq 'Microsoft.KeyVault/vaults'`, get, access-policy updates
//! (`add`, `replace`, `remove`) and deleted vaults (list, get, purge). Each answer holds only what the
//! caller's role assignments let it read.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ArmCaller, base_url, page};
use crate::emulator::responses::arm_error;
use crate::emulator::state::{CloudState, DeletedVaultState, VaultState};
use crate::emulator::{Shared, request_authority};

pub(super) const VAULT_READ: &str = "Microsoft.KeyVault/vaults/read";
const ACCESS_POLICY_WRITE: &str = "Microsoft.KeyVault/vaults/accessPolicies/write";
const DELETED_VAULT_READ: &str = "Microsoft.KeyVault/deletedVaults/read";
const DELETED_VAULT_PURGE: &str = "Microsoft.KeyVault/locations/deletedVaults/purge/action";

fn iso8601(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Subscriptions of the caller's tenant, and those delegated to it through Azure Lighthouse, in which the
/// caller holds any role assignment (at, above or below the subscription), as `az account list` shows them.
pub(super) async fn list_subscriptions(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let cloud = shared.read();
    let items: Vec<Value> = cloud
        .subscriptions
        .iter()
        .filter(|subscription| subscription.accepts_tenant(&caller.claims.tid))
        .filter(|subscription| {
            let scope = format!("/subscriptions/{}", subscription.id).to_ascii_lowercase();
            cloud.role_assignments.iter().any(|assignment| {
                let assigned = assignment.scope.to_ascii_lowercase();
                caller
                    .identities
                    .contains(&assignment.principal_id.to_ascii_lowercase())
                    && (assigned.starts_with(&scope) || scope.starts_with(&assigned))
            })
        })
        .map(|subscription| {
            json!({
                "id": format!("/subscriptions/{}", subscription.id),
                "authorizationSource": "RoleBased",
                "managedByTenants": subscription.managed_by_tenants.iter().map(|tenant| json!({"tenantId": tenant})).collect::<Vec<_>>(),
                "subscriptionId": subscription.id,
                "tenantId": subscription.tenant_id,
                "displayName": subscription.display_name,
                "state": "Enabled",
                "subscriptionPolicies": {
                    "locationPlacementId": "Public_2014-09-01",
                    "quotaId": "PayAsYouGo_2014-09-01",
                    "spendingLimit": "Off"
                }
            })
        })
        .collect();
    page(
        items,
        &query,
        &base_url(&request_authority(&request), "/subscriptions"),
    )
    .into_response()
}

/// The tenants the caller can reach: its own and those where it appears as a guest (same UPN), both
/// `Home` (a directory the caller belongs to), plus those that delegate subscriptions to the caller's
/// tenant through Azure Lighthouse, `ProjectedBy`.
pub(super) async fn list_tenants(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let cloud = shared.read();
    let mut reachable: BTreeSet<String> = BTreeSet::new();
    reachable.insert(caller.claims.tid.to_ascii_lowercase());
    if let Some(upn) = &caller.claims.upn {
        for user in &cloud.users {
            if user.user_principal_name.eq_ignore_ascii_case(upn) {
                reachable.insert(user.tenant_id.to_ascii_lowercase());
            }
        }
    }
    let projecting: BTreeSet<String> = cloud
        .subscriptions
        .iter()
        .filter(|subscription| {
            !subscription
                .tenant_id
                .eq_ignore_ascii_case(&caller.claims.tid)
                && subscription.accepts_tenant(&caller.claims.tid)
        })
        .map(|subscription| subscription.tenant_id.to_ascii_lowercase())
        .collect();
    let items: Vec<Value> = cloud
        .tenants
        .iter()
        .filter(|tenant| {
            let id = tenant.id.to_ascii_lowercase();
            reachable.contains(&id) || projecting.contains(&id)
        })
        .map(|tenant| {
            let category = if reachable.contains(&tenant.id.to_ascii_lowercase()) {
                "Home"
            } else {
                "ProjectedBy"
            };
            json!({
                "id": format!("/tenants/{}", tenant.id),
                "tenantId": tenant.id,
                "tenantCategory": category,
                "countryCode": "NL",
                "displayName": tenant.display_name,
                "domains": [tenant.default_domain],
                "defaultDomain": tenant.default_domain,
                "tenantType": "AAD"
            })
        })
        .collect();
    page(
        items,
        &query,
        &base_url(&request_authority(&request), "/tenants"),
    )
    .into_response()
}

/// A vault in the `Vault` shape of `Microsoft.KeyVault` 2026-04-01.
pub(crate) fn vault_json(vault: &VaultState, port: u16) -> Value {
    let network_acls = vault.network_acls.clone().unwrap_or_else(|| {
        json!({"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []})
    });
    json!({
        "id": vault.arm_id(),
        "name": vault.name,
        "type": "Microsoft.KeyVault/vaults",
        "location": vault.location,
        "tags": vault.tags,
        "properties": {
            "tenantId": vault.tenant_id,
            "sku": {"family": "A", "name": vault.sku},
            "vaultUri": format!("https://{}.vault.localhost:{port}/", vault.name),
            "accessPolicies": vault.access_policies,
            "enabledForDeployment": false,
            "enabledForDiskEncryption": false,
            "enabledForTemplateDeployment": false,
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": vault.soft_delete_retention_in_days,
            "enableRbacAuthorization": vault.enable_rbac_authorization,
            "enablePurgeProtection": if vault.enable_purge_protection { json!(true) } else { Value::Null },
            "publicNetworkAccess": vault.public_network_access,
            "networkAcls": network_acls,
            "provisioningState": "Succeeded",
            "privateEndpointConnections": [],
        }
    })
}

/// The subscription must exist and belong to the caller's tenant, or be delegated to it (Lighthouse).
pub(super) fn check_subscription(
    cloud: &CloudState,
    caller: &ArmCaller,
    subscription: &str,
) -> Result<(), Response> {
    match cloud
        .subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(subscription))
    {
        Some(found) if found.accepts_tenant(&caller.claims.tid) => Ok(()),
        Some(_) => Err(arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenTenant",
            &format!(
                "The access token is from the wrong issuer. It must match the tenant associated with subscription '{subscription}'."
            ),
        )),
        None => Err(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{subscription}' could not be found."),
        )),
    }
}

/// The vaults of `subscription` (and `group`) the caller may read.
fn readable_vaults<'a>(
    cloud: &'a CloudState,
    caller: &'a ArmCaller,
    subscription: &'a str,
    group: Option<&'a str>,
) -> impl Iterator<Item = &'a VaultState> + 'a {
    cloud
        .vaults
        .values()
        .filter(move |vault| vault.subscription_id.eq_ignore_ascii_case(subscription))
        .filter(move |vault| group.is_none_or(|g| vault.resource_group.eq_ignore_ascii_case(g)))
        .filter(move |vault| caller.may(cloud, VAULT_READ, &vault.arm_id()))
}

pub(super) async fn list_vaults_by_subscription(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path(subscription): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    list_vaults(&shared, &caller, &subscription, None, &query, &request)
}

pub(super) async fn list_vaults_by_group(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path((subscription, group)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    list_vaults(
        &shared,
        &caller,
        &subscription,
        Some(&group),
        &query,
        &request,
    )
}

fn list_vaults(
    shared: &Shared,
    caller: &ArmCaller,
    subscription: &str,
    group: Option<&str>,
    query: &HashMap<String, String>,
    request: &Request,
) -> Response {
    let cloud = shared.read();
    if let Err(response) = check_subscription(&cloud, caller, subscription) {
        return response;
    }
    let items: Vec<Value> = readable_vaults(&cloud, caller, subscription, group)
        .map(|vault| vault_json(vault, shared.port))
        .collect();
    page(
        items,
        query,
        &base_url(&request_authority(request), request.uri().path()),
    )
    .into_response()
}

/// `GET /subscriptions/{s}/resources?$filter=resourceType eq 'Microsoft.KeyVault/vaults'` (`Vaults_List`),
/// also with `and name eq '…'` or `resourceGroup eq '…'` (azure-cli finds a vault's group so): generic
/// resource entries only.
pub(super) async fn list_resources(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path(subscription): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let clauses = match query.get("$filter").map(|filter| resource_filter(filter)) {
        None => Vec::new(),
        Some(Ok(clauses)) => clauses,
        Some(Err(message)) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidFilterInQueryString",
                &message,
            );
        }
    };
    let cloud = shared.read();
    if let Err(response) = check_subscription(&cloud, &caller, &subscription) {
        return response;
    }
    let items: Vec<Value> = readable_vaults(&cloud, &caller, &subscription, None)
        .filter(|vault| {
            clauses.iter().all(|(field, value)| match field {
                ResourceField::ResourceType => {
                    value.eq_ignore_ascii_case("Microsoft.KeyVault/vaults")
                }
                ResourceField::Name => value.eq_ignore_ascii_case(&vault.name),
                ResourceField::ResourceGroup => value.eq_ignore_ascii_case(&vault.resource_group),
                ResourceField::Location => value.eq_ignore_ascii_case(&vault.location),
            })
        })
        .map(|vault| {
            json!({
                "id": vault.arm_id(),
                "name": vault.name,
                "type": "Microsoft.KeyVault/vaults",
                "location": vault.location,
                "tags": vault.tags,
            })
        })
        .collect();
    page(
        items,
        &query,
        &base_url(&request_authority(&request), request.uri().path()),
    )
    .into_response()
}

/// A field a generic-resources `$filter` may compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourceField {
    ResourceType,
    Name,
    ResourceGroup,
    Location,
}

/// The `field eq 'value'` clauses of a generic-resources `$filter`, joined by `and`. Anything else
/// (`or`, `substringof`, tags, another operator) is refused as ARM refuses what it cannot evaluate,
/// never answered with an unfiltered list.
fn resource_filter(filter: &str) -> Result<Vec<(ResourceField, String)>, String> {
    let refuse = || {
        format!(
            "Invalid $filter '{}' specified in the query string. The emulator evaluates resourceType, name, resourceGroup and location with eq, joined by and.",
            crate::untrusted_text::escape_deceptive(filter)
        )
    };
    let mut clauses = Vec::new();
    let mut rest = filter.trim();
    loop {
        let (field, after_field) = rest.split_once(char::is_whitespace).ok_or_else(refuse)?;
        let field = match field.to_ascii_lowercase().as_str() {
            "resourcetype" => ResourceField::ResourceType,
            "name" => ResourceField::Name,
            "resourcegroup" => ResourceField::ResourceGroup,
            "location" => ResourceField::Location,
            _ => return Err(refuse()),
        };
        let after_field = after_field.trim_start();
        let literal = after_field
            .get(..2)
            .filter(|operator| operator.eq_ignore_ascii_case("eq"))
            .map(|_| after_field[2..].trim_start())
            .and_then(|literal| literal.strip_prefix('\''))
            .ok_or_else(refuse)?;
        // An OData string literal: '' is a quote inside it.
        let mut value = String::new();
        let mut characters = literal.char_indices().peekable();
        let mut end = None;
        while let Some((index, character)) = characters.next() {
            if character == '\'' {
                if characters.peek().is_some_and(|(_, next)| *next == '\'') {
                    characters.next();
                    value.push('\'');
                } else {
                    end = Some(index + 1);
                    break;
                }
            } else {
                value.push(character);
            }
        }
        let end = end.ok_or_else(refuse)?;
        clauses.push((field, value));
        rest = literal[end..].trim_start();
        if rest.is_empty() {
            return Ok(clauses);
        }
        let joined_by_and = rest
            .get(..3)
            .is_some_and(|word| word.eq_ignore_ascii_case("and"))
            && rest[3..].starts_with(char::is_whitespace);
        if !joined_by_and {
            return Err(refuse());
        }
        rest = rest[3..].trim_start();
    }
}

pub(super) fn find_vault<'a>(
    cloud: &'a CloudState,
    subscription: &str,
    group: &str,
    name: &str,
) -> Result<&'a VaultState, Response> {
    match cloud.vaults.get(&name.to_ascii_lowercase()) {
        Some(vault)
            if vault.subscription_id.eq_ignore_ascii_case(subscription)
                && vault.resource_group.eq_ignore_ascii_case(group) =>
        {
            Ok(vault)
        }
        _ => Err(arm_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!(
                "The Resource 'Microsoft.KeyVault/vaults/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )),
    }
}

pub(super) async fn get_vault(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path((subscription, group, name)): Path<(String, String, String)>,
) -> Response {
    let cloud = shared.read();
    let result = check_subscription(&cloud, &caller, &subscription)
        .and_then(|()| {
            let scope = format!(
                "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}"
            );
            caller.require(&cloud, VAULT_READ, &scope)
        })
        .and_then(|()| find_vault(&cloud, &subscription, &group, &name));
    match result {
        Ok(vault) => Json(vault_json(vault, shared.port)).into_response(),
        Err(response) => response,
    }
}

/// One access-policy entry's identity: tenant, object and (for compound identities) application.
fn policy_identity(entry: &Value) -> (String, String, String) {
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    (field("tenantId"), field("objectId"), field("applicationId"))
}

const PERMISSION_KINDS: [&str; 4] = ["keys", "secrets", "certificates", "storage"];

fn permission_set(entry: &Value, kind: &str) -> BTreeSet<String> {
    entry
        .pointer(&format!("/permissions/{kind}"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

/// Applies an `add`, `replace` or `remove` of access-policy entries. `add` unions permissions into the
/// entry with the same identity (or appends it); `replace` sets that entry's permissions; `remove` takes
/// the listed permissions away and drops an entry left with none. (The exact semantics of `replace` and
/// `remove` are UNVERIFIED against the service; these follow what `az keyvault set-policy` /
/// `delete-policy` produce.)
pub(crate) fn apply_access_policy_change(
    policies: &mut Vec<Value>,
    kind: &str,
    changes: &[Value],
) -> Result<(), String> {
    for change in changes {
        let identity = policy_identity(change);
        if identity.0.is_empty() || identity.1.is_empty() {
            return Err("every access policy needs a tenantId and an objectId".into());
        }
        let position = policies
            .iter()
            .position(|entry| policy_identity(entry) == identity);
        match (kind, position) {
            ("add", Some(index)) | ("replace", Some(index)) => {
                let entry = &mut policies[index];
                for permission_kind in PERMISSION_KINDS {
                    let mut merged = if kind == "add" {
                        permission_set(entry, permission_kind)
                    } else {
                        BTreeSet::new()
                    };
                    merged.extend(permission_set(change, permission_kind));
                    entry["permissions"][permission_kind] = json!(merged);
                }
            }
            ("add", None) | ("replace", None) => {
                let mut entry = change.clone();
                for permission_kind in PERMISSION_KINDS {
                    entry["permissions"][permission_kind] =
                        json!(permission_set(change, permission_kind));
                }
                policies.push(entry);
            }
            ("remove", Some(index)) => {
                let entry = &mut policies[index];
                let mut remaining = 0;
                for permission_kind in PERMISSION_KINDS {
                    let removed = permission_set(change, permission_kind);
                    let kept: BTreeSet<String> = permission_set(entry, permission_kind)
                        .difference(&removed)
                        .cloned()
                        .collect();
                    remaining += kept.len();
                    entry["permissions"][permission_kind] = json!(kept);
                }
                if remaining == 0
                    || PERMISSION_KINDS
                        .iter()
                        .all(|k| change.pointer(&format!("/permissions/{k}")).is_none())
                {
                    policies.remove(index);
                }
            }
            ("remove", None) => {}
            (other, _) => {
                return Err(format!(
                    "'{other}' is not an access policy update kind; use add, replace or remove"
                ));
            }
        }
    }
    Ok(())
}

pub(super) async fn update_access_policies(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path((subscription, group, name, kind)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!("The request content was invalid and could not be deserialized: {error}"),
            );
        }
    };
    let Some(changes) = body
        .pointer("/properties/accessPolicies")
        .and_then(Value::as_array)
        .cloned()
    else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The body must be {\"properties\":{\"accessPolicies\":[…]}}.",
        );
    };
    let mut cloud = shared.write();
    let scope = format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}"
    );
    if let Err(response) = check_subscription(&cloud, &caller, &subscription)
        .and_then(|()| caller.require(&cloud, ACCESS_POLICY_WRITE, &scope))
        .and_then(|()| find_vault(&cloud, &subscription, &group, &name).map(|_| ()))
    {
        return response;
    }
    let cloud = &mut *cloud;
    let Some(vault) = cloud.vaults.get_mut(&name.to_ascii_lowercase()) else {
        return arm_error(StatusCode::NOT_FOUND, "ResourceNotFound", "vault gone");
    };
    let before = vault.access_policies.clone();
    if let Err(message) = apply_access_policy_change(&mut vault.access_policies, &kind, &changes) {
        return arm_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
    }
    if before != vault.access_policies {
        cloud.access_history.policies_changing(&vault.name, &before);
    }
    Json(json!({
        "id": format!("{}/accessPolicies/", vault.arm_id()),
        "type": "Microsoft.KeyVault/vaults/accessPolicies",
        "properties": {"accessPolicies": vault.access_policies},
    }))
    .into_response()
}

fn deleted_vault_json(deleted: &DeletedVaultState) -> Value {
    json!({
        "id": format!(
            "/subscriptions/{}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{}",
            deleted.subscription_id, deleted.location, deleted.name
        ),
        "name": deleted.name,
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
                deleted.subscription_id, deleted.resource_group, deleted.name
            ),
            "location": deleted.location,
            "deletionDate": iso8601(deleted.deletion_date),
            "scheduledPurgeDate": iso8601(deleted.scheduled_purge_date),
            "tags": deleted.tags,
            "purgeProtectionEnabled": deleted.purge_protection_enabled,
        }
    })
}

pub(super) async fn list_deleted_vaults(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path(subscription): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let cloud = shared.read();
    let scope = format!("/subscriptions/{subscription}");
    if let Err(response) = check_subscription(&cloud, &caller, &subscription)
        .and_then(|()| caller.require(&cloud, DELETED_VAULT_READ, &scope))
    {
        return response;
    }
    let items: Vec<Value> = cloud
        .deleted_vaults
        .iter()
        .filter(|deleted| deleted.subscription_id.eq_ignore_ascii_case(&subscription))
        .map(deleted_vault_json)
        .collect();
    page(
        items,
        &query,
        &base_url(&request_authority(&request), request.uri().path()),
    )
    .into_response()
}

fn find_deleted_vault(
    cloud: &CloudState,
    subscription: &str,
    location: &str,
    name: &str,
) -> Result<usize, Response> {
    cloud
        .deleted_vaults
        .iter()
        .position(|deleted| {
            deleted.subscription_id.eq_ignore_ascii_case(subscription)
                && deleted.location.eq_ignore_ascii_case(location)
                && deleted.name.eq_ignore_ascii_case(name)
        })
        .ok_or_else(|| {
            arm_error(
                StatusCode::NOT_FOUND,
                "DeletedVaultNotFound",
                &format!("Deleted vault '{name}' was not found in location '{location}'."),
            )
        })
}

pub(super) async fn get_deleted_vault(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path((subscription, location, name)): Path<(String, String, String)>,
) -> Response {
    let cloud = shared.read();
    let scope = format!("/subscriptions/{subscription}");
    match check_subscription(&cloud, &caller, &subscription)
        .and_then(|()| caller.require(&cloud, DELETED_VAULT_READ, &scope))
        .and_then(|()| find_deleted_vault(&cloud, &subscription, &location, &name))
    {
        Ok(index) => Json(deleted_vault_json(&cloud.deleted_vaults[index])).into_response(),
        Err(response) => response,
    }
}

pub(super) async fn purge_deleted_vault(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path((subscription, location, name)): Path<(String, String, String)>,
) -> Response {
    let mut cloud = shared.write();
    let scope = format!("/subscriptions/{subscription}");
    let index = match check_subscription(&cloud, &caller, &subscription)
        .and_then(|()| caller.require(&cloud, DELETED_VAULT_PURGE, &scope))
        .and_then(|()| find_deleted_vault(&cloud, &subscription, &location, &name))
    {
        Ok(index) => index,
        Err(response) => return response,
    };
    if cloud.deleted_vaults[index].purge_protection_enabled {
        return arm_error(
            StatusCode::CONFLICT,
            "PurgeProtectionEnabled",
            &format!(
                "The vault '{name}' has purge protection enabled and cannot be purged before its scheduled purge date."
            ),
        );
    }
    cloud.deleted_vaults.remove(index);
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_filters_are_evaluated_or_refused() {
        assert_eq!(
            resource_filter(
                "resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'kv-O''Brien'"
            ),
            Ok(vec![
                (
                    ResourceField::ResourceType,
                    "Microsoft.KeyVault/vaults".to_owned()
                ),
                (ResourceField::Name, "kv-O'Brien".to_owned()),
            ])
        );
        assert_eq!(
            resource_filter("ResourceGroup EQ 'rg' AND location eq 'westeurope'").map(|c| c.len()),
            Ok(2)
        );
        for refused in [
            "resourceType eq 'a' or name eq 'b'",
            "tagName eq 'env'",
            "name ne 'x'",
            "substringof('kv', name)",
            "name eq 'open",
            "name eq 'a' and",
            "name eq 'a'andname eq 'b'",
            "",
        ] {
            assert!(resource_filter(refused).is_err(), "{refused}");
        }
    }

    fn policy(object: &str, secrets: &[&str]) -> Value {
        json!({"tenantId": "t", "objectId": object, "permissions": {"secrets": secrets}})
    }

    #[test]
    fn access_policy_add_replace_remove() {
        let mut policies = vec![policy("a", &["get"])];
        apply_access_policy_change(&mut policies, "add", &[policy("a", &["list"])]).expect("add");
        assert_eq!(
            policies[0]["permissions"]["secrets"],
            json!(["get", "list"])
        );
        apply_access_policy_change(&mut policies, "add", &[policy("b", &["set"])]).expect("add");
        assert_eq!(policies.len(), 2);
        apply_access_policy_change(&mut policies, "replace", &[policy("a", &["delete"])])
            .expect("replace");
        assert_eq!(policies[0]["permissions"]["secrets"], json!(["delete"]));
        apply_access_policy_change(&mut policies, "remove", &[policy("a", &["delete"])])
            .expect("remove");
        assert_eq!(policies.len(), 1, "an entry left without permissions goes");
        assert!(apply_access_policy_change(&mut policies, "merge", &[policy("b", &[])]).is_err());
    }
}
