//! Each vault's six lists as loaded, and the metadata index that filtering and Ctrl+K search run on
//! (lower-case names, tag keys and values, content types; never values). A reload swaps in only a list that
//! arrived whole, so an error loses nothing. Pure and UI-free.

use std::time::Instant;

use super::common::LoadStatus;
use crate::azure::models::{ListKind, ObjectItem};

/// One list of a vault (secrets, deleted keys, …) with its search index.
#[derive(Debug, Clone, Default)]
pub struct ObjectList {
    pub items: Vec<ObjectItem>,
    /// Lower-case names, parallel to `items`.
    pub names_lower: Vec<String>,
    /// Lower-case `key=value` tags and content type, parallel to `items`.
    pub metadata_lower: Vec<String>,
    pub status: LoadStatus,
    /// A reload's items, swapped in when the list ends well; until then the old ones stay on screen.
    incoming: Option<Vec<ObjectItem>>,
    loaded_once: bool,
    /// Changes whenever the rows are replaced, so cached filter results know to recompute.
    pub generation: u64,
}

impl ObjectList {
    fn begin(&mut self) {
        if self.loaded_once {
            self.incoming = Some(Vec::new());
        } else {
            self.items.clear();
            self.names_lower.clear();
            self.metadata_lower.clear();
            self.generation += 1;
        }
        self.status = LoadStatus::Loading;
    }

    fn add_page(&mut self, items: Vec<ObjectItem>) {
        match &mut self.incoming {
            Some(incoming) => incoming.extend(items),
            None => {
                for item in &items {
                    self.names_lower.push(item.name().to_lowercase());
                    self.metadata_lower.push(metadata_text(item));
                }
                self.items.extend(items);
            }
        }
    }

    fn end(&mut self, error: Option<String>) {
        let incoming = self.incoming.take();
        match error {
            None => {
                if let Some(items) = incoming {
                    self.names_lower = items.iter().map(|i| i.name().to_lowercase()).collect();
                    self.metadata_lower = items.iter().map(metadata_text).collect();
                    self.items = items;
                    self.generation += 1;
                }
                self.loaded_once = true;
                self.status = LoadStatus::Loaded;
            }
            Some(message) => self.status = LoadStatus::Failed(message),
        }
    }

    /// The row of `name` (names are unique within a list, case-insensitively).
    pub fn position(&self, name: &str) -> Option<usize> {
        let lower = name.to_lowercase();
        self.names_lower
            .iter()
            .position(|candidate| *candidate == lower)
    }
}

/// `env=prod owner=payments application/json`, lower-case.
fn metadata_text(item: &ObjectItem) -> String {
    let mut text = String::new();
    for (key, value) in &item.tags {
        text.push_str(key);
        text.push('=');
        text.push_str(value);
        text.push(' ');
    }
    if let Some(content_type) = &item.content_type {
        text.push_str(content_type);
    }
    text.to_lowercase()
}

/// Everything loaded of one vault.
#[derive(Debug, Clone, Default)]
pub struct VaultContents {
    /// Indexed by [`ListKind::index`].
    pub lists: [ObjectList; 6],
    pub status: LoadStatus,
    /// The worker took the load up (it waits while the bound's worth of vaults is loading).
    pub started: bool,
    /// When the last load ended well.
    pub loaded_at: Option<Instant>,
    /// One word for the tree when the last load failed ("denied", "firewall", …).
    pub failure: Option<&'static str>,
}

impl VaultContents {
    pub fn list(&self, list: ListKind) -> &ObjectList {
        &self.lists[list.index()]
    }

    /// Marks a new load; what was loaded stays until each list arrives whole.
    pub fn begin_load(&mut self) {
        self.status = LoadStatus::Loading;
        self.started = false;
        for list in &mut self.lists {
            list.begin();
        }
    }

    pub fn add_page(&mut self, list: ListKind, items: Vec<ObjectItem>) {
        self.lists[list.index()].add_page(items);
    }

    pub fn end_list(&mut self, list: ListKind, error: Option<String>) {
        self.lists[list.index()].end(error);
    }

