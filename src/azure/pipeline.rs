//! The HTTP pipeline every client shares: HTTPS only, per-request timeout (set on the client), retries of
//! throttled (429) and transient (5xx, connection) failures honouring `Retry-After`, and JSON decoding.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{AzureError, Service, service_error};

/// One page of a list: `{"value":[…],"nextLink":"…"}` as ARM, Key Vault and Graph send it.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(default, rename = "nextLink", alias = "@odata.nextLink")]
    pub next_link: Option<String>,
}

impl<T> Page<T> {
    /// The next link, treating `""` as the end of the list (the Rust SDK does the same).
    pub fn next(&self) -> Option<&str> {
        self.next_link.as_deref().filter(|link| !link.is_empty())
    }
}

/// How often and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First back-off when the server gives no `Retry-After`; doubled each time.
    pub base_delay: Duration,
    /// No single wait is longer than this, whatever `Retry-After` says.
    pub max_delay: Duration,
    /// All waits of one request together stay under this; past it the request ends as it stands.
    pub max_total_delay: Duration,
}

/// A `Retry-After` of zero or in the past still waits this long (a service that says "now" under load
/// would otherwise be hammered).
pub const MIN_RETRY_DELAY: Duration = Duration::from_millis(100);

impl Default for RetryPolicy {
    fn default() -> Self {
        // Key Vault's throttling guidance backs off 1, 2, 4, 8, 16 s.
        Self {
            max_retries: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_total_delay: Duration::from_secs(90),
        }
    }
}

/// A request to send; cloned per attempt.
#[derive(Clone)]
pub struct Outgoing {
    pub method: Method,
    pub url: Url,
    pub body: Option<Bytes>,
    pub bearer: Option<std::sync::Arc<SecretString>>,
    pub headers: Vec<(&'static str, String)>,
    /// Whether sending it twice has the effect of sending it once (GET, PATCH of attributes, DELETE, PUT of
    /// a whole resource). Only such requests are retried after a network error or a 5xx; any request is
    /// retried after a 429, which the service did not carry out.
    pub idempotent: bool,
}

impl Outgoing {
    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url, None, true)
    }

    /// A request with `body` (JSON) that is retried on network errors and 5xx only when `idempotent`.
    pub fn new(method: Method, url: Url, body: Option<Bytes>, idempotent: bool) -> Self {
        Self {
            method,
            url,
            body,
            bearer: None,
            headers: Vec::new(),
            idempotent,
        }
    }
}

/// A response with its body read.
#[derive(Debug)]
pub struct Received {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    /// Decodes a success body as `T`, or turns an error status into a typed error.
    pub fn json<T: DeserializeOwned>(&self, service: Service, host: &str) -> Result<T, AzureError> {
        if self.status == StatusCode::UNAUTHORIZED
            && let Some(reason) = self
                .headers
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|value| value.to_str().ok())
                .and_then(super::challenge::claims_challenge)
        {
            return Err(AzureError::ClaimsChallenge { service, reason });
        }
        if !self.status.is_success() {
            return Err(service_error(service, self.status.as_u16(), &self.body));
        }
        serde_json::from_slice(&self.body).map_err(|error| AzureError::InvalidResponse {
            host: host.to_owned(),
            detail: crate::untrusted_text::json_error_detail(&error),
        })
    }
}

/// `url` with its query kept but exactly one `api-version`, `api_version`: a next link may carry a stale
/// one, or none, and a service refuses two.
pub fn with_one_api_version(url: Url, api_version: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != "api-version")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let mut pinned = url;
    pinned
        .query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("api-version", api_version);
    pinned
}

/// Checks, before a token is attached, that `url` still goes to `endpoint`'s host and port over HTTPS: a
/// path joined onto the endpoint (`//evil.example/x`, a full URL in a resource id) can change the host.
pub fn ensure_endpoint_host(url: &Url, endpoint: &Url, service: Service) -> Result<(), AzureError> {
    let same = url.scheme() == "https"
        && url.host_str() == endpoint.host_str()
        && url.port_or_known_default() == endpoint.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none();
    if same {
        Ok(())
    } else {
        Err(AzureError::TokenRefused(format!(
            "{url} is not on {service}'s endpoint {endpoint}"
        )))
    }
}

/// Told of every response's fate, so what paces the work (the worker's adaptive bounds) learns when a
/// service starts throttling and when it answers freely again.
pub trait ResponseObserver: Send + Sync {
    /// A response from `service`: `throttled` for a 429, else any other answer.
    fn observe(&self, service: Service, throttled: bool);
}

