//! Carrying out a confirmed change: one write per `Change`, its answer as a `ChangeResult`, and for a
//! non-idempotent write whose answer was lost (network error, timeout, 5xx) a re-read that says what the
//! service actually holds ("outcome unknown" → what happened). A certificate being created is polled until
//! its operation completes or fails.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use super::change_model::{Change, ChangeEffect, ChangeResult, DraftHandle};
use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use super::session::Session;
use crate::azure::AzureError;
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::keyvault_writes::{CertificateOperation, SecretDraft, item_from_bundle};
use crate::azure::models::ObjectItem;

/// How far back of the write's start a version created by it may be dated: clocks of client and service
/// differ (Key Vault's own stamps are the service's clock).
const CLOCK_SKEW: i64 = 60;

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Whether the write may have been carried out although no answer says so.
pub fn outcome_unknown(error: &AzureError) -> bool {
    match error {
        AzureError::Network { .. } | AzureError::Timeout { .. } => true,
        AzureError::Service { status, .. } => matches!(status, 500 | 502 | 504),
        _ => false,
    }
}

/// Carries out `change`, sending progress (a pending certificate) and its result through `reply`.
pub async fn apply_change(
    session: &Session,
    change: &Change,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let result = carry_out(session, change, &|operation| {
        reply.send(EventKind::Changed(ChangeResult {
            vault: change.vault().clone(),
            kind: change.kind(),
            name: change.name().to_owned(),
            effect: ChangeEffect::Pending(operation),
            reread: None,
        }))
    })
    .await?;
    reply.send(EventKind::Changed(result));
    Ok(())
}

/// Carries out one change (also one item of a bulk run) and returns what the service holds afterwards.
pub async fn carry_out(
    session: &Session,
    change: &Change,
    on_pending: &(dyn Fn(CertificateOperation) + Send + Sync),
) -> Result<ChangeResult, FailureReason> {
    let keyvault = &session.keyvault;
    let started = now_unix();
    let result = |effect| ChangeResult {
        vault: change.vault().clone(),
        kind: change.kind(),
        name: change.name().to_owned(),
        effect,
        reread: None,
    };
    let written = match change {
        Change::SetSecret { vault, name, draft } => keyvault
            .set_secret(vault, name, &draft.0)
            .await
            .map(ChangeEffect::Live),
        Change::RollBackSecret { from } => {
            let old = keyvault
                .get_secret(&from.vault, &from.name, from.version.as_deref())
                .await?;
            let draft = SecretDraft {
                value: old.value,
                content_type: old.content_type,
                tags: old.tags,
                enabled: true,
                // Dates of the old version carry over only while they still lie ahead.
                not_before: old.attributes.nbf.filter(|nbf| *nbf > started),
                expires: old.attributes.exp.filter(|exp| *exp > started),
            };
            keyvault
                .set_secret(&from.vault, &from.name, &draft)
                .await
                .map(ChangeEffect::Live)
        }
        Change::UpdateVersion { id, update } => {
            keyvault.update_version(id, update).await.map(|item| {
                if id.version.is_some() {
                    ChangeEffect::VersionChanged(item)
                } else {
                    ChangeEffect::Live(item)
                }
            })
        }
        Change::Delete { vault, kind, name } => keyvault
            .delete_object(vault, *kind, name)
            .await
            .map(ChangeEffect::Deleted),
        Change::Recover { vault, kind, name } => keyvault
            .recover_deleted(vault, *kind, name)
            .await
            .map(ChangeEffect::Live),
        Change::Purge { vault, kind, name } => keyvault
            .purge_deleted(vault, *kind, name)
            .await
            .map(|()| ChangeEffect::Purged),
        Change::CreateKey { vault, name, draft } => keyvault
            .create_key(vault, name, draft)
            .await
            .map(ChangeEffect::Live),
        Change::RotateKey { vault, name } => keyvault
            .rotate_key(vault, name)
            .await
            .map(ChangeEffect::Live),
        Change::SetSecretVersions {
            vault,
            name,
            drafts,
            recover_first,
        } => {
            return write_versions(session, vault, name, drafts, *recover_first)
                .await
                .map(|item| result(ChangeEffect::Live(item)));
        }
        Change::CreateCertificate { vault, name, draft } => {
            match keyvault.create_certificate(vault, name, draft).await {
                Ok(operation) => {
                    return follow_certificate(session, vault, name, operation, on_pending)
                        .await
                        .map(result);
                }
                Err(error) => Err(error),
            }
        }
    };
    match written {
        Ok(effect) => Ok(result(effect)),
        Err(error) if !change.is_idempotent() && outcome_unknown(&error) => {
            let (effect, found) = reread(session, change, started, &error).await?;
            let mut answer = result(effect);
            answer.reread = Some(found);
            Ok(answer)
        }
        Err(error) => Err(error.into()),
    }
}

/// How long a recovered secret may take to become writable (Key Vault recovers in the background).
const RECOVERY_WAIT: Duration = Duration::from_secs(60);

