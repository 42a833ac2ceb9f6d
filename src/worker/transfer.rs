//! Files out of and into a vault: exporting a list (values only when asked, then owner-only), an object's
//! backup blob and its restore, a certificate's public file or its file with the private key (only when the
//! policy is exportable and the identity may read the secret; owner-only), and importing a PFX or PEM. Each
//! asks for its file through the `FilePicker` first, so a cancelled dialog costs no request.

use std::path::Path;

use futures_util::StreamExt;
use secrecy::SecretString;
use serde_json::Value;

use super::changes::{ChangeEffect, ChangeResult};
use super::files::{FilePicker, file_error, read_input_file, write_file};
use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use super::session::Session;
pub use super::transfer_model::ExportRequest;
use super::transfer_model::SecretHandle;
use crate::azure::AzureError;
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::transfer::certificate_files::{self, CertificateFile};
use crate::transfer::export::{ExportRecord, encode_export};

/// How many values an export reads at once.
const EXPORT_READS_AT_ONCE: usize = 8;

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Exports `items` of `vault`'s `kind` list; with `include_values` (secrets only) each value is read and the
/// file is written owner-only. A disabled secret's value cannot be read: it is exported without one.
pub async fn export(
    session: &Session,
    picker: &dyn FilePicker,
    request: ExportRequest,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let ExportRequest {
        vault,
        kind,
        items,
        format,
        include_values,
    } = request;
    let include_values = include_values && kind == ObjectKind::Secret;
    let suggested = format!(
        "{}-{}.{}",
        vault.name(),
        kind.collection(),
        format.extension()
    );
    let Some(path) = picker.save("Export to a file", &suggested).await else {
        return Ok(());
    };
    let total = items.len();
    let mut without_value = Vec::new();
    let records: Vec<ExportRecord> = if include_values {
        reply.send(EventKind::Progress { done: 0, total });
        let mut reads = futures_util::stream::iter(items.into_iter().enumerate())
            .map(|(index, item)| {
                let vault = &vault;
                async move {
                    let name = item.name();
                    let value = if item.enabled() {
                        Some(session.keyvault.get_secret(vault, &name, None).await)
                    } else {
                        None
                    };
                    (index, item, value)
                }
            })
            .buffer_unordered(EXPORT_READS_AT_ONCE);
        let mut records: Vec<(usize, ExportRecord)> = Vec::with_capacity(total);
        while let Some((index, item, value)) = reads.next().await {
            let value = match value {
                Some(Ok(bundle)) => Some(bundle.value),
                None => {
                    without_value.push(item.name());
                    None
                }
                Some(Err(error)) => {
                    return Err(FailureReason::Internal(format!(
                        "reading the value of {}: {error}. Nothing was written.",
                        item.name()
                    )));
                }
            };
            records.push((index, ExportRecord { item, value }));
            reply.send(EventKind::Progress {
                done: records.len(),
                total,
            });
        }
        records.sort_by_key(|(index, _)| *index);
        records.into_iter().map(|(_, record)| record).collect()
    } else {
        items
            .into_iter()
            .map(|item| ExportRecord { item, value: None })
            .collect()
    };
    let bytes = encode_export(format, &vault, kind, &records, now_unix())
        .map_err(|error| FailureReason::Internal(error.to_string()))?;
    write_file(&path, &bytes, include_values).await?;
    without_value.sort();
    reply.send(EventKind::Exported {
        path: path.display().to_string(),
        rows: total,
        with_values: include_values,
        without_value,
    });
    Ok(())
}

/// Saves an object's backup blob to a file (owner-only: it restores the object's values).
pub async fn backup(
    session: &Session,
    picker: &dyn FilePicker,
    id: &ObjectId,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let suggested = format!(
        "{}-{}.{}backup",
        id.vault.name(),
        id.name,
        id.kind.singular()
    );
    let Some(path) = picker
        .save(&format!("Save the backup of {}", id.name), &suggested)
        .await
    else {
        return Ok(());
    };
    let blob = session
        .keyvault
        .backup(&id.vault, id.kind, &id.name)
        .await?;
    write_file(&path, &blob, true).await?;
    reply.send(EventKind::FileSaved {
        path: path.display().to_string(),
    });
    Ok(())
}

