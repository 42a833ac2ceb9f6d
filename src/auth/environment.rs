//! Credentials configured by environment variables: the service principal of `AZURE_TENANT_ID` /
//! `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET`, workload identity (`AZURE_FEDERATED_TOKEN_FILE`), with
//! `AZURE_AUTHORITY_HOST` honoured, and the older `AzureServicesAuthConnectionString`.
//!
//! Sources read an `EnvironmentSnapshot` (`environment_snapshot.rs`), never the process environment.

use std::collections::BTreeMap;
use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use secrecy::{ExposeSecret, SecretString};

use super::AuthError;
use super::environment_snapshot::EnvironmentSnapshot;
use super::managed_identity::{ManagedIdentitySource, UserAssignedId};

/// What the environment's service principal variables describe, for the sign-in screen.
pub fn describe_service_principal(environment: &EnvironmentSnapshot) -> Result<String, String> {
    let tenant = environment.plain("AZURE_TENANT_ID");
    let client = environment.plain("AZURE_CLIENT_ID");
    let (Some(tenant), Some(client)) = (tenant, client) else {
        return Err("set AZURE_TENANT_ID and AZURE_CLIENT_ID, and AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE".into());
    };
    if environment.has("AZURE_CLIENT_SECRET") {
        Ok(format!("client secret for app {client} in tenant {tenant}"))
    } else if let Some(file) = environment.plain("AZURE_FEDERATED_TOKEN_FILE") {
        Ok(format!(
            "workload identity for app {client} in tenant {tenant} (token file {file})"
        ))
    } else {
        Err("AZURE_TENANT_ID and AZURE_CLIENT_ID are set, but neither AZURE_CLIENT_SECRET nor AZURE_FEDERATED_TOKEN_FILE".into())
    }
}

/// azure_identity options that trust `http` (the cloud's client) and use `authority_host`.
fn identity_client_options(http: reqwest::Client, authority_host: &str) -> ClientOptions {
    let mut custom = azure_core::cloud::CustomConfiguration::default();
    custom.authority_host = authority_host.trim_end_matches('/').to_owned();
    ClientOptions {
        transport: Some(Transport::new(Arc::new(http))),
        cloud: Some(Arc::new(custom.into())),
        ..Default::default()
    }
}

/// The credential of `AZURE_TENANT_ID`/`AZURE_CLIENT_ID` with `AZURE_CLIENT_SECRET`, or with
/// `AZURE_FEDERATED_TOKEN_FILE` (workload identity). `AZURE_AUTHORITY_HOST` overrides the cloud's.
/// Returns the credential and its tenant.
pub fn service_principal_from_environment(
    http: reqwest::Client,
    environment: &EnvironmentSnapshot,
    cloud_authority_host: &str,
) -> Result<(Arc<dyn TokenCredential>, String), AuthError> {
    describe_service_principal(environment).map_err(AuthError::Credential)?;
    let tenant = environment.plain("AZURE_TENANT_ID").unwrap_or_default();
    let client = environment.plain("AZURE_CLIENT_ID").unwrap_or_default();
    let authority = environment
        .plain("AZURE_AUTHORITY_HOST")
        .unwrap_or_else(|| cloud_authority_host.to_owned());
    let options = identity_client_options(http, &authority);
    let credential: Arc<dyn TokenCredential> = match environment.secret("AZURE_CLIENT_SECRET") {
        Some(secret) => ClientSecretCredential::new(
            &tenant,
            client,
            Secret::new(secret.expose_secret().to_owned()),
            Some(ClientSecretCredentialOptions {
                client_options: options,
            }),
        )
        .map_err(|error| AuthError::Credential(error.to_string()))?,
        None => WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: options,
            },
            client_id: Some(client),
            tenant_id: Some(tenant.clone()),
            token_file_path: environment
                .plain("AZURE_FEDERATED_TOKEN_FILE")
                .map(Into::into),
        }))
        .map_err(|error| AuthError::Credential(error.to_string()))?,
    };
    Ok((credential, tenant))
}

