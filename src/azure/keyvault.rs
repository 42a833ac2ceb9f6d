//! Key Vault data-plane client: list secrets, keys, certificates and their deleted items (paged), versions
//! (paged), get a secret value, get a key or certificate bundle. Authenticates through the
//! vault's 401 challenge, caching the challenged scope per vault host and checking its domain first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use secrecy::SecretString;
use url::Url;

use super::challenge::{Challenge, claims_challenge, parse_challenge, verify_challenge_domain};
use super::error::{AzureError, Service};
use super::identifiers::{ObjectId, ObjectKind, VaultUri};
use super::models::{ListKind, ObjectItem, SecretBundle};
use super::pipeline::{Outgoing, Page, Pipeline, Received};
use crate::auth::TokenCache;

/// The data-plane api-version we speak (the default of Microsoft's Rust clients 1.0).
pub const KEYVAULT_API_VERSION: &str = "2025-07-01";
/// Largest page Key Vault allows.
pub const MAX_PAGE_SIZE: u32 = 25;

/// Key Vault client for one identity; safe to share across tasks.
#[derive(Debug, Clone)]
pub struct KeyVaultClient {
    pipeline: Pipeline,
    tokens: Arc<TokenCache>,
    /// Challenge per vault authority (`host:port`), learnt from the first 401.
    challenges: Arc<Mutex<HashMap<String, Challenge>>>,
    /// The resource hosts a challenge may name (the cloud's Key Vault audiences).
    audience_hosts: &'static [&'static str],
}

impl KeyVaultClient {
    pub fn new(
        pipeline: Pipeline,
        tokens: Arc<TokenCache>,
        audience_hosts: &'static [&'static str],
    ) -> Self {
        Self {
            pipeline,
            tokens,
            challenges: Arc::default(),
            audience_hosts,
        }
    }

    /// One page of a vault's secrets, keys or certificates, live or deleted (never values).
    pub async fn list_page(
        &self,
        vault: &VaultUri,
        list: ListKind,
        next_link: Option<&str>,
    ) -> Result<Page<ObjectItem>, AzureError> {
        self.get_json(list_url(vault, &list.collection(), next_link)?)
            .await
    }

    /// One page of an object's versions (no values).
    pub async fn list_versions_page(
        &self,
        vault: &VaultUri,
        kind: ObjectKind,
        name: &str,
        next_link: Option<&str>,
    ) -> Result<Page<ObjectItem>, AzureError> {
        let path = format!("{}/{}/versions", kind.collection(), path_segment(name)?);
        self.get_json(list_url(vault, &path, next_link)?).await
    }

    /// A key or certificate bundle as JSON (public material, attributes, a certificate's DER and policy).
    /// Refuses secrets: their bundle is the value, read only through [`Self::get_secret`].
    pub async fn get_bundle(&self, id: &ObjectId) -> Result<serde_json::Value, AzureError> {
        if id.kind == ObjectKind::Secret {
            return Err(AzureError::InvalidUri(format!(
                "{}: a secret's bundle holds its value; read it with get_secret",
                id.versioned()
            )));
        }
        let mut path = format!("{}/{}", id.kind.collection(), path_segment(&id.name)?);
        if let Some(version) = &id.version {
            path = format!("{path}/{}", path_segment(version)?);
        }
        self.get_json(id.vault.url(&path, KEYVAULT_API_VERSION)?)
            .await
    }

    /// A secret with its value; the latest version when `version` is `None`.
    pub async fn get_secret(
        &self,
        vault: &VaultUri,
        name: &str,
        version: Option<&str>,
    ) -> Result<SecretBundle, AzureError> {
        let path = match version {
            Some(version) => format!("secrets/{}/{}", path_segment(name)?, path_segment(version)?),
            None => format!("secrets/{}", path_segment(name)?),
        };
        self.get_json(vault.url(&path, KEYVAULT_API_VERSION)?).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, AzureError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let received = self.send_authorized(Outgoing::get(url)).await?;
        received.json(Service::KeyVault, &host)
    }

    /// Sends with the cached challenge's token, or first without a token (and without a body) to learn the
    /// challenge; a 401 with a new challenge is answered once.
    pub(super) async fn send_authorized(
        &self,
        mut request: Outgoing,
    ) -> Result<Received, AzureError> {
        let authority = authority_of(&request.url);
        let known = self
            .challenges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&authority)
            .cloned();
        let body = request.body.take();
        if let Some(challenge) = &known {
            request.bearer = Some(self.bearer_for(challenge).await?);
            request.body = body.clone();
        }
        let received = self.pipeline.execute(Service::KeyVault, &request).await?;
        if received.status != StatusCode::UNAUTHORIZED {
            return Ok(received);
        }
        let header = received
            .headers
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if let Some(reason) = claims_challenge(&header) {
            return Err(AzureError::ClaimsChallenge {
                service: Service::KeyVault,
                reason,
            });
        }
        let Some(challenge) = parse_challenge(&header) else {
            return Ok(received);
        };
        if let Some(refused) = &known {
            // A token we sent was refused (revoked, or the vault moved tenant): as the SDKs'
            // ChallengeAuthenticationPolicy does, drop it, take the challenge's tenant and scope, and try
            // once more with a new token; a second 401 is reported as it is.
            self.tokens
                .forget(refused.tenant_id.as_deref(), &refused.scope)
                .await;
        }
        verify_challenge_domain(&request.url, &challenge.scope)?;
        check_audience(&challenge.scope, self.audience_hosts)?;
        self.challenges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(authority, challenge.clone());
        request.bearer = Some(self.bearer_for(&challenge).await?);
        request.body = body;
        self.pipeline.execute(Service::KeyVault, &request).await
    }

    async fn bearer_for(&self, challenge: &Challenge) -> Result<Arc<SecretString>, AzureError> {
        // The challenge names the vault's tenant: a vault in another tenant gets that tenant's token.
        let token = self
            .tokens
            .token_in(challenge.tenant_id.as_deref(), &challenge.scope)
            .await?;
        Ok(Arc::new(SecretString::from(token.token.secret())))
    }
}

