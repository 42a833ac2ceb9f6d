//! Every environment-configured credential source signs in against the emulator through the real worker:
//! managed identity (App Service, legacy App Service and IMDS via `AZURE_POD_IDENTITY_AUTHORITY_HOST`;
//! system- and user-assigned by client id, object id and resource id), the service principal of
//! `AZURE_CLIENT_SECRET`, workload identity, and `AzureServicesAuthConnectionString`; the failures say what
//! is wrong; and a full trace-level log of all of it holds no token, secret or assertion.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use vaultscope::auth::environment_snapshot::EnvironmentSnapshot;
use vaultscope::auth::managed_identity::UserAssignedId;
use vaultscope::azure::identifiers::VaultUri;
use vaultscope::worker::{Command, EventKind, Outcome, SignInMethod, spawn_worker};

use common::{TestCloud, capture_log, wait_for};

const TENANT: &str = common::DEMO_TENANT;
const SECURITY_FUNCTIONS: &str = "5a1e2d3c-6b7a-4c44-8d9e-4b5a6f7e8d94";
const ID_ORDERS_API: &str = "6b2f3e4d-7c8b-4d55-9eaf-5c6b7a8f9eb6";
const ID_ORDERS_API_APP: &str = "ad4a2f3e-8b7c-4e66-8f1a-6d7c8b9a0fb7";
const ID_ORDERS_API_RESOURCE: &str = "/subscriptions/3f2504e0-4f89-41d3-9a0c-0305e82c3301/resourceGroups/rg-prod-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders-api";
const CI_PIPELINE: &str = "7c3a4f5e-8d9c-4e66-8fba-6d7c8b9a0fc7";
const CI_PIPELINE_APP: &str = common::CI_PIPELINE_APP;
const CI_SECRET: &str = common::CI_SECRET;

struct Outcomes {
    identity_object_id: Option<String>,
    outcome: Outcome,
}

/// Signs in with `method` and `environment`; on success lists `vault` as that identity.
fn sign_in(
    cloud: &TestCloud,
    environment: &[(&str, String)],
    method: SignInMethod,
    vault: Option<&str>,
) -> Outcomes {
    let mut settings = cloud.settings();
    settings.environment = EnvironmentSnapshot::from_pairs(
        environment
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone())),
    );
    let (worker, events) = spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
    let id = worker.send(Command::SignIn(method));
    let (seen, outcome) = wait_for(&events, id);
    let identity_object_id = seen.iter().find_map(|kind| match kind {
        EventKind::SignedIn(identity) => identity.oid.clone(),
        _ => None,
    });
    if let (Outcome::Done, Some(vault)) = (&outcome, vault) {
        let uri = VaultUri::parse(&format!(
            "https://{vault}.vault.localhost:{}/",
            cloud.emulator.port()
        ))
        .expect("uri");
        let id = worker.send(Command::LoadVault { vault: uri });
        let (pages, listed) = wait_for(&events, id);
        assert!(
            matches!(listed, Outcome::Done),
            "listing {vault}: {listed:?}"
        );
        assert!(!pages.is_empty());
    }
    Outcomes {
        identity_object_id,
        outcome,
    }
}

fn managed_identity_environment(cloud: &TestCloud, names: &[&str]) -> Vec<(&'static str, String)> {
    cloud.managed_identity_environment(names)
}

fn failure(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Failed(error) => error.to_string(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A workload-identity assertion as AKS projects it (the emulator checks issuer, subject, audience, expiry).
fn federated_assertion() -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"aks"}"#);
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let payload = URL_SAFE_NO_PAD.encode(
        format!(
            r#"{{"iss":"https://oidc.aks.contoso.demo/","sub":"system:serviceaccount:orders:orders-api","aud":["api://AzureADTokenExchange"],"exp":{exp}}}"#
        )
        .as_bytes(),
    );
    format!("{header}.{payload}.c2lnbmF0dXJl")
}

