//! Plans and comparisons that read values without showing them: an import file or a copy planned against
//! its target (each row's fate, "unchanged" by fingerprint), two vaults compared name by name, and two
//! versions of one secret. Every value read here is fingerprinted under a key made for this one plan or
//! comparison (`transfer::fingerprint`) and dropped; only the verdict leaves the worker, except the two
//! values of a version comparison the person asked to reveal.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures_util::StreamExt;
use secrecy::SecretString;

use super::changes::DraftHandle;
use super::files::FilePicker;
use super::files::read_input_file;
use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use super::session::Session;
use super::transfer_model::{PlannedWrite, VersionComparison, WritePlan};
use crate::azure::AzureError;
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::keyvault_writes::SecretDraft;
use crate::azure::models::{ListKind, ObjectItem, SecretBundle};
use crate::transfer::compare::{ValueVerdict, attribute_differences, pair_by_name};
use crate::transfer::fingerprint::{Fingerprint, FingerprintKey};
use crate::transfer::import::{ImportFormat, read_import};
use crate::transfer::plan::{TargetState, WriteFate, fate};

/// How many values are read at once.
const READS_AT_ONCE: usize = 8;

/// What the target holds, by lower-case name.
struct Target {
    live: BTreeSet<String>,
    deleted: BTreeSet<String>,
    notes: Vec<String>,
}

async fn read_target(session: &Session, vault: &VaultUri) -> Result<Target, FailureReason> {
    let live = session
        .keyvault
        .list_all(vault, ListKind::live(ObjectKind::Secret))
        .await?;
    let mut notes = Vec::new();
    let deleted = match session
        .keyvault
        .list_all(vault, ListKind::deleted(ObjectKind::Secret))
        .await
    {
        Ok(items) => items,
        Err(error) => {
            notes.push(format!(
                "The deleted secrets of {} could not be listed ({error}); a name held by a deleted secret shows as create and fails with 409.",
                vault.name()
            ));
            Vec::new()
        }
    };
    let names = |items: Vec<ObjectItem>| {
        items
            .into_iter()
            .map(|item| item.name().to_ascii_lowercase())
            .collect()
    };
    Ok(Target {
        live: names(live),
        deleted: names(deleted),
        notes,
    })
}

/// What a live secret holds now: its value's fingerprint and the attributes a new version may keep.
struct Current {
    fingerprint: Fingerprint,
    content_type: Option<String>,
    tags: std::collections::BTreeMap<String, String>,
}

