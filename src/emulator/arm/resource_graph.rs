//! Emulated Azure Resource Graph, `POST /providers/Microsoft.ResourceGraph/resources`: the query shape
//! that finds key vaults (`resources | where type =~ 'microsoft.keyvault/vaults'`, optionally
//! `| project …` and `| order by …`) over the asked subscriptions (none: every subscription the caller's
//! tenant may use), each row only if the caller may read the vault, paged by `$skipToken` that binds the
//! query and the subscriptions. A query of any other shape is refused rather than answered wrongly.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::ArmCaller;
use super::vaults::{VAULT_READ, vault_json};
use crate::emulator::Shared;
use crate::emulator::responses::arm_error;
use crate::emulator::roles::scope_covers;
use crate::emulator::state::VaultState;

/// Rows per page when `$top` is absent (the protocol reference: 100, UNVERIFIED).
const DEFAULT_TOP: usize = 100;
const MAX_TOP: usize = 1000;
/// The columns of the `resources` table a projection may name.
const COLUMNS: &[&str] = &[
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
    "extendedLocation",
];

#[derive(Debug, Deserialize)]
struct QueryRequest {
    #[serde(default)]
    subscriptions: Vec<String>,
    query: String,
    #[serde(default)]
    options: QueryOptions,
}

#[derive(Debug, Default, Deserialize)]
struct QueryOptions {
    #[serde(rename = "$top")]
    top: Option<i64>,
    #[serde(rename = "$skip")]
    skip: Option<i64>,
    #[serde(rename = "$skipToken")]
    skip_token: Option<String>,
    #[serde(rename = "resultFormat")]
    result_format: Option<String>,
}

fn bad_request(code: &str, message: &str) -> Response {
    arm_error(StatusCode::BAD_REQUEST, code, message)
}

/// The columns the query projects (`None`: all), or why the emulator cannot answer it.
fn parse_query(query: &str) -> Result<Option<Vec<String>>, String> {
    let stages: Vec<String> = query
        .split('|')
        .map(|stage| stage.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let (Some(table), Some(filter)) = (stages.first(), stages.get(1)) else {
        return Err(
            "the emulator answers `resources | where type =~ 'microsoft.keyvault/vaults'` only"
                .into(),
        );
    };
    if !table.eq_ignore_ascii_case("resources")
        || !filter.eq_ignore_ascii_case("where type =~ 'microsoft.keyvault/vaults'")
    {
        return Err(format!(
            "the emulator answers `resources | where type =~ 'microsoft.keyvault/vaults'` only, not `{table} | {filter}`"
        ));
    }
    let mut projection = None;
    for stage in &stages[2..] {
        let lower = stage.to_ascii_lowercase();
        if let Some(columns) = lower.strip_prefix("project ") {
            let mut named = Vec::new();
            for column in columns.split(',').map(str::trim) {
                let known = COLUMNS
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(column))
                    .ok_or_else(|| format!("unknown column '{column}' in project"))?;
                named.push((*known).to_owned());
            }
            projection = Some(named);
        } else if !lower.starts_with("order by ") {
            return Err(format!("the emulator does not evaluate `{stage}`"));
        }
    }
    Ok(projection)
}

