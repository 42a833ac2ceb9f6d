//! Conformance: Microsoft's own Rust SDK crates (`azure_security_keyvault_secrets`, `_keys`, `_certificates`
//! and `azure_identity`'s `ClientSecretCredential` with a custom authority host) work against the emulator
//! over HTTPS, trusting only the emulator's CA through our `Local` cloud profile's HTTP client.

mod common;

use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use azure_security_keyvault_certificates::CertificateClient;
use azure_security_keyvault_certificates::models::{
    CertificatePolicy, CreateCertificateParameters, IssuerParameters, SubjectAlternativeNames,
    X509CertificateProperties,
};
use azure_security_keyvault_keys::KeyClient;
use azure_security_keyvault_keys::models::{CreateKeyParameters, CurveName, KeyType};
use azure_security_keyvault_secrets::models::SetSecretParameters;
use azure_security_keyvault_secrets::{ResourceExt, SecretClient, SecretClientOptions};
use futures_util::TryStreamExt;
use secrecy::SecretString;
use vaultscope::auth::device_code::{EntraClient, RefreshTokenCredential};

use common::{DEMO_CLIENT_ID, TestCloud};

const CI_PIPELINE_APP_ID: &str = "be5b3a4f-9c8d-4f77-9a2b-7e8d9cab1ac8";
const CI_PIPELINE_SECRET: &str = "demo-ci-secret-not-for-production";

fn client_options(cloud: &TestCloud) -> ClientOptions {
    let http = cloud
        .settings()
        .cloud
        .http_client(std::time::Duration::from_secs(30))
        .expect("http client");
    ClientOptions {
        transport: Some(Transport::new(Arc::new(http))),
        ..Default::default()
    }
}

fn vault_url(cloud: &TestCloud, vault: &str) -> String {
    format!("https://{vault}.vault.localhost:{}/", cloud.emulator.port())
}

/// The demo user Ada, signed in by the device-code grant (auto-approved by the emulator).
fn ada_credential(cloud: &TestCloud) -> Arc<dyn TokenCredential> {
    let profile = cloud.settings().cloud;
    let http = profile
        .http_client(std::time::Duration::from_secs(30))
        .expect("http client");
    let entra = EntraClient::new(
        http,
        profile.authority_host.clone(),
        cloud.emulator.demo_tenant_id(),
        DEMO_CLIENT_ID,
    );
    let granted = cloud.runtime.block_on(async {
        let authorization = entra
            .start_device_code(&profile.arm_scope)
            .await
            .expect("device code");
        entra
            .poll_device_code(&authorization)
            .await
            .expect("approved")
    });
    let refresh = granted
        .refresh_token
        .unwrap_or_else(|| SecretString::from(String::new()));
    Arc::new(RefreshTokenCredential::new(entra, refresh, None))
}

fn ci_pipeline_credential(cloud: &TestCloud) -> Arc<ClientSecretCredential> {
    let mut client_options = client_options(cloud);
    let mut custom = azure_core::cloud::CustomConfiguration::default();
    custom.authority_host = format!("https://login.localhost:{}", cloud.emulator.port());
    client_options.cloud = Some(Arc::new(custom.into()));
    ClientSecretCredential::new(
        &cloud.emulator.demo_tenant_id(),
        CI_PIPELINE_APP_ID.to_owned(),
        Secret::new(CI_PIPELINE_SECRET),
        Some(ClientSecretCredentialOptions { client_options }),
    )
    .expect("credential")
}

fn secret_client(
    cloud: &TestCloud,
    vault: &str,
    credential: Arc<dyn TokenCredential>,
) -> SecretClient {
    SecretClient::new(
        &vault_url(cloud, vault),
        credential,
        Some(SecretClientOptions {
            client_options: client_options(cloud),
            ..Default::default()
        }),
    )
    .expect("secret client")
}

