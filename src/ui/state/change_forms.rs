//! The forms of the change dialogs (a secret or a new version of one, a version's attributes, a key, a
//! self-signed certificate) and how each becomes exactly one `Change`, checked the way Key Vault checks it
//! before anything is sent. Pure: the panel edits copies of these and hands them back as intents.

use std::collections::BTreeMap;

use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri, check_object_name};
use crate::azure::keyvault_writes::{
    CertificateDraft, EcCurve, KEY_OPERATIONS, KeyDraft, KeyShape, LifetimeAction, VersionUpdate,
};
use crate::azure::models::ObjectItem;
use crate::ui::format::{date_input, parse_date_input};

use super::secret_input::Generator;

/// Reads `key=value` lines (or `;`-separated pairs) into tags; Key Vault allows 15 tags, names up to 512
/// and values up to 256 characters.
pub fn parse_tags(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut tags = BTreeMap::new();
    for pair in text
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
    {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!(
                "Tag '{pair}' has no '=': write one key=value per line."
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(format!("Tag '{pair}' has no name."));
        }
        if key.chars().count() > 512 || value.chars().count() > 256 {
            return Err(format!(
                "Tag '{key}' is too long: names up to 512 and values up to 256 characters."
            ));
        }
        tags.insert(key.to_owned(), value.to_owned());
    }
    if tags.len() > 15 {
        return Err(format!(
            "{} tags: Key Vault allows at most 15 per object.",
            tags.len()
        ));
    }
    Ok(tags)
}

/// Tags as the forms show them, one `key=value` per line.
pub fn tags_text(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn dates(not_before: &str, expires: &str) -> Result<(Option<i64>, Option<i64>), String> {
    let not_before = parse_date_input(not_before).map_err(|e| format!("Not before: {e}"))?;
    let expires = parse_date_input(expires).map_err(|e| format!("Expires: {e}"))?;
    if let (Some(from), Some(until)) = (not_before, expires)
        && until <= from
    {
        return Err("Expires must come after not before.".into());
    }
    Ok((not_before, expires))
}

/// A new secret, or a new version of `existing`. The value itself is in `ChangesState::value`.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretForm {
    pub vault: VaultUri,
    /// `Some(name)`: a new version of that secret (the name is fixed).
    pub existing: Option<String>,
    pub name: String,
    pub content_type: String,
    pub tags: String,
    pub enabled: bool,
    pub not_before: String,
    pub expires: String,
    pub generator: Generator,
    /// Show the value while typing (masked otherwise).
    pub show_value: bool,
}

impl SecretForm {
    pub fn new(vault: VaultUri) -> Self {
        Self {
            vault,
            existing: None,
            name: String::new(),
            content_type: String::new(),
            tags: String::new(),
            enabled: true,
            not_before: String::new(),
            expires: String::new(),
            generator: Generator::default(),
            show_value: false,
        }
    }

    /// A new version of `item`, starting from its content type and tags.
    pub fn new_version(vault: VaultUri, item: &ObjectItem) -> Self {
        let name = item.name();
        Self {
            existing: Some(name.clone()),
            name,
            content_type: item.content_type.clone().unwrap_or_default(),
            tags: tags_text(&item.tags),
            ..Self::new(vault)
        }
    }

    /// The name's problem, shown as the person types.
    pub fn name_problem(&self) -> Option<String> {
        check_object_name(self.name.trim()).err()
    }

    /// What the draft will hold (everything but the value), or the first problem.
    pub fn checked(&self) -> Result<CheckedSecret, String> {
        check_object_name(self.name.trim())?;
        let tags = parse_tags(&self.tags)?;
        let (not_before, expires) = dates(&self.not_before, &self.expires)?;
        Ok(CheckedSecret {
            name: self.name.trim().to_owned(),
            content_type: Some(self.content_type.trim().to_owned()).filter(|c| !c.is_empty()),
            tags,
            not_before,
            expires,
        })
    }
}

/// A secret form that passed its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSecret {
    pub name: String,
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
}

/// A version's attributes, tags and (secrets) content type, as the person edits them.
#[derive(Debug, Clone, PartialEq)]
pub struct EditForm {
    /// Versioned.
    pub id: ObjectId,
    pub enabled: bool,
    pub not_before: String,
    pub expires: String,
    pub content_type: String,
    pub tags: String,
    /// What the version held when the form opened, to send only what changed.
    pub original: ObjectItem,
}

impl EditForm {
    pub fn of(id: ObjectId, item: &ObjectItem) -> Self {
        Self {
            id,
            enabled: item.enabled(),
            not_before: date_input(item.attributes.nbf),
            expires: date_input(item.attributes.exp),
            content_type: item.content_type.clone().unwrap_or_default(),
            tags: tags_text(&item.tags),
            original: item.clone(),
        }
    }

