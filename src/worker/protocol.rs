//! The `Command`/`Event` protocol between the UI and the worker.
//!
//! Rules (tested in `runner`): every `Command` gets exactly one terminal `Event` (`Finished` with `Done`,
//! `Failed` or `Cancelled`); list results stream as page events before it; a command that supersedes an
//! earlier one of the same kind cancels it; the UI drops events whose request id it no longer waits for.

use secrecy::SecretString;

use super::change_model::{
    AccessChange, AccessProbe, BulkItemOutcome, CancelFlag, Change, ChangeResult,
};
use super::transfer_model::{ExportRequest, SecretHandle, VersionComparison, WritePlan};
use crate::access::{AccessEvaluation, Target, VaultAccessData};
use crate::auth::device_code::DeviceCodePrompt;
use crate::auth::{AuthError, SignedInIdentity};
use crate::azure::AzureError;
use crate::azure::access_models::DirectoryObject;
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::models::{ListKind, ObjectItem, Subscription, VaultSummary};
use crate::azure::object_details::ObjectDetails;
use crate::azure::resource_id::resource_name;
use crate::transfer::certificate_files::CertificateFile;
use crate::transfer::compare::ComparedName;

/// Identifies one command and all events answering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// How to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInMethod {
    /// The signed-in Azure CLI (`az account get-access-token`).
    AzureCli { tenant_id: Option<String> },
    /// OAuth device code against the cloud's authority; the prompt is sent as an event.
    DeviceCode { tenant: String, client_id: String },
    /// The managed identity of the machine or app (IMDS, App Service, legacy App Service);
    /// `None`: the system-assigned identity.
    ManagedIdentity {
        user_assigned: Option<crate::auth::managed_identity::UserAssignedId>,
    },
    /// `AZURE_TENANT_ID`/`AZURE_CLIENT_ID` with `AZURE_CLIENT_SECRET` or `AZURE_FEDERATED_TOKEN_FILE`.
    EnvironmentServicePrincipal,
    /// `AzureServicesAuthConnectionString` (read from the environment snapshot, never carried here).
    ConnectionString,
    /// The refresh token an earlier device-code sign-in left in the OS keyring, without a prompt.
    SavedDeviceCode { tenant: String, client_id: String },
}

/// Which principal an access check is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalRef {
    /// The signed-in identity.
    Me,
    /// An object id, or the application (client) id of a service principal.
    Id(String),
}

/// A subscription to find vaults in, with the tenant whose token reads it (`None`: home).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionScope {
    pub subscription_id: String,
    pub tenant_id: Option<String>,
}

impl SubscriptionScope {
    /// `subscription`, read with the token of the tenant that listed it.
    pub fn of(subscription: &Subscription) -> Self {
        Self {
            subscription_id: subscription.subscription_id.clone(),
            tenant_id: subscription.arm_tenant(),
        }
    }
}

