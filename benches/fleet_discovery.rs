//! Benchmark: the vaults of a fleet of 300 subscriptions × 5 vaults at 10 ms latency per request, found
//! through the real worker (HTTPS) two ways, both printed:
//! - one Azure Resource Graph query per batch of subscriptions (`DiscoverVaults`, what the tree does);
//! - one ARM listing per subscription (300 `ListVaults` at once, as the tree did before, bounded by the
//!   worker's vault-list gate).
//!
//! Bound: Resource Graph takes at most half the per-subscription time, and both find the same vaults.
//!
//! Run with `cargo bench --bench fleet_discovery`. Exits non-zero when the bound is missed. Against an
//! emulator started separately (`VAULTSCOPE_EMULATOR_ENV`, see `benches/common`): write its seed first
//! with `VAULTSCOPE_BENCH_SEED_OUT=FILE cargo bench --bench fleet_discovery` and start it with `--data FILE
//! --latency-ms 10`.

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::{expect_done_with, median, ms, signed_in_worker, verdict};
use serde_json::json;
use vaultscope::azure::models::Subscription;
use vaultscope::emulator::seed;
use vaultscope::worker::{
    Command, Event, EventKind, Outcome, RequestId, SessionSettings, SubscriptionScope, WorkerHandle,
};

const LATENCY: Duration = Duration::from_millis(10);
const SUBSCRIPTIONS: usize = 300;
const VAULTS_PER_SUBSCRIPTION: usize = 5;
const RUNS: usize = 5;
/// Resource Graph must take at most this share of the per-subscription time. Its floor is two pages in a
/// row (1,250 rows in the first batch) at 10 ms each; one listing per subscription is at least 304 requests
/// over the vault-list gate (8 at start, up to 32), about 100 ms.
const SHARE_BOUND: f64 = 0.5;
/// Key Vault Reader's role definition: enough to see a subscription and list its vaults.
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

fn main() {
    let seed_json = bench_seed_json();
    let Some((runtime, emulator)) = common::seeded_emulator(&seed_json, LATENCY) else {
        return;
    };
    let settings = SessionSettings::new(emulator.cloud_profile());
    let (worker, events) = signed_in_worker(&runtime, &emulator, settings);

    let listing_started = Instant::now();
    let subscriptions = list_subscriptions(&worker, &events);
    let listing = listing_started.elapsed();
    assert!(
        subscriptions.len() >= SUBSCRIPTIONS,
        "{} subscriptions",
        subscriptions.len()
    );
    // Warm-up: tokens for every tenant, connections open; the requests each way sends, counted.
    emulator.take_requests_to("");
    let by_graph = discover(&worker, &events, &subscriptions).1;
    let graph_requests = emulator.take_requests_to("Microsoft.ResourceGraph");
    let by_listing = list_each(&worker, &events, &subscriptions).1;
    let listing_requests = emulator.take_requests_to("Microsoft.KeyVault/vaults");
    let counted = |count: Option<usize>| {
        count.map_or_else(
            || "? (external emulator)".to_owned(),
            |count| count.to_string(),
        )
    };
    assert_eq!(by_graph, by_listing, "both ways find the same vaults");
    assert!(by_graph.len() >= SUBSCRIPTIONS * VAULTS_PER_SUBSCRIPTION);

    let graph = median((0..RUNS).map(|_| discover(&worker, &events, &subscriptions).0));
    let each = median((0..RUNS).map(|_| list_each(&worker, &events, &subscriptions).0));
    let bound = each.mul_f64(SHARE_BOUND);
    println!(
        "find the vaults of {} subscriptions ({SUBSCRIPTIONS} × {VAULTS_PER_SUBSCRIPTION} vaults and the demo's; {} vaults) at {} ms latency",
        subscriptions.len(),
        by_graph.len(),
        LATENCY.as_millis()
    );
    println!(
        "  listing the subscriptions first (both ways need it): {:>7.1} ms",
        ms(listing)
    );
    println!(
        "  Resource Graph (batches of < 300 subscriptions, $skipToken pages), median of {RUNS}: {:>7.1} ms   {} requests",
        ms(graph),
        counted(graph_requests)
    );
    println!(
        "  one ARM listing per subscription, all at once, median of {RUNS}:           {:>7.1} ms   {} requests",
        ms(each),
        counted(listing_requests)
    );
    println!(
        "  Resource Graph / per-subscription = {:.2}   bound ≤ {SHARE_BOUND:.2} ({:>7.1} ms)   {}",
        graph.as_secs_f64() / each.as_secs_f64(),
        ms(bound),
        verdict(graph <= bound)
    );
    emulator.shutdown();
    if graph > bound {
        std::process::exit(1);
    }
}

