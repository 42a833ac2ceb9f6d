//! OAuth 2.0 device authorization grant against Entra (`/{tenant}/oauth2/v2.0/devicecode` + `/token`), and a
//! credential that redeems the resulting rotating refresh token once per resource (ARM, Key Vault, Graph).
//!
//! Written by hand: azure_identity 1.0 has no device-code credential, and the `oauth2` crate would pull a
//! second reqwest stack while the Entra-specific parts (tenant path, AADSTS errors, one refresh token redeemed
//! per resource) would be ours anyway.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use super::AuthError;

/// Scopes asked for at sign-in besides the first resource: a refresh token and the id claims.
const SIGN_IN_EXTRA_SCOPES: &str = "offline_access openid profile";

/// What to show the person who signs in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeviceCodePrompt {
    pub user_code: String,
    pub verification_uri: String,
    #[serde(default)]
    pub message: String,
    #[serde(deserialize_with = "number_or_string")]
    pub expires_in: u64,
    #[serde(default = "default_interval", deserialize_with = "number_or_string")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    5
}

/// A started device-code sign-in: the prompt plus the secret device code to poll with.
pub struct DeviceAuthorization {
    pub prompt: DeviceCodePrompt,
    device_code: SecretString,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("prompt", &self.prompt)
            .finish_non_exhaustive()
    }
}

/// Tokens from a successful grant.
pub struct GrantedTokens {
    pub access_token: AccessToken,
    pub refresh_token: Option<SecretString>,
}

#[derive(Deserialize)]
struct RawDeviceAuthorization {
    device_code: String,
    #[serde(flatten)]
    prompt: DeviceCodePrompt,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(deserialize_with = "number_or_string")]
    expires_in: u64,
}

