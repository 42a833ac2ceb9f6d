//! Azure Resource Manager client: subscriptions, key vaults, and `Microsoft.Authorization` role assignments,
//! role definitions and deny assignments, with the ARM token sent only to the ARM host.

use std::sync::Arc;

use url::Url;

use super::access_models::{DenyAssignment, RoleAssignment, RoleDefinition};
use super::error::{AzureError, Service};
use super::models::{Subscription, Tenant, Vault};
use super::pipeline::{Outgoing, Page, Pipeline, ensure_endpoint_host, with_one_api_version};
use crate::auth::TokenCache;
use crate::cloud::CloudProfile;

/// `Microsoft.Resources` subscriptions api-version (latest stable).
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
/// `Microsoft.KeyVault` api-version (latest stable).
pub const KEYVAULT_ARM_API_VERSION: &str = "2026-04-01";
/// `Microsoft.Authorization` api-version for role and deny assignments and role definitions.
pub const AUTHORIZATION_API_VERSION: &str = "2022-04-01";
/// `roleEligibilityScheduleInstances` (PIM), as the Azure SDKs call it.
pub const ELIGIBILITY_API_VERSION: &str = "2020-10-01";

/// Talks to ARM for one cloud and identity.
#[derive(Debug, Clone)]
pub struct ArmClient {
    pipeline: Pipeline,
    tokens: Arc<TokenCache>,
    endpoint: Url,
    scope: String,
    /// The tenant whose tokens this client sends; `None`: the home tenant.
    tenant: Option<String>,
}

impl ArmClient {
    pub fn new(pipeline: Pipeline, tokens: Arc<TokenCache>, cloud: &CloudProfile) -> Self {
        Self {
            pipeline,
            tokens,
            endpoint: cloud.arm_endpoint.clone(),
            scope: cloud.arm_scope.clone(),
            tenant: None,
        }
    }

    /// The same client with tokens of `tenant` (`None`: the home tenant).
    pub fn for_tenant(&self, tenant: Option<&str>) -> Self {
        Self {
            tenant: tenant.map(str::to_owned),
            ..self.clone()
        }
    }

    /// The tenants this identity can reach (`GET /tenants`).
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, AzureError> {
        let url = self.url("/tenants", SUBSCRIPTIONS_API_VERSION)?;
        self.list_all(url).await
    }

    /// Every subscription this client's tenant token sees (all pages).
    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>, AzureError> {
        let url = self.url("/subscriptions", SUBSCRIPTIONS_API_VERSION)?;
        self.list_all(url).await
    }

    /// One page of subscriptions; pass the previous page's next link to continue.
    pub async fn list_subscriptions_page(
        &self,
        next_link: Option<&str>,
    ) -> Result<Page<Subscription>, AzureError> {
        let url = match next_link {
            Some(link) => self.checked_next_link(link, SUBSCRIPTIONS_API_VERSION)?,
            None => self.url("/subscriptions", SUBSCRIPTIONS_API_VERSION)?,
        };
        self.get_json(url).await
    }

    /// One page of the key vaults of a subscription.
    pub async fn list_vaults_page(
        &self,
        subscription_id: &str,
        next_link: Option<&str>,
    ) -> Result<Page<Vault>, AzureError> {
        let url = match next_link {
            Some(link) => self.checked_next_link(link, KEYVAULT_ARM_API_VERSION)?,
            None => self.url(
                &format!("/subscriptions/{subscription_id}/providers/Microsoft.KeyVault/vaults"),
                KEYVAULT_ARM_API_VERSION,
            )?,
        };
        self.get_json(url).await
    }

    /// One vault by its resource id, with every property (access policies, network rules).
    pub async fn get_vault(&self, arm_id: &str) -> Result<Vault, AzureError> {
        let url = self.url(arm_id, KEYVAULT_ARM_API_VERSION)?;
        self.get_json(url).await
    }

