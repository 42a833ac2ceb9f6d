//! Key Vault data-plane writes: set a secret version, PATCH a version's attributes and tags, delete, recover
//! and purge secrets, keys and certificates, create and rotate keys, create self-signed certificates and read
//! their pending operation. Which of them the pipeline may send twice is stated per call (SPEC §1.6 of the
//! writes reference): a non-idempotent write that meets a network error is never re-sent, and the caller
//! re-reads the object to learn what happened.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::error::{AzureError, Service};
use super::identifiers::{ObjectId, ObjectKind, VaultUri, check_object_name};
use super::keyvault::{KEYVAULT_API_VERSION, KeyVaultClient, path_segment};
use super::models::ObjectItem;
use super::pipeline::{Outgoing, retry_after};

/// Key Vault's limit on a secret value (25 KB; LEARN service limits).
pub const SECRET_VALUE_LIMIT: usize = 25 * 1024;

/// A new secret version as the person wrote it. The value stays a `SecretString` up to the request body.
#[derive(Clone)]
pub struct SecretDraft {
    pub value: SecretString,
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
}

impl std::fmt::Debug for SecretDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretDraft")
            .field("value", &"<redacted>")
            .field("content_type", &self.content_type)
            .field("tags", &self.tags)
            .field("enabled", &self.enabled)
            .field("not_before", &self.not_before)
            .field("expires", &self.expires)
            .finish()
    }
}

/// What a PATCH of one version changes; `None` leaves a field as it is, `Some(None)` clears a date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionUpdate {
    pub enabled: Option<bool>,
    pub not_before: Option<Option<i64>>,
    pub expires: Option<Option<i64>>,
    /// Secrets only.
    pub content_type: Option<String>,
    /// The whole new tag set (Key Vault replaces tags).
    pub tags: Option<BTreeMap<String, String>>,
}

impl VersionUpdate {
    fn body(&self, kind: ObjectKind) -> Value {
        let mut attributes = Map::new();
        if let Some(enabled) = self.enabled {
            attributes.insert("enabled".into(), json!(enabled));
        }
        if let Some(not_before) = self.not_before {
            attributes.insert("nbf".into(), json!(not_before));
        }
        if let Some(expires) = self.expires {
            attributes.insert("exp".into(), json!(expires));
        }
        let mut body = Map::new();
        if !attributes.is_empty() {
            body.insert("attributes".into(), Value::Object(attributes));
        }
        if let Some(tags) = &self.tags {
            body.insert("tags".into(), json!(tags));
        }
        if kind == ObjectKind::Secret
            && let Some(content_type) = &self.content_type
        {
            body.insert("contentType".into(), json!(content_type));
        }
        Value::Object(body)
    }
}

/// A key's type and size or curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyShape {
    Rsa(u32),
    Ec(EcCurve),
}

/// The elliptic curves Key Vault creates keys on (P-256K left out: few verifiers accept it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    P256,
    P384,
    P521,
}

impl EcCurve {
    pub const ALL: [EcCurve; 3] = [Self::P256, Self::P384, Self::P521];

    pub fn wire_name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }
}

impl KeyShape {
    /// The RSA sizes Key Vault creates.
    pub const RSA_SIZES: [u32; 3] = [2048, 3072, 4096];

    /// "RSA 2048", "EC P-256".
    pub fn label(self) -> String {
        match self {
            Self::Rsa(size) => format!("RSA {size}"),
            Self::Ec(curve) => format!("EC {}", curve.wire_name()),
        }
    }

    fn key_fields(self, body: &mut Map<String, Value>) {
        match self {
            Self::Rsa(size) => {
                body.insert("kty".into(), json!("RSA"));
                body.insert("key_size".into(), json!(size));
            }
            Self::Ec(curve) => {
                body.insert("kty".into(), json!("EC"));
                body.insert("crv".into(), json!(curve.wire_name()));
            }
        }
    }
}

/// The key operations Key Vault knows, in its order.
pub const KEY_OPERATIONS: [&str; 6] = [
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
];

