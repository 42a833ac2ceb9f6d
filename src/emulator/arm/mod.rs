//! Emulated Azure Resource Manager on `management.localhost`: subscriptions, tenants and key vaults
//! (`vaults.rs`), and Azure RBAC: role assignments, role definitions and the caller's permissions
//! (`authorization.rs`), Resource Graph's vault query (`resource_graph.rs`); with ARM's auth errors, api-version checks, `nextLink` paging and management-plane
//! authorization of every call by the caller's role assignments (groups included).

mod authorization;
mod metadata;
mod request_shape;
mod resource_graph;
mod vault_writes;
mod vaults;
mod web_sites;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::responses::{arm_error, bearer_token};
use super::roles::scope_covers;
use super::state::CloudState;
use super::token::Claims;
use super::{Shared, now_unix};

/// Page size of ARM lists when `$top` is absent: small, so the demo and tests exercise `nextLink`.
const DEFAULT_PAGE_SIZE: usize = 5;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let authenticated = Router::new()
        .route("/subscriptions", get(vaults::list_subscriptions))
        .route("/tenants", get(vaults::list_tenants))
        .route(
            "/subscriptions/{subscription}/providers/Microsoft.KeyVault/vaults",
            get(vaults::list_vaults_by_subscription),
        )
        .route(
            "/subscriptions/{subscription}/resources",
            get(vaults::list_resources),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults",
            get(vaults::list_vaults_by_group),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}",
            get(vaults::get_vault)
                .put(vault_writes::write_vault)
                .patch(vault_writes::write_vault),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}/accessPolicies/{kind}",
            put(vaults::update_access_policies),
        )
        .route(
            "/subscriptions/{subscription}/providers/Microsoft.KeyVault/deletedVaults",
            get(vaults::list_deleted_vaults),
        )
        .route(
            "/subscriptions/{subscription}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vault}",
            get(vaults::get_deleted_vault),
        )
        .route(
            "/subscriptions/{subscription}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vault}/purge",
            post(vaults::purge_deleted_vault),
        )
        .route(
            "/subscriptions/{subscription}/providers/Microsoft.Web/sites",
            get(web_sites::list_sites),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/sites/{site}/config/{collection}/list",
            post(web_sites::list_settings),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/sites/{site}/config/configreferences/{collection}",
            get(web_sites::list_reference_statuses),
        )
        .route(
            "/providers/Microsoft.ResourceGraph/resources",
            post(resource_graph::query_resources),
        )
        .route(
            "/providers/Microsoft.Authorization/roleDefinitions",
            get(authorization::tenant_role_definitions),
        )
        .route(
            "/providers/Microsoft.Authorization/roleDefinitions/{id}",
            get(authorization::tenant_role_definition),
        )
        // Authorization lives under scopes of any depth; the router's own syntax cannot express that
        // beside the vault routes, so the fallback dispatches it.
        .fallback(authorization::scoped)
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared.clone());
    // Cloud metadata needs no token (Azure serves it to anyone).
    Router::new()
        .route("/metadata/endpoints", get(metadata::endpoints))
        .with_state(shared)
        .merge(authenticated)
}

/// Rewrites the request's path as ARM reads it (see `request_shape`), before it is routed.
pub(crate) fn normalize_request(request: &mut Request) {
    let normalized = request_shape::normalized_path(request.uri().path());
    if normalized == request.uri().path() {
        return;
    }
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{normalized}?{query}"),
        None => normalized,
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
}

/// The verified caller of a management call.
#[derive(Debug, Clone)]
pub(crate) struct ArmCaller {
    pub claims: Claims,
    /// The caller's object id and every group it belongs to, transitively (lower-case).
    pub identities: BTreeSet<String>,
}

impl ArmCaller {
    /// Whether the caller's role assignments grant the control-plane `action` at `scope`.
    pub fn may(&self, cloud: &CloudState, action: &str, scope: &str) -> bool {
        self.scopes_granting(cloud, action)
            .any(|granted| scope_covers(granted, scope))
    }

    /// The scopes at which the caller's role assignments grant `action` (they cover what is below them):
    /// worked out once for a query over many resources.
    pub fn scopes_granting<'a>(
        &'a self,
        cloud: &'a CloudState,
        action: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        cloud
            .role_assignments
            .iter()
            .filter(move |assignment| {
                self.identities
                    .contains(&assignment.principal_id.to_ascii_lowercase())
                    && cloud
                        .role_definition(&assignment.role_definition_id)
                        .is_some_and(|role| role.grants_action(action))
            })
            .map(|assignment| assignment.scope.as_str())
    }

    /// ARM's 403 for a missing control-plane permission.
    pub fn forbidden(&self, action: &str, scope: &str) -> Response {
        arm_error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            &format!(
                "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                self.claims
                    .upn
                    .as_deref()
                    .or(self.claims.appid.as_deref())
                    .unwrap_or(&self.claims.oid),
                self.claims.oid
            ),
        )
    }

    /// Requires `action` at `scope`.
    pub fn require(&self, cloud: &CloudState, action: &str, scope: &str) -> Result<(), Response> {
        if self.may(cloud, action, scope) {
            Ok(())
        } else {
            Err(self.forbidden(action, scope))
        }
    }
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
        Ok(claims) if shared.revoked(&claims) == Some(super::Revoked::WithClaimsChallenge) => {
            let mut response = arm_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "The access token was revoked (Continuous Access Evaluation).",
            );
            if let Ok(value) = HeaderValue::from_str(&shared.claims_challenge(&claims.tid)) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            return response;
        }
        Ok(claims) if shared.revoked(&claims).is_some() => {
            return unauthorized(
                "InvalidAuthenticationToken",
                "The access token has been revoked.".into(),
            );
        }
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
    if let Err(response) = request_shape::check_api_version(
        request.uri().query(),
        time::OffsetDateTime::now_utc().date(),
    )
    .and_then(|()| request_shape::check_query_options(request.uri().query()))
    {
        return response;
    }
    let identities = {
        let cloud = shared.read();
        let mut identities = cloud.transitive_groups(&claims.oid);
        identities.insert(claims.oid.to_ascii_lowercase());
        identities
    };
    request
        .extensions_mut()
        .insert(ArmCaller { claims, identities });
    next.run(request).await
}

/// Slices `items` by `$skiptoken` (an offset) and `$top`, adding an absolute `nextLink` when more remain.
pub(crate) fn page(items: Vec<Value>, query: &HashMap<String, String>, base: &str) -> Json<Value> {
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
        {
            let mut pairs = next.query_pairs_mut();
            pairs.append_pair("api-version", &api_version);
            // Filters and the like carry over, in a stable order.
            let mut others: Vec<(&String, &String)> = query
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "api-version" | "$top" | "$skiptoken"))
                .collect();
            others.sort();
            for (key, value) in others {
                pairs.append_pair(key, value);
            }
            pairs
                .append_pair("$top", &top.to_string())
                .append_pair("$skiptoken", &(skip + top).to_string());
        }
        body["nextLink"] = json!(next.to_string());
    }
    Json(body)
}

pub(crate) fn base_url(request_authority: &str, path: &str) -> String {
    format!("https://{request_authority}{path}")
}
