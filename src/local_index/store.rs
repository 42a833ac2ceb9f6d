//! Where the index lives: `<data dir>/index/<identity>/manifest.vsi` and one `vault-<id>.vsi` per vault,
//! the directory names being hashes (no name or id in a path), written atomically (a temporary file,
//! owner-only before its first byte, then a rename) in an owner-only directory. A file that does not open
//! is renamed aside with a sentence saying so, never read again and never a crash.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::IndexError;
use super::key::IndexKey;
use super::model::{IndexIdentity, IndexManifest, IndexedVault, LoadedIndex};
use super::sealed::{self, FileKind};

const MANIFEST: &str = "manifest.vsi";
const VAULT_PREFIX: &str = "vault-";
const SUFFIX: &str = ".vsi";
/// Which identity of a cloud signed in last (the directory name only: a hash).
const LAST_PREFIX: &str = "last-";

/// The index directory and its key.
#[derive(Clone)]
pub struct IndexStore {
    root: PathBuf,
    key: Arc<IndexKey>,
}

impl std::fmt::Debug for IndexStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexStore")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

fn hex_digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn io_error(path: &Path, what: &'static str, error: std::io::Error) -> IndexError {
    IndexError::Io {
        path: path.display().to_string(),
        what,
        reason: error.to_string(),
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Creates `dir` (and its parents) readable by the owner only.
fn create_private_dir(dir: &Path) -> Result<(), IndexError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|error| io_error(dir, "created", error))
}

/// Writes `bytes` to `path` through a temporary file made owner-only before its first byte.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    use std::io::Write as _;
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = options
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    result.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        io_error(path, "written", error)
    })
}

impl IndexStore {
    /// The index under `root` (created on first write), sealed with `key`.
    pub fn new(root: PathBuf, key: IndexKey) -> Self {
        Self {
            root,
            key: Arc::new(key),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory name of `identity`: a hash of cloud, tenant and object id.
    pub fn identity_dir_name(identity: &IndexIdentity) -> String {
        hex_digest(&[
            &identity.cloud,
            &identity.tenant_id.to_ascii_lowercase(),
            &identity.object_id.to_ascii_lowercase(),
        ])
    }

    fn identity_dir(&self, identity: &IndexIdentity) -> PathBuf {
        self.root.join(Self::identity_dir_name(identity))
    }

    fn vault_file_name(uri: &str) -> String {
        format!(
            "{VAULT_PREFIX}{}{SUFFIX}",
            hex_digest(&[&uri.to_ascii_lowercase()])
        )
    }

    /// The associated data of a file: its identity directory and name.
    fn place(identity: &IndexIdentity, file: &str) -> String {
        format!("{}/{file}", Self::identity_dir_name(identity))
    }

    fn write(
        &self,
        identity: &IndexIdentity,
        file: &str,
        seal: impl FnOnce(&str) -> Result<Vec<u8>, IndexError>,
    ) -> Result<(), IndexError> {
        let dir = self.identity_dir(identity);
        create_private_dir(&dir)?;
        let sealed = seal(&Self::place(identity, file))?;
        write_atomically(&dir.join(file), &sealed)
    }

    /// Saves the identity's tree and selection, and remembers it as the cloud's last identity.
    pub fn save_manifest(
        &self,
        identity: &IndexIdentity,
        manifest: &IndexManifest,
    ) -> Result<(), IndexError> {
        self.write(identity, MANIFEST, |place| {
            sealed::seal(&self.key, FileKind::Manifest, place, manifest)
        })?;
        let last = self
            .root
            .join(format!("{LAST_PREFIX}{}", hex_digest(&[&identity.cloud])));
        write_atomically(&last, Self::identity_dir_name(identity).as_bytes())
    }

    /// Saves one vault's part.
    pub fn save_vault(
        &self,
        identity: &IndexIdentity,
        vault: &IndexedVault,
    ) -> Result<(), IndexError> {
        let file = Self::vault_file_name(&vault.uri);
        self.write(identity, &file, |place| {
            sealed::seal(&self.key, FileKind::Vault, place, vault)
        })
    }

    /// Deletes one vault's part (an absent one is fine).
    pub fn forget_vault(&self, identity: &IndexIdentity, uri: &str) -> Result<(), IndexError> {
        let path = self.identity_dir(identity).join(Self::vault_file_name(uri));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io_error(&path, "deleted", error)),
        }
    }

