//! Managed-identity token endpoints on `login.localhost`, answering as the seed's `managedIdentityHost`:
//! IMDS (`/metadata/identity/oauth2/token`, `Metadata: true`), App Service (`/msi/token`, api-version
//! 2019-08-01, `X-IDENTITY-HEADER`), legacy App Service (`/msi/legacy-token`, api-version 2017-09-01,
//! `secret` header, `expires_on` as a date string) and Azure Machine Learning (`/msi/azure-ml-token`: the
//! same request, `expires_on` in Unix seconds). Numbers are strings, as the real endpoints send them.
//!
//! Why two legacy endpoints: App Service sets both pairs (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER` and
//! `MSI_ENDPOINT`/`MSI_SECRET`). Clients of the 2017 era (AppAuthentication, old SDKs) read the legacy
//! pair and a date; today's clients read the new pair, and with only `MSI_ENDPOINT`/`MSI_SECRET` set they
//! take the host for Azure Machine Learning and parse `expires_on` as a number (msal's
//! `managed_identity.py`, `_obtain_token_on_machine_learning`; azure-identity's `AzureMLCredential`).
//! The emulator serves both answers, and `--msi-flavour` picks which one `MSI_ENDPOINT` names.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::state::Principal;
use super::{Shared, now_unix};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metadata/identity/oauth2/token", get(imds))
        .route("/msi/token", get(app_service))
        .route("/msi/legacy-token", get(legacy_app_service))
        .route("/msi/azure-ml-token", get(azure_machine_learning))
        .with_state(shared)
}

fn error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Which identity of the host a request names: none → system-assigned; else by client id, object id or
/// resource id among the user-assigned ones (and the system-assigned one, which real hosts also accept).
fn select_identity(
    shared: &Shared,
    client_id: Option<&String>,
    object_id: Option<&String>,
    resource_id: Option<&String>,
) -> Result<Principal, Response> {
    let cloud = shared.read();
    let host = &cloud.managed_identity_host;
    let candidates: Vec<&String> = host
        .system_assigned
        .iter()
        .chain(host.user_assigned.iter())
        .collect();
    let not_found = || {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        )
    };
    let chosen = if client_id.is_none() && object_id.is_none() && resource_id.is_none() {
        host.system_assigned.clone().ok_or_else(not_found)?
    } else {
        candidates
            .into_iter()
            .find(|object| {
                let Some(sp) = cloud
                    .service_principals
                    .iter()
                    .find(|sp| sp.id.eq_ignore_ascii_case(object))
                else {
                    return false;
                };
                client_id.is_some_and(|id| sp.app_id.eq_ignore_ascii_case(id))
                    || object_id.is_some_and(|id| sp.id.eq_ignore_ascii_case(id))
                    || resource_id.is_some_and(|id| {
                        sp.managed_identity
                            .as_ref()
                            .is_some_and(|mi| mi.resource_id.eq_ignore_ascii_case(id))
                    })
            })
            .cloned()
            .ok_or_else(not_found)?
    };
    cloud.service_principal_by_id(&chosen).ok_or_else(not_found)
}

fn resource(query: &HashMap<String, String>) -> Result<String, Response> {
    query
        .get("resource")
        .filter(|resource| !resource.is_empty())
        .map(|resource| resource.trim_end_matches('/').to_owned())
        .ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Required query variable 'resource' is missing",
            )
        })
}

async fn imds(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    // Azure SDKs probe IMDS without the header and count any answer as "present"; the real one says 400.
    if headers
        .get("Metadata")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.eq_ignore_ascii_case("true"))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    if !matches!(
        query.get("api-version").map(String::as_str),
        Some("2018-02-01" | "2019-08-01" | "2019-11-01" | "2021-02-01")
    ) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing or invalid api-version",
        );
    }
    let resource = match resource(&query) {
        Ok(resource) => resource,
        Err(response) => return response,
    };
    let principal = match select_identity(
        &shared,
        query.get("client_id"),
        query.get("object_id"),
        query.get("msi_res_id"),
    ) {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let (token, lifetime) = shared.issue_access_token(&principal, &resource, None);
    let now = now_unix();
    axum::Json(json!({
        "access_token": token,
        "refresh_token": "",
        "expires_in": (lifetime - 1).to_string(),
        "expires_on": (now + lifetime).to_string(),
        "not_before": now.to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": principal.app_id,
    }))
    .into_response()
}

async fn app_service(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let presented = headers
        .get("X-IDENTITY-HEADER")
        .and_then(|v| v.to_str().ok());
    if presented != Some(shared.identity_header.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
        );
    }
    if query.get("api-version").map(String::as_str) != Some("2019-08-01") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The api-version must be 2019-08-01.",
        );
    }
    let resource = match resource(&query) {
        Ok(resource) => resource,
        Err(response) => return response,
    };
    let principal = match select_identity(
        &shared,
        query.get("client_id"),
        query.get("principal_id"),
        query.get("mi_res_id"),
    ) {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let (token, lifetime) = shared.issue_access_token(&principal, &resource, None);
    axum::Json(json!({
        "access_token": token,
        "expires_on": (now_unix() + lifetime).to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": principal.app_id,
    }))
    .into_response()
}

/// Which host's 2017-09-01 answer `MSI_ENDPOINT` gives (see the module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegacyMsiFlavour {
    /// App Service: `expires_on` as `MM/dd/yyyy HH:mm:ss +00:00`.
    #[default]
    AppService,
    /// Azure Machine Learning: `expires_on` in Unix seconds.
    AzureMachineLearning,
}

impl LegacyMsiFlavour {
    /// The path `MSI_ENDPOINT` names for this flavour.
    pub fn path(self) -> &'static str {
        match self {
            Self::AppService => "/msi/legacy-token",
            Self::AzureMachineLearning => "/msi/azure-ml-token",
        }
    }
}

async fn legacy_app_service(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    legacy_token(&shared, &headers, &query, LegacyMsiFlavour::AppService)
}

async fn azure_machine_learning(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    legacy_token(
        &shared,
        &headers,
        &query,
        LegacyMsiFlavour::AzureMachineLearning,
    )
}

fn legacy_token(
    shared: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    flavour: LegacyMsiFlavour,
) -> Response {
    let presented = headers.get("secret").and_then(|v| v.to_str().ok());
    if presented != Some(shared.identity_header.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "The secret header is missing or does not match MSI_SECRET.",
        );
    }
    if query.get("api-version").map(String::as_str) != Some("2017-09-01") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The api-version must be 2017-09-01.",
        );
    }
    let resource = match resource(query) {
        Ok(resource) => resource,
        Err(response) => return response,
    };
    let principal = match select_identity(shared, query.get("clientid"), None, None) {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let (token, lifetime) = shared.issue_access_token(&principal, &resource, None);
    let expires_on = now_unix() + lifetime;
    let expires_on = match flavour {
        LegacyMsiFlavour::AppService => legacy_date(expires_on),
        LegacyMsiFlavour::AzureMachineLearning => expires_on.to_string(),
    };
    axum::Json(json!({
        "access_token": token,
        "expires_on": expires_on,
        "resource": resource,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// `MM/dd/yyyy HH:mm:ss +00:00`, the 2017-09-01 `expires_on` format.
fn legacy_date(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(at) => format!(
            "{:02}/{:02}/{:04} {:02}:{:02}:{:02} +00:00",
            u8::from(at.month()),
            at.day(),
            at.year(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        Err(_) => unix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::legacy_date;

    #[test]
    fn legacy_dates_look_like_app_service_2017() {
        assert_eq!(legacy_date(42), "01/01/1970 00:00:42 +00:00");
    }
}
