//! `Microsoft.Authorization` under any scope (subscription, resource group, vault, single object):
//! role assignments with `atScope()`, `principalId eq '…'` and `assignedTo('…')` filters, role definitions
//! (scoped and tenant-level, `roleName eq` and `type eq` filters), deny assignments (all related, or
//! `atScope()`) and the caller's own `permissions`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ArmCaller, base_url, page};
use crate::emulator::responses::arm_error;
use crate::emulator::roles::{RoleDefinition, scope_covers};
use crate::emulator::state::{CloudState, RoleAssignmentState};
use crate::emulator::{Shared, request_authority};

const ROLE_ASSIGNMENTS_READ: &str = "Microsoft.Authorization/roleAssignments/read";
const DENY_ASSIGNMENTS_READ: &str = "Microsoft.Authorization/denyAssignments/read";
const ELIGIBILITY_READ: &str = "Microsoft.Authorization/roleEligibilityScheduleInstances/read";
const PROVIDER: &str = "/providers/microsoft.authorization/";

fn iso8601(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The subscription a scope lies in (`/subscriptions/{id}/…`).
fn subscription_of(scope: &str) -> Option<&str> {
    scope
        .strip_prefix("/subscriptions/")
        .map(|rest| rest.split('/').next().unwrap_or(rest))
}

fn assignment_json(cloud: &CloudState, assignment: &RoleAssignmentState) -> Value {
    let subscription = subscription_of(&assignment.scope).unwrap_or_default();
    let definition_scope = if subscription.is_empty() {
        String::new()
    } else {
        format!("/subscriptions/{subscription}")
    };
    let role_guid = cloud
        .role_definition(&assignment.role_definition_id)
        .map_or(assignment.role_definition_id.as_str(), |role| {
            role.id.as_str()
        });
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", assignment.scope, assignment.id),
        "name": assignment.id,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": format!("{definition_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
            "principalId": assignment.principal_id,
            "principalType": assignment.principal_type,
            "scope": assignment.scope,
            "condition": null,
            "conditionVersion": null,
            "createdOn": iso8601(assignment.created),
            "updatedOn": iso8601(assignment.created),
            "createdBy": null,
            "updatedBy": null,
            "delegatedManagedIdentityResourceId": null,
            "description": null
        }
    })
}

/// What a role-assignment `$filter` asks for.
#[derive(Debug, PartialEq)]
enum AssignmentFilter {
    All,
    AtScope,
    PrincipalId(String),
    AssignedTo(String),
}

fn parse_assignment_filter(filter: Option<&String>) -> Result<AssignmentFilter, String> {
    let Some(filter) = filter.map(|f| f.trim()) else {
        return Ok(AssignmentFilter::All);
    };
    if filter.is_empty() {
        return Ok(AssignmentFilter::All);
    }
    if filter.eq_ignore_ascii_case("atScope()") {
        return Ok(AssignmentFilter::AtScope);
    }
    let quoted = |text: &str| {
        text.trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim()
            .trim_matches('\'')
            .to_owned()
    };
    let lower = filter.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("principalid eq ") {
        return Ok(AssignmentFilter::PrincipalId(quoted(rest)));
    }
    if let Some(rest) = lower.strip_prefix("assignedto") {
        return Ok(AssignmentFilter::AssignedTo(quoted(rest)));
    }
    Err(format!(
        "The filter '{filter}' is not supported; use atScope(), principalId eq '{{id}}' or assignedTo('{{id}}')."
    ))
}

fn role_definition_matches(role: &RoleDefinition, filter: Option<&String>) -> Result<bool, String> {
    let Some(filter) = filter.map(|f| f.trim()).filter(|f| !f.is_empty()) else {
        return Ok(true);
    };
    let (field, value) = filter
        .split_once(" eq ")
        .ok_or_else(|| format!("The filter '{filter}' is not supported."))?;
    let value = value.trim().trim_matches('\'');
    match field.trim().to_ascii_lowercase().as_str() {
        "rolename" => Ok(role.role_name.eq_ignore_ascii_case(value)),
        "type" => Ok(role.role_type.eq_ignore_ascii_case(value)),
        _ => Err(format!(
            "The filter '{filter}' is not supported; use roleName eq or type eq."
        )),
    }
}

