//! A list to and from the local index's compact shape (`local_index::IndexedList`): the arenas and interned
//! tables are written as they are, and rebuilt without re-parsing a row, so a million rows come back in
//! a few hundred milliseconds. A list read from the index is *cached*: shown, searched and marked as such
//! until a load in this run confirms it.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Extras, Interned, NONE, ObjectList, Row, from_time, letter_mask, time};
use crate::azure::models::ListKind;
use crate::local_index::model::{IndexedExtras, IndexedList, IndexedRow, IndexedVersions};
use crate::ui::state::common::LoadStatus;

/// Why a list from the index was not taken (a file that decrypted but does not hold together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusableList(pub &'static str);

fn interned<T: std::hash::Hash + Eq + Clone>(values: Vec<T>) -> Interned<T> {
    let values: Vec<Arc<T>> = values.into_iter().map(Arc::new).collect();
    let ids = values
        .iter()
        .enumerate()
        .map(|(id, value)| (value.clone(), id as u32))
        .collect::<HashMap<_, _>>();
    Interned { values, ids }
}

impl ObjectList {
    /// The list as the index keeps it. Only a list that arrived whole in this run, or came from the
    /// index, has a `complete_at`; a list never loaded is saved empty.
    pub fn to_indexed(&self) -> IndexedList {
        if self.complete_at.is_none() {
            return IndexedList::default();
        }
        IndexedList {
            complete_at: self.complete_at,
            identifier_prefix: self.identifier_prefix.clone(),
            identifier_is_kid: self.identifier_is_kid,
            names: self.names.clone(),
            rows: self
                .rows
                .iter()
                .map(|row| IndexedRow {
                    name_len: row.name_len,
                    nbf: from_time(row.nbf),
                    exp: from_time(row.exp),
                    created: from_time(row.created),
                    updated: from_time(row.updated),
                    tags: row.tags,
                    content_type: row.content_type,
                    recovery_level: row.recovery_level,
                    extras: row.extras,
                    recoverable_days: (row.recoverable_days != NONE)
                        .then_some(row.recoverable_days),
                    enabled: row.enabled,
                    managed: row.managed,
                })
                .collect(),
            tags: self
                .tags
                .values
                .iter()
                .map(|tags| (**tags).clone())
                .collect(),
            strings: self
                .strings
                .values
                .iter()
                .map(|text| (**text).clone())
                .collect(),
            extras: self
                .extras
                .iter()
                .map(|extras| IndexedExtras {
                    identifier: extras.identifier.clone(),
                    recovery_id: extras.recovery_id.clone(),
                    x5t: extras.x5t.clone(),
                    deleted_date: extras.deleted_date,
                    scheduled_purge_date: extras.scheduled_purge_date,
                    exportable: extras.exportable,
                })
                .collect(),
        }
    }

    /// The list from the index, marked cached; every offset and table index is checked first.
    pub fn from_indexed(indexed: IndexedList) -> Result<Self, UnusableList> {
        let Some(complete_at) = indexed.complete_at else {
            return Ok(Self::default());
        };
        let IndexedList {
            identifier_prefix,
            identifier_is_kid,
            names,
            rows,
            tags,
            strings,
            extras,
            ..
        } = indexed;
        let within = |id: u32, len: usize| id == NONE || (id as usize) < len;
        let mut list = Self {
            identifier_prefix,
            identifier_is_kid,
            tags: interned(tags),
            strings: interned(strings),
            ..Self::default()
        };
        list.rows.reserve_exact(rows.len());
        list.name_ends.reserve_exact(rows.len());
        list.name_masks.reserve_exact(rows.len());
        list.row_metadata.reserve_exact(rows.len());
        let bytes = names.as_bytes();
        let mut start = 0usize;
        for row in rows {
            let end = start + row.name_len as usize;
            if bytes.get(end) != Some(&b'\n') {
                return Err(UnusableList("a name runs past the names"));
            }
            if !names.is_char_boundary(start) || !names.is_char_boundary(end) {
                return Err(UnusableList("a name is cut inside a character"));
            }
            if !within(row.tags, list.tags.values.len())
                || !within(row.content_type, list.strings.values.len())
                || !within(row.recovery_level, list.strings.values.len())
                || !within(row.extras, extras.len())
            {
                return Err(UnusableList("a row points past its tables"));
            }
            let name_start = u32::try_from(start).map_err(|_| UnusableList("too many names"))?;
            list.name_ends.push(end as u32);
            let metadata = list.metadata_id(row.tags, row.content_type);
            list.row_metadata.push(metadata);
            list.rows.push(Row {
                name_start,
                name_len: row.name_len,
                nbf: time(row.nbf),
                exp: time(row.exp),
                created: time(row.created),
                updated: time(row.updated),
                tags: row.tags,
                content_type: row.content_type,
                recovery_level: row.recovery_level,
                extras: row.extras,
                recoverable_days: row.recoverable_days.unwrap_or(NONE),
                enabled: row.enabled,
                managed: row.managed,
            });
            start = end + 1;
        }
        if start != bytes.len() {
            return Err(UnusableList("the names do not match the rows"));
        }
        list.names_lower = names.to_ascii_lowercase();
        let lower = list.names_lower.as_bytes();
        list.name_masks = list
            .rows
            .iter()
            .map(|row| {
                let start = row.name_start as usize;
                letter_mask(&lower[start..start + row.name_len as usize])
            })
            .collect();
        list.names = names;
        list.extras = extras
            .into_iter()
            .map(|extras| Extras {
                identifier: extras.identifier,
                recovery_id: extras.recovery_id,
                x5t: extras.x5t,
                deleted_date: extras.deleted_date,
                scheduled_purge_date: extras.scheduled_purge_date,
                exportable: extras.exportable,
            })
            .collect();
        list.complete_at = Some(complete_at);
        list.cached = true;
        list.loaded_once = true;
        list.status = LoadStatus::Loaded;
        Ok(list)
    }
}