    /// The load ended: lists that never reported end as cancelled (not loaded, or kept as they were).
    pub fn end_load(&mut self, status: LoadStatus) {
        for list in &mut self.lists {
            if list.status.is_loading() {
                list.incoming = None;
                list.status = if list.loaded_once {
                    LoadStatus::Loaded
                } else {
                    match &status {
                        LoadStatus::Failed(message) => LoadStatus::Failed(message.clone()),
                        _ => LoadStatus::NotLoaded,
                    }
                };
            }
        }
        if status == LoadStatus::Loaded {
            self.loaded_at = Some(Instant::now());
        }
        self.status = status;
        self.started = false;
    }

    /// Items in all lists (for progress).
    pub fn item_count(&self) -> usize {
        self.lists
            .iter()
            .map(|list| list.items.len() + list.incoming.as_ref().map_or(0, Vec::len))
            .sum()
    }

    /// The errors of the lists that failed, for the tree's tooltip.
    pub fn list_errors(&self) -> Vec<String> {
        self.lists
            .iter()
            .filter_map(|list| match &list.status {
                LoadStatus::Failed(message) => Some(message.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Conditions on attributes, combined with the text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuickFilters {
    pub disabled: bool,
    pub expired: bool,
    /// Expiring within this many days (not yet expired).
    pub expiring_within_days: Option<u32>,
}

impl QuickFilters {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `item` passes every condition set.
    pub fn admits(&self, item: &ObjectItem, now: i64) -> bool {
        if self.disabled && item.enabled() {
            return false;
        }
        let exp = item.attributes.exp;
        if self.expired && exp.is_none_or(|exp| exp > now) {
            return false;
        }
        if let Some(days) = self.expiring_within_days {
            let limit = now + i64::from(days) * 86_400;
            if !exp.is_some_and(|exp| exp > now && exp <= limit) {
                return false;
            }
        }
        true
    }
}

/// Rows of `list` whose name contains `needle` (lower-case; empty: all) and that pass `filters`.
pub fn filter_list(
    list: &ObjectList,
    needle: &str,
    filters: &QuickFilters,
    now: i64,
) -> Vec<usize> {
    (0..list.items.len())
        .filter(|&index| needle.is_empty() || list.names_lower[index].contains(needle))
        .filter(|&index| filters.is_empty() || filters.admits(&list.items[index], now))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::azure::identifiers::ObjectKind;

    pub(crate) fn item(
        name: &str,
        tags: &[(&str, &str)],
        enabled: bool,
        exp: Option<i64>,
    ) -> ObjectItem {
        serde_json::from_value(serde_json::json!({
            "id": format!("https://kv1.vault.azure.net/secrets/{name}"),
            "attributes": {"enabled": enabled, "exp": exp},
            "tags": tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<std::collections::BTreeMap<_, _>>(),
            "contentType": "application/json",
        }))
        .expect("item")
    }

    pub(crate) const SECRETS: ListKind = ListKind::live(ObjectKind::Secret);

    #[test]
    fn a_failed_reload_keeps_what_was_shown() {
        let mut contents = VaultContents::default();
        contents.begin_load();
        contents.add_page(SECRETS, vec![item("a", &[], true, None)]);
        assert_eq!(contents.list(SECRETS).items.len(), 1, "first load streams");
        contents.end_list(SECRETS, None);
        contents.end_load(LoadStatus::Loaded);
        assert!(contents.loaded_at.is_some());

        contents.begin_load();
        contents.add_page(SECRETS, vec![item("b", &[], true, None)]);
        assert_eq!(
            contents.list(SECRETS).names_lower,
            ["a"],
            "old rows until the reload ends"
        );
        contents.end_list(SECRETS, Some("throttled".into()));
        contents.end_load(LoadStatus::Loaded);
        assert_eq!(
            contents.list(SECRETS).names_lower,
            ["a"],
            "an error loses nothing"
        );
        assert!(matches!(
            contents.list(SECRETS).status,
            LoadStatus::Failed(_)
        ));

        contents.begin_load();
        contents.add_page(
            SECRETS,
            vec![item("b", &[], true, None), item("c", &[], true, None)],
        );
        contents.end_list(SECRETS, None);
        assert_eq!(contents.list(SECRETS).names_lower, ["b", "c"]);
        // A list the cancelled load never finished keeps its old rows.
        contents.begin_load();
        contents.end_load(LoadStatus::NotLoaded);
        assert_eq!(contents.list(SECRETS).items.len(), 2);
    }
}