#[derive(Deserialize)]
struct EntraErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Accepts `3599` and `"3599"`: Entra sends numbers, managed-identity endpoints send strings.
pub(crate) fn number_or_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(u64),
        Text(String),
    }
    match NumberOrString::deserialize(deserializer)? {
        NumberOrString::Number(n) => Ok(n),
        NumberOrString::Text(text) => text.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// Talks to one Entra tenant's v2.0 endpoints as one public client.
#[derive(Debug, Clone)]
pub struct EntraClient {
    http: reqwest::Client,
    authority_host: Url,
    tenant: String,
    client_id: String,
}

impl EntraClient {
    pub fn new(
        http: reqwest::Client,
        authority_host: Url,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        Self {
            http,
            authority_host,
            tenant: tenant.into(),
            client_id: client_id.into(),
        }
    }

    fn endpoint(&self, leaf: &str) -> Result<Url, AuthError> {
        super::check_tenant(&self.tenant)?;
        self.authority_host
            .join(&format!("{}/oauth2/v2.0/{leaf}", self.tenant))
            .map_err(|error| AuthError::Credential(format!("bad authority URL: {error}")))
    }

    /// Starts a device-code sign-in for `first_scope` (plus offline access and profile).
    pub async fn start_device_code(
        &self,
        first_scope: &str,
    ) -> Result<DeviceAuthorization, AuthError> {
        let scope = format!("{first_scope} {SIGN_IN_EXTRA_SCOPES}");
        let response = self
            .http
            .post(self.endpoint("devicecode")?)
            .form(&[
                ("client_id", self.client_id.as_str()),
                ("scope", scope.as_str()),
            ])
            .send()
            .await
            .map_err(|error| AuthError::Transport(error.without_url().to_string()))?;
        let raw: RawDeviceAuthorization = read_json_or_entra_error(response).await?;
        Ok(DeviceAuthorization {
            prompt: raw.prompt,
            device_code: SecretString::from(raw.device_code),
        })
    }

    /// Polls until the person approves, declines, or the code expires; honours `interval` and `slow_down`.
    pub async fn poll_device_code(
        &self,
        authorization: &DeviceAuthorization,
    ) -> Result<GrantedTokens, AuthError> {
        let mut interval = Duration::from_secs(authorization.prompt.interval.max(1));
        let deadline = poll_deadline(tokio::time::Instant::now(), authorization.prompt.expires_in);
        // After a network error or a 5xx, wait longer each time (up to a minute), until the code expires.
        let mut unavailable_wait = Duration::ZERO;
        loop {
            tokio::time::sleep(interval + unavailable_wait).await;
            if tokio::time::Instant::now() > deadline {
                return Err(AuthError::CodeExpired);
            }
            let form = [
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", self.client_id.as_str()),
                ("device_code", authorization.device_code.expose_secret()),
            ];
            match self.token_request(&form).await {
                Ok(tokens) => return Ok(tokens),
                Err(AuthError::Unavailable(why)) => {
                    unavailable_wait = (unavailable_wait * 2)
                        .max(Duration::from_secs(1))
                        .min(Duration::from_secs(60));
                    tracing::debug!(%why, wait_s = unavailable_wait.as_secs(), "device-code poll: endpoint unavailable, polling on");
                }
                Err(AuthError::Entra { error, .. }) if error == "authorization_pending" => {}
                Err(AuthError::Entra { error, .. }) if error == "slow_down" => {
                    interval += Duration::from_secs(5);
                }
                Err(AuthError::Entra { error, .. }) if error == "authorization_declined" => {
                    return Err(AuthError::Declined);
                }
                Err(AuthError::Entra { error, .. })
                    if error == "expired_token" || error == "bad_verification_code" =>
                {
                    return Err(AuthError::CodeExpired);
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Redeems a refresh token for `scope`; the answer carries the rotated refresh token.
    pub async fn redeem_refresh_token(
        &self,
        refresh_token: &SecretString,
        scope: &str,
    ) -> Result<GrantedTokens, AuthError> {
        let scope = format!("{scope} offline_access");
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.client_id.as_str()),
            ("refresh_token", refresh_token.expose_secret()),
            ("scope", scope.as_str()),
        ];
        self.token_request(&form).await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<GrantedTokens, AuthError> {
        let response = self
            .http
            .post(self.endpoint("token")?)
            .form(form)
            .send()
            .await
            .map_err(|error| AuthError::Unavailable(error.without_url().to_string()))?;
        let body: TokenResponse = read_json_or_entra_error(response).await?;
        Ok(body.granted(OffsetDateTime::now_utc()))
    }
}

impl TokenResponse {
    fn granted(self, now: OffsetDateTime) -> GrantedTokens {
        let expires_on =
            super::expiry_after(now, i64::try_from(self.expires_in).unwrap_or(i64::MAX));
        GrantedTokens {
            access_token: AccessToken::new(self.access_token, expires_on),
            refresh_token: self.refresh_token.map(SecretString::from),
        }
    }
}

/// Entra's token answer (`access_token`, `refresh_token`, `expires_in` as a number or a string) as the
/// tokens it grants; the error names what was wrong, never the body.
pub fn parse_token_response(body: &[u8], now: OffsetDateTime) -> Result<GrantedTokens, String> {
    serde_json::from_slice::<TokenResponse>(body)
        .map(|response| response.granted(now))
        .map_err(|error| {
            format!(
                "unexpected token response: {}",
                crate::untrusted_text::json_error_detail(&error)
            )
        })
}

async fn read_json_or_entra_error<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, AuthError> {
    let status = response.status();
    let bytes = super::read_token_answer(response).await?;
    if status.is_server_error() {
        return Err(AuthError::Unavailable(format!(
            "token endpoint answered HTTP {status}"
        )));
    }
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|error| {
            AuthError::Transport(format!(
                "unexpected token response: {}",
                crate::untrusted_text::json_error_detail(&error)
            ))
        });
    }
    match serde_json::from_slice::<EntraErrorBody>(&bytes) {
        Ok(body) => Err(AuthError::Entra {
            error: body.error,
            description: body.error_description,
        }),
        Err(_) => Err(AuthError::Transport(format!(
            "token endpoint answered HTTP {status}"
        ))),
    }
}

/// Called with each rotated refresh token, so it can be persisted (the OS keyring).
/// The Azure CLI's public client id: the default for device-code sign-in (pre-authorized for ARM, Key
/// Vault and Graph in every tenant).
pub const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

pub type RefreshTokenSink = Arc<dyn Fn(&SecretString) + Send + Sync>;

/// A `TokenCredential` that redeems one rotating refresh token per requested resource.
pub struct RefreshTokenCredential {
    entra: EntraClient,
    /// Shared by the credentials of every tenant: one rotating refresh token for the account.
    refresh_token: Arc<Mutex<SecretString>>,
    /// One redemption at a time across all tenants: each rotates the shared refresh token, and a second
    /// caller redeeming the token the first just spent would be refused (`invalid_grant`).
    redeeming: Arc<tokio::sync::Mutex<()>>,
    on_rotate: Option<RefreshTokenSink>,
}

impl std::fmt::Debug for RefreshTokenCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshTokenCredential")
            .field("tenant", &self.entra.tenant)
            .finish_non_exhaustive()
    }
}

impl RefreshTokenCredential {
    pub fn new(
        entra: EntraClient,
        refresh_token: SecretString,
        on_rotate: Option<RefreshTokenSink>,
    ) -> Self {
        Self {
            entra,
            refresh_token: Arc::new(Mutex::new(refresh_token)),
            redeeming: Arc::default(),
            on_rotate,
        }
    }

