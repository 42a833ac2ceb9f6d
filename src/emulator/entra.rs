//! Emulated Entra ID v2.0 endpoints on `login.localhost`: `/{tenant}/oauth2/v2.0/devicecode` and `/token`
//! (device_code, refresh_token with rotation, client_credentials with a secret), with Entra's error shapes;
//! ID tokens and `client_info` for MSAL's accounts, and the signing keys at `jwks_uri`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde_json::json;

use super::responses::entra_error;
use super::state::{DeviceCodeState, RefreshGrant};
use super::{Shared, now_unix};

/// Device codes live 15 minutes, as Entra's do.
const DEVICE_CODE_LIFETIME: i64 = 900;
/// Poll interval we ask for. Entra says 5; the emulator says 1 so the demo and tests start fast.
const DEVICE_CODE_INTERVAL: u64 = 1;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device_code))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(signing_keys))
        .route("/{tenant}/discovery/keys", get(signing_keys))
        .route("/device", get(device_page).post(device_decision))
        .with_state(shared)
}

/// The OpenID Connect scopes, which name no resource.
const OIDC_SCOPES: [&str; 4] = ["offline_access", "openid", "profile", "email"];

/// The first resource scope of a request and its audience (`https://x/.default` → `https://x`).
fn resource_audience(scope: &str) -> Option<String> {
    scope
        .split_whitespace()
        .find(|s| !OIDC_SCOPES.contains(s))
        .map(|s| {
            s.trim_end_matches("/.default")
                .trim_end_matches('/')
                .to_owned()
        })
}

/// The audience of a user token: the first resource scope, or Microsoft Graph when only OpenID Connect
/// scopes are asked for (Entra then issues a Graph token, as for `openid profile`).
fn user_token_audience(shared: &Shared, scope: &str) -> Option<String> {
    resource_audience(scope).or_else(|| {
        scope
            .split_whitespace()
            .any(|s| OIDC_SCOPES.contains(&s))
            .then(|| format!("https://graph.localhost:{}", shared.port))
    })
}

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ23456789";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn device_code(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(client_id) = form.get("client_id").filter(|id| !id.is_empty()) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let scope = form.get("scope").cloned().unwrap_or_default();
    if user_token_audience(&shared, &scope).is_none() {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid.",
        );
    }
    let mut cloud = shared.write();
    let tenant_id = match cloud.resolve_tenant(&tenant) {
        Some(found) => found.id.clone(),
        None => return tenant_not_found(&tenant),
    };
    let approved_for = if shared.auto_approve_device_codes {
        let demo_user = cloud.demo_user.clone();
        cloud.user_principal(&demo_user)
    } else {
        None
    };
    let device_code = random_token(48);
    shared.record_issued(&device_code);
    let code = user_code();
    let now = now_unix();
    crate::emulator::state::make_room(
        &mut cloud.device_codes,
        crate::emulator::state::MAX_KEPT_GRANTS,
        |state| state.expires_at,
        |state| state.expires_at < now,
    );
    cloud.device_codes.insert(
        device_code.clone(),
        DeviceCodeState {
            user_code: code.clone(),
            tenant: tenant_id,
            client_id: client_id.clone(),
            scope,
            expires_at: now_unix() + DEVICE_CODE_LIFETIME,
            approved_for,
            declined: false,
            last_poll: None,
        },
    );
    let verification_uri = format!("{}/device", shared.login_base());
    Json(json!({
        "user_code": code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": DEVICE_CODE_LIFETIME,
        "interval": DEVICE_CODE_INTERVAL,
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code {code} to authenticate."
        ),
    }))
    .into_response()
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(response) = tenant_id(&shared, &tenant) {
        return response;
    }
    match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => device_code_grant(&shared, &form),
        Some("refresh_token") => refresh_token_grant(&shared, &tenant, &form),
        Some("client_credentials") => client_credentials_grant(&shared, &form),
        Some(other) => entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
        None => entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        ),
    }
}

