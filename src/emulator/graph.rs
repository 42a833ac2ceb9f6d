//! Emulated Microsoft Graph v1.0 on `graph.localhost`: `directoryObjects/getByIds`, `$search` (which
//! requires `ConsistencyLevel: eventual`) and simple `$filter`s on users, groups and service principals,
//! transitive `getMemberGroups`, and `/me`. Objects are limited to the token's tenant. Graph's own
//! permission model (Directory.Read.All and friends) is not enforced: every valid Graph token may read.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::responses::bearer_token;
use super::state::CloudState;
use super::token::Claims;
use super::{Shared, now_unix, request_authority};

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 999;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1.0/directoryObjects/getByIds", post(get_by_ids))
        .route("/v1.0/me", get(me))
        .route("/v1.0/me/getMemberGroups", post(my_member_groups))
        .route(
            "/v1.0/groups/{id}/transitiveMembers",
            get(transitive_members),
        )
        .route("/v1.0/{collection}", get(list))
        .route("/v1.0/{collection}/{id}", get(get_one))
        .route(
            "/v1.0/{collection}/{id}/getMemberGroups",
            post(member_groups),
        )
        .fallback(|| async {
            graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment.",
            )
        })
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared)
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {
            "code": code,
            "message": message,
            "innerError": {"date": "", "request-id": uuid::Uuid::new_v4().to_string()}
        }})),
    )
        .into_response()
}

async fn authenticate(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer_token(request.headers()) else {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        );
    };
    let audience = format!("https://graph.localhost:{}", shared.port);
    if let Some(option) = unsupported_query_option(request.uri().query()) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "The query option '{}' is not supported by the emulator; it evaluates $select, $filter, $search, $top, $count and $skiptoken.",
                crate::untrusted_text::escape_deceptive(&option)
            ),
        );
    }
    match shared.signer.verify(token, &[&audience], now_unix()) {
        Ok(claims) => {
            request.extensions_mut().insert(claims);
            next.run(request).await
        }
        Err(error) => graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            &format!("Access token validation failure: {error}."),
        ),
    }
}

/// The first OData system query option (`$…`) the emulator does not evaluate: one it silently ignored
/// would answer as though it had been applied (an unordered list for `$orderby`, say).
fn unsupported_query_option(query: Option<&str>) -> Option<String> {
    const SUPPORTED: [&str; 6] = [
        "$select",
        "$filter",
        "$search",
        "$top",
        "$count",
        "$skiptoken",
    ];
    url::form_urlencoded::parse(query?.as_bytes())
        .map(|(key, _)| key.into_owned())
        .find(|key| key.starts_with('$') && !SUPPORTED.contains(&key.as_str()))
}

/// The kinds of directory object the emulator holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
    ServicePrincipal,
}

impl Kind {
    fn from_collection(collection: &str) -> Option<Self> {
        match collection {
            "users" => Some(Self::User),
            "groups" => Some(Self::Group),
            "servicePrincipals" => Some(Self::ServicePrincipal),
            _ => None,
        }
    }

    fn from_type_name(name: &str) -> Option<Self> {
        match name
            .trim_start_matches("#microsoft.graph.")
            .to_ascii_lowercase()
            .as_str()
        {
            "user" => Some(Self::User),
            "group" => Some(Self::Group),
            "serviceprincipal" => Some(Self::ServicePrincipal),
            _ => None,
        }
    }
}

/// Every directory object of `tenant`, as Graph JSON, with its kind.
fn directory(cloud: &CloudState, tenant: &str) -> Vec<(Kind, Value)> {
    let mut objects = Vec::new();
    for user in cloud
        .users
        .iter()
        .filter(|u| u.tenant_id.eq_ignore_ascii_case(tenant))
    {
        objects.push((
            Kind::User,
            json!({
                "@odata.type": "#microsoft.graph.user",
                "id": user.id,
                "displayName": user.display_name,
                "userPrincipalName": user.user_principal_name,
                "mail": user.user_principal_name,
                "accountEnabled": true,
            }),
        ));
    }
    for group in cloud
        .groups
        .iter()
        .filter(|g| g.tenant_id.eq_ignore_ascii_case(tenant))
    {
        objects.push((
            Kind::Group,
            json!({
                "@odata.type": "#microsoft.graph.group",
                "id": group.id,
                "displayName": group.display_name,
                "securityEnabled": true,
                "mailEnabled": false,
                "groupTypes": [],
            }),
        ));
    }
    for sp in cloud
        .service_principals
        .iter()
        .filter(|sp| sp.tenant_id.eq_ignore_ascii_case(tenant))
    {
        // Entra lists an application's appId (and identifier URIs) among its service principal
        // names, a managed identity's appId and resource id; azure-cli finds SPs by them.
        let mut names = vec![json!(sp.app_id)];
        if let Some(mi) = &sp.managed_identity {
            names.push(json!(mi.resource_id));
        }
        let (sp_type, alternative_names) = match &sp.managed_identity {
            Some(mi) => (
                "ManagedIdentity",
                json!([
                    format!("isExplicit={}", mi.kind == "UserAssigned"),
                    mi.resource_id
                ]),
            ),
            None => ("Application", json!([])),
        };
        objects.push((
            Kind::ServicePrincipal,
            json!({
                "@odata.type": "#microsoft.graph.servicePrincipal",
                "id": sp.id,
                "appId": sp.app_id,
                "displayName": sp.display_name,
                "servicePrincipalType": sp_type,
                "servicePrincipalNames": names,
                "alternativeNames": alternative_names,
                "accountEnabled": true,
            }),
        ));
    }
    objects
}

