//! Reading import files into secrets to write: a `.env` file (`NAME=value`; `_` becomes `-`, since Key Vault
//! names allow only letters, digits and dashes), JSON (an object of name → value, or Vaultscope's own export)
//! and CSV (a header naming at least `name` and `value`; the export's other columns are read too). A row
//! that cannot be used says why and where; the file as a whole fails only when it cannot be read at all.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde_json::Value;
use zeroize::Zeroizing;

use super::parse_time;
use crate::azure::keyvault_writes::SecretDraft;

/// Which reader a file needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    DotEnv,
    Json,
    Csv,
}

impl ImportFormat {
    /// From the file name (`.json`, `.csv`; anything else — `.env`, `prod.env`, no extension — is `.env`).
    pub fn of_file(file_name: &str) -> Self {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Self::Json
        } else if lower.ends_with(".csv") {
            Self::Csv
        } else {
            Self::DotEnv
        }
    }
}

/// One secret read from a file: where it came from, its name, and what to write (or why not).
pub struct ImportedRow {
    /// "line 4", "row 12", "item 3".
    pub origin: String,
    /// The Key Vault name (as written, or with `_` turned into `-` for `.env`).
    pub name: String,
    /// The name in the file, when it differs from `name`.
    pub source_name: Option<String>,
    pub secret: Result<SecretDraft, String>,
}

impl std::fmt::Debug for ImportedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedRow")
            .field("origin", &self.origin)
            .field("name", &self.name)
            .field("source_name", &self.source_name)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A row's value with the attributes the file gave, without one: Key Vault's defaults.
fn of_value(value: &str) -> SecretDraft {
    SecretDraft {
        value: SecretString::from(value),
        content_type: None,
        tags: BTreeMap::new(),
        enabled: true,
        not_before: None,
        expires: None,
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Shape(String),
    #[error("not valid CSV: {0}")]
    Csv(String),
}

/// Reads `bytes` as `format`.
pub fn read_import(format: ImportFormat, bytes: &[u8]) -> Result<Vec<ImportedRow>, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ImportError::NotText)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        ImportFormat::DotEnv => Ok(read_dotenv(text)),
        ImportFormat::Json => read_json(text),
        ImportFormat::Csv => read_csv(text),
    }
}

/// `.env`: `NAME=value` or `export NAME=value`; `#` comments; values bare (trailing ` # comment` dropped),
/// in single quotes (literal) or double quotes (`\n`, `\t`, `\"`, `\\` escapes; may span lines).
fn read_dotenv(text: &str) -> Vec<ImportedRow> {
    let mut rows = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line_number = index + 1;
        let line = lines[index].trim_start();
        index += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let origin = format!("line {line_number}");
        let Some((key, rest)) = line.split_once('=') else {
            rows.push(ImportedRow {
                origin,
                name: line.trim().to_owned(),
                source_name: None,
                secret: Err("no '=' on this line (expected NAME=value)".into()),
            });
            continue;
        };
        let key = key.trim();
        let name = key.replace('_', "-");
        let source_name = (name != key).then(|| key.to_owned());
        let rest = rest.trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            // A double-quoted value may go on over the next lines until the closing quote.
            let mut raw = Zeroizing::new(quoted.to_owned());
            let closed = loop {
                if let Some(end) = closing_quote(&raw) {
                    raw.truncate(end);
                    break true;
                }
                if index >= lines.len() {
                    break false;
                }
                raw.push('\n');
                raw.push_str(lines[index]);
                index += 1;
            };
            if closed {
                Ok(unescape_double_quoted(&raw))
            } else {
                Err("the double quote opened here is never closed".to_owned())
            }
        } else if let Some(quoted) = rest.strip_prefix('\'') {
            match quoted.find('\'') {
                Some(end) => Ok(Zeroizing::new(quoted[..end].to_owned())),
                None => Err("the single quote opened here is never closed".to_owned()),
            }
        } else {
            let bare = match rest.find(" #") {
                Some(comment) => &rest[..comment],
                None => rest,
            };
            Ok(Zeroizing::new(bare.trim_end().to_owned()))
        };
        rows.push(ImportedRow {
            origin,
            name,
            source_name,
            secret: value.and_then(|value| {
                if value.is_empty() {
                    Err("the value is empty (Key Vault stores no empty secrets)".into())
                } else {
                    Ok(of_value(&value))
                }
            }),
        });
    }
    rows
}

