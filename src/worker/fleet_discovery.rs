//! Finds the vaults of a whole fleet (`Command::DiscoverVaults`): one Azure Resource Graph query per token
//! tenant and batch of subscriptions instead of one ARM listing per subscription; where Resource Graph is
//! refused (not offered in the cloud, blocked by policy, a malformed or cut answer), each subscription of
//! that tenant is listed on its own. Queries run a few at once; every subscription asked for ends with
//! `SubscriptionVaultsListed`.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::join_all;
use futures_util::{StreamExt, stream};

use super::load_gate::AdaptiveGate;
use super::protocol::{EventKind, FailureReason, SubscriptionScope};
use super::reply::Reply;
use super::session::Session;
use crate::azure::resource_graph::{SUBSCRIPTIONS_PER_QUERY, VaultsBySubscription};

/// The subscriptions asked for, by the tenant whose token reads them (`None`: home), each once.
fn by_token_tenant(subscriptions: Vec<SubscriptionScope>) -> BTreeMap<Option<String>, Vec<String>> {
    let mut tenants: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for scope in subscriptions {
        let listed = tenants
            .entry(scope.tenant_id.map(|tenant| tenant.to_ascii_lowercase()))
            .or_default();
        if !listed
            .iter()
            .any(|id| id.eq_ignore_ascii_case(&scope.subscription_id))
        {
            listed.push(scope.subscription_id);
        }
    }
    tenants
}

/// Resource Graph queries under way at once: well inside its quota of 15 queries per 5 s per user.
const QUERIES_AT_ONCE: usize = 4;

pub(super) async fn discover_vaults(
    session: &Session,
    subscriptions: Vec<SubscriptionScope>,
    vault_lists: &Arc<AdaptiveGate>,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let batches: Vec<(Option<String>, Vec<String>)> = by_token_tenant(subscriptions)
        .into_iter()
        .flat_map(|(tenant, ids)| {
            ids.chunks(SUBSCRIPTIONS_PER_QUERY)
                .map(|batch| (tenant.clone(), batch.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect();
    // Tenants whose Resource Graph refused: their batches not yet asked are listed one by one at once.
    let refused: Mutex<HashSet<Option<String>>> = Mutex::new(HashSet::new());
    let refused = &refused;
    stream::iter(batches)
        .map(|(tenant, batch)| async move {
            let in_tenant = session.for_tenant(tenant.as_deref());
            let asked = !refused
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&tenant);
            if asked {
                match in_tenant.arm.resource_graph_vaults(&batch).await {
                    Ok(found) => {
                        send_found(session, &batch, &found, reply);
                        return;
                    }
                    Err(error) => {
                        let first = refused
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(tenant.clone());
                        if first {
                            tracing::warn!(%error, "Resource Graph refused; listing each subscription");
                            reply.send(EventKind::ResourceGraphRefused {
                                reason: error.to_string(),
                            });
                        }
                    }
                }
            }
            list_each(&in_tenant, &batch, vault_lists, reply).await;
        })
        .buffer_unordered(QUERIES_AT_ONCE)
        .collect::<Vec<()>>()
        .await;
    Ok(())
}

/// Each subscription of a batch Resource Graph answered: its vaults, then that it is listed.
fn send_found(session: &Session, batch: &[String], found: &VaultsBySubscription, reply: &Reply) {
    for subscription_id in batch {
        let vaults = found.get(subscription_id).map_or(&[][..], Vec::as_slice);
        super::paging::send_vaults(session, subscription_id, vaults, reply);
        reply.send(EventKind::SubscriptionVaultsListed {
            subscription_id: subscription_id.clone(),
            error: None,
        });
    }
}

/// Lists each subscription's vaults through ARM, as many at once as the vault-list gate allows.
async fn list_each(
    session: &Session,
    subscription_ids: &[String],
    vault_lists: &Arc<AdaptiveGate>,
    reply: &Reply,
) {
    join_all(subscription_ids.iter().map(|subscription_id| async move {
        let _slot = vault_lists.acquire().await;
        let error = super::paging::list_vaults(session, subscription_id, reply)
            .await
            .err()
            .map(|error| error.to_string());
        reply.send(EventKind::SubscriptionVaultsListed {
            subscription_id: subscription_id.clone(),
            error,
        });
    }))
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(subscription: &str, tenant: Option<&str>) -> SubscriptionScope {
        SubscriptionScope {
            subscription_id: subscription.into(),
            tenant_id: tenant.map(str::to_owned),
        }
    }

    #[test]
    fn subscriptions_group_by_the_tenant_whose_token_reads_them_each_once() {
        let grouped = by_token_tenant(vec![
            scope("s1", None),
            scope("s2", Some("T2")),
            scope("S1", None),
            scope("s3", Some("t2")),
        ]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[&None], ["s1"]);
        assert_eq!(grouped[&Some("t2".to_owned())], ["s2", "s3"]);
    }
}
