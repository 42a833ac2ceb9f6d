//! Each vault's six lists as loaded, kept compact enough for a fleet (a million rows in well under 300 MB),
//! and the metadata index that filtering and Ctrl+K search run on: lower-case names in one arena searched
//! with SIMD substring search (memchr's `memmem`), tag sets, content types and their lower-case metadata
//! text interned per list (rows share them), never values. A reload swaps in only a list that arrived
//! whole, so an error loses nothing. Pure and UI-free.
//!
//! A row keeps what the table, the filters and the search read (name, attributes, tags, content type);
//! its identifier is derived from the list's common prefix when it has the usual form, and the rare or
//! long fields (recovery id, thumbprint, deletion dates, an unusual identifier) sit apart. `item(index)`
//! rebuilds the full `ObjectItem` for the few rows on screen.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use memchr::memmem;

mod search;
mod snapshot;
pub use search::{ListMatches, Needle, filter_list, search_list};
pub use snapshot::UnusableList;

use super::common::LoadStatus;
use crate::azure::models::{ListKind, ObjectAttributes, ObjectItem};

/// An absent time in a row.
const NO_TIME: i64 = i64::MIN;
/// An absent interned string or extras entry.
const NONE: u32 = u32::MAX;

/// The fields of a row that are rare or long.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Extras {
    /// The identifier, when it is not the list's prefix followed by the name.
    identifier: Option<String>,
    recovery_id: Option<String>,
    x5t: Option<String>,
    deleted_date: Option<i64>,
    scheduled_purge_date: Option<i64>,
    exportable: Option<bool>,
}

/// One row, compact.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Where the name starts in the list's arenas; it ends at the next row's start minus one.
    name_start: u32,
    name_len: u32,
    nbf: i64,
    exp: i64,
    created: i64,
    updated: i64,
    tags: u32,
    content_type: u32,
    recovery_level: u32,
    extras: u32,
    recoverable_days: u32,
    enabled: Option<bool>,
    managed: Option<bool>,
}

fn time(value: Option<i64>) -> i64 {
    value.unwrap_or(NO_TIME)
}

fn from_time(value: i64) -> Option<i64> {
    (value != NO_TIME).then_some(value)
}

/// Strings and tag sets a list's rows share, each stored once.
#[derive(Debug, Clone, Default)]
struct Interned<T: std::hash::Hash + Eq + Clone> {
    values: Vec<Arc<T>>,
    ids: HashMap<Arc<T>, u32>,
}

impl<T: std::hash::Hash + Eq + Clone> Interned<T> {
    fn id(&mut self, value: T) -> u32 {
        if let Some(&id) = self.ids.get(&value) {
            return id;
        }
        let id = self.values.len() as u32;
        let value = Arc::new(value);
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }

    fn get(&self, id: u32) -> Option<&T> {
        self.values.get(id as usize).map(Arc::as_ref)
    }
}

/// One list of a vault (secrets, deleted keys, …) with its search index.
#[derive(Debug, Clone, Default)]
pub struct ObjectList {
    rows: Vec<Row>,
    /// Where each row's name ends in the arenas (dense, for the search's walk along its matches).
    name_ends: Vec<u32>,
    /// Each row's interned metadata text (dense, for the search).
    row_metadata: Vec<u32>,
    /// Which letters each row's lower-case name holds ([`letter_mask`]): a search skips the names that lack
    /// one of its letters without reading them.
    name_masks: Vec<u64>,
    /// Every name as sent, each followed by `\n`.
    names: String,
    /// The same, ASCII lower-case (Key Vault names are ASCII), so offsets match `names`.
    names_lower: String,
    /// The identifier before the name, learnt from the first row (`https://v.vault.azure.net/secrets/`).
    identifier_prefix: Option<String>,
    /// The list's identifiers come as `kid` (key lists).
    identifier_is_kid: bool,
    tags: Interned<BTreeMap<String, String>>,
    strings: Interned<String>,
    /// Lower-case `key=value … content-type` texts, one per (tags, content type), each followed by `\n`
    /// (one arena: a search reads it in one pass), and where each ends.
    metadata_texts: String,
    metadata_ends: Vec<u32>,
    metadata_of: HashMap<(u32, u32), u32>,
    /// How many rows carry each interned metadata text.
    metadata_rows: Vec<u32>,
    extras: Vec<Extras>,
    pub status: LoadStatus,
    /// A reload's rows, swapped in when the list ends well; until then the old ones stay on screen.
    incoming: Option<Box<ObjectList>>,
    loaded_once: bool,
    /// When the rows last arrived whole (Unix seconds), in this run or, for a cached list, an earlier one.
    pub complete_at: Option<i64>,
    /// The rows came from the local index and no load in this run has confirmed them yet.
    pub cached: bool,
    /// Changes whenever the rows are replaced, so cached filter results know to recompute.
    pub generation: u64,
}