/// What an `AzureServicesAuthConnectionString` asks for.
#[derive(Clone)]
pub enum ConnectionStringMethod {
    /// `RunAs=Developer;DeveloperTool=AzureCli`.
    AzureCli,
    /// `RunAs=App` (system-assigned) or `RunAs=App;AppId=…` (user-assigned by client id).
    ManagedIdentity { client_id: Option<String> },
    /// `RunAs=App;AppId=…;TenantId=…;AppKey=…`.
    ClientSecret {
        tenant_id: String,
        client_id: String,
        secret: SecretString,
    },
}

impl PartialEq for ConnectionStringMethod {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::AzureCli, Self::AzureCli) => true,
            (Self::ManagedIdentity { client_id: a }, Self::ManagedIdentity { client_id: b }) => {
                a == b
            }
            (
                Self::ClientSecret {
                    tenant_id: t1,
                    client_id: c1,
                    secret: s1,
                },
                Self::ClientSecret {
                    tenant_id: t2,
                    client_id: c2,
                    secret: s2,
                },
            ) => t1 == t2 && c1 == c2 && s1.expose_secret() == s2.expose_secret(),
            _ => false,
        }
    }
}

impl Eq for ConnectionStringMethod {}

impl std::fmt::Debug for ConnectionStringMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AzureCli => f.write_str("AzureCli"),
            Self::ManagedIdentity { client_id } => f
                .debug_struct("ManagedIdentity")
                .field("client_id", client_id)
                .finish(),
            Self::ClientSecret {
                tenant_id,
                client_id,
                ..
            } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

impl ConnectionStringMethod {
    /// What it signs in with, in words (never the key).
    pub fn describe(&self) -> String {
        match self {
            Self::AzureCli => "RunAs=Developer, the Azure CLI".to_owned(),
            Self::ManagedIdentity { client_id: None } => {
                "RunAs=App, the system-assigned managed identity".to_owned()
            }
            Self::ManagedIdentity {
                client_id: Some(id),
            } => format!("RunAs=App, the user-assigned managed identity {id}"),
            Self::ClientSecret {
                tenant_id,
                client_id,
                ..
            } => format!("RunAs=App, app {client_id} with a key, tenant {tenant_id}"),
        }
    }
}

/// Parses the connection string; anything but the four supported forms is "not supported: …".
pub fn parse_connection_string(text: &SecretString) -> Result<ConnectionStringMethod, AuthError> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut previous_key: Option<String> = None;
    for (position, part) in text.expose_secret().split(';').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, value)) = part.split_once('=') else {
            // The part may be the rest of a value that held ';' (an AppKey): name its place, never its text.
            let after = previous_key
                .as_deref()
                .map(|key| format!(", after {key}="))
                .unwrap_or_default();
            return Err(AuthError::Credential(format!(
                "AzureServicesAuthConnectionString: part {} (counting from 1{after}) is not key=value; a value cannot hold ';'",
                position + 1
            )));
        };
        let key = key_only(key.trim());
        // Only a key the format knows is ever named: any other may be the middle of an AppKey.
        previous_key = known_key(&key).map(str::to_owned);
        fields.insert(key.to_ascii_lowercase(), value.trim().to_owned());
    }
    let names: Vec<&str> = fields.keys().filter_map(|key| known_key(key)).collect();
    // Other keys are not named, nor counted: one may be part of an AppKey that held ';' (how many there
    // are would tell something of it).
    let names = if fields.len() > names.len() {
        format!("{} and other keys", names.join(", "))
    } else {
        names.join(", ")
    };
    let unsupported = |why: &str| {
        AuthError::Credential(format!(
            "AzureServicesAuthConnectionString not supported: {why} (keys: {}). Supported: RunAs=Developer;DeveloperTool=AzureCli, RunAs=App, RunAs=App;AppId=…, RunAs=App;AppId=…;TenantId=…;AppKey=…",
            names.trim_start_matches(" and ")
        ))
    };
    let get = |key: &str| fields.get(key).cloned();
    match get("runas")
        .map(|value| value.to_ascii_lowercase())
        .as_deref()
    {
        Some("developer") => match get("developertool")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            Some("azurecli") if fields.len() == 2 => Ok(ConnectionStringMethod::AzureCli),
            Some("azurecli") => Err(unsupported("extra keys with DeveloperTool=AzureCli")),
            // The value is not echoed: it may be part of an AppKey that held ';'.
            Some(_) => Err(unsupported("DeveloperTool other than AzureCli")),
            None => Err(unsupported("RunAs=Developer without DeveloperTool")),
        },
        Some("app") => {
            let app_id = get("appid");
            let tenant = get("tenantid");
            let key = get("appkey");
            let other: Vec<&String> = fields
                .keys()
                .filter(|key| !["runas", "appid", "tenantid", "appkey"].contains(&key.as_str()))
                .collect();
            if !other.is_empty() {
                return Err(unsupported(
                    "RunAs=App with keys other than AppId, TenantId and AppKey",
                ));
            }
            match (app_id, tenant, key) {
                (None, None, None) => {
                    Ok(ConnectionStringMethod::ManagedIdentity { client_id: None })
                }
                (Some(app), None, None) => Ok(ConnectionStringMethod::ManagedIdentity {
                    client_id: Some(app),
                }),
                (Some(app), Some(tenant), Some(key)) => Ok(ConnectionStringMethod::ClientSecret {
                    tenant_id: tenant,
                    client_id: app,
                    secret: SecretString::from(key),
                }),
                _ => Err(unsupported(
                    "RunAs=App needs AppId, TenantId and AppKey together for a client secret",
                )),
            }
        }
        Some(_) => Err(unsupported("RunAs other than App or Developer")),
        None => Err(unsupported("no RunAs")),
    }
}

