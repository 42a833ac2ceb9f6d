//! Finds the vaults of a whole fleet (`Command::DiscoverVaults`): one Azure Resource Graph query per token
//! tenant and batch of subscriptions instead of one ARM listing per subscription; where Resource Graph is
//! refused (not offered in the cloud, blocked by policy, a malformed or cut answer), each subscription of
//! that tenant is listed on its own. Every subscription asked for ends with `SubscriptionVaultsListed`.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;

use super::load_gate::AdaptiveGate;
use super::protocol::{EventKind, FailureReason, SubscriptionScope};
use super::reply::Reply;
use super::session::Session;
use crate::azure::models::VaultSummary;
use crate::azure::resource_graph::SUBSCRIPTIONS_PER_QUERY;

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

pub(super) async fn discover_vaults(
    session: &Session,
    subscriptions: Vec<SubscriptionScope>,
    vault_lists: &Arc<AdaptiveGate>,
    reply: &Reply,
) -> Result<(), FailureReason> {
    for (tenant, subscription_ids) in by_token_tenant(subscriptions) {
        let in_tenant = session.for_tenant(tenant.as_deref());
        let mut graph_refused = false;
        for batch in subscription_ids.chunks(SUBSCRIPTIONS_PER_QUERY) {
            if !graph_refused {
                match in_tenant.arm.resource_graph_vaults(batch).await {
                    Ok(found) => {
                        for subscription_id in batch {
                            let vaults = found
                                .get(subscription_id)
                                .map(|vaults| {
                                    vaults
                                        .iter()
                                        .filter_map(|vault| {
                                            let fallback = session.cloud.vault_uri(&vault.name);
                                            VaultSummary::from_arm(
                                                vault,
                                                subscription_id,
                                                &fallback,
                                            )
                                        })
                                        .collect()
                                })
                                .unwrap_or_default();
                            reply.send(EventKind::VaultsPage {
                                subscription_id: subscription_id.clone(),
                                vaults,
                            });
                            reply.send(EventKind::SubscriptionVaultsListed {
                                subscription_id: subscription_id.clone(),
                                error: None,
                            });
                        }
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "Resource Graph refused; listing each subscription");
                        reply.send(EventKind::ResourceGraphRefused {
                            reason: error.to_string(),
                        });
                        graph_refused = true;
                    }
                }
            }
            list_each(&in_tenant, batch, vault_lists, reply).await;
        }
    }
    Ok(())
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