    /// Deletes the identity's whole index.
    pub fn delete_identity(&self, identity: &IndexIdentity) -> Result<(), IndexError> {
        let dir = self.identity_dir(identity);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io_error(&dir, "deleted", error)),
        }
    }

    /// The directory name of the identity that last saved an index in `cloud`, if any.
    pub fn last_identity_dir(&self, cloud: &str) -> Option<String> {
        let path = self
            .root
            .join(format!("{LAST_PREFIX}{}", hex_digest(&[cloud])));
        let text = std::fs::read_to_string(path).ok()?;
        let name = text.trim();
        (name.len() == 32 && name.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .then(|| name.to_owned())
    }

    /// Reads everything of `identity` (the manifest and every vault, on all cores); files that do not
    /// open are set aside and named in `set_aside`.
    pub fn load(&self, identity: &IndexIdentity) -> LoadedIndex {
        self.load_dir(&Self::identity_dir_name(identity))
    }

    /// Like [`IndexStore::load`], by directory name (the launch knows only the last identity's).
    pub fn load_dir(&self, dir_name: &str) -> LoadedIndex {
        let dir = self.root.join(dir_name);
        let mut loaded = LoadedIndex::default();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return loaded;
        };
        let mut vault_files: Vec<PathBuf> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(VAULT_PREFIX) && name.ends_with(SUFFIX) {
                vault_files.push(entry.path());
            }
        }
        let place = |file: &str| format!("{dir_name}/{file}");
        let manifest_path = dir.join(MANIFEST);
        if let Ok(bytes) = std::fs::read(&manifest_path) {
            match sealed::open::<IndexManifest>(
                &self.key,
                FileKind::Manifest,
                &place(MANIFEST),
                &bytes,
                &manifest_path.display().to_string(),
            ) {
                Ok(manifest) => loaded.manifest = Some(manifest),
                Err(error) => loaded.set_aside.push(set_aside(&manifest_path, &error)),
            }
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, 8);
        let chunk = vault_files.len().div_ceil(threads).max(1);
        let results: Vec<Vec<Result<IndexedVault, (PathBuf, IndexError)>>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = vault_files
                    .chunks(chunk)
                    .map(|paths| {
                        scope.spawn(move || {
                            paths
                                .iter()
                                .map(|path| self.read_vault(dir_name, path))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().unwrap_or_default())
                    .collect()
            });
        for result in results.into_iter().flatten() {
            match result {
                Ok(vault) => loaded.vaults.push(vault),
                Err((path, error)) => loaded.set_aside.push(set_aside(&path, &error)),
            }
        }
        loaded
    }

    fn read_vault(
        &self,
        dir_name: &str,
        path: &Path,
    ) -> Result<IndexedVault, (PathBuf, IndexError)> {
        let file = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|error| (path.to_path_buf(), io_error(path, "read", error)))?;
        let vault: IndexedVault = sealed::open(
            &self.key,
            FileKind::Vault,
            &format!("{dir_name}/{file}"),
            &bytes,
            &shown,
        )
        .map_err(|error| (path.to_path_buf(), error))?;
        // A file under another vault's name was copied or renamed: it is not this vault's.
        if Self::vault_file_name(&vault.uri) != file {
            return Err((path.to_path_buf(), IndexError::Damaged(shown)));
        }
        Ok(vault)
    }
}

