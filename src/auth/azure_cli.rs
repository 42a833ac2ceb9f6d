//! The Azure CLI as a token source: `azure_identity::AzureCliCredential` (which runs
//! `az account get-access-token`); our `TokenCache` in front of it supplies the caching it lacks.
//! An optional search path for `az` lets tests put a fake `az` first without touching the process's PATH.
//! `az` always runs through our executor: with a timeout, and killed when it is dropped (a hung `az`
//! must not hold the token cache's lock, nor outlive the request that started it).

use std::ffi::{OsStr, OsString};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_identity::{AzureCliCredential, AzureCliCredentialOptions, Executor};

use super::AuthError;

/// How long `az account get-access-token` may take. azure-identity for Python waits 10 s
/// (`AzureCliCredential(process_timeout=10)`); `az` on a cold start with extensions can need more, so 30 s.
pub const AZ_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the CLI's shell command (with `PATH` set to `search_path` when given), stopping it after
/// `timeout` and whenever the call is dropped.
#[derive(Debug)]
struct CliExecutor {
    search_path: Option<OsString>,
    timeout: Duration,
}

#[async_trait::async_trait]
impl Executor for CliExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<Output> {
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some(search_path) = &self.search_path {
            command.env("PATH", search_path);
        }
        // azure_identity runs `/bin/sh -c "az account get-access-token …"`: `az` is the shell's child,
        // so killing the shell alone would leave it running. A process group of its own lets the guard
        // stop the whole tree when the call ends early (a timeout, or the caller dropping it).
        #[cfg(unix)]
        command.process_group(0);
        let child = command.spawn()?;
        let mut group = ProcessGroupGuard(child.id());
        match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(output) => {
                // Ended on its own: nothing to stop (and the group id may be reused from now on).
                group.0 = None;
                output
            }
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "the Azure CLI did not answer within {} s and was stopped",
                    self.timeout.as_secs()
                ),
            )),
        }
    }
}

/// Kills a process group when dropped while armed: on a timeout, or when the call is dropped mid-way.
struct ProcessGroupGuard(Option<u32>);

impl Drop for ProcessGroupGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self.0.and_then(|pid| i32::try_from(pid).ok()) {
            // SAFETY: kill(2) with a negative pid signals that process group; it touches no memory.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
    }
}

/// A credential that asks the signed-in Azure CLI for tokens, optionally for a given tenant; `search_path`
/// replaces `PATH` when looking for `az`.
pub fn azure_cli_credential(
    tenant_id: Option<String>,
    search_path: Option<OsString>,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    azure_cli_credential_with_timeout(tenant_id, search_path, AZ_TIMEOUT)
}

/// `azure_cli_credential` with another limit on how long one `az` call may run.
pub fn azure_cli_credential_with_timeout(
    tenant_id: Option<String>,
    search_path: Option<OsString>,
    timeout: Duration,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    let executor: Arc<dyn Executor> = Arc::new(CliExecutor {
        search_path,
        timeout,
    });
    let options = AzureCliCredentialOptions {
        tenant_id,
        executor: Some(executor),
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