impl ObjectList {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The name of row `index`, as sent.
    pub fn name(&self, index: usize) -> &str {
        self.rows
            .get(index)
            .map_or("", |row| self.arena_text(&self.names, row))
    }

    /// The lower-case name of row `index`.
    pub fn name_lower(&self, index: usize) -> &str {
        self.rows
            .get(index)
            .map_or("", |row| self.arena_text(&self.names_lower, row))
    }

    /// Every lower-case name, in row order (tests and small lists).
    pub fn names_lower(&self) -> Vec<&str> {
        (0..self.len())
            .map(|index| self.name_lower(index))
            .collect()
    }

    fn arena_text<'a>(&self, arena: &'a str, row: &Row) -> &'a str {
        let start = row.name_start as usize;
        arena
            .get(start..start + row.name_len as usize)
            .unwrap_or("")
    }

    /// Row `index` as the service sent it (rebuilt; for the rows on screen and the selection).
    pub fn item(&self, index: usize) -> Option<ObjectItem> {
        let row = self.rows.get(index)?;
        let extras = self.extras.get(row.extras as usize);
        let name = self.arena_text(&self.names, row);
        let identifier = extras
            .and_then(|extras| extras.identifier.clone())
            .or_else(|| {
                self.identifier_prefix
                    .as_ref()
                    .map(|prefix| format!("{prefix}{name}"))
            });
        let (id, kid) = if self.identifier_is_kid {
            (None, identifier)
        } else {
            (identifier, None)
        };
        let string = |id: u32| self.strings.get(id).cloned();
        Some(ObjectItem {
            id,
            kid,
            attributes: ObjectAttributes {
                enabled: row.enabled,
                nbf: from_time(row.nbf),
                exp: from_time(row.exp),
                created: from_time(row.created),
                updated: from_time(row.updated),
                recoverable_days: (row.recoverable_days != NONE).then_some(row.recoverable_days),
                recovery_level: string(row.recovery_level),
                exportable: extras.and_then(|extras| extras.exportable),
            },
            tags: self.tags.get(row.tags).cloned().unwrap_or_default(),
            content_type: string(row.content_type),
            managed: row.managed,
            x5t: extras.and_then(|extras| extras.x5t.clone()),
            recovery_id: extras.and_then(|extras| extras.recovery_id.clone()),
            deleted_date: extras.and_then(|extras| extras.deleted_date),
            scheduled_purge_date: extras.and_then(|extras| extras.scheduled_purge_date),
        })
    }

    /// Whether row `index` passes the quick filters.
    pub fn admits(&self, index: usize, filters: &QuickFilters, now: i64) -> bool {
        self.rows.get(index).is_some_and(|row| {
            filters.admits_attributes(row.enabled.unwrap_or(true), from_time(row.exp), now)
        })
    }

    /// The name of `item`: the rest of its identifier after the list's prefix when it has the usual form
    /// (no URL to parse for each of a million rows), else parsed from it.
    fn name_of(&self, item: &ObjectItem) -> String {
        let identifier = item.identifier();
        self.identifier_prefix
            .as_deref()
            .and_then(|prefix| identifier.strip_prefix(prefix))
            .filter(|rest| !rest.is_empty() && !rest.contains(['/', '?', '#', '%']))
            .map_or_else(|| item.name(), str::to_owned)
    }

    /// Adds a row to the end.
    fn push(&mut self, item: ObjectItem) {
        let name = self.name_of(&item);
        if self.rows.is_empty() && self.identifier_prefix.is_none() {
            self.identifier_is_kid = item.id.is_none() && item.kid.is_some();
            self.identifier_prefix = item
                .identifier()
                .strip_suffix(name.as_str())
                .map(str::to_owned);
        }
        let name_start = self.push_name(&name);
        let ObjectItem {
            id,
            kid,
            attributes,
            tags,
            content_type,
            managed,
            x5t,
            recovery_id,
            deleted_date,
            scheduled_purge_date,
        } = item;
        let identifier = if self.identifier_is_kid { kid } else { id };
        let extras = self.push_extras(Extras {
            identifier: identifier.filter(|identifier| !self.is_usual(identifier, &name)),
            recovery_id,
            x5t,
            deleted_date,
            scheduled_purge_date,
            exportable: attributes.exportable,
        });
        let tags = if tags.is_empty() {
            NONE
        } else {
            self.tags.id(tags)
        };
        let content_type = content_type.map_or(NONE, |text| self.strings.id(text));
        let metadata = self.metadata_id(tags, content_type);
        self.row_metadata.push(metadata);
        let recovery_level = attributes
            .recovery_level
            .map_or(NONE, |text| self.strings.id(text));
        self.rows.push(Row {
            name_start,
            name_len: name.len() as u32,
            nbf: time(attributes.nbf),
            exp: time(attributes.exp),
            created: time(attributes.created),
            updated: time(attributes.updated),
            tags,
            content_type,
            recovery_level,
            extras,
            recoverable_days: attributes.recoverable_days.unwrap_or(NONE),
            enabled: attributes.enabled,
            managed,
        });
    }

    /// Adds a name to the arenas (as sent, and lower-case with its letter set); where it starts.
    fn push_name(&mut self, name: &str) -> u32 {
        let name_start = self.names.len() as u32;
        self.names.push_str(name);
        self.names.push('\n');
        let lower = name.to_ascii_lowercase();
        self.name_masks.push(letter_mask(lower.as_bytes()));
        self.names_lower.push_str(&lower);
        self.names_lower.push('\n');
        self.name_ends.push(name_start + name.len() as u32);
        name_start
    }

    /// Whether `identifier` is the list's prefix followed by `name` (so it need not be kept).
    fn is_usual(&self, identifier: &str, name: &str) -> bool {
        self.identifier_prefix.as_deref().is_some_and(|prefix| {
            identifier.len() == prefix.len() + name.len()
                && identifier.starts_with(prefix)
                && identifier.ends_with(name)
        })
    }

    /// Keeps a row's rare fields, if it has any; their index, or [`NONE`].
    fn push_extras(&mut self, extras: Extras) -> u32 {
        if extras == Extras::default() {
            return NONE;
        }
        self.extras.push(extras);
        (self.extras.len() - 1) as u32
    }

    /// The interned metadata text of (tags, content type), made on first sight; counts the row.
    fn metadata_id(&mut self, tags: u32, content_type: u32) -> u32 {
        let metadata = match self.metadata_of.get(&(tags, content_type)) {
            Some(&id) => id,
            None => {
                let text = metadata_text(self.tags.get(tags), self.strings.get(content_type));
                self.metadata_texts.push_str(&text);
                self.metadata_texts.push('\n');
                self.metadata_ends
                    .push((self.metadata_texts.len() - 1) as u32);
                let id = (self.metadata_ends.len() - 1) as u32;
                self.metadata_of.insert((tags, content_type), id);
                self.metadata_rows.push(0);
                id
            }
        };
        self.metadata_rows[metadata as usize] += 1;
        metadata
    }

    /// The rows whose lower-case name contains `needle` (lower-case, not empty), ascending.
    pub fn rows_named_like(&self, needle: &str) -> Vec<usize> {
        let mut found = Vec::new();
        if needle.is_empty() || needle.contains('\n') {
            return found;
        }
        let finder = memmem::Finder::new(needle.as_bytes());
        let mut row = 0;
        for at in finder.find_iter(self.names_lower.as_bytes()) {
            // Matches come in order: walk the rows along (a match never spans two names, since no name
            // or needle holds the separator).
            while row < self.name_ends.len() && self.name_ends[row] as usize <= at {
                row += 1;
            }
            if found.last() != Some(&row) && row < self.rows.len() {
                found.push(row);
            }
        }
        found
    }

    /// The row of `name` (names are unique within a list, case-insensitively).
    pub fn position(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        self.rows_named_like(&lower)
            .into_iter()
            .find(|&index| self.name_lower(index) == lower)
    }

    /// Applies what the service answered to changes: rows named in `removed` go, each of `upserts` replaces
    /// the row of its name or joins the list in name order. One rebuild for a whole batch (a bulk run's
    /// frame of answers). A reload under way gets the same edits, so it does not bring old rows back.
    pub fn apply_changes(&mut self, removed: &[String], upserts: &[ObjectItem]) {
        if removed.is_empty() && upserts.is_empty() {
            return;
        }
        if let Some(incoming) = &mut self.incoming {
            incoming.apply_changes(removed, upserts);
        }
        let gone: std::collections::HashSet<String> = removed
            .iter()
            .map(|name| name.to_ascii_lowercase())
            .chain(upserts.iter().map(|item| item.name().to_ascii_lowercase()))
            .collect();
        let mut items: Vec<ObjectItem> = (0..self.len())
            .filter(|&index| !gone.contains(self.name_lower(index)))
            .filter_map(|index| self.item(index))
            .collect();
        items.extend(upserts.iter().cloned());
        items.sort_by_key(|item| item.name().to_ascii_lowercase());
        let (status, generation, loaded_once, incoming, complete_at, cached) = (
            std::mem::take(&mut self.status),
            self.generation + 1,
            self.loaded_once,
            self.incoming.take(),
            self.complete_at,
            self.cached,
        );
        *self = Self::default();
        for item in items {
            self.push(item);
        }
        self.status = status;
        self.generation = generation;
        self.loaded_once = loaded_once;
        self.incoming = incoming;
        self.complete_at = complete_at;
        self.cached = cached;
    }

    fn begin(&mut self) {
        if self.loaded_once {
            self.incoming = Some(Box::default());
        } else {
            self.clear_rows();
            self.generation += 1;
        }
        self.status = LoadStatus::Loading;
    }

    fn clear_rows(&mut self) {
        let (status, generation, loaded_once) = (
            std::mem::take(&mut self.status),
            self.generation,
            self.loaded_once,
        );
        *self = Self {
            status,
            generation,
            loaded_once,
            ..Self::default()
        };
    }

    fn add_page(&mut self, items: Vec<ObjectItem>) {
        let target = match &mut self.incoming {
            Some(incoming) => incoming.as_mut(),
            None => self,
        };
        for item in items {
            target.push(item);
        }
    }

    fn end(&mut self, error: Option<String>) {
        let incoming = self.incoming.take();
        match error {
            None => {
                if let Some(incoming) = incoming {
                    let generation = self.generation + 1;
                    *self = ObjectList {
                        generation,
                        ..*incoming
                    };
                }
                self.loaded_once = true;
                self.status = LoadStatus::Loaded;
                self.complete_at = Some(crate::ui::format::now_unix());
                self.cached = false;
            }
            Some(message) => self.status = LoadStatus::Failed(message),
        }
    }

    /// Rows held, including a reload's rows not swapped in yet (for progress).
    fn rows_held(&self) -> usize {
        self.rows.len()
            + self
                .incoming
                .as_ref()
                .map_or(0, |incoming| incoming.rows.len())
    }
}