/// Where an unescaped `"` closes a double-quoted value.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (at, character) in text.char_indices() {
        match character {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(at),
            _ => escaped = false,
        }
    }
    None
}

fn unescape_double_quoted(raw: &str) -> Zeroizing<String> {
    let mut value = Zeroizing::new(String::with_capacity(raw.len()));
    let mut characters = raw.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            value.push(character);
            continue;
        }
        match characters.next() {
            Some('n') => value.push('\n'),
            Some('t') => value.push('\t'),
            Some('r') => value.push('\r'),
            Some(other) => value.push(other),
            None => value.push('\\'),
        }
    }
    value
}

/// JSON: `{"name": "value", …}` or the export (`{"format": "vaultscope-export/1", "items": [...]}`), or a
/// bare array of export items.
fn read_json(text: &str) -> Result<Vec<ImportedRow>, ImportError> {
    let document: Zeroizing<String> = Zeroizing::new(text.to_owned());
    let value: Value =
        serde_json::from_str(&document).map_err(|error| ImportError::Json(error.to_string()))?;
    let items = match &value {
        Value::Object(map) if map.contains_key("items") => match map.get("items") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ImportError::Shape(
                    "\"items\" is not a list of secrets".into(),
                ));
            }
        },
        Value::Array(items) => items,
        Value::Object(map) => {
            return Ok(map
                .iter()
                .enumerate()
                .map(|(index, (name, value))| ImportedRow {
                    origin: format!("entry {}", index + 1),
                    name: name.clone(),
                    source_name: None,
                    secret: match value {
                        Value::String(text) if text.is_empty() => {
                            Err("the value is empty (Key Vault stores no empty secrets)".into())
                        }
                        Value::String(text) => Ok(of_value(text)),
                        _ => Err("the value is not a string".into()),
                    },
                })
                .collect());
        }
        _ => {
            return Err(ImportError::Shape(
                "expected an object of name -> value, or a Vaultscope export".into(),
            ));
        }
    };
    Ok(items
        .iter()
        .enumerate()
        .map(|(index, item)| json_item(index, item))
        .collect())
}

fn json_item(index: usize, item: &Value) -> ImportedRow {
    let origin = format!("item {}", index + 1);
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let text = |field: &str| item.get(field).and_then(Value::as_str);
    let secret = (|| {
        let value = match item.get("value") {
            Some(Value::String(value)) if !value.is_empty() => value,
            Some(Value::String(_)) => {
                return Err("the value is empty (Key Vault stores no empty secrets)".to_owned());
            }
            None => return Err("no value (exported without values?)".to_owned()),
            Some(_) => return Err("the value is not a string".to_owned()),
        };
        let tags = match item.get("tags") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(tags)) => tags
                .iter()
                .map(|(key, value)| match value {
                    Value::String(value) => Ok((key.clone(), value.clone())),
                    _ => Err(format!("tag {key} is not a string")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("tags is not an object".to_owned()),
        };
        Ok(SecretDraft {
            value: SecretString::from(value.as_str()),
            content_type: text("contentType").map(str::to_owned),
            tags,
            enabled: item.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            not_before: read_date(text("notBefore"), "notBefore")?,
            expires: read_date(text("expires"), "expires")?,
        })
    })();
    ImportedRow {
        origin,
        name,
        source_name: None,
        secret,
    }
}

fn read_date(text: Option<&str>, field: &str) -> Result<Option<i64>, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| format!("{field} '{text}' is not an RFC 3339 time")),
    }
}

