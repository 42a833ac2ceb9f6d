//! The cross-feature flows of `AppState`, driven with a recording sink: sign-in and sign-out, loading vaults
//! side by side, open by URI, search, keyboard, values, and the 403 help.

use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::access::{ObjectType, Target};
use crate::auth::SignedInIdentity;
use crate::azure::identifiers::ObjectKind;
use crate::azure::models::Subscription;
use crate::worker::protocol::FailureReason;
use crate::worker::{Command, Outcome, RequestId, SubscriptionScope, WorkerError};

#[derive(Default)]
pub(super) struct RecordingSink {
    next: u64,
    pub(super) sent: Vec<(RequestId, Command)>,
    pub(super) cancelled: Vec<RequestId>,
}

impl CommandSink for RecordingSink {
    fn send(&mut self, command: Command) -> RequestId {
        self.next += 1;
        let id = RequestId(self.next);
        self.sent.push((id, command));
        id
    }

    fn cancel(&mut self, request_id: RequestId) {
        self.cancelled.push(request_id);
    }
}

pub(super) fn item(vault: &str, name: &str) -> ObjectItem {
    serde_json::from_value(serde_json::json!({"id": format!("{vault}secrets/{name}")}))
        .expect("item")
}

pub(super) fn event(request_id: RequestId, kind: EventKind) -> Event {
    Event { request_id, kind }
}

const V1: &str = "https://kv1.vault.azure.net/";
const V2: &str = "https://kv2.vault.azure.net/";

fn signed_in_state(sink: &mut RecordingSink) -> AppState {
    let mut state = AppState::new(SignInMethod::AzureCli { tenant_id: None });
    state.start(sink);
    let sign_in = sink.sent[0].0;
    state.apply(
        event(sign_in, EventKind::SignedIn(SignedInIdentity::default())),
        sink,
    );
    state.apply(event(sign_in, EventKind::Finished(Outcome::Done)), sink);
    state
}

/// A signed-in state with `V1` selected; its load's request id.
fn loading_vault(sink: &mut RecordingSink) -> (AppState, VaultUri, RequestId) {
    let mut state = signed_in_state(sink);
    let v1 = VaultUri::parse(V1).expect("uri");
    state.handle(Intent::Tree(TreeIntent::SelectVault(v1.clone())), sink);
    let id = sink.sent.last().expect("sent").0;
    (state, v1, id)
}

#[test]
fn a_permission_403_offers_the_access_check_for_that_operation() {
    let mut sink = RecordingSink::default();
    let mut state = signed_in_state(&mut sink);
    let vault = VaultUri::parse(V1).expect("uri");
    state.handle(
        Intent::Tree(TreeIntent::SelectVault(vault.clone())),
        &mut sink,
    );
    let (list_id, _) = sink.sent.last().cloned().expect("list");
    state.apply(
        event(list_id, EventKind::Finished(Outcome::Done)),
        &mut sink,
    );
    state.handle(
        Intent::Objects(ObjectsIntent::SelectObject("api-key".into())),
        &mut sink,
    );
    let (versions_id, _) = sink.sent.last().cloned().expect("versions");
    let forbidden = |inner: &str| WorkerError {
        operation: "listing versions".into(),
        source: FailureReason::Azure(crate::azure::AzureError::Service {
            service: crate::azure::Service::KeyVault,
            status: 403,
            code: "Forbidden".into(),
            message: "Caller is not authorized".into(),
            inner_code: Some(inner.into()),
        }),
    };
    state.apply(
        event(
            versions_id,
            EventKind::Finished(Outcome::Failed(forbidden("ForbiddenByRbac"))),
        ),
        &mut sink,
    );
    let noted = state.shared.forbidden.clone().expect("noted");
    assert_eq!(noted.operation.permission, "list versions");
    match &state.objects.versions.status {
        LoadStatus::Failed(message) => assert!(
            message.starts_with("unknown identity lacks the 'list versions' permission on secret api-key (HTTP 403, ForbiddenByRbac: Caller is not authorized)"),
            "{message}"
        ),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        noted.target,
        Target::Object {
            object_type: ObjectType::Secret,
            name: "api-key".into()
        }
    );
    // A firewall 403 is not a permission problem: nothing to check.
    state.shared.forbidden = None;
    state.handle(
        Intent::Objects(ObjectsIntent::SelectObject("other".into())),
        &mut sink,
    );
    let (versions_id, _) = sink.sent.last().cloned().expect("versions");
    state.apply(
        event(
            versions_id,
            EventKind::Finished(Outcome::Failed(forbidden("ForbiddenByFirewall"))),
        ),
        &mut sink,
    );
    assert!(state.shared.forbidden.is_none());
}

