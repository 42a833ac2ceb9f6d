//! `--throttle-model azure`: each vault throttles at Key Vault's published limits (LEARN
//! key-vault/general/service-limits, per vault per region per 10 s): secret writes 300, key creation 20
//! (software keys), every other transaction 4,000. A token bucket per vault and class holds one second's
//! worth and refills at the published rate, so a client that goes faster than Key Vault allows meets 429s
//! at once rather than after a 10-second burst (the service's exact windowing is not published;
//! smoothing it is the conservative reading). A throttled call does not count, as the service documents,
//! and its 429 carries `Retry-After` in whole seconds, as Key Vault sends it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which of Key Vault's limits a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionClass {
    /// `PUT /secrets/{name}`: 300 per 10 s.
    SecretWrite,
    /// Key creation, import and rotation: 20 per 10 s (software keys).
    KeyCreate,
    /// Everything else: 4,000 per 10 s.
    Other,
}

impl TransactionClass {
    /// Transactions allowed per 10 s.
    pub fn limit_per_10s(self) -> f64 {
        match self {
            Self::SecretWrite => 300.0,
            Self::KeyCreate => 20.0,
            Self::Other => 4000.0,
        }
    }

    /// The class of a data-plane request.
    pub fn of(method: &str, path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        let segments: Vec<&str> = lower.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            ("PUT", ["secrets", _]) => Self::SecretWrite,
            ("POST", ["keys", _, "create" | "rotate"]) | ("PUT", ["keys", _]) => Self::KeyCreate,
            _ => Self::Other,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The buckets of every vault; empty until a vault is called.
#[derive(Debug, Default)]
pub struct VaultThrottle {
    buckets: Mutex<HashMap<(String, TransactionClass), Bucket>>,
}

impl VaultThrottle {
    /// Takes a token for one call to `vault`, or says how long until one is there.
    pub fn admit(&self, vault: &str, class: TransactionClass) -> Result<(), Duration> {
        let rate = class.limit_per_10s() / 10.0;
        let capacity = rate.max(1.0);
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets
            .entry((vault.to_ascii_lowercase(), class))
            .or_insert(Bucket {
                tokens: capacity,
                last: now,
            });
        let refilled = now.duration_since(bucket.last).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refilled).min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

/// `Retry-After` in whole seconds (at least 1), as Key Vault sends it.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_classed_as_key_vault_counts_them() {
        assert_eq!(
            TransactionClass::of("PUT", "/secrets/a"),
            TransactionClass::SecretWrite
        );
        assert_eq!(
            TransactionClass::of("POST", "/keys/k/create"),
            TransactionClass::KeyCreate
        );
        assert_eq!(
            TransactionClass::of("POST", "/keys/k/rotate"),
            TransactionClass::KeyCreate
        );
        assert_eq!(
            TransactionClass::of("DELETE", "/secrets/a"),
            TransactionClass::Other
        );
        assert_eq!(
            TransactionClass::of("GET", "/secrets"),
            TransactionClass::Other
        );
    }

    #[test]
    fn a_bucket_holds_a_second_of_the_rate_and_refuses_beyond_it() {
        let throttle = VaultThrottle::default();
        let admitted = (0..500)
            .filter(|_| throttle.admit("kv", TransactionClass::Other).is_ok())
            .count();
        assert!((400..=402).contains(&admitted), "{admitted}");
        let wait = throttle
            .admit("kv", TransactionClass::Other)
            .expect_err("throttled");
        assert!(wait <= Duration::from_millis(3), "{wait:?}");
        assert_eq!(retry_after_seconds(wait), 1);
        // Another vault has its own bucket.
        assert!(throttle.admit("kv2", TransactionClass::Other).is_ok());
        // Key creation: 2 per second.
        assert!(throttle.admit("kv", TransactionClass::KeyCreate).is_ok());
        assert!(throttle.admit("kv", TransactionClass::KeyCreate).is_ok());
        assert!(throttle.admit("kv", TransactionClass::KeyCreate).is_err());
    }
}
