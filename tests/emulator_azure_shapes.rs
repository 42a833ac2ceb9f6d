//! What Microsoft's clients need from the emulator, answered as Azure answers it (the fixes of the
//! conformance issue, each checked here over HTTPS; `conformance/` runs the real clients): ID tokens and
//! `client_info`, RS256 tokens verifiable at `jwks_uri`, ARM's token-less cloud metadata, `$filter`s
//! evaluated or refused, api-versions checked, ARM paths normalised, vault `PUT`, certificate creation with
//! Key Vault's default key and a PKCS#10 request, Graph's lambda filters and `/me/getMemberGroups`, the
//! Azure ML flavour of the legacy managed-identity pair, and `--state-dir` across a restart.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vaultscope::emulator::{Emulator, EmulatorConfig, LegacyMsiFlavour};

use common::probe::*;

fn decode_jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// Posts a form to the emulator's token endpoint.
fn token_request(probe: &Probe, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let url = probe.url("login", &format!("/{TENANT}/oauth2/v2.0/token"));
    probe.cloud.runtime.block_on(async {
        let response = probe
            .http
            .post(&url)
            .form(form)
            .send()
            .await
            .expect("answer");
        let status = response.status();
        (status, response.json().await.expect("JSON"))
    })
}

/// A device code approved at once (the demo configuration) redeemed with `extra` form fields.
fn device_code_tokens(probe: &Probe, scope: &str, extra: &[(&str, &str)]) -> Value {
    let url = probe.url("login", &format!("/{TENANT}/oauth2/v2.0/devicecode"));
    let code: Value = probe.cloud.runtime.block_on(async {
        let form = [
            ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
            ("scope", scope),
        ];
        let response = probe
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .expect("answer");
        response.json().await.expect("JSON")
    });
    let device_code = code["device_code"]
        .as_str()
        .expect("device code")
        .to_owned();
    let mut form = vec![
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
        ("device_code", device_code.as_str()),
    ];
    form.extend_from_slice(extra);
    let (status, body) = token_request(probe, &form);
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[test]
fn user_sign_ins_carry_an_id_token_and_client_info_when_asked() {
    let probe = Probe::start();
    let scope = format!(
        "https://management.localhost:{}/.default offline_access openid profile",
        probe.port()
    );
    let answer = device_code_tokens(&probe, &scope, &[("client_info", "1")]);
    let id_token = answer["id_token"].as_str().expect("an id_token for openid");
    let claims = decode_jwt_part(id_token, 1);
    assert_eq!(claims["oid"], ADA);
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["preferred_username"], "ada@contoso.demo");
    assert_eq!(claims["aud"], "04b07795-8ddb-461a-bbee-02f9e1bf7b46");
    assert_eq!(
        claims["iss"],
        format!("https://login.localhost:{}/{TENANT}/v2.0", probe.port())
    );
    assert!(claims["name"].as_str().is_some_and(|name| !name.is_empty()));
    let client_info: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(answer["client_info"].as_str().expect("client_info"))
            .expect("base64url"),
    )
    .expect("JSON");
    assert_eq!(client_info, json!({"uid": ADA, "utid": TENANT}));
    assert!(
        answer["scope"]
            .as_str()
            .is_some_and(|granted| granted.contains("openid")),
        "{answer}"
    );

    // Neither when not asked for.
    let plain = device_code_tokens(
        &probe,
        &format!("https://vault.localhost:{}/.default", probe.port()),
        &[],
    );
    assert!(plain.get("id_token").is_none(), "{plain}");
    assert!(plain.get("client_info").is_none(), "{plain}");

    // A refresh-token redemption keeps both, and the nonce of the request.
    let refresh = answer["refresh_token"].as_str().expect("refresh token");
    let vault_scope = format!("https://vault.localhost:{}/.default openid", probe.port());
    let (status, refreshed) = token_request(
        &probe,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
            ("refresh_token", refresh),
            ("scope", &vault_scope),
            ("client_info", "1"),
            ("nonce", "n-0S6_WzA2Mj"),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let claims = decode_jwt_part(refreshed["id_token"].as_str().expect("id_token"), 1);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
}

