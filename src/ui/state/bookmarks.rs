//! Recent and pinned vaults: what the tree lists above the subscriptions, persisted by eframe (URIs only).

use crate::azure::identifiers::VaultUri;

/// How many recent vaults are kept.
pub const RECENT_LIMIT: usize = 10;

/// Vaults the person opened lately and pinned; persisted (URIs only).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VaultBookmarks {
    /// Most recent first.
    pub recent: Vec<String>,
    pub pinned: Vec<String>,
}

impl VaultBookmarks {
    pub fn touch(&mut self, vault: &VaultUri) {
        self.recent.retain(|uri| uri != vault.as_str());
        self.recent.insert(0, vault.as_str().to_owned());
        self.recent.truncate(RECENT_LIMIT);
    }

    pub fn is_pinned(&self, vault: &VaultUri) -> bool {
        self.pinned.iter().any(|uri| uri == vault.as_str())
    }

    pub fn toggle_pin(&mut self, vault: &VaultUri) {
        if self.is_pinned(vault) {
            self.pinned.retain(|uri| uri != vault.as_str());
        } else {
            self.pinned.push(vault.as_str().to_owned());
        }
    }

    /// Parsed URIs of a list, skipping anything that no longer parses.
    pub fn uris(list: &[String]) -> Vec<VaultUri> {
        list.iter()
            .filter_map(|uri| VaultUri::parse(uri).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_keep_recent_first_and_bounded() {
        let mut bookmarks = VaultBookmarks::default();
        for index in 0..12 {
            bookmarks.touch(
                &VaultUri::parse(&format!("https://kv{index}.vault.azure.net")).expect("uri"),
            );
        }
        let kv3 = VaultUri::parse("https://kv3.vault.azure.net").expect("uri");
        bookmarks.touch(&kv3);
        assert_eq!(bookmarks.recent.len(), RECENT_LIMIT);
        assert_eq!(bookmarks.recent[0], kv3.as_str());
        bookmarks.toggle_pin(&kv3);
        assert!(bookmarks.is_pinned(&kv3));
        bookmarks.toggle_pin(&kv3);
        assert!(!bookmarks.is_pinned(&kv3));
    }
}
