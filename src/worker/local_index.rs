//! The worker's part of the local index: its files are read and written on blocking threads (sealing a
//! big vault takes milliseconds, and the UI thread never waits on a disk), one command per save.

use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use crate::azure::identifiers::VaultUri;
use crate::local_index::model::IndexWrite;
use crate::local_index::{IndexIdentity, IndexStore};

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FailureReason> + Send + 'static,
) -> Result<T, FailureReason> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| FailureReason::Internal(format!("the index task stopped: {error}")))?
}

/// Writes the manifest and vaults of `write`; without an index, nothing.
pub(super) async fn save(
    store: Option<&IndexStore>,
    write: IndexWrite,
) -> Result<(), FailureReason> {
    let Some(store) = store.cloned() else {
        return Ok(());
    };
    blocking(move || {
        for vault in &write.vaults {
            store.save_vault(&write.identity, vault)?;
        }
        if let Some(manifest) = &write.manifest {
            store.save_manifest(&write.identity, manifest)?;
        }
        Ok(())
    })
    .await
}

pub(super) async fn forget_vault(
    store: Option<&IndexStore>,
    identity: IndexIdentity,
    uri: VaultUri,
) -> Result<(), FailureReason> {
    let Some(store) = store.cloned() else {
        return Ok(());
    };
    blocking(move || Ok(store.forget_vault(&identity, uri.as_str())?)).await
}

pub(super) async fn delete_identity(
    store: Option<&IndexStore>,
    identity: IndexIdentity,
) -> Result<(), FailureReason> {
    let Some(store) = store.cloned() else {
        return Ok(());
    };
    blocking(move || Ok(store.delete_identity(&identity)?)).await
}

/// Reads the identity's index and sends it (`IndexOpened`); without an index, an empty one.
pub(super) async fn open(
    store: Option<&IndexStore>,
    identity: IndexIdentity,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let loaded = match store.cloned() {
        Some(store) => blocking(move || Ok(store.load(&identity))).await?,
        None => Default::default(),
    };
    reply.send(EventKind::IndexOpened(Box::new(loaded)));
    Ok(())
}