    /// The same account in another tenant (a B2B guest): the shared refresh token, redeemed at that
    /// tenant's token endpoint.
    pub fn for_tenant(&self, tenant: &str) -> Self {
        let mut entra = self.entra.clone();
        entra.tenant = tenant.to_owned();
        Self {
            entra,
            refresh_token: self.refresh_token.clone(),
            redeeming: self.redeeming.clone(),
            on_rotate: self.on_rotate.clone(),
        }
    }

    /// The refresh token as it stands now (after any rotation).
    pub fn current_refresh_token(&self) -> SecretString {
        let guard = self
            .refresh_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        SecretString::from(guard.expose_secret().to_owned())
    }
}

#[async_trait::async_trait]
impl TokenCredential for RefreshTokenCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let scope = scopes.first().copied().unwrap_or_default();
        let _one_at_a_time = self.redeeming.lock().await;
        let refresh_token = self.current_refresh_token();
        let granted = self
            .entra
            .redeem_refresh_token(&refresh_token, scope)
            .await
            .map_err(|error| {
                azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    error.to_string(),
                )
            })?;
        if let Some(rotated) = granted.refresh_token {
            if let Some(sink) = &self.on_rotate {
                sink(&rotated);
            }
            let mut guard = self
                .refresh_token
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *guard = rotated;
        }
        Ok(granted.access_token)
    }
}

/// When a device code's polling stops: `expires_in` is an outside number, so a lifetime past a day (or
/// one that would overflow the clock) is a day.
fn poll_deadline(now: tokio::time::Instant, expires_in: u64) -> tokio::time::Instant {
    let lifetime = expires_in.min(super::LONGEST_LIFETIME_SECONDS.unsigned_abs());
    now.checked_add(Duration::from_secs(lifetime))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token endpoint that answers each connection with the next of `answers` (`None`: closes the
    /// connection without a word), then keeps giving the last one.
    async fn scripted_token_endpoint(answers: Vec<Option<(u16, &'static str)>>) -> Url {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let mut answers = answers.into_iter().peekable();
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let answer = if answers.len() > 1 {
                    answers.next().flatten()
                } else {
                    answers.peek().cloned().flatten()
                };
                if let Some((status, body)) = answer {
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                }
            }
        });
        Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url")
    }

    #[tokio::test]
    async fn polling_rides_out_network_errors_and_server_errors_until_the_grant() {
        let endpoint = scripted_token_endpoint(vec![
            Some((503, "<html>busy</html>")),
            None,
            Some((400, r#"{"error":"authorization_pending"}"#)),
            Some((
                200,
                r#"{"access_token":"at","expires_in":3600,"refresh_token":"rt"}"#,
            )),
        ])
        .await;
        let client = EntraClient::new(
            reqwest::Client::new(),
            endpoint,
            "common",
            AZURE_CLI_CLIENT_ID,
        );
        let authorization = DeviceAuthorization {
            prompt: DeviceCodePrompt {
                user_code: "ABC".into(),
                verification_uri: "https://microsoft.com/devicelogin".into(),
                message: String::new(),
                expires_in: 120,
                interval: 1,
            },
            device_code: SecretString::from("dc"),
        };
        let granted = client
            .poll_device_code(&authorization)
            .await
            .expect("a 503 and a dropped connection are ridden out");
        assert_eq!(granted.access_token.token.secret(), "at");
    }

    #[test]
    fn a_huge_code_lifetime_polls_for_a_day_at_most() {
        let now = tokio::time::Instant::now();
        assert_eq!(poll_deadline(now, 900), now + Duration::from_secs(900));
        assert_eq!(
            poll_deadline(now, u64::MAX),
            now + Duration::from_secs(86_400)
        );
    }

    #[test]
    fn prompt_accepts_numbers_as_strings() {
        let raw: RawDeviceAuthorization = serde_json::from_str(
            r#"{"device_code":"D","user_code":"U","verification_uri":"https://x/device","expires_in":"900","interval":5}"#,
        )
        .expect("parse");
        assert_eq!(raw.prompt.expires_in, 900);
        assert_eq!(raw.prompt.interval, 5);
    }

    #[test]
    fn debug_never_shows_the_device_code() {
        let authorization = DeviceAuthorization {
            prompt: DeviceCodePrompt {
                user_code: "U".into(),
                verification_uri: "https://x".into(),
                message: String::new(),
                expires_in: 1,
                interval: 1,
            },
            device_code: SecretString::from("very-secret-device-code"),
        };
        assert!(!format!("{authorization:?}").contains("very-secret"));
    }
}
