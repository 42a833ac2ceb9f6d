//! A secret value being typed for a new secret or version: one zeroizing buffer whose capacity is reserved up
//! front (so typing never reallocates and leaves copies behind), cleared when the dialog closes; and the
//! value generators (password with length and character classes, GUID, 32-byte base64 key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use rand::seq::SliceRandom;
use secrecy::SecretString;
use zeroize::Zeroizing;

pub use crate::azure::keyvault_writes::SECRET_VALUE_LIMIT;

/// The value typed, pasted, read from a file or generated. Never printed; zeroized on drop and clear.
pub struct SecretText {
    text: Zeroizing<String>,
}

impl Default for SecretText {
    /// Empty, with nothing allocated: the capacity is reserved at the first write.
    fn default() -> Self {
        Self {
            text: Zeroizing::new(String::new()),
        }
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretText({} bytes)", self.text.len())
    }
}

impl SecretText {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Inserts `text` at byte `at` (a char boundary); refuses what would pass Key Vault's limit (so the
    /// buffer never grows past its reserved capacity). Returns the bytes inserted.
    pub fn insert(&mut self, at: usize, text: &str) -> usize {
        if self.text.len() + text.len() > SECRET_VALUE_LIMIT || !self.text.is_char_boundary(at) {
            return 0;
        }
        self.reserve();
        self.text.insert_str(at, text);
        text.len()
    }

    /// Removes the bytes `range` (char boundaries).
    pub fn remove(&mut self, range: std::ops::Range<usize>) {
        if self.text.is_char_boundary(range.start) && self.text.is_char_boundary(range.end) {
            self.text.replace_range(range, "");
        }
    }

    /// Replaces the whole value (a file, a generated value); `false` when it is over the limit.
    pub fn replace_with(&mut self, value: &str) -> bool {
        if value.len() > SECRET_VALUE_LIMIT {
            return false;
        }
        self.text.zeroize_in_place();
        self.reserve();
        self.text.push_str(value);
        true
    }

    /// Reserves the whole limit while the text is still empty, so no later write reallocates (and leaves an
    /// unzeroized copy behind).
    fn reserve(&mut self) {
        if self.text.capacity() < SECRET_VALUE_LIMIT {
            debug_assert!(self.text.is_empty(), "reserved before the first write");
            self.text.reserve_exact(SECRET_VALUE_LIMIT);
        }
    }

    /// Wipes the value.
    pub fn clear(&mut self) {
        self.text.zeroize_in_place();
    }

    /// A copy for the request (a `SecretString`, zeroized on drop).
    pub fn to_secret(&self) -> SecretString {
        SecretString::from(self.text.as_str())
    }
}

trait ZeroizeInPlace {
    fn zeroize_in_place(&mut self);
}