fn field<'a>(object: &'a Value, name: &str) -> &'a str {
    object
        .as_object()
        .and_then(|map| {
            map.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `"displayName:ada" OR "userPrincipalName:ada"`: every clause is `property:text`; a clause matches when
/// the property contains the text (Graph tokenizes and prefix-matches; substring matching is a superset).
fn search_matches(search: &str, object: &Value) -> Result<bool, String> {
    let clauses: Vec<&str> = search
        .split(" OR ")
        .flat_map(|part| part.split(" AND "))
        .map(|clause| clause.trim().trim_matches('"'))
        .collect();
    let mut any = false;
    for clause in clauses {
        let (property, text) = clause
            .split_once(':')
            .ok_or_else(|| format!("Syntax error in $search: '{clause}' is not property:text."))?;
        if field(object, property)
            .to_ascii_lowercase()
            .contains(&text.to_ascii_lowercase())
        {
            any = true;
        }
    }
    Ok(any)
}

/// `appId eq 'x'`, `id eq 'x'`, `displayName eq 'x'`, `startswith(displayName,'x')`,
/// `servicePrincipalNames/any(c:c eq 'x')`, and clauses of those joined by `and`.
fn filter_matches(filter: &str, object: &Value) -> Result<bool, String> {
    let lower = filter.to_ascii_lowercase();
    if lower.contains(" and ") {
        let mut rest = filter;
        let mut all = true;
        while let Some(at) = rest.to_ascii_lowercase().find(" and ") {
            all &= clause_matches(&rest[..at], object)?;
            rest = &rest[at + 5..];
        }
        return Ok(all && clause_matches(rest, object)?);
    }
    clause_matches(filter, object)
}

fn clause_matches(filter: &str, object: &Value) -> Result<bool, String> {
    let filter = filter.trim();
    // A lambda over a collection property: `names/any(c:c eq 'x')`.
    if let Some((property, lambda)) = filter.split_once("/any(") {
        let inner = lambda
            .strip_suffix(')')
            .and_then(|inner| inner.split_once(':'))
            .map(|(variable, test)| (variable.trim(), test.trim()));
        let Some((variable, test)) = inner else {
            return Err(format!("Invalid filter clause: {filter}"));
        };
        let Some(value) = test
            .strip_prefix(variable)
            .map(str::trim_start)
            .and_then(|test| test.strip_prefix("eq "))
            .map(|value| value.trim().trim_matches('\''))
        else {
            return Err(format!("Unsupported filter: {filter}"));
        };
        return Ok(object
            .get(property.trim())
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|item| item.eq_ignore_ascii_case(value))
            }));
    }
    if let Some(inner) = filter
        .strip_prefix("startswith(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let (property, text) = inner
            .split_once(',')
            .ok_or_else(|| format!("Invalid filter clause: {filter}"))?;
        let text = text.trim().trim_matches('\'');
        return Ok(field(object, property.trim())
            .to_ascii_lowercase()
            .starts_with(&text.to_ascii_lowercase()));
    }
    let (property, value) = filter
        .split_once(" eq ")
        .ok_or_else(|| format!("Unsupported filter: {filter}"))?;
    Ok(field(object, property.trim()).eq_ignore_ascii_case(value.trim().trim_matches('\'')))
}

fn select(object: &Value, select: Option<&String>) -> Value {
    let Some(select) = select else {
        return object.clone();
    };
    let mut selected = json!({});
    for name in select.split(',').map(str::trim) {
        if let Some(value) = object.get(name) {
            selected[name] = value.clone();
        }
    }
    if let Some(kind) = object.get("@odata.type") {
        selected["@odata.type"] = kind.clone();
    }
    selected
}

