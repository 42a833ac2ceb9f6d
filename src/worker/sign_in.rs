//! Signing in and out: a session from each sign-in method (Azure CLI, device code and the saved sign-in,
//! managed identity, the environment's service principal, a connection string), the device-code refresh
//! token kept in the keyring as it rotates, and sign-out forgetting it.

use std::sync::Arc;

use super::azure_runner::AzureRunner;
use super::protocol::{EventKind, FailureReason, SignInMethod};
use super::reply::Reply;
use super::session::Session;
use crate::auth::azure_cli::azure_cli_credential;
use crate::auth::device_code::{EntraClient, RefreshTokenCredential, RefreshTokenSink};
use crate::auth::environment::{connection_string_credential, service_principal_from_environment};
use crate::auth::managed_identity::ManagedIdentitySource;
use crate::auth::refresh_store::RefreshTokenKey;
use crate::auth::{AuthError, TokenCache};
use crate::azure::AzureError;

impl AzureRunner {
    pub(super) async fn sign_in(
        &self,
        method: SignInMethod,
        reply: &Reply,
    ) -> Result<(), FailureReason> {
        let http = self.settings.http_client()?;
        let session = match method {
            SignInMethod::AzureCli { tenant_id } => self.azure_cli_session(http, tenant_id)?,
            SignInMethod::DeviceCode { tenant, client_id } => {
                self.device_code_session(http, tenant, client_id, reply)
                    .await?
            }
            SignInMethod::SavedDeviceCode { tenant, client_id } => {
                self.saved_sign_in_session(http, tenant, client_id).await?
            }
            SignInMethod::ManagedIdentity { user_assigned } => {
                let source = ManagedIdentitySource::new(
                    self.settings.managed_identity_client()?,
                    &self.settings.environment,
                    user_assigned,
                )?;
                let label = source.describe();
                Session::new(&self.settings, http, Arc::new(source), &label)
            }
            SignInMethod::EnvironmentServicePrincipal => {
                let (credential, tenant) = service_principal_from_environment(
                    http.clone(),
                    &self.settings.environment,
                    self.settings.cloud.authority_host.as_str(),
                )?;
                Session::new(&self.settings, http, credential, &tenant)
            }
            SignInMethod::ConnectionString => {
                let (credential, tenant) = connection_string_credential(
                    http.clone(),
                    self.settings.managed_identity_client()?,
                    self.settings.azure_cli_search_path.clone(),
                    &self.settings.environment,
                    self.settings.cloud.authority_host.as_str(),
                )?;
                Session::new(&self.settings, http, credential, &tenant)
            }
        };
        let identity = session.identity().await?;
        *self.session.write().await = Some(session);
        reply.send(EventKind::SignedIn(identity));
        Ok(())
    }

    /// The Azure CLI's tokens, in `tenant_id` (or its current tenant) and any other tenant asked for.
    fn azure_cli_session(
        &self,
        http: reqwest::Client,
        tenant_id: Option<String>,
    ) -> Result<Session, FailureReason> {
        let label = tenant_id.clone().unwrap_or_else(|| "home".into());
        let search_path = self.settings.azure_cli_search_path.clone();
        let credential = azure_cli_credential(tenant_id, search_path.clone())?;
        let cache = TokenCache::new(credential, &label).with_other_tenants(Arc::new(
            move |tenant: &str| azure_cli_credential(Some(tenant.to_owned()), search_path.clone()),
        ));
        Ok(Session::with_cache(&self.settings, http, cache))
    }

