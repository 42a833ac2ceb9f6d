//! Key Vault object identifiers: parse any vault, secret, key or certificate URI and build the forms operators
//! copy (versionless, versioned, App Service reference, `az` command).

use url::Url;

use super::error::AzureError;

/// Key Vault's rule for secret, key and certificate names (`^[0-9a-zA-Z-]{1,127}$`, SPEC: the name pattern
/// on the set, create and import paths; names may start with a digit or '-'), checked before sending.
pub fn check_object_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("A name is needed: 1 to 127 characters, each 0-9, a-z, A-Z or '-'.".into());
    }
    if name.len() > 127 {
        return Err(format!(
            "The name is {} characters long; Key Vault allows at most 127.",
            name.chars().count()
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        Some(bad) => Err(format!(
            "'{}' is not allowed in a name: only 0-9, a-z, A-Z and '-' are.",
            bad.escape_debug()
        )),
        None => Ok(()),
    }
}

/// The kind of object a Key Vault URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Secret,
    Key,
    Certificate,
}

impl ObjectKind {
    /// The collection segment in the URL path.
    pub fn collection(self) -> &'static str {
        match self {
            Self::Secret => "secrets",
            Self::Key => "keys",
            Self::Certificate => "certificates",
        }
    }

    /// "secret", "key", "certificate".
    pub fn singular(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Key => "key",
            Self::Certificate => "certificate",
        }
    }

    /// "Secrets", "Keys", "Certificates".
    pub fn title(self) -> &'static str {
        match self {
            Self::Secret => "Secrets",
            Self::Key => "Keys",
            Self::Certificate => "Certificates",
        }
    }
}

/// A parsed vault URI, normalised to `https://host[:port]/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VaultUri(String);

impl VaultUri {
    /// Parses `https://name.vault.azure.net[/anything]` down to the vault root.
    pub fn parse(text: &str) -> Result<Self, AzureError> {
        let url = Url::parse(text.trim())
            .map_err(|error| AzureError::InvalidUri(format!("{text}: {error}")))?;
        Self::from_url(&url)
    }

    fn from_url(url: &Url) -> Result<Self, AzureError> {
        if url.scheme() != "https" {
            return Err(AzureError::InvalidUri(format!(
                "{url}: vault URIs use https"
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| AzureError::InvalidUri(format!("{url}: no host")))?
            .to_ascii_lowercase();
        Ok(Self(match url.port() {
            Some(port) => format!("https://{host}:{port}/"),
            None => format!("https://{host}/"),
        }))
    }

    /// `https://host[:port]/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The vault name (first DNS label).
    pub fn name(&self) -> &str {
        let host = self.0.trim_start_matches("https://");
        host.split(['.', ':', '/']).next().unwrap_or(host)
    }

    /// Builds `{vault}/{path}` with `api-version`.
    pub fn url(&self, path: &str, api_version: &str) -> Result<Url, AzureError> {
        let mut url = Url::parse(&self.0)
            .and_then(|base| base.join(path))
            .map_err(|error| AzureError::InvalidUri(format!("{}{path}: {error}", self.0)))?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        Ok(url)
    }
}

impl std::fmt::Display for VaultUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret, key or certificate, optionally at one version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectId {
    pub vault: VaultUri,
    pub kind: ObjectKind,
    pub name: String,
    pub version: Option<String>,
}

impl ObjectId {
    /// Parses `https://v.vault.azure.net/secrets/name[/version]` (also keys, certificates, and the
    /// `deletedsecrets` form, which yields the live object's id).
    pub fn parse(text: &str) -> Result<Self, AzureError> {
        let url = Url::parse(text.trim())
            .map_err(|error| AzureError::InvalidUri(format!("{text}: {error}")))?;
        let vault = VaultUri::from_url(&url)?;
        let segments: Vec<&str> = url
            .path_segments()
            .map(|segments| segments.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let (kind, name, version) = match segments.as_slice() {
            [collection, name, rest @ ..] if rest.len() <= 1 => {
                let kind = match collection.to_ascii_lowercase().as_str() {
                    "secrets" | "deletedsecrets" => ObjectKind::Secret,
                    "keys" | "deletedkeys" => ObjectKind::Key,
                    "certificates" | "deletedcertificates" => ObjectKind::Certificate,
                    other => {
                        return Err(AzureError::InvalidUri(format!(
                            "{text}: '{other}' is not secrets, keys or certificates"
                        )));
                    }
                };
                (
                    kind,
                    (*name).to_owned(),
                    rest.first().map(|v| (*v).to_owned()),
                )
            }
            _ => {
                return Err(AzureError::InvalidUri(format!(
                    "{text}: expected /secrets|keys|certificates/{{name}}[/{{version}}]"
                )));
            }
        };
        Ok(Self {
            vault,
            kind,
            name,
            version,
        })
    }

    /// `https://v.vault.azure.net/secrets/name`
    pub fn versionless(&self) -> String {
        format!("{}{}/{}", self.vault, self.kind.collection(), self.name)
    }

    /// `https://v.vault.azure.net/secrets/name/version`, or the versionless form when there is no version.
    pub fn versioned(&self) -> String {
        match &self.version {
            Some(version) => format!("{}/{version}", self.versionless()),
            None => self.versionless(),
        }
    }

    /// The App Service / Functions app-setting reference, `@Microsoft.KeyVault(SecretUri=…)`.
    pub fn app_service_reference(&self, pinned_version: bool) -> String {
        let uri = if pinned_version {
            self.versioned()
        } else {
            self.versionless()
        };
        format!("@Microsoft.KeyVault(SecretUri={uri})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_object_ids() {
        let id =
            ObjectId::parse("https://KV1.vault.azure.net/secrets/db-password/abc123").expect("id");
        assert_eq!(id.vault.as_str(), "https://kv1.vault.azure.net/");
        assert_eq!(id.vault.name(), "kv1");
        assert_eq!(id.kind, ObjectKind::Secret);
        assert_eq!(
            id.versionless(),
            "https://kv1.vault.azure.net/secrets/db-password"
        );
        assert_eq!(
            id.versioned(),
            "https://kv1.vault.azure.net/secrets/db-password/abc123"
        );
        assert_eq!(
            id.app_service_reference(false),
            "@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/db-password)"
        );
        let local = ObjectId::parse("https://demo.vault.localhost:8443/keys/k1/").expect("id");
        assert_eq!(local.kind, ObjectKind::Key);
        assert_eq!(local.version, None);
        assert_eq!(local.vault.as_str(), "https://demo.vault.localhost:8443/");
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "not a url",
            "http://kv1.vault.azure.net/secrets/x",
            "https://kv1.vault.azure.net/storage/x",
            "https://kv1.vault.azure.net/secrets/x/v/extra",
            "https://kv1.vault.azure.net/",
        ] {
            assert!(ObjectId::parse(bad).is_err(), "{bad}");
        }
    }
}
