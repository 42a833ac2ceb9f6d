//! Managed identity as a token source: IMDS (host overridable with `AZURE_POD_IDENTITY_AUTHORITY_HOST`,
//! probed for at most a second so a laptop gets a clear answer at once), App Service (`IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER`, api-version 2019-08-01) and legacy App Service (`MSI_ENDPOINT` + `MSI_SECRET`,
//! 2017-09-01); system-assigned, or user-assigned by client id, object id or resource id.
//!
//! Written by hand rather than with `azure_identity::ManagedIdentityCredential` (which the conformance tests
//! do run against the emulator) because azure_identity 1.0 has no legacy `MSI_ENDPOINT` path, always uses
//! 169.254.169.254 for IMDS (no `AZURE_POD_IDENTITY_AUTHORITY_HOST`), has no quick probe (a laptop waits
//! through its retries), and sends App Service resource ids in the wrong parameter (azure-sdk-for-rust#2407).

use std::time::Duration;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use super::environment_snapshot::EnvironmentSnapshot;

/// The IMDS address on every Azure VM.
pub const DEFAULT_IMDS_HOST: &str = "http://169.254.169.254";
/// How long the first IMDS request may take before we say there is no IMDS here.
pub const IMDS_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Which user-assigned identity to use; `None` in the options means the system-assigned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAssignedId {
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

impl UserAssignedId {
    /// Reads "client id", "object id" or an ARM resource id from one text: a resource id starts with
    /// `/subscriptions/`; otherwise `object:` marks an object id and a bare GUID is a client id.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            None
        } else if text.to_ascii_lowercase().starts_with("/subscriptions/") {
            Some(Self::ResourceId(text.to_owned()))
        } else if let Some(id) = text.strip_prefix("object:") {
            Some(Self::ObjectId(id.trim().to_owned()))
        } else {
            Some(Self::ClientId(
                text.strip_prefix("client:")
                    .unwrap_or(text)
                    .trim()
                    .to_owned(),
            ))
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::ClientId(id) => format!("user-assigned identity with client id {id}"),
            Self::ObjectId(id) => format!("user-assigned identity with object id {id}"),
            Self::ResourceId(id) => format!("user-assigned identity {id}"),
        }
    }
}

/// Where the managed-identity tokens come from.
#[derive(Clone)]
enum Endpoint {
    Imds { host: Url },
    AppService { endpoint: Url, header: SecretString },
    LegacyAppService { endpoint: Url, secret: SecretString },
}

impl Endpoint {
    fn describe(&self) -> String {
        match self {
            Self::Imds { host } => format!("IMDS at {host}"),
            Self::AppService { endpoint, .. } => format!("App Service endpoint {endpoint}"),
            Self::LegacyAppService { endpoint, .. } => {
                format!("legacy App Service endpoint {endpoint}")
            }
        }
    }
}

/// What an environment offers for managed identity, for the sign-in screen.
pub fn describe_environment(environment: &EnvironmentSnapshot) -> String {
    match endpoint_from(environment) {
        Ok(Endpoint::Imds { host }) if host.as_str().starts_with(DEFAULT_IMDS_HOST) => {
            "no App Service variables; would try IMDS (Azure VMs, AKS, Container Apps)".to_owned()
        }
        Ok(endpoint) => endpoint.describe(),
        Err(message) => message,
    }
}

fn endpoint_from(environment: &EnvironmentSnapshot) -> Result<Endpoint, String> {
    let url = |name: &str, value: &str| {
        Url::parse(value).map_err(|error| format!("{name} is not a URL ({value}): {error}"))
    };
    if let (Some(endpoint), Some(header)) = (
        environment.plain("IDENTITY_ENDPOINT"),
        environment.secret("IDENTITY_HEADER"),
    ) {
        return Ok(Endpoint::AppService {
            endpoint: url("IDENTITY_ENDPOINT", &endpoint)?,
            header,
        });
    }
    if let Some(endpoint) = environment.plain("MSI_ENDPOINT") {
        return Ok(Endpoint::LegacyAppService {
            endpoint: url("MSI_ENDPOINT", &endpoint)?,
            secret: environment
                .secret("MSI_SECRET")
                .unwrap_or_else(|| SecretString::from("")),
        });
    }
    let host = environment
        .plain("AZURE_POD_IDENTITY_AUTHORITY_HOST")
        .unwrap_or_else(|| DEFAULT_IMDS_HOST.to_owned());
    Ok(Endpoint::Imds {
        host: url("AZURE_POD_IDENTITY_AUTHORITY_HOST", &host)?,
    })
}

