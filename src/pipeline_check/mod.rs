//! `vaultscope check` and `vaultscope who-can`: the access check of the explorer, and its reverse, for
//! pipelines. It signs in through the worker like
//! the app, finds the vault by its URI among the visible subscriptions, runs the same evaluation
//! (`Command::CheckAccess`) and reports each asked operation's verdict, path and fix; `report.rs` renders
//! the answer as text or as versioned JSON. Exit codes: 0 every asked operation allowed, 1 one denied,
//! 2 an error (with its sentence).

pub mod report;
pub mod who_can_report;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::access::{AccessEvaluation, ObjectType, Operation, Target, VaultAccessData};
use crate::azure::identifiers::VaultUri;
use crate::azure::models::{Subscription, VaultSummary};
use crate::worker::{
    Command, Event, EventKind, Outcome, PrincipalRef, RequestId, SignInMethod, SubscriptionScope,
    WorkerHandle,
};

/// What a pipeline asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequest {
    pub vault: VaultUri,
    /// The vault, or one secret, key or certificate in it.
    pub target: Target,
    pub principal: PrincipalRef,
    /// The operations asked about; empty: every operation of the target's type (all types for a vault).
    pub operations: Vec<Operation>,
}

/// The check could not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    BadRequest(String),
    #[error("signing in failed: {0}")]
    SignIn(String),
    #[error("{0}")]
    Worker(String),
    #[error(
        "{vault} is not among the vaults this identity can see in Resource Manager ({subscriptions} subscriptions searched); the check needs to read its access policies or role assignments there"
    )]
    VaultNotFound { vault: String, subscriptions: usize },
    #[error("no answer within {0} s")]
    TimedOut(u64),
}

/// Reads `--operation` values: `get` (of the target's type, secrets for a vault), `secrets/get`,
/// `keys/sign`, or a data action (`Microsoft.KeyVault/vaults/secrets/getSecret/action`).
pub fn parse_operation(text: &str, default_type: ObjectType) -> Result<Operation, CheckError> {
    let text = text.trim();
    let all = || {
        ObjectType::ALL
            .iter()
            .flat_map(|kind| kind.operations().iter().copied())
    };
    if let Some(found) = all().find(|operation| operation.data_action().eq_ignore_ascii_case(text))
    {
        return Ok(found);
    }
    let (object_type, name) = match text.split_once('/') {
        Some((collection, name)) => {
            let object_type = ObjectType::ALL
                .into_iter()
                .find(|kind| {
                    kind.collection().eq_ignore_ascii_case(collection)
                        || kind.singular().eq_ignore_ascii_case(collection)
                })
                .ok_or_else(|| {
                    CheckError::BadRequest(format!(
                        "'{collection}' is not secrets, keys or certificates"
                    ))
                })?;
            (object_type, name)
        }
        None => (default_type, text),
    };
    object_type
        .operations()
        .iter()
        .copied()
        .find(|operation| {
            operation.name.eq_ignore_ascii_case(name)
                || operation.permission.eq_ignore_ascii_case(name)
        })
        .ok_or_else(|| {
            let known: Vec<&str> = object_type.operations().iter().map(|o| o.name).collect();
            CheckError::BadRequest(format!(
                "'{name}' is not a {} operation; known: {}",
                object_type.singular(),
                known.join(", ")
            ))
        })
}

/// The sign-in a pipeline means when it names none, as its environment shows it: the connection string,
/// else a service principal from the environment, else a managed identity, else the Azure CLI.
pub fn default_sign_in(
    environment: &crate::auth::environment_snapshot::EnvironmentSnapshot,
    user_assigned: Option<crate::auth::managed_identity::UserAssignedId>,
) -> SignInMethod {
    let service_principal = environment.has("AZURE_CLIENT_ID")
        && environment.has("AZURE_TENANT_ID")
        && (environment.has("AZURE_CLIENT_SECRET")
            || environment.has("AZURE_FEDERATED_TOKEN_FILE"));
    let managed_identity = [
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    ]
    .iter()
    .any(|name| environment.has(name));
    if environment.has("AzureServicesAuthConnectionString") {
        SignInMethod::ConnectionString
    } else if service_principal {
        SignInMethod::EnvironmentServicePrincipal
    } else if managed_identity {
        SignInMethod::ManagedIdentity { user_assigned }
    } else {
        SignInMethod::AzureCli { tenant_id: None }
    }
}

/// The answer: the evaluation, and the verdicts of the operations asked about.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub vault: VaultUri,
    pub arm_id: String,
    pub data: VaultAccessData,
    pub evaluation: AccessEvaluation,
    pub asked: Vec<Operation>,
}

impl CheckReport {
    /// Whether a denial may be wrong because something that could grant it was unreadable (role
    /// assignments or definitions, group memberships): then the check cannot tell, and says so.
    pub fn undecided(&self) -> bool {
        let unreadable = self
            .data
            .gaps
            .iter()
            .any(|gap| !gap.starts_with("Principal names could not be read"));
        unreadable && !self.all_allowed()
    }