/// A token binding the next row to the query and subscriptions it came from.
fn fingerprint(query: &str, subscriptions: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(query.as_bytes());
    for subscription in subscriptions {
        hasher.update(b"\n");
        hasher.update(subscription.to_ascii_lowercase().as_bytes());
    }
    hasher.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn skip_token(offset: usize, fingerprint: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{offset}:{fingerprint}"))
}

fn offset_of(token: &str, fingerprint: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (offset, bound) = text.split_once(':')?;
    (bound == fingerprint)
        .then(|| offset.parse().ok())
        .flatten()
}

pub(super) async fn query_resources(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<ArmCaller>,
    body: Bytes,
) -> Response {
    let request: QueryRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return bad_request(
                "InvalidRequestContent",
                &format!("The request content was invalid: {error}"),
            );
        }
    };
    let projection = match parse_query(&request.query) {
        Ok(projection) => projection,
        Err(message) => {
            return bad_request("InvalidQuery", &format!("Query is invalid: {message}"));
        }
    };
    if request
        .options
        .result_format
        .as_deref()
        .is_some_and(|format| !format.eq_ignore_ascii_case("objectArray"))
    {
        return bad_request(
            "InvalidQuery",
            "the emulator answers resultFormat objectArray only",
        );
    }
    let top = match request.options.top {
        None => DEFAULT_TOP,
        Some(top) if (1..=MAX_TOP as i64).contains(&top) => top as usize,
        Some(_) => return bad_request("InvalidQuery", "$top must be between 1 and 1000"),
    };
    let bound = fingerprint(&request.query, &request.subscriptions);
    let offset = match (&request.options.skip, &request.options.skip_token) {
        (Some(skip), _) if *skip < 0 => {
            return bad_request("InvalidQuery", "$skip must not be negative");
        }
        (Some(skip), _) => *skip as usize,
        (None, Some(token)) => match offset_of(token, &bound) {
            Some(offset) => offset,
            None => {
                return bad_request(
                    "InvalidSkipToken",
                    "The $skipToken is not valid for this query and these subscriptions: send it with the query and scopes it came from.",
                );
            }
        },
        (None, None) => 0,
    };
    let cloud = shared.read();
    if cloud.resource_graph_refused {
        return arm_error(
            StatusCode::FORBIDDEN,
            "RequestDisallowedByPolicy",
            "Resource Graph queries are disallowed for this tenant.",
        );
    }
    let asked: HashSet<String> = request
        .subscriptions
        .iter()
        .map(|id| id.to_ascii_lowercase())
        .collect();
    // Subscription id (lower-case) → its tenant, for those asked that the caller's token may use.
    let usable: HashMap<String, &str> = cloud
        .subscriptions
        .iter()
        .filter(|subscription| subscription.accepts_tenant(&caller.claims.tid))
        .map(|subscription| {
            (
                subscription.id.to_ascii_lowercase(),
                subscription.tenant_id.as_str(),
            )
        })
        .filter(|(id, _)| asked.is_empty() || asked.contains(id))
        .collect();
    let read_scopes: Vec<&str> = caller.scopes_granting(&cloud, VAULT_READ).collect();
    let mut readable: Vec<(String, &VaultState, &str)> = cloud
        .vaults
        .values()
        .filter_map(|vault| {
            let tenant = usable.get(&vault.subscription_id.to_ascii_lowercase())?;
            Some((vault.arm_id().to_ascii_lowercase(), vault, *tenant))
        })
        .filter(|(id, _, _)| read_scopes.iter().any(|scope| scope_covers(scope, id)))
        .collect();
    readable.sort_by(|a, b| a.0.cmp(&b.0));
    let total = readable.len();
    // Only the page's rows are made.
    let data: Vec<Value> = readable
        .into_iter()
        .skip(offset)
        .take(top)
        .map(|(_, vault, tenant)| {
            project(vault_row(vault, tenant, shared.port), projection.as_deref())
        })
        .collect();
    let mut body = json!({
        "totalRecords": total,
        "count": data.len(),
        "resultTruncated": "false",
        "facets": [],
        "data": data,
    });
    if offset + top < total {
        body["$skipToken"] = json!(skip_token(offset + top, &bound));
    }
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert("x-ms-user-quota-remaining", HeaderValue::from_static("14"));
    headers.insert(
        "x-ms-user-quota-resets-after",
        HeaderValue::from_static("00:00:05"),
    );
    response
}

/// A vault as a row of the `resources` table: ARM's vault, `type` and `resourceGroup` lower-cased.
fn vault_row(vault: &VaultState, tenant: &str, port: u16) -> Value {
    let mut row = vault_json(vault, port);
    row["type"] = json!("microsoft.keyvault/vaults");
    row["tenantId"] = json!(tenant);
    row["kind"] = json!("");
    row["resourceGroup"] = json!(vault.resource_group.to_ascii_lowercase());
    row["subscriptionId"] = json!(vault.subscription_id);
    row["managedBy"] = json!("");
    row["sku"] = Value::Null;
    row["plan"] = Value::Null;
    row["identity"] = Value::Null;
    row["zones"] = json!([]);
    row["extendedLocation"] = Value::Null;
    row
}

fn project(row: Value, columns: Option<&[String]>) -> Value {
    let Some(columns) = columns else {
        return row;
    };
    let Value::Object(mut all) = row else {
        return row;
    };
    let kept: Map<String, Value> = columns
        .iter()
        .map(|column| (column.clone(), all.remove(column).unwrap_or(Value::Null)))
        .collect();
    Value::Object(kept)
}

impl crate::emulator::Emulator {
    /// Makes Resource Graph refuse every query (as a policy would), or answer again.
    pub fn refuse_resource_graph(&self, refused: bool) {
        self.shared.write().resource_graph_refused = refused;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vault_query_parses_with_its_projection_and_order() {
        let columns = parse_query(
            "Resources | where type =~ 'microsoft.keyvault/vaults'\n | project id, name, subscriptionId | order by id asc",
        )
        .expect("answerable");
        assert_eq!(
            columns,
            Some(vec!["id".into(), "name".into(), "subscriptionId".into()])
        );
        assert_eq!(
            parse_query("resources | where type =~ 'microsoft.keyvault/vaults'"),
            Ok(None)
        );
        assert!(parse_query("resources | where type =~ 'microsoft.web/sites'").is_err());
        assert!(
            parse_query(
                "resources | where type =~ 'microsoft.keyvault/vaults' | summarize count()"
            )
            .is_err()
        );
        assert!(
            parse_query("resources | where type =~ 'microsoft.keyvault/vaults' | project secret")
                .is_err()
        );
    }

    #[test]
    fn a_skip_token_serves_only_the_query_and_subscriptions_it_came_from() {
        let subscriptions = vec!["S1".to_owned()];
        let bound = fingerprint("q", &subscriptions);
        let token = skip_token(1000, &bound);
        assert_eq!(offset_of(&token, &bound), Some(1000));
        assert_eq!(
            offset_of(&token, &fingerprint("q", &["s1".to_owned()])),
            Some(1000)
        );
        assert_eq!(
            offset_of(&token, &fingerprint("other", &subscriptions)),
            None
        );
        assert_eq!(
            offset_of(&token, &fingerprint("q", &["s2".to_owned()])),
            None
        );
        assert_eq!(offset_of("not base64!", &bound), None);
    }
}
