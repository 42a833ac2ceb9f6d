//! Vault writes through Resource Manager: `PUT …/vaults/{name}` (`Vaults_CreateOrUpdate`, which azure-cli's
//! `keyvault set-policy` and `delete-policy` send with the whole vault) and `PATCH` (`Vaults_Update`).
//! Authorized as ARM does, by `Microsoft.KeyVault/vaults/write` at the vault (or, for a new vault, its
//! resource group); access-policy changes go through the propagation history like the `accessPolicies`
//! route's.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::ArmCaller;
use super::vaults::{check_subscription, find_vault, vault_json};
use crate::emulator::Shared;
use crate::emulator::responses::arm_error;
use crate::emulator::state::VaultState;

const VAULT_WRITE: &str = "Microsoft.KeyVault/vaults/write";

fn bad_request(message: &str) -> Response {
    arm_error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// `PUT` (create or replace the properties given) and `PATCH` (update the properties given).
pub(super) async fn write_vault(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    method: Method,
    Path((subscription, group, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body @ Value::Object(_)) => body,
        Ok(_) => return bad_request("The request content must be a JSON object."),
        Err(error) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!("The request content was invalid and could not be deserialized: {error}"),
            );
        }
    };
    let mut cloud = shared.write();
    if let Err(response) = check_subscription(&cloud, &caller, &subscription) {
        return response;
    }
    let scope = format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}"
    );
    let key = name.to_ascii_lowercase();
    let exists = find_vault(&cloud, &subscription, &group, &name).is_ok();
    if !exists {
        if method == Method::PATCH {
            return find_vault(&cloud, &subscription, &group, &name)
                .map(|_| ().into_response())
                .unwrap_or_else(|response| response);
        }
        if cloud.vaults.contains_key(&key) {
            return arm_error(
                StatusCode::CONFLICT,
                "VaultAlreadyExists",
                &format!(
                    "The vault name '{name}' is already in use. Vault names are globally unique."
                ),
            );
        }
        if let Err(response) = caller.require(
            &cloud,
            VAULT_WRITE,
            &format!("/subscriptions/{subscription}/resourceGroups/{group}"),
        ) {
            return response;
        }
    } else if let Err(response) = caller.require(&cloud, VAULT_WRITE, &scope) {
        return response;
    }
    let cloud = &mut *cloud;
    let mut vault = match cloud.vaults.get(&key) {
        Some(vault) => vault.clone(),
        None => match new_vault(&body, &subscription, &group, &name, &caller) {
            Ok(vault) => vault,
            Err(message) => return bad_request(&message),
        },
    };
    let before = vault.access_policies.clone();
    if let Err(message) = apply_properties(&mut vault, &body) {
        return bad_request(&message);
    }
    if exists && before != vault.access_policies {
        cloud.access_history.policies_changing(&vault.name, &before);
    }
    let status = if exists {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let answer = vault_json(&vault, shared.port);
    cloud.vaults.insert(key, vault);
    (status, Json(answer)).into_response()
}

fn new_vault(
    body: &Value,
    subscription: &str,
    group: &str,
    name: &str,
    caller: &ArmCaller,
) -> Result<VaultState, String> {
    let valid_name = (3..=24).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('-')
        && !name.contains("--");
    if !valid_name {
        return Err(format!(
            "The vault name '{name}' is invalid: 3–24 letters, digits and single hyphens, starting with a letter."
        ));
    }
    let location = body
        .get("location")
        .and_then(Value::as_str)
        .ok_or("A new vault needs a location.")?;
    Ok(VaultState {
        name: name.to_owned(),
        subscription_id: subscription.to_owned(),
        resource_group: group.to_owned(),
        location: location.to_owned(),
        tenant_id: caller.claims.tid.clone(),
        tags: BTreeMap::new(),
        enable_rbac_authorization: false,
        soft_delete_retention_in_days: 90,
        enable_purge_protection: false,
        sku: "standard".into(),
        public_network_access: "Enabled".into(),
        network_acls: None,
        access_policies: Vec::new(),
        objects: Default::default(),
        deleted: Default::default(),
        pending_certificates: BTreeMap::new(),
        certificate_requests: BTreeMap::new(),
    })
}

/// The properties a PUT or PATCH body names, checked as Key Vault's resource provider checks them.
fn apply_properties(vault: &mut VaultState, body: &Value) -> Result<(), String> {
    if let Some(tags) = body.get("tags").and_then(Value::as_object) {
        vault.tags = tags
            .iter()
            .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
            .collect();
    }
    let Some(properties) = body.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    if let Some(policies) = properties.get("accessPolicies") {
        let policies = policies
            .as_array()
            .ok_or("properties.accessPolicies must be an array")?;
        if policies.len() > 1024 {
            return Err("A vault holds at most 1024 access policies.".into());
        }
        for policy in policies {
            let has = |field: &str| policy.get(field).and_then(Value::as_str).is_some();
            if !has("tenantId") || !has("objectId") || policy.get("permissions").is_none() {
                return Err("Each access policy needs tenantId, objectId and permissions.".into());
            }
        }
        vault.access_policies = policies.clone();
    }
    if let Some(rbac) = properties
        .get("enableRbacAuthorization")
        .and_then(Value::as_bool)
    {
        vault.enable_rbac_authorization = rbac;
    }
    if let Some(days) = properties
        .get("softDeleteRetentionInDays")
        .and_then(Value::as_u64)
    {
        if !(7..=90).contains(&days) {
            return Err("softDeleteRetentionInDays must be between 7 and 90.".into());
        }
        vault.soft_delete_retention_in_days = u32::try_from(days).unwrap_or(90);
    }
    if properties.get("enableSoftDelete").and_then(Value::as_bool) == Some(false) {
        return Err(
            "Soft delete cannot be turned off (Key Vault enforces it for every vault).".into(),
        );
    }
    match properties
        .get("enablePurgeProtection")
        .and_then(Value::as_bool)
    {
        Some(false) if vault.enable_purge_protection => {
            return Err("Purge protection cannot be turned off once it is on.".into());
        }
        Some(true) => vault.enable_purge_protection = true,
        _ => {}
    }
    if let Some(access) = properties
        .get("publicNetworkAccess")
        .and_then(Value::as_str)
    {
        vault.public_network_access = access.to_owned();
    }
    if let Some(acls) = properties
        .get("networkAcls")
        .filter(|acls| acls.is_object())
    {
        vault.network_acls = Some(acls.clone());
    }
    if let Some(sku) = properties
        .get("sku")
        .and_then(|sku| sku.get("name"))
        .and_then(Value::as_str)
    {
        vault.sku = sku.to_ascii_lowercase();
    }
    Ok(())
}
