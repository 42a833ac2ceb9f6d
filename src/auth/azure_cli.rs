//! The Azure CLI as a token source: `azure_identity::AzureCliCredential` (which runs
//! `az account get-access-token`); our `TokenCache` in front of it supplies the caching it lacks.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_identity::{AzureCliCredential, AzureCliCredentialOptions};

use super::AuthError;

/// A credential that asks the signed-in Azure CLI for tokens, optionally for a given tenant.
pub fn azure_cli_credential(
    tenant_id: Option<String>,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    let options = AzureCliCredentialOptions {
        tenant_id,
        ..Default::default()
    };
    let credential = AzureCliCredential::new(Some(options))
        .map_err(|error| AuthError::Credential(error.to_string()))?;
    Ok(credential)
}
