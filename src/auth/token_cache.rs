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

/// The longest one credential call may take (above `az`'s own limit and the HTTP timeouts, so those speak
/// first with their own words); then the caller gets `TimedOut` and the slot is free again.
pub const CREDENTIAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// Makes the credential for another tenant of the same identity (device code: the same refresh token at
/// that tenant's endpoint; Azure CLI: `--tenant`). Single-tenant sources (service principals, managed
/// identities) have none.
pub type TenantCredentialFactory =
    Arc<dyn Fn(&str) -> Result<Arc<dyn TokenCredential>, AuthError> + Send + Sync>;

fn signed_out() -> AuthError {
    AuthError::Credential("signed out: this session gives no more tokens".to_owned())
}

/// Shared token cache for one signed-in identity, across the tenants it can reach.
pub struct TokenCache {
    /// Set at sign-out: no token is handed out again.
    revoked: std::sync::atomic::AtomicBool,
    credential: Arc<dyn TokenCredential>,
    /// Home tenant of the credential; the cache key's tenant part.
    tenant_label: String,
    /// The home tenant id, once known from a token's `tid`.
    home_tenant: Mutex<Option<String>>,
    other_tenants: Option<TenantCredentialFactory>,
    tenant_credentials: Mutex<HashMap<String, Arc<dyn TokenCredential>>>,
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
            revoked: std::sync::atomic::AtomicBool::new(false),
            credential,
            tenant_label: tenant_label.into(),
            home_tenant: Mutex::new(None),
            other_tenants: None,
            tenant_credentials: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Lets this cache get tokens in other tenants of the same identity.
    pub fn with_other_tenants(mut self, factory: TenantCredentialFactory) -> Self {
        self.other_tenants = Some(factory);
        self
    }

    /// Records the home tenant id (from the first token's `tid`), so `token_in` knows which tenant is home.
    pub fn set_home_tenant(&self, tenant_id: &str) {
        *self
            .home_tenant
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(tenant_id.to_ascii_lowercase());
    }

    pub fn home_tenant(&self) -> Option<String> {
        self.home_tenant
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A valid token for `scope` (e.g. `https://vault.azure.net/.default`) in the home tenant.
    pub async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
        self.token_in(None, scope).await
    }

    /// A valid token for `scope` in `tenant` (`None` or the home tenant: the signed-in credential).
    pub async fn token_in(
        &self,
        tenant: Option<&str>,
        scope: &str,
    ) -> Result<AccessToken, AuthError> {
        if self.is_revoked() {
            return Err(signed_out());
        }
        let other = tenant
            .map(str::to_ascii_lowercase)
            .filter(|tenant| Some(tenant) != self.home_tenant().as_ref());
        let (credential, label) = match &other {
            None => (self.credential.clone(), self.tenant_label.clone()),
            Some(tenant) => {
                super::check_tenant(tenant)?;
                (self.credential_for(tenant)?, tenant.clone())
            }
        };
        let slot = self.slot(&label, scope);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref()
            && token
                .expires_on
                .checked_sub(REFRESH_MARGIN)
                .is_some_and(|refresh_at| refresh_at > OffsetDateTime::now_utc())
        {
            return Ok(token.clone());
        }
        // The slot's lock is held while the credential works; the timeout (and dropping this future)
        // releases it on every path.
        let token = tokio::time::timeout(CREDENTIAL_TIMEOUT, credential.get_token(&[scope], None))
            .await
            .map_err(|_| AuthError::TimedOut {
                source_name: "the sign-in's credential".to_owned(),
                seconds: CREDENTIAL_TIMEOUT.as_secs(),
            })?
            .map_err(|error| AuthError::from_azure_core(&error))?;
        if self.is_revoked() {
            // Signed out while the credential worked: the token is not kept, nor handed out.
            return Err(signed_out());
        }
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Sign-out: every cached token is dropped and no token is handed out again, so tasks still running
    /// stop at their next request instead of using (or refreshing) the signed-out identity.
    pub fn revoke(&self) {
        self.revoked
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.clear();
    }

    fn is_revoked(&self) -> bool {
        self.revoked.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn credential_for(&self, tenant: &str) -> Result<Arc<dyn TokenCredential>, AuthError> {
        let Some(factory) = &self.other_tenants else {
            return Err(AuthError::Credential(format!(
                "this sign-in gets tokens for its own tenant only, not for tenant {tenant}"
            )));
        };
        let mut credentials = self
            .tenant_credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = credentials.get(tenant) {
            return Ok(found.clone());
        }
        let made = factory(tenant)?;
        credentials.insert(tenant.to_owned(), made.clone());
        Ok(made)
    }

    /// Forgets the cached token for `scope` in `tenant` (one a service refused), so the next call asks the
    /// credential for a new one.
    pub async fn forget(&self, tenant: Option<&str>, scope: &str) {
        let other = tenant
            .map(str::to_ascii_lowercase)
            .filter(|tenant| Some(tenant) != self.home_tenant().as_ref());
        let label = other.unwrap_or_else(|| self.tenant_label.clone());
        *self.slot(&label, scope).lock().await = None;
    }

    /// Forgets every cached token (sign-out, switch identity).
    pub fn clear(&self) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.clear();
        }
    }

    fn slot(&self, tenant_label: &str, scope: &str) -> Slot {
        let key = (tenant_label.to_owned(), scope.to_ascii_lowercase());
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

    /// Answers a token that expired at the earliest time the clock can hold (an outside number).
    #[derive(Debug, Default)]
    struct AncientCredential {
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl TokenCredential for AncientCredential {
        async fn get_token(
            &self,
            _scopes: &[&str],
            _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                "ancient",
                time::PrimitiveDateTime::MIN.assume_utc(),
            ))
        }
    }

    #[derive(Debug)]
    struct HangingCredential {
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl TokenCredential for HangingCredential {
        async fn get_token(
            &self,
            _scopes: &[&str],
            _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                std::future::pending::<()>().await;
            }
            Ok(AccessToken::new(
                "second",
                OffsetDateTime::now_utc() + time::Duration::hours(1),
            ))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_credential_times_out_and_frees_its_slot() {
        let credential = Arc::new(HangingCredential {
            calls: AtomicUsize::new(0),
        });
        let cache = TokenCache::new(credential.clone(), "home");
        let first = cache.token("https://vault.azure.net/.default").await;
        assert!(
            matches!(first, Err(AuthError::TimedOut { seconds: 90, .. })),
            "{first:?}"
        );
        let second = cache
            .token("https://vault.azure.net/.default")
            .await
            .expect("the slot is free again");
        assert_eq!(second.token.secret(), "second");
    }

    #[tokio::test]
    async fn an_expiry_at_the_clocks_edge_is_refreshed_not_a_panic() {
        let ancient = Arc::new(AncientCredential::default());
        let cache = TokenCache::new(ancient.clone(), "t1");
        for _ in 0..2 {
            cache
                .token("https://vault.azure.net/.default")
                .await
                .expect("token");
        }
        assert_eq!(ancient.calls.load(Ordering::SeqCst), 2, "never reused");
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
