//! "Apps that use it" against the emulator: the apps whose settings reference a vault's secrets, the
//! identity each reference resolves with, the verdict for `get`, pinned versions, unreadable settings and
//! the platform's status beside the verdict; and each verdict against a real resolution attempt (a token
//! from the App Service managed-identity endpoint for the app's identity, then a GET of the secret).

mod common;

use reqwest::Method;
use serde_json::json;
use vaultscope::access::consumers::{ConsumerAccess, SecretConsumer, SettingKind, VaultConsumers};
use vaultscope::azure::identifiers::VaultUri;
use vaultscope::worker::{Command, EventKind, Outcome, WorkerHandle};

use common::probe::Probe;
use common::wait_for;

const PROD: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const DEV: &str = "9b2e6f1a-7c3d-4e8f-a1b2-c3d4e5f60702";
const ADA: &str = "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61";
const SECURITY_FUNCTIONS: &str = "5a1e2d3c-6b7a-4c44-8d9e-4b5a6f7e8d94";
const ORDERS_IDENTITY: &str = "/subscriptions/3f2504e0-4f89-41d3-9a0c-0305e82c3301/resourceGroups/rg-prod-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders-api";

fn vault_arm_id(subscription: &str, group: &str, vault: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}"
    )
}

struct Consumers {
    probe: Probe,
    worker: WorkerHandle,
    events: std::sync::mpsc::Receiver<vaultscope::worker::Event>,
}

impl Consumers {
    fn start() -> Self {
        let probe = Probe::start();
        let (worker, events) = probe.cloud.signed_in_worker();
        Self {
            probe,
            worker,
            events,
        }
    }

    fn find(&self, subscription: &str, group: &str, vault: &str) -> VaultConsumers {
        let uri = VaultUri::parse(&format!(
            "https://{vault}.vault.localhost:{}/",
            self.probe.port()
        ))
        .expect("vault URI");
        let id = self.worker.send(Command::FindConsumers {
            arm_id: vault_arm_id(subscription, group, vault),
            vault: uri,
            subscription_name: None,
            tenant_id: None,
        });
        let (seen, outcome) = wait_for(&self.events, id);
        assert!(matches!(outcome, Outcome::Done), "{vault}: {outcome:?}");
        seen.into_iter()
            .find_map(|kind| match kind {
                EventKind::Consumers { consumers, .. } => Some(*consumers),
                _ => None,
            })
            .expect("a Consumers event")
    }