    /// The PATCH, carrying only what differs from the version as it was; `Ok(None)` when nothing does.
    pub fn update(&self) -> Result<Option<VersionUpdate>, String> {
        let (not_before, expires) = dates(&self.not_before, &self.expires)?;
        let tags = parse_tags(&self.tags)?;
        let original = &self.original;
        // Dates typed to the minute: an unchanged field keeps the original's exact seconds.
        let same_minute = |typed: Option<i64>, had: Option<i64>| match (typed, had) {
            (Some(typed), Some(had)) => typed == had - had.rem_euclid(60),
            (typed, had) => typed == had,
        };
        let update = VersionUpdate {
            enabled: (self.enabled != original.enabled()).then_some(self.enabled),
            not_before: (!same_minute(not_before, original.attributes.nbf)).then_some(not_before),
            expires: (!same_minute(expires, original.attributes.exp)).then_some(expires),
            content_type: (self.id.kind == ObjectKind::Secret
                && self.content_type.trim() != original.content_type.as_deref().unwrap_or(""))
            .then(|| self.content_type.trim().to_owned()),
            tags: (tags != original.tags).then_some(tags),
        };
        Ok((update != VersionUpdate::default()).then_some(update))
    }
}

/// The key types offered, in the form's order.
pub fn key_shapes() -> Vec<KeyShape> {
    KeyShape::RSA_SIZES
        .iter()
        .map(|size| KeyShape::Rsa(*size))
        .chain(EcCurve::ALL.iter().map(|curve| KeyShape::Ec(*curve)))
        .collect()
}

/// A new key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyForm {
    pub vault: VaultUri,
    pub name: String,
    pub shape: KeyShape,
    /// Per [`KEY_OPERATIONS`].
    pub operations: [bool; 6],
    pub enabled: bool,
    pub not_before: String,
    pub expires: String,
    pub tags: String,
}

impl KeyForm {
    pub fn new(vault: VaultUri) -> Self {
        Self {
            vault,
            name: String::new(),
            shape: KeyShape::Rsa(2048),
            operations: [true; 6],
            enabled: true,
            not_before: String::new(),
            expires: String::new(),
            tags: String::new(),
        }
    }

    /// The operations the key type allows (EC keys sign and verify only).
    pub fn allowed(&self, index: usize) -> bool {
        match self.shape {
            KeyShape::Rsa(_) => true,
            KeyShape::Ec(_) => matches!(KEY_OPERATIONS[index], "sign" | "verify"),
        }
    }

    pub fn draft(&self) -> Result<(String, KeyDraft), String> {
        let name = self.name.trim();
        check_object_name(name)?;
        let operations: Vec<String> = KEY_OPERATIONS
            .iter()
            .enumerate()
            .filter(|(index, _)| self.operations[*index] && self.allowed(*index))
            .map(|(_, operation)| (*operation).to_owned())
            .collect();
        if operations.is_empty() {
            return Err("Pick at least one operation the key allows.".into());
        }
        let (not_before, expires) = dates(&self.not_before, &self.expires)?;
        Ok((
            name.to_owned(),
            KeyDraft {
                shape: self.shape,
                operations,
                enabled: self.enabled,
                not_before,
                expires,
                tags: parse_tags(&self.tags)?,
            },
        ))
    }
}

/// Certificate content types Key Vault stores.
pub const CERTIFICATE_CONTENT_TYPES: [&str; 2] = ["application/x-pkcs12", "application/x-pem-file"];

/// A new self-signed certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateForm {
    pub vault: VaultUri,
    pub name: String,
    pub subject: String,
    /// DNS names, separated by commas, spaces or lines.
    pub dns_names: String,
    pub validity_months: String,
    pub key: KeyShape,
    pub exportable: bool,
    pub content_type: String,
    pub auto_renew: bool,
    pub lifetime_percentage: String,
    pub enabled: bool,
    pub tags: String,
}

impl CertificateForm {
    pub fn new(vault: VaultUri) -> Self {
        Self {
            vault,
            name: String::new(),
            subject: "CN=".into(),
            dns_names: String::new(),
            validity_months: "12".into(),
            key: KeyShape::Rsa(2048),
            exportable: true,
            content_type: CERTIFICATE_CONTENT_TYPES[0].into(),
            auto_renew: true,
            lifetime_percentage: "80".into(),
            enabled: true,
            tags: String::new(),
        }
    }

