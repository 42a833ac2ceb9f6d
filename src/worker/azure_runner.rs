//! `AzureRunner`: carries out commands against Azure or the emulator for the signed-in session, under
//! the adaptive bounds of `load_gate.rs` (vaults loading at once, subscriptions' vault lists at once).
//! Signing in is in `sign_in.rs`, loading a vault in `vault_load.rs`.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use tokio::sync::RwLock;

use super::access::{load_vault_access, resolve_subject};
use super::access_changes::{apply_access_change, await_access};
use super::bulk::{BULK_MAX_IN_FLIGHT, run_bulk};
use super::changes::apply_change;
use super::files::{read_value_file, save_text_file};
use super::load_gate::{AdaptiveGate, Aimd, Observers};
use super::paging::{list_vaults, stream_pages};
use super::protocol::{Command, EventKind, FailureReason};
use super::reply::{Reply, Waker};
use super::runner::{CommandRunner, WorkerHandle, spawn_with_runner};
use super::session::{Session, SessionSettings, SharedObserver};
use super::transfer::{backup, download_certificate, export, import_certificate, restore};
use super::transfer_plans::{compare_vaults, compare_versions, plan_copy, plan_import};
use super::vault_load::load_vault;
use crate::azure::Service;
use crate::azure::identifiers::{ObjectId, ObjectKind};
use crate::azure::models::Subscription;
use crate::azure::object_details::{CertificateDetails, KeyDetails, ObjectDetails};
use crate::azure::pipeline::ResponseObserver;
use crate::worker::Event;