/// `GET /subscriptions/…/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions|permissions}[/{id}]`.
pub(super) async fn scoped(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let path = request.uri().path().to_owned();
    let lower = path.to_ascii_lowercase();
    let method = request.method().clone();
    let found = lower
        .find(PROVIDER)
        .filter(|_| lower.starts_with("/subscriptions/"));
    if let Some(at) = found
        && (method == axum::http::Method::PUT || method == axum::http::Method::DELETE)
    {
        let scope = path[..at].to_owned();
        let tail: Vec<String> = path[at + PROVIDER.len()..]
            .split('/')
            .map(str::to_owned)
            .collect();
        let body = match axum::body::to_bytes(request.into_body(), 1 << 20).await {
            Ok(body) => body,
            Err(_) => {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContent",
                    "The request body could not be read.",
                );
            }
        };
        return match tail.as_slice() {
            [kind, id] if kind.eq_ignore_ascii_case("roleAssignments") => {
                let mut cloud = shared.write();
                if method == axum::http::Method::PUT {
                    put_assignment(&mut cloud, &caller, &scope, id, &body)
                } else {
                    delete_assignment(&mut cloud, &caller, &scope, id)
                }
            }
            _ => arm_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "Only role assignments are written through Microsoft.Authorization here.",
            ),
        };
    }
    let found = found.filter(|_| method == axum::http::Method::GET);
    let Some(at) = found else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The requested resource path is not served by the emulator.",
        );
    };
    let scope = path[..at].to_owned();
    let tail: Vec<&str> = path[at + PROVIDER.len()..].split('/').collect();
    let cloud = shared.read();
    let Some(subscription) = subscription_of(&scope) else {
        return arm_error(StatusCode::BAD_REQUEST, "InvalidScope", "invalid scope");
    };
    if !cloud
        .subscriptions
        .iter()
        .any(|s| s.id.eq_ignore_ascii_case(subscription) && s.accepts_tenant(&caller.claims.tid))
    {
        return arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{subscription}' could not be found."),
        );
    }
    let base = base_url(&request_authority(&request), &path);
    match tail.as_slice() {
        [kind] if kind.eq_ignore_ascii_case("roleAssignments") => {
            list_assignments(&cloud, &caller, &scope, &query, &base)
        }
        [kind, id] if kind.eq_ignore_ascii_case("roleAssignments") => {
            get_assignment(&cloud, &caller, &scope, id)
        }
        [kind] if kind.eq_ignore_ascii_case("roleEligibilityScheduleInstances") => {
            list_eligibilities(&cloud, &caller, &scope, &query, &base)
        }
        [kind] if kind.eq_ignore_ascii_case("denyAssignments") => {
            list_deny_assignments(&cloud, &caller, &scope, &query, &base)
        }
        [kind] if kind.eq_ignore_ascii_case("roleDefinitions") => {
            list_definitions(&cloud, &scope, &query, &base)
        }
        [kind, id] if kind.eq_ignore_ascii_case("roleDefinitions") => {
            get_definition(&cloud, &format!("/subscriptions/{subscription}"), id)
        }
        [kind] if kind.eq_ignore_ascii_case("permissions") => {
            caller_permissions(&cloud, &caller, &scope)
        }
        _ => arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The requested resource path is not served by the emulator.",
        ),
    }
}

fn list_assignments(
    cloud: &CloudState,
    caller: &ArmCaller,
    scope: &str,
    query: &HashMap<String, String>,
    base: &str,
) -> Response {
    let filter = match parse_assignment_filter(query.get("$filter")) {
        Ok(filter) => filter,
        Err(message) => return arm_error(StatusCode::BAD_REQUEST, "InvalidFilter", &message),
    };
    // Anyone may list their own assignments; everything else needs roleAssignments/read.
    let about_self = match &filter {
        AssignmentFilter::PrincipalId(id) | AssignmentFilter::AssignedTo(id) => {
            id.eq_ignore_ascii_case(&caller.claims.oid)
        }
        _ => false,
    };
    if !about_self && let Err(response) = caller.require(cloud, ROLE_ASSIGNMENTS_READ, scope) {
        return response;
    }
    let related = |assignment: &&RoleAssignmentState| {
        scope_covers(&assignment.scope, scope) || scope_covers(scope, &assignment.scope)
    };
    let items: Vec<Value> = cloud
        .role_assignments
        .iter()
        .filter(|assignment| match &filter {
            AssignmentFilter::All => related(assignment),
            AssignmentFilter::AtScope => scope_covers(&assignment.scope, scope),
            AssignmentFilter::PrincipalId(id) => {
                assignment.principal_id.eq_ignore_ascii_case(id) && related(assignment)
            }
            AssignmentFilter::AssignedTo(id) => {
                let mut identities = cloud.transitive_groups(id);
                identities.insert(id.to_ascii_lowercase());
                identities.contains(&assignment.principal_id.to_ascii_lowercase())
                    && related(assignment)
            }
        })
        .map(|assignment| assignment_json(cloud, assignment))
        .collect();
    page(items, query, base).into_response()
}

