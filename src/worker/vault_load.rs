//! Loading one vault: its six lists side by side, each paged through to its end and reported with
//! `ListEnded`, a page still throttled after the pipeline's retries waiting a few more rounds.

use super::protocol::{EventKind, FailureReason, WorkerError};
use super::reply::Reply;
use super::session::Session;
use crate::azure::AzureError;
use crate::azure::identifiers::{ObjectKind, VaultUri};
use crate::azure::models::{ListKind, ObjectItem};

/// Lists all six lists of a vault. The first page of secrets goes alone: it learns the vault's challenge once,
/// and a vault that cannot be reached at all (no such host, firewall, 404, 401) fails the load there instead of
/// six times. A permission 403 on one list does not stop the others (a key-only role still lists keys).
pub(super) async fn load_vault(
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