/// A key to create (or a new version of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDraft {
    pub shape: KeyShape,
    pub operations: Vec<String>,
    pub enabled: bool,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
    pub tags: BTreeMap<String, String>,
}

/// What a self-signed certificate's policy does near the end of its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifetimeAction {
    AutoRenew { percentage: u8 },
    EmailContacts { percentage: u8 },
}

/// A self-signed certificate to create from a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateDraft {
    /// `CN=…`, as the person typed it (Key Vault keeps the casing).
    pub subject: String,
    pub dns_names: Vec<String>,
    pub validity_months: u32,
    pub key: KeyShape,
    pub exportable: bool,
    /// `application/x-pkcs12` or `application/x-pem-file`.
    pub content_type: String,
    pub lifetime_action: LifetimeAction,
    pub enabled: bool,
    pub tags: BTreeMap<String, String>,
}

impl CertificateDraft {
    /// The policy as Key Vault's create call takes it (SPEC `CreateCertificate-example.json`).
    pub fn policy_json(&self) -> Value {
        let mut key_props = Map::new();
        key_props.insert("exportable".into(), json!(self.exportable));
        key_props.insert("reuse_key".into(), json!(false));
        self.key.key_fields(&mut key_props);
        let (action_type, percentage) = match self.lifetime_action {
            LifetimeAction::AutoRenew { percentage } => ("AutoRenew", percentage),
            LifetimeAction::EmailContacts { percentage } => ("EmailContacts", percentage),
        };
        json!({
            "key_props": key_props,
            "secret_props": {"contentType": self.content_type},
            "x509_props": {
                "subject": self.subject,
                "sans": {"dns_names": self.dns_names},
                "validity_months": self.validity_months,
            },
            "lifetime_actions": [{"trigger": {"lifetime_percentage": percentage}, "action": {"action_type": action_type}}],
            "issuer": {"name": "Self"},
        })
    }
}

/// A certificate's pending operation (`/certificates/{name}/pending`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateOperation {
    /// `inProgress`, `completed`, `failed` or `cancelled`.
    pub status: String,
    pub status_details: Option<String>,
    /// The service's error for a failed operation (code: message).
    pub error: Option<String>,
    /// How long the service asked us to wait before polling again.
    pub retry_after: Option<Duration>,
}

impl CertificateOperation {
    pub fn in_progress(&self) -> bool {
        self.status.eq_ignore_ascii_case("inProgress")
    }

    fn from_received(body: &Value, retry_after: Option<Duration>) -> Self {
        let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
        let error = body.get("error").filter(|e| !e.is_null()).map(|error| {
            format!(
                "{}: {}",
                error.get("code").and_then(Value::as_str).unwrap_or("Error"),
                error.get("message").and_then(Value::as_str).unwrap_or("")
            )
        });
        Self {
            status: text("status").unwrap_or_else(|| "unknown".into()),
            status_details: text("status_details"),
            error,
            retry_after,
        }
    }
}

/// The request body of a secret set: serialized straight from the `SecretString` into the body's bytes.
#[derive(Serialize)]
struct SetSecretBody<'a> {
    #[serde(serialize_with = "expose")]
    value: &'a SecretString,
    #[serde(rename = "contentType", skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    tags: &'a BTreeMap<String, String>,
    attributes: Value,
}

fn expose<S: serde::Serializer>(value: &&SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.expose_secret())
}

fn attributes_json(enabled: bool, not_before: Option<i64>, expires: Option<i64>) -> Value {
    json!({"enabled": enabled, "nbf": not_before, "exp": expires})
}

