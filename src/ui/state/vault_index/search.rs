//! Searching the index: the table's name filter, and Ctrl+K's search of names and metadata, built for a
//! fleet — names that lack a letter of the query are never read, one letter is answered from the letter
//! sets alone, the rest of a name is compared at its first letter, and rows found only by metadata are
//! counted from how many rows carry each matching text.

use memchr::memmem;

use super::{ObjectList, QuickFilters, letter_mask};

/// Rows of `list` whose name contains `needle` (lower-case; empty: all) and that pass `filters`.
pub fn filter_list(
    list: &ObjectList,
    needle: &str,
    filters: &QuickFilters,
    now: i64,
) -> Vec<usize> {
    let candidates: Vec<usize> = if needle.is_empty() {
        (0..list.len()).collect()
    } else {
        list.rows_named_like(needle)
    };
    if filters.is_empty() {
        return candidates;
    }
    candidates
        .into_iter()
        .filter(|&index| list.admits(index, filters, now))
        .collect()
}

/// A search text prepared once for every list it runs over.
pub struct Needle<'a> {
    text: &'a str,
    finder: memmem::Finder<'a>,
    letters: u64,
}

impl<'a> Needle<'a> {
    /// `text` must be lower-case; empty matches every row.
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            finder: memmem::Finder::new(text.as_bytes()),
            letters: letter_mask(text.as_bytes()),
        }
    }
}

/// What a search found in one list: how many rows in all, and the first of them by name and by metadata
/// only (each in row order, at most the limits asked for).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListMatches {
    pub total: usize,
    pub by_name: Vec<usize>,
    pub by_metadata: Vec<usize>,
}

/// The rows of `list` that `needle` finds in their name or metadata and that pass `filters`. Built for a
/// fleet: the names are scanned in their arena with SIMD substring search and walked along a dense array of
/// name ends; without filters, the rows found by metadata alone are counted from how many rows carry each
/// matching metadata text, and only the first `metadata_limit` are looked for.
pub fn search_list(
    list: &ObjectList,
    needle: &Needle<'_>,
    filters: &QuickFilters,
    now: i64,
    name_limit: usize,
    metadata_limit: usize,
) -> ListMatches {
    let mut found = ListMatches::default();
    let unfiltered = filters.is_empty();
    let admitted = |index: usize| unfiltered || list.admits(index, filters, now);
    if needle.text.is_empty() {
        for index in (0..list.len()).filter(|&index| admitted(index)) {
            found.total += 1;
            if found.by_name.len() < name_limit {
                found.by_name.push(index);
            }
        }
        return found;
    }
    let metadata = metadata_matching(list, needle);
    let any_metadata = metadata.iter().any(|&matched| matched);
    let mut named = rows_named(list, needle);
    let mut named_with_metadata = 0;
    for (index, word) in named.iter_mut().enumerate() {
        let mut bits = *word;
        while bits != 0 {
            let row = index * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if !unfiltered && !admitted(row) {
                *word &= !(1 << (row % 64));
                continue;
            }
            found.total += 1;
            if found.by_name.len() < name_limit {
                found.by_name.push(row);
            }
            if any_metadata {
                named_with_metadata += usize::from(metadata[list.row_metadata[row] as usize]);
            }
        }
    }
    if !any_metadata {
        return found;
    }
    let by_name = |index: usize| named[index / 64] & (1 << (index % 64)) != 0;
    if unfiltered {
        // Counted from how many rows carry each matching text; only the first few are looked for.
        let carrying: usize = list
            .metadata_rows
            .iter()
            .zip(&metadata)
            .filter(|(_, matched)| **matched)
            .map(|(rows, _)| *rows as usize)
            .sum();
        found.total += carrying - named_with_metadata;
        for (index, id) in list.row_metadata.iter().enumerate() {
            if found.by_metadata.len() >= metadata_limit {
                break;
            }
            if metadata[*id as usize] && !by_name(index) {
                found.by_metadata.push(index);
            }
        }
    } else {
        for (index, id) in list.row_metadata.iter().enumerate() {
            if metadata[*id as usize] && !by_name(index) && admitted(index) {
                found.total += 1;
                if found.by_metadata.len() < metadata_limit {
                    found.by_metadata.push(index);
                }
            }
        }
    }
    found
}