fn device_code_grant(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let code = form.get("device_code").cloned().unwrap_or_default();
    let mut cloud = shared.write();
    let Some(state) = cloud.device_codes.get_mut(&code) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "bad_verification_code",
            70000,
            "The provided device code is not valid.",
        );
    };
    if state.expires_at <= now_unix() {
        cloud.device_codes.remove(&code);
        return entra_error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            70019,
            "Verification code expired.",
        );
    }
    if state.declined {
        cloud.device_codes.remove(&code);
        return entra_error(
            StatusCode::BAD_REQUEST,
            "authorization_declined",
            70000,
            "The end user denied the authorization request.",
        );
    }
    let Some(principal) = state.approved_for.clone() else {
        let now = std::time::Instant::now();
        let too_fast = state
            .last_poll
            .is_some_and(|last| now.duration_since(last).as_millis() < 500);
        state.last_poll = Some(now);
        return if too_fast {
            entra_error(
                StatusCode::BAD_REQUEST,
                "slow_down",
                70016,
                "Polling too frequently; slow down.",
            )
        } else {
            entra_error(
                StatusCode::BAD_REQUEST,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        };
    };
    let (scope, client_id) = (state.scope.clone(), state.client_id.clone());
    cloud.device_codes.remove(&code);
    drop(cloud);
    grant_user_tokens(
        shared,
        principal.clone(),
        principal,
        &client_id,
        &scope,
        form,
    )
}

/// Redeems a refresh token. Asked at another tenant's endpoint, a user's refresh token yields a token for
/// that user's guest account there (same UPN), as Entra does for B2B guests; the new refresh token still
/// belongs to the home account.
fn refresh_token_grant(shared: &Shared, tenant: &str, form: &HashMap<String, String>) -> Response {
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    if shared
        .refresh_tokens_refused
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
        );
    }
    // Rotation: a refresh token is good once; the answer carries its successor.
    let grant = shared.write().refresh_tokens.remove(&presented);
    let Some(grant) = grant else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            700082,
            "The refresh token has expired or is invalid.",
        );
    };
    let scope = form
        .get("scope")
        .cloned()
        .unwrap_or_else(|| shared.management_audience() + "/.default");
    // `organizations`/`common` mean the account's home tenant.
    let target_tenant =
        if ["organizations", "common"].contains(&tenant.to_ascii_lowercase().as_str()) {
            None
        } else {
            shared
                .read()
                .resolve_tenant(tenant)
                .map(|found| found.id.clone())
        };
    let home = grant.principal.clone();
    let token_principal = match target_tenant {
        Some(target) if !target.eq_ignore_ascii_case(&home.tenant_id) => {
            let guest = home.upn.as_deref().and_then(|upn| {
                let cloud = shared.read();
                cloud
                    .users
                    .iter()
                    .find(|user| {
                        user.user_principal_name.eq_ignore_ascii_case(upn)
                            && user.tenant_id.eq_ignore_ascii_case(&target)
                    })
                    .and_then(|user| cloud.user_by_id(&user.id))
            });
            match guest {
                Some(guest) => guest,
                None => {
                    // The grant is not spent by a refused cross-tenant request.
                    shared.write().refresh_tokens.insert(presented, grant);
                    return entra_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        50020,
                        &format!(
                            "User account '{}' from identity provider does not exist in tenant '{target}' and cannot access the application in that tenant.",
                            home.upn.as_deref().unwrap_or(&home.object_id)
                        ),
                    );
                }
            }
        }
        _ => home.clone(),
    };
    grant_user_tokens(
        shared,
        token_principal,
        home,
        &grant.client_id,
        &scope,
        form,
    )
}

fn grant_user_tokens(
    shared: &Shared,
    principal: super::state::Principal,
    refresh_principal: super::state::Principal,
    client_id: &str,
    scope: &str,
    request: &HashMap<String, String>,
) -> Response {
    let Some(audience) = user_token_audience(shared, scope) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid.",
        );
    };
    let (access_token, expires_in) =
        shared.issue_access_token(&principal, &audience, Some(client_id));
    let refresh_token = random_token(64);
    shared.record_issued(&refresh_token);
    let home_account = (
        refresh_principal.object_id.clone(),
        refresh_principal.tenant_id.clone(),
    );
    {
        let mut cloud = shared.write();
        crate::emulator::state::make_room(
            &mut cloud.refresh_tokens,
            crate::emulator::state::MAX_KEPT_GRANTS,
            |grant| grant.issued_at,
            |_| false,
        );
        cloud.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshGrant {
                principal: refresh_principal,
                client_id: client_id.to_owned(),
                issued_at: now_unix(),
            },
        );
    }
    let asked_openid = scope.split_whitespace().any(|s| s == "openid");
    let mut answer = json!({
        "token_type": "Bearer",
        "scope": granted_scope(&audience, scope),
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
        "refresh_token": refresh_token,
    });
    if asked_openid {
        answer["id_token"] = json!(id_token(
            shared,
            &principal,
            client_id,
            request.get("nonce").map(String::as_str)
        ));
    }
    // MSAL sends `client_info=1` and keys its account cache on the answer's `uid.utid` (the home
    // account, also for a guest token): msal/oauth2cli/oidc.py and msal/token_cache.py.
    if request.get("client_info").is_some_and(|value| value == "1") {
        answer["client_info"] = json!(
            URL_SAFE_NO_PAD
                .encode(json!({"uid": home_account.0, "utid": home_account.1}).to_string())
        );
    }
    Json(answer).into_response()
}