/// Turns a bundle (secret, key or certificate, live or deleted) into a list row: keys carry their
/// identifier in `key.kid`, the others in `id`. A secret's `value` is not read.
pub fn item_from_bundle(
    kind: ObjectKind,
    bundle: &Value,
    host: &str,
) -> Result<ObjectItem, AzureError> {
    let mut item: ObjectItem = serde_json::from_value(strip_value(bundle)).map_err(|error| {
        AzureError::InvalidResponse {
            host: host.to_owned(),
            detail: crate::untrusted_text::json_error_detail(&error),
        }
    })?;
    if kind == ObjectKind::Key && item.kid.is_none() {
        item.kid = bundle
            .pointer("/key/kid")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    if item.identifier().is_empty() {
        return Err(AzureError::InvalidResponse {
            host: host.to_owned(),
            detail: format!("the {} bundle names no identifier", kind.singular()),
        });
    }
    Ok(item)
}

/// The bundle without `value` (a secret's value) and without key material, so nothing secret is copied.
fn strip_value(bundle: &Value) -> Value {
    match bundle {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(field, _)| !matches!(field.as_str(), "value" | "key" | "cer" | "policy"))
                .map(|(field, value)| (field.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl KeyVaultClient {
    /// `PUT /secrets/{name}`: a new version (a new secret when the name is free). Not idempotent.
    pub async fn set_secret(
        &self,
        vault: &VaultUri,
        name: &str,
        draft: &SecretDraft,
    ) -> Result<ObjectItem, AzureError> {
        check_object_name(name).map_err(AzureError::InvalidUri)?;
        let body = SetSecretBody {
            value: &draft.value,
            content_type: draft.content_type.as_deref(),
            tags: &draft.tags,
            attributes: attributes_json(draft.enabled, draft.not_before, draft.expires),
        };
        let bytes = zeroize::Zeroizing::new(serde_json::to_vec(&body).map_err(|error| {
            AzureError::InvalidUri(format!("cannot encode the secret: {error}"))
        })?);
        let url = vault.url(
            &format!("secrets/{}", path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        self.write(
            ObjectKind::Secret,
            Method::PUT,
            url,
            Some(Bytes::copy_from_slice(&bytes)),
            false,
        )
        .await
    }

    /// `PATCH /{kind}/{name}/{version}` (the latest version when `id` has none): attributes, tags and
    /// (secrets) content type. Idempotent.
    pub async fn update_version(
        &self,
        id: &ObjectId,
        update: &VersionUpdate,
    ) -> Result<ObjectItem, AzureError> {
        let version = match &id.version {
            Some(version) => path_segment(version)?,
            None => "",
        };
        let url = id.vault.url(
            &format!(
                "{}/{}/{version}",
                id.kind.collection(),
                path_segment(&id.name)?,
            ),
            KEYVAULT_API_VERSION,
        )?;
        let body = json_bytes(&update.body(id.kind));
        self.write(id.kind, Method::PATCH, url, Some(body), true)
            .await
    }

    /// `DELETE /{kind}/{name}`: every version goes to the deleted list; answers the deleted item.
    pub async fn delete_object(
        &self,
        vault: &VaultUri,
        kind: ObjectKind,
        name: &str,
    ) -> Result<ObjectItem, AzureError> {
        let url = vault.url(
            &format!("{}/{}", kind.collection(), path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        self.write(kind, Method::DELETE, url, None, true).await
    }

    /// `POST /deleted{kind}/{name}/recover`: answers the recovered latest version. Not idempotent (a second
    /// call meets 404 or 409), so never re-sent.
    pub async fn recover_deleted(
        &self,
        vault: &VaultUri,
        kind: ObjectKind,
        name: &str,
    ) -> Result<ObjectItem, AzureError> {
        let url = vault.url(
            &format!(
                "deleted{}/{}/recover",
                kind.collection(),
                path_segment(name)?
            ),
            KEYVAULT_API_VERSION,
        )?;
        self.write(kind, Method::POST, url, None, false).await
    }

    /// `DELETE /deleted{kind}/{name}`: 204, gone for good.
    pub async fn purge_deleted(
        &self,
        vault: &VaultUri,
        kind: ObjectKind,
        name: &str,
    ) -> Result<(), AzureError> {
        let url = vault.url(
            &format!("deleted{}/{}", kind.collection(), path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let received = self
            .send_authorized(Outgoing::new(Method::DELETE, url, None, true))
            .await?;
        if received.status.is_success() {
            Ok(())
        } else {
            received.json::<Value>(Service::KeyVault, &host).map(|_| ())
        }
    }

    /// `GET /deleted{kind}/{name}`: the deleted item, or `None` when no deleted item has that name.
    pub async fn get_deleted(
        &self,
        vault: &VaultUri,
        kind: ObjectKind,
        name: &str,
    ) -> Result<Option<ObjectItem>, AzureError> {
        let url = vault.url(
            &format!("deleted{}/{}", kind.collection(), path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let received = self.send_authorized(Outgoing::get(url)).await?;
        if received.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let bundle: Value = received.json(Service::KeyVault, &host)?;
        item_from_bundle(kind, &bundle, &host).map(Some)
    }

    /// `POST /keys/{name}/create`: a new key, or a new version of one. Not idempotent.
    pub async fn create_key(
        &self,
        vault: &VaultUri,
        name: &str,
        draft: &KeyDraft,
    ) -> Result<ObjectItem, AzureError> {
        check_object_name(name).map_err(AzureError::InvalidUri)?;
        let mut body = Map::new();
        draft.shape.key_fields(&mut body);
        body.insert("key_ops".into(), json!(draft.operations));
        body.insert(
            "attributes".into(),
            attributes_json(draft.enabled, draft.not_before, draft.expires),
        );
        body.insert("tags".into(), json!(draft.tags));
        let url = vault.url(
            &format!("keys/{}/create", path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        self.write(
            ObjectKind::Key,
            Method::POST,
            url,
            Some(json_bytes(&Value::Object(body))),
            false,
        )
        .await
    }

    /// `POST /keys/{name}/rotate`: a new version with the key's own type and operations. Not idempotent.
    pub async fn rotate_key(&self, vault: &VaultUri, name: &str) -> Result<ObjectItem, AzureError> {
        let url = vault.url(
            &format!("keys/{}/rotate", path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        self.write(ObjectKind::Key, Method::POST, url, None, false)
            .await
    }

    /// `POST /certificates/{name}/create`: starts a self-signed certificate; answers the pending operation
    /// (202 `inProgress`, or already complete). Not idempotent.
    pub async fn create_certificate(
        &self,
        vault: &VaultUri,
        name: &str,
        draft: &CertificateDraft,
    ) -> Result<CertificateOperation, AzureError> {
        check_object_name(name).map_err(AzureError::InvalidUri)?;
        let body = json!({
            "policy": draft.policy_json(),
            "attributes": {"enabled": draft.enabled},
            "tags": draft.tags,
        });
        let url = vault.url(
            &format!("certificates/{}/create", path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        self.operation(Outgoing::new(
            Method::POST,
            url,
            Some(json_bytes(&body)),
            false,
        ))
        .await
    }

    /// `GET /certificates/{name}/pending`: the creation's state.
    pub async fn certificate_operation(
        &self,
        vault: &VaultUri,
        name: &str,
    ) -> Result<CertificateOperation, AzureError> {
        let url = vault.url(
            &format!("certificates/{}/pending", path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        self.operation(Outgoing::get(url)).await
    }

    async fn operation(&self, request: Outgoing) -> Result<CertificateOperation, AzureError> {
        let host = request.url.host_str().unwrap_or_default().to_owned();
        let received = self.send_authorized(request).await?;
        let body: Value = received.json(Service::KeyVault, &host)?;
        Ok(CertificateOperation::from_received(
            &body,
            retry_after(&received.headers),
        ))
    }

    /// Sends a write and reads its answer as a list row.
    pub(super) async fn write(
        &self,
        kind: ObjectKind,
        method: Method,
        url: url::Url,
        body: Option<Bytes>,
        idempotent: bool,
    ) -> Result<ObjectItem, AzureError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let received = self
            .send_authorized(Outgoing::new(method, url, body, idempotent))
            .await?;
        let bundle: Value = received.json(Service::KeyVault, &host)?;
        item_from_bundle(kind, &bundle, &host)
    }
}

pub(super) fn json_bytes(value: &Value) -> Bytes {
    Bytes::from(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_bundle_becomes_a_row_with_its_kid_and_no_material() {
        let bundle = json!({
            "key": {"kid": "https://kv1.vault.azure.net/keys/k1/abc", "kty": "RSA", "n": "xyz", "e": "AQAB"},
            "attributes": {"enabled": true, "created": 1},
            "tags": {"env": "prod"}
        });
        let item = item_from_bundle(ObjectKind::Key, &bundle, "kv1").expect("row");
        assert_eq!(
            item.kid.as_deref(),
            Some("https://kv1.vault.azure.net/keys/k1/abc")
        );
        assert_eq!(item.tags.get("env").map(String::as_str), Some("prod"));
    }

    #[test]
    fn a_secret_bundle_becomes_a_row_without_its_value() {
        let bundle = json!({"value": "hunter2", "id": "https://kv1.vault.azure.net/secrets/s/1", "attributes": {}});
        let item = item_from_bundle(ObjectKind::Secret, &bundle, "kv1").expect("row");
        let shown = serde_json::to_string(&item).expect("json");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(item_from_bundle(ObjectKind::Secret, &json!({"attributes": {}}), "kv1").is_err());
    }

    #[test]
    fn the_secret_body_carries_the_value_and_clears_dates_with_null() {
        let draft = SecretDraft {
            value: SecretString::from("line one\n\"quoted\""),
            content_type: Some("text/plain".into()),
            tags: BTreeMap::from([("a".into(), "b".into())]),
            enabled: false,
            not_before: None,
            expires: Some(1_900_000_000),
        };
        let body = serde_json::to_value(SetSecretBody {
            value: &draft.value,
            content_type: draft.content_type.as_deref(),
            tags: &draft.tags,
            attributes: attributes_json(draft.enabled, draft.not_before, draft.expires),
        })
        .expect("body");
        assert_eq!(body["value"], "line one\n\"quoted\"");
        assert_eq!(
            body["attributes"],
            json!({"enabled": false, "nbf": null, "exp": 1_900_000_000})
        );
        assert!(!format!("{draft:?}").contains("quoted"));
    }

    #[test]
    fn an_update_sends_only_what_it_changes() {
        let enable = VersionUpdate {
            enabled: Some(true),
            ..VersionUpdate::default()
        };
        assert_eq!(
            enable.body(ObjectKind::Secret),
            json!({"attributes": {"enabled": true}})
        );
        let clear = VersionUpdate {
            expires: Some(None),
            content_type: Some("text/plain".into()),
            tags: Some(BTreeMap::new()),
            ..VersionUpdate::default()
        };
        assert_eq!(
            clear.body(ObjectKind::Secret),
            json!({"attributes": {"exp": null}, "tags": {}, "contentType": "text/plain"})
        );
        assert!(clear.body(ObjectKind::Key).get("contentType").is_none());
    }

    #[test]
    fn the_certificate_policy_names_the_key_and_lifetime_action() {
        let draft = CertificateDraft {
            subject: "CN=api.contoso.com".into(),
            dns_names: vec!["api.contoso.com".into()],
            validity_months: 12,
            key: KeyShape::Ec(EcCurve::P384),
            exportable: false,
            content_type: "application/x-pem-file".into(),
            lifetime_action: LifetimeAction::EmailContacts { percentage: 90 },
            enabled: true,
            tags: BTreeMap::new(),
        };
        let policy = draft.policy_json();
        assert_eq!(policy["key_props"]["kty"], "EC");
        assert_eq!(policy["key_props"]["crv"], "P-384");
        assert_eq!(policy["key_props"]["exportable"], false);
        assert_eq!(
            policy["lifetime_actions"][0]["action"]["action_type"],
            "EmailContacts"
        );
        assert_eq!(
            policy["x509_props"]["sans"]["dns_names"][0],
            "api.contoso.com"
        );
    }
}
