//! The emulator's wire protocols, checked over HTTPS with plain HTTP calls: Entra (client assertions,
//! discovery, the device approval page), managed identity (IMDS, App Service, legacy), ARM (management-plane
//! authorization, role assignments and definitions, access-policy updates, deleted vaults), Graph, and fault
//! injection with the request log. The Key Vault data plane's rules are in `emulator_data_plane.rs`.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vaultscope::emulator::faults::Faults;
use vaultscope::emulator::{Emulator, EmulatorConfig};

use common::probe::*;

#[test]
fn arm_lists_only_what_each_principal_may_read() {
    let probe = Probe::start();
    let ada_vaults = probe.arm_all(
        ADA,
        &format!(
            "/subscriptions/{PROD}/providers/Microsoft.KeyVault/vaults?api-version=2026-04-01"
        ),
    );
    assert_eq!(ada_vaults.len(), 5, "{:?}", names(&ada_vaults));

    // ci-pipeline: a custom role on one dev vault only.
    let subscriptions = probe.arm_all(CI_PIPELINE, "/subscriptions?api-version=2022-12-01");
    let ids: Vec<&str> = subscriptions
        .iter()
        .filter_map(|s| s["subscriptionId"].as_str())
        .collect();
    assert_eq!(ids, vec![DEV]);
    let ci_vaults = probe.arm_all(
        CI_PIPELINE,
        &format!("/subscriptions/{DEV}/providers/Microsoft.KeyVault/vaults?api-version=2026-04-01"),
    );
    assert_eq!(names(&ci_vaults), vec!["kv-dev-shared"]);

    // The generic resources form lists the same vaults with generic fields only.
    let resources = probe.arm_all(ADA, &format!("/subscriptions/{PROD}/resources?$filter=resourceType%20eq%20'Microsoft.KeyVault/vaults'&api-version=2015-11-01"));
    assert_eq!(resources.len(), 5);
    assert!(resources[0].get("properties").is_none());

    // id-orders-api has data-plane roles only: ARM refuses to show it the vault.
    let (status, body) = probe.arm(ID_ORDERS_API, &format!("/subscriptions/{PROD}/resourceGroups/rg-prod-app/providers/Microsoft.KeyVault/vaults/kv-prod-payments?api-version=2026-04-01"));
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "AuthorizationFailed");

    let (status, body) = probe.arm(ADA, &format!("/subscriptions/{PROD}/resourceGroups/rg-prod-app/providers/Microsoft.KeyVault/vaults/kv-prod-orders?api-version=2026-04-01"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["properties"]["enableRbacAuthorization"], true);
    assert_eq!(body["properties"]["enablePurgeProtection"], true);

    let tenants = probe.arm_all(ADA, "/tenants?api-version=2022-12-01");
    assert_eq!(tenants[0]["tenantId"], TENANT);

    let deleted = probe.arm_all(ADA, &format!("/subscriptions/{PROD}/providers/Microsoft.KeyVault/deletedVaults?api-version=2026-04-01"));
    assert_eq!(names(&deleted), vec!["kv-prod-legacy"]);
    assert!(
        deleted[0]["properties"]["scheduledPurgeDate"]
            .as_str()
            .is_some_and(|d| d.contains('T'))
    );
}