impl ZeroizeInPlace for Zeroizing<String> {
    /// zeroize's `String` impl zeroes the bytes and the spare capacity and empties the string, keeping the
    /// allocation (so the reserved capacity stays).
    fn zeroize_in_place(&mut self) {
        use zeroize::Zeroize;
        let string: &mut String = self;
        string.zeroize();
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratorKind {
    Password,
    Guid,
    /// 32 random bytes, standard base64 (a symmetric key, a signing secret).
    Base64Key,
}

/// The password generator's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generator {
    pub kind: GeneratorKind,
    pub length: usize,
    pub upper: bool,
    pub lower: bool,
    pub digits: bool,
    pub symbols: bool,
}

impl Default for Generator {
    fn default() -> Self {
        Self {
            kind: GeneratorKind::Password,
            length: 32,
            upper: true,
            lower: true,
            digits: true,
            symbols: true,
        }
    }
}

const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijkmnopqrstuvwxyz";
const DIGITS: &str = "23456789";
/// Symbols that need no quoting in a connection string, a URL query or a shell single-quoted word.
const SYMBOLS: &str = "!#%+-.:=?@^_~";

impl Generator {
    /// A fresh value from the operating system's generator (rand's thread RNG, a CSPRNG reseeded from
    /// the OS), or why none can be made.
    pub fn generate(&self) -> Result<SecretString, String> {
        let mut rng = rand::rng();
        match self.kind {
            GeneratorKind::Guid => Ok(SecretString::from(uuid::Uuid::new_v4().to_string())),
            GeneratorKind::Base64Key => {
                let mut bytes = Zeroizing::new([0u8; 32]);
                rng.fill(&mut bytes[..]);
                Ok(SecretString::from(STANDARD.encode(&bytes[..])))
            }
            GeneratorKind::Password => {
                let classes: Vec<&str> = [
                    (self.upper, UPPER),
                    (self.lower, LOWER),
                    (self.digits, DIGITS),
                    (self.symbols, SYMBOLS),
                ]
                .into_iter()
                .filter_map(|(on, set)| on.then_some(set))
                .collect();
                if classes.is_empty() {
                    return Err("Pick at least one kind of character.".into());
                }
                if !(classes.len()..=1024).contains(&self.length) {
                    return Err(format!(
                        "A password of {} characters cannot hold one of each {} kinds picked (at most 1024).",
                        self.length,
                        classes.len()
                    ));
                }
                let all: Vec<char> = classes.iter().flat_map(|set| set.chars()).collect();
                // One of each picked class, the rest from all of them, then shuffled.
                let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(
                    classes
                        .iter()
                        .map(|set| {
                            let set: Vec<char> = set.chars().collect();
                            set[rng.random_range(0..set.len())]
                        })
                        .collect(),
                );
                while chars.len() < self.length {
                    chars.push(all[rng.random_range(0..all.len())]);
                }
                chars.shuffle(&mut rng);
                let text: Zeroizing<String> = Zeroizing::new(chars.iter().collect());
                Ok(SecretString::from(text.as_str()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn passwords_have_the_length_and_one_of_each_picked_class() {
        for _ in 0..50 {
            let generator = Generator {
                length: 8,
                ..Generator::default()
            };
            let value = generator.generate().expect("password");
            let text = value.expose_secret();
            assert_eq!(text.chars().count(), 8);
            assert!(text.chars().any(|c| UPPER.contains(c)));
            assert!(text.chars().any(|c| LOWER.contains(c)));
            assert!(text.chars().any(|c| DIGITS.contains(c)));
            assert!(text.chars().any(|c| SYMBOLS.contains(c)));
        }
        let digits_only = Generator {
            length: 12,
            upper: false,
            lower: false,
            symbols: false,
            ..Generator::default()
        };
        let value = digits_only.generate().expect("digits");
        assert!(value.expose_secret().chars().all(|c| DIGITS.contains(c)));
        let none = Generator {
            upper: false,
            lower: false,
            digits: false,
            symbols: false,
            ..Generator::default()
        };
        assert!(none.generate().is_err());
        let too_short = Generator {
            length: 3,
            ..Generator::default()
        };
        assert!(too_short.generate().is_err());
    }

    #[test]
    fn guid_and_key_have_their_shapes() {
        let guid = Generator {
            kind: GeneratorKind::Guid,
            ..Generator::default()
        };
        let value = guid.generate().expect("guid");
        assert!(uuid::Uuid::parse_str(value.expose_secret()).is_ok());
        let key = Generator {
            kind: GeneratorKind::Base64Key,
            ..Generator::default()
        };
        let value = key.generate().expect("key");
        assert_eq!(
            STANDARD.decode(value.expose_secret()).expect("b64").len(),
            32
        );
    }

    #[test]
    fn the_buffer_never_grows_past_its_reserved_capacity_and_clears() {
        let mut text = SecretText::default();
        assert_eq!(text.insert(0, "hello"), 5);
        let capacity = text.text.capacity();
        assert!(capacity >= SECRET_VALUE_LIMIT);
        assert_eq!(text.insert(5, " world"), 6);
        text.remove(0..6);
        assert_eq!(text.as_str(), "world");
        assert_eq!(
            text.insert(0, &"x".repeat(SECRET_VALUE_LIMIT)),
            0,
            "over the limit"
        );
        assert!(text.replace_with(&"y".repeat(SECRET_VALUE_LIMIT)));
        assert_eq!(text.text.capacity(), capacity, "no reallocation");
        text.clear();
        assert!(text.is_empty());
        assert_eq!(format!("{text:?}"), "SecretText(0 bytes)");
    }
}