async fn list(
    State(shared): State<Arc<Shared>>,
    Extension(claims): Extension<Claims>,
    Path(collection): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let Some(kind) = Kind::from_collection(&collection) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{collection}'."),
        );
    };
    let search = query.get("$search");
    let eventual = headers
        .get("ConsistencyLevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    if search.is_some() && !eventual {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
        );
    }
    let matches = match matching_objects(&shared.read(), &claims.tid, kind, &query) {
        Ok(matches) => matches,
        Err(message) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                &message,
            );
        }
    };
    let context = format!(
        "https://graph.localhost:{}/v1.0/$metadata#{collection}",
        shared.port
    );
    page_of(matches, &query, &request, &context)
}

/// One page of `items` by `$top` and `$skiptoken`, with `@odata.count` when `$count=true` and an
/// `@odata.nextLink` when more remain.
fn page_of(
    items: Vec<Value>,
    query: &HashMap<String, String>,
    request: &Request,
    context: &str,
) -> Response {
    let top = query
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|&t| t > 0)
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .min(MAX_PAGE_SIZE);
    let skip = query
        .get("$skiptoken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(skip).take(top).collect();
    let mut body = json!({"@odata.context": context, "value": value});
    if query.get("$count").is_some_and(|c| c == "true") {
        body["@odata.count"] = json!(total);
    }
    if skip + top < total {
        body["@odata.nextLink"] = json!(next_link(request, query, top, skip + top));
    }
    Json(body).into_response()
}

/// `GET /groups/{id}/transitiveMembers`: every user, service principal and group inside the group, nested
/// groups' members included, paged like the other lists (`$top`, `$skiptoken`, `$select`).
async fn transitive_members(
    State(shared): State<Arc<Shared>>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let cloud = shared.read();
    let Some((_, group)) = find(&cloud, &claims.tid, &id, Some(Kind::Group)) else {
        return not_found(&id);
    };
    let group_id = field(&group, "id").to_ascii_lowercase();
    let members: Vec<Value> = directory(&cloud, &claims.tid)
        .into_iter()
        .filter(|(_, object)| {
            cloud
                .transitive_groups(field(object, "id"))
                .contains(&group_id)
        })
        .map(|(_, object)| select(&object, query.get("$select")))
        .collect();
    drop(cloud);
    let context = format!(
        "https://graph.localhost:{}/v1.0/$metadata#directoryObjects",
        shared.port
    );
    page_of(members, &query, &request, &context)
}

