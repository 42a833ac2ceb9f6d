//! Finds the apps that use a vault (`Command::FindConsumers`): the App Service and Function apps of the
//! subscriptions the vault's tenant shows, their settings' Key Vault references into this vault, the
//! platform's resolution status of each, and whether each reference's identity may `get` its secret now.
//! An app whose settings cannot be read is still listed, with why; a subscription whose apps cannot be
//! listed becomes a stated gap.

use std::collections::{BTreeSet, HashMap};

use futures_util::future::join_all;

use super::access::{load_vault_access, resolve_subject};
use super::protocol::{FailureReason, PrincipalRef};
use super::session::Session;
use crate::access::consumers::{
    FoundReference, PlatformStatus, SettingKind, UnreadApp, VaultConsumers, WebApp,
    consumers_of_app, evaluation_key,
};
use crate::access::{ObjectType, Target, evaluate};
use crate::azure::AzureError;
use crate::azure::identifiers::VaultUri;
use crate::azure::models::Subscription;

/// At most this many subscriptions' apps, or apps' settings, are read at once.
const READS_AT_ONCE: usize = 8;

/// One app with what could be read of it.
struct ReadApp {
    app: WebApp,
    references: Result<Vec<FoundReference>, AzureError>,
    statuses: Option<HashMap<(SettingKind, String), PlatformStatus>>,
}

pub async fn find_consumers(
    session: &Session,
    arm_id: &str,
    vault: &VaultUri,
    subscription_name: Option<String>,
) -> Result<VaultConsumers, FailureReason> {
    let mut data = load_vault_access(session, arm_id, subscription_name).await?;
    let mut answer = VaultConsumers {
        vault_name: vault.name().to_owned(),
        ..Default::default()
    };
    // The vault tenant's subscriptions: apps resolve references with identities of their own tenant, and
    // a vault accepts tokens of its tenant only.
    let subscriptions = session.arm.list_subscriptions().await?;
    answer.subscriptions_seen = subscriptions.len();
    let mut apps = Vec::new();
    for chunk in subscriptions.chunks(READS_AT_ONCE) {
        let listed = join_all(
            chunk
                .iter()
                .map(|subscription| list_sites(session, subscription)),
        )
        .await;
        for (subscription, listed) in chunk.iter().zip(listed) {
            match listed {
                Ok(sites) => apps.extend(sites),
                Err(error) => answer.gaps.push(format!(
                    "The apps of subscription {} could not be listed: {error}",
                    subscription.display_name
                )),
            }
        }
    }
    answer.apps_seen = apps.len();
    let host = vault_host(vault);
    let mut read = Vec::new();
    for chunk in apps.chunks(READS_AT_ONCE) {
        read.extend(
            join_all(
                chunk
                    .iter()
                    .map(|app| read_app(session, app.clone(), vault.name(), &host)),
            )
            .await,
        );
    }
    let evaluations = evaluate_identities(session, &read, &mut data).await;
    for app in read {
        match &app.references {
            Ok(references) if !references.is_empty() => {
                if app.statuses.is_none() {
                    answer.gaps.push(format!(
                        "The platform's resolution status of {}'s references could not be read",
                        app.app.name
                    ));
                }
                answer.consumers.extend(consumers_of_app(
                    &app.app,
                    references,
                    &evaluations,
                    &app.statuses.unwrap_or_default(),
                ));
            }
            Ok(_) => {}
            Err(error) => answer.unread_apps.push(UnreadApp {
                app_name: app.app.name.clone(),
                app_kind: app.app.kind_label(),
                why: unread_reason(error),
            }),
        }
    }
    answer.gaps.extend(data.gaps.iter().cloned());
    answer.consumers.sort_by(|a, b| {
        (a.secret_name.to_ascii_lowercase(), &a.app_name, &a.setting).cmp(&(
            b.secret_name.to_ascii_lowercase(),
            &b.app_name,
            &b.setting,
        ))
    });
    Ok(answer)
}

fn unread_reason(error: &AzureError) -> String {
    if error.status() == Some(403) {
        "its settings cannot be read: that needs Microsoft.Web/sites/config/list/action (Reader lacks it; Website Contributor has it)".into()
    } else {
        format!("its settings could not be read: {error}")
    }
}

/// The vault's host, as a `SecretUri` reference names it.
fn vault_host(vault: &VaultUri) -> String {
    url::Url::parse(vault.as_str())
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

async fn list_sites(
    session: &Session,
    subscription: &Subscription,
) -> Result<Vec<WebApp>, AzureError> {
    let sites = session
        .arm
        .list_sites(&subscription.subscription_id)
        .await?;
    Ok(sites.iter().map(|site| site.to_web_app()).collect())
}

/// An app's references into this vault, and (when there are any) the platform's statuses of them.
async fn read_app(session: &Session, app: WebApp, vault_name: &str, host: &str) -> ReadApp {
    let references = session
        .arm
        .list_site_references(&app.id)
        .await
        .map(|found| {
            found
                .into_iter()
                .filter(|found| found.reference.points_at(vault_name, host))
                .collect::<Vec<_>>()
        });
    let statuses = match &references {
        Ok(found) if !found.is_empty() => session
            .arm
            .list_reference_statuses(&app.id)
            .await
            .map(|statuses| statuses.into_iter().collect())
            .ok(),
        _ => None,
    };
    ReadApp {
        app,
        references,
        statuses,
    }
}

/// Evaluates each reference identity on each secret it reads; an identity that cannot be resolved in
/// the directory gets its reason instead.
async fn evaluate_identities(
    session: &Session,
    read: &[ReadApp],
    data: &mut crate::access::VaultAccessData,
) -> HashMap<String, Result<crate::access::AccessEvaluation, String>> {
    let mut wanted: HashMap<String, BTreeSet<String>> = HashMap::new();
    for app in read {
        let Ok(references) = &app.references else {
            continue;
        };
        if let Some(principal) = app.app.reference_identity().principal_id {
            wanted
                .entry(principal.to_ascii_lowercase())
                .or_default()
                .extend(
                    references
                        .iter()
                        .map(|found| found.reference.secret_name.clone()),
                );
        }
    }
    let mut evaluations = HashMap::new();
    for (principal, secrets) in wanted {
        let subject = resolve_subject(session, &PrincipalRef::Id(principal.clone()), data).await;
        for secret in secrets {
            let key = evaluation_key(&principal, &secret);
            let evaluation = match &subject {
                Ok(subject) => Ok(evaluate(
                    data,
                    subject,
                    &Target::Object {
                        object_type: ObjectType::Secret,
                        name: secret,
                    },
                )),
                Err(error) => Err(format!(
                    "the identity could not be read from the directory: {error}"
                )),
            };
            evaluations.insert(key, evaluation);
        }
    }
    evaluations
}
