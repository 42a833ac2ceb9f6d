//! Signing in and out: a session from each sign-in method (Azure CLI, device code and the saved sign-in,
//! managed identity, the environment's service principal, a connection string), the device-code refresh
//! token kept in the keyring as it rotates, and sign-out forgetting it.

use std::sync::Arc;

use super::azure_runner::AzureRunner;
use super::protocol::{EventKind, FailureReason, SignInMethod};
use super::reply::Reply;
use super::session::{Remember, Session};
use crate::auth::azure_cli::azure_cli_credential;
use crate::auth::device_code::{EntraClient, RefreshTokenCredential, RefreshTokenSink};
use crate::auth::environment::{connection_string_credential, service_principal_from_environment};
use crate::auth::managed_identity::ManagedIdentitySource;
use crate::auth::refresh_store::{RefreshTokenKey, RememberGate};
use crate::auth::{AuthError, TokenCache};
use crate::azure::AzureError;
use secrecy::ExposeSecret;

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
        let identity = match session.identity().await {
            Ok(identity) => identity,
            Err(error) => {
                if let Some(remember) = &session.remember {
                    remember.gate.close();
                }
                session.tokens.revoke();
                return Err(error.into());
            }
        };
        if let Some(why) = self.remember_sign_in(&session).await {
            reply.send(EventKind::SignInNotRemembered(why));
        }
        // A sign-in over another identity: the old one's tasks get no token again, nor save one.
        if let Some(previous) = self.session.write().await.replace(session) {
            previous.tokens.revoke();
            if let Some(remember) = previous.remember {
                remember.gate.close();
            }
        }
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
        // Saved by `remember_sign_in` once the sign-in has succeeded, not before.
        Ok(self.refresh_token_session(http, entra, refresh_token, key))
    }

    /// A device-code sign-in that succeeded: its current refresh token goes to the keyring (on a
    /// blocking thread), and from now on each rotation does. Without a keyring, nothing is written.
    /// `Some(why)` when a device-code sign-in could not be remembered.
    async fn remember_sign_in(&self, session: &Session) -> Option<String> {
        let remember = session.remember.clone()?;
        let Some(store) = self.settings.refresh_tokens.clone() else {
            remember.gate.close();
            return Some("no OS keyring is in use for sign-ins here".to_owned());
        };
        let saved = crate::auth::refresh_store::off_thread(move || {
            let credential = remember.credential.clone();
            Ok(remember
                .gate
                .open(&store, &remember.key, || credential.current_refresh_token()))
        })
        .await;
        match saved {
            Ok(true) => None,
            // Signing in still works; only the next launch will ask again.
            Ok(false) => Some("the OS keyring refused to store it".to_owned()),
            Err(error) => Some(error.to_string()),
        }
    }

    /// The saved device-code sign-in, checked by redeeming it; a revoked or expired one is forgotten.
    async fn saved_sign_in_session(
        &self,
        http: reqwest::Client,
        tenant: String,
        client_id: String,
    ) -> Result<Session, FailureReason> {
        let key = self.refresh_token_key(&tenant, &client_id);
        let store = self.settings.refresh_tokens.clone().ok_or_else(|| {
            AuthError::Credential("no keyring to read a saved sign-in from".into())
        })?;
        let refresh_token = {
            let (store, key) = (store.clone(), key.clone());
            crate::auth::refresh_store::off_thread(move || store.load(&key)).await?
        }
        .ok_or_else(|| AuthError::Credential("there is no saved sign-in; sign in again".into()))?;
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
                let _ = crate::auth::refresh_store::off_thread(move || store.delete(&key)).await;
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

    /// Saves each rotated refresh token through `gate` (only while the sign-in is current), on a
    /// blocking thread: the keyring's D-Bus call or unlock prompt never holds a worker thread.
    fn rotation_sink(
        &self,
        key: &RefreshTokenKey,
        gate: &Arc<RememberGate>,
    ) -> Option<RefreshTokenSink> {
        let store = self.settings.refresh_tokens.clone()?;
        let key = key.clone();
        let gate = gate.clone();
        Some(Arc::new(move |token: &secrecy::SecretString| {
            let (store, key, gate) = (store.clone(), key.clone(), gate.clone());
            // Numbered here, in rotation order; the saves may then run in any order.
            let rotation = gate.next_rotation();
            let token = secrecy::SecretString::from(token.expose_secret().to_owned());
            let save = move || gate.save(&store, &key, &token, rotation);
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn_blocking(save);
                }
                Err(_) => save(),
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
        let gate = Arc::new(RememberGate::default());
        let credential = Arc::new(RefreshTokenCredential::new(
            entra,
            refresh_token,
            self.rotation_sink(&key, &gate),
        ));
        let cache = multi_tenant_cache(credential.clone(), &key.tenant);
        let mut session = Session::with_cache(&self.settings, http, cache);
        session.remember = Some(Remember {
            key,
            gate,
            credential,
        });
        session
    }

    /// Sign-out: the session's tokens are dropped and refused from now on (tasks still running stop at
    /// their next request), no rotated token is saved again, and the saved sign-in is deleted.
    pub(super) async fn sign_out(&self) -> Result<(), FailureReason> {
        let Some(session) = self.session.write().await.take() else {
            return Ok(());
        };
        session.tokens.revoke();
        let Some(remember) = session.remember else {
            return Ok(());
        };
        match self.settings.refresh_tokens.clone() {
            Some(store) => {
                crate::auth::refresh_store::off_thread(move || {
                    remember.gate.close_and_delete(&store, &remember.key)
                })
                .await?
            }
            None => remember.gate.close(),
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