/// Whether a list's `$filter` is `atScope()` (at or above the scope only); anything else is a 400.
fn at_scope_filter(query: &HashMap<String, String>) -> Result<bool, Response> {
    match query.get("$filter").map(|filter| filter.trim()) {
        None | Some("") => Ok(false),
        Some(filter) if filter.eq_ignore_ascii_case("atScope()") => Ok(true),
        Some(filter) => Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidFilter",
            &format!("The filter '{filter}' is not supported; use atScope()."),
        )),
    }
}

/// PIM eligibility instances related to `scope` (`atScope()`: at or above it), in the shape of
/// `RoleEligibilityScheduleInstances_ListForScope` (api-version 2020-10-01): the role, principal and scope of
/// each eligible assignment, `status: Provisioned`, `memberType: Direct`.
fn list_eligibilities(
    cloud: &CloudState,
    caller: &ArmCaller,
    scope: &str,
    query: &HashMap<String, String>,
    base: &str,
) -> Response {
    let at_scope_only = match at_scope_filter(query) {
        Ok(at_scope_only) => at_scope_only,
        Err(response) => return response,
    };
    if let Err(response) = caller.require(cloud, ELIGIBILITY_READ, scope) {
        return response;
    }
    let items: Vec<Value> = cloud
        .role_eligibilities
        .iter()
        .filter(|eligible| {
            scope_covers(&eligible.scope, scope)
                || (!at_scope_only && scope_covers(scope, &eligible.scope))
        })
        .map(|eligible| {
            let mut item = assignment_json(cloud, eligible);
            item["id"] = json!(format!(
                "{}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/{}",
                eligible.scope, eligible.id
            ));
            item["type"] = json!("Microsoft.Authorization/roleEligibilityScheduleInstances");
            item["properties"]["status"] = json!("Provisioned");
            item["properties"]["memberType"] = json!("Direct");
            item["properties"]["startDateTime"] = item["properties"]["createdOn"].clone();
            item["properties"]["endDateTime"] = Value::Null;
            item
        })
        .collect();
    page(items, query, base).into_response()
}

/// Deny assignments related to `scope` (at, above or below), or with `atScope()` only at or above it. The
/// path and shape follow the Azure SDKs' `DenyAssignments_ListForScope` (UNVERIFIED in the reference).
fn list_deny_assignments(
    cloud: &CloudState,
    caller: &ArmCaller,
    scope: &str,
    query: &HashMap<String, String>,
    base: &str,
) -> Response {
    let at_scope_only = match at_scope_filter(query) {
        Ok(at_scope_only) => at_scope_only,
        Err(response) => return response,
    };
    if let Err(response) = caller.require(cloud, DENY_ASSIGNMENTS_READ, scope) {
        return response;
    }
    let items: Vec<Value> = cloud
        .deny_assignments
        .iter()
        .filter(|deny| {
            scope_covers(&deny.scope, scope) || (!at_scope_only && scope_covers(scope, &deny.scope))
        })
        .map(|deny| {
            let principals = |list: &[crate::emulator::seed::SeedDenyPrincipal]| -> Vec<Value> {
                list.iter()
                    .map(|principal| {
                        json!({"id": principal.id, "type": principal.principal_type, "displayName": null})
                    })
                    .collect()
            };
            json!({
                "id": format!("{}/providers/Microsoft.Authorization/denyAssignments/{}", deny.scope, deny.id),
                "name": deny.id,
                "type": "Microsoft.Authorization/denyAssignments",
                "properties": {
                    "denyAssignmentName": deny.name,
                    "description": deny.description,
                    "permissions": [{
                        "actions": [], "notActions": [],
                        "dataActions": deny.data_actions, "notDataActions": deny.not_data_actions
                    }],
                    "scope": deny.scope,
                    "doNotApplyToChildScopes": deny.do_not_apply_to_child_scopes,
                    "principals": principals(&deny.principals),
                    "excludePrincipals": principals(&deny.exclude_principals),
                    "isSystemProtected": true
                }
            })
        })
        .collect();
    page(items, query, base).into_response()
}

