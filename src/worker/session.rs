//! A signed-in session: the credential's token cache and the ARM, Key Vault and Graph clients built on it.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;

use crate::auth::{SignedInIdentity, TokenCache};
use crate::azure::arm::ArmClient;
use crate::azure::graph::GraphClient;
use crate::azure::keyvault::KeyVaultClient;
use crate::azure::{AzureError, Pipeline, RetryPolicy};
use crate::cloud::CloudProfile;

/// How sessions talk to the cloud.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub cloud: CloudProfile,
    /// The credential variables of the environment, taken once at start (tests build their own).
    pub environment: crate::auth::environment_snapshot::EnvironmentSnapshot,
    /// Where device-code refresh tokens are kept; `None`: nowhere (each launch asks again).
    pub refresh_tokens: Option<crate::auth::refresh_store::RefreshTokenStore>,
    /// Where to look for `az` instead of `PATH` (tests put a fake `az` here).
    pub azure_cli_search_path: Option<std::ffi::OsString>,
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    /// At most this many vaults load at once (`--parallel-vault-loads`); `None`: as many as the service
    /// allows, found out by the adaptive bound (`load_gate.rs`).
    pub vault_load_cap: Option<usize>,
    /// Told of every response (the runner's adaptive bounds); `None` outside the runner.
    pub response_observer: Option<SharedObserver>,
    /// The file dialog (the desktop's; tests put a fake here).
    pub file_picker: crate::worker::files::SharedPicker,
    /// The encrypted local index; `None`: off (`--no-index`, or no OS keyring to keep its key).
    pub local_index: Option<crate::local_index::IndexStore>,
}

/// A response observer the settings can carry (and print in `Debug` without its insides).
#[derive(Clone)]
pub struct SharedObserver(pub Arc<dyn crate::azure::pipeline::ResponseObserver>);

impl std::fmt::Debug for SharedObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedObserver")
    }
}

impl SessionSettings {
    pub fn new(cloud: CloudProfile) -> Self {
        Self {
            cloud,
            environment: Default::default(),
            azure_cli_search_path: None,
            refresh_tokens: None,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            vault_load_cap: None,
            response_observer: None,
            file_picker: crate::worker::files::SharedPicker(std::sync::Arc::new(
                crate::worker::files::SystemFilePicker,
            )),
            local_index: None,
        }
    }

    /// The client for managed-identity endpoints (plain HTTP allowed to loopback and link-local).
    pub fn managed_identity_client(&self) -> Result<reqwest::Client, AzureError> {
        self.cloud
            .managed_identity_client(self.request_timeout)
            .map_err(|error| AzureError::InvalidUri(error.to_string()))
    }

    /// The cloud's HTTPS client with our timeouts.
    pub fn http_client(&self) -> Result<reqwest::Client, AzureError> {
        self.cloud
            .http_client(self.request_timeout)
            .map_err(|error| AzureError::InvalidUri(error.to_string()))
    }
}

/// Everything a signed-in task needs.
#[derive(Debug, Clone)]
pub struct Session {
    pub cloud: CloudProfile,
    pub tokens: Arc<TokenCache>,
    pub arm: ArmClient,
    pub keyvault: KeyVaultClient,
    pub graph: GraphClient,
    /// The tenant ARM and Graph are bound to (`None`: home).
    pub tenant: Option<String>,
    /// A device-code session's refresh token and where the keyring keeps it (saved once the sign-in
    /// succeeded, deleted at sign-out).
    pub remember: Option<Remember>,
}

/// What a device-code session keeps in the keyring, and the gate that orders those writes.
#[derive(Debug, Clone)]
pub struct Remember {
    pub key: crate::auth::refresh_store::RefreshTokenKey,
    pub gate: Arc<crate::auth::refresh_store::RememberGate>,
    pub credential: Arc<crate::auth::device_code::RefreshTokenCredential>,
}

impl Session {
    pub fn new(
        settings: &SessionSettings,
        http: reqwest::Client,
        credential: Arc<dyn TokenCredential>,
        tenant_label: &str,
    ) -> Self {
        Self::with_cache(settings, http, TokenCache::new(credential, tenant_label))
    }

    /// A session on a prepared cache (one that can reach other tenants, say).
    pub fn with_cache(
        settings: &SessionSettings,
        http: reqwest::Client,
        cache: TokenCache,
    ) -> Self {
        let pipeline = Pipeline::new(http, settings.retry).with_observer(
            settings
                .response_observer
                .as_ref()
                .map(|observer| observer.0.clone()),
        );
        let tokens = Arc::new(cache);
        Self {
            cloud: settings.cloud.clone(),
            arm: ArmClient::new(pipeline.clone(), tokens.clone(), &settings.cloud),
            graph: GraphClient::new(pipeline.clone(), tokens.clone(), &settings.cloud),
            tenant: None,
            remember: None,
            keyvault: KeyVaultClient::new(
                pipeline,
                tokens.clone(),
                settings.cloud.key_vault_audience_hosts(),
            ),
            tokens,
        }
    }

    /// Who we are, from the claims of an ARM token; also teaches the cache the home tenant id.
    pub async fn identity(&self) -> Result<SignedInIdentity, AzureError> {
        let token = self.tokens.token(&self.cloud.arm_scope).await?;
        let identity =
            SignedInIdentity::from_access_token(token.token.secret()).unwrap_or_default();
        if let Some(tenant) = &identity.tid {
            self.tokens.set_home_tenant(tenant);
        }
        Ok(identity)
    }

    /// This session with ARM and Graph bound to `tenant` (`None`: home). Key Vault picks the tenant from
    /// each vault's challenge by itself.
    pub fn for_tenant(&self, tenant: Option<&str>) -> Session {
        Session {
            arm: self.arm.for_tenant(tenant),
            graph: self.graph.for_tenant(tenant),
            tenant: tenant.map(str::to_owned),
            ..self.clone()
        }
    }

    /// Who we are in the bound tenant (a guest has another object id there), from an ARM token's claims.
    pub async fn identity_here(&self) -> Result<SignedInIdentity, AzureError> {
        let token = self
            .tokens
            .token_in(self.tenant.as_deref(), &self.cloud.arm_scope)
            .await?;
        Ok(SignedInIdentity::from_access_token(token.token.secret()).unwrap_or_default())
    }
}
