//! The clipboard for secret values: copied with the platform's "keep out of clipboard history" marker
//! (arboard's `exclude_from_history` on Linux, macOS and Windows, plus `exclude_from_cloud` on Windows) and
//! cleared after a delay (30 s by default) — but only if it still holds what we put there, so whatever the
//! person copied since is left alone. Identifiers and names go through egui like any text.
//!
//! Only a SHA-256 digest of the copied value is kept to recognise it; the value itself is not.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// How long a copied value stays on the clipboard by default.
pub const DEFAULT_CLEAR_AFTER: Duration = Duration::from_secs(30);

/// What the guard needs from a clipboard (arboard in the app, a fake in tests).
pub trait ClipboardBackend {
    /// Puts `text` on the clipboard, marked to stay out of clipboard history.
    fn set_sensitive(&mut self, text: &str) -> Result<(), String>;
    /// The clipboard's text, if it holds text.
    fn text(&mut self) -> Option<String>;
    fn clear(&mut self) -> Result<(), String>;
}

/// A clipboard in memory (tests, and what an embedding that owns its clipboard could pass): clones share
/// one buffer.
#[derive(Clone, Default)]
pub struct MemoryClipboard(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl MemoryClipboard {
    /// What it holds now.
    pub fn contents(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl ClipboardBackend for MemoryClipboard {
    fn set_sensitive(&mut self, text: &str) -> Result<(), String> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(text.to_owned());
        Ok(())
    }

    fn text(&mut self) -> Option<String> {
        self.contents()
    }

    fn clear(&mut self) -> Result<(), String> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        Ok(())
    }
}

/// The system clipboard through arboard.
pub struct SystemClipboard(arboard::Clipboard);

impl SystemClipboard {
    /// `None` where there is no clipboard to talk to (no display, say).
    pub fn open() -> Option<Self> {
        arboard::Clipboard::new().ok().map(Self)
    }
}

impl ClipboardBackend for SystemClipboard {
    fn set_sensitive(&mut self, text: &str) -> Result<(), String> {
        let set = self.0.set();
        #[cfg(any(
            target_os = "linux",
            target_os = "freebsd",
            target_os = "openbsd",
            target_os = "netbsd"
        ))]
        let set = {
            use arboard::SetExtLinux;
            set.exclude_from_history()
        };
        #[cfg(target_os = "macos")]
        let set = {
            use arboard::SetExtApple;
            set.exclude_from_history()
        };
        #[cfg(windows)]
        let set = {
            use arboard::SetExtWindows;
            set.exclude_from_history().exclude_from_cloud()
        };
        set.text(text).map_err(|error| error.to_string())
    }

    fn text(&mut self) -> Option<String> {
        self.0.get_text().ok()
    }

    fn clear(&mut self) -> Result<(), String> {
        self.0.clear().map_err(|error| error.to_string())
    }
}

/// What happened to a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    /// On the clipboard, to be cleared at the deadline.
    WillClear(Duration),
    /// No clipboard of our own: the caller copies through egui, and nothing will clear it.
    NoClipboard,
    Failed(String),
}

/// Copies secret values and clears them again.
pub struct ClipboardGuard {
    backend: Option<Box<dyn ClipboardBackend>>,
    clear_after: Duration,
    /// Digest of the value we put there, and when to clear it.
    pending: Option<([u8; 32], Instant)>,
}