#[test]
fn role_assignments_and_definitions() {
    let probe = Probe::start();
    let vault = format!(
        "/subscriptions/{PROD}/resourceGroups/rg-prod-app/providers/Microsoft.KeyVault/vaults/kv-prod-orders"
    );
    let at_scope = probe.arm_all(ADA, &format!("{vault}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()"));
    let scopes: Vec<&str> = at_scope
        .iter()
        .filter_map(|a| a["properties"]["scope"].as_str())
        .collect();
    assert!(
        scopes.contains(&format!("/subscriptions/{PROD}").as_str()),
        "inherited from the subscription: {scopes:?}"
    );
    assert!(
        scopes.contains(&format!("/subscriptions/{PROD}/resourceGroups/rg-prod-app").as_str()),
        "inherited from the group"
    );
    assert!(scopes.contains(&vault.as_str()), "at the vault");

    let payments = format!(
        "/subscriptions/{PROD}/resourceGroups/rg-prod-app/providers/Microsoft.KeyVault/vaults/kv-prod-payments"
    );
    let for_principal = probe.arm_all(ADA, &format!("{payments}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId%20eq%20'{ID_ORDERS_API}'"));
    assert_eq!(
        for_principal.len(),
        1,
        "the object-scoped assignment below the vault"
    );
    assert!(
        for_principal[0]["properties"]["scope"]
            .as_str()
            .is_some_and(|s| s.ends_with("/secrets/payments-svc-ApiKey"))
    );

    // Without roleAssignments/read, only one's own assignments can be listed.
    let (status, _) = probe.arm(
        ID_ORDERS_API,
        &format!(
            "{payments}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
        ),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, own) = probe.arm(ID_ORDERS_API, &format!("{payments}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=assignedTo('{ID_ORDERS_API}')"));
    assert_eq!(status, StatusCode::OK, "{own}");
    assert!(own["value"].as_array().is_some_and(|v| !v.is_empty()));

    let definitions = probe.arm_all(ADA, &format!("/subscriptions/{PROD}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$top=100"));
    let secrets_user = definitions
        .iter()
        .find(|d| d["properties"]["roleName"] == "Key Vault Secrets User")
        .expect("built-in role");
    assert_eq!(secrets_user["name"], "4633458b-17de-408a-b874-0445c86b69e6");
    let custom = definitions
        .iter()
        .find(|d| d["properties"]["type"] == "CustomRole")
        .expect("custom role");
    assert!(
        custom["properties"]["permissions"][0]["notDataActions"]
            .as_array()
            .is_some_and(|n| !n.is_empty())
    );
    let (status, by_name) = probe.arm(ADA, &format!("/subscriptions/{PROD}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=roleName%20eq%20'Key%20Vault%20Reader'"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_name["value"].as_array().map(Vec::len), Some(1));
}

#[test]
fn access_policy_updates_change_what_the_data_plane_allows() {
    let probe = Probe::start();
    let body = json!({"value": "from-ben"});
    let (status, denied) = probe.vault(
        BEN,
        Method::PUT,
        "kv-prod-web",
        "/secrets/ben-secret?api-version=2025-07-01",
        Some(body.clone()),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        denied["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not have secrets set permission")),
        "{denied}"
    );

    let path = |kind: &str| {
        format!(
            "/subscriptions/{PROD}/resourceGroups/rg-prod-app/providers/Microsoft.KeyVault/vaults/kv-prod-web/accessPolicies/{kind}?api-version=2026-04-01"
        )
    };
    let change = json!({"properties": {"accessPolicies": [{"tenantId": TENANT, "objectId": BEN, "permissions": {"secrets": ["set"]}}]}});
    // Chloe reads vaults (Key Vault Reader) but holds no accessPolicies/write: refused.
    let chloe = probe.token(CHLOE, "management");
    let (status, body, _) = probe.call(
        Method::PUT,
        &probe.url("management", &path("add")),
        Some(&chloe),
        &[],
        Some(change.clone()),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Ada is Key Vault Contributor on the resource group.
    let ada = probe.token(ADA, "management");
    let (status, body, _) = probe.call(
        Method::PUT,
        &probe.url("management", &path("add")),
        Some(&ada),
        &[],
        Some(change.clone()),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["type"], "Microsoft.KeyVault/vaults/accessPolicies");
    let (status, _) = probe.vault(
        BEN,
        Method::PUT,
        "kv-prod-web",
        "/secrets/ben-secret?api-version=2025-07-01",
        Some(body_value()),
    );
    assert_eq!(status, StatusCode::OK, "the new policy applies at once");
    let (status, _, _) = probe.call(
        Method::PUT,
        &probe.url("management", &path("remove")),
        Some(&ada),
        &[],
        Some(change),
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = probe.vault(
        BEN,
        Method::PUT,
        "kv-prod-web",
        "/secrets/ben-secret?api-version=2025-07-01",
        Some(body_value()),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "and its removal too");
    let (status, listed) = probe.vault(
        BEN,
        Method::GET,
        "kv-prod-web",
        "/secrets?api-version=2025-07-01",
        None,
    );
    assert_eq!(
        status,
        StatusCode::OK,
        "Ops On-Call's group policy still lets Ben list: {listed}"
    );
}

#[test]
fn graph_search_get_by_ids_and_transitive_groups() {
    let probe = Probe::start();
    let token = probe.token(ADA, "graph");
    let (status, body, _) = probe.call(
        Method::GET,
        &probe.url("graph", "/v1.0/users?$search=%22displayName:ben%22"),
        Some(&token),
        &[],
        None,
    );
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "$search needs ConsistencyLevel: {body}"
    );
    let (status, body, _) = probe.call(
        Method::GET,
        &probe.url(
            "graph",
            "/v1.0/users?$search=%22displayName:ben%22&$select=id,displayName",
        ),
        Some(&token),
        &[("ConsistencyLevel", "eventual")],
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"][0]["id"], BEN);
    let (status, body, _) = probe.call(
        Method::GET,
        &probe.url(
            "graph",
            &format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{ID_ORDERS_API_APP}'"),
        ),
        Some(&token),
        &[],
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"][0]["servicePrincipalType"], "ManagedIdentity");

    let (status, body, _) = probe.call(
        Method::POST,
        &probe.url("graph", "/v1.0/directoryObjects/getByIds"),
        Some(&token),
        &[],
        Some(
            json!({"ids": [ADA, OPS_ON_CALL, CI_PIPELINE, "00000000-0000-0000-0000-000000000000"]}),
        ),
    );
    assert_eq!(status, StatusCode::OK);
    let types: Vec<&str> = body["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|o| o["@odata.type"].as_str())
        .collect();
    assert_eq!(types.len(), 3, "unknown ids are skipped: {types:?}");

    let (status, body, _) = probe.call(
        Method::POST,
        &probe.url("graph", &format!("/v1.0/users/{BEN}/getMemberGroups")),
        Some(&token),
        &[],
        Some(json!({"securityEnabledOnly": true})),
    );
    assert_eq!(status, StatusCode::OK);
    let groups: Vec<&str> = body["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        groups.contains(&OPS_ON_CALL) && groups.contains(&PLATFORM_OPERATORS),
        "transitive: {groups:?}"
    );
}

#[test]
fn entra_extras_and_managed_identity_endpoints() {
    let probe = Probe::start();
    let (status, discovery, _) = probe.call(
        Method::GET,
        &probe.url(
            "login",
            &format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
        ),
        None,
        &[],
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert!(
        discovery["token_endpoint"]
            .as_str()
            .is_some_and(|t| t.ends_with("/oauth2/v2.0/token"))
    );

    // Workload identity: a federated token for id-orders-api's service account.
    let assertion = |subject: &str| {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
        let payload = URL_SAFE_NO_PAD.encode(
            json!({"iss": "https://oidc.aks.contoso.demo/", "sub": subject, "aud": "api://AzureADTokenExchange", "exp": exp}).to_string(),
        );
        format!("{header}.{payload}.c2ln")
    };
    let token_request = |subject: &str| {
        probe.cloud.runtime.block_on(async {
            let response = probe
                .http
                .post(probe.url("login", &format!("/{TENANT}/oauth2/v2.0/token")))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", ID_ORDERS_API_APP),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion(subject)),
                    (
                        "scope",
                        &format!("https://vault.localhost:{}/.default", probe.port()),
                    ),
                ])
                .send()
                .await
                .expect("response");
            (
                response.status(),
                response.json::<Value>().await.expect("json"),
            )
        })
    };
    let (status, body) = token_request("system:serviceaccount:orders:orders-api");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
    let (status, body) = token_request("system:serviceaccount:other:intruder");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS70021"))
    );

    // IMDS: the Metadata header is required; unknown identities get "Identity not found".
    let imds = |query: &str, metadata: bool| {
        let headers: &[(&str, &str)] = if metadata {
            &[("Metadata", "true")]
        } else {
            &[]
        };
        probe.call(Method::GET, &probe.url("login", &format!("/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.localhost:{}{query}", probe.port())), None, headers, None)
    };
    assert_eq!(imds("", false).0, StatusCode::BAD_REQUEST);
    let (status, body, _) = imds("", true);
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["expires_in"].is_string() && body["expires_on"].is_string(),
        "numbers as strings: {body}"
    );
    let (status, body, _) = imds(&format!("&client_id={ID_ORDERS_API_APP}"), true);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["client_id"], ID_ORDERS_API_APP);
    let (status, body, _) = imds(&format!("&object_id={ID_ORDERS_API}"), true);
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = imds("&client_id=00000000-0000-0000-0000-000000000000", true);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "Identity not found");

    let environment = probe.cloud.emulator.managed_identity_environment();
    let secret = environment
        .iter()
        .find(|(name, _)| *name == "MSI_SECRET")
        .map(|(_, v)| v.clone())
        .expect("secret");
    let (status, body, _) = probe.call(
        Method::GET,
        &probe.url(
            "login",
            &format!(
                "/msi/legacy-token?api-version=2017-09-01&resource=https://vault.localhost:{}",
                probe.port()
            ),
        ),
        None,
        &[("secret", &secret)],
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["expires_on"]
            .as_str()
            .is_some_and(|d| d.ends_with("+00:00") && d.contains('/')),
        "a date string: {body}"
    );
}