/// A 64-bit set of the letters in `text`: a–z, 0–9 and `-` each have a bit of their own (Key Vault names use
/// only those), anything else shares the rest by value. A name holds a needle only if its set holds the
/// needle's.
pub fn letter_mask(text: &[u8]) -> u64 {
    text.iter().fold(0, |mask, &byte| {
        let bit = match byte {
            b'a'..=b'z' => byte - b'a',
            b'0'..=b'9' => 26 + byte - b'0',
            b'-' => 36,
            other => 37 + other % 27,
        };
        mask | 1 << bit
    })
}

/// `env=prod owner=payments application/json`, lower-case.
fn metadata_text(tags: Option<&BTreeMap<String, String>>, content_type: Option<&String>) -> String {
    let mut text = String::new();
    for (key, value) in tags.into_iter().flatten() {
        text.push_str(key);
        text.push('=');
        text.push_str(value);
        text.push(' ');
    }
    if let Some(content_type) = content_type {
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
    /// Version lists fetched (in this run or, cached, an earlier one), by list and lower-case name.
    pub versions: HashMap<(ListKind, String), FetchedVersions>,
}

/// One object's versions as last fetched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchedVersions {
    pub fetched_at: i64,
    pub items: Vec<ObjectItem>,
    /// From the local index, not fetched in this run.
    pub cached: bool,
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

    /// Edits one list with the service's answers to changes (see [`ObjectList::apply_changes`]).
    pub fn apply_changes(&mut self, list: ListKind, removed: &[String], upserts: &[ObjectItem]) {
        self.lists[list.index()].apply_changes(removed, upserts);
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
        self.lists.iter().map(ObjectList::rows_held).sum()
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
        self.admits_attributes(item.enabled(), item.attributes.exp, now)
    }

    /// Whether an object `enabled` or not, expiring at `exp`, passes every condition set.
    pub fn admits_attributes(&self, enabled: bool, exp: Option<i64>, now: i64) -> bool {
        if self.disabled && enabled {
            return false;
        }
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
        assert_eq!(contents.list(SECRETS).len(), 1, "first load streams");
        contents.end_list(SECRETS, None);
        contents.end_load(LoadStatus::Loaded);
        assert!(contents.loaded_at.is_some());

        contents.begin_load();
        contents.add_page(SECRETS, vec![item("b", &[], true, None)]);
        assert_eq!(
            contents.list(SECRETS).names_lower(),
            ["a"],
            "old rows until the reload ends"
        );
        contents.end_list(SECRETS, Some("throttled".into()));
        contents.end_load(LoadStatus::Loaded);
        assert_eq!(
            contents.list(SECRETS).names_lower(),
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
        assert_eq!(contents.list(SECRETS).names_lower(), ["b", "c"]);
        // A list the cancelled load never finished keeps its old rows.
        contents.begin_load();
        contents.end_load(LoadStatus::NotLoaded);
        assert_eq!(contents.list(SECRETS).len(), 2);
    }

    /// Rows with every field set, one not of the list's usual identifier form, one plain.
    pub(crate) fn unusual_rows() -> Vec<ObjectItem> {
        [
            serde_json::json!({"id": "https://kv1.vault.azure.net/secrets/Api-Key",
                "attributes": {"enabled": false, "nbf": 1, "exp": 2, "created": 3, "updated": 4,
                               "recoverableDays": 90, "recoveryLevel": "Recoverable+Purgeable"},
                "tags": {"env": "prod"}, "contentType": "text/plain", "managed": true}),
            // Not the list's usual identifier form: kept as sent.
            serde_json::json!({"id": "https://other.vault.azure.net/secrets/odd", "x5t": "abc",
                "recoveryId": "https://kv1.vault.azure.net/deletedsecrets/odd",
                "deletedDate": 5, "scheduledPurgeDate": 6}),
            serde_json::json!({"id": "https://kv1.vault.azure.net/secrets/plain"}),
        ]
        .into_iter()
        .map(|json| serde_json::from_value(json).expect("item"))
        .collect()
    }

    #[test]
    fn rows_come_back_as_they_were_sent() {
        let rows = unusual_rows();
        let mut list = ObjectList::default();
        list.add_page(rows.clone());
        for (index, sent) in rows.iter().enumerate() {
            assert_eq!(list.item(index).as_ref(), Some(sent), "row {index}");
        }
        assert_eq!(list.name(0), "Api-Key");
        assert_eq!(list.position("api-KEY"), Some(0));
        assert_eq!(list.position("api"), None, "whole names only");

        let mut keys = ObjectList::default();
        let key: ObjectItem = serde_json::from_value(
            serde_json::json!({"kid": "https://kv1.vault.azure.net/keys/signing"}),
        )
        .expect("key");
        keys.add_page(vec![key.clone()]);
        assert_eq!(keys.item(0), Some(key), "key lists carry kid");
    }
}
