//! The dispatcher: one task per command on the tokio runtime, superseded commands cancelled, explicit
//! cancellation, and the `AzureRunner` that carries commands out against Azure or the emulator.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use tokio::sync::{RwLock, mpsc};
use tokio::task::AbortHandle;

use super::access::{load_vault_access, resolve_subject};
use super::load_gate::{AdaptiveGate, Aimd, Observers};
use super::protocol::WorkerError;
use super::protocol::{Command, EventKind, FailureReason, RequestId, SignInMethod, SupersedeKey};
use super::reply::Reply;
pub use super::reply::Waker;
use super::session::{Session, SessionSettings, SharedObserver};
use crate::auth::AuthError;
use crate::auth::TokenCache;
use crate::auth::azure_cli::azure_cli_credential;
use crate::auth::device_code::{EntraClient, RefreshTokenCredential, RefreshTokenSink};
use crate::auth::environment::{connection_string_credential, service_principal_from_environment};
use crate::auth::managed_identity::ManagedIdentitySource;
use crate::auth::refresh_store::RefreshTokenKey;
use crate::azure::identifiers::{ObjectKind, VaultUri};
use crate::azure::models::{ListKind, ObjectItem, VaultSummary};
use crate::azure::object_details::{CertificateDetails, KeyDetails, ObjectDetails};
use crate::azure::pipeline::ResponseObserver;
use crate::azure::{AzureError, Service};
use crate::worker::Event;

/// Carries out one command, sending pages through `reply`; the dispatcher sends the terminal event.
pub trait CommandRunner: Send + Sync + 'static {
    fn run<'a>(
        &'a self,
        command: Command,
        reply: &'a Reply,
    ) -> Pin<Box<dyn Future<Output = Result<(), FailureReason>> + Send + 'a>>;
}

enum Envelope {
    Run(RequestId, Command),
    Cancel(RequestId),
}

/// The UI's handle on the worker. Cheap to clone; never blocks.
#[derive(Clone)]
pub struct WorkerHandle {
    commands: mpsc::UnboundedSender<Envelope>,
    events: Sender<Event>,
    waker: Waker,
    next_id: Arc<AtomicU64>,
}

impl WorkerHandle {
    /// Queues a command and returns its request id.
    pub fn send(&self, command: Command) -> RequestId {
        let request_id = RequestId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let operation = command.describe();
        if self
            .commands
            .send(Envelope::Run(request_id, command))
            .is_err()
        {
            // The worker is gone; answer here so the UI still gets its terminal event.
            Reply::new(
                request_id,
                operation,
                self.events.clone(),
                self.waker.clone(),
            )
            .finish(Err(FailureReason::Internal(
                "the background worker has stopped".into(),
            )));
        }
        request_id
    }

    /// Cancels a running command; it ends with `Cancelled` (or its own outcome if it finished first).
    pub fn cancel(&self, request_id: RequestId) {
        let _ = self.commands.send(Envelope::Cancel(request_id));
    }
}

/// Starts the worker on `runtime` with the Azure runner; events arrive on the returned receiver.
pub fn spawn_worker(
    runtime: &tokio::runtime::Handle,
    settings: SessionSettings,
    waker: Waker,
) -> (WorkerHandle, Receiver<Event>) {
    spawn_with_runner(runtime, Arc::new(AzureRunner::new(settings)), waker)
}

/// Starts the dispatcher with any runner (tests use fakes).
pub fn spawn_with_runner(
    runtime: &tokio::runtime::Handle,
    runner: Arc<dyn CommandRunner>,
    waker: Waker,
) -> (WorkerHandle, Receiver<Event>) {
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = std::sync::mpsc::channel();
    let handle = WorkerHandle {
        commands: command_tx,
        events: event_tx.clone(),
        waker: waker.clone(),
        next_id: Arc::default(),
    };
    runtime.spawn(dispatch(
        runtime.clone(),
        command_rx,
        runner,
        event_tx,
        waker,
    ));
    (handle, event_rx)
}

