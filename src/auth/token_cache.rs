//! One cache of access tokens per (tenant, scope) in front of a credential, with single-flight refresh.
//!
//! `AzureCliCredential` and our own sources do not cache, so every REST call goes through here. A token is
//! reused until five minutes before it expires; concurrent callers for the same key wait for one request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use azure_core::credentials::{AccessToken, TokenCredential};
use time::OffsetDateTime;

use super::AuthError;

/// Tokens are renewed when they have less than this left.
const REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// Shared token cache for one signed-in identity.
pub struct TokenCache {
    credential: Arc<dyn TokenCredential>,
    /// Home tenant of the credential; the cache key's tenant part.
    tenant_label: String,
    slots: Mutex<HashMap<(String, String), Slot>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("tenant", &self.tenant_label)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub fn new(credential: Arc<dyn TokenCredential>, tenant_label: impl Into<String>) -> Self {
        Self {
            credential,
            tenant_label: tenant_label.into(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// A valid token for `scope` (e.g. `https://vault.azure.net/.default`).
    pub async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let slot = self.slot(scope);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref()
            && token.expires_on - REFRESH_MARGIN > OffsetDateTime::now_utc()
        {
            return Ok(token.clone());
        }
        let token = self
            .credential
            .get_token(&[scope], None)
            .await
            .map_err(|error| AuthError::from_azure_core(&error))?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Forgets every cached token (sign-out, switch identity).
    pub fn clear(&self) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.clear();
        }
    }

    fn slot(&self, scope: &str) -> Slot {
        let key = (self.tenant_label.clone(), scope.to_ascii_lowercase());
        // A poisoned lock only means another thread panicked mid-insert; the map itself is still usable.
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.entry(key).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Default)]
    struct CountingCredential {
        calls: AtomicUsize,
        lifetime_minutes: i64,
    }

    #[async_trait::async_trait]
    impl TokenCredential for CountingCredential {
        async fn get_token(
            &self,
            scopes: &[&str],
            _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("token-{n}-{}", scopes[0]),
                OffsetDateTime::now_utc() + time::Duration::minutes(self.lifetime_minutes),
            ))
        }
    }

    #[tokio::test]
    async fn reuses_tokens_per_scope_and_refreshes_near_expiry() {
        let fresh = Arc::new(CountingCredential {
            lifetime_minutes: 60,
            ..Default::default()
        });
        let cache = TokenCache::new(fresh.clone(), "t1");
        let a = cache
            .token("https://vault.azure.net/.default")
            .await
            .expect("token");
        let b = cache
            .token("https://vault.azure.net/.default")
            .await
            .expect("token");
        assert_eq!(a.token.secret(), b.token.secret());
        cache
            .token("https://management.azure.com/.default")
            .await
            .expect("token");
        assert_eq!(fresh.calls.load(Ordering::SeqCst), 2);

        let short_lived = Arc::new(CountingCredential {
            lifetime_minutes: 2,
            ..Default::default()
        });
        let cache = TokenCache::new(short_lived.clone(), "t1");
        cache.token("s/.default").await.expect("token");
        cache.token("s/.default").await.expect("token");
        assert_eq!(
            short_lived.calls.load(Ordering::SeqCst),
            2,
            "near-expiry token renewed"
        );
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_request() {
        let credential = Arc::new(CountingCredential {
            lifetime_minutes: 60,
            ..Default::default()
        });
        let cache = Arc::new(TokenCache::new(credential.clone(), "t1"));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.token("x/.default").await })
            })
            .collect();
        for task in tasks {
            task.await.expect("join").expect("token");
        }
        assert_eq!(credential.calls.load(Ordering::SeqCst), 1);
    }
}
