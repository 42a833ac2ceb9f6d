//! The Azure CLI as a token source: `azure_identity::AzureCliCredential` (which runs
//! `az account get-access-token`); our `TokenCache` in front of it supplies the caching it lacks.
//! An optional search path for `az` lets tests put a fake `az` first without touching the process's PATH.

use std::ffi::{OsStr, OsString};
use std::process::Output;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_identity::{AzureCliCredential, AzureCliCredentialOptions, Executor};

use super::AuthError;

/// Runs the CLI's shell command with `PATH` set to `search_path`.
#[derive(Debug)]
struct SearchPathExecutor {
    search_path: OsString,
}

#[async_trait::async_trait]
impl Executor for SearchPathExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<Output> {
        tokio::process::Command::new(program)
            .args(args)
            .env("PATH", &self.search_path)
            .output()
            .await
    }
}

/// A credential that asks the signed-in Azure CLI for tokens, optionally for a given tenant; `search_path`
/// replaces `PATH` when looking for `az`.
pub fn azure_cli_credential(
    tenant_id: Option<String>,
    search_path: Option<OsString>,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    let executor: Option<Arc<dyn Executor>> = search_path
        .map(|search_path| Arc::new(SearchPathExecutor { search_path }) as Arc<dyn Executor>);
    let options = AzureCliCredentialOptions {
        tenant_id,
        executor,
        ..Default::default()
    };
    let credential = AzureCliCredential::new(Some(options))
        .map_err(|error| AuthError::Credential(error.to_string()))?;
    Ok(credential)
}

/// Whether `az` is on `search_path` (or the process's PATH), for the sign-in screen.
pub fn find_azure_cli(search_path: Option<&OsStr>) -> Option<std::path::PathBuf> {
    let path = search_path
        .map(OsString::from)
        .or_else(|| std::env::var_os("PATH"))?;
    let names: &[&str] = if cfg!(windows) {
        &["az.cmd", "az.exe", "az"]
    } else {
        &["az"]
    };
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}
