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

/// How long a keyring call may take before Vaultscope stops waiting for it: a locked keyring may show an
/// unlock prompt nobody answers. The call runs on a blocking thread, never a worker thread.
pub const KEYRING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether a session's refresh token may be written to the keyring: not before its sign-in succeeded
/// (a sign-in that fails half-way leaves nothing behind), never after sign-out (a task still running may
/// rotate the token then). One lock orders the saves and the sign-out's delete, so a save that started
/// before the sign-out cannot land after its delete; each rotation is numbered, so saves run on blocking
/// threads in any order and the keyring still ends with the newest token.
#[derive(Debug, Default)]
pub struct RememberGate {
    state: std::sync::Mutex<GateState>,
    /// Rotations numbered so far (`next_rotation`).
    rotations: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum GateState {
    /// Signing in: nothing is written yet.
    #[default]
    Pending,
    /// Signed in: each rotated token newer than `saved` (a rotation number) is written.
    Open { saved: u64 },
    /// Signed out: nothing is written again.
    Closed,
}

impl RememberGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Numbers a rotation, in the order the rotations happen (call it where the token rotates).
    pub fn next_rotation(&self) -> u64 {
        self.rotations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1
    }

    /// Saves `token`, the token of rotation number `rotation`, when the gate is open and nothing newer
    /// was saved.
    pub fn save(
        &self,
        store: &RefreshTokenStore,
        key: &RefreshTokenKey,
        token: &SecretString,
        rotation: u64,
    ) {
        let mut state = self.lock();
        let GateState::Open { saved } = *state else {
            tracing::debug!(state = ?*state, "refresh token not saved: the sign-in is not (or no longer) current");
            return;
        };
        if rotation <= saved {
            tracing::debug!(
                rotation,
                saved,
                "refresh token not saved: a newer one already is"
            );
            return;
        }
        match store.save(key, token) {
            Ok(()) => *state = GateState::Open { saved: rotation },
            Err(error) => tracing::warn!(%error, "the rotated refresh token was not saved"),
        }
    }

    /// The sign-in succeeded: saves the token `current` gives now and every later rotation. `false` when
    /// the keyring refused the first save (the sign-in is then not remembered).
    pub fn open(
        &self,
        store: &RefreshTokenStore,
        key: &RefreshTokenKey,
        current: impl FnOnce() -> SecretString,
    ) -> bool {
        // The number first, then the token: a rotation between the two is saved again, never lost.
        let rotation = self.rotations.load(std::sync::atomic::Ordering::SeqCst);
        let token = current();
        let mut state = self.lock();
        if *state == GateState::Closed {
            return false;
        }
        match store.save(key, &token) {
            Ok(()) => {
                *state = GateState::Open { saved: rotation };
                true
            }
            Err(error) => {
                tracing::warn!(%error, "the sign-in is not remembered");
                false
            }
        }
    }

    /// Sign-out: no save from now on; then deletes what was saved.
    pub fn close_and_delete(
        &self,
        store: &RefreshTokenStore,
        key: &RefreshTokenKey,
    ) -> Result<(), AuthError> {
        let mut state = self.lock();
        *state = GateState::Closed;
        store.delete(key)
    }

    /// Closes the gate without touching the keyring (a sign-in that failed).
    pub fn close(&self) {
        *self.lock() = GateState::Closed;
    }
}

/// Runs a keyring call on a blocking thread and waits at most [`KEYRING_TIMEOUT`] for it.
pub async fn off_thread<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    match tokio::time::timeout(KEYRING_TIMEOUT, tokio::task::spawn_blocking(call)).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(AuthError::Credential(
            "the keyring call stopped unexpectedly".to_owned(),
        )),
        Err(_) => Err(AuthError::Credential(format!(
            "the OS keyring did not answer within {} s (is it locked, waiting for a password?)",
            KEYRING_TIMEOUT.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_saved_out_of_order_leave_the_newest_and_nothing_after_sign_out() {
        let store = RefreshTokenStore::new(
            keyring_core::mock::Store::new().expect("mock store") as Arc<CredentialStore>
        );
        let key = RefreshTokenKey {
            authority_host: "https://login.example/".into(),
            tenant: "t".into(),
            client_id: "c".into(),
        };
        let read = || {
            store
                .load(&key)
                .expect("load")
                .map(|token| token.expose_secret().to_owned())
        };
        let gate = RememberGate::default();
        let early = gate.next_rotation();
        gate.save(&store, &key, &SecretString::from("before sign-in"), early);
        assert_eq!(read(), None, "nothing before the sign-in succeeded");
        assert!(gate.open(&store, &key, || SecretString::from("t0")));
        let (first, second) = (gate.next_rotation(), gate.next_rotation());
        gate.save(&store, &key, &SecretString::from("t2"), second);
        gate.save(&store, &key, &SecretString::from("t1"), first);
        assert_eq!(
            read().as_deref(),
            Some("t2"),
            "the older save landing last is skipped"
        );
        gate.close_and_delete(&store, &key).expect("delete");
        let third = gate.next_rotation();
        gate.save(&store, &key, &SecretString::from("t3"), third);
        assert_eq!(read(), None, "nothing after sign-out");
    }

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