    /// Whether every asked operation is allowed.
    pub fn all_allowed(&self) -> bool {
        self.asked_verdicts().iter().all(|verdict| verdict.allowed)
    }

    /// The verdicts of the asked operations, in the order asked.
    pub fn asked_verdicts(&self) -> Vec<&crate::access::Verdict> {
        self.asked
            .iter()
            .filter_map(|operation| {
                self.evaluation
                    .verdicts
                    .iter()
                    .find(|verdict| verdict.operation == *operation)
            })
            .collect()
    }

    /// The process exit code: 0 allowed, 1 denied, 2 when a denial cannot be trusted ([`Self::undecided`]).
    pub fn exit_code(&self) -> i32 {
        if self.all_allowed() {
            0
        } else if self.undecided() {
            ERROR_EXIT_CODE
        } else {
            1
        }
    }
}

/// The exit code of an error.
pub const ERROR_EXIT_CODE: i32 = 2;

/// Waits for `id`'s events until its terminal one, within `deadline`; a device-code prompt goes to
/// `on_prompt` as it arrives (the person has to act on it while the sign-in waits).
fn collect(
    events: &Receiver<Event>,
    id: RequestId,
    deadline: Instant,
    timeout: Duration,
    on_prompt: &mut dyn FnMut(&str),
) -> Result<(Vec<EventKind>, Outcome), CheckError> {
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .map_err(|_| CheckError::TimedOut(timeout.as_secs()))?;
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::Finished(outcome) => return Ok((seen, outcome)),
            EventKind::DeviceCode(prompt) => on_prompt(&prompt.message),
            kind => seen.push(kind),
        }
    }
}

fn failed(outcome: Outcome) -> Option<String> {
    match outcome {
        Outcome::Done => None,
        Outcome::Failed(error) => Some(error.to_string()),
        Outcome::Cancelled => Some("cancelled".to_owned()),
    }
}

/// The vault a pipeline named, found in Resource Manager after signing in.
struct LocatedVault {
    arm_id: String,
    subscription: Subscription,
}

/// A command's events, or its failure as the check's error.
fn finished((seen, outcome): (Vec<EventKind>, Outcome)) -> Result<Vec<EventKind>, CheckError> {
    match failed(outcome) {
        None => Ok(seen),
        Some(reason) => Err(CheckError::Worker(reason)),
    }
}

/// Signs in with `sign_in` and finds `uri` among the visible subscriptions' vaults.
fn sign_in_and_locate(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    sign_in: SignInMethod,
    uri: &VaultUri,
    deadline: Instant,
    timeout: Duration,
    on_prompt: &mut dyn FnMut(&str),
) -> Result<LocatedVault, CheckError> {
    let id = worker.send(Command::SignIn(sign_in));
    let (_, outcome) = collect(events, id, deadline, timeout, on_prompt)?;
    if let Some(reason) = failed(outcome) {
        return Err(CheckError::SignIn(reason));
    }
    let id = worker.send(Command::ListSubscriptions);
    let seen = finished(collect(events, id, deadline, timeout, on_prompt)?)?;
    let subscriptions: Vec<Subscription> = seen
        .into_iter()
        .filter_map(|kind| match kind {
            EventKind::SubscriptionsPage(page) => Some(page),
            _ => None,
        })
        .flatten()
        .collect();
    let (vault, subscription) = find_vault(worker, events, &subscriptions, uri, deadline, timeout)?
        .ok_or_else(|| CheckError::VaultNotFound {
            vault: uri.to_string(),
            subscriptions: subscriptions.len(),
        })?;
    let arm_id = vault.arm_id.clone().ok_or_else(|| {
        CheckError::Worker(format!(
            "Resource Manager gave {} no resource id",
            vault.name
        ))
    })?;
    Ok(LocatedVault {
        arm_id,
        subscription,
    })
}

impl LocatedVault {
    /// The tenant whose token reads the vault in ARM (a Lighthouse-delegated one: the managing tenant).
    fn tenant(&self) -> Option<String> {
        self.subscription.arm_tenant()
    }
}

/// Signs in with `sign_in`, finds the vault and checks. A device code prompt is handed to `on_prompt`.
pub fn run_check(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    sign_in: SignInMethod,
    request: &CheckRequest,
    timeout: Duration,
    mut on_prompt: impl FnMut(&str),
) -> Result<CheckReport, CheckError> {
    let deadline = Instant::now() + timeout;
    let located = sign_in_and_locate(
        worker,
        events,
        sign_in,
        &request.vault,
        deadline,
        timeout,
        &mut on_prompt,
    )?;
    let id = worker.send(Command::CheckAccess {
        arm_id: located.arm_id.clone(),
        subscription_name: Some(located.subscription.display_name.clone()),
        tenant_id: located.tenant(),
        principal: request.principal.clone(),
        target: request.target.clone(),
    });
    let seen = finished(collect(events, id, deadline, timeout, &mut on_prompt)?)?;
    let (data, evaluation) = seen
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::AccessChecked {
                data, evaluation, ..
            } => Some((*data, *evaluation)),
            _ => None,
        })
        .ok_or_else(|| CheckError::Worker("the check ended without an answer".to_owned()))?;
    let asked = if request.operations.is_empty() {
        match &request.target {
            Target::Object { object_type, .. } => object_type.operations().to_vec(),
            Target::Vault => evaluation
                .verdicts
                .iter()
                .map(|verdict| verdict.operation)
                .collect(),
        }
    } else {
        request.operations.clone()
    };
    Ok(CheckReport {
        vault: request.vault.clone(),
        arm_id: located.arm_id,
        data,
        evaluation,
        asked,
    })
}