impl super::VaultContents {
    /// A vault's six lists from the index, marked cached; not loaded in this run (`loaded_at` stays
    /// empty), so opening it reconciles it.
    pub fn from_indexed(vault: crate::local_index::IndexedVault) -> Result<Self, UnusableList> {
        let mut contents = Self::default();
        if vault.lists.len() > contents.lists.len() {
            return Err(UnusableList("more than six lists"));
        }
        for (slot, list) in contents.lists.iter_mut().zip(vault.lists) {
            *slot = ObjectList::from_indexed(list)?;
        }
        for versions in vault.versions {
            let Some(&list) = ListKind::ALL.get(usize::from(versions.list)) else {
                return Err(UnusableList("a version list names no list"));
            };
            let rows = ObjectList::from_indexed(versions.versions)?;
            contents.versions.insert(
                (list, versions.name.to_ascii_lowercase()),
                super::FetchedVersions {
                    fetched_at: versions.fetched_at,
                    items: (0..rows.len())
                        .filter_map(|index| rows.item(index))
                        .collect(),
                    cached: true,
                },
            );
        }
        contents.status = LoadStatus::Loaded;
        Ok(contents)
    }

    /// The fetched version lists as the index keeps them.
    pub fn indexed_versions(&self) -> Vec<IndexedVersions> {
        self.versions
            .iter()
            .map(|((list, name), fetched)| {
                let mut rows = ObjectList::default();
                rows.begin();
                rows.add_page(fetched.items.clone());
                rows.end(None);
                rows.complete_at = Some(fetched.fetched_at);
                IndexedVersions {
                    list: list.index() as u8,
                    name: name.clone(),
                    fetched_at: fetched.fetched_at,
                    versions: rows.to_indexed(),
                }
            })
            .collect()
    }

    /// Whether any list shows rows no load in this run has confirmed.
    pub fn is_cached(&self) -> bool {
        self.lists.iter().any(|list| list.cached)
    }

    /// The oldest cached list's time: what "as of" says for the vault.
    pub fn cached_as_of(&self) -> Option<i64> {
        self.lists
            .iter()
            .filter(|list| list.cached)
            .filter_map(|list| list.complete_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::item;
    use super::*;
    use crate::azure::models::ObjectItem;

    fn loaded(items: Vec<ObjectItem>) -> ObjectList {
        let mut list = ObjectList::default();
        list.begin();
        list.add_page(items);
        list.end(None);
        list
    }

    #[test]
    fn a_list_comes_back_from_the_index_row_for_row_and_searchable() {
        let rows = super::super::tests::unusual_rows();
        let list = loaded(rows.clone());
        assert!(!list.cached, "loaded in this run");
        let back = ObjectList::from_indexed(list.to_indexed()).expect("usable");
        assert!(back.cached, "from the index");
        assert_eq!(back.complete_at, list.complete_at);
        for (index, sent) in rows.iter().enumerate() {
            assert_eq!(back.item(index).as_ref(), Some(sent), "row {index}");
        }
        assert_eq!(back.position("API-key"), Some(0));
        assert_eq!(back.rows_named_like("pla"), vec![2]);
        let prod = search_rows(&back, "env=prod");
        assert_eq!(prod, vec![0], "metadata search works on cached rows");
    }

    fn search_rows(list: &ObjectList, text: &str) -> Vec<usize> {
        let needle = super::super::Needle::new(text);
        let found = super::super::search_list(list, &needle, &Default::default(), 0, 10, 10);
        let mut rows = [found.by_name, found.by_metadata].concat();
        rows.sort_unstable();
        rows
    }

    #[test]
    fn a_list_that_does_not_hold_together_is_refused() {
        let list = loaded(vec![
            item("a", &[("k", "v")], true, None),
            item("bb", &[], true, None),
        ]);
        let good = list.to_indexed();
        let mut long_name = good.clone();
        long_name.rows[1].name_len = 40;
        assert!(ObjectList::from_indexed(long_name).is_err());
        let mut bad_tags = good.clone();
        bad_tags.rows[0].tags = 7;
        assert!(ObjectList::from_indexed(bad_tags).is_err());
        let mut extra_names = good.clone();
        extra_names.names.push_str("zz\n");
        assert!(ObjectList::from_indexed(extra_names).is_err());
        let never = ObjectList::default().to_indexed();
        assert_eq!(never.complete_at, None);
        assert!(ObjectList::from_indexed(never).expect("empty").is_empty());
    }

    #[test]
    fn a_reload_confirms_a_cached_list_only_when_it_arrives_whole() {
        let list = loaded(vec![item("a", &[], true, None)]);
        let mut cached = ObjectList::from_indexed(list.to_indexed()).expect("usable");
        cached.begin();
        cached.add_page(vec![item("b", &[], true, None)]);
        assert_eq!(
            cached.names_lower(),
            ["a"],
            "cached rows stay during the reload"
        );
        cached.end(Some("throttled".into()));
        assert!(cached.cached, "a failed reload confirms nothing");
        assert_eq!(cached.names_lower(), ["a"]);
        cached.begin();
        cached.add_page(vec![item("b", &[], true, None)]);
        cached.end(None);
        assert!(!cached.cached);
        assert_eq!(cached.names_lower(), ["b"]);
    }
}
