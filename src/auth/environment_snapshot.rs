//! The environment variables the credential sources read, taken once by `main` (tests build their own):
//! sources never read the process environment directly. Secret values are `SecretString`s and `Debug`
//! shows names only.

use std::collections::BTreeMap;

use secrecy::SecretString;

/// Variables whose values are secrets (never shown, logged or persisted).
const SECRET_VARIABLES: [&str; 5] = [
    "AZURE_CLIENT_SECRET",
    "IDENTITY_HEADER",
    "MSI_SECRET",
    "AzureServicesAuthConnectionString",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
];

/// The variables the credential sources read, taken once.
#[derive(Clone, Default)]
pub struct EnvironmentSnapshot {
    plain: BTreeMap<String, String>,
    secret: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for EnvironmentSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&String> = self.plain.keys().chain(self.secret.keys()).collect();
        f.debug_struct("EnvironmentSnapshot")
            .field("names", &names)
            .finish()
    }
}

/// Every variable any source reads.
const RELEVANT: [&str; 13] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AzureServicesAuthConnectionString",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_CERTIFICATE_PATH",
];

impl EnvironmentSnapshot {
    /// The relevant variables of this process.
    pub fn from_process() -> Self {
        Self::from_pairs(RELEVANT.iter().filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| (name.to_string(), value))
        }))
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut snapshot = Self::default();
        for (name, value) in pairs {
            if value.is_empty() {
                continue;
            }
            if SECRET_VARIABLES.contains(&name.as_str()) {
                snapshot.secret.insert(name, SecretString::from(value));
            } else {
                snapshot.plain.insert(name, value);
            }
        }
        snapshot
    }

    /// This snapshot with `pairs` set over it (a variable in `pairs` replaces this one's); empty values
    /// are dropped, as at start.
    pub fn overlaid_with(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let overlay = Self::from_pairs(pairs);
        for name in overlay.plain.keys().chain(overlay.secret.keys()) {
            self.plain.remove(name);
            self.secret.remove(name);
        }
        self.plain.extend(overlay.plain);
        self.secret.extend(overlay.secret);
        self
    }

    pub fn plain(&self, name: &str) -> Option<String> {
        self.plain.get(name).cloned()
    }

    pub fn secret(&self, name: &str) -> Option<SecretString> {
        self.secret.get(name).cloned()
    }

    pub fn has(&self, name: &str) -> bool {
        self.plain.contains_key(name) || self.secret.contains_key(name)
    }
}
