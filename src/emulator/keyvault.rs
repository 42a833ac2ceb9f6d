//! Emulated Key Vault data plane on `{vault}.vault.localhost`: the 401 challenge, api-version checks, and the
//! secrets API (list with `maxresults` ≤ 25 and absolute `nextLink`, versions, get with or without a trailing
//! slash), with Key Vault's error bodies and integer timestamps.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::responses::{bearer_token, keyvault_error, keyvault_json};
use super::state::{SecretState, SecretVersionState, VaultState};
use super::token::TokenError;
use super::{Shared, VaultHost, now_unix};

/// Every data-plane api-version of the Secrets spec; clients in the wild use all of them.
pub const SUPPORTED_API_VERSIONS: &[&str] = &[
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6-preview.2",
    "7.6",
    "2025-06-01-preview",
    "2025-07-01",
    "2026-01-01-preview",
    "2026-03-01-preview",
    "2026-04-01",
    "2026-05-01-preview",
];

const PAGE_LIMIT: usize = 25;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/secrets", get(list_secrets))
        .route("/secrets/", get(list_secrets))
        .route("/secrets/{name}", get(get_latest_secret))
        .route("/secrets/{name}/", get(get_latest_secret))
        .route("/secrets/{name}/versions", get(list_secret_versions))
        .route("/secrets/{name}/{version}", get(get_secret_version))
        .fallback(|| async {
            keyvault_error(
                StatusCode::NOT_FOUND,
                "BadParameter",
                "The request URI is not served by the emulator's Key Vault.",
                None,
            )
        })
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared)
}

fn challenge_response(shared: &Shared, tenant_id: &str, message: &str) -> Response {
    let mut response = keyvault_error(StatusCode::UNAUTHORIZED, "Unauthorized", message, None);
    let challenge = format!(
        "Bearer authorization=\"{}/{tenant_id}\", resource=\"{}\"",
        shared.login_base(),
        shared.vault_audience()
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The vault must exist; then a valid token for the vault audience from the vault's tenant (else the 401
/// challenge); then a supported api-version.
async fn authenticate(
    State(shared): State<Arc<Shared>>,
    Extension(host): Extension<VaultHost>,
    request: Request,
    next: Next,
) -> Response {
    let tenant_id = {
        let cloud = shared.read();
        match cloud.vaults.get(&host.name) {
            Some(vault) => vault.tenant_id.clone(),
            None => {
                return keyvault_error(
                    StatusCode::NOT_FOUND,
                    "VaultNotFound",
                    &format!("The vault '{}' does not exist in the emulator.", host.name),
                    None,
                );
            }
        }
    };
    let Some(token) = bearer_token(request.headers()) else {
        return challenge_response(
            &shared,
            &tenant_id,
            "AKV10000: Request is missing a Bearer or PoP token.",
        );
    };
    let audience = shared.vault_audience();
    let audience_without_port = "https://vault.localhost";
    match shared
        .signer
        .verify(token, &[&audience, audience_without_port], now_unix())
    {
        Ok(claims) if claims.tid.eq_ignore_ascii_case(&tenant_id) => {}
        Ok(claims) => {
            return challenge_response(
                &shared,
                &tenant_id,
                &format!(
                    "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{tenant_id}/, found https://sts.windows.net/{}/.",
                    claims.tid
                ),
            );
        }
        Err(TokenError::Expired) => {
            return challenge_response(
                &shared,
                &tenant_id,
                "AKV10022: Invalid token: the token is expired.",
            );
        }
        Err(TokenError::WrongAudience(aud)) => {
            return challenge_response(
                &shared,
                &tenant_id,
                &format!("AKV10022: Invalid audience. Expected {audience}, found: {aud}."),
            );
        }
        Err(error) => {
            return challenge_response(&shared, &tenant_id, &format!("AKV10000: {error}."));
        }
    }
    let api_version = request.uri().query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("api-version="))
            .map(str::to_owned)
    });
    match api_version.as_deref() {
        None | Some("") => {
            return keyvault_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                "The 'api-version' query parameter is missing.",
                None,
            );
        }
        Some(version) if !SUPPORTED_API_VERSIONS.contains(&version) => {
            return keyvault_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                &format!(
                    "The specified version ({version}) is not recognized. Consider using the latest supported version (2026-04-01)."
                ),
                None,
            );
        }
        Some(_) => {}
    }
    next.run(request).await
}

fn attributes_json(version: &SecretVersionState, vault: &VaultState) -> Value {
    let mut attributes = json!({
        "enabled": version.enabled,
        "created": version.created,
        "updated": version.updated,
        "recoverableDays": vault.soft_delete_retention_in_days,
        "recoveryLevel": vault.recovery_level(),
    });
    if let Some(nbf) = version.not_before {
        attributes["nbf"] = json!(nbf);
    }
    if let Some(exp) = version.expires {
        attributes["exp"] = json!(exp);
    }
    attributes
}

fn item_json(id: String, version: &SecretVersionState, vault: &VaultState) -> Value {
    let mut item = json!({
        "id": id,
        "attributes": attributes_json(version, vault),
        "tags": version.tags,
    });
    if let Some(content_type) = &version.content_type {
        item["contentType"] = json!(content_type);
    }
    item
}