#[test]
fn list_errors_say_what_happened_and_keep_the_rows() {
    use crate::azure::{AzureError, Service};
    let mut sink = RecordingSink::default();
    let (mut state, v1, id) = loading_vault(&mut sink);
    let failed = |list: ListKind, source: AzureError| {
        event(
            id,
            EventKind::ListEnded {
                vault: v1.clone(),
                list,
                error: Some(WorkerError {
                    operation: format!("listing {} of kv1", list.label()),
                    source: FailureReason::Azure(source),
                }),
            },
        )
    };
    let service = |status: u16, inner: &str, message: &str| AzureError::Service {
        service: Service::KeyVault,
        status,
        code: "x".into(),
        message: message.into(),
        inner_code: Some(inner.into()),
    };
    state.apply(page(id, &v1, &["a"]), &mut sink);
    state.apply(ended(id, &v1), &mut sink);
    state.apply(
        failed(
            ListKind::live(ObjectKind::Key),
            service(403, "ForbiddenByPolicy", "no keys/list"),
        ),
        &mut sink,
    );
    state.apply(
        failed(
            ListKind::live(ObjectKind::Certificate),
            service(404, "VaultNotFound", "gone"),
        ),
        &mut sink,
    );
    state.apply(
        failed(
            ListKind::deleted(ObjectKind::Secret),
            AzureError::Throttled {
                service: Service::KeyVault,
                attempts: 4,
            },
        ),
        &mut sink,
    );
    let contents = &state.tree.vaults[&v1];
    let message = |list: ListKind| match &contents.list(list).status {
        LoadStatus::Failed(message) => message.clone(),
        other => panic!("{other:?}"),
    };
    assert!(message(ListKind::live(ObjectKind::Key)).starts_with(
        "unknown identity lacks the 'list' permission on keys in kv1 (HTTP 403, ForbiddenByPolicy: no keys/list)"
    ));
    assert!(
        message(ListKind::live(ObjectKind::Certificate)).contains("not found (HTTP 404): gone")
    );
    assert!(message(ListKind::deleted(ObjectKind::Secret)).contains("throttling"));
    assert_eq!(
        contents.list(ListKind::live(ObjectKind::Secret)).len(),
        1,
        "the lists that arrived stay"
    );
    let denied = state.shared.forbidden.as_ref().expect("noted");
    assert_eq!(denied.operation.object_type, ObjectType::Key);
}

#[test]
fn the_sign_in_screen_cancels_signs_in_and_signs_out() {
    let mut sink = RecordingSink::default();
    let mut state = AppState::new(None);
    state.start(&mut sink);
    assert!(sink.sent.is_empty(), "no method: the sign-in screen waits");
    let method = SignInMethod::DeviceCode {
        tenant: "t".into(),
        client_id: "c".into(),
    };
    state.handle(
        Intent::Session(SessionIntent::SignInWith(method.clone())),
        &mut sink,
    );
    let (sign_in, command) = sink.sent[0].clone();
    assert_eq!(command, Command::SignIn(method));
    state.handle(Intent::Session(SessionIntent::CancelSignIn), &mut sink);
    assert_eq!(sink.cancelled, [sign_in]);
    assert!(matches!(state.session.sign_in, SignInState::NotStarted));
    state.apply(
        event(sign_in, EventKind::Finished(Outcome::Cancelled)),
        &mut sink,
    );
    assert!(matches!(state.session.sign_in, SignInState::NotStarted));

    let mut sink = RecordingSink::default();
    let mut state = signed_in_state(&mut sink);
    assert!(state.session.is_signed_in());
    let vault = VaultUri::parse(V1).expect("uri");
    state.handle(Intent::Tree(TreeIntent::SelectVault(vault)), &mut sink);
    let load = sink.sent.last().expect("sent").0;
    state.handle(Intent::Session(SessionIntent::SignOut), &mut sink);
    assert!(sink.cancelled.contains(&load), "the vault load stops");
    assert_eq!(
        sink.sent.last().map(|(_, command)| command),
        Some(&Command::SignOut)
    );
    assert!(matches!(state.session.sign_in, SignInState::NotStarted));
    assert!(state.tree.subscriptions.is_empty() && state.session.sign_in_method.is_none());
}

