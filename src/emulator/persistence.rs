//! `--state-dir DIR`: the emulator keeps its CA, its token signing key and everything written to the
//! cloud (vaults with their secrets, keys, certificates and access policies, deleted vaults, role
//! assignments, refresh tokens, backup blobs) in a directory, so a restart with the same directory serves
//! the same certificates, accepts every token it issued and shows every write. Without it everything
//! stays in memory, as Azurite does without `--location` (or with `--inMemoryPersistence`).
//!
//! The directory (users, groups, service principals, role definitions) comes from the seed at every start;
//! the saved cloud replaces the seed's written parts. Files: `ca.pem` (public, for clients), `tls.json`
//! and `signing-key.der` (private, owner-only), `cloud.json` (owner-only; it holds secret values, as
//! Azurite's data files do). Each is written to a temporary file and renamed over the old one, so a crash
//! leaves the previous state, never a torn one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::Shared;
use super::state::{
    Backup, CloudState, DeletedVaultState, RefreshGrant, RoleAssignmentState, VaultState,
};
use super::tls::{EmulatorTls, TlsMaterial, make_tls, make_tls_material};
use super::token::TokenSigner;

/// The saved cloud's format; a directory written by another format is refused, not misread.
const FORMAT: u32 = 1;

/// The state directory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("cannot use the state directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the state file {path} cannot be read ({detail}); move it away to start afresh")]
    Corrupt { path: PathBuf, detail: String },
    #[error(transparent)]
    Tls(#[from] super::tls::TlsSetupError),
    #[error(transparent)]
    SigningKey(#[from] super::token::SigningKeyError),
}

/// The written parts of the cloud, borrowed for saving.
#[derive(Serialize)]
struct SavedCloudRef<'a> {
    format: u32,
    vaults: &'a BTreeMap<String, VaultState>,
    deleted_vaults: &'a Vec<DeletedVaultState>,
    role_assignments: &'a Vec<RoleAssignmentState>,
    refresh_tokens: &'a HashMap<String, RefreshGrant>,
    backups: &'a HashMap<String, Backup>,
    tokens_issued: u64,
}

/// The written parts of the cloud, read back.
#[derive(Deserialize)]
struct SavedCloud {
    format: u32,
    vaults: BTreeMap<String, VaultState>,
    deleted_vaults: Vec<DeletedVaultState>,
    role_assignments: Vec<RoleAssignmentState>,
    refresh_tokens: HashMap<String, RefreshGrant>,
    backups: HashMap<String, Backup>,
    tokens_issued: u64,
}

/// An open state directory.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    /// One save at a time, each of the state as it is when it runs: a slower older save can never
    /// land over a newer one.
    saving: Mutex<()>,
}