/// A secret's current state (latest when `version` is `None`), or why it could not be read.
async fn current_of(
    session: &Session,
    vault: &VaultUri,
    name: &str,
    version: Option<&str>,
    key: &FingerprintKey,
) -> Result<Current, String> {
    match session.keyvault.get_secret(vault, name, version).await {
        Ok(bundle) => Ok(Current {
            fingerprint: key.fingerprint(&bundle.value),
            content_type: bundle.content_type,
            tags: bundle.tags,
        }),
        Err(AzureError::Service { status: 403, .. }) => Err(format!(
            "not allowed to read it in {} (or it is disabled)",
            vault.name()
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// The fingerprint of a secret's value, or why it could not be read.
async fn fingerprint_of(
    session: &Session,
    vault: &VaultUri,
    name: &str,
    version: Option<&str>,
    key: &FingerprintKey,
) -> Result<Fingerprint, String> {
    current_of(session, vault, name, version, key)
        .await
        .map(|current| current.fingerprint)
}

/// A candidate row before its fate is known.
struct Candidate {
    origin: String,
    name: String,
    source_name: Option<String>,
    drafts: Result<Vec<SecretDraft>, String>,
}

/// Gives each candidate its fate against `target` (reading the target's value for live names).
/// `keep_attributes`: a new version whose row gives no content type and no tags keeps the current
/// version's (an `.env` line carries neither; a copy brings its own).
async fn plan_rows(
    session: &Session,
    target_vault: &VaultUri,
    candidates: Vec<Candidate>,
    keep_attributes: bool,
    reply: &Reply,
) -> Result<(Vec<PlannedWrite>, Vec<String>), FailureReason> {
    let target = read_target(session, target_vault).await?;
    let key = FingerprintKey::random();
    let total = candidates.len();
    reply.send(EventKind::Progress { done: 0, total });
    let target = &target;
    let key = &key;
    let mut planned = futures_util::stream::iter(candidates.into_iter().enumerate())
        .map(|(index, mut candidate)| async move {
            let lower = candidate.name.to_ascii_lowercase();
            let fate_of_row = match &mut candidate.drafts {
                Err(problem) => WriteFate::Invalid(problem.clone()),
                Ok(drafts) => {
                    let state = if target.deleted.contains(&lower) {
                        TargetState::Deleted
                    } else if target.live.contains(&lower) {
                        let current = current_of(session, target_vault, &candidate.name, None, key)
                            .await
                            .ok();
                        let same_value = match (&current, drafts.last()) {
                            (Some(current), Some(latest)) => {
                                Some(current.fingerprint == key.fingerprint(&latest.value))
                            }
                            _ => None,
                        };
                        if let Some(current) = current
                            && keep_attributes
                        {
                            for draft in drafts.iter_mut() {
                                if draft.content_type.is_none() && draft.tags.is_empty() {
                                    draft.content_type.clone_from(&current.content_type);
                                    draft.tags.clone_from(&current.tags);
                                }
                            }
                        }
                        TargetState::Live { same_value }
                    } else {
                        TargetState::Absent
                    };
                    fate(&candidate.name, state)
                }
            };
            let drafts = match (&fate_of_row, candidate.drafts) {
                (WriteFate::Invalid(_) | WriteFate::Unchanged, _) | (_, Err(_)) => Vec::new(),
                (_, Ok(drafts)) => drafts
                    .into_iter()
                    .map(|draft| DraftHandle(Arc::new(draft)))
                    .collect(),
            };
            (
                index,
                PlannedWrite {
                    origin: candidate.origin,
                    name: candidate.name,
                    source_name: candidate.source_name,
                    fate: fate_of_row,
                    drafts,
                },
            )
        })
        .buffer_unordered(READS_AT_ONCE);
    let mut rows = Vec::with_capacity(total);
    while let Some(row) = planned.next().await {
        rows.push(row);
        reply.send(EventKind::Progress {
            done: rows.len(),
            total,
        });
    }
    rows.sort_by_key(|(index, _)| *index);
    // The same name twice in one file: the later row wins, the earlier is marked.
    let mut seen = BTreeMap::new();
    let mut rows: Vec<PlannedWrite> = rows.into_iter().map(|(_, row)| row).collect();
    for index in 0..rows.len() {
        let lower = rows[index].name.to_ascii_lowercase();
        if let Some(earlier) = seen.insert(lower, index) {
            let later_origin = rows[index].origin.clone();
            rows[earlier].fate =
                WriteFate::Invalid(format!("the same name comes again at {later_origin}"));
            rows[earlier].drafts.clear();
        }
    }
    Ok((rows, target.notes.clone()))
}

/// Asks for an import file, reads it and plans it against `vault`.
pub async fn plan_import(
    session: &Session,
    picker: &dyn FilePicker,
    vault: &VaultUri,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let Some(path) = picker
        .open(&format!("Import secrets into {}", vault.name()))
        .await
    else {
        return Ok(());
    };
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let bytes = read_input_file(&path).await?;
    let rows = read_import(ImportFormat::of_file(&file_name), &bytes)
        .map_err(|error| FailureReason::Internal(format!("{file_name}: {error}")))?;
    let candidates = rows
        .into_iter()
        .map(|row| Candidate {
            origin: row.origin,
            name: row.name,
            source_name: row.source_name,
            drafts: row.secret.map(|draft| vec![draft]),
        })
        .collect();
    let (rows, notes) = plan_rows(session, vault, candidates, true, reply).await?;
    reply.send(EventKind::WritesPlanned(Box::new(WritePlan {
        source: file_name,
        target: vault.clone(),
        rows,
        notes,
    })));
    Ok(())
}

/// A draft carrying a version's value, content type and tags (and, when asked, its dates).
fn draft_of(bundle: SecretBundle, keep_expiry: bool) -> SecretDraft {
    SecretDraft {
        value: bundle.value,
        content_type: bundle.content_type,
        tags: bundle.tags,
        enabled: bundle.attributes.enabled.unwrap_or(true),
        not_before: bundle.attributes.nbf.filter(|_| keep_expiry),
        expires: bundle.attributes.exp.filter(|_| keep_expiry),
    }
}

/// Reads what a copy of `source` writes: the latest version, or every enabled version oldest first.
async fn copy_drafts(
    session: &Session,
    source: &ObjectId,
    all_versions: bool,
    keep_expiry: bool,
) -> Result<Vec<SecretDraft>, String> {
    let keyvault = &session.keyvault;
    let describe = |error: AzureError| format!("reading it in {}: {error}", source.vault.name());
    if !all_versions {
        let bundle = keyvault
            .get_secret(&source.vault, &source.name, None)
            .await
            .map_err(describe)?;
        return Ok(vec![draft_of(bundle, keep_expiry)]);
    }
    let versions = keyvault
        .list_all_versions(&source.vault, ObjectKind::Secret, &source.name)
        .await
        .map_err(describe)?;
    let mut drafts = Vec::new();
    for version in versions.iter().filter(|version| version.enabled()) {
        let Some(id) = version.version() else {
            continue;
        };
        let bundle = keyvault
            .get_secret(&source.vault, &source.name, Some(&id))
            .await
            .map_err(describe)?;
        drafts.push(draft_of(bundle, keep_expiry));
    }
    if drafts.is_empty() {
        return Err("it has no enabled version to copy".into());
    }
    Ok(drafts)
}

/// Plans copying `sources` (versionless secret ids) into `target`.
pub async fn plan_copy(
    session: &Session,
    sources: &[ObjectId],
    target: &VaultUri,
    all_versions: bool,
    keep_expiry: bool,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let mut candidates = Vec::with_capacity(sources.len());
    let mut reads = futures_util::stream::iter(sources.iter().cloned().enumerate())
        .map(|(index, source)| async move {
            let drafts = copy_drafts(session, &source, all_versions, keep_expiry).await;
            (index, source, drafts)
        })
        .buffer_unordered(READS_AT_ONCE);
    while let Some((index, source, drafts)) = reads.next().await {
        candidates.push((
            index,
            Candidate {
                origin: source.vault.name().to_owned(),
                name: source.name.clone(),
                source_name: None,
                drafts,
            },
        ));
    }
    drop(reads);
    candidates.sort_by_key(|(index, _)| *index);
    let candidates = candidates
        .into_iter()
        .map(|(_, candidate)| candidate)
        .collect();
    let (rows, notes) = plan_rows(session, target, candidates, false, reply).await?;
    let from = sources
        .first()
        .map_or_else(String::new, |source| source.vault.name().to_owned());
    reply.send(EventKind::WritesPlanned(Box::new(WritePlan {
        source: format!("Copy from {from}"),
        target: target.clone(),
        rows,
        notes,
    })));
    Ok(())
}

/// Compares the live secrets of two vaults: names on one side only, metadata differences, and whether the
/// current values are equal (by fingerprint under a key made for this comparison).
pub async fn compare_vaults(
    session: &Session,
    left: &VaultUri,
    right: &VaultUri,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let list = ListKind::live(ObjectKind::Secret);
    let (left_items, right_items) = tokio::try_join!(
        session.keyvault.list_all(left, list),
        session.keyvault.list_all(right, list)
    )?;
    let mut rows = pair_by_name(&left_items, &right_items);
    let key = FingerprintKey::random();
    let key = &key;
    let both: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.left.is_some() && row.right.is_some())
        .map(|(index, _)| index)
        .collect();
    let total = both.len();
    reply.send(EventKind::Progress { done: 0, total });
    let names: Vec<(usize, String, bool, bool)> = both
        .iter()
        .map(|&index| {
            let row = &rows[index];
            (
                index,
                row.name.clone(),
                row.left.as_ref().is_some_and(ObjectItem::enabled),
                row.right.as_ref().is_some_and(ObjectItem::enabled),
            )
        })
        .collect();
    let mut verdicts = futures_util::stream::iter(names)
        .map(|(index, name, left_enabled, right_enabled)| async move {
            if !left_enabled || !right_enabled {
                return (
                    index,
                    ValueVerdict::Unknown("a disabled version cannot be read".into()),
                );
            }
            let (there, here) = tokio::join!(
                fingerprint_of(session, left, &name, None, key),
                fingerprint_of(session, right, &name, None, key)
            );
            let verdict = match (there, here) {
                (Ok(a), Ok(b)) if a == b => ValueVerdict::Equal,
                (Ok(_), Ok(_)) => ValueVerdict::Different,
                (Err(why), _) | (_, Err(why)) => ValueVerdict::Unknown(why),
            };
            (index, verdict)
        })
        .buffer_unordered(READS_AT_ONCE);
    let mut done = 0;
    while let Some((index, verdict)) = verdicts.next().await {
        rows[index].value = verdict;
        done += 1;
        reply.send(EventKind::Progress { done, total });
    }
    reply.send(EventKind::VaultsCompared {
        left: left.clone(),
        right: right.clone(),
        rows,
    });
    Ok(())
}

fn item_of(bundle: &SecretBundle) -> ObjectItem {
    ObjectItem {
        id: Some(bundle.id.clone()),
        attributes: bundle.attributes.clone(),
        tags: bundle.tags.clone(),
        content_type: bundle.content_type.clone(),
        ..ObjectItem::default()
    }
}

/// Compares two versions (versioned ids) of one secret; the values travel back only with `reveal`.
pub async fn compare_versions(
    session: &Session,
    left: &ObjectId,
    right: &ObjectId,
    reveal: bool,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let keyvault = &session.keyvault;
    let (a, b) = tokio::try_join!(
        keyvault.get_secret(&left.vault, &left.name, left.version.as_deref()),
        keyvault.get_secret(&right.vault, &right.name, right.version.as_deref())
    )?;
    let key = FingerprintKey::random();
    let value = if key.fingerprint(&a.value) == key.fingerprint(&b.value) {
        ValueVerdict::Equal
    } else {
        ValueVerdict::Different
    };
    let differences = attribute_differences(&item_of(&a), &item_of(&b));
    let version = |bundle: &SecretBundle| {
        ObjectId::parse(&bundle.id)
            .ok()
            .and_then(|id| id.version)
            .unwrap_or_default()
    };
    let comparison = VersionComparison {
        left_version: version(&a),
        right_version: version(&b),
        differences,
        value,
        revealed: reveal.then(|| {
            let (a, b): (SecretString, SecretString) = (a.value, b.value);
            (a, b)
        }),
    };
    reply.send(EventKind::VersionsCompared(Box::new(comparison)));
    Ok(())
}
