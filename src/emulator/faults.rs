//! Fault injection and the request log. Faults (429 with `Retry-After`, 500/503, dropped connections) are
//! drawn per request at configurable rates for the ARM, Graph and Key Vault hosts; the Entra and
//! managed-identity endpoints on `login.localhost` are exempt so that sign-in stays deterministic while the
//! REST layer's retries are exercised. Every request is logged (method, host, path, status, principal) for
//! tests to read.

use std::sync::Mutex;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde_json::json;

/// Fault rates, each a probability in `0.0..=1.0` per request.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Answer 429 Too Many Requests with `Retry-After: retry_after_seconds`.
    pub throttle_rate: f64,
    pub retry_after_seconds: u32,
    /// Answer 500 or 503 (alternately drawn).
    pub server_error_rate: f64,
    /// Close the connection without answering.
    pub drop_rate: f64,
    /// Writes only (any method but GET): carry the request out, then close the connection without
    /// answering, so the client cannot know whether it happened.
    pub lost_answer_rate: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            throttle_rate: 0.0,
            retry_after_seconds: 1,
            server_error_rate: 0.0,
            drop_rate: 0.0,
            lost_answer_rate: 0.0,
        }
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Serve,
    Throttle,
    ServerError(StatusCode),
    Drop,
    /// Serve, then drop the answer.
    LoseAnswer,
}

impl Faults {
    pub fn is_active(&self) -> bool {
        self.throttle_rate > 0.0
            || self.server_error_rate > 0.0
            || self.drop_rate > 0.0
            || self.lost_answer_rate > 0.0
    }

    /// Draws the fate of one request; `is_write` for any method but GET.
    pub fn decide(&self, is_write: bool) -> Decision {
        if !self.is_active() {
            return Decision::Serve;
        }
        let mut rng = rand::rng();
        if is_write && self.lost_answer_rate > 0.0 && rng.random::<f64>() < self.lost_answer_rate {
            return Decision::LoseAnswer;
        }
        let draw: f64 = rng.random();
        if draw < self.drop_rate {
            Decision::Drop
        } else if draw < self.drop_rate + self.throttle_rate {
            Decision::Throttle
        } else if draw < self.drop_rate + self.throttle_rate + self.server_error_rate {
            if rng.random_bool(0.5) {
                Decision::ServerError(StatusCode::INTERNAL_SERVER_ERROR)
            } else {
                Decision::ServerError(StatusCode::SERVICE_UNAVAILABLE)
            }
        } else {
            Decision::Serve
        }
    }

    /// The response for a throttled or failed request, in the JSON shape every emulated service accepts.
    pub fn response(&self, decision: Decision) -> Option<Response> {
        match decision {
            Decision::Throttle => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(json!({"error": {
                        "code": "Throttled",
                        "message": "Rate limit is exceeded. Try again in a moment (emulator fault injection)."
                    }})),
                )
                    .into_response();
                if let Ok(value) = HeaderValue::from_str(&self.retry_after_seconds.to_string()) {
                    response.headers_mut().insert("retry-after", value);
                }
                Some(response)
            }
            Decision::ServerError(status) => Some(
                (
                    status,
                    axum::Json(json!({"error": {
                        "code": "InternalServerError",
                        "message": "The service encountered an internal error (emulator fault injection)."
                    }})),
                )
                    .into_response(),
            ),
            Decision::Serve | Decision::Drop | Decision::LoseAnswer => None,
        }
    }
}

/// One served (or dropped) request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    pub host: String,
    pub path: String,
    /// `None` when the connection was dropped by fault injection.
    pub status: Option<u16>,
    /// The `oid` of the bearer token, if the request carried one.
    pub principal: Option<String>,
}

/// The log, bounded so a long-running emulator does not grow without limit.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<Vec<LoggedRequest>>,
}

const LOG_LIMIT: usize = 100_000;

impl RequestLog {
    pub fn record(&self, entry: LoggedRequest) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= LOG_LIMIT {
            entries.drain(..LOG_LIMIT / 10);
        }
        entries.push(entry);
    }

    pub fn snapshot(&self) -> Vec<LoggedRequest> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// The `oid` claim of a bearer token, for the log only (not verified here; every API verifies it).
pub fn token_object_id(authorization: Option<&HeaderValue>) -> Option<String> {
    let value = authorization?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("oid")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_follow_the_rates() {
        assert_eq!(Faults::default().decide(false), Decision::Serve);
        let always_throttle = Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(always_throttle.decide(false), Decision::Throttle);
        let response = always_throttle.response(Decision::Throttle).expect("a 429");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers().get("retry-after").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        let always_drop = Faults {
            drop_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(always_drop.decide(false), Decision::Drop);
        let half_errors = Faults {
            server_error_rate: 0.5,
            ..Faults::default()
        };
        let errors = (0..2000)
            .filter(|_| matches!(half_errors.decide(false), Decision::ServerError(_)))
            .count();
        assert!((800..1200).contains(&errors), "{errors} of 2000");
    }

    #[test]
    fn log_reads_the_principal() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"oid":"abc"}"#);
        let header = HeaderValue::from_str(&format!("Bearer x.{payload}.y")).expect("header");
        assert_eq!(token_object_id(Some(&header)).as_deref(), Some("abc"));
        assert_eq!(token_object_id(None), None);
    }
}