async fn dispatch(
    runtime: tokio::runtime::Handle,
    mut commands: mpsc::UnboundedReceiver<Envelope>,
    runner: Arc<dyn CommandRunner>,
    events: Sender<Event>,
    waker: Waker,
) {
    let mut running: HashMap<RequestId, AbortHandle> = HashMap::new();
    let mut latest: HashMap<SupersedeKey, RequestId> = HashMap::new();
    while let Some(envelope) = commands.recv().await {
        running.retain(|_, task| !task.is_finished());
        match envelope {
            Envelope::Cancel(request_id) => {
                if let Some(task) = running.remove(&request_id) {
                    task.abort();
                }
            }
            Envelope::Run(request_id, command) => {
                if let Some(key) = command.supersede_key()
                    && let Some(previous) = latest.insert(key, request_id)
                    && let Some(task) = running.remove(&previous)
                {
                    task.abort();
                }
                // The reply is moved into the task before it first runs: aborting even an unstarted task
                // drops it, and its Drop sends the terminal `Cancelled`.
                let reply = Reply::new(
                    request_id,
                    command.describe(),
                    events.clone(),
                    waker.clone(),
                );
                let runner = runner.clone();
                let task = runtime.spawn(async move {
                    let reply = reply;
                    let result = runner.run(command, &reply).await;
                    reply.finish(result);
                });
                running.insert(request_id, task.abort_handle());
            }
        }
    }
}

/// How many vaults start loading at once when no cap is given: wide, since Key Vault throttles each vault
/// on its own (4,000 transactions per 10 s) and the adaptive bound narrows on 429s.
pub const VAULT_LOADS_AT_START: usize = 64;
/// The widest the vault-load bound grows without a cap.
pub const VAULT_LOADS_MAX: usize = 128;
/// How many subscriptions' vault lists are read at once at start (ARM throttles per subscription and
/// per principal); narrowed on ARM's 429s.
pub const VAULT_LISTS_AT_START: usize = 8;
const VAULT_LISTS_MAX: usize = 32;
/// One halving per second at most: a burst of 429s is one signal.
const GATE_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs commands against Azure or the emulator for the current session.
pub struct AzureRunner {
    settings: SessionSettings,
    session: RwLock<Option<Session>>,
    /// How many vaults load at once: adaptive, under `settings.vault_load_cap`.
    vault_loads: Arc<AdaptiveGate>,
    /// How many subscriptions' vault lists are read at once.
    vault_lists: Arc<AdaptiveGate>,
}

impl AzureRunner {
    pub fn new(mut settings: SessionSettings) -> Self {
        let vault_loads = AdaptiveGate::new(
            Service::KeyVault,
            match settings.vault_load_cap {
                Some(cap) => Aimd::new(cap, 1, cap, GATE_COOLDOWN),
                None => Aimd::new(VAULT_LOADS_AT_START, 2, VAULT_LOADS_MAX, GATE_COOLDOWN),
            },
        );
        let vault_lists = AdaptiveGate::new(
            Service::ResourceManager,
            Aimd::new(VAULT_LISTS_AT_START, 1, VAULT_LISTS_MAX, GATE_COOLDOWN),
        );
        let mut observers: Vec<Arc<dyn ResponseObserver>> =
            vec![vault_loads.clone(), vault_lists.clone()];
        if let Some(outer) = settings.response_observer.take() {
            observers.push(outer.0);
        }
        settings.response_observer = Some(SharedObserver(Arc::new(Observers(observers))));
        Self {
            settings,
            session: RwLock::new(None),
            vault_loads,
            vault_lists,
        }
    }

    /// The current width of the vault-load bound (for tests and benchmarks).
    pub fn vault_load_limit(&self) -> usize {
        self.vault_loads.limit()
    }

    async fn session(&self) -> Result<Session, FailureReason> {
        self.session
            .read()
            .await
            .clone()
            .ok_or(FailureReason::NotSignedIn)
    }