/// What the UI asks the worker to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    SignIn(SignInMethod),
    /// Drops the session and forgets its saved refresh token.
    SignOut,
    ListSubscriptions,
    ListVaults {
        subscription_id: String,
        /// The tenant whose token reads the subscription (`None`: home).
        tenant_id: Option<String>,
    },
    /// The vaults of many subscriptions at once (`fleet_discovery.rs`): one Resource Graph query per token
    /// tenant and batch of subscriptions, each subscription listed on its own where Resource Graph is
    /// refused. Per subscription: `VaultsPage`, then `SubscriptionVaultsListed`.
    DiscoverVaults {
        subscriptions: Vec<SubscriptionScope>,
    },
    /// Lists a vault's secrets, keys and certificates and their deleted items, all at once; vault loads
    /// beyond the worker's bound (default 8) wait for a free slot.
    LoadVault {
        vault: VaultUri,
    },
    /// The versions of one secret, key or certificate (`id` versionless).
    ListVersions {
        id: ObjectId,
    },
    /// A key's or certificate's bundle (public material, DER, policy) for the details pane.
    GetDetails {
        id: ObjectId,
    },
    /// Fetches a value after the person asked to reveal or copy it.
    GetSecretValue {
        id: ObjectId,
    },
    /// Access policies, role assignments (at, above and below), role and deny definitions and names.
    LoadVaultAccess {
        arm_id: String,
        subscription_name: Option<String>,
        /// The vault's tenant (`None`: home).
        tenant_id: Option<String>,
    },
    /// Users, groups and service principals matching a text.
    SearchPrincipals {
        text: String,
    },
    /// Who may perform an operation (or every operation) on a vault or one object in it, and by which
    /// path; groups expanded into their transitive members, PIM eligibility apart, self-granters flagged.
    WhoCan {
        arm_id: String,
        subscription_name: Option<String>,
        tenant_id: Option<String>,
        target: Target,
        operation: Option<crate::access::Operation>,
    },
    /// The App Service and Function apps whose settings reference secrets of this vault, with each
    /// reference's identity, its verdict for `get` and the platform's resolution status.
    FindConsumers {
        arm_id: String,
        vault: VaultUri,
        subscription_name: Option<String>,
        tenant_id: Option<String>,
    },
    /// Evaluates what a principal may do on a vault (or one object in it), and why.
    CheckAccess {
        arm_id: String,
        subscription_name: Option<String>,
        tenant_id: Option<String>,
        principal: PrincipalRef,
        target: Target,
    },
    /// A change the person confirmed; answered by one `Changed` (a creating certificate sends `Changed`
    /// with its pending operation first).
    Change(Change),
    /// An access change the person confirmed (the check's fix, or a revocation), through Resource Manager
    /// with the vault tenant's token (`None`: home).
    ChangeAccess {
        change: AccessChange,
        tenant_id: Option<String>,
    },
    /// Probes the data plane until it allows a read the signed-in identity was just granted.
    AwaitAccess {
        probe: AccessProbe,
    },
    /// Asks for a file and reads it as a secret value (`ValueFileRead`; nothing when the person cancels).
    ReadValueFile,
    /// Asks where to save `contents` and writes it (`FileSaved`).
    SaveTextFile {
        title: String,
        suggested_name: String,
        contents: String,
    },
    /// Many changes, each reported once by a `BulkItem`; `cancel` stops the run between items.
    Bulk {
        items: Vec<Change>,
        cancel: CancelFlag,
    },
    /// Asks where to save, then writes the rows (and, when asked, the values: the file is then owner-only);
    /// `Progress` while values are read, `Exported` at the end.
    Export(Box<ExportRequest>),
    /// Asks for an import file and plans it against `vault` (`WritesPlanned`); nothing is written.
    PlanImport {
        vault: VaultUri,
    },
    /// Plans copying secrets (versionless ids) into `target` (`WritesPlanned`); nothing is written.
    PlanCopy {
        sources: Vec<ObjectId>,
        target: VaultUri,
        all_versions: bool,
        keep_expiry: bool,
    },
    /// Compares the live secrets of two vaults (`VaultsCompared`), values by fingerprint.
    CompareVaults {
        left: VaultUri,
        right: VaultUri,
    },
    /// Compares two versions of a secret (`VersionsCompared`); the values come back only with `reveal`.
    CompareVersions {
        left: ObjectId,
        right: ObjectId,
        reveal: bool,
    },
    /// Saves an object's backup blob to a file the person picks.
    Backup {
        id: ObjectId,
    },
    /// Restores a backup file the person picks into `vault` (`Changed`).
    Restore {
        vault: VaultUri,
        kind: ObjectKind,
    },
    /// Saves a certificate (`id`, latest or a version) as `format`.
    DownloadCertificate {
        id: ObjectId,
        format: CertificateFile,
    },
    /// Writes parts of the identity's local index (nothing without one). Saves of the index never
    /// supersede each other: each carries whole files.
    SaveIndex(Box<crate::local_index::model::IndexWrite>),
    /// Deletes one vault's part of the identity's local index.
    ForgetIndexedVault {
        identity: crate::local_index::IndexIdentity,
        uri: VaultUri,
    },
    /// Deletes the identity's whole local index.
    DeleteIdentityIndex {
        identity: crate::local_index::IndexIdentity,
    },
    /// Reads the identity's local index (`IndexOpened`), for a sign-in as someone the launch did not expect.
    OpenIndex {
        identity: crate::local_index::IndexIdentity,
    },
    /// Asks for a file to open (`FilePicked`; nothing when cancelled).
    PickFile {
        title: String,
    },
    /// Imports the PFX or PEM at `path` as certificate `name` (`Changed`).
    ImportCertificate {
        vault: VaultUri,
        name: String,
        path: std::path::PathBuf,
        password: SecretHandle,
    },
}