/// The answer of `vaultscope who-can`.
#[derive(Debug, Clone)]
pub struct WhoCanReport {
    pub vault: VaultUri,
    pub arm_id: String,
    pub answer: crate::access::WhoCan,
}

/// What `vaultscope who-can` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoCanRequest {
    pub vault: VaultUri,
    pub target: Target,
    /// `None`: every operation of the target's type (all types for a vault).
    pub operation: Option<Operation>,
}

/// Signs in, finds the vault and asks who may perform the operation on the target.
pub fn run_who_can(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    sign_in: SignInMethod,
    request: &WhoCanRequest,
    timeout: Duration,
    mut on_prompt: impl FnMut(&str),
) -> Result<WhoCanReport, CheckError> {
    let deadline = Instant::now() + timeout;
    let located = sign_in_and_locate(
        worker,
        events,
        sign_in,
        &request.vault,
        deadline,
        timeout,
        &mut on_prompt,
    )?;
    let id = worker.send(Command::WhoCan {
        arm_id: located.arm_id.clone(),
        subscription_name: Some(located.subscription.display_name.clone()),
        tenant_id: located.tenant(),
        target: request.target.clone(),
        operation: request.operation,
    });
    let seen = finished(collect(events, id, deadline, timeout, &mut on_prompt)?)?;
    let answer = seen
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::WhoCan { answer, .. } => Some(*answer),
            _ => None,
        })
        .ok_or_else(|| CheckError::Worker("who-can ended without an answer".to_owned()))?;
    Ok(WhoCanReport {
        vault: request.vault.clone(),
        arm_id: located.arm_id,
        answer,
    })
}

/// The vault with `uri` among the subscriptions' vaults, and its subscription.
fn find_vault(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    subscriptions: &[Subscription],
    uri: &VaultUri,
    deadline: Instant,
    timeout: Duration,
) -> Result<Option<(VaultSummary, Subscription)>, CheckError> {
    // One discovery: Resource Graph where it answers, else each subscription listed (bounded).
    let id = worker.send(Command::DiscoverVaults {
        subscriptions: subscriptions.iter().map(SubscriptionScope::of).collect(),
    });
    let mut found = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .map_err(|_| CheckError::TimedOut(timeout.as_secs()))?;
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::VaultsPage {
                vaults,
                subscription_id,
            } => {
                if found.is_none()
                    && let Some(vault) = vaults.into_iter().find(|vault| vault.uri == *uri)
                    && let Some(subscription) = subscriptions
                        .iter()
                        .find(|subscription| subscription.subscription_id == subscription_id)
                {
                    found = Some((vault, subscription.clone()));
                }
            }
            EventKind::Finished(_) => break,
            _ => {}
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sign_in_follows_the_environment() {
        use crate::auth::environment_snapshot::EnvironmentSnapshot;
        let of = |pairs: &[(&str, &str)]| {
            default_sign_in(
                &EnvironmentSnapshot::from_pairs(
                    pairs
                        .iter()
                        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                        .collect::<Vec<_>>(),
                ),
                None,
            )
        };
        assert_eq!(of(&[]), SignInMethod::AzureCli { tenant_id: None });
        assert_eq!(
            of(&[("IDENTITY_ENDPOINT", "https://x"), ("IDENTITY_HEADER", "h")]),
            SignInMethod::ManagedIdentity {
                user_assigned: None
            }
        );
        assert_eq!(
            of(&[
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_SECRET", "s"),
                ("IDENTITY_ENDPOINT", "https://x"),
            ]),
            SignInMethod::EnvironmentServicePrincipal
        );
        assert_eq!(
            of(&[("AzureServicesAuthConnectionString", "RunAs=App")]),
            SignInMethod::ConnectionString
        );
    }

    #[test]
    fn operations_are_read_in_every_spelling() {
        let get = parse_operation("get", ObjectType::Secret).expect("get");
        assert_eq!((get.object_type, get.name), (ObjectType::Secret, "get"));
        let sign = parse_operation("keys/sign", ObjectType::Secret).expect("sign");
        assert_eq!((sign.object_type, sign.name), (ObjectType::Key, "sign"));
        let action = parse_operation(
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            ObjectType::Key,
        )
        .expect("data action");
        assert_eq!(action, get);
        assert!(parse_operation("fly", ObjectType::Secret).is_err());
        assert!(parse_operation("blobs/get", ObjectType::Secret).is_err());
    }
}
