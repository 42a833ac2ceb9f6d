//! What a client needs to reach a running emulator: its endpoints in words, and the variables of an app
//! "running in" it (Entra authority, a service principal, managed identity, the CA) for `--env-file`.

use super::Emulator;
use crate::external_emulator::{CA_VARIABLE, URL_VARIABLE, render_env_file};

impl Emulator {
    /// The endpoints, one per line, for `vaultscope emulator` to print.
    pub fn describe_endpoints(&self) -> String {
        let port = self.port;
        let tenant = self.demo_tenant_id();
        format!(
            "Entra (authority):  https://login.localhost:{port}/{tenant}/oauth2/v2.0/token\n\
             Device sign-in:     https://login.localhost:{port}/device\n\
             Resource Manager:   https://management.localhost:{port}/subscriptions?api-version=2022-12-01\n\
             Microsoft Graph:    https://graph.localhost:{port}/v1.0/users\n\
             Key Vault:          https://{{vault}}.vault.localhost:{port}/secrets?api-version=2025-07-01\n\
             Key Vault audience: https://vault.localhost:{port}\n\
             CA certificate:     {}",
            self.ca_path.display()
        )
    }

    /// The managed-identity environment of an app "running in" the emulator: `IDENTITY_ENDPOINT`,
    /// `IDENTITY_HEADER` (App Service), `MSI_ENDPOINT`, `MSI_SECRET` (legacy; both pairs, as App Service
    /// sets them) and the IMDS host for `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    pub fn managed_identity_environment(&self) -> Vec<(&'static str, String)> {
        let base = format!("https://login.localhost:{}", self.port);
        vec![
            ("IDENTITY_ENDPOINT", format!("{base}/msi/token")),
            ("IDENTITY_HEADER", self.shared.identity_header.clone()),
            (
                "MSI_ENDPOINT",
                format!("{base}{}", self.shared.legacy_msi_flavour.path()),
            ),
            ("MSI_SECRET", self.shared.identity_header.clone()),
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", base),
        ]
    }

    /// Every variable a client needs, in the order `vaultscope emulator` prints them: the emulator's URL
    /// and CA (for `vaultscope --emulator-env`), the authority and tenant, the seed's first service
    /// principal with a client secret in that tenant, the managed-identity endpoints, and the CA bundle
    /// for Python clients and the Azure CLI.
    pub fn client_environment(&self) -> Vec<(String, String)> {
        let port = self.port;
        let tenant = self.demo_tenant_id();
        let ca = self.ca_path.display().to_string();
        let mut variables = vec![
            (URL_VARIABLE, format!("https://localhost:{port}")),
            (CA_VARIABLE, ca.clone()),
            (
                "AZURE_AUTHORITY_HOST",
                format!("https://login.localhost:{port}"),
            ),
            ("AZURE_TENANT_ID", tenant.clone()),
        ];
        let service_principal = self.shared.read().service_principals.iter().find_map(|sp| {
            let secret = sp.client_secret.clone()?;
            sp.tenant_id
                .eq_ignore_ascii_case(&tenant)
                .then(|| (sp.app_id.clone(), secret))
        });
        if let Some((client_id, secret)) = service_principal {
            variables.push(("AZURE_CLIENT_ID", client_id));
            variables.push(("AZURE_CLIENT_SECRET", secret));
        }
        variables.extend(self.managed_identity_environment());
        variables.push(("REQUESTS_CA_BUNDLE", ca.clone()));
        variables.push(("SSL_CERT_FILE", ca));
        variables
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }

    /// [`Self::client_environment`] as a file a POSIX shell can source, with the endpoints as comments.
    pub fn client_environment_file(&self) -> String {
        let header = format!(
            "Vaultscope emulator on https://*.localhost:{}\n{}\n\
             Use: set -a; . THIS-FILE; set +a   (or: vaultscope --emulator-env THIS-FILE)",
            self.port,
            self.describe_endpoints()
        );
        render_env_file(&header, &self.client_environment())
    }
}