/// Commands of the same key replace each other: the newer cancels the older still running.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SupersedeKey {
    SignIn,
    Subscriptions,
    /// Loading the same vault again cancels the earlier load of it; other vaults load alongside.
    VaultLoad(VaultUri),
    VersionList,
    Details,
    SecretValue,
    VaultAccess,
    PrincipalSearch,
    AccessCheck,
    WhoCan,
    /// Waiting for one granted read to reach the data plane.
    AccessWait,
    VersionComparison,
}

impl Command {
    pub fn supersede_key(&self) -> Option<SupersedeKey> {
        match self {
            Self::SignIn(_) | Self::SignOut => Some(SupersedeKey::SignIn),
            Self::ListSubscriptions => Some(SupersedeKey::Subscriptions),
            Self::ListVaults { .. } => None,
            // One per tenant as each tenant's subscriptions arrive: they run side by side.
            Self::DiscoverVaults { .. } => None,
            Self::LoadVault { vault } => Some(SupersedeKey::VaultLoad(vault.clone())),
            Self::ListVersions { .. } => Some(SupersedeKey::VersionList),
            Self::GetDetails { .. } => Some(SupersedeKey::Details),
            Self::GetSecretValue { .. } => Some(SupersedeKey::SecretValue),
            Self::LoadVaultAccess { .. } => Some(SupersedeKey::VaultAccess),
            Self::SearchPrincipals { .. } => Some(SupersedeKey::PrincipalSearch),
            Self::CheckAccess { .. } => Some(SupersedeKey::AccessCheck),
            Self::WhoCan { .. } => Some(SupersedeKey::WhoCan),
            Self::FindConsumers { .. } => None,
            // A change is never cancelled by another: it runs to its answer.
            Self::Change(_) | Self::Bulk { .. } => None,
            Self::ReadValueFile | Self::SaveTextFile { .. } => None,
            Self::ChangeAccess { .. } => None,
            Self::Export(_)
            | Self::PlanImport { .. }
            | Self::PlanCopy { .. }
            | Self::CompareVaults { .. }
            | Self::Backup { .. }
            | Self::Restore { .. }
            | Self::DownloadCertificate { .. }
            | Self::PickFile { .. }
            | Self::ImportCertificate { .. } => None,
            Self::SaveIndex(_)
            | Self::ForgetIndexedVault { .. }
            | Self::DeleteIdentityIndex { .. }
            | Self::OpenIndex { .. } => None,
            Self::CompareVersions { .. } => Some(SupersedeKey::VersionComparison),
            Self::AwaitAccess { .. } => Some(SupersedeKey::AccessWait),
        }
    }