#[test]
fn tokens_are_rs256_and_verify_with_the_keys_at_jwks_uri() {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    let probe = Probe::start();
    let discovery = probe.call(
        Method::GET,
        &probe.url(
            "login",
            &format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
        ),
        None,
        &[],
        None,
    );
    let jwks_uri = discovery.1["jwks_uri"]
        .as_str()
        .expect("jwks_uri")
        .to_owned();
    let (status, keys, _) = probe.call(Method::GET, &jwks_uri, None, &[], None);
    assert_eq!(status, StatusCode::OK, "{jwks_uri} answers {keys}");
    let token = probe.token(ADA, "vault");
    let header = decode_jwt_part(&token, 0);
    assert_eq!(header["alg"], "RS256");
    let key = keys["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|key| key["kid"] == header["kid"]))
        .expect("the token's kid is among the published keys");
    let component = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(key[name].as_str().expect("component"))
            .expect("base64url")
    };
    let public = RsaPublicKeyComponents {
        n: component("n"),
        e: component("e"),
    };
    let (signed, signature) = token.rsplit_once('.').expect("three parts");
    public
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
        )
        .expect("a third party verifies the token with the published key");
}

#[test]
fn arm_serves_metadata_without_a_token_and_normalises_paths() {
    let probe = Probe::start();
    for path in [
        "/metadata/endpoints?api-version=2022-09-01",
        "//metadata/endpoints?api-version=2022-09-01",
    ] {
        let (status, body, _) =
            probe.call(Method::GET, &probe.url("management", path), None, &[], None);
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(
            body["authentication"]["loginEndpoint"],
            format!("https://login.localhost:{}/", probe.port())
        );
        assert_eq!(
            body["suffixes"]["keyVaultDns"],
            format!("vault.localhost:{}", probe.port())
        );
    }
    // Segment names in any case, repeated and trailing slashes: the same vault.
    let (status, body) = probe.arm(
        ADA,
        &format!("//SUBSCRIPTIONS/{PROD}/resourcegroups/rg-prod-app/PROVIDERS/microsoft.keyvault/Vaults/kv-prod-orders/?api-version=2023-07-01"),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "kv-prod-orders");
}

