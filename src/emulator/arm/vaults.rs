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

const VAULT_READ: &str = "Microsoft.KeyVault/vaults/read";
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

/// Subscriptions of the caller's tenant in which the caller holds any role assignment (at, above or below
/// the subscription), as `az account list` shows them.
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
        .filter(|subscription| {
            subscription
                .tenant_id
                .eq_ignore_ascii_case(&caller.claims.tid)
        })
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
                "managedByTenants": [],
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

/// The tenants the caller can reach: its own, plus those where it appears as a guest (same UPN).
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
    let items: Vec<Value> = cloud
        .tenants
        .iter()
        .filter(|tenant| reachable.contains(&tenant.id.to_ascii_lowercase()))
        .map(|tenant| {
            json!({
                "id": format!("/tenants/{}", tenant.id),
                "tenantId": tenant.id,
                "tenantCategory": if tenant.id.eq_ignore_ascii_case(&caller.claims.tid) { "Home" } else { "ProjectedBy" },
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

/// The subscription must exist and belong to the caller's tenant.
fn check_subscription(
    cloud: &CloudState,
    caller: &ArmCaller,
    subscription: &str,
) -> Result<(), Response> {
    match cloud
        .subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(subscription))
    {
        Some(found) if found.tenant_id.eq_ignore_ascii_case(&caller.claims.tid) => Ok(()),
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

/// `GET /subscriptions/{s}/resources?$filter=resourceType eq 'Microsoft.KeyVault/vaults'` (`Vaults_List`):
/// generic resource entries only.
pub(super) async fn list_resources(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path(subscription): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let filter = query
        .get("$filter")
        .map(|f| f.replace(' ', "").to_ascii_lowercase());
    let wants_vaults = filter
        .as_deref()
        .is_none_or(|f| f == "resourcetypeeq'microsoft.keyvault/vaults'");
    if !wants_vaults {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidFilterInQueryString",
            "The emulator supports only $filter=resourceType eq 'Microsoft.KeyVault/vaults'.",
        );
    }
    let cloud = shared.read();
    if let Err(response) = check_subscription(&cloud, &caller, &subscription) {
        return response;
    }
    let items: Vec<Value> = readable_vaults(&cloud, &caller, &subscription, None)
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

fn find_vault<'a>(
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