    /// What the platform would get now: a token for the reference's identity from the App Service
    /// managed-identity endpoint, then a GET of the secret (of its pinned version, when pinned).
    fn resolves(&self, vault: &str, consumer: &SecretConsumer) -> bool {
        let environment = self
            .probe
            .cloud
            .managed_identity_environment(&["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]);
        let variable = |name: &str| {
            environment
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
                .expect("variable")
        };
        let mut url = url::Url::parse(&variable("IDENTITY_ENDPOINT")).expect("endpoint");
        url.query_pairs_mut()
            .append_pair("api-version", "2019-08-01")
            .append_pair(
                "resource",
                &format!("https://vault.localhost:{}", self.probe.port()),
            );
        if consumer.identity.label.starts_with("user-assigned") {
            url.query_pairs_mut()
                .append_pair("mi_res_id", ORDERS_IDENTITY);
        }
        let header = variable("IDENTITY_HEADER");
        let (status, body, _) = self.probe.call(
            Method::GET,
            url.as_str(),
            None,
            &[("X-IDENTITY-HEADER", &header)],
            None,
        );
        assert_eq!(status, 200, "managed-identity token: {body}");
        let token = body["access_token"].as_str().expect("token").to_owned();
        let path = match &consumer.version {
            Some(version) => format!(
                "/secrets/{}/{version}?api-version=2025-07-01",
                consumer.secret_name
            ),
            None => format!("/secrets/{}?api-version=2025-07-01", consumer.secret_name),
        };
        let (status, body, _) = self.probe.call(
            Method::GET,
            &self.probe.url(&format!("{vault}.vault"), &path),
            Some(&token),
            &[],
            None,
        );
        assert!(
            status == 200 || status == 403,
            "{}: {status} {body}",
            consumer.where_label()
        );
        status == 200
    }

    fn assert_verdicts_match_resolution(&self, vault: &str, consumers: &VaultConsumers) {
        for consumer in &consumers.consumers {
            let allowed = consumer
                .access
                .allowed()
                .unwrap_or_else(|| panic!("{}: {:?}", consumer.where_label(), consumer.access));
            assert_eq!(
                allowed,
                self.resolves(vault, consumer),
                "{} on {vault}: Vaultscope says {}",
                consumer.where_label(),
                consumer.access.sentence()
            );
        }
    }
}

fn settings(consumers: &VaultConsumers) -> Vec<String> {
    consumers
        .consumers
        .iter()
        .map(|consumer| format!("{}/{}", consumer.app_name, consumer.setting))
        .collect()
}

#[test]
fn the_function_apps_references_resolve_with_its_system_identity_until_its_policy_goes() {
    let test = Consumers::start();
    let found = test.find(PROD, "rg-prod-security", "kv-security-fn");
    assert_eq!(
        settings(&found),
        [
            "SecurityFunctions/AuditLog",
            "SecurityFunctions/IdentityBridge__ApiKey",
            "SecurityFunctions/SearchIndexer__Db"
        ]
    );
    assert!(found.gaps.is_empty(), "{:?}", found.gaps);
    let audit = &found.consumers[0];
    assert_eq!(audit.setting_kind, SettingKind::ConnectionString);
    assert_eq!(audit.app_kind, "Function app");
    for consumer in &found.consumers {
        assert_eq!(consumer.identity.label, "system-assigned identity");
        assert_eq!(
            consumer.identity.principal_id.as_deref(),
            Some(SECURITY_FUNCTIONS)
        );
        assert!(
            matches!(&consumer.access, ConsumerAccess::Allowed { path } if path.contains("access policy")),
            "{:?}",
            consumer.access
        );
        assert_eq!(
            consumer.platform.as_ref().map(|p| p.status.as_str()),
            Some("Resolved")
        );
        assert_eq!(consumer.disagreement(), None);
        assert_eq!(consumer.version, None);
    }
    test.assert_verdicts_match_resolution("kv-security-fn", &found);

    // The story: someone removes the function app's access policy.
    let arm_id = vault_arm_id(PROD, "rg-prod-security", "kv-security-fn");
    let token = test.probe.token(ADA, "management");
    let (status, body, _) = test.probe.call(
        Method::PUT,
        &test.probe.url(
            "management",
            &format!("{arm_id}/accessPolicies/remove?api-version=2026-04-01"),
        ),
        Some(&token),
        &[],
        Some(json!({"properties": {"accessPolicies": [{
            "tenantId": common::DEMO_TENANT,
            "objectId": SECURITY_FUNCTIONS,
            "permissions": {"secrets": ["get", "list"], "keys": [], "certificates": []}
        }]}})),
    );
    assert_eq!(status, 200, "{body}");
    let after = test.find(PROD, "rg-prod-security", "kv-security-fn");
    for consumer in &after.consumers {
        assert!(
            matches!(&consumer.access, ConsumerAccess::Denied { why, .. } if why.contains("No access policy")),
            "{:?}",
            consumer.access
        );
        // The platform has not re-read its references yet: it still says Resolved, and the two disagree.
        assert!(
            consumer
                .disagreement()
                .is_some_and(|why| why.contains("next refresh")),
            "{consumer:?}"
        );
    }
    test.assert_verdicts_match_resolution("kv-security-fn", &after);
}

#[test]
fn the_orders_api_resolves_with_its_user_assigned_identity_one_pinned_one_denied() {
    let test = Consumers::start();
    let orders = test.find(PROD, "rg-prod-app", "kv-prod-orders");
    assert_eq!(
        settings(&orders),
        ["orders-api/Orders__AppInsights", "orders-api/Orders__Db"]
    );
    let pinned = &orders.consumers[0];
    assert_eq!(
        pinned.identity.label,
        "user-assigned identity id-orders-api"
    );
    assert_eq!(pinned.app_kind, "App Service app");
    assert_eq!(
        pinned.version.as_deref(),
        Some("bd04e54fe68ed7cc253f8e64273638c0")
    );
    assert!(pinned.access.allowed() == Some(true), "{:?}", pinned.access);
    assert!(
        pinned
            .access
            .sentence()
            .contains("group Prod Secret Readers"),
        "{}",
        pinned.access.sentence()
    );
    assert_eq!(orders.consumers[1].version, None);
    test.assert_verdicts_match_resolution("kv-prod-orders", &orders);

    let payments = test.find(PROD, "rg-prod-app", "kv-prod-payments");
    assert_eq!(settings(&payments), ["orders-api/Payments__Db"]);
    let denied = &payments.consumers[0];
    assert!(
        matches!(denied.access, ConsumerAccess::Denied { .. }),
        "{:?}",
        denied.access
    );
    // The platform last resolved it (seeded as stale): flagged.
    assert_eq!(
        denied.platform.as_ref().map(|p| p.status.as_str()),
        Some("Resolved")
    );
    assert!(denied.disagreement().is_some());
    test.assert_verdicts_match_resolution("kv-prod-payments", &payments);

    let web = test.find(PROD, "rg-prod-app", "kv-prod-web");
    assert_eq!(settings(&web), ["orders-api/Redis"]);
    assert_eq!(web.consumers[0].setting_kind, SettingKind::ConnectionString);
    assert_eq!(web.consumers[0].access.allowed(), Some(true));
    test.assert_verdicts_match_resolution("kv-prod-web", &web);
}

#[test]
fn an_app_whose_settings_cannot_be_read_is_listed_with_why() {
    let test = Consumers::start();
    let dev = test.find(DEV, "rg-dev-shared", "kv-dev-shared");
    assert!(dev.consumers.is_empty());
    assert!(dev.apps_seen >= 1);
    assert_eq!(dev.unread_apps.len(), 1, "{:?}", dev.unread_apps);
    assert_eq!(dev.unread_apps[0].app_name, "catalog-web-dev");
    assert!(
        dev.unread_apps[0]
            .why
            .contains("Microsoft.Web/sites/config/list/action"),
        "{}",
        dev.unread_apps[0].why
    );
    // A vault nothing references: no consumers, every readable app looked at.
    let restricted_free = test.find(DEV, "rg-dev-shared", "kv-dev-sandbox");
    assert!(restricted_free.consumers.is_empty());
    assert_eq!(restricted_free.apps_seen, dev.apps_seen);
}
