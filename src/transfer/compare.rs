//! Comparing two vaults' secrets, or two versions of one secret, by metadata (tags, content type, expiry,
//! enabled state) and by whether the values are equal — the values themselves are compared by fingerprint
//! in the worker and never reach these rows.

use std::collections::BTreeMap;

use crate::azure::models::ObjectItem;

use super::rfc3339;

/// Whether two values are equal, as far as could be learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueVerdict {
    Equal,
    Different,
    /// Not compared: why (a 403 on one side, a disabled version, only on one side).
    Unknown(String),
}

impl ValueVerdict {
    pub fn label(&self) -> String {
        match self {
            Self::Equal => "equal".into(),
            Self::Different => "different".into(),
            Self::Unknown(why) => format!("not compared: {why}"),
        }
    }
}

/// One name of a vault comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparedName {
    pub name: String,
    pub left: Option<ObjectItem>,
    pub right: Option<ObjectItem>,
    /// Lines like "tags: env=dev → env=prod".
    pub differences: Vec<String>,
    pub value: ValueVerdict,
}

impl ComparedName {
    /// Whether the row shows a difference of any kind.
    pub fn differs(&self) -> bool {
        self.left.is_none()
            || self.right.is_none()
            || !self.differences.is_empty()
            || self.value != ValueVerdict::Equal
    }

    /// "only in kv-dev", "only in kv-prod", "differs", "equal".
    pub fn status(&self, left_name: &str, right_name: &str) -> String {
        match (&self.left, &self.right) {
            (Some(_), None) => format!("only in {left_name}"),
            (None, Some(_)) => format!("only in {right_name}"),
            _ if self.differs() => "differs".into(),
            _ => "equal".into(),
        }
    }
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "(none)".into();
    }
    tags.iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn date_text(at: Option<i64>) -> String {
    at.map_or_else(|| "(none)".into(), rfc3339)
}

/// What differs between two rows' metadata: tags, content type, not-before, expiry, enabled.
pub fn attribute_differences(left: &ObjectItem, right: &ObjectItem) -> Vec<String> {
    let mut lines = Vec::new();
    if left.tags != right.tags {
        lines.push(format!(
            "tags: {} -> {}",
            tags_text(&left.tags),
            tags_text(&right.tags)
        ));
    }
    if left.content_type != right.content_type {
        let text =
            |content_type: &Option<String>| content_type.clone().unwrap_or_else(|| "(none)".into());
        lines.push(format!(
            "content type: {} -> {}",
            text(&left.content_type),
            text(&right.content_type)
        ));
    }
    if left.attributes.exp != right.attributes.exp {
        lines.push(format!(
            "expires: {} -> {}",
            date_text(left.attributes.exp),
            date_text(right.attributes.exp)
        ));
    }
    if left.attributes.nbf != right.attributes.nbf {
        lines.push(format!(
            "not before: {} -> {}",
            date_text(left.attributes.nbf),
            date_text(right.attributes.nbf)
        ));
    }
    if left.enabled() != right.enabled() {
        let text = |enabled: bool| if enabled { "enabled" } else { "disabled" };
        lines.push(format!(
            "{} -> {}",
            text(left.enabled()),
            text(right.enabled())
        ));
    }
    lines
}

/// Pairs two lists by name (case-insensitive, as Key Vault names are), sorted by name; values are filled
/// in by the caller (`Unknown` until then).
pub fn pair_by_name(left: &[ObjectItem], right: &[ObjectItem]) -> Vec<ComparedName> {
    let mut names: BTreeMap<String, (Option<&ObjectItem>, Option<&ObjectItem>)> = BTreeMap::new();
    for item in left {
        names.entry(item.name().to_ascii_lowercase()).or_default().0 = Some(item);
    }
    for item in right {
        names.entry(item.name().to_ascii_lowercase()).or_default().1 = Some(item);
    }
    names
        .into_values()
        .map(|(left, right)| {
            let name = left.or(right).map(ObjectItem::name).unwrap_or_default();
            let (differences, value) = match (left, right) {
                (Some(left), Some(right)) => (
                    attribute_differences(left, right),
                    ValueVerdict::Unknown("not read yet".into()),
                ),
                _ => (Vec::new(), ValueVerdict::Unknown("only on one side".into())),
            };
            ComparedName {
                name,
                left: left.cloned(),
                right: right.cloned(),
                differences,
                value,
            }
        })
        .collect()
}

/// The differences as CSV (name, status, what differs, values): never a value or a fingerprint.
pub fn differences_csv(rows: &[ComparedName], left_name: &str, right_name: &str) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(["name", "status", "differences", "values"]);
    for row in rows.iter().filter(|row| row.differs()) {
        let _ = writer.write_record([
            row.name.as_str(),
            &row.status(left_name, right_name),
            &row.differences.join("; "),
            &row.value.label(),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, tags: &[(&str, &str)], exp: Option<i64>) -> ObjectItem {
        let mut item = ObjectItem {
            id: Some(format!("https://kv.vault.azure.net/secrets/{name}")),
            ..ObjectItem::default()
        };
        item.tags = tags
            .iter()
            .map(|(key, value)| ((*key).into(), (*value).into()))
            .collect();
        item.attributes.exp = exp;
        item
    }

    #[test]
    fn pairs_by_name_and_names_each_difference() {
        let left = [
            item("a", &[("env", "dev")], None),
            item("only-left", &[], None),
        ];
        let right = [
            item("A", &[("env", "prod")], Some(1_814_378_400)),
            item("b", &[], None),
        ];
        let rows = pair_by_name(&left, &right);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].differences,
            vec![
                "tags: env=dev -> env=prod".to_owned(),
                "expires: (none) -> 2027-06-30T18:00:00Z".to_owned()
            ]
        );
        assert_eq!(rows[1].status("dev", "prod"), "only in prod");
        assert_eq!(rows[2].status("dev", "prod"), "only in dev");
        let csv = differences_csv(&rows, "dev", "prod");
        assert!(csv.starts_with("name,status,differences,values\n"));
        assert_eq!(csv.lines().count(), 4);
    }
}
