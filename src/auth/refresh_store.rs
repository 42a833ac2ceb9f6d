//! Refresh tokens in the OS keyring (the keyring 4 family: keyring-core with the platform store — Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows; keyring-core's mock store in tests),
//! one per (authority, tenant, client id), so the next launch signs in without a prompt.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use secrecy::{ExposeSecret, SecretString};

use super::AuthError;

/// The keyring service name of every Vaultscope entry.
pub const KEYRING_SERVICE: &str = "vaultscope";

/// Which sign-in a refresh token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefreshTokenKey {
    pub authority_host: String,
    pub tenant: String,
    pub client_id: String,
}

impl RefreshTokenKey {
    /// The keyring "user": `authority|tenant|client id`, readable in the OS's keyring manager.
    fn user(&self) -> String {
        format!(
            "{}|{}|{}",
            self.authority_host.trim_end_matches('/'),
            self.tenant.to_ascii_lowercase(),
            self.client_id.to_ascii_lowercase()
        )
    }
}

/// The platform's credential store (Secret Service, Keychain, Credential Manager), or why there is none.
pub fn platform_keyring() -> Result<Arc<CredentialStore>, AuthError> {
    #[cfg(target_os = "linux")]
    let store: Result<Arc<CredentialStore>, keyring_core::Error> =
        zbus_secret_service_keyring_store::Store::new().map(|store| store as Arc<CredentialStore>);
    #[cfg(target_os = "macos")]
    let store: Result<Arc<CredentialStore>, keyring_core::Error> =
        apple_native_keyring_store::keychain::Store::new()
            .map(|store| store as Arc<CredentialStore>);
    #[cfg(windows)]
    let store: Result<Arc<CredentialStore>, keyring_core::Error> =
        windows_native_keyring_store::Store::new().map(|store| store as Arc<CredentialStore>);
    store.map_err(|error| keyring_error("be opened", error))
}

/// Where refresh tokens are kept.
#[derive(Clone)]
pub struct RefreshTokenStore {
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for RefreshTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshTokenStore").finish_non_exhaustive()
    }
}

fn keyring_error(what: &str, error: keyring_core::Error) -> AuthError {
    AuthError::Credential(format!("the OS keyring could not {what}: {error}"))
}

impl RefreshTokenStore {
    pub fn new(store: Arc<CredentialStore>) -> Self {
        Self { store }
    }

    /// The platform's keyring, or why there is none (a headless Linux without a Secret Service, say).
    pub fn platform() -> Result<Self, AuthError> {
        platform_keyring().map(Self::new)
    }

    fn entry(&self, key: &RefreshTokenKey) -> Result<Entry, AuthError> {
        self.store
            .build(KEYRING_SERVICE, &key.user(), None)
            .map_err(|error| keyring_error("make an entry", error))
    }

    pub fn save(&self, key: &RefreshTokenKey, token: &SecretString) -> Result<(), AuthError> {
        self.entry(key)?
            .set_secret(token.expose_secret().as_bytes())
            .map_err(|error| keyring_error("store the sign-in", error))
    }

    /// The saved refresh token, if any.
    pub fn load(&self, key: &RefreshTokenKey) -> Result<Option<SecretString>, AuthError> {
        match self.entry(key)?.get_secret() {
            Ok(bytes) => {
                let bytes = zeroize::Zeroizing::new(bytes);
                let text = String::from_utf8_lossy(&bytes);
                Ok(Some(SecretString::from(text.as_ref())))
            }
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(error) => Err(keyring_error("read the saved sign-in", error)),
        }
    }

    /// Forgets the saved refresh token (sign-out); absent is fine.
    pub fn delete(&self, key: &RefreshTokenKey) -> Result<(), AuthError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(error) => Err(keyring_error("delete the saved sign-in", error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_delete_with_the_mock_store() {
        let store = RefreshTokenStore::new(keyring_core::mock::Store::new().expect("mock store"));
        let key = RefreshTokenKey {
            authority_host: "https://login.localhost:1/".into(),
            tenant: "T1".into(),
            client_id: "C1".into(),
        };
        assert!(store.load(&key).expect("load").is_none());
        store.save(&key, &SecretString::from("rt-1")).expect("save");
        let other = RefreshTokenKey {
            client_id: "c2".into(),
            ..key.clone()
        };
        assert!(store.load(&other).expect("load").is_none());
        assert_eq!(
            store
                .load(&key)
                .expect("load")
                .map(|t| t.expose_secret().to_owned()),
            Some("rt-1".to_owned())
        );
        store.delete(&key).expect("delete");
        store.delete(&key).expect("deleting twice is fine");
        assert!(store.load(&key).expect("load").is_none());
    }
}
