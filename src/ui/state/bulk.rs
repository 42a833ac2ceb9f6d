//! Bulk changes: what an action does to each marked row (delete, recover, purge, enable, disable, add or
//! remove a tag), the marks themselves (Ctrl-click toggles, Shift-click marks a range, Ctrl+A marks every
//! shown row; per vault and list), the confirmation a bulk action shows (typed for purge and for 10 items or
//! more), and the run in progress with each item's fate.

use std::collections::BTreeSet;

use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::keyvault_writes::VersionUpdate;
use crate::azure::models::{ListKind, ObjectItem};
use crate::worker::RequestId;
use crate::worker::bulk::{BulkItemOutcome, CancelFlag};
use crate::worker::changes::Change;

use super::confirmation::{Confirmation, az_command};

/// From this many items on, a bulk action needs its confirmation typed.
pub const TYPED_CONFIRMATION_FROM: usize = 10;

/// What a bulk action does to each marked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    Delete,
    Recover,
    Purge,
    Enable,
    Disable,
    AddTag { key: String, value: String },
    RemoveTag { key: String },
}

impl BulkAction {
    pub(super) fn verb(&self) -> String {
        match self {
            Self::Delete => "Delete".into(),
            Self::Recover => "Recover".into(),
            Self::Purge => "Purge".into(),
            Self::Enable => "Enable".into(),
            Self::Disable => "Disable".into(),
            Self::AddTag { key, value } => format!("Tag {key}={value} on"),
            Self::RemoveTag { key } => format!("Remove tag {key} from"),
        }
    }

    /// Whether it works on the deleted list (else on the live one).
    pub(super) fn on_deleted(&self) -> bool {
        matches!(self, Self::Recover | Self::Purge)
    }
}

/// How a row click changes the marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkMode {
    /// Ctrl-click: toggle this row.
    Toggle,
    /// Shift-click: every row between the last marked one and this (`rows`: the filtered names in order).
    Range,
}

/// A bulk run and what each item came to.
#[derive(Debug)]
pub struct BulkRun {
    pub title: String,
    pub items: Vec<Change>,
    pub outcomes: Vec<Option<BulkItemOutcome>>,
    pub cancel: CancelFlag,
    pub finished: bool,
    pub(super) request: Option<RequestId>,
}

impl BulkRun {
    pub fn done(&self) -> usize {
        self.count(|outcome| matches!(outcome, BulkItemOutcome::Done(_)))
    }

    pub fn failed(&self) -> usize {
        self.count(|outcome| matches!(outcome, BulkItemOutcome::Failed(_)))
    }

    pub fn not_started(&self) -> usize {
        self.count(|outcome| matches!(outcome, BulkItemOutcome::NotStarted))
    }

