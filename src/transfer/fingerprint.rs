//! Comparing values without showing them: HMAC-SHA256 of each value under a random key made for one
//! comparison and held only in memory. A fingerprint has no `Display`, no serialization and a `Debug` that
//! prints nothing of it, so it cannot reach the screen, a log or a file; two comparisons give unrelated
//! fingerprints of the same value.

use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The key of one comparison; wiped when dropped.
pub struct FingerprintKey(Zeroizing<[u8; 32]>);

impl FingerprintKey {
    /// A new key from the operating system's generator.
    pub fn random() -> Self {
        let mut key = Zeroizing::new([0_u8; 32]);
        rand::rng().fill_bytes(key.as_mut());
        Self(key)
    }

    pub fn fingerprint(&self, value: &SecretString) -> Fingerprint {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_ref()).expect("any key length");
        mac.update(value.expose_secret().as_bytes());
        Fingerprint(mac.finalize().into_bytes().into())
    }

    /// Whether two keys are the same (tests check each comparison makes its own).
    pub fn same_as(&self, other: &Self) -> bool {
        self.0.as_ref() == other.0.as_ref()
    }
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(<hidden>)")
    }
}

/// A value's HMAC under one comparison's key. Compared in constant time.
pub struct Fingerprint([u8; 32]);

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0_u8, |difference, (a, b)| difference | (a ^ b))
            == 0
    }
}
impl Eq for Fingerprint {}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprint(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_match_under_one_key_and_nothing_is_printed() {
        let key = FingerprintKey::random();
        let a = key.fingerprint(&SecretString::from("hunter2"));
        let b = key.fingerprint(&SecretString::from("hunter2"));
        let c = key.fingerprint(&SecretString::from("hunter3"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            format!("{a:?} {key:?}"),
            "Fingerprint(<hidden>) FingerprintKey(<hidden>)"
        );
        let other = FingerprintKey::random();
        assert!(!key.same_as(&other));
        assert_ne!(other.fingerprint(&SecretString::from("hunter2")), a);
    }
}