#[test]
fn device_codes_approved_on_the_html_page() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut config = EmulatorConfig::demo().expect("config");
    config.auto_approve_device_codes = false;
    let emulator = runtime.block_on(Emulator::start(config)).expect("emulator");
    let http = emulator
        .cloud_profile()
        .expect("profile")
        .http_client(Duration::from_secs(30))
        .expect("client");
    let base = format!("https://login.localhost:{}", emulator.port());
    runtime.block_on(async {
        let start: Value = http
            .post(format!("{base}/{TENANT}/oauth2/v2.0/devicecode"))
            .form(&[
                ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
                (
                    "scope",
                    &format!(
                        "https://management.localhost:{}/.default offline_access",
                        emulator.port()
                    ),
                ),
            ])
            .send()
            .await
            .expect("devicecode")
            .json()
            .await
            .expect("json");
        let poll = || async {
            http.post(format!("{base}/{TENANT}/oauth2/v2.0/token"))
                .form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
                    ("device_code", start["device_code"].as_str().expect("code")),
                ])
                .send()
                .await
                .expect("token")
        };
        let pending: Value = poll().await.json().await.expect("json");
        assert_eq!(pending["error"], "authorization_pending");
        let too_fast: Value = poll().await.json().await.expect("json");
        assert_eq!(too_fast["error"], "slow_down");
        let page = http
            .get(format!("{base}/device"))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(
            page.contains("ben@contoso.demo"),
            "the page offers the demo identities"
        );
        let approved = http
            .post(format!("{base}/device"))
            .form(&[
                ("user_code", start["user_code"].as_str().expect("user code")),
                ("upn", "ben@contoso.demo"),
                ("decision", "approve"),
            ])
            .send()
            .await
            .expect("approve");
        assert_eq!(approved.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let granted: Value = poll().await.json().await.expect("json");
        let token = granted["access_token"].as_str().expect("access token");
        let payload = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).expect("payload"))
            .expect("b64");
        let claims: Value = serde_json::from_slice(&payload).expect("claims");
        assert_eq!(claims["upn"], "ben@contoso.demo");
        assert!(granted["refresh_token"].is_string());

        // A second code, declined on the page; a third, left to expire.
        let start_code = || async {
            http.post(format!("{base}/{TENANT}/oauth2/v2.0/devicecode"))
                .form(&[
                    ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
                    (
                        "scope",
                        &format!("https://management.localhost:{}/.default", emulator.port()),
                    ),
                ])
                .send()
                .await
                .expect("devicecode")
                .json::<Value>()
                .await
                .expect("json")
        };
        let poll_code = |device_code: String| {
            let http = http.clone();
            let base = base.clone();
            async move {
                http.post(format!("{base}/{TENANT}/oauth2/v2.0/token"))
                    .form(&[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                        ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
                        ("device_code", device_code.as_str()),
                    ])
                    .send()
                    .await
                    .expect("token")
                    .json::<Value>()
                    .await
                    .expect("json")
            }
        };
        let declined = start_code().await;
        http.post(format!("{base}/device"))
            .form(&[
                ("user_code", declined["user_code"].as_str().expect("code")),
                ("upn", "ben@contoso.demo"),
                ("decision", "decline"),
            ])
            .send()
            .await
            .expect("decline");
        let answer = poll_code(declined["device_code"].as_str().expect("code").to_owned()).await;
        assert_eq!(answer["error"], "authorization_declined");
        let expiring = start_code().await;
        emulator.expire_device_codes();
        let answer = poll_code(expiring["device_code"].as_str().expect("code").to_owned()).await;
        assert_eq!(answer["error"], "expired_token");
    });
}

