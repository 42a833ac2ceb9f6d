//! The local index's flows through `AppState`, driven with a recording sink: an index shown before sign-in
//! and reconciled most recently used first, someone else's put away, saves debounced and of changed vaults
//! only, the cached tree swapped only once whole, sign-out's delete after the saves in flight, Index all.

use std::time::{Duration, Instant};

use super::local_index::{IndexMode, LocalIndexIntent};
use super::tests::{RecordingSink, event, item};
use super::*;
use crate::auth::SignedInIdentity;
use crate::azure::identifiers::ObjectKind;
use crate::azure::models::Subscription;
use crate::local_index::model::{IndexedSubscription, IndexedVaultSummary};
use crate::local_index::{IndexIdentity, IndexManifest, IndexStore, IndexedVault, LoadedIndex};
use crate::worker::{Command, Outcome, RequestId};

const CLOUD: &str = "Azure";
const A: &str = "https://kv-a.vault.azure.net/";
const B: &str = "https://kv-b.vault.azure.net/";
const C: &str = "https://kv-c.vault.azure.net/";
const SECRETS: ListKind = ListKind::live(ObjectKind::Secret);

fn identity(object_id: &str) -> IndexIdentity {
    IndexIdentity {
        cloud: CLOUD.into(),
        tenant_id: "t".into(),
        object_id: object_id.into(),
    }
}

fn signed_in_as(object_id: &str) -> SignedInIdentity {
    let mut identity = SignedInIdentity::default();
    identity.tid = Some("t".into());
    identity.oid = Some(object_id.into());
    identity
}

fn uri(text: &str) -> VaultUri {
    VaultUri::parse(text).expect("uri")
}

/// A vault as a load leaves it, in the index's shape.
fn indexed(vault: &str, names: &[&str], last_used: i64) -> IndexedVault {
    let mut contents = VaultContents::default();
    contents.begin_load();
    contents.add_page(
        SECRETS,
        names.iter().map(|name| item(vault, name)).collect(),
    );
    for list in ListKind::ALL {
        contents.end_list(list, None);
    }
    contents.end_load(LoadStatus::Loaded);
    IndexedVault {
        uri: vault.into(),
        last_used,
        lists: contents
            .lists
            .iter()
            .map(|list| list.to_indexed())
            .collect(),
        versions: Vec::new(),
    }
}

fn summary(vault: &str) -> IndexedVaultSummary {
    IndexedVaultSummary {
        name: uri(vault).name().to_owned(),
        uri: vault.into(),
        subscription_id: Some("s1".into()),
        resource_group: Some("rg".into()),
        location: "westeurope".into(),
        arm_id: Some(format!(
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{}",
            uri(vault).name()
        )),
        tenant_id: Some("t".into()),
        sku: Some("standard".into()),
        rbac: Some(true),
        soft_delete: Some(true),
        retention_days: Some(90),
        purge_protection: None,
        public_network_access: None,
    }
}

/// The index of three vaults: A selected but used longest ago, then C, then B by recency.
fn loaded_index() -> LoadedIndex {
    LoadedIndex {
        manifest: Some(IndexManifest {
            saved_at: 100,
            subscriptions: vec![IndexedSubscription {
                subscription_id: "s1".into(),
                tenant_id: "t".into(),
                display_name: "Cached subscription".into(),
                state: "Enabled".into(),
                listed_in_tenant: None,
                vaults: vec![summary(A), summary(B), summary(C)],
            }],
            subscriptions_as_of: Some(100),
            selected_vault: Some(A.into()),
            ..IndexManifest::default()
        }),
        vaults: vec![
            indexed(A, &["alpha"], 1),
            indexed(B, &["beta"], 2),
            indexed(C, &["gamma"], 3),
        ],
        set_aside: Vec::new(),
    }
}

/// A state that shows the index of `shown_as` while it signs in.
fn launched(sink: &mut RecordingSink, shown_as: &str) -> AppState {
    let mut state = AppState::new(SignInMethod::AzureCli { tenant_id: None });
    state.local_index.mode = IndexMode::On("/index".into());
    state.local_index.cloud = CLOUD.into();
    state.start(sink);
    state.local_index.shown_dir = Some(IndexStore::identity_dir_name(&identity(shown_as)));
    state.restore_index(loaded_index());
    state
}

