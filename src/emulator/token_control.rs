//! The emulator's test API for tokens: revoking what it issued (plainly or with a Continuous Access
//! Evaluation claims challenge), refusing refresh tokens, and listing every secret it handed out.

use std::sync::atomic::Ordering;

use super::Emulator;

impl Emulator {
    /// Revokes every access token issued so far, as a password reset or a disabled session would: Key Vault
    /// and ARM then refuse them with a plain 401 challenge, or with a Continuous Access Evaluation claims
    /// challenge when `claims_challenge` is set. Tokens issued later are accepted.
    pub fn revoke_issued_tokens(&self, claims_challenge: bool) {
        self.shared
            .revocation_is_cae
            .store(claims_challenge, Ordering::SeqCst);
        self.shared.revoked_through.store(
            self.shared.tokens_issued.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
    }

    /// Every secret this emulator knows a client may hold: the access tokens, refresh tokens and device
    /// codes it issued (the newest 20,000), the managed-identity header, the service principals' client
    /// secrets, and the secret values of every vault of at most `values_up_to` secrets. For leak scans.
    pub fn issued_secrets(&self, values_up_to: usize) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .shared
            .issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        secrets.push(self.shared.identity_header.clone());
        let cloud = self.shared.read();
        secrets.extend(
            cloud
                .service_principals
                .iter()
                .filter_map(|sp| sp.client_secret.clone()),
        );
        for vault in cloud.vaults.values() {
            let objects = vault.objects(super::state::ObjectKind::Secret);
            if objects.len() > values_up_to {
                continue;
            }
            for object in objects.values() {
                for version in &object.versions {
                    if let super::state::Payload::Secret { value } = &version.payload {
                        secrets.push(value.clone());
                    }
                }
            }
        }
        secrets
    }

    /// Refuses every refresh-token grant from now on (`invalid_grant`, as for a revoked session), or
    /// accepts them again.
    pub fn set_refresh_tokens_refused(&self, refused: bool) {
        self.shared
            .refresh_tokens_refused
            .store(refused, Ordering::SeqCst);
    }
}