    pub fn remaining(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.is_none())
            .count()
    }

    fn count(&self, pick: impl Fn(&BulkItemOutcome) -> bool) -> usize {
        self.outcomes.iter().flatten().filter(|o| pick(o)).count()
    }

    /// The failed items with the service's reason.
    pub fn failures(&self) -> Vec<(String, String)> {
        self.items
            .iter()
            .zip(&self.outcomes)
            .filter_map(|(change, outcome)| match outcome {
                Some(BulkItemOutcome::Failed(reason)) => {
                    Some((change.name().to_owned(), reason.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

/// Marked rows of one list of one vault.
#[derive(Debug, Default)]
pub struct Marks {
    marked: Option<(VaultUri, ListKind, BTreeSet<String>)>,
    anchor: Option<String>,
}

impl Marks {
    /// The marked names (lower-case), when they belong to `vault`'s `list`.
    pub fn of(&self, vault: Option<&VaultUri>, list: ListKind) -> Option<&BTreeSet<String>> {
        match &self.marked {
            Some((marked_vault, marked_list, names))
                if Some(marked_vault) == vault && *marked_list == list && !names.is_empty() =>
            {
                Some(names)
            }
            _ => None,
        }
    }

    /// Applies a click with Ctrl (toggle) or Shift (range over `rows`, the shown names in order).
    pub fn mark(
        &mut self,
        vault: &VaultUri,
        list: ListKind,
        name: &str,
        mode: MarkMode,
        rows: &[String],
    ) {
        let lower = name.to_ascii_lowercase();
        let same_list = matches!(&self.marked, Some((v, l, _)) if v == vault && *l == list);
        if !same_list {
            self.marked = Some((vault.clone(), list, BTreeSet::new()));
            self.anchor = None;
        }
        let Some((_, _, names)) = &mut self.marked else {
            return;
        };
        match mode {
            MarkMode::Toggle => {
                if !names.remove(&lower) {
                    names.insert(lower.clone());
                }
            }
            MarkMode::Range => {
                let position =
                    |target: &str| rows.iter().position(|row| row.eq_ignore_ascii_case(target));
                match (self.anchor.as_deref().and_then(position), position(&lower)) {
                    (Some(from), Some(to)) => {
                        let (from, to) = (from.min(to), from.max(to));
                        names.extend(rows[from..=to].iter().map(|row| row.to_ascii_lowercase()));
                    }
                    _ => {
                        names.insert(lower.clone());
                    }
                }
            }
        }
        self.anchor = Some(lower);
    }

    /// Ctrl+A: every shown row.
    pub fn mark_all(&mut self, vault: &VaultUri, list: ListKind, names: &[String]) {
        self.marked = Some((
            vault.clone(),
            list,
            names.iter().map(|name| name.to_ascii_lowercase()).collect(),
        ));
    }

    pub fn clear(&mut self) {
        self.marked = None;
        self.anchor = None;
    }
}

/// The confirmation of `action` on `changes`: what, where, the consequence, and the word to type.
pub fn bulk_confirmation(
    action: &BulkAction,
    vault: &VaultUri,
    kind: ObjectKind,
    changes: Vec<Change>,
) -> Confirmation {
    let count = changes.len();
    let noun = if count == 1 {
        kind.singular().to_owned()
    } else {
        format!("{}s", kind.singular())
    };
    let title = if count == 1 {
        format!(
            "{} {} {}",
            action.verb(),
            kind.singular(),
            changes[0].name()
        )
    } else {
        format!("{} {count} {noun} in {}", action.verb(), vault.name())
    };
    let mut lines = Vec::new();
    let shown: Vec<&str> = changes.iter().take(8).map(Change::name).collect();
    lines.push(format!(
        "{}{}",
        shown.join(", "),
        if count > shown.len() {
            format!(" and {} more", count - shown.len())
        } else {
            String::new()
        }
    ));
    lines.push(match action {
            BulkAction::Delete => format!(
                "Every version goes to the Deleted list of {}; it can be recovered until it is purged.",
                vault.name()
            ),
            BulkAction::Purge => "Purged items are gone for good: no recovery, no backup from the vault.".into(),
            BulkAction::Recover => "Every version comes back as it was.".into(),
            BulkAction::Disable => "The latest version is disabled: apps reading it without a version get 403 until it is enabled again.".into(),
            BulkAction::Enable => "The latest version is enabled.".into(),
            BulkAction::AddTag { .. } | BulkAction::RemoveTag { .. } => {
                "Only the latest version's tags change; other tags stay.".into()
            }
        });
    let typed_word = if *action == BulkAction::Purge && count == 1 {
        Some(changes[0].name().to_owned())
    } else if *action == BulkAction::Purge || count >= TYPED_CONFIRMATION_FROM {
        Some(count.to_string())
    } else {
        None
    };
    if let Some(word) = &typed_word {
        lines.push(format!("Type {word} to confirm."));
    }
    Confirmation {
        title,
        lines,
        az: (count == 1).then(|| az_command(&changes[0])).flatten(),
        typed_word,
        typed: String::new(),
        button: action
            .verb()
            .split(' ')
            .next()
            .unwrap_or("Apply")
            .to_owned(),
        changes,
    }
}

/// The change a bulk action makes to one row (`None`: it would change nothing, e.g. a tag already there).
pub(super) fn bulk_change(
    action: &BulkAction,
    vault: &VaultUri,
    kind: ObjectKind,
    name: String,
    row: Option<&ObjectItem>,
) -> Option<Change> {
    let id = ObjectId {
        vault: vault.clone(),
        kind,
        name: name.clone(),
        version: None,
    };
    let tags = || row.map(|row| row.tags.clone()).unwrap_or_default();
    Some(match action {
        BulkAction::Delete => Change::Delete {
            vault: vault.clone(),
            kind,
            name,
        },
        BulkAction::Recover => Change::Recover {
            vault: vault.clone(),
            kind,
            name,
        },
        BulkAction::Purge => Change::Purge {
            vault: vault.clone(),
            kind,
            name,
        },
        BulkAction::Enable | BulkAction::Disable => Change::UpdateVersion {
            id,
            update: VersionUpdate {
                enabled: Some(*action == BulkAction::Enable),
                ..VersionUpdate::default()
            },
        },
        BulkAction::AddTag { key, value } => {
            let mut tags = tags();
            if tags.get(key) == Some(value) {
                return None;
            }
            tags.insert(key.clone(), value.clone());
            Change::UpdateVersion {
                id,
                update: VersionUpdate {
                    tags: Some(tags),
                    ..VersionUpdate::default()
                },
            }
        }
        BulkAction::RemoveTag { key } => {
            let mut tags = tags();
            tags.remove(key)?;
            Change::UpdateVersion {
                id,
                update: VersionUpdate {
                    tags: Some(tags),
                    ..VersionUpdate::default()
                },
            }
        }
    })
}