/// The longest a copied value may stay on the clipboard.
pub const LONGEST_CLEAR_AFTER: Duration = Duration::from_secs(86_400);

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl ClipboardGuard {
    /// `clear_after` is at most [`LONGEST_CLEAR_AFTER`] (an outside number: `--clear-clipboard-after`).
    pub fn new(backend: Option<Box<dyn ClipboardBackend>>, clear_after: Duration) -> Self {
        Self {
            backend,
            clear_after: clear_after.min(LONGEST_CLEAR_AFTER),
            pending: None,
        }
    }

    pub fn clear_after(&self) -> Duration {
        self.clear_after
    }

    /// Copies a secret value; it will be cleared `clear_after` from `now` if still there.
    pub fn copy_secret(&mut self, value: &SecretString, now: Instant) -> CopyOutcome {
        let Some(backend) = self.backend.as_mut() else {
            return CopyOutcome::NoClipboard;
        };
        match backend.set_sensitive(value.expose_secret()) {
            Ok(()) => {
                self.pending = Some((
                    digest(value.expose_secret()),
                    // The delay is at most a day (`new`), so this holds; were it not, clear at once.
                    now.checked_add(self.clear_after).unwrap_or(now),
                ));
                CopyOutcome::WillClear(self.clear_after)
            }
            Err(error) => CopyOutcome::Failed(error),
        }
    }

    /// Clears the clipboard when the deadline has passed and it still holds our value. Returns how long
    /// until the next check is due (for `request_repaint_after`), or `None` when nothing is pending.
    pub fn tick(&mut self, now: Instant) -> Option<Duration> {
        let (_, deadline) = self.pending?;
        if now < deadline {
            return Some(deadline - now);
        }
        self.clear_now();
        None
    }

    /// Clears the copied value now if it is still ours (the window is closing); nothing is pending after.
    pub fn clear_now(&mut self) {
        let Some((expected, _)) = self.pending.take() else {
            return;
        };
        if let Some(backend) = self.backend.as_mut()
            && backend
                .text()
                .is_some_and(|current| digest(&current) == expected)
            && let Err(error) = backend.clear()
        {
            tracing::warn!(%error, "the clipboard could not be cleared");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct FakeClipboard {
        text: Arc<Mutex<Option<String>>>,
        sensitive_sets: Arc<Mutex<usize>>,
    }

    impl ClipboardBackend for FakeClipboard {
        fn set_sensitive(&mut self, text: &str) -> Result<(), String> {
            *self.text.lock().expect("lock") = Some(text.to_owned());
            *self.sensitive_sets.lock().expect("lock") += 1;
            Ok(())
        }
        fn text(&mut self) -> Option<String> {
            self.text.lock().expect("lock").clone()
        }
        fn clear(&mut self) -> Result<(), String> {
            *self.text.lock().expect("lock") = None;
            Ok(())
        }
    }

    #[test]
    fn closing_the_window_clears_our_value_but_not_someone_elses() {
        let fake = FakeClipboard::default();
        let mut guard = ClipboardGuard::new(Some(Box::new(fake.clone())), Duration::from_secs(30));
        guard.copy_secret(&SecretString::from("ours"), Instant::now());
        guard.clear_now();
        assert_eq!(*fake.text.lock().expect("lock"), None);
        guard.copy_secret(&SecretString::from("ours"), Instant::now());
        *fake.text.lock().expect("lock") = Some("copied since".into());
        guard.clear_now();
        assert_eq!(
            fake.text.lock().expect("lock").as_deref(),
            Some("copied since")
        );
        assert_eq!(guard.tick(Instant::now()), None, "nothing pending after");
    }

    #[test]
    fn an_outside_delay_is_at_most_a_day_and_never_overflows_the_clock() {
        let fake = FakeClipboard::default();
        let mut guard = ClipboardGuard::new(Some(Box::new(fake.clone())), Duration::MAX);
        assert_eq!(guard.clear_after(), LONGEST_CLEAR_AFTER);
        let now = Instant::now();
        let outcome = guard.copy_secret(&SecretString::from("v"), now);
        assert!(matches!(outcome, CopyOutcome::WillClear(delay) if delay == LONGEST_CLEAR_AFTER));
        assert_eq!(guard.tick(now), Some(LONGEST_CLEAR_AFTER));
    }

    #[test]
    fn clears_our_value_after_the_delay_and_only_ours() {
        let fake = FakeClipboard::default();
        let mut guard = ClipboardGuard::new(Some(Box::new(fake.clone())), Duration::from_secs(30));
        let start = Instant::now();
        assert_eq!(
            guard.copy_secret(&SecretString::from("hunter2"), start),
            CopyOutcome::WillClear(Duration::from_secs(30))
        );
        assert_eq!(
            *fake.sensitive_sets.lock().expect("lock"),
            1,
            "marked sensitive"
        );
        assert_eq!(
            guard.tick(start + Duration::from_secs(10)),
            Some(Duration::from_secs(20))
        );
        assert_eq!(fake.text.lock().expect("lock").as_deref(), Some("hunter2"));
        assert_eq!(guard.tick(start + Duration::from_secs(30)), None);
        assert_eq!(*fake.text.lock().expect("lock"), None, "cleared");

        // Something else copied since: left alone.
        guard.copy_secret(&SecretString::from("hunter2"), start);
        *fake.text.lock().expect("lock") = Some("the person's own text".into());
        assert_eq!(guard.tick(start + Duration::from_secs(31)), None);
        assert_eq!(
            fake.text.lock().expect("lock").as_deref(),
            Some("the person's own text")
        );
        assert_eq!(
            guard.tick(start + Duration::from_secs(60)),
            None,
            "nothing pending"
        );
    }

    #[test]
    fn without_a_clipboard_the_caller_falls_back() {
        let mut guard = ClipboardGuard::new(None, DEFAULT_CLEAR_AFTER);
        assert_eq!(
            guard.copy_secret(&SecretString::from("x"), Instant::now()),
            CopyOutcome::NoClipboard
        );
        assert_eq!(guard.tick(Instant::now()), None);
    }
}
