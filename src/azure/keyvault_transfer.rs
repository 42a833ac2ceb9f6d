//! Key Vault calls for moving data through files: an object's backup blob and its restore, importing a
//! certificate (PFX or PEM), and reading a whole list or an object's every version (all pages) for export,
//! copy and compare. Backup is a read (idempotent); restore and import are not (a second call meets 409).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::error::{AzureError, Service};
use super::identifiers::{ObjectKind, VaultUri, check_object_name};
use super::keyvault::{KEYVAULT_API_VERSION, KeyVaultClient, path_segment};
use super::models::{ListKind, ObjectItem};
use super::pipeline::Outgoing;
use crate::transfer::certificate_files::CertificateUpload;

impl KeyVaultClient {
    /// `POST /{kind}/{name}/backup`: the protected blob (decoded from base64url: the bytes `az … backup`
    /// writes to its file).
    pub async fn backup(
        &self,
        vault: &VaultUri,
        kind: ObjectKind,
        name: &str,
    ) -> Result<Zeroizing<Vec<u8>>, AzureError> {
        let url = vault.url(
            &format!("{}/{}/backup", kind.collection(), path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let received = self
            .send_authorized(Outgoing::new(Method::POST, url, None, true))
            .await?;
        let body: Value = received.json(Service::KeyVault, &host)?;
        let blob = body.get("value").and_then(Value::as_str).ok_or_else(|| {
            AzureError::InvalidResponse {
                host: host.clone(),
                detail: "the backup answer has no value".into(),
            }
        })?;
        URL_SAFE_NO_PAD
            .decode(blob.trim_end_matches('='))
            .map(Zeroizing::new)
            .map_err(|_| AzureError::InvalidResponse {
                host,
                detail: "the backup blob is not base64url".into(),
            })
    }

    /// `POST /{kind}/restore`: the object comes back under the name it had. Not idempotent.
    pub async fn restore(
        &self,
        vault: &VaultUri,
        kind: ObjectKind,
        blob: &[u8],
    ) -> Result<ObjectItem, AzureError> {
        let url = vault.url(
            &format!("{}/restore", kind.collection()),
            KEYVAULT_API_VERSION,
        )?;
        let body = json!({ "value": URL_SAFE_NO_PAD.encode(blob) });
        self.write(
            kind,
            Method::POST,
            url,
            Some(Bytes::from(body.to_string())),
            false,
        )
        .await
    }

    /// `POST /certificates/{name}/import`: a new certificate (or a new version) from a checked upload.
    pub async fn import_certificate(
        &self,
        vault: &VaultUri,
        name: &str,
        upload: &CertificateUpload,
    ) -> Result<ObjectItem, AzureError> {
        check_object_name(name).map_err(AzureError::InvalidUri)?;
        let url = vault.url(
            &format!("certificates/{}/import", path_segment(name)?),
            KEYVAULT_API_VERSION,
        )?;
        let mut body = json!({
            "value": upload.value.expose_secret(),
            "policy": {
                "key_props": {"exportable": true},
                "secret_props": {"contentType": upload.content_type}
            }
        });
        if let Some(password) = &upload.password {
            body["pwd"] = json!(password.expose_secret());
        }
        let bytes = Zeroizing::new(body.to_string());
        drop(body);
        self.write(
            ObjectKind::Certificate,
            Method::POST,
            url,
            Some(Bytes::copy_from_slice(bytes.as_bytes())),
            false,
        )
        .await
    }

    /// Every row of one list (all pages).
    pub async fn list_all(
        &self,
        vault: &VaultUri,
        list: ListKind,
    ) -> Result<Vec<ObjectItem>, AzureError> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self.list_page(vault, list, next.as_deref()).await?;
            items.extend(page.value);
            match page.next_link {
                Some(link) if !link.is_empty() => next = Some(link),
                _ => return Ok(items),
            }
        }
    }

    /// Every version of one object (all pages), oldest first.
    pub async fn list_all_versions(
        &self,
        vault: &VaultUri,
        kind: ObjectKind,
        name: &str,
    ) -> Result<Vec<ObjectItem>, AzureError> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .list_versions_page(vault, kind, name, next.as_deref())
                .await?;
            items.extend(page.value);
            match page.next_link {
                Some(link) if !link.is_empty() => next = Some(link),
                _ => break,
            }
        }
        items.sort_by_key(|item| item.attributes.created.unwrap_or_default());
        Ok(items)
    }
}