    async fn sign_in(&self, method: SignInMethod, reply: &Reply) -> Result<(), FailureReason> {
        let http = self.settings.http_client()?;
        let session = match method {
            SignInMethod::AzureCli { tenant_id } => {
                let label = tenant_id.clone().unwrap_or_else(|| "home".into());
                let search_path = self.settings.azure_cli_search_path.clone();
                let credential = azure_cli_credential(tenant_id, search_path.clone())?;
                let cache = TokenCache::new(credential, &label).with_other_tenants(Arc::new(
                    move |tenant: &str| {
                        azure_cli_credential(Some(tenant.to_owned()), search_path.clone())
                    },
                ));
                Session::with_cache(&self.settings, http, cache)
            }
            SignInMethod::DeviceCode { tenant, client_id } => {
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
                    AuthError::Credential(
                        "the sign-in returned no refresh token (offline_access)".into(),
                    )
                })?;
                let key = self.refresh_token_key(&tenant, &client_id);
                if let Some(store) = &self.settings.refresh_tokens
                    && let Err(error) = store.save(&key, &refresh_token)
                {
                    // Signing in still works; only the next launch will ask again.
                    tracing::warn!(%error, "the sign-in is not remembered");
                }
                self.refresh_token_session(http, entra, refresh_token, key)
            }
            SignInMethod::SavedDeviceCode { tenant, client_id } => {
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
                    tenant.clone(),
                    client_id,
                );
                let session = self.refresh_token_session(http, entra, refresh_token, key.clone());
                if let Err(error) = session.identity().await {
                    // A revoked or expired refresh token is useless: forget it.
                    if matches!(&error, AzureError::Auth(AuthError::Credential(text)) if text.contains("invalid_grant"))
                    {
                        let _ = store.delete(&key);
                    }
                    return Err(FailureReason::Auth(AuthError::Credential(format!(
                        "the saved sign-in no longer works ({error}); sign in again"
                    ))));
                }
                session
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

    async fn sign_out(&self) -> Result<(), FailureReason> {
        let session = self.session.write().await.take();
        if let Some(key) = session.and_then(|session| session.saved_as)
            && let Some(store) = &self.settings.refresh_tokens
        {
            store.delete(&key)?;
        }
        Ok(())
    }

    async fn execute(&self, command: Command, reply: &Reply) -> Result<(), FailureReason> {
        match command {
            Command::SignIn(method) => self.sign_in(method, reply).await,
            Command::SignOut => self.sign_out().await,
            Command::ListSubscriptions => {
                let session = self.session().await?;
                let home = session.tokens.home_tenant();
                // Every reachable tenant, home first; without /tenants, the home tenant alone.
                let mut tenants = match session.arm.list_tenants().await {
                    Ok(tenants) => tenants,
                    Err(error) => {
                        tracing::warn!(%error, "tenants could not be listed; showing the home tenant only");
                        Vec::new()
                    }
                };
                tenants.sort_by_key(|tenant| Some(tenant.tenant_id.to_ascii_lowercase()) != home);
                reply.send(EventKind::Tenants(tenants.clone()));
                list_subscriptions(&session, None, reply).await?;
                for tenant in tenants
                    .iter()
                    .filter(|tenant| Some(tenant.tenant_id.to_ascii_lowercase()) != home)
                {
                    let in_tenant = session.for_tenant(Some(&tenant.tenant_id));
                    if let Err(error) =
                        list_subscriptions(&in_tenant, Some(&tenant.tenant_id), reply).await
                    {
                        reply.send(EventKind::TenantUnavailable {
                            tenant_id: tenant.tenant_id.clone(),
                            reason: error.to_string(),
                        });
                    }
                }
                Ok(())
            }
            Command::ListVaults {
                subscription_id,
                tenant_id,
            } => {
                let session = self.session().await?.for_tenant(tenant_id.as_deref());
                // Waits here while the bound's worth of subscriptions is being listed.
                let _slot = self.vault_lists.acquire().await;
                let mut next: Option<String> = None;
                loop {
                    let page = session
                        .arm
                        .list_vaults_page(&subscription_id, next.as_deref())
                        .await?;
                    next = page.next().map(str::to_owned);
                    let vaults = page
                        .value
                        .iter()
                        .filter_map(|vault| {
                            let fallback = session.cloud.vault_uri(&vault.name);
                            VaultSummary::from_arm(vault, &subscription_id, &fallback)
                        })
                        .collect();
                    reply.send(EventKind::VaultsPage {
                        subscription_id: subscription_id.clone(),
                        vaults,
                    });
                    if next.is_none() {
                        return Ok(());
                    }
                }
            }
            Command::LoadVault { vault } => {
                let session = self.session().await?;
                // Waits here while the bound's worth of vaults is loading; a cancelled load frees its slot.
                let _slot = self.vault_loads.acquire().await;
                load_vault(&session, &vault, reply).await
            }
            Command::ListVersions { id } => {
                let session = self.session().await?;
                let mut next: Option<String> = None;
                loop {
                    let page = session
                        .keyvault
                        .list_versions_page(&id.vault, id.kind, &id.name, next.as_deref())
                        .await?;
                    next = page.next().map(str::to_owned);
                    reply.send(EventKind::VersionsPage {
                        id: id.clone(),
                        items: page.value,
                    });
                    if next.is_none() {
                        return Ok(());
                    }
                }
            }
            Command::GetDetails { id } => {
                let session = self.session().await?;
                let raw = session.keyvault.get_bundle(&id).await?;
                let details = match id.kind {
                    ObjectKind::Key => ObjectDetails::Key(KeyDetails::from_bundle(&raw)),
                    ObjectKind::Certificate => {
                        ObjectDetails::Certificate(Box::new(CertificateDetails::from_bundle(&raw)))
                    }
                    ObjectKind::Secret => ObjectDetails::None,
                };
                reply.send(EventKind::Details {
                    id,
                    details,
                    raw: Box::new(raw),
                });
                Ok(())
            }
            Command::LoadVaultAccess {
                arm_id,
                subscription_name,
                tenant_id,
            } => {
                let session = self.session().await?.for_tenant(tenant_id.as_deref());
                let data = load_vault_access(&session, &arm_id, subscription_name).await?;
                reply.send(EventKind::VaultAccess {
                    arm_id,
                    data: Box::new(data),
                });
                Ok(())
            }
            Command::SearchPrincipals { text } => {
                let session = self.session().await?;
                let principals = session.graph.search(&text).await?;
                reply.send(EventKind::PrincipalsFound { text, principals });
                Ok(())
            }
            Command::CheckAccess {
                arm_id,
                subscription_name,
                tenant_id,
                principal,
                target,
            } => {
                let session = self.session().await?.for_tenant(tenant_id.as_deref());
                let mut data = load_vault_access(&session, &arm_id, subscription_name).await?;
                let subject = resolve_subject(&session, &principal, &mut data).await?;
                let evaluation = crate::access::evaluate(&data, &subject, &target);
                reply.send(EventKind::AccessChecked {
                    arm_id,
                    data: Box::new(data),
                    evaluation: Box::new(evaluation),
                });
                Ok(())
            }
            Command::GetSecretValue { id } => {
                let session = self.session().await?;
                let bundle = session
                    .keyvault
                    .get_secret(&id.vault, &id.name, id.version.as_deref())
                    .await?;
                let read_id = crate::azure::identifiers::ObjectId::parse(&bundle.id).unwrap_or(id);
                reply.send(EventKind::SecretValue {
                    id: read_id,
                    value: bundle.value,
                });
                Ok(())
            }
        }
    }
}

