//! Integration: fleet discovery against the emulator. Resource Graph finds the same vaults as listing each
//! subscription (across its pages, for the demo user and for a principal who may read fewer); a refused
//! Resource Graph falls back to listing each subscription; a subscription delegated through Azure
//! Lighthouse is listed and read with the managing tenant's token; the emulator's `$skipToken` serves only
//! the query and subscriptions it came from.

mod common;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use vaultscope::azure::models::{Subscription, VaultSummary};
use vaultscope::worker::{Command, EventKind, Outcome, SubscriptionScope, WorkerHandle};

use common::{TestCloud, wait_for};

const NORTHWIND_TENANT: &str = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9";
const NORTHWIND_SUBSCRIPTION: &str = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6";
/// Reader on one resource group only (rg-prod-security).
const SECURITY_FUNCTIONS: &str = "5a1e2d3c-6b7a-4c44-8d9e-4b5a6f7e8d94";

fn subscriptions(
    worker: &WorkerHandle,
    events: &std::sync::mpsc::Receiver<vaultscope::worker::Event>,
) -> Vec<Subscription> {
    let id = worker.send(Command::ListSubscriptions);
    let (seen, outcome) = wait_for(events, id);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    seen.into_iter()
        .flat_map(|kind| match kind {
            EventKind::SubscriptionsPage(page) => page,
            _ => Vec::new(),
        })
        .collect()
}

/// What `DiscoverVaults` sent: the vaults, the subscriptions that ended (with their errors) and whether
/// Resource Graph was refused.
struct Discovered {
    vaults: Vec<VaultSummary>,
    ended: Vec<(String, Option<String>)>,
    refused: Option<String>,
}

fn discover(
    worker: &WorkerHandle,
    events: &std::sync::mpsc::Receiver<vaultscope::worker::Event>,
    subscriptions: &[Subscription],
) -> Discovered {
    let id = worker.send(Command::DiscoverVaults {
        subscriptions: subscriptions.iter().map(SubscriptionScope::of).collect(),
    });
    let (seen, outcome) = wait_for(events, id);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let mut discovered = Discovered {
        vaults: Vec::new(),
        ended: Vec::new(),
        refused: None,
    };
    for kind in seen {
        match kind {
            EventKind::VaultsPage { vaults, .. } => discovered.vaults.extend(vaults),
            EventKind::SubscriptionVaultsListed {
                subscription_id,
                error,
            } => discovered.ended.push((subscription_id, error)),
            EventKind::ResourceGraphRefused { reason } => discovered.refused = Some(reason),
            other => panic!("unexpected {other:?}"),
        }
    }
    discovered
}

fn listed_one_by_one(
    worker: &WorkerHandle,
    events: &std::sync::mpsc::Receiver<vaultscope::worker::Event>,
    subscriptions: &[Subscription],
) -> Vec<VaultSummary> {
    let mut vaults = Vec::new();
    for subscription in subscriptions {
        let id = worker.send(Command::ListVaults {
            subscription_id: subscription.subscription_id.clone(),
            tenant_id: subscription.arm_tenant(),
        });
        let (seen, outcome) = wait_for(events, id);
        assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
        for kind in seen {
            if let EventKind::VaultsPage { vaults: page, .. } = kind {
                vaults.extend(page);
            }
        }
    }
    vaults
}

/// Each vault as the tree shows it: ARM id, name, URI, subscription, group, location and properties.
fn shown(vaults: &[VaultSummary]) -> BTreeSet<String> {
    vaults
        .iter()
        .map(|vault| {
            format!(
                "{} {} {} {:?} {:?} {} rbac={:?} retention={:?}",
                vault
                    .arm_id
                    .clone()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                vault.name,
                vault.uri,
                vault.subscription_id,
                vault.resource_group.as_deref().map(str::to_ascii_lowercase),
                vault.location,
                vault.properties.enable_rbac_authorization,
                vault.properties.soft_delete_retention_in_days,
            )
        })
        .collect()
}

