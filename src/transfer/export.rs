//! The export files: a list's metadata (and, only when the person asked, the values) as CSV or JSON. The
//! formats are documented in the README ("File formats"); `import.rs` reads both back.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use zeroize::Zeroizing;

use super::rfc3339;
use crate::azure::identifiers::{ObjectKind, VaultUri};
use crate::azure::models::ObjectItem;

/// The columns of an export CSV, in order (`value` only when values are included).
pub const CSV_COLUMNS: [&str; 9] = [
    "name",
    "identifier",
    "enabled",
    "created",
    "updated",
    "not_before",
    "expires",
    "content_type",
    "tags",
];

/// Which file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }
}

/// One exported row: the list's metadata and, when values are included, the value.
pub struct ExportRecord {
    pub item: ObjectItem,
    pub value: Option<SecretString>,
}

impl std::fmt::Debug for ExportRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportRecord")
            .field("item", &self.item)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the export: {0}")]
    Encoding(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonExport<'a> {
    format: &'static str,
    vault: &'a str,
    kind: &'static str,
    exported: String,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonItem<'a> {
    name: String,
    identifier: &'a str,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    tags: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
}

/// The name of the `format` field of a JSON export (and what the importer looks for).
pub const JSON_FORMAT_NAME: &str = "vaultscope-export/1";

/// Encodes `records` in `format`. The buffer is wiped when dropped (it may hold values).
pub fn encode_export(
    format: ExportFormat,
    vault: &VaultUri,
    kind: ObjectKind,
    records: &[ExportRecord],
    exported_at: i64,
) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    let with_values = records.iter().any(|record| record.value.is_some());
    // Reserved up front so the buffer holding values does not reallocate (which would leave copies).
    let estimate = records.len() * 512
        + records
            .iter()
            .filter_map(|record| record.value.as_ref())
            .map(|value| value.expose_secret().len() * 2)
            .sum::<usize>();
    let mut buffer = Zeroizing::new(Vec::with_capacity(estimate + 1024));
    match format {
        ExportFormat::Json => {
            let export = JsonExport {
                format: JSON_FORMAT_NAME,
                vault: vault.as_str(),
                kind: kind.singular(),
                exported: rfc3339(exported_at),
                items: records.iter().map(json_item).collect(),
            };
            serde_json::to_writer_pretty(&mut *buffer, &export)
                .map_err(|error| ExportError::Encoding(error.to_string()))?;
            buffer.push(b'\n');
        }
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut *buffer);
            let mut header: Vec<&str> = CSV_COLUMNS.to_vec();
            if with_values {
                header.push("value");
            }
            writer
                .write_record(&header)
                .map_err(|error| ExportError::Encoding(error.to_string()))?;
            for record in records {
                let item = &record.item;
                let date = |at: Option<i64>| at.map(rfc3339).unwrap_or_default();
                let tags = if item.tags.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&item.tags).unwrap_or_default()
                };
                let mut row = vec![
                    item.name(),
                    item.identifier().to_owned(),
                    item.enabled().to_string(),
                    date(item.attributes.created),
                    date(item.attributes.updated),
                    date(item.attributes.nbf),
                    date(item.attributes.exp),
                    item.content_type.clone().unwrap_or_default(),
                    tags,
                ];
                if with_values {
                    row.push(String::new());
                }
                // The value is written as its own field so it never sits in a `String` of ours.
                let fields = row.len();
                for (index, field) in row.iter().enumerate() {
                    if with_values && index == fields - 1 {
                        let value = record
                            .value
                            .as_ref()
                            .map(|value| value.expose_secret().as_bytes())
                            .unwrap_or_default();
                        writer
                            .write_field(value)
                            .map_err(|error| ExportError::Encoding(error.to_string()))?;
                    } else {
                        writer
                            .write_field(field)
                            .map_err(|error| ExportError::Encoding(error.to_string()))?;
                    }
                }
                writer
                    .write_record(None::<&[u8]>)
                    .map_err(|error| ExportError::Encoding(error.to_string()))?;
            }
            writer
                .flush()
                .map_err(|error| ExportError::Encoding(error.to_string()))?;
        }
    }
    Ok(buffer)
}

fn json_item(record: &ExportRecord) -> JsonItem<'_> {
    let item = &record.item;
    JsonItem {
        name: item.name(),
        identifier: item.identifier(),
        enabled: item.enabled(),
        created: item.attributes.created.map(rfc3339),
        updated: item.attributes.updated.map(rfc3339),
        not_before: item.attributes.nbf.map(rfc3339),
        expires: item.attributes.exp.map(rfc3339),
        content_type: item.content_type.as_deref(),
        tags: &item.tags,
        value: record.value.as_ref().map(|value| value.expose_secret()),
    }
}
