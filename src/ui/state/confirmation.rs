//! A confirmation: a change shown as it will be made (what, where, the consequence, the equivalent `az`
//! command) with the word to type before it is carried out, and the `az` equivalent of each data-plane
//! change.

use crate::azure::identifiers::ObjectKind;
use crate::worker::changes::Change;

/// A confirmation: the change as it will be made.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    pub title: String,
    pub lines: Vec<String>,
    /// The equivalent Azure CLI command (for one item).
    pub az: Option<String>,
    /// The word to type before the button works (the name for a purge, the count for a bulk run).
    pub typed_word: Option<String>,
    pub typed: String,
    pub button: String,
    pub changes: Vec<Change>,
}

impl Confirmation {
    pub fn may_confirm(&self) -> bool {
        self.typed_word
            .as_ref()
            .is_none_or(|word| self.typed.trim() == word)
    }
}

/// `az` quotes: single quotes, for a POSIX shell (names and vaults are `[0-9a-zA-Z-]` anyway).
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub fn az_command(change: &Change) -> Option<String> {
    let vault = quoted(change.vault().name());
    let name = quoted(change.name());
    let noun = match change.kind() {
        ObjectKind::Secret => "secret",
        ObjectKind::Key => "key",
        ObjectKind::Certificate => "certificate",
    };
    Some(match change {
        Change::Delete { .. } => {
            format!("az keyvault {noun} delete --vault-name {vault} --name {name}")
        }
        Change::Recover { .. } => {
            format!("az keyvault {noun} recover --vault-name {vault} --name {name}")
        }
        Change::Purge { .. } => {
            format!("az keyvault {noun} purge --vault-name {vault} --name {name}")
        }
        Change::RotateKey { .. } => {
            format!("az keyvault key rotate --vault-name {vault} --name {name}")
        }
        // Bash: the value goes through a pipe, never an argument; `head -c -1` drops the newline tsv adds.
        Change::RollBackSecret { from } => format!(
            "az keyvault secret set --vault-name {vault} --name {name} --file <(az keyvault secret show --id {} --query value -o tsv | head -c -1)",
            quoted(&from.versioned())
        ),
        Change::UpdateVersion { id, update } => {
            let mut command =
                format!("az keyvault {noun} set-attributes --vault-name {vault} --name {name}");
            if let Some(version) = &id.version {
                command.push_str(&format!(" --version {}", quoted(version)));
            }
            if let Some(enabled) = update.enabled {
                command.push_str(&format!(" --enabled {enabled}"));
            }
            if let Some(tags) = &update.tags {
                command.push_str(" --tags");
                for (key, value) in tags {
                    command.push_str(&format!(" {}", quoted(&format!("{key}={value}"))));
                }
            }
            command
        }
        Change::SetSecret { .. }
        | Change::CreateKey { .. }
        | Change::CreateCertificate { .. }
        | Change::SetSecretVersions { .. } => {
            return None;
        }
    })
}