/// (what, environment, method, expected object id, a vault it may list).
type Case = (
    &'static str,
    Vec<(&'static str, String)>,
    SignInMethod,
    &'static str,
    &'static str,
);

#[test]
fn every_source_signs_in_and_nothing_secret_is_logged() {
    let log = capture_log();
    let cloud = TestCloud::start();
    let authority = format!("https://login.localhost:{}", cloud.emulator.port());
    let app_service =
        managed_identity_environment(&cloud, &["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]);
    let legacy = managed_identity_environment(&cloud, &["MSI_ENDPOINT", "MSI_SECRET"]);
    let imds = managed_identity_environment(&cloud, &["AZURE_POD_IDENTITY_AUTHORITY_HOST"]);
    let identity_header = app_service
        .iter()
        .find(|(name, _)| *name == "IDENTITY_HEADER")
        .map(|(_, value)| value.clone())
        .expect("header");

    let mi = |user_assigned| SignInMethod::ManagedIdentity { user_assigned };
    let cases: Vec<Case> = vec![
        (
            "App Service, system-assigned",
            app_service.clone(),
            mi(None),
            SECURITY_FUNCTIONS,
            "kv-security-fn",
        ),
        (
            "App Service, user-assigned by client id",
            app_service.clone(),
            mi(Some(UserAssignedId::ClientId(ID_ORDERS_API_APP.into()))),
            ID_ORDERS_API,
            "kv-prod-orders",
        ),
        (
            "App Service, user-assigned by object id",
            app_service.clone(),
            mi(Some(UserAssignedId::ObjectId(ID_ORDERS_API.into()))),
            ID_ORDERS_API,
            "kv-prod-orders",
        ),
        (
            "App Service, user-assigned by resource id",
            app_service.clone(),
            mi(Some(UserAssignedId::ResourceId(
                ID_ORDERS_API_RESOURCE.into(),
            ))),
            ID_ORDERS_API,
            "kv-prod-orders",
        ),
        (
            "legacy App Service, system-assigned",
            legacy.clone(),
            mi(None),
            SECURITY_FUNCTIONS,
            "kv-security-fn",
        ),
        (
            "legacy App Service, user-assigned",
            legacy.clone(),
            mi(Some(UserAssignedId::ClientId(ID_ORDERS_API_APP.into()))),
            ID_ORDERS_API,
            "kv-prod-orders",
        ),
        (
            "IMDS, system-assigned",
            imds.clone(),
            mi(None),
            SECURITY_FUNCTIONS,
            "kv-security-fn",
        ),
        (
            "IMDS, user-assigned by resource id",
            imds.clone(),
            mi(Some(UserAssignedId::ResourceId(
                ID_ORDERS_API_RESOURCE.into(),
            ))),
            ID_ORDERS_API,
            "kv-prod-orders",
        ),
        (
            "service principal with a client secret",
            common::ci_client_secret_environment(&authority),
            SignInMethod::EnvironmentServicePrincipal,
            CI_PIPELINE,
            "kv-dev-shared",
        ),
        (
            "connection string with AppKey",
            common::ci_connection_string_environment(&authority),
            SignInMethod::ConnectionString,
            CI_PIPELINE,
            "kv-dev-shared",
        ),
        (
            "connection string RunAs=App (system-assigned)",
            [
                app_service.clone(),
                vec![("AzureServicesAuthConnectionString", "RunAs=App".to_owned())],
            ]
            .concat(),
            SignInMethod::ConnectionString,
            SECURITY_FUNCTIONS,
            "kv-security-fn",
        ),
        (
            "connection string RunAs=App;AppId (user-assigned)",
            [
                app_service.clone(),
                vec![(
                    "AzureServicesAuthConnectionString",
                    format!("RunAs=App;AppId={ID_ORDERS_API_APP}"),
                )],
            ]
            .concat(),
            SignInMethod::ConnectionString,
            ID_ORDERS_API,
            "kv-prod-orders",
        ),
    ];
    let mut assertion_file = tempfile::NamedTempFile::new().expect("temp file");
    let assertion = federated_assertion();
    assertion_file
        .write_all(assertion.as_bytes())
        .expect("write");
    let workload = vec![
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_CLIENT_ID", ID_ORDERS_API_APP.to_owned()),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            assertion_file.path().display().to_string(),
        ),
        ("AZURE_AUTHORITY_HOST", authority.clone()),
    ];
    let mut all = cases;
    all.push((
        "workload identity",
        workload,
        SignInMethod::EnvironmentServicePrincipal,
        ID_ORDERS_API,
        "kv-prod-orders",
    ));
    for (what, environment, method, expected_object_id, vault) in all {
        let result = sign_in(&cloud, &environment, method, Some(vault));
        assert!(
            matches!(result.outcome, Outcome::Done),
            "{what}: {:?}",
            result.outcome
        );
        assert_eq!(
            result.identity_object_id.as_deref(),
            Some(expected_object_id),
            "{what}"
        );
    }

    let text = log.text();
    assert!(
        text.len() > 1_000,
        "the log captured the sign-ins ({} bytes)",
        text.len()
    );
    for (what, value) in [
        ("client secret", CI_SECRET),
        ("identity header", identity_header.as_str()),
        ("federated assertion", assertion.as_str()),
        // Every JWT (access tokens, refresh tokens are opaque but also never logged) starts with this.
        ("a JWT", "eyJ"),
    ] {
        assert!(!text.contains(value), "the log holds the {what}");
    }
}

#[test]
fn failures_say_what_is_wrong() {
    let cloud = TestCloud::start();
    let app_service =
        managed_identity_environment(&cloud, &["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]);

    // An identity the app does not have.
    let result = sign_in(
        &cloud,
        &app_service,
        SignInMethod::ManagedIdentity {
            user_assigned: Some(UserAssignedId::ClientId(
                "99999999-9999-4999-8999-999999999999".into(),
            )),
        },
        None,
    );
    let message = failure(&result.outcome);
    assert!(
        message.contains("HTTP 400") && message.contains("Identity not found"),
        "{message}"
    );

    // A laptop: an IMDS address that accepts connections but never answers is given up on within a second.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let started = Instant::now();
    let result = sign_in(
        &cloud,
        &[(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            format!("http://{}", silent.local_addr().expect("addr")),
        )],
        SignInMethod::ManagedIdentity {
            user_assigned: None,
        },
        None,
    );
    let message = failure(&result.outcome);
    assert!(message.contains("no managed identity here"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "gave up in {:?}",
        started.elapsed()
    );

    // Nothing listening at all.
    let result = sign_in(
        &cloud,
        &[(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "http://127.0.0.1:9".to_owned(),
        )],
        SignInMethod::ManagedIdentity {
            user_assigned: None,
        },
        None,
    );
    assert!(failure(&result.outcome).contains("no managed identity here"));

    // A wrong client secret: Entra's own words.
    let result = sign_in(
        &cloud,
        &[
            ("AZURE_TENANT_ID", TENANT.into()),
            ("AZURE_CLIENT_ID", CI_PIPELINE_APP.into()),
            ("AZURE_CLIENT_SECRET", "wrong-secret".into()),
            (
                "AZURE_AUTHORITY_HOST",
                format!("https://login.localhost:{}", cloud.emulator.port()),
            ),
        ],
        SignInMethod::EnvironmentServicePrincipal,
        None,
    );
    let message = failure(&result.outcome);
    assert!(
        message.contains("AADSTS7000215") || message.contains("invalid_client"),
        "{message}"
    );
    assert!(!message.contains("wrong-secret"), "{message}");

    // Variables missing.
    let result = sign_in(
        &cloud,
        &[("AZURE_TENANT_ID", TENANT.into())],
        SignInMethod::EnvironmentServicePrincipal,
        None,
    );
    assert!(failure(&result.outcome).contains("set AZURE_TENANT_ID and AZURE_CLIENT_ID"));

    // Unsupported connection strings.
    let result = sign_in(
        &cloud,
        &[(
            "AzureServicesAuthConnectionString",
            "RunAs=App;AppId=x;TenantId=t;CertificateThumbprint=AB".into(),
        )],
        SignInMethod::ConnectionString,
        None,
    );
    assert!(
        failure(&result.outcome).contains(
            "not supported: RunAs=App with keys other than AppId, TenantId and AppKey (keys: AppId, CertificateThumbprint"
        )
    );
    let result = sign_in(&cloud, &[], SignInMethod::ConnectionString, None);
    assert!(failure(&result.outcome).contains("AzureServicesAuthConnectionString is not set"));
}