/// CSV with a header row naming `name` and `value` (any order); `content_type`, `tags` (a JSON object),
/// `enabled`, `not_before` and `expires` are read when present.
fn read_csv(text: &str) -> Result<Vec<ImportedRow>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|error| ImportError::Csv(error.to_string()))?
        .clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|field| field.trim().eq_ignore_ascii_case(name))
    };
    let (Some(name_at), Some(value_at)) = (column("name"), column("value")) else {
        return Err(ImportError::Shape(
            "the first row must name the columns, with at least \"name\" and \"value\" (an export made with values has both)".into(),
        ));
    };
    let content_type_at = column("content_type");
    let tags_at = column("tags");
    let enabled_at = column("enabled");
    let not_before_at = column("not_before");
    let expires_at = column("expires");
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let origin = format!("row {}", index + 2);
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                rows.push(ImportedRow {
                    origin,
                    name: String::new(),
                    source_name: None,
                    secret: Err(format!("cannot be read: {error}")),
                });
                continue;
            }
        };
        let field = |at: Option<usize>| at.and_then(|at| record.get(at)).unwrap_or_default();
        let name = field(Some(name_at)).trim().to_owned();
        let secret = (|| {
            let value = field(Some(value_at));
            if value.is_empty() {
                return Err("the value is empty (Key Vault stores no empty secrets)".to_owned());
            }
            let tags_text = field(tags_at).trim();
            let tags = if tags_text.is_empty() {
                BTreeMap::new()
            } else {
                serde_json::from_str::<BTreeMap<String, String>>(tags_text)
                    .map_err(|_| "tags is not a JSON object of strings".to_owned())?
            };
            let enabled = match field(enabled_at).trim().to_ascii_lowercase().as_str() {
                "" | "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                other => return Err(format!("enabled '{other}' is not true or false")),
            };
            Ok(SecretDraft {
                value: SecretString::from(value),
                content_type: Some(field(content_type_at).trim())
                    .filter(|text| !text.is_empty())
                    .map(str::to_owned),
                tags,
                enabled,
                not_before: read_date(Some(field(not_before_at)), "not_before")?,
                expires: read_date(Some(field(expires_at)), "expires")?,
            })
        })();
        rows.push(ImportedRow {
            origin,
            name,
            source_name: None,
            secret,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn value(row: &ImportedRow) -> &str {
        row.secret.as_ref().expect("a secret").value.expose_secret()
    }

    #[test]
    fn dotenv_reads_quotes_comments_exports_and_renames_underscores() {
        let rows = read_import(
            ImportFormat::DotEnv,
            b"# comment\nDB_PASSWORD=s3cret # trailing\nexport API_KEY='a b#c'\nMULTI=\"line1\\nline2\"\nSPAN=\"one\ntwo\"\nbroken\nEMPTY=\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[0].name, "DB-PASSWORD");
        assert_eq!(rows[0].source_name.as_deref(), Some("DB_PASSWORD"));
        assert_eq!(value(&rows[0]), "s3cret");
        assert_eq!(value(&rows[1]), "a b#c");
        assert_eq!(value(&rows[2]), "line1\nline2");
        assert_eq!(value(&rows[3]), "one\ntwo");
        assert_eq!(rows[4].origin, "line 7");
        assert!(rows[4].secret.is_err());
        assert!(rows[5].secret.is_err(), "an empty value is refused");
    }

    #[test]
    fn json_reads_a_map_and_the_export_format() {
        let rows = read_import(ImportFormat::Json, br#"{"a": "1", "b": 2}"#).unwrap();
        assert_eq!(value(&rows[0]), "1");
        assert!(rows[1].secret.is_err());
        let rows = read_import(
            ImportFormat::Json,
            br#"{"format":"vaultscope-export/1","items":[{"name":"x","value":"v","tags":{"env":"dev"},"contentType":"text/plain","expires":"2027-06-30T18:00:00Z","enabled":false},{"name":"y"}]}"#,
        )
        .unwrap();
        let first = rows[0].secret.as_ref().unwrap();
        assert_eq!(first.tags.get("env").map(String::as_str), Some("dev"));
        assert_eq!(first.expires, Some(1_814_378_400));
        assert!(!first.enabled);
        assert_eq!(
            rows[1].secret.as_ref().err().map(String::as_str),
            Some("no value (exported without values?)")
        );
        assert!(matches!(
            read_import(ImportFormat::Json, b"[1,"),
            Err(ImportError::Json(_))
        ));
    }

    #[test]
    fn csv_needs_name_and_value_columns_and_reads_the_rest() {
        let rows = read_import(
            ImportFormat::Csv,
            b"value,name,tags,enabled\n\"a,b\",one,\"{\"\"k\"\":\"\"v\"\"}\",no\n,two,,\n",
        )
        .unwrap();
        assert_eq!(value(&rows[0]), "a,b");
        assert!(!rows[0].secret.as_ref().unwrap().enabled);
        assert_eq!(rows[1].origin, "row 3");
        assert!(rows[1].secret.is_err());
        assert!(matches!(
            read_import(ImportFormat::Csv, b"name,identifier\nx,y\n"),
            Err(ImportError::Shape(_))
        ));
        assert_eq!(
            read_import(ImportFormat::Csv, &[0xff, 0xfe]).err(),
            Some(ImportError::NotText)
        );
    }
}