/// Writes `drafts` as versions in order, after recovering the deleted secret when asked. A write that fails
/// part-way says how many versions were written; none is sent twice.
async fn write_versions(
    session: &Session,
    vault: &VaultUri,
    name: &str,
    drafts: &[DraftHandle],
    recover_first: bool,
) -> Result<ObjectItem, FailureReason> {
    let keyvault = &session.keyvault;
    if recover_first {
        keyvault
            .recover_deleted(vault, ObjectKind::Secret, name)
            .await?;
        // The Python SDK's recover poller waits the same way: until the object reads back.
        let until = tokio::time::Instant::now() + RECOVERY_WAIT;
        while newest_version(session, vault, ObjectKind::Secret, name)
            .await?
            .is_none()
        {
            if tokio::time::Instant::now() > until {
                return Err(FailureReason::Internal(format!(
                    "{name} was recovered but is not readable after {} s; nothing was written to it",
                    RECOVERY_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let mut written = None;
    for (index, draft) in drafts.iter().enumerate() {
        match keyvault.set_secret(vault, name, &draft.0).await {
            Ok(item) => written = Some(item),
            Err(error) if index == 0 => return Err(error.into()),
            Err(error) => {
                return Err(FailureReason::Internal(format!(
                    "{index} of {} versions were written, then: {error}",
                    drafts.len()
                )));
            }
        }
    }
    written.ok_or_else(|| FailureReason::Internal("no version to write".into()))
}

/// Polls a certificate's operation until it is no longer in progress, honouring the service's
/// `Retry-After` (between 1 and 10 s), then reads the certificate.
async fn follow_certificate(
    session: &Session,
    vault: &VaultUri,
    name: &str,
    mut operation: CertificateOperation,
    on_pending: &(dyn Fn(CertificateOperation) + Send + Sync),
) -> Result<ChangeEffect, FailureReason> {
    while operation.in_progress() {
        let wait = operation
            .retry_after
            .unwrap_or(Duration::from_secs(5))
            .clamp(Duration::from_secs(1), Duration::from_secs(10));
        on_pending(operation);
        tokio::time::sleep(wait).await;
        operation = session.keyvault.certificate_operation(vault, name).await?;
    }
    if !operation.status.eq_ignore_ascii_case("completed") {
        return Err(FailureReason::Internal(format!(
            "the certificate's creation ended as '{}': {}",
            operation.status,
            operation
                .error
                .or(operation.status_details)
                .unwrap_or_else(|| "no reason given".into())
        )));
    }
    let id = ObjectId {
        vault: vault.clone(),
        kind: ObjectKind::Certificate,
        name: name.to_owned(),
        version: None,
    };
    let bundle = session.keyvault.get_bundle(&id).await?;
    let host = vault.name().to_owned();
    Ok(ChangeEffect::Live(item_from_bundle(
        ObjectKind::Certificate,
        &bundle,
        &host,
    )?))
}

/// After a non-idempotent write lost its answer: reads what the service holds and says whether the write
/// happened. A write that did not happen ends as a failure naming what the re-read found.
async fn reread(
    session: &Session,
    change: &Change,
    started: i64,
    error: &AzureError,
) -> Result<(ChangeEffect, String), FailureReason> {
    let vault = change.vault();
    let kind = change.kind();
    let name = change.name();
    let lost = format!(
        "The answer was lost ({error}); Vaultscope re-read {kind_name} {name}",
        kind_name = kind.singular()
    );
    if let Change::Recover { .. } = change {
        let still_deleted = session.keyvault.get_deleted(vault, kind, name).await?;
        return match (
            still_deleted,
            newest_version(session, vault, kind, name).await?,
        ) {
            (None, Some(item)) => Ok((
                ChangeEffect::Live(item),
                format!("{lost}: it is live again, so the recovery went through."),
            )),
            (Some(_), _) => Err(FailureReason::Internal(format!(
                "{lost}: it is still in the deleted list, so it was not recovered. Nothing changed; you can try again."
            ))),
            (None, None) => Err(FailureReason::Internal(format!(
                "{lost}: it is neither live nor deleted (a recovery may still be under way). Reload the vault in a moment."
            ))),
        };
    }
    if let Change::CreateCertificate { .. } = change {
        return match session.keyvault.certificate_operation(vault, name).await {
            Ok(operation) => Ok((
                ChangeEffect::Pending(operation),
                format!("{lost}: its creation is under way, so the request went through."),
            )),
            Err(AzureError::Service { status: 404, .. }) => Err(FailureReason::Internal(format!(
                "{lost}: no creation is under way, so the request did not go through. Nothing changed; you can try again."
            ))),
            Err(other) => Err(other.into()),
        };
    }
    match newest_version(session, vault, kind, name).await? {
        Some(item) if item.attributes.created.unwrap_or(0) >= started - CLOCK_SKEW => {
            let version = item.version().unwrap_or_default();
            Ok((
                ChangeEffect::Live(item),
                format!(
                    "{lost}: it has a version created just now ({version}), so the write went through."
                ),
            ))
        }
        _ => Err(FailureReason::Internal(format!(
            "{lost}: it has no version newer than the write, so the write did not go through. Nothing changed; you can try again."
        ))),
    }
}

/// The newest version of an object by creation time (metadata only), or `None` when it has none.
async fn newest_version(
    session: &Session,
    vault: &VaultUri,
    kind: ObjectKind,
    name: &str,
) -> Result<Option<ObjectItem>, FailureReason> {
    let mut newest: Option<ObjectItem> = None;
    let mut next: Option<String> = None;
    loop {
        let page = match session
            .keyvault
            .list_versions_page(vault, kind, name, next.as_deref())
            .await
        {
            Ok(page) => page,
            Err(AzureError::Service { status: 404, .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        next = page.next().map(str::to_owned);
        for item in page.value {
            if newest
                .as_ref()
                .is_none_or(|best| item.attributes.created > best.attributes.created)
            {
                newest = Some(item);
            }
        }
        if next.is_none() {
            return Ok(newest);
        }
    }
}
