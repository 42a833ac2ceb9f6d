//! The emulated Key Vault data plane's rules and errors over plain HTTPS: api-versions and integer
//! timestamps, paging with `maxresults` and absolute `nextLink`s, per-principal authorization (RBAC and
//! access policies), the firewall, and Key Vault's error bodies.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::json;

use common::probe::*;

#[test]
fn data_plane_rules_and_errors() {
    let probe = Probe::start();
    // Every required api-version is served, with integer timestamps.
    for version in ["7.5", "7.6", "2025-07-01", "2026-04-01"] {
        let (status, body) = probe.vault(
            ADA,
            Method::GET,
            "kv-dev-shared",
            &format!("/secrets?api-version={version}&maxresults=2"),
            None,
        );
        assert_eq!(status, StatusCode::OK, "{version}: {body}");
        assert!(body["value"][0]["attributes"]["created"].is_i64());
        assert!(
            body["nextLink"]
                .as_str()
                .is_some_and(|n| n.starts_with("https://kv-dev-shared.vault.localhost:"))
        );
    }
    let (status, _) = probe.vault(
        ADA,
        Method::GET,
        "kv-dev-shared",
        "/secrets?api-version=2025-07-01&maxresults=26",
        None,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Name and size rules.
    let (status, body) = probe.vault(
        ADA,
        Method::PUT,
        "kv-dev-shared",
        "/secrets/bad_name?api-version=2025-07-01",
        Some(json!({"value": "x"})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let big = "x".repeat(25 * 1024 + 1);
    let (status, body) = probe.vault(
        ADA,
        Method::PUT,
        "kv-dev-shared",
        "/secrets/too-big?api-version=2025-07-01",
        Some(json!({"value": big})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Firewall and RBAC denials are told apart.
    let (status, body) = probe.vault(
        ADA,
        Method::GET,
        "kv-prod-restricted",
        "/secrets?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["innererror"]["code"], "ForbiddenByFirewall");
    let (status, body) = probe.vault(
        ID_ORDERS_API,
        Method::GET,
        "kv-prod-payments",
        "/secrets/payments-svc-ClientSecret?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["innererror"]["code"], "ForbiddenByRbac");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Microsoft.KeyVault/vaults/secrets/getSecret/action"))
    );
    // … while its object-scoped assignment lets it read that one secret.
    let (status, _) = probe.vault(
        ID_ORDERS_API,
        Method::GET,
        "kv-prod-payments",
        "/secrets/payments-svc-ApiKey?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::OK);

    // Soft delete, 409 on reuse, purge protection, recover.
    let (status, deleted) = probe.vault(
        ADA,
        Method::DELETE,
        "kv-prod-orders",
        "/secrets/orders-api-ApiKey?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(
        deleted["recoveryId"]
            .as_str()
            .is_some_and(|r| r.contains("/deletedsecrets/"))
    );
    assert!(deleted["scheduledPurgeDate"].is_i64());
    let (status, conflict) = probe.vault(
        ADA,
        Method::PUT,
        "kv-prod-orders",
        "/secrets/orders-api-ApiKey?api-version=2025-07-01",
        Some(json!({"value": "again"})),
    );
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        conflict["error"]["innererror"]["code"],
        "ObjectIsDeletedButRecoverable"
    );
    let (status, _) = probe.vault(
        ADA,
        Method::DELETE,
        "kv-prod-orders",
        "/deletedsecrets/orders-api-ApiKey?api-version=2025-07-01",
        None,
    );
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "kv-prod-orders has purge protection"
    );
    let (status, _) = probe.vault(
        ADA,
        Method::POST,
        "kv-prod-orders",
        "/deletedsecrets/orders-api-ApiKey/recover?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::OK);

    // Backup and restore: the blob restores under a free name only.
    let (status, backup) = probe.vault(
        ADA,
        Method::POST,
        "kv-dev-shared",
        "/secrets/billing-ClientSecret/backup?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = probe.vault(
        ADA,
        Method::POST,
        "kv-dev-shared",
        "/secrets/restore?api-version=2025-07-01",
        Some(json!({"value": backup["value"]})),
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = probe.vault(
        ADA,
        Method::DELETE,
        "kv-dev-shared",
        "/secrets/billing-ClientSecret?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = probe.vault(
        ADA,
        Method::DELETE,
        "kv-dev-shared",
        "/deletedsecrets/billing-ClientSecret?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, restored) = probe.vault(
        ADA,
        Method::POST,
        "kv-dev-shared",
        "/secrets/restore?api-version=2025-07-01",
        Some(json!({"value": backup["value"]})),
    );
    assert_eq!(status, StatusCode::OK, "{restored}");

    // Keys and certificates lists carry kid and x5t.
    let (status, keys) = probe.vault(
        ADA,
        Method::GET,
        "kv-dev-shared",
        "/keys?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert!(keys["value"][0]["kid"].is_string());
    let (status, certificates) = probe.vault(
        ADA,
        Method::GET,
        "kv-dev-shared",
        "/certificates?api-version=2025-07-01",
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert!(certificates["value"][0]["x5t"].is_string());
    let name = certificates["value"][0]["id"]
        .as_str()
        .and_then(|id| id.rsplit('/').next())
        .expect("name")
        .to_owned();
    let (status, policy) = probe.vault(
        ADA,
        Method::GET,
        "kv-dev-shared",
        &format!("/certificates/{name}/policy?api-version=2025-07-01"),
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert!(policy["x509_props"]["subject"].is_string());
}
