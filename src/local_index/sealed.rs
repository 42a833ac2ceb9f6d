//! The index's file format: `VSIDX\0`, the format version (u16, little-endian), the file's kind (1 the
//! manifest, 2 a vault), a 96-bit random nonce, then the postcard-encoded snapshot sealed with AES-256-GCM.
//! The header and the file's place (identity directory and name) are the associated data, so a file
//! moved to another identity or renamed does not open. A file of another format version is refused by
//! its header, before any decoding.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::IndexError;
use super::key::IndexKey;

/// What every index file starts with.
pub const MAGIC: &[u8; 6] = b"VSIDX\0";
/// The format this version writes and reads; bump it whenever a snapshot type changes shape.
pub const FORMAT_VERSION: u16 = 1;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = MAGIC.len() + 2 + 1;

/// Which snapshot a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Manifest = 1,
    Vault = 2,
}

fn header(kind: FileKind) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..MAGIC.len()].copy_from_slice(MAGIC);
    header[MAGIC.len()..MAGIC.len() + 2].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[HEADER_LEN - 1] = kind as u8;
    header
}

fn associated_data(header: &[u8], place: &str) -> Vec<u8> {
    let mut aad = header.to_vec();
    aad.extend_from_slice(place.as_bytes());
    aad
}

fn cipher(key: &IndexKey) -> Aes256Gcm {
    Aes256Gcm::new(key.bytes().into())
}

/// `value` as an index file for `place` (the identity directory and file name).
pub fn seal<T: Serialize>(
    key: &IndexKey,
    kind: FileKind,
    place: &str,
    value: &T,
) -> Result<Vec<u8>, IndexError> {
    let plain = postcard::to_stdvec(value)
        .map_err(|error| IndexError::Malformed(place.to_owned(), error.to_string()))?;
    let header = header(kind);
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let aad = associated_data(&header, place);
    let sealed = cipher(key)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .map_err(|_| IndexError::Damaged(place.to_owned()))?;
    let mut file = Vec::with_capacity(HEADER_LEN + NONCE_LEN + sealed.len());
    file.extend_from_slice(&header);
    file.extend_from_slice(&nonce);
    file.extend_from_slice(&sealed);
    Ok(file)
}

/// Reads an index file written by [`seal`] for the same `place`; `shown` names it in errors.
pub fn open<T: DeserializeOwned>(
    key: &IndexKey,
    kind: FileKind,
    place: &str,
    bytes: &[u8],
    shown: &str,
) -> Result<T, IndexError> {
    if bytes.len() < MAGIC.len() + 2 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(IndexError::Foreign(shown.to_owned()));
    }
    let found = u16::from_le_bytes([bytes[MAGIC.len()], bytes[MAGIC.len() + 1]]);
    if found != FORMAT_VERSION {
        return Err(IndexError::OtherVersion {
            path: shown.to_owned(),
            found,
            expected: FORMAT_VERSION,
        });
    }
    if bytes.len() < HEADER_LEN + NONCE_LEN || bytes[HEADER_LEN - 1] != kind as u8 {
        return Err(IndexError::Damaged(shown.to_owned()));
    }
    let (head, rest) = bytes.split_at(HEADER_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    let aad = associated_data(head, place);
    let plain = cipher(key)
        .decrypt(
            &Nonce::from(nonce_bytes),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| IndexError::Damaged(shown.to_owned()))?;
    postcard::from_bytes(&plain)
        .map_err(|error| IndexError::Malformed(shown.to_owned(), error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_index::model::IndexManifest;

    fn manifest() -> IndexManifest {
        IndexManifest {
            saved_at: 7,
            selected_vault: Some("https://kv1.vault.azure.net/".into()),
            ..IndexManifest::default()
        }
    }

    #[test]
    fn a_file_opens_only_with_its_key_place_and_kind() {
        let key = IndexKey::random();
        let file = seal(&key, FileKind::Manifest, "id/manifest", &manifest()).expect("sealed");
        let back: IndexManifest =
            open(&key, FileKind::Manifest, "id/manifest", &file, "f").expect("opens");
        assert_eq!(back, manifest());
        assert!(
            !file.windows(4).any(|window| window == b"kv1."),
            "the plaintext is not in the file"
        );
        let other = IndexKey::random();
        assert!(matches!(
            open::<IndexManifest>(&other, FileKind::Manifest, "id/manifest", &file, "f"),
            Err(IndexError::Damaged(_))
        ));
        assert!(matches!(
            open::<IndexManifest>(&key, FileKind::Manifest, "other/manifest", &file, "f"),
            Err(IndexError::Damaged(_))
        ));
        assert!(matches!(
            open::<IndexManifest>(&key, FileKind::Vault, "id/manifest", &file, "f"),
            Err(IndexError::Damaged(_))
        ));
    }

    #[test]
    fn truncated_foreign_and_future_files_are_told_apart() {
        let key = IndexKey::random();
        let file = seal(&key, FileKind::Manifest, "p", &manifest()).expect("sealed");
        for cut in [0, 3, 9, 20, file.len() - 1] {
            let result = open::<IndexManifest>(&key, FileKind::Manifest, "p", &file[..cut], "f");
            assert!(result.is_err(), "cut at {cut} is refused");
        }
        assert!(matches!(
            open::<IndexManifest>(&key, FileKind::Manifest, "p", b"{\"json\": true}", "f"),
            Err(IndexError::Foreign(_))
        ));
        let mut future = file.clone();
        future[MAGIC.len()] = 9;
        assert!(matches!(
            open::<IndexManifest>(&key, FileKind::Manifest, "p", &future, "f"),
            Err(IndexError::OtherVersion { found: 9, .. })
        ));
        let mut flipped = file;
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            open::<IndexManifest>(&key, FileKind::Manifest, "p", &flipped, "f"),
            Err(IndexError::Damaged(_))
        ));
    }
}