/// The scopes a user token answer names: the resource's `.default` and the OpenID Connect scopes asked
/// for, as Entra echoes them (`https://x/.default openid profile offline_access`).
fn granted_scope(audience: &str, asked: &str) -> String {
    let mut granted = vec![format!("{audience}/.default")];
    granted.extend(
        asked
            .split_whitespace()
            .filter(|s| OIDC_SCOPES.contains(s))
            .map(str::to_owned),
    );
    granted.join(" ")
}

/// An OpenID Connect ID token with the claims MSAL reads to build its account (`oid`, `tid`,
/// `preferred_username`, `name`, `iss`, `aud` = the client, `nonce` when the request carried one); signed
/// like the access tokens. Claims: learn.microsoft.com/entra/identity-platform/id-token-claims-reference.
fn id_token(
    shared: &Shared,
    principal: &super::state::Principal,
    client_id: &str,
    nonce: Option<&str>,
) -> String {
    let now = super::now_unix();
    let mut claims = json!({
        "ver": "2.0",
        "iss": format!("{}/{}/v2.0", shared.login_base(), principal.tenant_id),
        "sub": principal.object_id,
        "aud": client_id,
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "name": principal.display_name,
        "preferred_username": principal.upn.clone().unwrap_or_default(),
        "oid": principal.object_id,
        "tid": principal.tenant_id,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    shared.signer.sign(&claims)
}

/// Entra's answer for a tenant it does not know.
fn tenant_not_found(tenant: &str) -> Response {
    entra_error(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!("Tenant '{tenant}' not found."),
    )
}

/// The id of the tenant a path segment names (GUID, domain, `common`, `organizations`).
fn tenant_id(shared: &Shared, tenant: &str) -> Result<String, Response> {
    shared
        .read()
        .resolve_tenant(tenant)
        .map(|found| found.id.clone())
        .ok_or_else(|| tenant_not_found(tenant))
}

/// The tenant's signing keys (`jwks_uri` of the discovery document).
async fn signing_keys(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>) -> Response {
    let tenant_id = match tenant_id(&shared, &tenant) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let issuer = format!("{}/{tenant_id}/v2.0", shared.login_base());
    Json(json!({ "keys": [shared.signer.jwk(&issuer)] })).into_response()
}

fn client_credentials_grant(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    let scope = form.get("scope").cloned().unwrap_or_default();
    let Some((principal, expected_secret)) = shared.read().app_principal(&client_id) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
        );
    };
    if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            );
        }
        if let Err(response) = check_federated_assertion(shared, &client_id, assertion) {
            return response;
        }
    } else if form.get("client_secret").is_none()
        || form.get("client_secret") != expected_secret.as_ref()
    {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    if !scope.trim().ends_with("/.default") {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    let Some(audience) = resource_audience(&scope) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The scope is not valid.",
        );
    };
    let (access_token, expires_in) = shared.issue_access_token(&principal, &audience, None);
    Json(json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    }))
    .into_response()
}

