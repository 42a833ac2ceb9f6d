//! The index's key: 256 random bits, kept only in the OS keyring (keyring-core's mock store in tests), one
//! per data directory. Without a keyring there is no key, so no index is written.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use rand::RngCore as _;
use zeroize::Zeroizing;

use super::IndexError;
use crate::auth::refresh_store::KEYRING_SERVICE;

/// The key's length in bytes (AES-256).
pub const KEY_LEN: usize = 32;

/// The key; zeroized on drop, never printed.
pub struct IndexKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexKey(…)")
    }
}

impl IndexKey {
    /// A fresh random key.
    pub fn random() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    pub(super) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The keyring entry of the index under `scope` (the app id: the demo, an emulator and Azure each
    /// have their own data directory and key).
    fn entry(store: &Arc<CredentialStore>, scope: &str) -> Result<Entry, IndexError> {
        store
            .build(KEYRING_SERVICE, &format!("local-index-key|{scope}"), None)
            .map_err(|error| IndexError::Keyring("make an entry", error.to_string()))
    }

    /// The key kept in the keyring for `scope`, made and saved there on first use. A key that does not
    /// read back as 32 bytes is replaced (the old index then no longer opens and is set aside).
    pub fn from_keyring(store: &Arc<CredentialStore>, scope: &str) -> Result<Self, IndexError> {
        let entry = Self::entry(store, scope)?;
        match entry.get_secret() {
            Ok(secret) if secret.len() == KEY_LEN => {
                let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
                bytes.copy_from_slice(&secret);
                let mut secret = secret;
                zeroize::Zeroize::zeroize(&mut secret);
                return Ok(Self(bytes));
            }
            Ok(_) | Err(keyring_core::Error::NoEntry) => {}
            Err(error) => return Err(IndexError::Keyring("read the index key", error.to_string())),
        }
        let key = Self::random();
        entry
            .set_secret(key.bytes())
            .map_err(|error| IndexError::Keyring("save the index key", error.to_string()))?;
        Ok(key)
    }

    /// Deletes the key of `scope` from the keyring (an absent key is fine).
    pub fn delete_from_keyring(
        store: &Arc<CredentialStore>,
        scope: &str,
    ) -> Result<(), IndexError> {
        match Self::entry(store, scope)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(error) => Err(IndexError::Keyring(
                "delete the index key",
                error.to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_read_back_from_the_keyring() {
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().expect("mock store");
        let first = IndexKey::from_keyring(&store, "test").expect("made");
        let second = IndexKey::from_keyring(&store, "test").expect("read");
        assert_eq!(first.bytes(), second.bytes());
        let other = IndexKey::from_keyring(&store, "other").expect("made");
        assert_ne!(first.bytes(), other.bytes());
        assert_eq!(format!("{first:?}"), "IndexKey(…)");
        IndexKey::delete_from_keyring(&store, "test").expect("deleted");
        let third = IndexKey::from_keyring(&store, "test").expect("made again");
        assert_ne!(first.bytes(), third.bytes());
    }
}