/// The shared HTTP pipeline.
#[derive(Clone)]
pub struct Pipeline {
    http: reqwest::Client,
    retry: RetryPolicy,
    observer: Option<std::sync::Arc<dyn ResponseObserver>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("retry", &self.retry)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    pub fn new(http: reqwest::Client, retry: RetryPolicy) -> Self {
        Self {
            http,
            retry,
            observer: None,
        }
    }

    /// Reports every response to `observer`.
    pub fn with_observer(mut self, observer: Option<std::sync::Arc<dyn ResponseObserver>>) -> Self {
        self.observer = observer;
        self
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `request` with `token` as its bearer and decodes the JSON answer (ARM and Graph; Key Vault
    /// goes through its challenge first).
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        service: Service,
        mut request: Outgoing,
        token: &azure_core::credentials::AccessToken,
    ) -> Result<T, AzureError> {
        let host = request.url.host_str().unwrap_or_default().to_owned();
        request.bearer = Some(std::sync::Arc::new(SecretString::from(
            token.token.secret(),
        )));
        self.execute(service, &request).await?.json(service, &host)
    }

    /// Sends `request`, retrying 429 and transient failures; returns whatever final status came back.
    pub async fn execute(
        &self,
        service: Service,
        request: &Outgoing,
    ) -> Result<Received, AzureError> {
        let host = request.url.host_str().unwrap_or_default().to_owned();
        if request.url.scheme() != "https" {
            return Err(AzureError::TokenRefused(format!(
                "{} is not HTTPS",
                request.url
            )));
        }
        let mut attempt = 0;
        let mut waited = Duration::ZERO;
        loop {
            let result = self.send_once(request).await;
            if let (Some(observer), Ok(received)) = (&self.observer, &result) {
                observer.observe(service, received.status == StatusCode::TOO_MANY_REQUESTS);
            }
            let retry_delay = match &result {
                // A 429 was not carried out (Key Vault: "throttled calls don't count"), so any request may
                // be sent again; a 5xx may have been carried out before it failed, so only an idempotent
                // request is.
                Ok(received)
                    if received.status == StatusCode::TOO_MANY_REQUESTS
                        || (request.idempotent && is_retryable_status(received.status)) =>
                {
                    Some(self.delay(retry_after(&received.headers), attempt, jitter()))
                }
                // Once a request may have reached the service, only an idempotent one is sent again; a
                // non-idempotent write that met a network error ends as "outcome unknown" in the caller.
                Err(AzureError::Network { .. }) if request.idempotent => {
                    Some(self.delay(None, attempt, jitter()))
                }
                _ => None,
            };
            match retry_delay {
                Some(delay)
                    if attempt < self.retry.max_retries
                        && waited.saturating_add(delay) <= self.retry.max_total_delay =>
                {
                    tracing::debug!(%host, attempt, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    attempt += 1;
                }
                Some(_) => {
                    return match result {
                        Ok(received) if received.status == StatusCode::TOO_MANY_REQUESTS => {
                            Err(AzureError::Throttled {
                                service,
                                attempts: attempt + 1,
                            })
                        }
                        other => other,
                    };
                }
                None => return result,
            }
        }
    }

    /// The wait before retry `attempt`: the service's `Retry-After` (at least [`MIN_RETRY_DELAY`]), else
    /// the doubling back-off scaled by `jitter` (0.8–1.2, so many clients throttled together do not come
    /// back together); never more than `max_delay`.
    fn delay(&self, retry_after: Option<Duration>, attempt: u32, jitter: f64) -> Duration {
        let delay = match retry_after {
            Some(asked) => asked.max(MIN_RETRY_DELAY),
            None => self.backoff(attempt).mul_f64(jitter.clamp(0.8, 1.2)),
        };
        delay.min(self.retry.max_delay)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt);
        self.retry
            .base_delay
            .saturating_mul(factor)
            .min(self.retry.max_delay)
    }

    async fn send_once(&self, request: &Outgoing) -> Result<Received, AzureError> {
        let host = request.url.host_str().unwrap_or_default().to_owned();
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone());
        if let Some(token) = &request.bearer {
            builder = builder.bearer_auth(token.expose_secret());
        }
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        builder = match &request.body {
            Some(body) => builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone()),
            None if request.method != Method::GET => {
                builder.header(reqwest::header::CONTENT_LENGTH, "0")
            }
            None => builder,
        };
        let response = builder
            .send()
            .await
            .map_err(|error| transport_error(&host, error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_capped(response, &host).await?;
        Ok(Received {
            status,
            headers,
            body,
        })
    }
}

/// A random factor in 0.8–1.2 for the back-off.
fn jitter() -> f64 {
    rand::random_range(0.8..=1.2)
}

/// The most of one answer that is read, after decompression: a page of Key Vault's or ARM's is tens of
/// kilobytes, a backup blob a few megabytes; a vault opened by a typed URI could answer its first,
/// tokenless request with a decompression bomb.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Reads the (decompressed) body, refusing past [`MAX_RESPONSE_BYTES`].
async fn read_capped(response: reqwest::Response, host: &str) -> Result<Bytes, AzureError> {
    crate::http_body::read_capped(response, MAX_RESPONSE_BYTES)
        .await
        .map_err(|error| match error {
            crate::http_body::CappedReadError::Transport(error) => transport_error(host, error),
            too_large => AzureError::InvalidResponse {
                host: host.to_owned(),
                detail: too_large.to_string(),
            },
        })
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

fn transport_error(host: &str, error: reqwest::Error) -> AzureError {
    if error.is_timeout() {
        AzureError::Timeout {
            host: host.to_owned(),
        }
    } else {
        // `without_url` keeps query strings (which may hold skip tokens) out of messages.
        let detail = error.without_url();
        let mut text = detail.to_string();
        let mut source = std::error::Error::source(&detail);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        AzureError::Network {
            host: host.to_owned(),
            detail: text,
        }
    }
}

/// Reads `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` (seconds or an HTTP date).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_millis(ms));
        }
    }
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = when - time::OffsetDateTime::now_utc();
    Some(Duration::from_secs(wait.whole_seconds().max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("x-ms-retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        let mut dated = HeaderMap::new();
        dated.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after(&dated),
            Some(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn empty_next_link_ends_paging() {
        let page: Page<u32> = serde_json::from_str(r#"{"value":[1],"nextLink":""}"#).expect("page");
        assert_eq!(page.next(), None);
        let page: Page<u32> =
            serde_json::from_str(r#"{"value":[],"nextLink":null}"#).expect("page");
        assert_eq!(page.next(), None);
        let page: Page<u32> =
            serde_json::from_str(r#"{"value":[2],"nextLink":"https://x/y"}"#).expect("page");
        assert_eq!(page.next(), Some("https://x/y"));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let pipeline = Pipeline::new(
            reqwest::Client::new(),
            RetryPolicy {
                max_retries: 3,
                base_delay: Duration::from_millis(100),
                max_delay: Duration::from_millis(350),
                max_total_delay: Duration::from_secs(1),
            },
        );
        assert_eq!(pipeline.backoff(0), Duration::from_millis(100));
        assert_eq!(pipeline.backoff(1), Duration::from_millis(200));
        assert_eq!(pipeline.backoff(2), Duration::from_millis(350));
    }

    #[test]
    fn delays_are_jittered_floored_and_capped() {
        let pipeline = Pipeline::new(
            reqwest::Client::new(),
            RetryPolicy {
                max_retries: 3,
                base_delay: Duration::from_millis(1_000),
                max_delay: Duration::from_secs(30),
                max_total_delay: Duration::from_secs(60),
            },
        );
        assert_eq!(pipeline.delay(None, 0, 0.8), Duration::from_millis(800));
        assert_eq!(pipeline.delay(None, 0, 1.2), Duration::from_millis(1_200));
        assert_eq!(
            pipeline.delay(None, 0, 7.0),
            Duration::from_millis(1_200),
            "jitter is clamped"
        );
        assert_eq!(
            pipeline.delay(Some(Duration::ZERO), 0, 1.0),
            MIN_RETRY_DELAY,
            "a zero or past Retry-After still waits a little"
        );
        assert_eq!(
            pipeline.delay(Some(Duration::from_secs(3_600)), 0, 1.0),
            Duration::from_secs(30)
        );
        for _ in 0..100 {
            let factor = jitter();
            assert!((0.8..=1.2).contains(&factor));
        }
    }

    #[test]
    fn a_token_goes_only_to_the_endpoints_host() {
        let arm = url::Url::parse("https://management.azure.com").expect("url");
        let joined = |path: &str| arm.join(path).expect("joins");
        assert!(
            ensure_endpoint_host(
                &joined("/subscriptions?api-version=1"),
                &arm,
                Service::ResourceManager
            )
            .is_ok()
        );
        for path in [
            "//evil.example/subscriptions",
            "https://evil.example/x",
            "http://management.azure.com/x",
            "https://management.azure.com:8443/x",
            "https://user@management.azure.com/x",
        ] {
            let refused = ensure_endpoint_host(&joined(path), &arm, Service::ResourceManager);
            assert!(
                matches!(refused, Err(AzureError::TokenRefused(_))),
                "{path}: {refused:?}"
            );
        }
    }

    #[test]
    fn the_cap_is_sixteen_mebibytes() {
        assert_eq!(MAX_RESPONSE_BYTES, 16 * 1024 * 1024);
    }
}