fn get_assignment(cloud: &CloudState, caller: &ArmCaller, scope: &str, id: &str) -> Response {
    if let Err(response) = caller.require(cloud, ROLE_ASSIGNMENTS_READ, scope) {
        return response;
    }
    match cloud.role_assignments.iter().find(|assignment| {
        assignment.id.eq_ignore_ascii_case(id)
            && assignment
                .scope
                .trim_end_matches('/')
                .eq_ignore_ascii_case(scope.trim_end_matches('/'))
    }) {
        Some(assignment) => Json(assignment_json(cloud, assignment)).into_response(),
        None => arm_error(
            StatusCode::NOT_FOUND,
            "RoleAssignmentNotFound",
            &format!("The role assignment '{id}' is not found."),
        ),
    }
}

const ROLE_ASSIGNMENTS_WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
const ROLE_ASSIGNMENTS_DELETE: &str = "Microsoft.Authorization/roleAssignments/delete";

/// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`: 201 with the assignment; the
/// same GUID and body again is 201 with the same assignment (idempotent); the same principal, role and
/// scope under another GUID is 409 `RoleAssignmentExists`, as ARM answers.
fn put_assignment(
    cloud: &mut CloudState,
    caller: &ArmCaller,
    scope: &str,
    id: &str,
    body: &[u8],
) -> Response {
    if let Err(response) = caller.require(cloud, ROLE_ASSIGNMENTS_WRITE, scope) {
        return response;
    }
    if uuid::Uuid::parse_str(id).is_err() {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRoleAssignmentId",
            &format!(
                "The role assignment ID '{id}' is not valid. The role assignment ID must be a GUID."
            ),
        );
    }
    let body: Value = match serde_json::from_slice(body) {
        Ok(body) => body,
        Err(error) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!("The request content was invalid and could not be deserialized: {error}"),
            );
        }
    };
    let field = |name: &str| {
        body.pointer(&format!("/properties/{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (Some(definition), Some(principal)) = (field("roleDefinitionId"), field("principalId"))
    else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "properties.roleDefinitionId and properties.principalId are required.",
        );
    };
    let role_guid = definition.rsplit('/').next().unwrap_or_default().to_owned();
    if cloud.role_definition(&role_guid).is_none() {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "RoleDefinitionDoesNotExist",
            &format!("The specified role definition with ID '{role_guid}' does not exist."),
        );
    }
    let principal_type = match directory_kind(cloud, &principal) {
        Some(kind) => kind,
        None => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "PrincipalNotFound",
                &format!(
                    "Principal {} does not exist in the directory {}.",
                    principal.replace('-', ""),
                    caller.claims.tid
                ),
            );
        }
    };
    let same_target = |assignment: &RoleAssignmentState| {
        assignment.principal_id.eq_ignore_ascii_case(&principal)
            && assignment
                .role_definition_id
                .eq_ignore_ascii_case(&role_guid)
            && assignment
                .scope
                .trim_end_matches('/')
                .eq_ignore_ascii_case(scope.trim_end_matches('/'))
    };
    if let Some(existing) = cloud
        .role_assignments
        .iter()
        .find(|a| a.id.eq_ignore_ascii_case(id))
    {
        return if same_target(existing) {
            (StatusCode::CREATED, Json(assignment_json(cloud, existing))).into_response()
        } else {
            arm_error(
                StatusCode::CONFLICT,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            )
        };
    }
    if cloud.role_assignments.iter().any(same_target) {
        return arm_error(
            StatusCode::CONFLICT,
            "RoleAssignmentExists",
            "The role assignment already exists.",
        );
    }
    let assignment = RoleAssignmentState {
        id: id.to_ascii_lowercase(),
        principal_id: principal,
        principal_type: field("principalType").unwrap_or(principal_type),
        role_definition_id: role_guid,
        scope: scope.trim_end_matches('/').to_owned(),
        created: crate::emulator::now_unix(),
    };
    let before = cloud.role_assignments.clone();
    cloud.access_history.role_assignments_changing(&before);
    cloud.role_assignments.push(assignment.clone());
    (
        StatusCode::CREATED,
        Json(assignment_json(cloud, &assignment)),
    )
        .into_response()
}