impl StateDir {
    /// Opens (creating, owner-only) the directory.
    pub fn open(path: &Path) -> Result<Self, PersistenceError> {
        let io = |source| PersistenceError::Io {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        Ok(Self {
            path: path.to_owned(),
            saving: Mutex::new(()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, PersistenceError> {
        let path = self.file(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PersistenceError::Io { path, source }),
        }
    }

    /// Writes `bytes` to `name` through a temporary file and a rename, owner-only.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), PersistenceError> {
        use std::io::Write as _;
        let path = self.file(name);
        let io = |source| PersistenceError::Io {
            path: path.clone(),
            source,
        };
        let mut temporary = tempfile::NamedTempFile::new_in(&self.path).map_err(io)?;
        temporary.write_all(bytes).map_err(io)?;
        temporary.as_file().sync_all().map_err(io)?;
        temporary.persist(&path).map_err(|error| io(error.error))?;
        Ok(())
    }

    /// The saved CA and server certificate, or new ones (saved).
    pub fn tls_material(&self) -> Result<TlsMaterial, PersistenceError> {
        if let Some(bytes) = self.read("tls.json")? {
            return serde_json::from_slice(&bytes).map_err(|error| PersistenceError::Corrupt {
                path: self.file("tls.json"),
                detail: error.to_string(),
            });
        }
        let material = make_tls_material()?;
        let bytes = serde_json::to_vec(&material).map_err(|error| PersistenceError::Corrupt {
            path: self.file("tls.json"),
            detail: error.to_string(),
        })?;
        self.write("tls.json", &bytes)?;
        Ok(material)
    }

    /// The saved token signing key, or a new one (saved).
    pub fn signing_key(&self) -> Result<TokenSigner, PersistenceError> {
        if let Some(der) = self.read("signing-key.der")? {
            return TokenSigner::from_pkcs8(&der).map_err(|error| PersistenceError::Corrupt {
                path: self.file("signing-key.der"),
                detail: error.to_string(),
            });
        }
        let signer = TokenSigner::new_random()?;
        self.write("signing-key.der", &signer.to_pkcs8()?)?;
        Ok(signer)
    }

    /// Replaces the written parts of `cloud` with the saved ones, if any were saved; returns how many
    /// tokens had been issued (so new ones keep counting, and a revocation "through N" keeps its meaning).
    pub fn restore(&self, cloud: &mut CloudState) -> Result<Option<u64>, PersistenceError> {
        let Some(bytes) = self.read("cloud.json")? else {
            return Ok(None);
        };
        let corrupt = |detail: String| PersistenceError::Corrupt {
            path: self.file("cloud.json"),
            detail,
        };
        let saved: SavedCloud =
            serde_json::from_slice(&bytes).map_err(|error| corrupt(error.to_string()))?;
        if saved.format != FORMAT {
            return Err(corrupt(format!(
                "format {} where this version writes {FORMAT}",
                saved.format
            )));
        }
        cloud.vaults = saved.vaults;
        cloud.deleted_vaults = saved.deleted_vaults;
        cloud.role_assignments = saved.role_assignments;
        cloud.refresh_tokens = saved.refresh_tokens;
        cloud.backups = saved.backups;
        cloud.refresh_reference_statuses();
        Ok(Some(saved.tokens_issued))
    }

    /// Saves the written parts of `cloud` (read under `lock_cloud`, which the caller passes so the
    /// snapshot is taken inside the one-save-at-a-time section).
    pub fn save<'a>(
        &self,
        lock_cloud: impl FnOnce() -> std::sync::RwLockReadGuard<'a, CloudState>,
        tokens_issued: impl FnOnce() -> u64,
    ) -> Result<(), PersistenceError> {
        let _one_at_a_time = self
            .saving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bytes = {
            let cloud = lock_cloud();
            serde_json::to_vec(&SavedCloudRef {
                format: FORMAT,
                vaults: &cloud.vaults,
                deleted_vaults: &cloud.deleted_vaults,
                role_assignments: &cloud.role_assignments,
                refresh_tokens: &cloud.refresh_tokens,
                backups: &cloud.backups,
                tokens_issued: tokens_issued(),
            })
            .map_err(|error| PersistenceError::Corrupt {
                path: self.file("cloud.json"),
                detail: error.to_string(),
            })?
        };
        self.write("cloud.json", &bytes)
    }
}

/// The state directory (when asked for), and the TLS and signing key read from it or made anew.
pub(super) fn open(
    path: Option<&Path>,
) -> Result<(Option<StateDir>, EmulatorTls, TokenSigner), PersistenceError> {
    match path {
        Some(path) => {
            let state = StateDir::open(path)?;
            let tls = make_tls(state.tls_material()?)?;
            let signer = state.signing_key()?;
            Ok((Some(state), tls, signer))
        }
        None => Ok((
            None,
            make_tls(make_tls_material()?)?,
            TokenSigner::new_random()?,
        )),
    }
}

/// Saves the written parts of the cloud now, if there is a state directory.
pub(super) fn save_now(shared: &Shared) -> Result<(), PersistenceError> {
    match &shared.state_dir {
        Some(state) => state.save(
            || shared.read(),
            || {
                shared
                    .tokens_issued
                    .load(std::sync::atomic::Ordering::SeqCst)
            },
        ),
        None => Ok(()),
    }
}

/// [`save_now`] off the async workers, after a successful write.
pub(super) async fn save_after_write(shared: std::sync::Arc<Shared>) -> Result<(), String> {
    tokio::task::spawn_blocking(move || save_now(&shared).map_err(|error| error.to_string()))
        .await
        .map_err(|error| error.to_string())?
}