#[test]
fn sign_in_loads_subscriptions_then_each_tenants_vaults_at_once() {
    let mut sink = RecordingSink::default();
    let mut state = signed_in_state(&mut sink);
    assert!(matches!(state.session.sign_in, SignInState::SignedIn(_)));
    let (subs_id, command) = sink.sent[1].clone();
    assert_eq!(command, Command::ListSubscriptions);
    let own: Subscription = serde_json::from_value(serde_json::json!({
        "subscriptionId": "s1", "displayName": "Prod", "tenantId": "t1"
    }))
    .expect("sub");
    // Delegated through Lighthouse: listed by t1, its own tenant is t9.
    let delegated = Subscription {
        listed_in_tenant: Some("t1".into()),
        ..serde_json::from_value(serde_json::json!({
            "subscriptionId": "s2", "displayName": "Customer", "tenantId": "t9",
            "managedByTenants": [{"tenantId": "t1"}]
        }))
        .expect("sub")
    };
    state.apply(
        event(subs_id, EventKind::SubscriptionsPage(vec![own, delegated])),
        &mut sink,
    );
    assert_eq!(
        sink.sent.len(),
        2,
        "no vault listing before the tenant's subscriptions are whole"
    );
    state.apply(
        event(
            subs_id,
            EventKind::TenantSubscriptionsListed { tenant_id: None },
        ),
        &mut sink,
    );
    let (discovery, command) = sink.sent[2].clone();
    assert_eq!(
        command,
        Command::DiscoverVaults {
            subscriptions: vec![
                SubscriptionScope {
                    subscription_id: "s2".into(),
                    tenant_id: Some("t1".into()),
                },
                SubscriptionScope {
                    subscription_id: "s1".into(),
                    tenant_id: Some("t1".into()),
                },
            ]
        },
        "the home tenant's at once, before the other tenants are listed; the delegated subscription \
         read with the managing tenant's token"
    );
    // A guest tenant's subscription comes later: the end of the listing asks for it alone.
    let guest = Subscription {
        listed_in_tenant: Some("t2".into()),
        ..serde_json::from_value(serde_json::json!({
            "subscriptionId": "s3", "displayName": "Partner", "tenantId": "t2"
        }))
        .expect("sub")
    };
    state.apply(
        event(subs_id, EventKind::SubscriptionsPage(vec![guest])),
        &mut sink,
    );
    state.apply(
        event(subs_id, EventKind::Finished(Outcome::Done)),
        &mut sink,
    );
    assert_eq!(state.tree.subscriptions_status, LoadStatus::Loaded);
    let (guest_discovery, command) = sink.sent[3].clone();
    assert_eq!(
        command,
        Command::DiscoverVaults {
            subscriptions: vec![SubscriptionScope {
                subscription_id: "s3".into(),
                tenant_id: Some("t2".into()),
            }]
        }
    );
    assert_eq!(sink.sent.len(), 4, "nothing asked twice");
    state.apply(
        event(
            guest_discovery,
            EventKind::SubscriptionVaultsListed {
                subscription_id: "s3".into(),
                error: None,
            },
        ),
        &mut sink,
    );
    state.apply(
        event(guest_discovery, EventKind::Finished(Outcome::Done)),
        &mut sink,
    );
    assert!(
        state
            .tree
            .subscriptions
            .iter()
            .filter(|node| node.subscription.subscription_id != "s3")
            .all(|node| node.vaults_status == LoadStatus::Loading)
    );
    state.apply(
        event(
            discovery,
            EventKind::SubscriptionVaultsListed {
                subscription_id: "s1".into(),
                error: None,
            },
        ),
        &mut sink,
    );
    state.apply(
        event(
            discovery,
            EventKind::SubscriptionVaultsListed {
                subscription_id: "s2".into(),
                error: Some("refused".into()),
            },
        ),
        &mut sink,
    );
    state.apply(
        event(discovery, EventKind::Finished(Outcome::Done)),
        &mut sink,
    );
    let status = |name: &str| {
        state
            .tree
            .subscriptions
            .iter()
            .find(|node| node.subscription.display_name == name)
            .map(|node| node.vaults_status.clone())
    };
    assert_eq!(status("Prod"), Some(LoadStatus::Loaded));
    assert_eq!(
        status("Customer"),
        Some(LoadStatus::Failed("refused".into()))
    );
}