/// `DELETE` of a role assignment: 200 with it, or 204 when there is none.
fn delete_assignment(
    cloud: &mut CloudState,
    caller: &ArmCaller,
    scope: &str,
    id: &str,
) -> Response {
    if let Err(response) = caller.require(cloud, ROLE_ASSIGNMENTS_DELETE, scope) {
        return response;
    }
    let Some(index) = cloud.role_assignments.iter().position(|assignment| {
        assignment.id.eq_ignore_ascii_case(id)
            && assignment
                .scope
                .trim_end_matches('/')
                .eq_ignore_ascii_case(scope.trim_end_matches('/'))
    }) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let before = cloud.role_assignments.clone();
    cloud.access_history.role_assignments_changing(&before);
    let removed = cloud.role_assignments.remove(index);
    Json(assignment_json(cloud, &removed)).into_response()
}

/// `User`, `Group` or `ServicePrincipal` for a directory object id.
fn directory_kind(cloud: &CloudState, object_id: &str) -> Option<String> {
    if cloud
        .users
        .iter()
        .any(|user| user.id.eq_ignore_ascii_case(object_id))
    {
        Some("User".into())
    } else if cloud
        .groups
        .iter()
        .any(|group| group.id.eq_ignore_ascii_case(object_id))
    {
        Some("Group".into())
    } else if cloud
        .service_principals
        .iter()
        .any(|sp| sp.id.eq_ignore_ascii_case(object_id))
    {
        Some("ServicePrincipal".into())
    } else {
        None
    }
}

fn list_definitions(
    cloud: &CloudState,
    scope: &str,
    query: &HashMap<String, String>,
    base: &str,
) -> Response {
    let definition_scope = subscription_of(scope)
        .map(|s| format!("/subscriptions/{s}"))
        .unwrap_or_default();
    let mut items = Vec::new();
    for role in &cloud.role_definitions {
        let assignable = role
            .assignable_scopes
            .iter()
            .any(|assignable| scope_covers(assignable, scope));
        match role_definition_matches(role, query.get("$filter")) {
            Ok(true) if assignable => items.push(role.to_json(&definition_scope)),
            Ok(_) => {}
            Err(message) => return arm_error(StatusCode::BAD_REQUEST, "InvalidFilter", &message),
        }
    }
    page(items, query, base).into_response()
}

fn get_definition(cloud: &CloudState, definition_scope: &str, id: &str) -> Response {
    match cloud.role_definition(id) {
        Some(role) => Json(role.to_json(definition_scope)).into_response(),
        None => arm_error(
            StatusCode::NOT_FOUND,
            "RoleDefinitionDoesNotExist",
            &format!("The specified role definition with ID '{id}' does not exist."),
        ),
    }
}

/// `Permissions_ListForResource`: the permission blocks of every role assigned to the caller here.
fn caller_permissions(cloud: &CloudState, caller: &ArmCaller, scope: &str) -> Response {
    let value: Vec<Value> = cloud
        .role_assignments
        .iter()
        .filter(|assignment| {
            caller
                .identities
                .contains(&assignment.principal_id.to_ascii_lowercase())
                && scope_covers(&assignment.scope, scope)
        })
        .filter_map(|assignment| cloud.role_definition(&assignment.role_definition_id))
        .flat_map(|role| role.permissions.iter().map(|block| json!(block)))
        .collect();
    Json(json!({ "value": value })).into_response()
}

pub(super) async fn tenant_role_definitions(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let cloud = shared.read();
    let base = base_url(&request_authority(&request), request.uri().path());
    list_definitions(&cloud, "/", &query, &base)
}

pub(super) async fn tenant_role_definition(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let cloud = shared.read();
    get_definition(&cloud, "", &id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_assignment_filters() {
        assert_eq!(parse_assignment_filter(None), Ok(AssignmentFilter::All));
        assert_eq!(
            parse_assignment_filter(Some(&"atScope()".to_owned())),
            Ok(AssignmentFilter::AtScope)
        );
        assert_eq!(
            parse_assignment_filter(Some(&"principalId eq 'ABC'".to_owned())),
            Ok(AssignmentFilter::PrincipalId("abc".into()))
        );
        assert_eq!(
            parse_assignment_filter(Some(&"assignedTo('x')".to_owned())),
            Ok(AssignmentFilter::AssignedTo("x".into()))
        );
        assert!(parse_assignment_filter(Some(&"roleName eq 'x'".to_owned())).is_err());
    }
}
