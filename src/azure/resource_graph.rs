//! Azure Resource Graph: the key vaults of many subscriptions from one query
//! (`POST /providers/Microsoft.ResourceGraph/resources`), paged by `$skipToken` with the same query and
//! subscriptions on every page, subscriptions batched below the API's limit of 300 per query.

use std::collections::HashMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::arm::ArmClient;
use super::error::{AzureError, Service};
use super::models::{Vault, VaultProperties};
use super::pipeline::Outgoing;

/// `Microsoft.ResourceGraph` api-version (the protocol reference, part 2 §4).
pub const RESOURCE_GRAPH_API_VERSION: &str = "2024-04-01";
/// Resource Graph asks for fewer than 300 subscriptions per query.
pub const SUBSCRIPTIONS_PER_QUERY: usize = 250;
/// Rows per page (`$top`, 1–1000).
pub const ROWS_PER_PAGE: u32 = 1000;
/// Every key vault in scope, with what the tree shows. `id` is projected, which stable paging needs; the
/// order makes pages of the same query line up.
pub const VAULTS_QUERY: &str = "resources | where type =~ 'microsoft.keyvault/vaults' \
     | project id, name, location, subscriptionId, tags, properties \
     | order by id asc";
/// Pages followed before a query is called runaway (1,000 rows each: 200,000 vaults).
const MAX_PAGES: usize = 200;

/// One page of a query's answer. `resultTruncated` is the string `"true"` or `"false"`.
#[derive(Debug, Deserialize)]
struct QueryPage {
    #[serde(default)]
    data: Vec<VaultRow>,
    #[serde(rename = "$skipToken", default)]
    skip_token: Option<String>,
    #[serde(rename = "resultTruncated", default)]
    result_truncated: Option<String>,
}

/// A vault row of the `resources` table as projected: ARM's vault with the subscription it sits in. Its
/// fields are spelt out rather than `#[serde(flatten)]`ed into a `Vault`, which would buffer every row
/// (a page holds a thousand).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VaultRow {
    id: String,
    name: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    subscription_id: String,
    /// `null` where a vault has none.
    #[serde(default)]
    tags: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    properties: VaultProperties,
}

impl VaultRow {
    fn into_vault(self) -> Vault {
        Vault {
            id: self.id,
            name: self.name,
            location: self.location,
            tags: self.tags.unwrap_or_default(),
            properties: self.properties,
        }
    }
}

/// The vaults one query found, by subscription id as asked (each asked subscription present, maybe empty).
pub type VaultsBySubscription = HashMap<String, Vec<Vault>>;

impl ArmClient {
    /// The key vaults of `subscriptions` (at most [`SUBSCRIPTIONS_PER_QUERY`]) the caller may read, all
    /// pages followed. The query is a POST that changes nothing, so it may be sent again.
    pub async fn resource_graph_vaults(
        &self,
        subscriptions: &[String],
    ) -> Result<VaultsBySubscription, AzureError> {
        if subscriptions.len() > SUBSCRIPTIONS_PER_QUERY {
            return Err(AzureError::InvalidUri(format!(
                "{} subscriptions in one Resource Graph query (at most {SUBSCRIPTIONS_PER_QUERY})",
                subscriptions.len()
            )));
        }
        let url = self.url(
            "/providers/Microsoft.ResourceGraph/resources",
            RESOURCE_GRAPH_API_VERSION,
        )?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut found: VaultsBySubscription = subscriptions
            .iter()
            .map(|id| (id.to_ascii_lowercase(), Vec::new()))
            .collect();
        let mut skip_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let body = query_body(subscriptions, skip_token.as_deref());
            let received = self
                .send_write(Outgoing::new(
                    Method::POST,
                    url.clone(),
                    Some(body.into()),
                    true,
                ))
                .await?;
            let page: QueryPage = received.json(Service::ResourceManager, &host)?;
            for row in page.data {
                // A row outside the asked subscriptions is not ours to show.
                if let Some(vaults) = found.get_mut(&row.subscription_id.to_ascii_lowercase()) {
                    vaults.push(row.into_vault());
                }
            }
            match page.skip_token.filter(|token| !token.is_empty()) {
                Some(token) => skip_token = Some(token),
                None if page.result_truncated.as_deref() == Some("true") => {
                    return Err(truncated(
                        "Resource Graph cut the answer short without a $skipToken",
                    ));
                }
                None => {
                    return Ok(subscriptions
                        .iter()
                        .map(|id| {
                            let vaults = found.remove(&id.to_ascii_lowercase()).unwrap_or_default();
                            (id.clone(), vaults)
                        })
                        .collect());
                }
            }
        }
        Err(truncated(&format!(
            "Resource Graph was still paging after {MAX_PAGES} pages"
        )))
    }
}

fn truncated(detail: &str) -> AzureError {
    AzureError::InvalidResponse {
        host: "Resource Graph".to_owned(),
        detail: detail.to_owned(),
    }
}

/// The request body: the same query and subscriptions on every page, the page's `$skipToken` after the first.
fn query_body(subscriptions: &[String], skip_token: Option<&str>) -> Vec<u8> {
    let mut options = json!({"$top": ROWS_PER_PAGE, "resultFormat": "objectArray"});
    if let Some(token) = skip_token {
        options["$skipToken"] = json!(token);
    }
    json!({"subscriptions": subscriptions, "query": VAULTS_QUERY, "options": options})
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_asks_the_same_query_and_subscriptions_and_the_next_carries_the_token() {
        let subscriptions = vec!["s1".to_owned(), "s2".to_owned()];
        let first: serde_json::Value =
            serde_json::from_slice(&query_body(&subscriptions, None)).expect("json");
        let next: serde_json::Value =
            serde_json::from_slice(&query_body(&subscriptions, Some("tok"))).expect("json");
        assert_eq!(first["query"], next["query"]);
        assert_eq!(first["subscriptions"], json!(["s1", "s2"]));
        assert_eq!(first["subscriptions"], next["subscriptions"]);
        assert!(first["options"].get("$skipToken").is_none());
        assert_eq!(next["options"]["$skipToken"], "tok");
        assert_eq!(next["options"]["$top"], 1000);
    }

    #[test]
    fn a_row_reads_as_a_vault_with_its_subscription() {
        let page: QueryPage = serde_json::from_str(
            r#"{"totalRecords":1,"count":1,"resultTruncated":"false","facets":[],"data":[
              {"id":"/subscriptions/S1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1","name":"kv1",
               "type":"microsoft.keyvault/vaults","location":"westeurope","resourceGroup":"rg","subscriptionId":"S1",
               "tenantId":"t","tags":{"env":"prod"},"properties":{"vaultUri":"https://kv1.vault.azure.net/","enableRbacAuthorization":true}}]}"#,
        )
        .expect("page");
        assert_eq!(page.data.len(), 1);
        assert_eq!(page.data[0].subscription_id, "S1");
        assert_eq!(page.result_truncated.as_deref(), Some("false"));
        assert!(page.skip_token.is_none());
        let vault = page.data.into_iter().next().expect("row").into_vault();
        assert_eq!(vault.name, "kv1");
        assert_eq!(vault.tags["env"], "prod");
        assert_eq!(vault.properties.enable_rbac_authorization, Some(true));
    }
}