/// `maxresults` must be 1..=25; absent means 25.
fn page_size(query: &HashMap<String, String>) -> Result<usize, Response> {
    match query.get("maxresults") {
        None => Ok(PAGE_LIMIT),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=PAGE_LIMIT).contains(&n) => Ok(n),
            _ => Err(keyvault_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                &format!(
                    "invalid maxresults value '{text}': it must be between 1 and {PAGE_LIMIT}."
                ),
                None,
            )),
        },
    }
}

fn next_link(
    host: &VaultHost,
    path: &str,
    query: &HashMap<String, String>,
    token: &str,
    size: usize,
) -> String {
    let api_version = query
        .get("api-version")
        .map(String::as_str)
        .unwrap_or("2025-07-01");
    format!(
        "https://{}{path}?api-version={api_version}&$skiptoken={token}&maxresults={size}",
        host.authority
    )
}

fn not_found(name: &str) -> Response {
    keyvault_error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        &format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

async fn list_secrets(
    State(shared): State<Arc<Shared>>,
    Extension(host): Extension<VaultHost>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let size = match page_size(&query) {
        Ok(size) => size,
        Err(response) => return response,
    };
    // The skip token is the last name returned, base64url: opaque to clients, stable under inserts.
    let after = match query.get("$skiptoken") {
        Some(token) => match URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        {
            Some(name) => Some(name),
            None => {
                return keyvault_error(
                    StatusCode::BAD_REQUEST,
                    "BadParameter",
                    "The $skiptoken is invalid.",
                    None,
                );
            }
        },
        None => None,
    };
    let cloud = shared.read();
    let Some(vault) = cloud.vaults.get(&host.name) else {
        return keyvault_error(StatusCode::NOT_FOUND, "VaultNotFound", "vault gone", None);
    };
    let range = match &after {
        Some(name) => vault
            .secrets
            .range::<String, _>((std::ops::Bound::Excluded(name), std::ops::Bound::Unbounded)),
        None => vault.secrets.range::<String, _>(..),
    };
    let mut last = None;
    let mut value = Vec::with_capacity(size);
    for (key, secret) in range.take(size) {
        if let Some(current) = secret.current() {
            let id = format!("https://{}/secrets/{}", host.authority, secret.name);
            value.push(item_json(id, current, vault));
        }
        last = Some(key.clone());
    }
    let more = last.as_ref().is_some_and(|last| {
        vault
            .secrets
            .range::<String, _>((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded))
            .next()
            .is_some()
    });
    let next = match (more, last) {
        (true, Some(last)) => json!(next_link(
            &host,
            "/secrets",
            &query,
            &URL_SAFE_NO_PAD.encode(last),
            size
        )),
        _ => Value::Null,
    };
    keyvault_json(StatusCode::OK, json!({ "value": value, "nextLink": next }))
}

async fn list_secret_versions(
    State(shared): State<Arc<Shared>>,
    Extension(host): Extension<VaultHost>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let size = match page_size(&query) {
        Ok(size) => size,
        Err(response) => return response,
    };
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let cloud = shared.read();
    let Some(vault) = cloud.vaults.get(&host.name) else {
        return not_found(&name);
    };
    let Some(secret) = vault.secrets.get(&name.to_ascii_lowercase()) else {
        return not_found(&name);
    };
    let value: Vec<Value> = secret
        .versions
        .iter()
        .skip(skip)
        .take(size)
        .map(|version| {
            let id = format!(
                "https://{}/secrets/{}/{}",
                host.authority, secret.name, version.version
            );
            item_json(id, version, vault)
        })
        .collect();
    let next = if skip + size < secret.versions.len() {
        json!(next_link(
            &host,
            &format!("/secrets/{}/versions", secret.name),
            &query,
            &(skip + size).to_string(),
            size
        ))
    } else {
        Value::Null
    };
    keyvault_json(StatusCode::OK, json!({ "value": value, "nextLink": next }))
}

async fn get_latest_secret(
    State(shared): State<Arc<Shared>>,
    Extension(host): Extension<VaultHost>,
    Path(name): Path<String>,
) -> Response {
    get_secret(&shared, &host, &name, None)
}

async fn get_secret_version(
    State(shared): State<Arc<Shared>>,
    Extension(host): Extension<VaultHost>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    get_secret(&shared, &host, &name, Some(&version))
}

fn get_secret(shared: &Shared, host: &VaultHost, name: &str, version: Option<&str>) -> Response {
    let cloud = shared.read();
    let Some(vault) = cloud.vaults.get(&host.name) else {
        return not_found(name);
    };
    let Some(secret): Option<&SecretState> = vault.secrets.get(&name.to_ascii_lowercase()) else {
        return not_found(name);
    };
    let found = match version {
        None => secret.current(),
        Some(version) => secret
            .versions
            .iter()
            .find(|v| v.version.eq_ignore_ascii_case(version)),
    };
    let Some(found) = found else {
        return not_found(&format!("{name}/{}", version.unwrap_or_default()));
    };
    if !found.enabled {
        return keyvault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
            Some("SecretDisabled"),
        );
    }
    let mut body = item_json(
        format!(
            "https://{}/secrets/{}/{}",
            host.authority, secret.name, found.version
        ),
        found,
        vault,
    );
    body["value"] = json!(found.value);
    keyvault_json(StatusCode::OK, body)
}