/// The directory objects of `kind` in `tenant` that `$search` and `$filter` admit, with `$select` applied.
fn matching_objects(
    cloud: &CloudState,
    tenant: &str,
    kind: Kind,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, String> {
    let mut matches = Vec::new();
    for (object_kind, object) in directory(cloud, tenant) {
        if object_kind != kind {
            continue;
        }
        let searched = match query.get("$search") {
            Some(search) => search_matches(search, &object)?,
            None => true,
        };
        let filtered = match query.get("$filter") {
            Some(filter) => filter_matches(filter, &object)?,
            None => true,
        };
        if searched && filtered {
            matches.push(select(&object, query.get("$select")));
        }
    }
    Ok(matches)
}

/// The next page's link: the same path and query with `$top` and a `$skiptoken` at `skip`.
fn next_link(
    request: &Request,
    query: &HashMap<String, String>,
    top: usize,
    skip: usize,
) -> String {
    let mut next = url::Url::parse(&format!(
        "https://{}{}",
        request_authority(request),
        request.uri().path()
    ))
    .unwrap_or_else(|_| unreachable!("built from a valid authority"));
    {
        let mut pairs = next.query_pairs_mut();
        let mut kept: Vec<(&String, &String)> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken" && k.as_str() != "$top")
            .collect();
        kept.sort();
        for (key, value) in kept {
            pairs.append_pair(key, value);
        }
        pairs
            .append_pair("$top", &top.to_string())
            .append_pair("$skiptoken", &skip.to_string());
    }
    next.to_string()
}

fn find(cloud: &CloudState, tenant: &str, id: &str, kind: Option<Kind>) -> Option<(Kind, Value)> {
    directory(cloud, tenant)
        .into_iter()
        .find(|(object_kind, object)| {
            kind.is_none_or(|k| k == *object_kind)
                && (field(object, "id").eq_ignore_ascii_case(id)
                    || field(object, "userPrincipalName").eq_ignore_ascii_case(id))
        })
}

fn not_found(id: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

async fn get_one(
    State(shared): State<Arc<Shared>>,
    Extension(claims): Extension<Claims>,
    Path((collection, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let kind = if collection == "directoryObjects" {
        None
    } else {
        match Kind::from_collection(&collection) {
            Some(kind) => Some(kind),
            None => return not_found(&id),
        }
    };
    let cloud = shared.read();
    match find(&cloud, &claims.tid, &id, kind) {
        Some((_, object)) => Json(select(&object, query.get("$select"))).into_response(),
        None => not_found(&id),
    }
}

async fn me(State(shared): State<Arc<Shared>>, Extension(claims): Extension<Claims>) -> Response {
    let cloud = shared.read();
    match find(&cloud, &claims.tid, &claims.oid, Some(Kind::User)) {
        Some((_, object)) => Json(object).into_response(),
        None => graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ),
    }
}

async fn get_by_ids(
    State(shared): State<Arc<Shared>>,
    Extension(claims): Extension<Claims>,
    body: Bytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(_) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Write requests (excluding DELETE) must contain the Content-Type header declaration.",
            );
        }
    };
    let Some(ids) = body.get("ids").and_then(Value::as_array) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The 'ids' parameter is required.",
        );
    };
    if ids.len() > 1000 {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "At most 1000 ids may be requested at once.",
        );
    }
    let types: Option<Vec<Kind>> = body.get("types").and_then(Value::as_array).map(|types| {
        types
            .iter()
            .filter_map(Value::as_str)
            .filter_map(Kind::from_type_name)
            .collect()
    });
    let cloud = shared.read();
    let directory = directory(&cloud, &claims.tid);
    let value: Vec<Value> = ids
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|id| {
            directory.iter().find(|(kind, object)| {
                field(object, "id").eq_ignore_ascii_case(id)
                    && types.as_ref().is_none_or(|types| types.contains(kind))
            })
        })
        .map(|(_, object)| object.clone())
        .collect();
    Json(json!({
        "@odata.context": format!("https://graph.localhost:{}/v1.0/$metadata#directoryObjects", shared.port),
        "value": value,
    }))
    .into_response()
}

/// `POST /me/getMemberGroups`: the caller's own, as `/users/{caller}/getMemberGroups`.
async fn my_member_groups(
    state: State<Arc<Shared>>,
    Extension(claims): Extension<Claims>,
    body: Bytes,
) -> Response {
    let me = (
        if claims.idtyp == "app" {
            "servicePrincipals"
        } else {
            "users"
        }
        .to_owned(),
        claims.oid.clone(),
    );
    member_groups(state, Extension(claims), Path(me), body).await
}

async fn member_groups(
    State(shared): State<Arc<Shared>>,
    Extension(claims): Extension<Claims>,
    Path((collection, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
    if body
        .get("securityEnabledOnly")
        .and_then(Value::as_bool)
        .is_none()
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The 'securityEnabledOnly' parameter is required.",
        );
    }
    let kind = match collection.as_str() {
        "directoryObjects" => None,
        other => match Kind::from_collection(other) {
            Some(kind) => Some(kind),
            None => return not_found(&id),
        },
    };
    let cloud = shared.read();
    let Some((_, object)) = find(&cloud, &claims.tid, &id, kind) else {
        return not_found(&id);
    };
    let memberships = cloud.transitive_groups(field(&object, "id"));
    let value: Vec<String> = cloud
        .groups
        .iter()
        .filter(|group| memberships.contains(&group.id.to_ascii_lowercase()))
        .map(|group| group.id.clone())
        .collect();
    Json(json!({
        "@odata.context": format!("https://graph.localhost:{}/v1.0/$metadata#Collection(Edm.String)", shared.port),
        "value": value,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_and_filter_syntax() {
        let user = json!({"displayName": "Ada Operator", "userPrincipalName": "ada@contoso.demo", "appId": "x"});
        assert_eq!(search_matches("\"displayName:ada\"", &user), Ok(true));
        assert_eq!(
            search_matches("\"displayName:zed\" OR \"userPrincipalName:ada@\"", &user),
            Ok(true)
        );
        assert_eq!(search_matches("\"displayName:zed\"", &user), Ok(false));
        assert!(search_matches("ada", &user).is_err());
        assert_eq!(filter_matches("appId eq 'X'", &user), Ok(true));
        assert_eq!(
            filter_matches("startswith(displayName,'ada')", &user),
            Ok(true)
        );
        assert!(filter_matches("displayName ne 'x'", &user).is_err());
    }
}