/// Restores a backup file into `vault`, answering the restored row as a change.
pub async fn restore(
    session: &Session,
    picker: &dyn FilePicker,
    vault: &VaultUri,
    kind: ObjectKind,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let Some(path) = picker
        .open(&format!(
            "Restore a {} backup into {}",
            kind.singular(),
            vault.name()
        ))
        .await
    else {
        return Ok(());
    };
    let blob = read_input_file(&path).await?;
    let item = session
        .keyvault
        .restore(vault, kind, &blob)
        .await
        .map_err(|error| explain_restore_refusal(error, vault))?;
    reply.send(EventKind::Changed(ChangeResult {
        vault: vault.clone(),
        kind,
        name: item.name(),
        effect: ChangeEffect::Live(item),
        reread: None,
    }));
    Ok(())
}

/// Key Vault answers a backup from another subscription or geography with "Cannot decrypt backup blob.";
/// the message gains the rule.
fn explain_restore_refusal(error: AzureError, vault: &VaultUri) -> FailureReason {
    let text = error.to_string();
    if text.contains("Cannot decrypt backup blob") {
        FailureReason::Internal(format!(
            "{text} — Key Vault restores a backup only into a vault of the same subscription and the same Azure geography as the vault it was taken from; check that {} is in both.",
            vault.name()
        ))
    } else {
        error.into()
    }
}

/// Saves a certificate as `format`. With the private key, the policy must be exportable and the identity
/// must be allowed to get the certificate's secret; the file is then written owner-only.
pub async fn download_certificate(
    session: &Session,
    picker: &dyn FilePicker,
    id: &ObjectId,
    format: CertificateFile,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let bundle = session.keyvault.get_bundle(id).await?;
    let mut secret = None;
    if format.with_key() {
        let exportable = bundle
            .pointer("/policy/key_props/exportable")
            .and_then(Value::as_bool);
        if exportable == Some(false) {
            return Err(FailureReason::Internal(format!(
                "{}'s policy says its private key is not exportable, so Key Vault keeps no copy to download; only the public certificate can be saved.",
                id.name
            )));
        }
        let secret_id = bundle
            .get("sid")
            .and_then(Value::as_str)
            .and_then(|sid| ObjectId::parse(sid).ok())
            .ok_or_else(|| {
                FailureReason::Internal(format!("{} names no backing secret (sid)", id.name))
            })?;
        let read = session
            .keyvault
            .get_secret(&secret_id.vault, &secret_id.name, secret_id.version.as_deref())
            .await
            .map_err(|error| match error {
                AzureError::Service { status: 403, .. } => FailureReason::Internal(format!(
                    "The private key comes from the certificate's secret, and you may not get secrets in {}: {error}",
                    id.vault.name()
                )),
                other => other.into(),
            })?;
        secret = Some(read);
    }
    let suggested = format!("{}.{}", id.name, format.extension());
    let Some(path) = picker
        .save(
            &format!("Save {} as {}", id.name, format.label()),
            &suggested,
        )
        .await
    else {
        return Ok(());
    };
    match secret {
        Some(secret) => {
            let bytes = certificate_files::private_file(
                &secret.value,
                secret.content_type.as_deref(),
                format,
            )
            .map_err(|error| FailureReason::Internal(error.to_string()))?;
            write_file(&path, &bytes, true).await?;
        }
        None => {
            use base64::Engine;
            let der = bundle
                .get("cer")
                .and_then(Value::as_str)
                .and_then(|cer| base64::engine::general_purpose::STANDARD.decode(cer).ok())
                .ok_or_else(|| {
                    FailureReason::Internal(format!("{} carries no certificate (cer)", id.name))
                })?;
            write_file(&path, &certificate_files::public_file(&der, format), false).await?;
        }
    }
    reply.send(EventKind::FileSaved {
        path: path.display().to_string(),
    });
    Ok(())
}

/// Imports the PFX or PEM at `path` as certificate `name` (new, or a new version), checked first.
pub async fn import_certificate(
    session: &Session,
    vault: &VaultUri,
    name: &str,
    path: &Path,
    password: &SecretHandle,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let bytes = read_input_file(path).await?;
    let password: &SecretString = &password.0;
    let upload = certificate_files::prepare_upload(&bytes, password)
        .map_err(|error| file_error(path, error))?;
    let item = session
        .keyvault
        .import_certificate(vault, name, &upload)
        .await?;
    reply.send(EventKind::Changed(ChangeResult {
        vault: vault.clone(),
        kind: ObjectKind::Certificate,
        name: item.name(),
        effect: ChangeEffect::Live(item),
        reread: None,
    }));
    Ok(())
}
