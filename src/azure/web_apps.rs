//! `Microsoft.Web` reads for "apps that use a vault": App Service and Function apps with their identities,
//! their app settings and connection strings (kept only as the Key Vault references they hold: every other
//! value is dropped unread, and none is logged), and the platform's resolution status of each reference.

use std::collections::BTreeMap;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::arm::ArmClient;
use super::error::{AzureError, Service};
use super::pipeline::Outgoing;
use crate::access::consumers::{
    AttachedIdentity, FoundReference, PlatformStatus, ReferenceIdentitySetting, SettingKind, WebApp,
};
use crate::access::key_vault_references::parse_reference;

/// `Microsoft.Web` api-version (the protocol reference's, part 2 §5).
pub const WEB_API_VERSION: &str = "2024-04-01";

/// A site as ARM lists it (only what references need).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub identity: Option<SiteIdentity>,
    #[serde(default)]
    pub properties: SiteProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteIdentity {
    #[serde(rename = "type", default)]
    pub identity_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub user_assigned_identities: Option<BTreeMap<String, UserAssignedIdentity>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAssignedIdentity {
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteProperties {
    #[serde(default)]
    pub key_vault_reference_identity: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

impl Site {
    /// The app as the consumer join reads it.
    pub fn to_web_app(&self) -> WebApp {
        let identity = self.identity.clone().unwrap_or_default();
        let kinds = identity
            .identity_type
            .as_deref()
            .unwrap_or("None")
            .to_ascii_lowercase();
        WebApp {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind.clone().unwrap_or_default(),
            system_principal_id: if kinds.contains("systemassigned") {
                identity.principal_id.clone()
            } else {
                None
            },
            user_assigned: identity
                .user_assigned_identities
                .unwrap_or_default()
                .into_iter()
                .map(|(resource_id, attached)| AttachedIdentity {
                    resource_id,
                    principal_id: attached.principal_id,
                })
                .collect(),
            reference_identity: ReferenceIdentitySetting::from_property(
                self.properties.key_vault_reference_identity.as_deref(),
            ),
        }
    }
}

/// `config/appsettings/list`: values held as secrets until read for a reference.
#[derive(Deserialize)]
struct AppSettings {
    #[serde(default)]
    properties: BTreeMap<String, SecretString>,
}

/// `config/connectionstrings/list`.
#[derive(Deserialize)]
struct ConnectionStrings {
    #[serde(default)]
    properties: BTreeMap<String, ConnectionString>,
}

#[derive(Deserialize)]
struct ConnectionString {
    value: Option<SecretString>,
}

/// One entry of `config/configreferences/{appsettings|connectionstrings}`.
#[derive(Debug, Deserialize)]
struct ConfigReference {
    name: String,
    #[serde(default)]
    properties: ConfigReferenceProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigReferenceProperties {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

/// Keeps the settings that are Key Vault references (well-formed ones; a broken one cannot point anywhere
/// the platform would go).
fn references<'a>(
    kind: SettingKind,
    values: impl Iterator<Item = (&'a String, &'a SecretString)>,
) -> Vec<FoundReference> {
    values
        .filter_map(|(setting, value)| {
            let reference = parse_reference(value.expose_secret())?.ok()?;
            Some(FoundReference {
                setting: setting.clone(),
                setting_kind: kind,
                reference,
            })
        })
        .collect()
}

impl ArmClient {
    /// Every App Service and Function app of a subscription (all pages).
    pub async fn list_sites(&self, subscription_id: &str) -> Result<Vec<Site>, AzureError> {
        let url = self.url(
            &format!("/subscriptions/{subscription_id}/providers/Microsoft.Web/sites"),
            WEB_API_VERSION,
        )?;
        self.list_all(url).await
    }

    /// The Key Vault references among a site's app settings and connection strings. Both lists are POSTs
    /// that change nothing (so they may be sent again) and need `Microsoft.Web/sites/config/list/action`.
    pub async fn list_site_references(
        &self,
        site_id: &str,
    ) -> Result<Vec<FoundReference>, AzureError> {
        let settings: AppSettings = self
            .post_list(&format!("{site_id}/config/appsettings/list"))
            .await?;
        let strings: ConnectionStrings = self
            .post_list(&format!("{site_id}/config/connectionstrings/list"))
            .await?;
        let mut found = references(SettingKind::AppSetting, settings.properties.iter());
        found.extend(references(
            SettingKind::ConnectionString,
            strings
                .properties
                .iter()
                .filter_map(|(name, string)| Some((name, string.value.as_ref()?))),
        ));
        Ok(found)
    }

    /// The platform's resolution status of a site's references, by kind and lower-case setting name.
    pub async fn list_reference_statuses(
        &self,
        site_id: &str,
    ) -> Result<Vec<((SettingKind, String), PlatformStatus)>, AzureError> {
        let mut statuses = Vec::new();
        for (kind, collection) in [
            (SettingKind::AppSetting, "appsettings"),
            (SettingKind::ConnectionString, "connectionstrings"),
        ] {
            let url = self.url(
                &format!("{site_id}/config/configreferences/{collection}"),
                WEB_API_VERSION,
            )?;
            let entries: Vec<ConfigReference> = self.list_all(url).await?;
            statuses.extend(entries.into_iter().filter_map(|entry| {
                let status = entry.properties.status?;
                Some((
                    (kind, entry.name.to_ascii_lowercase()),
                    PlatformStatus {
                        status,
                        details: entry
                            .properties
                            .details
                            .filter(|details| !details.is_empty()),
                    },
                ))
            }));
        }
        Ok(statuses)
    }

    async fn post_list<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, AzureError> {
        let url = self.url(path, WEB_API_VERSION)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let received = self
            .send_write(Outgoing::new(Method::POST, url, None, true))
            .await?;
        received.json(Service::ResourceManager, &host)
    }
}
