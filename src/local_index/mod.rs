//! The encrypted local index: what an identity last saw of its fleet (names, identifiers, attributes,
//! tags, content types, version lists, deleted items; never a value, a token or a refresh token), kept per
//! (cloud, tenant, identity) in the user's data directory so the next launch shows it at once and
//! reconciles it in the background.
//!
//! `model.rs`: the snapshots (plain data, no UI types); `sealed.rs`: the versioned file format, encrypted
//! with AES-256-GCM; `key.rs`: the random key, kept only in the OS keyring; `store.rs`: the directory
//! layout, atomic owner-only writes, damaged files set aside. I/O-free except `store.rs` and `key.rs`.

pub mod key;
pub mod model;
pub mod sealed;
pub mod store;

pub use key::IndexKey;
pub use model::{IndexIdentity, IndexManifest, IndexedList, IndexedRow, IndexedVault, LoadedIndex};
pub use store::IndexStore;

/// What went wrong with the index; each says where.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IndexError {
    #[error("the local index file {path} could not be {what}: {reason}")]
    Io {
        path: String,
        what: &'static str,
        reason: String,
    },
    #[error("{0} is not a Vaultscope index file")]
    Foreign(String),
    #[error("{path} is a Vaultscope index of format {found}; this version reads format {expected}")]
    OtherVersion {
        path: String,
        found: u16,
        expected: u16,
    },
    #[error("{0} is damaged or was written under another key (it does not decrypt)")]
    Damaged(String),
    #[error("{0} decrypts but does not read as an index ({1})")]
    Malformed(String, String),
    #[error("the OS keyring could not {0}: {1}")]
    Keyring(&'static str, String),
}
