//! App Service Key Vault references: `@Microsoft.KeyVault(SecretUri=…)` and
//! `@Microsoft.KeyVault(VaultName=…;SecretName=…[;SecretVersion=…])`, read case-insensitively as the
//! platform does (protocol reference, part 2 §5). No crate parses these; the grammar is two forms of
//! `key=value`, written here.

use url::Url;

/// Which of the two forms a reference is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceForm {
    SecretUri,
    VaultName,
}

/// The vault a reference names: by its host (`SecretUri`) or by its name (`VaultName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferencedVault {
    /// Lower-case host, e.g. `kv1.vault.azure.net`.
    Host(String),
    /// Lower-case vault name; the platform completes it with the cloud's vault suffix.
    Name(String),
}

/// One parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVaultReference {
    pub vault: ReferencedVault,
    pub secret_name: String,
    /// `None`: follows the latest version (refreshed about every 24 h); `Some`: pinned.
    pub version: Option<String>,
    pub form: ReferenceForm,
}

impl KeyVaultReference {
    /// Whether the reference points into the vault with this name and host (either may match, as the
    /// platform resolves a `VaultName` against the cloud's suffix).
    pub fn points_at(&self, vault_name: &str, vault_host: &str) -> bool {
        match &self.vault {
            ReferencedVault::Host(host) => host.eq_ignore_ascii_case(vault_host),
            ReferencedVault::Name(name) => name.eq_ignore_ascii_case(vault_name),
        }
    }
}

/// Why text that starts like a reference is not one the platform can resolve (`InvalidSyntax`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("the reference does not end with ')'")]
    Unclosed,
    #[error("SecretUri is not a Key Vault secret URI (https://<vault>/secrets/<name>[/<version>])")]
    BadSecretUri,
    #[error("the reference names no {0}")]
    Missing(&'static str),
}

const PREFIX: &str = "@microsoft.keyvault(";

/// `None` when `value` is not a Key Vault reference at all; otherwise the reference or why it is malformed.
pub fn parse_reference(value: &str) -> Option<Result<KeyVaultReference, ReferenceError>> {
    let trimmed = value.trim();
    let head = trimmed.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let rest = &trimmed[PREFIX.len()..];
    let Some(inner) = rest.strip_suffix(')') else {
        return Some(Err(ReferenceError::Unclosed));
    };
    Some(parse_inner(inner.trim()))
}

fn parse_inner(inner: &str) -> Result<KeyVaultReference, ReferenceError> {
    let mut secret_uri = None;
    let mut vault_name = None;
    let mut secret_name = None;
    let mut secret_version = None;
    // A SecretUri holds no ';' of its own, so both forms split the same way.
    for part in inner
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "secreturi" => secret_uri = Some(value),
            "vaultname" => vault_name = Some(value),
            "secretname" => secret_name = Some(value),
            "secretversion" => secret_version = Some(value),
            _ => {}
        }
    }
    if let Some(uri) = secret_uri {
        return parse_secret_uri(uri);
    }
    let vault = vault_name
        .filter(|name| !name.is_empty())
        .ok_or(ReferenceError::Missing("VaultName or SecretUri"))?;
    let secret = secret_name
        .filter(|name| !name.is_empty())
        .ok_or(ReferenceError::Missing("SecretName"))?;
    Ok(KeyVaultReference {
        vault: ReferencedVault::Name(vault.to_ascii_lowercase()),
        secret_name: secret.to_owned(),
        version: secret_version
            .filter(|version| !version.is_empty())
            .map(str::to_owned),
        form: ReferenceForm::VaultName,
    })
}

fn parse_secret_uri(uri: &str) -> Result<KeyVaultReference, ReferenceError> {
    let url = Url::parse(uri).map_err(|_| ReferenceError::BadSecretUri)?;
    if url.scheme() != "https" {
        return Err(ReferenceError::BadSecretUri);
    }
    let host = url.host_str().ok_or(ReferenceError::BadSecretUri)?;
    let segments: Vec<&str> = url
        .path_segments()
        .ok_or(ReferenceError::BadSecretUri)?
        .filter(|segment| !segment.is_empty())
        .collect();
    let (name, version) = match segments.as_slice() {
        [collection, name] if collection.eq_ignore_ascii_case("secrets") => (*name, None),
        [collection, name, version] if collection.eq_ignore_ascii_case("secrets") => {
            (*name, Some((*version).to_owned()))
        }
        _ => return Err(ReferenceError::BadSecretUri),
    };
    Ok(KeyVaultReference {
        vault: ReferencedVault::Host(host.to_ascii_lowercase()),
        secret_name: name.to_owned(),
        version,
        form: ReferenceForm::SecretUri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_case_insensitively_with_and_without_a_version() {
        let uri = parse_reference(
            "@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/db-pwd/)",
        )
        .and_then(Result::ok)
        .map(|reference| (reference.vault, reference.secret_name, reference.version));
        assert_eq!(
            uri,
            Some((
                ReferencedVault::Host("kv1.vault.azure.net".into()),
                "db-pwd".into(),
                None
            ))
        );
        let pinned = parse_reference(
            " @microsoft.keyvault(secreturi=https://KV1.vault.azure.net/secrets/db-pwd/ec96f02080254f109c51a1f14cdb1931) ",
        )
        .and_then(Result::ok);
        assert_eq!(
            pinned.and_then(|reference| reference.version),
            Some("ec96f02080254f109c51a1f14cdb1931".into())
        );
        let named = parse_reference(
            "@Microsoft.KeyVault(VaultName=KV1; SecretName=conn ;SecretVersion=abc)",
        )
        .and_then(Result::ok);
        assert_eq!(
            named,
            Some(KeyVaultReference {
                vault: ReferencedVault::Name("kv1".into()),
                secret_name: "conn".into(),
                version: Some("abc".into()),
                form: ReferenceForm::VaultName,
            })
        );
        assert!(
            named
                .as_ref()
                .is_some_and(|reference| reference.points_at("kv1", "kv1.vault.azure.net"))
        );
    }

    #[test]
    fn plain_values_are_not_references_and_broken_ones_say_why() {
        assert_eq!(parse_reference("Server=tcp:db;Password=x"), None);
        assert_eq!(parse_reference(""), None);
        assert_eq!(parse_reference("@Microsoft.KeyV"), None);
        assert_eq!(
            parse_reference("@Microsoft.KeyVault(VaultName=kv1;SecretName=a"),
            Some(Err(ReferenceError::Unclosed))
        );
        assert_eq!(
            parse_reference("@Microsoft.KeyVault(VaultName=kv1)"),
            Some(Err(ReferenceError::Missing("SecretName")))
        );
        assert_eq!(
            parse_reference("@Microsoft.KeyVault(SecretUri=http://kv1.vault.azure.net/secrets/a)"),
            Some(Err(ReferenceError::BadSecretUri))
        );
        assert_eq!(
            parse_reference("@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/keys/a)"),
            Some(Err(ReferenceError::BadSecretUri))
        );
    }
}
