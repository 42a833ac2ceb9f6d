//! Emulated Azure Resource Manager on `management.localhost`: subscriptions and key vaults (by subscription,
//! by resource group, single vault), with ARM's auth errors, api-version checks and `nextLink` paging.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::responses::{arm_error, bearer_token};
use super::state::VaultState;
use super::token::Claims;
use super::{Shared, now_unix, request_authority};

/// Page size of ARM lists when `$top` is absent: small, so the demo and tests exercise `nextLink`.
const DEFAULT_PAGE_SIZE: usize = 5;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/subscriptions", get(list_subscriptions))
        .route(
            "/subscriptions/{subscription}/providers/Microsoft.KeyVault/vaults",
            get(list_vaults_by_subscription),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults",
            get(list_vaults_by_group),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}",
            get(get_vault),
        )
        .fallback(|| async {
            arm_error(StatusCode::NOT_FOUND, "NotFound", "The requested resource path is not served by the emulator.")
        })
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared)
}

/// Rejects requests without a valid ARM token (as ARM does, before looking at anything else), then
/// requires `api-version`; the token's claims go into the request for the handlers.
async fn authenticate(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let challenge = format!(
        "Bearer authorization_uri=\"{}/common\", error=\"invalid_token\", error_description=\"The authentication failed because of missing or invalid 'Authorization' header.\"",
        shared.login_base()
    );
    let unauthorized = |code: &str, message: String| {
        let mut response = arm_error(StatusCode::UNAUTHORIZED, code, &message);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    };
    let Some(token) = bearer_token(request.headers()) else {
        return unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".into(),
        );
    };
    let audience = shared.management_audience();
    let claims = match shared.signer.verify(token, &[&audience], now_unix()) {
        Ok(claims) => claims,
        Err(super::token::TokenError::Expired) => {
            return unauthorized(
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.".into(),
            );
        }
        Err(super::token::TokenError::WrongAudience(aud)) => {
            return unauthorized(
                "InvalidAuthenticationTokenAudience",
                format!(
                    "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences '{audience}'."
                ),
            );
        }
        Err(error) => {
            return unauthorized(
                "InvalidAuthenticationToken",
                format!("The received access token is not valid: {error}."),
            );
        }
    };
    let has_api_version = request.uri().query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.starts_with("api-version=") && pair.len() > 12)
    });
    if !has_api_version {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    request.extensions_mut().insert(claims);
    next.run(request).await
}

/// Slices `items` by `$skiptoken` (an offset) and `$top`, adding an absolute `nextLink` when more remain.
fn page(items: Vec<Value>, query: &HashMap<String, String>, base: &str) -> Json<Value> {
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let top: usize = query
        .get("$top")
        .and_then(|t| t.parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(DEFAULT_PAGE_SIZE);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(skip).take(top).collect();
    let mut body = json!({ "value": value });
    if skip + top < total {
        let api_version = query.get("api-version").cloned().unwrap_or_default();
        let mut next = url::Url::parse(base)
            .unwrap_or_else(|_| unreachable!("base URL is built from a valid authority"));
        next.query_pairs_mut()
            .append_pair("api-version", &api_version)
            .append_pair("$top", &top.to_string())
            .append_pair("$skiptoken", &(skip + top).to_string());
        body["nextLink"] = json!(next.to_string());
    }
    Json(body)
}

fn base_url(request_authority: &str, path: &str) -> String {
    format!("https://{request_authority}{path}")
}

async fn list_subscriptions(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let Some(claims) = request.extensions().get::<Claims>().cloned() else {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "no claims",
        );
    };
    let cloud = shared.read();
    let items: Vec<Value> = cloud
        .subscriptions
        .iter()
        .filter(|subscription| subscription.tenant_id.eq_ignore_ascii_case(&claims.tid))
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

fn subscription_visible(
    shared: &Shared,
    claims: &Claims,
    subscription: &str,
) -> Result<(), Response> {
    let cloud = shared.read();
    match cloud
        .subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(subscription))
    {
        Some(found) if found.tenant_id.eq_ignore_ascii_case(&claims.tid) => Ok(()),
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

async fn list_vaults_by_subscription(
    State(shared): State<Arc<Shared>>,
    Path(subscription): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    list_vaults(&shared, &subscription, None, &query, &request)
}

async fn list_vaults_by_group(
    State(shared): State<Arc<Shared>>,
    Path((subscription, group)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    list_vaults(&shared, &subscription, Some(&group), &query, &request)
}

fn list_vaults(
    shared: &Shared,
    subscription: &str,
    group: Option<&str>,
    query: &HashMap<String, String>,
    request: &Request,
) -> Response {
    let Some(claims) = request.extensions().get::<Claims>() else {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "no claims",
        );
    };
    if let Err(response) = subscription_visible(shared, claims, subscription) {
        return response;
    }
    let cloud = shared.read();
    let items: Vec<Value> = cloud
        .vaults
        .values()
        .filter(|vault| vault.subscription_id.eq_ignore_ascii_case(subscription))
        .filter(|vault| group.is_none_or(|g| vault.resource_group.eq_ignore_ascii_case(g)))
        .map(|vault| vault_json(vault, shared.port))
        .collect();
    page(
        items,
        query,
        &base_url(&request_authority(request), request.uri().path()),
    )
    .into_response()
}

async fn get_vault(
    State(shared): State<Arc<Shared>>,
    Path((subscription, group, vault_name)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let Some(claims) = request.extensions().get::<Claims>() else {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "no claims",
        );
    };
    if let Err(response) = subscription_visible(&shared, claims, &subscription) {
        return response;
    }
    let cloud = shared.read();
    match cloud.vaults.get(&vault_name.to_ascii_lowercase()) {
        Some(vault)
            if vault.subscription_id.eq_ignore_ascii_case(&subscription)
                && vault.resource_group.eq_ignore_ascii_case(&group) =>
        {
            Json(vault_json(vault, shared.port)).into_response()
        }
        _ => arm_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!(
                "The Resource 'Microsoft.KeyVault/vaults/{vault_name}' under resource group '{group}' was not found."
            ),
        ),
    }
}