/// Loopback, link-local (169.254.0.0/16, IMDS) or `localhost`.
fn is_local(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_link_local(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A managed identity token source for this process's environment.
pub struct ManagedIdentitySource {
    http: reqwest::Client,
    endpoint: Endpoint,
    user_assigned: Option<UserAssignedId>,
    probed: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for ManagedIdentitySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedIdentitySource")
            .field("endpoint", &self.endpoint.describe())
            .field("user_assigned", &self.user_assigned)
            .finish_non_exhaustive()
    }
}

/// The endpoints' answer; numbers arrive as strings, `expires_on` as seconds or (legacy) a date.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_on: Option<serde_json::Value>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl ManagedIdentitySource {
    pub fn new(
        http: reqwest::Client,
        environment: &EnvironmentSnapshot,
        user_assigned: Option<UserAssignedId>,
    ) -> Result<Self, super::AuthError> {
        let endpoint = endpoint_from(environment).map_err(super::AuthError::Credential)?;
        let url = match &endpoint {
            Endpoint::Imds { host } => host,
            Endpoint::AppService { endpoint, .. } | Endpoint::LegacyAppService { endpoint, .. } => {
                endpoint
            }
        };
        if url.scheme() != "https" && !is_local(url) {
            return Err(super::AuthError::Credential(format!(
                "refusing plain HTTP to {url}: a managed-identity endpoint over HTTP must be on this machine (loopback) or link-local (IMDS)"
            )));
        }
        Ok(Self {
            http,
            endpoint,
            user_assigned,
            probed: tokio::sync::OnceCell::new(),
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "{} via {}",
            self.user_assigned.as_ref().map_or_else(
                || "system-assigned identity".to_owned(),
                UserAssignedId::describe
            ),
            self.endpoint.describe()
        )
    }

    fn request(&self, resource: &str) -> reqwest::RequestBuilder {
        let id_parameter =
            |imds: &'static str, app: &'static str, legacy: &'static str| match self.endpoint {
                Endpoint::Imds { .. } => imds,
                Endpoint::AppService { .. } => app,
                Endpoint::LegacyAppService { .. } => legacy,
            };
        let identity = self.user_assigned.as_ref().map(|id| match id {
            UserAssignedId::ClientId(id) => {
                (id_parameter("client_id", "client_id", "clientid"), id)
            }
            UserAssignedId::ObjectId(id) => (
                id_parameter("object_id", "principal_id", "principal_id"),
                id,
            ),
            UserAssignedId::ResourceId(id) => {
                (id_parameter("msi_res_id", "mi_res_id", "mi_res_id"), id)
            }
        });
        let (mut url, api_version) = match &self.endpoint {
            Endpoint::Imds { host } => (
                host.join("/metadata/identity/oauth2/token")
                    .unwrap_or_else(|_| host.clone()),
                "2018-02-01",
            ),
            Endpoint::AppService { endpoint, .. } => (endpoint.clone(), "2019-08-01"),
            Endpoint::LegacyAppService { endpoint, .. } => (endpoint.clone(), "2017-09-01"),
        };
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("api-version", api_version);
            query.append_pair("resource", resource);
            if let Some((name, value)) = identity {
                query.append_pair(name, value);
            }
        }
        let request = self.http.get(url);
        match &self.endpoint {
            Endpoint::Imds { .. } => request.header("Metadata", "true"),
            Endpoint::AppService { header, .. } => {
                request.header("X-IDENTITY-HEADER", sensitive(header))
            }
            Endpoint::LegacyAppService { secret, .. } => {
                request.header("secret", sensitive(secret))
            }
        }
    }

    async fn fetch(&self, resource: &str) -> Result<AccessToken, super::AuthError> {
        use super::AuthError;
        let is_imds = matches!(self.endpoint, Endpoint::Imds { .. });
        let mut request = self.request(resource);
        if is_imds && self.probed.get().is_none() {
            request = request.timeout(IMDS_PROBE_TIMEOUT);
        }
        let response = request.send().await.map_err(|error| {
            if is_imds && self.probed.get().is_none() && (error.is_connect() || error.is_timeout()) {
                AuthError::Credential(format!(
                    "no managed identity here: {} did not answer within {} s ({}). Managed identity works on Azure VMs, App Service, Functions, AKS and Container Apps; on a laptop sign in another way",
                    self.endpoint.describe(),
                    IMDS_PROBE_TIMEOUT.as_secs(),
                    error.without_url()
                ))
            } else {
                AuthError::Transport(format!("{}: {}", self.endpoint.describe(), error.without_url()))
            }
        })?;
        let _ = self.probed.set(());
        let status = response.status();
        let body = super::read_token_answer(response).await?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<ErrorAnswer>(&body)
                .ok()
                .and_then(|answer| {
                    answer.error_description.or(answer.message).or_else(|| {
                        answer.error.map(|error| match error {
                            serde_json::Value::String(text) => text,
                            other => other.to_string(),
                        })
                    })
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
            return Err(AuthError::Credential(format!(
                "{} for the {} answered HTTP {}: {detail}",
                self.endpoint.describe(),
                self.user_assigned.as_ref().map_or_else(
                    || "system-assigned identity".to_owned(),
                    UserAssignedId::describe
                ),
                status.as_u16()
            )));
        }
        parse_token_answer(&body, OffsetDateTime::now_utc()).map_err(|problem| {
            AuthError::Transport(format!("{}: {problem}", self.endpoint.describe()))
        })
    }
}