/// A workload-identity client assertion: a JWT whose `iss` and `sub` match one of the app's federated
/// credentials, with an accepted audience and not expired. Its signature is not checked: the emulator has
/// no way to fetch the external issuer's signing keys (real Entra does, through the issuer's OIDC metadata).
fn check_federated_assertion(
    shared: &Shared,
    client_id: &str,
    assertion: &str,
) -> Result<(), Response> {
    let invalid = |aadsts: u32, description: &str| {
        entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            aadsts,
            description,
        )
    };
    let claims: serde_json::Value = assertion
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid(50027, "JWT token is invalid or malformed."))?;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (issuer, subject) = (text("iss"), text("sub"));
    let audiences: Vec<String> = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => vec![aud.clone()],
        Some(serde_json::Value::Array(auds)) => auds
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    if claims
        .get("exp")
        .and_then(|v| v.as_i64())
        .is_none_or(|exp| exp < now_unix())
    {
        return Err(invalid(
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    let cloud = shared.read();
    let matched = cloud
        .service_principals
        .iter()
        .find(|sp| sp.app_id.eq_ignore_ascii_case(client_id))
        .is_some_and(|sp| {
            sp.federated_credentials.iter().any(|credential| {
                credential.issuer == issuer
                    && credential.subject == subject
                    && credential
                        .audiences
                        .iter()
                        .any(|allowed| audiences.contains(allowed))
            })
        });
    if matched {
        Ok(())
    } else {
        Err(invalid(
            70021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{}'.",
                audiences.join(",")
            ),
        ))
    }
}

/// OpenID Connect discovery for a tenant.
async fn openid_configuration(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    let tenant_id = match tenant_id(&shared, &tenant) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let base = shared.login_base();
    Json(json!({
        "issuer": format!("{base}/{tenant_id}/v2.0"),
        "authorization_endpoint": format!("{base}/{tenant_id}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant_id}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/{tenant_id}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/{tenant_id}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "login.localhost",
    }))
    .into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn device_page_html(shared: &Shared, message: &str) -> Html<String> {
    let cloud = shared.read();
    let options: String = cloud
        .users
        .iter()
        .map(|user| {
            let tenant = cloud
                .tenants
                .iter()
                .find(|t| t.id.eq_ignore_ascii_case(&user.tenant_id))
                .map_or("", |t| t.display_name.as_str());
            format!(
                "<option value=\"{}\">{} ({}, {})</option>",
                html_escape(&user.user_principal_name),
                html_escape(&user.display_name),
                html_escape(&user.user_principal_name),
                html_escape(tenant)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Vaultscope emulator: sign in</title>\
         <style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}label,select,input,button{{display:block;margin:.5rem 0;font-size:1rem}}</style></head>\
         <body><h1>Enter code</h1><p>{}</p>\
         <form method=\"post\" action=\"/device\">\
         <label for=\"user_code\">Code shown by the app</label><input id=\"user_code\" name=\"user_code\" autocomplete=\"off\" required>\
         <label for=\"upn\">Sign in as</label><select id=\"upn\" name=\"upn\">{options}</select>\
         <button name=\"decision\" value=\"approve\">Approve</button>\
         <button name=\"decision\" value=\"decline\">Decline</button>\
         </form></body></html>",
        html_escape(message)
    ))
}

/// The page where a person enters a device code and picks a demo identity.
async fn device_page(State(shared): State<Arc<Shared>>) -> Html<String> {
    device_page_html(
        &shared,
        "Enter the code the application shows, pick a demo identity, and approve or decline.",
    )
}

async fn device_decision(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let code = form
        .get("user_code")
        .map(|c| c.trim().to_ascii_uppercase().replace('-', ""))
        .unwrap_or_default();
    let approve = form.get("decision").map(String::as_str) != Some("decline");
    let upn = form.get("upn").cloned().unwrap_or_default();
    let outcome = {
        let mut cloud = shared.write();
        let principal = cloud.user_principal(&upn);
        let now = now_unix();
        match cloud
            .device_codes
            .values_mut()
            .find(|state| state.user_code == code && state.expires_at > now)
        {
            None => Err("That code is not valid or has expired. Check it and try again."),
            Some(state) if approve => match principal {
                Some(principal) => {
                    state.approved_for = Some(principal);
                    Ok("You are signed in. You can close this page and return to the application.")
                }
                None => Err("Pick a demo identity."),
            },
            Some(state) => {
                state.declined = true;
                Ok("Sign-in declined. You can close this page.")
            }
        }
    };
    match outcome {
        Ok(message) => device_page_html(&shared, message).into_response(),
        Err(message) => {
            (StatusCode::BAD_REQUEST, device_page_html(&shared, message)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_the_first_resource_scope() {
        assert_eq!(
            resource_audience("https://management.localhost:1/.default offline_access openid")
                .as_deref(),
            Some("https://management.localhost:1")
        );
        assert_eq!(
            resource_audience("openid https://vault.localhost:1/.default").as_deref(),
            Some("https://vault.localhost:1")
        );
        assert_eq!(resource_audience("openid profile"), None);
    }

    #[test]
    fn user_codes_avoid_ambiguous_letters() {
        let code = user_code();
        assert_eq!(code.len(), 8);
        assert!(!code.contains(['0', 'O', '1', 'I']));
    }
}
