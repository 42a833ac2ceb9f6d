//! Conformance: `azure_identity::ManagedIdentityCredential` on its App Service path (`IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER`) gets tokens from the emulator for the function app's system-assigned identity and for
//! its user-assigned identity, and Microsoft's secrets SDK uses them. Its own test binary, because the
//! credential reads the process environment, which no other test may share.

mod common;

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use azure_security_keyvault_secrets::{ResourceExt, SecretClient, SecretClientOptions};
use base64::Engine;
use futures_util::TryStreamExt;

use common::TestCloud;

const SECURITY_FUNCTIONS_OBJECT_ID: &str = "5a1e2d3c-6b7a-4c44-8d9e-4b5a6f7e8d94";
const ID_ORDERS_API_CLIENT_ID: &str = "ad4a2f3e-8b7c-4e66-8f1a-6d7c8b9a0fb7";
const ID_ORDERS_API_OBJECT_ID: &str = "6b2f3e4d-7c8b-4d55-9eaf-5c6b7a8f9eb6";

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

fn oid_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("claims");
    claims["oid"].as_str().expect("oid").to_owned()
}

#[test]
fn app_service_managed_identity_system_and_user_assigned() {
    let cloud = TestCloud::start();
    for (name, value) in cloud.emulator.managed_identity_environment() {
        if name.starts_with("IDENTITY_") {
            // SAFETY: this binary holds this one test, so no other thread reads the environment meanwhile.
            unsafe { std::env::set_var(name, value) };
        }
    }
    let scope = format!("https://vault.localhost:{}/.default", cloud.emulator.port());

    let system = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        client_options: client_options(&cloud),
        ..Default::default()
    }))
    .expect("credential");
    let token = cloud
        .runtime
        .block_on(system.get_token(&[&scope], None))
        .expect("system-assigned token");
    assert_eq!(oid_of(token.token.secret()), SECURITY_FUNCTIONS_OBJECT_ID);

    let user = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        user_assigned_id: Some(UserAssignedId::ClientId(ID_ORDERS_API_CLIENT_ID.into())),
        client_options: client_options(&cloud),
    }))
    .expect("credential");
    let token = cloud
        .runtime
        .block_on(user.get_token(&[&scope], None))
        .expect("user-assigned token");
    assert_eq!(oid_of(token.token.secret()), ID_ORDERS_API_OBJECT_ID);

    let unknown = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        user_assigned_id: Some(UserAssignedId::ClientId(
            "00000000-0000-0000-0000-000000000000".into(),
        )),
        client_options: client_options(&cloud),
    }))
    .expect("credential");
    assert!(
        cloud
            .runtime
            .block_on(unknown.get_token(&[&scope], None))
            .is_err(),
        "an identity the app does not have is refused"
    );

    // SecurityFunctions has get/list on the access-policy vault kv-security-fn.
    let client = SecretClient::new(
        &format!(
            "https://kv-security-fn.vault.localhost:{}/",
            cloud.emulator.port()
        ),
        system,
        Some(SecretClientOptions {
            client_options: client_options(&cloud),
            ..Default::default()
        }),
    )
    .expect("client");
    cloud.runtime.block_on(async {
        let mut pager = client.list_secret_properties(None).expect("pager");
        let first = pager
            .try_next()
            .await
            .expect("list allowed")
            .expect("a secret");
        let name = first.resource_id().expect("id").name;
        let secret = client
            .get_secret(&name, None)
            .await
            .expect("get allowed")
            .into_model()
            .expect("model");
        assert!(secret.value.is_some());
    });
}