#[test]
fn secrets_sdk_round_trip_list_get_set_delete_recover() {
    let cloud = TestCloud::start();
    let client = secret_client(&cloud, "kv-dev-shared", ada_credential(&cloud));
    cloud.runtime.block_on(async {
        // List, paging through every page the SDK follows by nextLink.
        let mut names = Vec::new();
        let mut pager = client.list_secret_properties(None).expect("pager");
        while let Some(item) = pager.try_next().await.expect("page") {
            names.push(item.resource_id().expect("id").name);
        }
        assert!(names.len() > 25, "more than one page: {}", names.len());

        // Set a new secret, then get it (the SDK asks for `/secrets/{name}/`, trailing slash).
        let parameters = SetSecretParameters {
            value: Some("conformance-value".into()),
            content_type: Some("text/plain".into()),
            ..Default::default()
        };
        let set = client
            .set_secret(
                "sdk-conformance",
                parameters.try_into().expect("body"),
                None,
            )
            .await
            .expect("set")
            .into_model()
            .expect("model");
        assert_eq!(set.value.as_deref(), Some("conformance-value"));
        let got = client
            .get_secret("sdk-conformance", None)
            .await
            .expect("get")
            .into_model()
            .expect("model");
        assert_eq!(got.value.as_deref(), Some("conformance-value"));
        assert_eq!(got.id, set.id);

        // Delete, see it among the deleted, recover, read it again.
        client
            .delete_secret("sdk-conformance", None)
            .await
            .expect("delete");
        let mut deleted = Vec::new();
        let mut pager = client
            .list_deleted_secret_properties(None)
            .expect("deleted pager");
        while let Some(item) = pager.try_next().await.expect("page") {
            deleted.push(item.id.unwrap_or_default());
        }
        assert!(
            deleted.iter().any(|id| id.ends_with("/sdk-conformance")),
            "{deleted:?}"
        );
        let reuse = client
            .set_secret(
                "sdk-conformance",
                SetSecretParameters {
                    value: Some("x".into()),
                    ..Default::default()
                }
                .try_into()
                .expect("body"),
                None,
            )
            .await;
        let error = reuse.expect_err("a deleted name cannot be reused");
        let text = format!("{error:?}");
        assert!(
            text.contains("status: Conflict") && text.contains("deleted but recoverable"),
            "{text}"
        );
        client
            .recover_deleted_secret("sdk-conformance", None)
            .await
            .expect("recover");
        let recovered = client
            .get_secret("sdk-conformance", None)
            .await
            .expect("get after recover")
            .into_model()
            .expect("model");
        assert_eq!(recovered.value.as_deref(), Some("conformance-value"));
    });
}

#[test]
fn client_secret_credential_gets_tokens_and_rbac_is_enforced_for_it() {
    let cloud = TestCloud::start();
    let credential = ci_pipeline_credential(&cloud);
    let scope = format!("https://vault.localhost:{}/.default", cloud.emulator.port());
    let token = cloud
        .runtime
        .block_on(credential.get_token(&[&scope], None))
        .expect("a token from the emulator's Entra");
    assert!(token.token.secret().split('.').count() == 3, "a JWT");

    let client = secret_client(&cloud, "kv-dev-shared", credential);
    cloud.runtime.block_on(async {
        // The custom role grants secrets/* …
        client
            .set_secret(
                "ci-written",
                SetSecretParameters {
                    value: Some("from-ci".into()),
                    ..Default::default()
                }
                .try_into()
                .expect("body"),
                None,
            )
            .await
            .expect("set is allowed");
        // … minus delete (notDataActions).
        let error = client
            .delete_secret("ci-written", None)
            .await
            .expect_err("delete is denied");
        let text = format!("{error:?}");
        assert!(
            text.contains("ForbiddenByRbac") || text.contains("403"),
            "{text}"
        );
    });
}

