//! Files the person picks: the file dialog behind a small trait (rfd's `AsyncFileDialog` in the app, run
//! from a worker task so the UI thread never waits on it; a fake in tests), reading a secret value from a
//! file (Key Vault's 25 KB limit, UTF-8), saving a text (the change log), and the writes and reads every
//! file feature shares (owner-only when asked; a size bound on what is read).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use crate::azure::keyvault_writes::SECRET_VALUE_LIMIT;

/// A picked path, or `None` when the person cancelled.
pub type Picked = Pin<Box<dyn Future<Output = Option<PathBuf>> + Send>>;

/// Asks the person for a file to open or a place to save.
pub trait FilePicker: Send + Sync {
    fn open(&self, title: &str) -> Picked;
    fn save(&self, title: &str, suggested_name: &str) -> Picked;
}

/// A picker the settings can carry (and print in `Debug` without its insides).
#[derive(Clone)]
pub struct SharedPicker(pub Arc<dyn FilePicker>);

impl std::fmt::Debug for SharedPicker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedPicker")
    }
}

/// The desktop's file dialog (the XDG portal on Linux, zenity when there is none).
pub struct SystemFilePicker;

impl FilePicker for SystemFilePicker {
    fn open(&self, title: &str) -> Picked {
        let dialog = rfd::AsyncFileDialog::new().set_title(title).pick_file();
        Box::pin(async move { dialog.await.map(|handle| handle.path().to_path_buf()) })
    }

    fn save(&self, title: &str, suggested_name: &str) -> Picked {
        let dialog = rfd::AsyncFileDialog::new()
            .set_title(title)
            .set_file_name(suggested_name)
            .save_file();
        Box::pin(async move { dialog.await.map(|handle| handle.path().to_path_buf()) })
    }
}

/// The largest certificate or backup file read (Key Vault's own limits are far below).
const LARGEST_INPUT_FILE: u64 = 4 * 1024 * 1024;

pub fn file_error(path: &Path, what: impl std::fmt::Display) -> FailureReason {
    FailureReason::Internal(format!("{}: {what}", path.display()))
}

/// Writes `bytes` to `path`; `owner_only` makes the file readable and writable by its owner alone (0600 on
/// Unix, set before the first byte is written, also on a file that already existed).
pub async fn write_file(path: &Path, bytes: &[u8], owner_only: bool) -> Result<(), FailureReason> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if owner_only {
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .await
        .map_err(|error| file_error(path, error))?;
    #[cfg(unix)]
    if owner_only {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .await
            .map_err(|error| file_error(path, error))?;
    }
    use tokio::io::AsyncWriteExt;
    file.write_all(bytes)
        .await
        .map_err(|error| file_error(path, error))?;
    file.flush().await.map_err(|error| file_error(path, error))
}

/// Reads a file the person picked, refusing one larger than `LARGEST_INPUT_FILE`.
pub async fn read_input_file(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, FailureReason> {
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|error| file_error(path, error))?;
    if metadata.len() > LARGEST_INPUT_FILE {
        return Err(file_error(
            path,
            format!(
                "{} bytes is larger than this kind of file can be",
                metadata.len()
            ),
        ));
    }
    tokio::fs::read(path)
        .await
        .map(zeroize::Zeroizing::new)
        .map_err(|error| file_error(path, error))
}

/// Asks for a file and reads it as a secret value; nothing is sent when the person cancels.
pub async fn read_value_file(picker: &dyn FilePicker, reply: &Reply) -> Result<(), FailureReason> {
    let Some(path) = picker.open("Read the secret value from a file").await else {
        return Ok(());
    };
    let metadata = tokio::fs::metadata(&path)
        .await
        .map_err(|error| file_error(&path, error))?;
    if metadata.len() > SECRET_VALUE_LIMIT as u64 {
        return Err(file_error(
            &path,
            format!(
                "{} bytes is more than Key Vault's 25 KB limit on a secret value",
                metadata.len()
            ),
        ));
    }
    let bytes = Zeroizing::new(
        tokio::fs::read(&path)
            .await
            .map_err(|error| file_error(&path, error))?,
    );
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        file_error(
            &path,
            "not UTF-8 text; a binary value is stored base64-encoded (encode it first)",
        )
    })?;
    reply.send(EventKind::ValueFileRead {
        file_name: path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        ),
        value: SecretString::from(text),
    });
    Ok(())
}

/// Asks where to save `contents` and writes it there.
pub async fn save_text_file(
    picker: &dyn FilePicker,
    title: &str,
    suggested_name: &str,
    contents: &str,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let Some(path) = picker.save(title, suggested_name).await else {
        return Ok(());
    };
    write_file(&path, contents.as_bytes(), false).await?;
    reply.send(EventKind::FileSaved {
        path: path.display().to_string(),
    });
    Ok(())
}