fn page(request: RequestId, vault: &VaultUri, names: &[&str]) -> Event {
    event(
        request,
        EventKind::ObjectsPage {
            vault: vault.clone(),
            list: ListKind::live(ObjectKind::Secret),
            items: names
                .iter()
                .map(|name| item(vault.as_str(), name))
                .collect(),
        },
    )
}

fn ended(request: RequestId, vault: &VaultUri) -> Event {
    event(
        request,
        EventKind::ListEnded {
            vault: vault.clone(),
            list: ListKind::live(ObjectKind::Secret),
            error: None,
        },
    )
}

#[test]
fn vaults_load_side_by_side_and_a_reload_drops_the_old_load() {
    let mut sink = RecordingSink::default();
    let mut state = signed_in_state(&mut sink);
    let v1 = VaultUri::parse(V1).expect("uri");
    let v2 = VaultUri::parse(V2).expect("uri");
    state.handle(Intent::Tree(TreeIntent::SelectVault(v1.clone())), &mut sink);
    let first = sink.sent.last().expect("sent").0;
    state.handle(Intent::Tree(TreeIntent::SelectVault(v2.clone())), &mut sink);
    let second = sink.sent.last().expect("sent").0;
    // Moving on to another vault does not stop the first one's load.
    state.apply(page(first, &v1, &["one"]), &mut sink);
    state.apply(page(second, &v2, &["two"]), &mut sink);
    state.apply(ended(first, &v1), &mut sink);
    state.apply(event(first, EventKind::Finished(Outcome::Done)), &mut sink);
    state.apply(event(second, EventKind::Finished(Outcome::Done)), &mut sink);
    let secrets = ListKind::live(ObjectKind::Secret);
    assert_eq!(state.tree.vaults[&v1].list(secrets).names_lower(), ["one"]);
    assert_eq!(state.tree.vaults[&v2].list(secrets).names_lower(), ["two"]);
    assert!(state.tree.vaults[&v1].loaded_at.is_some());
    // Going back to a loaded vault does not load it again; Refresh does, and a page of the older
    // load arriving late is dropped.
    let before = sink.sent.len();
    state.handle(Intent::Tree(TreeIntent::SelectVault(v1.clone())), &mut sink);
    assert_eq!(sink.sent.len(), before);
    state.handle(Intent::Tree(TreeIntent::RefreshVault), &mut sink);
    let reload = sink.sent.last().expect("sent").0;
    state.handle(Intent::Tree(TreeIntent::RefreshVault), &mut sink);
    let newest = sink.sent.last().expect("sent").0;
    state.apply(page(reload, &v1, &["stale"]), &mut sink);
    state.apply(page(newest, &v1, &["fresh"]), &mut sink);
    assert_eq!(
        state.tree.vaults[&v1].list(secrets).names_lower(),
        ["one"],
        "kept until whole"
    );
    state.apply(ended(newest, &v1), &mut sink);
    assert_eq!(
        state.tree.vaults[&v1].list(secrets).names_lower(),
        ["fresh"]
    );
    assert_eq!(
        sink.sent.last().expect("sent").1,
        Command::LoadVault { vault: v1 }
    );
}