#[test]
fn keys_and_certificates_sdks_create_get_and_list() {
    let cloud = TestCloud::start();
    let credential = ada_credential(&cloud);
    let keys = KeyClient::new(
        &vault_url(&cloud, "kv-dev-shared"),
        credential.clone(),
        Some(azure_security_keyvault_keys::KeyClientOptions {
            client_options: client_options(&cloud),
            ..Default::default()
        }),
    )
    .expect("key client");
    let certificates = CertificateClient::new(
        &vault_url(&cloud, "kv-dev-shared"),
        credential,
        Some(
            azure_security_keyvault_certificates::CertificateClientOptions {
                client_options: client_options(&cloud),
                ..Default::default()
            },
        ),
    )
    .expect("certificate client");
    cloud.runtime.block_on(async {
        let parameters = CreateKeyParameters {
            kty: Some(KeyType::Ec),
            curve: Some(CurveName::P256),
            ..Default::default()
        };
        let created = keys
            .create_key("sdk-ec-key", parameters.try_into().expect("body"), None)
            .await
            .expect("create key")
            .into_model()
            .expect("model");
        let jwk = created.key.expect("jwk");
        assert_eq!(jwk.kty, Some(KeyType::Ec));
        let fetched = keys
            .get_key("sdk-ec-key", None)
            .await
            .expect("get key")
            .into_model()
            .expect("model");
        assert_eq!(fetched.key.and_then(|k| k.kid), jwk.kid);
        let mut names = Vec::new();
        let mut pager = keys.list_key_properties(None).expect("pager");
        while let Some(item) = pager.try_next().await.expect("page") {
            names.push(item.kid.unwrap_or_default());
        }
        assert!(
            names.iter().any(|kid| kid.ends_with("/sdk-ec-key")),
            "{names:?}"
        );

        let policy = CertificatePolicy {
            x509_certificate_properties: Some(X509CertificateProperties {
                subject: Some("CN=sdk.contoso.demo".into()),
                subject_alternative_names: Some(SubjectAlternativeNames {
                    dns_names: Some(vec!["sdk.contoso.demo".into()]),
                    ..Default::default()
                }),
                validity_in_months: Some(6),
                ..Default::default()
            }),
            issuer_parameters: Some(IssuerParameters {
                name: Some("Self".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let parameters = CreateCertificateParameters {
            certificate_policy: Some(policy),
            ..Default::default()
        };
        let certificate = certificates
            .begin_create_certificate("sdk-cert", parameters.try_into().expect("body"), None)
            .expect("poller")
            .await
            .expect("certificate issued")
            .into_model()
            .expect("model");
        assert!(certificate.cer.is_some_and(|der| !der.is_empty()));
        assert!(certificate.x509_thumbprint.is_some());
        let fetched = certificates
            .get_certificate("sdk-cert", None)
            .await
            .expect("get certificate")
            .into_model()
            .expect("model");
        assert_eq!(
            fetched
                .policy
                .and_then(|p| p.x509_certificate_properties)
                .and_then(|x| x.subject),
            Some("CN=sdk.contoso.demo".into())
        );
    });
}

/// What Vaultscope writes (a secret with content type and tags, then a PATCH of its tags and a disabled
/// older version; an RSA key; a rotation) reads back the same through Microsoft's Rust SDK.
#[test]
fn the_sdk_reads_back_what_vaultscope_wrote() {
    use std::collections::BTreeMap;
    use vaultscope::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
    use vaultscope::azure::keyvault_writes::{KeyDraft, KeyShape, SecretDraft, VersionUpdate};
    use vaultscope::worker::changes::{Change, ChangeEffect, DraftHandle};
    use vaultscope::worker::{Command, EventKind, Outcome};

    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    let vault = VaultUri::parse(&vault_url(&cloud, "kv-dev-shared")).expect("vault");
    let change = |change: Change| {
        let id = worker.send(Command::Change(change));
        let (seen, outcome) = common::wait_for(&events, id);
        assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
        seen.into_iter()
            .find_map(|kind| match kind {
                EventKind::Changed(result) => Some(result.effect),
                _ => None,
            })
            .expect("an answer")
    };
    let draft = |value: &str| {
        DraftHandle(Arc::new(SecretDraft {
            value: SecretString::from(value),
            content_type: Some("application/json".into()),
            tags: BTreeMap::from([("owner".into(), "vaultscope".into())]),
            enabled: true,
            not_before: None,
            expires: Some(1_900_000_000),
        }))
    };
    let first = change(Change::SetSecret {
        vault: vault.clone(),
        name: "written-by-vaultscope".into(),
        draft: draft("{\"first\":true}"),
    });
    let ChangeEffect::Live(first) = first else {
        panic!("{first:?}")
    };
    change(Change::SetSecret {
        vault: vault.clone(),
        name: "written-by-vaultscope".into(),
        draft: draft("{\"second\":true}"),
    });
    change(Change::UpdateVersion {
        id: ObjectId {
            vault: vault.clone(),
            kind: ObjectKind::Secret,
            name: "written-by-vaultscope".into(),
            version: None,
        },
        update: VersionUpdate {
            tags: Some(BTreeMap::from([("owner".into(), "ops".into())])),
            ..VersionUpdate::default()
        },
    });
    change(Change::UpdateVersion {
        id: first.object_id().expect("versioned id"),
        update: VersionUpdate {
            enabled: Some(false),
            ..VersionUpdate::default()
        },
    });
    change(Change::CreateKey {
        vault: vault.clone(),
        name: "written-key".into(),
        draft: KeyDraft {
            shape: KeyShape::Rsa(3072),
            operations: vec!["wrapKey".into(), "unwrapKey".into()],
            enabled: true,
            not_before: None,
            expires: None,
            tags: BTreeMap::new(),
        },
    });
    change(Change::RotateKey {
        vault,
        name: "written-key".into(),
    });

    let credential = ada_credential(&cloud);
    let secrets = secret_client(&cloud, "kv-dev-shared", credential.clone());
    let keys = KeyClient::new(
        &vault_url(&cloud, "kv-dev-shared"),
        credential,
        Some(azure_security_keyvault_keys::KeyClientOptions {
            client_options: client_options(&cloud),
            ..Default::default()
        }),
    )
    .expect("key client");
    cloud.runtime.block_on(async {
        let latest = secrets
            .get_secret("written-by-vaultscope", None)
            .await
            .expect("get")
            .into_model()
            .expect("model");
        assert_eq!(latest.value.as_deref(), Some("{\"second\":true}"));
        assert_eq!(latest.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            latest
                .tags
                .as_ref()
                .and_then(|tags| tags.get("owner"))
                .map(String::as_str),
            Some("ops")
        );
        let attributes = latest.attributes.expect("attributes");
        assert_eq!(
            attributes.expires.map(|at| at.unix_timestamp()),
            Some(1_900_000_000)
        );
        let first_version = first.version().expect("version");
        let mut versions = Vec::new();
        let mut pager = secrets
            .list_secret_properties_versions("written-by-vaultscope", None)
            .expect("pager");
        while let Some(item) = pager.try_next().await.expect("page") {
            versions.push(item);
        }
        assert_eq!(versions.len(), 2);
        let disabled = versions
            .iter()
            .find(|item| {
                item.resource_id().ok().and_then(|id| id.version).as_deref()
                    == Some(first_version.as_str())
            })
            .expect("the first version");
        assert_eq!(
            disabled.attributes.as_ref().and_then(|a| a.enabled),
            Some(false)
        );
        let key = keys
            .get_key("written-key", None)
            .await
            .expect("get key")
            .into_model()
            .expect("model");
        let jwk = key.key.expect("jwk");
        assert_eq!(jwk.kty, Some(KeyType::Rsa));
        assert_eq!(jwk.n.map(|n| n.len() * 8), Some(3072));
        let mut versions = 0;
        let mut pager = keys
            .list_key_properties_versions("written-key", None)
            .expect("pager");
        while pager.try_next().await.expect("page").is_some() {
            versions += 1;
        }
        assert_eq!(versions, 2, "created and rotated");
    });
}
