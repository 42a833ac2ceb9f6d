//! Files the person picks: the file dialog behind a small trait (rfd's `AsyncFileDialog` in the app, run
//! from a worker task so the UI thread never waits on it; a fake in tests), reading a secret value from a
//! file (Key Vault's 25 KB limit, UTF-8) and saving a text (the change log).

use std::future::Future;
use std::path::PathBuf;
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

fn file_error(path: &std::path::Path, what: &str) -> FailureReason {
    FailureReason::Internal(format!("{}: {what}", path.display()))
}

/// Asks for a file and reads it as a secret value; nothing is sent when the person cancels.
pub async fn read_value_file(picker: &dyn FilePicker, reply: &Reply) -> Result<(), FailureReason> {
    let Some(path) = picker.open("Read the secret value from a file").await else {
        return Ok(());
    };
    let metadata = tokio::fs::metadata(&path)
        .await
        .map_err(|error| file_error(&path, &error.to_string()))?;
    if metadata.len() > SECRET_VALUE_LIMIT as u64 {
        return Err(file_error(
            &path,
            &format!(
                "{} bytes is more than Key Vault's 25 KB limit on a secret value",
                metadata.len()
            ),
        ));
    }
    let bytes = Zeroizing::new(
        tokio::fs::read(&path)
            .await
            .map_err(|error| file_error(&path, &error.to_string()))?,
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
    tokio::fs::write(&path, contents)
        .await
        .map_err(|error| file_error(&path, &error.to_string()))?;
    reply.send(EventKind::FileSaved {
        path: path.display().to_string(),
    });
    Ok(())
}