/// Lists all six lists of a vault. The first page of secrets goes alone: it learns the vault's challenge once,
/// and a vault that cannot be reached at all (no such host, firewall, 404, 401) fails the load there instead of
/// six times. A permission 403 on one list does not stop the others (a key-only role still lists keys).
async fn load_vault(
    session: &Session,
    vault: &VaultUri,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let secrets = ListKind::live(ObjectKind::Secret);
    let (first, secrets_denied) = match list_page_patiently(session, vault, secrets, None).await {
        Ok(page) => (Some(page), None),
        Err(error) if error.status() == Some(403) && !error.is_network_forbidden() => {
            reply.send(EventKind::ListEnded {
                vault: vault.clone(),
                list: secrets,
                error: Some(list_error(vault, secrets, error.clone())),
            });
            (None, Some(error))
        }
        Err(error) => {
            for list in ListKind::ALL {
                reply.send(EventKind::ListEnded {
                    vault: vault.clone(),
                    list,
                    error: Some(list_error(vault, list, error.clone())),
                });
            }
            return Err(error.into());
        }
    };
    let mut lists = Vec::new();
    if let Some(first) = first {
        lists.push(list_all(session, vault, secrets, Some(first), reply));
    }
    for list in ListKind::ALL.into_iter().skip(1) {
        lists.push(list_all(session, vault, list, None, reply));
    }
    let listed_any = futures_util::future::join_all(lists)
        .await
        .into_iter()
        .any(|listed| listed);
    // Nothing could be listed at all: the load fails with the secrets list's own refusal.
    if let Some(error) = secrets_denied
        && !listed_any
    {
        return Err(error.into());
    }
    Ok(())
}

