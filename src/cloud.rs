//! Cloud profiles: where to sign in, where ARM, Key Vault and Graph live, and which TLS roots to trust.
//!
//! Only the `Local` profile (the built-in emulator) resolves `*.localhost` to loopback (RFC 6761) and trusts
//! the emulator's CA; every other profile uses the system resolver and the platform's trust store.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

/// Which Azure cloud a session talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CloudKind {
    AzureCloud,
    AzureChinaCloud,
    AzureUsGovernment,
    /// The built-in emulator on a loopback port.
    Local,
}

/// Endpoints and trust settings of one cloud.
#[derive(Clone)]
pub struct CloudProfile {
    pub kind: CloudKind,
    /// Entra authority host, e.g. `https://login.microsoftonline.com`.
    pub authority_host: Url,
    /// Resource Manager endpoint, e.g. `https://management.azure.com`.
    pub arm_endpoint: Url,
    /// Scope for ARM tokens.
    pub arm_scope: String,
    /// DNS suffix of vaults, with its leading dot, e.g. `.vault.azure.net`.
    pub vault_dns_suffix: String,
    /// Default Key Vault scope; the real one is taken from each vault's 401 challenge.
    pub vault_scope: String,
    /// Microsoft Graph endpoint, e.g. `https://graph.microsoft.com`.
    pub graph_endpoint: Url,
    pub graph_scope: String,
    /// The emulator's CA certificate (PEM) for the `Local` profile; `None` elsewhere.
    local_ca_pem: Option<Arc<str>>,
}

impl std::fmt::Debug for CloudProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudProfile")
            .field("kind", &self.kind)
            .field("authority_host", &self.authority_host.as_str())
            .field("arm_endpoint", &self.arm_endpoint.as_str())
            .finish_non_exhaustive()
    }
}

/// A cloud profile could not be built or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloudError {
    #[error("invalid endpoint URL {url}: {source}")]
    InvalidUrl {
        url: String,
        source: url::ParseError,
    },
    #[error("the emulator CA certificate is not valid PEM: {0}")]
    InvalidCaCertificate(String),
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

fn parse_url(text: &str) -> Result<Url, CloudError> {
    Url::parse(text).map_err(|source| CloudError::InvalidUrl {
        url: text.to_owned(),
        source,
    })
}

impl CloudProfile {
    /// The public Azure cloud.
    pub fn azure_public() -> Self {
        Self::public_like(
            CloudKind::AzureCloud,
            "https://login.microsoftonline.com",
            "https://management.azure.com",
            ".vault.azure.net",
            "https://vault.azure.net/.default",
            "https://graph.microsoft.com",
        )
    }

    /// Azure operated by 21Vianet (China).
    pub fn azure_china() -> Self {
        Self::public_like(
            CloudKind::AzureChinaCloud,
            "https://login.chinacloudapi.cn",
            "https://management.chinacloudapi.cn",
            ".vault.azure.cn",
            // Inferred from the DNS suffix (UNVERIFIED in the protocol reference); the challenge decides anyway.
            "https://vault.azure.cn/.default",
            "https://microsoftgraph.chinacloudapi.cn",
        )
    }

    /// Azure US Government.
    pub fn azure_us_government() -> Self {
        Self::public_like(
            CloudKind::AzureUsGovernment,
            "https://login.microsoftonline.us",
            "https://management.usgovcloudapi.net",
            ".vault.usgovcloudapi.net",
            // Inferred from the DNS suffix (UNVERIFIED in the protocol reference); the challenge decides anyway.
            "https://vault.usgovcloudapi.net/.default",
            "https://graph.microsoft.us",
        )
    }

    fn public_like(
        kind: CloudKind,
        authority: &str,
        arm: &str,
        vault_suffix: &str,
        vault_scope: &str,
        graph: &str,
    ) -> Self {
        // These literals are fixed and valid; a parse failure would be a programming error caught by tests.
        let url = |text: &str| {
            Url::parse(text).unwrap_or_else(|_| unreachable!("valid literal URL {text}"))
        };
        Self {
            kind,
            authority_host: url(authority),
            arm_endpoint: url(arm),
            arm_scope: format!("{}/.default", arm.trim_end_matches('/')),
            vault_dns_suffix: vault_suffix.to_owned(),
            vault_scope: vault_scope.to_owned(),
            graph_endpoint: url(graph),
            graph_scope: format!("{}/.default", graph.trim_end_matches('/')),
            local_ca_pem: None,
        }
    }

    /// The built-in emulator listening on `https://*.localhost:{port}`, trusting only `ca_pem`.
    pub fn local(port: u16, ca_pem: &str) -> Result<Self, CloudError> {
        if !ca_pem.contains("BEGIN CERTIFICATE") {
            return Err(CloudError::InvalidCaCertificate(
                "no certificate block".into(),
            ));
        }
        Ok(Self {
            kind: CloudKind::Local,
            authority_host: parse_url(&format!("https://login.localhost:{port}"))?,
            arm_endpoint: parse_url(&format!("https://management.localhost:{port}"))?,
            arm_scope: format!("https://management.localhost:{port}/.default"),
            vault_dns_suffix: ".vault.localhost".to_owned(),
            vault_scope: format!("https://vault.localhost:{port}/.default"),
            graph_endpoint: parse_url(&format!("https://graph.localhost:{port}"))?,
            graph_scope: format!("https://graph.localhost:{port}/.default"),
            local_ca_pem: Some(Arc::from(ca_pem)),
        })
    }