    /// A short description for error messages ("listing secrets of kv1").
    pub fn describe(&self) -> String {
        match self {
            Self::SignIn(SignInMethod::AzureCli { .. }) => "signing in with the Azure CLI".into(),
            Self::SignIn(SignInMethod::DeviceCode { .. }) => "signing in with a device code".into(),
            Self::SignIn(SignInMethod::ManagedIdentity { .. }) => {
                "signing in with the managed identity".into()
            }
            Self::SignIn(SignInMethod::EnvironmentServicePrincipal) => {
                "signing in with the service principal from the environment".into()
            }
            Self::SignIn(SignInMethod::ConnectionString) => {
                "signing in with AzureServicesAuthConnectionString".into()
            }
            Self::SignIn(SignInMethod::SavedDeviceCode { .. }) => {
                "signing in with the saved sign-in".into()
            }
            Self::SignOut => "signing out".into(),
            Self::ListSubscriptions => "listing subscriptions".into(),
            Self::ListVaults {
                subscription_id, ..
            } => {
                format!("listing vaults of subscription {subscription_id}")
            }
            Self::DiscoverVaults { subscriptions } => {
                format!(
                    "finding the vaults of {} subscriptions",
                    subscriptions.len()
                )
            }
            Self::LoadVault { vault } => format!("loading {}", vault.name()),
            Self::ListVersions { id } => {
                format!(
                    "listing versions of {} {} in {}",
                    id.kind.singular(),
                    id.name,
                    id.vault.name()
                )
            }
            Self::GetDetails { id } => {
                format!(
                    "reading {} {} in {}",
                    id.kind.singular(),
                    id.name,
                    id.vault.name()
                )
            }
            Self::GetSecretValue { id } => {
                format!("reading the value of {} in {}", id.name, id.vault.name())
            }
            Self::LoadVaultAccess { arm_id, .. } => {
                format!("reading who may access {}", resource_name(arm_id))
            }
            Self::SearchPrincipals { text } => format!("searching the directory for '{text}'"),
            Self::WhoCan { arm_id, .. } => {
                format!("finding who may access {}", resource_name(arm_id))
            }
            Self::FindConsumers { arm_id, .. } => {
                format!("finding the apps that use {}", resource_name(arm_id))
            }
            Self::CheckAccess {
                arm_id, principal, ..
            } => match principal {
                PrincipalRef::Me => format!("checking your access to {}", resource_name(arm_id)),
                PrincipalRef::Id(id) => {
                    format!("checking the access of {id} to {}", resource_name(arm_id))
                }
            },
            Self::Change(change) => change.describe(),
            Self::Bulk { items, .. } => format!("changing {} items", items.len()),
            Self::ReadValueFile => "reading the value from a file".into(),
            Self::ChangeAccess { change, .. } => change.describe(),
            Self::AwaitAccess { probe } => format!(
                "waiting until {} allows {} {}",
                probe.vault.name(),
                probe.object_type.singular(),
                probe.permission
            ),
            Self::SaveTextFile { suggested_name, .. } => format!("saving {suggested_name}"),
            Self::Export(request) => format!(
                "exporting {} {}s of {}",
                request.items.len(),
                request.kind.singular(),
                request.vault.name()
            ),
            Self::PlanImport { vault } => format!("reading an import for {}", vault.name()),
            Self::PlanCopy {
                sources, target, ..
            } => format!(
                "planning a copy of {} secrets to {}",
                sources.len(),
                target.name()
            ),
            Self::CompareVaults { left, right } => {
                format!("comparing {} with {}", left.name(), right.name())
            }
            Self::CompareVersions { left, .. } => {
                format!("comparing two versions of {}", left.name)
            }
            Self::Backup { id } => format!("backing up {} {}", id.kind.singular(), id.name),
            Self::Restore { vault, kind } => {
                format!(
                    "restoring a {} backup into {}",
                    kind.singular(),
                    vault.name()
                )
            }
            Self::DownloadCertificate { id, .. } => format!("downloading certificate {}", id.name),
            Self::PickFile { .. } => "choosing a file".into(),
            Self::SaveIndex(_) => "saving the local index".into(),
            Self::ForgetIndexedVault { uri, .. } => {
                format!("forgetting {} in the local index", uri.name())
            }
            Self::DeleteIdentityIndex { .. } => "deleting this identity's local index".into(),
            Self::OpenIndex { .. } => "reading the local index".into(),
            Self::ImportCertificate { name, vault, .. } => {
                format!("importing certificate {name} into {}", vault.name())
            }
        }
    }
}

/// An answer from the worker.
#[derive(Debug)]
pub struct Event {
    pub request_id: RequestId,
    pub kind: EventKind,
}