/// Renames a file that did not open out of the way; the sentence says what happened.
fn set_aside(path: &Path, error: &IndexError) -> String {
    let aside = path.with_extension(format!("set-aside-{}", now_unix()));
    match std::fs::rename(path, &aside) {
        Ok(()) => format!(
            "{error}; it was set aside as {} and will be rebuilt",
            aside.display()
        ),
        Err(rename) => format!("{error}; it could not be set aside either ({rename})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_index::model::IndexedList;

    fn identity() -> IndexIdentity {
        IndexIdentity {
            cloud: "Azure".into(),
            tenant_id: "T".into(),
            object_id: "O".into(),
        }
    }

    fn vault(uri: &str) -> IndexedVault {
        IndexedVault {
            uri: uri.into(),
            last_used: 5,
            lists: vec![IndexedList {
                complete_at: Some(9),
                names: "alpha".into(),
                ..IndexedList::default()
            }],
            versions: Vec::new(),
        }
    }

    #[test]
    fn saved_parts_load_back_and_forgotten_ones_do_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = IndexStore::new(dir.path().join("index"), IndexKey::random());
        let manifest = IndexManifest {
            saved_at: 3,
            ..IndexManifest::default()
        };
        store.save_manifest(&identity(), &manifest).expect("saved");
        store
            .save_vault(&identity(), &vault("https://a/"))
            .expect("saved");
        store
            .save_vault(&identity(), &vault("https://b/"))
            .expect("saved");
        let loaded = store.load(&identity());
        assert_eq!(loaded.manifest, Some(manifest));
        assert_eq!(loaded.vaults.len(), 2);
        assert!(loaded.set_aside.is_empty());
        assert_eq!(
            store.last_identity_dir("Azure"),
            Some(IndexStore::identity_dir_name(&identity()))
        );
        store
            .forget_vault(&identity(), "https://a/")
            .expect("forgotten");
        let loaded = store.load(&identity());
        assert_eq!(loaded.vaults.len(), 1);
        assert_eq!(loaded.vaults[0].uri, "https://b/");
        store.delete_identity(&identity()).expect("deleted");
        assert!(store.load(&identity()).manifest.is_none());
    }

    #[cfg(unix)]
    #[test]
    fn files_and_directories_are_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = IndexStore::new(dir.path().join("index"), IndexKey::random());
        store
            .save_vault(&identity(), &vault("https://a/"))
            .expect("saved");
        let identity_dir = store.identity_dir(&identity());
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&identity_dir), 0o700);
        for entry in std::fs::read_dir(&identity_dir).expect("listed").flatten() {
            assert_eq!(mode(&entry.path()), 0o600, "{:?}", entry.path());
        }
    }

    #[test]
    fn a_damaged_truncated_or_moved_file_is_set_aside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = IndexStore::new(dir.path().join("index"), IndexKey::random());
        store
            .save_vault(&identity(), &vault("https://a/"))
            .expect("saved");
        store
            .save_vault(&identity(), &vault("https://b/"))
            .expect("saved");
        store
            .save_manifest(&identity(), &IndexManifest::default())
            .expect("saved");
        let identity_dir = store.identity_dir(&identity());
        let a = identity_dir.join(IndexStore::vault_file_name("https://a/"));
        let b = identity_dir.join(IndexStore::vault_file_name("https://b/"));
        let bytes = std::fs::read(&a).expect("read");
        std::fs::write(&a, &bytes[..bytes.len() / 2]).expect("truncated");
        // b's file copied under a third name.
        let c = identity_dir.join(IndexStore::vault_file_name("https://c/"));
        std::fs::copy(&b, &c).expect("copied");
        std::fs::write(identity_dir.join(MANIFEST), b"not an index").expect("written");
        let loaded = store.load(&identity());
        assert_eq!(loaded.vaults.len(), 1, "only b opens");
        assert_eq!(loaded.vaults[0].uri, "https://b/");
        assert!(loaded.manifest.is_none());
        assert_eq!(loaded.set_aside.len(), 3, "{:?}", loaded.set_aside);
        assert!(
            loaded
                .set_aside
                .iter()
                .any(|line| line.contains("not a Vaultscope index")),
            "{:?}",
            loaded.set_aside
        );
        assert!(!a.exists() && !c.exists(), "set aside, not read again");
        let again = store.load(&identity());
        assert!(again.set_aside.is_empty());
        // Under another key nothing opens, and that is said, not a crash.
        let other = IndexStore::new(dir.path().join("index"), IndexKey::random());
        let foreign = other.load(&identity());
        assert!(foreign.vaults.is_empty());
        assert_eq!(foreign.set_aside.len(), 1);
    }
}