#[test]
fn resource_graph_finds_the_same_vaults_as_listing_each_subscription_across_pages() {
    let cloud = TestCloud::start();
    // More than one Resource Graph page (1,000 rows) in one subscription.
    for index in 0..1000 {
        assert!(
            cloud
                .emulator
                .add_empty_vault("kv-dev-sandbox", &format!("kv-fleet-{index:04}"))
        );
    }
    let (worker, events) = cloud.signed_in_worker();
    let subscriptions = subscriptions(&worker, &events);
    assert_eq!(subscriptions.len(), 4, "{subscriptions:?}");
    cloud.emulator.clear_request_log();
    let discovered = discover(&worker, &events, &subscriptions);
    assert!(discovered.refused.is_none(), "{:?}", discovered.refused);
    assert_eq!(discovered.ended.len(), 4);
    assert!(
        discovered.ended.iter().all(|(_, error)| error.is_none()),
        "{:?}",
        discovered.ended
    );
    let graph_pages: Vec<_> = cloud
        .emulator
        .request_log()
        .into_iter()
        .filter(|request| request.path.contains("Microsoft.ResourceGraph"))
        .collect();
    // Home tenant (its own two subscriptions and Northwind's delegated one): two pages; Fabrikam: one.
    assert_eq!(graph_pages.len(), 3, "{graph_pages:?}");
    assert!(
        cloud
            .emulator
            .request_log()
            .iter()
            .all(|request| !request.path.ends_with("Microsoft.KeyVault/vaults")),
        "no per-subscription listing"
    );
    let one_by_one = listed_one_by_one(&worker, &events, &subscriptions);
    assert_eq!(
        one_by_one.len(),
        1010,
        "ten seeded vaults and the thousand added"
    );
    assert_eq!(shown(&discovered.vaults), shown(&one_by_one));
    assert_eq!(discovered.vaults.len(), one_by_one.len(), "no vault twice");
}

#[test]
fn a_refused_resource_graph_falls_back_to_listing_each_subscription() {
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    let subscriptions = subscriptions(&worker, &events);
    let by_graph = discover(&worker, &events, &subscriptions);
    cloud.emulator.refuse_resource_graph(true);
    let refused = discover(&worker, &events, &subscriptions);
    let reason = refused.refused.expect("the refusal is reported");
    assert!(reason.contains("RequestDisallowedByPolicy"), "{reason}");
    assert_eq!(refused.ended.len(), 4);
    assert!(
        refused.ended.iter().all(|(_, error)| error.is_none()),
        "{:?}",
        refused.ended
    );
    assert_eq!(shown(&refused.vaults), shown(&by_graph.vaults));
    assert_eq!(refused.vaults.len(), 10);
}