#[test]
fn faults_and_the_request_log() {
    let probe = Probe::start();
    probe.cloud.emulator.clear_request_log();
    probe.cloud.emulator.set_faults(Faults {
        throttle_rate: 1.0,
        retry_after_seconds: 7,
        ..Faults::default()
    });
    let token = probe.token(ADA, "vault");
    let (status, _, headers) = probe.call(
        Method::GET,
        &probe.url("kv-dev-shared.vault", "/secrets?api-version=2025-07-01"),
        Some(&token),
        &[],
        None,
    );
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );

    probe.cloud.emulator.set_faults(Faults {
        server_error_rate: 1.0,
        ..Faults::default()
    });
    let (status, _, _) = probe.call(
        Method::GET,
        &probe.url("kv-dev-shared.vault", "/secrets?api-version=2025-07-01"),
        Some(&token),
        &[],
        None,
    );
    assert!(
        status == StatusCode::INTERNAL_SERVER_ERROR || status == StatusCode::SERVICE_UNAVAILABLE
    );

    probe.cloud.emulator.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let dropped = probe.cloud.runtime.block_on(async {
        probe
            .http
            .get(probe.url("kv-dev-shared.vault", "/secrets?api-version=2025-07-01"))
            .bearer_auth(&token)
            .send()
            .await
    });
    assert!(
        dropped.is_err(),
        "the connection is dropped without an answer"
    );

    probe.cloud.emulator.set_faults(Faults::default());
    let (status, _, _) = probe.call(
        Method::GET,
        &probe.url("kv-dev-shared.vault", "/secrets?api-version=2025-07-01"),
        Some(&token),
        &[],
        None,
    );
    assert_eq!(status, StatusCode::OK);

    let log = probe.cloud.emulator.request_log();
    let statuses: Vec<Option<u16>> = log
        .iter()
        .filter(|entry| entry.host.starts_with("kv-dev-shared.vault.localhost"))
        .map(|entry| entry.status)
        .collect();
    assert!(
        statuses.contains(&Some(429)) && statuses.contains(&None) && statuses.contains(&Some(200)),
        "{statuses:?}"
    );
    assert!(
        log.iter()
            .all(|entry| entry.principal.as_deref() == Some(ADA)),
        "{log:?}"
    );
}

