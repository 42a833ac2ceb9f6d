//! kittest: the tree's fleet discovery in the window — the Lighthouse-delegated subscription shows, marked
//! delegated, its vault's data plane says why it refuses (Lighthouse covers Resource Manager only) while its
//! Access tab reads; and a refused Resource Graph is a notice above a tree that is still whole.

mod common;

use egui_kittest::kittest::Queryable;

use common::TestCloud;
use common::ui::{app_harness, step_until, wait_for_vault_tree};

#[test]
fn a_delegated_subscription_shows_and_its_vault_says_what_lighthouse_covers() {
    let cloud = TestCloud::start();
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label_contains("Northwind Operations  (1)  · Northwind Traders  · delegated");
    harness.get_by_label("kv-northwind-ops").click();
    step_until(&mut harness, "the data plane's refusal", |harness| {
        harness
            .query_by_label_contains("delegated to you through Azure Lighthouse")
            .is_some()
    });
    harness.get_by_label_contains("AADSTS50020");
    harness.get_by_label("Access").click();
    step_until(
        &mut harness,
        "the access data from Resource Manager",
        |harness| {
            harness
                .query_by_label_contains("Permission model: Azure RBAC")
                .is_some()
        },
    );
}

#[test]
fn a_refused_resource_graph_is_a_notice_and_the_tree_is_still_whole() {
    let cloud = TestCloud::start();
    cloud.emulator.refuse_resource_graph(true);
    let mut harness = app_harness(&cloud);
    wait_for_vault_tree(&mut harness);
    step_until(&mut harness, "the notice", |harness| {
        harness
            .query_by_label_contains("Resource Graph refused the vault query")
            .is_some()
    });
    assert!(
        harness
            .state()
            .state()
            .tree
            .subscriptions
            .iter()
            .all(|node| !node.vaults_status.is_loading() && !node.vaults.is_empty()),
        "every subscription listed on its own"
    );
}
