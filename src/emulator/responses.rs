//! Error and JSON responses in the shapes each emulated service uses (Entra, ARM `CloudError`, Key Vault
//! `KeyVaultError`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A random request id for `x-ms-request-id`, from the thread's generator: `Uuid::new_v4` asks the OS
/// for every one (a system call per response, which a sandboxed kernel makes slow), and an id only has
/// to be unique.
fn request_id() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// JSON with the headers Key Vault sends.
pub fn keyvault_json(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        "x-ms-keyvault-service-version",
        HeaderValue::from_static("1.9.0.0"),
    );
    headers.insert("x-ms-keyvault-region", HeaderValue::from_static("local"));
    if let Ok(id) = HeaderValue::from_str(&request_id().to_string()) {
        headers.insert("x-ms-request-id", id);
    }
    response
}

/// `{"error":{"code","message","innererror"?}}` as Key Vault sends it.
pub fn keyvault_error(
    status: StatusCode,
    code: &str,
    message: &str,
    inner: Option<&str>,
) -> Response {
    let mut error = json!({"code": code, "message": message});
    if let Some(inner) = inner {
        error["innererror"] = json!({"code": inner});
    }
    keyvault_json(status, json!({ "error": error }))
}

/// ARM's `CloudError`.
/// Key Vault's 429 when a vault's limit is reached (`--throttle-model azure`), with `Retry-After` in seconds.
pub fn throttled(retry_after_seconds: u64) -> Response {
    let mut response = keyvault_error(
        StatusCode::TOO_MANY_REQUESTS,
        "Throttled",
        "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        None,
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&retry_after_seconds.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

pub fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Entra's OAuth error body (HTTP 400 unless said otherwise).
pub fn entra_error(status: StatusCode, error: &str, aadsts: u32, description: &str) -> Response {
    let now = time::OffsetDateTime::now_utc();
    let timestamp = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let trace = uuid::Uuid::new_v4().to_string();
    (
        status,
        axum::Json(json!({
            "error": error,
            "error_description": format!("AADSTS{aadsts}: {description} Trace ID: {trace}"),
            "error_codes": [aadsts],
            "timestamp": timestamp,
            "trace_id": trace,
            "correlation_id": uuid::Uuid::new_v4().to_string(),
            "error_uri": format!("https://login.microsoftonline.com/error?code={aadsts}"),
        })),
    )
        .into_response()
}

/// Which error shape a host answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// Entra's OAuth `{"error":"…","error_description":"…"}`.
    Entra,
    /// `{"error":{"code","message"}}`, as ARM, Graph and Key Vault send it.
    Service,
}

/// An error answer that is not JSON (axum's own rejections: a body that does not parse, a method the
/// route lacks, a path that is not UTF-8, a wrong content type) rewritten in the host's error shape, its
/// text as the message, as Azure never answers an API call with plain text.
pub async fn azure_shaped(shape: ErrorShape, response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut shaped = match shape {
        ErrorShape::Entra => entra_error(status, "invalid_request", 900144, &message),
        ErrorShape::Service => {
            let code: String = status
                .canonical_reason()
                .unwrap_or("Error")
                .split(|c: char| !c.is_ascii_alphanumeric())
                .collect();
            keyvault_error(status, &code, &message, None)
        }
    };
    // Keep what the rejection said beside its body: `Allow`, `WWW-Authenticate`, `Retry-After`.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

/// The bearer token of a request, if any.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}