    /// A device-code sign-in: the prompt goes to the UI, the refresh token to the keyring.
    async fn device_code_session(
        &self,
        http: reqwest::Client,
        tenant: String,
        client_id: String,
        reply: &Reply,
    ) -> Result<Session, FailureReason> {
        let entra = EntraClient::new(
            http.clone(),
            self.settings.cloud.authority_host.clone(),
            tenant.clone(),
            client_id.clone(),
        );
        let authorization = entra
            .start_device_code(&self.settings.cloud.arm_scope)
            .await?;
        reply.send(EventKind::DeviceCode(authorization.prompt.clone()));
        let granted = entra.poll_device_code(&authorization).await?;
        let refresh_token = granted.refresh_token.ok_or_else(|| {
            AuthError::Credential("the sign-in returned no refresh token (offline_access)".into())
        })?;
        let key = self.refresh_token_key(&tenant, &client_id);
        if let Some(store) = &self.settings.refresh_tokens
            && let Err(error) = store.save(&key, &refresh_token)
        {
            // Signing in still works; only the next launch will ask again.
            tracing::warn!(%error, "the sign-in is not remembered");
        }
        Ok(self.refresh_token_session(http, entra, refresh_token, key))
    }

    /// The saved device-code sign-in, checked by redeeming it; a revoked or expired one is forgotten.
    async fn saved_sign_in_session(
        &self,
        http: reqwest::Client,
        tenant: String,
        client_id: String,
    ) -> Result<Session, FailureReason> {
        let key = self.refresh_token_key(&tenant, &client_id);
        let store = self.settings.refresh_tokens.as_ref().ok_or_else(|| {
            AuthError::Credential("no keyring to read a saved sign-in from".into())
        })?;
        let refresh_token = store.load(&key)?.ok_or_else(|| {
            AuthError::Credential("there is no saved sign-in; sign in again".into())
        })?;
        let entra = EntraClient::new(
            http.clone(),
            self.settings.cloud.authority_host.clone(),
            tenant,
            client_id,
        );
        let session = self.refresh_token_session(http, entra, refresh_token, key.clone());
        if let Err(error) = session.identity().await {
            if matches!(&error, AzureError::Auth(AuthError::Credential(text)) if text.contains("invalid_grant"))
            {
                let _ = store.delete(&key);
            }
            return Err(FailureReason::Auth(AuthError::Credential(format!(
                "the saved sign-in no longer works ({error}); sign in again"
            ))));
        }
        Ok(session)
    }

    fn refresh_token_key(&self, tenant: &str, client_id: &str) -> RefreshTokenKey {
        RefreshTokenKey {
            authority_host: self.settings.cloud.authority_host.to_string(),
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    /// Saves each rotated refresh token, so the keyring always holds the newest.
    fn rotation_sink(&self, key: &RefreshTokenKey) -> Option<RefreshTokenSink> {
        let store = self.settings.refresh_tokens.clone()?;
        let key = key.clone();
        Some(Arc::new(move |token: &secrecy::SecretString| {
            if let Err(error) = store.save(&key, token) {
                tracing::warn!(%error, "the rotated refresh token was not saved");
            }
        }))
    }

    /// A session on a device-code account's refresh token, saved under `key` as it rotates, reaching the
    /// account's other tenants with the same token.
    fn refresh_token_session(
        &self,
        http: reqwest::Client,
        entra: EntraClient,
        refresh_token: secrecy::SecretString,
        key: RefreshTokenKey,
    ) -> Session {
        let credential = Arc::new(RefreshTokenCredential::new(
            entra,
            refresh_token,
            self.rotation_sink(&key),
        ));
        let cache = multi_tenant_cache(credential, &key.tenant);
        let mut session = Session::with_cache(&self.settings, http, cache);
        session.saved_as = Some(key);
        session
    }

    pub(super) async fn sign_out(&self) -> Result<(), FailureReason> {
        let session = self.session.write().await.take();
        if let Some(key) = session.and_then(|session| session.saved_as)
            && let Some(store) = &self.settings.refresh_tokens
        {
            store.delete(&key)?;
        }
        Ok(())
    }
}

/// A cache whose other tenants redeem the same refresh token at their own endpoints.
fn multi_tenant_cache(credential: Arc<RefreshTokenCredential>, tenant_label: &str) -> TokenCache {
    let home = credential.clone();
    TokenCache::new(credential, tenant_label).with_other_tenants(Arc::new(move |tenant: &str| {
        Ok(Arc::new(home.for_tenant(tenant)) as Arc<dyn azure_core::credentials::TokenCredential>)
    }))
}
