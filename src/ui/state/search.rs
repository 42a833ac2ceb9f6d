//! Ctrl+K: one search over every loaded vault's metadata index (names, tag keys and values, content types;
//! never values), with quick filters, a keyboard cursor and results refreshed once per frame as pages arrive.
//! A fleet's index can hold millions of rows, so a search runs in slices of at most [`SEARCH_BUDGET`] a
//! frame (two cores each), in vault order: the first results show at once, the count completes frames
//! later, and typing never waits.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::vault_index::{Needle, QuickFilters, VaultContents, search_list};
use crate::azure::identifiers::VaultUri;
use crate::azure::models::ListKind;

/// How many search results are listed (the count says how many matched in all).
pub const SEARCH_RESULT_LIMIT: usize = 500;
/// How long one frame may spend searching; the rest continues next frame.
pub const SEARCH_BUDGET: Duration = Duration::from_millis(5);
/// Vaults searched in one step (split across two threads), between looks at the clock.
const VAULTS_PER_STEP: usize = 64;

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
    /// A search not finished yet: where it is, and what it found so far.
    progress: Option<Progress>,
}

/// A search under way.
#[derive(Debug, Clone)]
struct Progress {
    needle: String,
    filters: QuickFilters,
    now: i64,
    /// The vaults to search, in order, and how many are done.
    order: Vec<VaultUri>,
    done: usize,
    found: Found,
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

    /// Goes on with a search under way, or runs the open search again if rows arrived since it ended; the
    /// app calls this once per frame.
    pub fn refresh(&mut self, vaults: &HashMap<VaultUri, VaultContents>) {
        if self.progress.is_some() {
            self.step(vaults);
        } else if self.open && self.stale {
            self.run(vaults);
        }
    }

    /// Whether a search is still going (the app asks for another frame).
    pub fn searching(&self) -> bool {
        self.progress.is_some()
    }

    /// Starts the search again (after typing, filter changes, or new pages) and runs its first slice.
    fn run(&mut self, vaults: &HashMap<VaultUri, VaultContents>) {
        self.stale = false;
        let needle = self.query.trim().to_lowercase();
        if needle.is_empty() && self.filters.is_empty() {
            self.progress = None;
            self.results = SearchResults::default();
            self.cursor = 0;
            return;
        }
        let mut order: Vec<VaultUri> = vaults.keys().cloned().collect();
        order.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        self.progress = Some(Progress {
            needle,
            filters: self.filters,
            now: super::super::format::now_unix(),
            order,
            done: 0,
            found: Found::default(),
        });
        self.step(vaults);
    }

    /// Searches on for at most [`SEARCH_BUDGET`], then shows what was found so far.
    fn step(&mut self, vaults: &HashMap<VaultUri, VaultContents>) {
        let Some(progress) = self.progress.as_mut() else {
            return;
        };
        let deadline = Instant::now() + SEARCH_BUDGET;
        while progress.done < progress.order.len() {
            let end = (progress.done + VAULTS_PER_STEP).min(progress.order.len());
            let batch: Vec<(&VaultUri, &VaultContents)> = progress.order[progress.done..end]
                .iter()
                .filter_map(|vault| vaults.get_key_value(vault))
                .collect();
            let limits = (
                SEARCH_RESULT_LIMIT - progress.found.by_name.len().min(SEARCH_RESULT_LIMIT),
                SEARCH_RESULT_LIMIT - progress.found.by_metadata.len().min(SEARCH_RESULT_LIMIT),
            );
            let step = search_in_two(
                &batch,
                &progress.needle,
                &progress.filters,
                progress.now,
                limits,
            );
            progress.found.add(step);
            progress.done = end;
            if Instant::now() >= deadline {
                break;
            }
        }
        self.results = progress.found.results(SEARCH_RESULT_LIMIT);
        self.results.searching = progress.done < progress.order.len();
        if !self.results.searching {
            self.progress = None;
        }
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
    /// Still searching: `total` counts what was found so far.
    pub searching: bool,
}

/// Searches every loaded vault's lists at once (tests and small indexes): names, tag keys and values,
/// content types.
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
    search_in_two(&ordered, &needle, filters, now, (limit, limit)).results(limit)
}

/// The hits of some vaults: the first by name and by metadata, and how many in all.
#[derive(Debug, Clone, Default)]
struct Found {
    by_name: Vec<SearchHit>,
    by_metadata: Vec<SearchHit>,
    total: usize,
}

impl Found {
    /// Appends what later vaults found.
    fn add(&mut self, later: Found) {
        self.total += later.total;
        self.by_name.extend(later.by_name);
        self.by_metadata.extend(later.by_metadata);
    }

    /// Name matches first, then metadata matches, `limit` in all.
    fn results(&self, limit: usize) -> SearchResults {
        let mut hits: Vec<SearchHit> = self.by_name.iter().take(limit).cloned().collect();
        let room = limit - hits.len();
        hits.extend(self.by_metadata.iter().take(room).cloned());
        SearchResults {
            hits,
            total: self.total,
            searching: false,
        }
    }
}

/// Searches `vaults` on two cores: the first half here, the second on a scoped thread; the halves are
/// joined in vault order. `limits`: how many hits by name and by metadata are still wanted.
fn search_in_two(
    vaults: &[(&VaultUri, &VaultContents)],
    needle: &str,
    filters: &QuickFilters,
    now: i64,
    limits: (usize, usize),
) -> Found {
    let (first, second) = vaults.split_at(vaults.len() / 2);
    let (mut found, rest) = if first.is_empty() {
        (
            Found::default(),
            search_vaults(second, needle, filters, now, limits),
        )
    } else {
        std::thread::scope(|scope| {
            let other = scope.spawn(|| search_vaults(second, needle, filters, now, limits));
            let mine = search_vaults(first, needle, filters, now, limits);
            (mine, other.join().unwrap_or_default())
        })
    };
    found.add(rest);
    found.by_name.truncate(limits.0);
    found.by_metadata.truncate(limits.1);
    found
}

fn search_vaults(
    vaults: &[(&VaultUri, &VaultContents)],
    needle: &str,
    filters: &QuickFilters,
    now: i64,
    limits: (usize, usize),
) -> Found {
    let needle = Needle::new(needle);
    let mut found = Found::default();
    for (vault, contents) in vaults {
        for list in ListKind::ALL {
            let matches = search_list(
                contents.list(list),
                &needle,
                filters,
                now,
                limits.0 - found.by_name.len(),
                limits.1 - found.by_metadata.len(),
            );
            found.total += matches.total;
            let hit = |index: usize, by_name: bool| SearchHit {
                vault: (*vault).clone(),
                list,
                index,
                by_name,
            };
            found
                .by_name
                .extend(matches.by_name.into_iter().map(|index| hit(index, true)));
            found.by_metadata.extend(
                matches
                    .by_metadata
                    .into_iter()
                    .map(|index| hit(index, false)),
            );
        }
    }
    found
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