#[test]
fn open_by_uri_goes_to_the_object_and_remembers_the_vault() {
    let mut sink = RecordingSink::default();
    let mut state = signed_in_state(&mut sink);
    state.handle(
        Intent::Tree(TreeIntent::OpenUri(
            "https://kv9.vault.azure.net/keys/signing/abc123".into(),
        )),
        &mut sink,
    );
    let vault = VaultUri::parse("https://kv9.vault.azure.net").expect("uri");
    assert_eq!(state.selected_vault.as_ref(), Some(&vault));
    assert_eq!(
        state.tree.opened_vaults,
        std::slice::from_ref(&vault),
        "ARM does not list it"
    );
    assert_eq!(state.objects.selected_list, ListKind::live(ObjectKind::Key));
    assert_eq!(state.objects.selected_object.as_deref(), Some("signing"));
    assert_eq!(state.objects.selected_version.as_deref(), Some("abc123"));
    let commands: Vec<&Command> = sink.sent.iter().map(|(_, command)| command).collect();
    assert!(commands.contains(&&Command::LoadVault {
        vault: vault.clone()
    }));
    assert!(commands.iter().any(|command| matches!(command,
        Command::GetDetails { id } if id.version.as_deref() == Some("abc123"))));
    assert_eq!(state.tree.bookmarks.recent, [vault.as_str().to_owned()]);
    state.handle(
        Intent::Tree(TreeIntent::OpenUri(
            "https://kv9.vault.azure.net/storage/x".into(),
        )),
        &mut sink,
    );
    assert!(
        state
            .shared
            .notice
            .as_ref()
            .is_some_and(|notice| notice.is_error)
    );
    state.handle(
        Intent::Tree(TreeIntent::OpenUri("https://kv8.vault.azure.net/".into())),
        &mut sink,
    );
    assert_eq!(
        state.selected_vault.as_ref().map(VaultUri::name),
        Some("kv8")
    );
}

#[test]
fn an_open_search_takes_in_new_pages_once_per_frame() {
    let mut sink = RecordingSink::default();
    let (mut state, v1, id) = loading_vault(&mut sink);
    state.handle(Intent::Search(SearchIntent::Open), &mut sink);
    state.handle(
        Intent::Search(SearchIntent::SetQuery("orders".into())),
        &mut sink,
    );
    assert_eq!(state.search.results.total, 0);
    state.apply(page(id, &v1, &["orders-db"]), &mut sink);
    state.apply(page(id, &v1, &["orders-api", "billing"]), &mut sink);
    assert_eq!(state.search.results.total, 0, "not per page");
    state.refresh_search();
    assert_eq!(state.search.results.total, 2);
    assert!(!state.search.stale);
    state.handle(
        Intent::Search(SearchIntent::OpenHit(state.search.results.hits[1].clone())),
        &mut sink,
    );
    assert!(!state.search.open);
    assert_eq!(state.objects.selected_object.as_deref(), Some("orders-api"));
}

#[test]
fn keyboard_moves_opens_copies_and_closes() {
    let mut sink = RecordingSink::default();
    let (mut state, v1, id) = loading_vault(&mut sink);
    state.apply(page(id, &v1, &["a", "b", "c"]), &mut sink);
    state.handle(Intent::Objects(ObjectsIntent::MoveCursor(1)), &mut sink);
    state.handle(Intent::Objects(ObjectsIntent::MoveCursor(1)), &mut sink);
    assert_eq!(state.objects.cursor, Some(1));
    state.handle(Intent::Objects(ObjectsIntent::MoveCursor(99)), &mut sink);
    assert_eq!(state.objects.cursor, Some(2), "clamped");
    state.handle(Intent::Objects(ObjectsIntent::OpenCursor), &mut sink);
    assert_eq!(state.objects.selected_object.as_deref(), Some("c"));
    state.handle(
        Intent::Objects(ObjectsIntent::CopySelectedIdentifier),
        &mut sink,
    );
    let copied = state.take_clipboard_request().expect("copied");
    assert_eq!(
        copied.text.expose_secret(),
        "https://kv1.vault.azure.net/secrets/c"
    );
    assert!(!copied.is_secret);
    state.handle(Intent::Close, &mut sink);
    assert!(state.objects.selected_object.is_none());
}

