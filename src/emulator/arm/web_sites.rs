//! `Microsoft.Web/sites` on the emulated ARM: the apps of a subscription (each the caller may read), their
//! app settings and connection strings (`POST …/config/{appsettings|connectionstrings}/list`, which needs
//! `Microsoft.Web/sites/config/list/action` as on ARM: Reader lacks it), and the platform's resolution
//! status of their Key Vault references (`GET …/config/configreferences/{appsettings|connectionstrings}`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::vaults::check_subscription;
use super::{ArmCaller, base_url, page};
use crate::emulator::responses::arm_error;
use crate::emulator::site_state::SiteState;
use crate::emulator::state::CloudState;
use crate::emulator::{Shared, request_authority};

const SITE_READ: &str = "Microsoft.Web/sites/read";
/// UNVERIFIED for `configreferences`: the reference text is a setting's value, so the emulator asks for
/// what reading the settings needs.
const CONFIG_LIST: &str = "Microsoft.Web/sites/config/list/action";

/// A site in ARM's `Site` shape (the parts references need).
fn site_json(cloud: &CloudState, site: &SiteState) -> Value {
    let seed = &site.seed;
    let mut identity_types = Vec::new();
    if seed.system_assigned.is_some() {
        identity_types.push("SystemAssigned");
    }
    if !seed.user_assigned.is_empty() {
        identity_types.push("UserAssigned");
    }
    let user_assigned: Map<String, Value> = seed
        .user_assigned
        .iter()
        .map(|resource_id| {
            let principal = cloud.user_assigned_principal(resource_id);
            (
                resource_id.clone(),
                json!({
                    "principalId": principal.map(|p| p.id.clone()),
                    "clientId": principal.map(|p| p.app_id.clone()),
                }),
            )
        })
        .collect();
    let identity = if identity_types.is_empty() {
        Value::Null
    } else {
        let mut identity = json!({
            "type": identity_types.join(", "),
            "tenantId": site.tenant_id,
        });
        if let Some(principal) = &seed.system_assigned {
            identity["principalId"] = json!(principal);
        }
        if !user_assigned.is_empty() {
            identity["userAssignedIdentities"] = Value::Object(user_assigned);
        }
        identity
    };
    json!({
        "id": site.arm_id(),
        "name": site.name,
        "type": "Microsoft.Web/sites",
        "kind": seed.kind,
        "location": site.location,
        "identity": identity,
        "properties": {
            "state": "Running",
            "defaultHostName": format!("{}.azurewebsites.net", site.name.to_ascii_lowercase()),
            "resourceGroup": site.resource_group,
            "keyVaultReferenceIdentity": seed.key_vault_reference_identity.clone().unwrap_or_else(|| "SystemAssigned".into()),
        }
    })
}

pub(super) async fn list_sites(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path(subscription): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let cloud = shared.read();
    if let Err(response) = check_subscription(&cloud, &caller, &subscription) {
        return response;
    }
    let items: Vec<Value> = cloud
        .sites
        .iter()
        .filter(|site| site.subscription_id.eq_ignore_ascii_case(&subscription))
        .filter(|site| caller.may(&cloud, SITE_READ, &site.arm_id()))
        .map(|site| site_json(&cloud, site))
        .collect();
    page(
        items,
        &query,
        &base_url(&request_authority(&request), request.uri().path()),
    )
    .into_response()
}

/// The site named in the path, once the caller may do `action` on it (ARM answers 404 for a site the
/// caller cannot read, 403 for one it reads but may not do this on).
fn authorized_site<'a>(
    cloud: &'a CloudState,
    caller: &ArmCaller,
    (subscription, group, name): &(String, String, String),
    action: &str,
) -> Result<&'a SiteState, Response> {
    check_subscription(cloud, caller, subscription)?;
    let site = cloud
        .sites
        .iter()
        .find(|site| {
            site.subscription_id.eq_ignore_ascii_case(subscription)
                && site.resource_group.eq_ignore_ascii_case(group)
                && site.name.eq_ignore_ascii_case(name)
        })
        .filter(|site| caller.may(cloud, SITE_READ, &site.arm_id()))
        .ok_or_else(|| {
            arm_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!("The Resource 'Microsoft.Web/sites/{name}' under resource group '{group}' was not found."),
            )
        })?;
    caller.require(cloud, action, &site.arm_id())?;
    Ok(site)
}

/// `POST …/config/{appsettings|connectionstrings}/list`.
pub(super) async fn list_settings(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path((subscription, group, name, collection)): Path<(String, String, String, String)>,
) -> Response {
    let cloud = shared.read();
    let site = match authorized_site(&cloud, &caller, &(subscription, group, name), CONFIG_LIST) {
        Ok(site) => site,
        Err(response) => return response,
    };
    let properties: Map<String, Value> = match collection.to_ascii_lowercase().as_str() {
        "appsettings" => site
            .seed
            .app_settings
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect(),
        "connectionstrings" => site
            .seed
            .connection_strings
            .iter()
            .map(|(name, string)| {
                (
                    name.clone(),
                    json!({"value": string.value, "type": string.kind}),
                )
            })
            .collect(),
        _ => return not_a_config(&collection),
    };
    Json(json!({
        "id": format!("{}/config/{}", site.arm_id(), collection.to_ascii_lowercase()),
        "name": collection.to_ascii_lowercase(),
        "type": "Microsoft.Web/sites/config",
        "location": site.location,
        "properties": properties,
    }))
    .into_response()
}

/// `GET …/config/configreferences/{appsettings|connectionstrings}`.
pub(super) async fn list_reference_statuses(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Path((subscription, group, name, collection)): Path<(String, String, String, String)>,
) -> Response {
    let cloud = shared.read();
    let site = match authorized_site(&cloud, &caller, &(subscription, group, name), CONFIG_LIST) {
        Ok(site) => site,
        Err(response) => return response,
    };
    let collection = collection.to_ascii_lowercase();
    if !matches!(collection.as_str(), "appsettings" | "connectionstrings") {
        return not_a_config(&collection);
    }
    let value: Vec<Value> = site
        .statuses
        .iter()
        .filter(|((kind, _), _)| *kind == collection)
        .map(|((_, setting), status)| {
            json!({
                "id": format!("{}/config/configreferences/{collection}/{setting}", site.arm_id()),
                "name": setting,
                "type": "Microsoft.Web/sites/config/configreferences",
                "properties": {
                    "reference": status.reference,
                    "status": status.status,
                    "vaultName": status.vault_name,
                    "secretName": status.secret_name,
                    "secretVersion": status.secret_version,
                    "identityType": {"type": if site.seed.key_vault_reference_identity.is_some() { "UserAssigned" } else { "SystemAssigned" }},
                    "details": status.details,
                    "source": "KeyVault",
                    "activeVersion": status.active_version,
                }
            })
        })
        .collect();
    Json(json!({ "value": value })).into_response()
}

fn not_a_config(collection: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("Cannot find a site configuration named '{collection}'."),
    )
}
