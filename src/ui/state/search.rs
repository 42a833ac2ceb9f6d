//! Ctrl+K: one search over every loaded vault's metadata index (names, tag keys and values, content types;
//! never values), with quick filters, a keyboard cursor and results refreshed once per frame as pages arrive.

use std::collections::HashMap;

use super::vault_index::{QuickFilters, RowMatch, VaultContents, search_list};
use crate::azure::identifiers::VaultUri;
use crate::azure::models::ListKind;

/// How many search results are listed (the count says how many matched in all).
pub const SEARCH_RESULT_LIMIT: usize = 500;

/// What the person does in the search box (opening a hit is the app's: it selects across features).
#[derive(Debug, Clone, PartialEq)]
pub enum SearchIntent {
    Open,
    /// The search field took the focus the opening asked for.
    Focused,
    SetCursor(usize),
    SetQuery(String),
    SetFilters(QuickFilters),
    /// Go to a search result.
    OpenHit(SearchHit),
}

/// The Ctrl+K search box.
#[derive(Debug, Clone, Default)]
pub struct SearchState {
    pub open: bool,
    pub query: String,
    pub filters: QuickFilters,
    pub results: SearchResults,
    /// The highlighted result.
    pub cursor: usize,
    /// Set when the box opens, so the view focuses its text field once.
    pub focus_requested: bool,
    /// The keyboard moved the cursor this frame: the view scrolls it into sight once.
    pub cursor_moved: bool,
    /// New rows arrived since the results were computed.
    pub stale: bool,
}

impl SearchState {
    /// Applies what the person did in the box (all but opening a hit).
    pub fn handle(&mut self, intent: SearchIntent, vaults: &HashMap<VaultUri, VaultContents>) {
        match intent {
            SearchIntent::Open => {
                self.open = true;
                self.focus_requested = true;
                self.run(vaults);
            }
            SearchIntent::Focused => self.focus_requested = false,
            SearchIntent::SetCursor(cursor) => {
                self.cursor = cursor;
                self.cursor_moved = true;
            }
            SearchIntent::SetQuery(query) => {
                self.query = query;
                self.cursor = 0;
                self.run(vaults);
            }
            SearchIntent::SetFilters(filters) => {
                self.filters = filters;
                self.cursor = 0;
                self.run(vaults);
            }
            SearchIntent::OpenHit(_) => {}
        }
    }

    /// Runs the open search again if rows arrived since; the app calls this once per frame.
    pub fn refresh(&mut self, vaults: &HashMap<VaultUri, VaultContents>) {
        if self.open && self.stale {
            self.run(vaults);
        }
    }

    /// Runs the search again (after typing, filter changes, or new pages).
    fn run(&mut self, vaults: &HashMap<VaultUri, VaultContents>) {
        self.stale = false;
        self.results = search(
            vaults,
            &self.query,
            &self.filters,
            super::super::format::now_unix(),
            SEARCH_RESULT_LIMIT,
        );
        self.cursor = self.cursor.min(self.results.hits.len().saturating_sub(1));
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub vault: VaultUri,
    pub list: ListKind,
    pub index: usize,
    /// Matched on the name (else on tags or content type).
    pub by_name: bool,
}

/// Search results: the first `limit` hits (name matches first) and how many there are in all.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub total: usize,
}

/// Searches every loaded vault's lists: names, tag keys and values, content types.
pub fn search(
    vaults: &HashMap<VaultUri, VaultContents>,
    query: &str,
    filters: &QuickFilters,
    now: i64,
    limit: usize,
) -> SearchResults {
    let needle = query.trim().to_lowercase();
    if needle.is_empty() && filters.is_empty() {
        return SearchResults::default();
    }
    let mut ordered: Vec<(&VaultUri, &VaultContents)> = vaults.iter().collect();
    ordered.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let mut by_name = Vec::new();
    let mut by_metadata = Vec::new();
    let mut total = 0;
    for (vault, contents) in ordered {
        for list in ListKind::ALL {
            search_list(contents.list(list), &needle, filters, now, |index, how| {
                total += 1;
                let target = match how {
                    RowMatch::Name => &mut by_name,
                    RowMatch::Metadata => &mut by_metadata,
                };
                if target.len() < limit {
                    target.push(SearchHit {
                        vault: vault.clone(),
                        list,
                        index,
                        by_name: how == RowMatch::Name,
                    });
                }
            });
        }
    }
    by_name.extend(by_metadata);
    by_name.truncate(limit);
    SearchResults {
        hits: by_name,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::state::vault_index::tests::{SECRETS, item};

    #[test]
    fn search_matches_names_tags_and_content_types_across_vaults() {
        let now = 1_800_000_000;
        let mut vaults = HashMap::new();
        for (uri, names) in [
            (
                "https://kv1.vault.azure.net/",
                ["orders-db", "payments-api"],
            ),
            ("https://kv2.vault.azure.net/", ["orders-cache", "web-cert"]),
        ] {
            let mut contents = VaultContents::default();
            contents.begin_load();
            contents.add_page(
                SECRETS,
                names
                    .iter()
                    .map(|name| {
                        item(
                            name,
                            &[("owner", "team-orders")],
                            !name.starts_with("web"),
                            Some(now - 10),
                        )
                    })
                    .collect(),
            );
            vaults.insert(VaultUri::parse(uri).expect("uri"), contents);
        }
        let filters = QuickFilters::default();
        let results = search(&vaults, "ORDERS", &filters, now, 100);
        assert_eq!(results.total, 4, "2 by name, 2 by tag value");
        assert!(results.hits[0].by_name && results.hits[1].by_name);
        assert!(!results.hits[2].by_name);
        assert_eq!(
            search(&vaults, "application/json", &filters, now, 100).total,
            4
        );
        assert_eq!(search(&vaults, "orders", &filters, now, 1).hits.len(), 1);
        let disabled = QuickFilters {
            disabled: true,
            ..QuickFilters::default()
        };
        assert_eq!(search(&vaults, "", &disabled, now, 100).total, 1);
        let expired = QuickFilters {
            expired: true,
            ..QuickFilters::default()
        };
        assert_eq!(search(&vaults, "", &expired, now, 100).total, 4);
        let expiring = QuickFilters {
            expiring_within_days: Some(30),
            ..QuickFilters::default()
        };
        assert_eq!(
            search(&vaults, "", &expiring, now, 100).total,
            0,
            "already expired"
        );
        assert_eq!(
            search(&vaults, "", &filters, now, 100).total,
            0,
            "nothing asked"
        );
    }
}
