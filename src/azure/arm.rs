//! Azure Resource Manager client: subscriptions and key vaults, with the ARM token sent only to the ARM host.

use std::sync::Arc;

use url::Url;

use super::error::{AzureError, Service};
use super::models::{Subscription, Vault};
use super::pipeline::{Outgoing, Page, Pipeline};
use crate::auth::TokenCache;
use crate::cloud::CloudProfile;

/// `Microsoft.Resources` subscriptions api-version (latest stable).
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
/// `Microsoft.KeyVault` api-version (latest stable).
pub const KEYVAULT_ARM_API_VERSION: &str = "2026-04-01";

/// Talks to ARM for one cloud and identity.
#[derive(Debug, Clone)]
pub struct ArmClient {
    pipeline: Pipeline,
    tokens: Arc<TokenCache>,
    endpoint: Url,
    scope: String,
}

impl ArmClient {
    pub fn new(pipeline: Pipeline, tokens: Arc<TokenCache>, cloud: &CloudProfile) -> Self {
        Self {
            pipeline,
            tokens,
            endpoint: cloud.arm_endpoint.clone(),
            scope: cloud.arm_scope.clone(),
        }
    }

    /// One page of subscriptions; pass the previous page's next link to continue.
    pub async fn list_subscriptions_page(
        &self,
        next_link: Option<&str>,
    ) -> Result<Page<Subscription>, AzureError> {
        let url = match next_link {
            Some(link) => self.checked_next_link(link)?,
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
            Some(link) => self.checked_next_link(link)?,
            None => self.url(
                &format!("/subscriptions/{subscription_id}/providers/Microsoft.KeyVault/vaults"),
                KEYVAULT_ARM_API_VERSION,
            )?,
        };
        self.get_json(url).await
    }

    fn url(&self, path: &str, api_version: &str) -> Result<Url, AzureError> {
        let mut url = self
            .endpoint
            .join(path)
            .map_err(|error| AzureError::InvalidUri(format!("{path}: {error}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        Ok(url)
    }

    /// A next link must point back at the ARM host, or our ARM token would leave for somewhere else.
    fn checked_next_link(&self, link: &str) -> Result<Url, AzureError> {
        let url =
            Url::parse(link).map_err(|error| AzureError::InvalidUri(format!("{link}: {error}")))?;
        if url.scheme() != "https"
            || url.host_str() != self.endpoint.host_str()
            || url.port_or_known_default() != self.endpoint.port_or_known_default()
        {
            return Err(AzureError::TokenRefused(format!(
                "ARM next link {link} leaves {}",
                self.endpoint
            )));
        }
        Ok(url)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, AzureError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let token = self.tokens.token(&self.scope).await?;
        let mut request = Outgoing::get(url);
        request.bearer = Some(Arc::new(secrecy::SecretString::from(token.token.secret())));
        let received = self
            .pipeline
            .execute(Service::ResourceManager, &request)
            .await?;
        received.json(Service::ResourceManager, &host)
    }
}
