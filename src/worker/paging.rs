//! Reading a list page by page: each page handed on as it arrives (the UI shows a long list while the rest
//! is still coming), following each page's next link to the end; and the lists the tree streams this way.

use std::future::Future;

use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use super::session::Session;
use crate::azure::error::AzureError;
use crate::azure::models::{Vault, VaultSummary};
use crate::azure::pipeline::Page;

/// Reads a list page by page, following each page's next link, and hands every page to `emit` as it
/// arrives (the UI shows a long list while the rest is still coming).
pub(super) async fn stream_pages<T, Fetch, Fetched>(
    mut fetch: Fetch,
    mut emit: impl FnMut(Vec<T>),
) -> Result<(), FailureReason>
where
    Fetch: FnMut(Option<String>) -> Fetched,
    Fetched: Future<Output = Result<Page<T>, AzureError>>,
{
    let mut next: Option<String> = None;
    loop {
        let page = fetch(next.take()).await?;
        next = page.next().map(str::to_owned);
        emit(page.value);
        if next.is_none() {
            return Ok(());
        }
    }
}

/// Streams a subscription's vaults, page by page.
pub(super) async fn list_vaults(
    session: &Session,
    subscription_id: &str,
    reply: &Reply,
) -> Result<(), FailureReason> {
    stream_pages(
        |next| async move {
            session
                .arm
                .list_vaults_page(subscription_id, next.as_deref())
                .await
        },
        |page| send_vaults(session, subscription_id, &page, reply),
    )
    .await
}

/// A subscription's vaults as ARM or Resource Graph gave them, as the tree shows them (a vault without a
/// `vaultUri` gets the cloud's usual one).
pub(super) fn send_vaults(
    session: &Session,
    subscription_id: &str,
    vaults: &[Vault],
    reply: &Reply,
) {
    let vaults = vaults
        .iter()
        .filter_map(|vault| {
            let fallback = session.cloud.vault_uri(&vault.name);
            VaultSummary::from_arm(vault, subscription_id, &fallback)
        })
        .collect();
    reply.send(EventKind::VaultsPage {
        subscription_id: subscription_id.to_owned(),
        vaults,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stream_pages_follows_every_next_link_and_emits_each_page() {
        let pages = [
            (None, vec![1, 2], Some("p2")),
            (Some("p2"), vec![3], Some("p3")),
            // An empty next link ends the list, as the SDKs treat it.
            (Some("p3"), vec![4, 5], Some("")),
        ];
        let mut asked = Vec::new();
        let mut emitted = Vec::new();
        let result = stream_pages(
            |next: Option<String>| {
                asked.push(next.clone());
                let (_, value, link) = pages
                    .iter()
                    .find(|(expected, _, _)| expected.map(str::to_owned) == next)
                    .cloned()
                    .expect("a page for every link asked");
                async move {
                    Ok(Page {
                        value,
                        next_link: link.map(str::to_owned),
                    })
                }
            },
            |page| emitted.push(page),
        )
        .await;
        assert!(result.is_ok());
        assert_eq!(asked, [None, Some("p2".to_owned()), Some("p3".to_owned())]);
        assert_eq!(emitted, [vec![1, 2], vec![3], vec![4, 5]]);
    }

    #[tokio::test]
    async fn stream_pages_stops_at_the_first_failure() {
        let mut emitted: Vec<Vec<u8>> = Vec::new();
        let result = stream_pages(
            |next: Option<String>| async move {
                match next {
                    None => Ok(Page {
                        value: vec![1],
                        next_link: Some("p2".to_owned()),
                    }),
                    Some(_) => Err(AzureError::InvalidUri("p2".to_owned())),
                }
            },
            |page| emitted.push(page),
        )
        .await;
        assert!(result.is_err());
        assert_eq!(emitted, [vec![1]]);
    }
}