/// Pages through one list from `first` (or its start), sending each page and then `ListEnded`; true when
/// the whole list was read.
async fn list_all(
    session: &Session,
    vault: &VaultUri,
    list: ListKind,
    first: Option<crate::azure::pipeline::Page<ObjectItem>>,
    reply: &Reply,
) -> bool {
    let mut next: Option<String> = None;
    let mut pending = first;
    loop {
        let current = match pending.take() {
            Some(current) => current,
            None => match list_page_patiently(session, vault, list, next.as_deref()).await {
                Ok(current) => current,
                Err(error) => {
                    reply.send(EventKind::ListEnded {
                        vault: vault.clone(),
                        list,
                        error: Some(list_error(vault, list, error)),
                    });
                    return false;
                }
            },
        };
        next = current.next().map(str::to_owned);
        reply.send(EventKind::ObjectsPage {
            vault: vault.clone(),
            list,
            items: current.value,
        });
        if next.is_none() {
            reply.send(EventKind::ListEnded {
                vault: vault.clone(),
                list,
                error: None,
            });
            return true;
        }
    }
}

/// How many more rounds a list page gets when the pipeline's own retries ended throttled. Reading a page
/// is safe to repeat, and a list that gives up under throttling leaves its vault half-loaded, so a load
/// waits out a throttling storm (while the adaptive bound narrows) instead of failing.
const THROTTLED_PAGE_ROUNDS: u32 = 4;

/// One page of a list, waiting 2, 4, 8 and 16 s more between rounds when Key Vault keeps throttling.
async fn list_page_patiently(
    session: &Session,
    vault: &VaultUri,
    list: ListKind,
    next: Option<&str>,
) -> Result<crate::azure::pipeline::Page<ObjectItem>, AzureError> {
    let mut round = 0;
    loop {
        match session.keyvault.list_page(vault, list, next).await {
            Err(AzureError::Throttled { .. }) if round < THROTTLED_PAGE_ROUNDS => {
                round += 1;
                tracing::debug!(vault = vault.name(), round, "still throttled; waiting");
                tokio::time::sleep(std::time::Duration::from_secs(1 << round)).await;
            }
            other => return other,
        }
    }
}

fn list_error(vault: &VaultUri, list: ListKind, error: AzureError) -> WorkerError {
    WorkerError {
        operation: format!("listing {} of {}", list.label(), vault.name()),
        source: FailureReason::Azure(error),
    }
}

/// A cache whose other tenants redeem the same refresh token at their own endpoints.
fn multi_tenant_cache(credential: Arc<RefreshTokenCredential>, tenant_label: &str) -> TokenCache {
    let home = credential.clone();
    TokenCache::new(credential, tenant_label).with_other_tenants(Arc::new(move |tenant: &str| {
        Ok(Arc::new(home.for_tenant(tenant)) as Arc<dyn azure_core::credentials::TokenCredential>)
    }))
}

/// Streams the subscriptions one tenant's token sees (`tenant` `None`: home).
async fn list_subscriptions(
    session: &Session,
    tenant: Option<&str>,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let arm = session.arm.for_tenant(tenant);
    let mut next: Option<String> = None;
    loop {
        let page = arm.list_subscriptions_page(next.as_deref()).await?;
        next = page.next().map(str::to_owned);
        reply.send(EventKind::SubscriptionsPage(page.value));
        if next.is_none() {
            return Ok(());
        }
    }
}