    /// A human name for the status bar.
    pub fn display_name(&self) -> &'static str {
        match self.kind {
            CloudKind::AzureCloud => "AzureCloud",
            CloudKind::AzureChinaCloud => "AzureChinaCloud",
            CloudKind::AzureUsGovernment => "AzureUSGovernment",
            CloudKind::Local => "Local emulator",
        }
    }

    /// The Azure Portal of this cloud; `None` for the emulator, which has none.
    pub fn portal_host(&self) -> Option<&'static str> {
        match self.kind {
            CloudKind::AzureCloud => Some("https://portal.azure.com"),
            CloudKind::AzureChinaCloud => Some("https://portal.azure.cn"),
            CloudKind::AzureUsGovernment => Some("https://portal.azure.us"),
            CloudKind::Local => None,
        }
    }

    /// The hosts a Key Vault challenge may name as its resource in this cloud: Key Vault's and Managed
    /// HSM's audiences (azure-sdk-for-python's `KeyVaultClient` challenge policy accepts these domains;
    /// the Local profile has its own). A challenge for anything else gets no token.
    pub fn key_vault_audience_hosts(&self) -> &'static [&'static str] {
        match self.kind {
            CloudKind::AzureCloud => &["vault.azure.net", "managedhsm.azure.net"],
            CloudKind::AzureChinaCloud => &["vault.azure.cn", "managedhsm.azure.cn"],
            CloudKind::AzureUsGovernment => {
                &["vault.usgovcloudapi.net", "managedhsm.usgovcloudapi.net"]
            }
            CloudKind::Local => &["vault.localhost"],
        }
    }

    /// The emulator CA for the `Local` profile.
    pub fn local_ca_pem(&self) -> Option<&str> {
        self.local_ca_pem.as_deref()
    }

    /// The URI of a vault by name in this cloud, e.g. `https://myvault.vault.azure.net/`.
    pub fn vault_uri(&self, vault_name: &str) -> String {
        match self.kind {
            CloudKind::Local => {
                let port = self.arm_endpoint.port().unwrap_or(443);
                format!("https://{vault_name}{}:{port}/", self.vault_dns_suffix)
            }
            _ => format!("https://{vault_name}{}/", self.vault_dns_suffix),
        }
    }

    /// The client for managed-identity endpoints: like `http_client`, but plain HTTP is allowed, because
    /// IMDS (169.254.169.254) and App Service's local endpoint speak it. The managed-identity source only
    /// sends plain HTTP to loopback and link-local addresses.
    pub fn managed_identity_client(
        &self,
        request_timeout: Duration,
    ) -> Result<reqwest::Client, CloudError> {
        self.client_builder(request_timeout, false)
    }

    /// An HTTPS-only reqwest client for this cloud: request timeout, TCP_NODELAY, and for `Local` a resolver
    /// mapping `*.localhost` to loopback and the emulator CA as the only trust root.
    pub fn http_client(&self, request_timeout: Duration) -> Result<reqwest::Client, CloudError> {
        self.client_builder(request_timeout, true)
    }

    fn client_builder(
        &self,
        request_timeout: Duration,
        https_only: bool,
    ) -> Result<reqwest::Client, CloudError> {
        let mut builder = reqwest::Client::builder()
            .https_only(https_only)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(request_timeout)
            .user_agent(concat!("vaultscope/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            // HTTP/1.1, as Microsoft's Python and .NET SDKs and the Azure CLI speak to Key Vault and ARM.
            // Pages are read one after another (each names the next), so HTTP/2's multiplexing buys them
            // nothing, while each HTTP/2 request costs two more task hops through the connection task:
            // measured 0.3 ms a page here (benches/list_secrets). Lists read side by side simply take a
            // connection each from the pool.
            .http1_only();
        if let Some(ca_pem) = &self.local_ca_pem {
            let certificate = reqwest::Certificate::from_pem(ca_pem.as_bytes())
                .map_err(|error| CloudError::InvalidCaCertificate(error.to_string()))?;
            builder = builder
                .tls_certs_only([certificate])
                .dns_resolver(Arc::new(LocalhostResolver));
        }
        builder
            .build()
            .map_err(|error| CloudError::HttpClient(error.to_string()))
    }
}

/// Resolves every `*.localhost` name to 127.0.0.1 (RFC 6761 §6.3) and refuses every other name, so the
/// `Local` profile can never reach the network.
#[derive(Debug)]
struct LocalhostResolver;

impl reqwest::dns::Resolve for LocalhostResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    0,
                )));
                Ok(addrs)
            } else {
                Err(format!("the Local cloud only reaches *.localhost, not {host}").into())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_profiles_have_expected_endpoints() {
        let public = CloudProfile::azure_public();
        assert_eq!(public.arm_scope, "https://management.azure.com/.default");
        assert_eq!(public.vault_uri("kv1"), "https://kv1.vault.azure.net/");
        assert_eq!(
            CloudProfile::azure_china().vault_dns_suffix,
            ".vault.azure.cn"
        );
        assert_eq!(
            CloudProfile::azure_us_government().graph_scope,
            "https://graph.microsoft.us/.default"
        );
        assert!(public.local_ca_pem().is_none());
    }

    #[test]
    fn local_profile_needs_a_certificate() {
        assert!(CloudProfile::local(8443, "garbage").is_err());
        let local = CloudProfile::local(8443, "-----BEGIN CERTIFICATE-----\n").expect("profile");
        assert_eq!(
            local.vault_uri("demo"),
            "https://demo.vault.localhost:8443/"
        );
        assert_eq!(
            local.arm_scope,
            "https://management.localhost:8443/.default"
        );
    }
}
