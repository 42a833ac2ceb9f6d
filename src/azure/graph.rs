//! Microsoft Graph client (v1.0): names for object ids (`getByIds`), principal search (`$search` with
//! `ConsistencyLevel: eventual`), service principals by application id, transitive group membership
//! (`getMemberGroups`), a group's transitive members and `/me`. The Graph token goes only to the Graph host.

use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::access_models::DirectoryObject;
use super::error::{AzureError, Service};
use super::pipeline::{Outgoing, Page, Pipeline};
use crate::auth::TokenCache;
use crate::cloud::CloudProfile;

/// `getByIds` takes at most this many ids per call.
const GET_BY_IDS_LIMIT: usize = 1000;
/// Results per collection for a search; a person picks from the first screenful.
const SEARCH_TOP: usize = 15;
/// Graph's largest page for directory-object lists.
const MEMBERS_PAGE: usize = 999;
/// A group's members are read to this many at most; beyond it the answer says it stopped.
pub const MAX_GROUP_MEMBERS: usize = 100_000;

/// Talks to Graph for one cloud and identity.
#[derive(Debug, Clone)]
pub struct GraphClient {
    pipeline: Pipeline,
    tokens: Arc<TokenCache>,
    endpoint: Url,
    scope: String,
    /// The tenant whose directory this client reads; `None`: the home tenant.
    tenant: Option<String>,
}

#[derive(Deserialize)]
struct IdList {
    #[serde(default)]
    value: Vec<String>,
}

impl GraphClient {
    pub fn new(pipeline: Pipeline, tokens: Arc<TokenCache>, cloud: &CloudProfile) -> Self {
        Self {
            pipeline,
            tokens,
            endpoint: cloud.graph_endpoint.clone(),
            scope: cloud.graph_scope.clone(),
            tenant: None,
        }
    }

    /// The same client reading the directory of `tenant` (`None`: the home tenant).
    pub fn for_tenant(&self, tenant: Option<&str>) -> Self {
        Self {
            tenant: tenant.map(str::to_owned),
            ..self.clone()
        }
    }

    /// Users, groups and service principals for `ids`; unknown ids are simply absent.
    pub async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<DirectoryObject>, AzureError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(GET_BY_IDS_LIMIT) {
            let body = json!({"ids": chunk, "types": ["user", "group", "servicePrincipal"]});
            let page: Page<DirectoryObject> = self
                .send_json(
                    Method::POST,
                    "/v1.0/directoryObjects/getByIds",
                    &[],
                    Some(body),
                    false,
                )
                .await?;
            found.extend(page.value);
        }
        Ok(found)
    }

    /// Users, groups and service principals whose display name (or UPN) matches `text`.
    pub async fn search(&self, text: &str) -> Result<Vec<DirectoryObject>, AzureError> {
        // `$search` terms are quoted; a double quote inside would end the term, so it is dropped.
        let term = text.replace('"', "");
        let mut found = Vec::new();
        for (collection, odata_type, extra) in [
            ("users", "#microsoft.graph.user", "userPrincipalName"),
            ("groups", "#microsoft.graph.group", "mail"),
            (
                "servicePrincipals",
                "#microsoft.graph.servicePrincipal",
                "appId,servicePrincipalType",
            ),
        ] {
            let search = if collection == "users" {
                format!("\"displayName:{term}\" OR \"userPrincipalName:{term}\"")
            } else {
                format!("\"displayName:{term}\"")
            };
            let top = SEARCH_TOP.to_string();
            let select = format!("id,displayName,{extra}");
            let page: Page<DirectoryObject> = self
                .send_json(
                    Method::GET,
                    &format!("/v1.0/{collection}"),
                    &[("$search", &search), ("$select", &select), ("$top", &top)],
                    None,
                    true,
                )
                .await?;
            // Collection queries do not tag items with their type; we know it from the collection.
            found.extend(page.value.into_iter().map(|mut object| {
                object.odata_type = Some(odata_type.to_owned());
                object
            }));
        }
        Ok(found)
    }

    /// The service principal of an application (client) id, if the tenant has one.
    pub async fn service_principal_by_app_id(
        &self,
        app_id: &str,
    ) -> Result<Option<DirectoryObject>, AzureError> {
        let filter = format!("appId eq '{}'", app_id.replace('\'', "''"));
        let page: Page<DirectoryObject> = self
            .send_json(
                Method::GET,
                "/v1.0/servicePrincipals",
                &[("$filter", &filter)],
                None,
                false,
            )
            .await?;
        Ok(page.value.into_iter().next().map(|mut object| {
            object.odata_type = Some("#microsoft.graph.servicePrincipal".to_owned());
            object
        }))
    }

    /// The security groups `object_id` belongs to, transitively.
    pub async fn member_groups(&self, object_id: &str) -> Result<Vec<String>, AzureError> {
        let list: IdList = self
            .send_json(
                Method::POST,
                &format!("/v1.0/directoryObjects/{object_id}/getMemberGroups"),
                &[],
                Some(json!({"securityEnabledOnly": true})),
                false,
            )
            .await?;
        Ok(list.value)
    }

    /// Every user, service principal and group inside `group_id`, nested groups' members included
    /// (`transitiveMembers`, all pages, at most [`MAX_GROUP_MEMBERS`]).
    pub async fn transitive_members(
        &self,
        group_id: &str,
    ) -> Result<Vec<DirectoryObject>, AzureError> {
        let top = MEMBERS_PAGE.to_string();
        let mut page: Page<DirectoryObject> = self
            .send_json(
                Method::GET,
                &format!("/v1.0/groups/{group_id}/transitiveMembers"),
                &[
                    (
                        "$select",
                        "id,displayName,userPrincipalName,appId,servicePrincipalType",
                    ),
                    ("$top", &top),
                ],
                None,
                false,
            )
            .await?;
        let mut members = Vec::new();
        loop {
            let next = page.next().map(str::to_owned);
            members.append(&mut page.value);
            match next {
                Some(link) if members.len() < MAX_GROUP_MEMBERS => {
                    let url = Url::parse(&link)
                        .map_err(|error| AzureError::InvalidUri(format!("{link}: {error}")))?;
                    page = self.send_url(Method::GET, url, None, false).await?;
                }
                _ => return Ok(members),
            }
        }
    }

    async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
        eventual_consistency: bool,
    ) -> Result<T, AzureError> {
        let mut url = self
            .endpoint
            .join(path)
            .map_err(|error| AzureError::InvalidUri(format!("{path}: {error}")))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        self.send_url(method, url, body, eventual_consistency).await
    }

    /// Sends to `url`, which must be on the Graph endpoint's host (a next link is checked here too).
    async fn send_url<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        eventual_consistency: bool,
    ) -> Result<T, AzureError> {
        crate::azure::pipeline::ensure_endpoint_host(&url, &self.endpoint, Service::Graph)?;
        let token = self
            .tokens
            .token_in(self.tenant.as_deref(), &self.scope)
            .await?;
        // Graph's POSTs here (getByIds, getMemberGroups) only read, so they stay retryable.
        let mut request = Outgoing::get(url);
        request.method = method;
        request.body = body.map(|body| bytes::Bytes::from(body.to_string()));
        if eventual_consistency {
            request
                .headers
                .push(("ConsistencyLevel", "eventual".to_owned()));
        }
        self.pipeline
            .send_json(Service::Graph, request, &token)
            .await
    }
}