/// Starts the worker on `runtime` with the Azure runner; events arrive on the returned receiver.
pub fn spawn_worker(
    runtime: &tokio::runtime::Handle,
    settings: SessionSettings,
    waker: Waker,
) -> (WorkerHandle, Receiver<Event>) {
    spawn_with_runner(runtime, Arc::new(AzureRunner::new(settings)), waker)
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
/// How many bulk items start at once; grows while Key Vault answers freely.
const BULK_ITEMS_AT_START: usize = 8;
/// One halving per second at most: a burst of 429s is one signal.
const GATE_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs commands against Azure or the emulator for the current session.
pub struct AzureRunner {
    pub(super) settings: SessionSettings,
    pub(super) session: RwLock<Option<Session>>,
    /// How many vaults load at once: adaptive, under `settings.vault_load_cap`.
    vault_loads: Arc<AdaptiveGate>,
    /// How many subscriptions' vault lists are read at once.
    vault_lists: Arc<AdaptiveGate>,
    /// How many items of a bulk run are under way at once (Key Vault's 429s narrow it).
    bulk_items: Arc<AdaptiveGate>,
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
        let bulk_items = AdaptiveGate::new(
            Service::KeyVault,
            Aimd::new(BULK_ITEMS_AT_START, 1, BULK_MAX_IN_FLIGHT, GATE_COOLDOWN),
        );
        let mut observers: Vec<Arc<dyn ResponseObserver>> =
            vec![vault_loads.clone(), vault_lists.clone(), bulk_items.clone()];
        if let Some(outer) = settings.response_observer.take() {
            observers.push(outer.0);
        }
        settings.response_observer = Some(SharedObserver(Arc::new(Observers(observers))));
        Self {
            settings,
            session: RwLock::new(None),
            vault_loads,
            vault_lists,
            bulk_items,
        }
    }

    /// The current width of the vault-load bound (for tests and benchmarks).
    pub fn vault_load_limit(&self) -> usize {
        self.vault_loads.limit()
    }

    fn picker(&self) -> &dyn super::files::FilePicker {
        self.settings.file_picker.0.as_ref()
    }

    async fn session(&self) -> Result<Session, FailureReason> {
        self.session
            .read()
            .await
            .clone()
            .ok_or(FailureReason::NotSignedIn)
    }

    async fn execute(&self, command: Command, reply: &Reply) -> Result<(), FailureReason> {
        match command {
            Command::SignIn(method) => self.sign_in(method, reply).await,
            Command::SignOut => self.sign_out().await,
            Command::ListSubscriptions => self.list_all_subscriptions(reply).await,
            Command::ListVaults {
                subscription_id,
                tenant_id,
            } => {
                let session = self.session().await?.for_tenant(tenant_id.as_deref());
                // Waits here while the bound's worth of subscriptions is being listed.
                let _slot = self.vault_lists.acquire().await;
                list_vaults(&session, &subscription_id, reply).await
            }
            Command::DiscoverVaults { subscriptions } => {
                let session = self.session().await?;
                super::fleet_discovery::discover_vaults(
                    &session,
                    subscriptions,
                    &self.vault_lists,
                    reply,
                )
                .await
            }
            Command::LoadVault { vault } => {
                let session = self.session().await?;
                // Waits here while the bound's worth of vaults is loading; a cancelled load frees its slot.
                let _slot = self.vault_loads.acquire().await;
                load_vault(&session, &vault, reply).await
            }
            Command::ListVersions { id } => list_versions(&self.session().await?, id, reply).await,
            Command::GetDetails { id } => {
                let raw = self.session().await?.keyvault.get_bundle(&id).await?;
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
                let principals = self.session().await?.graph.search(&text).await?;
                reply.send(EventKind::PrincipalsFound { text, principals });
                Ok(())
            }
            Command::WhoCan {
                arm_id,
                subscription_name,
                tenant_id,
                target,
                operation,
            } => {
                let session = self.session().await?.for_tenant(tenant_id.as_deref());
                let (data, answer) = super::who_can::load_who_can(
                    &session,
                    &arm_id,
                    subscription_name,
                    &target,
                    operation,
                )
                .await?;
                reply.send(EventKind::WhoCan {
                    arm_id,
                    data: Box::new(data),
                    answer: Box::new(answer),
                });
                Ok(())
            }
            Command::FindConsumers {
                arm_id,
                vault,
                subscription_name,
                tenant_id,
            } => {
                let session = self.session().await?.for_tenant(tenant_id.as_deref());
                let consumers =
                    super::consumers::find_consumers(&session, &arm_id, &vault, subscription_name)
                        .await?;
                reply.send(EventKind::Consumers {
                    arm_id,
                    consumers: Box::new(consumers),
                });
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
            Command::ChangeAccess { change, tenant_id } => {
                let session = self.session().await?.for_tenant(tenant_id.as_deref());
                apply_access_change(&session, &change, reply).await
            }
            Command::AwaitAccess { probe } => {
                await_access(&self.session().await?, &probe, reply).await
            }
            Command::Export(request) => {
                let session = self.session().await?;
                export(&session, self.picker(), *request, reply).await
            }
            Command::PlanImport { vault } => {
                plan_import(&self.session().await?, self.picker(), &vault, reply).await
            }
            Command::PlanCopy {
                sources,
                target,
                all_versions,
                keep_expiry,
            } => {
                let session = self.session().await?;
                plan_copy(
                    &session,
                    &sources,
                    &target,
                    all_versions,
                    keep_expiry,
                    reply,
                )
                .await
            }
            Command::CompareVaults { left, right } => {
                compare_vaults(&self.session().await?, &left, &right, reply).await
            }
            Command::CompareVersions {
                left,
                right,
                reveal,
            } => compare_versions(&self.session().await?, &left, &right, reveal, reply).await,
            Command::Backup { id } => {
                backup(&self.session().await?, self.picker(), &id, reply).await
            }
            Command::Restore { vault, kind } => {
                restore(&self.session().await?, self.picker(), &vault, kind, reply).await
            }
            Command::DownloadCertificate { id, format } => {
                let session = self.session().await?;
                download_certificate(&session, self.picker(), &id, format, reply).await
            }
            Command::SaveIndex(write) => {
                super::local_index::save(self.settings.local_index.as_ref(), *write).await
            }
            Command::ForgetIndexedVault { identity, uri } => {
                super::local_index::forget_vault(self.settings.local_index.as_ref(), identity, uri)
                    .await
            }
            Command::DeleteIdentityIndex { identity } => {
                super::local_index::delete_identity(self.settings.local_index.as_ref(), identity)
                    .await
            }
            Command::OpenIndex { identity } => {
                super::local_index::open(self.settings.local_index.as_ref(), identity, reply).await
            }
            Command::PickFile { title } => {
                if let Some(path) = self.picker().open(&title).await {
                    reply.send(EventKind::FilePicked { path });
                }
                Ok(())
            }
            Command::ImportCertificate {
                vault,
                name,
                path,
                password,
            } => {
                let session = self.session().await?;
                import_certificate(&session, &vault, &name, &path, &password, reply).await
            }
            Command::ReadValueFile => {
                read_value_file(self.settings.file_picker.0.as_ref(), reply).await
            }
            Command::SaveTextFile {
                title,
                suggested_name,
                contents,
            } => {
                save_text_file(
                    self.settings.file_picker.0.as_ref(),
                    &title,
                    &suggested_name,
                    &contents,
                    reply,
                )
                .await
            }
            Command::Change(change) => apply_change(&self.session().await?, &change, reply).await,
            Command::Bulk { items, cancel } => {
                let session = self.session().await?;
                run_bulk(&session, &self.bulk_items, items, &cancel, reply).await
            }
            Command::GetSecretValue { id } => {
                let bundle = self
                    .session()
                    .await?
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

    /// Every reachable tenant (home first; without `/tenants`, the home tenant alone) and the
    /// subscriptions each one's token sees, each subscription once and marked with the tenant that listed
    /// it; a tenant that refuses is reported and skipped. A tenant that projects subscriptions into ours
    /// through Azure Lighthouse (`ProjectedBy`) is not asked: its delegated subscriptions come with the
    /// managing tenant's list, and its own tokens are not ours to have.
    async fn list_all_subscriptions(&self, reply: &Reply) -> Result<(), FailureReason> {
        let session = self.session().await?;
        let home = session.tokens.home_tenant();
        let mut tenants = match session.arm.list_tenants().await {
            Ok(tenants) => tenants,
            Err(error) => {
                tracing::warn!(%error, "tenants could not be listed; showing the home tenant only");
                Vec::new()
            }
        };
        tenants.sort_by_key(|tenant| Some(tenant.tenant_id.to_ascii_lowercase()) != home);
        reply.send(EventKind::Tenants(tenants.clone()));
        let mut seen = HashSet::new();
        list_subscriptions(&session, None, home.as_deref(), &mut seen, reply).await?;
        reply.send(EventKind::TenantSubscriptionsListed { tenant_id: None });
        for tenant in tenants.iter().filter(|tenant| {
            Some(tenant.tenant_id.to_ascii_lowercase()) != home
                && tenant.tenant_category.as_deref() != Some("ProjectedBy")
        }) {
            let in_tenant = session.for_tenant(Some(&tenant.tenant_id));
            let tenant_id = Some(tenant.tenant_id.as_str());
            match list_subscriptions(&in_tenant, tenant_id, tenant_id, &mut seen, reply).await {
                Ok(()) => reply.send(EventKind::TenantSubscriptionsListed {
                    tenant_id: Some(tenant.tenant_id.clone()),
                }),
                Err(error) => reply.send(EventKind::TenantUnavailable {
                    tenant_id: tenant.tenant_id.clone(),
                    reason: error.to_string(),
                }),
            }
        }
        Ok(())
    }
}

/// Streams an object's versions, page by page.
async fn list_versions(
    session: &Session,
    id: ObjectId,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let id = &id;
    stream_pages(
        |next| async move {
            session
                .keyvault
                .list_versions_page(&id.vault, id.kind, &id.name, next.as_deref())
                .await
        },
        |items| {
            reply.send(EventKind::VersionsPage {
                id: id.clone(),
                items,
            })
        },
    )
    .await
}

/// Streams the subscriptions one tenant's token sees (`tenant` `None`: home), each marked as listed in
/// `listed_in` (the home tenant's id when known) and those already `seen` in another tenant left out.
async fn list_subscriptions(
    session: &Session,
    tenant: Option<&str>,
    listed_in: Option<&str>,
    seen: &mut HashSet<String>,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let arm = &session.arm.for_tenant(tenant);
    stream_pages(
        |next| async move { arm.list_subscriptions_page(next.as_deref()).await },
        |page| {
            let page: Vec<Subscription> = page
                .into_iter()
                .filter(|subscription| {
                    seen.insert(subscription.subscription_id.to_ascii_lowercase())
                })
                .map(|subscription| Subscription {
                    listed_in_tenant: listed_in.map(str::to_owned),
                    ..subscription
                })
                .collect();
            reply.send(EventKind::SubscriptionsPage(page));
        },
    )
    .await
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