fn subscription_id(index: usize) -> String {
    format!("00000000-0000-4000-8000-{index:012}")
}

/// The demo seed with 300 subscriptions in the demo tenant, 5 empty vaults each, the demo user a Reader
/// of every one.
fn bench_seed_json() -> String {
    let mut seed: serde_json::Value =
        serde_json::from_str(seed::DEMO_SEED_JSON).expect("demo seed JSON");
    let tenant = seed["tenants"][0]["id"].clone();
    let demo_user = seed["demoUser"].as_str().expect("demo user").to_owned();
    let user_id = seed["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|user| user["userPrincipalName"] == demo_user.as_str())
        .map(|user| user["id"].clone())
        .expect("the demo user");
    for index in 0..SUBSCRIPTIONS {
        let id = subscription_id(index);
        let vaults: Vec<serde_json::Value> = (0..VAULTS_PER_SUBSCRIPTION)
            .map(|vault| json!({"name": format!("kv-fleet-{index:03}-{vault}")}))
            .collect();
        seed["subscriptions"]
            .as_array_mut()
            .expect("subscriptions")
            .push(json!({
                "id": id, "tenantId": tenant, "displayName": format!("Fleet {index:03}"),
                "resourceGroups": [{"name": "rg-fleet", "location": "westeurope", "vaults": vaults}]
            }));
        seed["roleAssignments"]
            .as_array_mut()
            .expect("role assignments")
            .push(json!({
                "id": format!("f1ee7000-0000-4000-8000-{index:012}"), "principalId": user_id,
                "principalType": "User", "roleDefinitionId": READER, "scope": format!("/subscriptions/{id}")
            }));
    }
    serde_json::to_string_pretty(&seed).expect("seed JSON")
}

fn list_subscriptions(worker: &WorkerHandle, events: &Receiver<Event>) -> Vec<Subscription> {
    let id = worker.send(Command::ListSubscriptions);
    let mut subscriptions = Vec::new();
    expect_done_with(events, id, |kind| {
        if let EventKind::SubscriptionsPage(page) = kind {
            subscriptions.extend(page);
        }
    });
    subscriptions
}

/// Every vault's ARM id.
type Found = BTreeSet<String>;

fn discover(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    subscriptions: &[Subscription],
) -> (Duration, Found) {
    let started = Instant::now();
    let id = worker.send(Command::DiscoverVaults {
        subscriptions: subscriptions.iter().map(SubscriptionScope::of).collect(),
    });
    let mut found = Found::new();
    expect_done_with(events, id, |kind| match kind {
        EventKind::VaultsPage { vaults, .. } => {
            found.extend(vaults.into_iter().filter_map(|vault| vault.arm_id));
        }
        EventKind::ResourceGraphRefused { reason } => panic!("Resource Graph refused: {reason}"),
        EventKind::SubscriptionVaultsListed {
            error: Some(error), ..
        } => panic!("{error}"),
        _ => {}
    });
    (started.elapsed(), found)
}

fn list_each(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    subscriptions: &[Subscription],
) -> (Duration, Found) {
    let started = Instant::now();
    let mut waiting: BTreeSet<RequestId> = subscriptions
        .iter()
        .map(|subscription| {
            worker.send(Command::ListVaults {
                subscription_id: subscription.subscription_id.clone(),
                tenant_id: subscription.arm_tenant(),
            })
        })
        .collect();
    let mut found = Found::new();
    while !waiting.is_empty() {
        let event = events
            .recv_timeout(Duration::from_secs(120))
            .expect("worker answers");
        if !waiting.contains(&event.request_id) {
            continue;
        }
        match event.kind {
            EventKind::VaultsPage { vaults, .. } => {
                found.extend(vaults.into_iter().filter_map(|vault| vault.arm_id));
            }
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                waiting.remove(&event.request_id);
            }
            _ => {}
        }
    }
    (started.elapsed(), found)
}