    pub fn draft(&self) -> Result<(String, CertificateDraft), String> {
        let name = self.name.trim();
        check_object_name(name)?;
        let subject = self.subject.trim();
        if !subject.to_ascii_uppercase().starts_with("CN=") || subject.len() < 4 {
            return Err(
                "The subject is a distinguished name starting with CN= (CN=api.contoso.com)."
                    .into(),
            );
        }
        let dns_names: Vec<String> = self
            .dns_names
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = dns_names.iter().find(|name| {
            !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*'))
        }) {
            return Err(format!("'{bad}' is not a DNS name."));
        }
        let validity_months = self
            .validity_months
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|months| (1..=120).contains(months))
            .ok_or("Validity is a whole number of months, 1 to 120.")?;
        let percentage = self
            .lifetime_percentage
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|percentage| (1..=99).contains(percentage))
            .ok_or("The lifetime action runs at 1 to 99 % of the validity.")?;
        Ok((
            name.to_owned(),
            CertificateDraft {
                subject: subject.to_owned(),
                dns_names,
                validity_months,
                key: self.key,
                exportable: self.exportable,
                content_type: self.content_type.clone(),
                lifetime_action: if self.auto_renew {
                    LifetimeAction::AutoRenew { percentage }
                } else {
                    LifetimeAction::EmailContacts { percentage }
                },
                enabled: self.enabled,
                tags: parse_tags(&self.tags)?,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> VaultUri {
        VaultUri::parse("https://kv1.vault.azure.net").expect("vault")
    }

    #[test]
    fn tags_are_read_one_pair_per_line_and_checked() {
        let tags = parse_tags("env=prod\n owner = payments ;team=a").expect("tags");
        assert_eq!(tags.len(), 3);
        assert_eq!(tags["owner"], "payments");
        assert!(parse_tags("no-equals").is_err());
        assert!(parse_tags("=value").is_err());
        let sixteen: String = (0..16).map(|i| format!("t{i}=v\n")).collect();
        assert!(parse_tags(&sixteen).is_err());
        assert_eq!(parse_tags(&tags_text(&tags)).expect("round trip"), tags);
    }

    #[test]
    fn a_secret_form_is_checked_as_key_vault_checks_names() {
        let mut form = SecretForm::new(vault());
        form.name = "db_password".into();
        assert!(form.name_problem().expect("problem").contains('_'));
        form.name = "db-password".into();
        form.expires = "2020-01-01".into();
        form.not_before = "2021-01-01".into();
        assert!(form.checked().is_err(), "expiry before not-before");
        form.not_before.clear();
        let checked = form.checked().expect("valid");
        assert_eq!(checked.name, "db-password");
        assert_eq!(checked.content_type, None);
    }

    #[test]
    fn an_edit_sends_only_what_changed() {
        let item = ObjectItem {
            id: Some("https://kv1.vault.azure.net/secrets/s/abc".into()),
            attributes: crate::azure::models::ObjectAttributes {
                enabled: Some(true),
                exp: Some(1_900_000_042),
                ..Default::default()
            },
            tags: BTreeMap::from([("a".into(), "1".into())]),
            ..ObjectItem::default()
        };
        let id = item.object_id().expect("id");
        let mut form = EditForm::of(id, &item);
        assert_eq!(
            form.update(),
            Ok(None),
            "unchanged, though the date shows minutes only"
        );
        form.enabled = false;
        form.tags = "a=2".into();
        let update = form.update().expect("valid").expect("changes");
        assert_eq!(update.enabled, Some(false));
        assert_eq!(update.expires, None);
        assert_eq!(update.tags.expect("tags")["a"], "2");
        form.expires.clear();
        assert_eq!(
            form.update().expect("valid").expect("changes").expires,
            Some(None)
        );
    }

    #[test]
    fn key_and_certificate_forms_become_drafts() {
        let mut key = KeyForm::new(vault());
        key.name = "signing".into();
        key.shape = KeyShape::Ec(EcCurve::P521);
        let (_, draft) = key.draft().expect("draft");
        assert_eq!(
            draft.operations,
            vec!["sign", "verify"],
            "EC keys only sign"
        );
        let mut certificate = CertificateForm::new(vault());
        certificate.name = "tls".into();
        assert!(certificate.draft().is_err(), "CN= alone is no subject");
        certificate.subject = "CN=api.contoso.com".into();
        certificate.dns_names = "api.contoso.com, www.contoso.com".into();
        let (_, draft) = certificate.draft().expect("draft");
        assert_eq!(draft.dns_names.len(), 2);
        certificate.validity_months = "0".into();
        assert!(certificate.draft().is_err());
    }
}