/// A challenge's resource must be one of the cloud's Key Vault audiences: a host that answers 401 naming
/// some other resource under its own parent domain (`https://kv.corp.example` asking for `corp.example`)
/// would otherwise be handed a token for it.
fn check_audience(scope: &str, audience_hosts: &[&str]) -> Result<(), AzureError> {
    let host = Url::parse(scope)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    if audience_hosts.contains(&host.as_str()) {
        return Ok(());
    }
    Err(AzureError::TokenRefused(format!(
        "the vault asked for a token for {host}, which is not a Key Vault audience of this cloud ({}); \
         no token was sent. Is this host really a Key Vault?",
        audience_hosts.join(", ")
    )))
}

fn authority_of(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default().to_ascii_lowercase(),
        url.port_or_known_default().unwrap_or(443)
    )
}

/// The first page of `path`, or the page a `nextLink` names.
fn list_url(vault: &VaultUri, path: &str, next_link: Option<&str>) -> Result<Url, AzureError> {
    match next_link {
        Some(link) => checked_next_link(vault, link),
        None => page_url(vault, path),
    }
}

fn page_url(vault: &VaultUri, path: &str) -> Result<Url, AzureError> {
    let mut url = vault.url(path, KEYVAULT_API_VERSION)?;
    url.query_pairs_mut()
        .append_pair("maxresults", &MAX_PAGE_SIZE.to_string());
    Ok(url)
}

/// Key Vault next links are absolute, may carry `:443` and a stale api-version: accept them only for the
/// same vault (the token must not leave it) and pin our api-version.
pub(crate) fn checked_next_link(vault: &VaultUri, link: &str) -> Result<Url, AzureError> {
    let url =
        Url::parse(link).map_err(|error| AzureError::InvalidUri(format!("{link}: {error}")))?;
    let vault_url =
        Url::parse(vault.as_str()).map_err(|error| AzureError::InvalidUri(error.to_string()))?;
    if url.scheme() != "https" || authority_of(&url) != authority_of(&vault_url) {
        return Err(AzureError::TokenRefused(format!(
            "next link {link} leaves the vault {vault}"
        )));
    }
    Ok(super::pipeline::with_one_api_version(
        url,
        KEYVAULT_API_VERSION,
    ))
}

/// Object names are `[0-9a-zA-Z-]`, versions are hex; anything else would change the path.
pub(super) fn path_segment(text: &str) -> Result<&str, AzureError> {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(text)
    } else {
        Err(AzureError::InvalidUri(format!(
            "'{text}' is not a valid Key Vault object name or version"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_gets_a_token_only_for_a_key_vault_audience_of_the_cloud() {
        let public = crate::cloud::CloudProfile::azure_public();
        let hosts = public.key_vault_audience_hosts();
        assert!(check_audience("https://vault.azure.net/.default", hosts).is_ok());
        assert!(check_audience("https://managedhsm.azure.net/.default", hosts).is_ok());
        assert!(check_audience("https://VAULT.azure.net/.default", hosts).is_ok());
        // Under its own parent domain, so the domain check alone would let it through.
        let refused = check_audience("https://corp.example/.default", hosts)
            .expect_err("not a Key Vault audience");
        assert!(
            refused.to_string().contains("no token was sent"),
            "{refused}"
        );
        assert!(check_audience("https://vault.azure.cn/.default", hosts).is_err());
        assert!(check_audience("https://vault.azure.net.evil.example/.default", hosts).is_err());
    }

    #[test]
    fn next_link_must_stay_in_the_vault_and_gets_our_api_version() {
        let vault = VaultUri::parse("https://kv1.vault.azure.net").expect("vault");
        let pinned = checked_next_link(
            &vault,
            "https://kv1.vault.azure.net:443/secrets?api-version=7.2&$skiptoken=abc&maxresults=25",
        )
        .expect("same vault");
        let query: Vec<_> = pinned.query_pairs().collect();
        assert!(
            query
                .iter()
                .any(|(k, v)| k == "api-version" && v == KEYVAULT_API_VERSION)
        );
        assert!(query.iter().any(|(k, v)| k == "$skiptoken" && v == "abc"));
        assert!(!query.iter().any(|(_, v)| v == "7.2"));
        assert!(checked_next_link(&vault, "https://kv2.vault.azure.net/secrets?x=1").is_err());
        assert!(checked_next_link(&vault, "https://kv1.vault.azure.net:8443/secrets").is_err());
    }

    #[test]
    fn names_cannot_escape_the_path() {
        assert!(path_segment("db-password-01").is_ok());
        for bad in ["", "../keys", "a/b", "a?b", "a b"] {
            assert!(path_segment(bad).is_err(), "{bad}");
        }
    }
}