#[test]
fn links_are_built_from_the_configured_hosts_whatever_host_header_comes() {
    let probe = Probe::start();
    let port = probe.port();
    let arm_token = probe.token(ADA, "management");
    let graph_token = probe.token(ADA, "graph");
    for sent in [
        "management.localhost:1@evil.example".to_owned(),
        "management.localhost:not-a-port".to_owned(),
        "management.localhost:99999".to_owned(),
        format!("MANAGEMENT.localhost:{port}"),
    ] {
        let (status, body, _) = probe.call(
            Method::GET,
            &probe.url("management", "/subscriptions?api-version=2022-12-01&$top=1"),
            Some(&arm_token),
            &[("Host", &sent)],
            None,
        );
        assert_eq!(status, StatusCode::OK, "{sent}: {body}");
        let next = body["nextLink"].as_str().expect("a next page");
        assert!(
            next.starts_with(&format!("https://management.localhost:{port}/")),
            "{sent} made {next}"
        );
    }
    // Graph pages the same way (this Host once made a handler panic).
    let (status, body, _) = probe.call(
        Method::GET,
        &probe.url("graph", "/v1.0/users?$top=1"),
        Some(&graph_token),
        &[("Host", "graph.localhost:not-a-port")],
        None,
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let next = body["@odata.nextLink"].as_str().expect("a next page");
    assert!(
        next.starts_with(&format!("https://graph.localhost:{port}/")),
        "{next}"
    );
    // A vault name Key Vault could not have is not routed.
    let (status, _, _) = probe.call(
        Method::GET,
        &probe.url("kv-dev-shared.vault", "/secrets?api-version=7.4"),
        None,
        &[("Host", &format!("kv_dev@shared.vault.localhost:{port}"))],
        None,
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A client that connects and never finishes its TLS handshake is let go at the connection timeout,
/// so half-open connections cannot pile up.
#[test]
fn a_silent_connection_is_closed_at_the_timeout() {
    use std::io::Read as _;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut config = vaultscope::emulator::EmulatorConfig::demo().expect("config");
    config.connection_timeout = std::time::Duration::from_millis(300);
    let emulator = runtime
        .block_on(vaultscope::emulator::Emulator::start(config))
        .expect("starts");
    let mut silent =
        std::net::TcpStream::connect(("127.0.0.1", emulator.port())).expect("connects");
    silent
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 16];
    let read = silent.read(&mut buffer);
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|error| error.kind() == std::io::ErrorKind::ConnectionReset),
        "closed by the emulator: {read:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// Errors Azure answers in JSON are JSON here too: a path that is not UTF-8, a token request with the
/// wrong content type, a body that is not JSON, a method the route lacks.
#[test]
fn every_error_answer_is_azure_shaped_json() {
    use tower::ServiceExt as _;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emulator = runtime
        .block_on(vaultscope::emulator::Emulator::start(
            vaultscope::emulator::EmulatorConfig::demo().expect("config"),
        ))
        .expect("starts");
    let ada = emulator
        .token_for(
            "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61",
            &format!("https://vault.localhost:{}", emulator.port()),
        )
        .expect("token");
    // (method, host, path, token, body, content type)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a str, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "GET",
            "kv-dev-sandbox.vault.localhost",
            "/secrets/%FF%FE?api-version=7.5",
            Some(&ada),
            "",
            "application/json",
        ),
        (
            "POST",
            "login.localhost",
            "/common/oauth2/v2.0/token",
            None,
            "{}",
            "application/json",
        ),
        (
            "PUT",
            "kv-dev-sandbox.vault.localhost",
            "/secrets/x?api-version=7.5",
            Some(&ada),
            "{\"value\":",
            "application/json",
        ),
        (
            "PATCH",
            "management.localhost",
            "/subscriptions?api-version=2022-12-01",
            None,
            "",
            "application/json",
        ),
        ("GET", "unknown.example", "/", None, "", "application/json"),
    ];
    for (method, host, path, token, body, content_type) in cases {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("{host}:{}", emulator.port()))
            .header("content-type", content_type);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(axum::body::Body::from(body.to_owned()))
            .expect("request");
        let (status, bytes) = runtime.block_on(async {
            let response = emulator.service().oneshot(request).await.expect("answer");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body");
            (status, bytes)
        });
        assert!(status.is_client_error(), "{method} {host}{path}: {status}");
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{method} {host}{path}: HTTP {status} is not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        assert!(json.get("error").is_some(), "{method} {host}{path}: {json}");
    }
}