#[test]
fn unsupported_filters_and_unknown_api_versions_fail_loudly() {
    let probe = Probe::start();
    let resources = |filter: &str| {
        probe.arm(
            ADA,
            &format!(
                "/subscriptions/{PROD}/resources?api-version=2021-04-01&$filter={}",
                url_escape(filter)
            ),
        )
    };
    let (status, body) =
        resources("resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'KV-PROD-WEB'");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        names(body["value"].as_array().expect("value")),
        vec!["kv-prod-web"]
    );
    for unsupported in [
        "tagName eq 'env'",
        "resourceType eq 'Microsoft.KeyVault/vaults' or name eq 'x'",
        "substringof('kv', name)",
    ] {
        let (status, body) = resources(unsupported);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{unsupported}: {body}");
        assert_eq!(body["error"]["code"], "InvalidFilterInQueryString");
    }
    for version in ["2099-01-01", "2023-02-30", "latest"] {
        let (status, body) = probe.arm(ADA, &format!("/subscriptions?api-version={version}"));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{version}: {body}");
        assert_eq!(body["error"]["code"], "InvalidApiVersionParameter");
    }
    let (status, body) = probe.arm(ADA, "/subscriptions");
    assert_eq!(
        body["error"]["code"], "MissingApiVersionParameter",
        "{status}"
    );
    let (status, body) = probe.arm(
        ADA,
        "/subscriptions?api-version=2022-12-01&$orderby=displayName",
    );
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an option it cannot apply: {body}"
    );
    let graph_token = probe.token(ADA, "graph");
    let (status, body, _) = probe.call(
        Method::GET,
        &probe.url("graph", "/v1.0/users?$orderby=displayName"),
        Some(&graph_token),
        &[],
        None,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Graph: a lambda over servicePrincipalNames is evaluated; an unknown function is a 400.
    let graph = probe.token(ADA, "graph");
    let (status, body, _) = probe.call(
        Method::GET,
        &probe.url(
            "graph",
            &format!(
                "/v1.0/servicePrincipals?$filter={}",
                url_escape(&format!(
                    "servicePrincipalNames/any(c:c eq '{ID_ORDERS_API_APP}')"
                ))
            ),
        ),
        Some(&graph),
        &[],
        None,
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["id"], ID_ORDERS_API);
    let (status, body, _) = probe.call(
        Method::GET,
        &probe.url("graph", "/v1.0/users?$filter=endswith(mail,'x')"),
        Some(&graph),
        &[],
        None,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[test]
fn graph_answers_my_member_groups() {
    let probe = Probe::start();
    let graph = probe.token(ADA, "graph");
    let (status, body, _) = probe.call(
        Method::POST,
        &probe.url("graph", "/v1.0/me/getMemberGroups"),
        Some(&graph),
        &[],
        Some(json!({"securityEnabledOnly": false})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let groups: Vec<&str> = body["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(groups.contains(&PLATFORM_OPERATORS), "{groups:?}");
}

#[test]
fn a_vault_put_is_authorized_by_vault_write_and_replaces_its_policies() {
    let probe = Probe::start();
    let path = format!(
        "/subscriptions/{PROD}/resourceGroups/rg-prod-app/providers/Microsoft.KeyVault/vaults/kv-prod-web?api-version=2023-07-01"
    );
    let (_, mut vault) = probe.arm(ADA, &path);
    let policies = vault["properties"]["accessPolicies"]
        .as_array_mut()
        .expect("policies");
    policies.push(
        json!({"tenantId": TENANT, "objectId": CHLOE, "permissions": {"secrets": ["get", "list"]}}),
    );
    let put = |principal: &str, body: &Value| {
        let token = probe.token(principal, "management");
        let (status, body, _) = probe.call(
            Method::PUT,
            &probe.url("management", &path),
            Some(&token),
            &[],
            Some(body.clone()),
        );
        (status, body)
    };
    // Ben reads nothing there: the write is refused as ARM refuses it.
    let (status, body) = put(BEN, &vault);
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "AuthorizationFailed");
    // Ada is Key Vault Contributor on the resource group.
    let (status, body) = put(ADA, &vault);
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, after) = probe.arm(ADA, &path);
    assert!(
        after["properties"]["accessPolicies"]
            .as_array()
            .expect("policies")
            .iter()
            .any(|policy| policy["objectId"] == CHLOE)
    );
    // And the data plane now lets Chloe list.
    let (status, body) = probe.vault(
        CHLOE,
        Method::GET,
        "kv-prod-web",
        "/secrets?api-version=7.5",
        None,
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut turning_off = after.clone();
    turning_off["properties"]["enableSoftDelete"] = json!(false);
    assert_eq!(put(ADA, &turning_off).0, StatusCode::BAD_REQUEST);
}

#[test]
fn a_certificate_with_the_default_policy_is_rsa_2048_pending_with_a_pkcs10_request() {
    use x509_parser::prelude::FromDer;
    let probe = Probe::start();
    let vault = "kv-dev-shared";
    let token = probe.token(ADA, "vault");
    let (status, body, headers) = probe.call(
        Method::POST,
        &probe.url(
            &format!("{vault}.vault"),
            "/certificates/default-policy/create?api-version=7.5",
        ),
        Some(&token),
        &[],
        Some(json!({"policy": {"issuer": {"name": "Self"}, "x509_props": {"subject": "CN=DefaultPolicy"}}})),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "inProgress");
    let location = headers
        .get("location")
        .and_then(|value| value.to_str().ok())
        .expect("a Location to poll")
        .to_owned();
    let csr = STANDARD
        .decode(body["csr"].as_str().expect("csr"))
        .expect("base64");
    let (_, request) = x509_parser::certification_request::X509CertificationRequest::from_der(&csr)
        .expect("the csr is a PKCS#10 request");
    assert_eq!(
        request.certification_request_info.subject.to_string(),
        "CN=DefaultPolicy"
    );
    let mut operation = Value::Null;
    for _ in 0..100 {
        operation = probe
            .call(Method::GET, &location, Some(&token), &[], None)
            .1;
        if operation["status"] != "inProgress" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(operation["status"], "completed", "{operation}");
    assert_eq!(
        operation["csr"], body["csr"],
        "the completed operation keeps its request"
    );
    let (_, policy) = probe.vault(
        ADA,
        Method::GET,
        vault,
        "/certificates/default-policy/policy?api-version=7.5",
        None,
    );
    assert_eq!(policy["key_props"]["kty"], "RSA", "{policy}");
    assert_eq!(policy["key_props"]["key_size"], 2048);
    let (_, key) = probe.vault(
        ADA,
        Method::GET,
        vault,
        "/keys/default-policy?api-version=7.5",
        None,
    );
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["key"]["n"].as_str().expect("n"))
            .expect("n")
            .len(),
        256
    );
}

fn start(config: EmulatorConfig) -> (tokio::runtime::Runtime, Emulator) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let emulator = runtime.block_on(Emulator::start(config)).expect("starts");
    (runtime, emulator)
}

#[test]
fn the_legacy_pair_answers_app_service_dates_or_azure_ml_seconds() {
    for (flavour, numeric) in [
        (LegacyMsiFlavour::AppService, false),
        (LegacyMsiFlavour::AzureMachineLearning, true),
    ] {
        let mut config = EmulatorConfig::demo().expect("config");
        config.legacy_msi_flavour = flavour;
        let (runtime, emulator) = start(config);
        let variables: HashMap<_, _> = emulator
            .managed_identity_environment()
            .into_iter()
            .collect();
        let client = emulator
            .cloud_profile()
            .expect("profile")
            .http_client(Duration::from_secs(10))
            .expect("client");
        let answer: Value = runtime.block_on(async {
            client
                .get(format!(
                    "{}?api-version=2017-09-01&resource=https://vault.localhost:{}",
                    variables["MSI_ENDPOINT"],
                    emulator.port()
                ))
                .header("secret", &variables["MSI_SECRET"])
                .send()
                .await
                .expect("answer")
                .json()
                .await
                .expect("JSON")
        });
        let expires_on = answer["expires_on"].as_str().expect("expires_on");
        assert_eq!(
            expires_on.parse::<i64>().is_ok(),
            numeric,
            "{flavour:?}: {expires_on}"
        );
        if !numeric {
            assert!(expires_on.ends_with(" +00:00"), "{expires_on}");
        }
        // Both pairs, as App Service sets them.
        assert!(variables.contains_key("IDENTITY_ENDPOINT"));
        assert!(variables.contains_key("IDENTITY_HEADER"));
    }
}

#[test]
fn a_state_directory_keeps_the_ca_the_tokens_and_every_write_across_a_restart() {
    let directory = common::temp_dir("state-dir");
    let mut config = EmulatorConfig::demo().expect("config");
    config.state_dir = Some(directory.clone());
    let (runtime, emulator) = start(config.clone());
    let port = emulator.port();
    let ca = emulator.ca_pem().to_owned();
    let vault_token = emulator
        .token_for(ADA, &format!("https://vault.localhost:{port}"))
        .expect("token");
    let arm_token = emulator
        .token_for(ADA, &format!("https://management.localhost:{port}"))
        .expect("token");
    let client = |emulator: &Emulator| {
        emulator
            .cloud_profile()
            .expect("profile")
            .http_client(Duration::from_secs(10))
            .expect("client")
    };
    let secret_url = format!(
        "https://kv-dev-shared.vault.localhost:{port}/secrets/kept-across-restarts?api-version=7.5"
    );
    let assignment_url = format!(
        "https://management.localhost:{port}/subscriptions/{DEV}/providers/Microsoft.Authorization/roleAssignments/5e5e5e5e-0000-4000-8000-000000000001?api-version=2022-04-01"
    );
    let http = client(&emulator);
    runtime.block_on(async {
        let set = http
            .put(&secret_url)
            .bearer_auth(&vault_token)
            .json(&json!({"value": "survives"}))
            .send()
            .await
            .expect("answer");
        assert_eq!(set.status(), StatusCode::OK);
        let assign = http
            .put(&assignment_url)
            .bearer_auth(&arm_token)
            .json(&json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{DEV}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"),
                "principalId": CHLOE, "principalType": "User"}}))
            .send()
            .await
            .expect("answer");
        assert!(assign.status().is_success(), "{:?}", assign.text().await);
    });
    emulator.shutdown();
    drop(emulator);
    drop(runtime);

    config.port = port;
    let (runtime, emulator) = start(config);
    assert_eq!(
        emulator.ca_pem(),
        ca,
        "the same CA, so clients keep trusting it"
    );
    let http = client(&emulator);
    runtime.block_on(async {
        let read: Value = http
            .get(&secret_url)
            .bearer_auth(&vault_token)
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("JSON");
        assert_eq!(
            read["value"], "survives",
            "the old token is accepted and the write kept: {read}"
        );
        let assignment = http
            .get(&assignment_url)
            .bearer_auth(&arm_token)
            .send()
            .await
            .expect("answer");
        assert_eq!(
            assignment.status(),
            StatusCode::OK,
            "the role assignment survives"
        );
    });
    drop(emulator);
    let _ = std::fs::remove_dir_all(directory);
}