    /// Role assignments related to `scope`: with `filter` `None`, those at, above and below it (single
    /// objects of a vault included); `Some("atScope()")`, at or above it.
    pub async fn list_role_assignments(
        &self,
        scope: &str,
        filter: Option<&str>,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        let mut url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
            AUTHORIZATION_API_VERSION,
        )?;
        if let Some(filter) = filter {
            url.query_pairs_mut().append_pair("$filter", filter);
        }
        self.list_all(url).await
    }

    /// Role definitions usable at `scope` (built-in and custom).
    pub async fn list_role_definitions(
        &self,
        scope: &str,
    ) -> Result<Vec<RoleDefinition>, AzureError> {
        let url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions"),
            AUTHORIZATION_API_VERSION,
        )?;
        self.list_all(url).await
    }

    /// Deny assignments at or above `scope`. The path follows the Azure SDKs' `DenyAssignments_ListForScope`
    /// (the protocol reference marks deny-assignment paths UNVERIFIED).
    pub async fn list_deny_assignments(
        &self,
        scope: &str,
    ) -> Result<Vec<DenyAssignment>, AzureError> {
        let mut url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/denyAssignments"),
            AUTHORIZATION_API_VERSION,
        )?;
        url.query_pairs_mut().append_pair("$filter", "atScope()");
        self.list_all(url).await
    }

    /// PIM-eligible role assignments at or above `scope` (`roleEligibilityScheduleInstances`, `atScope()`),
    /// shaped as role assignments (same `properties`: role, principal, scope).
    pub async fn list_role_eligibilities(
        &self,
        scope: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        let mut url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances"),
            ELIGIBILITY_API_VERSION,
        )?;
        url.query_pairs_mut().append_pair("$filter", "atScope()");
        self.list_all(url).await
    }

    /// Follows next links to the end of a list.
    pub(super) async fn list_all<T: serde::de::DeserializeOwned>(
        &self,
        first: Url,
    ) -> Result<Vec<T>, AzureError> {
        let mut items = Vec::new();
        let api_version = first
            .query_pairs()
            .find(|(key, _)| key == "api-version")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        let mut url = first;
        loop {
            let page: Page<T> = self.get_json(url).await?;
            let next = page.next().map(str::to_owned);
            items.extend(page.value);
            match next {
                Some(link) => url = self.checked_next_link(&link, &api_version)?,
                None => return Ok(items),
            }
        }
    }

    pub(super) fn url(&self, path: &str, api_version: &str) -> Result<Url, AzureError> {
        let mut url = self
            .endpoint
            .join(path)
            .map_err(|error| AzureError::InvalidUri(format!("{path}: {error}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        Ok(url)
    }

    pub(super) fn checked_next_link(
        &self,
        link: &str,
        api_version: &str,
    ) -> Result<Url, AzureError> {
        checked_arm_next_link(&self.endpoint, link, api_version)
    }

    /// Sends a write with this client's token; `idempotent` says whether the pipeline may send it again.
    pub(super) async fn send_write(
        &self,
        request: Outgoing,
    ) -> Result<crate::azure::pipeline::Received, AzureError> {
        ensure_endpoint_host(&request.url, &self.endpoint, Service::ResourceManager)?;
        let token = self
            .tokens
            .token_in(self.tenant.as_deref(), &self.scope)
            .await?;
        let mut request = request;
        request.bearer = Some(Arc::new(secrecy::SecretString::from(token.token.secret())));
        self.pipeline
            .execute(Service::ResourceManager, &request)
            .await
    }

    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<T, AzureError> {
        ensure_endpoint_host(&url, &self.endpoint, Service::ResourceManager)?;
        let token = self
            .tokens
            .token_in(self.tenant.as_deref(), &self.scope)
            .await?;
        self.pipeline
            .send_json(Service::ResourceManager, Outgoing::get(url), &token)
            .await
    }
}

/// A next link must point back at the ARM host over HTTPS, or our ARM token would leave for somewhere else;
/// it keeps its own query but exactly one `api-version`, the one the list was started with (ARM's links
/// carry theirs, and one appended twice is refused with `InvalidApiVersionParameter`).
pub(crate) fn checked_arm_next_link(
    endpoint: &Url,
    link: &str,
    api_version: &str,
) -> Result<Url, AzureError> {
    let url =
        Url::parse(link).map_err(|error| AzureError::InvalidUri(format!("{link}: {error}")))?;
    if url.scheme() != "https"
        || url.host_str() != endpoint.host_str()
        || url.port_or_known_default() != endpoint.port_or_known_default()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(AzureError::TokenRefused(format!(
            "ARM next link {link} leaves {endpoint}"
        )));
    }
    Ok(with_one_api_version(url, api_version))
}