/// The spelling of a key the connection-string format knows (matched case-insensitively), else `None`.
fn known_key(key: &str) -> Option<&'static str> {
    [
        "RunAs",
        "DeveloperTool",
        "AppId",
        "TenantId",
        "AppKey",
        "CertificateSubjectName",
        "CertificateThumbprint",
        "CertificateStoreLocation",
    ]
    .into_iter()
    .find(|known| known.eq_ignore_ascii_case(key))
}

/// A key as it may be shown: its letters and digits, 40 at most (keys are words like `AppKey`).
fn key_only(part: &str) -> String {
    part.chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .take(40)
        .collect()
}

/// The credential a connection string names, and the tenant label for the cache.
pub fn connection_string_credential(
    http: reqwest::Client,
    managed_identity_http: reqwest::Client,
    azure_cli_search_path: Option<std::ffi::OsString>,
    environment: &EnvironmentSnapshot,
    cloud_authority_host: &str,
) -> Result<(Arc<dyn TokenCredential>, String), AuthError> {
    let text = environment
        .secret("AzureServicesAuthConnectionString")
        .ok_or_else(|| {
            AuthError::Credential("AzureServicesAuthConnectionString is not set".into())
        })?;
    match parse_connection_string(&text)? {
        ConnectionStringMethod::AzureCli => Ok((
            super::azure_cli::azure_cli_credential(None, azure_cli_search_path)?,
            "home".into(),
        )),
        ConnectionStringMethod::ManagedIdentity { client_id } => Ok((
            Arc::new(ManagedIdentitySource::new(
                managed_identity_http,
                environment,
                client_id.map(UserAssignedId::ClientId),
            )?),
            "managed identity".into(),
        )),
        ConnectionStringMethod::ClientSecret {
            tenant_id,
            client_id,
            secret,
        } => {
            let authority = environment
                .plain("AZURE_AUTHORITY_HOST")
                .unwrap_or_else(|| cloud_authority_host.to_owned());
            let credential = ClientSecretCredential::new(
                &tenant_id,
                client_id,
                Secret::new(secret.expose_secret().to_owned()),
                Some(ClientSecretCredentialOptions {
                    client_options: identity_client_options(http, &authority),
                }),
            )
            .map_err(|error| AuthError::Credential(error.to_string()))?;
            Ok((credential, tenant_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConnectionStringMethod, AuthError> {
        parse_connection_string(&SecretString::from(text))
    }

    #[test]
    fn connection_string_forms() {
        assert_eq!(
            parse("RunAs=Developer; DeveloperTool=AzureCli").ok(),
            Some(ConnectionStringMethod::AzureCli)
        );
        assert_eq!(
            parse("RunAs=App").ok(),
            Some(ConnectionStringMethod::ManagedIdentity { client_id: None })
        );
        assert_eq!(
            parse("runas=app;appid=abc;").ok(),
            Some(ConnectionStringMethod::ManagedIdentity {
                client_id: Some("abc".into())
            })
        );
        match parse("RunAs=App;AppId=abc;TenantId=t1;AppKey=hunter2") {
            Ok(ConnectionStringMethod::ClientSecret {
                tenant_id,
                client_id,
                secret,
            }) => {
                assert_eq!((tenant_id.as_str(), client_id.as_str()), ("t1", "abc"));
                assert_eq!(secret.expose_secret(), "hunter2");
            }
            other => panic!("{other:?}"),
        }
        for (text, why) in [
            (
                "RunAs=Developer;DeveloperTool=VisualStudio",
                "DeveloperTool other than AzureCli",
            ),
            (
                "RunAs=App;AppId=abc;TenantId=t1;CertificateThumbprint=AB12",
                "keys other than AppId, TenantId and AppKey (keys: AppId, CertificateThumbprint, RunAs, TenantId)",
            ),
            ("RunAs=CurrentUser", "RunAs other than App or Developer"),
            (
                "RunAs=App;AppKey=hunter2;secretword=x",
                "(keys: AppKey, RunAs and other keys)",
            ),
            (
                "RunAs=App;AppId=abc;AppKey=hunter2",
                "needs AppId, TenantId and AppKey together",
            ),
            ("AppKey", "part 1 (counting from 1) is not key=value"),
        ] {
            let error = parse(text).expect_err(text).to_string();
            assert!(error.contains(why), "{text}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn a_malformed_part_is_named_by_its_place_never_its_text() {
        // An AppKey holding ';' splits into a part without '='.
        let key = "Zq8;wXy7Pq2Lm9Vt4Rs6";
        let text = format!("RunAs=App;AppId=a;TenantId=t;AppKey={key}");
        let error = parse_connection_string(&SecretString::from(text))
            .err()
            .map(|error| error.to_string())
            .expect("refused");
        assert!(
            error.contains("part 5") && error.contains("after AppKey="),
            "{error}"
        );
        let secret_chars: Vec<char> = key.chars().collect();
        for piece in secret_chars.windows(4) {
            let piece: String = piece.iter().collect();
            assert!(!error.contains(&piece), "{piece} leaked: {error}");
        }
    }

    #[test]
    fn snapshot_keeps_secrets_out_of_debug() {
        let snapshot = EnvironmentSnapshot::from_pairs([
            ("AZURE_CLIENT_SECRET".to_owned(), "s3cr3t-value".to_owned()),
            ("AZURE_CLIENT_ID".to_owned(), "app".to_owned()),
            (
                "AzureServicesAuthConnectionString".to_owned(),
                "RunAs=App;AppKey=k3y".to_owned(),
            ),
        ]);
        let shown = format!("{snapshot:?}");
        assert!(shown.contains("AZURE_CLIENT_SECRET"));
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("k3y"),
            "{shown}"
        );
        let parsed = parse_connection_string(
            &snapshot
                .secret("AzureServicesAuthConnectionString")
                .expect("set"),
        );
        assert!(!format!("{parsed:?}").contains("k3y"));
    }

    #[test]
    fn service_principal_description() {
        let env = |pairs: &[(&str, &str)]| {
            EnvironmentSnapshot::from_pairs(
                pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            )
        };
        assert!(describe_service_principal(&env(&[])).is_err());
        assert_eq!(
            describe_service_principal(&env(&[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_CLIENT_SECRET", "x")
            ])),
            Ok("client secret for app c in tenant t".to_owned())
        );
        assert_eq!(
            describe_service_principal(&env(&[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/f")
            ])),
            Ok("workload identity for app c in tenant t (token file /f)".to_owned())
        );
        assert!(
            describe_service_principal(&env(&[("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c")]))
                .is_err()
        );
    }
}