fn sign_in(state: &mut AppState, sink: &mut RecordingSink, object_id: &str) {
    let id = sent_id(sink, |command| matches!(command, Command::SignIn(_)));
    state.apply(
        event(id, EventKind::SignedIn(signed_in_as(object_id))),
        sink,
    );
    state.apply(event(id, EventKind::Finished(Outcome::Done)), sink);
}

fn sent_id(sink: &RecordingSink, pick: impl Fn(&Command) -> bool) -> RequestId {
    sink.sent
        .iter()
        .rev()
        .find(|(_, command)| pick(command))
        .map(|(id, _)| *id)
        .expect("sent")
}

fn vault_loads(sink: &RecordingSink) -> Vec<String> {
    sink.sent
        .iter()
        .filter_map(|(_, command)| match command {
            Command::LoadVault { vault } => Some(vault.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_index_shows_before_sign_in_and_is_reconciled_most_recent_first() {
    let mut sink = RecordingSink::default();
    let mut state = launched(&mut sink, "me");
    assert_eq!(state.selected_vault(), Some(&uri(A)));
    let rows = state.selected_list_rows().expect("rows");
    assert_eq!(rows.names_lower(), ["alpha"]);
    assert!(rows.cached);
    assert!(state.local_index.showing_unconfirmed());
    assert_eq!(state.tree.subscriptions.len(), 1);
    assert!(state.tree.subscriptions_cached);
    // Ctrl+K covers every indexed vault.
    state.handle(Intent::Search(SearchIntent::Open), &mut sink);
    state.handle(
        Intent::Search(SearchIntent::SetQuery("a".into())),
        &mut sink,
    );
    while state.search.searching() {
        state.refresh_search();
    }
    assert_eq!(state.search.results.total, 3, "alpha, beta, gamma");
    // Browsing before sign-in asks the service for nothing.
    state.handle(Intent::Tree(TreeIntent::SelectVault(uri(B))), &mut sink);
    state.handle(Intent::Tree(TreeIntent::SelectVault(uri(A))), &mut sink);
    assert!(vault_loads(&sink).is_empty(), "{:?}", sink.sent);

    sign_in(&mut state, &mut sink, "me");
    assert_eq!(
        vault_loads(&sink),
        [A, B, C],
        "the selected vault first, then by when each was last used (B was opened just now)"
    );
    assert!(
        state.selected_list_rows().expect("rows").cached,
        "until the list arrives whole"
    );
    let load_a = sent_id(
        &sink,
        |command| matches!(command, Command::LoadVault { vault } if vault.as_str() == A),
    );
    state.apply(
        event(
            load_a,
            EventKind::ObjectsPage {
                vault: uri(A),
                list: SECRETS,
                items: vec![item(A, "alpha-2")],
            },
        ),
        &mut sink,
    );
    assert_eq!(
        state.selected_list_rows().expect("rows").names_lower(),
        ["alpha"]
    );
    state.apply(
        event(
            load_a,
            EventKind::ListEnded {
                vault: uri(A),
                list: SECRETS,
                error: None,
            },
        ),
        &mut sink,
    );
    let rows = state.selected_list_rows().expect("rows");
    assert_eq!(rows.names_lower(), ["alpha-2"]);
    assert!(!rows.cached, "confirmed in this run");
}

#[test]
fn someone_elses_index_is_put_away_when_another_identity_signs_in() {
    let mut sink = RecordingSink::default();
    let mut state = launched(&mut sink, "someone-else");
    sign_in(&mut state, &mut sink, "me");
    assert!(state.tree.vaults.is_empty(), "no row of theirs stays");
    assert!(state.selected_vault().is_none());
    assert!(
        sink.sent.iter().any(|(_, command)| matches!(command, Command::OpenIndex { identity: opened } if *opened == identity("me"))),
        "this identity's own index is read"
    );
    assert!(vault_loads(&sink).is_empty());
}

#[test]
fn only_changed_vaults_are_saved_and_at_most_every_two_seconds() {
    let mut sink = RecordingSink::default();
    let mut state = launched(&mut sink, "me");
    let now = Instant::now();
    state.refresh_index(now, false, &mut sink);
    assert!(
        !sink
            .sent
            .iter()
            .any(|(_, command)| matches!(command, Command::SaveIndex(_))),
        "nothing is saved before sign-in confirms whose index it is"
    );
    sign_in(&mut state, &mut sink, "me");
    let load_b = sent_id(
        &sink,
        |command| matches!(command, Command::LoadVault { vault } if vault.as_str() == B),
    );
    state.apply(
        event(
            load_b,
            EventKind::ObjectsPage {
                vault: uri(B),
                list: SECRETS,
                items: vec![item(B, "beta-2")],
            },
        ),
        &mut sink,
    );
    for list in ListKind::ALL {
        state.apply(
            event(
                load_b,
                EventKind::ListEnded {
                    vault: uri(B),
                    list,
                    error: None,
                },
            ),
            &mut sink,
        );
    }
    state.apply(event(load_b, EventKind::Finished(Outcome::Done)), &mut sink);
    state.refresh_index(now, false, &mut sink);
    let saves: Vec<_> = sink
        .sent
        .iter()
        .filter_map(|(_, command)| match command {
            Command::SaveIndex(write) => Some(write.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(saves.len(), 1);
    assert_eq!(saves[0].identity, identity("me"));
    let saved: Vec<&str> = saves[0]
        .vaults
        .iter()
        .map(|vault| vault.uri.as_str())
        .collect();
    assert_eq!(saved, [B], "A and C are still loading, and unchanged");
    assert!(saves[0].manifest.is_some());
    let count = |sink: &RecordingSink| {
        sink.sent
            .iter()
            .filter(|(_, command)| matches!(command, Command::SaveIndex(_)))
            .count()
    };
    state.refresh_index(now + Duration::from_secs(1), false, &mut sink);
    assert_eq!(count(&sink), 1, "nothing changed, and not yet two seconds");
    assert_eq!(
        state.local_index.wake_at(),
        Some(now + Duration::from_secs(2)),
        "the window wakes for the save it put off"
    );
    state.refresh_index(now + Duration::from_secs(3), false, &mut sink);
    assert_eq!(count(&sink), 1, "nothing changed since");
}

#[test]
fn the_cached_tree_is_replaced_only_once_the_listing_is_whole() {
    let mut sink = RecordingSink::default();
    let mut state = launched(&mut sink, "me");
    sign_in(&mut state, &mut sink, "me");
    let listing = sent_id(&sink, |command| {
        matches!(command, Command::ListSubscriptions)
    });
    let fresh: Subscription = serde_json::from_value(serde_json::json!({
        "subscriptionId": "s2", "displayName": "Fresh", "tenantId": "t"
    }))
    .expect("subscription");
    state.apply(
        event(listing, EventKind::SubscriptionsPage(vec![fresh])),
        &mut sink,
    );
    state.apply(
        event(listing, EventKind::Finished(Outcome::Done)),
        &mut sink,
    );
    assert_eq!(
        state.tree.subscriptions[0].subscription.display_name, "Cached subscription",
        "still listing s2's vaults"
    );
    let vaults = sent_id(&sink, |command| {
        matches!(command, Command::DiscoverVaults { .. })
    });
    state.apply(
        event(
            vaults,
            EventKind::SubscriptionVaultsListed {
                subscription_id: "s2".into(),
                error: None,
            },
        ),
        &mut sink,
    );
    state.apply(event(vaults, EventKind::Finished(Outcome::Done)), &mut sink);
    assert_eq!(state.tree.subscriptions.len(), 1);
    assert_eq!(
        state.tree.subscriptions[0].subscription.display_name,
        "Fresh"
    );
    assert!(!state.tree.subscriptions_cached);

    // A listing that fails keeps the tree that was shown.
    let mut sink = RecordingSink::default();
    let mut state = launched(&mut sink, "me");
    sign_in(&mut state, &mut sink, "me");
    let listing = sent_id(&sink, |command| {
        matches!(command, Command::ListSubscriptions)
    });
    let failure = crate::worker::WorkerError {
        operation: "listing".into(),
        source: crate::worker::protocol::FailureReason::NotSignedIn,
    };
    state.apply(
        event(listing, EventKind::Finished(Outcome::Failed(failure))),
        &mut sink,
    );
    assert_eq!(
        state.tree.subscriptions[0].subscription.display_name,
        "Cached subscription"
    );
    assert!(state.tree.subscriptions_cached);
}

#[test]
fn sign_out_asks_first_and_deletes_the_index_after_the_saves_in_flight() {
    let mut sink = RecordingSink::default();
    let mut state = launched(&mut sink, "me");
    sign_in(&mut state, &mut sink, "me");
    state.refresh_index(Instant::now(), true, &mut sink);
    let save = sent_id(&sink, |command| matches!(command, Command::SaveIndex(_)));
    state.handle(Intent::Session(SessionIntent::SignOut), &mut sink);
    assert!(state.local_index.sign_out_asked);
    assert!(
        !sink
            .sent
            .iter()
            .any(|(_, command)| *command == Command::SignOut)
    );
    state.handle(
        LocalIndexIntent::ConfirmSignOut { delete_index: true }.into(),
        &mut sink,
    );
    assert!(
        sink.sent
            .iter()
            .any(|(_, command)| *command == Command::SignOut)
    );
    let deletes = |sink: &RecordingSink| {
        sink.sent
            .iter()
            .filter(|(_, command)| matches!(command, Command::DeleteIdentityIndex { .. }))
            .count()
    };
    assert_eq!(
        deletes(&sink),
        0,
        "a save still in flight would bring files back"
    );
    state.apply(event(save, EventKind::Finished(Outcome::Done)), &mut sink);
    assert_eq!(deletes(&sink), 1);
    assert!(state.tree.vaults.is_empty());
    state.refresh_index(Instant::now() + Duration::from_secs(10), true, &mut sink);
    assert_eq!(
        sink.sent
            .iter()
            .filter(|(_, command)| matches!(command, Command::SaveIndex(_)))
            .count(),
        1,
        "nothing is saved after sign-out"
    );
}

#[test]
fn index_all_loads_every_known_vault_and_cancel_stops_them() {
    let mut sink = RecordingSink::default();
    let mut state = launched(&mut sink, "me");
    sign_in(&mut state, &mut sink, "me");
    // Reconciliation is under way for all three; Index all adds nothing twice and counts them.
    state.handle(LocalIndexIntent::IndexAll.into(), &mut sink);
    assert_eq!(
        state.local_index.index_all_progress(&state.tree),
        Some((0, 3))
    );
    state.handle(LocalIndexIntent::CancelIndexAll.into(), &mut sink);
    assert!(state.local_index.index_all.is_none());
    assert_eq!(sink.cancelled.len(), 3, "every load stops");
    assert!(
        state.selected_list_rows().expect("rows").cached,
        "cancelled: still cached"
    );

    state.handle(LocalIndexIntent::ForgetVault(uri(C)).into(), &mut sink);
    assert!(!state.tree.vaults.contains_key(&uri(C)));
    assert!(sink.sent.iter().any(|(_, command)| matches!(command, Command::ForgetIndexedVault { uri: forgotten, .. } if forgotten.as_str() == C)));
}

#[test]
fn what_was_browsed_before_sign_in_is_read_again_once_signed_in() {
    let mut sink = RecordingSink::default();
    let mut state = launched(&mut sink, "me");
    state.handle(
        Intent::Objects(ObjectsIntent::SelectObject("alpha".into())),
        &mut sink,
    );
    let before = sink
        .sent
        .iter()
        .filter(|(_, command)| matches!(command, Command::ListVersions { .. }))
        .count();
    sign_in(&mut state, &mut sink, "me");
    let after = sink
        .sent
        .iter()
        .filter(|(_, command)| matches!(command, Command::ListVersions { .. }))
        .count();
    assert_eq!(
        after,
        before + 1,
        "the selected object's versions are read again"
    );
}

#[test]
fn a_sign_in_with_no_index_shown_reads_this_identitys_own() {
    let mut sink = RecordingSink::default();
    let mut state = AppState::new(SignInMethod::AzureCli { tenant_id: None });
    state.local_index.mode = IndexMode::On("/index".into());
    state.local_index.cloud = CLOUD.into();
    state.start(&mut sink);
    sign_in(&mut state, &mut sink, "me");
    let open = sent_id(
        &sink,
        |command| matches!(command, Command::OpenIndex { identity: opened } if *opened == identity("me")),
    );
    state.apply(
        event(open, EventKind::IndexOpened(Box::new(loaded_index()))),
        &mut sink,
    );
    assert_eq!(state.tree.vaults.len(), 3, "shown as it arrives");
    assert!(
        state.tree.subscriptions.is_empty(),
        "the tree being listed is not replaced by the index's"
    );
    assert_eq!(vault_loads(&sink).len(), 3, "and reconciled");
}