#[test]
fn a_lighthouse_delegated_subscription_is_listed_and_read_with_the_managing_tenants_token() {
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    let id = worker.send(Command::ListSubscriptions);
    let (seen, outcome) = wait_for(&events, id);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let mut tenants = Vec::new();
    let mut listed = Vec::new();
    let mut tenants_ended = Vec::new();
    for kind in seen {
        match kind {
            EventKind::Tenants(found) => tenants = found,
            EventKind::SubscriptionsPage(page) => listed.extend(page),
            EventKind::TenantSubscriptionsListed { tenant_id } => tenants_ended.push(tenant_id),
            EventKind::TenantUnavailable { tenant_id, reason } => {
                panic!("{tenant_id} was asked: {reason}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Home, then Fabrikam (a guest tenant); never Northwind.
    assert_eq!(
        tenants_ended,
        [
            None,
            Some("b2d4f6a8-1c3e-4a5b-9d7f-0e2c4a6b8d0f".to_owned())
        ]
    );
    let northwind = tenants
        .iter()
        .find(|tenant| tenant.tenant_id == NORTHWIND_TENANT)
        .expect("the projecting tenant is named");
    assert_eq!(northwind.tenant_category.as_deref(), Some("ProjectedBy"));
    let delegated = listed
        .iter()
        .find(|subscription| subscription.subscription_id == NORTHWIND_SUBSCRIPTION)
        .expect("the delegated subscription is listed");
    let home = cloud.emulator.demo_tenant_id();
    assert_eq!(delegated.tenant_id, NORTHWIND_TENANT);
    assert_eq!(delegated.managed_by_tenants[0].tenant_id, home);
    assert!(delegated.is_delegated());
    assert_eq!(delegated.arm_tenant().as_deref(), Some(home.as_str()));
    assert_eq!(
        listed
            .iter()
            .filter(|subscription| subscription.subscription_id == NORTHWIND_SUBSCRIPTION)
            .count(),
        1
    );

    let found = discover(&worker, &events, std::slice::from_ref(delegated));
    let names: Vec<&str> = found
        .vaults
        .iter()
        .map(|vault| vault.name.as_str())
        .collect();
    assert_eq!(names, ["kv-northwind-ops"]);
    // Its access data comes from ARM with the same (managing tenant's) token.
    let vault = &found.vaults[0];
    let id = worker.send(Command::LoadVaultAccess {
        arm_id: vault.arm_id.clone().expect("ARM id"),
        subscription_name: Some(delegated.display_name.clone()),
        tenant_id: delegated.arm_tenant(),
    });
    let (_, outcome) = wait_for(&events, id);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    // Northwind's own token is what the subscription's tenant would want; Ada has no account there.
    let id = worker.send(Command::ListVaults {
        subscription_id: NORTHWIND_SUBSCRIPTION.into(),
        tenant_id: Some(NORTHWIND_TENANT.into()),
    });
    let (_, outcome) = wait_for(&events, id);
    assert!(
        matches!(&outcome, Outcome::Failed(error) if error.to_string().contains("AADSTS50020")),
        "{outcome:?}"
    );
}

/// One raw Resource Graph call as `object_id`.
fn graph_query(cloud: &TestCloud, object_id: &str, body: Value) -> (u16, Value) {
    let client = cloud.http_client();
    let url = format!(
        "https://management.localhost:{}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01",
        cloud.emulator.port()
    );
    let token = cloud.token(object_id, "management");
    cloud.runtime.block_on(async {
        let response = client
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("answer");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    })
}

/// The vault ids a principal may list, subscription by subscription, through ARM.
fn arm_listing(cloud: &TestCloud, object_id: &str, subscription: &str) -> BTreeSet<String> {
    let client = cloud.http_client();
    let token = cloud.token(object_id, "management");
    let mut url = format!(
        "https://management.localhost:{}/subscriptions/{subscription}/providers/Microsoft.KeyVault/vaults?api-version=2026-04-01",
        cloud.emulator.port()
    );
    let mut ids = BTreeSet::new();
    cloud.runtime.block_on(async {
        loop {
            let page: Value = client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("answer")
                .json()
                .await
                .expect("json");
            for vault in page["value"].as_array().into_iter().flatten() {
                ids.insert(
                    vault["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_lowercase(),
                );
            }
            match page["nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => break,
            }
        }
    });
    ids
}

#[test]
fn the_emulators_resource_graph_filters_by_the_callers_rbac_and_binds_its_skip_token() {
    let cloud = TestCloud::start();
    let contoso = [
        "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        "9b2e6f1a-7c3d-4e8f-a1b2-c3d4e5f60702",
    ];
    let query =
        "resources | where type =~ 'microsoft.keyvault/vaults' | project id, name, subscriptionId";
    let mut seen = BTreeSet::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut options = json!({"$top": 1});
        if let Some(token) = &token {
            options["$skipToken"] = json!(token);
        }
        let (status, page) = graph_query(
            &cloud,
            SECURITY_FUNCTIONS,
            json!({"subscriptions": contoso, "query": query, "options": options}),
        );
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["resultTruncated"], "false");
        pages += 1;
        for row in page["data"].as_array().expect("rows") {
            assert_eq!(
                row.as_object().map(|row| row.len()),
                Some(3),
                "projected: {row}"
            );
            assert!(seen.insert(row["id"].as_str().unwrap_or_default().to_ascii_lowercase()));
        }
        match page["$skipToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    let by_arm: BTreeSet<String> = contoso
        .iter()
        .flat_map(|subscription| arm_listing(&cloud, SECURITY_FUNCTIONS, subscription))
        .collect();
    assert_eq!(
        seen, by_arm,
        "SecurityFunctions sees in Resource Graph exactly what ARM lists it"
    );
    let everything = arm_listing(&cloud, common_demo_user(&cloud).as_str(), contoso[0]).len()
        + arm_listing(&cloud, common_demo_user(&cloud).as_str(), contoso[1]).len();
    assert!(
        by_arm.len() < everything,
        "SecurityFunctions may read fewer vaults than Ada"
    );
    assert!(pages > 1, "paged by $skipToken");

    // A token sent with another query, or other subscriptions, is refused.
    let (_, first) = graph_query(
        &cloud,
        SECURITY_FUNCTIONS,
        json!({"subscriptions": contoso, "query": query, "options": {"$top": 1}}),
    );
    let next = first["$skipToken"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (status, answer) = graph_query(
        &cloud,
        SECURITY_FUNCTIONS,
        json!({"subscriptions": [contoso[0]], "query": query, "options": {"$top": 1, "$skipToken": next}}),
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "InvalidSkipToken");
    let (status, answer) = graph_query(
        &cloud,
        SECURITY_FUNCTIONS,
        json!({"query": "resources | where type =~ 'microsoft.web/sites'"}),
    );
    assert_eq!(status, 400, "{answer}");
}

fn common_demo_user(cloud: &TestCloud) -> String {
    cloud.emulator.demo_user_id().expect("demo user")
}