#[test]
fn filter_matches_names_case_insensitively() {
    let mut sink = RecordingSink::default();
    let (mut state, v1, id) = loading_vault(&mut sink);
    state.apply(
        page(id, &v1, &["Orders-DB", "payments-key", "orders-api"]),
        &mut sink,
    );
    state.handle(
        Intent::Objects(ObjectsIntent::SetFilter("ORDERS".into())),
        &mut sink,
    );
    assert_eq!(state.filtered_indices(), vec![0, 2]);
    state.handle(
        Intent::Objects(ObjectsIntent::SetFilter(String::new())),
        &mut sink,
    );
    assert_eq!(state.filtered_indices().len(), 3);
}

#[test]
fn value_is_fetched_on_reveal_and_copied_on_copy() {
    let mut sink = RecordingSink::default();
    let mut state = signed_in_state(&mut sink);
    let id = ObjectId::parse("https://kv1.vault.azure.net/secrets/a").expect("id");
    state.handle(
        Intent::Objects(ObjectsIntent::CopyValue(id.clone())),
        &mut sink,
    );
    let request = sink.sent.last().expect("sent").0;
    state.apply(
        event(
            request,
            EventKind::SecretValue {
                id: id.clone(),
                value: SecretString::from("s3cret"),
            },
        ),
        &mut sink,
    );
    state.apply(
        event(request, EventKind::Finished(Outcome::Done)),
        &mut sink,
    );
    let clip = state.take_clipboard_request().expect("copied");
    assert_eq!(clip.text.expose_secret(), "s3cret");
    assert!(
        !state.objects.value.as_ref().expect("kept").visible,
        "copy does not reveal"
    );
    let before = sink.sent.len();
    state.handle(Intent::Objects(ObjectsIntent::RevealValue(id)), &mut sink);
    assert_eq!(sink.sent.len(), before, "no second fetch");
    assert!(state.objects.value.as_ref().expect("kept").visible);
    state.handle(Intent::Objects(ObjectsIntent::HideValue), &mut sink);
    assert!(state.objects.value.is_none());
}

#[test]
fn a_value_or_an_access_load_nobody_waits_for_is_cancelled_in_the_worker() {
    let mut sink = RecordingSink::default();
    let (mut state, v1, load) = loading_vault(&mut sink);
    state.apply(
        event(
            load,
            EventKind::ObjectsPage {
                vault: v1.clone(),
                list: ListKind::live(ObjectKind::Secret),
                items: vec![item(V1, "api-key")],
            },
        ),
        &mut sink,
    );
    state.apply(event(load, EventKind::Finished(Outcome::Done)), &mut sink);
    let id = ObjectId::parse(&format!("{V1}secrets/api-key")).expect("id");
    state.handle(Intent::Objects(ObjectsIntent::RevealValue(id)), &mut sink);
    let (value_request, command) = sink.sent.last().expect("sent").clone();
    assert!(matches!(command, Command::GetSecretValue { .. }));
    state.handle(Intent::Objects(ObjectsIntent::HideValue), &mut sink);
    assert!(
        sink.cancelled.contains(&value_request),
        "the value nobody waits for any more is cancelled: {:?}",
        sink.cancelled
    );
}

#[test]
fn failures_are_explained() {
    let mut sink = RecordingSink::default();
    let mut state = AppState::new(SignInMethod::AzureCli { tenant_id: None });
    state.start(&mut sink);
    let id = sink.sent[0].0;
    let error = WorkerError {
        operation: "signing in with the Azure CLI".into(),
        source: FailureReason::Auth(crate::auth::AuthError::CliNotLoggedIn),
    };
    state.apply(
        event(id, EventKind::Finished(Outcome::Failed(error))),
        &mut sink,
    );
    match &state.session.sign_in {
        SignInState::Failed(message) => assert!(message.contains("az login"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
}