/// The payload of an event. Everything except `Finished` is intermediate.
#[derive(Debug)]
pub enum EventKind {
    DeviceCode(DeviceCodePrompt),
    /// A device-code sign-in that works now but is not remembered for the next launch (no keyring, or the
    /// keyring refused it); sent before `SignedIn`.
    SignInNotRemembered(String),
    SignedIn(SignedInIdentity),
    /// The tenants the identity can reach, before their subscriptions.
    Tenants(Vec<crate::azure::models::Tenant>),
    /// A tenant whose subscriptions could not be listed (MFA required, no access, …); the others go on.
    TenantUnavailable {
        tenant_id: String,
        reason: String,
    },
    SubscriptionsPage(Vec<Subscription>),
    /// One tenant's subscriptions are all sent (`tenant_id` `None`: the home tenant's); the others may follow.
    TenantSubscriptionsListed {
        tenant_id: Option<String>,
    },
    VaultsPage {
        subscription_id: String,
        vaults: Vec<VaultSummary>,
    },
    /// One subscription's vaults are all sent (`DiscoverVaults`); `error` when they could not be listed.
    SubscriptionVaultsListed {
        subscription_id: String,
        error: Option<String>,
    },
    /// Resource Graph refused a query (`reason`): its subscriptions are listed one by one instead.
    ResourceGraphRefused {
        reason: String,
    },
    /// A page of one of a vault's lists.
    ObjectsPage {
        vault: VaultUri,
        list: ListKind,
        items: Vec<ObjectItem>,
    },
    /// One list of a vault ended (the others may go on); `error` when it failed.
    ListEnded {
        vault: VaultUri,
        list: ListKind,
        error: Option<WorkerError>,
    },
    VersionsPage {
        id: ObjectId,
        items: Vec<ObjectItem>,
    },
    /// A key's or certificate's details and its bundle JSON (no value in it).
    Details {
        id: ObjectId,
        details: ObjectDetails,
        raw: Box<serde_json::Value>,
    },
    /// The value of one secret version; `id` carries the version actually read.
    SecretValue {
        id: ObjectId,
        value: SecretString,
    },
    VaultAccess {
        arm_id: String,
        data: Box<VaultAccessData>,
    },
    PrincipalsFound {
        text: String,
        principals: Vec<DirectoryObject>,
    },
    /// Who may do what on a vault (`Command::WhoCan`).
    WhoCan {
        arm_id: String,
        data: Box<VaultAccessData>,
        answer: Box<crate::access::WhoCan>,
    },
    /// The apps that use a vault (`Command::FindConsumers`).
    Consumers {
        arm_id: String,
        consumers: Box<crate::access::consumers::VaultConsumers>,
    },
    AccessChecked {
        arm_id: String,
        data: Box<VaultAccessData>,
        evaluation: Box<AccessEvaluation>,
    },
    /// What the service holds after a change (or a certificate's creation under way).
    Changed(ChangeResult),
    /// An access change was made (Resource Manager accepted it).
    AccessChanged {
        summary: String,
    },
    /// One try of the data plane after an access change: allowed yet?
    AccessProbed {
        elapsed: std::time::Duration,
        allowed: bool,
    },
    /// A secret value read from the file the person picked.
    ValueFileRead {
        file_name: String,
        value: SecretString,
    },
    /// A file was written.
    FileSaved {
        path: String,
    },
    /// How far a long read has come (an export's values, a plan's or comparison's reads).
    Progress {
        done: usize,
        total: usize,
    },
    /// An export was written.
    Exported {
        path: String,
        rows: usize,
        with_values: bool,
        /// Disabled secrets, whose values cannot be read: exported without one.
        without_value: Vec<String>,
    },
    /// An import or copy planned against its target.
    WritesPlanned(Box<WritePlan>),
    VaultsCompared {
        left: VaultUri,
        right: VaultUri,
        rows: Vec<ComparedName>,
    },
    VersionsCompared(Box<VersionComparison>),
    /// The identity's local index as read from disk.
    IndexOpened(Box<crate::local_index::LoadedIndex>),
    /// The file the person picked.
    FilePicked {
        path: std::path::PathBuf,
    },
    /// One item of a bulk run ended (`index` into its items).
    BulkItem {
        index: usize,
        outcome: BulkItemOutcome,
    },
    /// Terminal: exactly one per command.
    Finished(Outcome),
}

/// How a command ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done,
    Failed(WorkerError),
    Cancelled,
}

/// A failed command: what we were doing and why it failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {source}")]
pub struct WorkerError {
    pub operation: String,
    #[source]
    pub source: FailureReason,
}

/// The underlying cause of a failed command.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FailureReason {
    #[error(transparent)]
    Azure(#[from] AzureError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Index(#[from] crate::local_index::IndexError),
    #[error("not signed in yet")]
    NotSignedIn,
    #[error("internal error: {0}")]
    Internal(String),
}