/// A managed-identity endpoint's token answer: `access_token` and `expires_on` (Unix seconds as a number
/// or a string, or the legacy date string) or `expires_in`. The error says what was wrong, never the body.
pub fn parse_token_answer(body: &[u8], now: OffsetDateTime) -> Result<AccessToken, String> {
    let answer: TokenAnswer = serde_json::from_slice(body).map_err(|error| {
        format!(
            "unreadable token answer: {}",
            crate::untrusted_text::json_error_detail(&error)
        )
    })?;
    let expires_on = expiry(answer.expires_on.as_ref(), answer.expires_in.as_ref(), now)
        .ok_or_else(|| "the token answer has no readable expires_on".to_owned())?;
    Ok(AccessToken::new(
        Secret::new(answer.access_token),
        expires_on,
    ))
}

/// An identity header's value, marked sensitive (never printed by the HTTP stack, kept out of HPACK's
/// table); a value that is not a valid header is sent empty and refused by the endpoint.
fn sensitive(secret: &SecretString) -> reqwest::header::HeaderValue {
    let mut value = reqwest::header::HeaderValue::from_str(secret.expose_secret())
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// `expires_on` as Unix seconds (number or string) or the legacy 2017-09-01 date, as Linux hosts send it
/// (`MM/dd/yyyy HH:mm:ss +00:00`) or Windows ones (`M/d/yyyy h:mm:ss AM +00:00`; azure-identity's
/// `azure_ml.py::_parse_expires_on` reads both); else `expires_in` seconds from now.
fn expiry(
    expires_on: Option<&serde_json::Value>,
    expires_in: Option<&serde_json::Value>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let as_integer = |value: &serde_json::Value| match value {
        serde_json::Value::Number(number) => number.as_i64(),
        serde_json::Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    if let Some(value) = expires_on {
        if let Some(seconds) = as_integer(value) {
            return OffsetDateTime::from_unix_timestamp(seconds).ok();
        }
        if let Some(text) = value.as_str() {
            let format = time::macros::format_description!(
                "[month]/[day]/[year] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
            );
            if let Ok(at) = OffsetDateTime::parse(text.trim(), format) {
                return Some(at);
            }
            let windows = time::macros::format_description!(
                "[month padding:none]/[day padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period] [offset_hour sign:mandatory]:[offset_minute]"
            );
            if let Ok(at) = OffsetDateTime::parse(text.trim(), windows) {
                return Some(at);
            }
        }
    }
    let seconds = as_integer(expires_in?)?;
    Some(super::expiry_after(now, seconds))
}

#[async_trait::async_trait]
impl TokenCredential for ManagedIdentitySource {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let [scope] = scopes else {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "managed identity takes exactly one scope",
            ));
        };
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        self.fetch(resource).await.map_err(|error| {
            azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                error.to_string(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_headers_are_marked_sensitive() {
        let value = sensitive(&SecretString::from("header-secret"));
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("header-secret"));
    }

    #[test]
    fn extreme_expiries_are_read_without_a_panic() {
        let now = OffsetDateTime::now_utc();
        for value in [
            serde_json::json!(i64::MAX),
            serde_json::json!(i64::MIN),
            serde_json::json!("9223372036854775807"),
            serde_json::json!("-9223372036854775808"),
        ] {
            let _ = expiry(Some(&value), None, OffsetDateTime::now_utc());
            let at = expiry(None, Some(&value), OffsetDateTime::now_utc()).expect("a number");
            assert!(at >= now && at <= now + time::Duration::days(1) + time::Duration::seconds(5));
        }
        assert_eq!(
            expiry(
                None,
                Some(&serde_json::json!(u64::MAX)),
                OffsetDateTime::now_utc()
            ),
            None,
            "not an i64: unreadable"
        );
    }

    fn environment(pairs: &[(&str, &str)]) -> EnvironmentSnapshot {
        EnvironmentSnapshot::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn picks_the_endpoint_from_the_environment() {
        let cases = [
            (
                vec![
                    ("IDENTITY_ENDPOINT", "http://127.0.0.1:41/msi/token"),
                    ("IDENTITY_HEADER", "h"),
                    ("MSI_ENDPOINT", "http://x"),
                ],
                "App Service endpoint http://127.0.0.1:41/msi/token",
            ),
            (
                vec![
                    ("MSI_ENDPOINT", "http://127.0.0.1:41/legacy"),
                    ("MSI_SECRET", "s"),
                ],
                "legacy App Service endpoint http://127.0.0.1:41/legacy",
            ),
            (
                vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://10.0.0.1:2579")],
                "IMDS at http://10.0.0.1:2579/",
            ),
            (
                vec![],
                "no App Service variables; would try IMDS (Azure VMs, AKS, Container Apps)",
            ),
            (
                vec![("MSI_ENDPOINT", "not a url")],
                "MSI_ENDPOINT is not a URL (not a url): relative URL without a base",
            ),
        ];
        for (pairs, expect) in cases {
            assert_eq!(
                describe_environment(&environment(&pairs)),
                expect,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn user_assigned_ids_parse() {
        assert_eq!(
            UserAssignedId::parse(" abc "),
            Some(UserAssignedId::ClientId("abc".into()))
        );
        assert_eq!(
            UserAssignedId::parse("object:abc"),
            Some(UserAssignedId::ObjectId("abc".into()))
        );
        assert_eq!(
            UserAssignedId::parse("/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"),
            Some(UserAssignedId::ResourceId("/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id".into()))
        );
        assert_eq!(UserAssignedId::parse(""), None);
    }

    #[test]
    fn expiry_formats() {
        let number = serde_json::json!("1800000000");
        assert_eq!(
            expiry(Some(&number), None, OffsetDateTime::now_utc()).map(|at| at.unix_timestamp()),
            Some(1_800_000_000)
        );
        let legacy = serde_json::json!("01/15/2027 10:30:00 +00:00");
        assert_eq!(
            expiry(Some(&legacy), None, OffsetDateTime::now_utc()),
            Some(time::macros::datetime!(2027-01-15 10:30:00 UTC))
        );
        let windows = serde_json::json!("1/16/2027 5:24:12 PM +00:00");
        assert_eq!(
            expiry(Some(&windows), None, OffsetDateTime::now_utc()),
            Some(time::macros::datetime!(2027-01-16 17:24:12 UTC))
        );
        let json_number = serde_json::json!(1_800_000_000);
        assert_eq!(
            expiry(Some(&json_number), None, OffsetDateTime::now_utc())
                .map(|at| at.unix_timestamp()),
            Some(1_800_000_000)
        );
        let in_seconds = serde_json::json!("3600");
        let at = expiry(None, Some(&in_seconds), OffsetDateTime::now_utc()).expect("expires_in");
        assert!(at > OffsetDateTime::now_utc() + time::Duration::seconds(3500));
        assert!(
            expiry(
                Some(&serde_json::json!("soon")),
                None,
                OffsetDateTime::now_utc()
            )
            .is_none()
        );
    }
}