/// For each of the list's metadata texts, whether it holds the needle (one pass over their arena).
fn metadata_matching(list: &ObjectList, needle: &Needle<'_>) -> Vec<bool> {
    let mut metadata = vec![false; list.metadata_ends.len()];
    let mut id = 0;
    for at in needle.finder.find_iter(list.metadata_texts.as_bytes()) {
        while id < list.metadata_ends.len() && list.metadata_ends[id] as usize <= at {
            id += 1;
        }
        if let Some(matched) = metadata.get_mut(id) {
            *matched = true;
        }
    }
    metadata
}

/// The rows whose name holds the needle, as bits (16 words for a thousand rows).
fn rows_named(list: &ObjectList, needle: &Needle<'_>) -> Vec<u64> {
    let mut named = vec![0u64; list.rows.len().div_ceil(64)];
    let letters = needle.letters;
    if needle.text.len() == 1 {
        // One letter: the letter sets answer alone, 64 rows a word.
        for (word, masks) in named.iter_mut().zip(list.name_masks.chunks(64)) {
            for (bit, &mask) in masks.iter().enumerate() {
                *word |= u64::from(mask & letters == letters) << bit;
            }
        }
        return named;
    }
    // Each name that holds every letter of the needle is read: the needle's first letter found with
    // memchr, the rest compared there (names are short; a general substring search would cost more to
    // set up than to run).
    let haystack = list.names_lower.as_bytes();
    let needle_bytes = needle.text.as_bytes();
    let mut start = 0;
    for (row, (&end, &mask)) in list.name_ends.iter().zip(&list.name_masks).enumerate() {
        let end = end as usize;
        if mask & letters == letters && name_holds(&haystack[start..end], needle_bytes) {
            named[row / 64] |= 1 << (row % 64);
        }
        start = end + 1;
    }
    named
}

/// Whether `name` holds `needle` (not empty): at each place of its first letter, the rest compared.
fn name_holds(name: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return true;
    };
    memchr::memchr_iter(first, name).any(|at| name[at..].starts_with(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::state::vault_index::tests::item;

    #[test]
    fn search_finds_names_then_metadata_and_applies_filters() {
        let mut list = ObjectList::default();
        list.add_page(vec![
            item("orders-db", &[("owner", "team-a")], true, Some(10)),
            item("payments", &[("owner", "orders-team")], true, None),
            item("web", &[], false, None),
            item("orders-api", &[("owner", "team-a")], false, None),
        ]);
        assert_eq!(list.rows_named_like("orders"), [0, 3]);
        assert_eq!(list.rows_named_like("s-d"), [0], "within one name");
        assert!(
            list.rows_named_like("db\nw").is_empty(),
            "never across names"
        );
        let unfiltered = QuickFilters::default();
        let found = search_list(&list, &Needle::new("orders"), &unfiltered, 0, 10, 10);
        assert_eq!(
            found,
            ListMatches {
                total: 3,
                by_name: vec![0, 3],
                by_metadata: vec![1],
            }
        );
        let limited = search_list(&list, &Needle::new("team"), &unfiltered, 0, 10, 1);
        assert_eq!(
            (limited.total, limited.by_metadata),
            (3, vec![0]),
            "counted past the limit"
        );
        let enabled_only = QuickFilters {
            expired: true,
            ..QuickFilters::default()
        };
        let filtered = search_list(&list, &Needle::new("team"), &enabled_only, 20, 10, 10);
        assert_eq!(
            (filtered.total, filtered.by_metadata),
            (1, vec![0]),
            "only orders-db expired"
        );
        let disabled = QuickFilters {
            disabled: true,
            ..QuickFilters::default()
        };
        assert_eq!(filter_list(&list, "", &disabled, 0), [2, 3]);
        assert_eq!(filter_list(&list, "orders", &disabled, 0), [3]);
    }
}