impl CommandRunner for AzureRunner {
    fn run<'a>(
        &'a self,
        command: Command,
        reply: &'a Reply,
    ) -> Pin<Box<dyn Future<Output = Result<(), FailureReason>> + Send + 'a>> {
        Box::pin(self.execute(command, reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::identifiers::VaultUri;
    use crate::worker::protocol::Outcome;
    use std::time::Duration;

    /// Lists three pages per vault, 50 ms apart; panics for a vault named "crash".
    struct FakeRunner;

    impl CommandRunner for FakeRunner {
        fn run<'a>(
            &'a self,
            command: Command,
            reply: &'a Reply,
        ) -> Pin<Box<dyn Future<Output = Result<(), FailureReason>> + Send + 'a>> {
            Box::pin(async move {
                match command {
                    Command::LoadVault { vault } => {
                        assert!(vault.name() != "crash", "fake crash");
                        for _ in 0..3 {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            reply.send(EventKind::ObjectsPage {
                                vault: vault.clone(),
                                list: crate::azure::models::ListKind::default(),
                                items: Vec::new(),
                            });
                        }
                        Ok(())
                    }
                    _ => Err(FailureReason::NotSignedIn),
                }
            })
        }
    }

    fn vault(name: &str) -> Command {
        Command::LoadVault {
            vault: VaultUri::parse(&format!("https://{name}.vault.azure.net")).expect("uri"),
        }
    }

    /// Collects events until every id in `ids` has its terminal event; fails on a second terminal.
    fn collect(
        events: &Receiver<Event>,
        ids: &[RequestId],
    ) -> HashMap<RequestId, (usize, Outcome)> {
        let mut pages: HashMap<RequestId, usize> = HashMap::new();
        let mut done: HashMap<RequestId, (usize, Outcome)> = HashMap::new();
        while done.len() < ids.len() {
            let event = events
                .recv_timeout(Duration::from_secs(5))
                .expect("an event in time");
            assert!(
                !done.contains_key(&event.request_id),
                "event after terminal"
            );
            match event.kind {
                EventKind::Finished(outcome) => {
                    let count = pages.remove(&event.request_id).unwrap_or(0);
                    done.insert(event.request_id, (count, outcome));
                }
                _ => *pages.entry(event.request_id).or_default() += 1,
            }
        }
        // Nothing more may arrive for these ids.
        std::thread::sleep(Duration::from_millis(200));
        while let Ok(event) = events.try_recv() {
            assert!(!ids.contains(&event.request_id), "late event {event:?}");
        }
        done
    }

    fn start() -> (
        tokio::runtime::Runtime,
        WorkerHandle,
        Receiver<Event>,
        Arc<AtomicU64>,
    ) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let wakes = Arc::new(AtomicU64::new(0));
        let counter = wakes.clone();
        let (handle, events) = spawn_with_runner(
            runtime.handle(),
            Arc::new(FakeRunner),
            Arc::new(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            }),
        );
        (runtime, handle, events, wakes)
    }

    #[test]
    fn every_command_gets_one_terminal_event_and_pages_stream_first() {
        let (_runtime, worker, events, wakes) = start();
        let listed = worker.send(vault("kv1"));
        let failed = worker.send(Command::ListSubscriptions);
        let done = collect(&events, &[listed, failed]);
        assert!(matches!(done[&listed], (3, Outcome::Done)));
        assert!(matches!(done[&failed], (0, Outcome::Failed(_))));
        assert!(
            wakes.load(Ordering::Relaxed) >= 5,
            "each event wakes the UI"
        );
    }

    #[test]
    fn a_reload_of_the_same_vault_supersedes_the_older_one_and_others_go_on() {
        let (_runtime, worker, events, _) = start();
        let other = worker.send(vault("kv2"));
        let first = worker.send(vault("kv1"));
        std::thread::sleep(Duration::from_millis(70));
        let second = worker.send(vault("kv1"));
        let done = collect(&events, &[other, first, second]);
        assert!(
            matches!(done[&other], (3, Outcome::Done)),
            "{:?}",
            done[&other]
        );
        assert!(
            matches!(done[&first].1, Outcome::Cancelled),
            "{:?}",
            done[&first]
        );
        assert!(done[&first].0 < 3);
        assert!(matches!(done[&second], (3, Outcome::Done)));
    }

    #[test]
    fn explicit_cancel_and_cancel_before_start_both_end_once() {
        let (_runtime, worker, events, _) = start();
        let id = worker.send(vault("kv1"));
        worker.cancel(id);
        let done = collect(&events, &[id]);
        assert!(matches!(done[&id].1, Outcome::Cancelled));
        // Cancelling an already finished command sends nothing more.
        worker.cancel(id);
        std::thread::sleep(Duration::from_millis(100));
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn a_crashing_task_still_ends_with_a_failure() {
        let (_runtime, worker, events, _) = start();
        let id = worker.send(vault("crash"));
        let done = collect(&events, &[id]);
        assert!(matches!(done[&id].1, Outcome::Failed(_)), "{:?}", done[&id]);
    }

    #[test]
    fn a_stopped_worker_still_answers() {
        let (runtime, worker, events, _) = start();
        drop(runtime);
        let id = worker.send(vault("kv1"));
        let done = collect(&events, &[id]);
        assert!(matches!(done[&id].1, Outcome::Failed(_)));
    }
}
